//! Export lines: a record as a CSV row or a JSON line, written from the stored row's
//! [`RecordView`] into the chunk's buffer (no `AuditRecord`, no `String` per field).

use std::io::Write;

use audit_core::{JsonTree, RecordView, Role, timestamp};
use uuid::Uuid;

/// The CSV columns: the record's JSON field names, in the order of the record.
pub const CSV_COLUMNS: [&str; 26] = [
    "id",
    "orgId",
    "seq",
    "createdAt",
    "occurredAt",
    "type",
    "userId",
    "apiKeyId",
    "userOrgRole",
    "projectId",
    "userProjectRole",
    "resourceType",
    "resourceId",
    "action",
    "before",
    "after",
    "ipAddress",
    "userAgent",
    "requestId",
    "traceId",
    "onBehalfOf",
    "impersonatedBy",
    "metadata",
    "recordedBy",
    "prevHash",
    "hash",
];

/// The header row of a CSV export.
pub fn csv_header() -> String {
    let mut line = CSV_COLUMNS.join(",");
    line.push_str("\r\n");
    line
}

/// Appends `record` as one JSON line: what `serde_json::to_writer` writes for the
/// `AuditRecord`, then `\n`.
pub fn push_jsonl(out: &mut Vec<u8>, record: &RecordView<'_>) -> Result<(), std::io::Error> {
    serde_json::to_writer(&mut *out, record).map_err(std::io::Error::other)?;
    out.push(b'\n');
    Ok(())
}

/// Appends `record` as a CSV row (RFC 4180), the columns of [`CSV_COLUMNS`] in order: JSON
/// values as JSON text, strings as their text, null as an empty field. `scratch` is reused
/// between fields.
pub fn push_csv_row(out: &mut Vec<u8>, scratch: &mut Vec<u8>, record: &RecordView<'_>) {
    fn text(value: Option<&str>) -> &[u8] {
        value.unwrap_or("").as_bytes()
    }
    let role = |role: Option<Role>| role.map_or("", Role::as_str).as_bytes();

    push_uuid(out, Some(record.id));
    out.push(b',');
    push_uuid(out, Some(record.org_id));
    out.push(b',');
    let _ = write!(out, "{}", record.seq);
    for time in [&record.created_at, &record.occurred_at] {
        out.push(b',');
        push_field(out, timestamp::format(time).as_bytes());
    }
    let fields: [&[u8]; 9] = [
        record.actor_type.as_str().as_bytes(),
        text(record.user_id),
        text(record.api_key_id),
        role(record.user_org_role),
        text(record.project_id),
        role(record.user_project_role),
        record.resource_type.as_bytes(),
        record.resource_id.as_bytes(),
        record.action.as_bytes(),
    ];
    for field in fields {
        out.push(b',');
        push_field(out, field);
    }
    for json in [&record.before, &record.after] {
        out.push(b',');
        push_json_field(out, scratch, json.as_ref());
    }
    let fields: [&[u8]; 6] = [
        text(record.ip_address),
        text(record.user_agent),
        text(record.request_id),
        text(record.trace_id),
        text(record.on_behalf_of),
        text(record.impersonated_by),
    ];
    for field in fields {
        out.push(b',');
        push_field(out, field);
    }
    out.push(b',');
    push_json_field(out, scratch, record.metadata.as_ref());
    out.push(b',');
    push_uuid(out, record.recorded_by);
    for field in [record.prev_hash, record.hash] {
        out.push(b',');
        push_field(out, field.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// A UUID as a CSV field (hyphenated, lowercase), or nothing.
fn push_uuid(out: &mut Vec<u8>, id: Option<Uuid>) {
    if let Some(id) = id {
        let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
        out.extend_from_slice(id.hyphenated().encode_lower(&mut text).as_bytes());
    }
}

/// A JSON value as a CSV field: strings as their text, null as nothing, the rest as JSON.
fn push_json_field(out: &mut Vec<u8>, scratch: &mut Vec<u8>, value: Option<&JsonTree<'_>>) {
    match value {
        None | Some(JsonTree::Null) => {}
        Some(JsonTree::Str(text)) => push_field(out, text.as_bytes()),
        Some(json) => {
            scratch.clear();
            json.write_json(scratch);
            push_field(out, scratch);
        }
    }
}

/// One field, quoted (inner quotes doubled) when it holds a comma, a quote or a line break.
pub(crate) fn push_field(out: &mut Vec<u8>, text: &[u8]) {
    if !text
        .iter()
        .any(|byte| matches!(byte, b',' | b'"' | b'\r' | b'\n'))
    {
        out.extend_from_slice(text);
        return;
    }
    out.push(b'"');
    for part in text.split_inclusive(|byte| *byte == b'"') {
        out.extend_from_slice(part);
        if part.last() == Some(&b'"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(text: &str) -> String {
        let mut out = Vec::new();
        push_field(&mut out, text.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fields_with_commas_quotes_and_newlines_are_quoted() {
        assert_eq!(field(r#"{"a":"x,y"}"#), r#""{""a"":""x,y""}""#);
        assert_eq!(field("plain ü"), "plain ü");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("\"\""), "\"\"\"\"\"\"");
        assert_eq!(field("a\"b\rc"), "\"a\"\"b\rc\"");
    }
}
