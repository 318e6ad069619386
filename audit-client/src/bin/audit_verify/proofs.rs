//! `--proof`: single records' tlog-proof files, each checked on its own under the policy: the
//! record in its `extra` line against its hash, its leaf against the checkpoint's root, the
//! checkpoint against the log key and the witness quorum.

use std::path::PathBuf;
use std::process::ExitCode;

use audit_core::policy::Policy;
use audit_core::record_proof::verify_record_proof;

use super::failure::read_text;
use super::trust;

/// Checks every proof file; exit 0 when all prove their record, 1 when one does not, 2 when
/// one cannot be read.
pub fn verify_all(paths: &[PathBuf], policy: &Policy) -> ExitCode {
    let mut texts = Vec::with_capacity(paths.len());
    for path in paths {
        match read_text(path) {
            Ok(text) => texts.push(text),
            Err(failure) => return failure.exit(),
        }
    }
    let mut all_valid = true;
    for (path, text) in paths.iter().zip(&texts) {
        match verify_record_proof(text, policy) {
            Ok(proven) => {
                let (record, checkpoint) = (&proven.record, &proven.checkpoint.checkpoint);
                println!(
                    "VALID: {}: record seq {} (id {}) of organization {} is in the checkpoint of size {} \
                     signed {} by {}; {}",
                    path.display(),
                    record.seq,
                    record.id,
                    record.org_id,
                    checkpoint.seq,
                    audit_core::timestamp::format(&checkpoint.time),
                    proven.checkpoint.log,
                    trust::witnesses(&proven.checkpoint)
                );
            }
            Err(error) => {
                all_valid = false;
                println!("INVALID: {}: {error}", path.display());
            }
        }
    }
    match all_valid {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    }
}
