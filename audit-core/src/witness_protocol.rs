//! The wire of [c2sp.org/tlog-witness](https://c2sp.org/tlog-witness) `add-checkpoint`, shared
//! by the server (the client) and `audit-witness` (the witness): the request body, and the
//! three lines every tlog-checkpoint starts with.
//!
//! ```
//! use audit_core::witness_protocol::AddCheckpoint;
//!
//! let request = AddCheckpoint {
//!     old_size: 3,
//!     proof: vec![[1; 32]],
//!     checkpoint: "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} example.com/log AAAAAQ==\n".into(),
//! };
//! assert_eq!(AddCheckpoint::parse(&request.encode()).unwrap(), request);
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The path of the call under a witness's submission prefix.
pub const ADD_CHECKPOINT_PATH: &str = "/add-checkpoint";

/// The media type of a 409's body: the witness's latest cosigned size and a newline.
pub const TLOG_SIZE_MEDIA_TYPE: &str = "text/x.tlog.size";

/// At most this many consistency proof lines (a proof between sizes below 2^63).
pub const MAX_PROOF_LINES: usize = 63;

/// Why a request body or a checkpoint is malformed (a witness answers 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(pub String);

fn bad(message: impl Into<String>) -> ProtocolError {
    ProtocolError(message.into())
}

/// A decimal without leading zeroes (or `0`).
fn parse_size(text: &str) -> Option<u64> {
    let canonical = text == "0" || (!text.starts_with('0') && !text.is_empty());
    if !canonical || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_hash(line: &str) -> Option<[u8; 32]> {
    STANDARD
        .decode(line)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
}

/// The body of `POST <submission prefix>/add-checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the witness last cosigned for this origin (0: none).
    pub old_size: u64,
    /// The RFC 6962 consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<[u8; 32]>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body: `old <size>`, one base64 hash a line, a blank line, the note.
    pub fn encode(&self) -> String {
        let mut text = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            text.push_str(&STANDARD.encode(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint);
        text
    }

    /// Reads a request body.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line between the proof and the checkpoint"))?;
        let mut lines = head.split('\n');
        let old_size = lines
            .next()
            .and_then(|line| line.strip_prefix("old "))
            .and_then(parse_size)
            .ok_or_else(|| bad("the first line is not `old <size>`"))?;
        let proof = lines
            .map(|line| parse_hash(line).ok_or_else(|| bad("a proof line is not a base64 hash")))
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad(format!("more than {MAX_PROOF_LINES} proof lines")));
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// The three lines every tlog-checkpoint body starts with; extension lines follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointHead {
    /// The log's origin.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The tree's root hash.
    pub root: [u8; 32],
}

impl CheckpointHead {
    /// Reads the first three lines of a checkpoint note body.
    pub fn parse(body: &str) -> Result<Self, ProtocolError> {
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|origin| !origin.is_empty())
            .ok_or_else(|| bad("the checkpoint has no origin line"))?;
        let size = lines
            .next()
            .and_then(parse_size)
            .ok_or_else(|| bad("the checkpoint's second line is not a tree size"))?;
        let root = lines
            .next()
            .and_then(parse_hash)
            .ok_or_else(|| bad("the checkpoint's third line is not a base64 root hash"))?;
        Ok(CheckpointHead {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_requests_are_refused() {
        for text in [
            "old 1\n",
            "old 01\n\nnote",
            "new 1\n\nnote",
            "old 1\nnot base64!\n\nnote",
            "old -1\n\nnote",
        ] {
            assert!(AddCheckpoint::parse(text).is_err(), "{text:?}");
        }
        let too_long = format!(
            "old 1\n{}\nnote",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64)
        );
        assert!(AddCheckpoint::parse(&too_long).is_err());
    }

    #[test]
    fn a_checkpoint_head_is_its_first_three_lines() {
        let head =
            CheckpointHead::parse("o/x\n12\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\nextension\n")
                .unwrap();
        assert_eq!((head.origin.as_str(), head.size, head.root), ("o/x", 12, [1; 32]));
        assert!(CheckpointHead::parse("o/x\n12\n").is_err());
    }
}
