//! A stream's destination ready to send: its settings, its opened secret and, for files, the
//! file being written.

use std::path::PathBuf;

use audit_core::StreamDestination;

use super::batch::Batch;
use super::{datadog, file, network, otlp, s3, splunk, syslog, webhook};

/// Why a batch was not delivered: what to tell the operator, and the HTTP status when the
/// destination answered with a refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    message: String,
    refused_with: Option<u16>,
}

impl DeliveryError {
    /// A failure described by `message` (no HTTP answer).
    pub fn new(message: impl Into<String>) -> Self {
        DeliveryError {
            message: message.into(),
            refused_with: None,
        }
    }

    /// The destination answered `status` (not 2xx) with `text`.
    pub fn refused(status: u16, text: &str) -> Self {
        DeliveryError {
            message: format!("HTTP {status}: {text}"),
            refused_with: Some(status),
        }
    }

    /// What went wrong, as shown on the stream and kept with a dead letter.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A transport failure (connection refused, timeout, ...).
    pub fn from_reqwest(error: reqwest::Error) -> Self {
        let kind = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        DeliveryError::new(format!("{kind}: {}", error.without_url()))
    }

    /// Whether the destination refused the batch for good: an HTTP 4xx answer that says nothing
    /// about a wrong or unavailable destination. 401, 403, 404 and 407 (wrong credentials or
    /// URL: every record would be refused alike), 408, 421, 425 and 429 (try later) are
    /// transient, like 5xx answers, timeouts and refused connections: retried with backoff,
    /// never dead-lettered.
    pub fn is_permanent(&self) -> bool {
        self.refused_with
            .is_some_and(|status| (400..500).contains(&status) && !TRANSIENT_CLIENT_ERRORS.contains(&status))
    }
}

/// 4xx answers that blame the destination's set-up or load, not the batch.
const TRANSIENT_CLIENT_ERRORS: [u16; 8] = [401, 403, 404, 407, 408, 421, 425, 429];

/// Success on 2xx; otherwise the status and the start of the answer.
pub async fn check_status(response: reqwest::Response) -> Result<(), DeliveryError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    let text: String = text.chars().take(200).collect();
    Err(DeliveryError::refused(status.as_u16(), text.trim()))
}

/// Sends each of `bodies` in order with the request `request` builds for it; stops at the
/// first that is not acknowledged (2xx).
pub async fn post_each(
    bodies: Vec<Vec<u8>>,
    request: impl Fn(Vec<u8>) -> reqwest::RequestBuilder,
) -> Result<(), DeliveryError> {
    for body in bodies {
        let response = request(body).send().await.map_err(DeliveryError::from_reqwest)?;
        check_status(response).await?;
    }
    Ok(())
}

/// A destination with what it needs to send.
#[derive(Debug)]
pub enum Destination {
    /// Signed JSON batches.
    Webhook {
        /// Settings.
        config: audit_core::WebhookDestination,
        /// The signing secret.
        secret: String,
    },
    /// Splunk HEC.
    SplunkHec {
        /// Settings.
        config: audit_core::SplunkHecDestination,
        /// The HEC token.
        token: String,
    },
    /// Datadog logs.
    Datadog {
        /// Settings.
        config: audit_core::DatadogDestination,
        /// The API key.
        api_key: String,
    },
    /// NDJSON files.
    File(file::FileSink),
    /// Objects in an S3-compatible bucket.
    S3(s3::S3Sink),
    /// RFC 5424 syslog over TCP or TLS.
    Syslog(syslog::SyslogSink),
    /// OpenTelemetry logs.
    Otlp {
        /// Settings.
        config: audit_core::OtlpDestination,
        /// The `Authorization` header.
        authorization: String,
    },
}

impl Destination {
    /// Prepares `destination` with its opened `secret`; files live under `file_root`.
    pub fn new(
        destination: &StreamDestination,
        secret: Option<String>,
        file_root: Option<&PathBuf>,
        allow_private: bool,
    ) -> Result<Self, DeliveryError> {
        // Names are checked as they resolve; addresses written in the URL skip the resolver.
        let url = match destination {
            StreamDestination::Webhook(config) => Some(config.url.clone()),
            StreamDestination::SplunkHec(config) => Some(splunk::endpoint(config)),
            StreamDestination::Datadog(config) => Some(datadog::endpoint(config)),
            StreamDestination::File(_) | StreamDestination::Syslog(_) => None,
            StreamDestination::S3(config) => Some(s3::endpoint(config)),
            StreamDestination::Otlp(config) => Some(otlp::endpoint(config)),
        };
        if !allow_private
            && let Some(url) = url
            && let Some(reason) = reqwest::Url::parse(&url)
                .ok()
                .as_ref()
                .and_then(network::private_host)
        {
            return Err(DeliveryError::new(format!(
                "refused: {reason} (private networks are not allowed)"
            )));
        }
        let secret = || {
            secret
                .clone()
                .ok_or_else(|| DeliveryError::new("the stream has no secret".to_owned()))
        };
        Ok(match destination {
            StreamDestination::Webhook(config) => Destination::Webhook {
                config: config.clone(),
                secret: secret()?,
            },
            StreamDestination::SplunkHec(config) => Destination::SplunkHec {
                config: config.clone(),
                token: secret()?,
            },
            StreamDestination::Datadog(config) => Destination::Datadog {
                config: config.clone(),
                api_key: secret()?,
            },
            StreamDestination::File(config) => {
                let root = file_root.ok_or_else(|| {
                    DeliveryError::new(
                        "file destinations are disabled (AUDIT_STREAMS_FILE_ROOT is not set)".to_owned(),
                    )
                })?;
                Destination::File(file::FileSink::new(root.join(&config.directory), config))
            }
            StreamDestination::S3(config) => Destination::S3(s3::S3Sink::new(config, &secret()?)?),
            StreamDestination::Syslog(config) => {
                Destination::Syslog(syslog::SyslogSink::new(config, allow_private)?)
            }
            StreamDestination::Otlp(config) => Destination::Otlp {
                config: config.clone(),
                authorization: secret()?,
            },
        })
    }

    /// Delivers one batch; `Ok` once the destination has it (2xx, or written and synced).
    pub async fn send(&mut self, http: &reqwest::Client, batch: &Batch<'_>) -> Result<(), DeliveryError> {
        match self {
            Destination::Webhook { config, secret } => webhook::send(http, config, secret, batch).await,
            Destination::SplunkHec { config, token } => splunk::send(http, config, token, batch).await,
            Destination::Datadog { config, api_key } => datadog::send(http, config, api_key, batch).await,
            Destination::File(sink) => sink.write(batch).await,
            Destination::S3(sink) => sink.send(http, batch).await,
            Destination::Syslog(sink) => sink.send(batch).await,
            Destination::Otlp {
                config,
                authorization,
            } => otlp::send(http, config, authorization, batch).await,
        }
    }

    /// Flushes and closes what is open (files).
    pub async fn close(&mut self) {
        match self {
            Destination::File(sink) => sink.close().await,
            Destination::Syslog(sink) => sink.close().await,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryError;

    #[test]
    fn only_refusals_of_the_batch_itself_are_permanent() {
        let permanent = |status: u16| DeliveryError::refused(status, "").is_permanent();
        assert!(permanent(400));
        assert!(permanent(422));
        assert!(permanent(413));
        for transient in [401, 404, 408, 429, 500, 503] {
            assert!(!permanent(transient), "HTTP {transient}");
        }
        for failure in ["connection failed: refused", "timed out: HTTP 400: in the text"] {
            assert!(!DeliveryError::new(failure).is_permanent(), "{failure}");
        }
    }
}
