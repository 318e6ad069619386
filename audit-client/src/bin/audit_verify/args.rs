//! The command line.

use std::path::PathBuf;

use clap::{ArgGroup, Parser};

use super::scan::Anchor;

/// Checks an exported JSONL audit trail offline: hashes, chain continuity and agreement with a
/// signed checkpoint; or, with `--proof`, single records' tlog-proof files.
#[derive(Debug, Parser)]
#[command(name = "audit-verify", version)]
#[command(group(ArgGroup::new("trust").args(["public_key", "policy"])))]
pub struct Cli {
    /// The JSONL export (`GET /api/v1/audit-logs/export?format=jsonl`, without filters).
    #[arg(required_unless_present = "proof", conflicts_with = "proof")]
    pub file: Option<PathBuf>,

    /// The server's verifier key (`vkey` of `GET /api/v1/checkpoints/public-key`), or a file holding it.
    #[arg(long, value_name = "VKEY|FILE")]
    pub public_key: Option<String>,

    /// A C2SP tlog-policy file: the log key and the witnesses whose cosignatures must meet its
    /// quorum. Replaces `--public-key`.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// A signed checkpoint note (`note` of `GET /api/v1/checkpoints/latest`), in a file.
    #[arg(long, value_name = "FILE", requires = "trust", conflicts_with = "proof")]
    pub checkpoint: Option<PathBuf>,

    /// A checkpoint note kept from earlier (by an auditor): the export must extend the trail it
    /// covers, unchanged.
    #[arg(long, value_name = "FILE", requires = "trust", conflicts_with = "proof")]
    pub old_checkpoint: Option<PathBuf>,

    /// A record's `c2sp.org/tlog-proof@v1` file, checked on its own (no export); may be given
    /// several times.
    #[arg(long, value_name = "FILE", requires = "trust")]
    pub proof: Vec<PathBuf>,

    /// Where an export that starts after a purge is anchored: its first `seq` and the `prevHash`
    /// that record must chain to.
    #[arg(long, value_name = "SEQ:PREVHASH", value_parser = parse_anchor)]
    pub anchor: Option<Anchor>,

    /// Never draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
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
