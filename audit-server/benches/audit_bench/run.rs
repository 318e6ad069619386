//! The benchmark run: raw limit, then the server as a child process over real HTTP, then the
//! report.
use anyhow::Context;
use audit_core::timestamp;
use chrono::Utc;
use sea_orm::ConnectionTrait;

use crate::alternation::RoundPlan;
use crate::data::{EXPORT_RESOURCE_TYPE, Generator, HOST_API_KEYS, PROJECTS, RESOURCES_PER_TYPE, Rng, USERS};
use crate::db::{Backend, Place};
use crate::load::{Api, FilterCase};
use crate::report::{PhaseMemory, Report};
use crate::server::{Sampler, ServeOptions, ServerProcess};
use crate::{big, explain, load, proofs, raw, report, server, tree_cost, witness_outage};

/// What one run does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `--database-url` as given.
    pub database_url: String,
    /// Records to seed.
    pub records: usize,
    /// Rows for the raw limit.
    pub raw_rows: usize,
    /// Single events sent by the concurrent clients.
    pub single_events: usize,
    /// Concurrent single-event clients.
    pub clients: usize,
    /// First-page requests per filter.
    pub query_requests: usize,
    /// Events per concurrency probe of the batch ingest.
    pub probe_events: usize,
    /// Inclusion (and consistency) proofs to request.
    pub proof_requests: usize,
    /// Concurrent proof clients.
    pub proof_clients: usize,
    /// Rounds of the tree and witness comparisons.
    pub rounds: usize,
    /// Events per round.
    pub round_events: usize,
    /// The deep page to reach.
    pub deep_page: usize,
    /// Keep the databases.
    pub keep: bool,
    /// The command line, for the report.
    pub command: String,
    /// Seed of the generator.
    pub seed: u64,
    /// Seed the trail straight into the database and measure only the reads (`--big`).
    pub big: bool,
}

/// Runs every measurement and answers the report.
pub async fn run(plan: Plan) -> anyhow::Result<Report> {
    let mut place = Place::new(&plan.database_url, plan.keep)?;
    let backend = place.backend;
    let result = if plan.big {
        big::run(&plan, &mut place).await
    } else {
        run_in(&plan, &mut place).await
    };
    place.clean_up().await;
    let mut report = result?;
    report.backend = backend;
    report.load_at_end = report::load_average();
    Ok(report)
}

async fn run_in(plan: &Plan, place: &mut Place) -> anyhow::Result<Report> {
    let backend = place.backend;
    let mut report = Report::new(backend, plan);

    eprintln!("[1/8] raw limit on {}: {} rows", backend.name(), plan.raw_rows);
    let raw_url = place.fresh("raw").await?;
    let raw = raw::measure(backend, &raw_url, plan.raw_rows, plan.seed ^ 0x5eed).await?;
    eprintln!(
        "  {} rows in {:.1} s: {:.0} rows/s ({:.0} bytes per row)",
        raw.rows,
        raw.elapsed.as_secs_f64(),
        raw.rate(),
        raw.avg_row_bytes
    );
    report.raw = Some(raw);
    place.discard("raw").await;

    let trail_url = place.fresh("trail").await?;
    let work_dir = std::env::temp_dir();
    let server = ServerProcess::start(&trail_url, &work_dir, &ServeOptions::default()).await?;
    let sampler = Sampler::start(server.pid);
    report.memory_at_start_kib = server.memory().map_or(0, |memory| memory.rss_kib);
    eprintln!("  server pid {} at {}", server.pid, server.base_url);
    let outcome = measure_server(plan, backend, &trail_url, &server, &sampler, &mut report).await;
    report.peak_kib = server.memory().map_or(0, |memory| memory.hwm_kib);
    sampler.stop();
    server.stop().await?;
    outcome?;
    if !plan.keep {
        place.discard("trail").await;
    }
    let rounds = RoundPlan {
        rounds: plan.rounds,
        events: plan.round_events,
        // The concurrency the seed found fastest.
        concurrency: report.batch.as_ref().map_or(2, |batch| batch.concurrency),
    };

    eprintln!(
        "[9/10] batch ingest without and with the Merkle tree: {} rounds of {} events, fresh databases",
        rounds.rounds, rounds.events
    );
    report.tree_cost = Some(tree_cost::measure(place, &work_dir, rounds, plan.seed ^ 0x7ee).await?);

    eprintln!(
        "[10/10] batch ingest with the witness running and stopped: {} rounds of {} events",
        rounds.rounds, rounds.events
    );
    report.witness = Some(witness_outage::measure(place, &work_dir, rounds, plan.seed ^ 0x3717).await?);
    Ok(report)
}

fn print_single(single: &load::SingleIngest) {
    eprintln!(
        "  {:.0} events/s, p50 {:.1} ms, p99 {:.1} ms",
        single.rate(),
        single.latency.p50_ms,
        single.latency.p99_ms
    );
}

async fn measure_server(
    plan: &Plan,
    backend: Backend,
    trail_url: &str,
    server: &ServerProcess,
    sampler: &Sampler,
    report: &mut Report,
) -> anyhow::Result<()> {
    let api = Api::set_up(&server.base_url).await?;
    let mut generator = Generator::new(plan.seed);
    let phase = phase_recorder(server, sampler);
    sampler.take_window_max();

    eprintln!("[2/8] batch ingest: seeding {} records", plan.records);
    let seed_start = Utc::now();
    // A PostgreSQL without autovacuum never gathers statistics, and the planner then reads the
    // whole organization for the append's idempotency lookup; stand in for the daemon.
    let analyze = match backend {
        Backend::Postgres => {
            let db = sea_orm::Database::connect(trail_url).await?;
            let autovacuum = db
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SHOW autovacuum",
                ))
                .await?
                .and_then(|row| row.try_get::<String>("", "autovacuum").ok());
            if autovacuum.as_deref() == Some("off") {
                eprintln!("  autovacuum is off: ANALYZE audit_logs after each 100,000 events (not timed)");
                report.notes.push(
                    "autovacuum is off on this PostgreSQL server, so the benchmark runs `ANALYZE audit_logs` \
                     after each seeding probe and each 100,000 events (not timed), as the autovacuum daemon would"
                        .to_owned(),
                );
                Some(db)
            } else {
                None
            }
        }
        Backend::Sqlite => None,
    };
    let batch = load::seed(
        &api,
        &mut generator,
        plan.records,
        plan.probe_events,
        100_000,
        analyze.as_ref(),
    )
    .await?;
    let seed_end = Utc::now();
    eprintln!(
        "  {} events in {:.1} s: {:.0} events/s with {} connection(s)",
        batch.events,
        batch.elapsed.as_secs_f64(),
        batch.rate(),
        batch.concurrency
    );
    report.batch = Some(batch);
    phase(report, "batch ingest (seeding)");

    eprintln!(
        "[3/8] single-event ingest: {} events from {} clients",
        plan.single_events, plan.clients
    );
    let single = load::single_events(
        std::slice::from_ref(&api),
        &mut generator,
        plan.single_events,
        plan.clients,
    )
    .await?;
    print_single(&single);
    report.single = Some(single);
    phase(report, "single-event ingest");

    eprintln!(
        "[3b/8] single-event ingest: {} events from {} clients, one organization each",
        plan.single_events, plan.clients
    );
    let mut tenants = Vec::with_capacity(plan.clients);
    for _ in 0..plan.clients {
        tenants.push(Api::set_up(&server.base_url).await?);
    }
    // A generator of its own: the main trail's counts (checked by later phases) stay exact.
    let mut tenant_events = Generator::new(plan.seed ^ 0x5b7e);
    let spread = load::single_events(&tenants, &mut tenant_events, plan.single_events, plan.clients).await?;
    print_single(&spread);
    report.single_spread = Some(spread);
    phase(report, "single-event ingest over many organizations");
    report.records = generator.made();

    measure_reads(
        &Reads {
            plan,
            backend,
            trail_url,
            server,
            sampler,
            api: &api,
            generator: &generator,
            seed_start,
            seed_end,
        },
        report,
        &phase,
    )
    .await
}

/// Closes a phase of the report: the server's largest RSS, VmHWM and CPU time since the last.
pub fn phase_recorder<'a>(
    server: &'a ServerProcess,
    sampler: &'a Sampler,
) -> impl Fn(&mut Report, &str) + 'a {
    let cpu_before = std::cell::Cell::new(server::cpu_seconds_of(server.pid).unwrap_or_default());
    move |report: &mut Report, name: &str| {
        let memory = server.memory().unwrap_or_default();
        let cpu = server::cpu_seconds_of(server.pid).unwrap_or_default();
        report.phases.push(PhaseMemory {
            name: name.to_owned(),
            max_rss_kib: sampler.take_window_max().max(memory.rss_kib),
            hwm_kib: memory.hwm_kib,
            cpu_seconds: cpu - cpu_before.replace(cpu),
        });
    }
}

/// What the read phases work on: a running server over a seeded trail.
pub struct Reads<'a> {
    /// The run.
    pub plan: &'a Plan,
    /// The backend.
    pub backend: Backend,
    /// The trail's database.
    pub trail_url: &'a str,
    /// The server.
    pub server: &'a ServerProcess,
    /// Its memory sampler.
    pub sampler: &'a Sampler,
    /// The trail's organization.
    pub api: &'a Api,
    /// The generator that made the trail (its counts check the exports).
    pub generator: &'a Generator,
    /// When the trail's first record was stored.
    pub seed_start: chrono::DateTime<Utc>,
    /// When its last record was stored.
    pub seed_end: chrono::DateTime<Utc>,
}

/// First pages under each filter, page 1 versus the deep page, exports, proofs, verify and the
/// query plans, each phase closed by `phase` (memory and CPU).
pub async fn measure_reads(
    reads: &Reads<'_>,
    report: &mut Report,
    phase: &impl Fn(&mut Report, &str),
) -> anyhow::Result<()> {
    let Reads {
        plan,
        backend,
        trail_url,
        server,
        sampler,
        api,
        generator,
        seed_start,
        seed_end,
    } = *reads;
    eprintln!(
        "[4/8] first page under each filter ({} requests each)",
        plan.query_requests
    );
    let cases = filter_cases(plan.seed, seed_start, seed_end);
    report.filters = load::first_pages(api, &cases, plan.query_requests).await?;
    phase(report, "first pages");

    let deep_target = plan
        .deep_page
        .min((generator.made() as usize / 50).saturating_sub(2))
        .max(2);
    eprintln!("[5/8] page 1 versus page {deep_target}, following cursors");
    let deep = load::deep_page(api, deep_target, plan.query_requests).await?;
    eprintln!(
        "  walked {} pages in {:.1} s; page 1 p50 {:.2} ms, page {} p50 {:.2} ms",
        deep.page,
        deep.walk.as_secs_f64(),
        deep.first.p50_ms,
        deep.page,
        deep.deep.p50_ms
    );
    let deep_before_seq = deep.deep_before_seq;
    report.deep = Some(deep);
    phase(report, "deep pages");

    eprintln!("[6/8] exports");
    let subset = vec![("resourceType".to_owned(), EXPORT_RESOURCE_TYPE.to_owned())];
    let expected = generator.count_of(EXPORT_RESOURCE_TYPE);
    let exports = [
        ("all records", "jsonl", Vec::new(), None),
        ("all records", "csv", Vec::new(), None),
        ("resourceType=prompt", "jsonl", subset.clone(), Some(expected)),
        ("resourceType=prompt", "csv", subset, Some(expected)),
    ];
    for (label, format, filter, expected) in exports {
        let export = load::export(api, server, sampler, label, format, &filter, expected).await?;
        eprintln!(
            "  {label} as {format}: {} rows in {:.1} s = {:.0} rows/s; RSS before {:.1} MiB, max during {:.1} MiB, after {:.1} MiB",
            export.rows,
            export.elapsed.as_secs_f64(),
            export.rate(),
            export.rss_before_kib as f64 / 1024.0,
            export.rss_during_max_kib as f64 / 1024.0,
            export.rss_after_kib as f64 / 1024.0
        );
        if let Some(expected) = expected
            && export.rows != expected
        {
            eprintln!("  MISMATCH: expected exactly {expected} rows");
        }
        report.exports.push(export);
        phase(report, &format!("export {label} {format}"));
    }

    // One client first: the service time of a proof, against which the concurrent figures
    // show how much is waiting for the two cores.
    let mut rng = crate::data::Rng::new(plan.seed ^ 0x9f00f);
    for (requests, clients) in [
        ((plan.proof_requests / 6).max(1), 1),
        (plan.proof_requests, plan.proof_clients),
    ] {
        eprintln!("[6b/8] inclusion and consistency proofs: {requests} each from {clients} client(s)");
        report
            .proofs
            .push(proofs::measure(api, requests, clients, seed_start, seed_end, &mut rng).await?);
    }
    phase(report, "proofs");

    eprintln!("[7/8] verify");
    let verify = load::verify(api).await?;
    eprintln!(
        "  {} records in {:.1} s = {:.0} rows/s",
        verify.report.checked,
        verify.elapsed.as_secs_f64(),
        verify.rate()
    );
    report.verify = Some(verify);
    phase(report, "verify");

    eprintln!("[8/8] query plans");
    let plan_cases: Vec<(String, Vec<(String, String)>)> = cases
        .iter()
        .map(|case| (case.name.to_owned(), case.queries[0].clone()))
        .collect();
    report.plans = explain::plans(backend, trail_url, api.org.id, &plan_cases, Some(deep_before_seq))
        .await
        .context("query plans")?;
    Ok(())
}

/// The filters of the read endpoint, each with varied values.
fn filter_cases(
    seed: u64,
    seed_start: chrono::DateTime<Utc>,
    seed_end: chrono::DateTime<Utc>,
) -> Vec<FilterCase> {
    let mut rng = Rng::new(seed ^ 0xf11e);
    let pair = |name: &str, value: String| vec![(name.to_owned(), value)];
    let mut cases = vec![FilterCase {
        name: "none",
        queries: vec![Vec::new()],
    }];
    cases.push(FilterCase {
        name: "projectId",
        queries: (0..PROJECTS)
            .map(|p| pair("projectId", format!("proj_{p:02}")))
            .collect(),
    });
    cases.push(FilterCase {
        name: "type",
        queries: ["USER", "API_KEY", "SYSTEM"]
            .iter()
            .map(|t| pair("type", (*t).to_owned()))
            .collect(),
    });
    cases.push(FilterCase {
        name: "userId",
        queries: (0..50)
            .map(|_| pair("userId", format!("user_{:04}", rng.below(USERS))))
            .collect(),
    });
    cases.push(FilterCase {
        name: "apiKeyId",
        queries: (0..HOST_API_KEYS)
            .map(|k| pair("apiKeyId", format!("pk-lf-{:08x}", k * 0x0101_0101)))
            .collect(),
    });
    let types = [
        "prompt",
        "datasetItem",
        "score",
        "dataset",
        "trace",
        "annotationQueueItem",
        "evalTemplate",
        "model",
        "project",
    ];
    cases.push(FilterCase {
        name: "resourceType",
        queries: types
            .iter()
            .map(|t| pair("resourceType", (*t).to_owned()))
            .collect(),
    });
    let prefixes = ["pr", "di", "sc", "ds", "tr", "aq", "et", "md", "pj"];
    cases.push(FilterCase {
        name: "resourceId",
        queries: (0..50)
            .map(|_| {
                let prefix = rng.pick(&prefixes);
                pair(
                    "resourceId",
                    format!("{prefix}_{:05}", rng.below(RESOURCES_PER_TYPE)),
                )
            })
            .collect(),
    });
    cases.push(FilterCase {
        name: "action",
        queries: ["update", "create", "delete", "setLabel", "complete", "bookmark"]
            .iter()
            .map(|a| pair("action", (*a).to_owned()))
            .collect(),
    });
    let span = (seed_end - seed_start).num_milliseconds().max(10);
    cases.push(FilterCase {
        name: "from/to (10% of the trail's time span)",
        queries: (0..50)
            .map(|_| {
                let offset = rng.below((span * 9 / 10) as u64) as i64;
                let from = seed_start + chrono::Duration::milliseconds(offset);
                let to = from + chrono::Duration::milliseconds(span / 10);
                vec![
                    ("from".to_owned(), timestamp::format(&from)),
                    ("to".to_owned(), timestamp::format(&to)),
                ]
            })
            .collect(),
    });
    cases
}
