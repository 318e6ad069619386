//! The background dispatcher against the real server (in-process, SQLite), outages included.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use audit_client::{DispatchError, Dispatcher, DispatcherConfig, ListRequest, OverflowPolicy, RetryPolicy};
use audit_core::{AuditEvent, VerifyParams};
use futures::TryStreamExt;
use uuid::Uuid;

use audit_server::testing::Backend;
use common::{World, dataset_event, unreadable_event};

fn fast_backoff() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(20), Duration::from_millis(250))
}

async fn stored_dataset_ids(world: &World) -> Vec<Uuid> {
    let stream = world
        .client
        .list_all(ListRequest::new().resource_type("dataset").page_size(1000));
    stream.map_ok(|record| record.id).try_collect().await.unwrap()
}

/// Waits (at most 10 s) until the dispatcher has sent `events` events.
async fn wait_until_sent(dispatcher: &Dispatcher, events: u64, what: &str) {
    let started = Instant::now();
    while dispatcher.stats().sent < events {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what} not sent: {:?}",
            dispatcher.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_survive_an_outage_without_loss_or_duplicates() {
    survive_an_outage(World::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_survive_an_outage_on_postgres() {
    if let Some(world) = World::start_on(Backend::Postgres).await {
        survive_an_outage(world).await;
    }
}

async fn survive_an_outage(world: World) {
    const TOTAL: usize = 10_000;
    let config = DispatcherConfig::default()
        .with_queue_capacity(TOTAL)
        .with_max_batch_size(500)
        .with_batch_interval(Duration::from_millis(50))
        .with_backoff(fast_backoff());
    let dispatcher = Dispatcher::spawn(world.client.clone(), config);

    let mut recorded = Vec::with_capacity(TOTAL);
    let mut record = |range: std::ops::Range<usize>| {
        for n in range {
            let mut event = dataset_event(n);
            recorded.push(event.ensure_id());
            assert!(dispatcher.record(event), "event {n} queued");
        }
    };

    record(0..3000);
    tokio::time::sleep(Duration::from_millis(150)).await;
    world.server.stop().await;
    record(3000..7000);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during_outage = dispatcher.stats();
    assert!(
        during_outage.retried > 0,
        "the outage was noticed: {during_outage:?}"
    );
    assert!(during_outage.sent < TOTAL as u64);
    world.server.restart().await;
    record(7000..TOTAL);

    tokio::time::timeout(Duration::from_secs(120), dispatcher.flush())
        .await
        .expect("flush in time")
        .unwrap();
    let stats = dispatcher.stats();
    assert_eq!(
        (stats.sent, stats.dropped, stats.rejected, stats.abandoned),
        (TOTAL as u64, 0, 0, 0),
        "{stats:?}"
    );

    let stored = stored_dataset_ids(&world).await;
    assert_eq!(stored.len(), TOTAL, "exactly {TOTAL} records");
    let stored: HashSet<Uuid> = stored.into_iter().collect();
    assert_eq!(
        stored,
        recorded.into_iter().collect::<HashSet<_>>(),
        "no loss, no duplicates"
    );
    let report = world.client.verify(VerifyParams::default()).await.unwrap();
    assert!(report.valid, "{report:?}");
    assert!(report.checked >= TOTAL as u64);
    dispatcher.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_returns_at_once_and_memory_stays_bounded_while_the_server_is_down() {
    const CALLS: usize = 1000;
    const CAPACITY: usize = 100;
    const BATCH: usize = 10;
    let world = World::start().await;
    world.server.stop().await;
    let config = DispatcherConfig::default()
        .with_queue_capacity(CAPACITY)
        .with_max_batch_size(BATCH)
        .with_batch_interval(Duration::from_millis(10))
        .with_overflow(OverflowPolicy::DropNewest)
        .with_backoff(fast_backoff());
    let dispatcher = Dispatcher::spawn(world.client.clone(), config);
    let events: Vec<AuditEvent> = (0..CALLS).map(dataset_event).collect();

    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    let mut queued = 0;
    for event in events {
        let call = Instant::now();
        queued += usize::from(dispatcher.record(event));
        slowest = slowest.max(call.elapsed());
    }
    let total = started.elapsed();
    eprintln!("{CALLS} record calls while the server is down: {total:?} in all, slowest {slowest:?}");
    // Generous bounds (a loaded CI machine stalls threads for milliseconds): waiting for the
    // network even once per batch would take far longer.
    assert!(total < Duration::from_secs(1), "{CALLS} calls took {total:?}");
    assert!(
        slowest < Duration::from_millis(250),
        "slowest call took {slowest:?}"
    );

    let stats = dispatcher.stats();
    assert!(stats.queued <= CAPACITY as u64, "{stats:?}");
    assert!(
        queued <= CAPACITY + BATCH,
        "at most the queue and one batch: {queued}"
    );
    assert_eq!(stats.dropped, (CALLS - queued) as u64, "{stats:?}");
    assert!(stats.dropped >= (CALLS - CAPACITY - BATCH) as u64);
    // What the host app's /metrics shows of it.
    let text = stats.prometheus_text();
    assert!(
        text.contains(&format!(
            "\naudit_dispatcher_events_dropped_total {}\n",
            stats.dropped
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("\naudit_dispatcher_queue_depth {}\n", stats.queued)),
        "{text}"
    );

    // Back up: what was accepted is delivered.
    world.server.restart().await;
    tokio::time::timeout(Duration::from_secs(60), dispatcher.flush())
        .await
        .unwrap()
        .unwrap();
    let stats = dispatcher.stats();
    assert_eq!(stats.sent, queued as u64, "{stats:?}");
    assert_eq!(stored_dataset_ids(&world).await.len(), queued);
    let text = stats.prometheus_text();
    assert!(
        text.contains(&format!("\naudit_dispatcher_events_sent_total {queued}\n")),
        "{text}"
    );
    assert!(text.contains("\naudit_dispatcher_queue_depth 0\n"), "{text}");
}

#[tokio::test]
async fn record_wait_applies_backpressure_instead_of_dropping() {
    let world = World::start().await;
    world.server.stop().await;
    let config = DispatcherConfig::default()
        .with_queue_capacity(5)
        .with_max_batch_size(5)
        .with_batch_interval(Duration::from_millis(10))
        .with_overflow(OverflowPolicy::Wait)
        .with_backoff(fast_backoff());
    let dispatcher = Dispatcher::spawn(world.client.clone(), config);
    let producer = {
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move {
            for n in 0..50 {
                assert!(dispatcher.record_wait(dataset_event(n)).await);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !producer.is_finished(),
        "the producer waits for room while the server is down"
    );
    world.server.restart().await;
    producer.await.unwrap();
    dispatcher.flush().await.unwrap();
    let stats = dispatcher.stats();
    assert_eq!((stats.sent, stats.dropped), (50, 0), "{stats:?}");
    assert_eq!(stored_dataset_ids(&world).await.len(), 50);
}

#[tokio::test]
async fn batches_go_out_on_the_timer_and_rejections_reach_the_callback() {
    let world = World::start().await;
    let rejected = Arc::new(Mutex::new(Vec::new()));
    let config = DispatcherConfig::default()
        .with_batch_interval(Duration::from_millis(50))
        .on_rejected({
            let rejected = rejected.clone();
            move |event| rejected.lock().unwrap().push(event)
        });
    let dispatcher = Dispatcher::spawn(world.client.clone(), config);

    dispatcher.record(dataset_event(0));
    let mut wrong = AuditEvent::by_user("u_1", "dataset", "ds_1", "explode");
    let wrong_id = wrong.ensure_id();
    dispatcher.record(wrong);
    dispatcher.record(dataset_event(1));

    // No flush: the 50 ms timer sends the partial batch.
    wait_until_sent(&dispatcher, 2, "timer batch").await;
    let stats = dispatcher.stats();
    assert_eq!(
        (stats.sent, stats.rejected, stats.retried),
        (2, 1, 0),
        "{stats:?}"
    );
    let rejected = rejected.lock().unwrap().clone();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].event.id, Some(wrong_id));
    assert_eq!(rejected[0].problem.status, 422);

    dispatcher.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(!dispatcher.record(dataset_event(2)), "closed after shutdown");
    assert_eq!(dispatcher.stats().dropped, 1);
    assert_eq!(dispatcher.flush().await, Err(DispatchError::Closed));
}

#[tokio::test]
async fn full_batches_and_flushes_do_not_wait_for_the_batch_timer() {
    let world = World::start().await;
    let config = DispatcherConfig::default()
        .with_max_batch_size(10)
        .with_batch_interval(Duration::from_secs(3600));
    let dispatcher = Dispatcher::spawn(world.client.clone(), config);

    // A batch is open (its timer an hour away) while 25 events come in: the two full batches
    // go out at once, the last five wait for the timer or a flush.
    for n in 0..25 {
        assert!(dispatcher.record(dataset_event(n)));
    }
    wait_until_sent(&dispatcher, 20, "full batches").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(dispatcher.stats().sent, 20, "the partial batch waits");

    tokio::time::timeout(Duration::from_secs(10), dispatcher.flush())
        .await
        .expect("a flush wakes the worker")
        .unwrap();
    assert_eq!(dispatcher.stats().sent, 25);
    assert_eq!(stored_dataset_ids(&world).await.len(), 25);
}

#[tokio::test]
async fn a_revoked_key_rejects_whole_batches_without_retrying() {
    let world = World::start().await;
    let key = world
        .server
        .create_key(world.org.id, &[audit_core::Scope::AuditLogsWrite])
        .await;
    let client = common::client_for(&world.server, &key.secret);
    world.admin.revoke_api_key(world.org.id, key.id).await.unwrap();
    let rejected = Arc::new(Mutex::new(Vec::new()));
    let config = DispatcherConfig::default().on_rejected({
        let rejected = rejected.clone();
        move |event| rejected.lock().unwrap().push(event.problem.status)
    });
    let dispatcher = Dispatcher::spawn(client, config);
    for n in 0..3 {
        dispatcher.record(dataset_event(n));
    }
    dispatcher.flush().await.unwrap();
    let stats = dispatcher.stats();
    assert_eq!(
        (stats.sent, stats.rejected, stats.retried),
        (0, 3, 0),
        "{stats:?}"
    );
    assert_eq!(*rejected.lock().unwrap(), [401, 401, 401]);
}

#[tokio::test]
async fn shutdown_gives_up_at_its_deadline_while_the_server_is_down() {
    let world = World::start().await;
    world.server.stop().await;
    let dispatcher = Dispatcher::spawn(
        world.client.clone(),
        DispatcherConfig::default().with_backoff(fast_backoff()),
    );
    for n in 0..20 {
        dispatcher.record(dataset_event(n));
    }
    let started = Instant::now();
    let result = dispatcher.shutdown(Duration::from_millis(400)).await;
    let waited = started.elapsed();
    assert_eq!(result, Err(DispatchError::Timeout));
    assert!(
        waited >= Duration::from_millis(390) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    let stats = dispatcher.stats();
    assert_eq!((stats.sent, stats.abandoned), (0, 20), "{stats:?}");
}

#[tokio::test]
async fn batches_too_large_for_the_server_are_split_not_lost() {
    let world = World::start().await;
    let dispatcher = Dispatcher::spawn(
        world.client.clone(),
        DispatcherConfig::default().with_max_batch_size(400),
    );
    // 400 events of about 4 KiB each: 1.6 MiB, over the server's 1 MiB body limit.
    for n in 0..400 {
        let mut event = dataset_event(n);
        event.after = Some(serde_json::json!({ "notes": "x".repeat(4096) }));
        assert!(dispatcher.record(event));
    }
    dispatcher.flush().await.unwrap();
    let stats = dispatcher.stats();
    assert_eq!(
        (stats.sent, stats.rejected, stats.dropped),
        (400, 0, 0),
        "{stats:?}"
    );
    assert_eq!(stored_dataset_ids(&world).await.len(), 400);
}

#[tokio::test]
async fn an_event_the_server_cannot_read_does_not_take_its_batch_with_it() {
    let world = World::start().await;
    let rejected = Arc::new(Mutex::new(Vec::new()));
    let config = DispatcherConfig::default().with_max_batch_size(100).on_rejected({
        let rejected = rejected.clone();
        move |refused| {
            let event = refused.event;
            rejected
                .lock()
                .unwrap()
                .push((event.resource_id, event.after, refused.problem.status))
        }
    });
    let dispatcher = Dispatcher::spawn(world.client.clone(), config);
    for n in 0..50 {
        let event = if n == 17 {
            unreadable_event(n)
        } else {
            dataset_event(n)
        };
        assert!(dispatcher.record(event));
    }
    dispatcher.flush().await.unwrap();
    let stats = dispatcher.stats();
    assert_eq!(
        (stats.sent, stats.rejected, stats.dropped),
        (49, 1, 0),
        "{stats:?}"
    );
    assert_eq!(stored_dataset_ids(&world).await.len(), 49);
    let rejected = rejected.lock().unwrap();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let (resource_id, after, status) = &rejected[0];
    assert_eq!(*resource_id, dataset_event(17).resource_id);
    assert_eq!(*after, None, "reported without the state it could not read back");
    assert!(matches!(status, 400 | 422), "{rejected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_does_not_wait_for_a_server_that_accepts_but_never_answers() {
    // Connection refused is instant on localhost; a peer that hangs is the harder case.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let hanging = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = audit_client::AuditClient::builder()
        .base_url(format!("http://{address}"))
        .api_key("ak_0123456789abcdef")
        .request_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let config = DispatcherConfig::default()
        .with_queue_capacity(100)
        .with_max_batch_size(10);
    let dispatcher = Dispatcher::spawn(client, config.with_batch_interval(Duration::from_millis(1)));

    // Let the worker get stuck in its first request.
    dispatcher.record(dataset_event(0));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    for n in 1..1000 {
        dispatcher.record(dataset_event(n));
    }
    let total = started.elapsed();
    // A call that waited for the hanging server would wait for its 30 s request timeout; the
    // bound is far from both that and a loaded machine's scheduling noise.
    assert!(total < Duration::from_secs(5), "999 calls took {total:?}");
    let stats = dispatcher.stats();
    assert_eq!(stats.sent, 0);
    assert!(stats.queued <= 100 && stats.dropped >= 999 - 100, "{stats:?}");
    hanging.abort();
}
