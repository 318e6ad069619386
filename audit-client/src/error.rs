//! The SDK's error type.

use std::time::Duration;

use audit_core::{FieldError, Problem};
use reqwest::StatusCode;

/// What can go wrong when calling the audit log service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be sent or the response not received (DNS, connection refused,
    /// reset, TLS, a broken body stream).
    #[error("transport error: {0}")]
    Transport(#[source] reqwest::Error),

    /// The request did not complete within the configured timeout.
    #[error("the request timed out")]
    Timeout,

    /// The service answered with an error status and an RFC 9457 problem body (synthesized
    /// from the status and raw body when the service did not send one).
    #[error("{} {}: {}", status.as_u16(), problem.title, problem.detail)]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The problem body, with its field errors.
        problem: Box<Problem>,
        /// The `Retry-After` delay the service asked for, if any.
        retry_after: Option<Duration>,
    },

    /// A success response whose body is not what the contract promises.
    #[error("could not decode the response body: {source}")]
    Decode {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
        /// The raw body, for diagnosis.
        body: String,
    },

    /// The caller passed something the client refuses to send (e.g. an empty or oversized
    /// batch, an invalid base URL).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem body of an [`Error::Api`].
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Api { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The field errors of a validation problem (empty for anything else).
    pub fn field_errors(&self) -> &[FieldError] {
        self.problem()
            .map(|problem| problem.errors.as_slice())
            .unwrap_or_default()
    }

    /// The `Retry-After` delay the service asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether trying again later may succeed: transport errors, timeouts, 408, 429, 502, 503
    /// and 504. Other statuses, decoding errors and invalid arguments are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) | Error::Timeout => true,
            Error::Api { status, .. } => is_retryable_status(*status),
            Error::Decode { .. } | Error::InvalidArgument(_) => false,
        }
    }

    /// Whether the request certainly never reached the service (it could not connect), so
    /// even a non-idempotent request may be retried.
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Transport(source) if source.is_connect())
    }

    pub(crate) fn from_reqwest(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Error::Timeout
        } else {
            Error::Transport(error)
        }
    }

    /// Builds the error of a non-success response from its status and raw body.
    pub(crate) fn from_response(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> Self {
        let problem = serde_json::from_slice::<Problem>(body)
            .ok()
            .filter(|problem| !problem.title.is_empty() || !problem.detail.is_empty())
            .unwrap_or_else(|| synthesize_problem(status, body));
        Error::Api {
            status,
            problem: Box::new(problem),
            retry_after,
        }
    }
}

/// Statuses worth retrying: the service is overloaded, restarting or behind a failing proxy.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 502 | 503 | 504)
}

const MAX_DETAIL_CHARS: usize = 512;

fn synthesize_problem(status: StatusCode, body: &[u8]) -> Problem {
    let title = status.canonical_reason().unwrap_or("Unknown Status").to_owned();
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let detail = if text.is_empty() {
        format!("the service answered {} without a problem body", status.as_u16())
    } else {
        text.chars().take(MAX_DETAIL_CHARS).collect()
    };
    Problem {
        problem_type: "about:blank".to_owned(),
        title,
        status: status.as_u16(),
        detail,
        errors: Vec::new(),
        allowed_actions: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_bodies_are_parsed_with_their_field_errors() {
        let body = br#"{"type":"https://audit-log.dev/problems/validation","title":"Unprocessable Content",
            "status":422,"detail":"bad","errors":[{"field":"action","message":"unknown"}]}"#;
        let error = Error::from_response(StatusCode::UNPROCESSABLE_ENTITY, body, None);
        assert_eq!(error.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
        assert_eq!(error.field_errors()[0].field, "action");
        assert!(!error.is_retryable());
        assert_eq!(error.to_string(), "422 Unprocessable Content: bad");
    }

    #[test]
    fn other_bodies_become_a_synthesized_problem() {
        let error = Error::from_response(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>", None);
        let problem = error.problem().unwrap();
        assert_eq!(problem.status, 502);
        assert_eq!(problem.title, "Bad Gateway");
        assert_eq!(problem.detail, "<html>bad gateway</html>");
        assert!(error.is_retryable());

        let error = Error::from_response(StatusCode::SERVICE_UNAVAILABLE, b"", Some(Duration::from_secs(3)));
        assert!(error.problem().unwrap().detail.contains("503"));
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn only_transient_statuses_are_retryable() {
        for status in [408, 429, 502, 503, 504] {
            assert!(
                is_retryable_status(StatusCode::from_u16(status).unwrap()),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 409, 413, 415, 422, 500, 501] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(status).unwrap()),
                "{status}"
            );
        }
    }
}
