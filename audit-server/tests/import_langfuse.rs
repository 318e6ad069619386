//! `audit-server import-langfuse` against a real Langfuse `audit_logs` table on PostgreSQL
//! (created as Langfuse's migrations leave it), into SQLite and into PostgreSQL: every row once,
//! in order, on a valid chain, and a re-run (by the binary) adds only the rows inserted since.

use std::collections::BTreeMap;
use std::path::Path;

use audit_core::{ActorType, AuditRecord, Catalog, EventLimits, Role};
use audit_server::import::langfuse::{ImportOptions, ImportReport, import};
use audit_server::store::entity::audit_log;
use audit_server::store::{Store, verify};
use audit_server::testing::{Backend, TestDatabase};
use chrono::{NaiveDateTime, TimeDelta};
use sea_orm::sqlx::{self, PgPool};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

/// Langfuse's `audit_logs` as its migrations leave it, statement for statement in effect:
/// `20240212175433_add_audit_log_table` (the table and the `project_id`/`created_at` indexes),
/// `20240512155020_rename_enum_membership_role_to_project_role` (`user_project_role` moved to the
/// end), `20240528214728_add_cursor_index_01` (`updated_at` index),
/// `20240807111359_add_organizations_main_migration` (foreign keys dropped, `project_id`
/// nullable, `org_id` and `user_org_role` added, `user_project_role` re-added as text, the
/// `user_id`/`org_id` indexes) and `20250310100328_add_api_key_to_audit_log` (`type`,
/// `api_key_id`, `user_id`/`user_org_role` nullable). Quoting and types are theirs.
const LANGFUSE_SCHEMA: [&str; 8] = [
    r#"CREATE TYPE "AuditLogRecordType" AS ENUM ('USER', 'API_KEY')"#,
    r#"CREATE TABLE "audit_logs" (
        "id" TEXT NOT NULL,
        "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
        "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
        "user_id" TEXT,
        "project_id" TEXT,
        "resource_type" TEXT NOT NULL,
        "resource_id" TEXT NOT NULL,
        "action" TEXT NOT NULL,
        "before" TEXT,
        "after" TEXT,
        "org_id" TEXT NOT NULL,
        "user_org_role" TEXT,
        "user_project_role" TEXT,
        "api_key_id" TEXT,
        "type" "AuditLogRecordType" NOT NULL DEFAULT 'USER',
        CONSTRAINT "audit_logs_pkey" PRIMARY KEY ("id")
    )"#,
    r#"CREATE INDEX "audit_logs_project_id_idx" ON "audit_logs"("project_id")"#,
    r#"CREATE INDEX "audit_logs_created_at_idx" ON "audit_logs"("created_at")"#,
    r#"CREATE INDEX "audit_logs_updated_at_idx" ON "audit_logs"("updated_at")"#,
    r#"CREATE INDEX "audit_logs_user_id_idx" ON "audit_logs"("user_id")"#,
    r#"CREATE INDEX "audit_logs_org_id_idx" ON "audit_logs"("org_id")"#,
    r#"CREATE INDEX "audit_logs_api_key_id_idx" ON "audit_logs"("api_key_id")"#,
];

const LANGFUSE_ORGS: [&str; 3] = ["cm0orgalpha000001", "cm0orgbravo000002", "cm0orgcharlie0003"];
const FIRST_ROWS: usize = 100_000;
const LATER_ROWS: usize = 1_500;

/// One generated Langfuse row, as the test expects to find it.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    created_at: NaiveDateTime,
    record_type: &'static str,
    api_key_id: Option<String>,
    user_id: Option<String>,
    org_id: &'static str,
    user_org_role: Option<&'static str>,
    project_id: Option<String>,
    user_project_role: Option<&'static str>,
    resource_type: &'static str,
    resource_id: String,
    action: &'static str,
    before: Option<String>,
    after: Option<String>,
}

/// Row `n`: two rows share each millisecond, the second one's id sorting first; every 10th row
/// is an API key's (every 20th an in-app agent key's, with the user it acted for); about half
/// have a project; one in 1,000 has a `before` that is not JSON.
fn row(n: usize) -> Row {
    let base = NaiveDateTime::parse_from_str("2025-01-01 00:00:00.000", "%Y-%m-%d %H:%M:%S%.f").unwrap();
    let created_at = base + TimeDelta::milliseconds((n / 2) as i64);
    let id = format!("cm{:09}{}", n / 2, if n.is_multiple_of(2) { "z" } else { "a" });
    let org_id = LANGFUSE_ORGS[[0, 0, 0, 1, 1, 2, 2][n % 7]];
    let api_key = n.is_multiple_of(10);
    let roles = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];
    let resource_type = ["prompt", "dataset", "apiKey", "project", "trace"][n % 5];
    let action = ["create", "update", "delete"][n % 3];
    let before = match (action, n % 1_000) {
        (_, 7) => Some("not json {".to_owned()),
        ("create", _) => None,
        _ => Some(json!({"name": format!("r{n}"), "version": n % 13, "tags": ["a", "b"]}).to_string()),
    };
    let after =
        (action != "delete").then(|| json!({"name": format!("r{n}"), "version": n % 13 + 1}).to_string());
    Row {
        id,
        created_at,
        record_type: if api_key { "API_KEY" } else { "USER" },
        api_key_id: api_key.then(|| format!("key-{}", n % 4)),
        user_id: (!api_key || n.is_multiple_of(20)).then(|| format!("user-{}", n % 50)),
        org_id,
        user_org_role: (!api_key).then(|| roles[n % 4]),
        project_id: n.is_multiple_of(2).then(|| format!("proj-{}", n % 5)),
        user_project_role: (!api_key && n.is_multiple_of(4)).then(|| roles[(n / 4) % 4]),
        resource_type,
        resource_id: format!("res-{n}"),
        action,
        before,
        after,
    }
}

/// Inserts `rows` with multi-row inserts whose values are all bind parameters (one array per
/// column), last row first so that the import has to order them itself.
async fn insert(pool: &PgPool, rows: &[Row]) {
    for chunk in rows.rchunks(10_000) {
        let chunk: Vec<&Row> = chunk.iter().rev().collect();
        let texts =
            |field: fn(&Row) -> Option<String>| chunk.iter().map(|row| field(row)).collect::<Vec<_>>();
        sqlx::query(
            r#"INSERT INTO "audit_logs" ("id", "created_at", "updated_at", "type", "api_key_id", "user_id",
                "org_id", "user_org_role", "project_id", "user_project_role", "resource_type", "resource_id",
                "action", "before", "after")
            SELECT id, created_at, created_at, kind::"AuditLogRecordType", api_key_id, user_id, org_id,
                user_org_role, project_id, user_project_role, resource_type, resource_id, action, before, after
            FROM UNNEST($1::text[], $2::timestamp[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
                AS t(id, created_at, kind, api_key_id, user_id, org_id, user_org_role, project_id,
                     user_project_role, resource_type, resource_id, action, before, after)"#,
        )
        .bind(texts(|row| Some(row.id.clone())))
        .bind(chunk.iter().map(|row| row.created_at).collect::<Vec<_>>())
        .bind(texts(|row| Some(row.record_type.to_owned())))
        .bind(texts(|row| row.api_key_id.clone()))
        .bind(texts(|row| row.user_id.clone()))
        .bind(texts(|row| Some(row.org_id.to_owned())))
        .bind(texts(|row| row.user_org_role.map(str::to_owned)))
        .bind(texts(|row| row.project_id.clone()))
        .bind(texts(|row| row.user_project_role.map(str::to_owned)))
        .bind(texts(|row| Some(row.resource_type.to_owned())))
        .bind(texts(|row| Some(row.resource_id.clone())))
        .bind(texts(|row| Some(row.action.to_owned())))
        .bind(texts(|row| row.before.clone()))
        .bind(texts(|row| row.after.clone()))
        .execute(pool)
        .await
        .expect("insert Langfuse rows");
    }
}

/// Every record of `org_id`, in `seq` order.
async fn trail(store: &Store, org_id: Uuid) -> Vec<AuditRecord> {
    audit_log::Entity::find()
        .filter(audit_log::Column::OrgId.eq(org_id))
        .order_by_asc(audit_log::Column::Seq)
        .all(store.connection())
        .await
        .expect("read trail")
        .into_iter()
        .map(|row| AuditRecord::try_from(row).expect("decode record"))
        .collect()
}

/// `rows` by Langfuse organization, each in `(created_at, id)` order.
fn expected_by_org(rows: &[Row]) -> BTreeMap<&'static str, Vec<Row>> {
    let mut sorted = rows.to_vec();
    sorted.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut by_org: BTreeMap<&'static str, Vec<Row>> = BTreeMap::new();
    for row in sorted {
        by_org.entry(row.org_id).or_default().push(row);
    }
    by_org
}

/// Asserts that each organization's trail is exactly `rows` in order, field for field, and
/// that its chain verifies.
async fn assert_trails(store: &Store, report_orgs: &BTreeMap<String, Uuid>, rows: &[Row]) {
    for (langfuse_org, expected) in expected_by_org(rows) {
        let org_id = report_orgs[langfuse_org];
        let records = trail(store, org_id).await;
        let found: Vec<&str> = records
            .iter()
            .map(|record| record.metadata.as_ref().unwrap()["langfuseId"].as_str().unwrap())
            .collect();
        let wanted: Vec<&str> = expected.iter().map(|row| row.id.as_str()).collect();
        assert_eq!(found.len(), wanted.len(), "records of {langfuse_org}");
        assert!(
            found == wanted,
            "{langfuse_org}: records are not the rows in (created_at, id) order"
        );
        for (record, row) in records.iter().zip(&expected) {
            assert_record(record, row);
        }
        let report = verify::verify(store, org_id, None, None).await.expect("verify");
        assert!(report.valid, "{langfuse_org}: {report:?}");
        assert_eq!(report.checked, expected.len() as u64);
    }
}

#[track_caller]
fn assert_record(record: &AuditRecord, row: &Row) {
    let context = &row.id;
    assert_eq!(
        record.occurred_at.naive_utc(),
        row.created_at,
        "{context} occurredAt"
    );
    let actor = if row.record_type == "API_KEY" {
        ActorType::ApiKey
    } else {
        ActorType::User
    };
    assert_eq!(record.actor_type, actor, "{context} type");
    assert_eq!(record.api_key_id, row.api_key_id, "{context} apiKeyId");
    assert_eq!(record.user_id, row.user_id, "{context} userId");
    assert_eq!(
        record.user_org_role,
        row.user_org_role.and_then(Role::parse),
        "{context}"
    );
    assert_eq!(
        record.user_project_role,
        row.user_project_role.and_then(Role::parse),
        "{context}"
    );
    assert_eq!(record.project_id, row.project_id, "{context} projectId");
    assert_eq!(record.resource_type, row.resource_type, "{context}");
    assert_eq!(record.resource_id, row.resource_id, "{context}");
    assert_eq!(record.action, row.action, "{context}");
    let parsed = |text: &Option<String>| {
        text.as_ref()
            .map(|text| serde_json::from_str(text).unwrap_or_else(|_| Value::from(text.as_str())))
    };
    assert_eq!(record.before, parsed(&row.before), "{context} before");
    assert_eq!(record.after, parsed(&row.after), "{context} after");
    let metadata = record.metadata.as_ref().unwrap();
    assert_eq!(metadata["langfuseOrgId"], row.org_id, "{context}");
    let unparsed = row.before.as_deref() == Some("not json {");
    assert_eq!(
        metadata.get("langfuseUnparsed") == Some(&json!(["before"])),
        unparsed,
        "{context}"
    );
}

fn options(from: &str, mapping: &Path) -> ImportOptions {
    let mut catalog = Catalog::langfuse();
    catalog.extend(&audit_server::store::catalog::service_entries());
    ImportOptions {
        from: from.to_owned(),
        mapping: mapping.to_owned(),
        limits: EventLimits::default(),
        catalog,
        progress: false,
    }
}

/// The binary, as an operator runs it; answers its report.
fn run_binary(from: &str, mapping: &Path, database_url: &str) -> ImportReport {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_audit-server"))
        .args([
            "import-langfuse",
            "--from",
            from,
            "--database-url",
            database_url,
            "--mapping",
        ])
        .arg(mapping)
        .env_remove("AUDIT_DATABASE_URL")
        .env_remove("AUDIT_ADMIN_TOKEN")
        .output()
        .expect("run audit-server import-langfuse");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON report")
}

async fn imports_every_row_once_in_order_and_resumes(target: Backend) {
    let first: Vec<Row> = (0..FIRST_ROWS).map(row).collect();
    let Some((source_db, source)) = langfuse_database(&first).await else {
        return;
    };
    let Some(target_db) = TestDatabase::create(target).await else {
        return;
    };

    let store = Store::connect(target_db.url()).await.expect("target");
    store.migrate().await.expect("migrate");
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("langfuse-organizations.json");

    let report = import(&store, &options(source_db.url(), &mapping))
        .await
        .expect("import");
    assert_eq!(report.read, FIRST_ROWS as u64);
    assert_eq!(report.imported, FIRST_ROWS as u64);
    assert_eq!(report.already_imported, 0);
    assert_eq!(report.created_organizations.len(), 3);
    let file: BTreeMap<String, Uuid> = serde_json::from_slice(&std::fs::read(&mapping).unwrap()).unwrap();
    assert_eq!(
        file, report.organizations,
        "the mapping file holds the organizations created"
    );
    assert_trails(&store, &report.organizations, &first).await;

    // Later rows (their times after the first ones'), then a re-run by the binary with the same
    // mapping file: only they are added, to the same organizations.
    let later: Vec<Row> = (FIRST_ROWS..FIRST_ROWS + LATER_ROWS).map(row).collect();
    insert(&source, &later).await;
    let again = run_binary(source_db.url(), &mapping, target_db.url());
    assert_eq!(again.imported, LATER_ROWS as u64, "{again:?}");
    assert_eq!(again.already_imported, FIRST_ROWS as u64);
    assert!(again.created_organizations.is_empty());
    assert_eq!(again.organizations, report.organizations);
    let all: Vec<Row> = first.iter().chain(&later).cloned().collect();
    assert_trails(&store, &report.organizations, &all).await;

    source.close().await;
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_into_sqlite() {
    imports_every_row_once_in_order_and_resumes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_into_postgres() {
    imports_every_row_once_in_order_and_resumes(Backend::Postgres).await;
}

/// A PostgreSQL database of the test's own with Langfuse's `audit_logs` holding `rows`.
async fn langfuse_database(rows: &[Row]) -> Option<(TestDatabase, PgPool)> {
    let database = TestDatabase::create(Backend::Postgres).await?;
    let pool = PgPool::connect(database.url()).await.expect("Langfuse database");
    for statement in LANGFUSE_SCHEMA {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect("Langfuse schema");
    }
    insert(&pool, rows).await;
    Some((database, pool))
}

/// A source database with Langfuse's table holding `rows`, and an empty SQLite target.
async fn small_import(rows: &[Row]) -> Option<(TestDatabase, TestDatabase, Store)> {
    let (source_db, source) = langfuse_database(rows).await?;
    source.close().await;
    let target_db = TestDatabase::create(Backend::Sqlite).await?;
    let store = Store::connect(target_db.url()).await.expect("target");
    store.migrate().await.expect("migrate");
    Some((source_db, target_db, store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_over_the_limits_stops_the_import_naming_it_before_its_page_is_written() {
    let mut rows: Vec<Row> = (1..4).map(row).collect();
    rows[1].after = Some(json!({"prompt": "x".repeat(500)}).to_string());
    let Some((source_db, _target, store)) = small_import(&rows).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(source_db.url(), &dir.path().join("orgs.json"));
    options.limits.max_state_bytes = 200;
    let error = import(&store, &options).await.expect_err("refused").to_string();
    assert!(error.contains(&rows[1].id) && error.contains("after"), "{error}");
    let stored = audit_log::Entity::find().all(store.connection()).await.unwrap();
    assert!(stored.is_empty(), "nothing of the refused row's page is stored");
    assert!(
        !dir.path().join("orgs.json").exists(),
        "no organization was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_to_an_organization_that_does_not_exist_is_refused() {
    let rows: Vec<Row> = (0..1).map(row).collect();
    let Some((source_db, _target, store)) = small_import(&rows).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("orgs.json");
    let missing = Uuid::now_v7();
    std::fs::write(&mapping, json!({ rows[0].org_id: missing }).to_string()).unwrap();
    let error = import(&store, &options(source_db.url(), &mapping))
        .await
        .expect_err("refused");
    assert!(error.to_string().contains(&missing.to_string()), "{error}");
    assert!(
        audit_log::Entity::find()
            .all(store.connection())
            .await
            .unwrap()
            .is_empty()
    );
}
