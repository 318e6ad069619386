//! The host app with and without the audit layer under the same load: throughput and p50/p99
//! latency of mutating requests (PATCH with a before-state loader and the response as
//! `after`) and of GET.
//!
//! `cargo bench -p audit-tower --bench overhead` (`BENCH_SECONDS` per run, default 3;
//! `BENCH_CONCURRENCY`, default 32; `BENCH_ROUNDS`, default 3, 0 for the in-process part
//! only). Variants: no layer; the layer with a sink that discards (the layer's own cost); the
//! layer with a `Dispatcher` shipping to a real audit server in this process (SQLite), the
//! whole cost on this machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use audit_client::{AuditClient, Dispatcher, DispatcherConfig};
use audit_core::{AuditEvent, Scope};
use audit_server::testing::TestServer;
use axum::Router;
use host_app::Store;
use serde_json::json;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Load {
    Patch,
    Get,
}

struct Outcome {
    requests: u64,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Outcome {
    fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    address
}

/// A prompt per worker, so that PATCHes do not all contend on one entry's history.
async fn seed(http: &reqwest::Client, address: SocketAddr, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let response = http
            .post(format!("http://{address}/api/projects/p_1/prompts"))
            .header("x-user-id", "u_bench")
            .json(&json!({ "name": format!("bench-{i}"), "prompt": "Hello {{name}}" }))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn run(address: SocketAddr, load: Load, concurrency: usize, duration: Duration) -> Outcome {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let ids = seed(&http, address, concurrency).await;
    // Warm-up.
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    let started = Instant::now();
    for id in ids {
        let http = http.clone();
        let stop = stop.clone();
        let count = count.clone();
        workers.push(tokio::spawn(async move {
            let url = format!("http://{address}/api/projects/p_1/prompts/{id}");
            let mut latencies = Vec::with_capacity(100_000);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let request = match load {
                    Load::Patch => http
                        .patch(&url)
                        .json(&json!({ "prompt": format!("Hello {{name}} #{n}") })),
                    Load::Get => http.get(&url),
                };
                let sent = Instant::now();
                let response = request
                    .header("x-user-id", "u_bench")
                    .header("x-org-role", "ADMIN")
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                let _ = response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
                n += 1;
            }
            count.fetch_add(n, Ordering::Relaxed);
            latencies
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Outcome {
        requests: count.load(Ordering::Relaxed),
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn sink_for_in_process(discarded: &Arc<AtomicU64>) -> impl Fn(AuditEvent) -> bool + Send + Sync + 'static {
    let discarded = discarded.clone();
    move |event: AuditEvent| {
        std::hint::black_box(event);
        discarded.fetch_add(1, Ordering::Relaxed);
        true
    }
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
async fn in_process(dispatcher: &Dispatcher, sink: impl Fn(AuditEvent) -> bool + Send + Sync + 'static) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    const N: usize = 20_000;
    let apps = [
        ("no layer", host_app::app_without_audit(Store::default())),
        ("layer, discarding sink", host_app::app(Store::default(), sink)),
        (
            "layer + dispatcher to server",
            host_app::app(Store::default(), dispatcher.clone()),
        ),
    ];
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
    println!("\nIn process, one request at a time ({N} per variant and load, no sockets)");
    println!("| load | variant | mean | p50 | p99 | CPU time per request |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for load in [Load::Patch, Load::Get] {
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
            let mut latencies = Vec::with_capacity(N);
            let started = Instant::now();
            let cpu_before = thread_cpu();
            for n in 0..N {
                let request = match load {
                    Load::Patch => request(
                        "PATCH",
                        &uri,
                        json!({ "prompt": format!("Hello #{n}") }).to_string(),
                    ),
                    Load::Get => request("GET", &uri, String::new()),
                };
                let sent = Instant::now();
                let response = app.clone().oneshot(request).await.unwrap();
                let _ = response.into_body().collect().await.unwrap();
                latencies.push(sent.elapsed());
            }
            let mean = started.elapsed() / N as u32;
            let cpu = match (cpu_before, thread_cpu()) {
                (Some(before), Some(after)) => {
                    format!("{:.2} µs", (after - before).as_secs_f64() * 1e6 / N as f64)
                }
                _ => "n/a".to_owned(),
            };
            latencies.sort_unstable();
            println!(
                "| {load:?} | {name} | {:.1} µs | {:.1} µs | {:.1} µs | {cpu} |",
                mean.as_secs_f64() * 1e6,
                latencies[N / 2].as_secs_f64() * 1e6,
                latencies[N * 99 / 100].as_secs_f64() * 1e6
            );
            let _ = tokio::time::timeout(Duration::from_secs(60), dispatcher.flush()).await;
        }
    }
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let server = TestServer::start_sqlite().await;
        let org = server.create_org("bench").await;
        let key = server.create_key(org.id, &[Scope::AuditLogsWrite]).await;
        let client = AuditClient::new(server.base_url(), key.secret.as_str()).unwrap();
        let dispatcher = Dispatcher::spawn(client, DispatcherConfig::default());
        let discarded = Arc::new(AtomicU64::new(0));
        let sink = {
            let discarded = discarded.clone();
            move |event: AuditEvent| {
                std::hint::black_box(event);
                discarded.fetch_add(1, Ordering::Relaxed);
                true
            }
        };

        let plain = serve(host_app::app_without_audit(Store::default())).await;
        let null = serve(host_app::app(Store::default(), sink)).await;
        let shipped = serve(host_app::app(Store::default(), dispatcher.clone())).await;
        let plain_again = serve(host_app::app_without_audit(Store::default())).await;
        let bare = serve(host_app::app_with_layer(
            Store::default(),
            audit_tower::AuditLayer::builder(sink_for_in_process(&discarded))
                .with_body_limit(0)
                .build(),
        ))
        .await;
        let variants = [
            ("no layer", plain),
            ("layer, discarding sink", null),
            ("layer + dispatcher to server", shipped),
            ("layer, discarding, no loader, no body copy", bare),
            ("no layer, again (a control for order effects)", plain_again),
        ];

        println!(
            "concurrency {concurrency}, {seconds} s per run, {rounds} rounds, {} worker threads",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        // BENCH_ROUNDS=0 measures in process only.
        for load in [Load::Patch, Load::Get].into_iter().filter(|_| rounds > 0) {
            let mut results: Vec<Vec<Outcome>> = variants.iter().map(|_| Vec::new()).collect();
            for _ in 0..rounds {
                for (i, (_, address)) in variants.iter().enumerate() {
                    results[i].push(run(*address, load, concurrency, duration).await);
                    // The audit server's catching up must not weigh on the next run.
                    let _ = tokio::time::timeout(Duration::from_secs(60), dispatcher.flush()).await;
                }
            }
            println!("\n{load:?}");
            println!("| variant | req/s (median of rounds) | p50 | p99 |");
            println!("| --- | ---: | ---: | ---: |");
            let mut base = None;
            for ((name, _), outcomes) in variants.iter().zip(&mut results) {
                outcomes.sort_by(|a, b| a.throughput().total_cmp(&b.throughput()));
                let median = &outcomes[outcomes.len() / 2];
                let mut p50: Vec<Duration> = outcomes.iter().map(|o| o.p50).collect();
                let mut p99: Vec<Duration> = outcomes.iter().map(|o| o.p99).collect();
                p50.sort();
                p99.sort();
                let (p50, p99) = (p50[p50.len() / 2], p99[p99.len() / 2]);
                let throughput = median.throughput();
                let delta = match base {
                    None => {
                        base = Some((throughput, p99));
                        String::new()
                    }
                    Some((t, b99)) => format!(
                        " ({:+.1}% req/s, p99 {:+} µs)",
                        (throughput / t - 1.0) * 100.0,
                        p99.as_micros() as i64 - b99.as_micros() as i64
                    ),
                };
                println!(
                    "| {name} | {throughput:.0}{delta} | {} µs | {} µs |",
                    p50.as_micros(),
                    p99.as_micros()
                );
            }
        }
        in_process(&dispatcher, sink_for_in_process(&discarded)).await;
        let _ = tokio::time::timeout(Duration::from_secs(30), dispatcher.flush()).await;
        println!(
            "\ndiscarding sink took {} events; dispatcher: {:?}",
            discarded.load(Ordering::Relaxed),
            dispatcher.stats()
        );
    });
}
