//! `chain_anchors`: where an organization's chain starts after a retention purge.

use sea_orm::entity::prelude::*;

/// The first retained `seq` and the hash it chains to.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chain_anchors")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// The first `seq` kept.
    pub first_seq: i64,
    /// The hash of the last purged record: the first kept record's `prevHash`.
    pub prev_hash: String,
    /// When the last purge ran.
    pub purged_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
