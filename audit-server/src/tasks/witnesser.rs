//! The background task that has checkpoints cosigned: every organization's newest checkpoint
//! goes to every configured witness with the C2SP tlog-witness protocol, with the old size the
//! witness last cosigned and a consistency proof from it, and the cosignature lines that come
//! back are kept beside the checkpoint.
//!
//! Invariants:
//! - Ingest never waits for a witness: this task only reads checkpoints already stored.
//! - A witness that does not answer is retried with backoff (1 s doubling to 30 s), so a
//!   checkpoint is cosigned within about half a minute of its witness coming back.
//! - A 409 that names a size no larger than the checkpoint's is a witness that cosigned a
//!   checkpoint whose cosignature this server did not keep (another process, a lost answer):
//!   the submission is repeated once from that size, and the witness then cosigns or names
//!   the rewrite (422). A 409 naming a larger size is a log that lost records (truncated, or
//!   restored from an older backup). Any refusal is counted, logged with what it means, and
//!   not repeated for the same checkpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use audit_core::note::Note;
use audit_core::witness_protocol::AddCheckpoint;
use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use crate::config::WitnessEndpoint;
use crate::store::cosignatures::{self, NewCosignature};
use crate::store::{Store, checkpoints, merkle};
use crate::tasks::witness_board::{Tally, WitnessBoard};
use crate::tasks::witness_client::{self, Answer};

/// How often new checkpoints are looked for.
const POLL: Duration = Duration::from_secs(1);

/// The longest wait before a witness that did not answer is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Has checkpoints cosigned by `witness` until `stop` turns true.
pub async fn run(
    store: Store,
    witness: WitnessEndpoint,
    board: Arc<WitnessBoard>,
    mut stop: watch::Receiver<bool>,
) {
    let mut client = Client::new(store, witness, board);
    let mut backoff = Duration::ZERO;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(POLL.max(backoff)) => {}
        }
        if *stop.borrow() {
            return;
        }
        backoff = match client.round().await {
            Ok(Round::Done) => Duration::ZERO,
            Ok(Round::Unreachable) => (backoff * 2).clamp(POLL, MAX_BACKOFF),
            Err(error) => {
                tracing::warn!(%error, witness = client.name(), "reading checkpoints to witness failed; will retry");
                POLL
            }
        };
    }
}

/// How a round ended.
enum Round {
    /// Every organization was tried.
    Done,
    /// The witness did not answer; the round stopped there.
    Unreachable,
}

/// One witness's client and what it knows of the witness.
struct Client {
    store: Store,
    witness: WitnessEndpoint,
    board: Arc<WitnessBoard>,
    http: reqwest::Client,
    /// The newest `seq` the witness cosigned, per organization (loaded from the database on
    /// first sight).
    cosigned: HashMap<Uuid, i64>,
    /// The checkpoint the witness last refused, per organization: not sent again.
    refused: HashMap<Uuid, i64>,
    /// When a refusal was last logged, to keep the log readable.
    last_warning: Option<Instant>,
}

impl Client {
    fn new(store: Store, witness: WitnessEndpoint, board: Arc<WitnessBoard>) -> Self {
        Client {
            store,
            witness,
            board,
            http: reqwest::Client::new(),
            cosigned: HashMap::new(),
            refused: HashMap::new(),
            last_warning: None,
        }
    }

    fn name(&self) -> &str {
        self.witness.verifier.name()
    }

    /// Submits every organization's newest checkpoint the witness has not cosigned.
    async fn round(&mut self) -> Result<Round, DbErr> {
        let newest = checkpoints::newest_per_org(&self.store).await?;
        // Learn what the witness cosigned for organizations first seen, so that the count of
        // unwitnessed ones is right even when the witness does not answer this round.
        for &(org_id, _) in &newest {
            if !self.cosigned.contains_key(&org_id) {
                let known = cosignatures::newest_cosigned(&self.store, self.name(), org_id)
                    .await?
                    .unwrap_or(0);
                self.cosigned.insert(org_id, known);
            }
        }
        let mut outcome = Round::Done;
        for &(org_id, seq) in &newest {
            if matches!(outcome, Round::Unreachable) {
                break;
            }
            let cosigned = self.cosigned.get(&org_id).copied().unwrap_or(0);
            if cosigned == seq || self.refused.get(&org_id) == Some(&seq) {
                continue;
            }
            outcome = self.witness_one(org_id, seq, cosigned.min(seq)).await?;
        }
        let unwitnessed = newest
            .iter()
            .filter(|(org_id, seq)| self.cosigned.get(org_id) != Some(seq))
            .count();
        self.board.set_unwitnessed(self.name(), unwitnessed as u64);
        Ok(outcome)
    }

    /// Has `org_id`'s checkpoint at `seq` cosigned, starting from the witness's `old` size.
    async fn witness_one(&mut self, org_id: Uuid, seq: i64, mut old: i64) -> Result<Round, DbErr> {
        let Some(checkpoint) = checkpoints::latest(&self.store, org_id, Some(seq)).await? else {
            return Ok(Round::Done);
        };
        for first_try in [true, false] {
            let request = match self.request(org_id, old, seq, &checkpoint.note).await? {
                Ok(request) => request,
                Err(reason) => {
                    self.refuse(org_id, seq, reason);
                    return Ok(Round::Done);
                }
            };
            match witness_client::submit(&self.http, &self.witness.url, &request).await {
                Answer::Cosigned(lines) => {
                    self.keep(org_id, seq, &checkpoint.note, &lines).await?;
                    return Ok(Round::Done);
                }
                Answer::Conflict(size) if first_try && size <= seq as u64 && size != old as u64 => {
                    old = size as i64;
                }
                Answer::Conflict(size) => {
                    let reason = conflict_reason(size, seq);
                    self.refuse(org_id, seq, reason);
                    return Ok(Round::Done);
                }
                Answer::Refused(status, message) => {
                    self.refuse(org_id, seq, format!("refused with {status}: {message}"));
                    return Ok(Round::Done);
                }
                Answer::Unreachable(reason) => {
                    self.board.count(self.name(), Tally::Unreachable(reason));
                    return Ok(Round::Unreachable);
                }
            }
        }
        Ok(Round::Done)
    }

    /// The submission of `note` (tree size `seq`) to a witness that cosigned size `old`, or
    /// why there can be none.
    async fn request(
        &self,
        org_id: Uuid,
        old: i64,
        seq: i64,
        note: &str,
    ) -> Result<Result<AddCheckpoint, String>, DbErr> {
        let proof = if old == 0 {
            Vec::new()
        } else {
            let tree_size = merkle::size(self.store.connection(), org_id).await?.unwrap_or(0);
            match merkle::consistency_proof(
                self.store.connection(),
                org_id,
                tree_size,
                old as u64,
                seq as u64,
            )
            .await
            {
                Ok(consistency) => consistency.proof,
                Err(error) => {
                    return Ok(Err(format!(
                        "no consistency proof from size {old} to {seq}: {error}"
                    )));
                }
            }
        };
        Ok(Ok(AddCheckpoint {
            old_size: old as u64,
            proof,
            checkpoint: note.to_owned(),
        }))
    }

    /// Checks the witness's cosignature lines over `note` and keeps the valid one.
    async fn keep(&mut self, org_id: Uuid, seq: i64, note: &str, lines: &[String]) -> Result<(), DbErr> {
        let body = Note::parse(note).map(|note| note.body).unwrap_or_default();
        let verified = lines.iter().find_map(|line| {
            let time = self.witness.verifier.verify_line(&body, line).ok().flatten()?;
            Some((line, time))
        });
        let Some((line, time)) = verified else {
            self.refuse(
                org_id,
                seq,
                "answered 200 without a cosignature that verifies under its configured key".to_owned(),
            );
            return Ok(());
        };
        cosignatures::record(
            &self.store,
            NewCosignature {
                org_id,
                seq,
                witness: self.name().to_owned(),
                key_id: self.witness.verifier.key_id(),
                cosigned_at: DateTime::<Utc>::from_timestamp(time as i64, 0).unwrap_or_else(Utc::now),
                line: line.clone(),
            },
        )
        .await?;
        self.cosigned.insert(org_id, seq);
        self.refused.remove(&org_id);
        self.board.count(self.name(), Tally::Cosigned);
        Ok(())
    }

    /// Counts and logs a refusal of `org_id`'s checkpoint at `seq`.
    fn refuse(&mut self, org_id: Uuid, seq: i64, reason: String) {
        let reason = format!("checkpoint {seq} of organization {org_id}: {reason}");
        let quiet = self
            .last_warning
            .is_some_and(|at| at.elapsed() < Duration::from_secs(10));
        if !quiet {
            tracing::warn!(witness = self.name(), %reason, "a witness refused a checkpoint");
            self.last_warning = Some(Instant::now());
        }
        self.refused.insert(org_id, seq);
        self.board.count(self.name(), Tally::Refused(reason));
    }
}

/// What a 409 that cannot be resolved means.
fn conflict_reason(witness_size: u64, seq: i64) -> String {
    if witness_size > seq as u64 {
        format!(
            "refused with 409: the log was truncated or rolled back: the witness has cosigned size \
             {witness_size}, this checkpoint has {seq} (records were deleted, or the database was \
             restored from an older backup)"
        )
    } else {
        format!(
            "refused with 409: the witness has cosigned size {witness_size} and refuses this \
             checkpoint of {seq} as its successor"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_with_a_larger_witness_size_names_the_rollback() {
        assert_eq!(
            conflict_reason(20, 13),
            "refused with 409: the log was truncated or rolled back: the witness has cosigned size 20, \
             this checkpoint has 13 (records were deleted, or the database was restored from an older backup)"
        );
        assert!(conflict_reason(5, 13).contains("as its successor"));
    }
}
