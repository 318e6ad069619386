//! A dead letter sent again through the API: one record, now, outside the stream's chain.

use audit_core::AuditRecord;

use super::destination::DeliveryError;
use super::prepare;
use super::worker::WorkerSettings;
use crate::store::streams::Claimed;

/// Sends `record` to the stream's destination as a batch of its own marked `deadLetterRetry`
/// (no `previousBatchHash`, no `deadLettered`: the chain is left as it is).
pub async fn dead_letter(
    key: &[u8; 32],
    settings: &WorkerSettings,
    claimed: &Claimed,
    record: &AuditRecord,
) -> Result<(), DeliveryError> {
    let mut sink = prepare::destination(key, settings, claimed)?;
    let privacy_key = prepare::privacy_key(key, claimed)?;
    let records = std::slice::from_ref(record);
    let mut batch = prepare::batch(settings, claimed, &privacy_key, records);
    batch.envelope.previous_batch_hash = None;
    batch.envelope.dead_lettered = Vec::new();
    batch.envelope.dead_letter_retry = true;
    let sent = sink.send(&prepare::http_client(settings), &batch).await;
    sink.close().await;
    sent
}
