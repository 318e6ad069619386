//! Streaming exports: every matching record, oldest first, as CSV or JSON Lines, read from the
//! database in keyset chunks so memory stays flat whatever the trail's length.

use audit_core::{AuditLogFilter, AuditRecord, ExportFormat};
use bytes::Bytes;
use futures::Stream;
use sea_orm::{ColumnTrait, DbErr, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

use crate::store::Store;
use crate::store::entity::audit_log::Column;
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

fn push_csv_field(line: &mut String, text: &str) {
    if text.contains([',', '"', '\r', '\n']) {
        line.push('"');
        line.push_str(&text.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(text);
    }
}

/// One record as a JSON line.
pub fn jsonl_row(record: &AuditRecord) -> String {
    let mut line = serde_json::to_string(record).unwrap_or_default();
    line.push('\n');
    line
}

struct Cursor {
    store: Store,
    scope: ReadScope,
    filter: AuditLogFilter,
    format: ExportFormat,
    after_seq: i64,
    started: bool,
    done: bool,
}

/// The export as a byte stream.
pub fn stream(
    store: Store,
    scope: ReadScope,
    filter: AuditLogFilter,
    format: ExportFormat,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let cursor = Cursor {
        store,
        scope,
        filter,
        format,
        after_seq: 0,
        started: false,
        done: false,
    };
    futures::stream::try_unfold(cursor, |mut cursor| async move {
        if cursor.done {
            return Ok(None);
        }
        let mut chunk = String::new();
        if !cursor.started {
            cursor.started = true;
            if cursor.format == ExportFormat::Csv {
                chunk.push_str(&csv_header());
            }
        }
        let rows = next_rows(&cursor).await.map_err(std::io::Error::other)?;
        if (rows.len() as u64) < CHUNK {
            cursor.done = true;
        }
        for row in rows {
            cursor.after_seq = row.seq;
            let record = AuditRecord::try_from(row).map_err(std::io::Error::other)?;
            chunk.push_str(&match cursor.format {
                ExportFormat::Csv => csv_row(&record),
                ExportFormat::Jsonl => jsonl_row(&record),
            });
        }
        Ok(Some((Bytes::from(chunk), cursor)))
    })
}

async fn next_rows(cursor: &Cursor) -> Result<Vec<crate::store::entity::audit_log::Model>, DbErr> {
    let Some(query) = select(&cursor.store, &cursor.scope, &cursor.filter).await? else {
        return Ok(Vec::new());
    };
    query
        .filter(Column::Seq.gt(cursor.after_seq))
        .order_by_asc(Column::Seq)
        .limit(CHUNK)
        .all(cursor.store.connection())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

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
