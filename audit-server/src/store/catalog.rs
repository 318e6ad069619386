//! Resource/action pairs organizations add to the built-in catalog.

use audit_core::{Catalog, timestamp};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::Store;
use super::entity::catalog_entry;

/// What the service records about itself beyond Langfuse's table: viewer tokens and log
/// streams.
pub fn service_entries() -> Catalog {
    let mut catalog = Catalog::new();
    catalog.add("viewerToken", "create");
    for action in ["create", "update", "pause", "resume", "delete"] {
        catalog.add(super::streams::RESOURCE_TYPE, action);
    }
    catalog
}

/// The pairs an organization added.
pub async fn extension(store: &Store, org_id: Uuid) -> Result<Catalog, DbErr> {
    let rows = catalog_entry::Entity::find()
        .filter(catalog_entry::Column::OrgId.eq(org_id))
        .all(store.connection())
        .await?;
    let mut catalog = Catalog::new();
    for row in rows {
        catalog.add(row.resource_type, row.action);
    }
    Ok(catalog)
}

/// Adds pairs to an organization's catalog; pairs it already has are kept as they are.
pub async fn add(store: &Store, org_id: Uuid, resource_type: &str, actions: &[String]) -> Result<(), DbErr> {
    if actions.is_empty() {
        return Ok(());
    }
    let created_at = timestamp::now();
    let rows = actions.iter().map(|action| catalog_entry::ActiveModel {
        org_id: Set(org_id),
        resource_type: Set(resource_type.to_owned()),
        action: Set(action.clone()),
        created_at: Set(created_at),
    });
    // One SQLite writer at a time (see `organizations::create`).
    let _writer = store.writer_guard().await;
    catalog_entry::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                catalog_entry::Column::OrgId,
                catalog_entry::Column::ResourceType,
                catalog_entry::Column::Action,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(store.connection())
        .await?;
    Ok(())
}
