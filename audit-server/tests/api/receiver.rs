//! A real HTTP receiver on loopback for log stream tests: it keeps every request it accepts,
//! can fail with 500 or 503, refuse with 400 the webhook batches holding a given resource id,
//! or answer slowly, and tracks how many requests overlap.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::Value;

/// One accepted request.
#[derive(Debug, Clone)]
pub struct Captured {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
pub struct ReceiverState {
    pub captured: Mutex<Vec<Captured>>,
    pub failing: AtomicBool,
    /// Answers 503 (unavailable) to everything while set.
    pub unavailable: AtomicBool,
    /// Refuses with 400 every webhook batch holding a record with this `resourceId`.
    pub poison: Mutex<Option<String>>,
    pub refused: AtomicUsize,
    pub delay_ms: AtomicU64,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

pub struct Receiver {
    pub url: String,
    pub state: Arc<ReceiverState>,
}

async fn accept(
    State(state): State<Arc<ReceiverState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let refusal = if state.failing.load(Ordering::SeqCst) {
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    } else if state.unavailable.load(Ordering::SeqCst) {
        Some(StatusCode::SERVICE_UNAVAILABLE)
    } else if holds_poison(&state, &body) {
        Some(StatusCode::BAD_REQUEST)
    } else {
        None
    };
    let status = if let Some(refusal) = refusal {
        state.refused.fetch_add(1, Ordering::SeqCst);
        refusal
    } else {
        state.captured.lock().unwrap().push(Captured {
            path: uri.path().to_owned(),
            headers,
            body,
        });
        StatusCode::OK
    };
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    status
}

/// Whether `body` is a webhook batch holding a record with the poison `resourceId`.
fn holds_poison(state: &ReceiverState, body: &[u8]) -> bool {
    let Some(poison) = state.poison.lock().unwrap().clone() else {
        return false;
    };
    let batch: Value = serde_json::from_slice(body).unwrap_or_default();
    batch["events"]
        .as_array()
        .is_some_and(|events| events.iter().any(|event| event["resourceId"] == poison.as_str()))
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(ReceiverState::default());
        // Larger bodies than axum's default 2 MB: Datadog's intake takes payloads up to 5 MB.
        let app = axum::Router::new()
            .fallback(accept)
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, state }
    }

    pub fn captured(&self) -> Vec<Captured> {
        self.state.captured.lock().unwrap().clone()
    }

    /// The envelopes of every accepted webhook batch, in arrival order.
    pub fn webhook_envelopes(&self) -> Vec<Value> {
        self.captured()
            .iter()
            .map(|request| {
                let body: Value = serde_json::from_slice(&request.body).expect("JSON batch");
                body["batch"].clone()
            })
            .collect()
    }

    /// The records of every accepted webhook batch, in arrival order.
    pub fn webhook_records(&self) -> Vec<Value> {
        self.captured()
            .iter()
            .flat_map(|request| {
                let body: Value = serde_json::from_slice(&request.body).expect("JSON batch");
                body["events"].as_array().expect("events").clone()
            })
            .collect()
    }
}

/// The `seq`s in the order they first arrived (redeliveries dropped, as a receiver would by id).
pub fn first_occurrences(records: &[Value]) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    records
        .iter()
        .filter(|record| seen.insert(record["id"].as_str().unwrap().to_owned()))
        .map(|record| record["seq"].as_i64().unwrap())
        .collect()
}

/// Polls `check` every 50 ms until it holds, for at most `seconds`.
pub async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {seconds} s waiting for: {what}");
}
