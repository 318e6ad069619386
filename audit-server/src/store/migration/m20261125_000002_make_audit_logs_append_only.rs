//! Immutability in the database itself: triggers make every UPDATE and DELETE (and, on
//! PostgreSQL, TRUNCATE) of `audit_logs` fail, whoever issues it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
CREATE FUNCTION audit_logs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change();
"#;

const POSTGRES_DOWN: &str = r#"
DROP TRIGGER IF EXISTS audit_logs_no_truncate ON audit_logs;
DROP TRIGGER IF EXISTS audit_logs_append_only ON audit_logs;
DROP FUNCTION IF EXISTS audit_logs_refuse_change();
"#;

const SQLITE_UP: [&str; 2] = [
    "CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs \
     BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only: UPDATE is not allowed'); END",
    "CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs \
     BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only: DELETE is not allowed'); END",
];

const SQLITE_DOWN: [&str; 2] = [
    "DROP TRIGGER IF EXISTS audit_logs_no_update",
    "DROP TRIGGER IF EXISTS audit_logs_no_delete",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &[POSTGRES_UP], &SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &[POSTGRES_DOWN], &SQLITE_DOWN).await
    }
}

async fn run(manager: &SchemaManager<'_>, postgres: &[&str], sqlite: &[&str]) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DbBackend::Postgres => postgres,
        DbBackend::Sqlite => sqlite,
        other => {
            return Err(DbErr::Migration(format!(
                "unsupported database backend {other:?}"
            )));
        }
    };
    for statement in statements {
        manager.get_connection().execute_unprepared(statement).await?;
    }
    Ok(())
}
