//! Destination limits: batches of large records reach a loopback Datadog intake and Splunk
//! collector as several payloads within those products' limits, each a gap-proof batch of its
//! own; a record too large for one log arrives cut but with its id, `seq` and hash; Datadog
//! logs of records older than its 18 hours carry the time of delivery and their own time; OCSF
//! events carry the signature of the checkpoint covering them, which verifies under the
//! server's public key.

use audit_core::checkpoint::CheckpointVerifier;
use audit_server::testing::TestServer;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::checkpoints::{checkpoint_at_least, public_key};
use crate::helpers::{Tenant, all_records, event, get, post, record, record_many};
use crate::receiver::{Receiver, eventually};
use crate::streams_ocsf::{validate, validator_python};

/// One request as a receiver checks it: its envelope and the `seq`s it carried.
#[derive(Debug)]
struct Payload {
    count: i64,
    first_seq: i64,
    last_seq: i64,
    previous_batch_hash: Option<String>,
    last_hash: String,
    seqs: Vec<i64>,
}

/// The receiver's checks: every record exactly once, in order, and every payload's envelope
/// names its records and links to the payload before it.
fn check_payloads(payloads: &[Payload], records: &[Value]) {
    let mut by_seq: Vec<&Value> = records.iter().collect();
    by_seq.sort_by_key(|record| record["seq"].as_i64());
    let expected: Vec<i64> = by_seq
        .iter()
        .map(|record| record["seq"].as_i64().unwrap())
        .collect();
    let delivered: Vec<i64> = payloads.iter().flat_map(|payload| payload.seqs.clone()).collect();
    assert_eq!(delivered, expected, "every record once, in seq order");
    let hash_of = |seq: i64| {
        by_seq[(seq - expected[0]) as usize]["hash"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut previous: Option<&Payload> = None;
    for payload in payloads {
        assert_eq!(payload.count, payload.seqs.len() as i64, "{payload:?}");
        assert_eq!(payload.first_seq, payload.seqs[0]);
        assert_eq!(payload.last_seq, *payload.seqs.last().unwrap());
        assert_eq!(payload.last_hash, hash_of(payload.last_seq));
        match previous {
            None => assert_eq!(payload.previous_batch_hash, None, "the stream's first payload"),
            Some(before) => {
                assert_eq!(payload.first_seq, before.last_seq + 1, "contiguous");
                assert_eq!(payload.previous_batch_hash.as_ref(), Some(&before.last_hash));
            }
        }
        previous = Some(payload);
    }
}

/// Records `count` events whose `after` holds `bytes` bytes of text, one request each.
async fn record_large(server: &TestServer, token: &str, count: usize, bytes: usize) -> Vec<Value> {
    let mut stored = Vec::new();
    for i in 0..count {
        let mut large = event("prompt", &format!("pr_{i}"), "update");
        large["after"] = json!({ "body": format!("{i:04}").repeat(bytes / 4) });
        stored.push(record(server, token, &large).await);
    }
    stored
}

/// Every record of the organization once the stream (created after them, from the beginning)
/// has its own create event.
async fn records_of(server: &TestServer, tenant: &Tenant) -> Vec<Value> {
    all_records(server, tenant.secret(), "").await
}

async fn datadog_payloads_keep_the_intake_limits(mut server: TestServer) {
    server
        .reconfigure(|config| {
            config.max_body_bytes = 4 * 1024 * 1024;
            config.max_state_bytes = 2 * 1024 * 1024;
        })
        .await;
    let acme = Tenant::new(&server, "Acme").await;
    record_large(&server, acme.secret(), 40, 300_000).await;
    let oversize = record_large(&server, acme.secret(), 1, 1_500_000).await.remove(0);
    let receiver = Receiver::start().await;
    let body = json!({
        "name": "datadog",
        "destination": { "type": "datadog", "url": receiver.url },
        "secret": "dd0123456789abcdef0123456789abcd",
        "fromBeginning": true,
    });
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201);
    let records = records_of(&server, &acme).await;
    let datadog_logs = || -> Vec<Value> {
        receiver
            .captured()
            .iter()
            .flat_map(|request| serde_json::from_slice::<Vec<Value>>(&request.body).expect("a JSON array"))
            .collect()
    };
    eventually(120, "every record delivered", || async {
        datadog_logs().len() >= records.len()
    })
    .await;

    let captured = receiver.captured();
    assert!(
        captured.len() >= 3,
        "12 MB of records need several payloads: {}",
        captured.len()
    );
    let mut payloads = Vec::new();
    for request in &captured {
        assert!(
            request.body.len() <= 5_000_000,
            "a payload of {} bytes",
            request.body.len()
        );
        let logs: Vec<Value> = serde_json::from_slice(&request.body).unwrap();
        assert!(logs.len() <= 1000);
        let mut seqs = Vec::new();
        for log in &logs {
            let size = serde_json::to_vec(log).unwrap().len();
            assert!(size <= 1_000_000, "a log of {size} bytes");
            assert_eq!(
                log["audit_batch"], logs[0]["audit_batch"],
                "one envelope per payload"
            );
            let sent: Value = serde_json::from_str(log["message"].as_str().unwrap()).unwrap();
            seqs.push(sent["seq"].as_i64().unwrap());
        }
        let envelope = &logs[0]["audit_batch"];
        payloads.push(Payload {
            count: envelope["count"].as_i64().unwrap(),
            first_seq: envelope["firstSeq"].as_i64().unwrap(),
            last_seq: envelope["lastSeq"].as_i64().unwrap(),
            previous_batch_hash: envelope["previousBatchHash"].as_str().map(str::to_owned),
            last_hash: envelope["lastHash"].as_str().unwrap().to_owned(),
            seqs,
        });
    }
    check_payloads(&payloads, &records);

    // The record too large for one log: cut, with what a receiver needs to fetch and check it.
    let log = datadog_logs()
        .into_iter()
        .find(|log| {
            log["message"]
                .as_str()
                .unwrap()
                .contains(oversize["id"].as_str().unwrap())
        })
        .unwrap();
    let sent: Value = serde_json::from_str(log["message"].as_str().unwrap()).unwrap();
    assert_eq!(sent["id"], oversize["id"]);
    assert_eq!(sent["seq"], oversize["seq"]);
    assert_eq!(sent["hash"], oversize["hash"]);
    let body = sent["after"]["body"].as_str().unwrap();
    assert!(
        body.ends_with(" bytes]") && body.contains("[truncated "),
        "marked as cut"
    );
    let path = format!("/api/v1/audit-logs/{}", oversize["id"].as_str().unwrap());
    let whole = get(&server, &path, acme.secret()).await;
    assert_eq!(whole.ok(200)["after"]["body"].as_str().unwrap().len(), 1_500_000);
}

async fn splunk_payloads_keep_the_configured_max_content_length(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    record_large(&server, acme.secret(), 30, 20_000).await;
    let oversize = record_large(&server, acme.secret(), 1, 150_000).await.remove(0);
    let receiver = Receiver::start().await;
    let body = json!({
        "name": "splunk",
        "destination": { "type": "splunkHec", "url": receiver.url, "maxContentLength": 100_000 },
        "secret": "00000000-0000-0000-0000-000000000000",
        "fromBeginning": true,
    });
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201);
    let records = records_of(&server, &acme).await;
    let events_of = |body: &[u8]| -> Vec<Value> {
        serde_json::Deserializer::from_slice(body)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .expect("concatenated JSON objects")
    };
    eventually(60, "every record delivered", || async {
        receiver
            .captured()
            .iter()
            .map(|request| events_of(&request.body).len())
            .sum::<usize>()
            >= records.len()
    })
    .await;

    let captured = receiver.captured();
    assert!(
        captured.len() >= 7,
        "600 KB in payloads of 100 KB: {}",
        captured.len()
    );
    let mut payloads = Vec::new();
    for request in &captured {
        assert!(
            request.body.len() <= 100_000,
            "a payload of {} bytes",
            request.body.len()
        );
        let events = events_of(&request.body);
        let fields = &events[0]["fields"];
        assert!(
            events.iter().all(|event| event["fields"] == *fields),
            "one envelope per payload"
        );
        payloads.push(Payload {
            count: fields["audit_batch_count"].as_i64().unwrap(),
            first_seq: fields["audit_batch_first_seq"].as_i64().unwrap(),
            last_seq: fields["audit_batch_last_seq"].as_i64().unwrap(),
            previous_batch_hash: fields["audit_batch_previous_hash"].as_str().map(str::to_owned),
            last_hash: fields["audit_batch_last_hash"].as_str().unwrap().to_owned(),
            seqs: events
                .iter()
                .map(|event| event["event"]["seq"].as_i64().unwrap())
                .collect(),
        });
        if let Some(cut) = events.iter().find(|event| event["event"]["id"] == oversize["id"]) {
            assert_eq!(cut["event"]["hash"], oversize["hash"]);
            assert!(
                cut["event"]["after"]["body"]
                    .as_str()
                    .unwrap()
                    .contains("[truncated ")
            );
        }
    }
    check_payloads(&payloads, &records);
}

async fn payload_limits_out_of_range_are_refused(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    for (destination, field) in [
        (
            json!({ "type": "splunkHec", "url": "http://127.0.0.1:9", "maxContentLength": 1000 }),
            "destination.maxContentLength",
        ),
        (
            json!({ "type": "webhook", "url": "http://127.0.0.1:9", "maxBodyBytes": 0 }),
            "destination.maxBodyBytes",
        ),
    ] {
        let body = json!({ "name": "small", "destination": destination, "secret": "whsec_receiver_test_secret_0123" });
        post(&server, "/api/v1/streams", acme.secret(), &body)
            .await
            .problem(422, Some(field));
    }
}

async fn datadog_logs_older_than_18_hours_carry_the_delivery_time(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    let body = json!({
        "name": "datadog",
        "destination": { "type": "datadog", "url": receiver.url },
        "secret": "dd0123456789abcdef0123456789abcd",
    });
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201);
    let before_delivery = Utc::now();
    // A backfill: the host app records an action of two days ago.
    let mut backfilled = event("prompt", "pr_old", "update");
    backfilled["occurredAt"] = json!((Utc::now() - chrono::TimeDelta::days(2)).to_rfc3339());
    let old = record(&server, acme.secret(), &backfilled).await;
    let recent = record(&server, acme.secret(), &event("prompt", "pr_new", "update")).await;
    let log_of = |record: &Value| {
        receiver
            .captured()
            .iter()
            .flat_map(|request| serde_json::from_slice::<Vec<Value>>(&request.body).unwrap())
            .find(|log| {
                log["message"]
                    .as_str()
                    .unwrap()
                    .contains(record["id"].as_str().unwrap())
            })
    };
    eventually(30, "both delivered", || async {
        log_of(&old).is_some() && log_of(&recent).is_some()
    })
    .await;
    let time = |value: &Value| DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap();

    let log = log_of(&old).unwrap();
    let timestamp = log["timestamp"].as_i64().unwrap();
    assert!(
        (before_delivery.timestamp_millis()..=Utc::now().timestamp_millis()).contains(&timestamp),
        "the time of delivery, not two days ago"
    );
    assert_eq!(time(&log["audit_original_time"]), time(&old["occurredAt"]));

    let log = log_of(&recent).unwrap();
    assert_eq!(log["timestamp"], time(&recent["occurredAt"]).timestamp_millis());
    assert!(log.get("audit_original_time").is_none(), "{log}");
}

async fn ocsf_events_carry_a_checkpoint_signature_that_verifies(mut server: TestServer) {
    server
        .reconfigure(|config| {
            config.checkpoint_every_records = 5;
            config.checkpoint_interval_secs = 3600;
        })
        .await;
    let acme = Tenant::new(&server, "Acme").await;
    record_many(&server, acme.secret(), 10).await;
    let covered = checkpoint_at_least(&server, acme.secret(), 10).await["seq"]
        .as_i64()
        .unwrap();
    let receiver = Receiver::start().await;
    let body = json!({"name": "ocsf", "destination": {"type": "webhook", "url": receiver.url},
                      "secret": "whsec_receiver_test_secret_0123", "format": "ocsf", "fromBeginning": true});
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201);
    eventually(30, "the covered records delivered", || async {
        receiver.webhook_records().len() as i64 >= covered
    })
    .await;

    let key = public_key(&server).await;
    let verifier = CheckpointVerifier::from_vkey(key["vkey"].as_str().unwrap()).unwrap();
    let events = receiver.webhook_records();
    let mut signed = 0;
    for event in &events {
        let seq = event["metadata"]["sequence"].as_i64().unwrap();
        let attestation = &event["attestation_list"][0];
        let Some(signature) = attestation["signatures"].get(0) else {
            assert!(
                seq > covered,
                "a record the checkpoint covers carries its signature: {event}"
            );
            continue;
        };
        signed += 1;
        assert_eq!(signature["algorithm"], "Ed25519");
        let checkpoint = &event["unmapped"]["checkpoint"];
        let stated = verifier
            .verify(checkpoint["note"].as_str().unwrap())
            .expect("the note verifies");
        assert_eq!(stated.seq, checkpoint["seq"].as_i64().unwrap());
        assert!(stated.seq >= seq, "the checkpoint covers the record");
        assert_eq!(stated.origin, attestation["chain_uid"].as_str().unwrap());
        assert!(
            checkpoint["note"]
                .as_str()
                .unwrap()
                .contains(checkpoint["signature"].as_str().unwrap())
        );
        assert_eq!(signature["created_time"], stated.time.timestamp_millis());
        if seq == stated.seq {
            assert_eq!(
                attestation["fingerprint"]["value"], stated.head_hash,
                "the head it signs"
            );
        }
    }
    assert!(signed >= covered, "{signed} signed events");
    if let Some(python) = validator_python() {
        validate(&python, &events);
    }
}

crate::on_both_backends!(
    datadog_payloads_keep_the_intake_limits,
    splunk_payloads_keep_the_configured_max_content_length,
    payload_limits_out_of_range_are_refused,
    datadog_logs_older_than_18_hours_carry_the_delivery_time,
    ocsf_events_carry_a_checkpoint_signature_that_verifies,
);
