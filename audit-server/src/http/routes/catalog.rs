//! The catalog of resource types and actions.

use audit_core::{CatalogEntry, CatalogResponse, FieldError, Problem, check_name};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Caller;
use crate::http::body::{ApiPath, JsonBody, uuid_param};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::{catalog, organizations};

/// The catalog routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_catalog))
        .routes(routes!(add_catalog_entry))
}

/// The catalog in force for the caller.
#[utoipa::path(
    get,
    path = "/api/v1/catalog",
    operation_id = "getCatalog",
    tag = "catalog",
    description = "The resource types and actions the caller may record: Langfuse's built-in table, the operator's \
                   additions and, for an API key, its organization's additions. Any valid credential may read it.",
    responses(
        (status = 200, description = "The catalog.", body = CatalogResponse),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn get_catalog(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CatalogResponse>, ApiError> {
    let mut combined = (*state.catalog).clone();
    if let Some(org_id) = caller.org_id() {
        combined.extend(&catalog::extension(&state.store, org_id).await?);
    }
    Ok(Json(combined.to_response()))
}

/// Adds actions of a resource type to an organization's catalog.
#[utoipa::path(
    post,
    path = "/api/v1/organizations/{orgId}/catalog",
    operation_id = "addCatalogEntry",
    tag = "catalog",
    description = "Adds a resource type and actions (or actions of a known type) to the organization's catalog, \
                   for the host app's own resources. Pairs already present are kept. Allowed for the admin token \
                   and organization-level keys with `apiKeys:manage`. Answers the organization's whole catalog.",
    params(("orgId" = uuid::Uuid, Path, description = "The organization.")),
    request_body(content = CatalogEntry, description = "The resource type and its actions."),
    responses(
        (status = 200, description = "The organization's catalog now.", body = CatalogResponse),
        (status = 400, description = "Malformed JSON or path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not allowed to manage this organization.", body = Problem),
        (status = 404, description = "No such organization.", body = Problem),
        (status = 413, description = "The body is too large.", body = Problem),
        (status = 415, description = "The body is not JSON.", body = Problem),
        (status = 422, description = "Invalid names.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn add_catalog_entry(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(org_id): ApiPath<String>,
    JsonBody(entry): JsonBody<CatalogEntry>,
) -> Result<Json<CatalogResponse>, ApiError> {
    let org_id = uuid_param("orgId", &org_id)?;
    let manager = caller.manager_of(org_id)?;
    if manager.project_id.is_some() {
        return Err(ApiError::forbidden(
            "a project-restricted key cannot change the organization's catalog",
        ));
    }
    let mut errors = Vec::new();
    if let Err(message) = check_name(&entry.resource_type) {
        errors.push(FieldError::new("resourceType", message));
    }
    if entry.actions.is_empty() || entry.actions.len() > 100 {
        errors.push(FieldError::new("actions", "must hold 1 to 100 actions"));
    }
    for (index, action) in entry.actions.iter().enumerate() {
        if let Err(message) = check_name(action) {
            errors.push(FieldError::new(format!("actions[{index}]"), message));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::unprocessable("invalid catalog entry", errors));
    }
    if organizations::find(&state.store, org_id).await?.is_none() {
        return Err(ApiError::not_found("no such organization"));
    }
    catalog::add(&state.store, org_id, &entry.resource_type, &entry.actions).await?;
    let mut combined = (*state.catalog).clone();
    combined.extend(&catalog::extension(&state.store, org_id).await?);
    Ok(Json(combined.to_response()))
}
