//! Read-your-writes across read replicas: a write answers with the `seq` it produced in
//! [`SEQ_HEADER`], and a read that sends a `seq` back in [`MIN_SEQ_HEADER`] is answered from
//! a database that holds the caller's trail at least up to it (see `store::replicas`).

use audit_core::FieldError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::http::error::ApiError;

/// The response header naming the highest `seq` a write produced or found (idempotent retry).
pub const SEQ_HEADER: HeaderName = HeaderName::from_static("x-audit-seq");
/// The request header naming the `seq` a read must see: the caller's last write.
pub const MIN_SEQ_HEADER: HeaderName = HeaderName::from_static("x-audit-min-seq");

/// The `seq` a read must see, when the request names one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinSeq(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for MinSeq {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(&MIN_SEQ_HEADER) else {
            return Ok(MinSeq(None));
        };
        match value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse::<i64>().ok())
        {
            Some(seq) if seq >= 0 => Ok(MinSeq(Some(seq))),
            _ => Err(ApiError::bad_request(
                "X-Audit-Min-Seq must be a non-negative integer",
                vec![FieldError::new(
                    "X-Audit-Min-Seq",
                    "is not a non-negative integer",
                )],
            )),
        }
    }
}

/// Adds [`SEQ_HEADER`] with `seq` to `headers`.
pub fn insert_seq(headers: &mut HeaderMap, seq: i64) {
    headers.insert(SEQ_HEADER, HeaderValue::from(seq));
}
