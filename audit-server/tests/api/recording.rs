//! Recording: single events, batches, idempotency, the catalog and durability.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use audit_core::Catalog;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

async fn records_an_event_with_every_field(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let id = uuid::Uuid::now_v7();
    let sent = json!({
        "id": id,
        "occurredAt": "2026-11-25T11:00:00.123456+01:00",
        "orgId": tenant.org.id,
        "type": "USER",
        "userId": "u_123",
        "userOrgRole": "ADMIN",
        "projectId": "p_1",
        "userProjectRole": "MEMBER",
        "resourceType": "prompt",
        "resourceId": "pr_9",
        "action": "update",
        "before": { "name": "greeting", "prompt": "Hi", "version": 1 },
        "after": { "name": "greeting", "prompt": "Hello", "version": 2.5, "tags": ["a", "ü"] },
        "ipAddress": "203.0.113.7",
        "userAgent": "Mozilla/5.0",
        "requestId": "req-abc",
        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
        "metadata": { "source": "web" }
    });
    let response = server
        .http()
        .post(server.url("/api/v1/audit-logs"))
        .bearer_auth(tenant.secret())
        .json(&sent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], format!("/api/v1/audit-logs/{id}"));
    let stored: Value = response.json().await.unwrap();

    for field in [
        "type",
        "userId",
        "userOrgRole",
        "projectId",
        "userProjectRole",
        "resourceType",
        "resourceId",
        "action",
        "before",
        "after",
        "ipAddress",
        "userAgent",
        "requestId",
        "traceId",
        "metadata",
    ] {
        assert_eq!(stored[field], sent[field], "{field}");
    }
    assert_eq!(stored["id"], id.to_string());
    assert_eq!(stored["orgId"], tenant.org.id.to_string());
    assert_eq!(
        stored["occurredAt"], "2026-11-25T10:00:00.123Z",
        "converted to UTC, millisecond precision"
    );
    assert_eq!(stored["seq"], 2, "seq 1 is the creation of the tenant's key");
    assert_eq!(stored["recordedBy"], tenant.key.id.to_string());
    assert_eq!(stored["hash"].as_str().unwrap().len(), 64);

    let fetched = get(&server, &format!("/api/v1/audit-logs/{id}"), tenant.secret()).await;
    assert_eq!(fetched.ok(200), &stored, "GET returns exactly the stored record");
}

async fn the_server_makes_ids_and_times_when_absent(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let stored = record(&server, tenant.secret(), &event("dataset", "ds_1", "create")).await;
    let id = uuid::Uuid::parse_str(stored["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7);
    assert_eq!(stored["occurredAt"], stored["createdAt"]);
    assert_eq!(stored["projectId"], Value::Null);
}

async fn retries_are_idempotent_by_id(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut sent = event("prompt", "pr_1", "create");
    sent["id"] = json!(uuid::Uuid::now_v7());
    let first = post(&server, "/api/v1/audit-logs", tenant.secret(), &sent).await;
    let first = first.ok(201).clone();

    // The same content, with members in another order and numbers spelled differently.
    let mut same = serde_json::Map::new();
    for (name, value) in sent.as_object().unwrap().iter().rev() {
        same.insert(name.clone(), value.clone());
    }
    let retry = post(
        &server,
        "/api/v1/audit-logs",
        tenant.secret(),
        &Value::Object(same),
    )
    .await;
    assert_eq!(retry.ok(200), &first, "a retry answers the stored record");

    let mut different = sent.clone();
    different["action"] = json!("delete");
    post(&server, "/api/v1/audit-logs", tenant.secret(), &different)
        .await
        .problem(409, None);

    let records = all_records(&server, tenant.secret(), "&resourceType=prompt").await;
    assert_eq!(records.len(), 1, "exactly one record for the id");
    assert_eq!(records[0]["action"], "create");
}

async fn every_catalog_pair_is_accepted(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let catalog = Catalog::langfuse();
    let events: Vec<Value> = catalog
        .pairs()
        .map(|(resource_type, action)| event(resource_type, "r_1", action))
        .collect();
    assert_eq!(events.len(), 117, "every row of Langfuse's table");
    let answer = post(
        &server,
        "/api/v1/audit-logs/batch",
        tenant.secret(),
        &json!({ "events": events }),
    )
    .await;
    let results = answer.ok(200)["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), events.len());
    for (index, result) in results.iter().enumerate() {
        assert_eq!(result["index"], index);
        assert_eq!(result["status"], "created", "{result}");
    }
    let served: Value = get(&server, "/api/v1/catalog", tenant.secret())
        .await
        .ok(200)
        .clone();
    let served_pairs: usize = served["resourceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["actions"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        served_pairs, 123,
        "Langfuse's table, the service's own `viewerToken` `create` and five `logStream` actions"
    );
}

async fn unknown_pairs_name_the_allowed_actions(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let answer = post(
        &server,
        "/api/v1/audit-logs",
        tenant.secret(),
        &event("prompt", "pr_1", "explode"),
    )
    .await;
    let problem = answer.problem(422, Some("action"));
    assert_eq!(
        problem["allowedActions"],
        json!(["create", "delete", "promote", "setLabel", "update", "updateTags"])
    );
    let answer = post(
        &server,
        "/api/v1/audit-logs",
        tenant.secret(),
        &event("spaceship", "s_1", "create"),
    )
    .await;
    answer.problem(422, Some("resourceType"));
}

async fn organizations_extend_the_catalog(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let other = Tenant::new(&server, "Other").await;
    let invoice = event("invoice", "inv_1", "void");
    post(&server, "/api/v1/audit-logs", tenant.secret(), &invoice)
        .await
        .problem(422, Some("resourceType"));

    let path = format!("/api/v1/organizations/{}/catalog", tenant.org.id);
    let added = post(
        &server,
        &path,
        tenant.secret(),
        &json!({ "resourceType": "invoice", "actions": ["create", "void"] }),
    )
    .await;
    let added = added.ok(200);
    assert!(
        added["resourceTypes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["resourceType"] == "invoice")
    );

    record(&server, tenant.secret(), &invoice).await;
    post(&server, "/api/v1/audit-logs", other.secret(), &invoice)
        .await
        .problem(422, Some("resourceType"));
}

async fn batches_report_each_outcome(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut duplicate = event("prompt", "pr_1", "create");
    duplicate["id"] = json!(uuid::Uuid::now_v7());
    record(&server, tenant.secret(), &duplicate).await;

    let mut unknown_action = event("prompt", "pr_2", "explode");
    let unknown_action_id = uuid::Uuid::now_v7();
    unknown_action["id"] = json!(unknown_action_id);
    let events = json!({ "events": [
        event("prompt", "pr_2", "create"),
        unknown_action,
        duplicate,
        { "type": "USER", "resourceType": "prompt" },
        event("dataset", "ds_1", "delete"),
    ]});
    let answer = post(&server, "/api/v1/audit-logs/batch", tenant.secret(), &events).await;
    let results = answer.ok(200)["results"].as_array().unwrap().clone();
    let statuses: Vec<&str> = results
        .iter()
        .map(|result| result["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["created", "rejected", "duplicate", "rejected", "created"]
    );
    assert_eq!(results[1]["error"]["status"], 422);
    assert_eq!(
        results[1]["id"],
        unknown_action_id.to_string(),
        "a rejected event's id is echoed"
    );
    assert_eq!(results[1]["error"]["errors"][0]["field"], "events[1].action");
    assert!(
        results[3]["error"]["errors"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("events[3]")
    );

    let records = all_records(&server, tenant.secret(), "").await;
    assert_eq!(
        records.len(),
        4,
        "key creation, the first record and two created in the batch"
    );
    assert!(verify(&server, tenant.secret()).await["valid"].as_bool().unwrap());
}

async fn acknowledged_records_survive_a_restart(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let stored = record(&server, tenant.secret(), &event("prompt", "pr_1", "create")).await;
    server.stop().await;
    server.restart().await;
    let fetched = get(
        &server,
        &format!("/api/v1/audit-logs/{}", stored["id"].as_str().unwrap()),
        tenant.secret(),
    )
    .await;
    assert_eq!(fetched.ok(200), &stored);
}

async fn batches_mixing_stored_and_repeated_ids_keep_the_chain_gap_free(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut stored = event("prompt", "pr_1", "create");
    stored["id"] = json!(uuid::Uuid::now_v7());
    record(&server, tenant.secret(), &stored).await;
    let mut stored_changed = stored.clone();
    stored_changed["action"] = json!("delete");
    let mut repeated = event("dataset", "ds_1", "create");
    repeated["id"] = json!(uuid::Uuid::now_v7());
    let mut repeated_changed = repeated.clone();
    repeated_changed["action"] = json!("delete");

    // The server appends without looking ids up first; a stored id makes it roll back and
    // append again with the lookup, so the answer and the chain must not show the first try.
    let events = json!({ "events": [
        event("prompt", "pr_2", "create"),
        repeated.clone(),
        stored,
        repeated,
        stored_changed,
        repeated_changed,
        event("prompt", "pr_3", "create"),
    ]});
    let answer = post(&server, "/api/v1/audit-logs/batch", tenant.secret(), &events).await;
    let results = answer.ok(200)["results"].as_array().unwrap().clone();
    let statuses: Vec<&str> = results
        .iter()
        .map(|result| result["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "created",
            "created",
            "duplicate",
            "duplicate",
            "rejected",
            "rejected",
            "created"
        ]
    );
    assert_eq!(results[4]["error"]["status"], 409);
    assert_eq!(results[5]["error"]["status"], 409);

    let records = all_records(&server, tenant.secret(), "").await;
    let mut seqs: Vec<i64> = records
        .iter()
        .map(|record| record["seq"].as_i64().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=5).collect::<Vec<_>>(),
        "key creation, the first record and three created"
    );
    assert!(verify(&server, tenant.secret()).await["valid"].as_bool().unwrap());

    // The same batch again: everything is now a duplicate or a conflict, nothing is stored.
    let again = post(&server, "/api/v1/audit-logs/batch", tenant.secret(), &events).await;
    let statuses: Vec<String> = again.ok(200)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        [
            "created",
            "duplicate",
            "duplicate",
            "duplicate",
            "rejected",
            "rejected",
            "created"
        ],
        "events without an id are new events each time"
    );
    assert_eq!(all_records(&server, tenant.secret(), "").await.len(), 7);
    assert!(verify(&server, tenant.secret()).await["valid"].as_bool().unwrap());
}

on_both_backends!(
    records_an_event_with_every_field,
    the_server_makes_ids_and_times_when_absent,
    retries_are_idempotent_by_id,
    every_catalog_pair_is_accepted,
    unknown_pairs_name_the_allowed_actions,
    organizations_extend_the_catalog,
    batches_report_each_outcome,
    batches_mixing_stored_and_repeated_ids_keep_the_chain_gap_free,
    acknowledged_records_survive_a_restart,
);
