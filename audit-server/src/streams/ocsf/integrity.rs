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

use audit_core::AuditRecord;
use serde_json::{Value, json};

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
