//! Recording and reading audit events.

use audit_core::{
    AuditEvent, AuditLogFilter, AuditLogPage, AuditRecord, BatchItemResult, BatchItemStatus, BatchRequest,
    BatchResponse, FieldError, MAX_BATCH_EVENTS, PageParams, Problem, QueryError, Scope, parse_query,
};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Caller;
use crate::http::body::{ApiPath, JsonBody, parse_item, query_pairs, uuid_param};
use crate::http::error::ApiError;
use crate::http::ingest::{CatalogCheck, prepare};
use crate::http::read_your_writes::{MinSeq, insert_seq};
use crate::state::AppState;
use crate::store::append::{AppendOutcome, append};
use crate::store::reads;

/// The audit log routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_audit_log, list_audit_logs))
        .routes(routes!(record_audit_log_batch))
        .routes(routes!(get_audit_log))
}

/// Records one event.
#[utoipa::path(
    post,
    path = "/api/v1/audit-logs",
    operation_id = "recordAuditLog",
    tag = "audit-logs",
    description = "Records one event in the key's organization; the record is durable before the answer. \
                   Idempotent by `id`: the same `id` with the same content answers 200 with the stored record, \
                   with different content 409. Needs `auditLogs:write`.",
    request_body(content = AuditEvent, description = "The event."),
    responses(
        (status = 201, description = "Recorded.", body = AuditRecord,
            headers(("Location" = String, description = "The record's URL."), ("X-Audit-Seq" = i64, description = "The record's `seq`; send it back as `X-Audit-Min-Seq` to read your write."))),
        (status = 200, description = "Already recorded with the same content (a safe retry).", body = AuditRecord,
            headers(("X-Audit-Seq" = i64, description = "The record's `seq`; send it back as `X-Audit-Min-Seq` to read your write."))),
        (status = 400, description = "Malformed JSON.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Missing scope, another organization's `orgId`, or another project.", body = Problem),
        (status = 409, description = "The `id` is already recorded with different content.", body = Problem),
        (status = 413, description = "The body, `before`, `after` or `metadata` is too large.", body = Problem),
        (status = 415, description = "The body is not JSON.", body = Problem),
        (status = 422, description = "Invalid fields, or a resource type and action not in the catalog (the allowed actions are listed).", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn record_audit_log(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(event): JsonBody<AuditEvent>,
) -> Result<(StatusCode, HeaderMap, Json<AuditRecord>), ApiError> {
    let key = caller.key_with(Scope::AuditLogsWrite)?;
    let mut catalog = CatalogCheck::new(&state, key);
    let answer = record_one(&state, key, &mut catalog, event).await;
    match &answer {
        Ok((status, ..)) if *status == StatusCode::CREATED => state.metrics.events("created", 1),
        Ok(_) => state.metrics.events("duplicate", 1),
        Err(error) if error.status().is_client_error() => state.metrics.rejected(error.kind()),
        Err(_) => {}
    }
    answer
}

async fn record_one(
    state: &AppState,
    key: &crate::store::api_keys::AuthenticatedKey,
    catalog: &mut CatalogCheck<'_>,
    event: AuditEvent,
) -> Result<(StatusCode, HeaderMap, Json<AuditRecord>), ApiError> {
    let record = prepare(state, key, catalog, event).await?;
    let outcome = append(&state.store, key.org_id, Some(key.id), vec![record])
        .await?
        .pop();
    match outcome {
        Some(AppendOutcome::Created(record)) => {
            let mut headers = HeaderMap::new();
            insert_seq(&mut headers, record.seq);
            if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/audit-logs/{}", record.id)) {
                headers.insert(header::LOCATION, location);
            }
            Ok((StatusCode::CREATED, headers, Json(record)))
        }
        Some(AppendOutcome::Duplicate(record)) => {
            let mut headers = HeaderMap::new();
            insert_seq(&mut headers, record.seq);
            Ok((StatusCode::OK, headers, Json(record)))
        }
        Some(AppendOutcome::Conflict(id)) => Err(ApiError::conflict(format!(
            "event {id} is already recorded with different content"
        ))),
        None => Err(ApiError::internal("append returned no outcome")),
    }
}

/// The batch body as received: events are parsed one by one so one bad event rejects only itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBatch {
    /// The events as their text: checked to be JSON, not yet read (reading skips over a
    /// value at any depth, so an event nested too deep is refused alone, not the batch).
    pub events: Vec<Box<RawValue>>,
}

/// The `id` of a batch item, when it has a readable one.
#[derive(Deserialize)]
struct SentId {
    id: Option<serde_json::Value>,
}

impl SentId {
    /// Echoed for a rejected event, so that senders can match it.
    fn of(item: &RawValue) -> Option<uuid::Uuid> {
        let sent: SentId = serde_json::from_str(item.get()).ok()?;
        uuid::Uuid::parse_str(sent.id?.as_str()?).ok()
    }
}

/// Records up to 1,000 events.
#[utoipa::path(
    post,
    path = "/api/v1/audit-logs/batch",
    operation_id = "recordAuditLogBatch",
    tag = "audit-logs",
    description = "Records up to 1,000 events. Every valid event is stored in one transaction; the answer is 200 \
                   also when some events were rejected, and lists each event's outcome by index. Needs \
                   `auditLogs:write`.",
    request_body(content = BatchRequest, description = "The events."),
    responses(
        (status = 200, description = "Each event's outcome.", body = BatchResponse,
            headers(("X-Audit-Seq" = i64, description = "The highest `seq` of the stored events (absent when none was stored); send it back as `X-Audit-Min-Seq` to read your writes."))),
        (status = 400, description = "Malformed JSON.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Missing scope.", body = Problem),
        (status = 413, description = "The body is too large.", body = Problem),
        (status = 415, description = "The body is not JSON.", body = Problem),
        (status = 422, description = "The body is not a batch of at most 1,000 events.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn record_audit_log_batch(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(batch): JsonBody<RawBatch>,
) -> Result<(HeaderMap, Json<BatchResponse>), ApiError> {
    let key = caller.key_with(Scope::AuditLogsWrite)?;
    if batch.events.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::unprocessable(
            format!("a batch holds at most {MAX_BATCH_EVENTS} events"),
            vec![FieldError::new(
                "events",
                format!("has {} events", batch.events.len()),
            )],
        ));
    }
    let mut catalog = CatalogCheck::new(&state, key);
    let mut results: Vec<Option<BatchItemResult>> = Vec::with_capacity(batch.events.len());
    let mut accepted = Vec::new();
    let mut accepted_indexes = Vec::new();
    for (index, item) in batch.events.iter().enumerate() {
        let prefix = format!("events[{index}]");
        let prepared = match parse_item::<AuditEvent>(item) {
            Err(error) => Err(ApiError::unprocessable(
                "the event is invalid",
                vec![error.nested(&prefix)],
            )),
            Ok(event) => prepare(&state, key, &mut catalog, event).await.map_err(|error| {
                let errors = error
                    .to_problem()
                    .errors
                    .into_iter()
                    .map(|e| e.nested(&prefix))
                    .collect();
                error.with_errors(errors)
            }),
        };
        match prepared {
            Ok(record) => {
                accepted_indexes.push(index);
                accepted.push(record);
                results.push(None);
            }
            Err(error) if error.status().is_server_error() => return Err(error),
            Err(error) => results.push(Some(BatchItemResult {
                index,
                id: SentId::of(item),
                status: BatchItemStatus::Rejected,
                error: Some(error.to_problem()),
            })),
        }
    }

    let outcomes = append(&state.store, key.org_id, Some(key.id), accepted).await?;
    let mut headers = HeaderMap::new();
    let stored_seqs = outcomes.iter().filter_map(|outcome| match outcome {
        AppendOutcome::Created(record) | AppendOutcome::Duplicate(record) => Some(record.seq),
        AppendOutcome::Conflict(_) => None,
    });
    if let Some(seq) = stored_seqs.max() {
        insert_seq(&mut headers, seq);
    }
    for (index, outcome) in accepted_indexes.into_iter().zip(outcomes) {
        let result = match outcome {
            AppendOutcome::Created(record) => BatchItemResult {
                index,
                id: Some(record.id),
                status: BatchItemStatus::Created,
                error: None,
            },
            AppendOutcome::Duplicate(record) => BatchItemResult {
                index,
                id: Some(record.id),
                status: BatchItemStatus::Duplicate,
                error: None,
            },
            AppendOutcome::Conflict(id) => BatchItemResult {
                index,
                id: Some(id),
                status: BatchItemStatus::Rejected,
                error: Some(
                    ApiError::conflict(format!("event {id} is already recorded with different content"))
                        .to_problem(),
                ),
            },
        };
        results[index] = Some(result);
    }
    let results: Vec<BatchItemResult> = results.into_iter().flatten().collect();
    for result in &results {
        match (&result.status, &result.error) {
            (BatchItemStatus::Created, _) => state.metrics.events("created", 1),
            (BatchItemStatus::Duplicate, _) => state.metrics.events("duplicate", 1),
            (BatchItemStatus::Rejected, Some(problem)) => state
                .metrics
                .rejected(problem.problem_type.rsplit(':').next().unwrap_or("unknown")),
            (BatchItemStatus::Rejected, None) => state.metrics.rejected("unknown"),
        }
    }
    Ok((headers, Json(BatchResponse { results })))
}

/// Turns a query-string problem into its answer.
pub(crate) fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::Malformed(errors) => ApiError::bad_request("malformed query parameters", errors),
        QueryError::Invalid(errors) => ApiError::unprocessable("invalid query parameters", errors),
    }
}

/// Lists events, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit-logs",
    operation_id = "listAuditLogs",
    tag = "audit-logs",
    description = "Lists the organization's events, newest first, filtered and paginated by keyset: follow \
                   `nextCursor` until it is null. Following the cursor costs the same at any depth. A \
                   project-restricted key sees its project only. Needs `auditLogs:read`.",
    params(AuditLogFilter, PageParams, ("X-Audit-Min-Seq" = Option<i64>, Header, description = "The `seq` of the caller's last write (its `X-Audit-Seq`): the read sees at least up to it, also with read replicas.")),
    responses(
        (status = 200, description = "One page of records.", body = AuditLogPage),
        (status = 400, description = "Malformed or unknown parameters, or a cursor this API did not make.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Missing scope, or another project.", body = Problem),
        (status = 422, description = "Inverted time range, limit out of range or over-long values.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn list_audit_logs(
    State(state): State<AppState>,
    caller: Caller,
    MinSeq(min_seq): MinSeq,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditLogPage>, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    let audit_core::ParsedQuery { filter, page, .. } = parse_query(&pairs, &[]).map_err(query_error)?;
    let scope = caller.read_scope(filter.project_id.as_deref())?;
    let cursor = page.decoded_cursor();
    let limit = page.limit_or_default();
    let (data, next_cursor) = state
        .readers
        .read(scope.org_id, min_seq, |store| {
            let (scope, filter) = (&scope, &filter);
            async move { reads::list(&store, scope, filter, cursor, limit).await }
        })
        .await?;
    Ok(Json(AuditLogPage { data, next_cursor }))
}

/// Fetches one event.
#[utoipa::path(
    get,
    path = "/api/v1/audit-logs/{id}",
    operation_id = "getAuditLog",
    tag = "audit-logs",
    description = "Fetches one record by id. Another organization's record, or another project's for a \
                   project-restricted key, is 404. Needs `auditLogs:read`.",
    params(("id" = uuid::Uuid, Path, description = "The record id."), ("X-Audit-Min-Seq" = Option<i64>, Header, description = "The `seq` of the caller's last write (its `X-Audit-Seq`): the read sees at least up to it, also with read replicas.")),
    responses(
        (status = 200, description = "The record.", body = AuditRecord),
        (status = 400, description = "The id is not a UUID.", body = Problem),
        (status = 401, description = "Missing or unknown credentials.", body = Problem),
        (status = 403, description = "Missing scope.", body = Problem),
        (status = 404, description = "No such record for this key.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn get_audit_log(
    State(state): State<AppState>,
    caller: Caller,
    MinSeq(min_seq): MinSeq,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AuditRecord>, ApiError> {
    let id = uuid_param("id", &id)?;
    let scope = caller.read_scope(None)?;
    state
        .readers
        .read(scope.org_id, min_seq, |store| {
            let scope = &scope;
            async move { reads::get(&store, scope, id).await }
        })
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no such record"))
}
