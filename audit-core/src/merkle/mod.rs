//! The organization's Merkle tree, as RFC 6962 / RFC 9162 section 2.1 define it: leaf
//! `seq - 1` is the record of that `seq`, its leaf data the 32 bytes of the record's chain hash.
//!
//! - [`leaf_hash`], [`node_hash`], [`EMPTY_ROOT`]: the tree's hashing.
//! - [`ranges`]: which subtrees make up an inclusion or consistency proof, and how a range of
//!   leaves splits into complete subtrees (what a server looks up to answer in O(log n)).
//! - [`verify`]: checking inclusion and consistency proofs against roots.
//! - [`tiles`]: where a complete subtree's hash is stored in tlog-tiles of height 8.
//! - [`Tree`]: a whole tree in memory, for verifiers that have every leaf (an export).

pub mod ranges;
pub mod tiles;
mod tree;
pub mod verify;

use sha2::{Digest, Sha256};

pub use ranges::{LeafRange, Subtree};
pub use tree::Tree;
pub use verify::{ProofError, verify_consistency, verify_inclusion};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of nothing.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27,
    0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// A leaf's hash: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// An interior node's hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The leaf hash of a record, from its chain hash (lowercase hex, as records carry it); `None`
/// if that is not 32 bytes of hex.
pub fn record_leaf_hash(chain_hash_hex: &str) -> Option<Hash> {
    let bytes: [u8; 32] = hex::decode(chain_hash_hex).ok()?.try_into().ok()?;
    Some(leaf_hash(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_root_is_the_hash_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
    }

    #[test]
    fn leaves_and_nodes_are_domain_separated() {
        let leaf = leaf_hash(b"");
        assert_eq!(
            hex::encode(leaf),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_ne!(node_hash(&leaf, &leaf), leaf_hash(&[leaf, leaf].concat()));
        assert_eq!(record_leaf_hash(&"00".repeat(32)), Some(leaf_hash(&[0; 32])));
        assert_eq!(record_leaf_hash("zz"), None);
    }
}
