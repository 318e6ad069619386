//! Retention on the wire: an organization's retention period and what a purge removed.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest retention period accepted: 100 years, in seconds.
pub const MAX_RETENTION_SECONDS: i64 = 100 * 366 * 24 * 3600;

/// How long an organization's records are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"retentionSeconds": 31_536_000})))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Records older than this many seconds are purged; null keeps them forever (the default).
    #[cfg_attr(feature = "utoipa", schema(required, minimum = 1, maximum = 3162240000_i64))]
    pub retention_seconds: Option<i64>,
}

/// What one purge of an organization's trail did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b",
    "purged": 1200,
    "firstSeq": 1201,
    "anchorPrevHash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "eventSeq": 5031
})))]
#[serde(rename_all = "camelCase")]
pub struct PurgeReport {
    /// The organization.
    pub org_id: Uuid,
    /// How many records were removed.
    pub purged: u64,
    /// The first `seq` still kept (the chain's anchor), or the next `seq` to be written when
    /// nothing is kept.
    pub first_seq: i64,
    /// The `prevHash` the first kept record chains to.
    pub anchor_prev_hash: String,
    /// The `seq` of the `auditLog` `purge` event that records this purge, or null when nothing
    /// was removed (then nothing is recorded).
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub event_seq: Option<i64>,
}
