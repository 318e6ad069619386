//! Dead letters: records a stream set aside after its destination refused them for good. The
//! worker sets one aside in the same transaction that moves the cursor past it; a retry or a
//! discard through the API is recorded in the organization's trail in the same transaction as
//! the change to the list.

use audit_core::{LogStream, StreamDeadLetter, timestamp};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::Store;
use super::append::append_in;
use super::entity::{log_stream, stream_dead_letter};
use super::streams::{change_event, pending_seqs};

/// The longest error text kept.
pub const MAX_ERROR_CHARS: usize = 1024;

fn truncated(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

fn to_wire(row: stream_dead_letter::Model) -> StreamDeadLetter {
    StreamDeadLetter {
        stream_id: row.stream_id,
        org_id: row.org_id,
        seq: row.seq,
        record_id: row.record_id,
        last_error: row.last_error,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        dead_lettered_at: row.dead_lettered_at,
        last_attempt_at: row.last_attempt_at,
    }
}

/// A record the worker sets aside.
#[derive(Debug, Clone, Copy)]
pub struct SetAside<'a> {
    /// The record's `seq`.
    pub seq: i64,
    /// The record's id.
    pub record_id: Uuid,
    /// The cursor once it is set aside (its `seq`, or past filtered-out records after it).
    pub cursor: i64,
    /// The destination's last answer.
    pub error: &'a str,
    /// Attempts made.
    pub attempts: u32,
}

/// Sets a record aside for `stream` and moves the cursor past it, in one transaction, while
/// `owner` holds the lease; the `seq` is kept for the next batch's envelope. `false` (nothing
/// written) when the lease is lost or the cursor is already past it.
pub async fn set_aside(
    store: &Store,
    stream: &LogStream,
    owner: Uuid,
    record: SetAside<'_>,
    lease_until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let now = timestamp::now();
    let _writer = store.writer_guard().await;
    let txn = store.connection().begin().await?;
    let Some(row) = log_stream::Entity::find_by_id(stream.id)
        .filter(log_stream::Column::LeaseOwner.eq(owner))
        .filter(log_stream::Column::CursorSeq.lt(record.seq))
        .one(&txn)
        .await?
    else {
        return Ok(false);
    };
    let mut pending = pending_seqs(row.dead_lettered_pending.as_deref());
    pending.push(record.seq);
    let pending = serde_json::to_string(&pending).map_err(|error| DbErr::Custom(error.to_string()))?;
    log_stream::Entity::update_many()
        .col_expr(log_stream::Column::CursorSeq, Expr::value(record.cursor))
        .col_expr(log_stream::Column::DeadLetteredPending, Expr::value(pending))
        .col_expr(log_stream::Column::LeaseExpiresAt, Expr::value(lease_until))
        .filter(log_stream::Column::Id.eq(stream.id))
        .filter(log_stream::Column::LeaseOwner.eq(owner))
        .exec(&txn)
        .await?;
    stream_dead_letter::ActiveModel::from(stream_dead_letter::Model {
        stream_id: stream.id,
        seq: record.seq,
        org_id: stream.org_id,
        record_id: record.record_id,
        last_error: truncated(record.error),
        attempts: i32::try_from(record.attempts).unwrap_or(i32::MAX),
        dead_lettered_at: now,
        last_attempt_at: now,
    })
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// One page of the organization's stream's dead letters after `after`, oldest `seq` first, and
/// the `seq` to continue after when there may be more.
pub async fn list(
    store: &Store,
    org_id: Uuid,
    stream_id: Uuid,
    after: i64,
    limit: u64,
) -> Result<(Vec<StreamDeadLetter>, Option<i64>), DbErr> {
    let rows = stream_dead_letter::Entity::find()
        .filter(stream_dead_letter::Column::OrgId.eq(org_id))
        .filter(stream_dead_letter::Column::StreamId.eq(stream_id))
        .filter(stream_dead_letter::Column::Seq.gt(after))
        .order_by_asc(stream_dead_letter::Column::Seq)
        .limit(limit + 1)
        .all(store.connection())
        .await?;
    let more = rows.len() as u64 > limit;
    let data: Vec<StreamDeadLetter> = rows.into_iter().take(limit as usize).map(to_wire).collect();
    let next = more.then(|| data.last().map(|letter| letter.seq)).flatten();
    Ok((data, next))
}

/// One dead letter of the organization's stream.
pub async fn find(
    store: &Store,
    org_id: Uuid,
    stream_id: Uuid,
    seq: i64,
) -> Result<Option<StreamDeadLetter>, DbErr> {
    Ok(find_in(store.connection(), org_id, stream_id, seq)
        .await?
        .map(to_wire))
}

async fn find_in(
    connection: &impl ConnectionTrait,
    org_id: Uuid,
    stream_id: Uuid,
    seq: i64,
) -> Result<Option<stream_dead_letter::Model>, DbErr> {
    stream_dead_letter::Entity::find_by_id((stream_id, seq))
        .filter(stream_dead_letter::Column::OrgId.eq(org_id))
        .one(connection)
        .await
}

/// What became of a dead letter through the API.
#[derive(Debug, Clone, Copy)]
pub enum Settlement<'a> {
    /// Retried and delivered: it leaves the list.
    Delivered,
    /// Retried and refused again with this error: it stays listed.
    Refused(&'a str),
    /// Discarded unsent: it leaves the list.
    Discarded,
}

/// Records what became of the dead letter `seq` of `stream` (a `logStream` event by
/// `changed_by`: `retryDeadLetter` or `discardDeadLetter`) and changes the list to match, in one
/// transaction. `false` when it is not listed.
pub async fn settle(
    store: &Store,
    stream: &LogStream,
    seq: i64,
    settlement: Settlement<'_>,
    changed_by: Uuid,
) -> Result<bool, DbErr> {
    let _writer = store.writer_guard().await;
    let txn = store.connection().begin().await?;
    let Some(row) = find_in(&txn, stream.org_id, stream.id, seq).await? else {
        return Ok(false);
    };
    let before =
        serde_json::to_value(to_wire(row.clone())).map_err(|error| DbErr::Custom(error.to_string()))?;
    let (action, after) = match settlement {
        Settlement::Delivered => {
            stream_dead_letter::Entity::delete_by_id((stream.id, seq))
                .exec(&txn)
                .await?;
            ("retryDeadLetter", json!({"seq": seq, "delivered": true}))
        }
        Settlement::Refused(error) => {
            let error = truncated(error);
            let mut active: stream_dead_letter::ActiveModel = row.clone().into();
            active.attempts = Set(row.attempts.saturating_add(1));
            active.last_error = Set(error.clone());
            active.last_attempt_at = Set(timestamp::now());
            active.update(&txn).await?;
            (
                "retryDeadLetter",
                json!({"seq": seq, "delivered": false, "lastError": error}),
            )
        }
        Settlement::Discarded => {
            stream_dead_letter::Entity::delete_by_id((stream.id, seq))
                .exec(&txn)
                .await?;
            ("discardDeadLetter", json!({"seq": seq, "discarded": true}))
        }
    };
    let mut event = change_event(changed_by, stream.id, action);
    event.event.project_id = stream.filter.project_id.clone();
    event.event.before = Some(before);
    event.event.after = Some(after);
    append_in(&txn, stream.org_id, vec![event]).await?;
    txn.commit().await?;
    Ok(true)
}

/// Removes every dead letter of a stream being deleted, inside its transaction.
pub(super) async fn delete_all_in(connection: &impl ConnectionTrait, stream_id: Uuid) -> Result<(), DbErr> {
    stream_dead_letter::Entity::delete_many()
        .filter(stream_dead_letter::Column::StreamId.eq(stream_id))
        .exec(connection)
        .await?;
    Ok(())
}

/// How many dead letters each stream lists, for `/metrics` (streams with none are absent).
pub async fn counts(store: &Store) -> Result<Vec<(Uuid, i64)>, DbErr> {
    stream_dead_letter::Entity::find()
        .select_only()
        .column(stream_dead_letter::Column::StreamId)
        .column_as(
            Expr::from(Func::count(Expr::col(stream_dead_letter::Column::Seq))),
            "listed",
        )
        .group_by(stream_dead_letter::Column::StreamId)
        .into_tuple::<(Uuid, i64)>()
        .all(store.connection())
        .await
}
