//! Makes the monthly partitions of `audit_logs` ahead of need (PostgreSQL; nothing on SQLite):
//! at start (through the migration) and every hour after, so that a month's partition exists
//! [`partitions::MONTHS_AHEAD`] months before its first record.

use std::time::Duration;

use audit_core::timestamp;
use tokio::sync::watch;

use crate::store::{Store, partitions};

/// How often the partitions ahead are checked.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// Runs [`partitions::ensure_ahead`] every [`INTERVAL`] until `stop` turns true.
pub async fn run(store: Store, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
        if *stop.borrow() {
            return;
        }
        if let Err(error) = partitions::ensure_ahead(store.connection(), timestamp::now()).await {
            tracing::warn!(%error, "making the partitions ahead failed; will retry");
        }
    }
}
