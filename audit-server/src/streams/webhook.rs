//! Webhook batches: `POST {url}` with `{"batch": envelope, "events": [event, ...]}`, or a
//! CloudEvents batch when the destination asks for it (see `cloud_events`), signed over the body
//! sent.
//! A batch larger than the destination's `maxBodyBytes` (default 5,000,000) goes as several
//! requests, each a batch with its own envelope and signature (see [`super::split`]).

use audit_core::WebhookDestination;
use serde_json::json;

use super::batch::Batch;
use super::destination::{DeliveryError, post_each};
use super::split::{PayloadLimits, payloads};
use super::{cloud_events, signature};

/// The default largest request body.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 5_000_000;

/// What one request may carry.
pub fn limits(config: &WebhookDestination) -> PayloadLimits {
    PayloadLimits::body_of_at_most(config.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES))
}

/// The JSON body of a batch: its envelope and its events.
pub fn body(batch: &Batch<'_>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "batch": batch.envelope, "events": batch.events })).unwrap_or_default()
}

/// Sends one batch, as CloudEvents when the destination says `cloudEvents`.
pub async fn send(
    http: &reqwest::Client,
    config: &WebhookDestination,
    secret: &str,
    batch: &Batch<'_>,
) -> Result<(), DeliveryError> {
    let stream_id = batch.envelope.stream_id.to_string();
    let (content_type, bodies) = if config.cloud_events {
        (
            cloud_events::BATCH_CONTENT_TYPE,
            payloads(batch, limits(config), cloud_events::body),
        )
    } else {
        ("application/json", payloads(batch, limits(config), body))
    };
    post_each(bodies, |body| {
        let timestamp = chrono::Utc::now().timestamp();
        http.post(&config.url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(signature::HEADER, signature::sign(secret, timestamp, &body))
            .header("x-audit-stream-id", &stream_id)
            .body(body)
    })
    .await
}
