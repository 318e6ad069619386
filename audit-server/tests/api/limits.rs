//! Operations limits: per-credential rate limits (429 with `Retry-After`, other keys
//! unaffected, counted in `/metrics`) and request timeouts (503 problem, streaming answers
//! exempt). Each test runs a second server with the limit on the first one's database.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::time::Duration;

use audit_core::Scope;
use serde_json::Value;

use crate::helpers::*;
use crate::on_both_backends;
use crate::sse::tail;

async fn metric(server: &TestServer, name: &str) -> u64 {
    let text = metrics_text(server).await;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in /metrics:\n{text}"))
        .parse()
        .unwrap()
}

async fn a_key_over_its_rate_gets_429_and_other_keys_do_not(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let other = server.create_key(tenant.org.id, &[Scope::AuditLogsRead]).await;
    let limited = second_server(&server, |config| {
        config.rate_limit_per_second = 0.2;
        config.rate_limit_burst = 3.0;
    })
    .await;
    let path = "/api/v1/audit-logs?limit=1";
    for _ in 0..3 {
        get(&limited, path, tenant.secret()).await.ok(200);
    }
    let refused = limited
        .http()
        .get(limited.url(path))
        .bearer_auth(tenant.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&retry_after), "Retry-After: {retry_after}");
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["status"], 429, "{problem}");
    // Recording is limited too, and a refused event is not stored.
    let answer = post(
        &limited,
        "/api/v1/audit-logs",
        tenant.secret(),
        &event("prompt", "pr_limited", "create"),
    )
    .await;
    answer.problem(429, None);
    let stored = all_records(&server, tenant.secret(), "&resourceId=pr_limited").await;
    assert!(stored.is_empty(), "{stored:?}");

    // Another key of the same organization has a bucket of its own.
    get(&limited, path, &other.secret).await.ok(200);
    assert_eq!(metric(&limited, "audit_rate_limited_total").await, 2);

    // After waiting as told, the key may go on.
    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(100)).await;
    get(&limited, path, tenant.secret()).await.ok(200);
    limited.stop().await;
}

async fn a_slow_request_times_out_with_a_problem_but_streams_do_not(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    // A trail long enough that verifying it takes far more than a millisecond.
    record_many(&server, tenant.secret(), 3000).await;
    let impatient = second_server(&server, |config| config.request_timeout_secs = 0.001).await;

    let answer = get(&impatient, "/api/v1/audit-logs/verify", tenant.secret()).await;
    let problem = answer.problem(503, None);
    assert_eq!(problem["type"], "urn:problem:audit-log:timeout", "{problem}");
    assert_eq!(metric(&impatient, "audit_request_timeouts_total").await, 1);

    // The export streams all 3,000 records and more, however long that takes.
    let export = impatient
        .http()
        .get(impatient.url("/api/v1/audit-logs/export?format=jsonl"))
        .bearer_auth(tenant.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let lines = export.text().await.unwrap().lines().count();
    assert!(lines >= 3000, "{lines} lines");

    // The live tail stays open and delivers.
    let mut live = tail(&impatient, tenant.secret(), "", None).await;
    let new = record(&server, tenant.secret(), &event("prompt", "pr_after", "create")).await;
    assert_eq!(live.next_record(Duration::from_secs(10)).await, Some(new));
    drop(live);
    impatient.stop().await;
}

on_both_backends!(
    a_key_over_its_rate_gets_429_and_other_keys_do_not,
    a_slow_request_times_out_with_a_problem_but_streams_do_not,
);
