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
    #[error("{}", stale_old_size(*latest_size, *size))]
    StaleOldSize {
        /// The size last cosigned for the origin, 0 when none.
        latest_size: u64,
        /// The submitted checkpoint's size.
        size: u64,
    },
    /// 422: the checkpoint does not extend what was cosigned before.
    #[error("{0}")]
    Inconsistent(String),
    /// 500: the state could not be saved, so nothing was cosigned.
    #[error("the witness could not save its state")]
    Storage,
}

/// What a 409 means: a checkpoint smaller than one already cosigned is a log that lost records.
fn stale_old_size(latest_size: u64, size: u64) -> String {
    if size < latest_size {
        format!(
            "the log was truncated or rolled back: the witness has cosigned size {latest_size}, \
             this checkpoint has {size}"
        )
    } else {
        format!("the old size is not {latest_size}, the size last cosigned for this origin")
    }
}

impl Refusal {
    /// Whether the refusal is evidence that the log misbehaved: a validly signed checkpoint
    /// that does not extend, or is smaller than, what was cosigned.
    pub fn is_evidence(&self) -> bool {
        match self {
            Refusal::Inconsistent(_) => true,
            Refusal::StaleOldSize { latest_size, size } => size < latest_size,
            _ => false,
        }
    }

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
            Refusal::StaleOldSize { latest_size, .. } => (TLOG_SIZE_MEDIA_TYPE, format!("{latest_size}\n")),
            other => ("text/plain; charset=utf-8", format!("{other}\n")),
        };
        (self.status(), [(header::CONTENT_TYPE, media_type)], body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_with_a_smaller_checkpoint_says_the_log_lost_records() {
        let rolled_back = Refusal::StaleOldSize {
            latest_size: 20,
            size: 13,
        };
        assert!(rolled_back.is_evidence());
        assert_eq!(
            rolled_back.to_string(),
            "the log was truncated or rolled back: the witness has cosigned size 20, this checkpoint has 13"
        );
        let stale = Refusal::StaleOldSize {
            latest_size: 9,
            size: 20,
        };
        assert!(!stale.is_evidence());
        assert!(stale.to_string().contains("the old size is not 9"));
    }
}
