//! The OCSF `record_integrity` profile's `attestation_list`, filled from the trail's hash chain.
//!
//! One attestation per event, by the service: `chain_uid` and `authority_uid` are the
//! organization's log origin (`<log name>/<orgId>`, the checkpoints' first line), `uid` is the
//! record's `seq`, `fingerprint` its chain hash (SHA-256 over the previous hash and the record's
//! canonical JSON, as `GET /api/v1/verify` recomputes it) and `prev_event` the previous record
//! (`seq - 1`) with its hash; absent on the first record. The fingerprint is over the native
//! record, not over the OCSF event: that is what the chain, its checkpoints and its proofs
//! cover, so a receiver checks it against the native record (the profile names no way to
//! attest a source record; this is the nearest real use of its attributes).
//!
//! When a signed checkpoint covers the record (the batch's checkpoint, the organization's
//! newest, has a tree size at or above the record's `seq`), the attestation carries its
//! signature: `signatures[0]` names the scheme (Ed25519 over a C2SP signed note, both
//! `Other` in OCSF's enumerations) and the signing time, and, as OCSF's `digital_signature`
//! has no attribute for the signature bytes, `unmapped.checkpoint` carries the checkpoint's
//! `seq`, `keyId`, `signature` (`base64(keyId || signature)`) and whole `note`. A receiver
//! verifies the note with the key of `GET /api/v1/checkpoints/public-key`; the note states the
//! head hash at its `seq`, which the record's fingerprint chains to.

use audit_core::AuditRecord;
use serde_json::{Value, json};

use crate::store::entity::checkpoint;

/// OCSF's `Other` in the signature algorithm and serialization enumerations.
const OTHER: u32 = 99;

/// OCSF's `algorithm_id` of SHA-256 fingerprints.
const SHA_256: u32 = 3;

fn sha256(value: &str) -> Value {
    json!({"algorithm_id": SHA_256, "algorithm": "SHA-256", "value": value})
}

/// The `attestation_list` of `record`, in the log named `origin`.
pub fn attestation_list(record: &AuditRecord, origin: &str) -> Value {
    let mut attestation = json!({
        "uid": record.seq.to_string(),
        "authority_uid": origin,
        "chain_uid": origin,
        "fingerprint": sha256(&record.hash),
    });
    if record.seq > 1 && !record.prev_hash.is_empty() {
        attestation["prev_event"] = json!({
            "uid": (record.seq - 1).to_string(),
            "fingerprint": sha256(&record.prev_hash),
        });
    }
    json!([attestation])
}

/// Adds `checkpoint`'s signature to the OCSF `event` of a record it covers.
pub fn add_checkpoint_signature(event: &mut Value, checkpoint: &checkpoint::Model) {
    let Some(attestation) = event.pointer_mut("/attestation_list/0") else {
        return;
    };
    attestation["signatures"] = json!([{
        "algorithm_id": OTHER,
        "algorithm": "Ed25519",
        "serialization_id": OTHER,
        "serialization": "C2SP signed note",
        "created_time": checkpoint.created_at.timestamp_millis(),
    }]);
    if let Some(unmapped) = event.get_mut("unmapped").and_then(Value::as_object_mut) {
        unmapped.insert(
            "checkpoint".to_owned(),
            json!({
                "seq": checkpoint.seq,
                "keyId": checkpoint.key_id,
                "signature": checkpoint.signature,
                "note": checkpoint.note,
            }),
        );
    }
}
