//! What the two benches share: the host app's variants and the in-process measurement.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use audit_client::Dispatcher;
use audit_core::EncodedEvent;
use audit_tower::AuditSink;
use axum::Router;
use host_app::Store;
use serde_json::json;

/// The environment variable `name` parsed, or `default` when it is unset or unreadable.
pub fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Whether the variant `name` is measured: `BENCH_ONLY` unset, or contained in `name`, or
/// after a leading `=`, equal to it (to profile one variant).
pub fn selected(name: &str) -> bool {
    let only: String = setting("BENCH_ONLY", String::new());
    match only.strip_prefix('=') {
        Some(exact) => name == exact,
        None => name.contains(&only),
    }
}

/// The loads to measure: both, or only the one named by `BENCH_LOAD` (`Patch` or `Get`).
pub fn loads() -> Vec<Load> {
    let only: String = setting("BENCH_LOAD", String::new());
    [Load::Patch, Load::Get]
        .into_iter()
        .filter(|load| only.is_empty() || format!("{load:?}").eq_ignore_ascii_case(&only))
        .collect()
}

/// Runs one request and returns how many allocations it made.
pub type CountAllocations = fn(&mut dyn FnMut()) -> u64;

/// The request a run sends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Load {
    /// PATCH a prompt: audited, with a before-state load and the response as `after`.
    Patch,
    /// GET a prompt: not audited.
    Get,
}

/// A sink that counts and drops events (already serialized, as a [`Dispatcher`] queues them):
/// the layer's own cost, without shipping.
///
/// [`Dispatcher`]: audit_client::Dispatcher
#[derive(Clone)]
pub struct DiscardingSink(Arc<AtomicU64>);

impl AuditSink for DiscardingSink {
    fn record(&self, event: EncodedEvent) -> bool {
        std::hint::black_box(event);
        self.0.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// A [`DiscardingSink`] counting into `discarded`.
pub fn discarding_sink(discarded: &Arc<AtomicU64>) -> DiscardingSink {
    DiscardingSink(discarded.clone())
}

/// The host app with a layer that has no before-state loader and copies no body (what is
/// left of the layer's cost without them), discarding its events.
pub fn bare_layer_app(discarded: &Arc<AtomicU64>) -> Router {
    host_app::app_with_layer(
        Store::default(),
        audit_tower::AuditLayer::builder(discarding_sink(discarded))
            .with_body_limit(0)
            .build(),
    )
}

/// The host app with a layer that does nothing: what axum charges for any layer (it boxes
/// every route's service, future and body once more).
pub fn noop_layer_app() -> Router {
    host_app::app_without_audit(Store::default()).layer(tower::layer::util::Identity::new())
}

/// The host app without the layer, its PATCH audited by a hand-written call in the handler,
/// discarding its events: what complete events cost when nothing is automatic.
pub fn by_hand_app(discarded: &Arc<AtomicU64>) -> Router {
    host_app::app_audited_by_hand(Store::default(), discarding_sink(discarded))
}

/// CPU time this thread has run, from `/proc/thread-self/schedstat` (nanoseconds; Linux).
/// Unlike wall-clock time it does not count the time other processes hold the cores.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// One request at a time through the router, without sockets: the layer's own cost per
/// request, free of network and client noise. The CPU time column is what the whole request
/// (router, handler, layer, body collection; the dispatcher's background sending excepted)
/// cost this thread, measured with [`thread_cpu`]: the layer's CPU cost is its difference.
///
/// `count_allocations`, when the bench counts allocations, runs one request and returns how
/// many it made (a counting allocator slows every allocation, so the throughput bench does
/// not count).
pub async fn in_process(
    dispatcher: Option<&Dispatcher>,
    discarded: &Arc<AtomicU64>,
    count_allocations: Option<CountAllocations>,
) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    // BENCH_REQUESTS: requests per variant and load.
    let n = match setting("BENCH_REQUESTS", 20_000) {
        0 => 20_000,
        n => n,
    };
    let mut apps = vec![
        ("no layer", host_app::app_without_audit(Store::default())),
        ("no layer, PATCH audited by hand", by_hand_app(discarded)),
        ("a layer that does nothing", noop_layer_app()),
        (
            "layer, discarding sink",
            host_app::app(Store::default(), discarding_sink(discarded)),
        ),
        (
            "layer, discarding, no loader, no body copy",
            bare_layer_app(discarded),
        ),
    ];
    if let Some(dispatcher) = dispatcher {
        apps.push((
            "layer + dispatcher to server",
            host_app::app(Store::default(), dispatcher.clone()),
        ));
    }
    apps.retain(|(name, _)| selected(name));
    let request = |method: &str, uri: &str, body: String| {
        http::Request::builder()
            .method(method)
            .uri(uri)
            .header("x-user-id", "u_bench")
            .header("x-org-role", "ADMIN")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    println!("\nIn process, one request at a time ({n} per variant and load, no sockets)");
    let (column, rule) = match count_allocations {
        Some(_) => (" allocations per request |", " ---: |"),
        None => ("", ""),
    };
    println!("| load | variant | mean | p50 | p99 | CPU time per request |{column}");
    println!("| --- | --- | ---: | ---: | ---: | ---: |{rule}");
    let flush = || async {
        if let Some(dispatcher) = dispatcher {
            let _ = tokio::time::timeout(Duration::from_secs(60), dispatcher.flush()).await;
        }
    };
    for load in loads() {
        for (name, app) in &apps {
            let created = app
                .clone()
                .oneshot(request(
                    "POST",
                    "/api/projects/p_1/prompts",
                    json!({ "name": "bench", "prompt": "Hello" }).to_string(),
                ))
                .await
                .unwrap();
            let created: serde_json::Value =
                serde_json::from_slice(&created.into_body().collect().await.unwrap().to_bytes()).unwrap();
            let uri = format!("/api/projects/p_1/prompts/{}", created["id"].as_str().unwrap());
            let mut latencies = Vec::with_capacity(n);
            let started = Instant::now();
            let cpu_before = thread_cpu();
            let mut allocations = 0;
            for i in 0..n {
                let request = match load {
                    Load::Patch => request(
                        "PATCH",
                        &uri,
                        json!({ "prompt": format!("Hello #{i}") }).to_string(),
                    ),
                    Load::Get => request("GET", &uri, String::new()),
                };
                let sent = Instant::now();
                // The request runs to its end on this thread (nothing in it waits on another
                // task), so what this thread allocates meanwhile is the request's.
                let mut request = Some(request);
                let mut send = || {
                    let request = request.take().expect("sent once");
                    futures::executor::block_on(async {
                        let response = app.clone().oneshot(request).await.unwrap();
                        let _ = response.into_body().collect().await.unwrap();
                    });
                };
                match count_allocations {
                    Some(count) => allocations += count(&mut send),
                    None => send(),
                }
                latencies.push(sent.elapsed());
            }
            let mean = started.elapsed() / n as u32;
            let allocations = match count_allocations {
                Some(_) => format!(" {:.1} |", allocations as f64 / n as f64),
                None => String::new(),
            };
            let cpu = match (cpu_before, thread_cpu()) {
                (Some(before), Some(after)) => {
                    format!("{:.2} µs", (after - before).as_secs_f64() * 1e6 / n as f64)
                }
                _ => "n/a".to_owned(),
            };
            latencies.sort_unstable();
            println!(
                "| {load:?} | {name} | {:.1} µs | {:.1} µs | {:.1} µs | {cpu} |{allocations}",
                mean.as_secs_f64() * 1e6,
                latencies[n / 2].as_secs_f64() * 1e6,
                latencies[n * 99 / 100].as_secs_f64() * 1e6
            );
            flush().await;
        }
    }
}
