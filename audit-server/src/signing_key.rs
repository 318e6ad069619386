//! The checkpoint signing key: from `AUDIT_SIGNING_KEY_FILE`, or generated at first start and
//! kept in the database so that every process on one database signs with the same key.

use audit_core::checkpoint::CheckpointSigner;

use crate::config::Config;
use crate::store::{Store, secrets};

/// The signer the configuration asks for.
pub async fn load(config: &Config, store: &Store) -> anyhow::Result<CheckpointSigner> {
    let seed = match &config.signing_key_file {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|error| {
                anyhow::anyhow!("cannot read AUDIT_SIGNING_KEY_FILE {}: {error}", path.display())
            })?;
            CheckpointSigner::parse_seed(&bytes)
                .map_err(|error| anyhow::anyhow!("AUDIT_SIGNING_KEY_FILE {}: {error}", path.display()))?
        }
        None => secrets::get_or_create(store, secrets::CHECKPOINT_SIGNING_SEED).await?,
    };
    Ok(CheckpointSigner::from_seed(&config.signing_key_name, &seed)?)
}
