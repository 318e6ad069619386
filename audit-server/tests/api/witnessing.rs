//! Witnesses: the server submits its checkpoints to a real `audit-witness` over HTTP, keeps
//! the cosignatures and serves them with the checkpoint; a witness that is down leaves
//! checkpoints unwitnessed (in `/metrics` and `/ready`) and they are cosigned when it is back.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::time::Duration;

use audit_core::checkpoint::CheckpointVerifier;

use crate::helpers::*;
use crate::on_both_backends;

async fn a_checkpoint_is_cosigned_and_served_with_its_cosignature(mut server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let witness = start_witness(&server, &dir, None).await;
    use_witness(&mut server, &witness).await;
    let tenant = Tenant::new(&server, "Acme").await;
    record_many(&server, tenant.secret(), 9).await;

    let checkpoint = cosigned_checkpoint(&server, &tenant, 10).await;
    let note = checkpoint["note"].as_str().unwrap();
    // The note verifies under the log's key and under the witness's, the cosignature line on it.
    let key_path = format!("/api/v1/checkpoints/public-key?orgId={}", tenant.org.id);
    let log_key = get(&server, &key_path, "").await.ok(200)["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let statement = CheckpointVerifier::from_vkey(&log_key)
        .unwrap()
        .verify(note)
        .unwrap();
    assert_eq!(statement.seq, 10);
    let time = witness
        .verifier()
        .verify(note)
        .expect("the witness's cosignature verifies");
    let cosignature = &checkpoint["cosignatures"][0];
    assert_eq!(cosignature["witness"], "witness.example.com");
    assert_eq!(cosignature["keyId"], witness.verifier().key_id());
    assert!(note.ends_with(&format!("{}\n", cosignature["line"].as_str().unwrap())));
    let stated = chrono::DateTime::parse_from_rfc3339(cosignature["time"].as_str().unwrap()).unwrap();
    assert_eq!(stated.timestamp() as u64, time);

    // Nothing is left unwitnessed, and /ready says so.
    let ready = get(&server, "/ready", "").await;
    let standing = &ready.ok(200)["witnesses"][0];
    assert_eq!(standing["name"], "witness.example.com");
    assert_eq!(standing["unwitnessed"], 0, "{standing}");
    assert!(standing["cosigned"].as_u64().unwrap() >= 1);
    assert_eq!(unwitnessed(&metrics_text(&server).await), Some(0));
    witness.stop().await.unwrap();
}

async fn a_stopped_witness_slows_nothing_and_cosigns_when_back(mut server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let witness = start_witness(&server, &dir, None).await;
    let address = witness.local_addr();
    use_witness(&mut server, &witness).await;
    let tenant = Tenant::new(&server, "Acme").await;
    record_many(&server, tenant.secret(), 4).await;
    cosigned_checkpoint(&server, &tenant, 5).await;

    witness.stop().await.unwrap();
    // Ingest goes on while the witness is down; the new checkpoint shows as unwitnessed.
    record_many(&server, tenant.secret(), 5).await;
    let mut seen = None;
    for _ in 0..300 {
        seen = unwitnessed(&metrics_text(&server).await);
        if seen == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, Some(1), "the checkpoint of 10 records is unwitnessed");
    let ready = get(&server, "/ready", "").await;
    let standing = &ready.ok(200)["witnesses"][0];
    assert!(standing["unreachable"].as_u64().unwrap() >= 1, "{standing}");
    assert!(
        standing["lastError"].as_str().unwrap().contains("did not answer"),
        "{standing}"
    );

    // Back on the same address and state: cosigned within a minute (from size 5, consistently).
    let witness = start_witness(&server, &dir, Some(address)).await;
    cosigned_checkpoint(&server, &tenant, 10).await;
    assert_eq!(unwitnessed(&metrics_text(&server).await), Some(0));
    witness.stop().await.unwrap();
}

on_both_backends!(
    a_checkpoint_is_cosigned_and_served_with_its_cosignature,
    a_stopped_witness_slows_nothing_and_cosigns_when_back,
);
