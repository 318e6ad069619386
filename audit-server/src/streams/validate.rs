//! Checks of stream bodies, naming the field at fault.

use std::path::{Component, Path};

use audit_core::{
    DEFAULT_STREAM_MAX_ATTEMPTS, FieldError, LogStreamUpdate, MAX_STREAM_MAX_ATTEMPTS, NewLogStream,
    StreamDestination, StreamFilter, check_display_name,
};

use super::{network, s3, syslog_tls};
use crate::store::streams::{StreamChange, StreamSpec};

/// The longest URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// The longest secret accepted.
pub const MAX_SECRET_CHARS: usize = 1024;
/// The shortest webhook signing secret accepted.
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 16;
/// The most resource types or actions in a filter.
pub const MAX_FILTER_ITEMS: usize = 100;

fn invalid(field: &str, message: &str) -> FieldError {
    FieldError::new(field, message)
}

fn check_url(field: &str, url: &str, allow_private: bool) -> Result<(), FieldError> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(invalid(field, "must be at most 2048 characters"));
    }
    let parsed =
        reqwest::Url::parse(url).map_err(|_| invalid(field, "must be an absolute http or https URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(field, "must be an absolute http or https URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(field, "must not carry credentials; use `secret`"));
    }
    if !allow_private && let Some(reason) = network::private_host(&parsed) {
        return Err(invalid(
            field,
            &format!("must reach a public address ({reason}; this server refuses private networks)"),
        ));
    }
    Ok(())
}

fn check_optional_name(field: &str, value: &Option<String>) -> Result<(), FieldError> {
    match value {
        Some(value) => check_display_name(field, value),
        None => Ok(()),
    }
}

/// What the operator allows.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    /// File destinations (a file root is configured).
    pub files: bool,
    /// URLs on loopback, private and link-local networks.
    pub private_networks: bool,
}

impl Allowed {
    /// What `config` allows.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Allowed {
            files: config.streams_file_root.is_some(),
            private_networks: config.streams_allow_private_networks,
        }
    }
}

/// Checks a configured payload limit: from 16 KiB (a record and its envelope fit) to 1 GiB.
fn check_payload_limit(field: &str, bytes: Option<u64>) -> Result<(), FieldError> {
    if bytes.is_some_and(|bytes| !(16_384..=1 << 30).contains(&bytes)) {
        return Err(invalid(field, "must be between 16384 and 1073741824"));
    }
    Ok(())
}

/// Checks a destination against what the operator allows.
pub fn destination(destination: &StreamDestination, allowed: Allowed) -> Result<(), FieldError> {
    let files_enabled = allowed.files;
    let private = allowed.private_networks;
    match destination {
        StreamDestination::Webhook(config) => {
            check_url("destination.url", &config.url, private)?;
            check_payload_limit("destination.maxBodyBytes", config.max_body_bytes)
        }
        StreamDestination::SplunkHec(config) => {
            check_url("destination.url", &config.url, private)?;
            check_payload_limit("destination.maxContentLength", config.max_content_length)?;
            check_optional_name("destination.index", &config.index)?;
            check_optional_name("destination.source", &config.source)?;
            check_optional_name("destination.sourcetype", &config.sourcetype)?;
            check_optional_name("destination.host", &config.host)
        }
        StreamDestination::Datadog(config) => {
            if let Some(url) = &config.url {
                check_url("destination.url", url, private)?;
            }
            if let Some(site) = &config.site {
                let valid = !site.is_empty()
                    && site.len() <= 64
                    && site
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
                if !valid {
                    return Err(invalid(
                        "destination.site",
                        "must be a Datadog site such as `datadoghq.com`",
                    ));
                }
            }
            check_optional_name("destination.service", &config.service)?;
            check_optional_name("destination.ddsource", &config.ddsource)?;
            check_optional_name("destination.hostname", &config.hostname)?;
            check_optional_name("destination.ddtags", &config.ddtags)
        }
        StreamDestination::File(config) => {
            if !files_enabled {
                return Err(invalid(
                    "destination.type",
                    "file destinations are disabled on this server (the operator sets AUDIT_STREAMS_FILE_ROOT)",
                ));
            }
            check_display_name("destination.directory", &config.directory)?;
            let path = Path::new(&config.directory);
            if !path.components().all(|part| matches!(part, Component::Normal(_))) {
                return Err(invalid(
                    "destination.directory",
                    "must be a relative path without `..` (it lives under the server's file root)",
                ));
            }
            if config.rotate_bytes.is_some_and(|bytes| bytes < 1024) {
                return Err(invalid("destination.rotateBytes", "must be at least 1024"));
            }
            if config
                .rotate_seconds
                .is_some_and(|seconds| !(1..=604_800).contains(&seconds))
            {
                return Err(invalid(
                    "destination.rotateSeconds",
                    "must be between 1 and 604800",
                ));
            }
            Ok(())
        }
        StreamDestination::S3(config) => s3_destination(config, private),
        StreamDestination::Syslog(config) => {
            let host_valid = made_of(&config.host, 1, 253, |c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
            });
            if !host_valid {
                return Err(invalid("destination.host", "must be a host name or IP address"));
            }
            if !private
                && let Ok(ip) = config.host.trim_matches(['[', ']']).parse::<std::net::IpAddr>()
                && !network::is_public(ip)
            {
                return Err(invalid(
                    "destination.host",
                    "must reach a public address (this server refuses private networks)",
                ));
            }
            if config.port == 0 {
                return Err(invalid("destination.port", "must be between 1 and 65535"));
            }
            check_optional_name("destination.hostname", &config.hostname)?;
            check_optional_name("destination.appName", &config.app_name)?;
            match &config.tls {
                Some(tls) => syslog_tls_settings(tls, &config.host),
                None => Ok(()),
            }
        }
        StreamDestination::Otlp(config) => {
            check_url("destination.url", &config.url, private)?;
            check_optional_name("destination.serviceName", &config.service_name)
        }
    }
}

fn syslog_tls_settings(tls: &audit_core::SyslogTls, host: &str) -> Result<(), FieldError> {
    if let Some(pem) = &tls.ca_certificate {
        syslog_tls::trust_anchors(pem).map_err(|reason| invalid("destination.tls.caCertificate", &reason))?;
    }
    if tls
        .server_name
        .as_ref()
        .is_some_and(|name| name.chars().count() > 253)
    {
        return Err(invalid(
            "destination.tls.serverName",
            "must be at most 253 characters",
        ));
    }
    syslog_tls::server_name(tls, host)
        .map(|_| ())
        .map_err(|reason| invalid("destination.tls.serverName", &reason))
}

/// Whether `text` is 1 to `max` characters, each accepted by `allowed`.
fn made_of(text: &str, min: usize, max: usize, allowed: impl Fn(char) -> bool) -> bool {
    (min..=max).contains(&text.chars().count()) && text.chars().all(allowed)
}

fn s3_destination(config: &audit_core::S3Destination, private: bool) -> Result<(), FieldError> {
    if let Some(endpoint) = &config.endpoint {
        check_url("destination.endpoint", endpoint, private)?;
    }
    if !made_of(&config.region, 1, 64, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
    }) {
        return Err(invalid(
            "destination.region",
            "must be a region such as `us-east-1` (1 to 64 lowercase letters, digits and `-`)",
        ));
    }
    let bucket_chars = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    if !made_of(&config.bucket, 3, 63, bucket_chars)
        || config.bucket.starts_with(['.', '-'])
        || config.bucket.ends_with(['.', '-'])
    {
        return Err(invalid(
            "destination.bucket",
            "must be a bucket name: 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit",
        ));
    }
    if let Some(prefix) = &config.prefix {
        let segments_valid = prefix
            .trim_end_matches('/')
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..");
        if !made_of(prefix, 1, 512, |c| !c.is_control() && c != '\\') || !segments_valid {
            return Err(invalid(
                "destination.prefix",
                "must be 1 to 512 characters of `/`-separated names (no leading `/`, no empty, `.` or `..` part)",
            ));
        }
    }
    Ok(())
}

/// Checks the secret a destination needs (and refuses one a file does not).
pub fn secret(destination: &StreamDestination, secret: &Option<String>) -> Result<(), FieldError> {
    match (destination.needs_secret(), secret) {
        (true, None) => Err(invalid(
            "secret",
            "is required (webhook signing secret, Splunk HEC token, Datadog API key, S3 credentials or OTLP `Authorization` header)",
        )),
        (false, Some(_)) => Err(invalid(
            "secret",
            "must be absent for a file or syslog destination",
        )),
        (false, None) => Ok(()),
        (true, Some(secret)) => {
            let chars = secret.chars().count();
            let min = match destination {
                StreamDestination::Webhook(_) => MIN_WEBHOOK_SECRET_CHARS,
                _ => 1,
            };
            if chars < min || chars > MAX_SECRET_CHARS || secret.chars().any(char::is_control) {
                Err(invalid(
                    "secret",
                    &format!("must be {min} to {MAX_SECRET_CHARS} characters without control characters"),
                ))
            } else if matches!(destination, StreamDestination::S3(_)) && s3::credentials(secret).is_none() {
                Err(invalid(
                    "secret",
                    "must be S3 credentials `ACCESS_KEY_ID:SECRET_ACCESS_KEY`",
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// Checks a filter.
pub fn filter(filter: &StreamFilter) -> Result<(), FieldError> {
    check_optional_name("filter.projectId", &filter.project_id)?;
    for (field, items) in [
        ("filter.resourceTypes", &filter.resource_types),
        ("filter.actions", &filter.actions),
    ] {
        if items.len() > MAX_FILTER_ITEMS {
            return Err(invalid(field, "must have at most 100 items"));
        }
        for (index, item) in items.iter().enumerate() {
            check_display_name(&format!("{field}[{index}]"), item)?;
        }
    }
    Ok(())
}

/// Checks a number of attempts: 1 to [`MAX_STREAM_MAX_ATTEMPTS`].
pub fn max_attempts(attempts: u32) -> Result<u32, FieldError> {
    if (1..=MAX_STREAM_MAX_ATTEMPTS).contains(&attempts) {
        Ok(attempts)
    } else {
        Err(invalid("maxAttempts", "must be between 1 and 100"))
    }
}

/// Checks a new stream; `head` is the organization's current head `seq`.
pub fn new_stream(body: NewLogStream, head: i64, allowed: Allowed) -> Result<StreamSpec, FieldError> {
    check_display_name("name", &body.name)?;
    destination(&body.destination, allowed)?;
    secret(&body.destination, &body.secret)?;
    filter(&body.filter)?;
    super::privacy::check(&body.privacy)?;
    let max_attempts = max_attempts(body.max_attempts.unwrap_or(DEFAULT_STREAM_MAX_ATTEMPTS))?;
    let start_after = match (body.from_beginning, body.start_seq) {
        (true, Some(_)) => return Err(invalid("startSeq", "cannot be combined with `fromBeginning`")),
        (true, None) => Some(0),
        (false, Some(seq)) if seq < 0 || seq > head => {
            return Err(invalid(
                "startSeq",
                &format!("must be between 0 and the current head seq ({head})"),
            ));
        }
        (false, start) => start,
    };
    Ok(StreamSpec {
        name: body.name,
        destination: body.destination,
        secret: body.secret,
        filter: body.filter,
        format: body.format,
        privacy: body.privacy,
        start_after,
        max_attempts,
    })
}

/// Checks a change against the stream's current destination.
pub fn update(
    body: LogStreamUpdate,
    current: &StreamDestination,
    has_secret: bool,
    allowed: Allowed,
) -> Result<StreamChange, FieldError> {
    if let Some(name) = &body.name {
        check_display_name("name", name)?;
    }
    if let Some(filter_value) = &body.filter {
        filter(filter_value)?;
    }
    if let Some(policy) = &body.privacy {
        super::privacy::check(policy)?;
    }
    let attempts = body.max_attempts.map(max_attempts).transpose()?;
    let destination_after = body.destination.as_ref().unwrap_or(current);
    if let Some(destination_value) = &body.destination {
        destination(destination_value, allowed)?;
    }
    let kind_changed = destination_after.kind() != current.kind();
    let secret_change = match (&body.secret, destination_after.needs_secret()) {
        (Some(_), _) => {
            secret(destination_after, &body.secret)?;
            Some(body.secret.clone())
        }
        (None, false) if has_secret => Some(None),
        (None, true) if kind_changed || !has_secret => {
            return Err(invalid("secret", "is required when the destination type changes"));
        }
        (None, _) => None,
    };
    Ok(StreamChange {
        name: body.name,
        destination: body.destination,
        secret: secret_change,
        filter: body.filter,
        format: body.format,
        privacy: body.privacy,
        state: None,
        max_attempts: attempts,
    })
}
