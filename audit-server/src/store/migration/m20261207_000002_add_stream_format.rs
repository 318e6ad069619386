//! `log_streams.format` (what a stream sends for each record: `native` or `ocsf`, existing
//! streams keep `native`) and `log_streams.last_delivered_hash` (the hash of the last record
//! the stream delivered, moved with the cursor, so every batch can name the one before it),
//! `log_streams.privacy` (the privacy policy as JSON text, absent for none) and
//! `log_streams.privacy_key_sealed` (the stream's hashing key, sealed like its secret).
//! One column per statement: SQLite adds one at a time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LogStreams {
    Table,
    Format,
    LastDeliveredHash,
    Privacy,
    PrivacyKeySealed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LogStreams::Table)
                    .add_column(
                        ColumnDef::new(LogStreams::Format)
                            .string()
                            .not_null()
                            .default("native"),
                    )
                    .to_owned(),
            )
            .await?;
        for column in [
            LogStreams::LastDeliveredHash,
            LogStreams::Privacy,
            LogStreams::PrivacyKeySealed,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(LogStreams::Table)
                        .add_column(ColumnDef::new(column).text().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            LogStreams::PrivacyKeySealed,
            LogStreams::Privacy,
            LogStreams::LastDeliveredHash,
            LogStreams::Format,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(LogStreams::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
