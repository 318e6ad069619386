//! The values a handler attaches to its response as extensions to steer the event: exact
//! states ([`AuditBefore`], [`AuditAfter`]), extra [`AuditMetadata`], or [`AuditSkip`].
//!
//! Each takes precedence over what the layer would find by itself (a loader, the response
//! body); the layer removes them from the response before it reaches the client.

/// The state of the resource before the request, set by the handler as a response extension.
/// It takes precedence over a [`LoadBefore`](super::LoadBefore) hook.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditBefore(pub serde_json::Value);

/// The exact state after the request, set by the handler as a response extension. It takes
/// precedence over the response body.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditAfter(pub serde_json::Value);

/// Extra metadata for the event, set by the handler as a response extension; merged over the
/// layer's own (`method`, `route`, `status`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditMetadata(pub serde_json::Map<String, serde_json::Value>);

/// Set by the handler as a response extension: record nothing for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditSkip;
