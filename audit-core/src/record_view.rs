//! A record borrowed from a stored row: the fields of [`AuditRecord`], with its JSON members as
//! [`JsonTree`]s over the stored text, for the read paths that write or hash many records
//! without building each one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{ActorType, JsonTree, Role, canonical, chain, timestamp};

/// [`AuditRecord`](crate::AuditRecord)'s fields, in its order and under its names, borrowing
/// its strings. It serializes (to JSON and to the canonical form) exactly as the record does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // the fields are `AuditRecord`'s
pub struct RecordView<'a> {
    pub id: Uuid,
    pub org_id: Uuid,
    pub seq: i64,
    #[serde(serialize_with = "timestamp::required::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::required::serialize")]
    pub occurred_at: DateTime<Utc>,
    #[serde(rename = "type")]
    pub actor_type: ActorType,
    pub user_id: Option<&'a str>,
    pub api_key_id: Option<&'a str>,
    pub user_org_role: Option<Role>,
    pub project_id: Option<&'a str>,
    pub user_project_role: Option<Role>,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub action: &'a str,
    pub before: Option<JsonTree<'a>>,
    pub after: Option<JsonTree<'a>>,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub trace_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_by: Option<&'a str>,
    /// An object when present (the record's `metadata` is a map).
    pub metadata: Option<JsonTree<'a>>,
    pub recorded_by: Option<Uuid>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

impl RecordView<'_> {
    /// Appends the record as [`AuditRecord::hashed_bytes`](crate::AuditRecord::hashed_bytes)
    /// writes it: the canonical form without `hash`.
    pub fn write_hashed_bytes(&self, out: &mut Vec<u8>) {
        let start = out.len();
        if canonical::write_canonical_omitting(self, "hash", out).is_err() {
            out.truncate(start);
            out.extend_from_slice(b"null");
        }
    }

    /// Recomputes the record's hash from its content and `prevHash`, using `scratch` for the
    /// canonical form (as [`AuditRecord::compute_hash`](crate::AuditRecord::compute_hash)).
    pub fn compute_hash(&self, scratch: &mut Vec<u8>) -> String {
        scratch.clear();
        self.write_hashed_bytes(scratch);
        chain::chain_hash_canonical(self.prev_hash, scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditEvent, AuditRecord, GENESIS_HASH};
    use serde_json::{Value, json};

    /// The view of `record`, over the JSON texts in `texts` (before, after, metadata).
    fn view<'a>(record: &'a AuditRecord, texts: &'a [Option<String>; 3]) -> RecordView<'a> {
        let tree = |text: &'a Option<String>| text.as_deref().map(|text| JsonTree::parse(text).unwrap());
        RecordView {
            id: record.id,
            org_id: record.org_id,
            seq: record.seq,
            created_at: record.created_at,
            occurred_at: record.occurred_at,
            actor_type: record.actor_type,
            user_id: record.user_id.as_deref(),
            api_key_id: record.api_key_id.as_deref(),
            user_org_role: record.user_org_role,
            project_id: record.project_id.as_deref(),
            user_project_role: record.user_project_role,
            resource_type: &record.resource_type,
            resource_id: &record.resource_id,
            action: &record.action,
            before: tree(&texts[0]),
            after: tree(&texts[1]),
            ip_address: record.ip_address.as_deref(),
            user_agent: record.user_agent.as_deref(),
            request_id: record.request_id.as_deref(),
            trace_id: record.trace_id.as_deref(),
            on_behalf_of: record.on_behalf_of.as_deref(),
            impersonated_by: record.impersonated_by.as_deref(),
            metadata: tree(&texts[2]),
            recorded_by: record.recorded_by,
            prev_hash: &record.prev_hash,
            hash: &record.hash,
        }
    }

    #[test]
    fn serializes_and_hashes_as_the_record() {
        let states = [
            None,
            Some(Value::Null),
            Some(json!("a \"string\"\n")),
            Some(json!(1e300)),
            Some(json!({"b": 1, "a": [1.5, -0.0, 12345678901234567890u64], "é": {"z": null, "aa": "ü"}})),
        ];
        for (index, before) in states.iter().enumerate() {
            let mut event = AuditEvent::by_user("u_1", "prompt", "pr_1", "update");
            event.before = before.clone();
            event.after = states[states.len() - 1 - index].clone();
            event.user_org_role = (index % 2 == 0).then_some(Role::Admin);
            event.ip_address = (index % 2 == 1).then(|| "203.0.113.7".to_owned());
            event.on_behalf_of = (index % 2 == 1).then(|| "u_principal".to_owned());
            event.impersonated_by = (index % 3 == 0).then(|| "staff_7".to_owned());
            event.metadata = (index % 2 == 0).then(|| {
                [
                    ("source".to_owned(), json!("web")),
                    ("k".to_owned(), json!({"b": 2, "a": 1})),
                ]
                .into_iter()
                .collect()
            });
            let recorded_by = (index % 2 == 0).then(Uuid::now_v7);
            let mut record = AuditRecord::from_event(
                event,
                Uuid::now_v7(),
                index as i64 + 1,
                timestamp::now(),
                recorded_by,
            );
            record.seal(GENESIS_HASH);
            let text = |value: Option<Value>| value.map(|value| value.to_string());
            let texts = [
                text(record.before.clone()),
                text(record.after.clone()),
                text(record.metadata.clone().map(Value::Object)),
            ];
            let view = view(&record, &texts);
            assert_eq!(
                serde_json::to_string(&view).unwrap(),
                serde_json::to_string(&record).unwrap()
            );
            assert_eq!(view.compute_hash(&mut Vec::new()), record.compute_hash());
        }
    }
}
