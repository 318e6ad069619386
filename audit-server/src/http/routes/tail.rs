//! The live tail of the trail, as server-sent events.

use std::time::Duration;

use audit_core::{AuditLogFilter, FieldError, Problem, parse_query};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Caller;
use crate::http::body::query_pairs;
use crate::http::error::ApiError;
use crate::http::read_your_writes::MinSeq;
use crate::http::routes::audit_logs::query_error;
use crate::http::tail;
use crate::state::AppState;
use crate::store::tail::head_seq;

/// How often an idle tail sends a keep-alive comment, so proxies keep the connection open.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// The header a reconnecting client names the last event it received with.
pub const LAST_EVENT_ID: &str = "last-event-id";

/// The tail route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(tail_audit_logs))
}

/// One event of the tail as the document describes it: in OpenAPI 3.1 the schema of a
/// `text/event-stream` response describes each event (its `id`, `event` and `data` fields).
/// The events themselves are written by the `tail` module.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TailEvent {
    /// The record's `seq`; a reconnecting client sends it back as `Last-Event-ID`.
    #[schema(pattern = "^[0-9]+$", example = "42")]
    id: String,
    /// The event's name, always `auditLog`.
    #[schema(pattern = "^auditLog$", example = "auditLog")]
    event: String,
    /// The record as JSON, shaped as `AuditLogRecord`.
    #[schema(content_media_type = "application/json")]
    data: String,
}

/// Tails the trail live.
#[utoipa::path(
    get,
    path = "/api/v1/audit-logs/stream",
    operation_id = "tailAuditLogs",
    tag = "audit-logs",
    description = "Streams the records matching the filters as they are committed, oldest first, as \
                   server-sent events: each record is an event named `auditLog` whose `id` is the record's \
                   `seq` and whose `data` is the record as JSON. Without `Last-Event-ID` or `afterSeq` the tail \
                   starts at the moment of the request (only records committed after it); with either, it \
                   starts after that `seq`, so a reconnecting client misses nothing and gets nothing twice. \
                   New records arrive within a second, also when another server process on the same \
                   database records them. Idle connections get a keep-alive comment every 15 seconds. \
                   Needs `auditLogs:read` or a viewer token; a project-restricted credential sees its project \
                   only. One credential may hold a limited number of tails open (429 beyond).",
    params(
        ("Last-Event-ID" = Option<i64>, Header, minimum = 0, description = "Start after this `seq` (the `id` of the \
            last event received). Browsers' `EventSource` sends it when reconnecting; it wins over `afterSeq`."),
        ("afterSeq" = Option<i64>, Query, minimum = 0, description = "Start after this `seq`, for a first connection \
            that must not miss what was recorded since an earlier read (e.g. the newest `seq` of a list page)."),
        AuditLogFilter,
        ("X-Audit-Min-Seq" = Option<i64>, Header, minimum = 0, description = "The `seq` of the caller's last write (its \
            `X-Audit-Seq`): the tail reads from a database holding at least up to it, also with read replicas."),
    ),
    responses(
        (status = 200, description = "The event stream; it does not end on its own.", content_type = "text/event-stream", body = TailEvent),
        (status = 400, description = "Malformed or unknown parameters, or a malformed `Last-Event-ID`.", body = Problem),
        (status = 401, description = "Missing, unknown or expired credentials.", body = Problem),
        (status = 403, description = "Missing scope, or another project.", body = Problem),
        (status = 422, description = "Inverted time range or over-long values.", body = Problem),
        (status = 429, description = "This credential already holds the most live tails allowed.", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again."))),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn tail_audit_logs(
    State(state): State<AppState>,
    caller: Caller,
    MinSeq(min_seq): MinSeq,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    let parsed = parse_query(&pairs, &["afterSeq"]).map_err(query_error)?;
    if parsed.page.limit.is_some() || parsed.page.cursor.is_some() {
        return Err(ApiError::bad_request(
            "a live tail has no pages",
            vec![FieldError::new(
                "limit",
                "`limit` and `cursor` do not apply to a live tail",
            )],
        ));
    }
    let after_query = match parsed.extra.first() {
        Some((name, value)) => Some(parse_seq(name, value)?),
        None => None,
    };
    let after_header = match headers.get(LAST_EVENT_ID) {
        Some(value) => {
            let text = value.to_str().unwrap_or("\u{0}").trim();
            // An empty Last-Event-ID means "no event yet" to EventSource.
            if text.is_empty() {
                None
            } else {
                Some(parse_seq("Last-Event-ID", text)?)
            }
        }
        None => None,
    };
    let filter = parsed.filter;
    let scope = caller.read_scope(filter.project_id.as_deref())?;
    let guard = match caller.credential_id() {
        Some(credential) => Some(state.tail_connections.try_open(credential).ok_or_else(|| {
            ApiError::too_many_requests(
                "this credential already holds the most live tails allowed; close one first",
                Duration::from_secs(5),
            )
        })?),
        None => None,
    };
    let source = state.readers.choose(scope.org_id, min_seq).await;
    let after_seq = match after_header.or(after_query) {
        Some(seq) => seq,
        None => head_seq(&source, scope.org_id).await?,
    };
    let events = tail::stream(
        source,
        state.store.clone(),
        scope,
        filter,
        after_seq,
        state.shutting_down.clone(),
        guard,
    );
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE_INTERVAL).text("keep-alive"))
        .into_response();
    // Tells buffering reverse proxies (nginx) to pass events on at once.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn parse_seq(name: &str, value: &str) -> Result<i64, ApiError> {
    match value.parse::<i64>() {
        Ok(seq) if seq >= 0 => Ok(seq),
        _ => Err(ApiError::bad_request(
            format!("malformed {name}"),
            vec![FieldError::new(
                name,
                "must be a `seq`: a whole number, 0 or more",
            )],
        )),
    }
}
