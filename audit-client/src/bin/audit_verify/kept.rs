//! `--old-checkpoint`: a checkpoint kept from earlier must be the start of what is verified
//! now. A trail that was rolled back (records deleted from the end) or rewritten and re-signed
//! verifies on its own, but no longer produces the root the older checkpoint states.

use audit_core::checkpoint::Checkpoint;
use audit_core::merkle::Tree;

use super::scan::{Kind, Outcome, invalid, to_hex};

/// What the scan saw of the export that bears on the kept checkpoint.
pub struct Seen<'a> {
    /// The first record's `seq`.
    pub first_seq: i64,
    /// The first record's `prevHash`.
    pub first_prev_hash: &'a str,
    /// The last record's `seq`.
    pub last_seq: i64,
    /// The Merkle tree of the export, when it starts at `seq` 1.
    pub tree: Option<&'a Tree>,
    /// The hash of the record at the kept checkpoint's `seq`, if the export holds it.
    pub hash_at_kept: Option<&'a str>,
}

/// A root or head hash that differs says some record up to the kept size changed, not which:
/// the finding names no `seq`.
fn rewritten(kept: &Checkpoint, what: &str) -> Outcome {
    invalid(
        Kind::Modified,
        None,
        None,
        format!(
            "the trail was rewritten: the {what} at size {} differs from the checkpoint you kept, so a \
             record among the first {} was modified, removed or replaced (or an older backup was \
             restored and extended)",
            kept.seq, kept.seq
        ),
    )
}

fn deleted(kept: &Checkpoint, records: i64) -> Outcome {
    invalid(
        Kind::Removed,
        None,
        Some(records + 1),
        format!(
            "the trail was truncated or rolled back: it has {records} records but a checkpoint you kept \
             covers {}: records were deleted, or the database was restored from an older backup",
            kept.seq
        ),
    )
}

/// Checks the kept checkpoint against the newer signed one, before any record is read.
pub fn against_checkpoint(kept: &Checkpoint, newer: &Checkpoint) -> Option<Outcome> {
    if kept.org_id != newer.org_id {
        return Some(invalid(
            Kind::Unproven,
            None,
            None,
            format!(
                "the checkpoint you kept is of organization {}, the checkpoint of {}",
                kept.org_id, newer.org_id
            ),
        ));
    }
    if newer.seq < kept.seq {
        return Some(deleted(kept, newer.seq));
    }
    let roots_differ = matches!((&kept.root_hash, &newer.root_hash), (Some(old), Some(new)) if old != new);
    if newer.seq == kept.seq && (roots_differ || kept.head_hash != newer.head_hash) {
        return Some(rewritten(kept, "root"));
    }
    None
}

/// Checks the export against the kept checkpoint; on success, what to add to the summary.
pub fn against_export(kept: &Checkpoint, seen: &Seen<'_>) -> Result<String, Outcome> {
    if seen.last_seq < kept.seq {
        return Err(deleted(kept, seen.last_seq));
    }
    let summary = format!(
        "; extends the checkpoint you kept (seq {}, signed {})",
        kept.seq,
        audit_core::timestamp::format(&kept.time)
    );
    if kept.seq == 0 {
        return Ok(summary);
    }
    let mut compared = false;
    if let (Some(tree), Some(root)) = (seen.tree, &kept.root_hash) {
        let computed = tree.root_at(kept.seq as u64).map(|root| to_hex(&root));
        if computed.as_ref() != Some(root) {
            return Err(rewritten(kept, "root"));
        }
        compared = true;
    }
    let head = match seen.hash_at_kept {
        Some(hash) => Some(hash),
        None if kept.seq == seen.first_seq - 1 => Some(seen.first_prev_hash),
        None => None,
    };
    if let Some(head) = head {
        if head != kept.head_hash {
            return Err(rewritten(kept, "head hash"));
        }
        compared = true;
    }
    if !compared {
        return Err(invalid(
            Kind::Unproven,
            None,
            Some(seen.first_seq),
            format!(
                "the export starts at seq {}, after the checkpoint you kept (seq {}): they cannot be compared",
                seen.first_seq, kept.seq
            ),
        ));
    }
    Ok(summary)
}
