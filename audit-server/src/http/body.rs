//! Request bodies and query strings, parsed into problem answers that name the field at fault.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use audit_core::FieldError;

use crate::http::error::ApiError;

/// A JSON body: 415 unless the content type is JSON, 413 over the size limit, 400 for malformed
/// JSON, 422 naming the field for wrong types, missing fields and unknown enum values.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(request, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Reads the raw bytes of a JSON body, enforcing the content type and the size limit.
pub async fn json_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let is_json = content_type.is_some_and(|value| {
        let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
    });
    if !is_json {
        return Err(ApiError::unsupported_media_type(
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large("the request body is over the size limit", Vec::new())
        } else {
            ApiError::bad_request(format!("the body could not be read: {rejection}"), Vec::new())
        }
    })
}

/// Parses JSON into `T`, naming the field at fault. Anything after the JSON value is refused.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *deserializer).map_err(|error| {
        let field = error.path().to_string();
        let inner = error.into_inner();
        let message = strip_position(&inner.to_string());
        match inner.classify() {
            serde_json::error::Category::Data => ApiError::unprocessable(
                format!("invalid value: {message}"),
                vec![field_error(field, message)],
            ),
            _ => ApiError::bad_request(
                format!("malformed JSON: {message}"),
                vec![field_error(field, message)],
            ),
        }
    })?;
    deserializer.end().map_err(|error| {
        ApiError::bad_request(
            format!("malformed JSON: {}", strip_position(&error.to_string())),
            vec![FieldError::new("", "unexpected content after the JSON value")],
        )
    })?;
    Ok(value)
}

/// Parses one item of a batch, kept as text, into `T`, naming the field at fault: a wrong type
/// or a member nested deeper than JSON readers go (128 levels) rejects this item alone.
pub fn parse_item<T: DeserializeOwned>(item: &RawValue) -> Result<T, FieldError> {
    let deserializer = &mut serde_json::Deserializer::from_str(item.get());
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let field = error.path().to_string();
        let message = strip_position(&error.into_inner().to_string());
        field_error(field, message)
    })
}

/// The error of the field at `path`, saying `message`.
fn field_error(mut path: String, message: String) -> FieldError {
    if message.starts_with("recursion limit exceeded") {
        // The path is as deep as the value: name the member that holds it.
        path.truncate(path.find(['.', '[']).unwrap_or(path.len()));
    }
    FieldError::new(field_at_fault(&path, &message), message)
}

/// The path of the field at fault: serde reports a missing field at its parent object.
fn field_at_fault(path: &str, message: &str) -> String {
    let path = if path == "." { "" } else { path };
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match missing {
        Some(name) if path.is_empty() => name.to_owned(),
        Some(name) => format!("{path}.{name}"),
        None => path.to_owned(),
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// The query string as name/value pairs (400 when it is not form-encoded).
pub fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|error| {
        ApiError::bad_request(format!("the query string cannot be parsed: {error}"), Vec::new())
    })
}

/// The query's whole-number parameters `names`, each at least 1 when given: 400 for an
/// unknown or repeated parameter or one that is not a whole number, 422 for one below 1.
pub fn positive_integer_params<const N: usize>(
    raw: Option<&str>,
    names: [&str; N],
) -> Result<[Option<u64>; N], ApiError> {
    let mut values = [None; N];
    for (name, value) in query_pairs(raw)? {
        let Some(slot) = names.iter().position(|known| *known == name) else {
            return Err(ApiError::bad_request(
                "unknown query parameter",
                vec![FieldError::new(name, "is not a known parameter")],
            ));
        };
        if values[slot].is_some() {
            return Err(ApiError::bad_request(
                "repeated query parameter",
                vec![FieldError::new(name, "is given more than once")],
            ));
        }
        let parsed = value.parse::<u64>().map_err(|_| {
            ApiError::bad_request(
                "malformed query parameters",
                vec![FieldError::new(name.clone(), "must be a whole number")],
            )
        })?;
        if parsed < 1 || parsed > i64::MAX as u64 {
            return Err(FieldError::new(name, "must be at least 1").into());
        }
        values[slot] = Some(parsed);
    }
    Ok(values)
}

/// A path segment parsed as a UUID (400 naming the parameter otherwise).
pub fn uuid_param(name: &str, value: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(value).map_err(|_| {
        ApiError::bad_request(
            format!("`{name}` must be a UUID"),
            vec![FieldError::new(name, "must be a UUID")],
        )
    })
}

/// Path parameters, with problem answers when they cannot be read.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> axum::extract::FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| {
                ApiError::bad_request(format!("bad path parameter: {rejection}"), Vec::new())
            })
    }
}
