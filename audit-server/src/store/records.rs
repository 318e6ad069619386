//! Conversion between stored rows and the wire record.

use audit_core::{ActorType, AuditRecord, Role};
use sea_orm::ActiveValue::Set;
use serde_json::Value;

use super::entity::audit_log;

/// A stored row that does not make a valid record (it was changed behind the server's back).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record seq {seq} cannot be read: {message}")]
pub struct RecordDecodeError {
    /// The row's `seq`.
    pub seq: i64,
    /// What is wrong.
    pub message: String,
}

impl TryFrom<audit_log::Model> for AuditRecord {
    type Error = RecordDecodeError;

    fn try_from(row: audit_log::Model) -> Result<Self, Self::Error> {
        let seq = row.seq;
        let fail = |message: String| RecordDecodeError { seq, message };
        let role = |value: Option<String>| stored_role(seq, value.as_deref());
        let metadata = match row.metadata {
            None => None,
            Some(Value::Object(members)) => Some(members),
            Some(_) => return Err(fail("metadata is not an object".to_owned())),
        };
        Ok(AuditRecord {
            id: row.id,
            org_id: row.org_id,
            seq: row.seq,
            created_at: row.created_at,
            occurred_at: row.occurred_at,
            actor_type: stored_actor_type(seq, &row.actor_type)?,
            user_id: row.user_id,
            api_key_id: row.api_key_id,
            user_org_role: role(row.user_org_role)?,
            project_id: row.project_id,
            user_project_role: role(row.user_project_role)?,
            resource_type: row.resource_type,
            resource_id: row.resource_id,
            action: row.action,
            before: row.before,
            after: row.after,
            ip_address: row.ip_address,
            user_agent: row.user_agent,
            request_id: row.request_id,
            trace_id: row.trace_id,
            on_behalf_of: row.on_behalf_of,
            impersonated_by: row.impersonated_by,
            metadata,
            recorded_by: row.recorded_by,
            prev_hash: row.prev_hash,
            hash: row.hash,
        })
    }
}

/// A stored role of record `seq`, checked.
pub(crate) fn stored_role(seq: i64, text: Option<&str>) -> Result<Option<Role>, RecordDecodeError> {
    text.map(|text| {
        Role::parse(text).ok_or_else(|| RecordDecodeError {
            seq,
            message: format!("unknown role `{text}`"),
        })
    })
    .transpose()
}

/// The stored actor type of record `seq`, checked.
pub(crate) fn stored_actor_type(seq: i64, text: &str) -> Result<ActorType, RecordDecodeError> {
    ActorType::parse(text).ok_or_else(|| RecordDecodeError {
        seq,
        message: format!("unknown actor type `{text}`"),
    })
}

/// The row that stores `record`, with the fingerprint of the event it came from.
pub(crate) fn to_active_model(record: &AuditRecord, content_hash: &str) -> audit_log::ActiveModel {
    audit_log::ActiveModel {
        org_id: Set(record.org_id),
        seq: Set(record.seq),
        id: Set(record.id),
        created_at: Set(record.created_at),
        occurred_at: Set(record.occurred_at),
        actor_type: Set(record.actor_type.as_str().to_owned()),
        user_id: Set(record.user_id.clone()),
        api_key_id: Set(record.api_key_id.clone()),
        user_org_role: Set(record.user_org_role.map(|role| role.as_str().to_owned())),
        project_id: Set(record.project_id.clone()),
        user_project_role: Set(record.user_project_role.map(|role| role.as_str().to_owned())),
        resource_type: Set(record.resource_type.clone()),
        resource_id: Set(record.resource_id.clone()),
        action: Set(record.action.clone()),
        before: Set(record.before.clone()),
        after: Set(record.after.clone()),
        ip_address: Set(record.ip_address.clone()),
        user_agent: Set(record.user_agent.clone()),
        request_id: Set(record.request_id.clone()),
        trace_id: Set(record.trace_id.clone()),
        on_behalf_of: Set(record.on_behalf_of.clone()),
        impersonated_by: Set(record.impersonated_by.clone()),
        metadata: Set(record.metadata.clone().map(Value::Object)),
        recorded_by: Set(record.recorded_by),
        prev_hash: Set(record.prev_hash.clone()),
        hash: Set(record.hash.clone()),
        content_hash: Set(content_hash.to_owned()),
    }
}
