//! A per-operation measurement of the hashing paths, run by hand (it is ignored in the suite):
//! `cargo test --release -p audit-core --lib -- --ignored --nocapture canonical_speed`, or
//! one path only under `valgrind --tool=callgrind` with `CANONICAL_SPEED_PATH=value|writer`.

use std::time::Instant;

use serde_json::{Value, json};
use uuid::Uuid;

use super::reference;
use crate::{AuditEvent, AuditRecord, Role, chain, timestamp};

/// A record shaped like the benchmark's (about 880 bytes of values).
fn sample() -> AuditRecord {
    let mut event = AuditEvent::by_user("user_0042", "prompt", "pr_00017", "update");
    event.id = Some(Uuid::now_v7());
    event.user_org_role = Some(Role::Member);
    event.user_project_role = Some(Role::Admin);
    event.project_id = Some("proj_07".to_owned());
    event.ip_address = Some("203.0.113.77".to_owned());
    event.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0".to_owned());
    event.request_id = Some("req_0123456789abcdef".to_owned());
    event.trace_id = Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned());
    event.occurred_at = Some(timestamp::now());
    let prompt = "You are a helpful assistant. Answer the user's question about {{topic}} in a \
                  friendly tone, cite sources, and keep it under 200 words.\nBe concise.";
    event.before = Some(json!({"name": "greeting", "version": 6, "prompt": prompt,
        "config": {"model": "gpt-4o", "temperature": 0.7, "max_tokens": 512},
        "labels": ["production", "latest"], "tags": ["support", "faq"]}));
    event.after = Some(
        json!({"name": "greeting", "version": 7, "prompt": prompt.replace("200", "150"),
        "config": {"model": "gpt-4o", "temperature": 0.5, "max_tokens": 512},
        "labels": ["staging"], "tags": ["support", "faq"]}),
    );
    event.metadata = Some(
        [
            ("source".to_owned(), json!("web")),
            ("region".to_owned(), json!("eu-west-1")),
        ]
        .into_iter()
        .collect(),
    );
    let mut record = AuditRecord::from_event(event, Uuid::now_v7(), 123_456, timestamp::now(), None);
    record.seal(chain::GENESIS_HASH);
    record
}

fn value_path(record: &AuditRecord) -> String {
    let mut value = serde_json::to_value(record).unwrap_or(Value::Null);
    if let Value::Object(members) = &mut value {
        members.remove("hash");
    }
    chain::sha256_hex(format!("{}{}", record.prev_hash, reference::to_canonical_string(&value)).as_bytes())
}

#[test]
#[ignore = "a measurement, run by hand"]
fn canonical_speed() {
    let record = sample();
    assert_eq!(value_path(&record), record.compute_hash());
    let rounds = 50_000;
    let which = std::env::var("CANONICAL_SPEED_PATH").unwrap_or_default();
    for (name, run) in [
        (
            "value",
            &(|r: &AuditRecord| value_path(r)) as &dyn Fn(&AuditRecord) -> String,
        ),
        ("writer", &|r: &AuditRecord| r.compute_hash()),
    ] {
        if !which.is_empty() && which != name {
            continue;
        }
        let started = Instant::now();
        let mut last = String::new();
        for _ in 0..rounds {
            last = run(std::hint::black_box(&record));
        }
        let each = started.elapsed() / rounds;
        println!(
            "{name}: {each:?} per record hash ({} bytes of canonical content)",
            record.hashed_bytes().len()
        );
        assert_eq!(last, record.hash);
    }
}
