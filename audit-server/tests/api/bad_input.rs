//! Bad input: malformed JSON, wrong types, missing fields, unknown enums, oversized bodies,
//! inverted ranges, garbage cursors and over-long strings each get their 4xx problem, never a
//! 5xx, and the stored data is unchanged.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

/// Asserts a complete problem body (`type`, `title`, `status`, `detail`) with `status`,
/// naming `field` when given, with no trace of internals.
#[track_caller]
fn rejected(answer: &Answer, status: u16, field: Option<&str>) -> Value {
    assert!(
        !answer.status.is_server_error(),
        "a 5xx for bad input: {}",
        answer.body
    );
    let body = answer.problem(status, field).clone();
    assert!(body["type"].is_string(), "problem type: {body}");
    let text = body.to_string().to_lowercase();
    for internal in [
        "panicked",
        "sqlx",
        "sqlite",
        "postgres",
        "select ",
        "insert into",
        "stack backtrace",
    ] {
        assert!(
            !text.contains(internal),
            "the problem shows internals (`{internal}`): {body}"
        );
    }
    body
}

/// What a user can see of the stored data: record ids, newest first, and the chain head.
#[derive(Debug, PartialEq)]
struct Stored {
    ids: Vec<Value>,
    head_seq: Value,
    head_hash: Value,
}

async fn stored(server: &TestServer, token: &str) -> Stored {
    let ids = all_records(server, token, "")
        .await
        .iter()
        .map(|record| record["id"].clone())
        .collect();
    let verdict = verify(server, token).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    Stored {
        ids,
        head_seq: verdict["headSeq"].clone(),
        head_hash: verdict["headHash"].clone(),
    }
}

/// A tenant with a few records, and what is stored before the bad requests.
async fn seeded(server: &TestServer) -> (Tenant, Stored) {
    let tenant = Tenant::new(server, "Acme").await;
    for (id, action) in [("pr_1", "create"), ("pr_1", "update"), ("pr_2", "create")] {
        record(server, tenant.secret(), &event("prompt", id, action)).await;
    }
    let before = stored(server, tenant.secret()).await;
    (tenant, before)
}

/// A valid event with `change` applied (a `null` value removes the field).
fn event_with(change: Value) -> Value {
    let mut event = event("prompt", "pr_1", "update");
    for (name, value) in change.as_object().expect("object") {
        if value.is_null() {
            event.as_object_mut().unwrap().remove(name);
        } else {
            event[name] = value.clone();
        }
    }
    event
}

async fn recording_refuses_bad_events(server: TestServer) {
    let (tenant, before) = seeded(&server).await;
    let token = tenant.secret();
    let path = "/api/v1/audit-logs";
    let json_body = |value: &Value| serde_json::to_vec(value).unwrap();

    // Not JSON at all, or not declared as JSON.
    let valid = serde_json::to_string(&event("prompt", "pr_1", "update")).unwrap();
    let with_member = |member: &str| format!("{}, {member}}}", valid.trim_end_matches('}')).into_bytes();
    let nested = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let malformed: Vec<Vec<u8>> = vec![
        b"{\"type\": \"USER\",".to_vec(),
        b"".to_vec(),
        b"null".to_vec(),
        b"{\"type\": \"USER\", \"userId\": \"\xff\xfe\"}".to_vec(),
        with_member(r#""requestId": "\ud800""#),
        with_member(&format!(r#""after": {nested}"#)),
        with_member(r#""after": 1e400"#),
    ];
    for body in malformed {
        let answer = post_raw(&server, path, token, "application/json", body.clone()).await;
        assert!(
            answer.status.is_client_error(),
            "{}: {} {}",
            String::from_utf8_lossy(&body[..body.len().min(120)]),
            answer.status,
            answer.body
        );
        rejected(&answer, answer.status.as_u16(), None);
    }
    // Too deep to read: the member is named, not the path down to where reading stopped.
    let too_deep = with_member(&format!(r#""after": {nested}"#));
    rejected(
        &post_raw(&server, path, token, "application/json", too_deep).await,
        400,
        Some("after"),
    );
    let valid = valid.into_bytes();
    rejected(
        &post_raw(&server, path, token, "text/plain", valid.clone()).await,
        415,
        None,
    );
    rejected(
        &post_raw(&server, path, token, "application/x-www-form-urlencoded", valid).await,
        415,
        None,
    );

    // Wrong types, missing fields, unknown enum values and unknown fields: 422 naming the field.
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "userId": 5 }), "userId"),
        (json!({ "resourceType": ["prompt"] }), "resourceType"),
        (json!({ "metadata": [1, 2] }), "metadata"),
        (json!({ "occurredAt": 1_700_000_000 }), "occurredAt"),
        (json!({ "userId": null }), "userId"),
        (json!({ "type": "ROBOT" }), "type"),
        (json!({ "userOrgRole": "KING" }), "userOrgRole"),
        (json!({ "userProjectRole": "admin" }), "userProjectRole"),
        (json!({ "userId": "u".repeat(257) }), "userId"),
        (json!({ "resourceId": "r".repeat(257) }), "resourceId"),
        (json!({ "projectId": "p".repeat(257) }), "projectId"),
        (json!({ "userAgent": "a".repeat(1025) }), "userAgent"),
        (json!({ "userId": "u\u{0}1" }), "userId"),
        (json!({ "resourceId": "pr\u{0}" }), "resourceId"),
        (json!({ "after": { "name": "nul\u{0}" } }), "after"),
        (json!({ "resourceId": "   " }), "resourceId"),
        (json!({ "occurredAt": "yesterday" }), "occurredAt"),
        (json!({ "occurredAt": "2026-13-45T10:00:00Z" }), "occurredAt"),
        (json!({ "id": "not-a-uuid" }), "id"),
        (json!({ "orgId": "acme" }), "orgId"),
        (json!({ "type": "API_KEY", "userId": null }), "apiKeyId"),
    ];
    for (change, field) in cases {
        let answer = post(&server, path, token, &event_with(change.clone())).await;
        assert_eq!(answer.status, 422, "{change}: {}", answer.body);
        rejected(&answer, 422, Some(field));
    }
    let answer = post(&server, path, token, &event_with(json!({ "colour": "red" }))).await;
    let body = rejected(&answer, 422, None);
    assert!(
        body.to_string().contains("colour"),
        "the unknown field is named: {body}"
    );

    // Not in the catalog: the allowed actions are listed.
    let answer = post(&server, path, token, &event("prompt", "pr_1", "explode")).await;
    let body = rejected(&answer, 422, Some("action"));
    let allowed: Vec<&str> = body["allowedActions"]
        .as_array()
        .expect("allowedActions")
        .iter()
        .flat_map(Value::as_str)
        .collect();
    for action in ["create", "delete", "update", "setLabel"] {
        assert!(allowed.contains(&action), "{action} missing from {body}");
    }
    assert!(!allowed.contains(&"explode"), "{body}");
    let answer = post(&server, path, token, &event("spaceship", "s_1", "launch")).await;
    rejected(&answer, 422, Some("resourceType"));

    // Too large: the whole body, or one part of it.
    let mut huge = event("prompt", "pr_1", "update");
    huge["metadata"] = json!({ "blob": "x".repeat(1024 * 1024 + 64 * 1024) });
    rejected(
        &post_raw(&server, path, token, "application/json", json_body(&huge)).await,
        413,
        None,
    );
    let big_state = json!({ "blob": "x".repeat(300 * 1024) });
    for field in ["before", "after", "metadata"] {
        let mut event = event("prompt", "pr_1", "update");
        event[field] = big_state.clone();
        let bytes = json_body(&event);
        assert!(bytes.len() < 1024 * 1024);
        rejected(
            &post_raw(&server, path, token, "application/json", bytes).await,
            413,
            Some(field),
        );
    }

    assert_eq!(
        stored(&server, token).await,
        before,
        "bad events changed the stored data"
    );
}

async fn missing_required_fields_are_named(server: TestServer) {
    let (tenant, before) = seeded(&server).await;
    let token = tenant.secret();
    let admin = server.admin_token();

    for field in ["type", "resourceType", "resourceId", "action"] {
        let answer = post(
            &server,
            "/api/v1/audit-logs",
            token,
            &event_with(json!({ field: null })),
        )
        .await;
        rejected(&answer, 422, Some(field));
    }
    let batch = json!({ "events": [event_with(json!({ "resourceType": null }))] });
    let answer = post(&server, "/api/v1/audit-logs/batch", token, &batch).await;
    let result = answer.ok(200)["results"][0].clone();
    assert_eq!(result["status"], "rejected", "{result}");
    assert_eq!(
        result["error"]["errors"][0]["field"], "events[0].resourceType",
        "{result}"
    );
    rejected(
        &post(&server, "/api/v1/audit-logs/batch", token, &json!({})).await,
        422,
        Some("events"),
    );
    rejected(
        &post(&server, "/api/v1/organizations", admin, &json!({})).await,
        422,
        Some("name"),
    );
    let keys = format!("/api/v1/organizations/{}/api-keys", tenant.org.id);
    rejected(
        &post(&server, &keys, admin, &json!({ "name": "k" })).await,
        422,
        Some("scopes"),
    );
    let catalog = format!("/api/v1/organizations/{}/catalog", tenant.org.id);
    let answer = post(&server, &catalog, admin, &json!({ "resourceType": "invoice" })).await;
    rejected(&answer, 422, Some("actions"));

    assert_eq!(
        stored(&server, token).await,
        before,
        "refused events changed the stored data"
    );
}

async fn a_batch_refuses_bad_bodies_and_rejects_bad_events_alone(server: TestServer) {
    let (tenant, before) = seeded(&server).await;
    let token = tenant.secret();
    let path = "/api/v1/audit-logs/batch";

    // Bodies that are not a batch at all.
    rejected(
        &post_raw(
            &server,
            path,
            token,
            "application/json",
            b"{\"events\": [".to_vec(),
        )
        .await,
        400,
        None,
    );
    for body in [
        json!([]),
        json!("events"),
        json!({}),
        json!({ "events": 5 }),
        json!({ "events": [], "extra": 1 }),
    ] {
        let answer = post(&server, path, token, &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        rejected(&answer, 422, None);
    }
    let too_many: Vec<Value> = (0..1001)
        .map(|i| event("prompt", &format!("pr_{i}"), "create"))
        .collect();
    rejected(
        &post(&server, path, token, &json!({ "events": too_many })).await,
        422,
        Some("events"),
    );
    assert_eq!(
        stored(&server, token).await,
        before,
        "refused batches changed the stored data"
    );

    // Bad events among good ones: rejected one by one, naming `events[i].field`; the rest stored.
    let mut wrong_type = event("prompt", "pr_bad", "update");
    wrong_type["userId"] = json!(5);
    let mut too_long = event("prompt", "pr_bad", "update");
    too_long["userId"] = json!("u".repeat(257));
    let mut too_large = event("prompt", "pr_bad", "update");
    too_large["after"] = json!({ "blob": "x".repeat(300 * 1024) });
    // Nested deeper than a JSON reader goes (128 levels): this event cannot be read, the
    // batch around it can.
    let mut too_deep = event("prompt", "pr_bad", "update");
    too_deep["after"] = (0..200).fold(json!("bottom"), |inner, _| json!([inner]));
    let events = json!({ "events": [
        event("prompt", "pr_ok_0", "create"),
        wrong_type,
        event("prompt", "pr_bad", "explode"),
        event("prompt", "pr_ok_3", "update"),
        too_long,
        { "type": "ROBOT" },
        too_large,
        event("prompt", "pr_ok_7", "delete"),
        too_deep,
    ] });
    let answer = post(&server, path, token, &events).await;
    let results = answer.ok(200)["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), 9, "{results:?}");
    let rejections = [
        (1, 422, "events[1].userId"),
        (2, 422, "events[2].action"),
        (4, 422, "events[4].userId"),
        (8, 422, "events[8].after"),
    ];
    for (index, status, field) in rejections {
        let result = &results[index];
        assert_eq!(result["index"], index, "{result}");
        assert_eq!(result["status"], "rejected", "{result}");
        assert_eq!(result["error"]["status"], status, "{result}");
        let fields: Vec<&str> = result["error"]["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "expected `{field}` in {result}");
    }
    assert_eq!(results[5]["status"], "rejected", "{}", results[5]);
    assert_eq!(results[5]["error"]["status"], 422, "{}", results[5]);
    assert_eq!(results[6]["status"], "rejected", "{}", results[6]);
    assert_eq!(results[6]["error"]["status"], 413, "{}", results[6]);
    assert_eq!(
        results[6]["error"]["errors"][0]["field"], "events[6].after",
        "{}",
        results[6]
    );
    let mut created = Vec::new();
    for index in [0, 3, 7] {
        assert_eq!(results[index]["index"], index, "{}", results[index]);
        assert_eq!(results[index]["status"], "created", "{}", results[index]);
        created.push(results[index]["id"].clone());
    }

    // Exactly the good events were added, in order, and the chain still verifies.
    let after = stored(&server, token).await;
    created.reverse();
    assert_eq!(after.ids[..3], created[..], "newest first");
    assert_eq!(after.ids[3..], before.ids[..]);
    assert_eq!(after.head_seq, json!(before.head_seq.as_i64().unwrap() + 3));
    let rejected_ones = all_records(&server, token, "&resourceId=pr_bad").await;
    assert!(rejected_ones.is_empty(), "{rejected_ones:?}");
}

async fn reading_refuses_bad_parameters(server: TestServer) {
    let (tenant, before) = seeded(&server).await;
    let token = tenant.secret();
    let list = |query: &str| format!("/api/v1/audit-logs?{query}");
    let long = "r".repeat(300);

    let cases: Vec<(String, u16, &str)> = vec![
        (
            list("from=2026-11-25T10:00:00Z&to=2026-11-25T09:00:00Z"),
            422,
            "to",
        ),
        (list("cursor=garbage"), 400, "cursor"),
        (list("cursor=djE6LTE"), 400, "cursor"),
        (list("cursor="), 400, "cursor"),
        (list("limit=0"), 422, "limit"),
        (list("limit=1001"), 422, "limit"),
        (list("limit=-1"), 400, "limit"),
        (list("limit=abc"), 400, "limit"),
        (list("limit=99999999999999999999"), 400, "limit"),
        (list("limit=10&limit=20"), 400, "limit"),
        (list("colour=red"), 400, "colour"),
        (list("from=yesterday"), 400, "from"),
        (list("to=2026-11-25"), 400, "to"),
        (list("type=ROBOT"), 400, "type"),
        (list(&format!("resourceType={long}")), 422, "resourceType"),
        (list(&format!("userId={long}")), 422, "userId"),
        ("/api/v1/audit-logs/not-a-uuid".to_owned(), 400, "id"),
        ("/api/v1/audit-logs/018f3c4e".to_owned(), 400, "id"),
        ("/api/v1/audit-logs/verify?fromSeq=0".to_owned(), 422, "fromSeq"),
        ("/api/v1/audit-logs/verify?toSeq=-3".to_owned(), 422, "toSeq"),
        ("/api/v1/audit-logs/verify?fromSeq=abc".to_owned(), 400, "fromSeq"),
        (
            "/api/v1/audit-logs/verify?fromSeq=5&toSeq=2".to_owned(),
            422,
            "toSeq",
        ),
        ("/api/v1/audit-logs/verify?seq=1".to_owned(), 400, "seq"),
    ];
    for (path, status, field) in cases {
        let answer = get(&server, &path, token).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        rejected(&answer, status, Some(field));
    }

    assert_eq!(
        stored(&server, token).await,
        before,
        "bad reads changed the stored data"
    );
}

async fn trailing_garbage_after_the_json_is_refused(server: TestServer) {
    let (tenant, before) = seeded(&server).await;
    let token = tenant.secret();
    let one = serde_json::to_string(&event("prompt", "pr_trailing", "update")).unwrap();
    let batch = format!(r#"{{"events": [{one}]}}"#);
    for (path, token, body) in [
        ("/api/v1/audit-logs", token, format!("{one} trailing")),
        ("/api/v1/audit-logs", token, format!("{one}{one}")),
        ("/api/v1/audit-logs/batch", token, format!("{batch} ]")),
        (
            "/api/v1/organizations",
            server.admin_token(),
            r#"{"name": "Trailing"} x"#.to_owned(),
        ),
    ] {
        let answer = post_raw(
            &server,
            path,
            token,
            "application/json",
            body.clone().into_bytes(),
        )
        .await;
        assert_eq!(answer.status, 400, "{path} {body}: {}", answer.body);
        rejected(&answer, 400, None);
    }
    assert_eq!(
        stored(&server, token).await,
        before,
        "a body with trailing garbage was stored"
    );
}

async fn verifying_past_the_head_is_not_a_false_alarm(server: TestServer) {
    let (tenant, before) = seeded(&server).await;
    let head = before.head_seq.as_i64().unwrap();
    for range in [
        format!("fromSeq={}", head + 1),
        format!("fromSeq={}&toSeq={}", head + 100, head + 200),
    ] {
        let answer = get(
            &server,
            &format!("/api/v1/audit-logs/verify?{range}"),
            tenant.secret(),
        )
        .await;
        if answer.status.is_success() {
            assert_eq!(
                answer.body["valid"], true,
                "an intact chain reported broken for {range}: {}",
                answer.body
            );
        } else {
            rejected(&answer, 422, Some("fromSeq"));
        }
    }
    assert_eq!(stored(&server, tenant.secret()).await, before);
}

async fn a_nul_in_a_filter_is_not_a_server_error(server: TestServer) {
    let (tenant, before) = seeded(&server).await;
    let token = tenant.secret();
    let list = |query: &str| format!("/api/v1/audit-logs?{query}");

    // It matches nothing or is refused (PostgreSQL cannot store or compare a NUL in text).
    for query in ["userId=%00", "resourceId=pr%001", "projectId=%00"] {
        let answer = get(&server, &list(query), token).await;
        if answer.status.is_success() {
            assert_eq!(answer.body["data"], json!([]), "{query}: {}", answer.body);
        } else {
            assert!(
                answer.status.is_client_error(),
                "{query}: {} {}",
                answer.status,
                answer.body
            );
            rejected(&answer, answer.status.as_u16(), None);
        }
    }
    assert_eq!(stored(&server, token).await, before);
}

async fn managing_refuses_bad_names_scopes_and_ids(server: TestServer) {
    let (tenant, before) = seeded(&server).await;
    let admin = server.admin_token();
    let orgs_before = get(&server, "/api/v1/organizations", admin).await.ok(200).clone();
    let keys = format!("/api/v1/organizations/{}/api-keys", tenant.org.id);
    let keys_before = get(&server, &keys, admin).await.ok(200).clone();

    // Organizations.
    for (body, field) in [
        (json!({ "name": "" }), Some("name")),
        (json!({ "name": "   " }), Some("name")),
        (json!({ "name": "n".repeat(257) }), Some("name")),
        (json!({ "name": "bad\nname" }), Some("name")),
        (json!({ "name": 7 }), Some("name")),
        (json!({ "name": "Acme", "plan": "gold" }), None),
        (json!({}), None),
    ] {
        let answer = post(&server, "/api/v1/organizations", admin, &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        rejected(&answer, 422, field);
    }
    let answer = post_raw(
        &server,
        "/api/v1/organizations",
        admin,
        "application/json",
        b"{name: Acme}".to_vec(),
    )
    .await;
    rejected(&answer, 400, None);
    let answer = post_raw(
        &server,
        "/api/v1/organizations",
        admin,
        "text/plain",
        b"{\"name\":\"Acme\"}".to_vec(),
    )
    .await;
    rejected(&answer, 415, None);

    // Keys.
    for (body, field) in [
        (json!({ "name": "", "scopes": ["auditLogs:read"] }), Some("name")),
        (json!({ "name": "k", "scopes": [] }), Some("scopes")),
        (
            json!({ "name": "k", "scopes": ["auditLogs:delete"] }),
            Some("scopes[0]"),
        ),
        (json!({ "name": "k", "scopes": "auditLogs:read" }), Some("scopes")),
        (
            json!({ "name": "k", "scopes": ["auditLogs:read"], "projectId": "" }),
            Some("projectId"),
        ),
        (
            json!({ "name": "k", "scopes": ["auditLogs:read"], "projectId": "p".repeat(257) }),
            Some("projectId"),
        ),
        (
            json!({ "name": "k", "scopes": ["auditLogs:read"], "admin": true }),
            None,
        ),
    ] {
        for token in [admin, tenant.secret()] {
            let answer = post(&server, &keys, token, &body).await;
            assert_eq!(answer.status, 422, "{body}: {}", answer.body);
            rejected(&answer, 422, field);
        }
    }
    let read_key = json!({ "name": "k", "scopes": ["auditLogs:read"] });
    let not_an_org = "/api/v1/organizations/acme/api-keys";
    rejected(
        &post(&server, not_an_org, admin, &read_key).await,
        400,
        Some("orgId"),
    );
    rejected(&get(&server, not_an_org, admin).await, 400, Some("orgId"));
    rejected(
        &delete(&server, &format!("{not_an_org}/{}", tenant.key.id), admin).await,
        400,
        Some("orgId"),
    );
    rejected(
        &delete(&server, &format!("{keys}/not-a-key"), admin).await,
        400,
        Some("keyId"),
    );
    let unknown_org = format!("/api/v1/organizations/{}/api-keys", uuid::Uuid::new_v4());
    rejected(&post(&server, &unknown_org, admin, &read_key).await, 404, None);
    rejected(&get(&server, &unknown_org, admin).await, 404, None);
    rejected(
        &delete(&server, &format!("{keys}/{}", uuid::Uuid::new_v4()), admin).await,
        404,
        None,
    );

    // Catalog entries.
    let catalog = format!("/api/v1/organizations/{}/catalog", tenant.org.id);
    for (body, field) in [
        (
            json!({ "resourceType": "has space", "actions": ["void"] }),
            Some("resourceType"),
        ),
        (
            json!({ "resourceType": "invoice", "actions": [] }),
            Some("actions"),
        ),
        (
            json!({ "resourceType": "invoice", "actions": ["ok", "no/slash"] }),
            Some("actions[1]"),
        ),
        (
            json!({ "resourceType": "i".repeat(257), "actions": ["void"] }),
            Some("resourceType"),
        ),
        (json!({ "resourceType": "invoice" }), None),
    ] {
        let answer = post(&server, &catalog, admin, &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        rejected(&answer, 422, field);
    }
    let entry = json!({ "resourceType": "x", "actions": ["y"] });
    let answer = post(&server, "/api/v1/organizations/acme/catalog", admin, &entry).await;
    rejected(&answer, 400, Some("orgId"));
    let catalog_now = get(&server, "/api/v1/catalog", tenant.secret()).await;
    assert!(
        !catalog_now.ok(200).to_string().contains("invoice"),
        "a refused entry was stored"
    );

    // Nothing was created: no organization, no key, no key event.
    assert_eq!(
        get(&server, "/api/v1/organizations", admin).await.ok(200),
        &orgs_before
    );
    assert_eq!(get(&server, &keys, admin).await.ok(200), &keys_before);
    assert_eq!(
        stored(&server, tenant.secret()).await,
        before,
        "refused changes were recorded"
    );
}

async fn unknown_routes_and_methods_are_problems(server: TestServer) {
    let (tenant, before) = seeded(&server).await;
    let token = tenant.secret();
    for path in [
        "/api/v1/nope",
        "/api/v1/audit-logs/verify/extra",
        "/api/v2/audit-logs",
        "/api/v1/organizations/x/y/z",
    ] {
        rejected(&get(&server, path, token).await, 404, None);
    }
    rejected(&delete(&server, "/api/v1/audit-logs", token).await, 405, None);
    rejected(
        &delete(&server, "/api/v1/organizations", server.admin_token()).await,
        405,
        None,
    );
    rejected(
        &post(&server, "/api/v1/audit-logs/verify", token, &json!({})).await,
        405,
        None,
    );
    rejected(
        &post(&server, "/api/v1/catalog", token, &json!({})).await,
        405,
        None,
    );
    let record_id = before.ids[0].as_str().unwrap();
    let path = format!("/api/v1/audit-logs/{record_id}");
    rejected(&delete(&server, &path, token).await, 405, None);
    let response = server
        .http()
        .put(server.url(&path))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), 405);
    let response = server
        .http()
        .patch(server.url(&path))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(response.status(), 405);
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    assert_eq!(
        content_type.as_ref().and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );

    assert_eq!(
        stored(&server, token).await,
        before,
        "no record was changed through these doors"
    );
}

on_both_backends!(
    recording_refuses_bad_events,
    missing_required_fields_are_named,
    a_batch_refuses_bad_bodies_and_rejects_bad_events_alone,
    reading_refuses_bad_parameters,
    a_nul_in_a_filter_is_not_a_server_error,
    trailing_garbage_after_the_json_is_refused,
    verifying_past_the_head_is_not_a_false_alarm,
    managing_refuses_bad_names_scopes_and_ids,
    unknown_routes_and_methods_are_problems,
);
