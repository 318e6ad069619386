//! What the API tests share: backends, tenants, requests and problem assertions.

use std::time::Duration;

use audit_core::checkpoint::CheckpointVerifier;
use audit_core::{CreatedApiKey, Organization, Scope};
use audit_server::Config;
use audit_server::config::WitnessEndpoint;
use audit_server::testing::ADMIN_TOKEN;
pub use audit_server::testing::TestServer;
use audit_server::witness::{Witness, WitnessConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Defines each named `async fn(TestServer)` as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = $crate::helpers::TestServer::start_sqlite().await;
                    super::$name(server).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(server) = $crate::helpers::TestServer::start_postgres().await {
                        super::$name(server).await;
                    }
                }
            )*
        }
    };
}

/// An organization with a key holding every scope.
pub struct Tenant {
    pub org: Organization,
    pub key: CreatedApiKey,
}

impl Tenant {
    pub async fn new(server: &TestServer, name: &str) -> Tenant {
        let org = server.create_org(name).await;
        let key = server.create_key(org.id, &Scope::ALL).await;
        Tenant { org, key }
    }

    pub fn secret(&self) -> &str {
        &self.key.secret
    }
}

/// An answer: status, content type and parsed body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    /// Asserts a problem+json answer with `status`, naming `field` when given; returns the body.
    #[track_caller]
    pub fn problem(&self, status: u16, field: Option<&str>) -> &Value {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "content type; body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status, "problem status");
        assert!(
            self.body["title"].is_string() && self.body["detail"].is_string(),
            "{}",
            self.body
        );
        if let Some(field) = field {
            let fields: Vec<&str> = self.body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["field"].as_str())
                .collect();
            assert!(
                fields.contains(&field),
                "expected field `{field}` in {}",
                self.body
            );
        }
        &self.body
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.body);
        &self.body
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        content_type,
        body,
    }
}

pub async fn get(server: &TestServer, path: &str, token: &str) -> Answer {
    answer(
        server
            .http()
            .get(server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET"),
    )
    .await
}

/// A PUT of JSON: the status and the body (null when it is not JSON).
pub async fn put(server: &TestServer, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = server
        .http()
        .put(server.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Sets `tenant`'s retention to 1 s and waits 2 s, so that everything recorded so far is past
/// it; answers the retention path (purge at `{path}/purge`).
pub async fn age_past_a_one_second_retention(server: &TestServer, tenant: &Tenant) -> String {
    let retention = format!("/api/v1/organizations/{}/retention", tenant.org.id);
    let (status, _) = put(
        server,
        &retention,
        tenant.secret(),
        &json!({"retentionSeconds": 1}),
    )
    .await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    retention
}

pub async fn post(server: &TestServer, path: &str, token: &str, body: &Value) -> Answer {
    answer(
        server
            .http()
            .post(server.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

pub async fn post_raw(
    server: &TestServer,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    let request = server
        .http()
        .post(server.url(path))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    answer(request.send().await.expect("POST")).await
}

pub async fn delete(server: &TestServer, path: &str, token: &str) -> Answer {
    answer(
        server
            .http()
            .delete(server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("DELETE"),
    )
    .await
}

/// A valid event by a user.
pub fn event(resource_type: &str, resource_id: &str, action: &str) -> Value {
    json!({
        "type": "USER",
        "userId": "u_1",
        "userOrgRole": "ADMIN",
        "resourceType": resource_type,
        "resourceId": resource_id,
        "action": action,
    })
}

/// Records `event` and returns the stored record.
pub async fn record(server: &TestServer, token: &str, event: &Value) -> Value {
    post(server, "/api/v1/audit-logs", token, event)
        .await
        .ok(201)
        .clone()
}

/// Every record of the organization, newest first, following cursors.
pub async fn all_records(server: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let mut records = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/audit-logs?limit=1000{query}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = get(server, &path, token).await;
        let page = page.ok(200);
        records.extend(page["data"].as_array().expect("data").iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return records,
        }
    }
}

/// The chain verdict.
pub async fn verify(server: &TestServer, token: &str) -> Value {
    get(server, "/api/v1/audit-logs/verify", token)
        .await
        .ok(200)
        .clone()
}

/// The organization's head `seq`, from verify.
pub async fn head(server: &TestServer, token: &str) -> i64 {
    verify(server, token).await["headSeq"].as_i64().unwrap()
}

pub async fn patch(server: &TestServer, path: &str, token: &str, body: &Value) -> Answer {
    answer(
        server
            .http()
            .patch(server.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("PATCH"),
    )
    .await
}

/// Records `count` events through the batch endpoint, 1,000 per request.
pub async fn record_many(server: &TestServer, token: &str, count: usize) {
    let mut left = count;
    while left > 0 {
        let now = left.min(1000);
        let events: Vec<Value> = (0..now)
            .map(|i| event("prompt", &format!("pr_{i}"), "update"))
            .collect();
        record_batch(server, token, &events).await;
        left -= now;
    }
}

/// Records `events` (at most 1,000) in one batch request, so in one transaction.
pub async fn record_batch(server: &TestServer, token: &str, events: &[Value]) {
    let answer = post(
        server,
        "/api/v1/audit-logs/batch",
        token,
        &json!({ "events": events }),
    )
    .await;
    let results = answer.ok(200)["results"].as_array().expect("results").clone();
    assert!(results.iter().all(|result| result["status"] == "created"));
}

/// A second server process (in this test process) on `server`'s database, its configuration
/// changed by `tune`.
pub async fn second_server(server: &TestServer, tune: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = Config::new(server.database_url());
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    tune(&mut config);
    TestServer::start_with(config).await
}

/// The server's `/metrics` text.
pub async fn metrics_text(server: &TestServer) -> String {
    server
        .http()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text")
}

/// A witness of every organization of `server`, with its state in `dir`, on `listen`.
pub async fn start_witness(
    server: &TestServer,
    dir: &tempfile::TempDir,
    listen: Option<std::net::SocketAddr>,
) -> Witness {
    let vkey = get(server, "/api/v1/checkpoints/public-key", "").await.ok(200)["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let log = CheckpointVerifier::from_vkey(&vkey).unwrap();
    let mut config = WitnessConfig::new(
        "witness.example.com",
        [7; 32],
        dir.path().join("state.json"),
        vec![log],
    );
    if let Some(listen) = listen {
        config = config.with_listen(listen);
    }
    Witness::start(config).await.unwrap()
}

/// Points `server` at `witness`, signing a checkpoint every second.
pub async fn use_witness(server: &mut TestServer, witness: &Witness) {
    let endpoint = WitnessEndpoint {
        verifier: witness.verifier().clone(),
        url: witness.url(),
    };
    server
        .reconfigure(|config| {
            config.witnesses = vec![endpoint];
            config.checkpoint_every_records = 1;
            config.checkpoint_interval_secs = 1;
        })
        .await;
}

/// The newest checkpoint once it covers `size` records and carries a cosignature.
pub async fn cosigned_checkpoint(server: &TestServer, tenant: &Tenant, size: i64) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        let answer = get(server, "/api/v1/checkpoints/latest", tenant.secret()).await;
        if answer.status == 200 {
            last = answer.body.clone();
            let cosigned = last["cosignatures"]
                .as_array()
                .is_some_and(|list| !list.is_empty());
            if last["seq"] == size && cosigned {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no cosigned checkpoint of {size} records within a minute; last: {last}");
}

pub fn unwitnessed(metrics: &str) -> Option<u64> {
    metrics
        .lines()
        .find(|line| line.starts_with("audit_checkpoints_unwitnessed{witness=\"witness.example.com\"}"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|count| count.parse().ok())
}
