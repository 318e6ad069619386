//! The host app with its audit layer against the real server (in-process, SQLite).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use audit_client::{AuditClient, Dispatcher, DispatcherConfig, ListRequest, RetryPolicy};
use audit_core::{AuditRecord, Scope};
use audit_server::testing::TestServer;
use axum::Router;
use axum::extract::connect_info::MockConnectInfo;
use futures::TryStreamExt;
use host_app::Store;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;

use common::{TRACE_ID, peer, request};

struct World {
    server: TestServer,
    client: AuditClient,
    dispatcher: Dispatcher,
}

impl World {
    async fn start() -> Self {
        let server = TestServer::start_sqlite().await;
        let org = server.create_org("Langfuse-like").await;
        let key = server
            .create_key(org.id, &[Scope::AuditLogsWrite, Scope::AuditLogsRead])
            .await;
        let backoff =
            RetryPolicy::default().with_backoff(Duration::from_millis(20), Duration::from_millis(250));
        let client = AuditClient::builder()
            .base_url(server.base_url())
            .api_key(key.secret.as_str())
            .request_timeout(Duration::from_secs(10))
            .retry_policy(backoff.clone())
            .build()
            .unwrap();
        let config = DispatcherConfig::default()
            .with_batch_interval(Duration::from_millis(20))
            .with_backoff(backoff);
        let dispatcher = Dispatcher::spawn(client.clone(), config);
        World {
            server,
            client,
            dispatcher,
        }
    }

    /// Every stored record, oldest first, after a flush.
    async fn records(&self) -> Vec<AuditRecord> {
        tokio::time::timeout(Duration::from_secs(60), self.dispatcher.flush())
            .await
            .expect("flush in time")
            .unwrap();
        let mut records: Vec<AuditRecord> = self
            .client
            .list_all(ListRequest::new().page_size(1000))
            .try_collect()
            .await
            .unwrap();
        records.reverse();
        // The server records its own key management; keep what the layer sent.
        records.retain(|record| record.resource_type != "apiKey");
        records
    }
}

/// A record without what the server adds and without empty fields.
fn view(record: &AuditRecord) -> Value {
    let mut value = serde_json::to_value(record).unwrap();
    let map = value.as_object_mut().unwrap();
    for key in [
        "id",
        "orgId",
        "seq",
        "createdAt",
        "occurredAt",
        "recordedBy",
        "prevHash",
        "hash",
    ] {
        map.remove(key);
    }
    map.retain(|_, v| !v.is_null());
    value
}

struct Caller<'a> {
    app: &'a Router,
    request_id: &'a str,
}

impl Caller<'_> {
    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
        let request = request(method, uri, self.request_id, body);
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_and_datasets_are_recorded_with_before_and_after() {
    let world = World::start().await;
    let app = host_app::app(Store::default(), world.dispatcher.clone()).layer(MockConnectInfo(peer()));
    let caller = Caller {
        app: &app,
        request_id: "req-7",
    };
    let prompts = "/api/projects/p_1/prompts";

    let (status, created) = caller
        .call(
            "POST",
            prompts,
            Some(json!({ "name": "greeting", "prompt": "Hi" })),
        )
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let one = format!("{prompts}/{id}");
    assert_eq!(caller.call("GET", prompts, None).await.0, 200);
    assert_eq!(caller.call("GET", &one, None).await.0, 200);
    let (status, updated) = caller
        .call("PATCH", &one, Some(json!({ "prompt": "Hello" })))
        .await;
    assert_eq!(status, 200);
    let (status, labelled) = caller
        .call(
            "POST",
            &format!("{one}/labels"),
            Some(json!({ "label": "production" })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(caller.call("DELETE", &one, None).await.0, 204);
    assert_eq!(
        caller.call("DELETE", &one, None).await.0,
        404,
        "failures are not recorded"
    );

    let datasets = "/api/projects/p_1/datasets";
    let (status, dataset) = caller
        .call(
            "POST",
            datasets,
            Some(json!({ "name": "eval", "metadata": { "source": "s3", "password": "hunter2" } })),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        dataset["metadata"]["password"], "hunter2",
        "the app itself is untouched"
    );
    let dataset_url = format!("{datasets}/{}", dataset["id"].as_str().unwrap());
    let (_, dataset_updated) = caller
        .call(
            "PATCH",
            &dataset_url,
            Some(json!({ "description": "golden set" })),
        )
        .await;
    assert_eq!(caller.call("DELETE", &dataset_url, None).await.0, 204);
    assert_eq!(caller.call("GET", datasets, None).await.0, 200);

    let records = world.records().await;
    let context = json!({
        "type": "USER", "userId": "u_42", "userOrgRole": "MEMBER", "userProjectRole": "ADMIN",
        "projectId": "p_1", "ipAddress": "198.51.100.23", "userAgent": "curl/8.5.0",
        "requestId": "req-7", "traceId": TRACE_ID,
    });
    let with = |fields: Value| {
        let mut value = context.clone();
        value
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        value
    };
    let meta = |method: &str, route: &str, status: u16| json!({ "method": method, "route": route, "status": status });
    let prompt_route = "/api/projects/{projectId}/prompts/{promptId}";
    let dataset_route = "/api/projects/{projectId}/datasets/{datasetId}";
    let redacted = |mut value: Value| {
        value["metadata"]["password"] = json!("[REDACTED]");
        value
    };
    let views: Vec<Value> = records.iter().map(view).collect();
    let expected = vec![
        with(
            json!({ "resourceType": "prompt", "resourceId": id, "action": "create", "after": created,
                     "metadata": meta("POST", "/api/projects/{projectId}/prompts", 201) }),
        ),
        with(
            json!({ "resourceType": "prompt", "resourceId": id, "action": "update",
                     "before": created, "after": updated, "metadata": meta("PATCH", prompt_route, 200) }),
        ),
        with(
            json!({ "resourceType": "prompt", "resourceId": id, "action": "setLabel",
                     "before": updated, "after": labelled,
                     "metadata": meta("POST", host_app::LABELS_ROUTE, 200) }),
        ),
        with(
            json!({ "resourceType": "prompt", "resourceId": id, "action": "delete", "before": labelled,
                     "metadata": meta("DELETE", prompt_route, 204) }),
        ),
        with(
            json!({ "resourceType": "dataset", "resourceId": dataset["id"], "action": "create",
                     "after": redacted(dataset.clone()),
                     "metadata": meta("POST", "/api/projects/{projectId}/datasets", 201) }),
        ),
        with(
            json!({ "resourceType": "dataset", "resourceId": dataset["id"], "action": "update",
                     "before": redacted(dataset.clone()), "after": redacted(dataset_updated.clone()),
                     "metadata": meta("PATCH", dataset_route, 200) }),
        ),
        with(
            json!({ "resourceType": "dataset", "resourceId": dataset["id"], "action": "delete",
                     "before": redacted(dataset_updated.clone()),
                     "metadata": meta("DELETE", dataset_route, 204) }),
        ),
    ];
    assert_eq!(views.len(), expected.len(), "{views:#?}");
    for (view, expected) in views.iter().zip(&expected) {
        assert_eq!(view, expected);
    }
    assert_eq!(created["prompt"], "Hi");
    assert_eq!(updated["prompt"], "Hello");
    assert_eq!(labelled["labels"], json!(["production"]));
    assert!(!serde_json::to_string(&records).unwrap().contains("hunter2"));
}

/// The app on a real socket, answering while the audit service is down; the events queued
/// meanwhile arrive once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_answers_as_usual_while_the_audit_service_is_down() {
    const REQUESTS: usize = 50;
    let world = World::start().await;
    let app = host_app::app(Store::default(), world.dispatcher.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    let http = reqwest::Client::new();
    let create = |n: usize| {
        http.post(format!("http://{address}/api/projects/p_9/prompts"))
            .header("x-user-id", "u_1")
            .header("x-org-role", "OWNER")
            .json(&json!({ "name": format!("p{n}"), "prompt": "text" }))
            .send()
    };

    // Warm up with the service up.
    let response = create(0).await.unwrap();
    assert_eq!(response.status(), 201);

    world.server.stop().await;
    let mut slowest = Duration::ZERO;
    let mut ids = Vec::new();
    for n in 1..=REQUESTS {
        let started = Instant::now();
        let response = create(n).await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        slowest = slowest.max(started.elapsed());
        assert_eq!(status, 201);
        assert_eq!(
            (
                body["name"].as_str(),
                body["prompt"].as_str(),
                body["version"].as_u64()
            ),
            (Some(format!("p{n}").as_str()), Some("text"), Some(1))
        );
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    assert!(
        slowest < Duration::from_millis(250),
        "the slowest request took {slowest:?} with the audit service down"
    );
    println!("slowest of {REQUESTS} requests with the audit service down: {slowest:?}");
    assert!(world.dispatcher.stats().retried > 0 || world.dispatcher.stats().queued > 0);

    world.server.restart().await;
    let records = world.records().await;
    assert_eq!(records.len(), REQUESTS + 1, "no event lost");
    let stored: Vec<&str> = records[1..].iter().map(|r| r.resource_id.as_str()).collect();
    assert_eq!(stored, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        records
            .iter()
            .all(|r| r.ip_address.as_deref() == Some("127.0.0.1"))
    );
    assert!(
        records
            .iter()
            .all(|r| r.request_id.as_deref().is_some_and(|id| id.len() == 36))
    );
}
