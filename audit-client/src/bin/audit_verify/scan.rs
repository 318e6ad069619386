//! One pass over the export: every record's hash, the chain's continuity, and the checkpoint.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use audit_core::checkpoint::Checkpoint;
use audit_core::merkle::{Tree, record_leaf_hash};
use audit_core::{AuditRecord, BreakKind, ChainVerifier, GENESIS_HASH};
use indicatif::ProgressBar;
use uuid::Uuid;

use super::{kept, lookahead};

/// Where an export that starts after `seq` 1 is anchored.
#[derive(Debug, Clone)]
pub struct Anchor {
    /// The first `seq` of the export.
    pub seq: i64,
    /// The `prevHash` that record must have.
    pub prev_hash: String,
}

/// What the export is checked against, besides its own chain.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checks<'a> {
    /// Where an export that starts after `seq` 1 is anchored.
    pub anchor: Option<&'a Anchor>,
    /// The signed checkpoint the export must agree with.
    pub checkpoint: Option<&'a Checkpoint>,
    /// A checkpoint kept from earlier that the export must extend.
    pub kept: Option<&'a Checkpoint>,
}

/// What is wrong with the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A record's content or hash was changed.
    Modified,
    /// One or more records are missing.
    Removed,
    /// A record that does not belong is present.
    Inserted,
    /// Records are out of order.
    Reordered,
    /// A line is not a record.
    Malformed,
    /// Nothing proves where the export starts or what it should contain.
    Unproven,
}

impl fmt::Display for Kind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Kind::Modified => "modified",
            Kind::Removed => "removed",
            Kind::Inserted => "inserted",
            Kind::Reordered => "reordered",
            Kind::Malformed => "malformed",
            Kind::Unproven => "unproven",
        })
    }
}

/// The first problem found.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Its kind.
    pub kind: Kind,
    /// The 1-based line it was found at, if any.
    pub line: Option<usize>,
    /// The `seq` concerned, if any.
    pub seq: Option<i64>,
    /// What exactly is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.kind)?;
        if let Some(seq) = self.seq {
            write!(formatter, " at seq {seq}")?;
        }
        if let Some(line) = self.line {
            write!(formatter, " (line {line})")?;
        }
        write!(formatter, ": {}", self.message)
    }
}

/// The verdict.
#[derive(Debug)]
pub enum Outcome {
    /// Everything checked out; a summary of what was proven.
    Valid(String),
    /// The first problem.
    Invalid(Finding),
}

/// The verdict of a finding.
pub fn invalid(kind: Kind, line: Option<usize>, seq: Option<i64>, message: String) -> Outcome {
    Outcome::Invalid(Finding {
        kind,
        line,
        seq,
        message,
    })
}

/// The last record that verified: where the file stands.
struct Previous {
    line: usize,
    seq: i64,
    hash: String,
}

/// A hash as checkpoints state it: lowercase hex.
pub fn to_hex(hash: &[u8]) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// How many leaves of the export's Merkle tree the checkpoints need.
fn tree_size_needed(checks: &Checks<'_>) -> Option<i64> {
    [checks.checkpoint, checks.kept]
        .into_iter()
        .flatten()
        .filter(|checkpoint| checkpoint.root_hash.is_some())
        .map(|checkpoint| checkpoint.seq)
        .max()
}

/// Checks the file at `path`.
pub fn scan(path: &Path, checks: &Checks<'_>, progress: &ProgressBar) -> std::io::Result<Outcome> {
    let Checks {
        anchor,
        checkpoint,
        kept,
    } = *checks;
    let tree_limit = tree_size_needed(checks);
    let reader = BufReader::new(File::open(path)?);
    let mut org_id: Option<Uuid> = None;
    let mut first_seq = 0;
    let mut first_prev_hash = String::new();
    let mut hash_at_kept: Option<String> = None;
    // The chain, checked by the same verifier as the server's: started once the first record's
    // link to what came before is checked.
    let mut chain: Option<ChainVerifier> = None;
    let mut previous: Option<Previous> = None;
    // The Merkle tree of an export from seq 1, up to the largest checkpoint's size.
    let mut tree: Option<Tree> = None;
    let mut count = 0u64;
    let mut checkpoint_matched = false;

    for (index, line) in reader.lines().enumerate() {
        let line = line?;
        progress.inc(line.len() as u64 + 1);
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let record: AuditRecord = match serde_json::from_str(&line) {
            Ok(record) => record,
            Err(error) => {
                return Ok(invalid(
                    Kind::Malformed,
                    Some(number),
                    None,
                    format!("not an audit record: {error}"),
                ));
            }
        };
        let seq = record.seq;
        let at = |kind, message| Ok(invalid(kind, Some(number), Some(seq), message));
        count += 1;

        if chain.is_none() {
            org_id = Some(record.org_id);
            first_seq = seq;
            first_prev_hash.clone_from(&record.prev_hash);
            for (given, what) in [(checkpoint, "the checkpoint"), (kept, "the checkpoint you kept")] {
                if let Some(given) = given
                    && given.org_id != record.org_id
                {
                    return at(
                        Kind::Unproven,
                        format!(
                            "{what} is of organization {}, the export of {}",
                            given.org_id, record.org_id
                        ),
                    );
                }
            }
            if let Some(outcome) = check_start(&record, number, anchor, checkpoint) {
                return Ok(outcome);
            }
            chain = Some(ChainVerifier::starting_at(seq));
            if seq == 1 && tree_limit.is_some() {
                tree = Some(Tree::new());
            }
        } else if Some(record.org_id) != org_id {
            return at(
                Kind::Inserted,
                format!("the record belongs to another organization ({})", record.org_id),
            );
        }
        let verifier = chain.get_or_insert_with(|| ChainVerifier::starting_at(seq));
        if !verifier.push(&record) {
            let broken = verifier.first_break().map(|broken| broken.kind);
            return explain_break(path, broken, &record, number, previous.as_ref());
        }
        if let Some(checkpoint) = checkpoint
            && checkpoint.seq == seq
        {
            if checkpoint.head_hash != record.hash {
                return at(
                    Kind::Modified,
                    format!(
                        "the hash differs from the signed checkpoint ({}): records up to seq {seq} were \
                         rewritten",
                        checkpoint.head_hash
                    ),
                );
            }
            checkpoint_matched = true;
        }
        if let (Some(tree), Some(limit)) = (&mut tree, tree_limit)
            && seq <= limit
            && let Some(leaf) = record_leaf_hash(&record.hash)
        {
            tree.push(leaf);
        }
        if kept.is_some_and(|kept| kept.seq == seq) {
            hash_at_kept = Some(record.hash.clone());
        }
        previous = Some(Previous {
            line: number,
            seq,
            hash: record.hash,
        });
    }

    let Some(last) = previous else {
        if let Some(kept) = kept
            && let Err(outcome) = kept::against_export(
                kept,
                &kept::Seen {
                    first_seq: 1,
                    first_prev_hash: GENESIS_HASH,
                    last_seq: 0,
                    tree: None,
                    hash_at_kept: None,
                },
            )
        {
            return Ok(outcome);
        }
        return Ok(match checkpoint {
            Some(checkpoint) if checkpoint.seq > 0 => invalid(
                Kind::Removed,
                None,
                Some(1),
                format!(
                    "the file holds no records but the checkpoint covers seq {}",
                    checkpoint.seq
                ),
            ),
            _ => Outcome::Valid("the file holds no records".to_owned()),
        });
    };
    let mut summary = format!(
        "{count} records of organization {}, seq {first_seq} to {}, head hash {}",
        org_id.unwrap_or_default(),
        last.seq,
        last.hash
    );
    if let Some(kept) = kept {
        let seen = kept::Seen {
            first_seq,
            first_prev_hash: &first_prev_hash,
            last_seq: last.seq,
            tree: tree.as_ref(),
            hash_at_kept: hash_at_kept.as_deref(),
        };
        match kept::against_export(kept, &seen) {
            Ok(extends) => summary.push_str(&extends),
            Err(outcome) => return Ok(outcome),
        }
    }
    if let Some(checkpoint) = checkpoint {
        if checkpoint.seq > last.seq {
            return Ok(invalid(
                Kind::Removed,
                None,
                Some(last.seq + 1),
                format!(
                    "the signed checkpoint covers seq {} but the file ends at seq {} (line {})",
                    checkpoint.seq, last.seq, last.line
                ),
            ));
        }
        if let (Some(tree), Some(root)) = (&tree, &checkpoint.root_hash) {
            let computed = tree.root_at(checkpoint.seq as u64).map(|root| to_hex(&root));
            if computed.as_ref() != Some(root) {
                return Ok(invalid(
                    Kind::Modified,
                    None,
                    Some(checkpoint.seq),
                    format!(
                        "the Merkle root of seq 1 to {} differs from the signed checkpoint's ({root})",
                        checkpoint.seq
                    ),
                ));
            }
            summary.push_str(&format!("; Merkle root of {} leaves matches", checkpoint.seq));
        }
        if checkpoint_matched || checkpoint.seq == first_seq - 1 {
            summary.push_str(&format!(
                "; agrees with the checkpoint at seq {} signed {}",
                checkpoint.seq,
                audit_core::timestamp::format(&checkpoint.time)
            ));
            if checkpoint.seq + 1 == last.seq {
                summary.push_str(&format!(
                    " (seq {} is chained but not covered by this checkpoint)",
                    last.seq
                ));
            } else if checkpoint.seq < last.seq {
                summary.push_str(&format!(
                    " (seq {} to {} are chained but not covered by this checkpoint)",
                    checkpoint.seq + 1,
                    last.seq
                ));
            }
        }
    }
    Ok(Outcome::Valid(summary))
}

/// The finding for the chain's first break, at `record` on line `number`: the core verifier
/// says what kind of break it is; the file (the previous record, and for a `seq` that jumps
/// ahead what comes later) says whether a record was removed, inserted or reordered.
fn explain_break(
    path: &Path,
    kind: Option<BreakKind>,
    record: &AuditRecord,
    number: usize,
    previous: Option<&Previous>,
) -> std::io::Result<Outcome> {
    let seq = record.seq;
    let at = |kind, message| Ok(invalid(kind, Some(number), Some(seq), message));
    let Some(previous) = previous else {
        // The first record's link was checked before the chain started: only its hash is left.
        return at(
            Kind::Modified,
            "the record's content does not match its hash".to_owned(),
        );
    };
    match kind {
        Some(BreakKind::Repeated) => {
            let message = if seq == previous.seq {
                format!(
                    "a second record with seq {seq}; the first is at line {}",
                    previous.line
                )
            } else {
                format!("seq {seq} appears again after seq {}", previous.seq)
            };
            at(Kind::Inserted, message)
        }
        Some(BreakKind::Missing) => {
            let expected = previous.seq + 1;
            let later = lookahead::find(path, number, expected, seq)?;
            Ok(match (later.duplicate_at, later.missing_at) {
                (Some(again), _) => invalid(
                    Kind::Inserted,
                    Some(number),
                    Some(seq),
                    format!(
                        "a record with seq {seq} comes after seq {} and seq {seq} is at line {again} too",
                        previous.seq
                    ),
                ),
                (None, Some(found)) => invalid(
                    Kind::Reordered,
                    Some(found),
                    Some(expected),
                    format!(
                        "record seq {expected} should follow seq {} (line {}) but line {number} holds seq {seq}",
                        previous.seq, previous.line
                    ),
                ),
                (None, None) => invalid(
                    Kind::Removed,
                    Some(number),
                    Some(expected),
                    if seq == expected + 1 {
                        format!(
                            "record seq {expected} is missing (seq {} is followed by seq {seq})",
                            previous.seq
                        )
                    } else {
                        format!(
                            "records seq {expected} to {} are missing (seq {} is followed by seq {seq})",
                            seq - 1,
                            previous.seq
                        )
                    },
                ),
            })
        }
        Some(BreakKind::Unlinked) => at(
            Kind::Removed,
            format!(
                "prevHash does not match the hash of seq {} (line {}): a record before it was \
                 removed, inserted or replaced and the rest renumbered",
                previous.seq, previous.line
            ),
        ),
        Some(BreakKind::Modified) | None => at(
            Kind::Modified,
            "the record's content does not match its hash".to_owned(),
        ),
    }
}

/// Checks the first record's link to what came before the export: genesis, the anchor, or a
/// checkpoint (at the seq before it, or later in the file).
fn check_start(
    record: &AuditRecord,
    line: usize,
    anchor: Option<&Anchor>,
    checkpoint: Option<&Checkpoint>,
) -> Option<Outcome> {
    let seq = record.seq;
    if let Some(anchor) = anchor {
        if seq > anchor.seq {
            return Some(invalid(
                Kind::Removed,
                Some(line),
                Some(anchor.seq),
                format!(
                    "the export should start at the anchor, seq {}, but starts at seq {seq}",
                    anchor.seq
                ),
            ));
        }
        if seq < anchor.seq {
            return Some(invalid(
                Kind::Inserted,
                Some(line),
                Some(seq),
                format!(
                    "the export starts at seq {seq}, before the anchor at seq {}",
                    anchor.seq
                ),
            ));
        }
        if record.prev_hash != anchor.prev_hash {
            return Some(invalid(
                Kind::Modified,
                Some(line),
                Some(seq),
                "prevHash differs from the anchor's".to_owned(),
            ));
        }
        return None;
    }
    if seq == 1 {
        if record.prev_hash != GENESIS_HASH {
            return Some(invalid(
                Kind::Modified,
                Some(line),
                Some(1),
                "the first record does not chain to the genesis hash (64 zeros)".to_owned(),
            ));
        }
        return None;
    }
    match checkpoint {
        Some(checkpoint) if checkpoint.seq == seq - 1 => {
            (record.prev_hash != checkpoint.head_hash).then(|| {
                invalid(
                    Kind::Modified,
                    Some(line),
                    Some(seq),
                    format!(
                        "prevHash differs from the signed checkpoint at seq {}",
                        checkpoint.seq
                    ),
                )
            })
        }
        // A checkpoint at or after the first record covers it through the chain.
        Some(checkpoint) if checkpoint.seq >= seq => None,
        Some(checkpoint) => Some(invalid(
            Kind::Unproven,
            Some(line),
            Some(seq),
            format!(
                "the export starts at seq {seq}, after the checkpoint (seq {}); nothing anchors its start: \
                 use a newer checkpoint or --anchor",
                checkpoint.seq
            ),
        )),
        None => Some(invalid(
            Kind::Removed,
            Some(line),
            Some(1),
            format!(
                "the export starts at seq {seq}, not 1: records before it are missing, or it starts after a \
                 retention purge (anchor it with --checkpoint or --anchor SEQ:PREVHASH)"
            ),
        )),
    }
}
