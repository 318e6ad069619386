//! The add-checkpoint decision, apart from HTTP and storage: first what the request says and
//! whether a trusted log key signed it ([`Submission::verify`]), then whether it extends the
//! checkpoint last cosigned for its origin ([`Submission::check_extends`]).

use audit_core::checkpoint::{CheckpointError, CheckpointVerifier};
use audit_core::merkle::{EMPTY_ROOT, Hash, verify_consistency};
use audit_core::note::Note;
use audit_core::timestamp;
use audit_core::witness_protocol::{AddCheckpoint, CheckpointHead};

use super::refusal::Refusal;
use super::state::CosignedCheckpoint;

/// An add-checkpoint request whose checkpoint carries a valid signature of a trusted log key.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The size the client says the witness last cosigned.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The checkpoint's origin, size and root.
    pub head: CheckpointHead,
    /// The note as submitted, with its signatures.
    pub note: Note,
}

impl Submission {
    /// Reads a request body and checks the checkpoint's signature under the `logs` covering
    /// its origin: 400 for a malformed body, 404 when none covers it, 403 when no covering
    /// key signed it or a signature by one of them does not verify.
    pub fn verify(body: &[u8], logs: &[CheckpointVerifier]) -> Result<Self, Refusal> {
        let text =
            std::str::from_utf8(body).map_err(|_| Refusal::Malformed("the body is not UTF-8".into()))?;
        let request = AddCheckpoint::parse(text).map_err(|error| Refusal::Malformed(error.to_string()))?;
        let note = Note::parse(&request.checkpoint).map_err(|error| Refusal::Malformed(error.to_string()))?;
        let head =
            CheckpointHead::parse(&note.body).map_err(|error| Refusal::Malformed(error.to_string()))?;
        let covering: Vec<&CheckpointVerifier> = logs.iter().filter(|log| log.covers(&head.origin)).collect();
        if covering.is_empty() {
            return Err(Refusal::UnknownOrigin(head.origin));
        }
        let mut signed = false;
        for log in covering {
            match log.verify(&request.checkpoint) {
                Ok(checkpoint) if checkpoint.root_hash.is_none() => {
                    return Err(Refusal::Malformed(
                        "the checkpoint has no Merkle root (a form signed before trees were kept)".into(),
                    ));
                }
                Ok(_) => signed = true,
                Err(CheckpointError::NotSignedByKey(_)) => {}
                Err(error @ CheckpointError::BadSignature(_)) => {
                    return Err(Refusal::NotSigned(error.to_string()));
                }
                Err(error) => return Err(Refusal::Malformed(error.to_string())),
            }
        }
        if !signed {
            return Err(Refusal::NotSigned(format!(
                "the checkpoint carries no signature by a key trusted for {}",
                head.origin
            )));
        }
        if request.old_size > head.size {
            return Err(Refusal::Malformed(format!(
                "the old size {} is larger than the checkpoint's size {}",
                request.old_size, head.size
            )));
        }
        Ok(Submission {
            old_size: request.old_size,
            proof: request.proof,
            head,
            note,
        })
    }

    /// Checks that the checkpoint extends `latest`, the checkpoint last cosigned for its
    /// origin: 409 when the old size is not its size (0 without one), 422 when the checkpoint
    /// is not consistent with it.
    pub fn check_extends(&self, latest: Option<&CosignedCheckpoint>) -> Result<(), Refusal> {
        let latest_size = latest.map_or(0, |latest| latest.size);
        if self.old_size != latest_size {
            return Err(Refusal::StaleOldSize {
                latest_size,
                size: self.head.size,
            });
        }
        if self.head.size == 0 && self.head.root != EMPTY_ROOT {
            return Err(Refusal::Inconsistent(
                "a checkpoint of size 0 must have the root of the empty tree".into(),
            ));
        }
        let Some(latest) = latest.filter(|_| self.old_size > 0) else {
            return match self.proof.is_empty() {
                true => Ok(()),
                false => Err(Refusal::Inconsistent(
                    "the old size is 0, so the consistency proof must be empty".into(),
                )),
            };
        };
        let cosigned = format!(
            "size {} cosigned at {}",
            latest.size,
            timestamp::format(&latest.time)
        );
        if self.head.size == latest.size && self.head.root != latest.root {
            return Err(Refusal::Inconsistent(format!(
                "the log was rewritten: the checkpoint has the size of the {cosigned} but another root"
            )));
        }
        verify_consistency(
            latest.size,
            self.head.size,
            &latest.root,
            &self.head.root,
            &self.proof,
        )
        .map_err(|error| {
            Refusal::Inconsistent(format!(
                "the log was rewritten: the checkpoint of size {} is not consistent with the {cosigned} \
                     ({error}), so a record among the first {} was changed, removed or replaced",
                self.head.size, latest.size
            ))
        })
    }
}
