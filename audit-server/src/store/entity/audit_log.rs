//! `audit_logs`: the trail itself. Append-only: database triggers refuse UPDATE and DELETE.

use sea_orm::entity::prelude::*;

/// One stored record.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_logs")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// Position in the organization's trail.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// The record id (the event's idempotency key), unique per organization.
    pub id: Uuid,
    /// When the server stored it.
    pub created_at: DateTimeUtc,
    /// When the action happened.
    pub occurred_at: DateTimeUtc,
    /// USER, API_KEY or SYSTEM.
    pub actor_type: String,
    /// The acting user.
    pub user_id: Option<String>,
    /// The acting host-app key.
    pub api_key_id: Option<String>,
    /// The actor's organization role.
    pub user_org_role: Option<String>,
    /// The project.
    pub project_id: Option<String>,
    /// The actor's project role.
    pub user_project_role: Option<String>,
    /// The resource type.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// The action.
    pub action: String,
    /// State before.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub before: Option<Json>,
    /// State after.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub after: Option<Json>,
    /// Client IP.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Host request id.
    pub request_id: Option<String>,
    /// W3C trace id.
    pub trace_id: Option<String>,
    /// Free-form context.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub metadata: Option<Json>,
    /// The audit-service key that recorded it.
    pub recorded_by: Option<Uuid>,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's chain hash.
    pub hash: String,
    /// Fingerprint of the submitted event, for idempotent retries.
    pub content_hash: String,
    /// The user the actor acted for (added after the first schema, hence last).
    pub on_behalf_of: Option<String>,
    /// The staff member acting as the actor.
    pub impersonated_by: Option<String>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
