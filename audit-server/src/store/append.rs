//! Appending to an organization's trail: idempotency, `seq` and the hash chain, in one
//! transaction that holds the organization's chain head.

use std::collections::HashMap;

use audit_core::{AuditEvent, AuditRecord, timestamp};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Condition;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
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
    /// Insert skipping stored ids (`ON CONFLICT (org_id, id) DO NOTHING` on SQLite, the
    /// `audit_logs_claim_key` trigger on PostgreSQL) and no lookup; when a row was skipped,
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
    let work = OrgWork {
        org_id,
        jobs: vec![records.as_slice()],
        predictions: Vec::new(),
    };
    append_group(txn, vec![work], Idempotency::LookUp)
        .await?
        .map(|mut all| all.remove(0).outcomes)
        .ok_or_else(|| DbErr::Custom("an append that looked its ids up met a stored id".to_owned()))
}

/// One organization's part of a group append.
pub(crate) struct OrgWork<'a> {
    /// The organization.
    pub org_id: Uuid,
    /// Its jobs' records, in order (copied only when they have to be placed here).
    pub jobs: Vec<&'a [NewRecord]>,
    /// The jobs already placed, one per job, used when they chain from the head found.
    pub predictions: Vec<Prediction>,
}

impl OrgWork<'_> {
    fn records(&self) -> impl Iterator<Item = &NewRecord> {
        self.jobs.iter().flat_map(|records| records.iter())
    }
}

/// An organization's records placed on the head locked for it.
pub(crate) struct OrgPlacement {
    /// Its head before the append.
    pub old: chain_head::Model,
    /// The records on the chain after `old`.
    pub placed: Placed,
    /// Whether the predictions were used.
    pub predicted: bool,
}

impl OrgPlacement {
    /// Places `work` after `old`, its locked head: its predictions when `optimistic` and they
    /// chain from `old`, else its records afresh (with `stored`, the ids stored before).
    pub(crate) fn new(
        work: OrgWork<'_>,
        old: chain_head::Model,
        stored: HashMap<Uuid, (String, Stored)>,
        optimistic: bool,
    ) -> Self {
        let predicted = optimistic && chains_from(&old, work.predictions.iter().map(Some));
        let OrgWork {
            org_id,
            jobs,
            predictions,
        } = work;
        let placed = match predicted {
            true => Placed::concat(predictions.into_iter().map(|prediction| prediction.placed)),
            false => None,
        }
        .unwrap_or_else(|| {
            let records = jobs.iter().flat_map(|records| records.iter().cloned()).collect();
            place(org_id, &old, records, stored)
        });
        OrgPlacement {
            old,
            placed,
            predicted,
        }
    }

    /// What the append did.
    pub(crate) fn appended(self) -> Appended {
        Appended {
            outcomes: self.placed.outcomes,
            head: self.placed.head,
            predicted: self.predicted,
        }
    }

    /// Whether the organization's tree grows.
    pub(crate) fn tree_grows(&self) -> bool {
        self.placed.head.tree_size > self.old.tree_size
    }

    /// Whether the organization's head moves.
    pub(crate) fn head_moves(&self) -> bool {
        self.placed.head.seq > self.old.seq
    }
}

/// Appends several organizations' records inside `txn` in a fixed number of statements (the
/// heads, the id look-up when asked, the rows in 500- or 2,000-row inserts, the tree's tiles
/// read and written, the heads moved), answering each organization's [`Appended`] in the order
/// given; `None` when [`Idempotency::Optimistic`] met a stored id (the transaction must then be
/// rolled back). Organizations must be given in `org_id` order, which is the order the heads are
/// locked in.
pub(crate) async fn append_group(
    txn: &DatabaseTransaction,
    orgs: Vec<OrgWork<'_>>,
    idempotency: Idempotency,
) -> Result<Option<Vec<Appended>>, DbErr> {
    let org_ids: Vec<Uuid> = orgs.iter().map(|work| work.org_id).collect();
    let mut heads: HashMap<Uuid, chain_head::Model> = chain_head::Entity::find()
        .filter(chain_head::Column::OrgId.is_in(org_ids.clone()))
        .order_by_asc(chain_head::Column::OrgId)
        .lock_exclusive()
        .all(txn)
        .await?
        .into_iter()
        .map(|head| (head.org_id, head))
        .collect();

    // Ids stored before this append, by organization: (fingerprint, the stored record).
    let mut stored: HashMap<Uuid, HashMap<Uuid, (String, Stored)>> = HashMap::new();
    if idempotency == Idempotency::LookUp {
        let mut wanted = Condition::any();
        for work in &orgs {
            let ids: Vec<Uuid> = work.records().filter_map(|record| record.event.id).collect();
            wanted = wanted.add(
                Condition::all()
                    .add(audit_log::Column::OrgId.eq(work.org_id))
                    .add(audit_log::Column::Id.is_in(ids)),
            );
        }
        for row in audit_log::Entity::find().filter(wanted).all(txn).await? {
            let (org_id, fingerprint) = (row.org_id, row.content_hash.clone());
            let record = AuditRecord::try_from(row).map_err(|error| DbErr::Custom(error.to_string()))?;
            stored
                .entry(org_id)
                .or_default()
                .insert(record.id, (fingerprint, Stored::Before(Box::new(record))));
        }
    }

    let mut placed = Vec::with_capacity(orgs.len());
    for work in orgs {
        let old = heads
            .remove(&work.org_id)
            .ok_or_else(|| DbErr::RecordNotFound(format!("chain head of organization {}", work.org_id)))?;
        let stored = stored.remove(&work.org_id).unwrap_or_default();
        placed.push(OrgPlacement::new(
            work,
            old,
            stored,
            idempotency == Idempotency::Optimistic,
        ));
    }

    let rows: Vec<_> = placed
        .iter()
        .flat_map(|org| {
            created(&org.placed.outcomes)
                .zip(&org.placed.fingerprints)
                .map(|(record, fingerprint)| to_active_model(record, fingerprint))
        })
        .collect();
    if !rows.is_empty() {
        if insert_rows(txn, rows, idempotency).await? == Inserted::Skipped {
            return Ok(None);
        }
        let growths = placed
            .iter()
            .filter(|org| org.tree_grows())
            .map(|org| Ok((org.old.org_id, org.old.seq as u64, leaves(&org.placed.outcomes)?)))
            .collect::<Result<Vec<_>, DbErr>>()?;
        merkle::extend_many(txn, &growths).await?;
        let moved: Vec<chain_head::ActiveModel> = placed
            .iter()
            .filter(|org| org.head_moves())
            .map(|org| chain_head::ActiveModel {
                org_id: Set(org.placed.head.org_id),
                seq: Set(org.placed.head.seq),
                hash: Set(org.placed.head.hash.clone()),
                created_at: Set(org.placed.head.created_at),
                tree_size: Set(org.placed.head.tree_size),
            })
            .collect();
        if !moved.is_empty() {
            chain_head::Entity::insert_many(moved)
                .on_conflict(
                    OnConflict::column(chain_head::Column::OrgId)
                        .update_columns([
                            chain_head::Column::Seq,
                            chain_head::Column::Hash,
                            chain_head::Column::CreatedAt,
                            chain_head::Column::TreeSize,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
        }
    }
    Ok(Some(placed.into_iter().map(OrgPlacement::appended).collect()))
}

/// Whether every row of an insert was stored.
#[derive(Debug, PartialEq, Eq)]
enum Inserted {
    All,
    /// An optimistic insert skipped a row whose id was stored already.
    Skipped,
}

/// Inserts `rows` in statements as large as the backend allows.
async fn insert_rows(
    txn: &DatabaseTransaction,
    rows: Vec<audit_log::ActiveModel>,
    idempotency: Idempotency,
) -> Result<Inserted, DbErr> {
    let rows_per_statement = rows_per_statement(txn.get_database_backend());
    let expected = rows.len() as u64;
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(rows_per_statement).collect();
        let insert = audit_log::Entity::insert_many(chunk);
        // On PostgreSQL the partitioned table has no unique index on `(org_id, id)`: its
        // `audit_logs_claim_key` trigger skips a row whose id is claimed already.
        inserted += match idempotency {
            Idempotency::Optimistic if txn.get_database_backend() == DatabaseBackend::Sqlite => {
                insert
                    .on_conflict(
                        OnConflict::columns([audit_log::Column::OrgId, audit_log::Column::Id])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(txn)
                    .await?
            }
            _ => insert.exec_without_returning(txn).await?,
        };
    }
    Ok(if inserted == expected {
        Inserted::All
    } else {
        Inserted::Skipped
    })
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
