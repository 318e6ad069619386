//! The witness's cosigning key seed, kept base64 in a file that is created on first start.

use std::io::Write;
use std::path::Path;

use audit_core::checkpoint::CheckpointSigner;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The seed in `path`; when there is no such file, a fresh random seed written there first,
/// readable by its owner only.
pub fn load_or_generate_seed(path: &Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read(path) {
        Ok(bytes) => CheckpointSigner::parse_seed(&bytes)
            .map_err(|error| anyhow::anyhow!("witness key file {}: {error}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let seed = generate_seed_file(path).map_err(|error| {
                anyhow::anyhow!("cannot create witness key file {}: {error}", path.display())
            })?;
            tracing::info!(path = %path.display(), "generated a new witness key");
            Ok(seed)
        }
        Err(error) => Err(anyhow::anyhow!(
            "cannot read witness key file {}: {error}",
            path.display()
        )),
    }
}

fn generate_seed_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{}", STANDARD.encode(seed))?;
    file.sync_all()?;
    Ok(seed)
}
