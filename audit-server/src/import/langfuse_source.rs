//! Reading Langfuse's `audit_logs` table from its PostgreSQL database, in `(created_at, id)`
//! order, one keyset page at a time (memory stays flat on any table size; rows written while
//! the import runs are read if they sort after the page being read).

use chrono::NaiveDateTime;
use sea_orm::sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sea_orm::sqlx::{self, Row};

use super::langfuse_event::LangfuseAuditRow;

/// The columns read, `type` as text (it is the `AuditLogRecordType` enum): a literal, so that
/// each query is one literal with bind parameters.
macro_rules! select_rows {
    () => {
        r#"SELECT "id", "created_at", "type"::text AS "type", "api_key_id", "user_id", "org_id",
    "user_org_role", "project_id", "user_project_role", "resource_type", "resource_id", "action",
    "before", "after"
    FROM "audit_logs""#
    };
}

/// A connection to a Langfuse database.
pub struct LangfuseSource {
    pool: PgPool,
}

/// Where the next page starts: after this `(created_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    /// The last row's `created_at`.
    pub created_at: NaiveDateTime,
    /// The last row's `id`.
    pub id: String,
}

impl LangfuseSource {
    /// Connects to the Langfuse database at `url` (`postgres://…`).
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let pool = PgPoolOptions::new().max_connections(2).connect(url).await?;
        Ok(LangfuseSource { pool })
    }

    /// How many rows the table holds now (for the progress bar).
    pub async fn count(&self) -> Result<u64, sqlx::Error> {
        let count: i64 = sqlx::query_scalar(r#"SELECT count(*) FROM "audit_logs""#)
            .fetch_one(&self.pool)
            .await?;
        Ok(count.max(0) as u64)
    }

    /// Up to `limit` rows after `after` (from the first row when `None`), in `(created_at, id)`
    /// order.
    pub async fn page(
        &self,
        after: Option<&After>,
        limit: u32,
    ) -> Result<Vec<LangfuseAuditRow>, sqlx::Error> {
        let rows = match after {
            None => {
                sqlx::query(concat!(
                    select_rows!(),
                    r#" ORDER BY "created_at", "id" LIMIT $1"#
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            Some(after) => {
                sqlx::query(concat!(
                    select_rows!(),
                    r#" WHERE ("created_at", "id") > ($1, $2) ORDER BY "created_at", "id" LIMIT $3"#
                ))
                .bind(after.created_at)
                .bind(&after.id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(to_row).collect()
    }

    /// The organization's name in Langfuse's `organizations` table, when the database has one.
    pub async fn organization_name(&self, org_id: &str) -> Result<Option<String>, sqlx::Error> {
        let has_table: bool = sqlx::query_scalar("SELECT to_regclass('organizations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        if !has_table {
            return Ok(None);
        }
        sqlx::query_scalar(r#"SELECT "name" FROM "organizations" WHERE "id" = $1"#)
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Closes the pool.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

fn to_row(row: &PgRow) -> Result<LangfuseAuditRow, sqlx::Error> {
    Ok(LangfuseAuditRow {
        id: row.try_get("id")?,
        created_at: row.try_get("created_at")?,
        record_type: row.try_get("type")?,
        api_key_id: row.try_get("api_key_id")?,
        user_id: row.try_get("user_id")?,
        org_id: row.try_get("org_id")?,
        user_org_role: row.try_get("user_org_role")?,
        project_id: row.try_get("project_id")?,
        user_project_role: row.try_get("user_project_role")?,
        resource_type: row.try_get("resource_type")?,
        resource_id: row.try_get("resource_id")?,
        action: row.try_get("action")?,
        before: row.try_get("before")?,
        after: row.try_get("after")?,
    })
}
