//! Recording many events in one request.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AuditEvent, Problem};

/// The largest number of events in one batch.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// The body of a batch: up to 1,000 events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"events": [
    {"id": "019ab9a4-7c2e-7d3a-9a51-3f1e2b9c0d11", "type": "USER", "userId": "u_123",
     "projectId": "p_1", "resourceType": "prompt", "resourceId": "pr_9", "action": "update",
     "before": {"prompt": "Hi"}, "after": {"prompt": "Hello"}},
    {"type": "API_KEY", "apiKeyId": "pk_456", "resourceType": "prompt", "resourceId": "pr_9",
     "action": "explode"}
]})))]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The events, each validated on its own: one invalid event rejects only itself.
    #[cfg_attr(feature = "utoipa", schema(max_items = 1000))]
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
    /// The event's id, when it had or got one; null otherwise.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub id: Option<Uuid>,
    /// What happened.
    pub status: BatchItemStatus,
    /// Why it was rejected; present only when `status` is `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// The outcome of a batch, one entry per event in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"results": [
    {"index": 0, "id": "019ab9a4-7c2e-7d3a-9a51-3f1e2b9c0d11", "status": "created"},
    {"index": 1, "id": null, "status": "rejected", "error": {
        "type": "urn:problem:audit-log:validation", "title": "Unprocessable Entity", "status": 422,
        "detail": "action `explode` is not allowed for resource type `prompt`; allowed: create, delete, promote, setLabel, update, updateTags",
        "errors": [{"field": "events[1].action", "message": "allowed: create, delete, promote, setLabel, update, updateTags"}],
        "allowedActions": ["create", "delete", "promote", "setLabel", "update", "updateTags"]}}
]})))]
pub struct BatchResponse {
    /// One result per event.
    pub results: Vec<BatchItemResult>,
}
