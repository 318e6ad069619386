//! The layer on a plain hyper server (no axum: no `MatchedPath`, no `ConnectInfo`), over real
//! HTTP against the real server: routes come from explicit rules, the client's address from
//! the `SocketAddr` the host puts into each request.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;

use audit_core::Role;
use audit_tower::{Actor, AuditLayer, ResourceRef, Rule};
use bytes::Bytes;
use common::{World, view};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower::ServiceBuilder;

/// The host's handler: a prompt updated with the request's JSON.
async fn update_prompt(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let id = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let changes: Value = serde_json::from_slice(&body).unwrap_or_default();
    let prompt = json!({ "id": id, "name": "greeting", "prompt": changes["prompt"] });
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(prompt.to_string())))
        .unwrap())
}

/// Serves `audit` around the handler with hyper alone, each request carrying its connection's
/// peer address; returns the address it listens on.
async fn serve(audit: AuditLayer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let service = ServiceBuilder::new()
                .map_request(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(peer);
                    request
                })
                .layer(audit.clone())
                .service_fn(update_prompt);
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::spawn(connection);
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hyper_server_without_axum_is_audited_from_rules_and_the_peer_address() {
    let world = World::start().await;
    let audit = AuditLayer::builder(world.dispatcher.clone())
        .with_rule(Rule::new(
            Method::PUT,
            "/v1/projects/{projectId}/prompts/{promptId}",
        ))
        .with_actor_extractor(|parts: &http::request::Parts| {
            let user = parts.headers.get("x-user-id")?.to_str().ok()?;
            Some(Actor::user(user).with_org_role(Role::Member))
        })
        .with_before_loader("prompt", |prompt: ResourceRef| async move {
            Some(json!({ "id": prompt.resource_id, "name": "greeting", "prompt": "Hi" }))
        })
        .build();
    let address = serve(audit.clone()).await;
    let client = reqwest::Client::new();
    let url = format!("http://{address}/v1/projects/p_1/prompts/pr_9");

    let put = client
        .put(&url)
        .header("x-user-id", "u_7")
        .header("user-agent", "plain-hyper-test/1.0")
        .header("x-request-id", "req-hyper-1")
        .body(r#"{"prompt":"Hello"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(
        put.json::<Value>().await.unwrap(),
        json!({ "id": "pr_9", "name": "greeting", "prompt": "Hello" })
    );
    let get = client.get(&url).header("x-user-id", "u_7").send().await.unwrap();
    assert_eq!(get.status(), 200, "a read is answered and not recorded");

    // hyper ends the response body (and the layer hands the event over) around the time the
    // client has read it: wait for the hand-over, not for a guess of a delay.
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while audit.stats().recorded < 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the event is handed over");
    let views: Vec<Value> = world.records().await.iter().map(view).collect();
    assert_eq!(
        views,
        vec![json!({
            "type": "USER", "userId": "u_7", "userOrgRole": "MEMBER", "projectId": "p_1",
            "resourceType": "prompt", "resourceId": "pr_9", "action": "update",
            "before": { "id": "pr_9", "name": "greeting", "prompt": "Hi" },
            "after": { "id": "pr_9", "name": "greeting", "prompt": "Hello" },
            "ipAddress": "127.0.0.1", "userAgent": "plain-hyper-test/1.0", "requestId": "req-hyper-1",
            "metadata": { "method": "PUT", "route": "/v1/projects/{projectId}/prompts/{promptId}", "status": 200 }
        })]
    );
}
