//! Datadog logs intake: `POST https://http-intake.logs.{site}/api/v2/logs` with the `DD-API-KEY`
//! header and a JSON array of `{"ddsource", "ddtags", "hostname", "service", "message"}`, as
//! Datadog's "Send logs" API (v2) documents. The message is the event sent for the record (its stream format) as JSON text, which
//! Datadog parses into attributes.
//!
//! The intake's documented limits are kept: at most 5 MB per (uncompressed) payload, 1 MB per
//! log and 1,000 logs per array, so a batch goes as several payloads when needed (see
//! [`super::split`]). Each log's `timestamp` is the record's `occurredAt`, except that the
//! intake refuses logs older than 18 hours: those (replays, backfills, imports) carry the time
//! of delivery instead and their own time as `audit_original_time`.

use audit_core::{AuditRecord, DatadogDestination};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::batch::Batch;
use super::destination::{DeliveryError, post_each};
use super::split::{PayloadLimits, payloads};

/// The intake's limits: 5 MB per payload, 1 MB per log, 1,000 logs per array.
pub const LIMITS: PayloadLimits = PayloadLimits {
    max_bytes: 5_000_000,
    max_item_bytes: 1_000_000,
    max_items: 1000,
};

/// The oldest log timestamp the intake accepts, before the time of delivery.
pub const OLDEST_ACCEPTED: chrono::TimeDelta = chrono::TimeDelta::hours(18);

/// The log's `timestamp` (epoch milliseconds) and, when the record is too old for it, its
/// original time.
fn timestamp(record: &AuditRecord, now: DateTime<Utc>) -> (i64, Option<String>) {
    if record.occurred_at < now - OLDEST_ACCEPTED {
        let original = record
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        (now.timestamp_millis(), Some(original))
    } else {
        (record.occurred_at.timestamp_millis(), None)
    }
}

/// The intake endpoint.
pub fn endpoint(config: &DatadogDestination) -> String {
    let base = match (&config.url, &config.site) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(site)) => format!("https://http-intake.logs.{site}"),
        (None, None) => "https://http-intake.logs.datadoghq.com".to_owned(),
    };
    format!("{base}/api/v2/logs")
}

/// The body of a batch delivered at `now`.
pub fn body(config: &DatadogDestination, batch: &Batch<'_>, now: DateTime<Utc>) -> Vec<u8> {
    // The envelope without the checkpoint note (large, and the same on every log).
    let mut batch_attribute = serde_json::to_value(&batch.envelope).unwrap_or(Value::Null);
    if let Value::Object(members) = &mut batch_attribute {
        members.remove("checkpoint");
    }
    let items: Vec<Value> = batch
        .records
        .iter()
        .zip(&batch.events)
        .map(|(record, sent)| {
            let mut tags = format!(
                "org_id:{},resource_type:{},action:{}",
                record.org_id, record.resource_type, record.action
            );
            if let Some(project_id) = &record.project_id {
                tags.push_str(&format!(",project_id:{project_id}"));
            }
            if let Some(extra) = &config.ddtags {
                tags.push(',');
                tags.push_str(extra);
            }
            let (timestamp, original_time) = timestamp(record, now);
            let mut log = json!({
                "ddsource": config.ddsource.as_deref().unwrap_or("audit-log"),
                "ddtags": tags,
                "hostname": config.hostname.as_deref().unwrap_or("audit-log"),
                "service": config.service.as_deref().unwrap_or("audit-log"),
                "message": serde_json::to_string(sent).unwrap_or_default(),
                "timestamp": timestamp,
                "audit_batch": batch_attribute,
            });
            if let Some(original_time) = original_time {
                log["audit_original_time"] = json!(original_time);
            }
            log
        })
        .collect();
    serde_json::to_vec(&items).unwrap_or_default()
}

/// Sends one batch.
pub async fn send(
    http: &reqwest::Client,
    config: &DatadogDestination,
    api_key: &str,
    batch: &Batch<'_>,
) -> Result<(), DeliveryError> {
    let now = Utc::now();
    let bodies = payloads(batch, LIMITS, |part| body(config, part, now));
    post_each(bodies, |payload| {
        http.post(endpoint(config))
            .header("DD-API-KEY", api_key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload)
    })
    .await
}
