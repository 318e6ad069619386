//! `log_streams`: deliveries of an organization's trail to an outside destination.

use sea_orm::entity::prelude::*;

/// One stream.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "log_streams")]
pub struct Model {
    /// The stream's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Its organization.
    pub org_id: Uuid,
    /// Display name.
    pub name: String,
    /// `webhook`, `splunkHec`, `datadog` or `file`.
    pub kind: String,
    /// The destination as the API shows it (with its `type`), without the secret.
    #[sea_orm(column_type = "JsonBinary")]
    pub config: Json,
    /// The secret, encrypted with the server's stream key (hex of nonce and ciphertext).
    #[sea_orm(column_type = "Text", nullable)]
    pub secret_sealed: Option<String>,
    /// The secret's last four characters.
    pub secret_hint: Option<String>,
    /// Which records it delivers.
    #[sea_orm(column_type = "JsonBinary")]
    pub filter: Json,
    /// `native` or `ocsf`.
    pub format: String,
    /// The privacy policy as JSON text (`None`: no rules).
    #[sea_orm(column_type = "Text", nullable)]
    pub privacy: Option<String>,
    /// The stream's hashing key for its privacy policy, sealed like the secret.
    #[sea_orm(column_type = "Text", nullable)]
    pub privacy_key_sealed: Option<String>,
    /// `active` or `paused`.
    pub state: String,
    /// Every record up to this `seq` is delivered (or filtered out).
    pub cursor_seq: i64,
    /// The hash of the last record delivered (`None` before the first batch).
    #[sea_orm(column_type = "Text", nullable)]
    pub last_delivered_hash: Option<String>,
    /// Records delivered so far.
    pub delivered_total: i64,
    /// `healthy` or `unhealthy`.
    pub health: String,
    /// Failed attempts since the last success.
    pub consecutive_failures: i32,
    /// The most recent failure.
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// The last acknowledged batch.
    pub last_success_at: Option<DateTimeUtc>,
    /// The last attempt.
    pub last_attempt_at: Option<DateTimeUtc>,
    /// The server process delivering it.
    pub lease_owner: Option<Uuid>,
    /// Until when that process may deliver it without renewing.
    pub lease_expires_at: Option<DateTimeUtc>,
    /// Attempts before a permanently refused record is set aside.
    pub max_attempts: i32,
    /// The `seq`s set aside since the last delivered batch (JSON array text; `None`: none).
    #[sea_orm(column_type = "Text", nullable)]
    pub dead_lettered_pending: Option<String>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change through the API.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
