//! `audit-witness`: a [c2sp.org/tlog-witness](https://c2sp.org/tlog-witness) witness of the
//! organizations' checkpoints. It cosigns a checkpoint only when the checkpoint is signed by a
//! log key it was configured with and is a consistent extension of the last checkpoint it
//! cosigned for that origin, so a log that rewrites or rolls back a trail cannot get a
//! cosignature for the new history from a witness that saw the old one.
//!
//! This folder names nothing of the server but `audit-core`: a witness is run by someone who
//! does not trust the server.
//!
//! ```no_run
//! # async fn example(log: audit_core::checkpoint::CheckpointVerifier) -> anyhow::Result<()> {
//! use audit_server::witness::{Witness, WitnessConfig};
//!
//! let config = WitnessConfig::new("witness.example.com", [7; 32], "witness.json".into(), vec![log]);
//! let witness = Witness::start(config).await?;
//! println!("{} cosigns as {}", witness.url(), witness.vkey());
//! witness.stop().await?;
//! # Ok(())
//! # }
//! ```

pub mod cli;
pub mod config;
pub mod durable_write;
pub mod key_file;
pub mod refusal;
pub mod router;
pub mod running;
pub mod state;
pub mod submission;

pub use config::WitnessConfig;
pub use refusal::Refusal;
pub use running::Witness;
pub use state::{CosignedCheckpoint, StateStore};
pub use submission::Submission;
