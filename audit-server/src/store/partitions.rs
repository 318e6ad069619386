//! The monthly partitions of `audit_logs` on PostgreSQL (`m20261207_000002`): made ahead by the
//! server, and dropped whole when every record in them is past its organization's retention.
//! SQLite keeps one table; every function here does nothing there.
//!
//! Invariants:
//! - A partition covers one UTC month `[from, to)`; the current month and the next
//!   [`MONTHS_AHEAD`] always exist once [`ensure_ahead`] ran (at migration and hourly after).
//! - A partition is dropped only when its `to` is at or before `now` minus the retention of every
//!   organization with records in it, and only the oldest partitions are dropped (at the first
//!   one that must stay, the pass stops), so what goes is a prefix of every organization's chain:
//!   `createdAt` never runs backwards along a chain.
//! - The drop runs in one transaction that holds the chain heads of the partition's
//!   organizations, moves their anchors to the newest dropped record (the Merkle tiles stay, so
//!   proofs of the kept records are unchanged), gives the records' idempotency claims back, and
//!   appends an `auditLog` `purge` event per organization. That event lands in a later
//!   partition: `now` is past the dropped partition's end.

use audit_core::{PurgeReport, timestamp};
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::Store;
use super::entity::{audit_log, chain_head};
use super::retention::{self, Initiator};

/// Months made ahead of the current one.
pub const MONTHS_AHEAD: u32 = 2;

/// One monthly partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Its table name, `audit_logs_pYYYY_MM`.
    pub name: String,
    /// The first instant it holds.
    pub from: DateTime<Utc>,
    /// The first instant past it.
    pub to: DateTime<Utc>,
}

impl Partition {
    /// The partition named `name`, when it is one of ours.
    fn from_name(name: &str) -> Option<Self> {
        let (year, month) = name.strip_prefix("audit_logs_p")?.split_once('_')?;
        let from = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)?;
        let to = from.checked_add_months(Months::new(1))?;
        let midnight = |day: NaiveDate| -> Option<DateTime<Utc>> {
            Some(Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?))
        };
        Some(Partition {
            name: name.to_owned(),
            from: midnight(from)?,
            to: midnight(to)?,
        })
    }
}

#[derive(FromQueryResult)]
struct Name {
    name: String,
}

/// Makes the partitions of `now`'s month and the [`MONTHS_AHEAD`] after it, where missing.
pub async fn ensure_ahead(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let month = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .ok_or_else(|| DbErr::Custom(format!("no month starts at {now}")))?;
    for ahead in 0..=MONTHS_AHEAD {
        let instant = month
            .checked_add_months(Months::new(ahead))
            .ok_or_else(|| DbErr::Custom(format!("no month {ahead} after {month}")))?;
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT audit_logs_ensure_partition($1)",
            [instant.into()],
        ))
        .await?;
    }
    Ok(())
}

/// The partitions, oldest first (none on SQLite).
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Partition>, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Vec::new());
    }
    let names = Name::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'audit_logs'::regclass ORDER BY c.relname",
    ))
    .all(db)
    .await?;
    let mut partitions: Vec<Partition> = names
        .iter()
        .filter_map(|row| Partition::from_name(&row.name))
        .collect();
    partitions.sort_by_key(|partition| partition.from);
    Ok(partitions)
}

/// One dropped partition and what it did to each organization in it.
#[derive(Debug)]
pub struct DroppedPartition {
    /// The partition.
    pub partition: Partition,
    /// Per organization that had records in it.
    pub reports: Vec<PurgeReport>,
}

#[derive(FromQueryResult)]
struct OrgId {
    org_id: Uuid,
}

/// Drops the oldest partitions that lie wholly past the retention of every organization with
/// records in them (see the module invariants); answers what was dropped, oldest first.
pub async fn drop_expired(
    store: &Store,
    now: DateTime<Utc>,
    by: Initiator,
) -> Result<Vec<DroppedPartition>, DbErr> {
    let mut dropped = Vec::new();
    for partition in list(store.connection()).await? {
        if partition.to > now {
            break;
        }
        let orgs = OrgId::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT DISTINCT org_id FROM audit_logs WHERE created_at >= $1 AND created_at < $2 \
             ORDER BY org_id",
            [partition.from.into(), partition.to.into()],
        ))
        .all(store.connection())
        .await?;
        let mut expired = true;
        for org in &orgs {
            let retention = retention::policy(store, org.org_id).await?;
            expired &= retention
                .retention_seconds
                .is_some_and(|seconds| partition.to <= now - chrono::Duration::seconds(seconds));
        }
        if !expired {
            break;
        }
        let org_ids = orgs.into_iter().map(|org| org.org_id).collect();
        let reports = drop_one(store, &partition, org_ids, now, by).await?;
        dropped.push(DroppedPartition { partition, reports });
    }
    Ok(dropped)
}

async fn drop_one(
    store: &Store,
    partition: &Partition,
    org_ids: Vec<Uuid>,
    now: DateTime<Utc>,
    by: Initiator,
) -> Result<Vec<PurgeReport>, DbErr> {
    let txn = store.connection().begin().await?;
    chain_head::Entity::find()
        .filter(chain_head::Column::OrgId.is_in(org_ids.clone()))
        .order_by_asc(chain_head::Column::OrgId)
        .lock_exclusive()
        .all(&txn)
        .await?;
    let mut dropping = Vec::with_capacity(org_ids.len());
    for org_id in org_ids {
        let in_partition = audit_log::Entity::find()
            .filter(audit_log::Column::OrgId.eq(org_id))
            .filter(audit_log::Column::CreatedAt.gte(partition.from))
            .filter(audit_log::Column::CreatedAt.lt(partition.to));
        let count = in_partition.clone().count(&txn).await?;
        let newest = in_partition
            .order_by_desc(audit_log::Column::Seq)
            .one(&txn)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("records of {org_id} in {}", partition.name)))?;
        dropping.push((org_id, count, newest));
    }
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "DELETE FROM audit_log_keys k USING audit_logs a \
         WHERE a.created_at >= $1 AND a.created_at < $2 AND k.org_id = a.org_id AND k.id = a.id",
        [partition.from.into(), partition.to.into()],
    ))
    .await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT audit_logs_drop_partition($1)",
        [partition.name.clone().into()],
    ))
    .await?;

    let mut reports = Vec::with_capacity(dropping.len());
    for (org_id, purged, newest) in dropping {
        let first_seq = newest.seq + 1;
        retention::move_anchor(&txn, org_id, first_seq, &newest.hash, now).await?;
        let event_seq = retention::record_purge(
            &txn,
            org_id,
            by,
            json!({
                "actor": by.name(),
                "purged": purged,
                "firstSeq": first_seq,
                "lastPurgedSeq": newest.seq,
                "anchorPrevHash": newest.hash,
                "partition": partition.name,
                "cutoff": timestamp::format(&partition.to),
            }),
        )
        .await?;
        reports.push(PurgeReport {
            org_id,
            purged,
            first_seq,
            anchor_prev_hash: newest.hash,
            event_seq,
        });
    }
    txn.commit().await?;
    Ok(reports)
}
