//! The catalog of auditable resource types and their actions.
//!
//! The built-in catalog is Langfuse's table of auditable resources and actions, shipped with
//! this crate as data. Operators and organizations extend it with their own pairs.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

const LANGFUSE_TSV: &str = include_str!("../data/langfuse-resources.tsv");

/// A set of allowed `(resourceType, action)` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    entries: BTreeMap<String, BTreeSet<String>>,
}

/// Why a catalog text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("catalog line {line}: {message}")]
pub struct CatalogParseError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// An event's pair is not in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogViolation {
    /// The resource type is not known at all.
    #[error("unknown resource type `{resource_type}`")]
    UnknownResourceType {
        /// The resource type sent.
        resource_type: String,
    },
    /// The resource type is known, the action is not one of its actions.
    #[error("action `{action}` is not allowed for resource type `{resource_type}`; allowed: {}", allowed.join(", "))]
    UnknownAction {
        /// The resource type sent.
        resource_type: String,
        /// The action sent.
        action: String,
        /// The actions the resource type allows.
        allowed: Vec<String>,
    },
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Catalog::default()
    }

    /// Langfuse's table of auditable resources and actions.
    pub fn langfuse() -> Self {
        Catalog::from_tsv(LANGFUSE_TSV).unwrap_or_default()
    }

    /// Reads tab-separated `resourceType<TAB>action[<TAB>anything]` lines. A header line
    /// starting with `resourceType`, blank lines and lines starting with `#` are skipped.
    pub fn from_tsv(text: &str) -> Result<Self, CatalogParseError> {
        let mut catalog = Catalog::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') || line.starts_with("resourceType\t") {
                continue;
            }
            let mut columns = line.split('\t');
            let (Some(resource_type), Some(action)) = (columns.next(), columns.next()) else {
                return Err(CatalogParseError {
                    line: index + 1,
                    message: "expected `resourceType<TAB>action`".to_owned(),
                });
            };
            if let Err(message) = check_name(resource_type).and_then(|()| check_name(action)) {
                return Err(CatalogParseError {
                    line: index + 1,
                    message,
                });
            }
            catalog.add(resource_type, action);
        }
        Ok(catalog)
    }

    /// Adds one pair.
    pub fn add(&mut self, resource_type: impl Into<String>, action: impl Into<String>) {
        self.entries
            .entry(resource_type.into())
            .or_default()
            .insert(action.into());
    }

    /// Adds every pair of `other`.
    pub fn extend(&mut self, other: &Catalog) {
        for (resource_type, action) in other.pairs() {
            self.add(resource_type, action);
        }
    }

    /// Whether the pair is allowed.
    pub fn allows(&self, resource_type: &str, action: &str) -> bool {
        self.entries
            .get(resource_type)
            .is_some_and(|actions| actions.contains(action))
    }

    /// The actions of a resource type, sorted.
    pub fn actions(&self, resource_type: &str) -> Option<impl Iterator<Item = &str>> {
        self.entries
            .get(resource_type)
            .map(|actions| actions.iter().map(String::as_str))
    }

    /// Every pair, sorted by resource type, then action.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().flat_map(|(resource_type, actions)| {
            actions
                .iter()
                .map(move |action| (resource_type.as_str(), action.as_str()))
        })
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.entries.values().map(BTreeSet::len).sum()
    }

    /// Whether the catalog has no pair.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks a pair, naming the allowed actions when the resource type is known.
    pub fn check(&self, resource_type: &str, action: &str) -> Result<(), CatalogViolation> {
        match self.entries.get(resource_type) {
            None => Err(CatalogViolation::UnknownResourceType {
                resource_type: resource_type.to_owned(),
            }),
            Some(actions) if !actions.contains(action) => Err(CatalogViolation::UnknownAction {
                resource_type: resource_type.to_owned(),
                action: action.to_owned(),
                allowed: actions.iter().cloned().collect(),
            }),
            Some(_) => Ok(()),
        }
    }

    /// The catalog as its wire form.
    pub fn to_response(&self) -> CatalogResponse {
        CatalogResponse {
            resource_types: self
                .entries
                .iter()
                .map(|(resource_type, actions)| CatalogEntry {
                    resource_type: resource_type.clone(),
                    actions: actions.iter().cloned().collect(),
                })
                .collect(),
        }
    }
}

/// Checks a resource type or action name: 1 to 256 characters, letters, digits, `_`, `-`,
/// `.` and `:` only.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 256 {
        return Err(format!("`{name}` must be 1 to 256 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(format!(
            "`{name}` may contain only letters, digits, `_`, `-`, `.` and `:`"
        ));
    }
    Ok(())
}

/// The catalog in force for a caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"resourceTypes": [
    {"resourceType": "invoice", "actions": ["create", "void"]},
    {"resourceType": "prompt", "actions": ["create", "delete", "promote", "setLabel", "update", "updateTags"]}
]})))]
#[serde(rename_all = "camelCase")]
pub struct CatalogResponse {
    /// Every resource type with its actions, sorted by name.
    pub resource_types: Vec<CatalogEntry>,
}

/// One resource type and its actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"resourceType": "invoice", "actions": ["create", "void"]})))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogEntry {
    /// The resource type, e.g. `prompt`: 1 to 256 letters, digits, `_`, `-`, `.` and `:`.
    #[cfg_attr(
        feature = "utoipa",
        schema(min_length = 1, max_length = 256, pattern = "^[A-Za-z0-9_.:-]+$")
    )]
    pub resource_type: String,
    /// Its actions, e.g. `create`, `update`, `setLabel`: 1 to 100 names of the same form.
    #[cfg_attr(feature = "utoipa", schema(min_items = 1, max_items = 100))]
    pub actions: Vec<String>,
}

impl From<CatalogResponse> for Catalog {
    fn from(response: CatalogResponse) -> Self {
        let mut catalog = Catalog::new();
        for entry in response.resource_types {
            for action in entry.actions {
                catalog.add(entry.resource_type.clone(), action);
            }
        }
        catalog
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_of_the_langfuse_table_is_built_in() {
        let catalog = Catalog::langfuse();
        let rows: Vec<&str> = LANGFUSE_TSV
            .lines()
            .skip(1)
            .filter(|line| !line.is_empty())
            .collect();
        assert_eq!(catalog.len(), rows.len());
        for row in rows {
            let mut columns = row.split('\t');
            let (resource_type, action) = (columns.next().unwrap(), columns.next().unwrap());
            assert!(catalog.allows(resource_type, action), "{resource_type} {action}");
        }
        assert!(catalog.allows("prompt", "setLabel"));
        assert!(!catalog.allows("prompt", "explode"));
    }

    #[test]
    fn unknown_actions_name_the_allowed_ones() {
        let violation = Catalog::langfuse().check("session", "delete").unwrap_err();
        assert_eq!(
            violation,
            CatalogViolation::UnknownAction {
                resource_type: "session".into(),
                action: "delete".into(),
                allowed: vec!["bookmark".into(), "publish".into()],
            }
        );
    }

    #[test]
    fn extension_adds_pairs() {
        let mut catalog = Catalog::langfuse();
        let extra = Catalog::from_tsv("invoice\tcreate\ninvoice\tvoid\n").unwrap();
        catalog.extend(&extra);
        assert!(catalog.allows("invoice", "void"));
        assert!(Catalog::from_tsv("no tab here").is_err());
        assert!(Catalog::from_tsv("bad name\tcreate").is_err());
    }
}
