//! The live tail (`GET /api/v1/audit-logs/stream`): new records arrive within a second, a
//! reconnection with `Last-Event-ID` resumes without gap or duplicate, filters, tenants and
//! projects are respected, and records by another server process on the same database arrive.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::time::{Duration, Instant};

use audit_core::Scope;
use audit_server::testing::ADMIN_TOKEN;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;
use crate::sse::{open_tail, tail};

/// Long enough for any record to arrive on a loaded machine; the fast path is asserted apart.
const ARRIVES: Duration = Duration::from_secs(10);
/// How long the tests wait to be sure nothing more comes (more than the 500 ms poll).
const QUIET: Duration = Duration::from_millis(1500);

fn seqs(records: &[Value]) -> Vec<i64> {
    records
        .iter()
        .map(|record| record["seq"].as_i64().expect("seq"))
        .collect()
}

fn in_project(project_id: &str, resource_id: &str) -> Value {
    let mut event = event("prompt", resource_id, "update");
    event["projectId"] = json!(project_id);
    event
}

async fn a_new_record_arrives_within_a_second(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let old = record(&server, tenant.secret(), &event("prompt", "pr_old", "create")).await;
    let mut live = tail(&server, tenant.secret(), "", None).await;

    let started = Instant::now();
    let new = record(&server, tenant.secret(), &event("prompt", "pr_new", "update")).await;
    let arrived = live.next_record(ARRIVES).await.expect("the new record arrives");
    let elapsed = started.elapsed();

    assert_eq!(arrived, new, "the event carries the record as stored");
    assert_ne!(
        arrived["id"], old["id"],
        "a tail without Last-Event-ID starts at now"
    );
    assert!(
        elapsed < Duration::from_secs(1),
        "recorded and delivered in {elapsed:?}"
    );
    assert!(live.next_record(QUIET).await.is_none(), "nothing else arrives");
}

/// Records a `prompt` `create` for each index, one request each; the stored records.
async fn create_prompts(server: &TestServer, token: &str, indexes: std::ops::Range<usize>) -> Vec<Value> {
    let mut records = Vec::new();
    for index in indexes {
        records.push(record(server, token, &event("prompt", &format!("pr_{index}"), "create")).await);
    }
    records
}

async fn a_reconnection_with_last_event_id_has_no_gap_and_no_duplicate(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut live = tail(&server, tenant.secret(), "", None).await;
    let mut expected = create_prompts(&server, tenant.secret(), 0..3).await;
    let first = live.records(3, ARRIVES).await;
    assert_eq!(first, expected);
    drop(live);

    // Recorded while the client is away.
    expected.extend(create_prompts(&server, tenant.secret(), 3..8).await);
    let last_seen = first.last().unwrap()["seq"].to_string();
    let mut live = tail(&server, tenant.secret(), "", Some(&last_seen)).await;
    let missed = live.records(5, ARRIVES).await;
    assert_eq!(
        missed,
        expected[3..],
        "the records recorded while disconnected, in order"
    );
    // And it stays live after catching up.
    expected.push(record(&server, tenant.secret(), &event("prompt", "pr_8", "create")).await);
    assert_eq!(live.next_record(ARRIVES).await.as_ref(), expected.last());
    assert!(live.next_record(QUIET).await.is_none(), "no duplicate");

    let all: Vec<Value> = first
        .into_iter()
        .chain(missed)
        .chain([expected[8].clone()])
        .collect();
    let got = seqs(&all);
    let from = got[0];
    assert_eq!(
        got,
        (from..from + 9).collect::<Vec<_>>(),
        "consecutive seqs, no gap"
    );

    // `afterSeq` starts a first connection at a known point; Last-Event-ID wins over it.
    let mut from_query = tail(&server, tenant.secret(), &format!("?afterSeq={}", got[6]), None).await;
    assert_eq!(seqs(&from_query.records(2, ARRIVES).await), got[7..9]);
    let mut both = tail(&server, tenant.secret(), "?afterSeq=0", Some(&got[7].to_string())).await;
    assert_eq!(seqs(&both.records(1, ARRIVES).await), got[8..9]);
    assert!(both.next_record(QUIET).await.is_none());
}

async fn filters_apply(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut live = tail(
        &server,
        tenant.secret(),
        "?resourceType=prompt&action=update&projectId=p_1",
        None,
    )
    .await;
    let mut matching = Vec::new();
    for index in 0..3 {
        record(
            &server,
            tenant.secret(),
            &event("prompt", &format!("pr_{index}"), "update"),
        )
        .await;
        record(
            &server,
            tenant.secret(),
            &in_project("p_2", &format!("pr_{index}")),
        )
        .await;
        record(
            &server,
            tenant.secret(),
            &event("dataset", &format!("ds_{index}"), "create"),
        )
        .await;
        matching.push(
            record(
                &server,
                tenant.secret(),
                &in_project("p_1", &format!("pr_{index}")),
            )
            .await,
        );
    }
    assert_eq!(live.records(3, ARRIVES).await, matching);
    assert!(
        live.next_record(QUIET).await.is_none(),
        "only matching records arrive"
    );
}

async fn tenants_projects_and_scopes_are_respected(server: TestServer) {
    let a = Tenant::new(&server, "Org A").await;
    let b = Tenant::new(&server, "Org B").await;
    let p1_key = server
        .create_project_key(a.org.id, &[Scope::AuditLogsRead], Some("p_1"))
        .await;
    let write_only = server.create_key(a.org.id, &[Scope::AuditLogsWrite]).await;
    let viewer = post(
        &server,
        "/api/v1/viewer-tokens",
        a.secret(),
        &json!({ "userId": "u_9", "orgRole": "MEMBER", "projectId": "p_1", "projectRole": "ADMIN" }),
    )
    .await
    .ok(201)["token"]
        .as_str()
        .expect("viewer token")
        .to_owned();

    let mut org_b = tail(&server, b.secret(), "", None).await;
    let mut project = tail(&server, &p1_key.secret, "", None).await;
    let mut viewer_tail = tail(&server, &viewer, "", None).await;
    let mut org_a = tail(&server, a.secret(), "", None).await;

    let p2 = record(&server, a.secret(), &in_project("p_2", "a-secret-p2")).await;
    let p1 = record(&server, a.secret(), &in_project("p_1", "a-p1")).await;
    assert_eq!(org_a.records(2, ARRIVES).await, [p2, p1.clone()]);
    assert_eq!(project.next_record(ARRIVES).await, Some(p1.clone()));
    assert_eq!(viewer_tail.next_record(ARRIVES).await, Some(p1));
    let b_own = record(&server, b.secret(), &event("prompt", "pr_b", "create")).await;
    assert_eq!(
        org_b.next_record(ARRIVES).await,
        Some(b_own),
        "B sees its own record only"
    );
    for (who, live) in [
        ("project key", &mut project),
        ("viewer", &mut viewer_tail),
        ("org B", &mut org_b),
    ] {
        assert!(live.next_record(QUIET).await.is_none(), "{who} sees nothing more");
    }

    for (token, query, status) in [
        (p1_key.secret.as_str(), "?projectId=p_2", 403),
        (write_only.secret.as_str(), "", 403),
        (ADMIN_TOKEN, "", 403),
        ("not-a-key", "", 401),
    ] {
        get(&server, &format!("/api/v1/audit-logs/stream{query}"), token)
            .await
            .problem(status, None);
    }
    let response = server
        .http()
        .get(server.url("/api/v1/audit-logs/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "no credentials");
}

async fn bad_parameters_are_problems(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let path = "/api/v1/audit-logs/stream";
    for (query, status, field) in [
        ("?afterSeq=-1", 400, "afterSeq"),
        ("?afterSeq=ten", 400, "afterSeq"),
        ("?limit=5", 400, "limit"),
        ("?bogus=1", 400, "bogus"),
        ("?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", 422, "to"),
    ] {
        get(&server, &format!("{path}{query}"), tenant.secret())
            .await
            .problem(status, Some(field));
    }
    let response = server
        .http()
        .get(server.url(path))
        .bearer_auth(tenant.secret())
        .header("Last-Event-ID", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "Last-Event-ID", "{body}");
}

async fn records_by_another_server_process_arrive(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let other = second_server(&server, |_| {}).await;
    let mut live = tail(&server, tenant.secret(), "", None).await;
    let started = Instant::now();
    let new = record(
        &other,
        tenant.secret(),
        &event("prompt", "pr_elsewhere", "create"),
    )
    .await;
    assert_eq!(live.next_record(ARRIVES).await, Some(new));
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(1),
        "delivered by polling in {elapsed:?}"
    );
    other.stop().await;
}

async fn a_credential_holds_a_limited_number_of_tails(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let other_key = server.create_key(tenant.org.id, &[Scope::AuditLogsRead]).await;
    let capped = second_server(&server, |config| config.tail_max_connections_per_key = 2).await;
    let first = tail(&capped, tenant.secret(), "", None).await;
    let _second = tail(&capped, tenant.secret(), "", None).await;
    let third = open_tail(&capped, tenant.secret(), "", None).await;
    assert_eq!(third.status(), 429);
    assert!(third.headers().contains_key("retry-after"));
    let _other = tail(&capped, &other_key.secret, "", None).await;

    // Closing a tail frees its place (the server notices when it next writes, within 15 s).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = open_tail(&capped, tenant.secret(), "", None).await;
        if response.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed tail's place was never freed"
        );
        record(&capped, tenant.secret(), &event("prompt", "pr_wake", "create")).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    capped.stop().await;
}

on_both_backends!(
    a_new_record_arrives_within_a_second,
    a_reconnection_with_last_event_id_has_no_gap_and_no_duplicate,
    filters_apply,
    tenants_projects_and_scopes_are_respected,
    bad_parameters_are_problems,
    records_by_another_server_process_arrive,
    a_credential_holds_a_limited_number_of_tails,
);
