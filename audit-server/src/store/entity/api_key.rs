//! `api_keys`: credentials of an organization, stored with their secret hashed.

use sea_orm::entity::prelude::*;

/// One API key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organization it belongs to.
    pub org_id: Uuid,
    /// Its display name.
    pub name: String,
    /// Its scopes, as a JSON array of wire names.
    pub scopes: Json,
    /// The project it is restricted to.
    pub project_id: Option<String>,
    /// SHA-256 of the secret, hex.
    #[sea_orm(unique)]
    pub secret_hash: String,
    /// The secret's first characters, for recognition.
    pub secret_prefix: String,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it was revoked.
    pub revoked_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
