//! Read replicas against a real streaming replica: a primary and a standby the test makes
//! (see `cluster`), a server reading from the standby (`AUDIT_DATABASE_READ_URL`). Checks
//! that reads are served by the replica (its own statistics count them), that a client reads
//! its own writes 1,000 times in a row, and that with the replica stopped reads still
//! succeed from the primary. Skipped without `AUDIT_TEST_POSTGRES_URL` or PostgreSQL's tools.

mod cluster;
#[path = "../support/server_process.rs"]
#[allow(dead_code, reason = "each test binary uses part of it")]
mod server_process;

use std::time::{Duration, Instant};

use audit_client::AuditClient;
use audit_core::{AuditEvent, AuditLogFilter, PageParams};
use audit_server::config::Config;
use audit_server::testing::{ADMIN_TOKEN, TestServer};
use sea_orm::{ConnectionTrait, Database, Statement};

const PAIRS: usize = 1_000;

/// Index and sequential scans of `audit_logs` and its partitions counted by the server at `url`.
async fn audit_log_scans(url: &str) -> i64 {
    let db = Database::connect(url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT (COALESCE(sum(idx_scan), 0) + COALESCE(sum(seq_scan), 0))::bigint AS scans \
             FROM pg_stat_user_tables \
             WHERE relid IN (SELECT relid FROM pg_partition_tree('audit_logs'))",
        ))
        .await
        .unwrap()
        .unwrap();
    let scans = row.try_get::<i64>("", "scans").unwrap();
    db.close().await.unwrap();
    scans
}

/// Waits until the replica's statistics count at least `at_least` scans (backends report
/// them within seconds of going idle), and returns the count.
async fn replica_scans_reach(url: &str, at_least: i64) -> i64 {
    let started = Instant::now();
    loop {
        let scans = audit_log_scans(url).await;
        if scans >= at_least || started.elapsed() > Duration::from_secs(30) {
            return scans;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The server's `/metrics` text.
async fn metrics_of(server: &TestServer) -> String {
    reqwest::get(format!("{}/metrics", server.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the sample `name` (with its labels) in `metrics`, 0 when absent.
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

fn event(n: usize) -> AuditEvent {
    let mut event = AuditEvent::by_user("u_1", "dataset", format!("ds_{n}"), "update");
    event.after = Some(serde_json::json!({ "n": n }));
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_replica_see_their_writes_and_fail_over() {
    let Some(mut clusters) = cluster::PrimaryAndReplica::start() else {
        return;
    };
    let mut config = Config::new(clusters.primary.url());
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    config.database_read_urls = vec![clusters.replica.url()];
    let server = TestServer::start_with(config).await;

    let key = server_process::organization_with_key(&server.base_url(), "Replicated").await;
    let client = AuditClient::new(server.base_url(), key.secret.clone()).unwrap();

    // Read-your-writes: each read right after its write sees it (the client sends the
    // write's seq back; the server waits for the replica or reads the primary).
    let scans_before = audit_log_scans(&clusters.replica.url()).await;
    for n in 0..PAIRS {
        let written = client.record(event(n)).await.unwrap();
        let read = client
            .get(written.id)
            .await
            .unwrap_or_else(|error| panic!("pair {n}: the record just written is not readable: {error}"));
        assert_eq!(read, written, "pair {n}");
        if n % 50 == 0 {
            let page = client
                .list(
                    &AuditLogFilter::default(),
                    &PageParams {
                        limit: Some(1),
                        cursor: None,
                    },
                )
                .await
                .unwrap();
            assert_eq!(
                page.data.first().map(|record| record.seq),
                Some(written.seq),
                "pair {n}"
            );
        }
    }

    // The replica answered them: its own statistics count the reads (the primary's would
    // count them otherwise). Each served `get` is at least one scan of audit_logs there.
    let scans_after = replica_scans_reach(&clusters.replica.url(), scans_before + PAIRS as i64 / 2).await;
    eprintln!(
        "the replica scanned audit_logs {} times for {PAIRS} reads",
        scans_after - scans_before
    );
    assert!(
        scans_after - scans_before >= PAIRS as i64 / 2,
        "the replica scanned audit_logs {} times for {PAIRS} reads",
        scans_after - scans_before
    );

    let metrics = metrics_of(&server).await;
    assert!(
        counter(&metrics, "audit_replica_reads_total") >= PAIRS as u64 / 2,
        "{metrics}"
    );

    // The replica goes away: reads keep working, from the primary, with no error.
    clusters.replica.stop();
    let last = client.record(event(PAIRS)).await.unwrap();
    for _ in 0..20 {
        assert_eq!(client.get(last.id).await.unwrap(), last);
        let page = client
            .list(
                &AuditLogFilter::default(),
                &PageParams {
                    limit: Some(5),
                    cursor: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.data[0], last);
    }
    let primary_scans = audit_log_scans(&clusters.primary.url()).await;
    assert!(primary_scans > 0);
    // `/metrics` says why the primary answered: the replica failed a read, then was down.
    let metrics = metrics_of(&server).await;
    assert!(
        counter(&metrics, "audit_replica_fallbacks_total{reason=\"failed\"}") >= 1,
        "{metrics}"
    );
    assert!(
        counter(&metrics, "audit_replica_fallbacks_total{reason=\"down\"}") >= 20,
        "{metrics}"
    );
    server.stop().await;
}
