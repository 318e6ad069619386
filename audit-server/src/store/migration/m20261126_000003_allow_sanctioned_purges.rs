//! Retention: each organization's retention policy, the anchor where its chain now starts, and
//! the one sanctioned path for removing records. The append-only triggers of
//! `m20261125_000002` are replaced by ones that still refuse every UPDATE (and TRUNCATE), and
//! refuse a DELETE (on SQLite: trigger `audit_logs_no_delete_unless_purged`) unless a row of `purge_authorizations` covers the record: the purge inserts
//! that row, deletes a prefix of the organization's `seq`, and removes the row again, all in one
//! transaction, so no other session ever sees it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RetentionPolicies {
    Table,
    OrgId,
    RetentionSeconds,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ChainAnchors {
    Table,
    OrgId,
    FirstSeq,
    PrevHash,
    PurgedAt,
}

#[derive(DeriveIden)]
enum PurgeAuthorizations {
    Table,
    OrgId,
    UpToSeq,
}

const POSTGRES_UP: &str = r#"
CREATE OR REPLACE FUNCTION audit_logs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM purge_authorizations p
                   WHERE p.org_id = OLD.org_id AND OLD.seq <= p.up_to_seq) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"#;

const POSTGRES_DOWN: &str = r#"
CREATE OR REPLACE FUNCTION audit_logs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"#;

const SQLITE_UP: [&str; 2] = [
    "CREATE TRIGGER audit_logs_no_delete_unless_purged BEFORE DELETE ON audit_logs \
     WHEN NOT EXISTS (SELECT 1 FROM purge_authorizations p \
                      WHERE p.org_id = OLD.org_id AND OLD.seq <= p.up_to_seq) \
     BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only: DELETE is not allowed'); END",
    "DROP TRIGGER audit_logs_no_delete",
];

const SQLITE_DOWN: [&str; 2] = [
    "CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs \
     BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only: DELETE is not allowed'); END",
    "DROP TRIGGER audit_logs_no_delete_unless_purged",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RetentionPolicies::Table)
                    .col(
                        ColumnDef::new(RetentionPolicies::OrgId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RetentionPolicies::RetentionSeconds)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RetentionPolicies::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RetentionPolicies::Table, RetentionPolicies::OrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChainAnchors::Table)
                    .col(
                        ColumnDef::new(ChainAnchors::OrgId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ChainAnchors::FirstSeq).big_integer().not_null())
                    .col(ColumnDef::new(ChainAnchors::PrevHash).string().not_null())
                    .col(
                        ColumnDef::new(ChainAnchors::PurgedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChainAnchors::Table, ChainAnchors::OrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PurgeAuthorizations::Table)
                    .col(
                        ColumnDef::new(PurgeAuthorizations::OrgId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(PurgeAuthorizations::UpToSeq)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        run(manager, &[POSTGRES_UP], &SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &[POSTGRES_DOWN], &SQLITE_DOWN).await?;
        for table in [
            PurgeAuthorizations::Table.into_iden(),
            ChainAnchors::Table.into_iden(),
            RetentionPolicies::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
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
