//! Log streams: an organization's trail delivered, in `seq` order and at least once, to a
//! webhook, Splunk's HTTP Event Collector, Datadog's logs intake, NDJSON files, S3-compatible
//! object storage or an OpenTelemetry collector.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::stream_destinations::{OtlpDestination, S3Destination, SyslogDestination};
use crate::stream_privacy::PrivacyPolicy;
use crate::timestamp;

/// Where a stream delivers. The secret (webhook signing secret, Splunk token, Datadog API key,
/// S3 credentials, OTLP `Authorization` header) is not part of it: it is sent beside it, stored
/// encrypted and never returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum StreamDestination {
    /// An HTTP(S) endpoint receiving signed JSON batches `{"events": [record, ...]}`.
    Webhook(WebhookDestination),
    /// Splunk's HTTP Event Collector (`/services/collector/event`).
    SplunkHec(SplunkHecDestination),
    /// Datadog's logs intake (`/api/v2/logs`).
    Datadog(DatadogDestination),
    /// NDJSON files in a directory under the operator's `AUDIT_STREAMS_FILE_ROOT`.
    File(FileDestination),
    /// Gzipped NDJSON objects with manifests in an S3-compatible bucket.
    S3(S3Destination),
    /// OpenTelemetry logs over OTLP/HTTP (protobuf, `/v1/logs`).
    Otlp(OtlpDestination),
    /// RFC 5424 syslog over TCP or TLS (octet-counted framing).
    Syslog(SyslogDestination),
}

impl StreamDestination {
    /// The wire name of the destination's type.
    pub fn kind(&self) -> &'static str {
        match self {
            StreamDestination::Webhook(_) => "webhook",
            StreamDestination::SplunkHec(_) => "splunkHec",
            StreamDestination::Datadog(_) => "datadog",
            StreamDestination::File(_) => "file",
            StreamDestination::S3(_) => "s3",
            StreamDestination::Otlp(_) => "otlp",
            StreamDestination::Syslog(_) => "syslog",
        }
    }

    /// Whether this destination needs a secret (all but files and syslog).
    pub fn needs_secret(&self) -> bool {
        !matches!(self, StreamDestination::File(_) | StreamDestination::Syslog(_))
    }
}

/// A webhook: each batch is POSTed as JSON and signed with HMAC-SHA256 (header
/// `X-Audit-Signature: t=<unix seconds>,v1=<hex HMAC of "{t}.{body}">`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookDestination {
    /// The `http` or `https` URL, at most 2,048 characters.
    #[cfg_attr(
        feature = "utoipa",
        schema(max_length = 2048, example = "https://hooks.example.com/audit")
    )]
    pub url: String,
    /// Send each batch as CloudEvents 1.0 in structured batch mode
    /// (`application/cloudevents-batch+json`, one event per record) instead of
    /// `{"batch", "events"}`. Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cloud_events: bool,
    /// The largest request body in bytes (default 5,000,000, at least 16,384): larger batches
    /// are sent as several, each with its own envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(minimum = 16384, example = 5000000))]
    pub max_body_bytes: Option<u64>,
}

/// Splunk HEC: the secret is the HEC token (`Authorization: Splunk <token>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SplunkHecDestination {
    /// The collector's base URL, e.g. `https://splunk.example.com:8088`; events go to
    /// `{url}/services/collector/event`.
    #[cfg_attr(
        feature = "utoipa",
        schema(max_length = 2048, example = "https://splunk.example.com:8088")
    )]
    pub url: String,
    /// The index, or the token's default index when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// The `source` field (default `audit-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The `sourcetype` field (default `_json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sourcetype: Option<String>,
    /// The `host` field (default `audit-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The collector's largest request body in bytes, its `max_content_length` (default
    /// 1,000,000, at least 16,384): larger batches are sent as several, each with its own
    /// envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(minimum = 16384, example = 1000000))]
    pub max_content_length: Option<u64>,
}

/// Datadog logs: the secret is the API key (`DD-API-KEY`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatadogDestination {
    /// The Datadog site, e.g. `datadoghq.com` or `datadoghq.eu`; logs go to
    /// `https://http-intake.logs.{site}/api/v2/logs`. Default `datadoghq.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// An intake base URL instead of the site's (a proxy, or a test receiver); logs go to
    /// `{url}/api/v2/logs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 2048))]
    pub url: Option<String>,
    /// The `service` attribute (default `audit-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The `ddsource` attribute (default `audit-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddsource: Option<String>,
    /// Extra `ddtags`, comma-separated `key:value` pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddtags: Option<String>,
    /// The `hostname` attribute (default `audit-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

/// NDJSON files (one record per line), for shipping agents such as Vector or Fluent Bit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileDestination {
    /// A relative directory under the operator's `AUDIT_STREAMS_FILE_ROOT` (no `..`).
    #[cfg_attr(feature = "utoipa", schema(example = "acme"))]
    pub directory: String,
    /// Starts a new file once the current one holds this many bytes (default 64 MiB, at least 1,024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_bytes: Option<u64>,
    /// Starts a new file once the current one is this many seconds old (default 3,600, at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_seconds: Option<u64>,
}

/// What a stream sends for each record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum StreamFormat {
    /// The record as it is stored and read through the API.
    #[default]
    Native,
    /// An OCSF event (API Activity, Entity Management, Account Change or User Access
    /// Management) with the `record_integrity` profile; see the README's mapping table.
    Ocsf,
}

impl StreamFormat {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamFormat::Native => "native",
            StreamFormat::Ocsf => "ocsf",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Self> {
        [StreamFormat::Native, StreamFormat::Ocsf]
            .into_iter()
            .find(|format| format.as_str() == text)
    }
}

/// Which records a stream delivers; an empty list means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamFilter {
    /// Only this project's records.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub project_id: Option<String>,
    /// Only these resource types (at most 100).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_items = 100))]
    pub resource_types: Vec<String>,
    /// Only these actions (at most 100).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_items = 100))]
    pub actions: Vec<String>,
}

/// The body that creates a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "name": "SIEM webhook",
    "destination": {"type": "webhook", "url": "https://hooks.example.com/audit"},
    "secret": "whsec_4f9c2d1e8b7a6f5e4d3c2b1a",
    "filter": {"projectId": null, "resourceTypes": ["apiKey", "prompt"], "actions": []}
})))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewLogStream {
    /// A display name, 1 to 256 characters.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 256))]
    pub name: String,
    /// Where to deliver.
    pub destination: StreamDestination,
    /// The webhook signing secret, Splunk HEC token, Datadog API key, S3 credentials
    /// (`ACCESS_KEY_ID:SECRET_ACCESS_KEY`) or OTLP `Authorization` header (16 to 1,024 characters
    /// for a webhook, 1 to 1,024 otherwise); required except for files. Never returned.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_length = 1024))]
    pub secret: Option<String>,
    /// Which records to deliver (default: all).
    #[serde(default)]
    pub filter: StreamFilter,
    /// What is sent for each record (default `native`).
    #[serde(default)]
    pub format: StreamFormat,
    /// Fields dropped, masked or hashed in what is sent (default: none).
    #[serde(default)]
    pub privacy: PrivacyPolicy,
    /// Attempts a batch gets when the destination refuses it for good (HTTP 4xx other than 401,
    /// 403, 404, 407, 408, 421, 425 and 429) before its records are sent one by one and a record
    /// still refused after as many attempts is set aside as a dead letter (1 to 100, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(minimum = 1, maximum = 100))]
    pub max_attempts: Option<u32>,
    /// Deliver from the start of the trail instead of from now.
    #[serde(default)]
    pub from_beginning: bool,
    /// Deliver the records after this `seq` (0 is the start); default: the current head, so only
    /// records stored from now on.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(minimum = 0))]
    pub start_seq: Option<i64>,
}

/// The body that changes a stream (PATCH): absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"name": "SIEM webhook (prod)", "filter": {"projectId": "p_1", "resourceTypes": [], "actions": []}})))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogStreamUpdate {
    /// A new display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 256))]
    pub name: Option<String>,
    /// A new destination; changing its type needs a new `secret` (files need none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<StreamDestination>,
    /// A new secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 1024))]
    pub secret: Option<String>,
    /// A new filter, replacing the old one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<StreamFilter>,
    /// A new format, for the records not delivered yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<StreamFormat>,
    /// A new privacy policy, replacing the old one, for the records not delivered yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<PrivacyPolicy>,
    /// A new number of attempts before a refused record is set aside (1 to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(minimum = 1, maximum = 100))]
    pub max_attempts: Option<u32>,
}

/// Whether a stream delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum StreamState {
    /// Delivering.
    Active,
    /// Paused; records keep accumulating and are delivered after a resume.
    Paused,
}

impl StreamState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamState::Active => "active",
            StreamState::Paused => "paused",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Self> {
        [StreamState::Active, StreamState::Paused]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// How delivery is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum StreamHealthStatus {
    /// The last attempts succeeded (or too few failed in a row to say otherwise).
    Healthy,
    /// Several attempts in a row failed; the stream keeps retrying with backoff.
    Unhealthy,
}

/// A stream's delivery health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StreamHealth {
    /// Healthy or unhealthy.
    pub status: StreamHealthStatus,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// The most recent failure, kept after recovery.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub last_error: Option<String>,
    /// When a batch was last acknowledged.
    #[serde(default, with = "timestamp::optional")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime, required))]
    pub last_success_at: Option<DateTime<Utc>>,
    /// When a batch was last sent.
    #[serde(default, with = "timestamp::optional")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime, required))]
    pub last_attempt_at: Option<DateTime<Utc>>,
}

/// A stream as the API shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "id": "019ab9b0-5c6d-7e8f-9a0b-1c2d3e4f5a6b", "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b",
    "name": "SIEM webhook", "destination": {"type": "webhook", "url": "https://hooks.example.com/audit"},
    "hasSecret": true, "secretHint": "…2b1a",
    "filter": {"projectId": null, "resourceTypes": ["apiKey", "prompt"], "actions": []},
    "format": "native", "privacy": {"rules": [{"field": "ipAddress", "action": "hash"}]}, "state": "active", "maxAttempts": 5, "deliveredSeq": 1234, "deliveredTotal": 1200,
    "health": {"status": "healthy", "consecutiveFailures": 0, "lastError": null,
               "lastSuccessAt": "2026-11-26T10:00:01.250Z", "lastAttemptAt": "2026-11-26T10:00:01.200Z"},
    "createdAt": "2026-11-26T09:00:00.000Z", "updatedAt": "2026-11-26T09:00:00.000Z"
})))]
#[serde(rename_all = "camelCase")]
pub struct LogStream {
    /// The stream's id.
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// Its display name.
    pub name: String,
    /// Where it delivers.
    pub destination: StreamDestination,
    /// Whether a secret is stored (it is never shown).
    pub has_secret: bool,
    /// The secret's last four characters, to tell secrets apart.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub secret_hint: Option<String>,
    /// Which records it delivers.
    pub filter: StreamFilter,
    /// What it sends for each record.
    pub format: StreamFormat,
    /// What it drops, masks or hashes in what it sends (its hashing key is never shown).
    pub privacy: PrivacyPolicy,
    /// Active or paused.
    pub state: StreamState,
    /// Attempts a permanently refused batch, then record, gets before the record is set aside.
    pub max_attempts: u32,
    /// The cursor: every record up to this `seq` has been delivered (or filtered out).
    pub delivered_seq: i64,
    /// Records delivered so far (redeliveries included).
    pub delivered_total: i64,
    /// Delivery health.
    pub health: StreamHealth,
    /// When it was created.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    /// When it was last changed through the API.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub updated_at: DateTime<Utc>,
}

/// The organization's streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"data": [{
    "id": "019ab9b0-5c6d-7e8f-9a0b-1c2d3e4f5a6b", "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b",
    "name": "SIEM webhook", "destination": {"type": "webhook", "url": "https://hooks.example.com/audit"},
    "hasSecret": true, "secretHint": "…2b1a",
    "filter": {"projectId": null, "resourceTypes": [], "actions": []},
    "format": "ocsf", "privacy": {"rules": []}, "state": "paused", "maxAttempts": 5, "deliveredSeq": 1234, "deliveredTotal": 1234,
    "health": {"status": "healthy", "consecutiveFailures": 0, "lastError": null,
               "lastSuccessAt": null, "lastAttemptAt": null},
    "createdAt": "2026-11-26T09:00:00.000Z", "updatedAt": "2026-11-26T09:30:00.000Z"
}]})))]
pub struct LogStreamList {
    /// Every stream, oldest first.
    pub data: Vec<LogStream>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn destinations_are_tagged_by_type_and_refuse_unknown_fields() {
        let webhook: StreamDestination =
            serde_json::from_value(json!({"type": "webhook", "url": "https://x.example"})).unwrap();
        assert_eq!(webhook.kind(), "webhook");
        let splunk: StreamDestination =
            serde_json::from_value(json!({"type": "splunkHec", "url": "https://s:8088", "index": "main"}))
                .unwrap();
        assert_eq!(serde_json::to_value(&splunk).unwrap()["index"], "main");
        assert!(
            serde_json::from_value::<StreamDestination>(json!({"type": "webhook", "url": "u", "x": 1}))
                .is_err()
        );
        assert!(serde_json::from_value::<StreamDestination>(json!({"type": "s3"})).is_err());
        let s3: StreamDestination = serde_json::from_value(
            json!({"type": "s3", "region": "us-east-1", "bucket": "audit", "pathStyle": true}),
        )
        .unwrap();
        assert_eq!(s3.kind(), "s3");
    }
}
