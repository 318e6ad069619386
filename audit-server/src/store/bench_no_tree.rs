//! A switch for `audit-bench` only (compiled with the `bench` feature, hidden from the docs):
//! appends stop maintaining the Merkle tree, so that the benchmark can measure, in one run,
//! what the tree costs batch ingest.
//!
//! It is not a setting. A server with the tree switched off keeps every trail it appends to
//! without a tree, like a trail whose first records were purged before trees were kept: the
//! tree size stays behind `seq`, checkpoints carry no root, proofs answer 409. Nothing reads or
//! sets it outside the benchmark's own server process.

use std::sync::atomic::{AtomicBool, Ordering};

static TREE_OFF: AtomicBool = AtomicBool::new(false);

/// Stops this process's appends from extending any Merkle tree (for the benchmark's server).
pub fn switch_tree_off() {
    TREE_OFF.store(true, Ordering::Relaxed);
}

/// Whether [`switch_tree_off`] was called.
pub(crate) fn tree_is_off() -> bool {
    TREE_OFF.load(Ordering::Relaxed)
}
