//! `stream_dead_letters` (records a stream's destination refused for good, set aside so the
//! records after them are delivered), `log_streams.max_attempts` (attempts before a refused
//! record is set aside; existing streams get 5) and `log_streams.dead_lettered_pending` (the
//! `seq`s set aside since the last delivered batch, as JSON text, named by the next batch's
//! envelope). One column per statement: SQLite adds one at a time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LogStreams {
    Table,
    MaxAttempts,
    DeadLetteredPending,
}

#[derive(DeriveIden)]
enum StreamDeadLetters {
    Table,
    StreamId,
    Seq,
    OrgId,
    RecordId,
    LastError,
    Attempts,
    DeadLetteredAt,
    LastAttemptAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StreamDeadLetters::Table)
                    .col(ColumnDef::new(StreamDeadLetters::StreamId).uuid().not_null())
                    .col(ColumnDef::new(StreamDeadLetters::Seq).big_integer().not_null())
                    .col(ColumnDef::new(StreamDeadLetters::OrgId).uuid().not_null())
                    .col(ColumnDef::new(StreamDeadLetters::RecordId).uuid().not_null())
                    .col(ColumnDef::new(StreamDeadLetters::LastError).text().not_null())
                    .col(ColumnDef::new(StreamDeadLetters::Attempts).integer().not_null())
                    .col(
                        ColumnDef::new(StreamDeadLetters::DeadLetteredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(StreamDeadLetters::LastAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(StreamDeadLetters::StreamId)
                            .col(StreamDeadLetters::Seq),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LogStreams::Table)
                    .add_column(
                        ColumnDef::new(LogStreams::MaxAttempts)
                            .integer()
                            .not_null()
                            .default(5),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LogStreams::Table)
                    .add_column(ColumnDef::new(LogStreams::DeadLetteredPending).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [LogStreams::DeadLetteredPending, LogStreams::MaxAttempts] {
            manager
                .alter_table(
                    Table::alter()
                        .table(LogStreams::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(StreamDeadLetters::Table).to_owned())
            .await
    }
}
