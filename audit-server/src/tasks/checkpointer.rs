//! The background task that signs checkpoints: every organization whose head moved gets one
//! after `AUDIT_CHECKPOINT_EVERY_RECORDS` new records or `AUDIT_CHECKPOINT_INTERVAL_SECS`,
//! whichever comes first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use audit_core::checkpoint::CheckpointSigner;
use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use tokio::sync::watch;
use uuid::Uuid;

use crate::store::{Store, checkpoints};

/// When checkpoints are due.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// After this many new records.
    pub every_records: i64,
    /// Or after this long, when the head moved at all.
    pub interval: Duration,
}

/// Signs due checkpoints until `stop` turns true (or its sender is dropped).
pub async fn run(
    store: Store,
    signer: Arc<CheckpointSigner>,
    schedule: Schedule,
    mut stop: watch::Receiver<bool>,
) {
    let started = Utc::now();
    let tick = schedule.interval.min(Duration::from_secs(1));
    let mut signed = HashMap::new();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(tick) => {}
        }
        if *stop.borrow() {
            return;
        }
        if let Err(error) = round(&store, &signer, schedule, started, &mut signed).await {
            tracing::warn!(%error, "signing checkpoints failed; will retry");
        }
    }
}

/// One pass over the organizations. `signed` remembers each one's last checkpoint.
async fn round(
    store: &Store,
    signer: &CheckpointSigner,
    schedule: Schedule,
    started: DateTime<Utc>,
    signed: &mut HashMap<Uuid, (i64, DateTime<Utc>)>,
) -> Result<(), DbErr> {
    let interval = chrono::Duration::from_std(schedule.interval).unwrap_or(chrono::Duration::MAX);
    for head in checkpoints::non_empty_heads(store).await? {
        let last = match signed.get(&head.org_id) {
            Some(last) => *last,
            None => {
                let last = checkpoints::latest(store, head.org_id, None)
                    .await?
                    .map_or((0, started), |checkpoint| (checkpoint.seq, checkpoint.created_at));
                signed.insert(head.org_id, last);
                last
            }
        };
        let moved = head.seq > last.0;
        let due = head.seq - last.0 >= schedule.every_records || Utc::now() - last.1 >= interval;
        if moved && due {
            let checkpoint = checkpoints::sign(store, signer, &head).await?;
            signed.insert(head.org_id, (checkpoint.seq, checkpoint.created_at));
        }
    }
    Ok(())
}
