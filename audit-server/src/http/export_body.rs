//! Streaming exports: every matching record, oldest first, as CSV or JSON Lines, read from the
//! database in keyset chunks so memory stays flat whatever the trail's length.

use audit_core::{AuditLogFilter, AuditRecord, ExportFormat, Role, timestamp};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use sea_orm::{ColumnTrait, DbErr, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::store::Store;
use crate::store::entity::audit_log::{self, Column};
use crate::store::reads::{ReadScope, select};

/// The CSV columns: the record's JSON field names, in the order of the record.
pub const CSV_COLUMNS: [&str; 24] = [
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
    "metadata",
    "recordedBy",
    "prevHash",
    "hash",
];

const CHUNK: u64 = 1000;

/// The header row of a CSV export.
pub fn csv_header() -> String {
    let mut line = CSV_COLUMNS.join(",");
    line.push_str("\r\n");
    line
}

/// One record as a CSV row (RFC 4180): JSON values as JSON text, null as an empty field.
pub fn csv_row(record: &AuditRecord) -> String {
    let mut line = String::new();
    push_csv_row(&mut line, record);
    line
}

/// Appends `record` as a CSV row, field by field from the record (the columns of
/// [`CSV_COLUMNS`], in order).
fn push_csv_row(line: &mut String, record: &AuditRecord) {
    let text = |value: &Option<String>| value.as_deref().unwrap_or("").to_owned();
    let role = |role: Option<Role>| role.map_or("", Role::as_str).to_owned();
    let uuid = |id: Option<Uuid>| id.map_or_else(String::new, |id| id.to_string());
    let fields: [String; 24] = [
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
        record
            .metadata
            .as_ref()
            .map_or_else(String::new, |members| Value::Object(members.clone()).to_string()),
        uuid(record.recorded_by),
        record.prev_hash.clone(),
        record.hash.clone(),
    ];
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        push_csv_field(line, field);
    }
    line.push_str("\r\n");
}

/// A JSON value as a CSV field: strings as their text, null as nothing, the rest as JSON.
fn json_field(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(json) => json.to_string(),
    }
}

fn push_csv_field(line: &mut String, text: &str) {
    if text.contains([',', '"', '\r', '\n']) {
        line.push('"');
        line.push_str(&text.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(text);
    }
}

/// Chunks read from the database ahead of the one being written.
const READ_AHEAD: usize = 2;
/// Chunks formatted at once on the blocking pool.
const FORMATTING_IN_PARALLEL: usize = 2;

/// The export's body, chunk by chunk. One task reads keyset chunks ahead while earlier chunks are
/// formatted on the blocking pool; chunks are sent in order.
pub fn chunks(
    store: Store,
    scope: ReadScope,
    filter: AuditLogFilter,
    format: ExportFormat,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let (sender, receiver) = mpsc::channel(READ_AHEAD);
    tokio::spawn(read_ahead(store, scope, filter, sender));
    let header = match format {
        ExportFormat::Csv => Some(Ok(Bytes::from(csv_header()))),
        ExportFormat::Jsonl => None,
    };
    let rows = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|rows| (rows, receiver))
    })
    .map(move |rows| async move {
        let rows = rows.map_err(std::io::Error::other)?;
        tokio::task::spawn_blocking(move || format_chunk(rows, format))
            .await
            .map_err(std::io::Error::other)?
    })
    .buffered(FORMATTING_IN_PARALLEL);
    futures::stream::iter(header).chain(rows)
}

/// Reads the matching rows oldest first, chunk by chunk, until they end, the receiver is gone
/// (the client went away) or the database fails (sent on, which ends the response early).
async fn read_ahead(
    store: Store,
    scope: ReadScope,
    filter: AuditLogFilter,
    sender: mpsc::Sender<Result<Vec<audit_log::Model>, DbErr>>,
) {
    let query = match select(&store, &scope, &filter).await {
        Ok(Some(query)) => query,
        Ok(None) => return,
        Err(error) => {
            let _ = sender.send(Err(error)).await;
            return;
        }
    };
    let mut after_seq = 0;
    loop {
        let rows = query
            .clone()
            .filter(Column::Seq.gt(after_seq))
            .order_by_asc(Column::Seq)
            .limit(CHUNK)
            .all(store.connection())
            .await;
        let (last, full) = match &rows {
            Ok(rows) => (rows.last().map(|row| row.seq), rows.len() as u64 == CHUNK),
            Err(_) => (None, false),
        };
        if matches!(&rows, Ok(rows) if rows.is_empty()) || sender.send(rows).await.is_err() {
            return;
        }
        match last {
            Some(seq) if full => after_seq = seq,
            _ => return,
        }
    }
}

fn format_chunk(rows: Vec<audit_log::Model>, format: ExportFormat) -> Result<Bytes, std::io::Error> {
    let mut chunk = Vec::with_capacity(rows.len() * 1400);
    let mut line = String::new();
    for row in rows {
        let record = AuditRecord::try_from(row).map_err(std::io::Error::other)?;
        match format {
            ExportFormat::Csv => {
                line.clear();
                push_csv_row(&mut line, &record);
                chunk.extend_from_slice(line.as_bytes());
            }
            ExportFormat::Jsonl => {
                serde_json::to_writer(&mut chunk, &record).map_err(std::io::Error::other)?;
                chunk.push(b'\n');
            }
        }
    }
    Ok(Bytes::from(chunk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_core::{ActorType, AuditEvent};
    use serde_json::json;

    /// The first implementation (through a `Value` map), which the field-by-field row must match.
    fn csv_row_through_value(record: &AuditRecord) -> String {
        let value = serde_json::to_value(record).unwrap_or(Value::Null);
        let mut line = String::new();
        for (index, column) in CSV_COLUMNS.iter().enumerate() {
            if index > 0 {
                line.push(',');
            }
            let text = match &value[*column] {
                Value::Null => String::new(),
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                Value::Bool(flag) => flag.to_string(),
                json => json.to_string(),
            };
            push_csv_field(&mut line, &text);
        }
        line.push_str("\r\n");
        line
    }

    #[test]
    fn csv_rows_are_written_as_through_a_value() {
        let states = [
            None,
            Some(Value::Null),
            Some(json!("plain text, with \"quotes\"")),
            Some(json!(12.5)),
            Some(json!(true)),
            Some(json!({"name": "greeting", "prompt": "Hi,\nthere", "n": [1, 2.5, null], "ü": "€"})),
        ];
        for (index, before) in states.iter().enumerate() {
            let mut event = AuditEvent::by_user("u,1", "prompt", "pr \"9\"", "update");
            event.actor_type = [ActorType::User, ActorType::ApiKey, ActorType::System][index % 3];
            event.user_org_role = (index % 2 == 0).then_some(Role::Admin);
            event.user_project_role = (index % 3 == 0).then_some(Role::Viewer);
            event.project_id = (index % 2 == 1).then(|| "p_1".to_owned());
            event.before = before.clone();
            event.after = states[states.len() - 1 - index].clone();
            event.user_agent = Some("Mozilla/5.0\r\n(evil)".to_owned());
            event.metadata = (index % 2 == 0).then(|| {
                [
                    ("source".to_owned(), json!("web")),
                    ("k".to_owned(), json!({"a": "b,c"})),
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
            record.seal(audit_core::GENESIS_HASH);
            assert_eq!(csv_row(&record), csv_row_through_value(&record));
        }
    }

    #[test]
    fn fields_with_commas_quotes_and_newlines_are_quoted() {
        let mut line = String::new();
        push_csv_field(&mut line, r#"{"a":"x,y"}"#);
        assert_eq!(line, r#""{""a"":""x,y""}""#);
        let mut line = String::new();
        push_csv_field(&mut line, "plain ü");
        assert_eq!(line, "plain ü");
        let mut line = String::new();
        push_csv_field(&mut line, "two\nlines");
        assert_eq!(line, "\"two\nlines\"");
    }
}
