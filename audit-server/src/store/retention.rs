//! Retention: each organization's policy, and the purge that removes the oldest records
//! through the one path the append-only triggers allow, keeping the chain verifiable from an
//! anchor and recording the purge itself in the trail.

use audit_core::{ActorType, AuditEvent, PurgeReport, RetentionPolicy, timestamp};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::Store;
use super::append::{AppendOutcome, NewRecord, append_in};
use super::entity::{audit_log, chain_anchor, chain_head, purge_authorization, retention_policy};

/// Who sets a policy or runs a purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    /// The server's own schedule (`AUDIT_PURGE_INTERVAL_SECS`) or `audit-server purge`.
    Schedule,
    /// The operator's admin token.
    Operator,
    /// An API key with `apiKeys:manage`.
    Key(Uuid),
}

impl Initiator {
    pub(crate) fn event(self, resource_type: &str, resource_id: Uuid, action: &str) -> AuditEvent {
        let mut event = match self {
            Initiator::Key(key_id) => {
                AuditEvent::by_api_key(key_id.to_string(), resource_type, resource_id.to_string(), action)
            }
            Initiator::Operator | Initiator::Schedule => {
                AuditEvent::new(ActorType::System, resource_type, resource_id.to_string(), action)
            }
        };
        event.ensure_id();
        event
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Initiator::Schedule => "retention schedule",
            Initiator::Operator => "operator",
            Initiator::Key(_) => "apiKey",
        }
    }

    pub(crate) fn recorded_by(self) -> Option<Uuid> {
        match self {
            Initiator::Key(key_id) => Some(key_id),
            Initiator::Operator | Initiator::Schedule => None,
        }
    }
}

/// The organization's policy (keep forever unless set).
pub async fn policy(store: &Store, org_id: Uuid) -> Result<RetentionPolicy, DbErr> {
    let row = retention_policy::Entity::find_by_id(org_id)
        .one(store.connection())
        .await?;
    Ok(RetentionPolicy {
        retention_seconds: row.and_then(|row| row.retention_seconds),
    })
}

/// Sets the organization's policy and records the change (`retentionPolicy` `update`) in the
/// same transaction.
pub async fn set_policy(
    store: &Store,
    org_id: Uuid,
    new: RetentionPolicy,
    by: Initiator,
) -> Result<RetentionPolicy, DbErr> {
    let before = policy(store, org_id).await?;
    let mut event = by.event("retentionPolicy", org_id, "update");
    event.before = serde_json::to_value(before).ok();
    event.after = serde_json::to_value(new).ok();
    event.metadata = json!({ "actor": by.name() }).as_object().cloned();

    let _writer = store.writer_guard().await;
    let txn = store.connection().begin().await?;
    retention_policy::Entity::insert(retention_policy::ActiveModel {
        org_id: Set(org_id),
        retention_seconds: Set(new.retention_seconds),
        updated_at: Set(timestamp::now()),
    })
    .on_conflict(
        OnConflict::column(retention_policy::Column::OrgId)
            .update_columns([
                retention_policy::Column::RetentionSeconds,
                retention_policy::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    append_in(
        &txn,
        org_id,
        vec![NewRecord::from_submitted(event).recorded_by(by.recorded_by())],
    )
    .await?;
    txn.commit().await?;
    Ok(new)
}

/// Where the organization's chain starts, when a purge has run.
pub async fn anchor(store: &Store, org_id: Uuid) -> Result<Option<chain_anchor::Model>, DbErr> {
    chain_anchor::Entity::find_by_id(org_id)
        .one(store.connection())
        .await
}

/// The organizations with a retention period.
pub async fn organizations_with_policy(store: &Store) -> Result<Vec<Uuid>, DbErr> {
    let rows = retention_policy::Entity::find()
        .filter(retention_policy::Column::RetentionSeconds.is_not_null())
        .all(store.connection())
        .await?;
    Ok(rows.into_iter().map(|row| row.org_id).collect())
}

/// Removes the organization's records created before `now` minus its retention period: always
/// a prefix of its `seq`, in one transaction that holds the chain head, moves the anchor, and
/// appends an `auditLog` `purge` event with the counts. Nothing happens without a policy or
/// without old records.
pub async fn purge(
    store: &Store,
    org_id: Uuid,
    now: DateTime<Utc>,
    by: Initiator,
) -> Result<PurgeReport, DbErr> {
    let retention = policy(store, org_id).await?;
    let _writer = store.writer_guard().await;
    let txn = store.connection().begin().await?;
    let head = chain_head::Entity::find_by_id(org_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("chain head of organization {org_id}")))?;
    let anchor = chain_anchor::Entity::find_by_id(org_id).one(&txn).await?;
    let (first_seq, anchor_prev_hash) = match &anchor {
        Some(anchor) => (anchor.first_seq, anchor.prev_hash.clone()),
        None => (1, audit_core::GENESIS_HASH.to_owned()),
    };
    let unchanged = PurgeReport {
        org_id,
        purged: 0,
        first_seq,
        anchor_prev_hash,
        event_seq: None,
    };
    let Some(seconds) = retention.retention_seconds else {
        return Ok(unchanged);
    };
    let cutoff = now - chrono::Duration::seconds(seconds);
    // `createdAt` never runs backwards along the chain, so every record up to the newest old
    // one is old: the purge removes a prefix.
    let newest_old = audit_log::Entity::find()
        .filter(audit_log::Column::OrgId.eq(org_id))
        .filter(audit_log::Column::CreatedAt.lt(cutoff))
        .order_by_desc(audit_log::Column::Seq)
        .one(&txn)
        .await?;
    let Some(newest_old) = newest_old.filter(|row| row.seq >= first_seq && row.seq <= head.seq) else {
        return Ok(unchanged);
    };
    let up_to_seq = newest_old.seq;

    purge_authorization::Entity::insert(purge_authorization::ActiveModel {
        org_id: Set(org_id),
        up_to_seq: Set(up_to_seq),
    })
    .exec_without_returning(&txn)
    .await?;
    let purged = audit_log::Entity::delete_many()
        .filter(audit_log::Column::OrgId.eq(org_id))
        .filter(audit_log::Column::Seq.lte(up_to_seq))
        .exec(&txn)
        .await?
        .rows_affected;
    purge_authorization::Entity::delete_by_id(org_id)
        .exec(&txn)
        .await?;

    let new_first_seq = up_to_seq + 1;
    move_anchor(&txn, org_id, new_first_seq, &newest_old.hash, now).await?;

    let event_seq = record_purge(
        &txn,
        org_id,
        by,
        json!({
            "actor": by.name(),
            "purged": purged,
            "firstSeq": new_first_seq,
            "lastPurgedSeq": up_to_seq,
            "anchorPrevHash": newest_old.hash,
            "retentionSeconds": seconds,
            "cutoff": timestamp::format(&cutoff),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(PurgeReport {
        org_id,
        purged,
        first_seq: new_first_seq,
        anchor_prev_hash: newest_old.hash,
        event_seq,
    })
}

/// Sets where the organization's chain now starts: `first_seq`, chaining to `prev_hash`.
pub(crate) async fn move_anchor(
    txn: &DatabaseTransaction,
    org_id: Uuid,
    first_seq: i64,
    prev_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    chain_anchor::Entity::insert(chain_anchor::ActiveModel {
        org_id: Set(org_id),
        first_seq: Set(first_seq),
        prev_hash: Set(prev_hash.to_owned()),
        purged_at: Set(timestamp::truncate(now)),
    })
    .on_conflict(
        OnConflict::column(chain_anchor::Column::OrgId)
            .update_columns([
                chain_anchor::Column::FirstSeq,
                chain_anchor::Column::PrevHash,
                chain_anchor::Column::PurgedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Appends the `auditLog` `purge` event with `metadata` in the purge's transaction; answers its
/// `seq`.
pub(crate) async fn record_purge(
    txn: &DatabaseTransaction,
    org_id: Uuid,
    by: Initiator,
    metadata: serde_json::Value,
) -> Result<Option<i64>, DbErr> {
    let mut event = by.event("auditLog", org_id, "purge");
    event.metadata = metadata.as_object().cloned();
    let outcomes = append_in(
        txn,
        org_id,
        vec![NewRecord::from_submitted(event).recorded_by(by.recorded_by())],
    )
    .await?;
    Ok(outcomes.into_iter().find_map(|outcome| match outcome {
        AppendOutcome::Created(record) => Some(record.seq),
        _ => None,
    }))
}
