//! Read replicas: list, get, export and tail read from a streaming replica of the primary
//! when one is configured (`AUDIT_DATABASE_READ_URL`) and fit to answer.
//!
//! Invariants:
//! - A read never fails because of a replica: a replica that errors is marked down for
//!   [`DOWN_FOR`] and the read is answered by the primary; after that the next read tries
//!   the replica again.
//! - A read that names the `seq` its caller last wrote (`X-Audit-Min-Seq`) is served by a
//!   replica only when the replica's chain head of that organization has reached it. The
//!   chain head row is updated in the transaction that appends, so every record up to it is
//!   then visible on the replica. Otherwise the read waits up to [`CATCH_UP_WAIT`] for the
//!   replica and is then answered by the primary.
//! - Replicas are only read: their [`Store`]s share the primary's writer, so an append made
//!   through one still goes to the primary.
//! - Every read answered with replicas configured is counted once: by a replica, or by the
//!   primary with the reason it fell back ([`Fallback`]); `/metrics` shows the counts.

use std::fmt::Write;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectOptions, Database, DbErr};
use uuid::Uuid;

use super::Store;
use super::tail::head_seq;

/// How long a replica that failed is left out before it is tried again.
pub const DOWN_FOR: Duration = Duration::from_secs(5);
/// How long a read waits for a replica to replay up to the caller's own write.
pub const CATCH_UP_WAIT: Duration = Duration::from_millis(200);
/// How often a waiting read looks at the replica's head again.
const CATCH_UP_POLL: Duration = Duration::from_millis(5);
/// How long getting a connection to a replica may take before it counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One replica and when it may be tried again after a failure.
#[derive(Debug)]
struct Replica {
    store: Store,
    down_until: Mutex<Option<Instant>>,
}

impl Replica {
    fn is_up(&self) -> bool {
        let down_until = self
            .down_until
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        down_until.is_none_or(|until| Instant::now() >= until)
    }

    fn mark_down(&self, error: &DbErr) {
        tracing::warn!(%error, "a read replica failed; reading from the primary for {DOWN_FOR:?}");
        *self
            .down_until
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(Instant::now() + DOWN_FOR);
    }

    fn mark_up(&self) {
        *self
            .down_until
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = None;
    }

    /// Whether the replica has replayed `org_id`'s trail up to `min_seq`, waiting up to
    /// [`CATCH_UP_WAIT`] for it.
    async fn reached(&self, org_id: Uuid, min_seq: i64) -> Result<bool, DbErr> {
        let deadline = Instant::now() + CATCH_UP_WAIT;
        loop {
            if head_seq(&self.store, org_id).await? >= min_seq {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(CATCH_UP_POLL).await;
        }
    }
}

/// Why a read went to the primary although replicas are configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Every replica was marked down by an earlier failure.
    Down,
    /// A replica had not replayed the caller's own write within [`CATCH_UP_WAIT`].
    Behind,
    /// A replica failed this very read.
    Failed,
}

impl Fallback {
    /// The reason once a replica was found behind: a failure on the same read stays the reason.
    fn or_behind(self) -> Fallback {
        match self {
            Fallback::Failed => Fallback::Failed,
            _ => Fallback::Behind,
        }
    }

    /// Every reason, in discriminant order (the index of its count).
    const ALL: [Fallback; 3] = [Fallback::Down, Fallback::Behind, Fallback::Failed];

    fn label(self) -> &'static str {
        match self {
            Fallback::Down => "down",
            Fallback::Behind => "behind",
            Fallback::Failed => "failed",
        }
    }
}

/// Reads answered by the replicas, and by the primary in their stead.
#[derive(Debug, Default)]
struct ReadCounts {
    by_replica: AtomicU64,
    fallbacks: [AtomicU64; 3],
}

/// The primary and its read replicas; reads go round-robin over the replicas that are up.
#[derive(Debug)]
pub struct Readers {
    primary: Store,
    replicas: Vec<Replica>,
    next: AtomicUsize,
    counts: ReadCounts,
}

impl Readers {
    /// The primary and a replica at each of `urls`. Connections are made when first needed,
    /// so a replica that is down at start does not stop the server.
    pub async fn connect(primary: Store, urls: &[String]) -> Result<Self, DbErr> {
        let mut replicas = Vec::with_capacity(urls.len());
        for url in urls {
            let mut options = ConnectOptions::new(url.clone());
            options
                .max_connections(16)
                .min_connections(0)
                .connect_lazy(true)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .sqlx_logging(false);
            let db = Database::connect(options).await?;
            replicas.push(Replica {
                store: primary.reading_from(db),
                down_until: Mutex::new(None),
            });
        }
        Ok(Readers {
            primary,
            replicas,
            next: AtomicUsize::new(0),
            counts: ReadCounts::default(),
        })
    }

    /// The primary.
    pub fn primary(&self) -> &Store {
        &self.primary
    }

    /// The replicas that are up, in this read's round-robin order.
    fn candidates(&self) -> impl Iterator<Item = &Replica> {
        let count = self.replicas.len();
        let start = if count == 0 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % count
        };
        (0..count)
            .map(move |offset| &self.replicas[(start + offset) % count])
            .filter(|replica| replica.is_up())
    }

    /// A replica fit to answer a read of `org_id` that must see `min_seq` (checked now, as
    /// a health check too), or the primary. For long reads (export, tail) that keep the store.
    pub async fn choose(&self, org_id: Uuid, min_seq: Option<i64>) -> Store {
        let mut fallback = Fallback::Down;
        for replica in self.candidates() {
            match replica.reached(org_id, min_seq.unwrap_or(0)).await {
                Ok(true) => {
                    replica.mark_up();
                    self.counts.by_replica.fetch_add(1, Ordering::Relaxed);
                    return replica.store.clone();
                }
                Ok(false) => fallback = fallback.or_behind(),
                Err(error) => {
                    replica.mark_down(&error);
                    fallback = Fallback::Failed;
                }
            }
        }
        self.fell_back(fallback);
        self.primary.clone()
    }

    /// Runs the read `op` of `org_id` on a replica fit for `min_seq`, or on the primary; a
    /// replica that fails is marked down and the read is run again on the primary.
    pub async fn read<T, F, Fut>(&self, org_id: Uuid, min_seq: Option<i64>, op: F) -> Result<T, DbErr>
    where
        F: Fn(Store) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        let mut fallback = Fallback::Down;
        for replica in self.candidates() {
            let answer = match min_seq {
                Some(min_seq) => match replica.reached(org_id, min_seq).await {
                    Ok(true) => op(replica.store.clone()).await.map(Some),
                    Ok(false) => Ok(None),
                    Err(error) => Err(error),
                },
                None => op(replica.store.clone()).await.map(Some),
            };
            match answer {
                Ok(Some(value)) => {
                    replica.mark_up();
                    self.counts.by_replica.fetch_add(1, Ordering::Relaxed);
                    return Ok(value);
                }
                Ok(None) => fallback = fallback.or_behind(),
                Err(error) => {
                    replica.mark_down(&error);
                    fallback = Fallback::Failed;
                }
            }
        }
        self.fell_back(fallback);
        op(self.primary.clone()).await
    }

    /// Counts a read the primary answers for `reason` (nothing without replicas).
    fn fell_back(&self, reason: Fallback) {
        if !self.replicas.is_empty() {
            self.counts.fallbacks[reason as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text of the read counts (empty without replicas).
    pub fn render_metrics(&self) -> String {
        let mut out = String::new();
        if self.replicas.is_empty() {
            return out;
        }
        out.push_str("# HELP audit_replica_reads_total Reads answered by a read replica.\n");
        out.push_str("# TYPE audit_replica_reads_total counter\n");
        let _ = writeln!(
            out,
            "audit_replica_reads_total {}",
            self.counts.by_replica.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP audit_replica_fallbacks_total Reads the primary answered although replicas are configured, by reason.\n",
        );
        out.push_str("# TYPE audit_replica_fallbacks_total counter\n");
        for (reason, count) in Fallback::ALL.iter().zip(&self.counts.fallbacks) {
            let _ = writeln!(
                out,
                "audit_replica_fallbacks_total{{reason=\"{}\"}} {}",
                reason.label(),
                count.load(Ordering::Relaxed)
            );
        }
        out
    }
}
