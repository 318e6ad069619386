//! Dead letters: records a log stream's destination refused for good (a permanent refusal after
//! the stream's `maxAttempts`), set aside so the records after them are delivered. Each one can
//! be retried or discarded through the API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::timestamp;

/// Attempts a batch gets before the worker isolates a refused record, when a stream sets none.
pub const DEFAULT_STREAM_MAX_ATTEMPTS: u32 = 5;
/// The most attempts a stream may ask for.
pub const MAX_STREAM_MAX_ATTEMPTS: u32 = 100;

/// One record set aside by a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "streamId": "019ab9b0-5c6d-7e8f-9a0b-1c2d3e4f5a6b", "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b",
    "seq": 1207, "recordId": "019ab9a4-7c2e-7d3a-9a51-3f1e2b9c0d11",
    "lastError": "HTTP 400: unknown resource type", "attempts": 5,
    "deadLetteredAt": "2026-12-08T10:00:00.000Z", "lastAttemptAt": "2026-12-08T10:00:00.000Z"
})))]
#[serde(rename_all = "camelCase")]
pub struct StreamDeadLetter {
    /// The stream that set it aside.
    pub stream_id: Uuid,
    /// The stream's organization.
    pub org_id: Uuid,
    /// The record's `seq`.
    pub seq: i64,
    /// The record's id.
    pub record_id: Uuid,
    /// The destination's last answer (at most 1,024 characters).
    pub last_error: String,
    /// Attempts so far, retries through the API included.
    pub attempts: u32,
    /// When the stream set it aside.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub dead_lettered_at: DateTime<Utc>,
    /// The last attempt.
    #[serde(with = "timestamp::required")]
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub last_attempt_at: DateTime<Utc>,
}

/// One page of a stream's dead letters, in `seq` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"data": [{
    "streamId": "019ab9b0-5c6d-7e8f-9a0b-1c2d3e4f5a6b", "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b",
    "seq": 1207, "recordId": "019ab9a4-7c2e-7d3a-9a51-3f1e2b9c0d11",
    "lastError": "HTTP 400: unknown resource type", "attempts": 5,
    "deadLetteredAt": "2026-12-08T10:00:00.000Z", "lastAttemptAt": "2026-12-08T10:00:00.000Z"
}], "nextCursor": null})))]
#[serde(rename_all = "camelCase")]
pub struct StreamDeadLetterPage {
    /// The dead letters, oldest `seq` first, at most `limit` of them.
    pub data: Vec<StreamDeadLetter>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub next_cursor: Option<String>,
}
