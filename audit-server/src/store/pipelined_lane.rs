//! A lane in two stages, so that the server's work on the next group (chaining and
//! hashing its records) overlaps the database's work on the current one, instead of the two
//! taking turns: a placer collects jobs and places each on the head its organization will have
//! once the groups before it commit (its prediction), and a committer runs the transactions one
//! at a time, in order.
//!
//! Invariants: a prediction is only a head to check. The committer locks the real heads and
//! uses a job's placement only when its organization's jobs chain from the head it found; else
//! it places them again there (a group before failed, or another process wrote the
//! organization), so what is stored never depends on a prediction being right. The placer
//! predicts only for organizations whose head the committer has published, and a failed group
//! withdraws its organizations' predictions.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::{Mutex, mpsc};
use uuid::Uuid;

use super::append::{NewRecord, Prediction, place};
use super::entity::chain_head;
use super::group_commit::{Job, MAX_GROUP_EVENTS, answer, commit_looking_up, commit_predicted};

/// Each organization's head as it will be once the groups handed to the committer commit.
type Predicted = Arc<std::sync::Mutex<HashMap<Uuid, chain_head::Model>>>;

/// A group handed from the placer to the committer.
type Group = Vec<(Job, Option<Prediction>)>;

/// Runs the lane until its job channel closes. On SQLite the committer holds `sqlite_writer`
/// while it writes.
pub(crate) async fn run(
    db: DatabaseConnection,
    sqlite_writer: Arc<Mutex<()>>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    let predicted = Predicted::default();
    // One group waits while one commits: the placer keeps adding to the waiting one.
    let (to_committer, groups) = mpsc::channel::<Group>(1);
    let committer = tokio::spawn(run_committer(db, sqlite_writer, groups, predicted.clone()));
    let mut open = true;
    while open && let Some(first) = jobs.recv().await {
        let mut events = first.records.len();
        let mut group = vec![predict(&predicted, first)];
        loop {
            if events >= MAX_GROUP_EVENTS {
                if to_committer.send(group).await.is_err() {
                    return;
                }
                break;
            }
            tokio::select! {
                biased;
                permit = to_committer.reserve() => {
                    match permit {
                        Ok(permit) => permit.send(group),
                        Err(_) => return,
                    }
                    break;
                }
                job = jobs.recv() => match job {
                    Some(job) => {
                        events += job.records.len();
                        group.push(predict(&predicted, job));
                    }
                    None => {
                        open = false;
                        let _ = to_committer.send(group).await;
                        break;
                    }
                },
            }
        }
    }
    drop(to_committer);
    let _ = committer.await;
}

/// Places `job` on its organization's predicted head, when there is one, and moves it on.
/// The lock is not held while placing (hashing a batch takes milliseconds, and the committer
/// publishes through it): a head the committer publishes meanwhile is overwritten, which only
/// makes the next predictions wrong until it publishes again.
fn predict(predicted: &Predicted, job: Job) -> (Job, Option<Prediction>) {
    let heads = || predicted.lock().unwrap_or_else(PoisonError::into_inner);
    let from = heads().get(&job.org_id).cloned();
    let prediction = from.map(|from| {
        let placed = place(job.org_id, &from, job.records.clone(), HashMap::new());
        heads().insert(job.org_id, placed.head.clone());
        Prediction { from, placed }
    });
    (job, prediction)
}

async fn run_committer(
    db: DatabaseConnection,
    sqlite_writer: Arc<Mutex<()>>,
    mut groups: mpsc::Receiver<Group>,
    predicted: Predicted,
) {
    while let Some(group) = groups.recv().await {
        let (group, predictions): (Vec<Job>, Vec<Option<Prediction>>) = group.into_iter().unzip();
        let _writer = match db.get_database_backend() {
            DbBackend::Sqlite => Some(sqlite_writer.lock().await),
            _ => None,
        };
        let work: Vec<(Uuid, &[NewRecord])> = group
            .iter()
            .map(|job| (job.org_id, job.records.as_slice()))
            .collect();
        let outcomes = match commit_predicted(&db, &work, predictions).await {
            Ok(Some(committed)) => {
                publish(&predicted, committed.heads);
                Ok(committed.outcomes)
            }
            // A stored id (a retry): the whole group again, with the idempotency lookup.
            Ok(None) => {
                withdraw(&predicted, &group);
                commit_looking_up(&db, &work).await
            }
            Err(error) => {
                withdraw(&predicted, &group);
                Err(error)
            }
        };
        drop(work);
        answer(&db, group, outcomes).await;
    }
}

/// Publishes the committed heads: an organization's head is set when none was predicted, or
/// when its predictions did not hold (the placer's later ones will then be placed again).
fn publish(predicted: &Predicted, heads: Vec<(chain_head::Model, bool)>) {
    let mut predicted = predicted.lock().unwrap_or_else(PoisonError::into_inner);
    for (head, held) in heads {
        if !held || !predicted.contains_key(&head.org_id) {
            predicted.insert(head.org_id, head);
        }
    }
}

/// Withdraws the predictions of a group that did not commit as placed.
fn withdraw(predicted: &Predicted, group: &[Job]) {
    let mut predicted = predicted.lock().unwrap_or_else(PoisonError::into_inner);
    for job in group {
        predicted.remove(&job.org_id);
    }
}
