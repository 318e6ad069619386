//! A record's tlog-proof file: downloaded from the server, it proves the record offline
//! against the witness-cosigned checkpoint it carries, under the policy the server publishes;
//! `tlog_tiles` (code we did not write) checks the same inclusion proof. A changed record, a
//! policy asking for a witness that did not cosign, another tenant and bad input are refused.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::time::Duration;

use audit_core::Scope;
use audit_core::cosignature::Cosigner;
use audit_core::merkle::record_leaf_hash;
use audit_core::policy::Policy;
use audit_core::record_proof::{RecordProofError, verify_record_proof};
use audit_core::tlog_proof::TlogProof;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use serde_json::Value;
use tlog_tiles::{Hash, check_record};

use crate::helpers::*;
use crate::on_both_backends;

/// A text answer: its status, media type and body.
struct TextAnswer {
    status: u16,
    content_type: String,
    disposition: String,
    body: String,
}

async fn get_text(server: &TestServer, path: &str, token: &str) -> TextAnswer {
    let response = server
        .http()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    TextAnswer {
        status: response.status().as_u16(),
        content_type: header(CONTENT_TYPE),
        disposition: header(CONTENT_DISPOSITION),
        body: response.text().await.expect("body"),
    }
}

/// The proof file of record `id`, asserting a 200 text answer offered as a download.
async fn proof_file(server: &TestServer, token: &str, id: &str) -> String {
    let answer = get_text(server, &format!("/api/v1/audit-logs/{id}/tlog-proof"), token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.content_type, "text/plain; charset=utf-8");
    assert!(
        answer.disposition.starts_with("attachment;"),
        "{}",
        answer.disposition
    );
    answer.body
}

async fn published_policy(server: &TestServer, tenant: &Tenant) -> Policy {
    let path = format!("/api/v1/checkpoints/policy?orgId={}", tenant.org.id);
    let answer = get_text(server, &path, "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    Policy::parse(&answer.body).unwrap_or_else(|error| panic!("{error}: {}", answer.body))
}

/// `tlog_tiles` checks the file's inclusion proof from the record's leaf to the root of the
/// checkpoint it carries.
fn assert_tlog_tiles_agrees(file: &str, record: &Value) {
    let proof = TlogProof::parse(file).unwrap();
    let body = proof.checkpoint_note.split_once("\n\n").unwrap().0;
    let lines: Vec<&str> = body.lines().collect();
    let size: u64 = lines[1].parse().unwrap();
    let root = audit_core::decode_hash(lines[2]).unwrap();
    let leaf = record_leaf_hash(record["hash"].as_str().unwrap()).unwrap();
    let hashes: Vec<Hash> = proof.proof.iter().map(|hash| Hash(*hash)).collect();
    check_record(&hashes, size, Hash(root), proof.index, Hash(leaf))
        .unwrap_or_else(|error| panic!("tlog_tiles refuses the proof of {record}: {error:?}"));
}

async fn a_downloaded_proof_proves_its_record_offline_under_the_published_policy(mut server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let witness = start_witness(&server, &dir, None).await;
    use_witness(&mut server, &witness).await;
    let tenant = Tenant::new(&server, "Acme").await;
    record_many(&server, tenant.secret(), 9).await;
    cosigned_checkpoint(&server, &tenant, 10).await;

    let policy = published_policy(&server, &tenant).await;
    assert_eq!(policy.witnesses().len(), 1);
    assert_eq!(policy.witnesses()[0].name, "witness.example.com");
    assert_eq!(policy.witnesses()[0].url.as_deref(), Some(witness.url().as_str()));
    assert!(policy.quorum().is_some(), "the policy demands the witness");

    let mut records = all_records(&server, tenant.secret(), "").await;
    records.sort_by_key(|record| record["seq"].as_i64().unwrap());
    assert_eq!(records.len(), 10);
    for record in &records {
        let file = proof_file(&server, tenant.secret(), record["id"].as_str().unwrap()).await;
        let proven = verify_record_proof(&file, &policy)
            .unwrap_or_else(|error| panic!("{error}: the proof of {record}"));
        assert_eq!(&serde_json::to_value(&proven.record).unwrap(), record);
        assert_eq!(proven.checkpoint.checkpoint.seq, 10);
        assert_eq!(proven.checkpoint.witnesses(), ["witness.example.com"]);
        assert_tlog_tiles_agrees(&file, record);
    }

    // A record changed in the file no longer proves anything.
    let file = proof_file(&server, tenant.secret(), records[3]["id"].as_str().unwrap()).await;
    let mut proof = TlogProof::parse(&file).unwrap();
    let mut changed = records[3].clone();
    changed["action"] = "delete".into();
    proof.extra = Some(serde_json::to_vec(&changed).unwrap());
    assert_eq!(
        verify_record_proof(&proof.encode(), &policy).unwrap_err(),
        RecordProofError::Modified
    );
    // An auditor who demands a witness that never saw the checkpoint is not satisfied.
    let stranger = Cosigner::from_seed("stranger.example.com", &[9; 32]).unwrap();
    let log = &policy.logs()[0].verifier;
    let strict = Policy::parse(&format!(
        "log {}\nwitness stranger {}\nquorum stranger\n",
        log.vkey(),
        stranger.verifier().vkey()
    ))
    .unwrap();
    assert!(verify_record_proof(&file, &strict).is_err());
    witness.stop().await.unwrap();
}

async fn a_proof_waits_for_a_checkpoint_and_keeps_tenants_apart(mut server: TestServer) {
    server
        .reconfigure(|config| {
            config.checkpoint_every_records = 1_000_000;
            config.checkpoint_interval_secs = 3600;
        })
        .await;
    let acme = Tenant::new(&server, "Acme").await;
    let globex = Tenant::new(&server, "Globex").await;
    let stored = record(&server, acme.secret(), &event("prompt", "pr_1", "update")).await;
    let id = stored["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/audit-logs/{id}/tlog-proof");
    get(&server, &path, acme.secret()).await.problem(409, None);

    get(&server, &path, globex.secret()).await.problem(404, None);
    get(&server, &path, "ak_unknown").await.problem(401, None);
    let no_scope = server.create_key(acme.org.id, &[Scope::AuditLogsWrite]).await;
    get(&server, &path, &no_scope.secret).await.problem(403, None);
    let other_project = server
        .create_project_key(acme.org.id, &[Scope::AuditLogsRead], Some("p_other"))
        .await;
    get(&server, &path, &other_project.secret)
        .await
        .problem(404, None);
    get(&server, &format!("{path}?treeSize=1"), acme.secret())
        .await
        .problem(400, Some("treeSize"));
    get(&server, "/api/v1/audit-logs/not-a-uuid/tlog-proof", acme.secret())
        .await
        .problem(400, Some("id"));
    get(&server, "/api/v1/checkpoints/policy", "")
        .await
        .problem(400, Some("orgId"));
    get(&server, "/api/v1/checkpoints/policy?orgId=x", "")
        .await
        .problem(400, Some("orgId"));

    // Once signed, the checkpoint proves the record; without witnesses the policy needs none.
    server
        .reconfigure(|config| config.checkpoint_interval_secs = 1)
        .await;
    let mut file = None;
    for _ in 0..300 {
        let answer = get_text(&server, &path, acme.secret()).await;
        if answer.status == 200 {
            file = Some(answer.body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let file = file.expect("a proof within 60 s of the checkpointer running");
    let policy = published_policy(&server, &acme).await;
    assert!(policy.quorum().is_none() && policy.witnesses().is_empty());
    let proven = verify_record_proof(&file, &policy).unwrap();
    assert_eq!(proven.record.id.to_string(), id);
    // Globex's policy names Globex's origin: it does not prove Acme's record.
    let globex_policy = published_policy(&server, &globex).await;
    assert!(verify_record_proof(&file, &globex_policy).is_err());
}

on_both_backends!(
    a_downloaded_proof_proves_its_record_offline_under_the_published_policy,
    a_proof_waits_for_a_checkpoint_and_keeps_tenants_apart,
);
