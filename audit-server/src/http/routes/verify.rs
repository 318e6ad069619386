//! Chain verification.

use audit_core::{FieldError, Problem, Scope, VerifyParams, VerifyReport};
use axum::Json;
use axum::extract::{RawQuery, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Caller;
use crate::http::body::query_pairs;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::verify;

/// The verification route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(verify_audit_logs))
}

/// Verifies the organization's chain.
#[utoipa::path(
    get,
    path = "/api/v1/audit-logs/verify",
    operation_id = "verifyAuditLogs",
    tag = "audit-logs",
    description = "Recomputes the organization's hash chain from the stored records and names the first `seq` \
                   where it breaks: a record changed, removed, inserted or reordered behind the server's back. \
                   The chain spans the whole organization, so project-restricted keys may not call it. Needs \
                   `auditLogs:read`.",
    params(VerifyParams),
    responses(
        (status = 200, description = "The verdict.", body = VerifyReport),
        (status = 400, description = "Malformed parameters.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Missing scope, or a project-restricted key.", body = Problem),
        (status = 422, description = "An inverted or non-positive range.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn verify_audit_logs(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<VerifyReport>, ApiError> {
    let key = caller.key_with(Scope::AuditLogsRead)?;
    if key.project_id.is_some() {
        return Err(ApiError::forbidden(
            "the chain spans the organization; use an organization-level key",
        ));
    }
    let pairs = query_pairs(query.as_deref())?;
    let mut params = VerifyParams::default();
    for (name, value) in &pairs {
        let slot = match name.as_str() {
            "fromSeq" => &mut params.from_seq,
            "toSeq" => &mut params.to_seq,
            _ => {
                return Err(ApiError::bad_request(
                    "unknown query parameter",
                    vec![FieldError::new(name.clone(), "is not a known parameter")],
                ));
            }
        };
        let parsed = value.parse::<i64>().map_err(|_| {
            ApiError::bad_request(
                "malformed query parameters",
                vec![FieldError::new(name.clone(), "must be a whole number")],
            )
        })?;
        *slot = Some(parsed);
    }
    let mut errors = Vec::new();
    for (name, value) in [("fromSeq", params.from_seq), ("toSeq", params.to_seq)] {
        if value.is_some_and(|seq| seq < 1) {
            errors.push(FieldError::new(name, "must be at least 1"));
        }
    }
    if let (Some(from), Some(to)) = (params.from_seq, params.to_seq)
        && from > to
    {
        errors.push(FieldError::new("toSeq", "must not be below `fromSeq`"));
    }
    if !errors.is_empty() {
        return Err(ApiError::unprocessable("invalid range", errors));
    }
    Ok(Json(
        verify::verify(&state.store, key.org_id, params.from_seq, params.to_seq).await?,
    ))
}
