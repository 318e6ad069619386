//! OCSF streams: a record of every built-in catalog resource and action, delivered by a webhook
//! stream in the `ocsf` format, validates against the OCSF schema (1.9.0-dev with the
//! `record_integrity` profile, checked in as tests/ocsf/schema.json.gz) with implementations
//! we did not write: ocsf-json-schema's JSON Schemas and the `jsonschema` validator, installed
//! by tests/ocsf/setup.sh into target/ocsf-venv.
//!
//! Without `python3` the validation step is skipped with a message (never under `CI=true`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use audit_server::testing::TestServer;
use serde_json::{Value, json};

use crate::helpers::{Tenant, all_records, get, patch, post, record_batch};
use crate::receiver::{Receiver, eventually};

const SECRET: &str = "whsec_receiver_test_secret_0123";

fn ocsf_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ocsf")
}

/// The venv's python, installed by setup.sh when missing; `None` when there is no python3
/// (a failure under CI).
pub(crate) fn validator_python() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("target/ocsf-venv/bin/python");
    // Tests run in parallel: one installs, the others wait for it rather than use half a venv.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALLING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !root.join("target/ocsf-venv/.installed").exists() {
        if Command::new("python3").arg("--version").output().is_err() {
            assert!(
                std::env::var("CI").is_err(),
                "python3 is missing: CI must run the OCSF validation"
            );
            eprintln!("SKIPPED: python3 is missing, the OCSF events are not validated");
            return None;
        }
        let status = Command::new("bash")
            .arg(ocsf_dir().join("setup.sh"))
            .status()
            .expect("tests/ocsf/setup.sh runs");
        assert!(status.success(), "tests/ocsf/setup.sh installs the validator");
    }
    Some(python)
}

/// Runs validate.py over `events` (one JSON line each).
fn run_validator(python: &PathBuf, events: &[Value]) -> std::process::Output {
    let mut child = Command::new(python)
        .arg(ocsf_dir().join("validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the validator starts");
    let mut input = Vec::new();
    for event in events {
        input.extend(serde_json::to_vec(event).unwrap());
        input.push(b'\n');
    }
    child.stdin.take().unwrap().write_all(&input).unwrap();
    child.wait_with_output().unwrap()
}

/// The validator's report on `events`, asserting it found every event valid.
pub(crate) fn validate(python: &PathBuf, events: &[Value]) -> String {
    let output = run_validator(python, events);
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "OCSF validation failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    report
}

/// One event per catalog pair, with every optional field set on some of them.
fn catalog_events(catalog: &Value) -> Vec<Value> {
    let mut events = Vec::new();
    for entry in catalog["resourceTypes"].as_array().unwrap() {
        let resource_type = entry["resourceType"].as_str().unwrap();
        for action in entry["actions"].as_array().unwrap() {
            let action = action.as_str().unwrap();
            let n = events.len();
            let mut event = match n % 3 {
                0 => json!({"type": "USER", "userId": format!("u_{n}"), "userOrgRole": "ADMIN",
                            "projectId": "p_1", "userProjectRole": "MEMBER"}),
                1 => json!({"type": "API_KEY", "apiKeyId": format!("k_{n}")}),
                _ => json!({"type": "SYSTEM"}),
            };
            event["resourceType"] = json!(resource_type);
            event["resourceId"] = json!(format!("{resource_type}_{n}"));
            event["action"] = json!(action);
            if n % 2 == 0 {
                event["ipAddress"] = json!(if n % 4 == 0 { "203.0.113.7" } else { "2001:db8::1" });
                event["userAgent"] = json!("Mozilla/5.0 (test)");
                event["requestId"] = json!(format!("req_{n}"));
                event["traceId"] = json!("4bf92f3577b34da6a3ce929d0e0e4736");
                event["before"] = json!({"name": "old", "userId": "u_target"});
                event["after"] = json!({"name": "new", "email": "a@example.com"});
                event["metadata"] = json!({"reason": "test", "count": n});
            }
            if n % 5 == 0 {
                event["onBehalfOf"] = json!(format!("u_customer_{n}"));
                event["impersonatedBy"] = json!(format!("u_staff_{n}"));
            }
            events.push(event);
        }
    }
    events
}

async fn ocsf_events_of_every_catalog_resource_validate(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    let body = json!({"name": "ocsf", "destination": {"type": "webhook", "url": receiver.url},
                      "secret": SECRET, "format": "ocsf", "fromBeginning": true});
    let stream = post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201)
        .clone();
    assert_eq!(stream["format"], "ocsf");
    let id = stream["id"].as_str().unwrap().to_owned();
    let renamed = patch(
        &server,
        &format!("/api/v1/streams/{id}"),
        acme.secret(),
        &json!({"name": "ocsf (renamed)"}),
    )
    .await;
    assert_eq!(renamed.ok(200)["format"], "ocsf", "a change keeps the format");

    let catalog = get(&server, "/api/v1/catalog", acme.secret())
        .await
        .ok(200)
        .clone();
    let events = catalog_events(&catalog);
    assert!(events.len() > 100, "the built-in catalog has over 100 pairs");
    for chunk in events.chunks(500) {
        record_batch(&server, acme.secret(), chunk).await;
    }
    let records = all_records(&server, acme.secret(), "").await;
    let expected = records.len();
    eventually(60, "every record delivered", || async {
        receiver.webhook_records().len() >= expected
    })
    .await;

    let mut delivered = receiver.webhook_records();
    delivered.sort_by_key(|event| event["metadata"]["sequence"].as_i64());
    delivered.dedup_by_key(|event| event["metadata"]["uid"].clone());
    assert_eq!(delivered.len(), expected, "one event per record");
    let by_id: std::collections::HashMap<String, &Value> = records
        .iter()
        .map(|record| (record["id"].as_str().unwrap().to_owned(), record))
        .collect();
    for event in &delivered {
        let record = by_id[event["metadata"]["uid"].as_str().unwrap()];
        assert_eq!(event["metadata"]["tenant_uid"], acme.org.id.to_string());
        assert_eq!(event["metadata"]["sequence"], record["seq"]);
        let attestation = &event["attestation_list"][0];
        assert_eq!(attestation["fingerprint"]["value"], record["hash"]);
        assert_eq!(
            attestation["chain_uid"]
                .as_str()
                .unwrap()
                .split('/')
                .nth(1)
                .unwrap(),
            acme.org.id.to_string()
        );
        if record["seq"].as_i64() > Some(1) {
            assert_eq!(
                attestation["prev_event"]["fingerprint"]["value"],
                record["prevHash"]
            );
        }
        let class = match record["resourceType"].as_str().unwrap() {
            "apiKey" | "logStream" | "viewerToken" => 3004,
            "membership" | "orgMembership" | "projectMembership" => 3005,
            "membershipInvitation" => 3001,
            _ => 6003,
        };
        assert_eq!(event["class_uid"], class, "{}", record["resourceType"]);
        assert_eq!(event["unmapped"]["action"], record["action"]);
        // Delegated actors have no OCSF attribute: kept under `unmapped`, absent when unset.
        assert_eq!(event["unmapped"].get("onBehalfOf"), record.get("onBehalfOf"));
        assert_eq!(
            event["unmapped"].get("impersonatedBy"),
            record.get("impersonatedBy")
        );
        if let Some(ip) = record["ipAddress"].as_str() {
            assert_eq!(event["src_endpoint"]["ip"], ip);
            assert_eq!(event["http_request"]["user_agent"], record["userAgent"]);
            assert_eq!(event["metadata"]["correlation_uid"], record["traceId"]);
        }
    }
    let classes: std::collections::BTreeSet<i64> = delivered
        .iter()
        .map(|event| event["class_uid"].as_i64().unwrap())
        .collect();
    assert_eq!(classes.into_iter().collect::<Vec<_>>(), [3001, 3004, 3005, 6003]);

    if let Some(python) = validator_python() {
        let report = validate(&python, &delivered);
        assert!(
            report.contains(&format!("validated {expected} events, 0 invalid")),
            "{report}"
        );
    }
}

/// The validator is not one that passes anything: an event missing a required attribute, or
/// with one OCSF does not define, is refused.
async fn the_validator_refuses_events_that_break_the_schema(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    let body = json!({"name": "ocsf", "destination": {"type": "webhook", "url": receiver.url},
                      "secret": SECRET, "format": "ocsf"});
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201);
    record_batch(
        &server,
        acme.secret(),
        &[json!({"type": "SYSTEM", "resourceType": "prompt",
        "resourceId": "pr_1", "action": "create"})],
    )
    .await;
    eventually(30, "delivered", || async {
        !receiver.webhook_records().is_empty()
    })
    .await;
    let good = receiver.webhook_records()[0].clone();
    let Some(python) = validator_python() else {
        return;
    };
    validate(&python, std::slice::from_ref(&good));
    for broken in [
        {
            let mut event = good.clone();
            event.as_object_mut().unwrap().remove("metadata");
            event
        },
        {
            let mut event = good.clone();
            event["not_an_ocsf_attribute"] = json!(1);
            event
        },
        {
            let mut event = good.clone();
            event["attestation_list"][0]["fingerprint"]["algorithm_id"] = json!("sha");
            event
        },
    ] {
        let output = run_validator(&python, std::slice::from_ref(&broken));
        assert!(!output.status.success(), "refused: {broken}");
    }
}

crate::on_both_backends!(
    ocsf_events_of_every_catalog_resource_validate,
    the_validator_refuses_events_that_break_the_schema,
);
