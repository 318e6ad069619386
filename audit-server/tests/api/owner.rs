//! What a database owner can do behind the server's back, on either backend: run statements
//! with the append-only triggers switched off, take an organization's trail back to an earlier
//! record (as if the later ones had never been written), and back up and restore the whole
//! database. Callers stop the server first when it must not see the change half done.

use std::collections::BTreeMap;
use std::path::PathBuf;

use audit_core::GENESIS_HASH;
use audit_core::merkle::{record_leaf_hash, tiles};
use audit_server::testing::{Backend, POSTGRES_URL_VAR, TestServer};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, FromQueryResult,
    Statement, TransactionTrait,
};
use uuid::Uuid;

/// SQLite's append-only triggers, as the migrations leave them: dropped for the owner's
/// statements and created again before the commit.
const SQLITE_TRIGGERS: [(&str, &str); 2] = [
    (
        "DROP TRIGGER audit_logs_no_update",
        "CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs \
         BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only: UPDATE is not allowed'); END",
    ),
    (
        "DROP TRIGGER audit_logs_no_delete_unless_purged",
        "CREATE TRIGGER audit_logs_no_delete_unless_purged BEFORE DELETE ON audit_logs \
         WHEN NOT EXISTS (SELECT 1 FROM purge_authorizations p \
                          WHERE p.org_id = OLD.org_id AND OLD.seq <= p.up_to_seq) \
         BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only: DELETE is not allowed'); END",
    ),
];

/// A transaction of the database owner's in which the append-only triggers do not fire:
/// PostgreSQL's replica role skips ordinary triggers until the transaction ends; SQLite's are
/// dropped and, in [`commit`], created again.
pub async fn begin(server: &TestServer) -> (DatabaseConnection, DatabaseTransaction) {
    let db = Database::connect(server.database_url())
        .await
        .expect("direct database connection");
    let txn = db.begin().await.expect("begin");
    let switches_off: Vec<&str> = match server.backend() {
        Backend::Postgres => vec!["SET LOCAL session_replication_role = replica"],
        Backend::Sqlite => SQLITE_TRIGGERS.iter().map(|(drop, _)| *drop).collect(),
    };
    for sql in switches_off {
        txn.execute_unprepared(sql)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    }
    (db, txn)
}

/// Switches the triggers on again and commits `txn`.
pub async fn commit(server: &TestServer, db: DatabaseConnection, txn: DatabaseTransaction) {
    if server.backend() == Backend::Sqlite {
        for (_, create) in SQLITE_TRIGGERS {
            txn.execute_unprepared(create).await.expect("recreate trigger");
        }
    }
    txn.commit().await.expect("commit");
    db.close().await.expect("close");
}

/// Runs `sql` with the triggers off.
pub async fn execute(server: &TestServer, sql: &str) {
    let (db, txn) = begin(server).await;
    txn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    commit(server, db, txn).await;
}

#[derive(FromQueryResult)]
struct Leaf {
    seq: i64,
    hash: String,
}

fn table(name: &str) -> Alias {
    Alias::new(name)
}

/// Takes `org_id`'s trail back to its record `keep` (0: to nothing): deletes the later
/// records, the checkpoints and cosignatures past it, rebuilds the Merkle tree of the records
/// left and rewinds the chain head, so that the server appends after `keep` as if nothing had
/// come after it. Only a witness or an auditor who saw the later history can tell.
pub async fn rewind(server: &TestServer, org_id: Uuid, keep: i64) {
    let (db, txn) = begin(server).await;
    let backend = txn.get_database_backend();
    for name in ["audit_logs", "checkpoint_cosignatures", "checkpoints"] {
        let delete = Query::delete()
            .from_table(table(name))
            .and_where(Expr::col(table("org_id")).eq(org_id))
            .and_where(Expr::col(table("seq")).gt(keep))
            .to_owned();
        txn.execute(&delete).await.expect(name);
    }
    let leaves = Query::select()
        .columns([table("seq"), table("hash")])
        .from(table("audit_logs"))
        .and_where(Expr::col(table("org_id")).eq(org_id))
        .order_by(table("seq"), Order::Asc)
        .to_owned();
    let leaves = Leaf::find_by_statement(backend.build(&leaves))
        .all(&txn)
        .await
        .expect("records left");
    assert_eq!(leaves.len() as i64, keep, "records 1 to {keep} are left");
    assert!(leaves.iter().zip(1..).all(|(leaf, seq)| leaf.seq == seq));
    rebuild_tree(&txn, org_id, &leaves).await;
    let head_hash = leaves.last().map_or(GENESIS_HASH, |leaf| leaf.hash.as_str());
    let head = Query::update()
        .table(table("chain_heads"))
        .value(table("seq"), keep)
        .value(table("hash"), head_hash)
        .value(table("tree_size"), keep)
        .and_where(Expr::col(table("org_id")).eq(org_id))
        .to_owned();
    txn.execute(&head).await.expect("chain head");
    commit(server, db, txn).await;
}

/// Replaces `org_id`'s tiles with those of a tree of `leaves`.
async fn rebuild_tree(txn: &DatabaseTransaction, org_id: Uuid, leaves: &[Leaf]) {
    let delete = Query::delete()
        .from_table(table("merkle_tiles"))
        .and_where(Expr::col(table("org_id")).eq(org_id))
        .to_owned();
    txn.execute(&delete).await.expect("tiles");
    let hashes: Vec<_> = leaves
        .iter()
        .map(|leaf| record_leaf_hash(&leaf.hash).expect("a chain hash"))
        .collect();
    let built = tiles::append(0, &BTreeMap::new(), &hashes).expect("a tree from nothing");
    for (tile, hashes) in built {
        let insert = Query::insert()
            .into_table(table("merkle_tiles"))
            .columns([
                table("org_id"),
                table("level"),
                table("tile_index"),
                table("hashes"),
            ])
            .values_panic([
                org_id.into(),
                i16::from(tile.level).into(),
                (tile.index as i64).into(),
                hashes.concat().into(),
            ])
            .to_owned();
        txn.execute(&insert).await.expect("tile");
    }
}

/// A copy of a server's whole database, as an owner's backup.
pub enum Backup {
    /// An SQLite file written by `VACUUM INTO`.
    Sqlite {
        /// Where the database lives.
        live: PathBuf,
        /// The copy.
        copy: PathBuf,
        _dir: tempfile::TempDir,
    },
    /// A PostgreSQL database made from the live one as its template.
    Postgres {
        /// The live database's name.
        live: String,
        /// The copy's name.
        copy: String,
    },
}

/// Backs up the database of `server`, which must be stopped.
pub async fn back_up(server: &TestServer) -> Backup {
    match server.backend() {
        Backend::Sqlite => {
            let live = sqlite_path(server);
            let dir = tempfile::tempdir().expect("backup directory");
            let copy = dir.path().join("backup.db");
            let db = Database::connect(server.database_url()).await.unwrap();
            let vacuum = Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "VACUUM INTO ?",
                [copy.display().to_string().into()],
            );
            db.execute_raw(vacuum).await.expect("VACUUM INTO");
            db.close().await.unwrap();
            Backup::Sqlite {
                live,
                copy,
                _dir: dir,
            }
        }
        Backend::Postgres => {
            let live = postgres_name(server);
            let copy = format!("{live}_backup");
            let admin = postgres_admin().await;
            copy_database(&admin, &live, &copy).await;
            admin.close().await.unwrap();
            Backup::Postgres { live, copy }
        }
    }
}

/// Puts `backup` in place of the live database (its server stopped), as an owner restoring it.
pub async fn restore(backup: Backup) {
    match backup {
        Backup::Sqlite { live, copy, _dir } => {
            for suffix in ["-wal", "-shm"] {
                let mut companion = live.clone().into_os_string();
                companion.push(suffix);
                let _ = std::fs::remove_file(companion);
            }
            std::fs::copy(&copy, &live).expect("restore the SQLite file");
        }
        Backup::Postgres { live, copy } => {
            let admin = postgres_admin().await;
            drop_database(&admin, &live).await;
            copy_database(&admin, &copy, &live).await;
            drop_database(&admin, &copy).await;
            admin.close().await.unwrap();
        }
    }
}

fn sqlite_path(server: &TestServer) -> PathBuf {
    let url = server.database_url();
    let path = url.strip_prefix("sqlite://").expect("an SQLite URL");
    PathBuf::from(path.split('?').next().unwrap())
}

fn postgres_name(server: &TestServer) -> String {
    let url = server.database_url();
    url.rsplit('/').next().unwrap().to_owned()
}

async fn postgres_admin() -> DatabaseConnection {
    let url = std::env::var(POSTGRES_URL_VAR).expect("PostgreSQL is configured");
    Database::connect(url.as_str()).await.expect("admin connection")
}

/// Ends every session on `name` but ours: a template and a dropped database must have none.
async fn disconnect_all(admin: &DatabaseConnection, name: &str) {
    let terminate = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
        [name.into()],
    );
    admin.execute_raw(terminate).await.expect("disconnect sessions");
}

// Database names cannot be bound parameters; these are the tests' own (UUID-based) names.
async fn copy_database(admin: &DatabaseConnection, from: &str, to: &str) {
    disconnect_all(admin, from).await;
    let sql = format!("CREATE DATABASE \"{to}\" TEMPLATE \"{from}\"");
    admin.execute_unprepared(&sql).await.expect("copy database");
}

async fn drop_database(admin: &DatabaseConnection, name: &str) {
    disconnect_all(admin, name).await;
    let sql = format!("DROP DATABASE \"{name}\"");
    admin.execute_unprepared(&sql).await.expect("drop database");
}
