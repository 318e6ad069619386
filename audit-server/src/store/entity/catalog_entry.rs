//! `catalog_entries`: resource/action pairs an organization added to the built-in catalog.

use sea_orm::entity::prelude::*;

/// One added pair.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_entries")]
pub struct Model {
    /// The organization.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// The resource type.
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_type: String,
    /// The action.
    #[sea_orm(primary_key, auto_increment = false)]
    pub action: String,
    /// When it was added.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
