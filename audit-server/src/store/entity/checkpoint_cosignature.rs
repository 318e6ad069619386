//! `checkpoint_cosignatures`: a witness's cosignature of one checkpoint.

use sea_orm::entity::prelude::*;

/// One witness's tlog-cosignature/v1 of one checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "checkpoint_cosignatures")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// The checkpoint's `seq` (its tree size).
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// The witness's key name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub witness: String,
    /// The witness's key id, 8 hex digits.
    pub key_id: String,
    /// The time the witness stated in its cosignature.
    pub cosigned_at: DateTimeUtc,
    /// The signature line, `— <name> <base64>`, without its newline.
    #[sea_orm(column_type = "Text")]
    pub line: String,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
