//! Log streams: an organization's deliveries of its trail to webhooks, Splunk, Datadog or files.

use audit_core::{LogStream, LogStreamList, LogStreamUpdate, NewLogStream, Problem, Scope, StreamState};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::body::{ApiPath, JsonBody, uuid_param};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::api_keys::AuthenticatedKey;
use crate::store::streams::{self, StreamChange};
use crate::streams::validate;

/// The log stream routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_stream, list_streams))
        .routes(routes!(get_stream, update_stream, delete_stream))
        .routes(routes!(pause_stream))
        .routes(routes!(resume_stream))
        .merge(super::stream_dead_letters::router())
}

/// Streams carry the whole organization's trail, so only an organization-level key with
/// `apiKeys:manage` manages them.
pub(super) fn manager(caller: &Caller) -> Result<&AuthenticatedKey, ApiError> {
    let key = caller.key_with(Scope::ApiKeysManage)?;
    if key.project_id.is_some() {
        return Err(ApiError::forbidden(
            "a project-restricted key cannot manage log streams; use an organization-level key",
        ));
    }
    Ok(key)
}

/// The most streams one organization may hold: each one is a delivery task and a reader of
/// the trail, so the number is bounded like every other size.
pub const MAX_STREAMS_PER_ORGANIZATION: u64 = 25;

pub(super) fn not_found() -> ApiError {
    ApiError::not_found("no such stream")
}

/// Creates a log stream.
#[utoipa::path(
    post,
    path = "/api/v1/streams",
    operation_id = "createLogStream",
    tag = "streams",
    description = "Creates a log stream of the key's organization: its records are delivered to the destination in \
                   `seq` order, at least once, in batches, with retries and backoff. By default delivery starts with \
                   the records stored from now on; `fromBeginning` delivers the whole trail and `startSeq` the records \
                   after that `seq`. The `secret` (webhook signing secret, Splunk HEC token or Datadog API key) is \
                   stored encrypted and never returned. Needs an organization-level key with `apiKeys:manage`. \
                   Recorded as a `logStream` `create` event. An organization holds at most 25 streams.",
    request_body(content = NewLogStream, description = "Name, destination, secret, filter and start."),
    responses(
        (status = 201, description = "The stream.", body = LogStream),
        (status = 400, description = "Malformed JSON.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not an organization-level key with `apiKeys:manage`.", body = Problem),
        (status = 409, description = "The organization already holds the most streams allowed (25); delete one first.", body = Problem),
        (status = 413, description = "The body is too large.", body = Problem),
        (status = 415, description = "The body is not JSON.", body = Problem),
        (status = 422, description = "Invalid fields (URL, secret, filter, start), naming the field.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn create_stream(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewLogStream>,
) -> Result<(StatusCode, Json<LogStream>), ApiError> {
    let key = manager(&caller)?;
    let head = streams::head_seq(&state.store, key.org_id).await?;
    let spec = validate::new_stream(body, head, validate::Allowed::from_config(&state.config))?;
    let created = streams::create(
        &state.store,
        &state.stream_key,
        key.org_id,
        spec,
        key.id,
        MAX_STREAMS_PER_ORGANIZATION,
    )
    .await?;
    let stream = created.ok_or_else(|| {
        ApiError::conflict(format!(
            "the organization already holds {MAX_STREAMS_PER_ORGANIZATION} log streams, the most allowed; \
             delete one first"
        ))
    })?;
    Ok((StatusCode::CREATED, Json(stream)))
}

/// Lists log streams.
#[utoipa::path(
    get,
    path = "/api/v1/streams",
    operation_id = "listLogStreams",
    tag = "streams",
    description = "Lists the organization's log streams with their cursor and health, oldest first, without secrets.",
    responses(
        (status = 200, description = "The streams.", body = LogStreamList),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not an organization-level key with `apiKeys:manage`.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn list_streams(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<LogStreamList>, ApiError> {
    let key = manager(&caller)?;
    let data = streams::list(&state.store, key.org_id).await?;
    Ok(Json(LogStreamList { data }))
}

/// Gets a log stream.
#[utoipa::path(
    get,
    path = "/api/v1/streams/{streamId}",
    operation_id = "getLogStream",
    tag = "streams",
    description = "One log stream with its cursor (`deliveredSeq`) and health (`healthy` or `unhealthy`, failures in \
                   a row, last error), without its secret. Another organization's stream is 404.",
    params(("streamId" = uuid::Uuid, Path, description = "The stream.")),
    responses(
        (status = 200, description = "The stream.", body = LogStream),
        (status = 400, description = "Malformed path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not an organization-level key with `apiKeys:manage`.", body = Problem),
        (status = 404, description = "No such stream in this organization.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn get_stream(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(stream_id): ApiPath<String>,
) -> Result<Json<LogStream>, ApiError> {
    let key = manager(&caller)?;
    let stream_id = uuid_param("streamId", &stream_id)?;
    let stream = streams::find(&state.store, key.org_id, stream_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(stream))
}

/// Changes a log stream.
#[utoipa::path(
    patch,
    path = "/api/v1/streams/{streamId}",
    operation_id = "updateLogStream",
    tag = "streams",
    description = "Changes a stream's name, destination, secret or filter; absent fields keep their value. Changing \
                   the destination's type needs a new `secret` (a file destination needs none). The cursor is kept. \
                   Recorded as a `logStream` `update` event.",
    params(("streamId" = uuid::Uuid, Path, description = "The stream.")),
    request_body(content = LogStreamUpdate, description = "The fields to change."),
    responses(
        (status = 200, description = "The stream.", body = LogStream),
        (status = 400, description = "Malformed JSON or path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not an organization-level key with `apiKeys:manage`.", body = Problem),
        (status = 404, description = "No such stream in this organization.", body = Problem),
        (status = 413, description = "The body is too large.", body = Problem),
        (status = 415, description = "The body is not JSON.", body = Problem),
        (status = 422, description = "Invalid fields, naming the field.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn update_stream(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(stream_id): ApiPath<String>,
    JsonBody(body): JsonBody<LogStreamUpdate>,
) -> Result<Json<LogStream>, ApiError> {
    let key = manager(&caller)?;
    let stream_id = uuid_param("streamId", &stream_id)?;
    let current = streams::find(&state.store, key.org_id, stream_id)
        .await?
        .ok_or_else(not_found)?;
    let change = validate::update(
        body,
        &current.destination,
        current.has_secret,
        validate::Allowed::from_config(&state.config),
    )?;
    if change.name.is_none()
        && change.destination.is_none()
        && change.secret.is_none()
        && change.filter.is_none()
        && change.format.is_none()
        && change.privacy.is_none()
        && change.max_attempts.is_none()
    {
        return Ok(Json(current));
    }
    apply(&state, key, stream_id, change, "update").await
}

async fn apply(
    state: &AppState,
    key: &AuthenticatedKey,
    stream_id: Uuid,
    change: StreamChange,
    action: &str,
) -> Result<Json<LogStream>, ApiError> {
    let stream = streams::change(
        &state.store,
        &state.stream_key,
        key.org_id,
        stream_id,
        change,
        action,
        key.id,
    )
    .await?
    .ok_or_else(not_found)?;
    Ok(Json(stream))
}

async fn set_state(
    state: &AppState,
    caller: &Caller,
    stream_id: &str,
    target: StreamState,
    action: &str,
) -> Result<Json<LogStream>, ApiError> {
    let key = manager(caller)?;
    let stream_id = uuid_param("streamId", stream_id)?;
    let current = streams::find(&state.store, key.org_id, stream_id)
        .await?
        .ok_or_else(not_found)?;
    if current.state == target {
        return Ok(Json(current));
    }
    let change = StreamChange {
        state: Some(target),
        ..Default::default()
    };
    apply(state, key, stream_id, change, action).await
}

/// Pauses a log stream.
#[utoipa::path(
    post,
    path = "/api/v1/streams/{streamId}/pause",
    operation_id = "pauseLogStream",
    tag = "streams",
    description = "Stops delivery; records keep accumulating behind the cursor and are delivered after a resume. \
                   Pausing a paused stream changes nothing. Recorded as a `logStream` `pause` event.",
    params(("streamId" = uuid::Uuid, Path, description = "The stream.")),
    responses(
        (status = 200, description = "The stream, paused.", body = LogStream),
        (status = 400, description = "Malformed path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not an organization-level key with `apiKeys:manage`.", body = Problem),
        (status = 404, description = "No such stream in this organization.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn pause_stream(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(stream_id): ApiPath<String>,
) -> Result<Json<LogStream>, ApiError> {
    set_state(&state, &caller, &stream_id, StreamState::Paused, "pause").await
}

/// Resumes a log stream.
#[utoipa::path(
    post,
    path = "/api/v1/streams/{streamId}/resume",
    operation_id = "resumeLogStream",
    tag = "streams",
    description = "Resumes delivery from the cursor. Resuming an active stream changes nothing. Recorded as a \
                   `logStream` `resume` event.",
    params(("streamId" = uuid::Uuid, Path, description = "The stream.")),
    responses(
        (status = 200, description = "The stream, active.", body = LogStream),
        (status = 400, description = "Malformed path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not an organization-level key with `apiKeys:manage`.", body = Problem),
        (status = 404, description = "No such stream in this organization.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn resume_stream(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(stream_id): ApiPath<String>,
) -> Result<Json<LogStream>, ApiError> {
    set_state(&state, &caller, &stream_id, StreamState::Active, "resume").await
}

/// Deletes a log stream.
#[utoipa::path(
    delete,
    path = "/api/v1/streams/{streamId}",
    operation_id = "deleteLogStream",
    tag = "streams",
    description = "Deletes a stream and its encrypted secret; delivery stops. Recorded as a `logStream` `delete` event.",
    params(("streamId" = uuid::Uuid, Path, description = "The stream.")),
    responses(
        (status = 204, description = "The stream is deleted."),
        (status = 400, description = "Malformed path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not an organization-level key with `apiKeys:manage`.", body = Problem),
        (status = 404, description = "No such stream in this organization.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn delete_stream(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(stream_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let key = manager(&caller)?;
    let stream_id = uuid_param("streamId", &stream_id)?;
    if streams::delete(&state.store, key.org_id, stream_id, key.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
