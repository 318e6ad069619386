//! Reading: every filter, keyset pagination newest first, and single records.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|record| record["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn every_filter_selects_exactly_its_records(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut seeded = Vec::new();
    for (n, (resource_type, action, project, actor)) in [
        ("prompt", "create", Some("p_1"), "USER"),
        ("prompt", "update", Some("p_1"), "API_KEY"),
        ("dataset", "create", Some("p_2"), "USER"),
        ("dataset", "delete", None, "SYSTEM"),
        ("prompt", "delete", Some("p_2"), "API_KEY"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut sent = json!({ "type": actor, "resourceType": resource_type, "resourceId": format!("r_{n}"), "action": action });
        match actor {
            "USER" => sent["userId"] = json!(format!("u_{}", n % 2)),
            "API_KEY" => sent["apiKeyId"] = json!("pk_1"),
            _ => {}
        }
        if let Some(project) = project {
            sent["projectId"] = json!(project);
        }
        seeded.push(record(&server, tenant.secret(), &sent).await);
    }

    type Matches = dyn Fn(&Value) -> bool;
    let cases: [(&str, &Matches); 9] = [
        ("projectId=p_1", &|r| r["projectId"] == "p_1"),
        ("type=API_KEY", &|r| r["type"] == "API_KEY"),
        ("userId=u_0", &|r| r["userId"] == "u_0"),
        ("apiKeyId=pk_1", &|r| r["apiKeyId"] == "pk_1"),
        ("resourceType=dataset", &|r| r["resourceType"] == "dataset"),
        ("resourceId=r_3", &|r| r["resourceId"] == "r_3"),
        ("action=delete", &|r| r["action"] == "delete"),
        ("resourceType=prompt&action=delete", &|r| {
            r["resourceType"] == "prompt" && r["action"] == "delete"
        }),
        ("type=SYSTEM&resourceType=dataset", &|r| {
            r["type"] == "SYSTEM" && r["resourceType"] == "dataset"
        }),
    ];
    for (query, matches) in cases {
        let found = all_records(&server, tenant.secret(), &format!("&{query}")).await;
        let mut expected: Vec<Value> = seeded.iter().filter(|r| matches(r)).cloned().collect();
        expected.reverse();
        assert!(!expected.is_empty(), "{query} selects something");
        assert_eq!(ids(&found), ids(&expected), "{query}");
    }
}

async fn time_ranges_are_inclusive_from_and_exclusive_to(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut stored = Vec::new();
    for n in 0..3 {
        stored.push(
            record(
                &server,
                tenant.secret(),
                &event("prompt", &format!("pr_{n}"), "create"),
            )
            .await,
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let at = |n: usize| stored[n]["createdAt"].as_str().unwrap().to_owned();
    let query = format!("&resourceType=prompt&from={}&to={}", at(1), at(2));
    let found = all_records(&server, tenant.secret(), &query).await;
    assert_eq!(ids(&found), ids(&stored[1..2]));
    let found = all_records(
        &server,
        tenant.secret(),
        &format!("&resourceType=prompt&from={}", at(1)),
    )
    .await;
    assert_eq!(found.len(), 2);
    let found = all_records(
        &server,
        tenant.secret(),
        &format!("&resourceType=prompt&to={}", at(0)),
    )
    .await;
    assert!(found.is_empty());

    // A time range pages with the cursor like any other filter.
    let range = format!("from={}&to={}", at(0), at(2));
    let first = get(
        &server,
        &format!("/api/v1/audit-logs?limit=1&{range}"),
        tenant.secret(),
    )
    .await;
    let first = first.ok(200).clone();
    assert_eq!(ids(first["data"].as_array().unwrap()), ids(&stored[1..2]));
    let cursor = first["nextCursor"].as_str().unwrap();
    let path = format!("/api/v1/audit-logs?limit=1&{range}&cursor={cursor}");
    let second = get(&server, &path, tenant.secret()).await;
    let second = second.ok(200);
    assert_eq!(ids(second["data"].as_array().unwrap()), ids(&stored[0..1]));
    assert!(second["nextCursor"].is_null());
}

async fn pages_follow_the_cursor_newest_first_without_gaps(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let events: Vec<Value> = (0..44)
        .map(|n| event("score", &format!("s_{n}"), "create"))
        .collect();
    post(
        &server,
        "/api/v1/audit-logs/batch",
        tenant.secret(),
        &json!({ "events": events }),
    )
    .await
    .ok(200);

    let mut seqs = Vec::new();
    let mut pages = 0;
    let mut path = "/api/v1/audit-logs?limit=10".to_owned();
    loop {
        let page = get(&server, &path, tenant.secret()).await;
        let page = page.ok(200).clone();
        pages += 1;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 10);
        seqs.extend(data.iter().map(|record| record["seq"].as_i64().unwrap()));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/audit-logs?limit=10&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(
        seqs,
        (1..=45).rev().collect::<Vec<i64>>(),
        "newest first, each record once"
    );

    let default_page = get(&server, "/api/v1/audit-logs", tenant.secret()).await;
    assert_eq!(
        default_page.ok(200)["data"].as_array().unwrap().len(),
        45,
        "default limit 50"
    );
}

async fn unknown_ids_are_not_found(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let answer = get(
        &server,
        &format!("/api/v1/audit-logs/{}", uuid::Uuid::now_v7()),
        tenant.secret(),
    )
    .await;
    answer.problem(404, None);
}

on_both_backends!(
    every_filter_selects_exactly_its_records,
    time_ranges_are_inclusive_from_and_exclusive_to,
    pages_follow_the_cursor_newest_first_without_gaps,
    unknown_ids_are_not_found,
);
