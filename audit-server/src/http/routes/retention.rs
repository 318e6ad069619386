//! An organization's retention period, and purging records older than it.

use audit_core::{FieldError, MAX_RETENTION_SECONDS, Problem, PurgeReport, RetentionPolicy};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::body::{ApiPath, JsonBody, uuid_param};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::api_keys::ChangedBy;
use crate::store::organizations;
use crate::store::retention::{self, Initiator};
use crate::tasks::purger;

/// The retention routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_retention, set_retention))
        .routes(routes!(purge_now))
}

/// The operator, or an organization-level key of `org_id` with `apiKeys:manage`; the
/// organization must exist.
async fn manager(state: &AppState, caller: &Caller, org_id: &str) -> Result<(Uuid, Initiator), ApiError> {
    let org_id = uuid_param("orgId", org_id)?;
    let manager = caller.manager_of(org_id)?;
    if manager.project_id.is_some() {
        return Err(ApiError::forbidden(
            "retention applies to the whole organization; use an organization-level key",
        ));
    }
    if organizations::find(&state.store, org_id).await?.is_none() {
        return Err(ApiError::not_found("no such organization"));
    }
    let by = match manager.changed_by {
        ChangedBy::Operator => Initiator::Operator,
        ChangedBy::Key(key_id) => Initiator::Key(key_id),
    };
    Ok((org_id, by))
}

/// The organization's retention period.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{orgId}/retention",
    operation_id = "getRetention",
    tag = "retention",
    description = "How long the organization's records are kept (null: forever, the default). Allowed for the \
                   admin token and for organization-level keys of the organization with `apiKeys:manage`.",
    params(("orgId" = uuid::Uuid, Path, description = "The organization.")),
    responses(
        (status = 200, description = "The policy.", body = RetentionPolicy),
        (status = 400, description = "Malformed path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not allowed to manage this organization.", body = Problem),
        (status = 404, description = "No such organization.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn get_retention(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(org_id): ApiPath<String>,
) -> Result<Json<RetentionPolicy>, ApiError> {
    let (org_id, _) = manager(&state, &caller, &org_id).await?;
    Ok(Json(retention::policy(&state.store, org_id).await?))
}

/// Sets the organization's retention period.
#[utoipa::path(
    put,
    path = "/api/v1/organizations/{orgId}/retention",
    operation_id = "setRetention",
    tag = "retention",
    description = "Sets how long the organization's records are kept: `retentionSeconds` from 1 to 100 years, or \
                   null to keep them forever. The purge job (every `AUDIT_PURGE_INTERVAL_SECS`) then removes older \
                   records, oldest first, and records each purge as an `auditLog` `purge` event. Recorded as a \
                   `retentionPolicy` `update` event. Allowed for the admin token and for organization-level keys \
                   of the organization with `apiKeys:manage`.",
    params(("orgId" = uuid::Uuid, Path, description = "The organization.")),
    request_body(content = RetentionPolicy, description = "The retention period."),
    responses(
        (status = 200, description = "The policy now in force.", body = RetentionPolicy),
        (status = 400, description = "Malformed JSON or path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not allowed to manage this organization.", body = Problem),
        (status = 404, description = "No such organization.", body = Problem),
        (status = 413, description = "The body is too large.", body = Problem),
        (status = 415, description = "The body is not JSON.", body = Problem),
        (status = 422, description = "`retentionSeconds` out of range or of the wrong type.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn set_retention(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(org_id): ApiPath<String>,
    JsonBody(body): JsonBody<RetentionPolicy>,
) -> Result<Json<RetentionPolicy>, ApiError> {
    let (org_id, by) = manager(&state, &caller, &org_id).await?;
    if let Some(seconds) = body.retention_seconds
        && !(1..=MAX_RETENTION_SECONDS).contains(&seconds)
    {
        return Err(ApiError::unprocessable(
            "invalid retention period",
            vec![FieldError::new(
                "retentionSeconds",
                format!("must be from 1 to {MAX_RETENTION_SECONDS}, or null to keep records forever"),
            )],
        ));
    }
    Ok(Json(retention::set_policy(&state.store, org_id, body, by).await?))
}

/// Purges the organization's expired records now.
#[utoipa::path(
    post,
    path = "/api/v1/organizations/{orgId}/retention/purge",
    operation_id = "purgeExpiredAuditLogs",
    tag = "retention",
    description = "Runs the retention purge for the organization now instead of waiting for the schedule: removes \
                   the records older than its retention period (always the oldest, a prefix of `seq`) through the \
                   one path the database's append-only triggers allow, moves the chain's anchor to the first kept \
                   record, records an `auditLog` `purge` event with the counts and signs a checkpoint. Without a \
                   retention period, or without expired records, nothing changes. Verify stays valid. Allowed for \
                   the admin token and for organization-level keys of the organization with `apiKeys:manage`.",
    params(("orgId" = uuid::Uuid, Path, description = "The organization.")),
    responses(
        (status = 200, description = "What the purge did.", body = PurgeReport),
        (status = 400, description = "Malformed path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not allowed to manage this organization.", body = Problem),
        (status = 404, description = "No such organization.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn purge_now(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(org_id): ApiPath<String>,
) -> Result<Json<PurgeReport>, ApiError> {
    let (org_id, by) = manager(&state, &caller, &org_id).await?;
    Ok(Json(
        purger::purge_org(&state.store, &state.checkpoint_signer, org_id, by).await?,
    ))
}
