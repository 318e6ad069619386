//! Organizations and their chain heads.

use audit_core::{GENESIS_HASH, Organization, timestamp};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, DbErr, EntityTrait, QueryOrder, TransactionTrait};
use uuid::Uuid;

use super::Store;
use super::entity::{chain_head, organization};

/// Creates an organization with an empty chain.
pub async fn create(store: &Store, name: &str) -> Result<Organization, DbErr> {
    let created_at = timestamp::now();
    let id = Uuid::now_v7();
    // SQLite has one writer at a time: a writer that skips the queue makes a concurrent append
    // fail with "database is locked" (its read-then-write transaction cannot wait).
    let _writer = store.writer_guard().await;
    let txn = store.connection().begin().await?;
    organization::ActiveModel {
        id: Set(id),
        name: Set(name.to_owned()),
        created_at: Set(created_at),
    }
    .insert(&txn)
    .await?;
    chain_head::ActiveModel {
        org_id: Set(id),
        seq: Set(0),
        hash: Set(GENESIS_HASH.to_owned()),
        created_at: Set(created_at),
        tree_size: Set(0),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Organization {
        id,
        name: name.to_owned(),
        created_at,
    })
}

/// Every organization, oldest first.
pub async fn list(store: &Store) -> Result<Vec<Organization>, DbErr> {
    let rows = organization::Entity::find()
        .order_by_asc(organization::Column::CreatedAt)
        .order_by_asc(organization::Column::Id)
        .all(store.connection())
        .await?;
    Ok(rows.into_iter().map(to_wire).collect())
}

/// One organization.
pub async fn find(store: &Store, id: Uuid) -> Result<Option<Organization>, DbErr> {
    Ok(organization::Entity::find_by_id(id)
        .one(store.connection())
        .await?
        .map(to_wire))
}

fn to_wire(row: organization::Model) -> Organization {
    Organization {
        id: row.id,
        name: row.name,
        created_at: row.created_at,
    }
}
