//! Minting viewer tokens for the host app's users.

use audit_core::{
    AuditEvent, FieldError, NewViewerToken, Problem, Scope, ViewerToken, can_read_audit_logs,
    check_display_name, timestamp,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::error::ApiError;
use crate::keys::viewer_token::{self, ViewerGrant};
use crate::state::AppState;
use crate::store::append::{NewRecord, append};

/// The default lifetime of a viewer token: fifteen minutes.
pub const DEFAULT_TTL_SECONDS: u32 = 15 * 60;

/// The viewer token route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_viewer_token))
}

/// Mints a viewer token.
#[utoipa::path(
    post,
    path = "/api/v1/viewer-tokens",
    operation_id = "createViewerToken",
    tag = "viewing",
    description = "Mints a short-lived, signed token that lets one of the host app's users see the organization's \
                   trail (or one project's, for a project-level grant) in the viewer at `url`, and read it through \
                   the list, get and export endpoints. Langfuse's rule decides: OWNER and ADMIN have \
                   `auditLogs:read`; a project role overrides the organization role, except NONE. A role without \
                   it is 403. Minting is recorded as a `viewerToken` `create` event. Needs `auditLogs:read`.",
    request_body(content = NewViewerToken, description = "The viewing user and their roles."),
    responses(
        (status = 201, description = "The token and the viewer link.", body = ViewerToken),
        (status = 400, description = "Malformed JSON.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "The roles do not grant `auditLogs:read`, the key lacks the scope, or another project.", body = Problem),
        (status = 413, description = "The body is too large.", body = Problem),
        (status = 415, description = "The body is not JSON.", body = Problem),
        (status = 422, description = "Invalid fields.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn create_viewer_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(mut body): JsonBody<NewViewerToken>,
) -> Result<(StatusCode, Json<ViewerToken>), ApiError> {
    let key = caller.key_with(Scope::AuditLogsRead)?;
    check_display_name("userId", &body.user_id)?;
    if let Some(project_id) = &body.project_id {
        check_display_name("projectId", project_id)?;
    }
    if body.project_role.is_some() && body.project_id.is_none() {
        return Err(ApiError::unprocessable(
            "a project role needs a project",
            vec![FieldError::new("projectId", "is required with `projectRole`")],
        ));
    }
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
    if !(60..=86_400).contains(&ttl) {
        return Err(ApiError::unprocessable(
            "invalid lifetime",
            vec![FieldError::new("ttlSeconds", "must be between 60 and 86400")],
        ));
    }
    if let Some(own_project) = &key.project_id {
        match &body.project_id {
            None => body.project_id = Some(own_project.clone()),
            Some(asked) if asked != own_project => {
                return Err(ApiError::forbidden(
                    "this key may only grant views of its own project",
                ));
            }
            Some(_) => {}
        }
    }
    if !can_read_audit_logs(body.org_role, body.project_role) {
        return Err(ApiError::forbidden(
            "these roles do not grant `auditLogs:read` (OWNER or ADMIN, at organization or project level)",
        ));
    }

    let expires_at = timestamp::now() + chrono::Duration::seconds(i64::from(ttl));
    let grant = ViewerGrant {
        token_id: Uuid::now_v7(),
        org_id: key.org_id,
        project_id: body.project_id.clone(),
        user_id: body.user_id.clone(),
        org_role: body.org_role,
        project_role: body.project_role,
        minted_by: key.id,
        expires: expires_at.timestamp(),
    };
    let mut event = AuditEvent::by_api_key(
        key.id.to_string(),
        "viewerToken",
        grant.token_id.to_string(),
        "create",
    );
    event.project_id = grant.project_id.clone();
    event.after = Some(json!({
        "userId": grant.user_id,
        "orgRole": grant.org_role,
        "projectId": grant.project_id,
        "projectRole": grant.project_role,
        "expiresAt": timestamp::format(&expires_at),
    }));
    append(
        &state.store,
        key.org_id,
        Some(key.id),
        vec![NewRecord::from_submitted(event)],
    )
    .await?;

    let token = viewer_token::sign(&state.viewer_key, &grant);
    let url = format!("{}/#token={token}", state.config.public_base_url());
    Ok((
        StatusCode::CREATED,
        Json(ViewerToken {
            token,
            expires_at,
            url,
        }),
    ))
}
