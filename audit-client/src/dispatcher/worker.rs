//! The task behind a [`Dispatcher`](super::Dispatcher): batching, delivery with retries, and
//! the spool.
//!
//! Two modes. Direct: events are batched in memory and sent. Spooling (entered when a batch
//! cannot be delivered, or at start-up when an earlier process left events in the spool):
//! every queued event is appended to the spool, and batches are read back from it, oldest
//! first, until it is empty; then the worker is direct again. Events never overtake each
//! other, and a flush is answered only once the spool is empty.

use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use audit_core::{BatchItemStatus, BatchResponse, EncodedEvent, MAX_BATCH_EVENTS, Problem};
use reqwest::StatusCode;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, Sleep};

use super::dead_letter::DeadLetters;
use super::{
    Counters, DispatcherConfig, Doorbell, Message, OnRejected, RejectedEvent, before_deadline, should_retry,
};
use crate::client::Retry;
use crate::retry::Jitter;
use crate::spool::Spool;
use crate::{AuditClient, Error, RetryPolicy};

/// Events moved from the queue to the spool per append (one fsync each).
const SPOOL_CHUNK: usize = MAX_BATCH_EVENTS;

pub(super) struct Worker {
    client: AuditClient,
    rx: mpsc::Receiver<Message>,
    doorbell: Arc<Doorbell>,
    /// False once the queue is closed and empty.
    receiving: bool,
    counters: Arc<Counters>,
    deadline: watch::Receiver<Option<Instant>>,
    max_batch_size: usize,
    batch_interval: Duration,
    backoff: RetryPolicy,
    on_rejected: Option<OnRejected>,
    dead_letters: Option<DeadLetters>,
    buffer: Vec<EncodedEvent>,
    jitter: Jitter,
    unavailable: bool,
    spool: Option<Spool>,
    /// Events the spool could not take (a write failed): appended before anything newer, and
    /// the queue is not read while any wait here.
    unspooled: Vec<EncodedEvent>,
    /// Flushes answered once the spool is empty.
    flushes: Vec<oneshot::Sender<bool>>,
    /// Shutdown requests, answered when the worker stops.
    shutdowns: Vec<oneshot::Sender<bool>>,
    abandoned_at_shutdown: Option<u64>,
}

/// What woke the worker.
enum Wake {
    /// A message, or the end of the queue, while no batch was open.
    Message(Option<Message>),
    /// The doorbell: a batch's worth of events, a flush or a shutdown waits.
    Rung,
    /// The open batch's time is up.
    Due,
}

/// What one attempt at a batch came to ([`Worker::attempt`]).
enum Attempt {
    /// Delivered, and accounted.
    Delivered,
    /// Refused for good, and reported.
    Rejected,
    /// The shutdown deadline passed before an answer: the events, untouched.
    PastDeadline(Vec<EncodedEvent>),
    /// Refused for what it holds: the events, to be tried in halves.
    Split(Vec<EncodedEvent>),
    /// The service is unavailable: the events, and how long to wait before the next attempt.
    Unavailable(Vec<EncodedEvent>, Duration),
}

/// What became of one batch.
enum Delivery {
    /// Delivered, rejected, spooled or abandoned: nothing left to do here.
    Done,
    /// Too large for the service: send the halves.
    Split(Vec<EncodedEvent>, Vec<EncodedEvent>),
}

impl Worker {
    pub(super) fn new(
        client: AuditClient,
        config: DispatcherConfig,
        rx: mpsc::Receiver<Message>,
        doorbell: Arc<Doorbell>,
        counters: Arc<Counters>,
        deadline: watch::Receiver<Option<Instant>>,
        spool: Option<Spool>,
    ) -> Self {
        Worker {
            client,
            rx,
            doorbell,
            receiving: true,
            counters,
            deadline,
            max_batch_size: config.max_batch_size.clamp(1, MAX_BATCH_EVENTS),
            batch_interval: config.batch_interval,
            backoff: config.backoff,
            dead_letters: config.dead_letter_file.as_deref().map(DeadLetters::new),
            on_rejected: config.on_rejected,
            buffer: Vec::new(),
            jitter: Jitter::new(),
            unavailable: false,
            spool,
            unspooled: Vec::new(),
            flushes: Vec::new(),
            shutdowns: Vec::new(),
            abandoned_at_shutdown: None,
        }
    }

    pub(super) async fn run(mut self) {
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut armed = false;
        loop {
            if self.spooling() {
                if !self.replay().await {
                    break;
                }
                continue;
            }
            for reply in self.flushes.drain(..) {
                let _ = reply.send(true);
            }
            if !self.receiving {
                self.export().await;
                if self.spooling() {
                    continue;
                }
                break;
            }
            // With no batch open, the first event wakes the worker; with one open, the doorbell
            // or the batch timer does, and everything queued is taken at once.
            let wake = tokio::select! {
                message = self.rx.recv(), if !armed => Wake::Message(message),
                () = self.doorbell.rung(), if armed => Wake::Rung,
                () = &mut timer, if armed => Wake::Due,
            };
            match wake {
                Wake::Message(Some(message)) => self.take(message, timer.as_mut(), &mut armed).await,
                Wake::Message(None) => self.receiving = false,
                Wake::Rung | Wake::Due => {
                    while !self.spooling() {
                        match self.rx.try_recv() {
                            Ok(message) => self.take(message, timer.as_mut(), &mut armed).await,
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => {
                                self.receiving = false;
                                break;
                            }
                        }
                    }
                    if matches!(wake, Wake::Due) || self.buffer.is_empty() {
                        self.export().await;
                        armed = false;
                    }
                }
            }
        }
        self.finish().await;
    }

    /// Takes one message from the queue: an event joins the batch (opening it, or sending it
    /// when full), a flush sends the batch, a shutdown begins.
    async fn take(&mut self, message: Message, timer: Pin<&mut Sleep>, armed: &mut bool) {
        match message {
            Message::Event(event) => {
                if self.buffer.is_empty() {
                    timer.reset(Instant::now() + self.batch_interval);
                    *armed = true;
                }
                self.buffer.push(event);
                if self.buffer.len() >= self.max_batch_size {
                    self.export().await;
                    *armed = false;
                }
            }
            Message::Flush(reply) => {
                let complete = self.export().await;
                *armed = false;
                if complete {
                    self.flushes.push(reply);
                } else {
                    let _ = reply.send(false);
                }
            }
            Message::Shutdown(reply) => self.begin_shutdown(reply),
        }
    }

    /// Whether events wait in the spool (or for it): new events must queue up behind them.
    fn spooling(&self) -> bool {
        !self.unspooled.is_empty() || self.spool.as_ref().is_some_and(|spool| !spool.is_empty())
    }

    fn begin_shutdown(&mut self, reply: oneshot::Sender<bool>) {
        self.rx.close();
        self.abandoned_at_shutdown
            .get_or_insert_with(|| self.counters.abandoned.load(Ordering::Relaxed));
        self.shutdowns.push(reply);
    }

    /// Stops: what is still queued is delivered, or spooled once the deadline has passed.
    async fn finish(&mut self) {
        self.rx.close();
        while let Some(message) = self.rx.recv().await {
            match message {
                Message::Event(event) => self.buffer.push(event),
                Message::Flush(reply) => self.flushes.push(reply),
                Message::Shutdown(reply) => self.begin_shutdown(reply),
            }
        }
        self.export().await;
        if !self.unspooled.is_empty() {
            let events = mem::take(&mut self.unspooled);
            self.abandon(events);
        }
        let abandoned = self.counters.abandoned.load(Ordering::Relaxed);
        let complete = abandoned == self.abandoned_at_shutdown.unwrap_or(abandoned);
        let delivered = complete && !self.spooling();
        for reply in self.flushes.drain(..) {
            let _ = reply.send(delivered);
        }
        for reply in self.shutdowns.drain(..) {
            let _ = reply.send(complete);
        }
    }

    /// Sends the buffered events; false when some were abandoned at the shutdown deadline.
    async fn export(&mut self) -> bool {
        let abandoned_before = self.counters.abandoned.load(Ordering::Relaxed);
        let mut pending = vec![mem::take(&mut self.buffer)];
        while let Some(events) = pending.pop() {
            if events.is_empty() {
                continue;
            }
            if self.spooling() {
                // Older events wait in the spool: these go behind them.
                self.spool_behind(events);
                continue;
            }
            if let Delivery::Split(first, second) = self.deliver(events).await {
                pending.push(second);
                pending.push(first);
            }
        }
        self.counters.abandoned.load(Ordering::Relaxed) == abandoned_before
    }

    /// One attempt at `events`: sends them once and settles what the answer settles (accounted
    /// when delivered, reported when refused for good, counted when the service is away). The
    /// one place where an answer is classified, for the queue and for the spool alike.
    async fn attempt(&mut self, events: Vec<EncodedEvent>, retries: &mut u32, from_spool: bool) -> Attempt {
        let sent = self.client.send_batch(&events, Retry::Never);
        let error = match before_deadline(&mut self.deadline, sent).await {
            None => return Attempt::PastDeadline(events),
            Some(Ok(response)) => {
                self.available_again(*retries);
                *retries = 0;
                self.account(events, response, from_spool);
                return Attempt::Delivered;
            }
            Some(Err(error)) => error,
        };
        if refused_for_its_content(&error) && events.len() > 1 {
            return Attempt::Split(events);
        }
        if !should_retry(&error) {
            self.reject_all(events, &error);
            return Attempt::Rejected;
        }
        self.note_unavailable(&error, events.len());
        let delay = self
            .backoff
            .delay((*retries).min(32), error.retry_after(), &mut self.jitter);
        *retries = retries.saturating_add(1);
        Attempt::Unavailable(events, delay)
    }

    async fn deliver(&mut self, events: Vec<EncodedEvent>) -> Delivery {
        let mut retries = 0u32;
        let mut events = events;
        loop {
            let delay = match self.attempt(events, &mut retries, false).await {
                Attempt::Delivered | Attempt::Rejected => return Delivery::Done,
                Attempt::PastDeadline(kept) => return self.spool_or_abandon(kept),
                Attempt::Split(mut first) => {
                    let second = first.split_off(first.len() / 2);
                    return Delivery::Split(first, second);
                }
                Attempt::Unavailable(kept, delay) => {
                    events = kept;
                    delay
                }
            };
            if self.spool.is_some() {
                match self.append_to_spool(events) {
                    Ok(()) => return Delivery::Done,
                    Err(kept) => events = kept,
                }
            }
            if before_deadline(&mut self.deadline, tokio::time::sleep(delay))
                .await
                .is_none()
            {
                return self.spool_or_abandon(events);
            }
        }
    }

    /// Delivers the spool, oldest first, until it is empty; events queued meanwhile join its
    /// end. False when the shutdown deadline passed first (the rest stays in the spool).
    async fn replay(&mut self) -> bool {
        let mut batch_size = self.max_batch_size;
        let mut retries = 0u32;
        loop {
            self.spool_queued(None);
            let mut damaged = 0;
            let events = match &mut self.spool {
                Some(spool) => spool.take(batch_size, &mut damaged),
                None => Vec::new(),
            };
            if damaged > 0 {
                Counters::add(&self.counters.spool_corrupt, damaged as usize);
            }
            if events.is_empty() {
                if !self.unspooled.is_empty() {
                    // The spool is empty but would not take these: deliver them from memory.
                    self.buffer = mem::take(&mut self.unspooled);
                    return self.export().await;
                }
                return true;
            }
            match self.attempt(events, &mut retries, true).await {
                Attempt::Delivered => {
                    batch_size = self.max_batch_size;
                    self.acknowledge();
                }
                Attempt::Rejected => self.acknowledge(),
                Attempt::PastDeadline(kept) => {
                    self.put_back(kept);
                    return false;
                }
                Attempt::Split(kept) => {
                    batch_size = kept.len() / 2;
                    self.put_back(kept);
                }
                Attempt::Unavailable(kept, delay) => {
                    self.put_back(kept);
                    if !self.wait_spooling(delay).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Waits `delay`, moving events queued meanwhile to the spool; false when the shutdown
    /// deadline passed.
    async fn wait_spooling(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            let receiving = self.receiving && self.unspooled.is_empty();
            let rx = &mut self.rx;
            let next = async move {
                if receiving {
                    tokio::time::timeout_at(until, rx.recv()).await.ok()
                } else {
                    tokio::time::sleep_until(until).await;
                    None
                }
            };
            match before_deadline(&mut self.deadline, next).await {
                None => return false,
                Some(None) => return true,
                Some(Some(None)) => self.receiving = false,
                Some(Some(Some(message))) => self.spool_queued(Some(message)),
            }
        }
    }

    /// Moves `first` and whatever else is queued now to the spool, one append per chunk.
    fn spool_queued(&mut self, mut first: Option<Message>) {
        let mut events = Vec::new();
        while self.unspooled.is_empty() {
            let message = match first.take() {
                Some(message) => message,
                None if !self.receiving => break,
                None => match self.rx.try_recv() {
                    Ok(message) => message,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.receiving = false;
                        break;
                    }
                },
            };
            match message {
                Message::Event(event) => {
                    events.push(event);
                    if events.len() >= SPOOL_CHUNK {
                        self.spool_behind(mem::take(&mut events));
                    }
                }
                Message::Flush(reply) => self.flushes.push(reply),
                Message::Shutdown(reply) => self.begin_shutdown(reply),
            }
        }
        self.spool_behind(events);
    }

    /// Appends `events` behind everything already waiting: after the events the spool refused
    /// earlier (retried first, in order), or kept with them when the spool refuses again.
    fn spool_behind(&mut self, events: Vec<EncodedEvent>) {
        let mut waiting = mem::take(&mut self.unspooled);
        waiting.extend(events);
        if let Err(kept) = self.append_to_spool(waiting) {
            self.unspooled = kept;
        }
    }

    /// Appends `events` to the spool and fsyncs them, or gives them back (no spool, or the
    /// write failed).
    fn append_to_spool(&mut self, events: Vec<EncodedEvent>) -> Result<(), Vec<EncodedEvent>> {
        if events.is_empty() {
            return Ok(());
        }
        let Some(spool) = &mut self.spool else {
            return Err(events);
        };
        match spool.append(&events) {
            Ok(()) => {
                Counters::add(&self.counters.spooled, events.len());
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, events = events.len(), "could not write to the audit spool; keeping the events in memory");
                Err(events)
            }
        }
    }

    fn put_back(&mut self, events: Vec<EncodedEvent>) {
        if let Some(spool) = &mut self.spool {
            spool.put_back(events);
        }
    }

    fn acknowledge(&mut self) {
        if let Some(spool) = &mut self.spool {
            spool.acknowledge();
        }
    }

    fn note_unavailable(&mut self, error: &Error, events: usize) {
        if !mem::replace(&mut self.unavailable, true) {
            tracing::warn!(%error, events, spool = self.spool.is_some(), "audit service unavailable; retrying");
        }
        Counters::add(&self.counters.retried, 1);
    }

    fn available_again(&mut self, retries: u32) {
        if mem::take(&mut self.unavailable) {
            tracing::info!(retries, "audit service available again");
        }
    }

    fn account(&self, events: Vec<EncodedEvent>, response: BatchResponse, from_spool: bool) {
        let mut events: Vec<Option<EncodedEvent>> = events.into_iter().map(Some).collect();
        let mut sent = 0;
        for result in response.results {
            match result.status {
                BatchItemStatus::Created | BatchItemStatus::Duplicate => sent += 1,
                BatchItemStatus::Rejected => {
                    let Some(event) = events.get_mut(result.index).and_then(Option::take) else {
                        continue;
                    };
                    let problem = result.error.unwrap_or_else(|| Problem {
                        problem_type: "about:blank".into(),
                        title: "Rejected".into(),
                        status: 422,
                        detail: "the service rejected the event without saying why".into(),
                        errors: Vec::new(),
                        allowed_actions: None,
                    });
                    self.report(event, problem);
                }
            }
        }
        Counters::add(&self.counters.sent, sent);
        if from_spool {
            Counters::add(&self.counters.replayed, sent);
        }
    }

    fn reject_all(&self, events: Vec<EncodedEvent>, error: &Error) {
        let problem = match error.problem() {
            Some(problem) => problem.clone(),
            None => Problem {
                problem_type: "about:blank".into(),
                title: "Not Delivered".into(),
                status: 502,
                detail: error.to_string(),
                errors: Vec::new(),
                allowed_actions: None,
            },
        };
        tracing::warn!(%error, events = events.len(), "audit service refused a whole batch");
        for event in events {
            self.report(event, problem.clone());
        }
    }

    fn report(&self, event: EncodedEvent, problem: Problem) {
        Counters::add(&self.counters.rejected, 1);
        if let Some(dead_letters) = &self.dead_letters {
            dead_letters.keep(&event, &problem);
        }
        // Queued events were serialized from events, so they read back as events (but for a
        // state nested too deep to read, which may be what the service refused).
        let Ok(event) = event.decode_readable() else {
            tracing::error!(id = %event.id(), status = problem.status, detail = %problem.detail,
                "audit event rejected by the service");
            return;
        };
        tracing::error!(
            id = ?event.id, resource_type = %event.resource_type, action = %event.action,
            status = problem.status, detail = %problem.detail, errors = ?problem.errors,
            "audit event rejected by the service"
        );
        if let Some(callback) = &self.on_rejected {
            callback(RejectedEvent { event, problem });
        }
    }

    /// At the shutdown deadline: into the spool if there is one, else given up.
    fn spool_or_abandon(&mut self, events: Vec<EncodedEvent>) -> Delivery {
        if let Err(events) = self.append_to_spool(events) {
            self.abandon(events);
        }
        Delivery::Done
    }

    fn abandon(&self, events: Vec<EncodedEvent>) {
        Counters::add(&self.counters.abandoned, events.len());
        tracing::warn!(
            events = events.len(),
            "audit dispatcher shutdown deadline passed: events abandoned"
        );
    }
}

/// Whether the service refused a batch for what it holds (too large, or unreadable because of
/// one event in it) rather than for who sent it: then halves are tried, so that only the events
/// at fault are rejected and the rest of the batch is still delivered.
fn refused_for_its_content(error: &Error) -> bool {
    matches!(
        error.status(),
        Some(StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY)
    )
}
