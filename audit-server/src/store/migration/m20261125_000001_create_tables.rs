//! The tables: organizations, API keys, chain heads, catalog entries and the trail, with an
//! index for every filter of the read endpoint in keyset (`seq`) order.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrgId,
    Name,
    Scopes,
    ProjectId,
    SecretHash,
    SecretPrefix,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ChainHeads {
    Table,
    OrgId,
    Seq,
    Hash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CatalogEntries {
    Table,
    OrgId,
    ResourceType,
    Action,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLogs {
    Table,
    OrgId,
    Seq,
    Id,
    CreatedAt,
    OccurredAt,
    ActorType,
    UserId,
    ApiKeyId,
    UserOrgRole,
    ProjectId,
    UserProjectRole,
    ResourceType,
    ResourceId,
    Action,
    Before,
    After,
    IpAddress,
    UserAgent,
    RequestId,
    TraceId,
    Metadata,
    RecordedBy,
    PrevHash,
    Hash,
    ContentHash,
}

/// Filter columns of the read endpoint; each gets an `(org_id, column, seq)` index.
const FILTER_COLUMNS: [AuditLogs; 8] = [
    AuditLogs::ProjectId,
    AuditLogs::ActorType,
    AuditLogs::UserId,
    AuditLogs::ApiKeyId,
    AuditLogs::ResourceType,
    AuditLogs::ResourceId,
    AuditLogs::Action,
    AuditLogs::CreatedAt,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(ColumnDef::new(Organizations::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Organizations::Name).string().not_null())
                    .col(
                        ColumnDef::new(Organizations::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(ColumnDef::new(ApiKeys::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ApiKeys::OrgId).uuid().not_null())
                    .col(ColumnDef::new(ApiKeys::Name).string().not_null())
                    .col(ColumnDef::new(ApiKeys::Scopes).json_binary().not_null())
                    .col(ColumnDef::new(ApiKeys::ProjectId).string().null())
                    .col(
                        ColumnDef::new(ApiKeys::SecretHash)
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(ApiKeys::SecretPrefix).string().not_null())
                    .col(
                        ColumnDef::new(ApiKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ApiKeys::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::OrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_keys_org")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::OrgId)
                    .col(ApiKeys::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChainHeads::Table)
                    .col(ColumnDef::new(ChainHeads::OrgId).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ChainHeads::Seq).big_integer().not_null())
                    .col(ColumnDef::new(ChainHeads::Hash).string().not_null())
                    .col(
                        ColumnDef::new(ChainHeads::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChainHeads::Table, ChainHeads::OrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CatalogEntries::Table)
                    .col(ColumnDef::new(CatalogEntries::OrgId).uuid().not_null())
                    .col(ColumnDef::new(CatalogEntries::ResourceType).string().not_null())
                    .col(ColumnDef::new(CatalogEntries::Action).string().not_null())
                    .col(
                        ColumnDef::new(CatalogEntries::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(CatalogEntries::OrgId)
                            .col(CatalogEntries::ResourceType)
                            .col(CatalogEntries::Action),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CatalogEntries::Table, CatalogEntries::OrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLogs::Table)
                    .col(ColumnDef::new(AuditLogs::OrgId).uuid().not_null())
                    .col(ColumnDef::new(AuditLogs::Seq).big_integer().not_null())
                    .col(ColumnDef::new(AuditLogs::Id).uuid().not_null())
                    .col(
                        ColumnDef::new(AuditLogs::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AuditLogs::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditLogs::ActorType).string().not_null())
                    .col(ColumnDef::new(AuditLogs::UserId).string().null())
                    .col(ColumnDef::new(AuditLogs::ApiKeyId).string().null())
                    .col(ColumnDef::new(AuditLogs::UserOrgRole).string().null())
                    .col(ColumnDef::new(AuditLogs::ProjectId).string().null())
                    .col(ColumnDef::new(AuditLogs::UserProjectRole).string().null())
                    .col(ColumnDef::new(AuditLogs::ResourceType).string().not_null())
                    .col(ColumnDef::new(AuditLogs::ResourceId).string().not_null())
                    .col(ColumnDef::new(AuditLogs::Action).string().not_null())
                    .col(ColumnDef::new(AuditLogs::Before).json_binary().null())
                    .col(ColumnDef::new(AuditLogs::After).json_binary().null())
                    .col(ColumnDef::new(AuditLogs::IpAddress).string().null())
                    .col(ColumnDef::new(AuditLogs::UserAgent).text().null())
                    .col(ColumnDef::new(AuditLogs::RequestId).string().null())
                    .col(ColumnDef::new(AuditLogs::TraceId).string().null())
                    .col(ColumnDef::new(AuditLogs::Metadata).json_binary().null())
                    .col(ColumnDef::new(AuditLogs::RecordedBy).uuid().null())
                    .col(ColumnDef::new(AuditLogs::PrevHash).string().not_null())
                    .col(ColumnDef::new(AuditLogs::Hash).string().not_null())
                    .col(ColumnDef::new(AuditLogs::ContentHash).string().not_null())
                    .primary_key(Index::create().col(AuditLogs::OrgId).col(AuditLogs::Seq))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuditLogs::Table, AuditLogs::OrgId)
                            .to(Organizations::Table, Organizations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_logs_org_id_unique")
                    .table(AuditLogs::Table)
                    .col(AuditLogs::OrgId)
                    .col(AuditLogs::Id)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for column in FILTER_COLUMNS {
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
        for table in [
            AuditLogs::Table.into_iden(),
            CatalogEntries::Table.into_iden(),
            ChainHeads::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
