//! Tampering by the database owner, caught by parties outside the server: a record modified
//! in place, the newest records deleted, an older backup restored, and the whole trail
//! rewritten and re-signed with the server's own key. Each verifies on its own (the chain and
//! tree are re-sealed, the checkpoints signed by the server); the witness that cosigned the
//! earlier history refuses the next checkpoint, saying what happened, and `audit-verify`
//! (the real binary) finds the same with the cosigned checkpoint an auditor kept.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use audit_server::witness::Witness;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::on_both_backends;
use crate::owner;

/// A trail cosigned by a witness, and what its auditor kept.
struct Scene {
    server: TestServer,
    witness: Witness,
    tenant: Tenant,
    /// The newest cosigned checkpoint (`GET /api/v1/checkpoints/latest`) the auditor kept.
    kept: Value,
    dir: tempfile::TempDir,
}

/// `count` events `<label>_<n>`.
fn events(label: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| event("prompt", &format!("{label}_{n}"), "update"))
        .collect()
}

impl Scene {
    /// A server using a witness, a trail with `count` events recorded in one batch, and its
    /// checkpoint once cosigned.
    async fn new(mut server: TestServer, count: usize) -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let witness = start_witness(&server, &dir, None).await;
        use_witness(&mut server, &witness).await;
        let tenant = Tenant::new(&server, "Acme").await;
        let mut scene = Scene {
            server,
            witness,
            tenant,
            kept: Value::Null,
            dir,
        };
        scene.record(&events("pr", count)).await;
        scene.keep_cosigned().await;
        // The untouched trail satisfies the auditor's policy and extends what they kept. Each
        // export is recorded (a `batchExport` event): the auditor keeps the checkpoint that
        // covers it too.
        for newest in [false, true] {
            let (code, output, _) = scene.audit_verify(newest).await;
            assert_eq!(code, 0, "{output}");
            scene.keep_cosigned().await;
        }
        scene
    }

    fn org_id(&self) -> uuid::Uuid {
        self.tenant.org.id
    }

    /// The head's `seq`.
    async fn size(&self) -> i64 {
        verify(&self.server, self.tenant.secret()).await["headSeq"]
            .as_i64()
            .unwrap()
    }

    fn kept_size(&self) -> i64 {
        self.kept["seq"].as_i64().unwrap()
    }

    async fn record(&self, events: &[Value]) {
        record_batch(&self.server, self.tenant.secret(), events).await;
    }

    /// Waits for the checkpoint of the whole trail to be cosigned and keeps it.
    async fn keep_cosigned(&mut self) {
        let size = self.size().await;
        self.kept = cosigned_checkpoint(&self.server, &self.tenant, size).await;
    }

    /// Stops the server, lets `tamper` work on its database as its owner, and restarts it.
    async fn while_stopped(&self, tamper: impl AsyncFnOnce(&TestServer)) {
        self.server.stop().await;
        tamper(&self.server).await;
        self.server.restart().await;
    }

    /// As the database owner, takes the trail back to its record `keep` (the server stopped),
    /// then has the server append `events` after it: a history re-sealed and re-signed from
    /// `keep` on.
    async fn rewrite_after(&self, keep: i64, events: &[Value]) {
        let org_id = self.org_id();
        self.while_stopped(async |server| owner::rewind(server, org_id, keep).await)
            .await;
        self.record(events).await;
        assert_eq!(self.size().await, keep + events.len() as i64);
    }

    /// Asserts that the witness refuses the checkpoint of the whole (tampered) trail with
    /// `status`, in words containing `words`, and still holds the checkpoint kept.
    async fn assert_witness_refuses(&self, status: u16, words: &str) {
        let seq = self.size().await;
        let about = format!("checkpoint {seq} of organization {}: ", self.org_id());
        let mut standing = Value::Null;
        for _ in 0..600 {
            standing = get(&self.server, "/ready", "").await.body["witnesses"][0].clone();
            if standing["lastError"]
                .as_str()
                .is_some_and(|error| error.starts_with(&about))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let error = standing["lastError"].as_str().unwrap_or_default();
        assert!(
            error.starts_with(&about),
            "no refusal of {seq} within a minute: {standing}"
        );
        assert!(error.contains(&format!("refused with {status}")), "{error}");
        assert!(error.contains(words), "expected {words:?} in: {error}");
        let refused = "audit_witness_submissions_total{witness=\"witness.example.com\",outcome=\"refused\"}";
        let metrics = metrics_text(&self.server).await;
        let count = metrics
            .lines()
            .find_map(|line| line.strip_prefix(refused))
            .and_then(|count| count.trim().parse::<u64>().ok());
        assert!(count >= Some(1), "{metrics}");
        assert_eq!(unwitnessed(&metrics), Some(1), "{metrics}");
        let latest = get(&self.server, "/api/v1/checkpoints/latest", self.tenant.secret()).await;
        assert_eq!(latest.ok(200)["seq"], seq);
        assert_eq!(latest.body["cosignatures"], Value::Array(Vec::new()));

        // The witness still holds the checkpoint it cosigned before.
        let origin = format!("audit-log/{}", self.org_id());
        let path = format!(
            "{}/{}/checkpoint",
            self.witness.url(),
            hex::encode(Sha256::digest(origin))
        );
        let held = reqwest::get(path).await.unwrap().text().await.unwrap();
        let body = |note: &str| note.lines().take(3).collect::<Vec<_>>().join("\n");
        assert_eq!(body(&held), body(self.kept["note"].as_str().unwrap()));
    }

    /// Runs `audit-verify` on the server's export under the auditor's policy (the log's key
    /// and the witness's, quorum the witness) with the kept checkpoint, and with the server's
    /// newest one when `newest`: its exit code, its output and the records exported (the
    /// export records itself first, as a `batchExport` event).
    async fn audit_verify(&self, newest: bool) -> (i32, String, usize) {
        // The newest checkpoint is read before the export records itself, so that it is not
        // already the one covering that record (signed, perhaps not yet cosigned).
        let latest = get(&self.server, "/api/v1/checkpoints/latest", self.tenant.secret()).await;
        let latest = latest.ok(200)["note"].as_str().unwrap().to_owned();
        let export = self
            .server
            .http()
            .get(self.server.url("/api/v1/audit-logs/export?format=jsonl"))
            .bearer_auth(self.tenant.secret())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let key_path = format!("/api/v1/checkpoints/public-key?orgId={}", self.org_id());
        let log_key = get(&self.server, &key_path, "").await.ok(200)["vkey"].clone();
        let policy = format!(
            "log {}\nwitness w1 {}\nquorum w1\n",
            log_key.as_str().unwrap(),
            self.witness.vkey()
        );
        let write = |name: &str, text: &str| {
            let path = self.dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let mut args = vec![
            write("trail.jsonl", &export),
            "--policy".into(),
            write("audit.policy", &policy),
            "--old-checkpoint".into(),
            write("kept.txt", self.kept["note"].as_str().unwrap()),
            "--quiet".into(),
        ];
        if newest {
            args.push("--checkpoint".into());
            args.push(write("latest.txt", &latest));
        }
        let binary = audit_verify_binary().await;
        let output = tokio::process::Command::new(binary)
            .args(args)
            .output()
            .await
            .expect("audit-verify runs");
        let text =
            String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        (output.status.code().unwrap_or(-1), text, export.lines().count())
    }

    /// Asserts that `audit-verify` finds the trail invalid, its finding starting with
    /// `finding` (of the number of records exported), with the kept checkpoint alone and beside
    /// the server's newest (which the witness refused).
    async fn assert_audit_verify_finds(&self, finding: impl Fn(usize) -> String) {
        for newest in [false, true] {
            let (code, output, exported) = self.audit_verify(newest).await;
            let expected = format!("INVALID: {}", finding(exported));
            assert_eq!(code, 1, "{output}");
            assert!(
                output.starts_with(&expected),
                "expected {expected:?} in: {output}"
            );
            if newest {
                assert!(output.contains("quorum w1"), "{output}");
            }
        }
    }

    /// Asserts what a trail that lost records since the kept checkpoint shows: the witness's
    /// 409 and `audit-verify`'s finding, both naming a truncation or rollback.
    async fn assert_rolled_back(&self) {
        let (kept, now) = (self.kept_size(), self.size().await);
        let witness_says = format!(
            "the log was truncated or rolled back: the witness has cosigned size {kept}, this \
             checkpoint has {now}"
        );
        self.assert_witness_refuses(409, &witness_says).await;
        self.assert_audit_verify_finds(|exported| {
            format!(
                "removed at seq {}: the trail was truncated or rolled back: it has {exported} \
                 records but a checkpoint you kept covers {kept}",
                exported + 1
            )
        })
        .await;
    }

    async fn finish(self) {
        self.witness.stop().await.unwrap();
    }
}

/// The `audit-verify` binary of this workspace, built once per test run (it belongs to
/// `audit-client`, whose binaries Cargo does not build for this crate's tests);
/// `AUDIT_VERIFY_BIN` names a prebuilt one instead.
async fn audit_verify_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    if let Some(binary) = BINARY.get() {
        return binary.clone();
    }
    let built = tokio::task::spawn_blocking(|| {
        BINARY
            .get_or_init(|| match std::env::var_os("AUDIT_VERIFY_BIN") {
                Some(binary) => binary.into(),
                None => build_audit_verify(),
            })
            .clone()
    });
    built.await.unwrap()
}

fn build_audit_verify() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args([
            "build",
            "--package=audit-client",
            "--features=cli",
            "--bin=audit-verify",
            "--message-format=json",
        ])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "building audit-verify failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the audit-verify executable")
}

/// (a) Record 5 changed and the chain and tree re-sealed from it on: it and the records after
/// it appended again through the API (with two more), so the server signs the new history.
async fn a_record_modified_in_place_is_refused_and_found(server: TestServer) {
    let scene = Scene::new(server, 10).await;
    let size = scene.kept_size();
    // As many records as were taken away come back, the first (seq 5) forged.
    let mut again = events("pr", size as usize - 4 + 2);
    again[0] = event("prompt", "pr_forged", "update");
    scene.rewrite_after(4, &again).await;
    scene
        .assert_witness_refuses(422, "the log was rewritten: the checkpoint of size")
        .await;
    scene
        .assert_audit_verify_finds(|_| {
            format!(
                "modified: the trail was rewritten: the root at size {size} differs from the \
                 checkpoint you kept, so a record among the first {size} was modified"
            )
        })
        .await;
    scene.finish().await;
}

/// (b) The newest 10 records deleted (the triggers off) and the head rewound; 3 new ones.
async fn the_newest_records_deleted_are_refused_and_found(server: TestServer) {
    let scene = Scene::new(server, 20).await;
    let size = scene.kept_size();
    scene.rewrite_after(size - 10, &events("after", 3)).await;
    scene.assert_rolled_back().await;
    scene.finish().await;
}

/// (c) A backup taken, the trail grown and cosigned, then the backup restored; 2 new records.
async fn an_older_backup_restored_is_refused_and_found(server: TestServer) {
    let mut scene = Scene::new(server, 5).await;
    let backed_up = scene.kept_size();
    scene.server.stop().await;
    let backup = owner::back_up(&scene.server).await;
    scene.server.restart().await;
    scene.record(&events("later", 5)).await;
    scene.keep_cosigned().await;
    scene.while_stopped(async |_| owner::restore(backup).await).await;
    scene.record(&events("after", 2)).await;
    assert_eq!(scene.size().await, backed_up + 2);
    scene.assert_rolled_back().await;
    scene.finish().await;
}

/// (d) Everything of the organization deleted and other events recorded in its place, two
/// more than before: a new history, chained, tree-built and signed by the server's own key.
async fn a_trail_rewritten_and_re_signed_is_refused_and_found(server: TestServer) {
    let scene = Scene::new(server, 10).await;
    let size = scene.kept_size();
    scene.rewrite_after(0, &events("forged", size as usize + 2)).await;
    assert_eq!(verify(&scene.server, scene.tenant.secret()).await["valid"], true);
    scene
        .assert_witness_refuses(
            422,
            &format!("is not consistent with the size {size} cosigned at"),
        )
        .await;
    scene
        .assert_audit_verify_finds(|_| {
            format!("modified: the trail was rewritten: the root at size {size} differs")
        })
        .await;
    scene.finish().await;
}

on_both_backends!(
    a_record_modified_in_place_is_refused_and_found,
    the_newest_records_deleted_are_refused_and_found,
    an_older_backup_restored_is_refused_and_found,
    a_trail_rewritten_and_re_signed_is_refused_and_found,
);
