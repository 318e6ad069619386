//! Opt-in read auditing: 10,000 GETs through a host router with the layer, the configured
//! share recorded (a seeded sampler, so the count is the same on every run), a budget per
//! actor and minute, list reads recorded once with their query, nothing for a route without a
//! read rule, and the host's responses byte for byte what they are without the layer. The
//! rules' catalog entries are declared to the server first, so nothing is refused.

mod common;

use audit_core::{AuditRecord, Role};
use audit_server::testing::Backend;
use audit_tower::{Actor, AuditLayer, ReadSampling, Rule};
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use common::World;
use http::StatusCode;
use serde_json::json;
use tower::ServiceExt;

const ONE: &str = "/api/projects/{projectId}/prompts/{promptId}";
const LIST: &str = "/api/projects/{projectId}/prompts";
const GETS: usize = 10_000;

async fn authenticate(mut request: Request) -> Request {
    let user = request
        .headers()
        .get("x-user-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("u_reader")
        .to_owned();
    request
        .extensions_mut()
        .insert(Actor::user(user).with_org_role(Role::Member));
    request
}

/// The host's routes: a prompt, the prompt list, a dataset (never read-audited).
fn host() -> Router {
    Router::new()
        .route(
            ONE,
            get(|Path((project, id)): Path<(String, String)>| async move {
                Json(json!({ "id": id, "projectId": project, "prompt": "Hello", "apiKey": "sk-1" }))
            }),
        )
        .route(
            LIST,
            get(|| async { Json(json!({ "data": [{ "id": "pr_1" }] })) }),
        )
        .route(
            "/api/projects/{projectId}/datasets/{datasetId}",
            get(|Path((_, id)): Path<(String, String)>| async move { Json(json!({ "id": id })) }),
        )
}

fn with_layer(layer: &AuditLayer) -> Router {
    host()
        .layer(layer.clone())
        .layer(axum::middleware::map_request(authenticate))
}

async fn body_of(app: &Router, uri: &str, user: &str) -> (StatusCode, Vec<u8>) {
    let request = http::Request::get(uri)
        .header("x-user-id", user)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

fn reads(records: &[AuditRecord]) -> Vec<&AuditRecord> {
    records.iter().filter(|record| record.action == "read").collect()
}

async fn sampled_reads(backend: Backend) {
    let Some(world) = World::start_on(backend).await else {
        return;
    };
    let layer = AuditLayer::builder(world.dispatcher.clone())
        .with_rule(Rule::read(ONE).sampled(ReadSampling::rate(0.1).seeded(2026)))
        .with_rule(Rule::read(LIST).list())
        .build();
    let declared = layer.declare_catalog(&world.client, world.org_id).await.unwrap();
    assert_eq!(declared.len(), 1);
    assert_eq!(declared[0].resource_type, "prompt");
    assert_eq!(declared[0].actions, ["read"]);

    let (audited, plain) = (
        with_layer(&layer),
        host().layer(axum::middleware::map_request(authenticate)),
    );
    for n in 0..GETS {
        let uri = format!("/api/projects/p_1/prompts/pr_{}", n % 97);
        let (with, without) = (
            body_of(&audited, &uri, "u_reader").await,
            body_of(&plain, &uri, "u_reader").await,
        );
        assert_eq!(with, without, "the host's response is unchanged");
        assert_eq!(with.0, StatusCode::OK);
    }
    for n in 0..100 {
        let uri = format!("/api/projects/p_1/datasets/ds_{n}");
        assert_eq!(
            body_of(&audited, &uri, "u_reader").await,
            body_of(&plain, &uri, "u_reader").await
        );
    }
    for _ in 0..3 {
        let uri = "/api/projects/p_1/prompts?name=greet&limit=5&token=t-1";
        assert_eq!(
            body_of(&audited, uri, "u_lister").await,
            body_of(&plain, uri, "u_lister").await
        );
    }

    let records = world.records().await;
    let stats = layer.stats();
    let singles: Vec<&AuditRecord> = reads(&records)
        .into_iter()
        .filter(|record| record.resource_id != "*")
        .collect();
    // Binomial(10,000, 0.1) has σ = 30; the seeded sampler gives one fixed count, which must
    // lie within five σ of 1,000.
    assert!(
        (850..=1150).contains(&singles.len()),
        "{} of {GETS} recorded",
        singles.len()
    );
    assert_eq!(stats.sampled_out as usize, GETS - singles.len(), "{stats:?}");
    assert_eq!(stats.recorded as usize, singles.len() + 3, "{stats:?}");
    for record in &singles {
        assert_eq!(record.resource_type, "prompt");
        assert_eq!(record.project_id.as_deref(), Some("p_1"));
        assert_eq!(record.user_id.as_deref(), Some("u_reader"));
        assert_eq!(
            (&record.before, &record.after),
            (&None, &None),
            "a read records no state"
        );
    }
    assert!(
        records.iter().all(|record| record.resource_type != "dataset"),
        "no rule, no read event"
    );
    let lists: Vec<&AuditRecord> = reads(&records)
        .into_iter()
        .filter(|record| record.resource_id == "*")
        .collect();
    assert_eq!(lists.len(), 3, "one event per list request");
    let query = &lists[0].metadata.as_ref().unwrap()["query"];
    assert_eq!(
        query,
        &json!({ "name": "greet", "limit": "5", "token": "[REDACTED]" })
    );
}

async fn budgeted_reads(backend: Backend) {
    let Some(world) = World::start_on(backend).await else {
        return;
    };
    let layer = AuditLayer::builder(world.dispatcher.clone())
        .with_rule(Rule::read(ONE).sampled(ReadSampling::budget_per_actor_per_minute(25)))
        .build();
    layer.declare_catalog(&world.client, world.org_id).await.unwrap();
    let app = with_layer(&layer);
    let first_minute = Utc::now().timestamp().div_euclid(60);
    for n in 0..1_000 {
        let user = if n % 2 == 0 { "u_alice" } else { "u_bob" };
        body_of(&app, &format!("/api/projects/p_1/prompts/pr_{n}"), user).await;
    }
    let minutes = (Utc::now().timestamp().div_euclid(60) - first_minute + 1) as usize;
    let records = world.records().await;
    for user in ["u_alice", "u_bob"] {
        let count = reads(&records)
            .iter()
            .filter(|record| record.user_id.as_deref() == Some(user))
            .count();
        assert!(
            (25..=25 * minutes).contains(&count),
            "{user}: {count} in {minutes} minute(s)"
        );
    }
}

async fn reads_without_a_rule(backend: Backend) {
    let Some(world) = World::start_on(backend).await else {
        return;
    };
    let layer = AuditLayer::builder(world.dispatcher.clone()).build();
    let app = with_layer(&layer);
    for n in 0..1_000 {
        body_of(&app, &format!("/api/projects/p_1/prompts/pr_{n}"), "u_reader").await;
    }
    assert!(reads(&world.records().await).is_empty(), "reads are opt-in");
    assert_eq!(layer.stats().recorded, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampled_reads_on_sqlite() {
    sampled_reads(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampled_reads_on_postgres() {
    sampled_reads(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgeted_reads_on_sqlite() {
    budgeted_reads(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgeted_reads_on_postgres() {
    budgeted_reads(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_read_rule_no_read_events() {
    reads_without_a_rule(Backend::Sqlite).await;
}
