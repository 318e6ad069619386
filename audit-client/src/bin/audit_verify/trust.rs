//! Whom to trust: the policy (`--policy`, or `--public-key` as a policy of one log and no
//! witnesses), and the checkpoints verified under it.

use std::path::Path;

use audit_core::checkpoint::CheckpointVerifier;
use audit_core::policy::{Policy, VerifiedCheckpoint};

use super::args::Cli;
use super::failure::{Failure, read_text};

/// The policy the command line gives, if any.
pub fn policy(cli: &Cli) -> Result<Option<Policy>, Failure> {
    if let Some(path) = &cli.policy {
        let text = read_text(path)?;
        return Policy::parse(&text)
            .map(Some)
            .map_err(|error| Failure::Usage(format!("--policy {}: {error}", path.display())));
    }
    let Some(given) = &cli.public_key else {
        return Ok(None);
    };
    let text = match Path::new(given).is_file() {
        true => read_text(Path::new(given))?,
        false => given.clone(),
    };
    let verifier = CheckpointVerifier::from_vkey(text.trim())
        .map_err(|error| Failure::Usage(format!("--public-key: {error}")))?;
    let mut builder = Policy::builder();
    builder
        .add_log(verifier, None)
        .and_then(|builder| builder.set_quorum(audit_core::policy::QUORUM_NONE))
        .map_err(|error| Failure::Usage(format!("--public-key: {error}")))?;
    builder
        .build()
        .map(Some)
        .map_err(|error| Failure::Usage(format!("--public-key: {error}")))
}

/// Reads the checkpoint note at `path` and verifies it under `policy`.
pub fn checkpoint(path: &Path, policy: &Policy) -> Result<VerifiedCheckpoint, Failure> {
    let note = read_text(path)?;
    policy
        .verify(&note)
        .map_err(|error| Failure::Invalid(format!("checkpoint {}: {error}", path.display())))
}

/// Who cosigned, for the output: `cosigned by w1 (time), w2 (time)`, and the witnesses whose
/// cosignature did not verify.
pub fn witnesses(verified: &VerifiedCheckpoint) -> String {
    let cosigned: Vec<String> = verified
        .cosignatures
        .iter()
        .map(|cosignature| {
            let time = i64::try_from(cosignature.time)
                .ok()
                .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
                .map_or_else(
                    || cosignature.time.to_string(),
                    |time| audit_core::timestamp::format(&time),
                );
            format!("{} ({time})", cosignature.witness)
        })
        .collect();
    let mut text = match cosigned.is_empty() {
        true => "cosigned by no witness".to_owned(),
        false => format!("cosigned by {}", cosigned.join(", ")),
    };
    if !verified.rejected.is_empty() {
        text.push_str(&format!(
            "; the cosignature of {} does not verify",
            verified.rejected.join(", ")
        ));
    }
    text
}
