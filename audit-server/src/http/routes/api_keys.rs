//! An organization's API keys.

use audit_core::{ApiKeyList, CreatedApiKey, FieldError, NewApiKey, Problem, check_display_name};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Caller;
use crate::http::body::{ApiPath, JsonBody, uuid_param};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::{api_keys, organizations};

/// The API key routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
}

/// Creates an API key.
#[utoipa::path(
    post,
    path = "/api/v1/organizations/{orgId}/api-keys",
    operation_id = "createApiKey",
    tag = "api-keys",
    description = "Creates an API key of the organization. The secret is in this answer only; the server keeps \
                   only its hash. Allowed for the admin token and for keys of the organization with `apiKeys:manage` \
                   (a project-restricted manager creates keys of its own project only). Recorded as an `apiKey` \
                   `create` event.",
    params(("orgId" = uuid::Uuid, Path, description = "The organization.")),
    request_body(content = NewApiKey, description = "Name, scopes and optional project restriction."),
    responses(
        (status = 201, description = "The key, with its secret.", body = CreatedApiKey),
        (status = 400, description = "Malformed JSON or path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not allowed to manage this organization's keys.", body = Problem),
        (status = 404, description = "No such organization.", body = Problem),
        (status = 413, description = "The body is too large.", body = Problem),
        (status = 415, description = "The body is not JSON.", body = Problem),
        (status = 422, description = "Invalid name, scopes or project.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(org_id): ApiPath<String>,
    JsonBody(mut body): JsonBody<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let org_id = uuid_param("orgId", &org_id)?;
    let manager = caller.manager_of(org_id)?;
    check_display_name("name", &body.name)?;
    if body.scopes.is_empty() {
        return Err(ApiError::unprocessable(
            "a key needs at least one scope",
            vec![FieldError::new("scopes", "must not be empty")],
        ));
    }
    if let Some(project_id) = &body.project_id {
        check_display_name("projectId", project_id)?;
    }
    if let Some(own_project) = &manager.project_id {
        match &body.project_id {
            None => body.project_id = Some(own_project.clone()),
            Some(requested) if requested != own_project => {
                return Err(ApiError::forbidden(
                    "a project-restricted key manages keys of its own project only",
                ));
            }
            Some(_) => {}
        }
    }
    if organizations::find(&state.store, org_id).await?.is_none() {
        return Err(ApiError::not_found("no such organization"));
    }
    let created = api_keys::create(&state.store, org_id, &body, manager.changed_by).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Lists API keys.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{orgId}/api-keys",
    operation_id = "listApiKeys",
    tag = "api-keys",
    description = "Lists the organization's keys, revoked ones included, without secrets. A project-restricted \
                   manager sees its project's keys only.",
    params(("orgId" = uuid::Uuid, Path, description = "The organization.")),
    responses(
        (status = 200, description = "The keys.", body = ApiKeyList),
        (status = 400, description = "Malformed path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not allowed to manage this organization's keys.", body = Problem),
        (status = 404, description = "No such organization.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn list_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(org_id): ApiPath<String>,
) -> Result<Json<ApiKeyList>, ApiError> {
    let org_id = uuid_param("orgId", &org_id)?;
    let manager = caller.manager_of(org_id)?;
    if organizations::find(&state.store, org_id).await?.is_none() {
        return Err(ApiError::not_found("no such organization"));
    }
    let data = api_keys::list(&state.store, org_id, manager.project_id.as_deref()).await?;
    Ok(Json(ApiKeyList { data }))
}

/// Revokes an API key.
#[utoipa::path(
    delete,
    path = "/api/v1/organizations/{orgId}/api-keys/{keyId}",
    operation_id = "revokeApiKey",
    tag = "api-keys",
    description = "Revokes a key at once; it is kept (listed as revoked), never forgotten. Revoking a revoked key \
                   changes nothing. Recorded as an `apiKey` `delete` event.",
    params(
        ("orgId" = uuid::Uuid, Path, description = "The organization."),
        ("keyId" = uuid::Uuid, Path, description = "The key to revoke."),
    ),
    responses(
        (status = 204, description = "The key is revoked."),
        (status = 400, description = "Malformed path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not allowed to manage this organization's keys.", body = Problem),
        (status = 404, description = "No such key in this organization.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((org_id, key_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org_id = uuid_param("orgId", &org_id)?;
    let key_id = uuid_param("keyId", &key_id)?;
    let manager = caller.manager_of(org_id)?;
    let key = api_keys::find(&state.store, org_id, key_id)
        .await?
        .filter(|key| manager.project_id.is_none() || key.project_id == manager.project_id)
        .ok_or_else(|| ApiError::not_found("no such key"))?;
    api_keys::revoke(&state.store, &key, manager.changed_by).await?;
    Ok(StatusCode::NO_CONTENT)
}
