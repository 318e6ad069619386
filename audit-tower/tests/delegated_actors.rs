//! `onBehalfOf` and `impersonatedBy` from the layer's actor and from the SDK, through the real
//! server, read back by the SDK and the API, filtered (in keyset order), exported as CSV and
//! JSON Lines, and verified: on SQLite and PostgreSQL.

mod common;

use audit_client::{ExportFormat, ListRequest};
use audit_core::{AuditEvent, AuditLogFilter, AuditRecord, VerifyParams};
use audit_server::testing::Backend;
use audit_tower::{Actor, AuditLayer};
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::routing::patch;
use axum::{Json, Router};
use common::World;
use futures::TryStreamExt;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The caller as the host's authentication would see it: an agent acting for a user, staff
/// impersonating a customer, or the customer alone.
async fn authenticate(mut request: Request) -> Request {
    let actor = match request.headers().get("x-caller").and_then(|v| v.to_str().ok()) {
        Some("agent") => Actor::api_key("agent_7").on_behalf_of("u_1"),
        Some("support") => Actor::user("u_2").impersonated_by("staff_3"),
        _ => Actor::user("u_2"),
    };
    request.extensions_mut().insert(actor);
    request
}

fn app(world: &World) -> Router {
    let audit = AuditLayer::builder(world.dispatcher.clone()).build();
    Router::new()
        .route(
            "/api/projects/{projectId}/prompts/{promptId}",
            patch(
                |Path((_, id)): Path<(String, String)>, Json(body): Json<Value>| async move {
                    Json(json!({ "id": id, "prompt": body["prompt"] }))
                },
            ),
        )
        .layer(audit)
        .layer(axum::middleware::map_request(authenticate))
}

async fn update(app: &Router, caller: &str, prompt_id: &str) -> Vec<u8> {
    let request = http::Request::builder()
        .method(Method::PATCH)
        .uri(format!("/api/projects/p_1/prompts/{prompt_id}"))
        .header("content-type", "application/json")
        .header("x-caller", caller)
        .body(Body::from(json!({ "prompt": caller }).to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec()
}

async fn listed(world: &World, request: ListRequest) -> Vec<AuditRecord> {
    world.client.list_all(request).try_collect().await.unwrap()
}

async fn exported(world: &World, filter: &AuditLogFilter, format: ExportFormat) -> String {
    let chunks: Vec<bytes::Bytes> = world
        .client
        .export(filter, format)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    String::from_utf8(chunks.concat()).unwrap()
}

/// The fields of one CSV row (RFC 4180 quoting; the export writes no line breaks in fields
/// of these records).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

async fn round_trip(backend: Backend) {
    let Some(world) = World::start_on(backend).await else {
        return;
    };
    let app = app(&world);
    let body = update(&app, "agent", "pr_1").await;
    assert_eq!(
        body, br#"{"id":"pr_1","prompt":"agent"}"#,
        "the host's response is unchanged"
    );
    update(&app, "support", "pr_2").await;
    update(&app, "customer", "pr_3").await;
    let mut by_sdk = AuditEvent::by_api_key("agent_7", "prompt", "pr_4", "update");
    by_sdk.on_behalf_of = Some("u_1".to_owned());
    assert!(world.dispatcher.record(by_sdk));

    let records = world.records().await;
    assert_eq!(records.len(), 4, "{records:#?}");
    let delegation = |record: &AuditRecord| {
        (
            record.resource_id.clone(),
            record.on_behalf_of.clone(),
            record.impersonated_by.clone(),
        )
    };
    let mut seen: Vec<_> = records.iter().map(delegation).collect();
    seen.sort();
    let text = |value: &str| Some(value.to_owned());
    assert_eq!(
        seen,
        [
            ("pr_1".to_owned(), text("u_1"), None),
            ("pr_2".to_owned(), None, text("staff_3")),
            ("pr_3".to_owned(), None, None),
            ("pr_4".to_owned(), text("u_1"), None),
        ]
    );
    let agent = records.iter().find(|r| r.resource_id == "pr_1").unwrap();
    assert_eq!(agent.api_key_id.as_deref(), Some("agent_7"));
    let impersonated = records.iter().find(|r| r.resource_id == "pr_2").unwrap();
    assert_eq!(impersonated.user_id.as_deref(), Some("u_2"));

    // The filters, one record per page: newest first, nothing else.
    let on_behalf: Vec<String> = listed(&world, ListRequest::new().on_behalf_of("u_1").page_size(1))
        .await
        .into_iter()
        .map(|record| record.resource_id)
        .collect();
    assert_eq!(on_behalf, ["pr_4", "pr_1"]);
    let impersonations = listed(&world, ListRequest::new().impersonated_by("staff_3")).await;
    assert_eq!(impersonations.len(), 1);
    assert_eq!(impersonations[0].resource_id, "pr_2");
    assert!(
        listed(&world, ListRequest::new().on_behalf_of("u_2"))
            .await
            .is_empty(),
        "u_2 acted themselves; nobody acted for them"
    );

    // The API as a plain HTTP client sees it: the fields present when set, absent otherwise.
    let page: Value = world
        .server
        .http()
        .get(world.server.url("/api/v1/audit-logs?impersonatedBy=staff_3"))
        .bearer_auth(&world.secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"][0]["impersonatedBy"], "staff_3");
    assert_eq!(page["data"][0]["userId"], "u_2");
    assert!(page["data"][0].get("onBehalfOf").is_none(), "{page}");
    let refused = world
        .server
        .http()
        .get(
            world
                .server
                .url(&format!("/api/v1/audit-logs?onBehalfOf={}", "x".repeat(300))),
        )
        .bearer_auth(&world.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "onBehalfOf", "{problem}");

    // Exports: the CSV has both columns, the JSON lines the fields, and filters apply.
    let filter = AuditLogFilter {
        on_behalf_of: Some("u_1".to_owned()),
        ..AuditLogFilter::default()
    };
    let csv = exported(&world, &filter, ExportFormat::Csv).await;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let rows: Vec<Vec<String>> = lines.map(csv_fields).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{csv}");
        assert_eq!(row[column("onBehalfOf")], "u_1");
        assert_eq!(row[column("impersonatedBy")], "");
    }
    let jsonl = exported(
        &world,
        &AuditLogFilter {
            impersonated_by: Some("staff_3".to_owned()),
            ..AuditLogFilter::default()
        },
        ExportFormat::Jsonl,
    )
    .await;
    let lines: Vec<AuditRecord> = jsonl
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(&lines[0], impersonated);

    let report = world.client.verify(VerifyParams::default()).await.unwrap();
    assert!(report.valid, "{report:?}");
    for record in &records {
        assert_eq!(record.compute_hash(), record.hash);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_actors_round_trip_on_sqlite() {
    round_trip(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_actors_round_trip_on_postgres() {
    round_trip(Backend::Postgres).await;
}
