//! `purge_authorizations`: the row that lets the append-only trigger accept a purge's DELETE.
//! It only ever exists inside the purge's own transaction.

use sea_orm::entity::prelude::*;

/// Records of `org_id` up to `up_to_seq` may be deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "purge_authorizations")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// The last `seq` that may be deleted.
    pub up_to_seq: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
