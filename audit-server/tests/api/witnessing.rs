//! Witnesses: the server submits its checkpoints to a real `audit-witness` over HTTP, keeps
//! the cosignatures and serves them with the checkpoint; a witness that is down leaves
//! checkpoints unwitnessed (in `/metrics` and `/ready`) and they are cosigned when it is back.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::time::Duration;

use audit_core::checkpoint::CheckpointVerifier;
use audit_server::config::WitnessEndpoint;
use audit_server::witness::{Witness, WitnessConfig};
use serde_json::Value;

use crate::helpers::*;
use crate::on_both_backends;

/// A witness of every organization of `server`, with its state in `dir`, on `listen`.
pub(crate) async fn start_witness(
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
pub(crate) async fn use_witness(server: &mut TestServer, witness: &Witness) {
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
pub(crate) async fn cosigned_checkpoint(server: &TestServer, tenant: &Tenant, size: i64) -> Value {
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

fn unwitnessed(metrics: &str) -> Option<u64> {
    metrics
        .lines()
        .find(|line| line.starts_with("audit_checkpoints_unwitnessed{witness=\"witness.example.com\"}"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|count| count.parse().ok())
}

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
