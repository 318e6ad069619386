//! The HTTP API, one module per feature, each contributing documented routes.

pub mod api_keys;
pub mod audit_logs;
pub mod catalog;
pub mod checkpoint_policy;
pub mod checkpoints;
pub mod export;
pub mod health;
pub mod organizations;
pub mod proofs;
pub mod retention;
pub mod stream_dead_letters;
pub mod streams;
pub mod tail;
pub mod tlog_proof;
pub mod verify;
pub mod viewer;
pub mod viewer_tokens;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every documented route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(organizations::router())
        .merge(api_keys::router())
        .merge(audit_logs::router())
        .merge(verify::router())
        .merge(proofs::router())
        .merge(tlog_proof::router())
        .merge(catalog::router())
        .merge(export::router())
        .merge(tail::router())
        .merge(viewer_tokens::router())
        .merge(streams::router())
        .merge(checkpoints::router())
        .merge(checkpoint_policy::router())
        .merge(retention::router())
}
