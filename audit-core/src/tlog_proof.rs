//! [c2sp.org/tlog-proof@v1](https://c2sp.org/tlog-proof) files: an offline proof that an entry
//! is in a log, made of the entry's index, its inclusion proof and the checkpoint (with
//! witness cosignatures) the proof leads to, plus optional unauthenticated extra data.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            optional
//! index <zero-based leaf index>
//! <base64 hash>             the audit path, leaf's sibling first, zero or more lines
//!                           an empty line
//! <the checkpoint note, verbatim>
//! ```
//!
//! What the leaf is stays with the application; [`crate::record_proof`] reads this service's
//! files, whose extra data is the proven record.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::merkle::{Hash, ProofError, verify_inclusion};
use crate::note::Note;
use crate::policy::{Policy, PolicyError, VerifiedCheckpoint};

/// The first line of every proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Why a proof file cannot be read, or does not prove its leaf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogProofError {
    /// The file does not follow the format.
    #[error("malformed tlog-proof, line {line}: {message}")]
    Malformed {
        /// The 1-based line.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// The checkpoint does not satisfy the policy.
    #[error("the proof's checkpoint: {0}")]
    Checkpoint(#[source] PolicyError),
    /// The checkpoint states no Merkle root to prove inclusion against.
    #[error("the proof's checkpoint states no Merkle root")]
    NoRoot,
    /// The inclusion proof does not lead from the leaf to the checkpoint's root.
    #[error("the inclusion proof of leaf {index} fails against the checkpoint of size {size}: {source}")]
    Inclusion {
        /// The leaf index.
        index: u64,
        /// The checkpoint's tree size.
        size: u64,
        /// How it fails.
        #[source]
        source: ProofError,
    },
}

/// A parsed tlog-proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// The `extra` line's bytes: not authenticated by anything in the proof.
    pub extra: Option<Vec<u8>>,
    /// The zero-based index of the leaf.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to the root's child.
    pub proof: Vec<Hash>,
    /// The checkpoint note, cosignatures included, ending in a newline.
    pub checkpoint_note: String,
}

fn malformed<T>(line: usize, message: impl Into<String>) -> Result<T, TlogProofError> {
    Err(TlogProofError::Malformed {
        line,
        message: message.into(),
    })
}

/// The next line of `text` from `at` (without its newline), and where the one after starts.
fn next_line(text: &str, at: usize) -> Option<(&str, usize)> {
    let rest = text.get(at..)?;
    let end = rest.find('\n')?;
    Some((&rest[..end], at + end + 1))
}

fn parse_index(text: &str, line: usize) -> Result<u64, TlogProofError> {
    let canonical = text == "0" || (!text.starts_with('0') && text.bytes().all(|byte| byte.is_ascii_digit()));
    match text.parse() {
        Ok(index) if canonical => Ok(index),
        _ => malformed(line, "the index is not a decimal without leading zeros"),
    }
}

impl TlogProof {
    /// The file's text.
    pub fn encode(&self) -> String {
        let mut text = format!("{TLOG_PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            text.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        text.push_str(&format!("index {}\n", self.index));
        for hash in &self.proof {
            text.push_str(&STANDARD.encode(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint_note);
        text
    }

    /// Reads a proof file; the checkpoint must at least be a well-formed note.
    pub fn parse(text: &str) -> Result<TlogProof, TlogProofError> {
        let truncated = |line| malformed(line, "the file ends early");
        let (header, mut at) = next_line(text, 0).map_or_else(|| truncated(1), Ok)?;
        if header != TLOG_PROOF_HEADER {
            return malformed(1, format!("the first line is not {TLOG_PROOF_HEADER}"));
        }
        let mut number = 2;
        let (mut line, mut after) = next_line(text, at).map_or_else(|| truncated(number), Ok)?;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            let Ok(bytes) = STANDARD.decode(encoded) else {
                return malformed(number, "the extra data is not base64");
            };
            extra = Some(bytes);
            (at, number) = (after, number + 1);
            (line, after) = next_line(text, at).map_or_else(|| truncated(number), Ok)?;
        }
        let Some(index) = line.strip_prefix("index ") else {
            return malformed(number, "expected `index <N>`");
        };
        let index = parse_index(index, number)?;
        at = after;
        let mut proof = Vec::new();
        loop {
            number += 1;
            let (line, after) = next_line(text, at).map_or_else(|| truncated(number), Ok)?;
            at = after;
            if line.is_empty() {
                break;
            }
            match crate::decode_hash(line) {
                Some(hash) => proof.push(hash),
                None => return malformed(number, "a proof line is not the base64 of a SHA-256 hash"),
            }
        }
        let checkpoint_note = &text[at..];
        if let Err(error) = Note::parse(checkpoint_note) {
            return malformed(number + 1, format!("the checkpoint: {error}"));
        }
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint_note: checkpoint_note.to_owned(),
        })
    }

    /// Checks the checkpoint under `policy`, then that `leaf_hash` is leaf [`index`] of the
    /// checkpoint's tree. What the leaf is, and whether `extra` is trustworthy, is the
    /// caller's to decide.
    ///
    /// [`index`]: TlogProof::index
    pub fn verify(&self, leaf_hash: &Hash, policy: &Policy) -> Result<VerifiedCheckpoint, TlogProofError> {
        let verified = policy
            .verify(&self.checkpoint_note)
            .map_err(TlogProofError::Checkpoint)?;
        let root: Hash = verified
            .checkpoint
            .root_hash
            .as_deref()
            .and_then(|root| hex::decode(root).ok())
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(TlogProofError::NoRoot)?;
        let size = verified.checkpoint.seq as u64;
        verify_inclusion(self.index, size, leaf_hash, &self.proof, &root).map_err(|source| {
            TlogProofError::Inclusion {
                index: self.index,
                size,
                source,
            }
        })?;
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, CheckpointSigner};
    use crate::merkle::{Tree, leaf_hash};

    /// A tree of 7 leaves, its checkpoint under a quorum-none policy, and the proof of leaf 4.
    fn fixture() -> (TlogProof, Hash, Policy) {
        let log = CheckpointSigner::from_seed("audit-log", &[1; 32]).unwrap();
        let mut tree = Tree::new();
        for leaf in 0..7u8 {
            tree.push(leaf_hash(&[leaf; 32]));
        }
        let time = crate::timestamp::parse("2026-12-06T10:00:00Z").unwrap();
        let checkpoint = Checkpoint::new("audit-log", uuid::Uuid::nil(), 7, &"ab".repeat(32), time)
            .with_root(&tree.root());
        let policy = Policy::parse(&format!("log {}\nquorum none\n", log.verifier().vkey())).unwrap();
        let proof = TlogProof {
            extra: Some(b"context".to_vec()),
            index: 4,
            proof: tree.inclusion_proof(4, 7),
            checkpoint_note: log.sign(&checkpoint).note,
        };
        (proof, leaf_hash(&[4; 32]), policy)
    }

    #[test]
    fn a_proof_round_trips_and_verifies() {
        let (proof, leaf, policy) = fixture();
        let text = proof.encode();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra Y29udGV4dA==\nindex 4\n"));
        assert!(
            text.contains("=\n\naudit-log/"),
            "an empty line before the checkpoint"
        );
        let parsed = TlogProof::parse(&text).unwrap();
        assert_eq!(parsed, proof);
        assert_eq!(parsed.verify(&leaf, &policy).unwrap().checkpoint.seq, 7);
        let without_extra = TlogProof { extra: None, ..proof };
        assert_eq!(TlogProof::parse(&without_extra.encode()).unwrap(), without_extra);
    }

    #[test]
    fn another_leaf_index_or_a_shortened_proof_fails() {
        let (proof, leaf, policy) = fixture();
        assert!(proof.verify(&leaf_hash(b"other"), &policy).is_err());
        let moved = TlogProof {
            index: 5,
            ..proof.clone()
        };
        assert!(matches!(
            moved.verify(&leaf, &policy),
            Err(TlogProofError::Inclusion { .. })
        ));
        let mut short = proof.clone();
        short.proof.pop();
        assert!(matches!(
            short.verify(&leaf, &policy),
            Err(TlogProofError::Inclusion {
                source: ProofError::WrongLength,
                ..
            })
        ));
        let outside = TlogProof { index: 7, ..proof };
        assert!(outside.verify(&leaf, &policy).is_err());
    }

    #[test]
    fn malformed_files_name_their_line() {
        let (proof, _, _) = fixture();
        let text = proof.encode();
        let line_of = |text: &str| match TlogProof::parse(text) {
            Err(TlogProofError::Malformed { line, .. }) => line,
            other => panic!("{other:?}"),
        };
        assert_eq!(line_of(&text.replacen("tlog-proof@v1", "tlog-proof@v2", 1)), 1);
        assert_eq!(line_of(&text.replacen("index 4", "index 04", 1)), 3);
        assert_eq!(line_of(&text.replacen("index 4\n", "", 1)), 3);
        assert_eq!(line_of(&text.replacen("extra Y29udGV4dA==", "extra !", 1)), 2);
        let proof_line = text.lines().nth(3).unwrap().to_owned();
        assert_eq!(line_of(&text.replacen(&proof_line, "AAAA", 1)), 4);
        // Cut anywhere before the checkpoint's signature: refused.
        let blank = text.find("\n\n").unwrap();
        for cut in [10, 40, blank, blank + 20] {
            assert!(TlogProof::parse(&text[..cut]).is_err(), "cut at {cut}");
        }
    }
}
