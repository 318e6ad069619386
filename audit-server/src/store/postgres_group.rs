//! A group commit on PostgreSQL in a fixed number of statements, however many events and
//! organizations it holds: the chain heads are locked in one statement, every row goes in one
//! `INSERT … SELECT FROM UNNEST(…)` (27 array parameters instead of 27 per row), the Merkle
//! tiles are read and written in one statement each, and the heads move in one `UPDATE`.
//!
//! Invariants: heads are locked in `org_id` order (as the one-by-one path does), so lanes and
//! processes never deadlock; the append is optimistic (a row whose id is claimed already is
//! skipped by the `audit_logs_claim_key` trigger, no idempotency lookup), and when a row was skipped it rolls back and answers `None`, for the
//! caller to append again with the lookup; nothing is stored unless the whole group commits.

use std::collections::{BTreeMap, HashMap};

use audit_core::AuditRecord;
use audit_core::merkle::Hash;
use audit_core::merkle::tiles::{self, TileId};
use chrono::{DateTime, Utc};
use sea_orm::sqlx::types::Json;
use sea_orm::sqlx::{self, PgPool, Postgres, Row, Transaction};
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::append::{Appended, OrgPlacement, OrgWork, Placed, created, leaves};
use super::entity::chain_head;

/// Locks the heads of a group's organizations, in `org_id` order.
const LOCK_HEADS: &str = "SELECT org_id, seq, hash, created_at, tree_size FROM chain_heads \
     WHERE org_id = ANY($1) ORDER BY org_id FOR UPDATE";

/// Inserts every row of the group; a row whose `(org_id, id)` is stored already is skipped (by
/// the `audit_logs_claim_key` trigger of `m20261207_000002`: the partitioned table can have no
/// unique index on it).
const INSERT_ROWS: &str = "INSERT INTO audit_logs (org_id, seq, id, created_at, occurred_at, actor_type, \
     user_id, api_key_id, user_org_role, project_id, user_project_role, resource_type, resource_id, \
     action, before, after, ip_address, user_agent, request_id, trace_id, metadata, recorded_by, \
     prev_hash, hash, content_hash, on_behalf_of, impersonated_by) \
     SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::uuid[], $4::timestamptz[], $5::timestamptz[], \
     $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], \
     $14::text[], $15::jsonb[], $16::jsonb[], $17::text[], $18::text[], $19::text[], $20::text[], \
     $21::jsonb[], $22::uuid[], $23::text[], $24::text[], $25::text[], \
     $26::text[], $27::text[])";

/// Reads the right-edge tiles of the group's trees.
const READ_TILES: &str = "SELECT t.org_id, t.level, t.tile_index, t.hashes FROM merkle_tiles t \
     JOIN UNNEST($1::uuid[], $2::int2[], $3::int8[]) AS wanted(org_id, level, tile_index) \
     ON t.org_id = wanted.org_id AND t.level = wanted.level AND t.tile_index = wanted.tile_index";

/// Stores the changed tiles, replacing the stored ones of the same place.
const WRITE_TILES: &str = "INSERT INTO merkle_tiles (org_id, level, tile_index, hashes) \
     SELECT * FROM UNNEST($1::uuid[], $2::int2[], $3::int8[], $4::bytea[]) \
     ON CONFLICT (org_id, level, tile_index) DO UPDATE SET hashes = EXCLUDED.hashes";

/// Moves the heads.
const MOVE_HEADS: &str = "UPDATE chain_heads AS head SET seq = moved.seq, hash = moved.hash, \
     created_at = moved.created_at, tree_size = moved.tree_size \
     FROM UNNEST($1::uuid[], $2::int8[], $3::text[], $4::timestamptz[], $5::int8[]) \
     AS moved(org_id, seq, hash, created_at, tree_size) WHERE head.org_id = moved.org_id";

/// Appends the organizations' records (in `org_id` order) in one transaction, without looking
/// their ids up; answers each organization's [`Appended`] in the order given, or `None` (after
/// rolling back) when an event's id was stored already. An organization's predictions are used
/// when they chain from the head locked here; else its records are placed again on that head.
pub(crate) async fn append_group(
    pool: &PgPool,
    orgs: Vec<OrgWork<'_>>,
) -> Result<Option<Vec<Appended>>, DbErr> {
    let mut txn = pool.begin().await.map_err(db_error)?;
    let org_ids: Vec<Uuid> = orgs.iter().map(|work| work.org_id).collect();
    let mut heads = lock_heads(&mut txn, &org_ids).await?;
    let mut placed = Vec::with_capacity(orgs.len());
    for work in orgs {
        let old = heads
            .remove(&work.org_id)
            .ok_or_else(|| DbErr::RecordNotFound(format!("chain head of organization {}", work.org_id)))?;
        placed.push(OrgPlacement::new(work, old, HashMap::new(), true));
    }

    let rows = Rows::of(placed.iter().map(|org| &org.placed));
    if rows.len() > 0 {
        let expected = rows.len() as u64;
        let inserted = rows.insert(&mut txn).await?;
        if inserted != expected {
            txn.rollback().await.map_err(db_error)?;
            return Ok(None);
        }
        extend_trees(&mut txn, &placed).await?;
        move_heads(&mut txn, &placed).await?;
    }
    txn.commit().await.map_err(db_error)?;
    Ok(Some(placed.into_iter().map(OrgPlacement::appended).collect()))
}

async fn lock_heads(
    txn: &mut Transaction<'_, Postgres>,
    org_ids: &[Uuid],
) -> Result<HashMap<Uuid, chain_head::Model>, DbErr> {
    let rows = sqlx::query(LOCK_HEADS)
        .bind(org_ids)
        .fetch_all(&mut **txn)
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let head = chain_head::Model {
                org_id: row.try_get(0)?,
                seq: row.try_get(1)?,
                hash: row.try_get(2)?,
                created_at: row.try_get(3)?,
                tree_size: row.try_get(4)?,
            };
            Ok((head.org_id, head))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(db_error)
}

/// The group's new rows, column by column, borrowed from the placed records (no copies).
#[derive(Default)]
struct Rows<'a> {
    org_id: Vec<Uuid>,
    seq: Vec<i64>,
    id: Vec<Uuid>,
    created_at: Vec<DateTime<Utc>>,
    occurred_at: Vec<DateTime<Utc>>,
    actor_type: Vec<&'static str>,
    user_id: Vec<Option<&'a str>>,
    api_key_id: Vec<Option<&'a str>>,
    user_org_role: Vec<Option<&'static str>>,
    project_id: Vec<Option<&'a str>>,
    user_project_role: Vec<Option<&'static str>>,
    resource_type: Vec<&'a str>,
    resource_id: Vec<&'a str>,
    action: Vec<&'a str>,
    before: Vec<Option<Json<&'a Value>>>,
    after: Vec<Option<Json<&'a Value>>>,
    ip_address: Vec<Option<&'a str>>,
    user_agent: Vec<Option<&'a str>>,
    request_id: Vec<Option<&'a str>>,
    trace_id: Vec<Option<&'a str>>,
    metadata: Vec<Option<Json<&'a Map<String, Value>>>>,
    recorded_by: Vec<Option<Uuid>>,
    prev_hash: Vec<&'a str>,
    hash: Vec<&'a str>,
    content_hash: Vec<&'a str>,
    on_behalf_of: Vec<Option<&'a str>>,
    impersonated_by: Vec<Option<&'a str>>,
}

impl<'a> Rows<'a> {
    fn of(groups: impl Iterator<Item = &'a Placed>) -> Self {
        let mut rows = Rows::default();
        for appended in groups {
            for (record, fingerprint) in created(&appended.outcomes).zip(&appended.fingerprints) {
                rows.push(record, fingerprint);
            }
        }
        rows
    }

    fn push(&mut self, record: &'a AuditRecord, fingerprint: &'a str) {
        self.org_id.push(record.org_id);
        self.seq.push(record.seq);
        self.id.push(record.id);
        self.created_at.push(record.created_at);
        self.occurred_at.push(record.occurred_at);
        self.actor_type.push(record.actor_type.as_str());
        self.user_id.push(record.user_id.as_deref());
        self.api_key_id.push(record.api_key_id.as_deref());
        self.user_org_role
            .push(record.user_org_role.map(|role| role.as_str()));
        self.project_id.push(record.project_id.as_deref());
        self.user_project_role
            .push(record.user_project_role.map(|role| role.as_str()));
        self.resource_type.push(&record.resource_type);
        self.resource_id.push(&record.resource_id);
        self.action.push(&record.action);
        self.before.push(record.before.as_ref().map(Json));
        self.after.push(record.after.as_ref().map(Json));
        self.ip_address.push(record.ip_address.as_deref());
        self.user_agent.push(record.user_agent.as_deref());
        self.request_id.push(record.request_id.as_deref());
        self.trace_id.push(record.trace_id.as_deref());
        self.on_behalf_of.push(record.on_behalf_of.as_deref());
        self.impersonated_by.push(record.impersonated_by.as_deref());
        self.metadata.push(record.metadata.as_ref().map(Json));
        self.recorded_by.push(record.recorded_by);
        self.prev_hash.push(&record.prev_hash);
        self.hash.push(&record.hash);
        self.content_hash.push(fingerprint);
    }

    fn len(&self) -> usize {
        self.seq.len()
    }

    /// Inserts the rows; answers how many were stored (fewer when an id was stored before).
    async fn insert(self, txn: &mut Transaction<'_, Postgres>) -> Result<u64, DbErr> {
        let done = sqlx::query(INSERT_ROWS)
            .bind(self.org_id)
            .bind(self.seq)
            .bind(self.id)
            .bind(self.created_at)
            .bind(self.occurred_at)
            .bind(self.actor_type)
            .bind(self.user_id)
            .bind(self.api_key_id)
            .bind(self.user_org_role)
            .bind(self.project_id)
            .bind(self.user_project_role)
            .bind(self.resource_type)
            .bind(self.resource_id)
            .bind(self.action)
            .bind(self.before)
            .bind(self.after)
            .bind(self.ip_address)
            .bind(self.user_agent)
            .bind(self.request_id)
            .bind(self.trace_id)
            .bind(self.metadata)
            .bind(self.recorded_by)
            .bind(self.prev_hash)
            .bind(self.hash)
            .bind(self.content_hash)
            .bind(self.on_behalf_of)
            .bind(self.impersonated_by)
            .execute(&mut **txn)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}

/// Grows the trees of the organizations that keep one: their edge tiles are read in one
/// statement and the changed tiles written in one.
async fn extend_trees(txn: &mut Transaction<'_, Postgres>, orgs: &[OrgPlacement]) -> Result<(), DbErr> {
    let growing: Vec<&OrgPlacement> = orgs.iter().filter(|org| org.tree_grows()).collect();
    if growing.is_empty() {
        return Ok(());
    }
    let wanted: Vec<(Uuid, TileId)> = growing
        .iter()
        .flat_map(|org| {
            tiles::edge_tiles(org.old.tree_size as u64)
                .into_iter()
                .map(|tile| (org.old.org_id, tile))
        })
        .collect();
    let mut edges = read_tiles(txn, &wanted).await?;
    let mut changed: Vec<(Uuid, TileId, Vec<u8>)> = Vec::new();
    for org in growing {
        let org_id = org.old.org_id;
        let edge = edges.remove(&org_id).unwrap_or_default();
        let size = org.old.tree_size as u64;
        let tiles = tiles::append(size, &edge, &leaves(&org.placed.outcomes)?).ok_or_else(|| {
            DbErr::Custom(format!(
                "the Merkle tree of organization {org_id} is not {size} leaves"
            ))
        })?;
        changed.extend(
            tiles
                .into_iter()
                .map(|(tile, hashes)| (org_id, tile, hashes.concat())),
        );
    }
    write_tiles(txn, changed).await
}

async fn read_tiles(
    txn: &mut Transaction<'_, Postgres>,
    wanted: &[(Uuid, TileId)],
) -> Result<HashMap<Uuid, BTreeMap<TileId, Vec<Hash>>>, DbErr> {
    let mut edges: HashMap<Uuid, BTreeMap<TileId, Vec<Hash>>> = HashMap::new();
    if wanted.is_empty() {
        return Ok(edges);
    }
    let org_ids: Vec<Uuid> = wanted.iter().map(|(org_id, _)| *org_id).collect();
    let levels: Vec<i16> = wanted.iter().map(|(_, tile)| i16::from(tile.level)).collect();
    let indexes: Vec<i64> = wanted.iter().map(|(_, tile)| tile.index as i64).collect();
    let rows = sqlx::query(READ_TILES)
        .bind(org_ids)
        .bind(levels)
        .bind(indexes)
        .fetch_all(&mut **txn)
        .await
        .map_err(db_error)?;
    for row in rows {
        let org_id: Uuid = row.try_get(0).map_err(db_error)?;
        let level: i16 = row.try_get(1).map_err(db_error)?;
        let index: i64 = row.try_get(2).map_err(db_error)?;
        let bytes: Vec<u8> = row.try_get(3).map_err(db_error)?;
        let tile = TileId {
            level: level as u8,
            index: index as u64,
        };
        edges
            .entry(org_id)
            .or_default()
            .insert(tile, super::merkle::to_hashes(&bytes));
    }
    Ok(edges)
}

async fn write_tiles(
    txn: &mut Transaction<'_, Postgres>,
    changed: Vec<(Uuid, TileId, Vec<u8>)>,
) -> Result<(), DbErr> {
    if changed.is_empty() {
        return Ok(());
    }
    let mut org_ids = Vec::with_capacity(changed.len());
    let mut levels = Vec::with_capacity(changed.len());
    let mut indexes = Vec::with_capacity(changed.len());
    let mut hashes = Vec::with_capacity(changed.len());
    for (org_id, tile, bytes) in changed {
        org_ids.push(org_id);
        levels.push(i16::from(tile.level));
        indexes.push(tile.index as i64);
        hashes.push(bytes);
    }
    sqlx::query(WRITE_TILES)
        .bind(org_ids)
        .bind(levels)
        .bind(indexes)
        .bind(hashes)
        .execute(&mut **txn)
        .await
        .map_err(db_error)?;
    Ok(())
}

async fn move_heads(txn: &mut Transaction<'_, Postgres>, orgs: &[OrgPlacement]) -> Result<(), DbErr> {
    let moved: Vec<&chain_head::Model> = orgs
        .iter()
        .filter(|org| org.head_moves())
        .map(|org| &org.placed.head)
        .collect();
    sqlx::query(MOVE_HEADS)
        .bind(moved.iter().map(|head| head.org_id).collect::<Vec<_>>())
        .bind(moved.iter().map(|head| head.seq).collect::<Vec<_>>())
        .bind(moved.iter().map(|head| head.hash.as_str()).collect::<Vec<_>>())
        .bind(moved.iter().map(|head| head.created_at).collect::<Vec<_>>())
        .bind(moved.iter().map(|head| head.tree_size).collect::<Vec<_>>())
        .execute(&mut **txn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// The error sea-orm would give for `error`, so that callers tell an unavailable database
/// (answered 503) from a failed statement.
fn db_error(error: sqlx::Error) -> DbErr {
    match error {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => {
            DbErr::Conn(RuntimeErr::SqlxError(error.into()))
        }
        other => DbErr::Exec(RuntimeErr::SqlxError(other.into())),
    }
}
