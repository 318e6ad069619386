//! Viewer tokens (Langfuse's role rule at both levels, scope, expiry, tampering) and exports.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use audit_core::Role;
use audit_server::keys::viewer_token::{self, ViewerGrant};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

async fn mint(server: &TestServer, secret: &str, body: Value) -> Answer {
    post(server, "/api/v1/viewer-tokens", secret, &body).await
}

async fn every_role_at_both_levels_follows_langfuse(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut table = Vec::new();
    for org_role in Role::ALL {
        let answer = mint(
            &server,
            tenant.secret(),
            json!({ "userId": "u_1", "orgRole": org_role }),
        )
        .await;
        table.push((org_role, None, answer.status.as_u16()));
        for project_role in Role::ALL {
            let body = json!({ "userId": "u_1", "orgRole": org_role, "projectId": "p_1", "projectRole": project_role });
            let answer = mint(&server, tenant.secret(), body).await;
            table.push((org_role, Some(project_role), answer.status.as_u16()));
        }
    }
    for (org_role, project_role, status) in table {
        let effective = match project_role {
            Some(role) if role != Role::None => role,
            _ => org_role,
        };
        let expected = if matches!(effective, Role::Owner | Role::Admin) {
            201
        } else {
            403
        };
        assert_eq!(status, expected, "org {org_role:?}, project {project_role:?}");
    }
}

async fn tokens_read_within_their_scope_only(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut p1 = event("prompt", "pr_1", "create");
    p1["projectId"] = json!("p_1");
    let mut p2 = event("prompt", "pr_2", "create");
    p2["projectId"] = json!("p_2");
    let p1 = record(&server, tenant.secret(), &p1).await;
    let p2 = record(&server, tenant.secret(), &p2).await;

    let minted = mint(
        &server,
        tenant.secret(),
        json!({ "userId": "u_9", "orgRole": "VIEWER", "projectId": "p_1", "projectRole": "ADMIN" }),
    )
    .await;
    let minted = minted.ok(201).clone();
    let token = minted["token"].as_str().unwrap();
    assert!(
        minted["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/#token={token}"))
    );

    let seen = all_records(&server, token, "").await;
    assert!(
        seen.iter().all(|record| record["projectId"] == "p_1"),
        "only p_1: {seen:?}"
    );
    assert!(seen.iter().any(|record| record["id"] == p1["id"]));
    get(
        &server,
        &format!("/api/v1/audit-logs/{}", p1["id"].as_str().unwrap()),
        token,
    )
    .await
    .ok(200);
    get(
        &server,
        &format!("/api/v1/audit-logs/{}", p2["id"].as_str().unwrap()),
        token,
    )
    .await
    .problem(404, None);
    get(&server, "/api/v1/audit-logs?projectId=p_2", token)
        .await
        .problem(403, None);
    get(&server, "/api/v1/audit-logs/verify", token)
        .await
        .problem(403, None);
    post(
        &server,
        "/api/v1/audit-logs",
        token,
        &event("prompt", "pr_3", "create"),
    )
    .await
    .problem(403, None);
    mint(&server, token, json!({ "userId": "u_9", "orgRole": "OWNER" }))
        .await
        .problem(403, None);

    let org_wide = mint(
        &server,
        tenant.secret(),
        json!({ "userId": "u_8", "orgRole": "OWNER" }),
    )
    .await;
    let org_token = org_wide.ok(201)["token"].as_str().unwrap().to_owned();
    let ids: Vec<Value> = all_records(&server, &org_token, "")
        .await
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert!(ids.contains(&p1["id"]) && ids.contains(&p2["id"]));

    let mints = all_records(&server, tenant.secret(), "&resourceType=viewerToken").await;
    assert_eq!(mints.len(), 2, "minting is recorded");
    assert_eq!(mints[1]["after"]["userId"], "u_9");
    assert_eq!(mints[1]["projectId"], "p_1");
}

async fn expired_and_tampered_tokens_are_refused(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let minted = mint(
        &server,
        tenant.secret(),
        json!({ "userId": "u_1", "orgRole": "ADMIN", "projectId": "p_1" }),
    )
    .await;
    let token = minted.ok(201)["token"].as_str().unwrap().to_owned();
    let (claims, signature) = token.split_once('.').unwrap();
    let mut flipped = signature.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{claims}.{}", String::from_utf8(flipped).unwrap());
    let answer = get(&server, "/api/v1/audit-logs", &tampered).await;
    assert!(
        answer.problem(401, None)["detail"]
            .as_str()
            .unwrap()
            .contains("not valid")
    );

    // An expired token, signed with the server's own key as if minted an hour ago.
    let db = Database::connect(server.database_url()).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT value FROM server_secrets",
        ))
        .await
        .unwrap()
        .unwrap();
    let key: [u8; 32] = hex::decode(row.try_get::<String>("", "value").unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    db.close().await.unwrap();
    let grant = ViewerGrant {
        token_id: uuid::Uuid::now_v7(),
        org_id: tenant.org.id,
        project_id: None,
        user_id: "u_1".into(),
        org_role: Role::Owner,
        project_role: None,
        minted_by: tenant.key.id,
        expires: chrono::Utc::now().timestamp() - 3600,
    };
    let expired = viewer_token::sign(&key, &grant);
    let answer = get(&server, "/api/v1/audit-logs", &expired).await;
    assert!(
        answer.problem(401, None)["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

async fn exports_stream_exactly_the_filtered_records(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut tricky = event("prompt", "pr,1", "update");
    tricky["before"] = json!({ "text": "a, \"quoted\"\nline", "ü": "日本" });
    tricky["userAgent"] = json!("Mozilla/5.0 (X11, Linux)");
    let events = vec![
        tricky,
        event("dataset", "ds_1", "create"),
        event("prompt", "pr_2", "delete"),
    ];
    post(
        &server,
        "/api/v1/audit-logs/batch",
        tenant.secret(),
        &json!({ "events": events }),
    )
    .await
    .ok(200);
    let mut expected = all_records(&server, tenant.secret(), "&resourceType=prompt").await;
    expected.reverse();

    let response = server
        .http()
        .get(server.url("/api/v1/audit-logs/export?format=jsonl&resourceType=prompt"))
        .bearer_auth(tenant.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"audit-logs-") && disposition.ends_with(".jsonl\"")
    );
    let text = response.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines, expected,
        "one record per line, oldest first, as the read endpoint returns it"
    );

    let response = server
        .http()
        .get(server.url("/api/v1/audit-logs/export?format=csv&resourceType=prompt"))
        .bearer_auth(tenant.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let text = response.text().await.unwrap();
    let rows = parse_csv(&text);
    assert_eq!(rows[0][..4], ["id", "orgId", "seq", "createdAt"]);
    assert_eq!(rows.len(), 1 + expected.len());
    let column = |name: &str| rows[0].iter().position(|header| header == name).unwrap();
    for (row, record) in rows[1..].iter().zip(&expected) {
        assert_eq!(row[column("id")], record["id"].as_str().unwrap());
        assert_eq!(row[column("resourceId")], record["resourceId"].as_str().unwrap());
        assert_eq!(
            row[column("userAgent")],
            record["userAgent"].as_str().unwrap_or("")
        );
        let before: Value = if row[column("before")].is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&row[column("before")]).unwrap()
        };
        assert_eq!(before, record["before"], "JSON fields survive quoting");
    }

    let exports = all_records(&server, tenant.secret(), "&resourceType=batchExport").await;
    assert_eq!(exports.len(), 2, "each export is recorded");
    assert_eq!(exports[0]["metadata"]["format"], "csv");
    assert_eq!(exports[0]["metadata"]["filter"]["resourceType"], "prompt");
    get(&server, "/api/v1/audit-logs/export", tenant.secret())
        .await
        .problem(400, Some("format"));
    get(&server, "/api/v1/audit-logs/export?format=xml", tenant.secret())
        .await
        .problem(400, Some("format"));
}

/// A small RFC 4180 reader, so the test checks the format rather than trusting a library.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

on_both_backends!(
    every_role_at_both_levels_follows_langfuse,
    tokens_read_within_their_scope_only,
    expired_and_tampered_tokens_are_refused,
    exports_stream_exactly_the_filtered_records,
);
