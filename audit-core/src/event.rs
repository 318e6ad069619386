//! The audit event a host app records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{ActorType, Role, canonical, timestamp};

/// What a host app sends to record one action: who did what to which resource, when and from
/// where, with the state before and after. Field for field Langfuse's audit log, plus request
/// context and metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "id": "019ab9a4-7c2e-7d3a-9a51-3f1e2b9c0d11",
    "occurredAt": "2026-11-25T10:00:00.000Z",
    "type": "USER",
    "userId": "u_123",
    "userOrgRole": "ADMIN",
    "projectId": "p_1",
    "userProjectRole": "MEMBER",
    "resourceType": "prompt",
    "resourceId": "pr_9",
    "action": "update",
    "before": {"name": "greeting", "prompt": "Hi"},
    "after": {"name": "greeting", "prompt": "Hello"},
    "ipAddress": "203.0.113.7",
    "userAgent": "Mozilla/5.0",
    "requestId": "req-abc",
    "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
    "metadata": {"source": "web"}
})))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditEvent {
    /// The idempotency key: sending the same `id` twice stores one record. The server makes a
    /// UUIDv7 when absent; clients that retry should set it before the first attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// When the action happened; defaults to the time of receipt.
    #[serde(
        default,
        with = "timestamp::optional",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub occurred_at: Option<DateTime<Utc>>,
    /// The organization; it comes from the API key, and a different value here is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Uuid>,
    /// The kind of actor.
    #[serde(rename = "type")]
    pub actor_type: ActorType,
    /// The acting user; required when `type` is `USER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 256))]
    pub user_id: Option<String>,
    /// The acting API key of the host app; required when `type` is `API_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 256))]
    pub api_key_id: Option<String>,
    /// The actor's role in the organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_org_role: Option<Role>,
    /// The project the resource belongs to; absent for organization-level events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 256))]
    pub project_id: Option<String>,
    /// The actor's role in the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_project_role: Option<Role>,
    /// The kind of resource acted on, from the catalog (e.g. `prompt`).
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 256))]
    pub resource_type: String,
    /// The identifier of the resource acted on.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 256))]
    pub resource_id: String,
    /// What was done, from the catalog's actions for the resource type (e.g. `update`).
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 256))]
    pub action: String,
    /// The resource's state before the action (any JSON value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The resource's state after the action (any JSON value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// The client's IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 256))]
    pub ip_address: Option<String>,
    /// The client's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 1024))]
    pub user_agent: Option<String>,
    /// The host app's request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 256))]
    pub request_id: Option<String>,
    /// The W3C trace id of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 256))]
    pub trace_id: Option<String>,
    /// The user the actor acted for: the person an AI agent or API key worked on behalf of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 256))]
    pub on_behalf_of: Option<String>,
    /// The staff member acting as the actor: support impersonating the user in `userId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(max_length = 256))]
    pub impersonated_by: Option<String>,
    /// Free-form context: an object of any members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>))]
    pub metadata: Option<Map<String, Value>>,
}

impl AuditEvent {
    /// A new event with the required fields; everything else starts empty.
    pub fn new(
        actor_type: ActorType,
        resource_type: impl Into<String>,
        resource_id: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        AuditEvent {
            id: None,
            occurred_at: None,
            org_id: None,
            actor_type,
            user_id: None,
            api_key_id: None,
            user_org_role: None,
            project_id: None,
            user_project_role: None,
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            action: action.into(),
            before: None,
            after: None,
            ip_address: None,
            user_agent: None,
            request_id: None,
            trace_id: None,
            on_behalf_of: None,
            impersonated_by: None,
            metadata: None,
        }
    }

    /// An event by a user.
    pub fn by_user(
        user_id: impl Into<String>,
        resource_type: impl Into<String>,
        resource_id: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        let mut event = AuditEvent::new(ActorType::User, resource_type, resource_id, action);
        event.user_id = Some(user_id.into());
        event
    }

    /// An event by an API key of the host app.
    pub fn by_api_key(
        api_key_id: impl Into<String>,
        resource_type: impl Into<String>,
        resource_id: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        let mut event = AuditEvent::new(ActorType::ApiKey, resource_type, resource_id, action);
        event.api_key_id = Some(api_key_id.into());
        event
    }

    /// Sets the idempotency key to a fresh UUIDv7 unless one is set, and returns it.
    pub fn ensure_id(&mut self) -> Uuid {
        *self.id.get_or_insert_with(Uuid::now_v7)
    }

    /// A fingerprint of the event as submitted: two submissions are "the same content" when
    /// their fingerprints are equal. Field order and number spelling do not matter.
    pub fn content_fingerprint(&self) -> String {
        let bytes = canonical::to_canonical_vec(self).unwrap_or_else(|_| b"null".to_vec());
        crate::chain::sha256_hex(&bytes)
    }
}
