//! Bulk insertion of generated rows into a migrated `audit_logs`, the fastest way each backend
//! takes them: `COPY ... FROM STDIN (FORMAT csv)` on PostgreSQL, prepared multi-row INSERTs on
//! SQLite (inside the caller's transaction).

use sea_orm::sqlx::{self, AssertSqlSafe};

use crate::data::{COLUMNS, RawRow};

/// Rows per INSERT statement on SQLite (25 parameters each, well under SQLite's 32,766).
const SQLITE_ROWS_PER_STATEMENT: usize = 500;

/// `rows` as PostgreSQL `COPY` CSV.
pub fn csv_of(rows: &[RawRow]) -> Vec<u8> {
    let mut csv = Vec::with_capacity(rows.len() * 1200);
    for row in rows {
        row.push_csv(&mut csv);
    }
    csv
}

/// Sends `csv` (rows made by [`csv_of`]) through one `COPY`; answers the rows stored.
pub async fn copy_csv(conn: &mut sqlx::PgConnection, csv: &[u8]) -> anyhow::Result<u64> {
    let statement = format!("COPY audit_logs ({}) FROM STDIN (FORMAT csv)", COLUMNS.join(", "));
    let mut copy = conn.copy_in_raw(&statement).await?;
    for chunk in csv.chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    Ok(copy.finish().await?)
}

/// Inserts `rows` with prepared 500-row INSERTs on `conn` (a transaction, for speed).
pub async fn insert_sqlite(conn: &mut sqlx::SqliteConnection, rows: &[RawRow]) -> anyhow::Result<()> {
    for chunk in rows.chunks(SQLITE_ROWS_PER_STATEMENT) {
        let placeholders = format!("({})", vec!["?"; COLUMNS.len()].join(", "));
        let sql = format!(
            "INSERT INTO audit_logs ({}) VALUES {}",
            COLUMNS.join(", "),
            vec![placeholders.as_str(); chunk.len()].join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            query = query
                .bind(row.org_id)
                .bind(row.seq)
                .bind(row.id)
                .bind(row.created_at)
                .bind(row.occurred_at)
                .bind(row.actor_type)
                .bind(row.user_id.clone())
                .bind(row.api_key_id.clone())
                .bind(row.user_org_role)
                .bind(row.project_id.clone())
                .bind(row.user_project_role)
                .bind(row.resource_type.clone())
                .bind(row.resource_id.clone())
                .bind(row.action.clone())
                .bind(row.before.clone())
                .bind(row.after.clone())
                .bind(row.ip_address.clone())
                .bind(row.user_agent.clone())
                .bind(row.request_id.clone())
                .bind(row.trace_id.clone())
                .bind(row.metadata.clone())
                .bind(row.recorded_by)
                .bind(row.prev_hash.clone())
                .bind(row.hash.clone())
                .bind(row.content_hash.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// SQLite connect options with the server's pragmas (WAL, `synchronous = FULL`, foreign keys).
pub fn sqlite_options(url: &str) -> anyhow::Result<sqlx::sqlite::SqliteConnectOptions> {
    let options: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
    Ok(options
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
        .foreign_keys(true))
}
