//! The record dialog's proof: "Download proof" saves the record's tlog-proof file, which our
//! offline verifier accepts under the server's policy; "Verify in browser" checks it with
//! WebCrypto (record hash, inclusion proof, log signature, witness cosignature), and the same
//! check refuses a changed record or a changed audit path.

use audit_core::Scope;
use audit_core::checkpoint::CheckpointVerifier;
use audit_core::policy::Policy;
use audit_core::record_proof::verify_record_proof;
use audit_server::config::WitnessEndpoint;
use audit_server::testing::TestServer;
use audit_server::witness::{Witness, WitnessConfig};
use serde_json::{Value, json};

use super::driver::{Browser, SKIP_LINE, chromedriver_path};
use super::{assert_no_viewer_errors, link, mint, wait_for_download, wait_rows};

/// An unauthenticated GET (the checkpoint key and policy are public).
async fn public(server: &TestServer, path: &str) -> reqwest::Response {
    server.http().get(server.url(path)).send().await.unwrap()
}

/// A witness of `server`'s log, with its state in `dir`.
async fn witness_of(server: &TestServer, dir: &tempfile::TempDir) -> Witness {
    let key: Value = public(server, "/api/v1/checkpoints/public-key")
        .await
        .json()
        .await
        .unwrap();
    let log = CheckpointVerifier::from_vkey(key["vkey"].as_str().unwrap()).unwrap();
    let config = WitnessConfig::new(
        "witness.example.com",
        [7; 32],
        dir.path().join("state.json"),
        vec![log],
    );
    Witness::start(config).await.unwrap()
}

/// Waits until the newest checkpoint covers the whole trail and is cosigned.
async fn wait_for_cosigned_trail(server: &TestServer, secret: &str) {
    for _ in 0..600 {
        let get = |path: &str| server.http().get(server.url(path)).bearer_auth(secret).send();
        let head: Value = get("/api/v1/audit-logs/verify")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let latest: Value = get("/api/v1/checkpoints/latest")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let cosigned = latest["cosignatures"]
            .as_array()
            .is_some_and(|list| !list.is_empty());
        if cosigned && latest["seq"] == head["headSeq"] {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no cosigned checkpoint of the whole trail within a minute");
}

/// Runs the viewer's own check on `file` for the record of the open dialog.
async fn viewer_check(browser: &Browser, file: &str, record: &Value, vkey: &str, policy: &str) -> String {
    let script = "return verifyRecordProof(arguments[0], arguments[1], arguments[2], arguments[3]) \
                  .then(() => 'verified', (error) => error.message);";
    let outcome = browser
        .js(
            script,
            vec![json!(file), record.clone(), json!(vkey), json!(policy)],
        )
        .await;
    outcome.as_str().unwrap().to_owned()
}

#[tokio::test]
async fn record_proofs_in_a_real_browser() {
    let Some(chromedriver) = chromedriver_path() else {
        println!("{SKIP_LINE}");
        eprintln!("{SKIP_LINE}");
        return;
    };
    let mut server = TestServer::start_sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let witness = witness_of(&server, &dir).await;
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
    let org = server.create_org("Acme").await;
    let key = server.create_key(org.id, &Scope::ALL).await;
    let minted = mint(
        &server,
        &key.secret,
        json!({ "userId": "u_alice", "orgRole": "ADMIN" }),
    )
    .await;
    for n in 0..3 {
        let event = json!({
            "type": "USER", "userId": "u_bob", "resourceType": "prompt",
            "resourceId": format!("pr_{n}"), "action": "update",
            "before": { "text": "old" }, "after": { "text": format!("new {n}") },
        });
        let response = server
            .http()
            .post(server.url("/api/v1/audit-logs"))
            .bearer_auth(&key.secret)
            .json(&event)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    wait_for_cosigned_trail(&server, &key.secret).await;

    let browser = Browser::start(&chromedriver).await;
    browser.client.goto(&link(&server, &minted)).await.unwrap();
    wait_rows(&browser, "first load", 5).await;
    browser.click("#rows tr[data-id] .row-open").await;
    browser.element("#detail[open]").await;

    browser.click("#proof-verify").await;
    let done = "return ['verified', 'refused', 'failed'].includes(document.querySelector('#proof-status').dataset.outcome);";
    browser.wait_until("the proof check to finish", done).await;
    let status = browser.text("#proof-status").await;
    assert!(status.starts_with("Verified"), "{status}");
    assert!(
        status.contains(&format!("signed by audit-log/{}", org.id)),
        "{status}"
    );
    assert!(
        status.contains("Cosigned by 1 of the 1 witnesses the server names: witness.example.com"),
        "{status}"
    );

    browser.click("#proof-download").await;
    let file = wait_for_download(&browser.downloads(), "tlog-proof").await;
    browser.wait_for_text("#proof-status", "Downloaded").await;
    let policy_path = format!("/api/v1/checkpoints/policy?orgId={}", org.id);
    let policy_text = public(&server, &policy_path).await.text().await.unwrap();
    let policy = Policy::parse(&policy_text).unwrap();
    let proven = verify_record_proof(&file, &policy).expect("the downloaded file proves its record");
    assert_eq!(proven.checkpoint.witnesses(), ["witness.example.com"]);

    // The viewer's check refuses what is not the record's proof.
    let record = serde_json::to_value(&proven.record).unwrap();
    let key_path = format!("/api/v1/checkpoints/public-key?orgId={}", org.id);
    let vkey: Value = public(&server, &key_path).await.json().await.unwrap();
    let vkey = vkey["vkey"].as_str().unwrap();
    assert_eq!(
        viewer_check(&browser, &file, &record, vkey, &policy_text).await,
        "verified"
    );
    let mut changed = record.clone();
    changed["after"]["text"] = json!("forged");
    let mut proof = audit_core::tlog_proof::TlogProof::parse(&file).unwrap();
    proof.extra = Some(serde_json::to_vec(&changed).unwrap());
    let outcome = viewer_check(&browser, &proof.encode(), &changed, vkey, &policy_text).await;
    assert!(outcome.contains("modified"), "{outcome}");
    let mut proof = audit_core::tlog_proof::TlogProof::parse(&file).unwrap();
    if let Some(first) = proof.proof.first_mut() {
        first[0] ^= 1;
    } else {
        proof.proof.push([0; 32]);
    }
    let outcome = viewer_check(&browser, &proof.encode(), &record, vkey, &policy_text).await;
    assert!(
        outcome.contains("checkpoint's root") || outcome.contains("too long"),
        "{outcome}"
    );
    let other_vkey =
        audit_core::checkpoint::CheckpointSigner::from_seed(&format!("audit-log/{}", org.id), &[3; 32])
            .unwrap()
            .verifier()
            .vkey();
    let outcome = viewer_check(&browser, &file, &record, &other_vkey, &policy_text).await;
    assert!(outcome.contains("not signed by"), "{outcome}");

    assert_no_viewer_errors(&browser, "the record proof").await;
    browser.close().await;
    witness.stop().await.unwrap();
}
