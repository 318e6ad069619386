//! Streaming exports of the trail.

use audit_core::{AuditEvent, AuditLogFilter, ExportFormat, FieldError, Problem, parse_query, timestamp};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::body::query_pairs;
use crate::http::error::ApiError;
use crate::http::export_body;
use crate::http::read_your_writes::MinSeq;
use crate::http::routes::audit_logs::query_error;
use crate::state::AppState;
use crate::store::append::{AppendOutcome, NewRecord, append};

/// The export route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ExportSchemas::openapi()).routes(routes!(export_audit_logs))
}

/// The schemas only a parameter refers to, which the path macro does not collect.
#[derive(OpenApi)]
#[openapi(components(schemas(ExportFormat)))]
struct ExportSchemas;

/// The file format parameter of an export.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (a header row of the record's field names; `before`, `after` and `metadata` as JSON text)
    /// or `jsonl` (one record per line, as the read endpoint returns it).
    pub format: ExportFormat,
}

/// Exports every matching record.
#[utoipa::path(
    get,
    path = "/api/v1/audit-logs/export",
    operation_id = "exportAuditLogs",
    tag = "audit-logs",
    description = "Streams every record matching the filters, oldest first (in `seq` order, ready for offline chain \
                   checks), as CSV or JSON Lines, in constant memory, with a `Content-Disposition` file name. \
                   Exporting is recorded as a `batchExport` `create` event. Needs `auditLogs:read` or a viewer token.",
    params(ExportParams, AuditLogFilter, ("X-Audit-Min-Seq" = Option<i64>, Header, description = "The `seq` of the caller's last write (its `X-Audit-Seq`): the read sees at least up to it, also with read replicas.")),
    responses(
        (status = 200, description = "The records.", content(
            (String = "text/csv"),
            (String = "application/x-ndjson"),
        ), headers(("Content-Disposition" = String, description = "`attachment` with a file name."))),
        (status = 400, description = "Malformed or unknown parameters, or a missing format.", body = Problem),
        (status = 401, description = "Missing, unknown or expired credentials.", body = Problem),
        (status = 403, description = "Missing scope, or another project.", body = Problem),
        (status = 422, description = "Inverted time range or over-long values.", body = Problem),
        (status = 503, description = "The database is unavailable; try again.", body = Problem),
    ),
    security(("bearer" = [])),
)]
pub async fn export_audit_logs(
    State(state): State<AppState>,
    caller: Caller,
    MinSeq(min_seq): MinSeq,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    let parsed = parse_query(&pairs, &["format"]).map_err(query_error)?;
    if parsed.page.limit.is_some() || parsed.page.cursor.is_some() {
        return Err(ApiError::bad_request(
            "an export has no pages",
            vec![FieldError::new(
                "limit",
                "`limit` and `cursor` do not apply to exports",
            )],
        ));
    }
    let format = match parsed.extra.first() {
        Some((_, value)) => ExportFormat::parse(value).ok_or_else(|| {
            ApiError::bad_request(
                "unknown format",
                vec![FieldError::new("format", "must be csv or jsonl")],
            )
        })?,
        None => {
            return Err(ApiError::bad_request(
                "missing format",
                vec![FieldError::new("format", "is required")],
            ));
        }
    };
    let filter = parsed.filter;
    let scope = caller.read_scope(filter.project_id.as_deref())?;

    let export_id = Uuid::now_v7();
    let mut event = export_event(&caller, export_id);
    event.project_id = scope.project_id.clone();
    let filter_json: Map<String, Value> = filter
        .to_query_pairs()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Value::String(value)))
        .collect();
    event.metadata = json!({ "format": format.as_str(), "filter": filter_json })
        .as_object()
        .cloned();
    let recorded_by = match &caller {
        Caller::Key(key) => Some(key.id),
        Caller::Viewer(grant) => Some(grant.minted_by),
        Caller::Operator => None,
    };
    let outcomes = append(
        &state.store,
        scope.org_id,
        recorded_by,
        vec![NewRecord::from_submitted(event)],
    )
    .await?;
    // The export reads at least up to its own record, wherever it reads.
    let export_seq = outcomes.iter().find_map(|outcome| match outcome {
        AppendOutcome::Created(record) | AppendOutcome::Duplicate(record) => Some(record.seq),
        AppendOutcome::Conflict(_) => None,
    });
    let source = state.readers.choose(scope.org_id, min_seq.max(export_seq)).await;

    let (content_type, extension) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Jsonl => ("application/x-ndjson", "jsonl"),
    };
    let file_name = format!(
        "audit-logs-{}-{}.{extension}",
        scope.org_id,
        timestamp::now().format("%Y%m%dT%H%M%SZ")
    );
    let body = Body::from_stream(export_body::chunks(source, scope, filter, format));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

fn export_event(caller: &Caller, export_id: Uuid) -> AuditEvent {
    let resource_id = export_id.to_string();
    match caller {
        Caller::Viewer(grant) => {
            let mut event = AuditEvent::by_user(grant.user_id.clone(), "batchExport", resource_id, "create");
            event.user_org_role = Some(grant.org_role);
            event.user_project_role = grant.project_role;
            event
        }
        Caller::Key(key) => AuditEvent::by_api_key(key.id.to_string(), "batchExport", resource_id, "create"),
        Caller::Operator => AuditEvent::new(
            audit_core::ActorType::System,
            "batchExport",
            resource_id,
            "create",
        ),
    }
}
