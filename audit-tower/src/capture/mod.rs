//! What the layer captures around a request: the route and actor, the client's context, the
//! state before (a loader hook or a response extension) and after (the response body or a
//! response extension), and how it all becomes one
//! [`AuditEvent`](audit_core::AuditEvent).
//!
//! A handler may hand the layer exact values through response extensions:
//!
//! ```
//! use audit_tower::{AuditAfter, AuditBefore, AuditMetadata};
//! use axum::{Extension, Json};
//! use serde_json::{Map, Value, json};
//!
//! async fn rename() -> (Extension<AuditBefore>, Extension<AuditAfter>, Extension<AuditMetadata>, Json<Value>) {
//!     let mut metadata = Map::new();
//!     metadata.insert("reason".into(), json!("typo"));
//!     (
//!         Extension(AuditBefore(json!({ "name": "teh" }))),
//!         Extension(AuditAfter(json!({ "name": "the" }))),
//!         Extension(AuditMetadata(metadata)),
//!         Json(json!({ "ok": true })),
//!     )
//! }
//! ```

//!
//! The module, one idea a file:
//!
//! - `hooks`: what the host plugs in to load a state before the request ([`LoadBefore`]);
//! - `extensions`: what a handler attaches to its response ([`AuditBefore`], ...);
//! - `request_context`, `trusted_proxies`, `bounded_text`: where the request came from;
//! - `tee`: the copy of a body kept on the side;
//! - `pending`: an audited request from its arrival to the end of its response body;
//! - `event` and `recorded_state`: how it becomes one [`AuditEvent`](audit_core::AuditEvent),
//!   its states masked and bounded.

mod bounded_text;
mod event;
mod extensions;
mod hooks;
mod pending;
mod recorded_state;
mod request_context;
mod tee;
mod trusted_proxies;

pub use extensions::{AuditAfter, AuditBefore, AuditMetadata, AuditSkip};
pub(crate) use hooks::BEFORE_LOADER;
pub use hooks::{AuditState, BoxFuture, LoadBefore, ResourceRef};
pub(crate) use pending::{Pending, prepare};
pub(crate) use tee::Tee;
pub(crate) use trusted_proxies::TrustedProxies;
