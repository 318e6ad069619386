//! Which hashes make up a proof. An RFC 6962 proof is a list of `MTH(D[a:b])`, the hashes of
//! ranges of leaves; each range splits into at most `log2(n)` complete subtrees, which a server
//! stores. A server computes the ranges here, looks their subtrees up (O(log n) in all) and
//! combines them with [`LeafRange::hash`]: it never rehashes the trail.
//!
//! Invariant of every range produced here: its start is a multiple of the largest power of two
//! not above its length (ranges come from splitting `[0, n)` as RFC 6962 does), so its left
//! parts are always complete, aligned subtrees.

use super::{Hash, node_hash};

/// A complete subtree: the `2^level` leaves from `index * 2^level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subtree {
    /// Its height: 0 for a leaf.
    pub level: u8,
    /// Its position among the subtrees of its level.
    pub index: u64,
}

/// The leaves `start..end` (leaf indexes, `end` exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafRange {
    /// The first leaf.
    pub start: u64,
    /// One past the last leaf.
    pub end: u64,
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

impl LeafRange {
    /// The leaves `start..end`.
    pub fn new(start: u64, end: u64) -> Self {
        LeafRange { start, end }
    }

    fn len(&self) -> u64 {
        self.end - self.start
    }

    /// The complete subtrees whose hashes make up this range's hash, left to right.
    pub fn subtrees(&self) -> Vec<Subtree> {
        let mut subtrees = Vec::new();
        let mut range = *self;
        while range.len() > 0 {
            let len = range.len();
            if len.is_power_of_two() {
                subtrees.push(Subtree {
                    level: len.trailing_zeros() as u8,
                    index: range.start >> len.trailing_zeros(),
                });
                break;
            }
            let left = split(len);
            debug_assert_eq!(range.start % left, 0, "range start not aligned");
            subtrees.push(Subtree {
                level: left.trailing_zeros() as u8,
                index: range.start >> left.trailing_zeros(),
            });
            range.start += left;
        }
        subtrees
    }

    /// `MTH(D[start:end])` from the hashes of [`LeafRange::subtrees`], given in that order.
    /// `None` if there are fewer hashes than subtrees.
    pub fn hash(&self, subtree_hashes: &[Hash]) -> Option<Hash> {
        let count = self.subtrees().len();
        let hashes = subtree_hashes.get(..count)?;
        // The rightmost subtree is the deepest right child: fold from the right.
        let (last, rest) = hashes.split_last()?;
        Some(
            rest.iter()
                .rev()
                .fold(*last, |right, left| node_hash(left, &right)),
        )
    }
}

/// The ranges whose hashes form the inclusion proof of leaf `index` in the tree of `size`
/// leaves, from the leaf's sibling up (RFC 6962 section 2.1.1). Empty when `index >= size`.
pub fn inclusion_path(index: u64, size: u64) -> Vec<LeafRange> {
    let mut path = Vec::new();
    if index < size {
        inclusion_in(index, LeafRange::new(0, size), &mut path);
    }
    path
}

fn inclusion_in(index: u64, range: LeafRange, path: &mut Vec<LeafRange>) {
    if range.len() <= 1 {
        return;
    }
    let middle = range.start + split(range.len());
    if index < middle {
        inclusion_in(index, LeafRange::new(range.start, middle), path);
        path.push(LeafRange::new(middle, range.end));
    } else {
        inclusion_in(index, LeafRange::new(middle, range.end), path);
        path.push(LeafRange::new(range.start, middle));
    }
}

/// The ranges whose hashes form the consistency proof from the tree of `old_size` leaves to
/// the tree of `new_size` (RFC 6962 section 2.1.2). Empty when there is nothing to prove
/// (`old_size` is 0 or not below `new_size`).
pub fn consistency_path(old_size: u64, new_size: u64) -> Vec<LeafRange> {
    let mut path = Vec::new();
    if 0 < old_size && old_size < new_size {
        consistency_in(old_size, LeafRange::new(0, new_size), true, &mut path);
    }
    path
}

/// RFC 6962's SUBPROOF(m, D[range], complete): `old_size` counts leaves from `range.start`.
fn consistency_in(old_size: u64, range: LeafRange, whole_old_tree: bool, path: &mut Vec<LeafRange>) {
    if old_size == range.len() {
        if !whole_old_tree {
            path.push(range);
        }
        return;
    }
    let left = split(range.len());
    let middle = range.start + left;
    if old_size <= left {
        consistency_in(
            old_size,
            LeafRange::new(range.start, middle),
            whole_old_tree,
            path,
        );
        path.push(LeafRange::new(middle, range.end));
    } else {
        consistency_in(old_size - left, LeafRange::new(middle, range.end), false, path);
        path.push(LeafRange::new(range.start, middle));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_into_complete_subtrees() {
        assert_eq!(
            LeafRange::new(0, 7).subtrees(),
            [
                Subtree { level: 2, index: 0 },
                Subtree { level: 1, index: 2 },
                Subtree { level: 0, index: 6 },
            ]
        );
        assert_eq!(LeafRange::new(8, 16).subtrees(), [Subtree { level: 3, index: 1 }]);
    }

    #[test]
    fn paths_follow_rfc_6962() {
        // RFC 6962 section 2.1.3's example tree of 7 leaves: the proof for d0 is [b, h, l]:
        // leaf 1, leaves 2..4, leaves 4..7.
        assert_eq!(
            inclusion_path(0, 7),
            [LeafRange::new(1, 2), LeafRange::new(2, 4), LeafRange::new(4, 7)]
        );
        // The consistency proof between sizes 3 and 7 is [c, d, g, l].
        assert_eq!(
            consistency_path(3, 7),
            [
                LeafRange::new(2, 3),
                LeafRange::new(3, 4),
                LeafRange::new(0, 2),
                LeafRange::new(4, 7)
            ]
        );
        // Between 4 and 7: [l]; between 6 and 7: [i, j, k].
        assert_eq!(consistency_path(4, 7), [LeafRange::new(4, 7)]);
        assert_eq!(
            consistency_path(6, 7),
            [LeafRange::new(4, 6), LeafRange::new(6, 7), LeafRange::new(0, 4)]
        );
        assert!(consistency_path(7, 7).is_empty());
        assert!(inclusion_path(7, 7).is_empty());
    }
}
