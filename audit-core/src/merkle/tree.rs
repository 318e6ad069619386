//! A whole tree in memory: for a verifier that holds every leaf (an export from the first
//! record), and for tests. Servers answer from stored subtrees instead ([`super::ranges`]).

use super::ranges::{LeafRange, consistency_path, inclusion_path};
use super::{EMPTY_ROOT, Hash, node_hash};

/// Every leaf hash of a tree, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    leaves: Vec<Hash>,
}

impl Tree {
    /// The empty tree.
    pub fn new() -> Self {
        Tree::default()
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.leaves.push(leaf);
    }

    /// How many leaves it has.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// `MTH(D[start:end])`, computed from the leaves.
    fn range_hash(&self, range: LeafRange) -> Hash {
        let leaves = &self.leaves[range.start as usize..range.end as usize];
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            len => {
                let left = 1 << (usize::BITS - 1 - (len - 1).leading_zeros());
                let middle = range.start + left as u64;
                node_hash(
                    &self.range_hash(LeafRange::new(range.start, middle)),
                    &self.range_hash(LeafRange::new(middle, range.end)),
                )
            }
        }
    }

    /// The root of its first `size` leaves (`None` past its end).
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        (size <= self.size()).then(|| self.range_hash(LeafRange::new(0, size)))
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.range_hash(LeafRange::new(0, self.size()))
    }

    /// The inclusion proof of leaf `index` in its first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Vec<Hash> {
        inclusion_path(index, size.min(self.size()))
            .into_iter()
            .map(|range| self.range_hash(range))
            .collect()
    }

    /// The consistency proof from its first `old_size` leaves to its first `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Vec<Hash> {
        consistency_path(old_size, new_size.min(self.size()))
            .into_iter()
            .map(|range| self.range_hash(range))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, verify_consistency, verify_inclusion};

    fn tree(size: u64) -> Tree {
        let mut tree = Tree::new();
        for leaf in 0..size {
            tree.push(leaf_hash(&leaf.to_be_bytes()));
        }
        tree
    }

    #[test]
    fn every_proof_of_small_trees_verifies_and_a_changed_one_does_not() {
        let whole = tree(33);
        for size in 1..=33 {
            let root = whole.root_at(size).unwrap();
            for index in 0..size {
                let proof = whole.inclusion_proof(index, size);
                let leaf = whole.leaves[index as usize];
                assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()));
                let other = leaf_hash(b"other");
                assert!(verify_inclusion(index, size, &other, &proof, &root).is_err());
            }
            for old_size in 1..=size {
                let old_root = whole.root_at(old_size).unwrap();
                let proof = whole.consistency_proof(old_size, size);
                assert_eq!(
                    verify_consistency(old_size, size, &old_root, &root, &proof),
                    Ok(())
                );
                if 0 < old_size && old_size < size {
                    let forged = leaf_hash(b"forged");
                    assert!(verify_consistency(old_size, size, &forged, &root, &proof).is_err());
                }
            }
        }
    }

    #[test]
    fn ranges_and_whole_trees_agree() {
        let whole = tree(21);
        let range = LeafRange::new(0, 21);
        let hashes: Vec<Hash> = range
            .subtrees()
            .iter()
            .map(|subtree| {
                let start = subtree.index << subtree.level;
                whole.range_hash(LeafRange::new(start, start + (1 << subtree.level)))
            })
            .collect();
        assert_eq!(range.hash(&hashes), Some(whole.root()));
        assert_eq!(Tree::new().root(), EMPTY_ROOT);
    }
}
