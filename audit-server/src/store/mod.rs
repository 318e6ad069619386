//! Storage: the connection, migrations, and query and mutation functions that know nothing
//! about HTTP.

pub mod api_keys;
pub mod append;
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench_no_tree;
pub mod catalog;
pub mod checkpoints;
pub mod commits;
pub mod cosignatures;
pub mod dead_letters;
pub mod entity;
mod group_commit;
pub mod key_cache;
pub mod merkle;
pub mod migration;
pub mod organizations;
pub mod partitions;
mod pipelined_lane;
mod postgres_group;
pub mod reads;
mod records;
pub mod replicas;
pub mod retention;
pub mod secrets;
pub mod stored_row;
pub mod streams;
pub mod tail;
pub mod verify;
mod wal_checkpointer;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;
use tokio::sync::Mutex;

pub use records::RecordDecodeError;

/// A connection pool with what the write path needs to keep each organization's chain in order.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite has one writer at a time; taking this first keeps writers from racing for the
    /// database lock. PostgreSQL serializes per organization with a row lock instead.
    sqlite_writer: Arc<Mutex<()>>,
    /// Where appends are grouped into shared transactions.
    pub(crate) group_commit: Arc<group_commit::GroupCommit>,
    /// Fired after appends commit, for live tails.
    commits: commits::CommitNotifier,
    /// Keys authenticated a moment ago.
    pub(crate) key_cache: Arc<key_cache::KeyCache>,
}

impl Store {
    /// Connects to `url` (`sqlite://...` or `postgres://...`).
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|options| {
                options
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: a commit is on disk before the answer, even across power loss.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
                    // Checkpoints run beside the writer (wal_checkpointer), not in its commits.
                    .pragma("wal_autocheckpoint", "0")
            });
        let db = Database::connect(options).await?;
        let sqlite_writer = Arc::new(Mutex::new(()));
        let group_commit = Arc::new(group_commit::GroupCommit::start(
            db.clone(),
            sqlite_writer.clone(),
        ));
        Ok(Store {
            db,
            sqlite_writer,
            group_commit,
            commits: commits::CommitNotifier::default(),
            key_cache: Arc::default(),
        })
    }

    /// A store that reads from `db` (a read replica of this store's database) and writes,
    /// authenticates and signals commits through this one.
    pub(crate) fn reading_from(&self, db: DatabaseConnection) -> Self {
        Store {
            db,
            sqlite_writer: self.sqlite_writer.clone(),
            group_commit: self.group_commit.clone(),
            commits: self.commits.clone(),
            key_cache: self.key_cache.clone(),
        }
    }

    /// Applies every pending migration, and on PostgreSQL makes the partitions of this month
    /// and the next ones.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        migration::Migrator::up(&self.db, None).await?;
        partitions::ensure_ahead(&self.db, audit_core::timestamp::now()).await
    }

    /// The connection pool.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Which database this is.
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.db.ping().await
    }

    /// The signal fired after appends through this store commit.
    pub fn commits(&self) -> &commits::CommitNotifier {
        &self.commits
    }

    /// Closes the pool.
    pub async fn close(self) -> Result<(), DbErr> {
        self.db.close().await
    }

    pub(crate) async fn writer_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend() {
            DbBackend::Sqlite => Some(self.sqlite_writer.lock().await),
            _ => None,
        }
    }
}
