//! CloudEvents 1.0 for webhooks, in structured batch mode (`application/cloudevents-batch+json`:
//! a JSON array with one event per record).
//!
//! Each event: `specversion` 1.0, `id` the record id, `type` `<resourceType>.<action>` (the
//! syslog MSGID and CEF signature), `source` `/organizations/<orgId>`, `subject` the resource
//! id, `time` `occurredAt`, `datacontenttype` `application/json` and `data` the event in the
//! stream's format after its privacy policy. Extension attributes (lowercase alphanumeric, at
//! most 20 characters) carry the record's `auditseq` and `audithash`, and the batch envelope on
//! every event of the batch, so each event read alone still proves where its batch sits:
//! `auditstreamid`, `auditbatchcount`, `auditbatchfirstseq`, `auditbatchlastseq`,
//! `auditbatchlasthash`, `auditbatchprevhash` (absent for a stream's first batch) and
//! `auditcheckpoint` (when there is one). `seq`s are strings: a CloudEvents Integer has 32 bits,
//! a `seq` 64.

use audit_core::timestamp;
use serde_json::{Map, Value, json};

use super::batch::Batch;

/// The media type of a batch.
pub const BATCH_CONTENT_TYPE: &str = "application/cloudevents-batch+json";

/// The `source` of an organization's events.
pub fn source(org_id: uuid::Uuid) -> String {
    format!("/organizations/{org_id}")
}

/// The extension attributes of the batch envelope, the same on each event of the batch.
fn envelope_attributes(batch: &Batch<'_>) -> Map<String, Value> {
    let envelope = &batch.envelope;
    let mut attributes = Map::new();
    attributes.insert("auditstreamid".into(), json!(envelope.stream_id.to_string()));
    attributes.insert("auditbatchcount".into(), json!(envelope.count));
    attributes.insert("auditbatchfirstseq".into(), json!(envelope.first_seq.to_string()));
    attributes.insert("auditbatchlastseq".into(), json!(envelope.last_seq.to_string()));
    attributes.insert("auditbatchlasthash".into(), json!(envelope.last_hash));
    if let Some(previous) = &envelope.previous_batch_hash {
        attributes.insert("auditbatchprevhash".into(), json!(previous));
    }
    if let Some(checkpoint) = &envelope.checkpoint {
        attributes.insert("auditcheckpoint".into(), json!(checkpoint));
    }
    attributes
}

/// The JSON array of a batch's events.
pub fn body(batch: &Batch<'_>) -> Vec<u8> {
    let shared = envelope_attributes(batch);
    let events: Vec<Value> = batch
        .records
        .iter()
        .zip(&batch.events)
        .map(|(record, data)| {
            let mut event = Map::new();
            event.insert("specversion".into(), json!("1.0"));
            event.insert("id".into(), json!(record.id.to_string()));
            event.insert(
                "type".into(),
                json!(format!("{}.{}", record.resource_type, record.action)),
            );
            event.insert("source".into(), json!(source(record.org_id)));
            event.insert("subject".into(), json!(record.resource_id));
            event.insert("time".into(), json!(timestamp::format(&record.occurred_at)));
            event.insert("datacontenttype".into(), json!("application/json"));
            event.insert("auditseq".into(), json!(record.seq.to_string()));
            event.insert("audithash".into(), json!(record.hash));
            event.extend(shared.clone());
            event.insert("data".into(), data.clone());
            Value::Object(event)
        })
        .collect();
    serde_json::to_vec(&events).unwrap_or_default()
}
