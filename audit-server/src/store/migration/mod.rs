//! Schema migrations, run at start-up and by `audit-server migrate`.

use sea_orm_migration::prelude::*;

mod m20261125_000001_create_tables;
mod m20261125_000002_make_audit_logs_append_only;
mod m20261125_000003_create_server_secrets;
mod m20261126_000001_create_log_streams;
mod m20261126_000002_create_checkpoints;
mod m20261126_000003_allow_sanctioned_purges;
mod m20261206_000001_add_merkle_trees;
mod m20261207_000001_create_checkpoint_cosignatures;
mod m20261207_000002_add_delegated_actors;
mod m20261207_000002_add_stream_format;
mod m20261207_000002_partition_audit_logs;
mod m20261208_000001_add_stream_dead_letters;

/// Every migration, oldest first.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_tables::Migration),
            Box::new(m20261125_000002_make_audit_logs_append_only::Migration),
            Box::new(m20261125_000003_create_server_secrets::Migration),
            Box::new(m20261126_000001_create_log_streams::Migration),
            Box::new(m20261126_000002_create_checkpoints::Migration),
            Box::new(m20261126_000003_allow_sanctioned_purges::Migration),
            Box::new(m20261206_000001_add_merkle_trees::Migration),
            Box::new(m20261207_000001_create_checkpoint_cosignatures::Migration),
            Box::new(m20261207_000002_add_delegated_actors::Migration),
            Box::new(m20261207_000002_add_stream_format::Migration),
            Box::new(m20261207_000002_partition_audit_logs::Migration),
            Box::new(m20261208_000001_add_stream_dead_letters::Migration),
        ]
    }
}
