//! The live tail: records as they are committed, as server-sent events.
//!
//! A tail keeps a cursor (the last `seq` it has read past). It wakes when this process
//! commits to the organization (the store's commit signal) or every [`POLL_INTERVAL`], so
//! records appended by other server processes on the same database arrive too. Each wake reads
//! the chain head, then at most [`BATCH`] matching records between the cursor and the head, so
//! the work per connection is bounded, and nothing is read while the client is not reading.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use audit_core::{AuditLogFilter, AuditRecord};
use axum::response::sse::Event;
use futures::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use uuid::Uuid;

use crate::http::connection_limit::ConnectionGuard;
use crate::store::Store;
use crate::store::reads::ReadScope;
use crate::store::tail::{head_seq, records_between};

/// How often a tail looks for records committed by other processes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The most records one read takes into a connection's buffer.
pub const BATCH: u64 = 100;
/// The SSE event name of a record.
pub const EVENT_NAME: &str = "auditLog";
/// How long a browser waits before reconnecting (the SSE `retry` field).
pub const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// One connection's tail.
struct Tail {
    store: Store,
    /// Where reads go after a failure of `store` (a read replica that went away).
    primary: Store,
    scope: ReadScope,
    filter: AuditLogFilter,
    cursor: i64,
    pending: VecDeque<AuditRecord>,
    commits: broadcast::Receiver<Uuid>,
    started: bool,
    shutting_down: watch::Receiver<bool>,
    stopped: bool,
    _guard: Option<ConnectionGuard>,
}

/// The events of the records matching `filter` within `scope` committed after `after_seq`,
/// oldest first, until the server shuts down, read from `store` (a read replica, or the
/// primary) and from `primary` once `store` fails. `guard` is held as long as the stream lives.
pub fn stream(
    store: Store,
    primary: Store,
    scope: ReadScope,
    filter: AuditLogFilter,
    after_seq: i64,
    shutting_down: watch::Receiver<bool>,
    guard: Option<ConnectionGuard>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let tail = Tail {
        commits: store.commits().subscribe(),
        store,
        primary,
        scope,
        filter,
        cursor: after_seq,
        pending: VecDeque::new(),
        started: false,
        shutting_down,
        stopped: false,
        _guard: guard,
    };
    futures::stream::unfold(tail, |mut tail| async move {
        let event = tail.next_event().await?;
        Some((Ok(event), tail))
    })
}

impl Tail {
    /// The next event, or `None` once the server is shutting down.
    async fn next_event(&mut self) -> Option<Event> {
        if !self.started {
            self.started = true;
            // Sets the browser's reconnection delay; EventSource ignores the comment itself.
            return Some(
                Event::default()
                    .retry(RECONNECT_AFTER)
                    .comment(format!("live tail after seq {}", self.cursor)),
            );
        }
        loop {
            if self.stopped || *self.shutting_down.borrow() {
                return None;
            }
            if let Some(record) = self.pending.pop_front() {
                return Some(record_event(&record));
            }
            match self.read().await {
                Ok(()) if !self.pending.is_empty() => continue,
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(%error, "live tail: reading failed; retrying on the primary");
                    self.store = self.primary.clone();
                }
            }
            self.wait().await;
        }
    }

    /// Reads the next matching records past the cursor into the buffer.
    async fn read(&mut self) -> Result<(), sea_orm::DbErr> {
        let head = head_seq(&self.store, self.scope.org_id).await?;
        if head <= self.cursor {
            return Ok(());
        }
        let records =
            records_between(&self.store, &self.scope, &self.filter, self.cursor, head, BATCH).await?;
        self.cursor = match records.last() {
            // A full batch: more may match before the head.
            Some(last) if records.len() as u64 == BATCH => last.seq,
            // Everything up to the head has been read, matching or not.
            _ => head,
        };
        self.pending.extend(records);
        Ok(())
    }

    /// Waits for a commit to this organization in this process, or the next poll.
    async fn wait(&mut self) {
        let poll = tokio::time::sleep(POLL_INTERVAL);
        tokio::pin!(poll);
        loop {
            tokio::select! {
                () = &mut poll => return,
                changed = self.shutting_down.changed() => {
                    // A dropped sender means the server is gone: end too.
                    self.stopped |= changed.is_err();
                    return;
                }
                signal = self.commits.recv() => match signal {
                    Ok(org_id) if org_id == self.scope.org_id => return,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => return,
                    Err(RecvError::Closed) => {
                        (&mut poll).await;
                        return;
                    }
                },
            }
        }
    }
}

fn record_event(record: &AuditRecord) -> Event {
    let data = serde_json::to_string(record).unwrap_or_else(|_| "null".to_owned());
    Event::default()
        .id(record.seq.to_string())
        .event(EVENT_NAME)
        .data(data)
}
