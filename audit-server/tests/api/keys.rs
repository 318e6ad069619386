//! Organizations and API keys: secrets shown once and stored hashed, revocation at once, and
//! key changes recorded in the trail.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use audit_core::Scope;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::on_both_backends;

async fn organizations_are_created_and_listed_by_the_operator(server: TestServer) {
    let acme = server.create_org("Acme").await;
    let globex = server.create_org("Globex").await;
    let listed = get(&server, "/api/v1/organizations", server.admin_token()).await;
    let names: Vec<&str> = listed.ok(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|org| org["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme", "Globex"]);
    assert_ne!(acme.id, globex.id);
}

async fn secrets_are_shown_once_and_stored_hashed(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let secret = tenant.key.secret.clone();
    assert!(secret.starts_with(&tenant.key.secret_prefix));

    let path = format!("/api/v1/organizations/{}/api-keys", tenant.org.id);
    let listed = get(&server, &path, server.admin_token()).await;
    let listed = listed.ok(200).to_string();
    assert!(listed.contains(&tenant.key.id.to_string()));
    assert!(
        !listed.contains(&secret) && !listed.contains("\"secret\""),
        "no secret in listings: {listed}"
    );

    let db = Database::connect(server.database_url()).await.unwrap();
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT secret_hash, secret_prefix, name FROM api_keys",
        ))
        .await
        .unwrap();
    let stored: Vec<String> = rows
        .iter()
        .map(|row| row.try_get::<String>("", "secret_hash").unwrap())
        .collect();
    assert_eq!(stored, [hex::encode(Sha256::digest(secret.as_bytes()))]);
    db.close().await.unwrap();
}

async fn revoked_keys_stop_working_at_once(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let writer = server.create_key(tenant.org.id, &[Scope::AuditLogsWrite]).await;
    record(&server, &writer.secret, &event("prompt", "pr_1", "create")).await;

    let path = format!("/api/v1/organizations/{}/api-keys/{}", tenant.org.id, writer.id);
    assert_eq!(delete(&server, &path, tenant.secret()).await.status, 204);
    post(
        &server,
        "/api/v1/audit-logs",
        &writer.secret,
        &event("prompt", "pr_1", "update"),
    )
    .await
    .problem(401, None);
    assert_eq!(
        delete(&server, &path, tenant.secret()).await.status,
        204,
        "revoking again changes nothing"
    );

    let listed = get(
        &server,
        &format!("/api/v1/organizations/{}/api-keys", tenant.org.id),
        tenant.secret(),
    )
    .await;
    let revoked = listed.ok(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["id"] == writer.id.to_string())
        .cloned();
    assert!(
        revoked.unwrap()["revokedAt"].is_string(),
        "the key is kept, marked revoked"
    );
}

async fn key_changes_are_recorded_without_secrets(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let created = server.create_key(tenant.org.id, &[Scope::AuditLogsRead]).await;
    let body = json!({ "name": "by manager", "scopes": ["auditLogs:write"] });
    let by_manager = post(
        &server,
        &format!("/api/v1/organizations/{}/api-keys", tenant.org.id),
        tenant.secret(),
        &body,
    )
    .await;
    let by_manager = by_manager.ok(201).clone();
    let path = format!("/api/v1/organizations/{}/api-keys/{}", tenant.org.id, created.id);
    assert_eq!(delete(&server, &path, tenant.secret()).await.status, 204);

    let trail = all_records(&server, tenant.secret(), "&resourceType=apiKey").await;
    let summary: Vec<(String, String, String)> = trail
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().into(),
                r["resourceId"].as_str().unwrap().into(),
                r["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("delete".into(), created.id.to_string(), "API_KEY".into()),
            (
                "create".into(),
                by_manager["id"].as_str().unwrap().into(),
                "API_KEY".into()
            ),
            ("create".into(), created.id.to_string(), "SYSTEM".into()),
            ("create".into(), tenant.key.id.to_string(), "SYSTEM".into()),
        ]
    );
    assert_eq!(
        trail[0]["apiKeyId"],
        tenant.key.id.to_string(),
        "the manager key is the actor"
    );
    assert_eq!(trail[0]["before"]["revokedAt"], serde_json::Value::Null);
    assert!(trail[0]["after"]["revokedAt"].is_string());
    let text = serde_json::to_string(&trail).unwrap();
    for secret in [
        tenant.key.secret.as_str(),
        created.secret.as_str(),
        by_manager["secret"].as_str().unwrap(),
    ] {
        assert!(!text.contains(secret), "a secret leaked into the trail");
    }
}

async fn health_and_readiness_need_no_credentials(server: TestServer) {
    for path in ["/health", "/ready"] {
        let response = server.http().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

on_both_backends!(
    organizations_are_created_and_listed_by_the_operator,
    secrets_are_shown_once_and_stored_hashed,
    revoked_keys_stop_working_at_once,
    key_changes_are_recorded_without_secrets,
    health_and_readiness_need_no_credentials,
);

#[test]
fn short_admin_tokens_are_refused() {
    let mut config = audit_server::Config::new("sqlite::memory:");
    config.admin_token = Some("too-short".to_owned());
    assert!(config.validate().is_err());
    config.admin_token = Some("long-enough-admin-token".to_owned());
    assert!(config.validate().is_ok());
}
