//! The witness's memory: for each origin, the latest checkpoint it cosigned, in one JSON file
//! (`{"<origin>": {"size", "root", "note", "time"}}`) that is replaced durably before any
//! cosignature leaves the witness.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use audit_core::merkle::Hash;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::durable_write::replace_durably;

/// The latest checkpoint cosigned for one origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignedCheckpoint {
    /// Its tree size.
    pub size: u64,
    /// Its root hash (base64 in the file).
    #[serde(with = "base64_hash")]
    pub root: Hash,
    /// The checkpoint note with the witness's cosignature added.
    pub note: String,
    /// When the witness cosigned it.
    pub time: DateTime<Utc>,
}

/// The latest cosigned checkpoint of every origin, read from and written to one file.
#[derive(Debug)]
pub struct StateStore {
    path: PathBuf,
    latest: BTreeMap<String, CosignedCheckpoint>,
}

impl StateStore {
    /// Reads the state file at `path`; no file is a witness that has cosigned nothing yet. A
    /// file that cannot be read is an error: starting afresh would let a log roll back.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let latest = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|error| anyhow::anyhow!("witness state file {}: {error}", path.display()))?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(error) => anyhow::bail!("cannot read witness state file {}: {error}", path.display()),
        };
        Ok(StateStore {
            path: path.to_owned(),
            latest,
        })
    }

    /// The latest checkpoint cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Option<&CosignedCheckpoint> {
        self.latest.get(origin)
    }

    /// The latest cosigned checkpoint of the origin whose SHA-256 is `origin_hash` (lowercase
    /// hex), as tlog-witness monitors address it.
    pub fn latest_by_origin_hash(&self, origin_hash: &str) -> Option<&CosignedCheckpoint> {
        self.latest
            .iter()
            .find(|(origin, _)| hex::encode(Sha256::digest(origin.as_bytes())) == origin_hash)
            .map(|(_, cosigned)| cosigned)
    }

    /// Makes `cosigned` the latest of `origin`, on disk first: when this fails, nothing changed.
    pub async fn record(&mut self, origin: &str, cosigned: CosignedCheckpoint) -> std::io::Result<()> {
        let mut next = self.latest.clone();
        next.insert(origin.to_owned(), cosigned);
        let bytes = serde_json::to_vec_pretty(&next).map_err(std::io::Error::other)?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || replace_durably(&path, &bytes))
            .await
            .map_err(std::io::Error::other)??;
        self.latest = next;
        Ok(())
    }
}

/// A hash as its base64 text.
mod base64_hash {
    use audit_core::merkle::Hash;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(hash))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD
            .decode(&text)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
            .ok_or_else(|| D::Error::custom("a root is not the base64 of 32 bytes"))
    }
}
