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

/// What kind of break a chain has, as a reader of records in `seq` order sees it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The record's content does not match its hash: it was changed.
    Modified,
    /// The record's `prevHash` is not the previous record's hash: a record before it was
    /// removed, inserted or replaced and the rest renumbered.
    Unlinked,
    /// The `seq` jumps ahead: the records in between are missing here (removed, or further
    /// on: reordered).
    Missing,
    /// The `seq` is not above the previous one: a duplicate or an out-of-order record.
    Repeated,
}

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first sequence number at which the chain breaks (for [`BreakKind::Missing`], the
    /// first missing one).
    pub seq: i64,
    /// Its kind.
    pub kind: BreakKind,
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
                    BreakKind::Missing,
                    format!("record seq {} is missing", self.expected_seq),
                )
            } else {
                (
                    seq,
                    BreakKind::Repeated,
                    format!("record seq {seq} is out of order or duplicated"),
                )
            })
        } else if !self.expected_prev_hash.is_empty() && prev_hash != self.expected_prev_hash {
            Some((
                seq,
                BreakKind::Unlinked,
                "prevHash does not match the previous record's hash".to_owned(),
            ))
        } else if computed_hash != hash {
            Some((
                seq,
                BreakKind::Modified,
                "hash does not match the record's content".to_owned(),
            ))
        } else {
            None
        };
        match problem {
            Some((seq, kind, reason)) => {
                self.first_break = Some(ChainBreak { seq, kind, reason });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuditEvent;

    /// A sealed trail of `count` records of one organization.
    fn trail(count: i64) -> Vec<AuditRecord> {
        let org_id = uuid::Uuid::nil();
        let created_at = crate::timestamp::parse("2026-12-06T10:00:00Z").unwrap();
        let mut prev_hash = GENESIS_HASH.to_owned();
        (1..=count)
            .map(|seq| {
                let event = AuditEvent::by_api_key("k_1", "prompt", format!("pr_{seq}"), "update");
                let mut record = AuditRecord::from_event(event, org_id, seq, created_at, None);
                record.seal(&prev_hash);
                prev_hash.clone_from(&record.hash);
                record
            })
            .collect()
    }

    /// The first break when `records` are read in this order from genesis.
    fn first_break(records: &[AuditRecord]) -> Option<(i64, BreakKind)> {
        let mut verifier = ChainVerifier::from_genesis();
        records.iter().all(|record| verifier.push(record));
        verifier.first_break().map(|broken| (broken.seq, broken.kind))
    }

    #[test]
    fn an_intact_trail_verifies_to_its_head() {
        let records = trail(5);
        let mut verifier = ChainVerifier::from_genesis();
        assert!(records.iter().all(|record| verifier.push(record)));
        assert_eq!((verifier.checked(), verifier.head_seq()), (5, 5));
        assert_eq!(verifier.head_hash(), records[4].hash);
    }

    #[test]
    fn a_modified_record_is_named() {
        let mut records = trail(5);
        records[2].action = "delete".to_owned();
        assert_eq!(first_break(&records), Some((3, BreakKind::Modified)));
    }

    #[test]
    fn a_removed_record_is_missing_and_a_renumbered_one_unlinked() {
        let mut records = trail(5);
        records.remove(2);
        assert_eq!(first_break(&records), Some((3, BreakKind::Missing)));
        // Renumbered after the removal (seq made contiguous again, hashes recomputed on top):
        // the link to the record before is what breaks.
        let mut renumbered = records.clone();
        renumbered[2].seq = 3;
        let prev = renumbered[2].prev_hash.clone();
        renumbered[2].seal(&prev);
        assert_eq!(first_break(&renumbered), Some((3, BreakKind::Unlinked)));
    }

    #[test]
    fn an_inserted_record_is_repeated_or_unlinked() {
        let records = trail(5);
        let mut duplicated = records.clone();
        duplicated.insert(3, records[2].clone());
        assert_eq!(first_break(&duplicated), Some((3, BreakKind::Repeated)));
        let mut forged = records[2].clone();
        forged.action = "delete".to_owned();
        forged.seq = 4;
        forged.seal(&records[2].hash);
        let mut inserted = records[..3].to_vec();
        inserted.push(forged);
        inserted.extend(records[3..].iter().cloned());
        assert_eq!(first_break(&inserted), Some((4, BreakKind::Repeated)));
    }

    #[test]
    fn reordered_records_are_missing_where_the_order_breaks() {
        let mut records = trail(5);
        records.swap(1, 2);
        assert_eq!(first_break(&records), Some((2, BreakKind::Missing)));
    }

    #[test]
    fn a_range_can_start_mid_trail_or_after_a_known_head() {
        let records = trail(5);
        let mut mid = ChainVerifier::starting_at(3);
        assert!(records[2..].iter().all(|record| mid.push(record)));
        let mut after = ChainVerifier::after(2, &records[1].hash);
        assert!(records[2..].iter().all(|record| after.push(record)));
        let mut wrong = ChainVerifier::after(2, GENESIS_HASH);
        assert!(!wrong.push(&records[2]));
        assert_eq!(
            wrong.first_break().map(|broken| broken.kind),
            Some(BreakKind::Unlinked)
        );
    }
}
