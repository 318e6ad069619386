//! Log stream management: create, list, get, update, pause, resume, delete; each change in the
//! trail; secrets never shown; tenant isolation; bad input named.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use audit_core::Scope;
use serde_json::{Value, json};

use crate::helpers::{Tenant, TestServer, all_records, delete, get, patch, post};

const SECRET: &str = "whsec_super_secret_value_9f8e7d";

fn webhook(url: &str) -> Value {
    json!({
        "name": "SIEM",
        "destination": { "type": "webhook", "url": url },
        "secret": SECRET,
    })
}

async fn create(server: &TestServer, token: &str, body: &Value) -> Value {
    post(server, "/api/v1/streams", token, body).await.ok(201).clone()
}

async fn streams_are_managed_and_audited(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let token = acme.secret();
    let created = create(&server, token, &webhook("https://hooks.example.com/audit")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["orgId"], acme.org.id.to_string());
    assert_eq!(
        created["destination"],
        json!({ "type": "webhook", "url": "https://hooks.example.com/audit" })
    );
    assert_eq!(created["hasSecret"], true);
    assert_eq!(created["secretHint"], "…8e7d");
    assert_eq!(created["state"], "active");
    assert_eq!(created["health"]["status"], "healthy");
    assert_eq!(
        created["filter"],
        json!({ "projectId": null, "resourceTypes": [], "actions": [] })
    );
    // A new stream starts from now: the head before its own `create` event.
    let head_at_creation = created["deliveredSeq"].as_i64().unwrap();
    assert!(head_at_creation >= 1, "the key creation is already in the trail");

    let list = get(&server, "/api/v1/streams", token).await;
    assert_eq!(list.ok(200)["data"].as_array().unwrap().len(), 1);
    let path = format!("/api/v1/streams/{id}");
    assert_eq!(get(&server, &path, token).await.ok(200)["name"], "SIEM");

    let changed = patch(
        &server,
        &path,
        token,
        &json!({ "name": "SIEM (prod)", "filter": { "projectId": "p_1", "resourceTypes": ["prompt"], "actions": [] } }),
    )
    .await;
    let changed = changed.ok(200);
    assert_eq!(changed["name"], "SIEM (prod)");
    assert_eq!(changed["filter"]["resourceTypes"], json!(["prompt"]));
    assert_eq!(changed["hasSecret"], true, "the secret is kept");

    let paused = post(&server, &format!("{path}/pause"), token, &json!({})).await;
    assert_eq!(paused.ok(200)["state"], "paused");
    let resumed = post(&server, &format!("{path}/resume"), token, &json!({})).await;
    assert_eq!(resumed.ok(200)["state"], "active");

    // A new secret: a new hint, still never the secret.
    let rotated = patch(
        &server,
        &path,
        token,
        &json!({ "secret": "another-signing-secret-1234" }),
    )
    .await;
    assert_eq!(rotated.ok(200)["secretHint"], "…1234");

    assert_eq!(delete(&server, &path, token).await.status, 204);
    get(&server, &path, token).await.problem(404, None);
    delete(&server, &path, token).await.problem(404, None);

    // Every change is in the trail, by the key, without the secret.
    let trail = all_records(&server, token, "&resourceType=logStream").await;
    let mut actions: Vec<&str> = trail.iter().map(|r| r["action"].as_str().unwrap()).collect();
    actions.reverse();
    assert_eq!(
        actions,
        ["create", "update", "pause", "resume", "update", "delete"]
    );
    assert!(
        trail
            .iter()
            .all(|r| r["resourceId"] == id.as_str() && r["apiKeyId"] == acme.key.id.to_string())
    );
    let everything = serde_json::to_string(&all_records(&server, token, "").await).unwrap();
    assert!(!everything.contains(SECRET) && !everything.contains("another-signing-secret"));
}

async fn secrets_never_appear_in_answers(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let token = acme.secret();
    let bodies = [
        webhook("https://hooks.example.com/a"),
        json!({ "name": "splunk", "destination": { "type": "splunkHec", "url": "https://splunk.example.com:8088", "index": "main" }, "secret": SECRET }),
        json!({ "name": "dd", "destination": { "type": "datadog", "site": "datadoghq.eu", "service": "audit" }, "secret": SECRET }),
    ];
    let mut texts = Vec::new();
    for body in &bodies {
        let answer = post(&server, "/api/v1/streams", token, body).await;
        texts.push(answer.ok(201).to_string());
    }
    texts.push(get(&server, "/api/v1/streams", token).await.ok(200).to_string());
    for text in &texts {
        assert!(!text.contains(SECRET), "secret in {text}");
        assert!(!text.contains("super_secret"), "secret part in {text}");
    }
}

async fn streams_respect_tenants_and_scopes(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let globex = Tenant::new(&server, "Globex").await;
    let created = create(&server, acme.secret(), &webhook("https://hooks.example.com/a")).await;
    let path = format!("/api/v1/streams/{}", created["id"].as_str().unwrap());

    // Another organization's key: not found, and not listed.
    let other = globex.secret();
    get(&server, &path, other).await.problem(404, None);
    patch(&server, &path, other, &json!({ "name": "mine" }))
        .await
        .problem(404, None);
    post(&server, &format!("{path}/pause"), other, &json!({}))
        .await
        .problem(404, None);
    post(&server, &format!("{path}/resume"), other, &json!({}))
        .await
        .problem(404, None);
    delete(&server, &path, other).await.problem(404, None);
    assert_eq!(
        get(&server, "/api/v1/streams", other).await.ok(200)["data"],
        json!([])
    );

    // Keys without `apiKeys:manage`, project-restricted managers and the operator: 403.
    let reader = server
        .create_key(acme.org.id, &[Scope::AuditLogsRead, Scope::AuditLogsWrite])
        .await;
    let project_manager = server
        .create_project_key(acme.org.id, &[Scope::ApiKeysManage], Some("p_1"))
        .await;
    for token in [
        reader.secret.as_str(),
        project_manager.secret.as_str(),
        server.admin_token(),
    ] {
        get(&server, "/api/v1/streams", token).await.problem(403, None);
        get(&server, &path, token).await.problem(403, None);
        post(
            &server,
            "/api/v1/streams",
            token,
            &webhook("https://x.example.com"),
        )
        .await
        .problem(403, None);
        patch(&server, &path, token, &json!({ "name": "x" }))
            .await
            .problem(403, None);
        delete(&server, &path, token).await.problem(403, None);
    }
    get(&server, "/api/v1/streams", "ak_unknown")
        .await
        .problem(401, None);
    // Untouched by all of the above.
    let still = get(&server, &path, acme.secret()).await;
    assert_eq!(still.ok(200)["name"], "SIEM");
    assert_eq!(still.body["state"], "active");
}

async fn bad_stream_input_names_the_field(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let token = acme.secret();
    let with = |change: Value| {
        let mut body = webhook("https://hooks.example.com/a");
        for (name, value) in change.as_object().unwrap() {
            if value.is_null() {
                body.as_object_mut().unwrap().remove(name);
            } else {
                body[name] = value.clone();
            }
        }
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "destination": { "type": "webhook", "url": "ftp://hooks.example.com" } }),
            "destination.url",
        ),
        (
            json!({ "destination": { "type": "webhook", "url": "not a url" } }),
            "destination.url",
        ),
        (
            json!({ "destination": { "type": "webhook", "url": "https://user:pw@hooks.example.com" } }),
            "destination.url",
        ),
        (
            json!({ "destination": { "type": "webhook", "url": format!("https://h.example.com/{}", "a".repeat(2048)) } }),
            "destination.url",
        ),
        (
            json!({ "destination": { "type": "splunkHec", "url": "https://s.example.com", "index": "" } }),
            "destination.index",
        ),
        (
            json!({ "destination": { "type": "datadog", "site": "evil.example.com/x" } }),
            "destination.site",
        ),
        (
            json!({ "destination": { "type": "file", "directory": "acme" }, "secret": null }),
            "destination.type",
        ),
        (json!({ "secret": null }), "secret"),
        (json!({ "secret": "short" }), "secret"),
        (json!({ "secret": "s".repeat(1025) }), "secret"),
        (json!({ "name": "" }), "name"),
        (json!({ "name": "n".repeat(257) }), "name"),
        (
            json!({ "filter": { "resourceTypes": [""] } }),
            "filter.resourceTypes[0]",
        ),
        (
            json!({ "filter": { "actions": vec!["a"; 101] } }),
            "filter.actions",
        ),
        (
            json!({ "filter": { "projectId": "p".repeat(257) } }),
            "filter.projectId",
        ),
        (json!({ "startSeq": 1_000_000 }), "startSeq"),
        (json!({ "startSeq": -1 }), "startSeq"),
        (json!({ "startSeq": 0, "fromBeginning": true }), "startSeq"),
        (json!({ "name": 5 }), "name"),
    ];
    for (change, field) in cases {
        let answer = post(&server, "/api/v1/streams", token, &with(change.clone())).await;
        assert_eq!(answer.status, 422, "{change}: {}", answer.body);
        answer.problem(422, Some(field));
    }
    for change in [
        json!({ "colour": "red" }),
        json!({ "destination": { "type": "webhook", "url": "https://h.example.com", "colour": "red" } }),
        json!({ "destination": { "type": "s3", "bucket": "b" } }),
        json!({ "filter": { "colour": "red" } }),
    ] {
        let answer = post(&server, "/api/v1/streams", token, &with(change.clone())).await;
        assert_eq!(answer.status, 422, "{change}: {}", answer.body);
        answer.problem(422, None);
    }
    // PATCH: a new destination type needs a new secret; nothing is written on refusal.
    let created = create(&server, token, &webhook("https://hooks.example.com/a")).await;
    let path = format!("/api/v1/streams/{}", created["id"].as_str().unwrap());
    let answer = patch(
        &server,
        &path,
        token,
        &json!({ "destination": { "type": "splunkHec", "url": "https://s.example.com" } }),
    )
    .await;
    answer.problem(422, Some("secret"));
    patch(
        &server,
        &path,
        token,
        &json!({ "destination": { "type": "webhook", "url": "gopher://x" } }),
    )
    .await
    .problem(422, Some("destination.url"));
    assert_eq!(
        get(&server, &path, token).await.ok(200)["destination"]["type"],
        "webhook"
    );
    // Nothing was stored for the refused bodies.
    assert_eq!(
        get(&server, "/api/v1/streams", token).await.ok(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    get(&server, "/api/v1/streams/not-a-uuid", token)
        .await
        .problem(400, Some("streamId"));
}

async fn an_organization_holds_at_most_25_streams(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let other = Tenant::new(&server, "Other").await;
    for n in 0..25 {
        create(
            &server,
            acme.secret(),
            &webhook(&format!("https://hooks.example.com/{n}")),
        )
        .await;
    }
    let refused = post(
        &server,
        "/api/v1/streams",
        acme.secret(),
        &webhook("https://hooks.example.com/x"),
    )
    .await;
    let problem = refused.problem(409, None);
    assert!(problem["detail"].as_str().unwrap().contains("25"), "{problem}");
    let list = get(&server, "/api/v1/streams", acme.secret()).await;
    assert_eq!(
        list.ok(200)["data"].as_array().unwrap().len(),
        25,
        "nothing was added"
    );
    // The limit is the organization's: another one still creates streams, and a deletion makes room.
    create(
        &server,
        other.secret(),
        &webhook("https://hooks.example.com/other"),
    )
    .await;
    let first = list.ok(200)["data"][0]["id"].as_str().unwrap().to_owned();
    delete(&server, &format!("/api/v1/streams/{first}"), acme.secret())
        .await
        .ok(204);
    create(&server, acme.secret(), &webhook("https://hooks.example.com/x")).await;
}

crate::on_both_backends!(
    an_organization_holds_at_most_25_streams,
    streams_are_managed_and_audited,
    secrets_never_appear_in_answers,
    streams_respect_tenants_and_scopes,
    bad_stream_input_names_the_field,
);
