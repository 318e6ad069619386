//! Appending to an organization's trail: idempotency, `seq` and the hash chain, in one
//! transaction that holds the organization's chain head.

use std::collections::HashMap;

use audit_core::{AuditEvent, AuditRecord, timestamp};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::Store;
use super::entity::{audit_log, chain_head};
use super::merkle;
use super::records::to_active_model;

/// An event ready to be appended: validated, its `id` set, its project filled in.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// The event.
    pub event: AuditEvent,
    /// The fingerprint of the body as submitted, which decides "same content" on a retry.
    pub fingerprint: String,
    /// The audit-service key that records it.
    pub recorded_by: Option<Uuid>,
}

impl NewRecord {
    /// Prepares `event` as submitted: fingerprints it, then gives it an id if it has none.
    pub fn from_submitted(mut event: AuditEvent) -> Self {
        let fingerprint = event.content_fingerprint();
        event.ensure_id();
        NewRecord {
            event,
            fingerprint,
            recorded_by: None,
        }
    }

    /// The same record, recorded by `key_id`.
    pub fn recorded_by(mut self, key_id: Option<Uuid>) -> Self {
        self.recorded_by = key_id;
        self
    }
}

/// What became of one appended event.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// Stored now.
    Created(AuditRecord),
    /// The same id was already stored with the same content.
    Duplicate(AuditRecord),
    /// The same id was already stored with different content.
    Conflict(Uuid),
}

/// Appends `records` (recorded by `recorded_by`) to the organization's trail and answers once
/// they are durable. Concurrent calls are grouped into shared transactions (group commit).
pub async fn append(
    store: &Store,
    org_id: Uuid,
    recorded_by: Option<Uuid>,
    records: Vec<NewRecord>,
) -> Result<Vec<AppendOutcome>, DbErr> {
    let records = records
        .into_iter()
        .map(|record| record.recorded_by(recorded_by))
        .collect();
    let outcomes = store.group_commit.append(org_id, records).await?;
    // Committed: wake this process's live tails (other processes find it by polling).
    store.commits().committed(org_id);
    Ok(outcomes)
}

/// How an append learns which events are stored already (the idempotency check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Look the events' ids up before appending.
    LookUp,
    /// Insert with `ON CONFLICT (org_id, id) DO NOTHING` and no lookup; when a row was skipped,
    /// answer `None` so that the caller rolls the transaction back and appends again with
    /// [`Idempotency::LookUp`]. Retries are rare, so the common append saves a query whose plan
    /// depends on the table's statistics (without them PostgreSQL scanned the organization's
    /// whole trail for it).
    Optimistic,
}

/// Appends inside a transaction the caller commits (so that a change and its audit event are
/// stored together). The caller must hold [`Store::writer_guard`].
pub(crate) async fn append_in(
    txn: &DatabaseTransaction,
    org_id: Uuid,
    records: Vec<NewRecord>,
) -> Result<Vec<AppendOutcome>, DbErr> {
    append_with(txn, org_id, records, Idempotency::LookUp, Vec::new())
        .await?
        .map(|appended| appended.outcomes)
        .ok_or_else(|| DbErr::Custom("an append that looked its ids up met a stored id".to_owned()))
}

/// Appends `records` inside `txn`; `None` when [`Idempotency::Optimistic`] met a stored id (the
/// transaction then holds a partial append and must be rolled back). `predictions`, when they
/// chain from the head found (see [`chains_from`]), are the records already placed.
pub(crate) async fn append_with(
    txn: &DatabaseTransaction,
    org_id: Uuid,
    records: Vec<NewRecord>,
    idempotency: Idempotency,
    predictions: Vec<Prediction>,
) -> Result<Option<Appended>, DbErr> {
    let head = chain_head::Entity::find_by_id(org_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("chain head of organization {org_id}")))?;

    // Ids stored before this append: (fingerprint, outcome index or the stored record).
    let mut stored: HashMap<Uuid, (String, Stored)> = HashMap::new();
    if idempotency == Idempotency::LookUp {
        let ids: Vec<Uuid> = records.iter().filter_map(|record| record.event.id).collect();
        for row in audit_log::Entity::find()
            .filter(audit_log::Column::OrgId.eq(org_id))
            .filter(audit_log::Column::Id.is_in(ids))
            .all(txn)
            .await?
        {
            let fingerprint = row.content_hash.clone();
            let record = AuditRecord::try_from(row).map_err(|error| DbErr::Custom(error.to_string()))?;
            stored.insert(record.id, (fingerprint, Stored::Before(Box::new(record))));
        }
    }

    let predicted =
        idempotency == Idempotency::Optimistic && chains_from(&head, predictions.iter().map(Some));
    let Placed {
        outcomes,
        fingerprints,
        head: new_head,
    } = match predicted {
        true => Placed::concat(predictions.into_iter().map(|prediction| prediction.placed)),
        false => None,
    }
    .unwrap_or_else(|| place(org_id, &head, records, stored));
    let rows: Vec<_> = created(&outcomes)
        .zip(&fingerprints)
        .map(|(record, fingerprint)| to_active_model(record, fingerprint))
        .collect();
    if rows.is_empty() {
        return Ok(Some(Appended {
            outcomes,
            head,
            predicted,
        }));
    }
    let rows_per_statement = rows_per_statement(txn.get_database_backend());
    let expected = rows.len() as u64;
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(rows_per_statement).collect();
        let insert = audit_log::Entity::insert_many(chunk);
        inserted += match idempotency {
            Idempotency::LookUp => insert.exec_without_returning(txn).await?,
            Idempotency::Optimistic => {
                insert
                    .on_conflict(
                        OnConflict::columns([audit_log::Column::OrgId, audit_log::Column::Id])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(txn)
                    .await?
            }
        };
    }
    if inserted != expected {
        return Ok(None);
    }
    if new_head.tree_size > head.tree_size {
        merkle::extend(txn, org_id, head.seq as u64, &leaves(&outcomes)?).await?;
    }
    chain_head::ActiveModel {
        org_id: Set(org_id),
        seq: Set(new_head.seq),
        hash: Set(new_head.hash.clone()),
        created_at: Set(new_head.created_at),
        tree_size: Set(new_head.tree_size),
    }
    .update(txn)
    .await?;
    Ok(Some(Appended {
        outcomes,
        head: new_head,
        predicted,
    }))
}

/// What an append inside a transaction did.
pub(crate) struct Appended {
    /// What became of each event.
    pub outcomes: Vec<AppendOutcome>,
    /// The organization's head after it.
    pub head: chain_head::Model,
    /// Whether the predictions it was given held.
    pub predicted: bool,
}

/// Records placed ahead of their transaction, on the head they expect to find.
pub(crate) struct Prediction {
    /// The head they were placed after.
    pub from: chain_head::Model,
    /// The records on the chain.
    pub placed: Placed,
}

/// Whether `predictions` (one per job, in order) are placed one after the other starting at
/// `head`: then they are what an append on `head` would store. No prediction holds for none.
pub(crate) fn chains_from<'a>(
    head: &chain_head::Model,
    predictions: impl IntoIterator<Item = Option<&'a Prediction>>,
) -> bool {
    let mut at = head;
    let mut any = false;
    for prediction in predictions {
        match prediction {
            Some(prediction) if prediction.from == *at => at = &prediction.placed.head,
            _ => return false,
        }
        any = true;
    }
    any
}

/// An organization's records placed on its chain in memory, before any is stored.
pub(crate) struct Placed {
    /// What becomes of each event, in order.
    pub outcomes: Vec<AppendOutcome>,
    /// The fingerprint of each created record, in the order of [`created`].
    pub fingerprints: Vec<String>,
    /// The chain head once the created records are stored (the tree's size moves with the chain
    /// when the tree is kept).
    pub head: chain_head::Model,
}

impl Placed {
    /// Placements that follow one another, as one (`None` for none).
    pub(crate) fn concat(parts: impl IntoIterator<Item = Placed>) -> Option<Placed> {
        let mut parts = parts.into_iter();
        let mut whole = parts.next()?;
        for part in parts {
            whole.outcomes.extend(part.outcomes);
            whole.fingerprints.extend(part.fingerprints);
            whole.head = part.head;
        }
        Some(whole)
    }
}

/// Gives each event that is not `stored` yet its `seq`, time and hash after `head`; `stored`
/// holds the ids stored before (with their fingerprints), and a repeated id within `records`
/// is answered like a retry.
pub(crate) fn place(
    org_id: Uuid,
    head: &chain_head::Model,
    records: Vec<NewRecord>,
    mut stored: HashMap<Uuid, (String, Stored)>,
) -> Placed {
    let created_at = timestamp::now().max(head.created_at);
    let mut seq = head.seq;
    let mut prev_hash = head.hash.clone();
    let mut outcomes = Vec::with_capacity(records.len());
    let mut fingerprints = Vec::with_capacity(records.len());
    for NewRecord {
        mut event,
        fingerprint,
        recorded_by,
    } in records
    {
        let id = event.ensure_id();
        if let Some((stored_fingerprint, earlier)) = stored.get(&id) {
            let same = *stored_fingerprint == fingerprint;
            outcomes.push(match (same, earlier) {
                (false, _) => AppendOutcome::Conflict(id),
                (true, Stored::Before(record)) => AppendOutcome::Duplicate((**record).clone()),
                (true, Stored::Here(index)) => match &outcomes[*index] {
                    AppendOutcome::Created(record) => AppendOutcome::Duplicate(record.clone()),
                    other => other.clone(),
                },
            });
            continue;
        }
        seq += 1;
        let mut record = AuditRecord::from_event(event, org_id, seq, created_at, recorded_by);
        record.seal(&prev_hash);
        prev_hash.clone_from(&record.hash);
        stored.insert(id, (fingerprint.clone(), Stored::Here(outcomes.len())));
        fingerprints.push(fingerprint);
        outcomes.push(AppendOutcome::Created(record));
    }
    // The tree grows with the chain, in the same transaction; a trail whose first records were
    // purged before the tree existed has none (its tree size stays behind its seq).
    let tree_size = if head.tree_size == head.seq && maintains_tree() && seq > head.seq {
        seq
    } else {
        head.tree_size
    };
    Placed {
        outcomes,
        fingerprints,
        head: chain_head::Model {
            org_id,
            seq,
            hash: prev_hash,
            created_at,
            tree_size,
        },
    }
}

/// The records `outcomes` created, in order.
pub(crate) fn created(outcomes: &[AppendOutcome]) -> impl Iterator<Item = &AuditRecord> {
    outcomes.iter().filter_map(|outcome| match outcome {
        AppendOutcome::Created(record) => Some(record),
        _ => None,
    })
}

/// The Merkle leaves of the records `outcomes` created.
pub(crate) fn leaves(outcomes: &[AppendOutcome]) -> Result<Vec<audit_core::merkle::Hash>, DbErr> {
    created(outcomes)
        .map(|record| merkle::record_leaf(&record.hash))
        .collect()
}

/// Whether appends extend the tree: always, except in `audit-bench`'s server measuring the
/// ingest without it ([`super::bench_no_tree`]).
fn maintains_tree() -> bool {
    #[cfg(feature = "bench")]
    {
        !super::bench_no_tree::tree_is_off()
    }
    #[cfg(not(feature = "bench"))]
    {
        true
    }
}

/// How many rows one `INSERT` carries: as many as the backend's bind-parameter limit allows
/// with room to spare (25 columns: SQLite's 32,766 parameters, PostgreSQL's 65,535), since on
/// PostgreSQL every statement is a round trip that measured far costlier than its rows
/// (32-row statements cut batch ingest from 4,250 to 645 events/s).
fn rows_per_statement(backend: DatabaseBackend) -> usize {
    match backend {
        DatabaseBackend::Postgres => 2_000,
        _ => 500,
    }
}

/// Where an id met again in an append was stored.
pub(crate) enum Stored {
    /// Before this append.
    Before(Box<AuditRecord>),
    /// Earlier in this append, at this index of the outcomes.
    Here(usize),
}
