//! `audit-verify` against real exports: a trail recorded on a real server, exported as JSONL,
//! checked by the real binary with the server's signed checkpoint and public key, untouched and
//! after each kind of tampering.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use audit_core::AuditRecord;
use audit_core::checkpoint::{CheckpointSigner, CheckpointVerifier};
use audit_core::{AuditEvent, Scope};
use audit_server::testing::TestServer;
use serde_json::Value;

/// An export of 10+ records, the checkpoint at seq 10 and the server's verifier key, as files.
struct Evidence {
    dir: tempfile::TempDir,
    lines: Vec<String>,
    note: String,
    vkey: String,
    _server: TestServer,
}

impl Evidence {
    async fn collect() -> Evidence {
        let mut server = TestServer::start_sqlite().await;
        server
            .reconfigure(|config| {
                config.checkpoint_every_records = 10;
                config.checkpoint_interval_secs = 3600;
            })
            .await;
        let org = server.create_org("Acme").await;
        let key = server.create_key(org.id, &Scope::ALL).await; // seq 1
        for n in 2..=10 {
            let mut event = AuditEvent::by_user("u_1", "prompt", format!("pr_{n}"), "update");
            event.after = Some(serde_json::json!({ "prompt": format!("version {n}") }));
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
        let checkpoint = wait_for_checkpoint(&server, &key.secret, 10).await;
        let export = server
            .http()
            .get(server.url("/api/v1/audit-logs/export?format=jsonl"))
            .bearer_auth(&key.secret)
            .send()
            .await
            .unwrap();
        assert_eq!(export.status(), 200);
        let text = export.text().await.unwrap();
        let public_key: Value = server
            .http()
            .get(server.url("/api/v1/checkpoints/public-key"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        assert!(lines.len() >= 10, "{text}");
        Evidence {
            dir: tempfile::tempdir().unwrap(),
            lines,
            note: checkpoint["note"].as_str().unwrap().to_owned(),
            vkey: public_key["vkey"].as_str().unwrap().to_owned(),
            _server: server,
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn export(&self, lines: &[String]) -> PathBuf {
        self.write("export.jsonl", &(lines.join("\n") + "\n"))
    }

    /// Runs the binary on `lines` with the checkpoint and key; returns exit code and stdout.
    fn verify(&self, lines: &[String]) -> (i32, String) {
        let export = self.export(lines);
        let note = self.write("checkpoint.txt", &self.note);
        let vkey = self.write("server.vkey", &self.vkey);
        run(&[
            export.as_path(),
            Path::new("--checkpoint"),
            note.as_path(),
            Path::new("--public-key"),
            vkey.as_path(),
        ])
    }
}

async fn wait_for_checkpoint(server: &TestServer, secret: &str, seq: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = server
            .http()
            .get(server.url("/api/v1/checkpoints/latest"))
            .bearer_auth(secret)
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            if body["seq"].as_i64() >= Some(seq) {
                return body;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint at seq {seq} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_audit-verify"))
        .args(args)
        .output()
        .expect("audit-verify runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), format!("{stdout}{stderr}"))
}

fn record(line: &str) -> AuditRecord {
    serde_json::from_str(line).unwrap()
}

fn line(record: &AuditRecord) -> String {
    serde_json::to_string(record).unwrap()
}

#[track_caller]
fn assert_invalid(outcome: (i32, String), expected: &str) {
    assert_eq!(outcome.0, 1, "{}", outcome.1);
    assert!(
        outcome.1.contains(expected),
        "expected `{expected}` in: {}",
        outcome.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_export_is_accepted() {
    let evidence = Evidence::collect().await;
    let (code, output) = evidence.verify(&evidence.lines);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("VALID"), "{output}");
    assert!(
        output.contains("agrees with the checkpoint at seq 10"),
        "{output}"
    );
    // The checkpoint states the Merkle root, recomputed from the export's first 10 records.
    assert!(output.contains("Merkle root of 10 leaves matches"), "{output}");
    // Without a checkpoint the chain alone is checked.
    let export = evidence.export(&evidence.lines);
    let (code, output) = run(&[export]);
    assert_eq!(code, 0, "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modified_record_is_named() {
    let evidence = Evidence::collect().await;
    let mut lines = evidence.lines.clone();
    let mut changed = record(&lines[4]);
    changed.after = Some(serde_json::json!({ "prompt": "something else" }));
    lines[4] = line(&changed);
    assert_invalid(evidence.verify(&lines), "modified at seq 5 (line 5)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_and_rehashed_chain_contradicts_the_checkpoint() {
    let evidence = Evidence::collect().await;
    let mut lines = evidence.lines.clone();
    let mut prev_hash = record(&lines[3]).hash;
    for slot in lines.iter_mut().skip(4) {
        let mut rewritten = record(slot);
        if rewritten.seq == 5 {
            rewritten.resource_id = "pr_forged".to_owned();
        }
        rewritten.seal(&prev_hash);
        prev_hash = rewritten.hash.clone();
        *slot = line(&rewritten);
    }
    // The chain alone cannot tell; the signed checkpoint can.
    let export = evidence.export(&lines);
    assert_eq!(run(&[export]).0, 0);
    assert_invalid(evidence.verify(&lines), "modified at seq 10 (line 10)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_record_is_named() {
    let evidence = Evidence::collect().await;
    let mut lines = evidence.lines.clone();
    lines.remove(3);
    assert_invalid(evidence.verify(&lines), "removed at seq 4 (line 4)");
    // Removing the tail is caught by the checkpoint.
    let head: Vec<String> = evidence.lines[..8].to_vec();
    assert_invalid(evidence.verify(&head), "removed at seq 9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inserted_record_is_named() {
    let evidence = Evidence::collect().await;
    let mut lines = evidence.lines.clone();
    let mut forged = record(&lines[5]);
    forged.id = uuid::Uuid::now_v7();
    forged.resource_id = "pr_forged".to_owned();
    forged.seal(&record(&lines[4]).hash);
    lines.insert(5, line(&forged));
    assert_invalid(evidence.verify(&lines), "inserted at seq 6 (line 7)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reordered_record_is_named() {
    let evidence = Evidence::collect().await;
    let mut lines = evidence.lines.clone();
    lines.swap(2, 3);
    assert_invalid(evidence.verify(&lines), "reordered at seq 3 (line 4)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_signed_by_another_key_is_rejected() {
    let evidence = Evidence::collect().await;
    let genuine = CheckpointVerifier::from_vkey(&evidence.vkey).unwrap();
    let statement = genuine.verify(&evidence.note).unwrap();
    let impostor = CheckpointSigner::from_seed("audit-log", &[9; 32]).unwrap();
    let forged = impostor.sign(&statement).note;
    let export = evidence.export(&evidence.lines);
    let note = evidence.write("forged.txt", &forged);
    let outcome = run(&[
        export.as_os_str(),
        "--checkpoint".as_ref(),
        note.as_os_str(),
        "--public-key".as_ref(),
        evidence.vkey.as_ref(),
    ]);
    assert_invalid(outcome, "no signature by key audit-log/");
    // And the impostor's own key does not make the genuine note pass.
    let outcome = run(&[
        export.as_os_str(),
        "--checkpoint".as_ref(),
        evidence.write("genuine.txt", &evidence.note).as_os_str(),
        "--public-key".as_ref(),
        impostor.verifier().vkey().as_ref(),
    ]);
    assert_invalid(outcome, "no signature by key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_starting_after_a_purge_needs_an_anchor() {
    let evidence = Evidence::collect().await;
    let retained: Vec<String> = evidence.lines[3..].to_vec();
    let first = record(&retained[0]);
    let export = evidence.export(&retained);
    assert_invalid(run(&[&export]), "removed at seq 1");
    let anchor = format!("{}:{}", first.seq, first.prev_hash);
    let (code, output) = run(&[export.as_os_str(), "--anchor".as_ref(), anchor.as_ref()]);
    assert_eq!(code, 0, "{output}");
    let wrong = format!("{}:{}", first.seq, "0".repeat(64));
    assert_invalid(
        run(&[export.as_os_str(), "--anchor".as_ref(), wrong.as_ref()]),
        "modified at seq 4",
    );
    // The checkpoint at seq 10 covers the start through the chain.
    let (code, output) = evidence.verify(&retained);
    assert_eq!(code, 0, "{output}");
}

#[test]
fn usage_errors_exit_with_2() {
    assert_eq!(run(&["/nonexistent/export.jsonl"]).0, 2);
    assert_eq!(run(&["x.jsonl", "--anchor", "nonsense"]).0, 2);
    assert_eq!(
        run(&["x.jsonl", "--checkpoint", "note.txt"]).0,
        2,
        "a checkpoint needs a key"
    );
    assert_eq!(run(&["x.jsonl", "--public-key", "not-a-key"]).0, 2);
}
