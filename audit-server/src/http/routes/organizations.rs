//! Organizations, managed by the operator.

use audit_core::{NewOrganization, Organization, OrganizationList, Problem, check_display_name};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::organizations;

/// The organization routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_organization, list_organizations))
}

/// Creates an organization.
#[utoipa::path(
    post,
    path = "/api/v1/organizations",
    operation_id = "createOrganization",
    tag = "organizations",
    description = "Creates an organization (a tenant with its own trail, chain and keys). Admin token only.",
    request_body(content = NewOrganization, description = "The organization's name."),
    responses(
        (status = 201, description = "The organization was created.", body = Organization),
        (status = 400, description = "Malformed JSON.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not the admin token.", body = Problem),
        (status = 413, description = "The body is too large.", body = Problem),
        (status = 415, description = "The body is not JSON.", body = Problem),
        (status = 422, description = "The name is invalid.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn create_organization(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewOrganization>,
) -> Result<(StatusCode, Json<Organization>), ApiError> {
    caller.operator()?;
    check_display_name("name", &body.name)?;
    let organization = organizations::create(&state.store, &body.name).await?;
    Ok((StatusCode::CREATED, Json(organization)))
}

/// Lists organizations.
#[utoipa::path(
    get,
    path = "/api/v1/organizations",
    operation_id = "listOrganizations",
    tag = "organizations",
    description = "Lists every organization, oldest first. Admin token only.",
    responses(
        (status = 200, description = "The organizations.", body = OrganizationList),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not the admin token.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn list_organizations(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<OrganizationList>, ApiError> {
    caller.operator()?;
    Ok(Json(OrganizationList {
        data: organizations::list(&state.store).await?,
    }))
}
