//! Prometheus metrics: requests and their latency by route, events recorded and rejected by
//! reason, and the database pool. Served as text at `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::state::AppState;
use crate::tasks::witness_board::WitnessStanding;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bucket, bound) in self.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default)]
struct Counters {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
    events: BTreeMap<&'static str, u64>,
    rejected: BTreeMap<String, u64>,
    rate_limited: u64,
    timed_out: u64,
}

/// The server's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
    /// Log stream deliveries.
    pub streams: std::sync::Arc<crate::streams::metrics::StreamCounters>,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Counters) -> T) -> T {
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut counters)
    }

    /// Counts an answered request.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.with(|counters| {
            *counters
                .requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
            counters
                .latency
                .entry((method.to_owned(), route.to_owned()))
                .or_default()
                .observe(seconds);
        });
    }

    /// Counts stored events: `created` or `duplicate`.
    pub fn events(&self, outcome: &'static str, count: u64) {
        if count > 0 {
            self.with(|counters| *counters.events.entry(outcome).or_default() += count);
        }
    }

    /// Counts a rejected event by reason (the problem type, e.g. `validation`).
    pub fn rejected(&self, reason: &str) {
        self.with(|counters| *counters.rejected.entry(reason.to_owned()).or_default() += 1);
    }

    /// Counts a request refused by a per-credential rate limit.
    pub fn rate_limited(&self) {
        self.with(|counters| counters.rate_limited += 1);
    }

    /// Counts a request answered 503 because it outlasted the request timeout.
    pub fn timed_out(&self) {
        self.with(|counters| counters.timed_out += 1);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, db: &DatabaseConnection) -> String {
        let mut out = String::new();
        self.with(|counters| {
            out.push_str("# HELP audit_http_requests_total HTTP requests answered, by method, route and status.\n");
            out.push_str("# TYPE audit_http_requests_total counter\n");
            for ((method, route, status), count) in &counters.requests {
                let _ = writeln!(
                    out,
                    "audit_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape(route)
                );
            }
            out.push_str("# HELP audit_http_request_duration_seconds Time to answer, by method and route.\n");
            out.push_str("# TYPE audit_http_request_duration_seconds histogram\n");
            for ((method, route), histogram) in &counters.latency {
                let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
                for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                    let _ = writeln!(out, "audit_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}");
                }
                let _ = writeln!(
                    out,
                    "audit_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    histogram.count
                );
                let _ = writeln!(out, "audit_http_request_duration_seconds_sum{{{labels}}} {}", histogram.sum);
                let _ = writeln!(out, "audit_http_request_duration_seconds_count{{{labels}}} {}", histogram.count);
            }
            out.push_str("# HELP audit_events_recorded_total Events stored (created) or recognised as retries (duplicate).\n");
            out.push_str("# TYPE audit_events_recorded_total counter\n");
            for outcome in ["created", "duplicate"] {
                let count = counters.events.get(outcome).copied().unwrap_or(0);
                let _ = writeln!(out, "audit_events_recorded_total{{outcome=\"{outcome}\"}} {count}");
            }
            out.push_str("# HELP audit_events_rejected_total Events refused, by reason.\n");
            out.push_str("# TYPE audit_events_rejected_total counter\n");
            for (reason, count) in &counters.rejected {
                let _ = writeln!(out, "audit_events_rejected_total{{reason=\"{}\"}} {count}", escape(reason));
            }
            out.push_str("# HELP audit_rate_limited_total Requests refused with 429 by a per-credential rate limit.\n");
            out.push_str("# TYPE audit_rate_limited_total counter\n");
            let _ = writeln!(out, "audit_rate_limited_total {}", counters.rate_limited);
            out.push_str("# HELP audit_request_timeouts_total Requests answered 503 after the request timeout.\n");
            out.push_str("# TYPE audit_request_timeouts_total counter\n");
            let _ = writeln!(out, "audit_request_timeouts_total {}", counters.timed_out);
        });
        let (size, idle) = match db.get_database_backend() {
            DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        out.push_str("# HELP audit_db_pool_connections Database connections, by state.\n");
        out.push_str("# TYPE audit_db_pool_connections gauge\n");
        let _ = writeln!(out, "audit_db_pool_connections{{state=\"idle\"}} {idle}");
        let _ = writeln!(
            out,
            "audit_db_pool_connections{{state=\"busy\"}} {}",
            size as usize - idle.min(size as usize)
        );
        out
    }
}

/// The Prometheus text exposition of the witnesses' standings.
pub fn render_witnesses(standings: &[WitnessStanding]) -> String {
    let mut out = String::new();
    out.push_str(
            "# HELP audit_checkpoints_unwitnessed Organizations whose newest checkpoint a witness has not cosigned.\n",
        );
    out.push_str("# TYPE audit_checkpoints_unwitnessed gauge\n");
    for standing in standings {
        let _ = writeln!(
            out,
            "audit_checkpoints_unwitnessed{{witness=\"{}\"}} {}",
            escape(&standing.name),
            standing.unwitnessed
        );
    }
    out.push_str("# HELP audit_witness_submissions_total Checkpoint submissions to witnesses, by outcome.\n");
    out.push_str("# TYPE audit_witness_submissions_total counter\n");
    for standing in standings {
        for (outcome, count) in [
            ("cosigned", standing.cosigned),
            ("refused", standing.refused),
            ("unreachable", standing.unreachable),
        ] {
            let _ = writeln!(
                out,
                "audit_witness_submissions_total{{witness=\"{}\",outcome=\"{outcome}\"}} {count}",
                escape(&standing.name)
            );
        }
    }
    out
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware counting every request by its route template (never the raw path, which would
/// make a series per record id).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    state.metrics.request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`: Prometheus text.
pub async fn serve(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(state.store.connection())
            + &state.metrics.streams.render(&state.store).await
            + &state.readers.render_metrics()
            + &render_witnesses(&state.witness_board.standings()),
    )
}
