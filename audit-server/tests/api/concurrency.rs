//! Concurrent writers: one record per idempotency key, and gap-free chains, also with two
//! server processes on one database.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::sync::Arc;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

async fn a_hundred_concurrent_sends_store_one_record(server: TestServer) {
    let server = Arc::new(server);
    let tenant = Arc::new(Tenant::new(&server, "Acme").await);
    let mut sent = event("prompt", "pr_1", "update");
    sent["id"] = json!(uuid::Uuid::now_v7());
    let sent = Arc::new(sent);

    let sends = (0..100).map(|_| {
        let (server, tenant, sent) = (server.clone(), tenant.clone(), sent.clone());
        tokio::spawn(async move { post(&server, "/api/v1/audit-logs", tenant.secret(), &sent).await })
    });
    let answers: Vec<_> = join_all(sends).await.into_iter().map(Result::unwrap).collect();
    let created = answers.iter().filter(|answer| answer.status == 201).count();
    let retried = answers.iter().filter(|answer| answer.status == 200).count();
    assert_eq!((created, retried), (1, 99), "one creation, 99 safe retries");
    let bodies: Vec<&Value> = answers.iter().map(|answer| &answer.body).collect();
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "every answer is the same record"
    );

    let records = all_records(&server, tenant.secret(), "&resourceType=prompt").await;
    assert_eq!(records.len(), 1);
}

/// `writers` tasks each record `per_writer` single events, spread over `servers`.
async fn write_concurrently(servers: &[Arc<TestServer>], secret: &str, writers: usize, per_writer: usize) {
    let tasks = (0..writers).map(|writer| {
        let server = servers[writer % servers.len()].clone();
        let secret = secret.to_owned();
        tokio::spawn(async move {
            for n in 0..per_writer {
                let event = event("trace", &format!("t_{writer}_{n}"), "delete");
                let answer = post(&server, "/api/v1/audit-logs", &secret, &event).await;
                assert_eq!(answer.status, 201, "{}", answer.body);
            }
        })
    });
    for task in join_all(tasks).await {
        task.unwrap();
    }
}

async fn assert_gap_free(server: &TestServer, secret: &str, expected: i64) {
    let records = all_records(server, secret, "").await;
    let mut seqs: Vec<i64> = records
        .iter()
        .map(|record| record["seq"].as_i64().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=expected).collect::<Vec<_>>(),
        "seq 1..{expected} without gap or duplicate"
    );
    let verdict = verify(server, secret).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["checked"], expected);
    assert_eq!(verdict["headSeq"], expected);
}

async fn eight_writers_give_a_gap_free_valid_chain(server: TestServer) {
    let server = Arc::new(server);
    let tenant = Tenant::new(&server, "Acme").await;
    write_concurrently(std::slice::from_ref(&server), tenant.secret(), 8, 500).await;
    assert_gap_free(&server, tenant.secret(), 1 + 8 * 500).await;
}

async fn sixty_four_single_event_writers_give_a_gap_free_valid_chain(server: TestServer) {
    let server = Arc::new(server);
    let tenant = Tenant::new(&server, "Acme").await;
    write_concurrently(std::slice::from_ref(&server), tenant.secret(), 64, 20).await;
    assert_gap_free(&server, tenant.secret(), 1 + 64 * 20).await;
}

/// Writes other than appends (new organizations, catalog entries) must queue behind the
/// trail's writer, not make concurrent appends fail ("database is locked" on SQLite).
async fn appends_succeed_while_organizations_and_catalogs_change(server: TestServer) {
    let server = Arc::new(server);
    let tenant = Tenant::new(&server, "Acme").await;
    let appends = {
        let (server, secret) = (server.clone(), tenant.secret().to_owned());
        tokio::spawn(async move { write_concurrently(&[server], &secret, 4, 50).await })
    };
    for n in 0..20 {
        let org = server.create_org(&format!("Org {n}")).await;
        let entry = json!({ "resourceType": "invoice", "actions": [format!("action{n}")] });
        let path = format!("/api/v1/organizations/{}/catalog", org.id);
        post(&server, &path, server.admin_token(), &entry).await.ok(200);
    }
    appends.await.unwrap();
    assert_gap_free(&server, tenant.secret(), 1 + 4 * 50).await;
}

on_both_backends!(
    appends_succeed_while_organizations_and_catalogs_change,
    a_hundred_concurrent_sends_store_one_record,
    eight_writers_give_a_gap_free_valid_chain,
    sixty_four_single_event_writers_give_a_gap_free_valid_chain,
);

/// Two server processes' worth of state (pools, in-process locks) on one PostgreSQL database:
/// the chain is serialized in the database, not in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_database_keep_one_chain() {
    let Some(first) = TestServer::start_postgres().await else {
        return;
    };
    let mut config = audit_server::Config::new(first.database_url());
    config.admin_token = Some(first.admin_token().to_owned());
    let second = TestServer::start_with(config).await;
    let tenant = Tenant::new(&first, "Acme").await;
    let servers = [Arc::new(first), Arc::new(second)];
    write_concurrently(&servers, tenant.secret(), 8, 100).await;
    assert_gap_free(&servers[1], tenant.secret(), 1 + 8 * 100).await;
}
