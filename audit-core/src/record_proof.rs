//! One audit record's tlog-proof: the proof file of [`crate::tlog_proof`] whose `extra` line
//! carries the record's JSON (one object, as the JSONL export writes it), so the file proves
//! that record on its own. The leaf is the record's chain hash, recomputed here from the
//! record, never taken on trust.
//!
//! ```
//! use audit_core::checkpoint::{Checkpoint, CheckpointSigner};
//! use audit_core::merkle::{Tree, record_leaf_hash};
//! use audit_core::policy::Policy;
//! use audit_core::record_proof::{record_tlog_proof, verify_record_proof};
//! use audit_core::{AuditEvent, AuditRecord, GENESIS_HASH};
//!
//! let org = uuid::Uuid::nil();
//! let time = audit_core::timestamp::parse("2026-12-06T10:00:00Z").unwrap();
//! let event = AuditEvent::by_user("u_1", "prompt", "pr_1", "update");
//! let mut record = AuditRecord::from_event(event, org, 1, time, None);
//! record.seal(GENESIS_HASH);
//! let mut tree = Tree::new();
//! tree.push(record_leaf_hash(&record.hash).unwrap());
//!
//! let log = CheckpointSigner::from_seed("audit-log", &[1; 32]).unwrap();
//! let checkpoint = Checkpoint::new("audit-log", org, 1, &record.hash, time).with_root(&tree.root());
//! let note = log.sign(&checkpoint).note;
//! let proof = record_tlog_proof(&record, vec![], &note);
//!
//! let policy = Policy::parse(&format!("log {}\nquorum none\n", log.verifier().vkey())).unwrap();
//! let proven = verify_record_proof(&proof.encode(), &policy).unwrap();
//! assert_eq!(proven.record, record);
//! ```

use crate::AuditRecord;
use crate::merkle::{Hash, record_leaf_hash};
use crate::policy::Policy;
use crate::policy::VerifiedCheckpoint;
use crate::tlog_proof::{TlogProof, TlogProofError};

/// Why a record's proof does not prove the record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordProofError {
    /// The file is not a tlog-proof, or does not prove its leaf.
    #[error(transparent)]
    Proof(#[from] TlogProofError),
    /// The proof has no `extra` line, so no record.
    #[error("the proof carries no record (no extra line)")]
    NoRecord,
    /// The `extra` data is not an audit record's JSON.
    #[error("the proof's extra data is not an audit record: {0}")]
    NotARecord(String),
    /// The record's content does not match its hash: it was changed.
    #[error("the record in the proof was modified: its content does not match its hash")]
    Modified,
    /// The record's `seq` is not the proof's leaf index + 1.
    #[error("the record has seq {seq} but the proof is of leaf {index} (seq {})", index + 1)]
    WrongIndex {
        /// The record's `seq`.
        seq: i64,
        /// The proof's leaf index.
        index: u64,
    },
    /// The checkpoint is of another organization's log.
    #[error("the record belongs to organization {record}, the checkpoint to {checkpoint}")]
    OtherOrganization {
        /// The record's organization.
        record: uuid::Uuid,
        /// The checkpoint's organization.
        checkpoint: uuid::Uuid,
    },
}

/// A record and the checkpoint that proves it is in its organization's log.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvenRecord {
    /// The record, as the proof carries it.
    pub record: AuditRecord,
    /// The checkpoint it is included in, with its witnesses.
    pub checkpoint: VerifiedCheckpoint,
}

/// The proof file of `record` given its inclusion proof (`proof`, the hashes of the
/// `GET /api/v1/audit-logs/{id}/inclusion-proof` answer, decoded) in the tree of the checkpoint
/// `checkpoint_note` (cosignatures included).
pub fn record_tlog_proof(record: &AuditRecord, proof: Vec<Hash>, checkpoint_note: &str) -> TlogProof {
    TlogProof {
        extra: Some(serde_json::to_vec(record).unwrap_or_default()),
        index: record.seq.saturating_sub(1).max(0) as u64,
        proof,
        checkpoint_note: checkpoint_note.to_owned(),
    }
}

/// Checks a record's proof file: the record in `extra` matches its own hash, its `seq - 1` is
/// the proof's index, the checkpoint satisfies `policy` and is of the record's organization,
/// and the inclusion proof leads from the record's leaf to the checkpoint's root.
pub fn verify_record_proof(text: &str, policy: &Policy) -> Result<ProvenRecord, RecordProofError> {
    let proof = TlogProof::parse(text)?;
    let extra = proof.extra.as_deref().ok_or(RecordProofError::NoRecord)?;
    let record: AuditRecord =
        serde_json::from_slice(extra).map_err(|error| RecordProofError::NotARecord(error.to_string()))?;
    if record.compute_hash() != record.hash {
        return Err(RecordProofError::Modified);
    }
    if u64::try_from(record.seq - 1).ok() != Some(proof.index) {
        return Err(RecordProofError::WrongIndex {
            seq: record.seq,
            index: proof.index,
        });
    }
    let leaf = record_leaf_hash(&record.hash)
        .ok_or_else(|| RecordProofError::NotARecord("its hash is not 64 hex digits".to_owned()))?;
    let checkpoint = proof.verify(&leaf, policy)?;
    if checkpoint.checkpoint.org_id != record.org_id {
        return Err(RecordProofError::OtherOrganization {
            record: record.org_id,
            checkpoint: checkpoint.checkpoint.org_id,
        });
    }
    Ok(ProvenRecord { record, checkpoint })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, CheckpointSigner};
    use crate::merkle::{ProofError, Tree};
    use crate::{AuditEvent, GENESIS_HASH};

    /// A trail of 6 records, a checkpoint of it, and the policy trusting its log.
    struct Trail {
        records: Vec<AuditRecord>,
        tree: Tree,
        note: String,
        policy: Policy,
    }

    fn trail() -> Trail {
        let org = uuid::Uuid::from_u128(7);
        let time = crate::timestamp::parse("2026-12-06T10:00:00Z").unwrap();
        let mut prev = GENESIS_HASH.to_owned();
        let mut tree = Tree::new();
        let records: Vec<AuditRecord> = (1..=6)
            .map(|seq| {
                let event = AuditEvent::by_user("u_1", "prompt", format!("pr_{seq}"), "update");
                let mut record = AuditRecord::from_event(event, org, seq, time, None);
                record.seal(&prev);
                prev.clone_from(&record.hash);
                tree.push(record_leaf_hash(&record.hash).unwrap());
                record
            })
            .collect();
        let log = CheckpointSigner::from_seed("audit-log", &[1; 32]).unwrap();
        let checkpoint = Checkpoint::new("audit-log", org, 6, &prev, time).with_root(&tree.root());
        Trail {
            records,
            tree,
            note: log.sign(&checkpoint).note,
            policy: Policy::parse(&format!("log {}\nquorum none\n", log.verifier().vkey())).unwrap(),
        }
    }

    impl Trail {
        fn proof_of(&self, seq: usize) -> TlogProof {
            let record = &self.records[seq - 1];
            record_tlog_proof(record, self.tree.inclusion_proof(seq as u64 - 1, 6), &self.note)
        }
    }

    #[test]
    fn every_record_of_the_trail_is_proven() {
        let trail = trail();
        for seq in 1..=6 {
            let proven = verify_record_proof(&trail.proof_of(seq).encode(), &trail.policy).unwrap();
            assert_eq!(proven.record, trail.records[seq - 1]);
            assert_eq!(proven.checkpoint.checkpoint.seq, 6);
        }
    }

    #[test]
    fn a_tampered_record_is_modified() {
        let trail = trail();
        let mut proof = trail.proof_of(3);
        let mut record = trail.records[2].clone();
        record.action = "delete".to_owned();
        proof.extra = Some(serde_json::to_vec(&record).unwrap());
        assert_eq!(
            verify_record_proof(&proof.encode(), &trail.policy),
            Err(RecordProofError::Modified)
        );
        // Re-sealed, the record matches its hash but not the leaf the checkpoint covers.
        let prev = record.prev_hash.clone();
        record.seal(&prev);
        proof.extra = Some(serde_json::to_vec(&record).unwrap());
        assert!(matches!(
            verify_record_proof(&proof.encode(), &trail.policy),
            Err(RecordProofError::Proof(TlogProofError::Inclusion {
                source: ProofError::RootMismatch,
                ..
            }))
        ));
        proof.extra = Some(b"{}".to_vec());
        assert!(matches!(
            verify_record_proof(&proof.encode(), &trail.policy),
            Err(RecordProofError::NotARecord(_))
        ));
        proof.extra = None;
        assert_eq!(
            verify_record_proof(&proof.encode(), &trail.policy),
            Err(RecordProofError::NoRecord)
        );
    }

    #[test]
    fn a_wrong_index_or_a_truncated_proof_fails() {
        let trail = trail();
        let mut proof = trail.proof_of(3);
        proof.index = 3;
        assert_eq!(
            verify_record_proof(&proof.encode(), &trail.policy),
            Err(RecordProofError::WrongIndex { seq: 3, index: 3 })
        );
        let mut short = trail.proof_of(3);
        short.proof.pop();
        assert!(matches!(
            verify_record_proof(&short.encode(), &trail.policy),
            Err(RecordProofError::Proof(TlogProofError::Inclusion { .. }))
        ));
        let text = trail.proof_of(3).encode();
        let cut = &text[..text.len() / 2];
        assert!(matches!(
            verify_record_proof(cut, &trail.policy),
            Err(RecordProofError::Proof(TlogProofError::Malformed { .. }))
        ));
    }
}
