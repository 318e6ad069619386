//! PostgreSQL only (SQLite is unchanged): `audit_logs` becomes a table partitioned by month of
//! `created_at`, migrated in place (the rows are copied unchanged into the new table, in one
//! transaction, and the old table is dropped).
//!
//! Invariants:
//! - Every unique index of a partitioned table must hold the partition key, so uniqueness lives
//!   in `audit_log_keys`, a plain table of one `(org_id, id, seq)` claim per stored record:
//!   primary key `(org_id, id)` (the idempotency key) and unique `(org_id, seq)`. The `BEFORE
//!   INSERT` trigger `audit_logs_claim_key` claims the key with `ON CONFLICT DO NOTHING` and skips
//!   the row when the key was claimed already, which is what `INSERT … ON CONFLICT (org_id, id)
//!   DO NOTHING` did before: a concurrent claim of the same key waits for the other transaction
//!   and then skips, so a record is stored exactly once. A second row with a claimed `seq` fails.
//! - A deleted record (only a sanctioned purge can delete one) gives its claim back
//!   (`audit_logs_release_key`), as the unique index did. Both key triggers are `ENABLE ALWAYS`:
//!   like a unique index they hold for an owner working with `session_replication_role =
//!   replica` too. A row whose own claim (same `seq`) is there already is stored: a restored
//!   dump brings `audit_log_keys` back before the partitions.
//! - The primary key is `(org_id, seq, created_at)`: in every partition it serves the keyset
//!   order; the filter indexes `(org_id, column, seq)` are made on every partition.
//! - The append-only row trigger is on the parent, so PostgreSQL puts it on every partition;
//!   the `TRUNCATE` trigger is a statement trigger, which partitions do not inherit, so
//!   `audit_logs_ensure_partition` puts one on each partition it makes.
//! - Partitions are named `audit_logs_pYYYY_MM` and cover one UTC month; the server makes them
//!   ahead (`store::partitions`), and this migration makes every month from the oldest record
//!   to two months ahead. `audit_logs_drop_partition` detaches and drops one, for retention by
//!   partition (`store::partitions`); only the table's owner can run it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The filter indexes of `m20261125_000001`, made again on the partitioned table.
const FILTER_COLUMNS: [&str; 8] = [
    "project_id",
    "actor_type",
    "user_id",
    "api_key_id",
    "resource_type",
    "resource_id",
    "action",
    "created_at",
];

const FUNCTIONS: &str = r#"
CREATE FUNCTION audit_logs_ensure_partition(instant timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamp := date_trunc('month', instant AT TIME ZONE 'UTC');
    partition_name text := 'audit_logs_p' || to_char(month_start, 'YYYY_MM');
BEGIN
    IF to_regclass(partition_name) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF audit_logs FOR VALUES FROM (%L) TO (%L)',
                partition_name,
                month_start AT TIME ZONE 'UTC',
                (month_start + interval '1 month') AT TIME ZONE 'UTC');
            EXECUTE format('CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON %I '
                'FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change()', partition_name);
        EXCEPTION WHEN duplicate_table THEN
            NULL; -- another server made it at the same moment
        END;
    END IF;
    RETURN partition_name;
END
$$;
CREATE FUNCTION audit_logs_drop_partition(partition_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE audit_logs DETACH PARTITION %I', partition_name);
    EXECUTE format('DROP TABLE %I', partition_name);
END
$$;
REVOKE EXECUTE ON FUNCTION audit_logs_drop_partition(text) FROM PUBLIC;
CREATE FUNCTION audit_logs_claim_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log_keys (org_id, id, seq) VALUES (NEW.org_id, NEW.id, NEW.seq)
        ON CONFLICT (org_id, id) DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    -- The claim of this very row (same seq), as a restore of a dump brings it back first.
    IF EXISTS (SELECT 1 FROM audit_log_keys
               WHERE org_id = NEW.org_id AND id = NEW.id AND seq = NEW.seq) THEN
        RETURN NEW;
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION audit_logs_release_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM audit_log_keys WHERE org_id = OLD.org_id AND id = OLD.id;
    RETURN OLD;
END
$$;
"#;

const UP: &str = r#"
ALTER TABLE audit_logs RENAME TO audit_logs_unpartitioned;
DO $$
DECLARE
    index_name text;
BEGIN
    FOR index_name IN SELECT indexname FROM pg_indexes
                      WHERE schemaname = current_schema() AND tablename = 'audit_logs_unpartitioned'
    LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', index_name, 'unpartitioned_' || index_name);
    END LOOP;
END
$$;
CREATE TABLE audit_logs (LIKE audit_logs_unpartitioned INCLUDING DEFAULTS)
    PARTITION BY RANGE (created_at);
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_pkey PRIMARY KEY (org_id, seq, created_at);
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_org_id_fkey
    FOREIGN KEY (org_id) REFERENCES organizations (id);
CREATE INDEX audit_logs_org_id_id ON audit_logs (org_id, id);
CREATE TABLE audit_log_keys (
    org_id uuid NOT NULL,
    id uuid NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, seq)
);
"#;

const TRIGGERS_AND_ROWS: &str = r#"
CREATE TRIGGER audit_logs_claim_key BEFORE INSERT ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_claim_key();
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change();
CREATE TRIGGER audit_logs_release_key AFTER DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_release_key();
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_logs_claim_key;
ALTER TABLE audit_logs ENABLE ALWAYS TRIGGER audit_logs_release_key;
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change();
SELECT audit_logs_ensure_partition(month AT TIME ZONE 'UTC')
FROM generate_series(
    date_trunc('month', COALESCE((SELECT min(created_at) FROM audit_logs_unpartitioned), now())
        AT TIME ZONE 'UTC'),
    (now() AT TIME ZONE 'UTC') + interval '2 months',
    interval '1 month') AS month;
INSERT INTO audit_logs SELECT * FROM audit_logs_unpartitioned ORDER BY org_id, seq;
DROP TABLE audit_logs_unpartitioned;
"#;

/// Back to one table (the schema of `m20261126_000003`), every row kept.
const DOWN: &str = r#"
CREATE TABLE audit_logs_unpartitioned (LIKE audit_logs INCLUDING DEFAULTS);
INSERT INTO audit_logs_unpartitioned SELECT * FROM audit_logs ORDER BY org_id, seq;
DROP TABLE audit_logs;
DROP TABLE audit_log_keys;
DROP FUNCTION audit_logs_ensure_partition(timestamptz);
DROP FUNCTION audit_logs_drop_partition(text);
DROP FUNCTION audit_logs_claim_key();
DROP FUNCTION audit_logs_release_key();
ALTER TABLE audit_logs_unpartitioned RENAME TO audit_logs;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_pkey PRIMARY KEY (org_id, seq);
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_org_id_fkey
    FOREIGN KEY (org_id) REFERENCES organizations (id);
CREATE UNIQUE INDEX audit_logs_org_id_unique ON audit_logs (org_id, id);
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change();
"#;

/// `CREATE INDEX audit_logs_org_{column}_seq ON audit_logs (org_id, {column}, seq)` for each
/// filter column (the names are the constants above, not input).
fn filter_indexes() -> String {
    FILTER_COLUMNS
        .iter()
        .map(|column| {
            format!("CREATE INDEX audit_logs_org_{column}_seq ON audit_logs (org_id, {column}, seq);\n")
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(UP).await?;
        db.execute_unprepared(&filter_indexes()).await?;
        db.execute_unprepared(FUNCTIONS).await?;
        db.execute_unprepared(TRIGGERS_AND_ROWS).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(DOWN).await?;
        db.execute_unprepared(&filter_indexes()).await?;
        Ok(())
    }
}
