//! Webhook batches: `POST {url}` with `{"events": [record, ...]}`, signed.

use audit_core::AuditRecord;
use serde_json::json;
use uuid::Uuid;

use super::destination::{DeliveryError, check_status};
use super::signature;

/// The JSON body of a batch.
pub fn body(records: &[AuditRecord]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "events": records })).unwrap_or_default()
}

/// Sends one batch.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    stream_id: Uuid,
    records: &[AuditRecord],
) -> Result<(), DeliveryError> {
    let body = body(records);
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
