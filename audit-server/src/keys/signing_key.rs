//! The checkpoint signing key's seed, when the operator keeps it in a file
//! (`AUDIT_SIGNING_KEY_FILE`) rather than letting the server generate one into the database
//! ([`crate::state::checkpoint_signer`] chooses).

use std::path::Path;

use audit_core::checkpoint::CheckpointSigner;

/// The 32-byte Ed25519 seed in `path`, or what is wrong with the file.
pub fn read_seed_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    let bytes = std::fs::read(path)
        .map_err(|error| anyhow::anyhow!("cannot read AUDIT_SIGNING_KEY_FILE {}: {error}", path.display()))?;
    CheckpointSigner::parse_seed(&bytes)
        .map_err(|error| anyhow::anyhow!("AUDIT_SIGNING_KEY_FILE {}: {error}", path.display()))
}
