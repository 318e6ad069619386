//! The overhead benchmark's yardstick, the app auditing its prompt updates by hand, records
//! the same event as the layer does; otherwise comparing their costs would mean nothing.

use std::sync::{Arc, Mutex};

use audit_core::AuditEvent;
use axum::extract::connect_info::ConnectInfo;
use axum::{Extension, Router};
use host_app::Store;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;

use common::{TRACE_ID, peer, request};

type Events = Arc<Mutex<Vec<AuditEvent>>>;

fn collecting(events: &Events) -> impl Fn(AuditEvent) -> bool + Send + Sync + 'static {
    let events = events.clone();
    move |event| {
        events.lock().unwrap().push(event);
        true
    }
}

async fn call(app: &Router, method: &str, uri: &str, body: Value) -> Value {
    let request = request(method, uri, "req-7", Some(body));
    let app = app.clone().layer(Extension(ConnectInfo(peer())));
    let response = app.oneshot(request).await.unwrap();
    assert!(
        response.status().is_success(),
        "{method} {uri}: {}",
        response.status()
    );
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

/// Creates a prompt, updates it, and returns the update's event as JSON with the prompt's
/// random id replaced by `ID` and without what only the layer adds (its `metadata`) or what
/// differs by the clock and by the run (`occurredAt`, the event's `id`).
async fn update_event(app: Router, events: &Events) -> Value {
    let created = call(
        &app,
        "POST",
        "/api/projects/p_1/prompts",
        json!({ "name": "greeting", "prompt": "Hello" }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/projects/p_1/prompts/{id}");
    call(&app, "PATCH", &uri, json!({ "prompt": "Hello {{name}}" })).await;
    let event = events.lock().unwrap().last().cloned().expect("an event");
    let mut event = serde_json::to_value(event).unwrap();
    let map = event.as_object_mut().unwrap();
    map.remove("metadata");
    assert!(map.remove("occurredAt").is_some(), "both record when");
    assert!(
        map.remove("id").is_some(),
        "both give the event its idempotency key"
    );
    serde_json::from_str(&event.to_string().replace(&id, "ID")).unwrap()
}

#[tokio::test]
async fn the_hand_written_audit_call_records_what_the_layer_records() {
    let by_layer = Events::default();
    let by_hand = Events::default();
    let layered = update_event(host_app::app(Store::default(), collecting(&by_layer)), &by_layer).await;
    let handwritten = update_event(
        host_app::app_audited_by_hand(Store::default(), collecting(&by_hand)),
        &by_hand,
    )
    .await;
    assert_eq!(handwritten, layered);
    assert_eq!(
        by_hand.lock().unwrap().len(),
        1,
        "only the update is audited by hand"
    );
    let prompt = |version: u32, text: &str| json!({ "id": "ID", "projectId": "p_1", "name": "greeting", "prompt": text, "labels": [], "version": version });
    assert_eq!(
        handwritten,
        json!({
            "type": "USER",
            "userId": "u_42",
            "userOrgRole": "MEMBER",
            "projectId": "p_1",
            "userProjectRole": "ADMIN",
            "resourceType": "prompt",
            "resourceId": "ID",
            "action": "update",
            "before": prompt(1, "Hello"),
            "after": prompt(2, "Hello {{name}}"),
            "ipAddress": "198.51.100.23",
            "userAgent": "curl/8.5.0",
            "requestId": "req-7",
            "traceId": TRACE_ID,
        })
    );
}
