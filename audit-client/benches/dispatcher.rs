//! Dispatcher throughput against the real server, in-process.
//!
//! ```text
//! cargo bench -p audit-client --bench dispatcher
//! AUDIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p audit-client --bench dispatcher
//! ```
//!
//! Records `AUDIT_BENCH_EVENTS` events (default 50,000) through a [`Dispatcher`] with the
//! default batching (500 events or 200 ms), from the first `record` to the end of `flush`, on
//! SQLite and, when `AUDIT_TEST_POSTGRES_URL` is set, on PostgreSQL. Built but not run in
//! earnest by `cargo test --all-targets` (without `--bench` it records 1,000 events as a smoke
//! test).

use std::time::{Duration, Instant};

use audit_client::{AuditClient, Dispatcher, DispatcherConfig, OverflowPolicy};
use audit_core::{AuditEvent, Scope, VerifyParams};
use audit_server::testing::{Backend, TestServer};

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let events = match std::env::var("AUDIT_BENCH_EVENTS") {
        Ok(value) => value.parse().expect("AUDIT_BENCH_EVENTS is a number"),
        Err(_) if benchmarking => 50_000,
        Err(_) => 1_000,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!("| backend | events | seconds | events/s |");
        println!("|---|---:|---:|---:|");
        for backend in [Backend::Sqlite, Backend::Postgres] {
            if let Some(server) = TestServer::start(backend).await {
                let seconds = run(&server, events).await.as_secs_f64();
                let name = if backend == Backend::Sqlite {
                    "SQLite"
                } else {
                    "PostgreSQL"
                };
                println!(
                    "| {name} | {events} | {seconds:.2} | {:.0} |",
                    events as f64 / seconds
                );
                server.stop().await;
            }
        }
    });
}

async fn run(server: &TestServer, total: usize) -> Duration {
    let org = server.create_org("bench").await;
    let key = server
        .create_key(org.id, &[Scope::AuditLogsWrite, Scope::AuditLogsRead])
        .await;
    let client = AuditClient::new(server.base_url(), key.secret).expect("client");
    let config = DispatcherConfig::default().with_overflow(OverflowPolicy::Wait);
    let events: Vec<AuditEvent> = (0..total).map(event).collect();

    let dispatcher = Dispatcher::spawn(client.clone(), config);
    let started = Instant::now();
    for event in events {
        assert!(dispatcher.record_wait(event).await);
    }
    dispatcher.flush().await.expect("flush");
    let elapsed = started.elapsed();

    let stats = dispatcher.stats();
    assert_eq!(
        (stats.sent, stats.dropped, stats.rejected),
        (total as u64, 0, 0),
        "{stats:?}"
    );
    let report = client.verify(VerifyParams::default()).await.expect("verify");
    assert!(report.valid && report.head_seq as usize >= total, "{report:?}");
    dispatcher
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    elapsed
}

/// A typical event: a dataset change by a user, with a small before/after.
fn event(n: usize) -> AuditEvent {
    let mut event = AuditEvent::by_user(
        format!("u_{}", n % 97),
        "dataset",
        format!("ds_{}", n % 1000),
        "update",
    );
    event.project_id = Some("p_bench".into());
    event.before = Some(serde_json::json!({ "name": format!("dataset {n}"), "items": n }));
    event.after = Some(serde_json::json!({ "name": format!("dataset {n}"), "items": n + 1 }));
    event.request_id = Some(format!("req-{n}"));
    event
}
