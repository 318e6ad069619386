//! `log_streams`: each organization's deliveries of its trail to a webhook, Splunk HEC, Datadog
//! or NDJSON files, with the delivery cursor, health and the lease that keeps two server
//! processes from delivering one stream at the same time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LogStreams {
    Table,
    Id,
    OrgId,
    Name,
    Kind,
    Config,
    SecretSealed,
    SecretHint,
    Filter,
    State,
    CursorSeq,
    DeliveredTotal,
    Health,
    ConsecutiveFailures,
    LastError,
    LastSuccessAt,
    LastAttemptAt,
    LeaseOwner,
    LeaseExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LogStreams::Table)
                    .col(ColumnDef::new(LogStreams::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(LogStreams::OrgId).uuid().not_null())
                    .col(ColumnDef::new(LogStreams::Name).string().not_null())
                    .col(ColumnDef::new(LogStreams::Kind).string().not_null())
                    .col(ColumnDef::new(LogStreams::Config).json_binary().not_null())
                    .col(ColumnDef::new(LogStreams::SecretSealed).text().null())
                    .col(ColumnDef::new(LogStreams::SecretHint).string().null())
                    .col(ColumnDef::new(LogStreams::Filter).json_binary().not_null())
                    .col(ColumnDef::new(LogStreams::State).string().not_null())
                    .col(ColumnDef::new(LogStreams::CursorSeq).big_integer().not_null())
                    .col(
                        ColumnDef::new(LogStreams::DeliveredTotal)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(LogStreams::Health).string().not_null())
                    .col(
                        ColumnDef::new(LogStreams::ConsecutiveFailures)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(LogStreams::LastError).text().null())
                    .col(
                        ColumnDef::new(LogStreams::LastSuccessAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(LogStreams::LastAttemptAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(LogStreams::LeaseOwner).uuid().null())
                    .col(
                        ColumnDef::new(LogStreams::LeaseExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(LogStreams::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(LogStreams::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("log_streams_org_id_created_at")
                    .table(LogStreams::Table)
                    .col(LogStreams::OrgId)
                    .col(LogStreams::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LogStreams::Table).to_owned())
            .await
    }
}
