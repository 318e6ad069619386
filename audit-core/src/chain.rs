//! The tamper-evidence chain: `hash = SHA-256(prevHash || JCS(record without hash))`.
//!
//! `prevHash` enters the digest as its 64 lowercase hex characters, followed directly by the
//! RFC 8785 canonical JSON of the record without its `hash` member. The first record of an
//! organization chains to [`GENESIS_HASH`].

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{AuditRecord, canonical};

/// The `prevHash` of an organization's first record: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The chain hash of a record's content (without `hash`) following `prev_hash`.
pub fn chain_hash(prev_hash: &str, content_without_hash: &Value) -> String {
    chain_hash_canonical(prev_hash, &canonical::to_canonical_bytes(content_without_hash))
}

/// The chain hash of a record whose content (without `hash`) is already in canonical form.
pub fn chain_hash_canonical(prev_hash: &str, canonical_content: &[u8]) -> String {
    let mut digest = Sha256::new();
    digest.update(prev_hash.as_bytes());
    digest.update(canonical_content);
    hex::encode(digest.finalize())
}

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first sequence number at which the chain breaks.
    pub seq: i64,
    /// What is wrong there.
    pub reason: String,
}

/// Walks records in `seq` order and checks continuity, links and hashes.
///
/// Start it with the `seq` and `hash` expected before the first record (`0` and
/// [`GENESIS_HASH`] for a whole trail), feed it every record, and it names the first break.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_seq: i64,
    expected_prev_hash: String,
    checked: u64,
    first_break: Option<ChainBreak>,
}

impl ChainVerifier {
    /// A verifier for a whole trail, from `seq` 1.
    pub fn from_genesis() -> Self {
        ChainVerifier::after(0, GENESIS_HASH)
    }

    /// A verifier for the records after `seq`, whose hash is `hash`.
    pub fn after(seq: i64, hash: &str) -> Self {
        ChainVerifier {
            expected_seq: seq + 1,
            expected_prev_hash: hash.to_owned(),
            checked: 0,
            first_break: None,
        }
    }

    /// A verifier that trusts the first record's `prevHash` (for a range that starts mid-trail)
    /// but still checks its `seq`.
    pub fn starting_at(seq: i64) -> Self {
        ChainVerifier {
            expected_seq: seq,
            expected_prev_hash: String::new(),
            checked: 0,
            first_break: None,
        }
    }

    /// Checks the next record. Returns `false` once the chain is broken.
    pub fn push(&mut self, record: &AuditRecord) -> bool {
        if self.first_break.is_some() {
            return false;
        }
        let computed = record.compute_hash();
        self.push_hashed(record.seq, &record.prev_hash, &record.hash, &computed)
    }

    /// Checks the next record, whose hash was recomputed elsewhere (`computed_hash`, e.g. by
    /// [`AuditRecord::compute_hash`] on another thread): only the links are checked in order.
    pub fn push_hashed(&mut self, seq: i64, prev_hash: &str, hash: &str, computed_hash: &str) -> bool {
        if self.first_break.is_some() {
            return false;
        }
        self.checked += 1;
        let problem = if seq != self.expected_seq {
            Some(if seq > self.expected_seq {
                (
                    self.expected_seq,
                    format!("record seq {} is missing", self.expected_seq),
                )
            } else {
                (seq, format!("record seq {seq} is out of order or duplicated"))
            })
        } else if !self.expected_prev_hash.is_empty() && prev_hash != self.expected_prev_hash {
            Some((
                seq,
                "prevHash does not match the previous record's hash".to_owned(),
            ))
        } else if computed_hash != hash {
            Some((seq, "hash does not match the record's content".to_owned()))
        } else {
            None
        };
        match problem {
            Some((seq, reason)) => {
                self.first_break = Some(ChainBreak { seq, reason });
                false
            }
            None => {
                self.expected_seq = seq + 1;
                hash.clone_into(&mut self.expected_prev_hash);
                true
            }
        }
    }

    /// How many records were examined.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// The first break, if any.
    pub fn first_break(&self) -> Option<&ChainBreak> {
        self.first_break.as_ref()
    }

    /// The `seq` of the last record that verified.
    pub fn head_seq(&self) -> i64 {
        self.expected_seq - 1
    }

    /// The hash of the last record that verified.
    pub fn head_hash(&self) -> &str {
        &self.expected_prev_hash
    }
}
