//! `AuditClient::tail` against the real server: records arrive live, filtered, and the stream
//! reconnects after the server goes away and comes back, without gap or duplicate.

mod common;

use std::time::Duration;

use audit_client::{AuditClient, Error};
use audit_core::{AuditLogFilter, AuditRecord, Scope};
use audit_server::testing::Backend;
use futures::StreamExt;
use futures::stream::BoxStream;

use common::{World, dataset_event};

/// Generous: the server delivers within a second, the machine may be loaded.
const ARRIVES: Duration = Duration::from_secs(20);

/// The next record, skipping the transient errors a reconnection yields.
async fn next_record(tail: &mut BoxStream<'static, audit_client::Result<AuditRecord>>) -> AuditRecord {
    loop {
        match tokio::time::timeout(ARRIVES, tail.next()).await {
            Ok(Some(Ok(record))) => return record,
            Ok(Some(Err(error))) => assert!(error.is_retryable(), "a lasting error: {error}"),
            Ok(None) => panic!("the tail ended"),
            Err(_) => panic!("no record within {ARRIVES:?}"),
        }
    }
}

async fn tail_follows_the_trail_across_a_server_restart(world: World) {
    let start = world.client.record(dataset_event(0)).await.unwrap();
    let filter = AuditLogFilter {
        resource_type: Some("dataset".into()),
        ..AuditLogFilter::default()
    };
    let mut tail = world.client.tail(filter, Some(start.seq));
    let mut expected = Vec::new();
    for n in 1..4 {
        // A record the filter excludes, then one it includes.
        world
            .client
            .record(audit_core::AuditEvent::by_user(
                "u_1",
                "prompt",
                format!("pr_{n}"),
                "create",
            ))
            .await
            .unwrap();
        expected.push(world.client.record(dataset_event(n)).await.unwrap());
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_record(&mut tail).await);
    }
    assert_eq!(got, expected);

    // The server goes away (ending the connection) and comes back on the same database.
    world.server.stop().await;
    world.server.restart().await;
    for n in 4..7 {
        expected.push(world.client.record(dataset_event(n)).await.unwrap());
    }
    for _ in 0..3 {
        got.push(next_record(&mut tail).await);
    }
    assert_eq!(got, expected, "no gap, no duplicate after reconnecting");
    let quiet = tokio::time::timeout(Duration::from_millis(1500), tail.next()).await;
    assert!(quiet.is_err(), "nothing more arrives: {quiet:?}");
}

#[tokio::test]
async fn tail_follows_the_trail_across_a_server_restart_on_sqlite() {
    tail_follows_the_trail_across_a_server_restart(World::start().await).await;
}

#[tokio::test]
async fn tail_follows_the_trail_across_a_server_restart_on_postgres() {
    if let Some(world) = World::start_on(Backend::Postgres).await {
        tail_follows_the_trail_across_a_server_restart(world).await;
    }
}

#[tokio::test]
async fn a_tail_without_the_read_scope_ends_with_the_problem() {
    let world = World::start().await;
    let writer: AuditClient = world.client_with(&[Scope::AuditLogsWrite]).await;
    let mut tail = writer.tail(AuditLogFilter::default(), None);
    let first = tokio::time::timeout(ARRIVES, tail.next())
        .await
        .expect("an answer");
    match first {
        Some(Err(error @ Error::Api { .. })) => assert_eq!(error.status().map(|s| s.as_u16()), Some(403)),
        other => panic!("expected a 403, got {other:?}"),
    }
    assert!(tail.next().await.is_none(), "the stream ends");
}
