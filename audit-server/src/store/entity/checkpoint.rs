//! `checkpoints`: signed notes over organizations' chain heads.

use sea_orm::entity::prelude::*;

/// One signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "checkpoints")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// The head `seq` signed.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// The head hash signed, hex.
    pub head_hash: String,
    /// The signing time (the note's time line).
    pub created_at: DateTimeUtc,
    /// The signing key's name.
    pub key_name: String,
    /// The signing key's id, 8 hex digits.
    pub key_id: String,
    /// `base64(keyId || signature)`.
    pub signature: String,
    /// The whole signed note.
    #[sea_orm(column_type = "Text")]
    pub note: String,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
