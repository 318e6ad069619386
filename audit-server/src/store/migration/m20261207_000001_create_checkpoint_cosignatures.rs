//! `checkpoint_cosignatures`: the tlog-cosignature/v1 lines witnesses returned for a
//! checkpoint, one per witness, served with the checkpoint they cosign.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Checkpoints {
    Table,
    OrgId,
    Seq,
}

#[derive(DeriveIden)]
enum CheckpointCosignatures {
    Table,
    OrgId,
    Seq,
    Witness,
    KeyId,
    CosignedAt,
    Line,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CheckpointCosignatures::Table)
                    .col(ColumnDef::new(CheckpointCosignatures::OrgId).uuid().not_null())
                    .col(
                        ColumnDef::new(CheckpointCosignatures::Seq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CheckpointCosignatures::Witness)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CheckpointCosignatures::KeyId).string().not_null())
                    .col(
                        ColumnDef::new(CheckpointCosignatures::CosignedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CheckpointCosignatures::Line).text().not_null())
                    .primary_key(
                        Index::create()
                            .col(CheckpointCosignatures::OrgId)
                            .col(CheckpointCosignatures::Seq)
                            .col(CheckpointCosignatures::Witness),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(CheckpointCosignatures::Table)
                            .from_col(CheckpointCosignatures::OrgId)
                            .from_col(CheckpointCosignatures::Seq)
                            .to_tbl(Checkpoints::Table)
                            .to_col(Checkpoints::OrgId)
                            .to_col(Checkpoints::Seq),
                    )
                    .to_owned(),
            )
            .await?;
        // What the witness client asks: the newest checkpoint a witness cosigned, per organization.
        manager
            .create_index(
                Index::create()
                    .name("checkpoint_cosignatures_by_witness")
                    .table(CheckpointCosignatures::Table)
                    .col(CheckpointCosignatures::Witness)
                    .col(CheckpointCosignatures::OrgId)
                    .col(CheckpointCosignatures::Seq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CheckpointCosignatures::Table).to_owned())
            .await
    }
}
