//! Log stream delivery to real receivers on loopback: all records, in `seq` order, signed;
//! through receiver outages, server restarts and two server processes; Splunk HEC and Datadog
//! payloads in those products' documented shapes; NDJSON files that rotate.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::sync::atomic::Ordering;

use audit_server::Config;
use audit_server::testing::{ADMIN_TOKEN, TestServer};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{Tenant, get, head, metrics_text, post, record_many, second_server};
use crate::receiver::{Receiver, eventually, first_occurrences};

/// The signing secret of the test webhooks.
pub const SECRET: &str = "whsec_receiver_test_secret_0123";

async fn webhook_stream(server: &TestServer, token: &str, url: &str) -> Value {
    let body = json!({ "name": "hook", "destination": { "type": "webhook", "url": url }, "secret": SECRET });
    post(server, "/api/v1/streams", token, &body)
        .await
        .ok(201)
        .clone()
}

/// What a receiver does: recompute HMAC-SHA256(secret, "{t}.{body}") and compare.
pub fn signature_is_valid(header: &str, body: &[u8]) -> bool {
    let mut parts = header.split(',');
    let (Some(t), Some(v1)) = (parts.next(), parts.next()) else {
        return false;
    };
    let (Some(t), Some(v1)) = (t.strip_prefix("t="), v1.strip_prefix("v1=")) else {
        return false;
    };
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    age.abs() < 300 && mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

/// Every Splunk event received: each request is JSON objects one after another.
fn splunk_events(receiver: &Receiver) -> Vec<Value> {
    receiver
        .captured()
        .iter()
        .flat_map(|request| {
            serde_json::Deserializer::from_slice(&request.body)
                .into_iter::<Value>()
                .collect::<Result<Vec<_>, _>>()
                .expect("concatenated JSON objects")
        })
        .collect()
}

/// Every Datadog log received: each request is a JSON array.
fn datadog_logs(receiver: &Receiver) -> Vec<Value> {
    receiver
        .captured()
        .iter()
        .flat_map(|request| {
            let logs: Value = serde_json::from_slice(&request.body).expect("a JSON array");
            logs.as_array().expect("array").clone()
        })
        .collect()
}

async fn wait_for_all(receiver: &Receiver, expected: &[i64], seconds: u64) {
    eventually(seconds, "every record delivered", || async {
        let got = first_occurrences(&receiver.webhook_records());
        got.len() >= expected.len()
    })
    .await;
    assert_eq!(
        first_occurrences(&receiver.webhook_records()),
        expected,
        "complete, in seq order"
    );
}

async fn webhook_receives_5000_events_in_order_signed(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    let stream = webhook_stream(&server, acme.secret(), &format!("{}/hook", receiver.url)).await;
    let start = stream["deliveredSeq"].as_i64().unwrap();
    record_many(&server, acme.secret(), 5000).await;
    let head = head(&server, acme.secret()).await;
    let expected: Vec<i64> = (start + 1..=head).collect();
    assert_eq!(
        expected.len(),
        5001,
        "the stream's own create event and 5,000 events"
    );
    let started = std::time::Instant::now();
    wait_for_all(&receiver, &expected, 120).await;
    // A figure for the report, not an assertion (debug build, shared machine).
    eprintln!(
        "{:?}: 5,001 records delivered {:?} after the last was stored",
        server.backend(),
        started.elapsed()
    );

    let captured = receiver.captured();
    for request in &captured {
        assert_eq!(request.path, "/hook");
        let header = request.headers["x-audit-signature"].to_str().unwrap();
        assert!(signature_is_valid(header, &request.body), "valid signature");
        assert!(
            !signature_is_valid(header, b"{\"events\":[]}"),
            "a changed body fails"
        );
    }
    // Each record carries what a receiver needs to deduplicate and verify it.
    let records = receiver.webhook_records();
    for record in &records {
        assert!(record["id"].is_string() && record["seq"].is_i64());
        assert_eq!(record["hash"].as_str().unwrap().len(), 64);
        assert_eq!(record["orgId"], acme.org.id.to_string());
    }
    let id = stream["id"].as_str().unwrap();
    eventually(10, "cursor at the head", || async {
        let now = get(&server, &format!("/api/v1/streams/{id}"), acme.secret()).await;
        now.body["deliveredSeq"] == head
    })
    .await;
    let metrics = metrics_text(&server).await;
    assert!(metrics.contains(&format!(
        "audit_stream_lag_records{{stream=\"{id}\",org=\"{}\"}} 0",
        acme.org.id
    )));
    assert!(metrics.contains(&format!("audit_stream_delivered_total{{stream=\"{id}\"}}")));
    assert!(metrics.contains(&format!(
        "audit_stream_healthy{{stream=\"{id}\",org=\"{}\"}} 1",
        acme.org.id
    )));
}

async fn failing_receiver_gets_everything_after_recovery(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    receiver.state.failing.store(true, Ordering::SeqCst);
    let stream = webhook_stream(&server, acme.secret(), &receiver.url).await;
    let id = stream["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/streams/{id}");
    let start = stream["deliveredSeq"].as_i64().unwrap();
    record_many(&server, acme.secret(), 50).await;

    eventually(30, "the stream shown unhealthy", || async {
        let now = get(&server, &path, acme.secret()).await;
        now.body["health"]["status"] == "unhealthy"
    })
    .await;
    let unhealthy = get(&server, &path, acme.secret()).await.ok(200).clone();
    assert!(
        unhealthy["health"]["lastError"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{unhealthy}"
    );
    assert!(unhealthy["health"]["consecutiveFailures"].as_u64().unwrap() >= 3);
    assert_eq!(
        unhealthy["deliveredSeq"], start,
        "nothing acknowledged, nothing skipped"
    );
    let metrics = metrics_text(&server).await;
    assert!(metrics.contains(&format!(
        "audit_stream_healthy{{stream=\"{id}\",org=\"{}\"}} 0",
        acme.org.id
    )));
    assert!(metrics.contains(&format!(
        "audit_stream_lag_records{{stream=\"{id}\",org=\"{}\"}} 51",
        acme.org.id
    )));

    // More records while it is down, then it comes back.
    record_many(&server, acme.secret(), 50).await;
    receiver.state.failing.store(false, Ordering::SeqCst);
    let head = head(&server, acme.secret()).await;
    let expected: Vec<i64> = (start + 1..=head).collect();
    wait_for_all(&receiver, &expected, 60).await;
    eventually(10, "the stream healthy again", || async {
        let now = get(&server, &path, acme.secret()).await;
        now.body["health"]["status"] == "healthy" && now.body["deliveredSeq"] == head
    })
    .await;
    let healthy = get(&server, &path, acme.secret()).await.ok(200).clone();
    assert_eq!(healthy["health"]["consecutiveFailures"], 0);
    assert!(healthy["health"]["lastSuccessAt"].is_string());
    assert!(receiver.state.refused.load(Ordering::SeqCst) >= 3);
}

async fn restart_mid_delivery_neither_skips_nor_reorders(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    receiver.state.delay_ms.store(300, Ordering::SeqCst);
    let stream = webhook_stream(&server, acme.secret(), &receiver.url).await;
    let start = stream["deliveredSeq"].as_i64().unwrap();
    record_many(&server, acme.secret(), 3000).await;
    let head = head(&server, acme.secret()).await;
    let expected: Vec<i64> = (start + 1..=head).collect();

    eventually(60, "a first batch delivered", || async {
        !receiver.captured().is_empty()
    })
    .await;
    server.stop().await;
    let before_restart = first_occurrences(&receiver.webhook_records()).len();
    assert!(
        before_restart < expected.len(),
        "stopped mid-delivery ({before_restart} of {})",
        expected.len()
    );
    server.restart().await;
    wait_for_all(&receiver, &expected, 120).await;
    let all = receiver.webhook_records().len();
    assert!(
        all - expected.len() <= 500,
        "at most one batch redelivered ({all} received)"
    );
}

async fn splunk_hec_payload_matches_the_documented_format(server: TestServer) {
    // From Splunk's "Format events for HTTP Event Collector"
    // (https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector):
    // events go to /services/collector/event with `Authorization: Splunk <token>`; several events
    // in one request are JSON objects one after another.
    let documented = r#"{"time": 1426279439, "host": "localhost", "source": "random-data-generator", "sourcetype": "my_sample_data", "index": "main", "event": "Hello world!", "fields": {"club": "glee"}}"#;
    let documented: Value = serde_json::from_str(documented).unwrap();

    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    let body = json!({
        "name": "splunk",
        "destination": { "type": "splunkHec", "url": receiver.url, "index": "main", "source": "audit", "sourcetype": "audit:json", "host": "audit-1" },
        "secret": "11111111-2222-3333-4444-555555555555",
    });
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201);
    record_many(&server, acme.secret(), 3).await;
    eventually(30, "four Splunk events", || async {
        splunk_events(&receiver).len() >= 4
    })
    .await;

    let request = &receiver.captured()[0];
    assert_eq!(request.path, "/services/collector/event");
    assert_eq!(
        request.headers["authorization"],
        "Splunk 11111111-2222-3333-4444-555555555555"
    );
    let events = splunk_events(&receiver);
    assert_eq!(events.len(), 4, "the create event and three records");
    let documented_keys: Vec<&String> = documented.as_object().unwrap().keys().collect();
    for event in &events {
        let keys: Vec<&String> = event.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), documented_keys.len());
        for key in &documented_keys {
            assert!(keys.contains(key), "{key} in {event}");
        }
        assert!(event["time"].is_number(), "epoch seconds");
        let time = event["time"].as_f64().unwrap();
        assert!((time - chrono::Utc::now().timestamp() as f64).abs() < 600.0);
        assert_eq!(event["index"], "main");
        assert_eq!(event["source"], "audit");
        assert_eq!(event["sourcetype"], "audit:json");
        assert_eq!(event["host"], "audit-1");
        assert!(
            event["event"]["id"].is_string()
                && event["event"]["seq"].is_i64()
                && event["event"]["hash"].is_string()
        );
    }
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["event"]["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
}

async fn datadog_payload_matches_the_documented_format(server: TestServer) {
    // From Datadog's "Send logs" API reference, v2
    // (https://docs.datadoghq.com/api/latest/logs/#send-logs): POST /api/v2/logs with the
    // `DD-API-KEY` header and a JSON array of log objects.
    let documented = r#"[{"ddsource": "nginx", "ddtags": "env:staging,version:5.1", "hostname": "i-012345678", "message": "2019-11-19T14:37:58,995 INFO [process.name][20081] Hello World", "service": "payment"}]"#;
    let mut documented: Value = serde_json::from_str(documented).unwrap();
    // Any other member is an attribute of the log: the batch envelope travels as one, and
    // `timestamp` (epoch milliseconds) is the reserved attribute Datadog takes the log's time from.
    documented[0]["audit_batch"] = json!({});
    documented[0]["timestamp"] = json!(0);

    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    let body = json!({
        "name": "datadog",
        "destination": { "type": "datadog", "url": receiver.url, "service": "audit", "ddtags": "env:test" },
        "secret": "dd0123456789abcdef0123456789abcd",
    });
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201);
    record_many(&server, acme.secret(), 3).await;
    eventually(30, "four Datadog logs", || async {
        datadog_logs(&receiver).len() >= 4
    })
    .await;

    let request = &receiver.captured()[0];
    assert_eq!(request.path, "/api/v2/logs");
    assert_eq!(request.headers["dd-api-key"], "dd0123456789abcdef0123456789abcd");
    assert!(
        request.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let logs = datadog_logs(&receiver);
    assert_eq!(logs.len(), 4);
    let mut documented_keys: Vec<&String> = documented[0].as_object().unwrap().keys().collect();
    documented_keys.sort();
    for log in &logs {
        let mut keys: Vec<&String> = log.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, documented_keys, "{log}");
        assert!(
            keys.iter()
                .all(|key| *key == "audit_batch" || *key == "timestamp" || log[key.as_str()].is_string()),
            "every field is a string"
        );
        assert_eq!(log["service"], "audit");
        let tags = log["ddtags"].as_str().unwrap();
        assert!(tags.ends_with(",env:test") && tags.contains(&format!("org_id:{}", acme.org.id)));
        let record: Value =
            serde_json::from_str(log["message"].as_str().unwrap()).expect("the record as JSON");
        assert!(record["id"].is_string() && record["seq"].is_i64() && record["hash"].is_string());
        let occurred = chrono::DateTime::parse_from_rfc3339(record["occurredAt"].as_str().unwrap()).unwrap();
        assert_eq!(log["timestamp"], occurred.timestamp_millis(), "the record's time");
    }
}

async fn filter_and_pause_decide_what_is_delivered(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    crate::helpers::record(
        &server,
        acme.secret(),
        &crate::helpers::event("prompt", "early", "create"),
    )
    .await;
    let body = json!({
        "name": "prompts of p_1",
        "destination": { "type": "webhook", "url": receiver.url },
        "secret": SECRET,
        "filter": { "projectId": "p_1", "resourceTypes": ["prompt"], "actions": ["create", "delete"] },
        "fromBeginning": true,
    });
    let stream = post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201)
        .clone();
    assert_eq!(stream["deliveredSeq"], 0);
    let path = format!("/api/v1/streams/{}", stream["id"].as_str().unwrap());
    let mut wanted = Vec::new();
    for (project, resource, action, included) in [
        ("p_1", "prompt", "create", true),
        ("p_2", "prompt", "create", false),
        ("p_1", "dataset", "create", false),
        ("p_1", "prompt", "update", false),
        ("p_1", "prompt", "delete", true),
    ] {
        let mut event = crate::helpers::event(resource, "r1", action);
        event["projectId"] = json!(project);
        let stored = crate::helpers::record(&server, acme.secret(), &event).await;
        if included {
            wanted.push(stored["seq"].as_i64().unwrap());
        }
    }
    wait_for_all(&receiver, &wanted, 30).await;

    // Paused: records wait behind the cursor, and come after the resume.
    post(&server, &format!("{path}/pause"), acme.secret(), &json!({}))
        .await
        .ok(200);
    let mut event = crate::helpers::event("prompt", "r2", "create");
    event["projectId"] = json!("p_1");
    let late = crate::helpers::record(&server, acme.secret(), &event).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        first_occurrences(&receiver.webhook_records()),
        wanted,
        "nothing while paused"
    );
    post(&server, &format!("{path}/resume"), acme.secret(), &json!({}))
        .await
        .ok(200);
    wanted.push(late["seq"].as_i64().unwrap());
    wait_for_all(&receiver, &wanted, 30).await;
}

crate::on_both_backends!(
    webhook_receives_5000_events_in_order_signed,
    failing_receiver_gets_everything_after_recovery,
    restart_mid_delivery_neither_skips_nor_reorders,
    splunk_hec_payload_matches_the_documented_format,
    datadog_payload_matches_the_documented_format,
    filter_and_pause_decide_what_is_delivered,
);

/// Two server processes (two `Application`s) on one PostgreSQL database: one delivers at a time,
/// and when it stops the other takes over without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_database_deliver_without_skipping() {
    let Some(first) = TestServer::start_postgres().await else {
        return;
    };
    let second = second_server(&first, |config| config.streams_allow_private_networks = true).await;

    let acme = Tenant::new(&first, "Acme").await;
    let receiver = Receiver::start().await;
    receiver.state.delay_ms.store(20, Ordering::SeqCst);
    let stream = webhook_stream(&first, acme.secret(), &receiver.url).await;
    let start = stream["deliveredSeq"].as_i64().unwrap();
    for _ in 0..5 {
        record_many(&first, acme.secret(), 200).await;
        record_many(&second, acme.secret(), 200).await;
    }
    let head_now = head(&second, acme.secret()).await;
    let expected: Vec<i64> = (start + 1..=head_now).collect();
    wait_for_all(&receiver, &expected, 120).await;
    assert_eq!(
        receiver.state.max_in_flight.load(Ordering::SeqCst),
        1,
        "never two deliveries of the stream at once"
    );

    // The first process stops (releasing its lease if it held it); the second carries on.
    first.stop().await;
    record_many(&second, acme.secret(), 1000).await;
    let head_now = head(&second, acme.secret()).await;
    let expected: Vec<i64> = (start + 1..=head_now).collect();
    wait_for_all(&receiver, &expected, 120).await;
    let metrics = metrics_text(&second).await;
    let id = stream["id"].as_str().unwrap();
    let line = format!("audit_stream_delivered_total{{stream=\"{id}\"}} ");
    let delivered_by_second: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .expect("the second process delivered")
        .parse()
        .unwrap();
    assert!(
        delivered_by_second >= 1000,
        "the second process took over ({delivered_by_second})"
    );
    second.stop().await;
}

/// NDJSON files under the operator's root: every record once per line, in order across files,
/// rotated by size; directories outside the root are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_stream_writes_and_rotates_ndjson() {
    let database = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut config = Config::new(format!(
        "sqlite://{}?mode=rwc",
        database.path().join("audit.db").display()
    ));
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    config.streams_file_root = Some(root.path().to_owned());
    let server = TestServer::start_with(config).await;
    let acme = Tenant::new(&server, "Acme").await;

    for directory in ["../escape", "/etc", "a/../../b"] {
        let body = json!({ "name": "files", "destination": { "type": "file", "directory": directory } });
        post(&server, "/api/v1/streams", acme.secret(), &body)
            .await
            .problem(422, Some("destination.directory"));
    }
    let body = json!({ "name": "files", "destination": { "type": "file", "directory": "acme/audit", "rotateBytes": 1024 }, "secret": "x" });
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .problem(422, Some("secret"));

    let body = json!({ "name": "files", "destination": { "type": "file", "directory": "acme/audit", "rotateBytes": 1024 }, "fromBeginning": true });
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201);
    let directory = root.path().join("acme/audit");
    let read_all = || {
        let mut names: Vec<_> = std::fs::read_dir(&directory)
            .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
            .unwrap_or_default();
        // Each file's `.batches` sidecar holds the envelopes; the events are in `.ndjson`.
        names.retain(|name: &std::path::PathBuf| name.extension().is_some_and(|ext| ext == "ndjson"));
        names.sort();
        let mut seqs = Vec::new();
        for name in &names {
            for line in std::fs::read_to_string(name).unwrap().lines() {
                let record: Value = serde_json::from_str(line).expect("one JSON record per line");
                seqs.push(record["seq"].as_i64().unwrap());
            }
        }
        (names.len(), seqs)
    };
    for _ in 0..3 {
        record_many(&server, acme.secret(), 20).await;
        let head = head(&server, acme.secret()).await;
        eventually(30, "records in files", || async {
            read_all().1.len() as i64 >= head
        })
        .await;
    }
    let head = head(&server, acme.secret()).await;
    let (files, seqs) = read_all();
    assert_eq!(
        seqs,
        (1..=head).collect::<Vec<_>>(),
        "every record once, in order"
    );
    assert!(files >= 3, "rotated by size: {files} files");
}

/// By default an organization's key cannot point a stream at the server's own network:
/// loopback, private, link-local (cloud metadata) and `localhost` URLs are refused by name, and
/// a URL accepted before the operator turned private networks off is refused at delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_networks_are_refused_unless_the_operator_allows_them() {
    let database = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", database.path().join("audit.db").display());
    let mut config = Config::new(url.clone());
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    config.streams_allow_private_networks = true;
    let permissive = TestServer::start_with(config).await;
    let acme = Tenant::new(&permissive, "Acme").await;
    let receiver = Receiver::start().await;
    let stream = webhook_stream(&permissive, acme.secret(), &receiver.url).await;
    permissive.stop().await;

    let mut config = Config::new(url);
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    let strict = TestServer::start_with(config).await;
    for url in [
        "http://127.0.0.1:8080/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.5/hook".to_owned(),
        "http://[::1]:9000/hook".to_owned(),
        "http://localhost:9000/hook".to_owned(),
        receiver.url.clone(),
    ] {
        let body =
            json!({ "name": "inside", "destination": { "type": "webhook", "url": url }, "secret": SECRET });
        let answer = post(&strict, "/api/v1/streams", acme.secret(), &body).await;
        answer.problem(422, Some("destination.url"));
    }
    let body = json!({ "name": "dd", "destination": { "type": "datadog", "url": "http://192.168.0.10" }, "secret": "k" });
    post(&strict, "/api/v1/streams", acme.secret(), &body)
        .await
        .problem(422, Some("destination.url"));

    // The stream made while private networks were allowed is not delivered now.
    record_many(&strict, acme.secret(), 5).await;
    let path = format!("/api/v1/streams/{}", stream["id"].as_str().unwrap());
    eventually(30, "the stream failing", || async {
        let now = get(&strict, &path, acme.secret()).await;
        now.body["health"]["consecutiveFailures"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    let failing = get(&strict, &path, acme.secret()).await.ok(200).clone();
    assert!(
        failing["health"]["lastError"]
            .as_str()
            .unwrap()
            .contains("private networks"),
        "{failing}"
    );
    assert!(receiver.captured().is_empty(), "nothing reached the receiver");
}
