//! API keys: how host apps and tools authenticate to the service.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Scope, timestamp};

/// The body that creates an API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"name": "ingest", "scopes": ["auditLogs:write"], "projectId": null})))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApiKey {
    /// A display name, 1 to 256 characters.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 256))]
    pub name: String,
    /// What the key may do; at least one scope.
    #[cfg_attr(feature = "utoipa", schema(min_items = 1))]
    pub scopes: Vec<Scope>,
    /// Restricts the key to one project's events.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 256))]
    pub project_id: Option<String>,
}

/// An API key as listed: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "id": "019ab9a1-2a3b-7c4d-9e5f-6a7b8c9d0e1f", "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b", "name": "ingest",
    "scopes": ["auditLogs:write"], "projectId": null, "secretPrefix": "ak_Xq3vT9pL",
    "createdAt": "2026-11-25T09:01:00.000Z", "revokedAt": null
})))]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// The key's id.
    pub id: Uuid,
    /// The organization it belongs to.
    pub org_id: Uuid,
    /// Its display name.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// The project it is restricted to, or null.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub project_id: Option<String>,
    /// The first characters of the secret, to recognise it.
    pub secret_prefix: String,
    /// When it was created.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    /// When it was revoked, or null; a revoked key no longer authenticates.
    #[serde(default, with = "timestamp::optional")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime, required))]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just created, with its secret. The secret is shown this once and stored only hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "id": "019ab9a1-2a3b-7c4d-9e5f-6a7b8c9d0e1f", "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b", "name": "ingest",
    "scopes": ["auditLogs:write"], "projectId": null, "secretPrefix": "ak_Xq3vT9pL",
    "createdAt": "2026-11-25T09:01:00.000Z",
    "secret": "ak_Xq3vT9pLr8Wm2Kd5Hs7Yb1Nc4Fg6Jt0Qe3Uz9Ai2Ov"
})))]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    /// The key's id.
    pub id: Uuid,
    /// The organization it belongs to.
    pub org_id: Uuid,
    /// Its display name.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// The project it is restricted to, or null.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub project_id: Option<String>,
    /// The first characters of the secret.
    pub secret_prefix: String,
    /// When it was created.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    /// The bearer secret. Store it now: it cannot be shown again.
    pub secret: String,
}

/// The organization's API keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"data": [{
    "id": "019ab9a1-2a3b-7c4d-9e5f-6a7b8c9d0e1f", "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b", "name": "ingest",
    "scopes": ["auditLogs:write"], "projectId": null, "secretPrefix": "ak_Xq3vT9pL",
    "createdAt": "2026-11-25T09:01:00.000Z", "revokedAt": null
}]})))]
pub struct ApiKeyList {
    /// Every key, revoked ones included, oldest first.
    pub data: Vec<ApiKey>,
}
