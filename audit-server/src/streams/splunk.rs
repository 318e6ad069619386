//! Splunk HTTP Event Collector: `POST {url}/services/collector/event` with
//! `Authorization: Splunk <token>` and the events as concatenated JSON objects
//! (`{"time", "host", "source", "sourcetype", "index", "event"}`), as "Format events for HTTP
//! Event Collector" in Splunk's documentation describes.

use audit_core::SplunkHecDestination;
use serde_json::{Map, Value, json};

use super::batch::Batch;
use super::destination::{DeliveryError, post_each};
use super::split::{PayloadLimits, payloads};

/// The default largest request body: 1 MB, the `max_content_length` HEC has long defaulted to.
pub const DEFAULT_MAX_CONTENT_LENGTH: u64 = 1_000_000;

/// What one request to the collector may carry: `maxContentLength` bytes (one event too).
pub fn limits(config: &SplunkHecDestination) -> PayloadLimits {
    PayloadLimits::body_of_at_most(config.max_content_length.unwrap_or(DEFAULT_MAX_CONTENT_LENGTH))
}

/// The body of a batch: one JSON object per record, newline-separated.
pub fn body(config: &SplunkHecDestination, batch: &Batch<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for (record, sent) in batch.records.iter().zip(&batch.events) {
        let mut event = Map::new();
        // Epoch seconds with milliseconds, as HEC's `time` takes it.
        let millis = record.created_at.timestamp_millis();
        event.insert("time".to_owned(), json!(millis as f64 / 1000.0));
        event.insert(
            "host".to_owned(),
            json!(config.host.as_deref().unwrap_or("audit-log")),
        );
        event.insert(
            "source".to_owned(),
            json!(config.source.as_deref().unwrap_or("audit-log")),
        );
        event.insert(
            "sourcetype".to_owned(),
            json!(config.sourcetype.as_deref().unwrap_or("_json")),
        );
        if let Some(index) = &config.index {
            event.insert("index".to_owned(), json!(index));
        }
        event.insert("event".to_owned(), sent.clone());
        event.insert("fields".to_owned(), envelope_fields(batch));
        if !out.is_empty() {
            out.push(b'\n');
        }
        out.extend(serde_json::to_vec(&Value::Object(event)).unwrap_or_default());
    }
    out
}

/// The batch's envelope as HEC indexed `fields` (flat: HEC takes no nested values), on every
/// event of the batch; the checkpoint note is left out (large, and the same on every event).
fn envelope_fields(batch: &Batch<'_>) -> Value {
    let envelope = &batch.envelope;
    let mut fields = json!({
        "audit_stream_id": envelope.stream_id.to_string(),
        "audit_batch_count": envelope.count,
        "audit_batch_first_seq": envelope.first_seq,
        "audit_batch_last_seq": envelope.last_seq,
        "audit_batch_last_hash": envelope.last_hash,
    });
    if let Some(previous) = &envelope.previous_batch_hash {
        fields["audit_batch_previous_hash"] = json!(previous);
    }
    if let Some(seqs) = envelope.dead_lettered_text() {
        fields["audit_batch_dead_lettered"] = json!(seqs);
    }
    if envelope.dead_letter_retry {
        fields["audit_batch_dead_letter_retry"] = json!("true");
    }
    fields
}

/// The collector endpoint.
pub fn endpoint(config: &SplunkHecDestination) -> String {
    format!("{}/services/collector/event", config.url.trim_end_matches('/'))
}

/// Sends one batch.
pub async fn send(
    http: &reqwest::Client,
    config: &SplunkHecDestination,
    token: &str,
    batch: &Batch<'_>,
) -> Result<(), DeliveryError> {
    let bodies = payloads(batch, limits(config), |part| body(config, part));
    post_each(bodies, |payload| {
        http.post(endpoint(config))
            .header(reqwest::header::AUTHORIZATION, format!("Splunk {token}"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload)
    })
    .await
}
