//! Gap-proof batches: a receiver that checks each webhook batch's `previousBatchHash` against
//! the `lastHash` of the batch before (what the README's Python check does) accepts what a
//! filtered stream delivers, and detects a missing batch and a replayed one.

use audit_server::testing::TestServer;
use serde_json::{Value, json};

use crate::helpers::{Tenant, event, post, record_batch};
use crate::receiver::{Receiver, eventually};

/// The receiver's check over batches in arrival order: each names the one before it.
pub fn check_chain(batches: &[Value]) -> Result<(), String> {
    let mut last: Option<&Value> = None;
    for batch in batches {
        let previous = &batch["previousBatchHash"];
        match last {
            None if previous.is_null() => {}
            Some(hash) if previous == hash => {}
            Some(hash) if batch["lastHash"] == *hash => return Err(format!("replayed: {batch}")),
            _ => return Err(format!("missing a batch before {batch}")),
        }
        last = Some(&batch["lastHash"]);
    }
    Ok(())
}

async fn a_receiver_detects_missing_and_replayed_batches(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    let body = json!({"name": "hook", "destination": {"type": "webhook", "url": receiver.url},
                      "secret": "whsec_receiver_test_secret_0123", "filter": {"resourceTypes": ["prompt"]}});
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201);
    for round in 0..3 {
        // Filtered-out records between the batches: the link must still hold.
        record_batch(&server, acme.secret(), &[event("dataset", "d", "update")]).await;
        record_batch(
            &server,
            acme.secret(),
            &[event("prompt", &format!("p{round}"), "update")],
        )
        .await;
        eventually(30, "the batch delivered", || async {
            receiver.captured().len() > round
        })
        .await;
    }
    let batches: Vec<Value> = receiver
        .captured()
        .iter()
        .map(|request| serde_json::from_slice::<Value>(&request.body).unwrap()["batch"].clone())
        .collect();
    assert!(batches.len() >= 3);
    check_chain(&batches).expect("what the stream delivered is complete");

    let mut missing = batches.clone();
    missing.remove(1);
    assert!(check_chain(&missing).unwrap_err().starts_with("missing"));
    let mut replayed = batches.clone();
    replayed.insert(2, batches[1].clone());
    assert!(check_chain(&replayed).unwrap_err().starts_with("replayed"));
}

crate::on_both_backends!(a_receiver_detects_missing_and_replayed_batches);
