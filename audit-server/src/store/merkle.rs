//! Each organization's Merkle tree in the database: extended inside the append transaction
//! (only the right edge's tiles are read and rewritten), and read back as roots and proofs in
//! O(log n): a proof's subtrees are looked up in at most a few tiles, never rehashed from the
//! trail.

use std::collections::{BTreeMap, BTreeSet};

use audit_core::merkle::ranges::{consistency_path, inclusion_path};
use audit_core::merkle::tiles::{self, TileId};
use audit_core::merkle::{EMPTY_ROOT, Hash, LeafRange, Subtree};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::entity::{chain_head, merkle_tile};

/// Why a root or proof cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// A size beyond the tree, or an index beyond the size.
    #[error("{0}")]
    OutOfRange(String),
    /// The stored tiles do not hold what the tree's size says (a damaged database).
    #[error("the stored Merkle tree of organization {0} is incomplete")]
    Damaged(Uuid),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The 32-byte hashes of a stored tile.
pub(crate) fn to_hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(32)
        .map(|chunk| <Hash>::try_from(chunk).unwrap_or_default())
        .collect()
}

/// The leaf of a record with chain hash `hash` (hex).
pub(crate) fn record_leaf(hash: &str) -> Result<Hash, DbErr> {
    audit_core::merkle::record_leaf_hash(hash)
        .ok_or_else(|| DbErr::Custom(format!("{hash:?} is not a chain hash")))
}

/// The size of `org_id`'s tree: `None` for an unknown organization or a trail that has no
/// tree (its first records were purged before trees were kept).
pub async fn size(db: &impl ConnectionTrait, org_id: Uuid) -> Result<Option<u64>, DbErr> {
    let head = chain_head::Entity::find_by_id(org_id).one(db).await?;
    Ok(head
        .filter(|head| head.tree_size == head.seq)
        .map(|head| head.tree_size as u64))
}

/// The stored tiles `ids` of `org_id`, in one query (a proof and its roots need tiles of
/// every level; a query per level was a round trip each).
async fn read_tiles(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    ids: &BTreeSet<TileId>,
) -> Result<BTreeMap<TileId, Vec<Hash>>, DbErr> {
    let wanted = BTreeMap::from([(org_id, ids.clone())]);
    Ok(read_tiles_of(db, &wanted)
        .await?
        .remove(&org_id)
        .unwrap_or_default())
}

/// The stored tiles of several organizations (`org_id` to tile ids), in one query.
async fn read_tiles_of(
    db: &impl ConnectionTrait,
    wanted: &BTreeMap<Uuid, BTreeSet<TileId>>,
) -> Result<BTreeMap<Uuid, BTreeMap<TileId, Vec<Hash>>>, DbErr> {
    let mut places = Condition::any();
    for (org_id, ids) in wanted {
        for level in ids.iter().map(|tile| tile.level).collect::<BTreeSet<u8>>() {
            let indexes: Vec<i64> = ids
                .iter()
                .filter(|tile| tile.level == level)
                .map(|tile| tile.index as i64)
                .collect();
            places = places.add(
                Condition::all()
                    .add(merkle_tile::Column::OrgId.eq(*org_id))
                    .add(merkle_tile::Column::Level.eq(i16::from(level)))
                    .add(merkle_tile::Column::TileIndex.is_in(indexes)),
            );
        }
    }
    let mut tiles: BTreeMap<Uuid, BTreeMap<TileId, Vec<Hash>>> = BTreeMap::new();
    if places.is_empty() {
        return Ok(tiles);
    }
    for row in merkle_tile::Entity::find().filter(places).all(db).await? {
        let id = TileId {
            level: row.level as u8,
            index: row.tile_index as u64,
        };
        tiles
            .entry(row.org_id)
            .or_default()
            .insert(id, to_hashes(&row.hashes));
    }
    Ok(tiles)
}

/// Grows several organizations' trees inside the caller's transaction: `(org_id, size,
/// leaves)` adds `leaves` to a tree of `size` leaves. Their right-edge tiles are read in one
/// query and the changed tiles written in one statement.
pub(crate) async fn extend_many(
    db: &impl ConnectionTrait,
    growths: &[(Uuid, u64, Vec<Hash>)],
) -> Result<(), DbErr> {
    if growths.is_empty() {
        return Ok(());
    }
    let wanted: BTreeMap<Uuid, BTreeSet<TileId>> = growths
        .iter()
        .map(|(org_id, size, _)| (*org_id, tiles::edge_tiles(*size).into_iter().collect()))
        .collect();
    let mut edges = read_tiles_of(db, &wanted).await?;
    let mut changed = Vec::new();
    for (org_id, size, leaves) in growths {
        let edge = edges.remove(org_id).unwrap_or_default();
        let tiles = tiles::append(*size, &edge, leaves).ok_or_else(|| {
            DbErr::Custom(format!(
                "the Merkle tree of organization {org_id} is not {size} leaves"
            ))
        })?;
        changed.extend(tiles.into_iter().map(|(id, hashes)| (*org_id, id, hashes)));
    }
    write_tile_rows(db, changed).await
}

/// Stores tiles, replacing the stored ones of the same place.
pub async fn write_tiles(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    tiles: BTreeMap<TileId, Vec<Hash>>,
) -> Result<(), DbErr> {
    write_tile_rows(
        db,
        tiles
            .into_iter()
            .map(|(id, hashes)| (org_id, id, hashes))
            .collect(),
    )
    .await
}

/// Stores `(org_id, tile, hashes)` rows, replacing the stored ones of the same place.
async fn write_tile_rows(
    db: &impl ConnectionTrait,
    tiles: Vec<(Uuid, TileId, Vec<Hash>)>,
) -> Result<(), DbErr> {
    if tiles.is_empty() {
        return Ok(());
    }
    let rows = tiles
        .into_iter()
        .map(|(org_id, id, hashes)| merkle_tile::ActiveModel {
            org_id: Set(org_id),
            level: Set(i16::from(id.level)),
            tile_index: Set(id.index as i64),
            hashes: Set(hashes.concat()),
        });
    merkle_tile::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                merkle_tile::Column::OrgId,
                merkle_tile::Column::Level,
                merkle_tile::Column::TileIndex,
            ])
            .update_column(merkle_tile::Column::Hashes)
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The hashes of `ranges`, each from its complete subtrees, read in one pass over the tiles.
async fn range_hashes(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    ranges: &[LeafRange],
) -> Result<Vec<Hash>, TreeError> {
    let subtrees: Vec<Vec<Subtree>> = ranges.iter().map(LeafRange::subtrees).collect();
    let needed: BTreeSet<TileId> = subtrees
        .iter()
        .flatten()
        .map(|subtree| tiles::locate(*subtree).tile)
        .collect();
    let stored = read_tiles(db, org_id, &needed).await?;
    let damaged = || TreeError::Damaged(org_id);
    ranges
        .iter()
        .zip(&subtrees)
        .map(|(range, subtrees)| {
            let hashes = subtrees
                .iter()
                .map(|subtree| {
                    let tile = stored.get(&tiles::locate(*subtree).tile).ok_or_else(damaged)?;
                    tiles::subtree_hash(*subtree, tile).ok_or_else(damaged)
                })
                .collect::<Result<Vec<Hash>, TreeError>>()?;
            range.hash(&hashes).ok_or_else(damaged)
        })
        .collect()
}

/// The root of the first `size` leaves of `org_id`'s tree (`tree_size` leaves now).
pub async fn root(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    tree_size: u64,
    size: u64,
) -> Result<Hash, TreeError> {
    if size > tree_size {
        return Err(TreeError::OutOfRange(format!(
            "the tree has {tree_size} leaves, not {size}"
        )));
    }
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    Ok(range_hashes(db, org_id, &[LeafRange::new(0, size)]).await?[0])
}

/// The inclusion proof of leaf `index` in the first `size` leaves, and their root, read in
/// one pass over the tiles.
pub async fn inclusion_proof(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    tree_size: u64,
    index: u64,
    size: u64,
) -> Result<(Vec<Hash>, Hash), TreeError> {
    if size > tree_size || index >= size {
        return Err(TreeError::OutOfRange(format!(
            "leaf {index} is not in a tree of {size} leaves (the tree has {tree_size})"
        )));
    }
    let mut ranges = inclusion_path(index, size);
    ranges.push(LeafRange::new(0, size));
    let mut hashes = range_hashes(db, org_id, &ranges).await?;
    let root = hashes.pop().ok_or(TreeError::Damaged(org_id))?;
    Ok((hashes, root))
}

/// A consistency proof and the roots it links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consistency {
    /// The proof's hashes.
    pub proof: Vec<Hash>,
    /// The root of the first `old_size` leaves.
    pub old_root: Hash,
    /// The root of the first `new_size` leaves.
    pub new_root: Hash,
}

/// The consistency proof from the first `old_size` leaves to the first `new_size`, and both
/// roots, read in one pass over the tiles.
pub async fn consistency_proof(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    tree_size: u64,
    old_size: u64,
    new_size: u64,
) -> Result<Consistency, TreeError> {
    if new_size > tree_size || old_size > new_size || old_size == 0 {
        return Err(TreeError::OutOfRange(format!(
            "sizes must satisfy 1 <= old size <= new size <= {tree_size}"
        )));
    }
    let mut ranges = consistency_path(old_size, new_size);
    ranges.push(LeafRange::new(0, old_size));
    ranges.push(LeafRange::new(0, new_size));
    let mut hashes = range_hashes(db, org_id, &ranges).await?;
    let damaged = || TreeError::Damaged(org_id);
    let new_root = hashes.pop().ok_or_else(damaged)?;
    let old_root = hashes.pop().ok_or_else(damaged)?;
    Ok(Consistency {
        proof: hashes,
        old_root,
        new_root,
    })
}
