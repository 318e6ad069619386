//! Dead letters: a record the destination refuses for good (HTTP 400) is set aside after the
//! stream's `maxAttempts` while every other record is delivered in order; the next batch names
//! it; a retry delivers it once the destination accepts. A destination that is down (503)
//! dead-letters nothing.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::sync::atomic::Ordering;

use audit_server::testing::TestServer;
use serde_json::{Value, json};

use crate::helpers::{Tenant, all_records, delete, event, get, head, metrics_text, post, record_batch};
use crate::on_both_backends;
use crate::receiver::{Receiver, eventually, first_occurrences};
use crate::streams_batches::check_chain;

const SECRET: &str = "whsec_receiver_test_secret_0123";
const POISON: &str = "doc-poison";

async fn stream_with_attempts(server: &TestServer, token: &str, url: &str, attempts: u32) -> Value {
    let body = json!({"name": "hook", "destination": {"type": "webhook", "url": url},
                      "secret": SECRET, "maxAttempts": attempts});
    post(server, "/api/v1/streams", token, &body)
        .await
        .ok(201)
        .clone()
}

async fn dead_letters(server: &TestServer, token: &str, stream_id: &str) -> Vec<Value> {
    let path = format!("/api/v1/streams/{stream_id}/dead-letters");
    let page = get(server, &path, token).await.ok(200).clone();
    assert!(page["nextCursor"].is_null(), "{page}");
    page["data"].as_array().unwrap().clone()
}

async fn a_poison_record_is_set_aside_and_retried(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    *receiver.state.poison.lock().unwrap() = Some(POISON.to_owned());
    let stream = stream_with_attempts(&server, acme.secret(), &receiver.url, 3).await;
    assert_eq!(stream["maxAttempts"], 3);
    let id = stream["id"].as_str().unwrap().to_owned();
    let start = stream["deliveredSeq"].as_i64().unwrap();
    let events: Vec<Value> = (0..20)
        .map(|i| {
            let resource = if i == 9 {
                POISON.to_owned()
            } else {
                format!("doc-{i}")
            };
            event("prompt", &resource, "update")
        })
        .collect();
    record_batch(&server, acme.secret(), &events).await;
    let head = head(&server, acme.secret()).await;
    let records = all_records(&server, acme.secret(), "").await;
    let poison = records
        .iter()
        .find(|record| record["resourceId"] == POISON)
        .unwrap()
        .clone();
    let poison_seq = poison["seq"].as_i64().unwrap();

    // Every other record arrives, in order; the poison one is listed instead.
    let expected: Vec<i64> = (start + 1..=head).filter(|seq| *seq != poison_seq).collect();
    assert_eq!(expected.len(), 20, "the stream's create event and 19 events");
    eventually(90, "every other record delivered", || async {
        first_occurrences(&receiver.webhook_records()).len() >= expected.len()
    })
    .await;
    assert_eq!(first_occurrences(&receiver.webhook_records()), expected);
    let listed = dead_letters(&server, acme.secret(), &id).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let letter = &listed[0];
    assert_eq!(letter["seq"], poison_seq);
    assert_eq!(letter["recordId"], poison["id"]);
    assert_eq!(letter["streamId"], id.as_str());
    assert_eq!(letter["orgId"], acme.org.id.to_string());
    assert_eq!(letter["attempts"], 3);
    assert!(
        letter["lastError"].as_str().unwrap().starts_with("HTTP 400"),
        "{letter}"
    );
    let now = get(&server, &format!("/api/v1/streams/{id}"), acme.secret()).await;
    assert_eq!(now.body["deliveredSeq"], head, "the cursor moved past it");

    // The batch after it names it, and the chain of batches holds.
    let envelopes = receiver.webhook_envelopes();
    let naming: Vec<&Value> = envelopes
        .iter()
        .filter(|envelope| envelope.get("deadLettered").is_some())
        .collect();
    assert_eq!(naming.len(), 1, "{envelopes:?}");
    assert_eq!(naming[0]["deadLettered"], json!([poison_seq]));
    assert_eq!(naming[0]["firstSeq"], poison_seq + 1);
    check_chain(&envelopes).unwrap();

    let metrics = metrics_text(&server).await;
    assert!(
        metrics.contains(&format!("audit_stream_dead_lettered_total{{stream=\"{id}\"}} 1")),
        "{metrics}"
    );
    let gauge = |count: u8| {
        format!(
            "audit_stream_dead_letters{{stream=\"{id}\",org=\"{}\"}} {count}",
            acme.org.id
        )
    };
    assert!(metrics.contains(&gauge(1)), "{metrics}");

    // Refused again: 502 with the destination's answer, still listed.
    let retry = format!("/api/v1/streams/{id}/dead-letters/{poison_seq}/retry");
    let refused = post(&server, &retry, acme.secret(), &json!({})).await;
    let problem = refused.problem(502, None);
    assert!(
        problem["detail"].as_str().unwrap().contains("HTTP 400"),
        "{problem}"
    );
    let listed = dead_letters(&server, acme.secret(), &id).await;
    assert_eq!(listed[0]["attempts"], 4);

    // Accepted: delivered outside the chain, and no longer listed.
    *receiver.state.poison.lock().unwrap() = None;
    post(&server, &retry, acme.secret(), &json!({})).await.ok(204);
    // (The stream also delivers its own retry events, so other batches arrive around it.)
    let retried: Vec<Value> = receiver
        .captured()
        .iter()
        .map(|request| serde_json::from_slice::<Value>(&request.body).unwrap())
        .filter(|body| body["batch"]["deadLetterRetry"] == true)
        .collect();
    assert_eq!(retried.len(), 1, "{retried:?}");
    assert_eq!(retried[0]["batch"]["firstSeq"], poison_seq);
    assert!(retried[0]["batch"]["previousBatchHash"].is_null());
    assert_eq!(
        retried[0]["events"][0]["id"], poison["id"],
        "the poison record itself"
    );
    assert!(dead_letters(&server, acme.secret(), &id).await.is_empty());
    assert!(metrics_text(&server).await.contains(&gauge(0)));
    post(&server, &retry, acme.secret(), &json!({}))
        .await
        .problem(404, None);

    // Both retries are in the trail.
    let trail = all_records(&server, acme.secret(), "").await;
    let retries: Vec<&Value> = trail
        .iter()
        .filter(|record| record["action"] == "retryDeadLetter" && record["resourceId"] == id.as_str())
        .collect();
    assert_eq!(retries.len(), 2);
    assert!(retries.iter().any(|record| record["after"]["delivered"] == true));
    assert!(retries.iter().any(|record| record["after"]["delivered"] == false));
}

async fn a_receiver_that_is_down_dead_letters_nothing(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    receiver.state.unavailable.store(true, Ordering::SeqCst);
    // One attempt: a single permanent refusal would set a record aside at once.
    let stream = stream_with_attempts(&server, acme.secret(), &receiver.url, 1).await;
    let id = stream["id"].as_str().unwrap().to_owned();
    let start = stream["deliveredSeq"].as_i64().unwrap();
    let events: Vec<Value> = (0..5)
        .map(|i| event("prompt", &format!("doc-{i}"), "update"))
        .collect();
    record_batch(&server, acme.secret(), &events).await;
    eventually(60, "several refused attempts", || async {
        receiver.state.refused.load(Ordering::SeqCst) >= 4
    })
    .await;
    assert!(dead_letters(&server, acme.secret(), &id).await.is_empty());
    let now = get(&server, &format!("/api/v1/streams/{id}"), acme.secret()).await;
    assert_eq!(now.body["deliveredSeq"], start, "nothing skipped");

    receiver.state.unavailable.store(false, Ordering::SeqCst);
    let head = head(&server, acme.secret()).await;
    let expected: Vec<i64> = (start + 1..=head).collect();
    eventually(60, "every record delivered", || async {
        first_occurrences(&receiver.webhook_records()).len() >= expected.len()
    })
    .await;
    assert_eq!(first_occurrences(&receiver.webhook_records()), expected);
    assert!(dead_letters(&server, acme.secret(), &id).await.is_empty());
    let metrics = metrics_text(&server).await;
    assert!(metrics.contains(&format!(
        "audit_stream_dead_letters{{stream=\"{id}\",org=\"{}\"}} 0",
        acme.org.id
    )));
    assert!(!metrics.contains(&format!("audit_stream_dead_lettered_total{{stream=\"{id}\"}} 1")));
}

async fn bad_dead_letter_input_names_the_field(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    for attempts in [json!(0), json!(101)] {
        let body = json!({"name": "hook", "destination": {"type": "webhook", "url": "http://127.0.0.1:9/x"},
                          "secret": SECRET, "maxAttempts": attempts});
        post(&server, "/api/v1/streams", acme.secret(), &body)
            .await
            .problem(422, Some("maxAttempts"));
    }
    let stream = stream_with_attempts(&server, acme.secret(), "http://127.0.0.1:9/x", 5).await;
    let id = stream["id"].as_str().unwrap();
    let path = format!("/api/v1/streams/{id}");
    crate::helpers::patch(&server, &path, acme.secret(), &json!({"maxAttempts": 0}))
        .await
        .problem(422, Some("maxAttempts"));
    let changed = crate::helpers::patch(&server, &path, acme.secret(), &json!({"maxAttempts": 7})).await;
    assert_eq!(changed.ok(200)["maxAttempts"], 7);
    let list = format!("{path}/dead-letters");
    get(&server, &format!("{list}?limit=1001"), acme.secret())
        .await
        .problem(422, Some("limit"));
    get(&server, &format!("{list}?cursor=x"), acme.secret())
        .await
        .problem(400, Some("cursor"));
    post(&server, &format!("{list}/abc/retry"), acme.secret(), &json!({}))
        .await
        .problem(400, Some("seq"));
    delete(&server, &format!("{list}/0"), acme.secret())
        .await
        .problem(400, Some("seq"));
    delete(&server, &format!("{list}/5"), acme.secret())
        .await
        .problem(404, None);
    post(&server, &format!("{list}/5/retry"), acme.secret(), &json!({}))
        .await
        .problem(404, None);
}

on_both_backends!(
    a_poison_record_is_set_aside_and_retried,
    a_receiver_that_is_down_dead_letters_nothing,
    bad_dead_letter_input_names_the_field,
);
