//! The dispatcher's durable spool against the real server (in-process): outages, shutdown with
//! the server down, a host process killed with SIGKILL, and damaged spool files.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use audit_client::{
    AuditClient, Dispatcher, DispatcherConfig, DispatcherStats, ListRequest, RetryPolicy, SpoolError,
};
use audit_core::VerifyParams;
use audit_server::testing::Backend;
use common::{World, client_for, dataset_event, unreadable_event};
use futures::TryStreamExt;
use uuid::Uuid;

fn config(spool: &Path) -> DispatcherConfig {
    DispatcherConfig::default()
        .with_queue_capacity(20_000)
        .with_batch_interval(Duration::from_millis(20))
        .with_backoff(
            RetryPolicy::default().with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
        )
        .with_spool_dir(spool)
}

/// The stored `dataset` records' ids and resource ids, oldest first (in `seq` order).
async fn stored(client: &AuditClient) -> Vec<(Uuid, String)> {
    let records: Vec<_> = client
        .list_all(ListRequest::new().resource_type("dataset").page_size(1000))
        .try_collect()
        .await
        .unwrap();
    let mut stored: Vec<_> = records
        .into_iter()
        .map(|record| (record.seq, record.id, record.resource_id))
        .collect();
    stored.sort_by_key(|(seq, _, _)| *seq);
    stored
        .into_iter()
        .map(|(_, id, resource)| (id, resource))
        .collect()
}

/// The ids of the stored dataset records, in `seq` order.
async fn stored_ids(client: &AuditClient) -> Vec<Uuid> {
    stored(client).await.into_iter().map(|(id, _)| id).collect()
}

/// The resource ids of the stored dataset records, in `seq` order.
async fn stored_resources(client: &AuditClient) -> Vec<String> {
    stored(client)
        .await
        .into_iter()
        .map(|(_, resource)| resource)
        .collect()
}

async fn assert_chain_valid(client: &AuditClient) {
    let report = client.verify(VerifyParams::default()).await.unwrap();
    assert!(report.valid, "{report:?}");
}

async fn flush(dispatcher: &Dispatcher) -> DispatcherStats {
    tokio::time::timeout(Duration::from_secs(120), dispatcher.flush())
        .await
        .expect("flush in time")
        .expect("flush");
    dispatcher.stats()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_goes_to_the_spool_and_comes_back_in_order_on_sqlite() {
    outage_through_the_spool(World::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_goes_to_the_spool_and_comes_back_in_order_on_postgres() {
    if let Some(world) = World::start_on(Backend::Postgres).await {
        outage_through_the_spool(world).await;
    }
}

async fn outage_through_the_spool(world: World) {
    const TOTAL: usize = 6_000;
    let spool = tempfile::tempdir().unwrap();
    let dispatcher = Dispatcher::spawn(world.client.clone(), config(spool.path()));
    let mut recorded = Vec::with_capacity(TOTAL);
    let mut record = |range: std::ops::Range<usize>| {
        for n in range {
            let mut event = dataset_event(n);
            recorded.push(event.ensure_id());
            assert!(dispatcher.record(event), "event {n} queued");
        }
    };
    record(0..2_000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    world.server.stop().await;
    record(2_000..4_000);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let during = dispatcher.stats();
    assert!(
        during.spooled > 0,
        "the outage sent events to the spool: {during:?}"
    );
    assert!(
        segments(spool.path()) > 0,
        "segment files exist during the outage"
    );
    world.server.restart().await;
    record(4_000..TOTAL);

    let stats = flush(&dispatcher).await;
    assert_eq!(
        (
            stats.sent,
            stats.dropped,
            stats.rejected,
            stats.abandoned,
            stats.spool_corrupt
        ),
        (TOTAL as u64, 0, 0, 0, 0),
        "{stats:?}"
    );
    assert!(stats.replayed > 0 && stats.replayed <= stats.spooled, "{stats:?}");
    let ids = stored_ids(&world.client).await;
    assert_eq!(ids, recorded, "every event once, in the order recorded");
    assert_chain_valid(&world.client).await;
    assert_eq!(segments(spool.path()), 0, "delivered segments are removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_event_in_the_spool_is_rejected_alone() {
    const TOTAL: usize = 300;
    let world = World::start().await;
    let spool = tempfile::tempdir().unwrap();
    let dispatcher = Dispatcher::spawn(world.client.clone(), config(spool.path()));
    world.server.stop().await;
    let mut recorded = Vec::with_capacity(TOTAL);
    for n in 0..TOTAL {
        let mut event = if n == 150 {
            unreadable_event(n)
        } else {
            dataset_event(n)
        };
        let id = event.ensure_id();
        if n != 150 {
            recorded.push(id);
        }
        assert!(dispatcher.record(event));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(dispatcher.stats().spooled > 0, "{:?}", dispatcher.stats());
    world.server.restart().await;

    let stats = flush(&dispatcher).await;
    assert_eq!(
        (stats.sent, stats.rejected, stats.spool_corrupt, stats.abandoned),
        (TOTAL as u64 - 1, 1, 0, 0),
        "{stats:?}"
    );
    let ids = stored_ids(&world.client).await;
    assert_eq!(ids, recorded, "every other event once, in the order recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_the_server_down_spools_and_the_next_dispatcher_delivers() {
    const TOTAL: usize = 1_500;
    let world = World::start().await;
    let spool = tempfile::tempdir().unwrap();
    world.server.stop().await;
    let first = Dispatcher::spawn(world.client.clone(), config(spool.path()));
    for n in 0..TOTAL {
        assert!(first.record(dataset_event(n)));
    }
    first
        .shutdown(Duration::from_millis(300))
        .await
        .expect("every event is safe in the spool");
    let stats = first.stats();
    assert_eq!(
        (stats.sent, stats.spooled, stats.abandoned),
        (0, TOTAL as u64, 0),
        "{stats:?}"
    );
    drop(first);

    world.server.restart().await;
    let second =
        Dispatcher::try_spawn(world.client.clone(), config(spool.path())).expect("the lock is free again");
    let stats = flush(&second).await;
    assert_eq!(
        (stats.sent, stats.replayed, stats.spool_corrupt),
        (TOTAL as u64, TOTAL as u64, 0),
        "{stats:?}"
    );
    let resources = stored_resources(&world.client).await;
    let expected: Vec<String> = (0..TOTAL).map(|n| format!("ds_{n}")).collect();
    assert_eq!(resources, expected);
    assert_chain_valid(&world.client).await;
}

#[tokio::test]
async fn one_dispatcher_at_a_time_per_spool_directory() {
    let spool = tempfile::tempdir().unwrap();
    let client = AuditClient::new("http://127.0.0.1:9", "ak_0123456789abcdef").unwrap();
    let first = Dispatcher::try_spawn(client.clone(), config(spool.path())).unwrap();
    match Dispatcher::try_spawn(client.clone(), config(spool.path())) {
        Err(SpoolError::Locked(dir)) => assert_eq!(dir, spool.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
    first.shutdown(Duration::from_millis(100)).await.unwrap();
    drop(first);
    // The worker owns the lock; it is released when the worker stops.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Dispatcher::try_spawn(client, config(spool.path())).expect("free after shutdown");
}

// ---- A host process killed with SIGKILL ------------------------------------------------------

const CHILD_DIR: &str = "AUDIT_SPOOL_TEST_CHILD_DIR";
const CHILD_URL: &str = "AUDIT_SPOOL_TEST_CHILD_URL";
const CHILD_KEY: &str = "AUDIT_SPOOL_TEST_CHILD_KEY";
const CHILD_EVENTS: &str = "AUDIT_SPOOL_TEST_CHILD_EVENTS";

/// The host process of the tests below (this test binary started again by them): records
/// events while the server is down, says so once all are in the spool, and waits to be killed.
/// Run normally, without its parent's environment, it does nothing.
#[tokio::test]
async fn spool_child_host_process() {
    let (Ok(dir), Ok(url), Ok(key), Ok(events)) = (
        std::env::var(CHILD_DIR),
        std::env::var(CHILD_URL),
        std::env::var(CHILD_KEY),
        std::env::var(CHILD_EVENTS),
    ) else {
        return;
    };
    let events: usize = events.parse().unwrap();
    let client = AuditClient::builder().base_url(url).api_key(key).build().unwrap();
    let dispatcher = Dispatcher::spawn(client, config(Path::new(&dir)));
    for n in 0..events {
        assert!(dispatcher.record(dataset_event(n)));
    }
    while dispatcher.stats().spooled < events as u64 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("SPOOLED {}", dispatcher.stats().spooled);
    tokio::time::sleep(Duration::from_secs(120)).await;
    panic!("the parent should have killed this process");
}

/// Starts the host process, waits until it has spooled `events`, and kills it with SIGKILL.
fn run_and_kill_host(world: &World, spool: &Path, events: usize) {
    let mut child: Child = Command::new(std::env::current_exe().unwrap())
        .args([
            "spool_child_host_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, spool)
        .env(CHILD_URL, world.server.base_url())
        .env(CHILD_KEY, &world.key.secret)
        .env(CHILD_EVENTS, events.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the host process");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut spooled = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        // libtest prints "test NAME ... " on the same line first.
        if let Some((_, count)) = line.split_once("SPOOLED ") {
            spooled = Some(count.trim().to_owned());
            break;
        }
    }
    assert_eq!(
        spooled.as_deref(),
        Some(events.to_string().as_str()),
        "the host process spooled"
    );
    child.kill().expect("SIGKILL the host process");
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished: {status:?}");
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "spool"))
        .collect();
    files.sort();
    files
}

fn segments(dir: &Path) -> usize {
    segment_files(dir).len()
}

async fn killed_host_then_restart(backend: Backend) {
    const EVENTS: usize = 2_000;
    let Some(world) = World::start_on(backend).await else {
        return;
    };
    let spool = tempfile::tempdir().unwrap();
    world.server.stop().await;
    run_and_kill_host(&world, spool.path(), EVENTS);
    assert!(segments(spool.path()) > 0);

    world.server.restart().await;
    // The restarted host: a new dispatcher on the same directory (the killed process's lock
    // went with it).
    let client = client_for(&world.server, &world.key.secret);
    let dispatcher =
        Dispatcher::try_spawn(client, config(spool.path())).expect("the lock died with the host");
    let stats = flush(&dispatcher).await;
    assert_eq!(
        (stats.replayed, stats.spool_corrupt),
        (EVENTS as u64, 0),
        "{stats:?}"
    );
    let resources = stored_resources(&world.client).await;
    let expected: Vec<String> = (0..EVENTS).map(|n| format!("ds_{n}")).collect();
    assert_eq!(resources, expected, "all events exactly once, in order");
    assert_chain_valid(&world.client).await;
    assert_eq!(segments(spool.path()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_while_the_server_is_down_delivers_its_spool_after_restart_on_sqlite() {
    killed_host_then_restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_while_the_server_is_down_delivers_its_spool_after_restart_on_postgres() {
    killed_host_then_restart(Backend::Postgres).await;
}

/// Kills a host with `EVENTS` spooled, damages the newest segment's last record with
/// `damage`, and checks that exactly that record (the last event) is lost.
async fn damaged_tail(damage: impl FnOnce(&Path)) {
    const EVENTS: usize = 300;
    let world = World::start().await;
    let spool = tempfile::tempdir().unwrap();
    world.server.stop().await;
    run_and_kill_host(&world, spool.path(), EVENTS);
    let newest = segment_files(spool.path()).pop().expect("a segment");
    damage(&newest);

    world.server.restart().await;
    let client = client_for(&world.server, &world.key.secret);
    let dispatcher = Dispatcher::try_spawn(client, config(spool.path())).unwrap();
    let stats = flush(&dispatcher).await;
    assert_eq!(
        (stats.replayed, stats.spool_corrupt),
        (EVENTS as u64 - 1, 1),
        "{stats:?}"
    );
    let resources = stored_resources(&world.client).await;
    let expected: Vec<String> = (0..EVENTS - 1).map(|n| format!("ds_{n}")).collect();
    assert_eq!(
        resources, expected,
        "everything but the damaged last record, once, in order"
    );
    assert_chain_valid(&world.client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_file_cut_in_its_last_record_loses_only_that_record() {
    damaged_tail(|segment| {
        let file = std::fs::OpenOptions::new().write(true).open(segment).unwrap();
        let length = file.metadata().unwrap().len();
        file.set_len(length - 7).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_file_with_flipped_bytes_in_its_last_record_loses_only_that_record() {
    damaged_tail(|segment| {
        let mut bytes = std::fs::read(segment).unwrap();
        let at = bytes.len() - 20;
        bytes[at] ^= 0xff;
        bytes[at + 1] ^= 0x55;
        std::fs::write(segment, bytes).unwrap();
    })
    .await;
}
