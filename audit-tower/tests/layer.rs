//! The layer on axum apps and on a plain tower service, against the real server.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use audit_core::Role;
use audit_tower::{
    Actor, AuditAfter, AuditBefore, AuditLayer, AuditMetadata, MissingActor, ResourceRef, Rule,
};
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{Path, Request};
use axum::routing::{get, patch, post};
use axum::{Extension, Json, Router};
use bytes::Bytes;
use common::{World, view};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tower::{ServiceBuilder, ServiceExt};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn peer() -> SocketAddr {
    "203.0.113.7:51000".parse().unwrap()
}

/// The caller, from headers, the way a host's authentication middleware would put it.
async fn authenticate(mut request: Request) -> Request {
    let user = request
        .headers()
        .get("x-user-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(user) = user {
        request.extensions_mut().insert(
            Actor::user(user)
                .with_org_role(Role::Admin)
                .with_project_role(Role::Member),
        );
    }
    request
}

fn json_request(method: Method, uri: &str, body: Value) -> http::Request<Body> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("x-user-id", "u_1")
        .header("user-agent", "audit-tower-test/1.0")
        .header("x-request-id", "req-1")
        .header("traceparent", TRACEPARENT)
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn send(app: &Router, request: http::Request<Body>) -> (StatusCode, Bytes) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

/// An app with prompts, LLM API keys and models, and the layer configured with a custom
/// action, a skipped route and a request-body id.
fn app(world: &World) -> Router {
    let audit = AuditLayer::builder(world.dispatcher.clone())
        .with_rule(
            Rule::new(
                Method::POST,
                "/api/projects/{projectId}/prompts/{promptId}/promote",
            )
            .resource_type("prompt")
            .action("promote"),
        )
        .with_skipped(Method::POST, "/api/projects/{projectId}/models")
        .with_rule(
            Rule::new(Method::POST, "/api/projects/{projectId}/datasets/import")
                .resource_type("dataset")
                .action("create")
                .id_from_request("name"),
        )
        .with_before_loader("prompt", |prompt: ResourceRef| async move {
            Some(json!({ "id": prompt.resource_id, "prompt": "Hi", "apiKey": "sk-before" }))
        })
        .build();
    Router::new()
        .route(
            "/api/projects/{projectId}/prompts/{promptId}",
            patch(
                |Path((_, id)): Path<(String, String)>, Json(body): Json<Value>| async move {
                    Json(json!({ "id": id, "prompt": body["prompt"], "apiKey": "sk-after" }))
                },
            )
            .get(|| async { Json(json!({ "id": "pr_9" })) }),
        )
        .route(
            "/api/projects/{projectId}/prompts/{promptId}/promote",
            post(|| async {
                let mut metadata = Map::new();
                metadata.insert("label".into(), json!("production"));
                metadata.insert("token".into(), json!("t-123"));
                (
                    Extension(AuditBefore(json!({ "labels": [] }))),
                    Extension(AuditAfter(json!({ "labels": ["production"] }))),
                    Extension(AuditMetadata(metadata)),
                    Json(json!({ "ok": true })),
                )
            }),
        )
        .route(
            "/api/projects/{projectId}/llm-api-keys",
            post(|Json(body): Json<Value>| async move {
                let mut key = body;
                key["id"] = json!("lk_1");
                (StatusCode::CREATED, Json(key))
            })
            .get(|| async { Json(json!({ "data": [] })) }),
        )
        .route(
            "/api/projects/{projectId}/models",
            post(|| async { (StatusCode::CREATED, Json(json!({ "id": "m_1" }))) }),
        )
        .route(
            "/api/projects/{projectId}/datasets/import",
            post(|Json(_): Json<Value>| async { StatusCode::ACCEPTED }),
        )
        .layer(audit)
        .layer(axum::middleware::map_request(authenticate))
        .layer(MockConnectInfo(peer()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_axum_app_is_recorded_from_its_routes() {
    let world = World::start().await;
    let app = app(&world);

    let (status, body) = send(
        &app,
        json_request(
            Method::POST,
            "/api/projects/p_1/llm-api-keys",
            json!({ "provider": "openai", "secretKey": "sk-live-1", "password": "hunter2" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["password"],
        "hunter2",
        "the client gets the body untouched"
    );
    let (status, _) = send(
        &app,
        json_request(
            Method::PATCH,
            "/api/projects/p_1/prompts/pr_9",
            json!({ "prompt": "Hello" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    send(
        &app,
        json_request(Method::POST, "/api/projects/p_1/prompts/pr_9/promote", json!({})),
    )
    .await;
    send(
        &app,
        json_request(Method::POST, "/api/projects/p_1/models", json!({})),
    )
    .await;
    send(
        &app,
        json_request(
            Method::POST,
            "/api/projects/p_1/datasets/import",
            json!({ "name": "golden-set" }),
        ),
    )
    .await;
    for uri in ["/api/projects/p_1/prompts/pr_9", "/api/projects/p_1/llm-api-keys"] {
        let (status, _) = send(&app, json_request(Method::GET, uri, json!({}))).await;
        assert_eq!(status, StatusCode::OK);
    }

    let records = world.records().await;
    let views: Vec<Value> = records.iter().map(view).collect();
    let context = json!({
        "type": "USER", "userId": "u_1", "userOrgRole": "ADMIN", "userProjectRole": "MEMBER",
        "projectId": "p_1", "ipAddress": "203.0.113.7", "userAgent": "audit-tower-test/1.0",
        "requestId": "req-1", "traceId": TRACE_ID,
    });
    let expected = |fields: Value| {
        let mut value = context.clone();
        value
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        value
    };
    assert_eq!(
        views,
        vec![
            expected(json!({
                "resourceType": "llmApiKey", "resourceId": "lk_1", "action": "create",
                "after": { "id": "lk_1", "provider": "openai", "secretKey": "[REDACTED]",
                           "password": "[REDACTED]" },
                "metadata": { "method": "POST", "route": "/api/projects/{projectId}/llm-api-keys",
                              "status": 201 },
            })),
            expected(json!({
                "resourceType": "prompt", "resourceId": "pr_9", "action": "update",
                "before": { "id": "pr_9", "prompt": "Hi", "apiKey": "[REDACTED]" },
                "after": { "id": "pr_9", "prompt": "Hello", "apiKey": "[REDACTED]" },
                "metadata": { "method": "PATCH",
                              "route": "/api/projects/{projectId}/prompts/{promptId}", "status": 200 },
            })),
            expected(json!({
                "resourceType": "prompt", "resourceId": "pr_9", "action": "promote",
                "before": { "labels": [] },
                "after": { "labels": ["production"] },
                "metadata": { "method": "POST",
                              "route": "/api/projects/{projectId}/prompts/{promptId}/promote",
                              "status": 200, "label": "production", "token": "[REDACTED]" },
            })),
            expected(json!({
                "resourceType": "dataset", "resourceId": "golden-set", "action": "create",
                "metadata": { "method": "POST", "route": "/api/projects/{projectId}/datasets/import",
                              "status": 202 },
            })),
        ],
        "the skipped model route and the GETs left nothing"
    );
    let stored = serde_json::to_string(&records).unwrap();
    for secret in ["hunter2", "sk-live-1", "sk-before", "sk-after", "t-123"] {
        assert!(!stored.contains(secret), "{secret} reached the server");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_anonymous_requests_follow_the_configuration() {
    let world = World::start().await;
    let audit = AuditLayer::builder(world.dispatcher.clone())
        .with_failures_recorded(true)
        .with_missing_actor(MissingActor::RecordAsSystem)
        .build();
    let app = Router::new()
        .route(
            "/api/projects/{projectId}/datasets/{datasetId}",
            patch(|| async {
                (
                    StatusCode::NOT_FOUND,
                    Json(json!({ "detail": "no such dataset" })),
                )
            })
            .delete(|| async { StatusCode::NO_CONTENT }),
        )
        .layer(audit.clone());
    let request = |method: Method| {
        http::Request::builder()
            .method(method)
            .uri("/api/projects/p_2/datasets/ds_1")
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap()
    };
    let (status, _) = send(&app, request(Method::PATCH)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&app, request(Method::DELETE)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let views: Vec<Value> = world.records().await.iter().map(view).collect();
    let route = "/api/projects/{projectId}/datasets/{datasetId}";
    assert_eq!(
        views,
        vec![
            json!({ "type": "SYSTEM", "projectId": "p_2", "resourceType": "dataset", "resourceId": "ds_1",
                    "action": "update",
                    "metadata": { "method": "PATCH", "route": route, "status": 404, "outcome": "failure" } }),
            json!({ "type": "SYSTEM", "projectId": "p_2", "resourceType": "dataset", "resourceId": "ds_1",
                    "action": "delete",
                    "metadata": { "method": "DELETE", "route": route, "status": 204 } }),
        ]
    );
    assert_eq!(audit.stats().recorded, 2);

    // The default skips anonymous requests and failures.
    let skipping = AuditLayer::new(world.dispatcher.clone());
    let app = Router::new()
        .route(
            "/api/projects/{projectId}/datasets/{datasetId}",
            patch(|| async { StatusCode::NOT_FOUND }).delete(|| async { StatusCode::NO_CONTENT }),
        )
        .layer(skipping.clone());
    send(&app, request(Method::PATCH)).await;
    send(&app, request(Method::DELETE)).await;
    assert_eq!(world.records().await.len(), 2);
    assert_eq!((skipping.stats().recorded, skipping.stats().skipped), (0, 1));
}

/// `[[...["bottom"]...]]`, `depth` arrays deep.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |inner, _| json!([inner]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_nested_deeper_than_an_event_can_carry_are_left_out_not_the_event() {
    let world = World::start().await;
    let app = Router::new()
        .route(
            "/api/projects/{projectId}/datasets/{datasetId}",
            // Deep, but within what serde_json reads: the host's own client takes it.
            patch(|| async {
                let mut metadata = Map::new();
                metadata.insert("tree".into(), nested(120));
                (
                    Extension(AuditBefore(nested(120))),
                    Extension(AuditMetadata(metadata)),
                    Json(nested(110)),
                )
            }),
        )
        .route(
            "/api/projects/{projectId}/prompts/{promptId}",
            patch(|| async { Json(json!({ "id": "pr_1", "tree": nested(99) })) }),
        )
        .layer(AuditLayer::new(world.dispatcher.clone()))
        .layer(axum::middleware::map_request(authenticate))
        .layer(MockConnectInfo(peer()));
    let (status, body) = send(
        &app,
        json_request(Method::PATCH, "/api/projects/p_1/datasets/ds_1", json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        nested(110),
        "the response is untouched"
    );
    let (status, _) = send(
        &app,
        json_request(Method::PATCH, "/api/projects/p_1/prompts/pr_1", json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // `records` also checks that the dispatcher had nothing rejected.
    let records = world.records().await;
    assert_eq!(records.len(), 2);
    let dataset = &records[0];
    assert_eq!(
        (dataset.resource_id.as_str(), &dataset.before, &dataset.after),
        ("ds_1", &None, &None)
    );
    assert_eq!(
        dataset.metadata.clone().map(Value::Object),
        Some(
            json!({ "method": "PATCH", "route": "/api/projects/{projectId}/datasets/{datasetId}", "status": 200 })
        ),
        "the handler's too-deep entries are left out, the layer's kept"
    );
    assert_eq!(
        records[1].after,
        Some(json!({ "id": "pr_1", "tree": nested(99) })),
        "100 levels are carried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_tower_service_is_audited_through_rules() {
    let world = World::start().await;
    let audit = AuditLayer::builder(world.dispatcher.clone())
        .with_rule(Rule::new(Method::POST, "/v1/projects/{project}/datasets").resource_type("dataset"))
        .with_rule(Rule::new(
            Method::DELETE,
            "/v1/projects/{project}/datasets/{datasetId}",
        ))
        .with_project_params(["project"])
        .with_actor_extractor(|parts: &http::request::Parts| {
            let key = parts.headers.get("x-api-key-id")?.to_str().ok()?;
            Some(Actor::api_key(key).with_org_role(Role::Owner))
        })
        .build();
    let service = tower::service_fn(|request: http::Request<Full<Bytes>>| async move {
        let response = match *request.method() {
            Method::POST => http::Response::builder()
                .status(201)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(br#"{"id":"ds_7","name":"eval"}"#))),
            _ => http::Response::builder()
                .status(204)
                .body(Full::new(Bytes::new())),
        };
        Ok::<_, std::convert::Infallible>(response.unwrap())
    });
    let service = ServiceBuilder::new().layer(audit).service(service);
    let call = |method: Method, uri: &str| {
        http::Request::builder()
            .method(method)
            .uri(uri)
            .header("x-api-key-id", "pk_importer")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap()
    };
    let response = service
        .clone()
        .oneshot(call(Method::POST, "/v1/projects/p_3/datasets"))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], br#"{"id":"ds_7","name":"eval"}"#);
    let response = service
        .clone()
        .oneshot(call(Method::DELETE, "/v1/projects/p_3/datasets/ds_7"))
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    drop(response);
    service
        .clone()
        .oneshot(call(Method::PUT, "/v1/unknown"))
        .await
        .unwrap();

    let views: Vec<Value> = world.records().await.iter().map(view).collect();
    assert_eq!(
        views,
        vec![
            json!({ "type": "API_KEY", "apiKeyId": "pk_importer", "userOrgRole": "OWNER", "projectId": "p_3",
                    "resourceType": "dataset", "resourceId": "ds_7", "action": "create",
                    "after": { "id": "ds_7", "name": "eval" },
                    "metadata": { "method": "POST", "route": "/v1/projects/{project}/datasets", "status": 201 } }),
            json!({ "type": "API_KEY", "apiKeyId": "pk_importer", "userOrgRole": "OWNER", "projectId": "p_3",
                    "resourceType": "dataset", "resourceId": "ds_7", "action": "delete",
                    "metadata": { "method": "DELETE", "route": "/v1/projects/{project}/datasets/{datasetId}",
                                  "status": 204 } }),
        ],
        "a path without a rule or a route template is not audited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_and_streaming_bodies_pass_through_unchanged() {
    let world = World::start().await;
    let big: Value = json!({ "id": "pr_big", "prompt": "x".repeat(200 * 1024) });
    let big_bytes = Bytes::from(serde_json::to_vec(&big).unwrap());
    let gate = Arc::new(tokio::sync::Notify::new());
    let streamed_chunks: Vec<&'static [u8]> = vec![br#"{"id":"pr_s","#, br#""prompt":"#, br#""streamed"}"#];
    let big_stream_chunks: Vec<Bytes> = (0..40).map(|_| Bytes::from(vec![b' '; 4096])).collect();

    let app = {
        let big_bytes = big_bytes.clone();
        let gate = gate.clone();
        let chunks = streamed_chunks.clone();
        let big_chunks = big_stream_chunks.clone();
        Router::new()
            .route(
                "/api/projects/{projectId}/prompts/{promptId}",
                patch(move || async move {
                    http::Response::builder()
                        .header("content-type", "application/json")
                        .body(Body::from(big_bytes))
                        .unwrap()
                }),
            )
            .route(
                "/api/projects/{projectId}/prompts",
                post(move || {
                    let gate = gate.clone();
                    let chunks = chunks.clone();
                    async move {
                        let stream = futures::stream::unfold(0usize, move |n| {
                            let gate = gate.clone();
                            let chunk = chunks.get(n).copied();
                            async move {
                                if n == 1 {
                                    gate.notified().await;
                                }
                                chunk.map(|c| (Ok::<_, std::io::Error>(Bytes::from_static(c)), n + 1))
                            }
                        });
                        http::Response::builder()
                            .status(201)
                            .header("content-type", "application/json")
                            .body(Body::from_stream(stream))
                            .unwrap()
                    }
                }),
            )
            .route(
                "/api/projects/{projectId}/datasets",
                post(move || async move {
                    let stream = futures::stream::iter(big_chunks.into_iter().map(Ok::<_, std::io::Error>));
                    http::Response::builder()
                        .status(201)
                        .header("content-type", "application/json")
                        .header("location", "/api/projects/p_1/datasets/ds_big")
                        .body(Body::from_stream(stream))
                        .unwrap()
                }),
            )
            .route("/health", get(|| async { "ok" }))
            .layer(AuditLayer::new(world.dispatcher.clone()))
            .layer(axum::middleware::map_request(authenticate))
    };

    // A body over the limit with a known length: same bytes, same Content-Length.
    let response = app
        .clone()
        .oneshot(json_request(
            Method::PATCH,
            "/api/projects/p_1/prompts/pr_big",
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("content-length")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some(big_bytes.len().to_string()),
    );
    assert_eq!(
        http_body::Body::size_hint(response.body()).exact(),
        Some(big_bytes.len() as u64)
    );
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        big_bytes
    );

    // A streamed body: the first chunk arrives before the handler has produced the second.
    let response = app
        .clone()
        .oneshot(json_request(Method::POST, "/api/projects/p_1/prompts", json!({})))
        .await
        .unwrap();
    let mut body = response.into_body();
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
        .await
        .expect("the first chunk streams through before the rest exists")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert_eq!(&first[..], streamed_chunks[0]);
    gate.notify_one();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!([&first[..], &rest[..]].concat(), streamed_chunks.concat());

    // A streamed body over the limit.
    let response = app
        .clone()
        .oneshot(json_request(
            Method::POST,
            "/api/projects/p_1/datasets",
            json!({}),
        ))
        .await
        .unwrap();
    let received = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(received, big_stream_chunks.concat());

    let views: Vec<Value> = world.records().await.iter().map(view).collect();
    let summary: Vec<Value> = views
        .iter()
        .map(|v| json!([v["resourceType"], v["resourceId"], v["action"], v.get("after")]))
        .collect();
    assert_eq!(
        summary,
        vec![
            json!(["prompt", "pr_big", "update", null]),
            json!(["prompt", "pr_s", "create", { "id": "pr_s", "prompt": "streamed" }]),
            json!(["dataset", "ds_big", "create", null]),
        ]
    );
}

/// A host that wants its reads to skip even axum's wrapping of a layered route can layer
/// only the mutating methods of a route: the route's template is known there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_on_the_mutating_methods_alone_records_them_from_their_route() {
    let world = World::start().await;
    let audit = AuditLayer::new(world.dispatcher.clone());
    let writes =
        patch(
            |Json(body): Json<Value>| async move { Json(json!({ "id": "pr_1", "prompt": body["prompt"] })) },
        )
        .delete(|| async { StatusCode::NO_CONTENT })
        .layer(audit);
    let app = Router::new()
        .route(
            "/api/projects/{projectId}/prompts/{promptId}",
            get(|| async { Json(json!({ "id": "pr_1", "prompt": "a" })) }).merge(writes),
        )
        .layer(axum::middleware::map_request(authenticate))
        .layer(MockConnectInfo(peer()));
    let prompt = "/api/projects/p_1/prompts/pr_1";
    for (method, status) in [
        (Method::GET, StatusCode::OK),
        (Method::PATCH, StatusCode::OK),
        (Method::DELETE, StatusCode::NO_CONTENT),
    ] {
        let request = json_request(method.clone(), prompt, json!({ "prompt": "b" }));
        assert_eq!(send(&app, request).await.0, status, "{method}");
    }
    let summary: Vec<Value> = world
        .records()
        .await
        .iter()
        .map(|r| json!([r.resource_type, r.resource_id, r.project_id, r.action, r.after]))
        .collect();
    assert_eq!(
        summary,
        [
            json!(["prompt", "pr_1", "p_1", "update", { "id": "pr_1", "prompt": "b" }]),
            json!(["prompt", "pr_1", "p_1", "delete", null]),
        ]
    );
}
