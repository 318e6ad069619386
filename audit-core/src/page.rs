//! A page of records.

use serde::{Deserialize, Serialize};

use crate::AuditRecord;

/// One page of the read endpoint, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"data": [{
    "id": "019ab9a4-7c2e-7d3a-9a51-3f1e2b9c0d11",
    "orgId": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b",
    "seq": 42,
    "createdAt": "2026-11-25T10:00:00.120Z",
    "occurredAt": "2026-11-25T10:00:00.000Z",
    "type": "USER",
    "userId": "u_123",
    "apiKeyId": null,
    "userOrgRole": "ADMIN",
    "projectId": "p_1",
    "userProjectRole": "MEMBER",
    "resourceType": "prompt",
    "resourceId": "pr_9",
    "action": "update",
    "before": {"name": "greeting", "prompt": "Hi"},
    "after": {"name": "greeting", "prompt": "Hello"},
    "ipAddress": "203.0.113.7",
    "userAgent": "Mozilla/5.0",
    "requestId": "req-abc",
    "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
    "metadata": {"source": "web"},
    "recordedBy": "019ab9a1-2a3b-7c4d-9e5f-6a7b8c9d0e1f",
    "prevHash": "5d41402abc4b2a76b9719d911017c592ae6c4d3f1b2a8e7c6d5f4e3b2a190817",
    "hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}], "nextCursor": "djE6NDI"})))]
#[serde(rename_all = "camelCase")]
pub struct AuditLogPage {
    /// The records, newest first, at most `limit` of them.
    pub data: Vec<AuditRecord>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub next_cursor: Option<String>,
}
