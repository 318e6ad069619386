//! The transparency log: every record's inclusion proof and every consistency proof verifies
//! with code we did not write (Cloudflare's `tlog_tiles`, `signed_note`) as well as with ours,
//! against the Merkle root of a signed tlog-checkpoint; proofs survive a purge and a rebuild of
//! the tree from the records; tenants are kept apart and bad input is refused.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::time::Duration;

use audit_core::merkle::record_leaf_hash;
use audit_core::{ConsistencyProof, InclusionProof, Scope, decode_hash};
use audit_server::store::migration::Migrator;
use sea_orm::Database;
use sea_orm_migration::MigratorTrait;
use serde_json::{Value, json};
use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash, check_record, check_tree};

use crate::helpers::*;
use crate::on_both_backends;

/// How many migrations lead from the one that builds the trees to the newest: undone and run
/// again, they rebuild every tree from the stored records.
fn migrations_since_trees() -> u32 {
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let trees = names
        .iter()
        .position(|name| name.ends_with("_add_merkle_trees"))
        .expect("the migration that builds the trees");
    (names.len() - trees) as u32
}

fn tlog_hash(base64: &str) -> Hash {
    Hash(decode_hash(base64).expect("a base64 32-byte hash"))
}

fn tlog_hashes(items: &[String]) -> Vec<Hash> {
    items.iter().map(|item| tlog_hash(item)).collect()
}

pub(crate) async fn inclusion(
    server: &TestServer,
    token: &str,
    id: &str,
    tree_size: Option<u64>,
) -> InclusionProof {
    let query = tree_size
        .map(|size| format!("?treeSize={size}"))
        .unwrap_or_default();
    let answer = get(
        server,
        &format!("/api/v1/audit-logs/{id}/inclusion-proof{query}"),
        token,
    )
    .await;
    serde_json::from_value(answer.ok(200).clone()).unwrap()
}

async fn consistency(server: &TestServer, token: &str, old_size: u64, new_size: u64) -> ConsistencyProof {
    let path = format!("/api/v1/audit-logs/consistency-proof?oldSize={old_size}&newSize={new_size}");
    serde_json::from_value(get(server, &path, token).await.ok(200).clone()).unwrap()
}

/// Checks `proof` with `tlog_tiles` and with ours, and that its leaf is `record`'s.
pub(crate) fn assert_included(proof: &InclusionProof, record: &Value) {
    assert_eq!(proof.seq, record["seq"].as_i64().unwrap());
    let leaf = record_leaf_hash(record["hash"].as_str().unwrap()).unwrap();
    assert_eq!(
        decode_hash(&proof.leaf_hash),
        Some(leaf),
        "the leaf is the record's chain hash"
    );
    check_record(
        &tlog_hashes(&proof.proof),
        proof.tree_size,
        tlog_hash(&proof.root_hash),
        proof.leaf_index,
        Hash(leaf),
    )
    .unwrap_or_else(|error| panic!("tlog_tiles refuses {proof:?}: {error:?}"));
    proof.verify().unwrap();
}

fn assert_consistent(proof: &ConsistencyProof) {
    check_tree(
        &tlog_hashes(&proof.proof),
        proof.new_size,
        tlog_hash(&proof.new_root_hash),
        proof.old_size,
        tlog_hash(&proof.old_root_hash),
    )
    .unwrap_or_else(|error| panic!("tlog_tiles refuses {proof:?}: {error:?}"));
    proof.verify().unwrap();
}

/// Records oldest first.
pub(crate) async fn records_oldest_first(server: &TestServer, token: &str) -> Vec<Value> {
    let mut records = all_records(server, token, "").await;
    records.sort_by_key(|record| record["seq"].as_i64().unwrap());
    records
}

async fn every_record_is_proved_against_a_signed_tlog_checkpoint(mut server: TestServer) {
    server
        .reconfigure(|config| {
            config.checkpoint_every_records = 1_000_000;
            config.checkpoint_interval_secs = 1;
        })
        .await;
    let tenant = Tenant::new(&server, "Acme").await;
    // One batch, then single events: the tree grows by appends of every size.
    record_many(&server, tenant.secret(), 25).await;
    for n in 0..15 {
        record(
            &server,
            tenant.secret(),
            &event("prompt", &format!("pr_single_{n}"), "update"),
        )
        .await;
    }
    let records = records_oldest_first(&server, tenant.secret()).await;
    let size = records.len() as u64;
    assert_eq!(size, 41, "the key's creation and 40 events");

    // The checkpoint of the whole trail: its third line is the Merkle root, as tlog_tiles reads
    // it, and its signature verifies with signed_note under the served key.
    let checkpoint = wait_for_checkpoint(&server, &tenant, size).await;
    let note_text = checkpoint["note"].as_str().unwrap();
    let key_path = format!("/api/v1/checkpoints/public-key?orgId={}", tenant.org.id);
    let key = get(&server, &key_path, tenant.secret()).await;
    let verifier = StandardVerifier::new(key.ok(200)["vkey"].as_str().unwrap()).unwrap();
    let note = Note::from_bytes(note_text.as_bytes()).unwrap();
    let (verified, _) = note.verify(&VerifierList::new(vec![Box::new(verifier)])).unwrap();
    assert_eq!(verified.len(), 1);
    let parsed = Checkpoint::from_bytes(note.text()).unwrap();
    assert_eq!(parsed.origin(), format!("audit-log/{}", tenant.org.id));
    assert_eq!(parsed.size(), size);
    assert_eq!(checkpoint["rootHash"], json!(tlog_base64(parsed.hash())));

    // Every record, against that checkpoint's size and root, and against smaller trees.
    for record in &records {
        let id = record["id"].as_str().unwrap();
        let proof = inclusion(&server, tenant.secret(), id, Some(size)).await;
        assert_eq!(proof.root_hash, checkpoint["rootHash"].as_str().unwrap());
        assert_included(&proof, record);
        let seq = proof.seq as u64;
        assert_included(&inclusion(&server, tenant.secret(), id, Some(seq)).await, record);
    }
    // A changed leaf or root is refused by both verifiers.
    let mut forged = inclusion(&server, tenant.secret(), records[7]["id"].as_str().unwrap(), None).await;
    forged.leaf_hash = records[8]["hash"]
        .as_str()
        .map(|hash| tlog_base64(&Hash(record_leaf_hash(hash).unwrap())))
        .unwrap();
    assert!(forged.verify().is_err());
    assert!(
        check_record(
            &tlog_hashes(&forged.proof),
            forged.tree_size,
            tlog_hash(&forged.root_hash),
            forged.leaf_index,
            tlog_hash(&forged.leaf_hash)
        )
        .is_err()
    );

    // Every pair of sizes is consistent; the newest size's root is the checkpoint's.
    for old_size in 1..=size {
        for new_size in [old_size, (old_size + 7).min(size), size] {
            let proof = consistency(&server, tenant.secret(), old_size, new_size).await;
            assert_consistent(&proof);
            if new_size == size {
                assert_eq!(proof.new_root_hash, checkpoint["rootHash"].as_str().unwrap());
            }
        }
    }
}

fn tlog_base64(hash: &Hash) -> String {
    audit_core::encode_hash(&hash.0)
}

/// The latest checkpoint once the checkpointer (on a 1 s interval) signed `size`.
async fn wait_for_checkpoint(server: &TestServer, tenant: &Tenant, size: u64) -> Value {
    for _ in 0..300 {
        let answer = get(server, "/api/v1/checkpoints/latest", tenant.secret()).await;
        if answer.status == 200 && answer.body["seq"].as_u64() == Some(size) {
            return answer.body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no checkpoint of size {size} within 60 s");
}

async fn proofs_survive_a_purge(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    record_many(&server, tenant.secret(), 9).await;
    let before = records_oldest_first(&server, tenant.secret()).await;
    let old_size = before.len() as u64;
    let old = consistency(&server, tenant.secret(), old_size, old_size).await;

    // Purge everything older than a second: the tree keeps every leaf.
    let retention = age_past_a_one_second_retention(&server, &tenant).await;
    let report = post(
        &server,
        &format!("{retention}/purge"),
        tenant.secret(),
        &json!({}),
    )
    .await;
    assert!(
        report.ok(200)["purged"].as_u64().unwrap() >= old_size,
        "{:?}",
        report.body
    );
    record_many(&server, tenant.secret(), 3).await;
    let after = records_oldest_first(&server, tenant.secret()).await;
    let size = after.last().unwrap()["seq"].as_u64().unwrap();
    for record in &after {
        assert_included(
            &inclusion(&server, tenant.secret(), record["id"].as_str().unwrap(), None).await,
            record,
        );
    }
    let across = consistency(&server, tenant.secret(), old_size, size).await;
    assert_eq!(
        across.old_root_hash, old.new_root_hash,
        "the purge changed no leaf"
    );
    assert_consistent(&across);

    // Rebuilding the tree from the records (the upgrade migration, run again) cannot rebuild a
    // purged prefix: the trail says it has no tree rather than a wrong one.
    let db = Database::connect(server.database_url()).await.unwrap();
    Migrator::down(&db, Some(migrations_since_trees())).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db.close().await.unwrap();
    let path = format!("/api/v1/audit-logs/consistency-proof?oldSize=1&newSize={size}");
    get(&server, &path, tenant.secret()).await.problem(409, None);
}

async fn the_migration_builds_the_same_tree_from_stored_records(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    record_many(&server, tenant.secret(), 300).await;
    let size = verify(&server, tenant.secret()).await["headSeq"]
        .as_u64()
        .unwrap();
    let before = consistency(&server, tenant.secret(), 1, size).await;
    let db = Database::connect(server.database_url()).await.unwrap();
    Migrator::down(&db, Some(migrations_since_trees())).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db.close().await.unwrap();
    let after = consistency(&server, tenant.secret(), 1, size).await;
    assert_eq!(
        after, before,
        "the tree built from the records is the one built while appending"
    );
    record(&server, tenant.secret(), &event("prompt", "pr_after", "update")).await;
    assert_consistent(&consistency(&server, tenant.secret(), size, size + 1).await);
}

async fn proofs_keep_tenants_apart_and_refuse_bad_input(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let globex = Tenant::new(&server, "Globex").await;
    let stored = record(&server, acme.secret(), &event("prompt", "pr_1", "update")).await;
    let id = stored["id"].as_str().unwrap();
    let path = format!("/api/v1/audit-logs/{id}/inclusion-proof");
    get(&server, &path, globex.secret()).await.problem(404, None);
    get(&server, &path, "ak_unknown").await.problem(401, None);
    let no_scope = server.create_key(acme.org.id, &[Scope::AuditLogsWrite]).await;
    get(&server, &path, &no_scope.secret).await.problem(403, None);
    let project_key = server
        .create_project_key(acme.org.id, &[Scope::AuditLogsRead], Some("p_other"))
        .await;
    get(&server, &path, &project_key.secret).await.problem(404, None);
    let consistency_path = "/api/v1/audit-logs/consistency-proof?oldSize=1";
    get(&server, consistency_path, &project_key.secret)
        .await
        .problem(403, None);
    // Globex's tree is its own: its size-1 root is not Acme's.
    let acme_root = consistency(&server, acme.secret(), 1, 1).await.new_root_hash;
    let globex_root = consistency(&server, globex.secret(), 1, 1).await.new_root_hash;
    assert_ne!(acme_root, globex_root);

    for (query, status, field) in [
        ("?treeSize=0", 422, "treeSize"),
        ("?treeSize=1", 422, "treeSize"),
        ("?treeSize=99", 422, "treeSize"),
        ("?treeSize=x", 400, "treeSize"),
        ("?treeSize=2&treeSize=2", 400, "treeSize"),
        ("?bogus=1", 400, "bogus"),
    ] {
        get(&server, &format!("{path}{query}"), acme.secret())
            .await
            .problem(status, Some(field));
    }
    for (query, status, field) in [
        ("", 422, "oldSize"),
        ("?oldSize=0", 422, "oldSize"),
        ("?oldSize=3&newSize=2", 422, "oldSize"),
        ("?oldSize=1&newSize=99", 422, "newSize"),
        ("?oldSize=-1", 400, "oldSize"),
    ] {
        let path = format!("/api/v1/audit-logs/consistency-proof{query}");
        get(&server, &path, acme.secret())
            .await
            .problem(status, Some(field));
    }
    get(
        &server,
        "/api/v1/audit-logs/not-a-uuid/inclusion-proof",
        acme.secret(),
    )
    .await
    .problem(400, Some("id"));
}

on_both_backends!(
    every_record_is_proved_against_a_signed_tlog_checkpoint,
    proofs_survive_a_purge,
    the_migration_builds_the_same_tree_from_stored_records,
    proofs_keep_tenants_apart_and_refuse_bad_input,
);
