//! Liveness and readiness, without credentials.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::state::AppState;
use crate::tasks::witness_board::WitnessStanding;

/// The answer of the health endpoints.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "status": "ok",
    "witnesses": [{
        "name": "witness.example.com",
        "unwitnessed": 0,
        "cosigned": 42,
        "refused": 0,
        "unreachable": 1,
        "lastError": "checkpoint 40 of organization 019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b: the witness did not answer",
        "lastCosignedAt": "2026-11-25T10:00:01.000Z"
    }]
}))]
pub struct HealthStatus {
    /// `ok` when healthy.
    #[schema(example = "ok")]
    pub status: String,
    /// On `/ready`, each configured witness's standing: a witness that is down or refuses does
    /// not make the server unready (ingest never waits for it), but shows here and in
    /// `/metrics` (`audit_checkpoints_unwitnessed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witnesses: Option<Vec<WitnessStanding>>,
}

/// The health routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "getHealth",
    tag = "operations",
    description = "Liveness: answers 200 while the process runs. Needs no credentials.",
    responses((status = 200, description = "The server is alive.", body = HealthStatus)),
)]
pub async fn health() -> Json<HealthStatus> {
    Json(HealthStatus {
        status: "ok".to_owned(),
        witnesses: None,
    })
}

/// Readiness: the database answers.
#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "getReadiness",
    tag = "operations",
    description = "Readiness: answers 200 when the database is reachable, 503 otherwise, with each configured \
                   witness's standing (organizations not yet cosigned, refusals and the last error). Needs no \
                   credentials.",
    responses(
        (status = 200, description = "The server can serve requests.", body = HealthStatus),
        (status = 503, description = "The database is unreachable.", body = audit_core::Problem),
    ),
)]
pub async fn ready(State(state): State<AppState>) -> Result<Json<HealthStatus>, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|_| ApiError::unavailable("the database is unreachable"))?;
    Ok(Json(HealthStatus {
        status: "ok".to_owned(),
        witnesses: Some(state.witness_board.standings()),
    }))
}
