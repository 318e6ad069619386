//! Log streams: management (each change recorded in the organization's trail in the same
//! transaction) and the delivery bookkeeping the worker does under a lease.

use audit_core::{
    AuditEvent, AuditRecord, LogStream, PrivacyPolicy, StreamDestination, StreamFilter, StreamFormat,
    StreamHealth, StreamHealthStatus, StreamState, timestamp,
};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Store;
use super::append::{NewRecord, append_in};
use super::entity::{audit_log, chain_head, log_stream, organization};
use super::reads::{ReadScope, filtered};
use crate::keys::sealed;

/// The resource type of stream changes in the trail.
pub const RESOURCE_TYPE: &str = "logStream";

/// A validated stream to create.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    /// Display name.
    pub name: String,
    /// Destination.
    pub destination: StreamDestination,
    /// The plain secret (sealed before it is stored).
    pub secret: Option<String>,
    /// Filter.
    pub filter: StreamFilter,
    /// Format.
    pub format: StreamFormat,
    /// Privacy policy.
    pub privacy: PrivacyPolicy,
    /// Where delivery starts: records after this `seq`; `None` for the current head.
    pub start_after: Option<i64>,
    /// Attempts before a permanently refused record is set aside.
    pub max_attempts: u32,
}

/// A validated change.
#[derive(Debug, Clone, Default)]
pub struct StreamChange {
    /// New name.
    pub name: Option<String>,
    /// New destination.
    pub destination: Option<StreamDestination>,
    /// New secret; `Some(None)` removes it (a file destination needs none).
    pub secret: Option<Option<String>>,
    /// New filter.
    pub filter: Option<StreamFilter>,
    /// New format.
    pub format: Option<StreamFormat>,
    /// New privacy policy.
    pub privacy: Option<PrivacyPolicy>,
    /// New state.
    pub state: Option<StreamState>,
    /// New attempts before a permanently refused record is set aside.
    pub max_attempts: Option<u32>,
}

/// The head `seq` of an organization's trail (0 when empty).
pub async fn head_seq(store: &Store, org_id: Uuid) -> Result<i64, DbErr> {
    Ok(chain_head::Entity::find_by_id(org_id)
        .one(store.connection())
        .await?
        .map_or(0, |head| head.seq))
}

pub(super) fn change_event(key_id: Uuid, stream_id: Uuid, action: &str) -> NewRecord {
    let event = AuditEvent::by_api_key(key_id.to_string(), RESOURCE_TYPE, stream_id.to_string(), action);
    NewRecord::from_submitted(event).recorded_by(Some(key_id))
}

/// What the trail keeps of a stream: its settings, never its secret.
fn snapshot(stream: &LogStream) -> Value {
    json!({
        "name": stream.name,
        "destination": stream.destination,
        "hasSecret": stream.has_secret,
        "filter": stream.filter,
        "format": stream.format,
        "privacy": stream.privacy,
        "state": stream.state,
        "maxAttempts": stream.max_attempts,
    })
}

/// A new hashing key for a stream's privacy policy (32 random bytes, hex), sealed.
fn new_privacy_key(key: &[u8; 32], id: Uuid) -> Result<String, DbErr> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| DbErr::Custom(format!("no randomness: {error}")))?;
    sealed::seal(key, id, &hex::encode(bytes)).map_err(|error| DbErr::Custom(error.to_string()))
}

/// The stored form of a number of attempts.
fn attempts_column(attempts: u32) -> i32 {
    i32::try_from(attempts).unwrap_or(i32::MAX)
}

/// The stored form of a policy: `None` for no rules.
fn stored_privacy(policy: &PrivacyPolicy) -> Result<Option<String>, DbErr> {
    if policy.rules.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(policy)
        .map(Some)
        .map_err(|error| DbErr::Custom(error.to_string()))
}

/// Creates a stream and records it; `None` when the organization already holds `max_streams`
/// (counted under a lock on the organization's row, so concurrent creations cannot overshoot).
pub async fn create(
    store: &Store,
    key: &[u8; 32],
    org_id: Uuid,
    spec: StreamSpec,
    changed_by: Uuid,
    max_streams: u64,
) -> Result<Option<LogStream>, DbErr> {
    let id = Uuid::now_v7();
    let now = timestamp::now();
    let (secret_sealed, secret_hint) = match &spec.secret {
        Some(secret) => (
            Some(sealed::seal(key, id, secret).map_err(|error| DbErr::Custom(error.to_string()))?),
            Some(sealed::hint(secret)),
        ),
        None => (None, None),
    };
    let _writer = store.writer_guard().await;
    let txn = store.connection().begin().await?;
    organization::Entity::find_by_id(org_id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let held = log_stream::Entity::find()
        .filter(log_stream::Column::OrgId.eq(org_id))
        .count(&txn)
        .await?;
    if held >= max_streams {
        return Ok(None);
    }
    let head = chain_head::Entity::find_by_id(org_id)
        .one(&txn)
        .await?
        .map_or(0, |head| head.seq);
    let row = log_stream::Model {
        id,
        org_id,
        name: spec.name,
        kind: spec.destination.kind().to_owned(),
        config: serde_json::to_value(&spec.destination).map_err(|error| DbErr::Custom(error.to_string()))?,
        secret_sealed,
        secret_hint,
        filter: serde_json::to_value(&spec.filter).map_err(|error| DbErr::Custom(error.to_string()))?,
        format: spec.format.as_str().to_owned(),
        privacy: stored_privacy(&spec.privacy)?,
        privacy_key_sealed: Some(new_privacy_key(key, id)?),
        state: StreamState::Active.as_str().to_owned(),
        cursor_seq: spec.start_after.unwrap_or(head),
        last_delivered_hash: None,
        delivered_total: 0,
        health: "healthy".to_owned(),
        consecutive_failures: 0,
        last_error: None,
        last_success_at: None,
        last_attempt_at: None,
        lease_owner: None,
        lease_expires_at: None,
        max_attempts: attempts_column(spec.max_attempts),
        dead_lettered_pending: None,
        created_at: now,
        updated_at: now,
    };
    let stream = to_wire(row.clone())?;
    let mut event = change_event(changed_by, id, "create");
    event.event.project_id = stream.filter.project_id.clone();
    event.event.after = Some(snapshot(&stream));
    log_stream::ActiveModel::from(row).insert(&txn).await?;
    append_in(&txn, org_id, vec![event]).await?;
    txn.commit().await?;
    Ok(Some(stream))
}

/// The organization's streams (only those filtered to `project_id`, when set), oldest first.
pub async fn list(store: &Store, org_id: Uuid) -> Result<Vec<LogStream>, DbErr> {
    log_stream::Entity::find()
        .filter(log_stream::Column::OrgId.eq(org_id))
        .order_by_asc(log_stream::Column::CreatedAt)
        .order_by_asc(log_stream::Column::Id)
        .all(store.connection())
        .await?
        .into_iter()
        .map(to_wire)
        .collect()
}

/// One stream of the organization.
pub async fn find(store: &Store, org_id: Uuid, id: Uuid) -> Result<Option<LogStream>, DbErr> {
    log_stream::Entity::find_by_id(id)
        .filter(log_stream::Column::OrgId.eq(org_id))
        .one(store.connection())
        .await?
        .map(to_wire)
        .transpose()
}

/// Changes a stream and records the change as `action` (`update`, `pause` or `resume`).
/// `None` when the stream is not the organization's.
pub async fn change(
    store: &Store,
    key: &[u8; 32],
    org_id: Uuid,
    id: Uuid,
    change: StreamChange,
    action: &str,
    changed_by: Uuid,
) -> Result<Option<LogStream>, DbErr> {
    let _writer = store.writer_guard().await;
    let txn = store.connection().begin().await?;
    let Some(row) = log_stream::Entity::find_by_id(id)
        .filter(log_stream::Column::OrgId.eq(org_id))
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    let before = to_wire(row.clone())?;
    let mut active = log_stream::ActiveModel {
        id: Set(id),
        updated_at: Set(timestamp::now()),
        ..Default::default()
    };
    if let Some(name) = change.name {
        active.name = Set(name);
    }
    if let Some(destination) = change.destination {
        active.kind = Set(destination.kind().to_owned());
        active.config =
            Set(serde_json::to_value(&destination).map_err(|error| DbErr::Custom(error.to_string()))?);
    }
    match change.secret {
        Some(Some(secret)) => {
            let sealed = sealed::seal(key, id, &secret).map_err(|error| DbErr::Custom(error.to_string()))?;
            active.secret_sealed = Set(Some(sealed));
            active.secret_hint = Set(Some(sealed::hint(&secret)));
        }
        Some(None) => {
            active.secret_sealed = Set(None);
            active.secret_hint = Set(None);
        }
        None => {}
    }
    if let Some(filter) = change.filter {
        active.filter = Set(serde_json::to_value(&filter).map_err(|error| DbErr::Custom(error.to_string()))?);
    }
    if let Some(format) = change.format {
        active.format = Set(format.as_str().to_owned());
    }
    if let Some(privacy) = &change.privacy {
        active.privacy = Set(stored_privacy(privacy)?);
        if row.privacy_key_sealed.is_none() {
            // Streams made before policies existed get their key with their first policy.
            active.privacy_key_sealed = Set(Some(new_privacy_key(key, id)?));
        }
    }
    if let Some(state) = change.state {
        active.state = Set(state.as_str().to_owned());
    }
    if let Some(max_attempts) = change.max_attempts {
        active.max_attempts = Set(attempts_column(max_attempts));
    }
    let updated = to_wire(active.update(&txn).await?)?;
    let mut event = change_event(changed_by, id, action);
    event.event.project_id = updated.filter.project_id.clone();
    event.event.before = Some(snapshot(&before));
    event.event.after = Some(snapshot(&updated));
    append_in(&txn, org_id, vec![event]).await?;
    txn.commit().await?;
    Ok(Some(updated))
}

/// Deletes a stream and records it. `false` when it is not the organization's.
pub async fn delete(store: &Store, org_id: Uuid, id: Uuid, changed_by: Uuid) -> Result<bool, DbErr> {
    let _writer = store.writer_guard().await;
    let txn = store.connection().begin().await?;
    let Some(row) = log_stream::Entity::find_by_id(id)
        .filter(log_stream::Column::OrgId.eq(org_id))
        .one(&txn)
        .await?
    else {
        return Ok(false);
    };
    let before = to_wire(row)?;
    log_stream::Entity::delete_by_id(id).exec(&txn).await?;
    super::dead_letters::delete_all_in(&txn, id).await?;
    let mut event = change_event(changed_by, id, "delete");
    event.event.project_id = before.filter.project_id.clone();
    event.event.before = Some(snapshot(&before));
    append_in(&txn, org_id, vec![event]).await?;
    txn.commit().await?;
    Ok(true)
}

fn to_wire(row: log_stream::Model) -> Result<LogStream, DbErr> {
    let bad = |what: &str| DbErr::Custom(format!("stream {}: stored {what} cannot be read", row.id));
    let destination: StreamDestination =
        serde_json::from_value(row.config.clone()).map_err(|_| bad("destination"))?;
    let filter: StreamFilter = serde_json::from_value(row.filter.clone()).map_err(|_| bad("filter"))?;
    let state = StreamState::parse(&row.state).ok_or_else(|| bad("state"))?;
    let format = StreamFormat::parse(&row.format).ok_or_else(|| bad("format"))?;
    let privacy: PrivacyPolicy = match &row.privacy {
        Some(text) => serde_json::from_str(text).map_err(|_| bad("privacy policy"))?,
        None => PrivacyPolicy::default(),
    };
    Ok(LogStream {
        id: row.id,
        org_id: row.org_id,
        name: row.name,
        destination,
        has_secret: row.secret_sealed.is_some(),
        secret_hint: row.secret_hint,
        filter,
        format,
        privacy,
        state,
        max_attempts: u32::try_from(row.max_attempts).unwrap_or(1),
        delivered_seq: row.cursor_seq,
        delivered_total: row.delivered_total,
        health: StreamHealth {
            status: if row.health == "unhealthy" {
                StreamHealthStatus::Unhealthy
            } else {
                StreamHealthStatus::Healthy
            },
            consecutive_failures: u32::try_from(row.consecutive_failures).unwrap_or(0),
            last_error: row.last_error,
            last_success_at: row.last_success_at,
            last_attempt_at: row.last_attempt_at,
        },
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

// ---- delivery, under a lease -------------------------------------------------------------

/// A stream as the worker sees it: the wire form and its sealed secret.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The stream.
    pub stream: LogStream,
    /// The sealed secret.
    pub secret_sealed: Option<String>,
    /// Who holds the lease, and until when.
    pub lease: Option<(Uuid, DateTime<Utc>)>,
    /// The hash of the last record delivered, moved with the cursor.
    pub last_delivered_hash: Option<String>,
    /// The sealed hashing key of the privacy policy.
    pub privacy_key_sealed: Option<String>,
    /// The `seq`s set aside since the last delivered batch, for the next batch's envelope.
    pub dead_lettered_pending: Vec<i64>,
}

fn lease_available(owner: Uuid, now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(log_stream::Column::LeaseOwner.is_null())
        .add(log_stream::Column::LeaseOwner.eq(owner))
        .add(log_stream::Column::LeaseExpiresAt.lt(now))
}

/// Active streams whose lease is free, expired or already `owner`'s.
pub async fn claimable(store: &Store, owner: Uuid) -> Result<Vec<Uuid>, DbErr> {
    log_stream::Entity::find()
        .select_only()
        .column(log_stream::Column::Id)
        .filter(log_stream::Column::State.eq(StreamState::Active.as_str()))
        .filter(lease_available(owner, Utc::now()))
        .into_tuple::<Uuid>()
        .all(store.connection())
        .await
}

/// Takes or renews the lease on an active stream until `until`; `false` when another process
/// holds it, or the stream is paused or gone. One conditional UPDATE: atomic on both backends.
pub async fn claim(store: &Store, id: Uuid, owner: Uuid, until: DateTime<Utc>) -> Result<bool, DbErr> {
    let _writer = store.writer_guard().await;
    let result = log_stream::Entity::update_many()
        .col_expr(log_stream::Column::LeaseOwner, Expr::value(owner))
        .col_expr(log_stream::Column::LeaseExpiresAt, Expr::value(until))
        .filter(log_stream::Column::Id.eq(id))
        .filter(log_stream::Column::State.eq(StreamState::Active.as_str()))
        .filter(lease_available(owner, Utc::now()))
        .exec(store.connection())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives the lease up (on shutdown, pause or delete) so another process may take over at once.
pub async fn release(store: &Store, id: Uuid, owner: Uuid) -> Result<(), DbErr> {
    let _writer = store.writer_guard().await;
    log_stream::Entity::update_many()
        .col_expr(log_stream::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
        .col_expr(
            log_stream::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(log_stream::Column::Id.eq(id))
        .filter(log_stream::Column::LeaseOwner.eq(owner))
        .exec(store.connection())
        .await?;
    Ok(())
}

/// The stream, if it still exists.
pub async fn load(store: &Store, id: Uuid) -> Result<Option<Claimed>, DbErr> {
    let Some(row) = log_stream::Entity::find_by_id(id).one(store.connection()).await? else {
        return Ok(None);
    };
    let lease = row.lease_owner.zip(row.lease_expires_at);
    let secret_sealed = row.secret_sealed.clone();
    let last_delivered_hash = row.last_delivered_hash.clone();
    let privacy_key_sealed = row.privacy_key_sealed.clone();
    let dead_lettered_pending = pending_seqs(row.dead_lettered_pending.as_deref());
    Ok(Some(Claimed {
        stream: to_wire(row)?,
        secret_sealed,
        lease,
        last_delivered_hash,
        privacy_key_sealed,
        dead_lettered_pending,
    }))
}

/// The stored `seq`s set aside since the last delivered batch (none when unreadable).
pub fn pending_seqs(stored: Option<&str>) -> Vec<i64> {
    stored
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// The next records after the stream's cursor that pass its filter, oldest first, at most
/// `limit`, and the cursor to store once they are delivered: past every record examined,
/// so filtered-out records are skipped for good.
pub async fn next_batch(
    store: &Store,
    stream: &LogStream,
    limit: u64,
) -> Result<(Vec<AuditRecord>, i64), DbErr> {
    let head = head_seq(store, stream.org_id).await?;
    if head <= stream.delivered_seq {
        return Ok((Vec::new(), stream.delivered_seq));
    }
    let scope = ReadScope {
        org_id: stream.org_id,
        project_id: stream.filter.project_id.clone(),
    };
    let mut query = filtered(&scope, &Default::default())
        .filter(audit_log::Column::Seq.gt(stream.delivered_seq))
        .filter(audit_log::Column::Seq.lte(head));
    if !stream.filter.resource_types.is_empty() {
        query = query.filter(audit_log::Column::ResourceType.is_in(stream.filter.resource_types.clone()));
    }
    if !stream.filter.actions.is_empty() {
        query = query.filter(audit_log::Column::Action.is_in(stream.filter.actions.clone()));
    }
    let rows = query
        .order_by_asc(audit_log::Column::Seq)
        .limit(limit)
        .all(store.connection())
        .await?;
    // Fewer rows than asked: every record up to the head was examined.
    let cursor = if (rows.len() as u64) < limit {
        head
    } else {
        rows.last().map_or(head, |row| row.seq)
    };
    let records = rows
        .into_iter()
        .map(|row| AuditRecord::try_from(row).map_err(|error| DbErr::Custom(error.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((records, cursor))
}

/// Moves the cursor forward after the destination acknowledged `delivered` records (the last
/// of them hashed `last_hash`, stored in the same UPDATE as the cursor), marks the stream
/// healthy and renews the lease. `false` (nothing written) when `owner` lost the lease.
pub async fn advance(
    store: &Store,
    id: Uuid,
    owner: Uuid,
    cursor: i64,
    delivered: i64,
    last_hash: Option<&str>,
    lease_until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let now = timestamp::now();
    let _writer = store.writer_guard().await;
    let mut update = log_stream::Entity::update_many()
        .col_expr(log_stream::Column::CursorSeq, Expr::value(cursor))
        .col_expr(log_stream::Column::LeaseExpiresAt, Expr::value(lease_until));
    if let Some(last_hash) = last_hash {
        update = update.col_expr(log_stream::Column::LastDeliveredHash, Expr::value(last_hash));
    }
    if delivered > 0 {
        update = update
            .col_expr(
                log_stream::Column::DeliveredTotal,
                Expr::col(log_stream::Column::DeliveredTotal).add(delivered),
            )
            // The batch named these in its envelope.
            .col_expr(
                log_stream::Column::DeadLetteredPending,
                Expr::value(Option::<String>::None),
            )
            .col_expr(log_stream::Column::Health, Expr::value("healthy"))
            .col_expr(log_stream::Column::ConsecutiveFailures, Expr::value(0))
            .col_expr(log_stream::Column::LastSuccessAt, Expr::value(now))
            .col_expr(log_stream::Column::LastAttemptAt, Expr::value(now));
    }
    let result = update
        .filter(log_stream::Column::Id.eq(id))
        .filter(log_stream::Column::LeaseOwner.eq(owner))
        .filter(log_stream::Column::CursorSeq.lte(cursor))
        .exec(store.connection())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records a failed attempt (the `failures`-th in a row); unhealthy from `unhealthy_after` on.
pub async fn record_failure(
    store: &Store,
    id: Uuid,
    owner: Uuid,
    failures: u32,
    unhealthy_after: u32,
    error: &str,
    lease_until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let error: String = error.chars().take(1024).collect();
    let mut update = log_stream::Entity::update_many()
        .col_expr(
            log_stream::Column::ConsecutiveFailures,
            Expr::value(i32::try_from(failures).unwrap_or(i32::MAX)),
        )
        .col_expr(log_stream::Column::LastError, Expr::value(error))
        .col_expr(log_stream::Column::LastAttemptAt, Expr::value(timestamp::now()))
        .col_expr(log_stream::Column::LeaseExpiresAt, Expr::value(lease_until));
    if failures >= unhealthy_after {
        update = update.col_expr(log_stream::Column::Health, Expr::value("unhealthy"));
    }
    let _writer = store.writer_guard().await;
    let result = update
        .filter(log_stream::Column::Id.eq(id))
        .filter(log_stream::Column::LeaseOwner.eq(owner))
        .exec(store.connection())
        .await?;
    Ok(result.rows_affected == 1)
}

/// What `/metrics` shows of every stream: id, organization, health, cursor and the head.
pub async fn gauges(store: &Store) -> Result<Vec<(Uuid, Uuid, bool, i64, i64)>, DbErr> {
    let rows = log_stream::Entity::find()
        .order_by_asc(log_stream::Column::Id)
        .all(store.connection())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let head = head_seq(store, row.org_id).await?;
        out.push((
            row.id,
            row.org_id,
            row.health != "unhealthy",
            row.cursor_seq,
            head,
        ));
    }
    Ok(out)
}
