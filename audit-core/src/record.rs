//! The stored audit record: the event plus what the server adds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{ActorType, AuditEvent, Role, canonical, chain, timestamp};

/// One record of the trail, as stored and as every read endpoint returns it. Records are
/// immutable; `seq`, `prevHash` and `hash` chain them per organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "id": "019ab9a4-7c2e-7d3a-9a51-3f1e2b9c0d11",
    "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b",
    "seq": 42,
    "createdAt": "2026-11-25T10:00:00.120Z",
    "occurredAt": "2026-11-25T10:00:00.000Z",
    "type": "USER",
    "userId": "u_123",
    "apiKeyId": null,
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
    "metadata": {"source": "web"},
    "recordedBy": "019ab9a1-2a3b-7c4d-9e5f-6a7b8c9d0e1f",
    "prevHash": "5d41402abc4b2a76b9719d911017c592ae6c4d3f1b2a8e7c6d5f4e3b2a190817",
    "hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
})))]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The record's id (the event's idempotency key).
    pub id: Uuid,
    /// The organization the record belongs to.
    pub org_id: Uuid,
    /// Position in the organization's trail: 1, 2, 3, ... without gaps.
    pub seq: i64,
    /// When the server stored the record; the order of the trail.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    /// When the action happened.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub occurred_at: DateTime<Utc>,
    /// The kind of actor.
    #[serde(rename = "type")]
    pub actor_type: ActorType,
    /// The acting user.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub user_id: Option<String>,
    /// The acting API key of the host app.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub api_key_id: Option<String>,
    /// The actor's role in the organization.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub user_org_role: Option<Role>,
    /// The project, or null for organization-level events.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub project_id: Option<String>,
    /// The actor's role in the project.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub user_project_role: Option<Role>,
    /// The kind of resource acted on.
    pub resource_type: String,
    /// The resource acted on.
    pub resource_id: String,
    /// What was done.
    pub action: String,
    /// The resource's state before the action, as recorded (any JSON value), or null.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub before: Option<Value>,
    /// The resource's state after the action, as recorded (any JSON value), or null.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub after: Option<Value>,
    /// The client's IP address.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub ip_address: Option<String>,
    /// The client's user agent.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub user_agent: Option<String>,
    /// The host app's request id.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub request_id: Option<String>,
    /// The W3C trace id.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub trace_id: Option<String>,
    /// The user the actor acted for (an agent's or API key's principal). Absent, not null,
    /// when unset: records without it hash exactly as before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// The staff member acting as the actor (impersonation). Absent, not null, when unset, as
    /// `onBehalfOf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonated_by: Option<String>,
    /// Free-form context: an object of any members, or null.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>, required))]
    pub metadata: Option<Map<String, Value>>,
    /// The audit-service API key that recorded the event, whatever the body claimed.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub recorded_by: Option<Uuid>,
    /// The previous record's `hash` (64 zeros for the first record).
    pub prev_hash: String,
    /// `SHA-256(prevHash || JCS(record without hash))`, hex.
    pub hash: String,
}

impl AuditRecord {
    /// The record an event becomes at `seq` of `org_id`'s trail, stored at `created_at` (also
    /// its `occurredAt` when the event has none). The chain fields are empty until [`seal`].
    ///
    /// [`seal`]: AuditRecord::seal
    pub fn from_event(
        event: AuditEvent,
        org_id: Uuid,
        seq: i64,
        created_at: DateTime<Utc>,
        recorded_by: Option<Uuid>,
    ) -> Self {
        AuditRecord {
            id: event.id.unwrap_or_else(Uuid::now_v7),
            org_id,
            seq,
            created_at,
            occurred_at: event.occurred_at.unwrap_or(created_at),
            actor_type: event.actor_type,
            user_id: event.user_id,
            api_key_id: event.api_key_id,
            user_org_role: event.user_org_role,
            project_id: event.project_id,
            user_project_role: event.user_project_role,
            resource_type: event.resource_type,
            resource_id: event.resource_id,
            action: event.action,
            before: event.before,
            after: event.after,
            ip_address: event.ip_address,
            user_agent: event.user_agent,
            request_id: event.request_id,
            trace_id: event.trace_id,
            on_behalf_of: event.on_behalf_of,
            impersonated_by: event.impersonated_by,
            metadata: event.metadata,
            recorded_by,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// The record without `hash`, as the chain hashes it.
    pub fn hashed_content(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(members) = &mut value {
            members.remove("hash");
        }
        value
    }

    /// The canonical form of [`hashed_content`](AuditRecord::hashed_content), written straight
    /// from the record.
    pub fn hashed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        if canonical::write_canonical_omitting(self, "hash", &mut out).is_err() {
            // Unreachable for a record (string keys, finite numbers); the `Value` path hashed
            // `null` here.
            out.clear();
            out.extend_from_slice(b"null");
        }
        out
    }

    /// Recomputes the record's hash from its content and `prevHash`.
    pub fn compute_hash(&self) -> String {
        chain::chain_hash_canonical(&self.prev_hash, &self.hashed_bytes())
    }

    /// Sets `prevHash` and `hash`, chaining this record after `prev_hash`.
    pub fn seal(&mut self, prev_hash: &str) {
        self.prev_hash = prev_hash.to_owned();
        self.hash = self.compute_hash();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A record as stored before `onBehalfOf` and `impersonatedBy` existed, with the hash it was
    /// sealed with then (`SHA-256(prevHash || JCS(record without hash))`, computed outside Rust).
    fn record_from_before_delegation() -> AuditRecord {
        serde_json::from_value(json!({
            "id": "019ab9a4-7c2e-7d3a-9a51-3f1e2b9c0d11",
            "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b",
            "seq": 1,
            "createdAt": "2026-11-25T10:00:00.120Z",
            "occurredAt": "2026-11-25T10:00:00.000Z",
            "type": "USER",
            "userId": "u_123",
            "apiKeyId": null,
            "userOrgRole": "ADMIN",
            "projectId": "p_1",
            "userProjectRole": null,
            "resourceType": "prompt",
            "resourceId": "pr_9",
            "action": "update",
            "before": {"prompt": "Hi"},
            "after": {"prompt": "Hello"},
            "ipAddress": "203.0.113.7",
            "userAgent": null,
            "requestId": null,
            "traceId": null,
            "metadata": null,
            "recordedBy": null,
            "prevHash": chain::GENESIS_HASH,
            "hash": "d9aaac6be5df0d3c07254ea385ffc2e3975c67dcb3e8be416196e5e2d115717b"
        }))
        .unwrap()
    }

    #[test]
    fn a_record_sealed_before_delegated_actors_still_verifies() {
        let record = record_from_before_delegation();
        assert_eq!(record.on_behalf_of, None);
        assert_eq!(record.compute_hash(), record.hash);
        let written = serde_json::to_value(&record).unwrap();
        assert!(written.get("onBehalfOf").is_none() && written.get("impersonatedBy").is_none());
    }

    #[test]
    fn delegated_actors_are_part_of_the_hashed_content_when_present() {
        let mut record = record_from_before_delegation();
        record.on_behalf_of = Some("u_principal".to_owned());
        let with_principal = record.compute_hash();
        assert_ne!(with_principal, record.hash);
        record.impersonated_by = Some("staff_7".to_owned());
        let with_both = record.compute_hash();
        assert_ne!(with_both, with_principal);
        let content = String::from_utf8(record.hashed_bytes()).unwrap();
        assert!(content.contains(r#""impersonatedBy":"staff_7""#), "{content}");
        assert!(content.contains(r#""onBehalfOf":"u_principal""#), "{content}");
    }
}
