//! A log that signs checkpoints of an in-memory Merkle tree, and a witness on a fresh state
//! file that witnesses it.

use audit_core::checkpoint::{Checkpoint, CheckpointSigner, CheckpointVerifier};
use audit_core::merkle::{Tree, leaf_hash};
use audit_core::witness_protocol::{ADD_CHECKPOINT_PATH, AddCheckpoint};
use audit_server::witness::{Witness, WitnessConfig};
use uuid::Uuid;

/// The witness's key name in every test.
pub const WITNESS_NAME: &str = "witness.example.com";

/// One organization's log: its signing key and every leaf it ever appended.
pub struct TestLog {
    pub signer: CheckpointSigner,
    pub org_id: Uuid,
    pub tree: Tree,
}

impl TestLog {
    /// A log of 20 leaves signed by the key of `seed`, for a fresh organization.
    pub fn new(seed: u8) -> Self {
        let mut tree = Tree::new();
        for leaf in 0..20u32 {
            tree.push(leaf_hash(&leaf.to_be_bytes()));
        }
        TestLog {
            signer: CheckpointSigner::from_seed("audit-log", &[seed; 32]).unwrap(),
            org_id: Uuid::now_v7(),
            tree,
        }
    }

    /// `audit-log/<orgId>`.
    pub fn origin(&self) -> String {
        format!("audit-log/{}", self.org_id)
    }

    /// The verifier of every `audit-log/<orgId>` this key signs.
    pub fn verifier(&self) -> CheckpointVerifier {
        self.signer.verifier()
    }

    /// The signed checkpoint of the tree's first `size` leaves.
    pub fn checkpoint(&self, size: u64) -> String {
        self.checkpoint_with_root(size, &self.tree.root_at(size).unwrap())
    }

    /// A signed checkpoint of `size` leaves stating `root`, right or not.
    pub fn checkpoint_with_root(&self, size: u64, root: &[u8; 32]) -> String {
        let time = audit_core::timestamp::now();
        let checkpoint =
            Checkpoint::new("audit-log", self.org_id, size as i64, &"ab".repeat(32), time).with_root(root);
        self.signer.sign(&checkpoint).note
    }

    /// The add-checkpoint body from `old_size` to the checkpoint of `size`, with its proof.
    pub fn request(&self, old_size: u64, size: u64) -> String {
        let proof = match old_size {
            0 => Vec::new(),
            _ => self.tree.consistency_proof(old_size, size),
        };
        request(old_size, proof, self.checkpoint(size))
    }
}

/// An add-checkpoint body.
pub fn request(old_size: u64, proof: Vec<[u8; 32]>, checkpoint: String) -> String {
    AddCheckpoint {
        old_size,
        proof,
        checkpoint,
    }
    .encode()
}

/// A witness of `logs` with its state in a fresh directory (kept while the value lives).
pub struct TestWitness {
    pub witness: Witness,
    pub dir: tempfile::TempDir,
    pub logs: Vec<CheckpointVerifier>,
}

impl TestWitness {
    /// A witness that has cosigned nothing yet.
    pub async fn start(logs: Vec<CheckpointVerifier>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let witness = Witness::start(config(&dir, logs.clone())).await.unwrap();
        TestWitness { witness, dir, logs }
    }

    /// Stops the witness and starts it again on the same state file and key.
    pub async fn restart(self) -> Self {
        self.witness.stop().await.unwrap();
        let witness = Witness::start(config(&self.dir, self.logs.clone()))
            .await
            .unwrap();
        TestWitness { witness, ..self }
    }

    /// Submits `body` and checks that the answer is `status` with a message holding `words`.
    pub async fn refuses(&self, body: &str, status: u16, words: &str) {
        let answer = self.submit(body).await;
        assert!(
            answer.expect(status).contains(words),
            "expected {words:?}: {answer:?}"
        );
    }

    /// Submits `body` to add-checkpoint.
    pub async fn submit(&self, body: &str) -> Answer {
        let response = reqwest::Client::new()
            .post(format!("{}{ADD_CHECKPOINT_PATH}", self.witness.url()))
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Answer {
            status,
            content_type,
            body: response.text().await.unwrap(),
        }
    }
}

fn config(dir: &tempfile::TempDir, logs: Vec<CheckpointVerifier>) -> WitnessConfig {
    WitnessConfig::new(WITNESS_NAME, [9; 32], dir.path().join("witness.json"), logs)
}

/// What the witness answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    /// The body, after checking the status.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &str {
        assert_eq!(self.status, status, "answer: {self:?}");
        &self.body
    }
}
