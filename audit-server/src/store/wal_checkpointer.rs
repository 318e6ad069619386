//! Moves SQLite's WAL checkpoints off the write path. By default the connection that commits
//! copies the log back into the database file once the log passes 1,000 pages, inside that
//! commit: the profile of batch ingest showed a tenth of the writer's time there. The server
//! turns that off (`wal_autocheckpoint = 0` on every connection) and this task runs a
//! `PASSIVE` checkpoint on another connection twice a second instead, which copies what it can
//! without waiting for, or blocking, the writer or readers.
//!
//! Durability does not depend on it: a commit is durable once its WAL frames are synced
//! (`synchronous = FULL`); checkpoints only keep the log from growing.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::task::AbortHandle;

/// How often the log is copied back.
const INTERVAL: Duration = Duration::from_millis(500);

/// The running checkpointer; dropping it stops the task.
#[derive(Debug)]
pub(crate) struct WalCheckpointer(AbortHandle);

impl WalCheckpointer {
    /// Starts checkpointing `db` (a SQLite pool) on the current runtime.
    pub(crate) fn start(db: DatabaseConnection) -> Self {
        let task = tokio::spawn(async move {
            let checkpoint = Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
            loop {
                tokio::time::sleep(INTERVAL).await;
                if let Err(error) = db.query_one_raw(checkpoint.clone()).await {
                    tracing::warn!(%error, "SQLite WAL checkpoint failed; the next one will try again");
                }
            }
        });
        WalCheckpointer(task.abort_handle())
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}
