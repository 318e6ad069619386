//! Query plans of the read endpoint's first-page queries, built exactly as the server builds
//! them (`audit_server::store::reads::filtered`, newest first, 51 rows): `EXPLAIN QUERY PLAN`
//! on SQLite, `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL.

use audit_core::parse_query;
use audit_server::store::entity::audit_log::Column;
use audit_server::store::reads::{ReadScope, filtered};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
};
use uuid::Uuid;

use crate::db::Backend;

/// Query-string pairs.
type Query = Vec<(String, String)>;

/// A query plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What was planned.
    pub name: String,
    /// The plan, line by line.
    pub lines: Vec<String>,
}

/// Plans the first page of each `(name, query string)`, and the page before `deep_before_seq`.
pub async fn plans(
    backend: Backend,
    url: &str,
    org_id: Uuid,
    cases: &[(String, Query)],
    deep_before_seq: Option<i64>,
) -> anyhow::Result<Vec<Plan>> {
    let db = Database::connect(url).await?;
    let scope = ReadScope {
        org_id,
        project_id: None,
    };
    let mut plans = Vec::new();
    let mut all: Vec<(String, Query, Option<i64>)> = cases
        .iter()
        .map(|(name, query)| (name.clone(), query.clone(), None))
        .collect();
    if let Some(seq) = deep_before_seq {
        all.push((
            format!("no filter, cursor before seq {seq}"),
            Vec::new(),
            Some(seq),
        ));
    }
    for (name, query, before_seq) in all {
        let parsed = parse_query(&query, &[]).map_err(|error| anyhow::anyhow!("{error:?}"))?;
        let mut select = filtered(&scope, &parsed.filter);
        if let Some(seq) = before_seq {
            select = select.filter(Column::Seq.lt(seq));
        }
        let statement = select
            .order_by_desc(Column::Seq)
            .limit(51)
            .build(backend.db_backend());
        let prefix = match backend {
            Backend::Sqlite => "EXPLAIN QUERY PLAN",
            Backend::Postgres => "EXPLAIN (ANALYZE, BUFFERS)",
        };
        let explain = Statement::from_sql_and_values(
            backend.db_backend(),
            format!("{prefix} {}", statement.sql),
            statement.values.clone().unwrap_or(sea_orm::Values(Vec::new())),
        );
        let rows = db.query_all_raw(explain).await?;
        let lines = rows
            .iter()
            .filter_map(|row| match backend {
                Backend::Sqlite => row.try_get::<String>("", "detail").ok(),
                Backend::Postgres => row.try_get::<String>("", "QUERY PLAN").ok(),
            })
            .collect();
        let shown = query
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&");
        plans.push(Plan {
            name: format!("{name} ({shown})"),
            lines,
        });
    }
    let _ = db.close().await;
    Ok(plans)
}
