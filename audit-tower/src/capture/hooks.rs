//! The hooks a host plugs in to hand the layer a resource's state before the request: the
//! [`LoadBefore`] trait, the [`ResourceRef`] it is called with and the [`AuditState`] it
//! returns.
//!
//! A loader is the host's own code: the layer calls it contained (a panic costs the event its
//! `before`, never the request) and bounded by the layer's before-state timeout.

use std::future::Future;
use std::pin::Pin;

use audit_core::RawJson;
use serde_json::Value;

/// The name under which a panicking [`LoadBefore`] hook is logged.
pub(crate) const BEFORE_LOADER: &str = "before-state loader";

/// A boxed, sendable future, as [`LoadBefore`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The resource a request acts on, as a [`LoadBefore`] hook receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceRef {
    /// The resource type, e.g. `prompt`.
    pub resource_type: String,
    /// The resource id, e.g. from `{promptId}`.
    pub resource_id: String,
    /// The project, when the route names one.
    pub project_id: Option<String>,
    /// The action about to happen, e.g. `update`.
    pub action: String,
}

impl ResourceRef {
    /// A reference to `resource_type` `resource_id` (no project, action `update`).
    pub fn new(resource_type: impl Into<String>, resource_id: impl Into<String>) -> Self {
        ResourceRef {
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            project_id: None,
            action: "update".to_owned(),
        }
    }
}

/// A resource's state as a hook hands it over: a tree, or JSON text. Text is the cheaper
/// of the two when the host has the resource as a struct: [`RawJson::from_serialize`] writes
/// it out once, where `serde_json::to_value` builds a tree that is then written out again.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditState {
    /// A JSON tree.
    Value(Value),
    /// JSON text.
    Json(RawJson),
}

impl From<Value> for AuditState {
    fn from(value: Value) -> Self {
        AuditState::Value(value)
    }
}

impl From<RawJson> for AuditState {
    fn from(json: RawJson) -> Self {
        AuditState::Json(json)
    }
}

/// Loads a resource's current state, called before the inner service for every audited
/// action but `create` whose resource id is known from the path. Implemented for closures
/// `Fn(ResourceRef) -> impl Future<Output = Option<S>>` where `S` is a [`Value`] or a
/// [`RawJson`].
pub trait LoadBefore: Send + Sync + 'static {
    /// The resource's state now, or `None` when it does not exist.
    fn load(&self, resource: ResourceRef) -> BoxFuture<'static, Option<AuditState>>;
}

impl<F, Fut, S> LoadBefore for F
where
    F: Fn(ResourceRef) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<S>> + Send + 'static,
    S: Into<AuditState>,
{
    fn load(&self, resource: ResourceRef) -> BoxFuture<'static, Option<AuditState>> {
        let loading = self(resource);
        Box::pin(async move { loading.await.map(Into::into) })
    }
}
