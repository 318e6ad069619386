//! `chain_heads`: the last `seq` and hash of each organization's trail. Its row is locked by
//! every writer of the organization, which serializes appends across server processes.

use sea_orm::entity::prelude::*;

/// The head of one organization's chain.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chain_heads")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// The last `seq` (0 when empty).
    pub seq: i64,
    /// The last hash (64 zeros when empty).
    pub hash: String,
    /// The last `createdAt`, so that time never runs backwards along the chain.
    pub created_at: DateTimeUtc,
    /// Leaves in the organization's Merkle tree: `seq`, except for a trail whose first
    /// records were purged before the tree existed (then 0, and the tree is not kept).
    pub tree_size: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
