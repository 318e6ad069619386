//! `audit-verify` against real exports: a trail recorded on a real server, exported as JSONL,
//! checked by the real binary with the server's signed checkpoint and public key, untouched and
//! after each kind of tampering; single records' tlog-proof files built from the server's
//! inclusion proofs, under policies whose witnesses the tests play themselves.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use audit_client::AuditClient;
use audit_core::AuditRecord;
use audit_core::checkpoint::{CheckpointSigner, CheckpointVerifier};
use audit_core::cosignature::Cosigner;
use audit_core::note::Note;
use audit_core::record_proof::record_tlog_proof;
use audit_core::{AuditEvent, Scope, decode_hash};
use audit_server::testing::TestServer;
use serde_json::Value;

/// An export of 10+ records, the checkpoint at seq 10 and the server's verifier key, as files.
struct Evidence {
    dir: tempfile::TempDir,
    lines: Vec<String>,
    note: String,
    vkey: String,
    secret: String,
    server: TestServer,
}

/// Records events `pr_<n>` for each `n` of `numbers` with `secret`'s key.
async fn record_events(server: &TestServer, secret: &str, numbers: std::ops::RangeInclusive<i64>) {
    for n in numbers {
        let mut event = AuditEvent::by_user("u_1", "prompt", format!("pr_{n}"), "update");
        event.after = Some(serde_json::json!({ "prompt": format!("version {n}") }));
        let response = server
            .http()
            .post(server.url("/api/v1/audit-logs"))
            .bearer_auth(secret)
            .json(&event)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
}

/// The whole trail as the JSONL export writes it, one line per record.
async fn export_lines(server: &TestServer, secret: &str) -> Vec<String> {
    let export = server
        .http()
        .get(server.url("/api/v1/audit-logs/export?format=jsonl"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    export.text().await.unwrap().lines().map(str::to_owned).collect()
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
        record_events(&server, &key.secret, 2..=10).await;
        let checkpoint = wait_for_checkpoint(&server, &key.secret, 10).await;
        let lines = export_lines(&server, &key.secret).await;
        let public_key: Value = server
            .http()
            .get(server.url("/api/v1/checkpoints/public-key"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(lines.len() >= 10, "{lines:?}");
        Evidence {
            dir: tempfile::tempdir().unwrap(),
            lines,
            note: checkpoint["note"].as_str().unwrap().to_owned(),
            vkey: public_key["vkey"].as_str().unwrap().to_owned(),
            secret: key.secret,
            server,
        }
    }

    fn client(&self) -> AuditClient {
        AuditClient::builder()
            .base_url(self.server.base_url())
            .api_key(self.secret.as_str())
            .build()
            .unwrap()
    }

    /// The checkpoint note at seq 10 with a cosignature by each of `witnesses`.
    fn cosigned_note(&self, witnesses: &[&Cosigner]) -> String {
        let mut note = Note::parse(&self.note).unwrap();
        for (n, witness) in witnesses.iter().enumerate() {
            let line = witness.cosign(&note.body, 1_800_000_000 + n as u64);
            note.add_signature(audit_core::note::NoteSignature::parse(&line).unwrap());
        }
        note.text()
    }

    /// The tlog-proof file of the record at `seq`, from the server's inclusion proof in the
    /// tree of the checkpoint at seq 10, the checkpoint cosigned by `witnesses`.
    async fn proof_file(&self, seq: usize, witnesses: &[&Cosigner]) -> String {
        let record = record(&self.lines[seq - 1]);
        let inclusion = self.client().inclusion_proof(record.id, Some(10)).await.unwrap();
        assert_eq!((inclusion.leaf_index, inclusion.tree_size), (seq as u64 - 1, 10));
        let hashes = inclusion
            .proof
            .iter()
            .map(|hash| decode_hash(hash).unwrap())
            .collect();
        record_tlog_proof(&record, hashes, &self.cosigned_note(witnesses)).encode()
    }

    /// A policy file: the server's log key named by the organization's origin, the witnesses
    /// `w1`, `w2`, ... of `witnesses`, then `rules` (group and quorum lines).
    fn policy(&self, witnesses: &[&Cosigner], rules: &str) -> PathBuf {
        let org_id = record(&self.lines[0]).org_id;
        let log = CheckpointVerifier::from_vkey(&self.vkey).unwrap();
        let log = log.for_origin(&format!("{}/{org_id}", log.name())).unwrap();
        let mut text = format!("# the audit log of organization {org_id}\nlog {}\n", log.vkey());
        for (n, witness) in witnesses.iter().enumerate() {
            text.push_str(&format!("witness w{} {}\n", n + 1, witness.verifier().vkey()));
        }
        self.write("audit.policy", &(text + rules))
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

/// `lines` with record seq 5 changed and it and every later record re-hashed: a chain that
/// holds on its own.
fn rewritten_from_seq_5(lines: &[String]) -> Vec<String> {
    let mut lines = lines.to_vec();
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
    lines
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
    let lines = rewritten_from_seq_5(&evidence.lines);
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
    assert_eq!(run(&["--proof", "p.tlog-proof"]).0, 2, "a proof needs a policy");
    assert_eq!(run(&["x.jsonl", "--old-checkpoint", "kept.txt"]).0, 2);
    assert_eq!(
        run(&["x.jsonl", "--policy", "a.policy", "--public-key", "k"]).0,
        2,
        "one source of trust"
    );
    assert_eq!(run(&["x.jsonl", "--policy", "/nonexistent/a.policy"]).0, 2);
}

fn witnesses() -> [Cosigner; 3] {
    [1u8, 2, 3].map(|n| Cosigner::from_seed(&format!("witness{n}.example"), &[40 + n; 32]).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_proof_verifies_on_its_own_under_a_policy() {
    let evidence = Evidence::collect().await;
    let [w1, w2, w3] = witnesses();
    let policy = evidence.policy(&[&w1, &w2, &w3], "group two 2 w1 w2 w3\nquorum two\n");
    let proof = evidence.write("4.tlog-proof", &evidence.proof_file(4, &[&w1, &w3]).await);
    let record4 = record(&evidence.lines[3]);
    let (code, output) = run(&[
        "--proof".as_ref(),
        proof.as_os_str(),
        "--policy".as_ref(),
        policy.as_os_str(),
    ]);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains(&format!("record seq 4 (id {})", record4.id)),
        "{output}"
    );
    assert!(output.contains("checkpoint of size 10"), "{output}");
    assert!(output.contains("cosigned by w1 ("), "{output}");
    assert!(output.contains(", w3 ("), "{output}");
    // Several proofs at once, the first and the last leaf among them.
    let first = evidence.write("1.tlog-proof", &evidence.proof_file(1, &[&w1, &w2]).await);
    let last = evidence.write("10.tlog-proof", &evidence.proof_file(10, &[&w2, &w3]).await);
    let (code, output) = run(&[
        "--proof".as_ref(),
        first.as_os_str(),
        "--proof".as_ref(),
        last.as_os_str(),
        "--policy".as_ref(),
        policy.as_os_str(),
    ]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(output.matches("VALID: ").count(), 2, "{output}");
    // The server's key alone (no witnesses required) proves it too.
    let vkey = evidence.write("server.vkey", &evidence.vkey);
    let (code, output) = run(&[
        "--proof".as_ref(),
        proof.as_os_str(),
        "--public-key".as_ref(),
        vkey.as_os_str(),
    ]);
    assert_eq!(code, 0, "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_or_unwitnessed_record_proof_is_refused() {
    let evidence = Evidence::collect().await;
    let [w1, w2, w3] = witnesses();
    let policy = evidence.policy(&[&w1, &w2, &w3], "group two 2 w1 w2 w3\nquorum two\n");
    let verify = |name: &str, text: &str| {
        let proof = evidence.write(name, text);
        run(&[
            "--proof".as_ref(),
            proof.as_os_str(),
            "--policy".as_ref(),
            policy.as_os_str(),
        ])
    };
    let genuine = evidence.proof_file(4, &[&w1, &w2]).await;
    let mut proof = audit_core::tlog_proof::TlogProof::parse(&genuine).unwrap();
    let mut changed: AuditRecord = serde_json::from_slice(proof.extra.as_deref().unwrap()).unwrap();
    changed.action = "delete".to_owned();
    proof.extra = Some(serde_json::to_vec(&changed).unwrap());
    assert_invalid(verify("tampered.tlog-proof", &proof.encode()), "was modified");
    // Re-hashed, the record no longer is the leaf the checkpoint covers.
    let prev = changed.prev_hash.clone();
    changed.seal(&prev);
    proof.extra = Some(serde_json::to_vec(&changed).unwrap());
    assert_invalid(
        verify("rehashed.tlog-proof", &proof.encode()),
        "does not lead to the tree's root",
    );
    assert_invalid(
        verify("cut.tlog-proof", &genuine[..genuine.len() / 2]),
        "malformed tlog-proof",
    );
    let one_witness = evidence.proof_file(4, &[&w1]).await;
    assert_invalid(
        verify("one.tlog-proof", &one_witness),
        "do not meet the policy's quorum two: cosigned only by w1",
    );
    // A witness the policy does not know counts for nothing.
    let stranger = Cosigner::from_seed("witness2.example", &[99; 32]).unwrap();
    let strangers = evidence.proof_file(4, &[&w1, &stranger]).await;
    assert_invalid(verify("stranger.tlog-proof", &strangers), "quorum two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_checkpoint_must_meet_the_policy_quorum() {
    let evidence = Evidence::collect().await;
    let [w1, w2, w3] = witnesses();
    let policy = evidence.policy(
        &[&w1, &w2, &w3],
        "group x any w1 w2\ngroup all-of all x w3\nquorum all-of\n",
    );
    let export = evidence.export(&evidence.lines);
    let verify = |note: &str| {
        let note = evidence.write("cosigned.txt", note);
        run(&[
            export.as_os_str(),
            "--checkpoint".as_ref(),
            note.as_os_str(),
            "--policy".as_ref(),
            policy.as_os_str(),
        ])
    };
    let (code, output) = verify(&evidence.cosigned_note(&[&w2, &w3]));
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("cosigned by w2 ("), "{output}");
    assert!(
        output.contains("agrees with the checkpoint at seq 10"),
        "{output}"
    );
    assert_invalid(
        verify(&evidence.cosigned_note(&[&w1, &w2])),
        "do not meet the policy's quorum all-of",
    );
    assert_invalid(verify(&evidence.note), "no witness of the policy cosigned it");

    // Beside a kept checkpoint that meets the quorum, the export is still checked against the
    // kept one; when it extends it, the newer checkpoint's failure is the verdict.
    let kept = evidence.write("kept.txt", &evidence.cosigned_note(&[&w2, &w3]));
    let unwitnessed = evidence.write("unwitnessed.txt", &evidence.note);
    let with_kept = |lines: &[String]| {
        let export = evidence.export(lines);
        run(&[
            export.as_os_str(),
            "--checkpoint".as_ref(),
            unwitnessed.as_os_str(),
            "--old-checkpoint".as_ref(),
            kept.as_os_str(),
            "--policy".as_ref(),
            policy.as_os_str(),
        ])
    };
    assert_invalid(
        with_kept(&evidence.lines),
        "unwitnessed.txt: the checkpoint's cosignatures do not meet",
    );
    assert_invalid(
        with_kept(&evidence.lines[..8]),
        "the trail was truncated or rolled back: it has 8 records but a checkpoint you kept covers 10",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_must_extend_the_checkpoint_kept_earlier() {
    let evidence = Evidence::collect().await;
    let kept = evidence.write("kept.txt", &evidence.note);
    let vkey = evidence.write("server.vkey", &evidence.vkey);
    let verify = |lines: &[String]| {
        let export = evidence.export(lines);
        run(&[
            export.as_os_str(),
            "--old-checkpoint".as_ref(),
            kept.as_os_str(),
            "--public-key".as_ref(),
            vkey.as_os_str(),
        ])
    };
    // The trail grew past the kept checkpoint: consistent.
    record_events(&evidence.server, &evidence.secret, 11..=13).await;
    let grown = export_lines(&evidence.server, &evidence.secret).await;
    assert!(grown.len() > evidence.lines.len());
    let (code, output) = verify(&grown);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("extends the checkpoint you kept (seq 10"),
        "{output}"
    );
    // Records deleted from the end.
    assert_invalid(
        verify(&grown[..8]),
        "the trail was truncated or rolled back: it has 8 records but a checkpoint you kept covers 10: \
         records were deleted",
    );
    // Rewritten from seq 5 on and re-hashed: the chain holds, the kept root does not.
    assert_invalid(
        verify(&rewritten_from_seq_5(&grown)),
        "the trail was rewritten: the root at size 10 differs from the checkpoint you kept, so a record \
         among the first 10 was modified",
    );
}
