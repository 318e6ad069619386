//! What a live tail reads: the head of an organization's trail, and the matching records
//! committed after a `seq`, oldest first.

use audit_core::{AuditLogFilter, AuditRecord};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::Store;
use super::entity::audit_log::Column;
use super::entity::chain_head;
use super::reads::{ReadScope, filtered};

/// The last committed `seq` of the organization (0 for an empty trail). Every record up to it
/// is committed and visible: the chain-head row is updated in the transaction that appends.
pub async fn head_seq(store: &Store, org_id: Uuid) -> Result<i64, DbErr> {
    Ok(chain_head::Entity::find_by_id(org_id)
        .select_only()
        .column(chain_head::Column::Seq)
        .into_tuple::<i64>()
        .one(store.connection())
        .await?
        .unwrap_or(0))
}

/// Up to `limit` records matching `filter` within `scope` with `after < seq <= up_to`, in
/// `seq` order.
pub async fn records_between(
    store: &Store,
    scope: &ReadScope,
    filter: &AuditLogFilter,
    after: i64,
    up_to: i64,
    limit: u64,
) -> Result<Vec<AuditRecord>, DbErr> {
    filtered(scope, filter)
        .filter(Column::Seq.gt(after))
        .filter(Column::Seq.lte(up_to))
        .order_by_asc(Column::Seq)
        .limit(limit)
        .all(store.connection())
        .await?
        .into_iter()
        .map(|row| AuditRecord::try_from(row).map_err(|error| DbErr::Custom(error.to_string())))
        .collect()
}
