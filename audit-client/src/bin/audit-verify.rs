//! `audit-verify`: checks an exported JSONL trail offline.
//!
//! ```text
//! audit-verify export.jsonl --public-key server.vkey --checkpoint checkpoint.txt
//! audit-verify export.jsonl --policy audit.policy --checkpoint checkpoint.txt --old-checkpoint kept.txt
//! audit-verify --proof record.tlog-proof --policy audit.policy
//! ```
//!
//! It reads the file `GET /api/v1/audit-logs/export?format=jsonl` wrote (oldest first, no
//! filters), recomputes every record's hash, follows the chain (`seq` contiguous, each
//! `prevHash` the previous `hash`), and checks the records against a signed checkpoint under
//! the server's public key. It names the first record that was modified, removed, inserted or
//! reordered. An export that starts after a retention purge is anchored by the checkpoint or by
//! `--anchor SEQ:PREVHASH` (the first retained `seq` and the hash it chains to).
//!
//! With `--policy` (a C2SP tlog-policy file) the checkpoint must also carry the witness
//! cosignatures its quorum asks for; `--old-checkpoint` names a checkpoint kept from earlier that
//! the export must extend unchanged; `--proof` checks single records' tlog-proof files without
//! an export.
//!
//! Exit codes: 0 the file is valid, 1 it is not (or cannot be proven), 2 usage errors.

mod audit_verify;

use std::process::ExitCode;

use clap::Parser;

use audit_verify::args::Cli;
use audit_verify::failure::Failure;
use audit_verify::scan::{self, Checks, Outcome};
use audit_verify::{kept, progress, proofs, trust};

fn main() -> ExitCode {
    match run(&Cli::parse()) {
        Ok(code) => code,
        Err(failure) => failure.exit(),
    }
}

fn run(cli: &Cli) -> Result<ExitCode, Failure> {
    let policy = trust::policy(cli)?;
    if let Some(policy) = &policy
        && !cli.proof.is_empty()
    {
        return Ok(proofs::verify_all(&cli.proof, policy));
    }
    let Some(file) = &cli.file else {
        return Err(Failure::Usage("give an export file or --proof".to_owned()));
    };
    let verified = |path: &Option<std::path::PathBuf>| match (path, &policy) {
        (Some(path), Some(policy)) => trust::checkpoint(path, policy).map(Some),
        _ => Ok(None),
    };
    let old = verified(&cli.old_checkpoint)?;
    // A newer checkpoint that fails the policy (say, one the witnesses refused to cosign) does
    // not stop the comparison with the kept one, which can say what happened to the trail.
    let (checkpoint, unaccepted) = match verified(&cli.checkpoint) {
        Err(Failure::Invalid(reason)) if old.is_some() => (None, Some(reason)),
        verdict => (verdict?, None),
    };
    if let Some(checkpoint) = &checkpoint
        && cli.policy.is_some()
    {
        println!(
            "checkpoint at seq {} signed by {}; {}",
            checkpoint.checkpoint.seq,
            checkpoint.log,
            trust::witnesses(checkpoint)
        );
    }
    let (checkpoint, old) = (
        checkpoint.map(|verified| verified.checkpoint),
        old.map(|verified| verified.checkpoint),
    );
    if let (Some(old), Some(checkpoint)) = (&old, &checkpoint)
        && let Some(outcome) = kept::against_checkpoint(old, checkpoint)
    {
        return Ok(report(outcome));
    }
    let length = std::fs::metadata(file)
        .map_err(|error| Failure::Usage(format!("cannot read {}: {error}", file.display())))?
        .len();
    let bar = progress::bar(length, cli.quiet);
    let checks = Checks {
        anchor: cli.anchor.as_ref(),
        checkpoint: checkpoint.as_ref(),
        kept: old.as_ref(),
    };
    let outcome = scan::scan(file, &checks, &bar);
    bar.finish_and_clear();
    let outcome =
        outcome.map_err(|error| Failure::Usage(format!("cannot read {}: {error}", file.display())))?;
    match (outcome, unaccepted) {
        (Outcome::Invalid(mut finding), Some(reason)) => {
            finding.message.push_str(&format!("; and {reason}"));
            Ok(report(Outcome::Invalid(finding)))
        }
        (Outcome::Valid(_), Some(reason)) => Err(Failure::Invalid(reason)),
        (outcome, None) => Ok(report(outcome)),
    }
}

fn report(outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Valid(summary) => {
            println!("VALID: {summary}");
            ExitCode::SUCCESS
        }
        Outcome::Invalid(finding) => {
            println!("INVALID: {finding}");
            ExitCode::from(1)
        }
    }
}
