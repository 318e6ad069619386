//! [C2SP tlog-policy](https://c2sp.org/tlog-policy) files: which logs and witnesses a verifier
//! trusts, and how many witnesses must have cosigned a checkpoint (the quorum) before it is
//! believed.
//!
//! - [`Policy::parse`] and [`Policy::to_text`]: the line-based file.
//! - [`PolicyBuilder`]: the same rules for a policy assembled in code (a server emitting its
//!   own policy file).
//! - [`Policy::verify`]: a checkpoint note signed by one of the logs and cosigned by a quorum
//!   of the witnesses, each witness counted once and only for a cosignature that verifies.
//!
//! ```
//! use audit_core::checkpoint::{Checkpoint, CheckpointSigner};
//! use audit_core::cosignature::Cosigner;
//! use audit_core::policy::Policy;
//!
//! let log = CheckpointSigner::from_seed("audit-log", &[1; 32]).unwrap();
//! let witness = Cosigner::from_seed("witness.example/w1", &[2; 32]).unwrap();
//! let text = format!(
//!     "log {}\nwitness w1 {}\nquorum w1\n",
//!     log.verifier().vkey(),
//!     witness.verifier().vkey()
//! );
//! let policy = Policy::parse(&text).unwrap();
//!
//! let time = audit_core::timestamp::parse("2026-11-25T10:00:00Z").unwrap();
//! let checkpoint = Checkpoint::new("audit-log", uuid::Uuid::nil(), 3, &"ab".repeat(32), time);
//! let note = log.sign(&checkpoint).note;
//! assert!(policy.verify(&note).is_err(), "not cosigned yet");
//!
//! let body = checkpoint.body();
//! let cosigned = format!("{note}{}\n", witness.cosign(&body, 1_700_000_000));
//! let verified = policy.verify(&cosigned).unwrap();
//! assert_eq!(verified.cosignatures[0].witness, "w1");
//! ```

mod builder;
mod error;
mod text;
mod verify;

pub use builder::PolicyBuilder;
pub use error::PolicyError;
pub use verify::{VerifiedCheckpoint, WitnessCosignature};

use crate::checkpoint::CheckpointVerifier;
use crate::cosignature::CosignatureVerifier;

/// The quorum name that requires no cosignature at all.
pub const QUORUM_NONE: &str = "none";

/// A log the policy accepts checkpoints of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLog {
    /// Its checkpoint key; the key name is the log's origin (or, for this service, the log
    /// name shared by every `<log name>/<orgId>` origin).
    pub verifier: CheckpointVerifier,
    /// Where to reach it, if given.
    pub url: Option<String>,
}

/// A witness the policy knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWitness {
    /// Its name within the policy (not necessarily its key name).
    pub name: String,
    /// Its cosignature key.
    pub verifier: CosignatureVerifier,
    /// Where to reach it, if given.
    pub url: Option<String>,
}

/// How many of a group's members must have witnessed a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// Every member.
    All,
    /// At least one member.
    Any,
    /// At least this many members (1 ≤ k ≤ the number of members).
    AtLeast(usize),
}

impl Threshold {
    /// The number of members required out of `members`.
    pub fn required(&self, members: usize) -> usize {
        match self {
            Threshold::All => members,
            Threshold::Any => 1,
            Threshold::AtLeast(k) => *k,
        }
    }
}

/// A named group of witnesses and smaller groups, witnessing a checkpoint when its threshold of
/// members do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessGroup {
    /// Its name, in the namespace it shares with witnesses.
    pub name: String,
    /// How many members must have witnessed.
    pub threshold: Threshold,
    /// The names of its members, each defined before the group.
    pub members: Vec<String>,
}

/// A parsed or assembled tlog-policy: logs, witnesses, groups and the quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<WitnessGroup>,
    quorum: Option<String>,
}

impl Policy {
    /// Starts a policy assembled in code.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// The logs whose checkpoints are accepted.
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// The known witnesses.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// The witness groups, in definition order.
    pub fn groups(&self) -> &[WitnessGroup] {
        &self.groups
    }

    /// The witness or group that must have witnessed a checkpoint; `None` for `quorum none`.
    pub fn quorum(&self) -> Option<&str> {
        self.quorum.as_deref()
    }
}
