//! `stream_dead_letters`: records a stream's destination refused for good, set aside.

use sea_orm::entity::prelude::*;

/// One record set aside by one stream.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stream_dead_letters")]
pub struct Model {
    /// The stream.
    #[sea_orm(primary_key, auto_increment = false)]
    pub stream_id: Uuid,
    /// The record's `seq`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// The stream's organization.
    pub org_id: Uuid,
    /// The record's id.
    pub record_id: Uuid,
    /// The destination's last answer, truncated.
    #[sea_orm(column_type = "Text")]
    pub last_error: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When it was set aside.
    pub dead_lettered_at: DateTimeUtc,
    /// The last attempt.
    pub last_attempt_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
