//! Reading the trail: filtered keyset pages, newest first, and single records.

use audit_core::{AuditLogFilter, AuditRecord, Cursor};
use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use super::Store;
use super::entity::audit_log::{self, Column};

/// Who is reading: the organization, and the project a restricted credential is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadScope {
    /// The organization.
    pub org_id: Uuid,
    /// Only this project's records, when set.
    pub project_id: Option<String>,
}

/// The rows matching `filter` within `scope`, in no particular order yet.
pub fn filtered(scope: &ReadScope, filter: &AuditLogFilter) -> Select<audit_log::Entity> {
    let mut condition = Condition::all().add(Column::OrgId.eq(scope.org_id));
    if let Some(project_id) = &scope.project_id {
        condition = condition.add(Column::ProjectId.eq(project_id.clone()));
    }
    if let Some(from) = filter.from {
        condition = condition.add(Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(Column::CreatedAt.lt(to));
    }
    if let Some(actor_type) = filter.actor_type {
        condition = condition.add(Column::ActorType.eq(actor_type.as_str()));
    }
    let texts = [
        (Column::ProjectId, &filter.project_id),
        (Column::UserId, &filter.user_id),
        (Column::ApiKeyId, &filter.api_key_id),
        (Column::ResourceType, &filter.resource_type),
        (Column::ResourceId, &filter.resource_id),
        (Column::Action, &filter.action),
        (Column::OnBehalfOf, &filter.on_behalf_of),
        (Column::ImpersonatedBy, &filter.impersonated_by),
    ];
    for (column, value) in texts {
        if let Some(value) = value {
            condition = condition.add(column.eq(value.clone()));
        }
    }
    audit_log::Entity::find().filter(condition)
}

/// Where a time range lies in the trail's `seq` order.
enum Window {
    /// No time range.
    Whole,
    /// The records from `seq` `.0` to `.1`, inclusive.
    Seqs(i64, i64),
    /// No record is in the range.
    Empty,
}

/// `createdAt` never decreases along an organization's `seq` (appends store
/// `max(now, head.createdAt)`), so a time range is a `seq` interval: two probes of the
/// `(org_id, created_at, seq)` index find it, and the page is then read in key order like an
/// unfiltered one, instead of sorting every record of the range.
async fn window(store: &Store, org_id: Uuid, filter: &AuditLogFilter) -> Result<Window, DbErr> {
    if filter.from.is_none() && filter.to.is_none() {
        return Ok(Window::Whole);
    }
    let in_org = || {
        audit_log::Entity::find()
            .filter(Column::OrgId.eq(org_id))
            .select_only()
            .column(Column::Seq)
    };
    let low = match filter.from {
        None => Some(1),
        Some(from) => {
            in_org()
                .filter(Column::CreatedAt.gte(from))
                .order_by_asc(Column::CreatedAt)
                .order_by_asc(Column::Seq)
                .into_tuple::<i64>()
                .one(store.connection())
                .await?
        }
    };
    let high = match filter.to {
        None => Some(i64::MAX),
        Some(to) => {
            in_org()
                .filter(Column::CreatedAt.lt(to))
                .order_by_desc(Column::CreatedAt)
                .order_by_desc(Column::Seq)
                .into_tuple::<i64>()
                .one(store.connection())
                .await?
        }
    };
    Ok(match (low, high) {
        (Some(low), Some(high)) if low <= high => Window::Seqs(low, high),
        _ => Window::Empty,
    })
}

/// The rows matching `filter` within `scope`, with any time range resolved to a `seq`
/// interval; `None` when the range holds no record.
pub async fn select(
    store: &Store,
    scope: &ReadScope,
    filter: &AuditLogFilter,
) -> Result<Option<Select<audit_log::Entity>>, DbErr> {
    let without_time = AuditLogFilter {
        from: None,
        to: None,
        ..filter.clone()
    };
    Ok(match window(store, scope.org_id, filter).await? {
        Window::Whole => Some(filtered(scope, &without_time)),
        Window::Seqs(low, high) => {
            Some(filtered(scope, &without_time).filter(Column::Seq.between(low, high)))
        }
        Window::Empty => None,
    })
}

/// One page, newest first, and the cursor of the next page.
pub async fn list(
    store: &Store,
    scope: &ReadScope,
    filter: &AuditLogFilter,
    cursor: Option<Cursor>,
    limit: u32,
) -> Result<(Vec<AuditRecord>, Option<String>), DbErr> {
    let Some(mut query) = select(store, scope, filter).await? else {
        return Ok((Vec::new(), None));
    };
    if let Some(cursor) = cursor {
        query = query.filter(Column::Seq.lt(cursor.before_seq));
    }
    let rows = query
        .order_by_desc(Column::Seq)
        .limit(u64::from(limit) + 1)
        .all(store.connection())
        .await?;
    let has_more = rows.len() > limit as usize;
    let records = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| AuditRecord::try_from(row).map_err(|error| DbErr::Custom(error.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = match (has_more, records.last()) {
        (true, Some(last)) => Some(Cursor { before_seq: last.seq }.encode()),
        _ => None,
    };
    Ok((records, next_cursor))
}

/// One record by id, if it is within `scope`.
pub async fn get(store: &Store, scope: &ReadScope, id: Uuid) -> Result<Option<AuditRecord>, DbErr> {
    let row = filtered(scope, &AuditLogFilter::default())
        .filter(Column::Id.eq(id))
        .one(store.connection())
        .await?;
    row.map(|row| AuditRecord::try_from(row).map_err(|error| DbErr::Custom(error.to_string())))
        .transpose()
}
