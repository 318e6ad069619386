//! A minimal server-sent events reader over reqwest, for the live tail tests.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;

use crate::helpers::TestServer;

/// One live tail connection.
pub struct SseReader {
    bytes: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

/// One received event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

impl SseEvent {
    /// The record carried by an `auditLog` event.
    pub fn record(&self) -> Value {
        serde_json::from_str(&self.data).expect("record JSON")
    }
}

/// Opens `GET /api/v1/audit-logs/stream{query}` with `token`, and `Last-Event-ID` when given.
pub async fn open_tail(
    server: &TestServer,
    token: &str,
    query: &str,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut request = server
        .http()
        .get(server.url(&format!("/api/v1/audit-logs/stream{query}")))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    request.send().await.expect("open tail")
}

/// Opens a tail that must be accepted, and returns its reader.
pub async fn tail(server: &TestServer, token: &str, query: &str, last_event_id: Option<&str>) -> SseReader {
    let response = open_tail(server, token, query, last_event_id).await;
    assert_eq!(
        response.status(),
        200,
        "tail refused: {:?}",
        response.text().await
    );
    SseReader::new(response)
}

impl SseReader {
    /// Reads an accepted event-stream response.
    pub fn new(response: reqwest::Response) -> Self {
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert_eq!(content_type, "text/event-stream", "content type");
        SseReader {
            bytes: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event with data (comments and keep-alives skipped), or `None` when none
    /// arrives within `wait` or the stream ends.
    pub async fn next_event(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_block(&block) {
                    return Some(event);
                }
            }
            match tokio::time::timeout_at(deadline, self.bytes.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Some(Err(error))) => panic!("tail broke: {error}"),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The next record event, asserting its SSE fields match the record.
    pub async fn next_record(&mut self, wait: Duration) -> Option<Value> {
        let event = self.next_event(wait).await?;
        assert_eq!(event.event.as_deref(), Some("auditLog"), "{event:?}");
        let record = event.record();
        assert_eq!(
            event.id.as_deref(),
            Some(record["seq"].to_string().as_str()),
            "the event id is the seq"
        );
        Some(record)
    }

    /// Exactly `count` records, each within `wait`.
    pub async fn records(&mut self, count: usize, wait: Duration) -> Vec<Value> {
        let mut records = Vec::new();
        for index in 0..count {
            let record = self.next_record(wait).await;
            records.push(record.unwrap_or_else(|| panic!("record {index} of {count} did not arrive")));
        }
        records
    }
}

fn parse_block(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent {
        id: None,
        event: None,
        data: String::new(),
    };
    let mut has_data = false;
    for line in block.lines() {
        if line.starts_with(':') || line.is_empty() {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => event.id = Some(value.to_owned()),
            "event" => event.event = Some(value.to_owned()),
            "data" => {
                if has_data {
                    event.data.push('\n');
                }
                event.data.push_str(value);
                has_data = true;
            }
            _ => {}
        }
    }
    has_data.then_some(event)
}
