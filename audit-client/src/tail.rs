//! The live tail as a [`Stream`](futures::Stream) of records that survives disconnections.

use std::time::Duration;

use audit_core::{AuditLogFilter, AuditRecord};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::{AuditClient, Call};
use crate::retry::Jitter;
use crate::sse::SseParser;
use crate::{Error, Result};

/// The records of a live tail, as they are committed. See [`AuditClient::tail`].
pub type TailStream = BoxStream<'static, Result<AuditRecord>>;

/// The event name the service gives records.
const RECORD_EVENT: &str = "auditLog";
/// The service sends a keep-alive every 15 s; this long without a byte means the connection
/// is dead even if no error says so (a silent network drop).
const IDLE_LIMIT: Duration = Duration::from_secs(45);

struct Tail {
    client: AuditClient,
    filter: AuditLogFilter,
    /// The `seq` of the last record delivered, or the starting point asked for.
    last_seq: Option<i64>,
    body: Option<BoxStream<'static, reqwest::Result<Bytes>>>,
    parser: SseParser,
    ready: std::collections::VecDeque<Result<AuditRecord>>,
    /// Consecutive failed connections, for the backoff.
    failures: u32,
    jitter: Jitter,
    finished: bool,
}

impl AuditClient {
    /// Tails the trail live (`GET /api/v1/audit-logs/stream`): every record matching `filter`
    /// committed after `after_seq` (or, when `None`, after the moment of connecting), oldest
    /// first, without end.
    ///
    /// When the connection drops or goes silent, the stream reconnects with `Last-Event-ID`
    /// set to the last record it delivered, so no record is missed or repeated. Transient
    /// failures while reconnecting are yielded as `Err` items and the stream keeps trying
    /// (with the client's backoff); an error that retrying cannot fix (401, 403, 400, 422)
    /// is yielded and ends the stream. Dropping the stream closes the connection.
    pub fn tail(&self, filter: AuditLogFilter, after_seq: Option<i64>) -> TailStream {
        let tail = Tail {
            client: self.clone(),
            filter,
            last_seq: after_seq,
            body: None,
            parser: SseParser::default(),
            ready: Default::default(),
            failures: 0,
            jitter: Jitter::new(),
            finished: false,
        };
        futures::stream::unfold(tail, |mut tail| async move {
            let item = tail.next().await?;
            Some((item, tail))
        })
        .boxed()
    }
}

impl Tail {
    async fn next(&mut self) -> Option<Result<AuditRecord>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            let Some(body) = self.body.as_mut() else {
                if let Err(error) = self.connect().await {
                    if !error.is_retryable() {
                        self.finished = true;
                    }
                    return Some(Err(error));
                }
                continue;
            };
            match tokio::time::timeout(IDLE_LIMIT, body.next()).await {
                Ok(Some(Ok(chunk))) => {
                    for event in self.parser.push(&chunk) {
                        if event.event.as_deref() == Some(RECORD_EVENT) {
                            let item = self.decode(&event.data);
                            self.ready.push_back(item);
                        }
                    }
                }
                // Ended, broke, or went silent: reconnect after the last delivered record.
                Ok(Some(Err(error))) => {
                    tracing::debug!(%error, "audit tail disconnected; reconnecting");
                    self.body = None;
                }
                Ok(None) | Err(_) => self.body = None,
            }
        }
    }

    fn decode(&mut self, data: &str) -> Result<AuditRecord> {
        let record: AuditRecord = serde_json::from_str(data).map_err(|source| Error::Decode {
            source,
            body: data.to_owned(),
        })?;
        self.last_seq = Some(record.seq);
        Ok(record)
    }

    async fn connect(&mut self) -> Result<()> {
        if self.failures > 0 {
            let policy = self.client.retry_policy();
            let delay = policy.delay(self.failures - 1, None, &mut self.jitter);
            tokio::time::sleep(delay).await;
        }
        let mut call = Call::get("/api/v1/audit-logs/stream")
            .query(self.filter.to_query_pairs())
            .accept("text/event-stream");
        if let Some(seq) = self.last_seq {
            call = call.header("last-event-id", seq.to_string());
        }
        match self.client.open_stream(&call).await {
            Ok(response) => {
                self.failures = 0;
                self.parser = SseParser::default();
                self.body = Some(response.bytes_stream().boxed());
                Ok(())
            }
            Err(error) => {
                self.failures = self.failures.saturating_add(1);
                Err(error)
            }
        }
    }
}
