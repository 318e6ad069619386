//! Request timeouts: an `/api/v1` request not answered within the configured time gets a 503
//! problem. Streaming answers (the live tail and exports) are exempt: they are meant to last.
//!
//! The limit covers the time until the response starts. A request cut short is dropped where it
//! stands: an open transaction rolls back; an append already handed to the writer may still
//! commit, which is why recording is idempotent by event `id` (a retry answers 200).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::state::AppState;

/// Paths whose answers stream for as long as they take.
pub const EXEMPT_PATHS: [&str; 2] = ["/api/v1/audit-logs/stream", "/api/v1/audit-logs/export"];

/// Whether `path` is under the request timeout.
pub fn applies_to(path: &str) -> bool {
    path.starts_with("/api/") && !EXEMPT_PATHS.contains(&path.trim_end_matches('/'))
}

/// Middleware answering 503 when a request outlasts `AUDIT_REQUEST_TIMEOUT_SECS`.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let timeout = state.config.request_timeout();
    if timeout.is_zero() || !applies_to(request.uri().path()) {
        return next.run(request).await;
    }
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics.timed_out();
            ApiError::timed_out(timeout).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_and_non_api_paths_are_exempt() {
        assert!(applies_to("/api/v1/audit-logs"));
        assert!(applies_to("/api/v1/audit-logs/verify"));
        assert!(!applies_to("/api/v1/audit-logs/stream"));
        assert!(!applies_to("/api/v1/audit-logs/export"));
        assert!(!applies_to("/metrics"));
    }
}
