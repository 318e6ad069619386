//! Syslog: every record is one RFC 5424 message sent over TCP, or TLS (RFC 5425, see
//! `syslog_tls`), with octet-counted framing (RFC 6587 section 3.4.1 and RFC 5425 section 4.3:
//! `<byte length> SP <message>`), on one connection kept open between batches.
//!
//! A message is `<110>1 <createdAt> <hostname> <app-name> - <resourceType.action>
//! [audit@32473 org="…" seq="…" hash="…"] <payload>`: facility 13 (log audit) at severity 6
//! (informational); 32473 is the private enterprise number RFC 5612 reserves for
//! documentation, so a receiver matches the SD-ID `audit@32473`. The payload is the event as
//! JSON, or a CEF line. Invariants: SD-PARAM values escape `"`, `\` and `]` (RFC 5424 6.3.3);
//! header fields hold printable ASCII only; a batch counts as delivered once every frame has
//! been written and flushed (TCP acknowledges bytes, not messages); a failed write or TLS
//! handshake drops the connection so the batch is resent on a new one.

use std::fmt;
use std::net::SocketAddr;

use audit_core::{AuditRecord, SyslogDestination, SyslogPayload};
use rustls::pki_types::ServerName;
use serde_json::Value;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::batch::Batch;
use super::destination::DeliveryError;
use super::{network, syslog_tls};

/// The SD-ID of the structured data element (name `audit`, example enterprise number 32473).
pub const SD_ID: &str = "audit@32473";
/// `<PRI>` of every message: facility 13 (log audit) × 8 + severity 6 (informational).
pub const PRIORITY: u8 = 110;
/// The default HOSTNAME and APP-NAME.
pub const DEFAULT_NAME: &str = "audit-log";

/// A header field: printable ASCII without spaces, at most `max` characters, `-` when empty.
fn header_field(value: &str, max: usize) -> String {
    let field: String = value.chars().filter(|c| c.is_ascii_graphic()).take(max).collect();
    if field.is_empty() { "-".to_owned() } else { field }
}

/// An SD-PARAM value with `"`, `\` and `]` escaped.
pub fn sd_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A CEF header field with `\` and `|` escaped.
fn cef_header(value: &str) -> String {
    value.replace('\\', "\\\\").replace('|', "\\|")
}

/// A CEF extension value with `\`, `=` and line breaks escaped.
pub fn cef_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// The CEF line of one event: `CEF:0|audit-log|audit-log|<version>|<resource.action>|<name>|3|…`.
pub fn cef(record: &AuditRecord, event: &Value) -> String {
    let field = |key: &str| event.get(key).and_then(Value::as_str).map(cef_value);
    let signature = format!("{}.{}", record.resource_type, record.action);
    let mut extension = vec![
        format!("rt={}", record.occurred_at.timestamp_millis()),
        format!("externalId={}", record.seq),
        format!("act={}", cef_value(&record.action)),
        format!("cs1Label=resourceType cs1={}", cef_value(&record.resource_type)),
        format!("cs3Label=orgId cs3={}", record.org_id),
        format!("cs4Label=hash cs4={}", cef_value(&record.hash)),
    ];
    // Fields a privacy policy may have masked or dropped come from the event, not the record.
    for (key, name) in [
        ("resourceId", "cs2Label=resourceId cs2"),
        ("userId", "suser"),
        ("ipAddress", "src"),
        ("userAgent", "requestClientApplication"),
    ] {
        if let Some(value) = field(key) {
            extension.push(format!("{name}={value}"));
        }
    }
    format!(
        "CEF:0|audit-log|audit-log|{}|{}|{}|3|{}",
        cef_header(env!("CARGO_PKG_VERSION")),
        cef_header(&signature),
        cef_header(&signature),
        extension.join(" ")
    )
}

/// One RFC 5424 message.
pub fn message(config: &SyslogDestination, record: &AuditRecord, event: &Value) -> String {
    let payload = match config.payload {
        SyslogPayload::Json => event.to_string(),
        SyslogPayload::Cef => cef(record, event),
    };
    format!(
        "<{PRIORITY}>1 {} {} {} - {} [{SD_ID} org=\"{}\" seq=\"{}\" hash=\"{}\"] {payload}",
        record.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        header_field(config.hostname.as_deref().unwrap_or(DEFAULT_NAME), 255),
        header_field(config.app_name.as_deref().unwrap_or(DEFAULT_NAME), 48),
        header_field(&format!("{}.{}", record.resource_type, record.action), 32),
        sd_value(&record.org_id.to_string()),
        record.seq,
        sd_value(&record.hash),
    )
}

/// Appends one octet-counted frame.
pub fn frame(into: &mut Vec<u8>, message: &str) {
    into.extend_from_slice(format!("{} ", message.len()).as_bytes());
    into.extend_from_slice(message.as_bytes());
}

/// An open connection: TCP, or TLS over TCP.
type Connection = Box<dyn AsyncWrite + Send + Sync + Unpin>;

/// Sends batches to one syslog receiver.
pub struct SyslogSink {
    config: SyslogDestination,
    allow_private: bool,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    connection: Option<Connection>,
}

impl fmt::Debug for SyslogSink {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SyslogSink")
            .field("config", &self.config)
            .field("tls", &self.tls.is_some())
            .field("connected", &self.connection.is_some())
            .finish()
    }
}

impl SyslogSink {
    /// A sink for `config`; it connects on the first batch.
    pub fn new(config: &SyslogDestination, allow_private: bool) -> Result<Self, DeliveryError> {
        let tls = config
            .tls
            .as_ref()
            .map(|tls| {
                Ok::<_, String>((
                    syslog_tls::connector(tls)?,
                    syslog_tls::server_name(tls, &config.host)?,
                ))
            })
            .transpose()
            .map_err(|error| DeliveryError::new(format!("syslog TLS: {error}")))?;
        Ok(SyslogSink {
            config: config.clone(),
            allow_private,
            tls,
            connection: None,
        })
    }

    async fn connect(&self) -> Result<Connection, DeliveryError> {
        let fail = |error: std::io::Error| DeliveryError::new(format!("syslog: {error}"));
        let addresses: Vec<SocketAddr> =
            tokio::net::lookup_host((self.config.host.as_str(), self.config.port))
                .await
                .map_err(fail)?
                .filter(|address| self.allow_private || network::is_public(address.ip()))
                .collect();
        if addresses.is_empty() {
            return Err(DeliveryError::new(
                "syslog: the host has no public address (private networks are not allowed)".to_owned(),
            ));
        }
        let tcp = TcpStream::connect(addresses.as_slice()).await.map_err(fail)?;
        Ok(match &self.tls {
            None => Box::new(tcp),
            Some((connector, name)) => Box::new(
                connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|error| DeliveryError::new(format!("syslog TLS handshake: {error}")))?,
            ),
        })
    }

    /// Writes every record of the batch as one frame and flushes.
    pub async fn send(&mut self, batch: &Batch<'_>) -> Result<(), DeliveryError> {
        let mut frames = Vec::new();
        for (record, event) in batch.records.iter().zip(&batch.events) {
            frame(&mut frames, &message(&self.config, record, event));
        }
        if self.connection.is_none() {
            self.connection = Some(self.connect().await?);
        }
        let Some(connection) = self.connection.as_mut() else {
            return Err(DeliveryError::new("syslog: not connected".to_owned()));
        };
        let written = async {
            connection.write_all(&frames).await?;
            connection.flush().await
        }
        .await;
        if let Err(error) = written {
            self.connection = None;
            return Err(DeliveryError::new(format!("syslog: {error}")));
        }
        Ok(())
    }

    /// Closes the connection.
    pub async fn close(&mut self) {
        if let Some(mut connection) = self.connection.take() {
            let _ = connection.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_rfc_5424_and_cef() {
        assert_eq!(sd_value(r#"a"b\c]d"#), r#"a\"b\\c\]d"#);
        assert_eq!(cef_value("a=b\\c\nd"), "a\\=b\\\\c\\nd");
        assert_eq!(cef_header("a|b"), "a\\|b");
        assert_eq!(header_field("two words", 48), "twowords");
        assert_eq!(header_field("", 48), "-");
    }

    #[test]
    fn frames_count_bytes_not_characters() {
        let mut out = Vec::new();
        frame(&mut out, "é");
        assert_eq!(out, "2 é".as_bytes());
    }
}
