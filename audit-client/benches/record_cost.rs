//! What recording costs the host process: the CPU time per event that a [`Dispatcher`]
//! (queueing, batching, serializing, sending) adds to the process that records, at a steady
//! rate, with the audit server (real, SQLite) in another process so that its work is not
//! counted. The server is this binary started again.
//!
//! ```text
//! cargo bench -p audit-client --bench record_cost
//! ```
//!
//! `BENCH_RATES` (events per second, default `1000,20000`), `BENCH_SECONDS` per run (default
//! 5), `BENCH_REPEATS` (default 3). Each rate runs the same paced loop without recording (the
//! pacing's own cost) and recording, in turns; the medians' difference per event is the
//! dispatcher's cost. Built but not run in earnest by `cargo test --all-targets` (without
//! `--bench` it runs 0.2 s at 1,000 events/s, once).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use audit_client::{AuditClient, Dispatcher, DispatcherConfig};
use audit_core::{AuditEvent, Scope};
use audit_server::testing::TestServer;

/// Set in the child process that serves.
const SERVER_ROLE: &str = "AUDIT_RECORD_COST_SERVER";

fn main() {
    if std::env::var_os(SERVER_ROLE).is_some() {
        serve();
        return;
    }
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let setting = |name: &str| std::env::var(name).ok().filter(|_| benchmarking);
    let seconds: f64 = setting("BENCH_SECONDS").map_or(if benchmarking { 5.0 } else { 0.2 }, |s| {
        s.parse().expect("BENCH_SECONDS is a number")
    });
    let repeats: usize = setting("BENCH_REPEATS").map_or(if benchmarking { 3 } else { 1 }, |s| {
        s.parse().expect("BENCH_REPEATS is a number")
    });
    let rates: Vec<u64> = setting("BENCH_RATES")
        .unwrap_or_else(|| if benchmarking { "1000,20000" } else { "1000" }.to_owned())
        .split(',')
        .map(|rate| rate.trim().parse().expect("BENCH_RATES lists numbers"))
        .collect();

    let mut server = Command::new(std::env::current_exe().expect("own path"))
        .env(SERVER_ROLE, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server process");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("server stdout"))
        .read_line(&mut line)
        .expect("server address");
    let (url, secret) = line.trim().split_once(' ').expect("url and key");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = AuditClient::new(url, secret).expect("client");
        println!("| events/s | CPU per event, recording (median) | of which pacing (median) | dispatcher's cost per event |");
        println!("| ---: | ---: | ---: | ---: |");
        for rate in rates {
            let dispatcher = Dispatcher::spawn(client.clone(), DispatcherConfig::default());
            paced(rate, 0.2, Some(&dispatcher)).await;
            dispatcher.flush().await.expect("warm-up delivered");
            let (mut pacing, mut recording) = (Vec::new(), Vec::new());
            for _ in 0..repeats {
                pacing.push(paced(rate, seconds, None).await);
                recording.push(paced(rate, seconds, Some(&dispatcher)).await);
            }
            let (pacing, recording) = (median(pacing), median(recording));
            let stats = dispatcher.stats();
            assert_eq!(stats.dropped, 0, "{stats:?}");
            println!(
                "| {rate} | {:.1} µs | {:.1} µs | {:.1} µs |",
                recording,
                pacing,
                recording - pacing
            );
        }
    });
    drop(server.stdin.take());
    let _ = server.wait();
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs `rate` events per second for `seconds` (in ticks of a millisecond), recording them
/// when a dispatcher is given and flushing at the end; returns this process's CPU time per
/// event in µs.
async fn paced(rate: u64, seconds: f64, dispatcher: Option<&Dispatcher>) -> f64 {
    let ticks = (seconds * 1000.0) as u64;
    let per_tick = rate.div_ceil(1000);
    let mut interval = tokio::time::interval(Duration::from_millis(1));
    let before = process_cpu();
    let mut n = 0u64;
    for _ in 0..ticks {
        interval.tick().await;
        for _ in 0..per_tick {
            let event = AuditEvent::by_user("u_1", "dataset", format!("ds_{n}"), "update");
            match dispatcher {
                Some(dispatcher) => assert!(dispatcher.record(event), "queued"),
                None => drop(std::hint::black_box(event)),
            }
            n += 1;
        }
    }
    if let Some(dispatcher) = dispatcher {
        dispatcher.flush().await.expect("delivered");
    }
    (process_cpu() - before).as_secs_f64() * 1e6 / n as f64
}

/// CPU time of every thread of this process so far, from `/proc/self/task/*/schedstat`
/// (nanoseconds; Linux).
fn process_cpu() -> Duration {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task (Linux)");
    let nanos = tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|text| text.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// The child: an audit server on SQLite, its address and a write key on stdout, until stdin
/// closes.
fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = TestServer::start_sqlite().await;
        let org = server.create_org("record-cost").await;
        let key = server.create_key(org.id, &[Scope::AuditLogsWrite]).await;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{} {}", server.base_url(), key.secret.as_str()).expect("stdout");
        stdout.flush().expect("stdout");
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await
        .expect("stdin");
        drop(server);
    });
}
