//! Streaming exports: every matching record, oldest first, as CSV or JSON Lines, read from the
//! database in keyset chunks so memory stays flat whatever the trail's length.

use audit_core::{AuditLogFilter, ExportFormat};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use sea_orm::{ColumnTrait, DbErr, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::mpsc;

use super::export_format::{csv_header, push_csv_row, push_jsonl};
use crate::store::Store;
use crate::store::entity::audit_log::Column;
use crate::store::reads::{ReadScope, select};
use crate::store::stored_row::{StoredRow, fetch_stored};

const CHUNK: u64 = 1000;

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
    sender: mpsc::Sender<Result<Vec<StoredRow>, DbErr>>,
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
        let chunk = query
            .clone()
            .filter(Column::Seq.gt(after_seq))
            .order_by_asc(Column::Seq)
            .limit(CHUNK);
        let rows = fetch_stored(store.connection(), chunk).await;
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

fn format_chunk(rows: Vec<StoredRow>, format: ExportFormat) -> Result<Bytes, std::io::Error> {
    let mut chunk = Vec::with_capacity(rows.len() * 1400);
    let mut scratch = Vec::new();
    for row in &rows {
        let record = row.view().map_err(std::io::Error::other)?;
        match format {
            ExportFormat::Csv => push_csv_row(&mut chunk, &mut scratch, &record),
            ExportFormat::Jsonl => push_jsonl(&mut chunk, &record)?,
        }
    }
    Ok(Bytes::from(chunk))
}
