//! Open loop: requests started at a fixed rate well below what the machine serves, whether
//! or not earlier ones are answered (as `wrk2` does). Under saturation (the closed loop)
//! latency is mostly queueing, every µs of CPU multiplied by the requests waiting ahead of
//! it; at a moderate fixed rate it is what a request takes, which is what a p99 target is
//! about.
//!
//! The variants are measured together, not in turns: one schedule deals its requests to all
//! of them in rotation, so that every pause of this shared machine (a p99 is made of those)
//! falls on every variant alike within the same seconds.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::Load;
use crate::{prompt_url, quantile, seed, send};

/// What one paced run measured.
struct Paced {
    /// Each variant's latencies (from a request's start to the end of its response), sorted.
    latencies: Vec<Vec<Duration>>,
    /// The rate the sender kept, in requests per second, all variants together.
    achieved_rate: f64,
}

/// The variant request `n` goes to: in rotation, the rotation's start moving by one every
/// cycle, so that no variant always follows the same other one.
fn dealt(n: u64, variants: usize) -> usize {
    let k = variants as u64;
    ((n + n / k) % k) as usize
}

/// Starts `rate` requests of `load` per second for `duration`, dealt in rotation to the host
/// apps at `addresses`. A thread of its own keeps the schedule (tokio's timer ticks in
/// milliseconds, which would start the requests due within one together, a small burst
/// every tick whose requests wait on each other), and starts each request as a task on this
/// runtime.
async fn run(addresses: &[SocketAddr], load: Load, rate: u32, duration: Duration) -> Paced {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let mut urls: Vec<Vec<String>> = Vec::new();
    for &address in addresses {
        let ids = seed(&http, address, 32).await;
        urls.push(ids.iter().map(|id| prompt_url(address, id)).collect());
    }
    let variants = addresses.len();
    let total = (f64::from(rate) * duration.as_secs_f64()) as u64;
    let latencies: Arc<Vec<Mutex<Vec<Duration>>>> = Arc::new(
        (0..variants)
            .map(|_| Mutex::new(Vec::with_capacity(total as usize / variants + 1)))
            .collect(),
    );
    let runtime = tokio::runtime::Handle::current();
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
                let variant = dealt(n, variants);
                let (http, latencies) = (http.clone(), latencies.clone());
                let url = urls[variant][(n as usize / variants) % urls[variant].len()].clone();
                tasks.push(runtime.spawn(async move {
                    let sent = Instant::now();
                    send(&http, load, &url, n).await;
                    let latency = sent.elapsed();
                    latencies[variant].lock().unwrap().push(latency);
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
    let latencies = latencies
        .iter()
        .map(|variant| {
            let mut latencies = std::mem::take(&mut *variant.lock().unwrap());
            latencies.sort_unstable();
            latencies
        })
        .collect();
    Paced {
        latencies,
        achieved_rate: total as f64 / sending.as_secs_f64(),
    }
}

/// The `q` quantile of sorted `latencies`, in µs.
fn micros(latencies: &[Duration], q: f64) -> f64 {
    quantile(latencies, q).as_secs_f64() * 1e6
}

/// The median of `values` and their range, as "+3 µs (-5 … +9)".
fn median_and_range(mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    match (values.first(), values.get(values.len() / 2), values.last()) {
        (Some(low), Some(median), Some(high)) => format!("{median:+.0} µs ({low:+.0} … {high:+.0})"),
        _ => String::new(),
    }
}

/// Runs all variants together `rounds` times and prints their latency percentiles (all
/// rounds' requests together) and, round by round, how far their p50 and p99 are from the
/// first variant's in the same round (the median and range of those differences).
pub async fn compare(variants: &[(&str, SocketAddr)], rate: u32, duration: Duration, rounds: usize) {
    let addresses: Vec<SocketAddr> = variants.iter().map(|(_, address)| *address).collect();
    for load in [Load::Patch, Load::Get] {
        let mut runs = Vec::new();
        for _ in 0..rounds {
            runs.push(run(&addresses, load, rate, duration).await);
        }
        let kept = runs.iter().map(|r| r.achieved_rate).fold(f64::MAX, f64::min);
        println!(
            "\n{load:?} at a fixed {rate} requests/s in all, dealt in rotation to the {} variants \
             ({rounds} rounds of {duration:?}, open loop; lowest rate kept {kept:.0}/s)",
            variants.len()
        );
        println!(
            "| variant | requests | p50 | p90 | p99 | p99.9 | p50 vs no layer, by round | p99 vs no layer, by round |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (i, (name, _)) in variants.iter().enumerate() {
            let mut latencies: Vec<Duration> =
                runs.iter().flat_map(|r| r.latencies[i].iter().copied()).collect();
            latencies.sort_unstable();
            let versus = |q: f64| {
                if i == 0 {
                    return String::new();
                }
                median_and_range(
                    runs.iter()
                        .map(|r| micros(&r.latencies[i], q) - micros(&r.latencies[0], q))
                        .collect(),
                )
            };
            println!(
                "| {name} | {} | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {} | {} |",
                latencies.len(),
                micros(&latencies, 0.50),
                micros(&latencies, 0.90),
                micros(&latencies, 0.99),
                micros(&latencies, 0.999),
                versus(0.50),
                versus(0.99),
            );
        }
    }
}
