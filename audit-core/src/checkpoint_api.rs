//! Checkpoints on the wire: a signed checkpoint and the server's public key.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::{Checkpoint, CheckpointVerifier, SignedCheckpoint};
use crate::timestamp;

/// A signed checkpoint of an organization's chain: the signed note and the fields it states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b",
    "seq": 1000,
    "headHash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "rootHash": "rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=",
    "time": "2026-11-25T10:00:00.120Z",
    "keyName": "audit-log/019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b",
    "keyId": "1a2b3c4d",
    "signature": "GiszTQ...",
    "note": "audit-log/019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b\n1000\nrra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=\nn4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=\n2026-11-25T10:00:00.120Z\n\n\u{2014} audit-log/019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b GiszTQ...\n\u{2014} witness.example.com 5Xb2Aw...\n",
    "cosignatures": [{
        "witness": "witness.example.com",
        "keyId": "e575f603",
        "time": "2026-11-25T10:00:01Z",
        "line": "\u{2014} witness.example.com 5Xb2Aw..."
    }]
})))]
#[serde(rename_all = "camelCase")]
pub struct SignedCheckpointResponse {
    /// The organization.
    pub org_id: Uuid,
    /// The `seq` of the last record covered.
    pub seq: i64,
    /// That record's hash, hex.
    pub head_hash: String,
    /// The root of the organization's RFC 6962 Merkle tree of `seq` leaves, base64, as on the
    /// note's third line; absent in checkpoints signed before trees were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_hash: Option<String>,
    /// When the server signed it.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub time: DateTime<Utc>,
    /// The signing key's name.
    pub key_name: String,
    /// The signing key's id, 8 hex digits.
    pub key_id: String,
    /// `base64(keyId || Ed25519 signature)` of the note's body.
    pub signature: String,
    /// The C2SP signed note: a tlog-checkpoint (origin, tree size, base64 root) with the base64
    /// head hash and the time as extension lines, a blank line, the server's signature line and
    /// the witnesses' tlog-cosignature/v1 lines. `audit-verify --checkpoint` reads this text.
    pub note: String,
    /// The witnesses' cosignatures of this checkpoint, also on the note's last lines.
    #[serde(default)]
    pub cosignatures: Vec<CheckpointCosignature>,
}

/// A witness's tlog-cosignature/v1 of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CheckpointCosignature {
    /// The witness's key name.
    pub witness: String,
    /// The witness's key id, 8 hex digits.
    pub key_id: String,
    /// The time the witness states it cosigned.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub time: DateTime<Utc>,
    /// The signature line, `— <witness> <base64(keyId || time || signature)>`.
    pub line: String,
}

/// A hex root as the wire carries it: base64.
fn root_base64(hex_root: &str) -> String {
    STANDARD.encode(hex::decode(hex_root).unwrap_or_default())
}

impl SignedCheckpointResponse {
    /// The root stated by a stored note's body (base64), if it states one.
    pub fn root_of_note(note: &str) -> Option<String> {
        let body = note.split_once("\n\n").map(|(body, _)| format!("{body}\n"))?;
        Checkpoint::parse_body(&body)
            .ok()?
            .root_hash
            .as_deref()
            .map(root_base64)
    }
}

impl From<SignedCheckpoint> for SignedCheckpointResponse {
    fn from(signed: SignedCheckpoint) -> Self {
        SignedCheckpointResponse {
            org_id: signed.checkpoint.org_id,
            seq: signed.checkpoint.seq,
            head_hash: signed.checkpoint.head_hash,
            root_hash: signed.checkpoint.root_hash.as_deref().map(root_base64),
            time: signed.checkpoint.time,
            key_name: signed.key_name,
            key_id: signed.key_id,
            signature: signed.signature,
            note: signed.note,
            cosignatures: Vec::new(),
        }
    }
}

/// The key that verifies the server's checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "algorithm": "Ed25519",
    "keyName": "audit-log",
    "keyId": "1a2b3c4d",
    "vkey": "audit-log+1a2b3c4d+AeYk0dN9mC2l0d0Pq8yq3kX1b4o3lH3y0D5Zq9m7r2sT",
    "publicKey": "5iTR032YLaXR3Q+rzKreRfVvijeUfbLQPlmr2bvays0="
})))]
#[serde(rename_all = "camelCase")]
pub struct CheckpointPublicKey {
    /// Always `Ed25519`.
    pub algorithm: String,
    /// The key's name, as on signature lines.
    pub key_name: String,
    /// The key id, 8 hex digits.
    pub key_id: String,
    /// The verifier key in signed-note format: `<name>+<key id>+<base64(0x01 || key)>`.
    /// `audit-verify --public-key` reads this text.
    pub vkey: String,
    /// The raw 32-byte public key, base64.
    pub public_key: String,
}

impl From<&CheckpointVerifier> for CheckpointPublicKey {
    fn from(verifier: &CheckpointVerifier) -> Self {
        CheckpointPublicKey {
            algorithm: "Ed25519".to_owned(),
            key_name: verifier.name().to_owned(),
            key_id: verifier.key_id(),
            vkey: verifier.vkey(),
            public_key: verifier.public_key_base64(),
        }
    }
}
