//! The one API error type: every failure answers `application/problem+json` (RFC 9457).
//! Client errors echo what was wrong; internal ones are logged once and answered generically.

use audit_core::{FieldError, Problem};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answered to an API caller.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    allowed_actions: Option<Vec<String>>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, slug: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            slug,
            detail: detail.into(),
            errors: Vec::new(),
            allowed_actions: None,
            retry_after_secs: None,
        }
    }

    /// 400: the request cannot be parsed.
    pub fn bad_request(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed-request", detail).with_errors(errors)
    }

    /// 401: no credentials, or unknown ones.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403: valid credentials without the right to do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404: nothing here (or nothing the caller may know of).
    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 405: the path exists, the method does not.
    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "this method is not allowed here",
        )
    }

    /// 409: conflicts with what is stored.
    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 413: the body or a part of it is over a size limit.
    pub fn payload_too_large(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", detail).with_errors(errors)
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            detail,
        )
    }

    /// 422: parsed, but semantically invalid.
    pub fn unprocessable(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail).with_errors(errors)
    }

    /// 429: over a rate or connection limit; `Retry-After` says when to try again.
    pub fn too_many_requests(detail: impl Into<String>, retry_after: std::time::Duration) -> Self {
        let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", detail);
        // Whole seconds, rounded up, and never 0 (which would invite an immediate retry).
        error.retry_after_secs = Some(retry_after.as_secs_f64().ceil().max(1.0) as u64);
        error
    }

    /// 503: the request took longer than the configured timeout.
    pub fn timed_out(timeout: std::time::Duration) -> Self {
        let mut error = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than the server's {} ms timeout; try again or narrow it",
                timeout.as_millis()
            ),
        );
        error.retry_after_secs = Some(1);
        error
    }

    /// 502: a destination called on the caller's behalf refused or failed.
    pub fn bad_gateway(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_GATEWAY, "destination-failed", detail)
    }

    /// 503: a dependency (the database) is unavailable.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    /// 500: a bug or an unexpected failure. Logged here, once; the body says nothing more.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; it has been logged",
        )
    }

    /// Adds field errors.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Names the actions a resource type allows.
    pub fn with_allowed_actions(mut self, actions: Vec<String>) -> Self {
        self.allowed_actions = Some(actions);
        self
    }

    /// Seconds after which a retry may succeed (the `Retry-After` header), if known.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }

    /// The kind of problem, the last part of its `type` (e.g. `validation`).
    pub fn kind(&self) -> &'static str {
        self.slug
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The problem body.
    pub fn to_problem(&self) -> Problem {
        Problem {
            problem_type: format!("urn:problem:audit-log:{}", self.slug),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
            allowed_actions: self.allowed_actions.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// One field at fault: 422 naming it.
impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::unprocessable(format!("`{}` {}", error.field, error.message), vec![error])
    }
}

impl From<DbErr> for ApiError {
    fn from(error: DbErr) -> Self {
        match error {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                tracing::error!(%error, "database unavailable");
                ApiError::unavailable("the database is unavailable; try again")
            }
            other => ApiError::internal(other),
        }
    }
}

/// The answer for routes that do not exist.
pub async fn not_found_fallback() -> ApiError {
    ApiError::not_found("no such endpoint")
}

/// The answer for methods a route does not have.
pub async fn method_not_allowed_fallback() -> ApiError {
    ApiError::method_not_allowed()
}
