//! Crash safety of the real `audit-server` binary: SIGKILL it several times, at random moments,
//! while a `Dispatcher` (with a spool directory) sends 50,000 events, restart it each time on the
//! same port and database, and check that after `flush` every event is stored exactly once, in
//! the order recorded, and the chain verifies. On SQLite (a temporary file) and PostgreSQL (a
//! database of its own; skipped without `AUDIT_TEST_POSTGRES_URL`).

#[path = "support/server_process.rs"]
#[allow(dead_code, reason = "each test binary uses part of it")]
mod server_process;

use std::time::{Duration, Instant};

use audit_client::{AuditClient, Dispatcher, DispatcherConfig, ListRequest, RetryPolicy};
use audit_core::{AuditEvent, VerifyParams};
use audit_server::testing::{Backend, TestDatabase};
use futures::TryStreamExt;
use server_process::ServerProcess;
use uuid::Uuid;

const EVENTS: usize = 50_000;
const KILLS: usize = 4;

fn random_below(bound: u64) -> u64 {
    (Uuid::new_v4().as_u128() % u128::from(bound)) as u64
}

fn event(n: usize) -> AuditEvent {
    let mut event = AuditEvent::by_user(format!("u_{}", n % 13), "dataset", format!("ds_{n}"), "update");
    event.project_id = Some("p_1".into());
    event.before = Some(serde_json::json!({ "rows": n }));
    event.after = Some(serde_json::json!({ "rows": n + 1 }));
    event
}

async fn killed_again_and_again(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(database.url(), &work.path().join("server.log")).await;

    let key = server_process::organization_with_key(&server.base_url(), "Crash").await;
    let client = AuditClient::builder()
        .base_url(server.base_url())
        .api_key(key.secret.clone())
        .request_timeout(Duration::from_secs(60))
        .retry_policy(
            RetryPolicy::default().with_backoff(Duration::from_millis(20), Duration::from_millis(500)),
        )
        .build()
        .unwrap();
    let config = DispatcherConfig::default()
        .with_queue_capacity(EVENTS)
        .with_max_batch_size(500)
        .with_batch_interval(Duration::from_millis(20))
        .with_backoff(
            RetryPolicy::default().with_backoff(Duration::from_millis(20), Duration::from_millis(250)),
        )
        .with_spool_dir(work.path().join("spool"));
    let dispatcher = Dispatcher::spawn(client.clone(), config);

    // Kill when the service has acknowledged a random number of events, plus a random few ms,
    // so the kill lands inside some request (or a commit) at an unpredictable point.
    let mut kill_at: Vec<u64> = (0..KILLS)
        .map(|_| 2_000 + random_below(EVENTS as u64 - 4_000))
        .collect();
    kill_at.sort_unstable();
    eprintln!("{backend:?}: SIGKILL after {kill_at:?} acknowledged events");

    let started = Instant::now();
    let mut recorded = Vec::with_capacity(EVENTS);
    for n in 0..EVENTS {
        let mut event = event(n);
        recorded.push(event.ensure_id());
        assert!(dispatcher.record(event), "event {n} queued");
    }
    for (round, threshold) in kill_at.iter().enumerate() {
        while dispatcher.stats().sent < *threshold {
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "no progress: {:?}",
                dispatcher.stats()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(random_below(40))).await;
        server.kill();
        let stats = dispatcher.stats();
        eprintln!("{backend:?}: kill {} at {stats:?}", round + 1);
        tokio::time::sleep(Duration::from_millis(random_below(500))).await;
        server.restart().await;
    }
    tokio::time::timeout(Duration::from_secs(900), dispatcher.flush())
        .await
        .expect("flush in time")
        .expect("flush");
    let stats = dispatcher.stats();
    eprintln!(
        "{backend:?}: {EVENTS} events, {KILLS} kills, {:?}, {stats:?}",
        started.elapsed()
    );
    assert_eq!(
        (
            stats.sent,
            stats.dropped,
            stats.rejected,
            stats.abandoned,
            stats.spool_corrupt
        ),
        (EVENTS as u64, 0, 0, 0, 0),
        "{stats:?}"
    );

    let mut stored: Vec<(i64, Uuid)> = client
        .list_all(ListRequest::new().resource_type("dataset").page_size(1000))
        .map_ok(|record| (record.seq, record.id))
        .try_collect()
        .await
        .unwrap();
    stored.sort_unstable();
    let stored_ids: Vec<Uuid> = stored.into_iter().map(|(_, id)| id).collect();
    assert_eq!(stored_ids.len(), EVENTS, "every event stored once");
    assert!(
        stored_ids == recorded,
        "every event exactly once, in the order recorded"
    );
    // The trail also holds the key's creation (key changes are audited): verify covers it all.
    let everything = client
        .list_all(ListRequest::new().page_size(1000))
        .try_fold(0u64, |count, _| async move { Ok(count + 1) })
        .await
        .unwrap();
    let report = client.verify(VerifyParams::default()).await.unwrap();
    assert!(report.valid, "{report:?}");
    assert_eq!(report.checked, everything, "{report:?}");
    assert_eq!(report.head_seq as u64, everything, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_50000_event_run_loses_and_duplicates_nothing_on_sqlite() {
    killed_again_and_again(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_50000_event_run_loses_and_duplicates_nothing_on_postgres() {
    killed_again_and_again(Backend::Postgres).await;
}
