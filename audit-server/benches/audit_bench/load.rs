//! Load over real HTTP: batch ingest, single-event ingest with many clients, first-page and
//! deep-page reads, exports and verification.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use audit_core::{
    AuditLogPage, BatchItemStatus, BatchRequest, BatchResponse, CreatedApiKey, NewApiKey, NewOrganization,
    Organization, Scope, VerifyReport,
};
use bytes::Bytes;
use futures::StreamExt;

use crate::data::Generator;
use crate::server::{ADMIN_TOKEN, Sampler, ServerProcess};
use crate::stats::Latency;

/// Events per batch request.
pub const BATCH_EVENTS: usize = 1000;

/// An HTTP client for one organization's key.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
    /// The organization.
    pub org: Organization,
}

impl Api {
    /// Creates an organization and a key that may write and read.
    pub async fn set_up(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()?;
        let org: Organization = http
            .post(format!("{base}/api/v1/organizations"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&NewOrganization {
                name: "Bench Org".to_owned(),
            })
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Self::with_new_key(http, base, org).await
    }

    /// A new key for the existing organization `org_id` (a trail seeded before, `--big-from`).
    pub async fn for_existing(base: &str, org_id: uuid::Uuid) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()?;
        let organizations: audit_core::OrganizationList = http
            .get(format!("{base}/api/v1/organizations"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let org = organizations
            .data
            .into_iter()
            .find(|org| org.id == org_id)
            .ok_or_else(|| anyhow::anyhow!("no organization {org_id} on the server"))?;
        Self::with_new_key(http, base, org).await
    }

    async fn with_new_key(http: reqwest::Client, base: &str, org: Organization) -> anyhow::Result<Self> {
        let key: CreatedApiKey = http
            .post(format!("{base}/api/v1/organizations/{}/api-keys", org.id))
            .bearer_auth(ADMIN_TOKEN)
            .json(&NewApiKey {
                name: "bench".to_owned(),
                scopes: vec![Scope::AuditLogsWrite, Scope::AuditLogsRead],
                project_id: None,
            })
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(Api {
            http,
            base: base.to_owned(),
            key: key.secret,
            org,
        })
    }

    /// The same organization and key on a server now at `base`.
    pub fn at(&self, base: &str) -> Self {
        Api {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post_batch(&self, body: Bytes) -> anyhow::Result<usize> {
        let response = self
            .http
            .post(self.url("/api/v1/audit-logs/batch"))
            .bearer_auth(&self.key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        ensure!(
            status == 200,
            "batch answered {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
        );
        let answer: BatchResponse = serde_json::from_slice(&bytes)?;
        let created = answer
            .results
            .iter()
            .filter(|result| result.status == BatchItemStatus::Created)
            .count();
        ensure!(
            created == answer.results.len(),
            "a batch stored {created} of {} events: {:?}",
            answer.results.len(),
            answer
                .results
                .iter()
                .find(|result| result.status != BatchItemStatus::Created)
        );
        Ok(created)
    }

    async fn post_event(&self, body: Bytes) -> anyhow::Result<()> {
        let response = self
            .http
            .post(self.url("/api/v1/audit-logs"))
            .bearer_auth(&self.key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        ensure!(
            status == 201,
            "single event answered {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
        );
        Ok(())
    }

    /// The server's `/metrics` text (no credential needed).
    pub async fn metrics(&self) -> anyhow::Result<String> {
        let response = self.http.get(self.url("/metrics")).send().await?;
        ensure!(
            response.status() == 200,
            "/metrics answered {}",
            response.status()
        );
        Ok(response.text().await?)
    }

    /// Gets `path` with `query`; answers the body and the time to its last byte.
    pub async fn timed_get(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> anyhow::Result<(Bytes, Duration)> {
        let started = Instant::now();
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.key)
            .query(query)
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let elapsed = started.elapsed();
        ensure!(
            status == 200,
            "GET {path} answered {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
        );
        Ok((bytes, elapsed))
    }
}

/// Serialized batch bodies of `BATCH_EVENTS` events (the last may be shorter).
fn batch_bodies(generator: &mut Generator, events: usize) -> anyhow::Result<Vec<Bytes>> {
    let mut bodies = Vec::new();
    let mut left = events;
    while left > 0 {
        let count = left.min(BATCH_EVENTS);
        let batch = BatchRequest {
            events: generator.events(count),
        };
        bodies.push(Bytes::from(serde_json::to_vec(&batch)?));
        left -= count;
    }
    Ok(bodies)
}

/// Sends `bodies` over `concurrency` connections; answers events stored and the time taken.
async fn send_batches(api: &Api, bodies: Vec<Bytes>, concurrency: usize) -> anyhow::Result<(u64, Duration)> {
    let next = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(bodies);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (api, next, bodies) = (api.clone(), next.clone(), bodies.clone());
        workers.push(tokio::spawn(async move {
            let mut stored = 0u64;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(index) else { break };
                stored += api.post_batch(body.clone()).await? as u64;
            }
            anyhow::Ok(stored)
        }));
    }
    let mut stored = 0;
    for worker in workers {
        stored += worker.await??;
    }
    Ok((stored, started.elapsed()))
}

/// Sends `events` new events in batches of 1,000 over `concurrency` connections; answers the
/// events stored and the time taken (generation is not timed).
pub async fn batch_round(
    api: &Api,
    generator: &mut Generator,
    events: usize,
    concurrency: usize,
) -> anyhow::Result<(u64, Duration)> {
    let bodies = batch_bodies(generator, events)?;
    send_batches(api, bodies, concurrency).await
}

/// The batch-ingest figures: the concurrency probe and the whole seed.
#[derive(Debug, Clone)]
pub struct BatchIngest {
    /// Events/s for each concurrency tried on the first events.
    pub probes: Vec<(usize, u64, f64)>,
    /// The concurrency used for the rest.
    pub concurrency: usize,
    /// Events stored in all.
    pub events: u64,
    /// Time spent sending (generation excluded).
    pub elapsed: Duration,
    /// Events/s of the part sent with the chosen concurrency, by tenth of the seed.
    pub by_tenth: Vec<f64>,
}

impl BatchIngest {
    /// Events/s over the whole seed.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// Seeds `total` events in batches of 1,000: first probes 1, 2 and 4 connections on
/// `probe_events` events each, then sends the rest with the fastest, generating in segments of
/// `segment_events` (generation is not timed).
/// `analyze`, when given, is a connection to the server's PostgreSQL database whose
/// autovacuum is off: `ANALYZE audit_logs` runs on it after each probe and segment (not timed),
/// standing in for the autovacuum daemon's analyze.
pub async fn seed(
    api: &Api,
    generator: &mut Generator,
    total: usize,
    probe_events: usize,
    segment_events: usize,
    analyze: Option<&sea_orm::DatabaseConnection>,
) -> anyhow::Result<BatchIngest> {
    let analyze_now = || async {
        if let Some(db) = analyze {
            use sea_orm::ConnectionTrait;
            db.execute_unprepared("ANALYZE audit_logs").await?;
        }
        anyhow::Ok(())
    };
    let mut probes = Vec::new();
    let mut events = 0u64;
    let mut elapsed = Duration::ZERO;
    for concurrency in [1usize, 2, 4] {
        let count = probe_events.min(total.saturating_sub(events as usize));
        if count == 0 {
            break;
        }
        let bodies = batch_bodies(generator, count)?;
        let (stored, took) = send_batches(api, bodies, concurrency).await?;
        analyze_now().await?;
        let rate = stored as f64 / took.as_secs_f64();
        eprintln!("  probe: {concurrency} connection(s): {stored} events at {rate:.0} events/s");
        probes.push((concurrency, stored, rate));
        events += stored;
        elapsed += took;
    }
    let concurrency = probes
        .iter()
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .map_or(2, |probe| probe.0);
    let rest = total.saturating_sub(events as usize);
    let tenth = (rest / 10).max(1);
    let mut by_tenth = Vec::new();
    let mut sent = 0usize;
    let (mut tenth_events, mut tenth_time) = (0u64, Duration::ZERO);
    let progress_every = (rest / 20).max(1);
    let mut next_progress = progress_every;
    while sent < rest {
        let count = segment_events.min(rest - sent).min(tenth - (sent % tenth));
        let bodies = batch_bodies(generator, count)?;
        let (stored, took) = send_batches(api, bodies, concurrency).await?;
        analyze_now().await?;
        sent += count;
        events += stored;
        elapsed += took;
        tenth_events += stored;
        tenth_time += took;
        if sent.is_multiple_of(tenth) || sent == rest {
            by_tenth.push(tenth_events as f64 / tenth_time.as_secs_f64());
            (tenth_events, tenth_time) = (0, Duration::ZERO);
        }
        if sent >= next_progress {
            eprintln!(
                "  seeded {} events, {:.0} events/s so far",
                events,
                events as f64 / elapsed.as_secs_f64()
            );
            next_progress += progress_every;
        }
    }
    Ok(BatchIngest {
        probes,
        concurrency,
        events,
        elapsed,
        by_tenth,
    })
}

/// The single-event figures.
#[derive(Debug, Clone)]
pub struct SingleIngest {
    /// Concurrent clients.
    pub clients: usize,
    /// Organizations the clients write to (client `i` to organization `i mod n`).
    pub organizations: usize,
    /// Events stored.
    pub events: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Per-request latency.
    pub latency: Latency,
}

impl SingleIngest {
    /// Events/s.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// `total` single-event requests from `clients` concurrent clients, client `i` writing with
/// `apis[i % apis.len()]` (one organization each).
pub async fn single_events(
    apis: &[Api],
    generator: &mut Generator,
    total: usize,
    clients: usize,
) -> anyhow::Result<SingleIngest> {
    let bodies: Vec<Bytes> = (0..total)
        .map(|_| serde_json::to_vec(&generator.event()).map(Bytes::from))
        .collect::<Result<_, _>>()?;
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for client in 0..clients {
        let api = apis[client % apis.len()].clone();
        let (next, bodies) = (next.clone(), bodies.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(index) else { break };
                let sent = Instant::now();
                api.post_event(body.clone()).await?;
                latencies.push(sent.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    Ok(SingleIngest {
        clients,
        organizations: apis.len().min(clients),
        events: latencies.len() as u64,
        elapsed,
        latency: Latency::of(latencies),
    })
}

/// One filter of the read endpoint and the values it is tried with.
#[derive(Debug, Clone)]
pub struct FilterCase {
    /// Its name in the report.
    pub name: &'static str,
    /// Query strings, one per request (cycled).
    pub queries: Vec<Vec<(String, String)>>,
}

/// First-page latency of one filter.
#[derive(Debug, Clone)]
pub struct FilterLatency {
    /// The filter.
    pub name: &'static str,
    /// Latency of the first page (limit 50).
    pub latency: Latency,
    /// Average records on the page.
    pub avg_records: f64,
}

/// The longest a filter's first-page measurement runs: a slow filter stops early, after at
/// least [`MIN_REQUESTS`] measured requests (the report gives the count).
const FILTER_TIME_BUDGET: Duration = Duration::from_secs(30);
/// The fewest measured requests of a filter.
const MIN_REQUESTS: usize = 20;

/// Requests the first page (limit 50) of each filter `requests` times, one request at a time,
/// after 10 unmeasured warm-up requests.
pub async fn first_pages(
    api: &Api,
    cases: &[FilterCase],
    requests: usize,
) -> anyhow::Result<Vec<FilterLatency>> {
    let mut results = Vec::new();
    for case in cases {
        let mut latencies = Vec::with_capacity(requests);
        let mut records = 0usize;
        let started = Instant::now();
        for index in 0..requests + 10 {
            if latencies.len() >= MIN_REQUESTS && started.elapsed() > FILTER_TIME_BUDGET {
                break;
            }
            let mut query = case.queries[index % case.queries.len()].clone();
            query.push(("limit".to_owned(), "50".to_owned()));
            let (body, took) = api.timed_get("/api/v1/audit-logs", &query).await?;
            let page: AuditLogPage = serde_json::from_slice(&body)?;
            if index >= 10 {
                latencies.push(took);
                records += page.data.len();
            }
        }
        let measured = latencies.len().max(1);
        let latency = Latency::of(latencies);
        eprintln!(
            "  first page, {}: p50 {:.2} ms, p99 {:.2} ms ({} requests)",
            case.name, latency.p50_ms, latency.p99_ms, latency.count
        );
        results.push(FilterLatency {
            name: case.name,
            latency,
            avg_records: records as f64 / measured as f64,
        });
    }
    Ok(results)
}

/// Page 1 versus a deep page reached by following cursors.
#[derive(Debug, Clone)]
pub struct DeepPage {
    /// The deep page's number.
    pub page: usize,
    /// Time to walk there, one page after the other.
    pub walk: Duration,
    /// Latency of page 1.
    pub first: Latency,
    /// Latency of the deep page (same cursor each time).
    pub deep: Latency,
    /// The deep cursor's `seq` (for the query plan).
    pub deep_before_seq: i64,
}

/// Walks `pages` pages of 50 following `nextCursor`, then times page 1 and the last page
/// reached, alternating, `requests` times each.
pub async fn deep_page(api: &Api, pages: usize, requests: usize) -> anyhow::Result<DeepPage> {
    let limit = ("limit".to_owned(), "50".to_owned());
    let started = Instant::now();
    let mut cursor: Option<String> = None;
    let mut page = 1usize;
    while page < pages {
        let mut query = vec![limit.clone()];
        if let Some(cursor) = &cursor {
            query.push(("cursor".to_owned(), cursor.clone()));
        }
        let (body, _) = api.timed_get("/api/v1/audit-logs", &query).await?;
        let answer: AuditLogPage = serde_json::from_slice(&body)?;
        match answer.next_cursor {
            Some(next) => {
                cursor = Some(next);
                page += 1;
            }
            None => break,
        }
    }
    let walk = started.elapsed();
    let Some(cursor) = cursor else {
        bail!("the trail has a single page");
    };
    let deep_before_seq = audit_core::Cursor::decode(&cursor)
        .map(|cursor| cursor.before_seq)
        .unwrap_or_default();
    let first_query = vec![limit.clone()];
    let deep_query = vec![limit, ("cursor".to_owned(), cursor)];
    let (mut first, mut deep) = (Vec::new(), Vec::new());
    for index in 0..requests + 10 {
        let (_, a) = api.timed_get("/api/v1/audit-logs", &first_query).await?;
        let (body, b) = api.timed_get("/api/v1/audit-logs", &deep_query).await?;
        if index == 0 {
            let answer: AuditLogPage = serde_json::from_slice(&body)?;
            ensure!(
                answer.data.len() == 50,
                "page {page} holds {} records",
                answer.data.len()
            );
        }
        if index >= 10 {
            first.push(a);
            deep.push(b);
        }
    }
    Ok(DeepPage {
        page,
        walk,
        first: Latency::of(first),
        deep: Latency::of(deep),
        deep_before_seq,
    })
}

/// One export's figures.
#[derive(Debug, Clone)]
pub struct Export {
    /// What was exported.
    pub label: String,
    /// `csv` or `jsonl`.
    pub format: &'static str,
    /// Rows received.
    pub rows: u64,
    /// Rows expected, when known exactly.
    pub expected: Option<u64>,
    /// Bytes received.
    pub bytes: u64,
    /// Time to the last byte.
    pub elapsed: Duration,
    /// Server RSS just before the request, KiB.
    pub rss_before_kib: u64,
    /// Largest server RSS while streaming, KiB.
    pub rss_during_max_kib: u64,
    /// Smallest server RSS while streaming, KiB.
    pub rss_during_min_kib: u64,
    /// Server RSS a second after the end, KiB.
    pub rss_after_kib: u64,
    /// Server peak RSS (VmHWM) after the export, KiB.
    pub hwm_after_kib: u64,
    /// RSS samples while streaming: (seconds since start, MiB), thinned to about 10.
    pub rss_series: Vec<(f64, f64)>,
}

impl Export {
    /// Rows/s.
    pub fn rate(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

/// Counts CSV records (RFC 4180: line breaks inside quotes do not end a record).
#[derive(Debug, Default)]
struct CsvCounter {
    in_quotes: bool,
    records: u64,
}

impl CsvCounter {
    fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            match byte {
                b'"' => self.in_quotes = !self.in_quotes,
                b'\n' if !self.in_quotes => self.records += 1,
                _ => {}
            }
        }
    }
}

/// Streams an export with `filter` in `format`, counting rows, while sampling server memory.
pub async fn export(
    api: &Api,
    server: &ServerProcess,
    sampler: &Sampler,
    label: &str,
    format: &'static str,
    filter: &[(String, String)],
    expected: Option<u64>,
) -> anyhow::Result<Export> {
    let rss_before_kib = server.memory().map_or(0, |memory| memory.rss_kib);
    let mut query = filter.to_vec();
    query.push(("format".to_owned(), format.to_owned()));
    sampler.record();
    let started = Instant::now();
    let response = api
        .http
        .get(api.url("/api/v1/audit-logs/export"))
        .bearer_auth(&api.key)
        .query(&query)
        .send()
        .await?;
    ensure!(response.status() == 200, "export answered {}", response.status());
    let mut stream = response.bytes_stream();
    let (mut bytes, mut lines, mut csv) = (0u64, 0u64, CsvCounter::default());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("export stream")?;
        bytes += chunk.len() as u64;
        if format == "csv" {
            csv.feed(&chunk);
        } else {
            lines += chunk.iter().filter(|&&byte| byte == b'\n').count() as u64;
        }
    }
    let elapsed = started.elapsed();
    let samples = sampler.recorded();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server.memory().unwrap_or_default();
    let rows = if format == "csv" {
        csv.records.saturating_sub(1)
    } else {
        lines
    };
    let during: Vec<u64> = samples.iter().map(|(_, kib)| *kib).collect();
    let start = samples.first().map_or(Duration::ZERO, |(at, _)| *at);
    let step = (samples.len() / 10).max(1);
    let rss_series = samples
        .iter()
        .step_by(step)
        .map(|(at, kib)| ((*at - start).as_secs_f64(), *kib as f64 / 1024.0))
        .collect();
    Ok(Export {
        label: label.to_owned(),
        format,
        rows,
        expected,
        bytes,
        elapsed,
        rss_before_kib,
        rss_during_max_kib: during.iter().copied().max().unwrap_or(rss_before_kib),
        rss_during_min_kib: during.iter().copied().min().unwrap_or(rss_before_kib),
        rss_after_kib: after.rss_kib,
        hwm_after_kib: after.hwm_kib,
        rss_series,
    })
}

/// Verification of the whole chain.
#[derive(Debug, Clone)]
pub struct Verify {
    /// The server's verdict.
    pub report: VerifyReport,
    /// Time to the answer.
    pub elapsed: Duration,
}

impl Verify {
    /// Records checked per second.
    pub fn rate(&self) -> f64 {
        self.report.checked as f64 / self.elapsed.as_secs_f64()
    }
}

/// `GET /api/v1/audit-logs/verify` over the whole trail.
pub async fn verify(api: &Api) -> anyhow::Result<Verify> {
    let (body, elapsed) = api.timed_get("/api/v1/audit-logs/verify", &[]).await?;
    let report: VerifyReport = serde_json::from_slice(&body)?;
    ensure!(report.valid, "the chain does not verify: {report:?}");
    Ok(Verify { report, elapsed })
}
