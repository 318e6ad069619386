//! What a witness is started with.

use std::net::SocketAddr;
use std::path::PathBuf;

use audit_core::checkpoint::CheckpointVerifier;

/// The address a witness listens on unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7380";

/// A witness's identity, memory and the logs it witnesses.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    /// The witness's key name, e.g. `witness.example.com`.
    pub name: String,
    /// The 32-byte Ed25519 seed of its cosigning key.
    pub seed: [u8; 32],
    /// The JSON file holding the latest cosigned checkpoint of each origin.
    pub state_path: PathBuf,
    /// The log keys whose checkpoints it cosigns: one named by an origin covers that origin,
    /// one named by the log name covers every `<log name>/<orgId>`.
    pub logs: Vec<CheckpointVerifier>,
    /// Where it listens.
    pub listen: SocketAddr,
}

impl WitnessConfig {
    /// A witness listening on a free port of 127.0.0.1 (for tests and embedding).
    pub fn new(name: &str, seed: [u8; 32], state_path: PathBuf, logs: Vec<CheckpointVerifier>) -> Self {
        WitnessConfig {
            name: name.to_owned(),
            seed,
            state_path,
            logs,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// The same witness listening on `listen`.
    pub fn with_listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }
}
