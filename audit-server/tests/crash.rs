//! Crash safety of the real `audit-server` binary: SIGKILL it several times, at random moments,
//! while a `Dispatcher` (with a spool directory) sends 50,000 events, restart it each time on the
//! same port and database, and check that after `flush` every event is stored exactly once, in
//! the order recorded, and the chain verifies. On SQLite (a temporary file) and PostgreSQL (a
//! database of its own; skipped without `AUDIT_TEST_POSTGRES_URL`).

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use audit_client::{AuditClient, Dispatcher, DispatcherConfig, ListRequest, RetryPolicy};
use audit_core::{AuditEvent, NewApiKey, NewOrganization, Scope, VerifyParams};
use audit_server::testing::{ADMIN_TOKEN, Backend, TestDatabase};
use futures::TryStreamExt;
use uuid::Uuid;

const EVENTS: usize = 50_000;
const KILLS: usize = 4;

/// The server binary as a child process on a fixed port.
struct ServerProcess {
    child: Option<Child>,
    address: SocketAddr,
    database_url: String,
    log: File,
}

impl ServerProcess {
    async fn start(database_url: &str, log: &Path) -> Self {
        // A free port, released for the server to bind (and to bind again after each kill).
        let address = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let mut server = ServerProcess {
            child: None,
            address,
            database_url: database_url.to_owned(),
            log: File::create(log).unwrap(),
        };
        server.restart().await;
        server
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Starts the binary and waits until `/ready` answers 200.
    async fn restart(&mut self) {
        let http = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            let mut child = Command::new(env!("CARGO_BIN_EXE_audit-server"))
                .env("AUDIT_DATABASE_URL", &self.database_url)
                .env("AUDIT_BIND", self.address.to_string())
                .env("AUDIT_ADMIN_TOKEN", ADMIN_TOKEN)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(self.log.try_clone().unwrap())
                .spawn()
                .expect("start audit-server");
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    // Did not come up (e.g. the port was not free yet): try again.
                    eprintln!("audit-server exited at start-up ({status}); starting it again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
                let ready = http.get(format!("{}/ready", self.base_url())).send().await;
                if ready.is_ok_and(|response| response.status() == 200) {
                    self.child = Some(child);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        panic!("audit-server did not become ready");
    }

    /// SIGKILL: no graceful shutdown, no flushing, requests cut off where they are.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL audit-server");
            let status = child.wait().unwrap();
            assert!(!status.success(), "{status:?}");
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

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

    let admin = AuditClient::new(server.base_url(), ADMIN_TOKEN).unwrap();
    let org = admin
        .create_organization(NewOrganization { name: "Crash".into() })
        .await
        .unwrap();
    let key = admin
        .create_api_key(
            org.id,
            NewApiKey {
                name: "crash".into(),
                scopes: Scope::ALL.to_vec(),
                project_id: None,
            },
        )
        .await
        .unwrap();
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
