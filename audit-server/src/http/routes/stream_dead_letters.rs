//! A log stream's dead letters: records its destination refused for good, set aside so the
//! records after them were delivered; listed, retried or discarded by the stream's managers.

use audit_core::{FieldError, Problem, StreamDeadLetter, StreamDeadLetterPage};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::streams::{manager, not_found};
use crate::http::auth::Caller;
use crate::http::body::{ApiPath, positive_integer_params, uuid_param};
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::store::dead_letters::{self, Settlement};
use crate::store::reads::{self, ReadScope};
use crate::store::streams::{self, Claimed};
use crate::streams::redeliver;
use crate::streams::worker::WorkerSettings;

/// Dead letters per page when `limit` is absent.
pub const DEFAULT_DEAD_LETTER_PAGE: u64 = 100;
/// The most dead letters per page.
pub const MAX_DEAD_LETTER_PAGE: u64 = 1000;

/// The dead letter routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_dead_letters))
        .routes(routes!(retry_dead_letter))
        .routes(routes!(discard_dead_letter))
}

/// Which page of dead letters.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[into_params(rename_all = "camelCase")]
pub struct DeadLetterParams {
    /// Dead letters per page, 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A dead letter's `seq` from the path (400 naming `seq` when it is not a positive number).
fn seq_param(value: &str) -> Result<i64, ApiError> {
    value.parse::<i64>().ok().filter(|seq| *seq >= 1).ok_or_else(|| {
        ApiError::bad_request(
            "`seq` must be a positive whole number",
            vec![FieldError::new("seq", "must be a positive whole number")],
        )
    })
}

/// The caller's organization's stream, as the worker sees it (404 for anyone else's).
async fn managed_stream(state: &AppState, org_id: Uuid, stream_id: &str) -> Result<Claimed, ApiError> {
    let stream_id = uuid_param("streamId", stream_id)?;
    streams::load(&state.store, stream_id)
        .await?
        .filter(|claimed| claimed.stream.org_id == org_id)
        .ok_or_else(not_found)
}

fn no_dead_letter() -> ApiError {
    ApiError::not_found("no such dead letter in this stream")
}

/// Lists a stream's dead letters.
#[utoipa::path(
    get,
    path = "/api/v1/streams/{streamId}/dead-letters",
    operation_id = "listStreamDeadLetters",
    tag = "streams",
    description = "The records the stream set aside, oldest `seq` first: each was refused for good by the \
                   destination (an HTTP 4xx answer other than 401, 403, 404, 407, 408, 421, 425 and 429) \
                   `maxAttempts` times, alone. The cursor moved past it so the records after it were delivered; the \
                   next batch's envelope names its `seq` in `deadLettered`. Follow `nextCursor` until it is null. \
                   Needs an organization-level key with `apiKeys:manage`.",
    params(("streamId" = uuid::Uuid, Path, description = "The stream."), DeadLetterParams),
    responses(
        (status = 200, description = "One page of dead letters.", body = StreamDeadLetterPage),
        (status = 400, description = "Malformed path or parameters.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not an organization-level key with `apiKeys:manage`.", body = Problem),
        (status = 404, description = "No such stream in this organization.", body = Problem),
        (status = 422, description = "`limit` out of range.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn list_dead_letters(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(stream_id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<StreamDeadLetterPage>, ApiError> {
    let key = manager(&caller)?;
    let [limit, after] = positive_integer_params(query.as_deref(), ["limit", "cursor"])?;
    let limit = limit.unwrap_or(DEFAULT_DEAD_LETTER_PAGE);
    if limit > MAX_DEAD_LETTER_PAGE {
        return Err(FieldError::new("limit", "must be between 1 and 1000").into());
    }
    let claimed = managed_stream(&state, key.org_id, &stream_id).await?;
    let after = i64::try_from(after.unwrap_or(0)).unwrap_or(i64::MAX);
    let (data, next) = dead_letters::list(&state.store, key.org_id, claimed.stream.id, after, limit).await?;
    Ok(Json(StreamDeadLetterPage {
        data,
        next_cursor: next.map(|seq| seq.to_string()),
    }))
}

/// Retries a dead letter.
#[utoipa::path(
    post,
    path = "/api/v1/streams/{streamId}/dead-letters/{seq}/retry",
    operation_id = "retryStreamDeadLetter",
    tag = "streams",
    description = "Sends the record to the stream's destination now, as a batch of its own whose envelope says \
                   `deadLetterRetry: true` (outside the chain: no `previousBatchHash`). Delivered, it leaves the \
                   list (204); refused, it stays listed with one more attempt and the answer is 502 with the \
                   destination's error. Works on paused streams too. Recorded as a `logStream` `retryDeadLetter` \
                   event either way.",
    params(
        ("streamId" = uuid::Uuid, Path, description = "The stream."),
        ("seq" = i64, Path, description = "The dead letter's `seq`."),
    ),
    responses(
        (status = 204, description = "Delivered; it is no longer listed."),
        (status = 400, description = "Malformed path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not an organization-level key with `apiKeys:manage`.", body = Problem),
        (status = 404, description = "No such stream in this organization, or no such dead letter.", body = Problem),
        (status = 409, description = "The record was purged by the retention policy; discard the dead letter.", body = Problem),
        (status = 502, description = "The destination refused it again; it stays listed.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn retry_dead_letter(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((stream_id, seq)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let key = manager(&caller)?;
    let claimed = managed_stream(&state, key.org_id, &stream_id).await?;
    let seq = seq_param(&seq)?;
    let letter: StreamDeadLetter = dead_letters::find(&state.store, key.org_id, claimed.stream.id, seq)
        .await?
        .ok_or_else(no_dead_letter)?;
    let scope = ReadScope {
        org_id: key.org_id,
        project_id: None,
    };
    let record = reads::get(&state.store, &scope, letter.record_id)
        .await?
        .ok_or_else(|| ApiError::conflict("the record was purged by the retention policy; discard it"))?;
    let settings = WorkerSettings::from_config(&state.config);
    let sent = redeliver::dead_letter(&state.stream_key, &settings, &claimed, &record).await;
    let settlement = match &sent {
        Ok(()) => Settlement::Delivered,
        Err(error) => Settlement::Refused(error.message()),
    };
    if !dead_letters::settle(&state.store, &claimed.stream, seq, settlement, key.id).await? {
        return Err(no_dead_letter());
    }
    match sent {
        Ok(()) => {
            state.metrics.streams.delivered(claimed.stream.id, 1);
            Ok(StatusCode::NO_CONTENT)
        }
        Err(error) => Err(ApiError::bad_gateway(format!(
            "the destination refused the record again: {error}"
        ))),
    }
}

/// Discards a dead letter.
#[utoipa::path(
    delete,
    path = "/api/v1/streams/{streamId}/dead-letters/{seq}",
    operation_id = "discardStreamDeadLetter",
    tag = "streams",
    description = "Removes the dead letter from the list without sending it (the record stays in the trail). \
                   Recorded as a `logStream` `discardDeadLetter` event.",
    params(
        ("streamId" = uuid::Uuid, Path, description = "The stream."),
        ("seq" = i64, Path, description = "The dead letter's `seq`."),
    ),
    responses(
        (status = 204, description = "Discarded."),
        (status = 400, description = "Malformed path.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Not an organization-level key with `apiKeys:manage`.", body = Problem),
        (status = 404, description = "No such stream in this organization, or no such dead letter.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn discard_dead_letter(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((stream_id, seq)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let key = manager(&caller)?;
    let claimed = managed_stream(&state, key.org_id, &stream_id).await?;
    let seq = seq_param(&seq)?;
    if dead_letters::settle(&state.store, &claimed.stream, seq, Settlement::Discarded, key.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_dead_letter())
    }
}
