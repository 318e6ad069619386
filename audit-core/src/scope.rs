//! What an API key may do.

use serde::{Deserialize, Serialize};

/// A permission carried by an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Scope {
    /// Record audit events.
    #[serde(rename = "auditLogs:write")]
    AuditLogsWrite,
    /// Query, fetch, export and verify audit events; mint viewer tokens.
    #[serde(rename = "auditLogs:read")]
    AuditLogsRead,
    /// Create, list and revoke the organization's API keys; extend its catalog.
    #[serde(rename = "apiKeys:manage")]
    ApiKeysManage,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 3] = [Scope::AuditLogsWrite, Scope::AuditLogsRead, Scope::ApiKeysManage];

    /// The wire name, e.g. `auditLogs:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AuditLogsWrite => "auditLogs:write",
            Scope::AuditLogsRead => "auditLogs:read",
            Scope::ApiKeysManage => "apiKeys:manage",
        }
    }

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == value)
    }
}
