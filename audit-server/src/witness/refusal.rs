//! Why the witness does not cosign, and the tlog-witness status code each reason answers.

use audit_core::witness_protocol::TLOG_SIZE_MEDIA_TYPE;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A submission the witness does not cosign. Each answers a short plain-text message, but a
/// conflict, whose body the protocol fixes as the latest cosigned size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// 400: the body is not an add-checkpoint request, or its old size exceeds the checkpoint's.
    #[error("{0}")]
    Malformed(String),
    /// 404: no configured log key covers the checkpoint's origin.
    #[error("the witness does not witness the origin {0:?}")]
    UnknownOrigin(String),
    /// 403: no valid signature by a key trusted for the origin.
    #[error("{0}")]
    NotSigned(String),
    /// 409: the old size is not the size last cosigned for the origin.
    #[error("the old size is not {latest_size}, the size last cosigned for this origin")]
    StaleOldSize {
        /// The size last cosigned for the origin, 0 when none.
        latest_size: u64,
    },
    /// 422: the checkpoint does not extend what was cosigned before.
    #[error("{0}")]
    Inconsistent(String),
    /// 500: the state could not be saved, so nothing was cosigned.
    #[error("the witness could not save its state")]
    Storage,
}

impl Refusal {
    /// The status code tlog-witness prescribes.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Malformed(_) => StatusCode::BAD_REQUEST,
            Refusal::UnknownOrigin(_) => StatusCode::NOT_FOUND,
            Refusal::NotSigned(_) => StatusCode::FORBIDDEN,
            Refusal::StaleOldSize { .. } => StatusCode::CONFLICT,
            Refusal::Inconsistent(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::Storage => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (media_type, body) = match &self {
            Refusal::StaleOldSize { latest_size } => (TLOG_SIZE_MEDIA_TYPE, format!("{latest_size}\n")),
            other => ("text/plain; charset=utf-8", format!("{other}\n")),
        };
        (self.status(), [(header::CONTENT_TYPE, media_type)], body).into_response()
    }
}
