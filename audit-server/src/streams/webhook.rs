//! Webhook batches: `POST {url}` with `{"batch": envelope, "events": [event, ...]}`, or a
//! CloudEvents batch (see `cloud_events`), signed over the body sent.

use serde_json::json;

use super::batch::Batch;
use super::destination::{DeliveryError, check_status};
use super::{cloud_events, signature};

/// The JSON body of a batch: its envelope and its events.
pub fn body(batch: &Batch<'_>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "batch": batch.envelope, "events": batch.events })).unwrap_or_default()
}

/// Sends one batch, as CloudEvents when `as_cloud_events`.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    as_cloud_events: bool,
    batch: &Batch<'_>,
) -> Result<(), DeliveryError> {
    let stream_id = batch.envelope.stream_id;
    let (content_type, body) = if as_cloud_events {
        (cloud_events::BATCH_CONTENT_TYPE, cloud_events::body(batch))
    } else {
        ("application/json", body(batch))
    };
    let timestamp = chrono::Utc::now().timestamp();
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .header(signature::HEADER, signature::sign(secret, timestamp, &body))
        .header("x-audit-stream-id", stream_id.to_string())
        .body(body)
        .send()
        .await
        .map_err(DeliveryError::from_reqwest)?;
    check_status(response).await
}
