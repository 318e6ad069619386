//! `checkpoints`: the signed notes over each organization's chain head, kept so that anyone can
//! fetch the latest (or an older) one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Checkpoints {
    Table,
    OrgId,
    Seq,
    HeadHash,
    CreatedAt,
    KeyName,
    KeyId,
    Signature,
    Note,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Checkpoints::Table)
                    .col(ColumnDef::new(Checkpoints::OrgId).uuid().not_null())
                    .col(ColumnDef::new(Checkpoints::Seq).big_integer().not_null())
                    .col(ColumnDef::new(Checkpoints::HeadHash).string().not_null())
                    .col(
                        ColumnDef::new(Checkpoints::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Checkpoints::KeyName).string().not_null())
                    .col(ColumnDef::new(Checkpoints::KeyId).string().not_null())
                    .col(ColumnDef::new(Checkpoints::Signature).string().not_null())
                    .col(ColumnDef::new(Checkpoints::Note).text().not_null())
                    .primary_key(Index::create().col(Checkpoints::OrgId).col(Checkpoints::Seq))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Checkpoints::Table, Checkpoints::OrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Checkpoints::Table).to_owned())
            .await
    }
}
