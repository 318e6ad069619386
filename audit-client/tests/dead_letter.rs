//! Events the service refuses for their content are kept in the dead-letter file with the
//! reason, and the accepted ones are delivered as usual: on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use audit_client::{Dispatcher, DispatcherConfig};
use audit_core::AuditEvent;
use audit_server::testing::Backend;
use common::World;
use serde_json::Value;

async fn refused_events_are_kept(backend: Backend) {
    let Some(world) = World::start_on(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rejected.jsonl");
    let config = DispatcherConfig::default()
        .with_batch_interval(Duration::from_millis(20))
        .with_dead_letter_file(&file);
    let dispatcher = Dispatcher::spawn(world.client.clone(), config);
    let mut unknown = AuditEvent::by_user("u_1", "article", "a_1", "create");
    let unknown_id = unknown.ensure_id();
    assert!(dispatcher.record(unknown));
    assert!(dispatcher.record(AuditEvent::by_user("u_1", "prompt", "pr_1", "create")));
    dispatcher.flush().await.unwrap();
    let stats = dispatcher.stats();
    assert_eq!((stats.sent, stats.rejected), (1, 1), "{stats:?}");

    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["event"]["id"], unknown_id.to_string());
    assert_eq!(lines[0]["event"]["resourceType"], "article");
    assert_eq!(lines[0]["problem"]["status"], 422, "{text}");
    assert!(
        lines[0]["problem"]["errors"][0]["field"]
            .as_str()
            .is_some_and(|field| field.ends_with("resourceType")),
        "the reason names the field: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_events_are_kept_on_sqlite() {
    refused_events_are_kept(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_events_are_kept_on_postgres() {
    refused_events_are_kept(Backend::Postgres).await;
}
