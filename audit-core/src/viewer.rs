//! Viewer tokens and exports: handing a read-only view of the trail to a host app's users.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Role, timestamp};

/// The body that mints a viewer token for one of the host app's users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"userId": "u_1", "orgRole": "ADMIN", "projectId": null, "projectRole": null})))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewViewerToken {
    /// The host app's user who will look at the trail.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 256))]
    pub user_id: String,
    /// The user's role in the organization.
    pub org_role: Role,
    /// Restricts the view to one project (a project-level grant).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 256))]
    pub project_id: Option<String>,
    /// The user's role in that project; it overrides `orgRole` unless it is `NONE`.
    #[serde(default)]
    pub project_role: Option<Role>,
    /// Lifetime in seconds, 60 to 86,400 (default 900: fifteen minutes).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(minimum = 60, maximum = 86400))]
    pub ttl_seconds: Option<u32>,
}

/// A minted viewer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "token": "vt_eyJpIjoiMDE5YWI5YTUiLCJvIjoiMDE5YWI5YTAiLCJ1IjoidV8xIn0.3q2p7wTc9Zk1dM4xY8bN6vQ0sR5uH2jL7fK9gA1eC3o",
    "expiresAt": "2026-11-25T10:15:00.000Z",
    "url": "http://127.0.0.1:8080/#token=vt_eyJpIjoiMDE5YWI5YTUiLCJvIjoiMDE5YWI5YTAiLCJ1IjoidV8xIn0.3q2p7wTc9Zk1dM4xY8bN6vQ0sR5uH2jL7fK9gA1eC3o"
})))]
#[serde(rename_all = "camelCase")]
pub struct ViewerToken {
    /// The bearer token; the read endpoints (list, get, export) accept it within its scope.
    pub token: String,
    /// When it stops working.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub expires_at: DateTime<Utc>,
    /// The viewer page with the token (in the URL fragment, so it stays out of server logs).
    pub url: String,
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Comma-separated values with a header row; JSON fields as JSON text.
    Csv,
    /// One JSON record per line.
    Jsonl,
}

impl ExportFormat {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "csv" => Some(ExportFormat::Csv),
            "jsonl" => Some(ExportFormat::Jsonl),
            _ => None,
        }
    }
}
