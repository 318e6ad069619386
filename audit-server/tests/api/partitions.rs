//! Time-partitioned `audit_logs` on PostgreSQL: the in-place upgrade from the one-table schema
//! keeps every record, keyset pages have an index in every partition, and retention drops a
//! partition whole when it lies past every retention, keeping verify and proofs valid. SQLite
//! keeps one table.

use audit_core::{ActorType, AuditEvent};
use audit_server::store::append::{AppendOutcome, NewRecord, append};
use audit_server::store::migration::Migrator;
use audit_server::store::retention::Initiator;
use audit_server::store::{Store, merkle, organizations, partitions, verify};
use audit_server::testing::{Backend, TestDatabase};
use chrono::{Datelike, Months, TimeZone, Utc};
use sea_orm::{ConnectionTrait, Database, DbBackend, FromQueryResult, Statement, TransactionTrait};
use sea_orm_migration::MigratorTrait;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::*;
use crate::on_both_backends;
use crate::proofs::{assert_included, inclusion, records_oldest_first};

/// How many migrations come before partitioning: the schema every database had until it.
fn migrations_before_partitions() -> u32 {
    Migrator::migrations()
        .iter()
        .position(|migration| migration.name().ends_with("_partition_audit_logs"))
        .expect("the partitioning migration") as u32
}

#[derive(FromQueryResult, PartialEq, Debug)]
struct Text {
    text: String,
}

async fn texts(db: &impl ConnectionTrait, sql: &str) -> Vec<String> {
    Text::find_by_statement(Statement::from_string(DbBackend::Postgres, sql))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.text)
        .collect()
}

async fn audit_logs_kind(db: &impl ConnectionTrait) -> String {
    texts(
        db,
        "SELECT relkind::text AS text FROM pg_class WHERE relname = 'audit_logs'",
    )
    .await[0]
        .clone()
}

fn events(count: usize, resource: &str) -> Vec<NewRecord> {
    (0..count)
        .map(|n| {
            let mut event = AuditEvent::new(ActorType::System, resource, format!("{resource}_{n}"), "update");
            event.ensure_id();
            NewRecord::from_submitted(event)
        })
        .collect()
}

/// Everything a user would compare: every stored row as JSON, each trail's verify report, and
/// the tree root with an inclusion proof.
async fn snapshot(store: &Store, orgs: &[Uuid]) -> (Vec<String>, Vec<String>) {
    let rows = texts(
        store.connection(),
        "SELECT to_jsonb(a)::text AS text FROM audit_logs a ORDER BY org_id, seq",
    )
    .await;
    let mut proofs = Vec::new();
    for org_id in orgs {
        let report = verify::verify(store, *org_id, None, None).await.unwrap();
        assert!(report.valid, "{report:?}");
        let size = merkle::size(store.connection(), *org_id).await.unwrap().unwrap();
        let (path, root) = merkle::inclusion_proof(store.connection(), *org_id, size, 7, size)
            .await
            .unwrap();
        proofs.push(format!("{report:?} {path:?} {root:?}"));
    }
    (rows, proofs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_to_partitions_keeps_every_record() {
    let Some(database) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let store = Store::connect(database.url()).await.unwrap();
    Migrator::up(store.connection(), Some(migrations_before_partitions()))
        .await
        .unwrap();
    assert_eq!(
        audit_logs_kind(store.connection()).await,
        "r",
        "today's schema: one table"
    );
    let mut orgs = Vec::new();
    for name in ["Acme", "Globex"] {
        let org = organizations::create(&store, name).await.unwrap();
        for batch in 0..3 {
            append(&store, org.id, None, events(40, &format!("doc{batch}")))
                .await
                .unwrap();
        }
        orgs.push(org.id);
    }
    let before = snapshot(&store, &orgs).await;
    assert_eq!(before.0.len(), 2 * 120);

    store.migrate().await.unwrap();
    assert_eq!(audit_logs_kind(store.connection()).await, "p", "partitioned");
    assert!(partitions::list(store.connection()).await.unwrap().len() > partitions::MONTHS_AHEAD as usize);
    assert_eq!(snapshot(&store, &orgs).await, before, "no record lost or changed");

    // The upgraded trail takes new records, and a retried id is still stored once.
    let retried = events(1, "retry");
    let first = append(&store, orgs[0], None, retried.clone()).await.unwrap();
    assert!(matches!(first[0], AppendOutcome::Created(_)));
    let again = append(&store, orgs[0], None, retried).await.unwrap();
    assert!(matches!(again[0], AppendOutcome::Duplicate(_)), "{again:?}");
    assert_eq!(snapshot(&store, &orgs).await.0.len(), before.0.len() + 1);
    store.close().await.unwrap();
}

async fn keyset_pages_have_an_index_in_every_partition(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    record_many(&server, tenant.secret(), 30).await;
    let db = Database::connect(server.database_url()).await.unwrap();
    if server.backend() == Backend::Sqlite {
        assert!(
            partitions::list(&db).await.unwrap().is_empty(),
            "SQLite keeps one table"
        );
        db.close().await.unwrap();
        return;
    }
    let partitions = partitions::list(&db).await.unwrap();
    assert_eq!(partitions.len(), 1 + partitions::MONTHS_AHEAD as usize);
    // With scans and sorts priced out, the plan shows an index giving `seq` order in each
    // partition (on a table this small the planner would rather scan and sort).
    for filter in [
        "",
        "AND action = 'update'",
        "AND resource_type = 'prompt'",
        "AND actor_type = 'USER'",
    ] {
        let sql =
            format!("EXPLAIN SELECT * FROM audit_logs WHERE org_id = $1 {filter} ORDER BY seq DESC LIMIT 50");
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("SET LOCAL enable_seqscan = off")
            .await
            .unwrap();
        txn.execute_unprepared("SET LOCAL enable_sort = off")
            .await
            .unwrap();
        let plan = txn
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [tenant.org.id.into()],
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get_by_index::<String>(0).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        txn.rollback().await.unwrap();
        let sorts = plan.lines().any(|line| {
            line.trim_start()
                .trim_start_matches("->")
                .trim_start()
                .starts_with("Sort  (")
        });
        assert!(!sorts, "{filter}: no sort node in {plan}");
        assert!(plan.contains("Merge Append"), "{filter}: {plan}");
        assert!(!plan.contains("Seq Scan"), "{filter}: {plan}");
        for partition in &partitions {
            assert!(
                plan.contains(&partition.name),
                "{filter}: {partition:?} in {plan}"
            );
        }
    }
    db.close().await.unwrap();
}

on_both_backends!(keyset_pages_have_an_index_in_every_partition);

/// Moves `org_id`'s chain head a month on, as if a month had passed: the next records are
/// stored in the next month's partition (`createdAt` never runs backwards along a chain).
async fn a_month_passes(db: &impl ConnectionTrait, org_id: Uuid, next_month: chrono::DateTime<Utc>) {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE chain_heads SET created_at = $1 WHERE org_id = $2",
        [next_month.into(), org_id.into()],
    ))
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_past_every_retention_is_dropped_whole() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    let acme = Tenant::new(&server, "Acme").await;
    let globex = Tenant::new(&server, "Globex").await;
    record_many(&server, acme.secret(), 6).await;
    record_many(&server, globex.secret(), 4).await;
    let retention = |tenant: &Tenant| format!("/api/v1/organizations/{}/retention", tenant.org.id);
    let one_second = json!({"retentionSeconds": 1});
    assert_eq!(
        put(&server, &retention(&acme), acme.secret(), &one_second)
            .await
            .0,
        200
    );

    let store = Store::connect(server.database_url()).await.unwrap();
    let today = Utc::now();
    let this_month = Utc
        .with_ymd_and_hms(today.year(), today.month(), 1, 0, 0, 0)
        .unwrap();
    let next_month = this_month + Months::new(1);
    // A day into next month: this month's partition is past a 1 s retention, next month's not.
    let later = next_month + chrono::Duration::days(1);
    let name = format!("audit_logs_p{}", this_month.format("%Y_%m"));
    for tenant in [&acme, &globex] {
        a_month_passes(
            store.connection(),
            tenant.org.id,
            next_month + chrono::Duration::hours(1),
        )
        .await;
    }

    // Globex keeps its records forever: the partition they share stays.
    let dropped = partitions::drop_expired(&store, later, Initiator::Operator)
        .await
        .unwrap();
    assert!(dropped.is_empty(), "{dropped:?}");
    let acme_before = records_oldest_first(&server, acme.secret()).await;

    // Once every organization in it is past its retention, it goes whole.
    assert_eq!(
        put(&server, &retention(&globex), globex.secret(), &one_second)
            .await
            .0,
        200
    );
    let dropped = partitions::drop_expired(&store, later, Initiator::Operator)
        .await
        .unwrap();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert_eq!(dropped[0].partition.name, name);
    let names: Vec<String> = partitions::list(store.connection())
        .await
        .unwrap()
        .into_iter()
        .map(|partition| partition.name)
        .collect();
    assert!(!names.contains(&name), "{names:?}");

    // Acme keeps only what came after the month: the purge event; it verifies and is proved.
    let acme_report = dropped[0]
        .reports
        .iter()
        .find(|report| report.org_id == acme.org.id)
        .unwrap();
    let acme_old_last = acme_before.last().unwrap()["seq"].as_i64().unwrap();
    assert_eq!(acme_report.first_seq, acme_old_last + 1);
    assert_eq!(acme_report.purged, acme_before.len() as u64);
    // Globex also keeps its policy change, made after the month.
    for (tenant, kept_before) in [(&acme, 1), (&globex, 2)] {
        record(&server, tenant.secret(), &event("prompt", "pr_after", "update")).await;
        let kept = records_oldest_first(&server, tenant.secret()).await;
        assert_eq!(kept.len(), kept_before + 1, "{kept:?}");
        let purge = kept.iter().find(|record| record["action"] == "purge").unwrap();
        assert_eq!(purge["metadata"]["partition"], name.as_str());
        assert_eq!(verify(&server, tenant.secret()).await["valid"], true);
        for record in &kept {
            assert_included(
                &inclusion(&server, tenant.secret(), record["id"].as_str().unwrap(), None).await,
                record,
            );
        }
    }

    // Plain changes stay refused, on the table and on a partition; a role that is not the
    // owner cannot drop a partition, nor use the sanctioned function.
    let db = store.connection();
    let kept_partition = format!("audit_logs_p{}", next_month.format("%Y_%m"));
    for sql in [
        "DELETE FROM audit_logs".to_owned(),
        "UPDATE audit_logs SET action = 'delete'".to_owned(),
        "TRUNCATE audit_logs".to_owned(),
        format!("DELETE FROM {kept_partition}"),
        format!("TRUNCATE {kept_partition}"),
    ] {
        let error = db.execute_unprepared(&sql).await.expect_err(&sql);
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    let role = format!("audit_not_owner_{}", Uuid::new_v4().simple());
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared(&format!("CREATE ROLE {role} NOLOGIN"))
        .await
        .unwrap();
    txn.execute_unprepared(&format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON audit_logs, {kept_partition} TO {role}"
    ))
    .await
    .unwrap();
    txn.execute_unprepared(&format!("SET LOCAL ROLE {role}"))
        .await
        .unwrap();
    for sql in [
        format!("DROP TABLE {kept_partition}"),
        format!("ALTER TABLE audit_logs DETACH PARTITION {kept_partition}"),
        format!("SELECT audit_logs_drop_partition('{kept_partition}')"),
        "DELETE FROM audit_logs".to_owned(),
        format!("TRUNCATE {kept_partition}"),
    ] {
        txn.execute_unprepared("SAVEPOINT attempt").await.unwrap();
        let error = txn.execute_unprepared(&sql).await.expect_err(&sql);
        let error = error.to_string();
        assert!(
            error.contains("must be owner")
                || error.contains("permission denied")
                || error.contains("append-only"),
            "{sql}: {error}"
        );
        txn.execute_unprepared("ROLLBACK TO SAVEPOINT attempt")
            .await
            .unwrap();
    }
    txn.rollback().await.unwrap();
    for tenant in [&acme, &globex] {
        assert_eq!(verify(&server, tenant.secret()).await["valid"], true);
    }
    store.close().await.unwrap();
}
