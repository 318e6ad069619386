//! One row of Langfuse's `audit_logs` table, and the event it becomes here.
//!
//! The mapping follows what Langfuse's `auditLog()` writes: `type` is `USER` or `API_KEY`;
//! an `API_KEY` row may carry a `user_id` too (an in-app agent key acting for the user who made
//! it), which is kept as `userId`; roles are Langfuse's `Role` names; `before` and `after` hold
//! `JSON.stringify` output. The event's `id` is derived from the Langfuse id alone, so that
//! importing the same row again is an idempotent retry and never a second record.

use audit_core::{ActorType, AuditEvent, Role};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The metadata member holding the Langfuse row's `id`.
pub const LANGFUSE_ID: &str = "langfuseId";
/// The metadata member holding the Langfuse row's `org_id`.
pub const LANGFUSE_ORG_ID: &str = "langfuseOrgId";
/// The metadata member listing `before`/`after` fields that were not JSON (kept as strings).
pub const LANGFUSE_UNPARSED: &str = "langfuseUnparsed";

/// A row of Langfuse's `audit_logs` (Prisma model `AuditLog`), as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LangfuseAuditRow {
    /// `id`: a cuid.
    pub id: String,
    /// `created_at`: `TIMESTAMP(3)` without time zone, written in UTC.
    pub created_at: NaiveDateTime,
    /// `type`: `USER` or `API_KEY` (`AuditLogRecordType`).
    pub record_type: String,
    /// `api_key_id`.
    pub api_key_id: Option<String>,
    /// `user_id`.
    pub user_id: Option<String>,
    /// `org_id`.
    pub org_id: String,
    /// `user_org_role`.
    pub user_org_role: Option<String>,
    /// `project_id`.
    pub project_id: Option<String>,
    /// `user_project_role`.
    pub user_project_role: Option<String>,
    /// `resource_type`.
    pub resource_type: String,
    /// `resource_id`.
    pub resource_id: String,
    /// `action`.
    pub action: String,
    /// `before`: stringified JSON.
    pub before: Option<String>,
    /// `after`: stringified JSON.
    pub after: Option<String>,
}

/// A row that cannot become an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Langfuse audit log {id}: {message}")]
pub struct UnmappableRow {
    /// The Langfuse id of the row.
    pub id: String,
    /// What is wrong with it.
    pub message: String,
}

/// The event id a Langfuse row gets: the first 16 bytes of SHA-256 over a fixed prefix and the
/// Langfuse id, as a UUIDv8 (the same row always gets the same id, whatever the run).
pub fn event_id(langfuse_id: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(b"langfuse:audit_logs:")
        .chain_update(langfuse_id.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

impl LangfuseAuditRow {
    /// The event this row is recorded as.
    pub fn to_event(&self) -> Result<AuditEvent, UnmappableRow> {
        let actor_type = match self.record_type.as_str() {
            "USER" => ActorType::User,
            "API_KEY" => ActorType::ApiKey,
            other => {
                return Err(UnmappableRow {
                    id: self.id.clone(),
                    message: format!("unknown type {other:?} (expected USER or API_KEY)"),
                });
            }
        };
        let mut metadata = Map::new();
        metadata.insert(LANGFUSE_ID.to_owned(), Value::from(self.id.as_str()));
        metadata.insert(LANGFUSE_ORG_ID.to_owned(), Value::from(self.org_id.as_str()));

        let mut event = AuditEvent::new(
            actor_type,
            self.resource_type.as_str(),
            self.resource_id.as_str(),
            self.action.as_str(),
        );
        event.id = Some(event_id(&self.id));
        event.occurred_at = Some(DateTime::<Utc>::from_naive_utc_and_offset(self.created_at, Utc));
        event.user_id = self.user_id.clone();
        event.api_key_id = self.api_key_id.clone();
        event.project_id = self.project_id.clone();
        event.user_org_role = role("userOrgRole", self.user_org_role.as_deref(), &mut metadata);
        event.user_project_role = role(
            "userProjectRole",
            self.user_project_role.as_deref(),
            &mut metadata,
        );

        let mut unparsed = Vec::new();
        event.before = state("before", self.before.as_deref(), &mut unparsed);
        event.after = state("after", self.after.as_deref(), &mut unparsed);
        if !unparsed.is_empty() {
            metadata.insert(LANGFUSE_UNPARSED.to_owned(), Value::from(unparsed));
        }
        event.metadata = Some(metadata);
        Ok(event)
    }
}

/// A Langfuse role; a name this server does not know is kept in `metadata` under
/// `langfuse` + the field's name (e.g. `langfuseUserOrgRole`) instead.
fn role(field: &str, value: Option<&str>, metadata: &mut Map<String, Value>) -> Option<Role> {
    let value = value?;
    let role = Role::parse(value);
    if role.is_none() {
        let mut name = String::from("langfuse");
        name.push_str(&field[..1].to_uppercase());
        name.push_str(&field[1..]);
        metadata.insert(name, Value::from(value));
    }
    role
}

/// A stringified `before`/`after` as JSON; text that is not JSON is kept as a JSON string and
/// its field named in `unparsed`.
fn state(field: &'static str, text: Option<&str>, unparsed: &mut Vec<&'static str>) -> Option<Value> {
    let text = text?;
    Some(serde_json::from_str(text).unwrap_or_else(|_| {
        unparsed.push(field);
        Value::from(text)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row() -> LangfuseAuditRow {
        LangfuseAuditRow {
            id: "clx1abc".to_owned(),
            created_at: NaiveDateTime::parse_from_str("2025-03-10 10:00:00.123", "%Y-%m-%d %H:%M:%S%.f")
                .unwrap(),
            record_type: "USER".to_owned(),
            api_key_id: None,
            user_id: Some("u1".to_owned()),
            org_id: "org1".to_owned(),
            user_org_role: Some("ADMIN".to_owned()),
            project_id: Some("p1".to_owned()),
            user_project_role: None,
            resource_type: "prompt".to_owned(),
            resource_id: "pr1".to_owned(),
            action: "update".to_owned(),
            before: Some(r#"{"name":"a"}"#.to_owned()),
            after: Some("not json".to_owned()),
        }
    }

    #[test]
    fn a_user_row_keeps_every_field() {
        let event = row().to_event().unwrap();
        assert_eq!(event.actor_type, ActorType::User);
        assert_eq!(event.user_id.as_deref(), Some("u1"));
        assert_eq!(event.user_org_role, Some(Role::Admin));
        assert_eq!(event.project_id.as_deref(), Some("p1"));
        assert_eq!(
            event.occurred_at.unwrap().to_rfc3339(),
            "2025-03-10T10:00:00.123+00:00"
        );
        assert_eq!(event.before, Some(json!({"name": "a"})));
        assert_eq!(event.after, Some(json!("not json")));
        let metadata = Value::Object(event.metadata.unwrap());
        assert_eq!(
            metadata,
            json!({"langfuseId": "clx1abc", "langfuseOrgId": "org1", "langfuseUnparsed": ["after"]})
        );
    }

    #[test]
    fn an_agent_key_row_keeps_the_key_and_the_user_it_acted_for() {
        let mut row = row();
        row.record_type = "API_KEY".to_owned();
        row.api_key_id = Some("key1".to_owned());
        row.user_org_role = Some("SUPERUSER".to_owned());
        let event = row.to_event().unwrap();
        assert_eq!(event.actor_type, ActorType::ApiKey);
        assert_eq!(event.api_key_id.as_deref(), Some("key1"));
        assert_eq!(event.user_id.as_deref(), Some("u1"));
        assert_eq!(event.user_org_role, None);
        assert_eq!(event.metadata.unwrap()["langfuseUserOrgRole"], "SUPERUSER");
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(event_id("a"), event_id("a"));
        assert_ne!(event_id("a"), event_id("b"));
        assert_eq!(event_id("a").get_version_num(), 8);
    }

    #[test]
    fn an_unknown_type_is_refused_naming_the_row() {
        let mut row = row();
        row.record_type = "ROBOT".to_owned();
        let error = row.to_event().unwrap_err();
        assert_eq!(error.id, "clx1abc");
    }
}
