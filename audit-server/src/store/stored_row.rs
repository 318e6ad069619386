//! Reading `audit_logs` rows by position for the bulk read paths (export, verify): the columns
//! a record needs, its JSON members as their stored text (no `serde_json::Value` is built), and
//! a [`RecordView`] borrowed from the row.

use audit_core::{JsonTree, RecordView};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use super::RecordDecodeError;
use super::entity::audit_log::{self, Column};
use super::records::{stored_actor_type, stored_role};

/// The text columns before the JSON ones, in [`StoredRow::read`]'s order.
const LEADING: [Column; 14] = [
    Column::Id,
    Column::OrgId,
    Column::Seq,
    Column::CreatedAt,
    Column::OccurredAt,
    Column::ActorType,
    Column::UserId,
    Column::ApiKeyId,
    Column::UserOrgRole,
    Column::ProjectId,
    Column::UserProjectRole,
    Column::ResourceType,
    Column::ResourceId,
    Column::Action,
];

/// `query` reading the columns of a [`StoredRow`], in its order; the JSON columns as text: on
/// PostgreSQL jsonb's text form (a cast), on SQLite the text serde_json wrote (as stored: a
/// cast there would copy every value once more).
pub fn select_stored(query: Select<audit_log::Entity>, backend: DbBackend) -> Select<audit_log::Entity> {
    let json = |column: Column| match backend {
        DbBackend::Postgres => Expr::col((audit_log::Entity, column)).cast_as(Alias::new("TEXT")),
        _ => Expr::col((audit_log::Entity, column)),
    };
    query
        .select_only()
        .columns(LEADING)
        .expr(json(Column::Before))
        .expr(json(Column::After))
        .columns([
            Column::IpAddress,
            Column::UserAgent,
            Column::RequestId,
            Column::TraceId,
        ])
        .expr(json(Column::Metadata))
        .columns([
            Column::RecordedBy,
            Column::PrevHash,
            Column::Hash,
            Column::OnBehalfOf,
            Column::ImpersonatedBy,
        ])
}

/// One stored record as read by [`select_stored`]: text, not yet checked or parsed.
#[derive(Debug, Clone)]
#[allow(missing_docs)] // the record's fields
pub struct StoredRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub seq: i64,
    pub created_at: DateTime<Utc>,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: String,
    pub user_id: Option<String>,
    pub api_key_id: Option<String>,
    pub user_org_role: Option<String>,
    pub project_id: Option<String>,
    pub user_project_role: Option<String>,
    pub resource_type: String,
    pub resource_id: String,
    pub action: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    pub metadata: Option<String>,
    pub recorded_by: Option<Uuid>,
    pub prev_hash: String,
    pub hash: String,
    pub on_behalf_of: Option<String>,
    pub impersonated_by: Option<String>,
}

impl StoredRow {
    /// Reads a row of a [`select_stored`] query, column by position.
    pub fn read(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(StoredRow {
            id: row.try_get_by_index(0)?,
            org_id: row.try_get_by_index(1)?,
            seq: row.try_get_by_index(2)?,
            created_at: row.try_get_by_index(3)?,
            occurred_at: row.try_get_by_index(4)?,
            actor_type: row.try_get_by_index(5)?,
            user_id: row.try_get_by_index(6)?,
            api_key_id: row.try_get_by_index(7)?,
            user_org_role: row.try_get_by_index(8)?,
            project_id: row.try_get_by_index(9)?,
            user_project_role: row.try_get_by_index(10)?,
            resource_type: row.try_get_by_index(11)?,
            resource_id: row.try_get_by_index(12)?,
            action: row.try_get_by_index(13)?,
            before: row.try_get_by_index(14)?,
            after: row.try_get_by_index(15)?,
            ip_address: row.try_get_by_index(16)?,
            user_agent: row.try_get_by_index(17)?,
            request_id: row.try_get_by_index(18)?,
            trace_id: row.try_get_by_index(19)?,
            metadata: row.try_get_by_index(20)?,
            recorded_by: row.try_get_by_index(21)?,
            prev_hash: row.try_get_by_index(22)?,
            hash: row.try_get_by_index(23)?,
            on_behalf_of: row.try_get_by_index(24)?,
            impersonated_by: row.try_get_by_index(25)?,
        })
    }

    /// The record, as `AuditRecord::try_from` the row's model makes it (the same checks of
    /// the actor type, roles and metadata), borrowing from the row.
    pub fn view(&self) -> Result<RecordView<'_>, RecordDecodeError> {
        let fail = |message: String| RecordDecodeError {
            seq: self.seq,
            message,
        };
        let role = |value: &Option<String>| stored_role(self.seq, value.as_deref());
        fn json<'r>(
            name: &str,
            text: &'r Option<String>,
            fail: impl Fn(String) -> RecordDecodeError,
        ) -> Result<Option<JsonTree<'r>>, RecordDecodeError> {
            text.as_deref()
                .map(JsonTree::parse)
                .transpose()
                .map_err(|error| fail(format!("{name} is not JSON: {error}")))
        }
        let metadata = json("metadata", &self.metadata, fail)?;
        if metadata.as_ref().is_some_and(|metadata| !metadata.is_object()) {
            return Err(fail("metadata is not an object".to_owned()));
        }
        Ok(RecordView {
            id: self.id,
            org_id: self.org_id,
            seq: self.seq,
            created_at: self.created_at,
            occurred_at: self.occurred_at,
            actor_type: stored_actor_type(self.seq, &self.actor_type)?,
            user_id: self.user_id.as_deref(),
            api_key_id: self.api_key_id.as_deref(),
            user_org_role: role(&self.user_org_role)?,
            project_id: self.project_id.as_deref(),
            user_project_role: role(&self.user_project_role)?,
            resource_type: &self.resource_type,
            resource_id: &self.resource_id,
            action: &self.action,
            before: json("before", &self.before, fail)?,
            after: json("after", &self.after, fail)?,
            ip_address: self.ip_address.as_deref(),
            user_agent: self.user_agent.as_deref(),
            request_id: self.request_id.as_deref(),
            trace_id: self.trace_id.as_deref(),
            on_behalf_of: self.on_behalf_of.as_deref(),
            impersonated_by: self.impersonated_by.as_deref(),
            metadata,
            recorded_by: self.recorded_by,
            prev_hash: &self.prev_hash,
            hash: &self.hash,
        })
    }
}

/// Runs `query` as a [`select_stored`] query and reads its rows.
pub async fn fetch_stored(
    db: &DatabaseConnection,
    query: Select<audit_log::Entity>,
) -> Result<Vec<StoredRow>, DbErr> {
    let backend = db.get_database_backend();
    let statement = select_stored(query, backend).build(backend);
    db.query_all_raw(statement)
        .await?
        .iter()
        .map(StoredRow::read)
        .collect()
}
