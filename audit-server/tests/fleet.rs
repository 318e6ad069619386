//! A fleet: three `audit-server` processes on one PostgreSQL database behind a round-robin
//! client. Writers record batches with their own event ids and move to the next server when
//! one fails, sending the same batch again; one server is SIGKILLed mid-load. Afterwards every
//! acknowledged event is stored exactly once and the chain verifies, the log stream created
//! before the kill has delivered every record, and a checkpoint newer than the kill was
//! signed by a survivor. PostgreSQL only (skipped without `AUDIT_TEST_POSTGRES_URL`).

#[path = "support/server_process.rs"]
#[allow(dead_code, reason = "each test binary uses part of it")]
mod server_process;

#[path = "api/receiver.rs"]
#[allow(dead_code, reason = "each test binary uses part of it")]
mod receiver;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use audit_client::{AuditClient, ListRequest, RetryPolicy};
use audit_core::{AuditEvent, BatchItemStatus, VerifyParams};
use audit_server::testing::{Backend, TestDatabase};
use futures::TryStreamExt;
use receiver::{Receiver, eventually};
use server_process::ServerProcess;
use tokio::sync::Mutex;
use uuid::Uuid;

const SERVERS: usize = 3;
const WRITERS: usize = 4;
const BATCHES_PER_WRITER: usize = 40;
const BATCH: usize = 25;
/// The writers' acknowledged batches after which one server is killed.
const KILL_AFTER_BATCHES: usize = WRITERS * BATCHES_PER_WRITER / 3;

fn event(writer: usize, batch: usize, n: usize) -> AuditEvent {
    let mut event = AuditEvent::by_user(
        format!("u_{writer}"),
        "dataset",
        format!("ds_{writer}_{batch}_{n}"),
        "update",
    );
    event.after = Some(serde_json::json!({ "writer": writer, "batch": batch, "n": n }));
    event.ensure_id();
    event
}

/// One client per server; a call that fails moves on to the next server.
struct RoundRobin {
    clients: Vec<AuditClient>,
    next: AtomicUsize,
}

impl RoundRobin {
    /// Records `events` (with their ids) until some server acknowledges every one of them.
    async fn record_batch(&self, events: &[AuditEvent]) -> usize {
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts < 200, "no server acknowledged the batch");
            let client = &self.clients[self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len()];
            match client.record_batch(events.to_vec()).await {
                Ok(answer) => {
                    assert!(
                        answer.results.iter().all(|item| matches!(
                            item.status,
                            BatchItemStatus::Created | BatchItemStatus::Duplicate
                        )),
                        "{answer:?}"
                    );
                    return attempts;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_one_killed_mid_load_lose_and_duplicate_nothing() {
    let Some(database) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let settings = [
        ("AUDIT_CHECKPOINT_EVERY_RECORDS", "200"),
        ("AUDIT_CHECKPOINT_INTERVAL_SECS", "1"),
        ("AUDIT_STREAMS_POLL_MS", "100"),
        ("AUDIT_STREAMS_MAX_BACKOFF_MS", "1000"),
        ("AUDIT_STREAMS_ALLOW_PRIVATE_NETWORKS", "true"),
    ];
    let mut servers = Vec::new();
    for index in 0..SERVERS {
        let log = work.path().join(format!("server-{index}.log"));
        servers.push(ServerProcess::start_with(database.url(), &log, &settings).await);
    }

    let key = server_process::organization_with_key(&servers[0].base_url(), "Fleet").await;
    let clients: Vec<AuditClient> = servers
        .iter()
        .map(|server| {
            AuditClient::builder()
                .base_url(server.base_url())
                .api_key(key.secret.clone())
                .request_timeout(Duration::from_secs(30))
                // Few retries on one server: a dead one is left for the next quickly.
                .retry_policy(
                    RetryPolicy::default()
                        .with_max_retries(1)
                        .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
                )
                .build()
                .unwrap()
        })
        .collect();

    // A log stream made before the load (through the server that will be killed).
    let receiver = Receiver::start().await;
    let stream = clients[SERVERS - 1]
        .create_stream(
            &serde_json::from_value(serde_json::json!({
                "name": "fleet hook",
                "destination": { "type": "webhook", "url": format!("{}/hook", receiver.url) },
                "secret": "fleet-webhook-secret-0123456789",
            }))
            .unwrap(),
        )
        .await
        .unwrap();

    let pool = Arc::new(RoundRobin {
        clients: clients.clone(),
        next: AtomicUsize::new(0),
    });
    let acknowledged = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    let batches_done = Arc::new(AtomicUsize::new(0));
    let retried = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (pool, acknowledged, batches_done, retried) = (
                pool.clone(),
                acknowledged.clone(),
                batches_done.clone(),
                retried.clone(),
            );
            tokio::spawn(async move {
                for batch in 0..BATCHES_PER_WRITER {
                    let events: Vec<AuditEvent> = (0..BATCH).map(|n| event(writer, batch, n)).collect();
                    let attempts = pool.record_batch(&events).await;
                    retried.fetch_add(attempts - 1, Ordering::Relaxed);
                    acknowledged
                        .lock()
                        .await
                        .extend(events.iter().map(|event| event.id.unwrap()));
                    batches_done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    while batches_done.load(Ordering::Relaxed) < KILL_AFTER_BATCHES {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    servers[SERVERS - 1].kill();
    let survivor = &clients[0];
    let head_at_kill = survivor.verify(VerifyParams::default()).await.unwrap().head_seq;
    eprintln!(
        "SIGKILL server {} after {KILL_AFTER_BATCHES} batches, head {head_at_kill}",
        SERVERS - 1
    );
    for writer in writers {
        writer.await.unwrap();
    }
    eprintln!("{} retried batches", retried.load(Ordering::Relaxed));
    assert!(
        retried.load(Ordering::Relaxed) > 0,
        "the kill made no writer move on"
    );

    // Every acknowledged event exactly once, and the chain valid.
    let acknowledged: HashSet<Uuid> = acknowledged.lock().await.iter().copied().collect();
    assert_eq!(acknowledged.len(), WRITERS * BATCHES_PER_WRITER * BATCH);
    let stored: Vec<Uuid> = survivor
        .list_all(ListRequest::new().resource_type("dataset").page_size(1000))
        .map_ok(|record| record.id)
        .try_collect()
        .await
        .unwrap();
    let distinct: HashSet<Uuid> = stored.iter().copied().collect();
    assert_eq!(stored.len(), distinct.len(), "no event stored twice");
    assert_eq!(
        distinct, acknowledged,
        "every acknowledged event stored, nothing else"
    );
    let report = survivor.verify(VerifyParams::default()).await.unwrap();
    assert!(report.valid, "{report:?}");
    let head = report.head_seq;

    // The stream made before the kill delivers everything, from whichever server holds it.
    let start = stream.delivered_seq;
    eventually(120, "the log stream delivers every record", || async {
        let delivered: HashSet<i64> = receiver::first_occurrences(&receiver.webhook_records())
            .into_iter()
            .collect();
        (start + 1..=head).all(|seq| delivered.contains(&seq))
    })
    .await;

    // A survivor signs a checkpoint of the trail as it is after the kill.
    eventually(60, "a checkpoint of the head after the kill", || async {
        survivor
            .latest_checkpoint(None)
            .await
            .is_ok_and(|checkpoint| checkpoint.seq == head && checkpoint.seq > head_at_kill)
    })
    .await;
}
