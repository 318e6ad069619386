//! `GET /metrics`: Prometheus text with requests, latency, events and the database pool.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

/// The value of the sample `name{labels}` in `text`, if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|value| value.parse().ok())
}

async fn metrics_count_requests_events_and_rejections(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut sent = event("prompt", "pr_1", "create");
    sent["id"] = json!(uuid::Uuid::now_v7());
    record(&server, tenant.secret(), &sent).await;
    post(&server, "/api/v1/audit-logs", tenant.secret(), &sent)
        .await
        .ok(200);
    post(
        &server,
        "/api/v1/audit-logs",
        tenant.secret(),
        &event("prompt", "pr_1", "explode"),
    )
    .await
    .problem(422, None);
    let batch =
        json!({ "events": [event("dataset", "ds_1", "create"), event("dataset", "ds_1", "explode")] });
    post(&server, "/api/v1/audit-logs/batch", tenant.secret(), &batch)
        .await
        .ok(200);

    let response = server.http().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();

    assert_eq!(
        sample(&text, r#"audit_events_recorded_total{outcome="created"}"#),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"audit_events_recorded_total{outcome="duplicate"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"audit_events_rejected_total{reason="validation"}"#),
        Some(2.0)
    );
    let route = r#"method="POST",route="/api/v1/audit-logs""#;
    assert_eq!(
        sample(
            &text,
            &format!(r#"audit_http_requests_total{{{route},status="201"}}"#)
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"audit_http_requests_total{{{route},status="422"}}"#)
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("audit_http_request_duration_seconds_count{{{route}}}")
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"audit_http_request_duration_seconds_bucket{{{route},le="+Inf"}}"#)
        ),
        Some(3.0)
    );
    assert!(sample(&text, r#"audit_db_pool_connections{state="idle"}"#).is_some());
    assert!(!text.contains(&tenant.key.secret), "no secrets in metrics");
}

on_both_backends!(metrics_count_requests_events_and_rejections);
