//! The raw limit: the same generated rows inserted straight into an identical, freshly migrated
//! `audit_logs` (every index and trigger included), with `seq` and hashes computed beforehand.
//! PostgreSQL: one `COPY ... FROM STDIN (FORMAT csv)`. SQLite: prepared multi-row INSERTs of
//! 500 rows in one transaction, with the server's pragmas (WAL, `synchronous = FULL`).

use std::time::{Duration, Instant};

use anyhow::Context;
use audit_server::store::Store;
use chrono::Utc;
use sea_orm::sqlx::{self, AssertSqlSafe, Connection};
use uuid::Uuid;

use crate::data::{COLUMNS, Chainer, Generator, RawRow};
use crate::db::Backend;

/// Rows per INSERT statement on SQLite (25 parameters each, well under SQLite's 32,766).
const SQLITE_ROWS_PER_STATEMENT: usize = 500;

/// What the raw insert measured.
#[derive(Debug, Clone)]
pub struct RawLimit {
    /// Rows inserted.
    pub rows: u64,
    /// Time from the first byte sent to the commit.
    pub elapsed: Duration,
    /// The average stored payload of a row, in bytes.
    pub avg_row_bytes: f64,
    /// How the rows went in.
    pub method: &'static str,
}

impl RawLimit {
    /// Rows per second.
    pub fn rate(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

/// Migrates the database at `url`, makes its organization, and inserts `rows` rows.
pub async fn measure(backend: Backend, url: &str, rows: usize, seed: u64) -> anyhow::Result<RawLimit> {
    let store = Store::connect(url).await.context("connect for the raw limit")?;
    store.migrate().await.context("migrate the raw-limit database")?;
    store.close().await?;

    let org_id = Uuid::now_v7();
    let mut generator = Generator::new(seed);
    let mut chainer = Chainer::new(org_id, Uuid::now_v7());
    eprintln!("  generating and chaining {rows} rows (not timed)...");
    let mut payload = 0usize;
    match backend {
        Backend::Postgres => {
            let mut csv = Vec::with_capacity(rows * 1200);
            for _ in 0..rows {
                let row = chainer.row(generator.event());
                payload += row.payload_bytes();
                row.push_csv(&mut csv);
            }
            let mut conn = sqlx::PgConnection::connect(url).await?;
            sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(org_id)
                .bind("raw limit")
                .bind(Utc::now())
                .execute(&mut conn)
                .await?;
            eprintln!("  COPY of {rows} rows ({} MB of CSV)...", csv.len() / 1_000_000);
            let statement = format!("COPY audit_logs ({}) FROM STDIN (FORMAT csv)", COLUMNS.join(", "));
            let started = Instant::now();
            let mut copy = conn.copy_in_raw(&statement).await?;
            for chunk in csv.chunks(1 << 20) {
                copy.send(chunk).await?;
            }
            let copied = copy.finish().await?;
            let elapsed = started.elapsed();
            anyhow::ensure!(copied == rows as u64, "COPY stored {copied} rows, not {rows}");
            conn.close().await?;
            Ok(RawLimit {
                rows: copied,
                elapsed,
                avg_row_bytes: payload as f64 / rows as f64,
                method: "one COPY FROM STDIN (CSV)",
            })
        }
        Backend::Sqlite => {
            let all: Vec<RawRow> = (0..rows)
                .map(|_| {
                    let row = chainer.row(generator.event());
                    payload += row.payload_bytes();
                    row
                })
                .collect();
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
            let options = options
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                .foreign_keys(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
            sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)")
                .bind(org_id)
                .bind("raw limit")
                .bind(Utc::now())
                .execute(&mut conn)
                .await?;
            eprintln!("  INSERT of {rows} rows in one transaction...");
            let started = Instant::now();
            let mut tx = conn.begin().await?;
            for chunk in all.chunks(SQLITE_ROWS_PER_STATEMENT) {
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
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            let elapsed = started.elapsed();
            conn.close().await?;
            Ok(RawLimit {
                rows: rows as u64,
                elapsed,
                avg_row_bytes: payload as f64 / rows as f64,
                method: "prepared 500-row INSERTs in one transaction",
            })
        }
    }
}
