//! `audit-verify`: checks an exported JSONL trail offline.
//!
//! ```text
//! audit-verify export.jsonl --public-key server.vkey --checkpoint checkpoint.txt
//! ```
//!
//! It reads the file `GET /api/v1/audit-logs/export?format=jsonl` wrote (oldest first, no
//! filters), recomputes every record's hash, follows the chain (`seq` contiguous, each
//! `prevHash` the previous `hash`), and checks the records against a signed checkpoint under
//! the server's public key. It names the first record that was modified, removed, inserted or
//! reordered. An export that starts after a retention purge is anchored by the checkpoint or by
//! `--anchor SEQ:PREVHASH` (the first retained `seq` and the hash it chains to).
//!
//! Exit codes: 0 the file is valid, 1 it is not (or cannot be proven), 2 usage errors.

mod audit_verify;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use audit_core::checkpoint::CheckpointVerifier;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use audit_verify::scan::{self, Anchor, Outcome};

/// Checks an exported JSONL audit trail offline: hashes, chain continuity and agreement with a
/// signed checkpoint.
#[derive(Debug, Parser)]
#[command(name = "audit-verify", version)]
struct Cli {
    /// The JSONL export (`GET /api/v1/audit-logs/export?format=jsonl`, without filters).
    file: PathBuf,

    /// The server's verifier key (`vkey` of `GET /api/v1/checkpoints/public-key`), or a file holding it.
    #[arg(long, value_name = "VKEY|FILE")]
    public_key: Option<String>,

    /// A signed checkpoint note (`note` of `GET /api/v1/checkpoints/latest`), in a file.
    #[arg(long, value_name = "FILE", requires = "public_key")]
    checkpoint: Option<PathBuf>,

    /// Where an export that starts after a purge is anchored: its first `seq` and the `prevHash`
    /// that record must chain to.
    #[arg(long, value_name = "SEQ:PREVHASH", value_parser = parse_anchor)]
    anchor: Option<Anchor>,

    /// Never draw a progress bar.
    #[arg(long)]
    quiet: bool,
}

fn parse_anchor(text: &str) -> Result<Anchor, String> {
    let (seq, hash) = text.split_once(':').ok_or("expected SEQ:PREVHASH")?;
    let seq: i64 = seq.parse().map_err(|_| "SEQ must be a whole number")?;
    if seq < 1 {
        return Err("SEQ must be at least 1".to_owned());
    }
    if hash.len() != 64 || !hash.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err("PREVHASH must be 64 hex digits".to_owned());
    }
    Ok(Anchor {
        seq,
        prev_hash: hash.to_ascii_lowercase(),
    })
}

fn usage_error(message: String) -> ExitCode {
    eprintln!("audit-verify: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verifier = match &cli.public_key {
        None => None,
        Some(given) => {
            let text = if std::path::Path::new(given).is_file() {
                match std::fs::read_to_string(given) {
                    Ok(text) => text,
                    Err(error) => return usage_error(format!("cannot read {given}: {error}")),
                }
            } else {
                given.clone()
            };
            match CheckpointVerifier::from_vkey(text.trim()) {
                Ok(verifier) => Some(verifier),
                Err(error) => return usage_error(format!("--public-key: {error}")),
            }
        }
    };
    let checkpoint = match (&cli.checkpoint, &verifier) {
        (Some(path), Some(verifier)) => {
            let note = match std::fs::read_to_string(path) {
                Ok(note) => note,
                Err(error) => return usage_error(format!("cannot read {}: {error}", path.display())),
            };
            match verifier.verify(&note) {
                Ok(checkpoint) => Some(checkpoint),
                Err(error) => {
                    println!("INVALID: checkpoint {}: {error}", path.display());
                    return ExitCode::from(1);
                }
            }
        }
        _ => None,
    };
    let length = match std::fs::metadata(&cli.file) {
        Ok(metadata) => metadata.len(),
        Err(error) => return usage_error(format!("cannot read {}: {error}", cli.file.display())),
    };
    let progress = if !cli.quiet && std::io::stderr().is_terminal() && length > 4 * 1024 * 1024 {
        let bar = ProgressBar::new(length);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} [{bar:40}] {bytes_per_sec}, {eta} left",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        ProgressBar::hidden()
    };

    let outcome = scan::scan(&cli.file, cli.anchor.as_ref(), checkpoint.as_ref(), &progress);
    progress.finish_and_clear();
    match outcome {
        Err(error) => usage_error(format!("cannot read {}: {error}", cli.file.display())),
        Ok(Outcome::Valid(summary)) => {
            println!("VALID: {summary}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Invalid(finding)) => {
            println!("INVALID: {finding}");
            ExitCode::from(1)
        }
    }
}
