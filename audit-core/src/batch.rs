//! Recording many events in one request.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AuditEvent, Problem};

/// The largest number of events in one batch.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// The body of a batch: 1 to 1,000 events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The events, each validated on its own.
    pub events: Vec<AuditEvent>,
}

/// What happened to one event of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum BatchItemStatus {
    /// Stored now.
    Created,
    /// Already stored with the same content (a safe retry).
    Duplicate,
    /// Not stored; `error` says why.
    Rejected,
}

/// The outcome of one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchItemResult {
    /// The event's position in the request.
    pub index: usize,
    /// The event's id, when it had or got one.
    pub id: Option<Uuid>,
    /// What happened.
    pub status: BatchItemStatus,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// The outcome of a batch, one entry per event in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BatchResponse {
    /// One result per event.
    pub results: Vec<BatchItemResult>,
}
