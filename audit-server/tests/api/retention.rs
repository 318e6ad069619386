//! Retention: a manager sets the period, the purge removes the oldest records through the one
//! sanctioned path, records itself, and leaves the chain verifiable from its new anchor under
//! a signed checkpoint; plain DELETE and UPDATE stay refused.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::time::{Duration, Instant};

use audit_core::Scope;
use audit_core::checkpoint::CheckpointVerifier;
use audit_server::testing::Backend;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

async fn a_purge_removes_old_records_and_leaves_the_chain_provable(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await; // seq 1: the key's creation
    let other = Tenant::new(&server, "Globex").await;
    let mut old_ids = Vec::new();
    for n in 0..4 {
        let stored = record(
            &server,
            tenant.secret(),
            &event("prompt", &format!("pr_{n}"), "update"),
        )
        .await;
        old_ids.push(stored["id"].as_str().unwrap().to_owned());
    }
    record(&server, other.secret(), &event("prompt", "pr_x", "update")).await;
    let retention = format!("/api/v1/organizations/{}/retention", tenant.org.id);
    let (status, policy) = put(
        &server,
        &retention,
        tenant.secret(),
        &json!({"retentionSeconds": 2}),
    )
    .await;
    assert_eq!((status, policy), (200, json!({"retentionSeconds": 2}))); // seq 6

    // Everything so far is older than 2 s once 3 s have passed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let report = post(
        &server,
        &format!("{retention}/purge"),
        tenant.secret(),
        &json!({}),
    )
    .await;
    let report = report.ok(200).clone();
    assert_eq!(report["purged"], 6, "{report}");
    assert_eq!(report["firstSeq"], 7, "{report}");
    assert_eq!(report["eventSeq"], 7, "{report}");

    // The old records are gone; the purge is in the trail.
    let records = all_records(&server, tenant.secret(), "").await;
    assert_eq!(records.len(), 1, "{records:?}");
    let purge = &records[0];
    assert_eq!(
        (purge["resourceType"].as_str(), purge["action"].as_str()),
        (Some("auditLog"), Some("purge"))
    );
    assert_eq!(purge["seq"], 7);
    assert_eq!(purge["metadata"]["purged"], 6);
    assert_eq!(purge["metadata"]["firstSeq"], 7);
    assert_eq!(purge["prevHash"], report["anchorPrevHash"]);
    for id in &old_ids {
        get(&server, &format!("/api/v1/audit-logs/{id}"), tenant.secret())
            .await
            .problem(404, None);
    }

    // Verify starts at the anchor, and keeps working as the trail grows.
    let verdict = verify(&server, tenant.secret()).await;
    assert_eq!(
        (verdict["valid"].clone(), verdict["checked"].clone()),
        (true.into(), 1.into()),
        "{verdict}"
    );
    record(&server, tenant.secret(), &event("prompt", "pr_new", "update")).await;
    let verdict = verify(&server, tenant.secret()).await;
    assert_eq!(
        (verdict["valid"].clone(), verdict["headSeq"].clone()),
        (true.into(), 8.into()),
        "{verdict}"
    );

    // A checkpoint at or after the anchor, signed by the server's key.
    let checkpoint = get(&server, "/api/v1/checkpoints/latest", tenant.secret()).await;
    let checkpoint = checkpoint.ok(200);
    assert!(checkpoint["seq"].as_i64().unwrap() >= 7, "{checkpoint}");
    let key: Value = server
        .http()
        .get(server.url("/api/v1/checkpoints/public-key"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = CheckpointVerifier::from_vkey(key["vkey"].as_str().unwrap()).unwrap();
    assert_eq!(
        verifier.verify(checkpoint["note"].as_str().unwrap()).unwrap().seq,
        7
    );

    // The other organization is untouched.
    assert_eq!(all_records(&server, other.secret(), "").await.len(), 2);
    assert_eq!(verify(&server, other.secret()).await["valid"], true);

    // The database still refuses plain changes, the purged range included.
    let db = Database::connect(server.database_url()).await.unwrap();
    for sql in [
        "DELETE FROM audit_logs",
        "DELETE FROM audit_logs WHERE seq = 7",
        "UPDATE audit_logs SET action = 'delete'",
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
    assert_eq!(verify(&server, tenant.secret()).await["valid"], true);
}

async fn retention_is_for_managers_and_checks_its_input(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let other = Tenant::new(&server, "Globex").await;
    let retention = format!("/api/v1/organizations/{}/retention", tenant.org.id);

    // The default keeps everything; purging then changes nothing.
    assert_eq!(
        get(&server, &retention, tenant.secret()).await.ok(200)["retentionSeconds"],
        Value::Null
    );
    let report = post(
        &server,
        &format!("{retention}/purge"),
        server.admin_token(),
        &json!({}),
    )
    .await;
    assert_eq!(report.ok(200)["purged"], 0);
    assert_eq!(report.body["eventSeq"], Value::Null);

    // The operator may set it; the change is in the trail.
    let (status, _) = put(
        &server,
        &retention,
        server.admin_token(),
        &json!({"retentionSeconds": 86400}),
    )
    .await;
    assert_eq!(status, 200);
    let records = all_records(&server, tenant.secret(), "&resourceType=retentionPolicy").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["action"], "update");
    assert_eq!(records[0]["after"], json!({"retentionSeconds": 86400}));
    assert_eq!(records[0]["before"], json!({"retentionSeconds": null}));
    // Nothing is a day old: a purge keeps everything.
    let report = post(
        &server,
        &format!("{retention}/purge"),
        tenant.secret(),
        &json!({}),
    )
    .await;
    assert_eq!(report.ok(200)["purged"], 0);

    // Who may not.
    let reader = server
        .create_key(tenant.org.id, &[Scope::AuditLogsRead, Scope::AuditLogsWrite])
        .await;
    let project_manager = server
        .create_project_key(tenant.org.id, &[Scope::ApiKeysManage], Some("p_1"))
        .await;
    for token in [
        reader.secret.as_str(),
        project_manager.secret.as_str(),
        other.secret(),
    ] {
        let (status, body) = put(&server, &retention, token, &json!({"retentionSeconds": 1})).await;
        assert_eq!(status, 403, "{body}");
        post(&server, &format!("{retention}/purge"), token, &json!({}))
            .await
            .problem(403, None);
        get(&server, &retention, token).await.problem(403, None);
    }
    let (status, _) = put(&server, &retention, "ak_unknown", &json!({"retentionSeconds": 1})).await;
    assert_eq!(status, 401);
    let missing = format!("/api/v1/organizations/{}/retention", uuid::Uuid::now_v7());
    get(&server, &missing, server.admin_token())
        .await
        .problem(404, None);
    get(
        &server,
        "/api/v1/organizations/not-a-uuid/retention",
        server.admin_token(),
    )
    .await
    .problem(400, Some("orgId"));

    // Bad input names the field.
    for body in [
        json!({"retentionSeconds": 0}),
        json!({"retentionSeconds": -5}),
        json!({"retentionSeconds": 10_000_000_000_i64}),
        json!({"retentionSeconds": "a week"}),
    ] {
        let (status, problem) = put(&server, &retention, tenant.secret(), &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert!(problem.to_string().contains("retentionSeconds"), "{problem}");
    }
    let (status, problem) = put(&server, &retention, tenant.secret(), &json!({"keepFor": 3})).await;
    assert!(status == 400 || status == 422, "{status}: {problem}");
    // None of the refused changes took effect.
    assert_eq!(
        get(&server, &retention, tenant.secret()).await.ok(200)["retentionSeconds"],
        86400
    );
    // Keeping forever again.
    let (status, _) = put(
        &server,
        &retention,
        tenant.secret(),
        &json!({"retentionSeconds": null}),
    )
    .await;
    assert_eq!(status, 200);
}

async fn the_purge_runs_on_its_schedule(mut server: TestServer) {
    server.reconfigure(|config| config.purge_interval_secs = 1).await;
    let tenant = Tenant::new(&server, "Acme").await;
    record(&server, tenant.secret(), &event("prompt", "pr_1", "update")).await;
    let retention = format!("/api/v1/organizations/{}/retention", tenant.org.id);
    let (status, _) = put(
        &server,
        &retention,
        tenant.secret(),
        &json!({"retentionSeconds": 1}),
    )
    .await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let purges = all_records(&server, tenant.secret(), "&resourceType=auditLog&action=purge").await;
        if let Some(purge) = purges.last() {
            assert_eq!(purge["metadata"]["actor"], "retention schedule");
            break;
        }
        assert!(Instant::now() < deadline, "no scheduled purge within 60 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(verify(&server, tenant.secret()).await["valid"], true);
}

async fn the_purge_command_purges_every_organization_with_a_period(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let keeper = Tenant::new(&server, "Globex").await;
    record(&server, tenant.secret(), &event("prompt", "pr_1", "update")).await;
    age_past_a_one_second_retention(&server, &tenant).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_audit-server"))
        .arg("purge")
        .env("AUDIT_DATABASE_URL", server.database_url())
        .env_remove("AUDIT_SIGNING_KEY_FILE")
        .output()
        .await
        .expect("audit-server purge runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reports: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(reports.len(), 1, "only organizations with a period: {stdout}");
    assert_eq!(reports[0]["orgId"], tenant.org.id.to_string());
    assert_eq!(reports[0]["purged"], 3, "{stdout}");
    assert_eq!(all_records(&server, tenant.secret(), "").await.len(), 1);
    assert_eq!(all_records(&server, keeper.secret(), "").await.len(), 1);
    assert_eq!(verify(&server, tenant.secret()).await["valid"], true);
    // The command signed the new head with the server's own key.
    let checkpoint = get(&server, "/api/v1/checkpoints/latest", tenant.secret()).await;
    assert_eq!(checkpoint.ok(200)["seq"], 4);
}

on_both_backends!(
    a_purge_removes_old_records_and_leaves_the_chain_provable,
    the_purge_command_purges_every_organization_with_a_period,
    retention_is_for_managers_and_checks_its_input,
    the_purge_runs_on_its_schedule,
);
