//! Each organization's Merkle tree: the `merkle_tiles` table, `chain_heads.tree_size`, and the
//! tree built for the records already stored. A trail whose first records were purged before
//! this migration cannot have its tree built (the purged leaves are gone): it keeps tree size
//! 0 and no tree, which its proof and checkpoint answers say.

use std::collections::BTreeMap;

use audit_core::merkle::tiles::{self, TileId};
use audit_core::merkle::{Hash, record_leaf_hash};
use sea_orm::{ConnectionTrait, FromQueryResult};
use sea_orm_migration::prelude::*;

use crate::store::merkle::write_tiles;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MerkleTiles {
    Table,
    OrgId,
    Level,
    TileIndex,
    Hashes,
}

#[derive(DeriveIden)]
enum ChainHeads {
    Table,
    OrgId,
    Seq,
    TreeSize,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    OrgId,
    Seq,
    Hash,
}

#[derive(FromQueryResult)]
struct Head {
    org_id: uuid::Uuid,
    seq: i64,
}

#[derive(FromQueryResult)]
struct Leaf {
    seq: i64,
    hash: String,
}

/// Records read at once while building a tree.
const CHUNK: u64 = 10_000;

/// Builds `head`'s tree from its records; `false` if its first records are gone.
async fn build_tree(db: &impl ConnectionTrait, head: &Head) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let mut tiles: BTreeMap<TileId, Vec<Hash>> = BTreeMap::new();
    let mut size = 0u64;
    while (size as i64) < head.seq {
        let query = Query::select()
            .columns([AuditLogs::Seq, AuditLogs::Hash])
            .from(AuditLogs::Table)
            .and_where(Expr::col(AuditLogs::OrgId).eq(head.org_id))
            .and_where(Expr::col(AuditLogs::Seq).gt(size as i64))
            .order_by(AuditLogs::Seq, Order::Asc)
            .limit(CHUNK)
            .to_owned();
        let rows = Leaf::find_by_statement(backend.build(&query)).all(db).await?;
        let mut leaves = Vec::with_capacity(rows.len());
        for (offset, row) in rows.iter().enumerate() {
            if row.seq as u64 != size + 1 + offset as u64 {
                return Ok(false);
            }
            leaves.push(
                record_leaf_hash(&row.hash)
                    .ok_or_else(|| DbErr::Custom(format!("record {} has no chain hash", row.seq)))?,
            );
        }
        if leaves.is_empty() {
            return Ok(false);
        }
        let edge = tiles::edge_tiles(size)
            .into_iter()
            .filter_map(|tile| tiles.get(&tile).map(|hashes| (tile, hashes.clone())))
            .collect();
        let changed =
            tiles::append(size, &edge, &leaves).ok_or_else(|| DbErr::Custom("tree build".to_owned()))?;
        tiles.extend(changed);
        size += leaves.len() as u64;
    }
    write_tiles(db, head.org_id, tiles).await?;
    let update = Query::update()
        .table(ChainHeads::Table)
        .value(ChainHeads::TreeSize, head.seq)
        .and_where(Expr::col(ChainHeads::OrgId).eq(head.org_id))
        .to_owned();
    db.execute(&update).await?;
    Ok(true)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MerkleTiles::Table)
                    .col(ColumnDef::new(MerkleTiles::OrgId).uuid().not_null())
                    .col(ColumnDef::new(MerkleTiles::Level).small_integer().not_null())
                    .col(ColumnDef::new(MerkleTiles::TileIndex).big_integer().not_null())
                    .col(ColumnDef::new(MerkleTiles::Hashes).blob().not_null())
                    .primary_key(
                        Index::create()
                            .col(MerkleTiles::OrgId)
                            .col(MerkleTiles::Level)
                            .col(MerkleTiles::TileIndex),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ChainHeads::Table)
                    .add_column(
                        ColumnDef::new(ChainHeads::TreeSize)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let query = Query::select()
            .columns([ChainHeads::OrgId, ChainHeads::Seq])
            .from(ChainHeads::Table)
            .and_where(Expr::col(ChainHeads::Seq).gt(0))
            .to_owned();
        let heads = Head::find_by_statement(db.get_database_backend().build(&query))
            .all(db)
            .await?;
        for head in heads {
            if !build_tree(db, &head).await? {
                tracing::warn!(org_id = %head.org_id, "its first records were purged before the Merkle tree existed: it has no tree");
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ChainHeads::Table)
                    .drop_column(ChainHeads::TreeSize)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(MerkleTiles::Table).to_owned())
            .await
    }
}
