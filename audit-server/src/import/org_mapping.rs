//! The mapping file from Langfuse organization ids to this server's organization ids.
//!
//! A JSON object, `{"<langfuse org id>": "<our org uuid>", …}`. The import reads it at start,
//! maps every Langfuse organization it names to the organization given (which must exist), and
//! creates an organization for every other one, writing the file again right after each
//! creation (through a temporary file and a rename, so that it is never half written) so that
//! a re-run, even after a crash, imports into the same organizations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use uuid::Uuid;

/// Langfuse organization id → our organization id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgMapping {
    path: PathBuf,
    entries: BTreeMap<String, Uuid>,
}

/// The mapping file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// Reading or writing failed.
    #[error("mapping file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file is not a JSON object of organization ids.
    #[error(
        "mapping file {path} is not a JSON object of \"langfuse org id\": \"organization uuid\": {source}"
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the JSON reader said.
        source: serde_json::Error,
    },
}

impl OrgMapping {
    /// The mapping in `path`, empty when the file does not exist yet.
    pub fn load(path: &Path) -> Result<Self, MappingError> {
        let entries = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| MappingError::Malformed {
                path: path.to_owned(),
                source,
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(MappingError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Ok(OrgMapping {
            path: path.to_owned(),
            entries,
        })
    }

    /// Our organization for a Langfuse organization, if mapped.
    pub fn get(&self, langfuse_org_id: &str) -> Option<Uuid> {
        self.entries.get(langfuse_org_id).copied()
    }

    /// Every entry.
    pub fn entries(&self) -> &BTreeMap<String, Uuid> {
        &self.entries
    }

    /// Maps `langfuse_org_id` to `org_id` and writes the file.
    pub fn insert(&mut self, langfuse_org_id: &str, org_id: Uuid) -> Result<(), MappingError> {
        self.entries.insert(langfuse_org_id.to_owned(), org_id);
        self.save()
    }

    fn save(&self) -> Result<(), MappingError> {
        let fail = |source| MappingError::Io {
            path: self.path.clone(),
            source,
        };
        let mut json = serde_json::to_vec_pretty(&self.entries)
            .map_err(std::io::Error::other)
            .map_err(fail)?;
        json.push(b'\n');
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        std::fs::write(&temporary, json).map_err(fail)?;
        std::fs::rename(&temporary, &self.path).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_reload_and_a_missing_file_is_empty() {
        let dir = tempfile_dir();
        let path = dir.join("orgs.json");
        let mut mapping = OrgMapping::load(&path).unwrap();
        assert!(mapping.entries().is_empty());
        let id = Uuid::now_v7();
        mapping.insert("lf-org", id).unwrap();
        assert_eq!(OrgMapping::load(&path).unwrap().get("lf-org"), Some(id));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_malformed_file_is_refused() {
        let dir = tempfile_dir();
        let path = dir.join("orgs.json");
        std::fs::write(&path, b"{\"lf-org\": \"not a uuid\"}").unwrap();
        assert!(matches!(
            OrgMapping::load(&path),
            Err(MappingError::Malformed { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("org-mapping-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
