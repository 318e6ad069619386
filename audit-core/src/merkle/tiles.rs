//! Where the tree's hashes are stored: tiles of height 8, as c2sp.org/tlog-tiles lays them out.
//! The tile at level `L`, index `N` holds up to 256 consecutive hashes of tree level `8 * L`,
//! those from `N * 256`; every other complete subtree is hashed up from one tile's hashes (at
//! most 128 of them). A log of `n` records keeps about `n / 255` tiles, and an append rewrites
//! only the rightmost tile of each level it reaches.

use std::collections::BTreeMap;

use super::{Hash, Subtree, node_hash};

/// Tree levels per tile.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// A tile: its level (tree level `8 * level`) and its index in that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// The tile level.
    pub level: u8,
    /// The tile's index among that level's tiles.
    pub index: u64,
}

/// The hashes of one tile a subtree's hash is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileSpan {
    /// The tile.
    pub tile: TileId,
    /// The first hash, by position in the tile.
    pub offset: usize,
    /// How many hashes (a power of two).
    pub count: usize,
}

/// Where the hashes that make `subtree` are.
pub fn locate(subtree: Subtree) -> TileSpan {
    let tile_level = subtree.level / TILE_HEIGHT;
    let height_in_tile = subtree.level % TILE_HEIGHT;
    let first = subtree.index << height_in_tile;
    TileSpan {
        tile: TileId {
            level: tile_level,
            index: first / TILE_WIDTH,
        },
        offset: (first % TILE_WIDTH) as usize,
        count: 1 << height_in_tile,
    }
}

/// The hash of a complete subtree from its `2^k` hashes at the tile's level.
pub fn hash_up(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    let mut level = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level[0]
}

/// The subtree's hash, from the span of `tile_hashes` (the whole tile) [`locate`] names; `None`
/// if the tile is shorter than that.
pub fn subtree_hash(subtree: Subtree, tile_hashes: &[Hash]) -> Option<Hash> {
    let span = locate(subtree);
    tile_hashes
        .get(span.offset..span.offset + span.count)
        .map(hash_up)
}

/// The rightmost, partly filled tile of each level of a tree of `size` leaves: the tiles an
/// append extends. Full tiles are never written again.
pub fn edge_tiles(size: u64) -> Vec<TileId> {
    let mut tiles = Vec::new();
    let mut level = 0u8;
    while level < 8 && (size >> (u32::from(level) * u32::from(TILE_HEIGHT))) > 0 {
        let hashes = size >> (u32::from(level) * u32::from(TILE_HEIGHT));
        if !hashes.is_multiple_of(TILE_WIDTH) {
            tiles.push(TileId {
                level,
                index: hashes / TILE_WIDTH,
            });
        }
        level += 1;
    }
    tiles
}

/// Appends `leaves` to a tree of `old_size` leaves whose [`edge_tiles`] hold `edge`: the new
/// contents of every tile the append changed or made. `None` if an edge tile is missing or has
/// the wrong number of hashes (the stored tree does not have `old_size` leaves).
pub fn append(
    old_size: u64,
    edge: &BTreeMap<TileId, Vec<Hash>>,
    leaves: &[Hash],
) -> Option<BTreeMap<TileId, Vec<Hash>>> {
    let mut changed: BTreeMap<TileId, Vec<Hash>> = BTreeMap::new();
    let mut incoming = leaves.to_vec();
    let mut level = 0u8;
    while !incoming.is_empty() {
        let mut count = old_size >> (u32::from(level) * u32::from(TILE_HEIGHT));
        let mut completed = Vec::new();
        for hash in incoming {
            let tile = TileId {
                level,
                index: count / TILE_WIDTH,
            };
            let hashes = match changed.get_mut(&tile) {
                Some(hashes) => hashes,
                None => {
                    let stored = match count % TILE_WIDTH {
                        0 => Vec::new(),
                        width => {
                            let stored = edge.get(&tile)?;
                            (stored.len() as u64 == width).then(|| stored.clone())?
                        }
                    };
                    changed.entry(tile).or_insert(stored)
                }
            };
            hashes.push(hash);
            count += 1;
            if count.is_multiple_of(TILE_WIDTH) {
                completed.push(hash_up(hashes));
            }
        }
        incoming = completed;
        level += 1;
    }
    Some(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{LeafRange, Tree, leaf_hash};

    fn leaves(range: std::ops::Range<u64>) -> Vec<Hash> {
        range.map(|leaf| leaf_hash(&leaf.to_be_bytes())).collect()
    }

    #[test]
    fn appends_in_any_steps_store_tiles_that_give_every_root() {
        let mut tiles: BTreeMap<TileId, Vec<Hash>> = BTreeMap::new();
        let mut tree = Tree::new();
        let mut size = 0;
        for step in [1u64, 3, 255, 1, 256, 700, 64_000, 1] {
            let new = leaves(size..size + step);
            let edge: BTreeMap<_, _> = edge_tiles(size)
                .into_iter()
                .map(|tile| (tile, tiles[&tile].clone()))
                .collect();
            tiles.extend(append(size, &edge, &new).unwrap());
            new.iter().for_each(|leaf| tree.push(*leaf));
            size += step;
            let range = LeafRange::new(0, size);
            let hashes: Vec<Hash> = range
                .subtrees()
                .into_iter()
                .map(|subtree| subtree_hash(subtree, &tiles[&locate(subtree).tile]).unwrap())
                .collect();
            assert_eq!(range.hash(&hashes), Some(tree.root()), "size {size}");
        }
        // 65,217 leaves: 254 full level-0 tiles and a partial one, one partial level-1 tile.
        assert_eq!(size, 65_217);
        assert_eq!(tiles.len(), 255 + 1);
    }

    #[test]
    fn an_edge_of_the_wrong_size_is_refused() {
        let edge = BTreeMap::from([(TileId { level: 0, index: 0 }, leaves(0..2))]);
        assert!(append(3, &edge, &leaves(3..4)).is_none());
        assert!(append(2, &edge, &leaves(2..3)).is_some());
    }
}
