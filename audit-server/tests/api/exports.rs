//! Exports are byte for byte what the export wrote when it formatted each `AuditRecord`: the
//! JSON line `serde_json` writes for the record read back through the read API, and the CSV
//! row of the formatter kept below as it was.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use audit_core::{AuditRecord, Role, timestamp};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;

/// Events as raw JSON text, so that the numbers and escapes reach the server as written.
const EVENTS: &str = r#"[
  {"type": "USER", "userId": "u_1", "userOrgRole": "ADMIN", "resourceType": "prompt",
   "resourceId": "pr_1", "action": "update",
   "before": {"b": 1, "aaa": 2, "aa": {"zz": true, "y": null, "Z": [], "é": "ü"}, "A": {}},
   "after": {"numbers": [1.0, 1e300, -0, -0.0, 12345678901234567890, 123456789012345678901234,
             -9223372036854775808, 0.1, 3.141592653589793, 5e-324, 1.5e-7, 100, 2.50]},
   "metadata": {"source": "web", "nested": {"k": "a,b", "kk": "quote \" here"}}},
  {"type": "API_KEY", "apiKeyId": "k_1", "projectId": "p_1", "userProjectRole": "VIEWER",
   "resourceType": "dataset", "resourceId": "ds,\"1\"", "action": "create",
   "before": null, "after": "just a string, with \"quotes\"\nand a line",
   "ipAddress": "203.0.113.7", "userAgent": "Mozilla/5.0\r\n(evil, \"agent\")",
   "requestId": "req-1", "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
   "occurredAt": "2026-11-25T10:00:00.123Z"},
  {"type": "SYSTEM", "resourceType": "trace", "resourceId": "tr_1", "action": "delete",
   "before": "\u00e9\u0001\t\\ \ud83d\ude00 \u2028 /", "after": 42,
   "metadata": {"\ud83d\ude00": 1, "\uffff": 2, "a\"b": 3, "a": 4, "": 5, "\u0061b": 6}},
  {"type": "USER", "userId": "日本語ユーザー", "userOrgRole": "MEMBER", "resourceType": "score",
   "resourceId": "sc_1", "action": "update", "before": [1, [2, [3, {"x": "y"}]]],
   "after": {"deep": {"deeper": {"deepest": [{"b": 2, "a": 1}, {}, []]}}}, "metadata": {}},
  {"type": "USER", "userId": "u_2", "resourceType": "prompt", "resourceId": "pr_2",
   "action": "setLabel", "before": true, "after": false, "metadata": {"n": -1.25e-10}}
]"#;

async fn exports_write_each_record_as_before(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let events: Value = serde_json::from_str(EVENTS).unwrap();
    let body = format!(r#"{{"events": {EVENTS}}}"#).into_bytes();
    post_raw(
        &server,
        "/api/v1/audit-logs/batch",
        tenant.secret(),
        "application/json",
        body,
    )
    .await
    .ok(200);
    let jsonl = export(&server, tenant.secret(), "jsonl").await;
    let csv = export(&server, tenant.secret(), "csv").await;

    // Each export records itself first: the JSON Lines export holds the trail up to its own
    // record, the CSV export one record more.
    let records: Vec<AuditRecord> = all_records(&server, tenant.secret(), "")
        .await
        .into_iter()
        .rev()
        .map(|record| serde_json::from_value(record).unwrap())
        .collect();
    let lines: Vec<&str> = jsonl.split_inclusive('\n').collect();
    assert!(lines.len() > events.as_array().unwrap().len());
    assert_eq!(records.len(), lines.len() + 1);
    for (line, record) in lines.iter().zip(&records) {
        let expected = serde_json::to_string(record).unwrap() + "\n";
        assert_eq!(*line, expected, "JSON line of seq {}", record.seq);
    }
    let mut expected = String::from(CSV_HEADER);
    for record in &records {
        let row = csv_row(record);
        assert!(
            csv[expected.len()..].starts_with(&row),
            "CSV row of seq {}",
            record.seq
        );
        expected.push_str(&row);
    }
    assert_eq!(csv, expected);
}

async fn export(server: &TestServer, secret: &str, format: &str) -> String {
    let response = server
        .http()
        .get(server.url(&format!("/api/v1/audit-logs/export?format={format}")))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

const CSV_HEADER: &str = "id,orgId,seq,createdAt,occurredAt,type,userId,apiKeyId,userOrgRole,\
projectId,userProjectRole,resourceType,resourceId,action,before,after,ipAddress,userAgent,\
requestId,traceId,onBehalfOf,impersonatedBy,metadata,recordedBy,prevHash,hash\r\n";

/// The CSV row as the export wrote it from an `AuditRecord` (the reference formatter).
fn csv_row(record: &AuditRecord) -> String {
    let text = |value: &Option<String>| value.as_deref().unwrap_or("").to_owned();
    let role = |role: Option<Role>| role.map_or("", Role::as_str).to_owned();
    let uuid = |id: Option<Uuid>| id.map_or_else(String::new, |id| id.to_string());
    let fields: [String; 26] = [
        record.id.to_string(),
        record.org_id.to_string(),
        record.seq.to_string(),
        timestamp::format(&record.created_at),
        timestamp::format(&record.occurred_at),
        record.actor_type.as_str().to_owned(),
        text(&record.user_id),
        text(&record.api_key_id),
        role(record.user_org_role),
        text(&record.project_id),
        role(record.user_project_role),
        record.resource_type.clone(),
        record.resource_id.clone(),
        record.action.clone(),
        json_field(record.before.as_ref()),
        json_field(record.after.as_ref()),
        text(&record.ip_address),
        text(&record.user_agent),
        text(&record.request_id),
        text(&record.trace_id),
        text(&record.on_behalf_of),
        text(&record.impersonated_by),
        record
            .metadata
            .as_ref()
            .map_or_else(String::new, |members| Value::Object(members.clone()).to_string()),
        uuid(record.recorded_by),
        record.prev_hash.clone(),
        record.hash.clone(),
    ];
    let mut line = String::new();
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        if field.contains([',', '"', '\r', '\n']) {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(field);
        }
    }
    line.push_str("\r\n");
    line
}

fn json_field(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(json) => json.to_string(),
    }
}

on_both_backends!(exports_write_each_record_as_before);
