//! Group commit: concurrent appends share one transaction, so one disk flush serves many
//! callers, and each caller is answered only after the transaction holding its records commits.
//!
//! Appends go to a few lanes (one on SQLite, which has a single writer anyway); a lane takes
//! every job already waiting, up to a bound, and commits them together, placing the next group
//! while the current one commits ([`pipelined_lane`]). Organizations in a
//! group are appended in a fixed order (by id) so that lanes, and server processes sharing a
//! PostgreSQL database, always take chain-head locks in the same order and never deadlock.
//! When a group fails, its jobs are retried one by one, so one bad job cannot fail the others.
//! A group is first appended without looking its ids up (`INSERT ... ON CONFLICT DO NOTHING`);
//! only when a row was skipped (a retried event) is it rolled back and appended with the lookup.
//! On PostgreSQL that first attempt takes a fixed number of statements whatever the group holds
//! ([`postgres_group`]): with many organizations per group, statements per organization were
//! the cost.

use std::collections::BTreeMap;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbBackend, DbErr, TransactionTrait};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use super::append::{AppendOutcome, Idempotency, NewRecord, OrgWork, Prediction, append_group};
use super::entity::chain_head;
use super::wal_checkpointer::WalCheckpointer;
use super::{pipelined_lane, postgres_group};

/// The most events one group commits.
pub(crate) const MAX_GROUP_EVENTS: usize = 2000;
/// Lanes on PostgreSQL, where organizations can be written in parallel.
const POSTGRES_LANES: usize = 4;

type Reply = oneshot::Sender<Result<Vec<AppendOutcome>, DbErr>>;

/// One caller's append, waiting for its group.
pub(crate) struct Job {
    /// The organization.
    pub org_id: Uuid,
    /// The records.
    pub records: Vec<NewRecord>,
    /// Where the outcome goes.
    pub reply: Reply,
}

/// The handle the store appends through.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    lanes: Vec<mpsc::UnboundedSender<Job>>,
    /// SQLite's log checkpoints, run beside the lane instead of inside its commits.
    _wal_checkpointer: Option<WalCheckpointer>,
}

impl GroupCommit {
    /// Starts the lanes on the current runtime; they stop when the handle is dropped.
    pub(crate) fn start(db: DatabaseConnection, sqlite_writer: Arc<Mutex<()>>) -> Self {
        let count = match db.get_database_backend() {
            DbBackend::Sqlite => 1,
            _ => POSTGRES_LANES,
        };
        let lanes = (0..count)
            .map(|_| {
                let (sender, receiver) = mpsc::unbounded_channel();
                tokio::spawn(pipelined_lane::run(db.clone(), sqlite_writer.clone(), receiver));
                sender
            })
            .collect();
        let _wal_checkpointer = match db.get_database_backend() {
            DbBackend::Sqlite => Some(WalCheckpointer::start(db)),
            _ => None,
        };
        GroupCommit {
            lanes,
            _wal_checkpointer,
        }
    }

    /// Appends and waits until the records are durable.
    pub(crate) async fn append(
        &self,
        org_id: Uuid,
        records: Vec<NewRecord>,
    ) -> Result<Vec<AppendOutcome>, DbErr> {
        let lane = &self.lanes[org_id.as_u128() as usize % self.lanes.len()];
        let (reply, answer) = oneshot::channel();
        lane.send(Job {
            org_id,
            records,
            reply,
        })
        .map_err(|_| DbErr::Custom("the writer has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| DbErr::Custom("the writer stopped before answering".to_owned()))?
    }
}

/// Answers the jobs of `group` with `result`, the attempt to commit them together; when that
/// failed, each job is committed on its own, so that one bad job cannot fail the others.
pub(crate) async fn answer(
    db: &DatabaseConnection,
    mut group: Vec<Job>,
    result: Result<Vec<Vec<AppendOutcome>>, DbErr>,
) {
    match result {
        Ok(outcomes) => {
            for (job, outcome) in group.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(error) if group.len() == 1 => {
            let _ = group.remove(0).reply.send(Err(error));
        }
        Err(_) => {
            for job in group {
                let result = commit(db, &[(job.org_id, job.records.as_slice())])
                    .await
                    .map(|mut all| all.remove(0));
                let _ = job.reply.send(result);
            }
        }
    }
}

/// Appends every job's records in one transaction without looking their ids up first; if one
/// was stored already, rolls back and appends again with the lookup.
pub(crate) async fn commit(
    db: &DatabaseConnection,
    jobs: &[(Uuid, &[NewRecord])],
) -> Result<Vec<Vec<AppendOutcome>>, DbErr> {
    let predictions = jobs.iter().map(|_| None).collect();
    match commit_predicted(db, jobs, predictions).await? {
        Some(committed) => Ok(committed.outcomes),
        None => commit_looking_up(db, jobs).await,
    }
}

/// What a committed group leaves.
pub(crate) struct Committed {
    /// Each job's outcomes, in the order of the jobs.
    pub outcomes: Vec<Vec<AppendOutcome>>,
    /// Each organization's head after the commit, and whether the predictions of its jobs held
    /// (`false`: they were placed again on the head found).
    pub heads: Vec<(chain_head::Model, bool)>,
}

/// Appends every job's records in one transaction without looking their ids up, using the
/// jobs' predictions where they hold; `None` (after rolling back) when an id was stored already.
pub(crate) async fn commit_predicted(
    db: &DatabaseConnection,
    jobs: &[(Uuid, &[NewRecord])],
    predictions: Vec<Option<Prediction>>,
) -> Result<Option<Committed>, DbErr> {
    commit_with(db, jobs, Idempotency::Optimistic, predictions).await
}

/// Appends every job's records in one transaction, looking their ids up first.
pub(crate) async fn commit_looking_up(
    db: &DatabaseConnection,
    jobs: &[(Uuid, &[NewRecord])],
) -> Result<Vec<Vec<AppendOutcome>>, DbErr> {
    let predictions = jobs.iter().map(|_| None).collect();
    commit_with(db, jobs, Idempotency::LookUp, predictions)
        .await?
        .map(|committed| committed.outcomes)
        .ok_or_else(|| DbErr::Custom("an append that looked its ids up met a stored id".to_owned()))
}

/// Appends every job's records in one transaction; answers the outcomes job by job, or `None`
/// (after rolling back) when an optimistic append met a stored id. An optimistic group on
/// PostgreSQL takes [`postgres_group`]'s fixed six statements.
async fn commit_with(
    db: &DatabaseConnection,
    jobs: &[(Uuid, &[NewRecord])],
    idempotency: Idempotency,
    mut predictions: Vec<Option<Prediction>>,
) -> Result<Option<Committed>, DbErr> {
    let mut by_org: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
    for (index, (org_id, _)) in jobs.iter().enumerate() {
        by_org.entry(*org_id).or_default().push(index);
    }
    let work: Vec<OrgWork<'_>> = by_org
        .iter()
        .map(|(org_id, indexes)| {
            let predictions: Option<Vec<Prediction>> =
                indexes.iter().map(|index| predictions[*index].take()).collect();
            OrgWork {
                org_id: *org_id,
                jobs: indexes.iter().map(|index| jobs[*index].1).collect(),
                predictions: predictions.unwrap_or_default(),
            }
        })
        .collect();
    let appended = match (db.get_database_backend(), idempotency) {
        (DbBackend::Postgres, Idempotency::Optimistic) => {
            postgres_group::append_group(db.get_postgres_connection_pool(), work).await?
        }
        _ => {
            let txn = db.begin().await?;
            let appended = append_group(&txn, work, idempotency).await?;
            match appended {
                Some(_) => txn.commit().await?,
                None => txn.rollback().await?,
            }
            appended
        }
    };
    let Some(appended) = appended else {
        return Ok(None);
    };
    let mut committed = Committed {
        outcomes: vec![Vec::new(); jobs.len()],
        heads: Vec::with_capacity(by_org.len()),
    };
    for (appended, indexes) in appended.into_iter().zip(by_org.into_values()) {
        let mut outcomes = appended.outcomes.into_iter();
        for index in indexes {
            committed.outcomes[index] = outcomes.by_ref().take(jobs[index].1.len()).collect();
        }
        committed.heads.push((appended.head, appended.predicted));
    }
    Ok(Some(committed))
}
