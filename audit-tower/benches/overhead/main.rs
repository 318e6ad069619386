//! The host app with and without the audit layer under the same load: throughput and p50/p99
//! latency of mutating requests (PATCH with a before-state loader and the response as
//! `after`) and of GET.
//!
//! `cargo bench -p audit-tower --bench overhead` (`BENCH_SECONDS` per run, default 2;
//! `BENCH_CONCURRENCY`, default 32; `BENCH_ROUNDS`, default 8, 0 for the in-process part
//! only; `BENCH_THREADS`, tokio worker threads, default one per core; `BENCH_REQUESTS`, requests
//! per variant in process, default 20000; `BENCH_ONLY`, only the variants whose name contains
//! this text, or after a `=` is this text; `BENCH_LOAD`, `Patch` or `Get` only). Variants: no
//! layer; no layer with the PATCH handler recording its event by hand (the yardstick: complete events with nothing
//! automatic); a layer that does nothing (what axum charges any layer);
//! the layer with a sink that discards (the layer's own cost), with and without its
//! before-state loader and body copy; the layer with a `Dispatcher` shipping to a real audit
//! server in this process (SQLite), the whole cost on this machine. The variants take turns,
//! round after round, and each is compared with the no-layer run of its own round.
//!
//! Then latency at a fixed rate (`BENCH_RATE`, default 5000 requests per second in all, dealt
//! in rotation to the variants, open loop; `BENCH_PACED_ROUNDS` rounds, default 5, of
//! `BENCH_PACED_SECONDS`, default 10): under saturation latency is queueing; at a moderate
//! rate it is what a request takes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use audit_client::{AuditClient, Dispatcher, DispatcherConfig};
use audit_core::Scope;
use audit_server::testing::TestServer;
use axum::Router;
use host_app::Store;
use serde_json::json;
use support::{Load, bare_layer_app, by_hand_app, discarding_sink, in_process, noop_layer_app, setting};

mod paced;
#[path = "../support/mod.rs"]
mod support;

struct Outcome {
    requests: u64,
    elapsed: Duration,
    /// CPU time the whole process (client, host app, audit server) used during the run.
    cpu: Option<Duration>,
    p50: Duration,
    p99: Duration,
}

impl Outcome {
    fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn cpu_per_request_micros(&self) -> Option<f64> {
        Some(self.cpu?.as_secs_f64() * 1e6 / self.requests as f64)
    }
}

/// CPU time (user and system) this process has used, from `/proc/self/stat` (Linux; clock
/// ticks of 10 ms).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
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

/// Sends one request of `load` (the `n`th of its sender) and reads the whole response.
async fn send(http: &reqwest::Client, load: Load, url: &str, n: u64) {
    let request = match load {
        Load::Patch => http
            .patch(url)
            .json(&json!({ "prompt": format!("Hello {{name}} #{n}") })),
        Load::Get => http.get(url),
    };
    let response = request
        .header("x-user-id", "u_bench")
        .header("x-org-role", "ADMIN")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let _ = response.bytes().await.unwrap();
}

/// The URL of prompt `id` of the host app at `address`.
fn prompt_url(address: SocketAddr, id: &str) -> String {
    format!("http://{address}/api/projects/p_1/prompts/{id}")
}

/// Closed loop: `concurrency` senders, each sending its next request as soon as the last is
/// answered, for `duration`: the throughput the machine can serve.
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
    let cpu_before = process_cpu();
    for id in ids {
        let http = http.clone();
        let stop = stop.clone();
        let count = count.clone();
        workers.push(tokio::spawn(async move {
            let url = prompt_url(address, &id);
            let mut latencies = Vec::with_capacity(100_000);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                send(&http, load, &url, n).await;
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
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    latencies.sort_unstable();
    Outcome {
        requests: count.load(Ordering::Relaxed),
        elapsed,
        cpu,
        p50: quantile(&latencies, 0.50),
        p99: quantile(&latencies, 0.99),
    }
}

/// The `q` quantile of sorted `latencies` (zero when there are none).
fn quantile(latencies: &[Duration], q: f64) -> Duration {
    let at = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
    latencies.get(at).copied().unwrap_or_default()
}

fn main() {
    let seconds: u64 = setting("BENCH_SECONDS", 2);
    let concurrency: usize = setting("BENCH_CONCURRENCY", 32);
    let rounds: usize = setting("BENCH_ROUNDS", 8);
    let threads: usize = setting(
        "BENCH_THREADS",
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    );
    let duration = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
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
        let sink = discarding_sink(&discarded);

        let plain = serve(host_app::app_without_audit(Store::default())).await;
        let null = serve(host_app::app(Store::default(), sink)).await;
        let shipped = serve(host_app::app(Store::default(), dispatcher.clone())).await;
        let plain_again = serve(host_app::app_without_audit(Store::default())).await;
        let bare = serve(bare_layer_app(&discarded)).await;
        let by_hand = serve(by_hand_app(&discarded)).await;
        let noop = serve(noop_layer_app()).await;
        // Interleaved, round after round, so that a change in the machine's speed weighs on
        // every variant alike; each is compared with the no-layer run of its own round.
        let compared: Vec<_> = [
            ("no layer", plain),
            ("no layer, PATCH audited by hand", by_hand),
            ("a layer that does nothing", noop),
            ("layer, discarding sink", null),
            ("layer, discarding, no loader, no body copy", bare),
            ("no layer, again (a control)", plain_again),
        ]
        .into_iter()
        .filter(|(name, _)| support::selected(name))
        .collect();
        let shipped_rounds = if support::selected("layer + dispatcher to server") {
            rounds
        } else {
            0
        };

        // The open-loop part first, on a fresh process. BENCH_PACED_ROUNDS=0 skips it.
        let paced_rounds: usize = setting("BENCH_PACED_ROUNDS", 5);
        if rounds > 0 && paced_rounds > 0 && !compared.is_empty() {
            let rate: u32 = setting("BENCH_RATE", 5_000);
            let paced_duration = Duration::from_secs(setting("BENCH_PACED_SECONDS", 10));
            paced::compare(&compared, rate, paced_duration, paced_rounds).await;
        }
        if rounds > 0 {
            println!(
                "\nSaturated: concurrency {concurrency}, {seconds} s per run, {rounds} rounds, {threads} worker threads"
            );
        }
        // BENCH_ROUNDS=0 measures in process only.
        for load in support::loads().into_iter().filter(|_| rounds > 0) {
            let mut results: Vec<Vec<Outcome>> = compared.iter().map(|_| Vec::new()).collect();
            for _ in 0..rounds {
                for (i, (_, address)) in compared.iter().enumerate() {
                    results[i].push(run(*address, load, concurrency, duration).await);
                }
            }
            // The whole cost on this machine, run apart: the audit server's catching up
            // after each run must not weigh on the others.
            let mut shipped_results = Vec::new();
            for _ in 0..shipped_rounds {
                shipped_results.push(run(shipped, load, concurrency, duration).await);
                let _ = tokio::time::timeout(Duration::from_secs(60), dispatcher.flush()).await;
            }
            println!("\n{load:?}");
            println!(
                "| variant | req/s (median) | vs no layer: median (range) of rounds | p50 | p99 | process CPU per request |"
            );
            println!("| --- | ---: | ---: | ---: | ---: | ---: |");
            let rows: Vec<(&str, &Vec<Outcome>)> = compared
                .iter()
                .map(|(name, _)| *name)
                .zip(&results)
                .chain([("layer + dispatcher to server (run apart)", &shipped_results)])
                .filter(|(_, outcomes)| !outcomes.is_empty())
                .collect();
            let Some(&(_, baseline)) = rows.first() else {
                continue;
            };
            for (name, outcomes) in rows.iter().copied() {
                let ratios: Vec<f64> = outcomes
                    .iter()
                    .zip(baseline)
                    .map(|(o, b)| o.throughput() / b.throughput() - 1.0)
                    .collect();
                let median = |mut values: Vec<f64>| {
                    values.sort_by(f64::total_cmp);
                    values[values.len() / 2]
                };
                let micros = |d: Vec<Duration>| median(d.iter().map(|d| d.as_secs_f64() * 1e6).collect());
                let throughput = median(outcomes.iter().map(Outcome::throughput).collect());
                let versus = if std::ptr::eq(outcomes, baseline) {
                    String::new()
                } else {
                    let (low, high) = ratios
                        .iter()
                        .fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(*r), h.max(*r)));
                    format!(
                        "{:+.1}% ({:+.1}% … {:+.1}%)",
                        median(ratios) * 100.0,
                        low * 100.0,
                        high * 100.0
                    )
                };
                let cpu: Option<Vec<f64>> = outcomes.iter().map(Outcome::cpu_per_request_micros).collect();
                println!(
                    "| {name} | {throughput:.0} | {versus} | {:.0} µs | {:.0} µs | {} |",
                    micros(outcomes.iter().map(|o| o.p50).collect()),
                    micros(outcomes.iter().map(|o| o.p99).collect()),
                    cpu.map_or("n/a".to_owned(), |cpu| format!("{:.1} µs", median(cpu))),
                );
            }
        }
        in_process(Some(&dispatcher), &discarded, None).await;
        let _ = tokio::time::timeout(Duration::from_secs(30), dispatcher.flush()).await;
        println!(
            "\ndiscarding sink took {} events; dispatcher: {:?}",
            discarded.load(Ordering::Relaxed),
            dispatcher.stats()
        );
    });
}
