//! Webhook batches: `POST {url}` with `{"batch": envelope, "events": [event, ...]}`, signed.

use serde_json::json;

use super::batch::Batch;
use super::destination::{DeliveryError, check_status};
use super::signature;

/// The JSON body of a batch: its envelope and its events.
pub fn body(batch: &Batch<'_>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "batch": batch.envelope, "events": batch.events })).unwrap_or_default()
}

/// Sends one batch.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    batch: &Batch<'_>,
) -> Result<(), DeliveryError> {
    let stream_id = batch.envelope.stream_id;
    let body = body(batch);
    let timestamp = chrono::Utc::now().timestamp();
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(signature::HEADER, signature::sign(secret, timestamp, &body))
        .header("x-audit-stream-id", stream_id.to_string())
        .body(body)
        .send()
        .await
        .map_err(DeliveryError::from_reqwest)?;
    check_status(response).await
}
