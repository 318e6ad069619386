//! Our proof verifier against the RFC 6962 vectors of `transparency-dev/merkle`
//! (`../shared/merkle-testdata`, not part of this repository): every positive case verifies,
//! every negative one (flipped bits, added or dropped hashes, swapped roots, changed sizes) is
//! refused.
//!
//! The folder is looked for at `$AUDIT_MERKLE_TESTDATA`, then `../shared/merkle-testdata`
//! beside the workspace, then `/work/shared/merkle-testdata`. Without it the test says so and
//! passes, except under CI (`CI` set), where it fails.

use std::path::{Path, PathBuf};

use audit_core::merkle::{Hash, verify_consistency, verify_inclusion};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

fn testdata() -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [
        std::env::var_os("AUDIT_MERKLE_TESTDATA").map(PathBuf::from),
        Some(workspace.join("../shared/merkle-testdata")),
        Some(PathBuf::from("/work/shared/merkle-testdata")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|path| path.join("inclusion").is_dir());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the RFC 6962 vectors (../shared/merkle-testdata) are missing under CI"
        );
        eprintln!("SKIPPED: no merkle-testdata folder (set AUDIT_MERKLE_TESTDATA)");
    }
    found
}

fn cases(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            cases(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "json") {
            found.push(path);
        }
    }
}

/// A root or proof hash from the vectors. Some negative cases carry values that are not 32
/// bytes (the reference verifier compares roots as bytes); such a value becomes a stand-in,
/// the SHA-256 of a marker and the value, which keeps equality between values and equals no
/// hash a proof computes.
fn hash(text: &str) -> Hash {
    let bytes = STANDARD.decode(text).unwrap();
    match <Hash>::try_from(bytes.as_slice()) {
        Ok(hash) => hash,
        Err(_) => Sha256::new()
            .chain_update(b"not a 32-byte hash:")
            .chain_update(&bytes)
            .finalize()
            .into(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Inclusion {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Consistency {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

fn proof(items: &Option<Vec<String>>) -> Vec<Hash> {
    items.iter().flatten().map(|item| hash(item)).collect()
}

/// Runs every case of `kind`; answers (cases run, the descriptions of those that went wrong).
fn run(kind: &str, check: impl Fn(&str) -> (bool, String)) -> (usize, Vec<String>) {
    let Some(root) = testdata() else {
        return (0, Vec::new());
    };
    let mut files = Vec::new();
    cases(&root.join(kind), &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let (right, desc) = check(&std::fs::read_to_string(file).unwrap());
        if !right {
            wrong.push(format!("{}: {desc}", file.display()));
        }
    }
    (files.len(), wrong)
}

#[test]
fn every_inclusion_vector_is_judged_as_the_reference_judges_it() {
    let (count, wrong) = run("inclusion", |text| {
        let case: Inclusion = serde_json::from_str(text).unwrap();
        // A leaf hash that is not 32 bytes cannot be passed to our verifier at all: refused.
        let refused = match <Hash>::try_from(STANDARD.decode(&case.leaf_hash).unwrap().as_slice()) {
            Ok(leaf) => verify_inclusion(
                case.leaf_idx,
                case.tree_size,
                &leaf,
                &proof(&case.proof),
                &hash(&case.root),
            )
            .is_err(),
            Err(_) => true,
        };
        (refused == case.want_err, case.desc)
    });
    assert!(
        wrong.is_empty(),
        "{} of {count} judged wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(count == 0 || count >= 90, "only {count} inclusion vectors found");
}

#[test]
fn every_consistency_vector_is_judged_as_the_reference_judges_it() {
    let (count, wrong) = run("consistency", |text| {
        let case: Consistency = serde_json::from_str(text).unwrap();
        let result = verify_consistency(
            case.size1,
            case.size2,
            &hash(&case.root1),
            &hash(&case.root2),
            &proof(&case.proof),
        );
        (result.is_err() == case.want_err, case.desc)
    });
    assert!(
        wrong.is_empty(),
        "{} of {count} judged wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(
        count == 0 || count >= 90,
        "only {count} consistency vectors found"
    );
}
