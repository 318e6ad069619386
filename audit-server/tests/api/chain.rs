//! Tamper evidence: records changed or removed behind the server's back are found by verify,
//! and the database itself refuses UPDATE and DELETE on the trail.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use audit_server::testing::Backend;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;

use crate::helpers::*;
use crate::on_both_backends;
use crate::owner;

async fn seed(server: &TestServer, tenant: &Tenant, count: usize) {
    for n in 0..count {
        record(
            server,
            tenant.secret(),
            &event("prompt", &format!("pr_{n}"), "update"),
        )
        .await;
    }
}

async fn database(server: &TestServer) -> DatabaseConnection {
    Database::connect(server.database_url())
        .await
        .expect("direct database connection")
}

/// Runs `statement` as a database owner could: with the append-only triggers switched off.
async fn behind_the_servers_back(server: &TestServer, statement: &str) {
    owner::execute(server, statement).await;
}

fn assert_broken_at(verdict: &Value, seq: i64) {
    assert_eq!(verdict["valid"], false, "{verdict}");
    assert_eq!(verdict["firstInvalidSeq"], seq, "{verdict}");
    assert!(
        verdict["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty()),
        "{verdict}"
    );
}

async fn an_untouched_chain_verifies(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    seed(&server, &tenant, 5).await;
    let verdict = verify(&server, tenant.secret()).await;
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["checked"], 6);
    assert_eq!(verdict["headSeq"], 6);
    let newest = &all_records(&server, tenant.secret(), "").await[0];
    assert_eq!(verdict["headHash"], newest["hash"]);

    let part = get(
        &server,
        "/api/v1/audit-logs/verify?fromSeq=3&toSeq=4",
        tenant.secret(),
    )
    .await;
    let part = part.ok(200);
    assert_eq!(
        (
            part["valid"].clone(),
            part["checked"].clone(),
            part["headSeq"].clone()
        ),
        (true.into(), 2.into(), 4.into())
    );

    let empty = Tenant::new(&server, "Empty").await;
    assert_eq!(
        verify(&server, empty.secret()).await["checked"],
        1,
        "only the key's creation"
    );
}

async fn a_changed_record_is_named(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    seed(&server, &tenant, 5).await;
    behind_the_servers_back(&server, "UPDATE audit_logs SET action = 'delete' WHERE seq = 3").await;
    assert_broken_at(&verify(&server, tenant.secret()).await, 3);
}

async fn a_changed_and_rehashed_record_breaks_the_next_link(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    seed(&server, &tenant, 5).await;
    behind_the_servers_back(&server, "UPDATE audit_logs SET hash = prev_hash WHERE seq = 3").await;
    let verdict = verify(&server, tenant.secret()).await;
    assert_broken_at(&verdict, 3);
}

async fn a_deleted_record_is_named_as_the_gap(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    seed(&server, &tenant, 5).await;
    behind_the_servers_back(&server, "DELETE FROM audit_logs WHERE seq = 4").await;
    let verdict = verify(&server, tenant.secret()).await;
    assert_broken_at(&verdict, 4);
    assert!(
        verdict["reason"].as_str().unwrap().contains("missing"),
        "{verdict}"
    );
}

async fn a_deleted_newest_record_is_noticed(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    seed(&server, &tenant, 3).await;
    behind_the_servers_back(&server, "DELETE FROM audit_logs WHERE seq = 4").await;
    assert_broken_at(&verify(&server, tenant.secret()).await, 4);
}

async fn plain_updates_and_deletes_are_refused_by_the_database(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    seed(&server, &tenant, 2).await;
    let db = database(&server).await;
    for sql in [
        "UPDATE audit_logs SET action = 'delete'",
        "DELETE FROM audit_logs",
        "DELETE FROM audit_logs WHERE seq = 1",
    ] {
        let error = db.execute_unprepared(sql).await.expect_err(sql);
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    if server.backend() == Backend::Postgres {
        let error = db
            .execute_unprepared("TRUNCATE audit_logs")
            .await
            .expect_err("TRUNCATE");
        assert!(error.to_string().contains("append-only"), "{error}");
    }
    db.close().await.unwrap();
    let verdict = verify(&server, tenant.secret()).await;
    assert_eq!(
        (verdict["valid"].clone(), verdict["checked"].clone()),
        (true.into(), 3.into())
    );
}

on_both_backends!(
    an_untouched_chain_verifies,
    a_changed_record_is_named,
    a_changed_and_rehashed_record_breaks_the_next_link,
    a_deleted_record_is_named_as_the_gap,
    a_deleted_newest_record_is_noticed,
    plain_updates_and_deletes_are_refused_by_the_database,
);
