//! Organizations: the tenants of the service.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::timestamp;

/// The body that creates an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"name": "Acme"})))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrganization {
    /// A display name, 1 to 256 characters.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 256))]
    pub name: String,
}

/// An organization: one tenant with its own trail, chain and keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "id": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b", "name": "Acme", "createdAt": "2026-11-25T09:00:00.000Z"
})))]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// The organization's id.
    pub id: Uuid,
    /// Its display name.
    pub name: String,
    /// When it was created.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
}

/// The list of organizations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"data": [
    {"id": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b", "name": "Acme", "createdAt": "2026-11-25T09:00:00.000Z"}
]})))]
pub struct OrganizationList {
    /// Every organization, oldest first.
    pub data: Vec<Organization>,
}
