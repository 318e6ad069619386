//! The soak run: many concurrent SDK clients doing mixed writes and reads against one server,
//! then a loss check. Shared by `examples/soak` (the long run) and `tests/soak.rs` (a short one).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use audit_client::{AuditClient, Dispatcher, DispatcherConfig, ExportFormat, ListRequest, RetryPolicy};
use audit_core::{AuditEvent, AuditLogFilter, PageParams, Scope, VerifyParams};
use audit_server::testing::TestServer;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::Mutex;
use uuid::Uuid;

/// How long and how wide.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// How long the clients run.
    pub duration: Duration,
    /// Concurrent clients (spread over the organizations).
    pub clients: usize,
    /// Organizations (tenants), each with its own key.
    pub organizations: usize,
}

/// What a run did.
#[derive(Debug)]
pub struct SoakReport {
    /// Wall time of the client phase.
    pub elapsed: Duration,
    /// Operations by kind: count, and latencies (p50, p99, max).
    pub operations: BTreeMap<&'static str, (usize, Duration, Duration, Duration)>,
    /// Failed operations, with the first few messages.
    pub errors: u64,
    /// The first error messages.
    pub first_errors: Vec<String>,
    /// Events the service acknowledged (201/200, batch `created`, dispatcher `sent`).
    pub acknowledged: usize,
    /// Acknowledged events missing from the trail afterwards.
    pub missing: usize,
    /// Events stored more than once, or stored without being acknowledged.
    pub unexpected: usize,
    /// Whether every organization's chain verified.
    pub chains_valid: bool,
}

impl SoakReport {
    /// Zero errors and zero loss.
    pub fn clean(&self) -> bool {
        self.errors == 0 && self.missing == 0 && self.unexpected == 0 && self.chains_valid
    }
}

impl std::fmt::Display for SoakReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: usize = self.operations.values().map(|(count, ..)| count).sum();
        let seconds = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "{total} operations in {seconds:.1} s ({:.0}/s); {} events acknowledged ({:.0}/s)",
            total as f64 / seconds,
            self.acknowledged,
            self.acknowledged as f64 / seconds
        )?;
        writeln!(
            f,
            "{:<14} {:>8} {:>10} {:>10} {:>10}",
            "operation", "count", "p50 ms", "p99 ms", "max ms"
        )?;
        for (kind, (count, p50, p99, max)) in &self.operations {
            writeln!(
                f,
                "{kind:<14} {count:>8} {:>10.1} {:>10.1} {:>10.1}",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            )?;
        }
        write!(
            f,
            "errors {}, missing {}, duplicated or unexpected {}, chains valid {}",
            self.errors, self.missing, self.unexpected, self.chains_valid
        )?;
        for error in &self.first_errors {
            write!(f, "\n  error: {error}")?;
        }
        Ok(())
    }
}

/// A tiny xorshift generator seeded from a v4 UUID: enough to mix operations.
struct Random(u64);

impl Random {
    fn new() -> Self {
        Random((Uuid::new_v4().as_u128() as u64) | 1)
    }

    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

#[derive(Default)]
struct Outcome {
    latencies: HashMap<&'static str, Vec<Duration>>,
    acknowledged: Vec<Uuid>,
    errors: Vec<String>,
}

struct Tenant {
    org_id: Uuid,
    client: AuditClient,
    dispatcher: Dispatcher,
    /// Ids the dispatcher was given; acknowledged once `flush` succeeds.
    dispatched: Mutex<Vec<Uuid>>,
}

fn event(n: usize, random: &mut Random) -> AuditEvent {
    let user = format!("u_{}", random.below(20));
    let action = ["create", "update", "delete"][random.below(3)];
    let mut event = AuditEvent::by_user(user, "dataset", format!("ds_{}", random.below(500)), action);
    event.project_id = Some(format!("p_{}", random.below(4)));
    event.after = Some(serde_json::json!({ "n": n, "rows": random.below(1_000_000) }));
    event.request_id = Some(format!("req-{n}"));
    event
}

/// Runs the soak against `server` and checks the trail afterwards.
pub async fn run(server: &TestServer, config: &SoakConfig) -> SoakReport {
    let mut tenants = Vec::new();
    for n in 0..config.organizations.max(1) {
        let org = server.create_org(&format!("Soak {n}")).await;
        let key = server.create_key(org.id, &Scope::ALL).await;
        let client = AuditClient::builder()
            .base_url(server.base_url())
            .api_key(key.secret.clone())
            .request_timeout(Duration::from_secs(60))
            .retry_policy(
                RetryPolicy::default().with_backoff(Duration::from_millis(20), Duration::from_millis(500)),
            )
            .build()
            .expect("client");
        let dispatcher = Dispatcher::spawn(
            client.clone(),
            DispatcherConfig::default().with_queue_capacity(100_000),
        );
        tenants.push(Arc::new(Tenant {
            org_id: org.id,
            client,
            dispatcher,
            dispatched: Mutex::new(Vec::new()),
        }));
    }
    let sequence = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + config.duration;
    let mut tasks = Vec::new();
    for n in 0..config.clients.max(1) {
        let tenant = tenants[n % tenants.len()].clone();
        let sequence = sequence.clone();
        tasks.push(tokio::spawn(async move {
            client_loop(&tenant, &sequence, until).await
        }));
    }
    let mut outcome = Outcome::default();
    for task in tasks {
        let part = task.await.expect("client task");
        for (kind, latencies) in part.latencies {
            outcome.latencies.entry(kind).or_default().extend(latencies);
        }
        outcome.acknowledged.extend(part.acknowledged);
        outcome.errors.extend(part.errors);
    }
    let elapsed = started.elapsed();

    // The dispatchers' events count as acknowledged once flushed.
    let mut by_org: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    for tenant in &tenants {
        if let Err(error) = tenant.dispatcher.flush().await {
            outcome.errors.push(format!("dispatcher flush: {error}"));
        }
        let stats = tenant.dispatcher.stats();
        if stats.dropped + stats.rejected + stats.abandoned > 0 {
            outcome.errors.push(format!("dispatcher: {stats:?}"));
        }
        by_org.insert(
            tenant.org_id,
            tenant.dispatched.lock().await.iter().copied().collect(),
        );
    }
    let acknowledged_total = outcome.acknowledged.len() + by_org.values().map(HashSet::len).sum::<usize>();
    let acknowledged: HashSet<Uuid> = outcome.acknowledged.iter().copied().collect();

    let (mut missing, mut unexpected, mut chains_valid) = (0, 0, true);
    let mut found = HashSet::new();
    for tenant in &tenants {
        let dispatched = by_org.remove(&tenant.org_id).unwrap_or_default();
        let stored: Vec<Uuid> = tenant
            .client
            .list_all(ListRequest::new().resource_type("dataset").page_size(1000))
            .map_ok(|record| record.id)
            .try_collect()
            .await
            .expect("read the trail back");
        let mut seen = HashSet::new();
        for id in stored {
            // Stored twice, or stored without having been acknowledged to anyone.
            let known = acknowledged.contains(&id) || dispatched.contains(&id);
            if !seen.insert(id) || !known {
                unexpected += 1;
            }
        }
        missing += dispatched.iter().filter(|id| !seen.contains(id)).count();
        found.extend(seen);
        match tenant.client.verify(VerifyParams::default()).await {
            Ok(report) => chains_valid &= report.valid,
            Err(error) => {
                chains_valid = false;
                outcome.errors.push(format!("final verify: {error}"));
            }
        }
    }
    missing += acknowledged.iter().filter(|id| !found.contains(id)).count();

    let operations = outcome
        .latencies
        .into_iter()
        .map(|(kind, mut latencies)| {
            latencies.sort_unstable();
            let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
            (kind, (latencies.len(), at(0.5), at(0.99), at(1.0)))
        })
        .collect();
    SoakReport {
        elapsed,
        operations,
        errors: outcome.errors.len() as u64,
        first_errors: outcome.errors.into_iter().take(10).collect(),
        acknowledged: acknowledged_total,
        missing,
        unexpected,
        chains_valid,
    }
}

async fn client_loop(tenant: &Tenant, sequence: &AtomicU64, until: Instant) -> Outcome {
    let mut outcome = Outcome::default();
    let mut random = Random::new();
    let client = &tenant.client;
    while Instant::now() < until {
        let choice = random.below(100);
        let started = Instant::now();
        let n = sequence.fetch_add(1, Ordering::Relaxed) as usize;
        let (kind, result): (&'static str, Result<(), String>) = match choice {
            0..30 => (
                "record",
                match client.record(event(n, &mut random)).await {
                    Ok(record) => {
                        outcome.acknowledged.push(record.id);
                        check(
                            record.org_id == tenant.org_id,
                            "record: another organization's id",
                        )
                    }
                    Err(error) => Err(format!("record: {error}")),
                },
            ),
            30..45 => {
                let size = 1 + random.below(200);
                let events: Vec<AuditEvent> = (0..size).map(|k| event(n * 1000 + k, &mut random)).collect();
                (
                    "batch",
                    match client.record_batch(events).await {
                        Ok(response) => {
                            let mut result = Ok(());
                            for item in response.results {
                                match (item.status, item.id) {
                                    (audit_core::BatchItemStatus::Created, Some(id)) => {
                                        outcome.acknowledged.push(id)
                                    }
                                    other => result = Err(format!("batch item: {other:?}")),
                                }
                            }
                            result
                        }
                        Err(error) => Err(format!("batch: {error}")),
                    },
                )
            }
            45..55 => {
                let mut event = event(n, &mut random);
                let id = event.ensure_id();
                let queued = tenant.dispatcher.record(event);
                if queued {
                    tenant.dispatched.lock().await.push(id);
                }
                ("dispatch", check(queued, "dispatcher queue full"))
            }
            55..75 => {
                let user = format!("u_{}", random.below(20));
                let filter = AuditLogFilter {
                    user_id: Some(user.clone()),
                    resource_type: Some("dataset".into()),
                    ..AuditLogFilter::default()
                };
                let page = PageParams {
                    limit: Some(50),
                    cursor: None,
                };
                (
                    "list",
                    match client.list(&filter, &page).await {
                        Ok(page) => check(
                            page.data.iter().all(|record| {
                                record.user_id.as_deref() == Some(user.as_str())
                                    && record.org_id == tenant.org_id
                            }),
                            "list: a record outside the filter or the organization",
                        ),
                        Err(error) => Err(format!("list: {error}")),
                    },
                )
            }
            75..85 => match outcome
                .acknowledged
                .get(random.below(outcome.acknowledged.len().max(1)))
                .copied()
            {
                Some(id) => (
                    "get",
                    match client.get(id).await {
                        Ok(record) => check(
                            record.id == id && record.org_id == tenant.org_id,
                            "get: wrong record",
                        ),
                        Err(error) => Err(format!("get {id}: {error}")),
                    },
                ),
                None => continue,
            },
            85..93 => {
                let project = format!("p_{}", random.below(4));
                let mut pages = client
                    .list_all(ListRequest::new().project_id(project.clone()).page_size(100))
                    .take(500);
                let mut last_seq = i64::MAX;
                let mut result = Ok(());
                while let Some(record) = pages.next().await {
                    match record {
                        Ok(record)
                            if record.seq < last_seq
                                && record.project_id.as_deref() == Some(project.as_str()) =>
                        {
                            last_seq = record.seq;
                        }
                        Ok(record) => {
                            result = Err(format!("paging: seq {} after {last_seq}", record.seq));
                            break;
                        }
                        Err(error) => {
                            result = Err(format!("paging: {error}"));
                            break;
                        }
                    }
                }
                ("page", result)
            }
            93..98 => {
                let filter = AuditLogFilter {
                    resource_id: Some(format!("ds_{}", random.below(500))),
                    from: Some(chrono::Utc::now() - chrono::Duration::seconds(10)),
                    ..AuditLogFilter::default()
                };
                (
                    "export",
                    match client.export(&filter, ExportFormat::Jsonl).await {
                        Ok(stream) => match stream
                            .try_fold(Vec::new(), |mut all, chunk| async move {
                                all.extend_from_slice(&chunk);
                                Ok(all)
                            })
                            .await
                        {
                            Ok(bytes) => {
                                let lines = bytes.split(|b| *b == b'\n').filter(|line| !line.is_empty());
                                let mut result = Ok(());
                                for line in lines {
                                    if let Err(error) =
                                        serde_json::from_slice::<audit_core::AuditRecord>(line)
                                    {
                                        result = Err(format!("export line: {error}"));
                                    }
                                }
                                result
                            }
                            Err(error) => Err(format!("export body: {error}")),
                        },
                        Err(error) => Err(format!("export: {error}")),
                    },
                )
            }
            _ => (
                "verify",
                match client.verify(VerifyParams::default()).await {
                    Ok(report) => check(report.valid, "verify: chain invalid"),
                    Err(error) => Err(format!("verify: {error}")),
                },
            ),
        };
        outcome.latencies.entry(kind).or_default().push(started.elapsed());
        if let Err(error) = result {
            outcome.errors.push(error);
        }
    }
    outcome
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}
