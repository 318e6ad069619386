//! The raw limit: the same generated rows inserted straight into an identical, freshly migrated
//! `audit_logs` (every index and trigger included), with `seq` and hashes computed beforehand.
//! PostgreSQL: one `COPY ... FROM STDIN (FORMAT csv)`. SQLite: prepared multi-row INSERTs of
//! 500 rows in one transaction, with the server's pragmas (WAL, `synchronous = FULL`).

use std::time::{Duration, Instant};

use anyhow::Context;
use audit_server::store::Store;
use chrono::Utc;
use sea_orm::sqlx::{self, Connection};
use uuid::Uuid;

use crate::bulk;
use crate::data::{Chainer, Generator, RawRow};
use crate::db::Backend;

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
    match backend {
        Backend::Postgres => {
            let all: Vec<RawRow> = (0..rows).map(|_| chainer.row(generator.event())).collect();
            let payload: usize = all.iter().map(RawRow::payload_bytes).sum();
            let csv = bulk::csv_of(&all);
            let mut conn = sqlx::PgConnection::connect(url).await?;
            sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(org_id)
                .bind("raw limit")
                .bind(Utc::now())
                .execute(&mut conn)
                .await?;
            eprintln!("  COPY of {rows} rows ({} MB of CSV)...", csv.len() / 1_000_000);
            let started = Instant::now();
            let copied = bulk::copy_csv(&mut conn, &csv).await?;
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
            let all: Vec<RawRow> = (0..rows).map(|_| chainer.row(generator.event())).collect();
            let payload: usize = all.iter().map(RawRow::payload_bytes).sum();
            let mut conn = sqlx::SqliteConnection::connect_with(&bulk::sqlite_options(url)?).await?;
            sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)")
                .bind(org_id)
                .bind("raw limit")
                .bind(Utc::now())
                .execute(&mut conn)
                .await?;
            eprintln!("  INSERT of {rows} rows in one transaction...");
            let started = Instant::now();
            let mut tx = conn.begin().await?;
            bulk::insert_sqlite(&mut tx, &all).await?;
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
