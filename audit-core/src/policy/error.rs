//! What can be wrong with a policy, or with a checkpoint under it.

use crate::checkpoint::CheckpointError;

/// Why a policy file is refused, or why a checkpoint does not satisfy a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A line of a policy file is malformed or breaks a rule of the format.
    #[error("policy line {line}: {message}")]
    Line {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A policy assembled in code breaks a rule of the format.
    #[error("policy: {0}")]
    Definition(String),
    /// The policy lists no log, so no checkpoint can be accepted under it.
    #[error("the policy lists no log")]
    NoLog,
    /// No log of the policy signed the checkpoint.
    #[error("{0}")]
    Log(#[source] CheckpointError),
    /// The valid cosignatures do not meet the quorum.
    #[error(
        "the checkpoint's cosignatures do not meet the policy's quorum {quorum}: {}",
        describe(cosigned)
    )]
    QuorumNotMet {
        /// The quorum's name.
        quorum: String,
        /// The policy names of the witnesses that did cosign.
        cosigned: Vec<String>,
    },
}

fn describe(cosigned: &[String]) -> String {
    match cosigned {
        [] => "no witness of the policy cosigned it".to_owned(),
        names => format!("cosigned only by {}", names.join(", ")),
    }
}
