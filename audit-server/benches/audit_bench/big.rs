//! `--big`: the read path at 10,000,000 records.
//!
//! Seeding that many through HTTP would take the better part of an hour on this machine, and it
//! is the reads that this run is about, so the trail is written straight into the server's own
//! freshly migrated database: chained as the server chains (fingerprint, record, seal), its
//! Merkle tiles built as the server builds them, `createdAt` spread evenly over the past year so
//! PostgreSQL holds it in thirteen monthly partitions, the chain head set last. The rows go in by
//! `COPY` on PostgreSQL (through the partition routing and the idempotency-claim trigger) and by
//! prepared INSERTs on SQLite. Then the server starts on that database, checks nothing is amiss
//! (its checkpoint signs the tree's root), and the read phases of the normal run measure it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use audit_core::merkle::tiles::{self, TileId};
use audit_core::merkle::{Hash, record_leaf_hash};
use audit_server::store::Store;
use chrono::{DateTime, Datelike, Months, TimeZone, Utc};
use sea_orm::sqlx::{self, Connection};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::data::{Chainer, Generator, RawRow};
use crate::db::{Backend, Place};
use crate::load::Api;
use crate::report::Report;
use crate::run::{self, Plan, Reads};
use crate::server::{Sampler, ServeOptions, ServerProcess};
use crate::{bulk, stats::thousands};

/// Rows generated, chained and inserted at a time.
const CHUNK: usize = 100_000;

/// How far back the trail's first record is stored.
const SPAN: Duration = Duration::from_secs(365 * 24 * 3600);

/// What the seeding did.
struct Seeded {
    rows: u64,
    elapsed: Duration,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
}

/// Seeds `plan.records` records straight into a fresh database, then measures the reads.
pub async fn run(plan: &Plan, place: &mut Place) -> anyhow::Result<Report> {
    let backend = place.backend;
    let mut report = Report::new(backend, plan);
    let url = place.fresh("big").await?;
    let work_dir = std::env::temp_dir();

    eprintln!("[1/3] the server migrates a fresh database; an organization and a key over HTTP");
    let server = ServerProcess::start(&url, &work_dir, &ServeOptions::default()).await?;
    let api = Api::set_up(&server.base_url).await?;
    server.stop().await?;

    eprintln!(
        "[2/3] {} records chained and written straight into the database, createdAt over the past year",
        thousands(plan.records as f64)
    );
    let mut generator = Generator::new(plan.seed);
    let seeded = seed(backend, &url, api.org.id, plan.records, &mut generator).await?;
    report.records = seeded.rows;
    let partitions = partition_count(backend, &url).await?;
    report.notes.push(format!(
        "seeded without HTTP: {} records chained and written by {} in {:.0} s ({} rows/s, untimed by the targets), createdAt from {} to {}; {}",
        thousands(seeded.rows as f64),
        match backend {
            Backend::Postgres => "COPY (CSV, 100,000 rows per COPY)",
            Backend::Sqlite => "prepared 500-row INSERTs, 100,000 rows per transaction",
        },
        seeded.elapsed.as_secs_f64(),
        thousands(seeded.rows as f64 / seeded.elapsed.as_secs_f64()),
        audit_core::timestamp::format(&seeded.first),
        audit_core::timestamp::format(&seeded.last),
        match partitions {
            Some(count) => format!("{count} monthly partitions of audit_logs hold them"),
            None => "SQLite: one table (partitioning is PostgreSQL's)".to_owned(),
        }
    ));
    if let Some(size) = database_bytes(backend, &url).await? {
        report.notes.push(format!(
            "database size after seeding: {:.1} GB",
            size as f64 / 1e9
        ));
    }

    eprintln!("[3/3] the server on the seeded trail: reads");
    measure(plan, backend, &url, &api, &generator, &seeded, &mut report).await?;
    place.discard("big").await;
    Ok(report)
}

/// The read phases again on a trail `--big --keep` seeded before, at `url` (`--big-from`):
/// the same generator replays the events (their counts check the exports), a new key reads.
pub async fn rerun(plan: &Plan, url: &str) -> anyhow::Result<Report> {
    let backend = if url.starts_with("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let mut report = Report::new(backend, plan);
    let store = Store::connect(url).await?;
    let db = store.connection();
    let head = db
        .query_one_raw(Statement::from_string(
            backend.db_backend(),
            "SELECT org_id, seq FROM chain_heads ORDER BY seq DESC LIMIT 1",
        ))
        .await?
        .context("the database holds no trail")?;
    let org_id: Uuid = head.try_get("", "org_id")?;
    let size: i64 = head.try_get("", "seq")?;
    let first_seeded = existing_leaves_count(url, org_id).await?;
    let sql = match backend {
        Backend::Postgres => "SELECT created_at FROM audit_logs WHERE org_id = $1 AND seq = $2",
        Backend::Sqlite => "SELECT created_at FROM audit_logs WHERE org_id = ?1 AND seq = ?2",
    };
    let time_of = |seq: i64| {
        db.query_one_raw(Statement::from_sql_and_values(
            backend.db_backend(),
            sql,
            [org_id.into(), seq.into()],
        ))
    };
    let first: DateTime<Utc> = time_of(first_seeded + 1)
        .await?
        .context("the first seeded record")?
        .try_get("", "created_at")?;
    let last: DateTime<Utc> = time_of(size)
        .await?
        .context("the newest record")?
        .try_get("", "created_at")?;
    store.close().await?;
    let rows = (size - first_seeded) as u64;
    eprintln!(
        "  replaying the generator for {} events (their counts)",
        thousands(rows as f64)
    );
    let mut generator = Generator::new(plan.seed);
    for _ in 0..rows {
        generator.event();
    }
    report.records = rows;
    report.notes.push(format!(
        "the read phases on a trail seeded before by `--big --keep` ({} records, createdAt from {} to {})",
        thousands(rows as f64),
        audit_core::timestamp::format(&first),
        audit_core::timestamp::format(&last)
    ));
    if let Some(count) = partition_count(backend, url).await? {
        report
            .notes
            .push(format!("{count} monthly partitions of audit_logs hold them"));
    }
    let seeded = Seeded {
        rows,
        elapsed: Duration::ZERO,
        first,
        last,
    };
    let work_dir = std::env::temp_dir();
    let server = ServerProcess::start(url, &work_dir, &ServeOptions::default()).await?;
    let api = Api::for_existing(&server.base_url, org_id).await;
    server.stop().await?;
    measure(plan, backend, url, &api?, &generator, &seeded, &mut report).await?;
    Ok(report)
}

/// Starts the server on the seeded trail at `url` and runs the read phases as `api`'s
/// organization.
async fn measure(
    plan: &Plan,
    backend: Backend,
    url: &str,
    api: &Api,
    generator: &Generator,
    seeded: &Seeded,
    report: &mut Report,
) -> anyhow::Result<()> {
    let work_dir = std::env::temp_dir();
    let server = ServerProcess::start(url, &work_dir, &ServeOptions::default()).await?;
    let sampler = Sampler::start(server.pid);
    report.memory_at_start_kib = server.memory().map_or(0, |memory| memory.rss_kib);
    let api = api.at(&server.base_url);
    let phase = run::phase_recorder(&server, &sampler);
    let outcome = run::measure_reads(
        &Reads {
            plan,
            backend,
            trail_url: url,
            server: &server,
            sampler: &sampler,
            api: &api,
            generator,
            seed_start: seeded.first,
            seed_end: seeded.last,
        },
        report,
        &phase,
    )
    .await;
    drop(phase);
    report.peak_kib = server.memory().map_or(0, |memory| memory.hwm_kib);
    sampler.stop();
    server.stop().await?;
    outcome
}

/// Generates, chains and inserts `rows` records of `org_id` (its chain empty), builds their
/// Merkle tiles, and sets the organization's chain head and tree size.
async fn seed(
    backend: Backend,
    url: &str,
    org_id: Uuid,
    rows: usize,
    generator: &mut Generator,
) -> anyhow::Result<Seeded> {
    let last = Utc::now() - chrono::Duration::minutes(10);
    let first = last - chrono::Duration::from_std(SPAN)?;
    ensure_partitions(backend, url, first, last).await?;
    let step_ms = (SPAN.as_millis() as i64 / rows.max(1) as i64).max(1);

    // The server recorded the key's creation in the organization's own trail: the seeded
    // records continue that chain, and its leaves start the tree.
    let existing = existing_leaves(url, org_id).await?;
    let (after_seq, after_hash) = existing
        .last()
        .map_or((0, audit_core::GENESIS_HASH.to_owned()), |(seq, hash)| {
            (*seq, hash.clone())
        });

    // The generator runs on a thread of its own, a chunk ahead of the inserts.
    let (sender, mut receiver) = mpsc::channel::<Vec<RawRow>>(2);
    let mut events = std::mem::replace(generator, Generator::new(0));
    let producer = tokio::task::spawn_blocking(move || {
        let mut chainer = Chainer::after(org_id, Uuid::now_v7(), after_seq, &after_hash);
        let mut made = 0usize;
        while made < rows {
            let count = CHUNK.min(rows - made);
            let chunk: Vec<RawRow> = (made..made + count)
                .map(|index| {
                    let at = first + chrono::Duration::milliseconds(index as i64 * step_ms);
                    chainer.row_at(events.event(), at)
                })
                .collect();
            made += count;
            if sender.blocking_send(chunk).is_err() {
                break;
            }
        }
        events
    });

    let started = Instant::now();
    let mut sink = Sink::open(backend, url).await?;
    let mut tree: BTreeMap<TileId, Vec<Hash>> = BTreeMap::new();
    let mut size = 0u64;
    let mut head: Option<(i64, String, DateTime<Utc>)> = None;
    let mut pending: Vec<&str> = existing.iter().map(|(_, hash)| hash.as_str()).collect();
    while let Some(chunk) = receiver.recv().await {
        sink.insert(&chunk).await?;
        let leaves = pending
            .drain(..)
            .chain(chunk.iter().map(|row| row.hash.as_str()))
            .map(|hash| record_leaf_hash(hash).context("a row without a chain hash"))
            .collect::<anyhow::Result<Vec<Hash>>>()?;
        let edge = tiles::edge_tiles(size)
            .into_iter()
            .filter_map(|tile| tree.get(&tile).map(|hashes| (tile, hashes.clone())))
            .collect();
        tree.extend(tiles::append(size, &edge, &leaves).context("the tree's edge")?);
        size += leaves.len() as u64;
        if let Some(row) = chunk.last() {
            head = Some((row.seq, row.hash.clone(), row.created_at));
        }
        if size / 1_000_000 != (size - leaves.len() as u64) / 1_000_000 {
            eprintln!(
                "  {} rows in {:.0} s",
                thousands(size as f64),
                started.elapsed().as_secs_f64()
            );
        }
    }
    *generator = producer.await?;
    let rows = size - existing.len() as u64;
    sink.close().await?;
    let (seq, hash, created_at) = head.context("no rows were generated")?;
    ensure!(seq as u64 == size, "{size} leaves for {seq} records");

    let store = Store::connect(url).await?;
    let db = store.connection();
    for chunk in tree.into_iter().collect::<Vec<_>>().chunks(5_000) {
        audit_server::store::merkle::write_tiles(db, org_id, chunk.iter().cloned().collect()).await?;
    }
    let sql = match backend {
        Backend::Postgres => {
            "UPDATE chain_heads SET seq = $1, hash = $2, created_at = $3, tree_size = $1 WHERE org_id = $4"
        }
        Backend::Sqlite => {
            "UPDATE chain_heads SET seq = ?1, hash = ?2, created_at = ?3, tree_size = ?1 WHERE org_id = ?4"
        }
    };
    let updated = db
        .execute_raw(Statement::from_sql_and_values(
            backend.db_backend(),
            sql,
            [seq.into(), hash.into(), created_at.into(), org_id.into()],
        ))
        .await?;
    ensure!(
        updated.rows_affected() == 1,
        "the organization has no chain head row"
    );
    if backend == Backend::Postgres {
        db.execute_unprepared("ANALYZE").await?;
    }
    store.close().await?;
    Ok(Seeded {
        rows,
        elapsed: started.elapsed(),
        first,
        last: created_at,
    })
}

/// How many records `org_id` had before the seeding: the server's own at the start of the
/// trail (made over HTTP, no recording key), before the first seeded one.
async fn existing_leaves_count(url: &str, org_id: Uuid) -> anyhow::Result<i64> {
    let store = Store::connect(url).await?;
    let backend = store.connection().get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT recorded_by IS NULL AS own FROM audit_logs WHERE org_id = $1 ORDER BY seq LIMIT 100"
        }
        _ => "SELECT recorded_by IS NULL AS own FROM audit_logs WHERE org_id = ?1 ORDER BY seq LIMIT 100",
    };
    let rows = store
        .connection()
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [org_id.into()]))
        .await?;
    store.close().await?;
    let mut count = 0;
    for row in rows {
        if !row.try_get::<bool>("", "own")? {
            break;
        }
        count += 1;
    }
    Ok(count)
}

/// The `(seq, hash)` of the records `org_id` already has, in order.
async fn existing_leaves(url: &str, org_id: Uuid) -> anyhow::Result<Vec<(i64, String)>> {
    let store = Store::connect(url).await?;
    let backend = store.connection().get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT seq, hash FROM audit_logs WHERE org_id = $1 ORDER BY seq",
        _ => "SELECT seq, hash FROM audit_logs WHERE org_id = ?1 ORDER BY seq",
    };
    let rows = store
        .connection()
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [org_id.into()]))
        .await?;
    store.close().await?;
    rows.iter()
        .map(|row| Ok((row.try_get::<i64>("", "seq")?, row.try_get::<String>("", "hash")?)))
        .collect()
}

/// Where the chunks go: one connection, one COPY (PostgreSQL) or one transaction (SQLite) per
/// chunk.
enum Sink {
    Postgres(sqlx::PgConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl Sink {
    async fn open(backend: Backend, url: &str) -> anyhow::Result<Self> {
        Ok(match backend {
            Backend::Postgres => Sink::Postgres(sqlx::PgConnection::connect(url).await?),
            Backend::Sqlite => {
                Sink::Sqlite(sqlx::SqliteConnection::connect_with(&bulk::sqlite_options(url)?).await?)
            }
        })
    }

    async fn insert(&mut self, rows: &[RawRow]) -> anyhow::Result<()> {
        match self {
            Sink::Postgres(conn) => {
                let copied = bulk::copy_csv(conn, &bulk::csv_of(rows)).await?;
                ensure!(
                    copied == rows.len() as u64,
                    "COPY stored {copied} of {} rows",
                    rows.len()
                );
            }
            Sink::Sqlite(conn) => {
                let mut tx = conn.begin().await?;
                bulk::insert_sqlite(&mut tx, rows).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    async fn close(self) -> anyhow::Result<()> {
        match self {
            Sink::Postgres(conn) => conn.close().await?,
            Sink::Sqlite(conn) => conn.close().await?,
        }
        Ok(())
    }
}

/// Makes the monthly partitions from `first`'s month to `last`'s (PostgreSQL).
async fn ensure_partitions(
    backend: Backend,
    url: &str,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
) -> anyhow::Result<()> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let store = Store::connect(url).await?;
    let mut month = Utc
        .with_ymd_and_hms(first.year(), first.month(), 1, 0, 0, 0)
        .single()
        .context("the first month")?;
    while month <= last {
        store
            .connection()
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT audit_logs_ensure_partition($1)",
                [month.into()],
            ))
            .await?;
        month = month
            .checked_add_months(Months::new(1))
            .context("the next month")?;
    }
    store.close().await?;
    Ok(())
}

/// How many partitions `audit_logs` has (`None` on SQLite).
async fn partition_count(backend: Backend, url: &str) -> anyhow::Result<Option<usize>> {
    if backend != Backend::Postgres {
        return Ok(None);
    }
    let store = Store::connect(url).await?;
    let partitions = audit_server::store::partitions::list(store.connection()).await?;
    store.close().await?;
    Ok(Some(partitions.len()))
}

/// The database's size on disk (PostgreSQL; `None` on SQLite, whose file the run removes).
async fn database_bytes(backend: Backend, url: &str) -> anyhow::Result<Option<i64>> {
    if backend != Backend::Postgres {
        return Ok(None);
    }
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(Some(size))
}
