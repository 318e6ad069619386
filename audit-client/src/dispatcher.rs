//! A background sender that batches events so recording never waits for the network.
//!
//! [`Dispatcher::record`] puts the event on a bounded queue and returns at once. A worker task
//! takes events off the queue and sends them with `POST /api/v1/audit-logs/batch` when a batch
//! is full or when the first event of a batch has waited `batch_interval`. While the service is
//! unavailable (connection errors, timeouts, 408, 429, 5xx) the worker retries the same batch,
//! with the same event ids, with jittered exponential backoff, until it is delivered or the
//! shutdown deadline passes: an event the queue accepted is never silently lost. Events the
//! service refuses are reported through [`DispatcherConfig::on_rejected`] and a warning.
//!
//! With [`DispatcherConfig::with_spool_dir`] the events also survive the host process: when a
//! delivery fails transiently (or the shutdown deadline passes) the undelivered events, and
//! every event queued after them, are appended to checksummed files in that directory and
//! fsynced, then delivered from there in order until the spool is empty again. A dispatcher
//! started later on the same directory delivers what an earlier process left there first.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use audit_client::{AuditClient, Dispatcher, DispatcherConfig};
//! use audit_core::AuditEvent;
//!
//! let client = AuditClient::new("http://127.0.0.1:8080", "ak_0123456789abcdef")?;
//! let dispatcher = Dispatcher::spawn(client, DispatcherConfig::default());
//!
//! dispatcher.record(AuditEvent::by_user("u_1", "dataset", "ds_1", "create"));
//!
//! dispatcher.flush().await?;
//! dispatcher.shutdown(Duration::from_secs(5)).await?;
//! println!("{:?}", dispatcher.stats());
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use audit_core::{AuditEvent, EncodedEvent, MAX_BATCH_EVENTS, Problem};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::spool::{Spool, SpoolError};
use crate::{AuditClient, Error, RetryPolicy};

mod dead_letter;
mod doorbell;
mod prometheus;
mod worker;

pub use prometheus::prometheus_families;

use doorbell::Doorbell;

/// What [`Dispatcher::record_wait`] does when the queue is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// Drop the new event and count it in [`DispatcherStats::dropped`].
    #[default]
    DropNewest,
    /// Wait for room (backpressure). [`Dispatcher::record`] cannot wait and still drops.
    Wait,
}

/// An event the service refused: it is not retried.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RejectedEvent {
    /// The event as it was sent (with its id); a state nested too deep to read back (over 128
    /// levels, which the service refuses) is left out.
    pub event: AuditEvent,
    /// Why the service refused it.
    pub problem: Problem,
}

/// A callback told about each rejected event.
pub type OnRejected = Arc<dyn Fn(RejectedEvent) + Send + Sync>;

/// How a [`Dispatcher`] queues, batches and retries.
#[derive(Clone)]
pub struct DispatcherConfig {
    /// How many events may wait in the queue (default 10,000). Memory is bounded by this
    /// plus one batch in flight.
    pub queue_capacity: usize,
    /// Events per request, 1 to 1,000 (default 500).
    pub max_batch_size: usize,
    /// How long the first event of a batch may wait for more (default 200 ms).
    pub batch_interval: Duration,
    /// What `record_wait` does on a full queue (default [`OverflowPolicy::DropNewest`]).
    pub overflow: OverflowPolicy,
    /// The delays between attempts to deliver a batch while the service is unavailable
    /// (default: 100 ms doubling up to 5 s). `max_retries` is ignored: the dispatcher retries
    /// until delivery or the shutdown deadline.
    pub backoff: RetryPolicy,
    /// Told about every event the service rejects.
    pub on_rejected: Option<OnRejected>,
    /// Where undelivered events are kept on disk (default: nowhere, memory only). See
    /// [`DispatcherConfig::with_spool_dir`].
    pub spool_dir: Option<PathBuf>,
    /// The file every rejected event is appended to (default: none). See
    /// [`DispatcherConfig::with_dead_letter_file`].
    pub dead_letter_file: Option<PathBuf>,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            queue_capacity: 10_000,
            max_batch_size: 500,
            batch_interval: Duration::from_millis(200),
            overflow: OverflowPolicy::DropNewest,
            backoff: RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_secs(5)),
            on_rejected: None,
            spool_dir: None,
            dead_letter_file: None,
        }
    }
}

impl fmt::Debug for DispatcherConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatcherConfig")
            .field("queue_capacity", &self.queue_capacity)
            .field("max_batch_size", &self.max_batch_size)
            .field("batch_interval", &self.batch_interval)
            .field("overflow", &self.overflow)
            .field("backoff", &self.backoff)
            .field(
                "on_rejected",
                &self.on_rejected.as_ref().map(|_| "Fn(RejectedEvent)"),
            )
            .field("spool_dir", &self.spool_dir)
            .finish()
    }
}

impl DispatcherConfig {
    /// The queue capacity (at least 1).
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Events per request, clamped to 1..=1,000.
    pub fn with_max_batch_size(mut self, size: usize) -> Self {
        self.max_batch_size = size.clamp(1, MAX_BATCH_EVENTS);
        self
    }

    /// How long the first event of a batch may wait for more.
    pub fn with_batch_interval(mut self, interval: Duration) -> Self {
        self.batch_interval = interval;
        self
    }

    /// What `record_wait` does on a full queue.
    pub fn with_overflow(mut self, overflow: OverflowPolicy) -> Self {
        self.overflow = overflow;
        self
    }

    /// The delays between delivery attempts.
    pub fn with_backoff(mut self, backoff: RetryPolicy) -> Self {
        self.backoff = backoff;
        self
    }

    /// Calls `callback` for every event the service rejects.
    pub fn on_rejected(mut self, callback: impl Fn(RejectedEvent) + Send + Sync + 'static) -> Self {
        self.on_rejected = Some(Arc::new(callback));
        self
    }

    /// Keeps undelivered events in `dir` (created if missing), so they survive a crash or
    /// restart of this process. When a batch cannot be delivered (connection error, timeout,
    /// 408, 429, 5xx) or the shutdown deadline passes, its events and every event queued after
    /// them are appended to segment files there (each record length-prefixed and CRC32-checked,
    /// fsynced once per append), and delivered from there in order; a segment is removed once
    /// the service acknowledged all of it. The next dispatcher started on `dir` delivers what
    /// is left first. One dispatcher at a time may use a directory (it holds a lock on `dir/LOCK`).
    pub fn with_spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// Appends every event the service rejects for its content to `path`, one JSON line
    /// `{"rejectedAt", "problem", "event"}` each, so that none is lost (rejections are also
    /// logged at error level, with the reason). The file is created when first needed.
    pub fn with_dead_letter_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.dead_letter_file = Some(path.into());
        self
    }
}

/// Counters of a [`Dispatcher`], since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatcherStats {
    /// Events the service stored (created, or already stored with the same content).
    pub sent: u64,
    /// Delivery attempts that failed transiently and were repeated.
    pub retried: u64,
    /// Events not queued: the queue was full or the dispatcher shut down.
    pub dropped: u64,
    /// Events the service refused (not retried).
    pub rejected: u64,
    /// Queued events still undelivered when the shutdown deadline passed.
    pub abandoned: u64,
    /// Events (and flush requests) waiting in the queue now.
    pub queued: u64,
    /// Events written to the spool directory (see [`DispatcherConfig::with_spool_dir`]).
    pub spooled: u64,
    /// Events delivered from the spool (also counted in `sent`), including events an earlier
    /// process left there.
    pub replayed: u64,
    /// Damaged stretches of spool files skipped (a torn tail, flipped bytes, an unreadable
    /// segment); each lost at least one event. The events around them are delivered.
    pub spool_corrupt: u64,
}

/// Why a flush or shutdown did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// The dispatcher has shut down.
    #[error("the dispatcher has shut down")]
    Closed,
    /// The deadline passed with events undelivered and not spooled (counted in `abandoned`).
    #[error("the deadline passed before every event was delivered")]
    Timeout,
}

enum Message {
    Event(EncodedEvent),
    /// Reply `true` once everything queued before it is delivered (or rejected).
    Flush(oneshot::Sender<bool>),
    /// Deliver what is queued, then stop.
    Shutdown(oneshot::Sender<bool>),
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    retried: AtomicU64,
    dropped: AtomicU64,
    rejected: AtomicU64,
    abandoned: AtomicU64,
    spooled: AtomicU64,
    replayed: AtomicU64,
    spool_corrupt: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: usize) -> u64 {
        counter.fetch_add(n as u64, Ordering::Relaxed)
    }
}

struct Shared {
    tx: mpsc::Sender<Message>,
    doorbell: Arc<Doorbell>,
    counters: Arc<Counters>,
    overflow: OverflowPolicy,
    closed: AtomicBool,
    deadline: watch::Sender<Option<Instant>>,
    /// How long `shutdown` waits for the worker's answer after the deadline.
    grace: Duration,
}

/// A handle to the background sender; clones share one queue and one worker.
///
/// Dropping the last handle lets the worker deliver what is queued and stop (at the latest
/// when the open batch's interval ends); call [`Dispatcher::shutdown`] to wait for that with
/// a deadline.
#[derive(Clone)]
pub struct Dispatcher {
    shared: Arc<Shared>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// Starts the worker on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, and when the spool directory cannot be opened or is in use
    /// (use [`Dispatcher::try_spawn`] to handle that).
    pub fn spawn(client: AuditClient, config: DispatcherConfig) -> Self {
        match Dispatcher::try_spawn(client, config) {
            Ok(dispatcher) => dispatcher,
            Err(error) => panic!("audit dispatcher: {error}"),
        }
    }

    /// Starts the worker on the current tokio runtime, after opening and locking the spool
    /// directory when one is configured; events an earlier process left there are delivered
    /// before any new one.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn try_spawn(client: AuditClient, config: DispatcherConfig) -> Result<Self, SpoolError> {
        let spool = config.spool_dir.as_deref().map(Spool::open).transpose()?;
        let grace = if spool.is_some() {
            // Room to write what is still queued to the spool after the deadline.
            Duration::from_secs(2)
        } else {
            Duration::from_millis(250)
        };
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let (deadline_tx, deadline_rx) = watch::channel(None);
        let counters = Arc::new(Counters::default());
        let overflow = config.overflow;
        let doorbell = Arc::new(Doorbell::new(&config));
        let worker = worker::Worker::new(
            client,
            config,
            rx,
            doorbell.clone(),
            counters.clone(),
            deadline_rx,
            spool,
        );
        tokio::spawn(worker.run());
        Ok(Dispatcher {
            shared: Arc::new(Shared {
                tx,
                doorbell,
                counters,
                overflow,
                closed: AtomicBool::new(false),
                deadline: deadline_tx,
                grace,
            }),
        })
    }

    /// Queues an event without waiting; returns whether it was queued.
    ///
    /// Gives the event its UUIDv7 `id` now, so every delivery attempt carries the same one,
    /// and serializes it now (the worker only joins texts into batches). When the queue is
    /// full or the dispatcher has shut down the event is dropped and counted in
    /// [`DispatcherStats::dropped`].
    pub fn record(&self, event: AuditEvent) -> bool {
        self.record_encoded(EncodedEvent::new(event))
    }

    /// [`Dispatcher::record`] for an event already serialized, e.g. with states kept as JSON
    /// text ([`EncodedEvent::with_raw`]).
    pub fn record_encoded(&self, event: EncodedEvent) -> bool {
        if self.shared.closed.load(Ordering::Relaxed) {
            self.count_dropped();
            return false;
        }
        match self.shared.tx.try_send(Message::Event(event)) {
            Ok(()) => {
                self.event_queued();
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Closed(_)) => {
                self.count_dropped();
                false
            }
        }
    }

    /// Queues an event according to the [`OverflowPolicy`]: under `Wait` it waits for room in
    /// the queue, under `DropNewest` it is [`Dispatcher::record`]. Returns whether it was
    /// queued. Never waits for the network.
    pub async fn record_wait(&self, event: AuditEvent) -> bool {
        let event = EncodedEvent::new(event);
        if self.shared.overflow != OverflowPolicy::Wait || self.shared.closed.load(Ordering::Relaxed) {
            return self.record_encoded(event);
        }
        let queued = self.shared.tx.send(Message::Event(event)).await.is_ok();
        if queued {
            self.event_queued();
        } else {
            self.count_dropped();
        }
        queued
    }

    /// Rings the worker's doorbell when enough events wait for a batch.
    fn event_queued(&self) {
        let tx = &self.shared.tx;
        self.shared.doorbell.queued(tx.max_capacity() - tx.capacity());
    }

    /// Waits until every event queued before this call is delivered (or rejected).
    pub async fn flush(&self) -> Result<(), DispatchError> {
        let (reply, done) = oneshot::channel();
        self.shared
            .tx
            .send(Message::Flush(reply))
            .await
            .map_err(|_| DispatchError::Closed)?;
        self.shared.doorbell.ring();
        match done.await {
            Ok(true) => Ok(()),
            Ok(false) => Err(DispatchError::Timeout),
            Err(_) => Err(DispatchError::Closed),
        }
    }

    /// Stops accepting events, delivers what is queued, and stops the worker, waiting at most
    /// `timeout`. Without a spool, events still undelivered then are counted in `abandoned` and
    /// the result is [`DispatchError::Timeout`]. With a spool they are written to it instead
    /// (counted in `spooled`) and the result is `Ok`: the next dispatcher on the directory
    /// delivers them.
    pub async fn shutdown(&self, timeout: Duration) -> Result<(), DispatchError> {
        let deadline = Instant::now() + timeout;
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.deadline.send_replace(Some(deadline));
        let (reply, done) = oneshot::channel();
        match tokio::time::timeout_at(deadline, self.shared.tx.send(Message::Shutdown(reply))).await {
            Ok(Ok(())) => self.shared.doorbell.ring(),
            Ok(Err(_)) => return Err(DispatchError::Closed),
            Err(_) => return Err(DispatchError::Timeout),
        }
        // The worker answers right after the deadline at the latest; allow it a moment.
        match tokio::time::timeout_at(deadline + self.shared.grace, done).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) | Err(_) => Err(DispatchError::Timeout),
            Ok(Err(_)) => Err(DispatchError::Closed),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> DispatcherStats {
        let counters = &self.shared.counters;
        let tx = &self.shared.tx;
        DispatcherStats {
            sent: counters.sent.load(Ordering::Relaxed),
            retried: counters.retried.load(Ordering::Relaxed),
            dropped: counters.dropped.load(Ordering::Relaxed),
            rejected: counters.rejected.load(Ordering::Relaxed),
            abandoned: counters.abandoned.load(Ordering::Relaxed),
            queued: (tx.max_capacity() - tx.capacity()) as u64,
            spooled: counters.spooled.load(Ordering::Relaxed),
            replayed: counters.replayed.load(Ordering::Relaxed),
            spool_corrupt: counters.spool_corrupt.load(Ordering::Relaxed),
        }
    }

    fn count_dropped(&self) {
        let before = Counters::add(&self.shared.counters.dropped, 1);
        // Warn on the 1st, 2nd, 4th, 8th... drop: visible, but no log flood under overload.
        if (before + 1).is_power_of_two() {
            tracing::warn!(
                dropped = before + 1,
                "audit dispatcher queue full: events dropped"
            );
        }
    }
}

/// Whether the dispatcher tries a failed batch again: anything that says "not now" rather
/// than "never" (transport errors, timeouts, 408, 429 and every 5xx).
fn should_retry(error: &Error) -> bool {
    match error.status() {
        Some(status) => status.is_server_error() || error.is_retryable(),
        None => error.is_retryable(),
    }
}

/// Runs `future` unless the shutdown deadline (which may be set meanwhile) passes first.
async fn before_deadline<F: Future>(
    deadline: &mut watch::Receiver<Option<Instant>>,
    future: F,
) -> Option<F::Output> {
    tokio::pin!(future);
    loop {
        let current = *deadline.borrow_and_update();
        let expiry = async move {
            match current {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            output = &mut future => return Some(output),
            () = expiry => return None,
            changed = deadline.changed() => {
                if changed.is_err() {
                    // Every handle is gone: the deadline can no longer change.
                    return match current {
                        Some(at) => tokio::time::timeout_at(at, future).await.ok(),
                        None => Some(future.await),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_final_errors_are_not_retried() {
        use reqwest::StatusCode;
        let api = |status: u16| Error::from_response(StatusCode::from_u16(status).unwrap(), b"", None);
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(should_retry(&api(status)), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 413, 415, 422] {
            assert!(!should_retry(&api(status)), "{status}");
        }
        assert!(should_retry(&Error::Timeout));
        assert!(!should_retry(&Error::InvalidArgument("x".into())));
    }

    #[tokio::test]
    async fn the_deadline_interrupts_a_wait_when_it_is_set_later() {
        let (tx, mut rx) = watch::channel(None);
        let waiting = tokio::spawn(async move {
            before_deadline(&mut rx, tokio::time::sleep(Duration::from_secs(3600))).await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        tx.send_replace(Some(started + Duration::from_millis(100)));
        assert_eq!(waiting.await.unwrap(), None);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_secs(5),
            "{waited:?}"
        );

        let (_tx, mut rx) = watch::channel(Some(Instant::now() + Duration::from_secs(3600)));
        assert_eq!(before_deadline(&mut rx, async { 7 }).await, Some(7));
    }

    #[test]
    fn config_setters_clamp() {
        let config = DispatcherConfig::default()
            .with_max_batch_size(5000)
            .with_queue_capacity(0);
        assert_eq!(config.max_batch_size, 1000);
        assert_eq!(config.queue_capacity, 1);
        assert!(format!("{:?}", config.on_rejected(|_| {})).contains("Fn(RejectedEvent)"));
    }
}
