//! Open loop: requests started at a fixed rate well below what the machine serves, whether
//! or not earlier ones are answered (as `wrk2` does). Under saturation (the closed loop)
//! latency is mostly queueing, every µs of CPU multiplied by the requests waiting ahead of
//! it; at a moderate fixed rate it is what a request takes, which is what a p99 target is
//! about.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::Load;
use crate::{process_cpu, prompt_url, seed, send};

/// What one paced run measured.
pub struct Paced {
    /// Every request's latency, from its start to the end of its response.
    pub latencies: Vec<Duration>,
    /// The CPU time the whole process spent per request.
    pub cpu_per_request: Option<Duration>,
    /// The rate the sender kept, in requests per second.
    pub achieved_rate: f64,
}

/// Starts `rate` requests of `load` per second for `duration` against the host app at
/// `address`. A thread of its own keeps the schedule (tokio's timer ticks in milliseconds,
/// which would start the requests due within one together, a small burst every tick whose
/// requests wait on each other), and starts each request as a task on this runtime.
pub async fn run(address: SocketAddr, load: Load, rate: u32, duration: Duration) -> Paced {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let urls: Vec<String> = seed(&http, address, 32)
        .await
        .iter()
        .map(|id| prompt_url(address, id))
        .collect();
    let total = (f64::from(rate) * duration.as_secs_f64()) as u64;
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let runtime = tokio::runtime::Handle::current();
    let cpu_before = process_cpu();
    let pacer = {
        let latencies = latencies.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut tasks = Vec::with_capacity(total as usize);
            for n in 0..total {
                let due = started + Duration::from_secs_f64(n as f64 / f64::from(rate));
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let (http, latencies) = (http.clone(), latencies.clone());
                let url = urls[n as usize % urls.len()].clone();
                tasks.push(runtime.spawn(async move {
                    let sent = Instant::now();
                    send(&http, load, &url, n).await;
                    let latency = sent.elapsed();
                    latencies.lock().unwrap().push(latency);
                }));
            }
            (tasks, started.elapsed())
        })
    };
    let (tasks, sending) = tokio::task::spawn_blocking(move || pacer.join().unwrap())
        .await
        .unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| (after - before) / total.max(1) as u32);
    let latencies = std::mem::take(&mut *latencies.lock().unwrap());
    Paced {
        latencies,
        cpu_per_request: cpu,
        achieved_rate: total as f64 / sending.as_secs_f64(),
    }
}

/// The `q` quantile of sorted `latencies`, in µs.
fn quantile(latencies: &[Duration], q: f64) -> f64 {
    let at = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
    latencies.get(at).map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
}

/// The median of `values` and their range, as "+3 µs (-5 … +9)".
fn median_and_range(mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    match (values.first(), values.get(values.len() / 2), values.last()) {
        (Some(low), Some(median), Some(high)) => format!("{median:+.0} µs ({low:+.0} … {high:+.0})"),
        _ => String::new(),
    }
}

/// Runs every variant `rounds` times, taking turns, and prints their latency percentiles
/// (all rounds' requests together) and, round by round, how far their p50 and p99 are from
/// the first variant's in the same round (the median and range of those differences).
pub async fn compare(variants: &[(&str, SocketAddr)], rate: u32, duration: Duration, rounds: usize) {
    for load in [Load::Patch, Load::Get] {
        let mut results: Vec<Vec<Paced>> = variants.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds {
            for (i, (_, address)) in variants.iter().enumerate() {
                let mut paced = run(*address, load, rate, duration).await;
                paced.latencies.sort_unstable();
                results[i].push(paced);
            }
        }
        println!("\n{load:?} at a fixed {rate} requests/s ({rounds} rounds of {duration:?}, open loop)");
        println!(
            "| variant | rate kept (lowest) | p50 | p90 | p99 | p99.9 | p50 vs no layer, by round | p99 vs no layer, by round | process CPU per request |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        let Some(baseline) = results.first() else {
            return;
        };
        for ((name, _), runs) in variants.iter().zip(&results) {
            let mut latencies: Vec<Duration> =
                runs.iter().flat_map(|r| r.latencies.iter().copied()).collect();
            latencies.sort_unstable();
            let versus = |q: f64| {
                if std::ptr::eq(runs, baseline) {
                    return String::new();
                }
                median_and_range(
                    runs.iter()
                        .zip(baseline)
                        .map(|(run, base)| quantile(&run.latencies, q) - quantile(&base.latencies, q))
                        .collect(),
                )
            };
            let kept = runs.iter().map(|r| r.achieved_rate).fold(f64::MAX, f64::min);
            let mut cpu: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.cpu_per_request.map(|d| d.as_secs_f64() * 1e6))
                .collect();
            cpu.sort_by(f64::total_cmp);
            let cpu = cpu
                .get(cpu.len() / 2)
                .map_or("n/a".to_owned(), |c| format!("{c:.1} µs"));
            println!(
                "| {name} | {kept:.0} | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {} | {} | {cpu} |",
                quantile(&latencies, 0.50),
                quantile(&latencies, 0.90),
                quantile(&latencies, 0.99),
                quantile(&latencies, 0.999),
                versus(0.50),
                versus(0.99),
            );
        }
    }
}
