//! The settings of the SIEM-native stream destinations: S3-compatible object storage, syslog and
//! OpenTelemetry. Like the others, their secrets travel beside them.

use serde::{Deserialize, Serialize};

/// S3-compatible object storage: one gzipped NDJSON object per batch, plus a manifest object.
/// The secret is the credentials, `ACCESS_KEY_ID:SECRET_ACCESS_KEY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Destination {
    /// The service's base URL (MinIO, Ceph, R2, ...); absent for AWS, whose regional endpoint
    /// `https://s3.{region}.amazonaws.com` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "utoipa",
        schema(max_length = 2048, example = "https://minio.example.com:9000")
    )]
    pub endpoint: Option<String>,
    /// The region the requests are signed for, e.g. `us-east-1`.
    #[cfg_attr(
        feature = "utoipa",
        schema(min_length = 1, max_length = 64, example = "eu-west-1")
    )]
    pub region: String,
    /// The bucket, 3 to 63 characters of lowercase letters, digits, `.` and `-`.
    #[cfg_attr(
        feature = "utoipa",
        schema(min_length = 3, max_length = 63, example = "acme-audit")
    )]
    pub bucket: String,
    /// The key prefix objects are written under (no leading `/`, no `..`); default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 512, example = "audit/prod"))]
    pub prefix: Option<String>,
    /// Path-style URLs (`{endpoint}/{bucket}/{key}`, what most S3-compatible servers need)
    /// instead of virtual-host style (`{bucket}.{endpoint}/{key}`). Default false.
    #[serde(default)]
    pub path_style: bool,
}

/// OpenTelemetry logs over OTLP/HTTP with protobuf: one log record per audit record. The
/// secret is sent as the `Authorization` header (e.g. `Bearer <token>` or `Basic <base64>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtlpDestination {
    /// The collector's base URL; logs go to `{url}/v1/logs`.
    #[cfg_attr(
        feature = "utoipa",
        schema(max_length = 2048, example = "https://otel-collector.example.com:4318")
    )]
    pub url: String,
    /// The `service.name` resource attribute (default `audit-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
}

/// What a syslog message carries after its header and structured data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum SyslogPayload {
    /// The event as JSON (default).
    #[default]
    Json,
    /// An ArcSight CEF line, for SIEMs that parse CEF.
    Cef,
}

/// TLS on a syslog connection (RFC 5425). The receiver's certificate must chain to
/// `caCertificate` when given, otherwise to the platform's trusted roots, and name
/// `serverName` (default: the destination's `host`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyslogTls {
    /// One or more PEM CA certificates (`-----BEGIN CERTIFICATE-----`) to trust instead of the
    /// platform's roots, e.g. a private CA; at most 65,536 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 65536))]
    pub ca_certificate: Option<String>,
    /// The DNS name or IP address the certificate is checked against (default: `host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 253, example = "syslog.example.com"))]
    pub server_name: Option<String>,
}

/// Syslog: RFC 5424 messages over TCP with octet-counted framing (RFC 6587), optionally in
/// TLS (RFC 5425). No secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyslogDestination {
    /// The receiver's host name or IP address.
    #[cfg_attr(feature = "utoipa", schema(max_length = 253, example = "syslog.example.com"))]
    pub host: String,
    /// The receiver's TCP port (commonly 514, or 6514 for TLS).
    #[cfg_attr(feature = "utoipa", schema(minimum = 1, example = 514))]
    pub port: u16,
    /// The message payload (default `json`).
    #[serde(default)]
    pub payload: SyslogPayload,
    /// The HOSTNAME field (default `audit-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The APP-NAME field (default `audit-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// TLS (RFC 5425) when present (`{}` for the platform's roots); plain TCP when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<SyslogTls>,
}
