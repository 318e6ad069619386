//! `audit_logs.on_behalf_of` and `audit_logs.impersonated_by`: the delegated actors of a record
//! (the user an agent or API key acted for; the staff member acting as the user). Both are
//! nullable, so existing rows keep reading (and hashing) as they were; each is a filter of the
//! read endpoint and gets an `(org_id, column, seq)` index like the first schema's filters.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum AuditLogs {
    Table,
    OrgId,
    Seq,
    OnBehalfOf,
    ImpersonatedBy,
}

const DELEGATION_COLUMNS: [AuditLogs; 2] = [AuditLogs::OnBehalfOf, AuditLogs::ImpersonatedBy];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in DELEGATION_COLUMNS {
            // One column per statement: SQLite's ALTER TABLE adds one at a time.
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLogs::Table)
                        .add_column(ColumnDef::new(column).string().null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name(format!("audit_logs_org_{}_seq", column.to_string()))
                        .table(AuditLogs::Table)
                        .col(AuditLogs::OrgId)
                        .col(column)
                        .col(AuditLogs::Seq)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in DELEGATION_COLUMNS {
            manager
                .drop_index(
                    Index::drop()
                        .name(format!("audit_logs_org_{}_seq", column.to_string()))
                        .table(AuditLogs::Table)
                        .if_exists()
                        .to_owned(),
                )
                .await?;
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLogs::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
