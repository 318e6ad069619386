//! The `audit-witness` command line: flags, each also read from an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use audit_core::checkpoint::CheckpointVerifier;
use audit_core::cosignature::Cosigner;
use clap::{Args, Parser, Subcommand};

use super::config::{DEFAULT_LISTEN, WitnessConfig};
use super::key_file::load_or_generate_seed;

/// `audit-witness --name ... --log ...` serves; `audit-witness vkey ...` prints the key.
#[derive(Debug, Parser)]
#[command(
    name = "audit-witness",
    version,
    about = "A C2SP tlog-witness: cosigns audit-log checkpoints that consistently extend the last one it cosigned."
)]
pub struct WitnessCli {
    /// Something else than serving.
    #[command(subcommand)]
    pub command: Option<WitnessCommand>,
    /// The witness's identity.
    #[command(flatten)]
    pub key: KeyArgs,
    /// How to serve.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands besides serving.
#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Print the witness's cosignature verifier key and exit (creating the key file if missing).
    Vkey {
        /// The witness's identity.
        #[command(flatten)]
        key: KeyArgs,
    },
}

/// The witness's name and key.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// The witness's key name, e.g. `witness.example.com`.
    #[arg(long, env = "AUDIT_WITNESS_NAME")]
    pub name: Option<String>,
    /// The file holding its 32-byte Ed25519 seed in base64; created (mode 0600) if missing.
    #[arg(long, env = "AUDIT_WITNESS_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

/// Where the witness keeps its state, listens, and which logs it witnesses.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The JSON file of the latest cosigned checkpoint per origin.
    #[arg(long, env = "AUDIT_WITNESS_STATE")]
    pub state: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, env = "AUDIT_WITNESS_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// A log verifier key to witness (repeat the flag, or separate with commas in the
    /// variable). Named by an origin it covers that origin; named `audit-log`, every
    /// `audit-log/<orgId>`.
    #[arg(long = "log", env = "AUDIT_WITNESS_LOGS", value_delimiter = ',', value_parser = parse_log)]
    pub logs: Vec<CheckpointVerifier>,
}

fn parse_log(vkey: &str) -> Result<CheckpointVerifier, String> {
    CheckpointVerifier::from_vkey(vkey).map_err(|error| error.to_string())
}

impl KeyArgs {
    /// The witness's cosigning key, read from (or generated into) the key file.
    pub fn cosigner(&self) -> anyhow::Result<(Cosigner, [u8; 32])> {
        let name = self
            .name
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("--name is required"))?;
        let path = self
            .key_file
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("--key-file is required"))?;
        let seed = load_or_generate_seed(path)?;
        Ok((Cosigner::from_seed(name, &seed)?, seed))
    }
}

impl ServeArgs {
    /// The configuration of a witness with the identity `key`.
    pub fn config(&self, key: &KeyArgs) -> anyhow::Result<WitnessConfig> {
        let state = self
            .state
            .clone()
            .ok_or_else(|| anyhow::anyhow!("--state is required"))?;
        if self.logs.is_empty() {
            anyhow::bail!("at least one --log <vkey> is required");
        }
        let (cosigner, seed) = key.cosigner()?;
        Ok(WitnessConfig::new(cosigner.name(), seed, state, self.logs.clone()).with_listen(self.listen))
    }
}
