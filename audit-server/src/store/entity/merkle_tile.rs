//! `merkle_tiles`: each organization's Merkle tree as tlog-tiles of height 8
//! ([`audit_core::merkle::tiles`]). A tile's `hashes` are its 32-byte hashes back to back; only
//! the rightmost tile of each level grows, full tiles are never written again. Purging records
//! leaves the tiles as they are, so proofs keep verifying across a purge.

use sea_orm::entity::prelude::*;

/// One tile of one organization's tree.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "merkle_tiles")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// The tile level (tree level `8 * level`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub level: i16,
    /// The tile's index in its level.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tile_index: i64,
    /// Up to 256 hashes of 32 bytes.
    pub hashes: Vec<u8>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
