//! Tenant isolation: another organization's key, a key of another project, a key without the
//! scope, the admin token and revoked or unknown credentials are refused on every endpoint, and
//! nothing of the other tenant leaks into an answer.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use audit_core::Scope;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

/// A marker in organization A's data that must never appear in an answer to anyone else.
const A_SECRET: &str = "a-only-resource-7f3c";

/// Asserts that `answer` is a problem with `status` and that none of `secrets` is in its body.
#[track_caller]
fn refused(answer: &Answer, status: u16, secrets: &[&str]) {
    let body = answer.problem(status, None);
    assert!(body["type"].is_string(), "problem type: {body}");
    assert_no_leak(body, secrets);
}

#[track_caller]
fn assert_no_leak(body: &Value, secrets: &[&str]) {
    let text = body.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "answer leaks `{secret}`: {text}");
    }
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|record| record["id"].as_str().expect("id").to_owned())
        .collect()
}

/// What an organization's trail looks like from outside: its record ids and chain head.
#[derive(Debug, PartialEq)]
struct Trail {
    ids: Vec<String>,
    head_seq: Value,
    head_hash: Value,
}

async fn trail(server: &TestServer, token: &str) -> Trail {
    let records = all_records(server, token, "").await;
    let verdict = verify(server, token).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    Trail {
        ids: ids(&records),
        head_seq: verdict["headSeq"].clone(),
        head_hash: verdict["headHash"].clone(),
    }
}

async fn another_orgs_key_cannot_read_or_write_its_records(server: TestServer) {
    let a = Tenant::new(&server, "Org A").await;
    let b = Tenant::new(&server, "Org B").await;
    let a_record = record(&server, a.secret(), &event("prompt", A_SECRET, "update")).await;
    let a_id = a_record["id"].as_str().expect("id").to_owned();
    let b_record = record(&server, b.secret(), &event("prompt", "pr_b", "create")).await;
    let a_org = a.org.id.to_string();
    let secrets = [a_id.as_str(), A_SECRET, a_org.as_str()];
    let before = trail(&server, a.secret()).await;

    // Fetching A's record by id is "no such record", not "forbidden".
    let answer = get(&server, &format!("/api/v1/audit-logs/{a_id}"), b.secret()).await;
    refused(&answer, 404, &secrets);

    // B's list holds B's records only, whatever the filter.
    let b_records = all_records(&server, b.secret(), "").await;
    assert!(ids(&b_records).contains(&b_record["id"].as_str().unwrap().to_owned()));
    for query in [
        "",
        "&resourceId=a-only-resource-7f3c",
        "&resourceType=prompt",
        "&userId=u_1",
    ] {
        let records = all_records(&server, b.secret(), query).await;
        assert!(!ids(&records).contains(&a_id), "query `{query}` shows A's record");
        assert!(
            records.iter().all(|r| r["orgId"] == json!(b.org.id)),
            "query `{query}`: {records:?}"
        );
        assert_no_leak(&Value::Array(records), &[A_SECRET]);
    }

    // B's verify checks B's chain only.
    let verdict = verify(&server, b.secret()).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["checked"], json!(b_records.len()), "{verdict}");
    assert_eq!(verdict["headSeq"], json!(b_records.len()), "{verdict}");
    assert_ne!(verdict["headHash"], before.head_hash, "B's chain head is not A's");

    // Recording into A by naming A's organization is refused, alone or in a batch.
    let mut into_a = event("prompt", "pr_smuggled", "update");
    into_a["orgId"] = json!(a.org.id);
    let answer = post(&server, "/api/v1/audit-logs", b.secret(), &into_a).await;
    refused(&answer, 403, &secrets);
    let answer = post(
        &server,
        "/api/v1/audit-logs/batch",
        b.secret(),
        &json!({ "events": [into_a] }),
    )
    .await;
    let results = answer.ok(200)["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["status"], "rejected", "{results:?}");
    assert_eq!(results[0]["error"]["status"], 403, "{results:?}");
    assert_no_leak(&Value::Array(results), &secrets);

    // Nothing reached A, and nothing of the smuggled events reached B either.
    assert_eq!(trail(&server, a.secret()).await, before);
    let b_after = all_records(&server, b.secret(), "&resourceId=pr_smuggled").await;
    assert!(b_after.is_empty(), "{b_after:?}");
}

async fn idempotency_ids_are_per_organization_and_project(server: TestServer) {
    let a = Tenant::new(&server, "Org A").await;
    let b = Tenant::new(&server, "Org B").await;
    let mut submitted = event("prompt", A_SECRET, "update");
    submitted["id"] = json!(uuid::Uuid::now_v7());
    let a_record = record(&server, a.secret(), &submitted).await;
    let id = a_record["id"].as_str().expect("id").to_owned();
    let a_hash = a_record["hash"].as_str().expect("hash").to_owned();
    let before = trail(&server, a.secret()).await;

    // B reusing A's id, with A's very content, is a new record of B's: not a "duplicate" of A's.
    let answer = post(&server, "/api/v1/audit-logs", b.secret(), &submitted).await;
    let b_record = answer.ok(201);
    assert_eq!(b_record["orgId"], json!(b.org.id), "{b_record}");
    assert_ne!(b_record["hash"], a_hash, "{b_record}");
    let mut different = submitted.clone();
    different["action"] = json!("create");
    let answer = post(&server, "/api/v1/audit-logs", b.secret(), &different).await;
    assert_ne!(answer.status, 201, "B stored the same id twice: {}", answer.body);
    assert_no_leak(&answer.body, &[&a_hash, a.org.id.to_string().as_str()]);
    let fetched = get(&server, &format!("/api/v1/audit-logs/{id}"), b.secret()).await;
    assert_eq!(fetched.ok(200)["orgId"], json!(b.org.id));
    let fetched = get(&server, &format!("/api/v1/audit-logs/{id}"), a.secret()).await;
    assert_eq!(fetched.ok(200), &a_record);
    assert_eq!(trail(&server, a.secret()).await, before);

    // A project key replaying an organization-level event's exact body must not get that record back.
    let p1 = server
        .create_project_key(
            a.org.id,
            &[Scope::AuditLogsWrite, Scope::AuditLogsRead],
            Some("p_1"),
        )
        .await;
    let before = trail(&server, a.secret()).await;
    let answer = post(&server, "/api/v1/audit-logs", &p1.secret, &submitted).await;
    assert!(
        !answer.status.is_success() || answer.body["projectId"] == "p_1",
        "a p_1 key was handed an organization-level record: {} {}",
        answer.status,
        answer.body
    );
    assert_no_leak(&answer.body, &[&a_hash]);
    assert_eq!(trail(&server, a.secret()).await, before);
}

async fn another_orgs_key_cannot_manage_its_keys_or_catalog(server: TestServer) {
    let a = Tenant::new(&server, "Org A").await;
    let b = Tenant::new(&server, "Org B").await;
    let a_reader = server.create_key(a.org.id, &[Scope::AuditLogsRead]).await;
    server.create_key(b.org.id, &[Scope::AuditLogsRead]).await;
    let added = post(
        &server,
        &format!("/api/v1/organizations/{}/catalog", a.org.id),
        server.admin_token(),
        &json!({ "resourceType": "invoice", "actions": ["void", "refund"] }),
    )
    .await;
    added.ok(200);
    let a_key_id = a_reader.id.to_string();
    let secrets = [
        a_key_id.as_str(),
        a_reader.secret.as_str(),
        a_reader.secret_prefix.as_str(),
        "invoice",
    ];
    let before = trail(&server, a.secret()).await;
    let a_keys = format!("/api/v1/organizations/{}/api-keys", a.org.id);

    // A's keys: B's manager key may not create, list or revoke them.
    let new_key = json!({ "name": "intruder", "scopes": ["auditLogs:read"], "projectId": null });
    refused(&post(&server, &a_keys, b.secret(), &new_key).await, 403, &secrets);
    refused(&get(&server, &a_keys, b.secret()).await, 403, &secrets);
    refused(
        &delete(&server, &format!("{a_keys}/{a_key_id}"), b.secret()).await,
        403,
        &secrets,
    );

    // A's key id under B's own path: no such key in B, and A's key keeps working.
    let b_path = format!("/api/v1/organizations/{}/api-keys/{a_key_id}", b.org.id);
    refused(&delete(&server, &b_path, b.secret()).await, 404, &secrets);
    get(&server, "/api/v1/audit-logs?limit=1", &a_reader.secret)
        .await
        .ok(200);
    let listed = get(&server, &a_keys, a.secret()).await;
    let a_listed = listed.ok(200)["data"].as_array().expect("data").clone();
    let reader = a_listed
        .iter()
        .find(|key| key["id"] == a_key_id)
        .expect("A's key is listed");
    assert!(reader["revokedAt"].is_null(), "{reader}");
    assert!(
        a_listed.iter().all(|key| key["name"] != "intruder"),
        "{a_listed:?}"
    );

    // B lists its own keys only.
    let b_listed = get(
        &server,
        &format!("/api/v1/organizations/{}/api-keys", b.org.id),
        b.secret(),
    )
    .await;
    let b_listed = b_listed.ok(200)["data"].as_array().expect("data").clone();
    assert_eq!(b_listed.len(), 2, "{b_listed:?}");
    assert!(
        b_listed.iter().all(|key| key["orgId"] == json!(b.org.id)),
        "{b_listed:?}"
    );
    assert_no_leak(&Value::Array(b_listed), &secrets);

    // A's catalog: B may not extend it, and does not see A's additions.
    let entry = json!({ "resourceType": "payout", "actions": ["approve"] });
    let answer = post(
        &server,
        &format!("/api/v1/organizations/{}/catalog", a.org.id),
        b.secret(),
        &entry,
    )
    .await;
    refused(&answer, 403, &secrets);
    let b_catalog = get(&server, "/api/v1/catalog", b.secret()).await;
    assert_no_leak(b_catalog.ok(200), &["invoice", "refund"]);
    let a_catalog = get(&server, "/api/v1/catalog", a.secret()).await;
    let a_catalog = a_catalog.ok(200).to_string();
    assert!(
        a_catalog.contains("invoice") && !a_catalog.contains("payout"),
        "{a_catalog}"
    );
    let answer = post(
        &server,
        "/api/v1/audit-logs",
        b.secret(),
        &event("invoice", "inv_1", "void"),
    )
    .await;
    refused(&answer, 422, &["refund"]);

    // Organizations are the operator's: no key may create or list them.
    refused(
        &get(&server, "/api/v1/organizations", b.secret()).await,
        403,
        &["Org A"],
    );
    let answer = post(
        &server,
        "/api/v1/organizations",
        b.secret(),
        &json!({ "name": "Org C" }),
    )
    .await;
    refused(&answer, 403, &["Org A"]);

    // A's trail has nothing new: no key was created or revoked in it.
    assert_eq!(trail(&server, a.secret()).await, before);
}

async fn a_project_key_stays_in_its_project(server: TestServer) {
    let org = Tenant::new(&server, "Org").await;
    let p1 = server
        .create_project_key(
            org.org.id,
            &[Scope::AuditLogsWrite, Scope::AuditLogsRead],
            Some("p_1"),
        )
        .await;
    let mut other_project = event("prompt", "pr_p2_secret", "update");
    other_project["projectId"] = json!("p_2");
    let p2_record = record(&server, org.secret(), &other_project).await;
    let p2_id = p2_record["id"].as_str().expect("id").to_owned();
    let org_level = record(
        &server,
        org.secret(),
        &event("project", "org_level_secret", "create"),
    )
    .await;
    let org_level_id = org_level["id"].as_str().expect("id").to_owned();
    let secrets = [
        p2_id.as_str(),
        "pr_p2_secret",
        org_level_id.as_str(),
        "org_level_secret",
    ];
    let before = trail(&server, org.secret()).await;

    // Recording another project's event is refused, alone or in a batch.
    refused(
        &post(&server, "/api/v1/audit-logs", &p1.secret, &other_project).await,
        403,
        &secrets,
    );
    let batch = json!({ "events": [other_project] });
    let answer = post(&server, "/api/v1/audit-logs/batch", &p1.secret, &batch).await;
    let results = answer.ok(200)["results"].clone();
    assert_eq!(results[0]["status"], "rejected", "{results}");
    assert_eq!(results[0]["error"]["status"], 403, "{results}");
    assert_eq!(trail(&server, org.secret()).await, before);

    // An event without a project is filled with the key's project.
    let own = record(&server, &p1.secret, &event("prompt", "pr_p1", "create")).await;
    assert_eq!(own["projectId"], "p_1", "{own}");
    let own_id = own["id"].as_str().expect("id").to_owned();

    // Reading: another project is refused; the list shows the key's project only.
    let answer = get(&server, "/api/v1/audit-logs?projectId=p_2", &p1.secret).await;
    refused(&answer, 403, &secrets);
    let visible = all_records(&server, &p1.secret, "").await;
    assert!(
        !visible.is_empty() && visible.iter().all(|r| r["projectId"] == "p_1"),
        "{visible:?}"
    );
    assert!(ids(&visible).contains(&own_id), "{visible:?}");
    assert_no_leak(&Value::Array(visible.clone()), &secrets);
    let filtered = all_records(&server, &p1.secret, "&projectId=p_1").await;
    assert_eq!(ids(&filtered), ids(&visible));
    for query in ["&resourceId=pr_p2_secret", "&resourceType=project", "&userId=u_1"] {
        let records = all_records(&server, &p1.secret, query).await;
        assert_no_leak(&Value::Array(records), &secrets);
    }

    // Another project's record and an organization-level record are "no such record".
    for id in [&p2_id, &org_level_id] {
        refused(
            &get(&server, &format!("/api/v1/audit-logs/{id}"), &p1.secret).await,
            404,
            &secrets,
        );
    }
    get(&server, &format!("/api/v1/audit-logs/{own_id}"), &p1.secret)
        .await
        .ok(200);

    // The chain spans the organization: a project key may not verify it.
    refused(
        &get(&server, "/api/v1/audit-logs/verify", &p1.secret).await,
        403,
        &secrets,
    );
    refused(
        &get(&server, "/api/v1/audit-logs/verify?fromSeq=1&toSeq=1", &p1.secret).await,
        403,
        &secrets,
    );
}

async fn a_project_manager_manages_its_projects_keys_only(server: TestServer) {
    let org = Tenant::new(&server, "Org").await;
    let manager = server
        .create_project_key(org.org.id, &[Scope::ApiKeysManage], Some("p_1"))
        .await;
    let p2_key = server
        .create_project_key(org.org.id, &[Scope::AuditLogsRead], Some("p_2"))
        .await;
    let org_key = server.create_key(org.org.id, &[Scope::AuditLogsRead]).await;
    let keys = format!("/api/v1/organizations/{}/api-keys", org.org.id);
    let secrets = [p2_key.secret.as_str(), org_key.secret.as_str()];

    // Another project's key: refused.
    let answer = post(
        &server,
        &keys,
        &manager.secret,
        &json!({ "name": "p2", "scopes": ["auditLogs:read"], "projectId": "p_2" }),
    )
    .await;
    refused(&answer, 403, &secrets);

    // No project asked for: never an organization-level key (403, or a key of its own project).
    let answer = post(
        &server,
        &keys,
        &manager.secret,
        &json!({ "name": "org-level", "scopes": ["auditLogs:read"], "projectId": null }),
    )
    .await;
    if answer.status.is_success() {
        assert_eq!(
            answer.ok(201)["projectId"],
            "p_1",
            "a project manager made an org-level key: {}",
            answer.body
        );
    } else {
        refused(&answer, 403, &secrets);
    }
    let own = post(
        &server,
        &keys,
        &manager.secret,
        &json!({ "name": "p1", "scopes": ["auditLogs:read"], "projectId": "p_1" }),
    )
    .await;
    assert_eq!(own.ok(201)["projectId"], "p_1");

    // It lists its project's keys only.
    let listed = get(&server, &keys, &manager.secret).await;
    let listed = listed.ok(200)["data"].as_array().expect("data").clone();
    assert!(
        listed.len() >= 2 && listed.iter().all(|key| key["projectId"] == "p_1"),
        "{listed:?}"
    );
    let (p2_key_id, org_key_id) = (p2_key.id.to_string(), org_key.id.to_string());
    assert_no_leak(&Value::Array(listed), &[p2_key_id.as_str(), org_key_id.as_str()]);

    // It cannot revoke other projects' or organization-level keys; they keep working.
    for key in [&p2_key, &org_key] {
        refused(
            &delete(&server, &format!("{keys}/{}", key.id), &manager.secret).await,
            404,
            &secrets,
        );
    }
    get(&server, "/api/v1/audit-logs?limit=1", &org_key.secret)
        .await
        .ok(200);
    get(
        &server,
        "/api/v1/audit-logs?limit=1&projectId=p_2",
        &p2_key.secret,
    )
    .await
    .ok(200);

    // Nor change the organization's catalog.
    let answer = post(
        &server,
        &format!("/api/v1/organizations/{}/catalog", org.org.id),
        &manager.secret,
        &json!({ "resourceType": "invoice", "actions": ["void"] }),
    )
    .await;
    refused(&answer, 403, &secrets);
}

async fn scopes_and_credentials_are_enforced(server: TestServer) {
    let org = Tenant::new(&server, "Org").await;
    let stored = record(&server, org.secret(), &event("prompt", "pr_1", "create")).await;
    let id = stored["id"].as_str().expect("id").to_owned();
    let writer = server.create_key(org.org.id, &[Scope::AuditLogsWrite]).await;
    let reader = server.create_key(org.org.id, &[Scope::AuditLogsRead]).await;
    let keys = format!("/api/v1/organizations/{}/api-keys", org.org.id);
    let one = event("prompt", "pr_2", "update");
    let batch = json!({ "events": [one] });
    let before = trail(&server, org.secret()).await;
    let secrets = [id.as_str(), "pr_1"];

    // A write-only key cannot read.
    for path in [
        "/api/v1/audit-logs".to_owned(),
        format!("/api/v1/audit-logs/{id}"),
        "/api/v1/audit-logs/verify".to_owned(),
    ] {
        refused(&get(&server, &path, &writer.secret).await, 403, &secrets);
    }
    // A read-only key cannot write or manage keys.
    refused(
        &post(&server, "/api/v1/audit-logs", &reader.secret, &one).await,
        403,
        &secrets,
    );
    refused(
        &post(&server, "/api/v1/audit-logs/batch", &reader.secret, &batch).await,
        403,
        &secrets,
    );
    refused(&get(&server, &keys, &reader.secret).await, 403, &secrets);
    let new_key = json!({ "name": "x", "scopes": ["apiKeys:manage"] });
    refused(
        &post(&server, &keys, &reader.secret, &new_key).await,
        403,
        &secrets,
    );
    refused(
        &delete(&server, &format!("{keys}/{}", writer.id), &reader.secret).await,
        403,
        &secrets,
    );

    // The admin token manages tenants, and neither records nor reads events.
    let admin = server.admin_token();
    refused(
        &post(&server, "/api/v1/audit-logs", admin, &one).await,
        403,
        &secrets,
    );
    refused(
        &post(&server, "/api/v1/audit-logs/batch", admin, &batch).await,
        403,
        &secrets,
    );
    refused(&get(&server, "/api/v1/audit-logs", admin).await, 403, &secrets);
    refused(
        &get(&server, &format!("/api/v1/audit-logs/{id}"), admin).await,
        403,
        &secrets,
    );
    refused(
        &get(&server, "/api/v1/audit-logs/verify", admin).await,
        403,
        &secrets,
    );
    assert_eq!(trail(&server, org.secret()).await, before);

    // A revoked key stops working at once, everywhere.
    let revoked = server.create_key(org.org.id, &Scope::ALL).await;
    get(&server, "/api/v1/audit-logs?limit=1", &revoked.secret)
        .await
        .ok(200);
    let answer = delete(&server, &format!("{keys}/{}", revoked.id), server.admin_token()).await;
    answer.ok(204);
    let before = trail(&server, org.secret()).await;
    let gone = &revoked.secret;
    refused(&get(&server, "/api/v1/audit-logs", gone).await, 401, &secrets);
    refused(
        &get(&server, &format!("/api/v1/audit-logs/{id}"), gone).await,
        401,
        &secrets,
    );
    refused(
        &get(&server, "/api/v1/audit-logs/verify", gone).await,
        401,
        &secrets,
    );
    refused(
        &post(&server, "/api/v1/audit-logs", gone, &one).await,
        401,
        &secrets,
    );
    refused(
        &post(&server, "/api/v1/audit-logs/batch", gone, &batch).await,
        401,
        &secrets,
    );
    refused(&get(&server, &keys, gone).await, 401, &secrets);
    refused(&get(&server, "/api/v1/catalog", gone).await, 401, &secrets);
    assert_eq!(trail(&server, org.secret()).await, before);

    // No, malformed or unknown credentials: 401 with a Bearer challenge.
    let garbage: [Option<&str>; 6] = [
        None,
        Some("Bearer "),
        Some("Bearer not-a-real-secret"),
        Some("Basic dXNlcjpwYXNz"),
        Some(org.secret()),
        Some("Bearer test-admin-token-012345678"),
    ];
    for authorization in garbage {
        for (method, path) in [
            (reqwest::Method::GET, "/api/v1/audit-logs".to_owned()),
            (reqwest::Method::GET, format!("/api/v1/audit-logs/{id}")),
            (reqwest::Method::GET, "/api/v1/audit-logs/verify".to_owned()),
            (reqwest::Method::POST, "/api/v1/audit-logs".to_owned()),
            (reqwest::Method::GET, "/api/v1/organizations".to_owned()),
            (reqwest::Method::GET, keys.clone()),
            (reqwest::Method::GET, "/api/v1/catalog".to_owned()),
        ] {
            let mut request = server
                .http()
                .request(method.clone(), server.url(&path))
                .json(&one);
            if let Some(authorization) = authorization {
                request = request.header(reqwest::header::AUTHORIZATION, authorization);
            }
            let response = request.send().await.expect("request");
            let context = format!("{method} {path} with {authorization:?}");
            assert_eq!(response.status(), 401, "{context}");
            let challenge = response.headers().get(reqwest::header::WWW_AUTHENTICATE).cloned();
            assert!(
                challenge.is_some_and(|value| value.to_str().unwrap_or("").starts_with("Bearer")),
                "{context}: no Bearer challenge"
            );
            let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).cloned();
            assert_eq!(
                content_type.as_ref().and_then(|v| v.to_str().ok()),
                Some("application/problem+json"),
                "{context}"
            );
            let body: Value = response.json().await.expect("problem body");
            assert_eq!(body["status"], 401, "{context}: {body}");
            assert_no_leak(&body, &secrets);
        }
    }
    assert_eq!(trail(&server, org.secret()).await, before);
}

async fn another_orgs_key_cannot_see_retry_or_discard_its_dead_letters(server: TestServer) {
    let a = Tenant::new(&server, "Org A").await;
    let b = Tenant::new(&server, "Org B").await;
    let a_project_key = server
        .create_project_key(a.org.id, &[Scope::ApiKeysManage], Some("p_1"))
        .await;
    let receiver = crate::receiver::Receiver::start().await;
    *receiver.state.poison.lock().unwrap() = Some(A_SECRET.to_owned());
    let body = json!({"name": "hook", "destination": {"type": "webhook", "url": receiver.url},
                      "secret": "whsec_isolation_secret_0123456", "maxAttempts": 1});
    let stream = post(&server, "/api/v1/streams", a.secret(), &body)
        .await
        .ok(201)
        .clone();
    let id = stream["id"].as_str().unwrap().to_owned();
    record(&server, a.secret(), &event("prompt", A_SECRET, "update")).await;
    let list = format!("/api/v1/streams/{id}/dead-letters");
    crate::receiver::eventually(60, "A's record set aside", || async {
        get(&server, &list, a.secret()).await.body["data"]
            .as_array()
            .is_some_and(|data| data.len() == 1)
    })
    .await;
    let seq = get(&server, &list, a.secret()).await.body["data"][0]["seq"].clone();
    let retry = format!("{list}/{seq}/retry");
    let discard = format!("{list}/{seq}");
    let secrets = [A_SECRET, id.as_str()];
    let before = trail(&server, a.secret()).await;

    // B's manager key: not found, whatever it asks; a project key of A and the operator: forbidden.
    refused(&get(&server, &list, b.secret()).await, 404, &secrets);
    refused(
        &post(&server, &retry, b.secret(), &json!({})).await,
        404,
        &secrets,
    );
    refused(&delete(&server, &discard, b.secret()).await, 404, &secrets);
    refused(&get(&server, &list, &a_project_key.secret).await, 403, &secrets);
    refused(
        &post(&server, &retry, &a_project_key.secret, &json!({})).await,
        403,
        &secrets,
    );
    refused(
        &delete(&server, &discard, &a_project_key.secret).await,
        403,
        &secrets,
    );
    refused(&get(&server, &list, server.admin_token()).await, 403, &secrets);

    // Nothing moved: still listed, nothing redelivered, A's trail unchanged.
    assert_eq!(
        get(&server, &list, a.secret()).await.ok(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        receiver
            .webhook_envelopes()
            .iter()
            .all(|envelope| envelope.get("deadLetterRetry").is_none())
    );
    assert_eq!(trail(&server, a.secret()).await, before);

    // A's own discard works and is audited.
    delete(&server, &discard, a.secret()).await.ok(204);
    assert!(
        get(&server, &list, a.secret()).await.ok(200)["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let records = all_records(&server, a.secret(), "").await;
    assert_eq!(records[0]["action"], "discardDeadLetter", "{}", records[0]);
}

on_both_backends!(
    another_orgs_key_cannot_see_retry_or_discard_its_dead_letters,
    another_orgs_key_cannot_read_or_write_its_records,
    idempotency_ids_are_per_organization_and_project,
    another_orgs_key_cannot_manage_its_keys_or_catalog,
    a_project_key_stays_in_its_project,
    a_project_manager_manages_its_projects_keys_only,
    scopes_and_credentials_are_enforced,
);
