//! A page of records.

use serde::{Deserialize, Serialize};

use crate::AuditRecord;

/// One page of the read endpoint, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditLogPage {
    /// The records.
    pub data: Vec<AuditRecord>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}
