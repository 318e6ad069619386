//! The `host-app` binary as `cargo run -p host-app` starts it, configured from the
//! environment, against the real audit server over HTTP: a prompt created, updated,
//! labelled and deleted from outside gives four records with the right before and after,
//! and what is still queued when the app is told to stop (SIGTERM) is delivered before it
//! exits.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use audit_client::{AuditClient, ListRequest};
use audit_core::{AuditRecord, Scope};
use audit_server::testing::TestServer;
use futures::TryStreamExt;
use serde_json::{Value, json};

/// The running binary; killed if the test fails before stopping it.
struct HostApp {
    child: Child,
    address: SocketAddr,
}

impl HostApp {
    /// Sends SIGTERM and waits (without blocking the runtime, whose audit server the app's
    /// last deliveries need) until the process exits.
    async fn terminate(&mut self) -> std::process::ExitStatus {
        let signal = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(signal.success());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the app exits after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for HostApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `text` without ANSI colour sequences (`ESC [ ... m`).
fn without_colours(text: &str) -> String {
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            plain.push(c);
        }
    }
    plain
}

/// Starts the binary on a port the system picks and waits for its "listening" log line.
fn start(audit_url: &str, api_key: &str) -> HostApp {
    let mut child = Command::new(env!("CARGO_BIN_EXE_host-app"))
        .env("AUDIT_URL", audit_url)
        .env("AUDIT_API_KEY", api_key)
        .env("HOST_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the host-app binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("the app logs that it listens before its output ends")
            .unwrap();
        let line = without_colours(&line);
        if let Some((_, rest)) = line.split_once("address=") {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    // Keep draining its output so that logging never blocks it.
    std::thread::spawn(move || lines.for_each(drop));
    HostApp { child, address }
}

async fn call(http: &reqwest::Client, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = http
        .request(method.parse().unwrap(), url)
        .header("x-user-id", "u_123")
        .header("x-org-role", "MEMBER")
        .header("x-project-role", "ADMIN")
        .header("user-agent", "binary-test/1")
        .header("x-request-id", format!("req-{method}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_records_a_prompts_life_and_delivers_its_queue_when_stopped() {
    let server = TestServer::start_sqlite().await;
    let org = server.create_org("Acme").await;
    let key = server
        .create_key(org.id, &[Scope::AuditLogsWrite, Scope::AuditLogsRead])
        .await;
    let mut app = start(&server.base_url(), key.secret.as_str());
    let http = reqwest::Client::new();
    let prompts = format!("http://{}/api/projects/p_1/prompts", app.address);

    let (status, created) = call(
        &http,
        "POST",
        &prompts,
        Some(json!({ "name": "greeting", "prompt": "Hi {{name}}" })),
    )
    .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let one = format!("{prompts}/{id}");
    assert_eq!(call(&http, "GET", &one, None).await.0, 200);
    let (_, updated) = call(&http, "PATCH", &one, Some(json!({ "prompt": "Hello {{name}}" }))).await;
    let (_, labelled) = call(
        &http,
        "POST",
        &format!("{one}/labels"),
        Some(json!({ "label": "production" })),
    )
    .await;
    assert_eq!(call(&http, "DELETE", &one, None).await.0, 204);
    assert_eq!(
        (updated["version"].clone(), labelled["labels"].clone()),
        (json!(2), json!(["production"]))
    );

    // Its /metrics shows the layer's counters next to the dispatcher's: four events handed
    // over (the read is not audited), none refused, skipped or lost.
    // (An event is handed over as its response body ends, which may be a moment after the
    // client has read it.)
    let metrics_url = format!("http://{}/metrics", app.address);
    let mut metrics = String::new();
    for _ in 0..200 {
        metrics = http.get(&metrics_url).send().await.unwrap().text().await.unwrap();
        if metrics.contains("\naudit_layer_events_recorded_total 4\n") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    for series in [
        "audit_layer_events_recorded_total 4",
        "audit_layer_events_dropped_total 0",
        "audit_layer_requests_skipped_total 0",
        "audit_layer_events_failed_total 0",
        "audit_dispatcher_events_dropped_total 0",
    ] {
        assert!(
            metrics.contains(&format!("\n{series}\n")),
            "{series} in\n{metrics}"
        );
    }

    // Stop it at once: whatever its dispatcher has not sent yet goes out before it exits.
    let exit = app.terminate().await;
    assert!(exit.success(), "the app exits cleanly on SIGTERM: {exit}");

    let client = AuditClient::new(server.base_url(), key.secret.as_str()).unwrap();
    let mut records: Vec<AuditRecord> = client
        .list_all(ListRequest::new().resource_type("prompt").resource_id(&id))
        .try_collect()
        .await
        .unwrap();
    records.reverse();
    let summary: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "action": r.action, "userId": r.user_id, "userOrgRole": r.user_org_role,
                "userProjectRole": r.user_project_role, "projectId": r.project_id,
                "before": r.before, "after": r.after, "ipAddress": r.ip_address,
                "userAgent": r.user_agent, "requestId": r.request_id,
            })
        })
        .collect();
    let record = |action: &str, method: &str, before: Value, after: Value| {
        json!({
            "action": action, "userId": "u_123", "userOrgRole": "MEMBER",
            "userProjectRole": "ADMIN", "projectId": "p_1", "before": before, "after": after,
            "ipAddress": "127.0.0.1", "userAgent": "binary-test/1", "requestId": format!("req-{method}"),
        })
    };
    assert_eq!(
        summary,
        [
            record("create", "POST", Value::Null, created.clone()),
            record("update", "PATCH", created, updated.clone()),
            record("setLabel", "POST", updated, labelled.clone()),
            record("delete", "DELETE", labelled, Value::Null),
        ]
    );
}
