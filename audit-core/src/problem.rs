//! RFC 9457 problem details, the body of every error.

use serde::{Deserialize, Serialize};

/// One field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field, as a JSON path in the request (`events[3].userId`) or a query parameter name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The longest display name (of an organization, a key, a stream) accepted.
pub const MAX_DISPLAY_NAME_CHARS: usize = 256;

/// Checks a display name: 1 to [`MAX_DISPLAY_NAME_CHARS`] characters, not only whitespace, no
/// control characters.
pub fn check_display_name(field: &str, name: &str) -> Result<(), FieldError> {
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_DISPLAY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must be 1 to 256 characters without control characters",
        ));
    }
    Ok(())
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error with its field nested under `prefix` (e.g. `events[2]`).
    pub fn nested(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

/// An `application/problem+json` body (RFC 9457).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "type": "urn:problem:audit-log:validation",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "action `explode` is not allowed for resource type `prompt`; allowed: create, delete, promote, setLabel, update, updateTags",
    "errors": [{"field": "action", "message": "allowed: create, delete, promote, setLabel, update, updateTags"}],
    "allowedActions": ["create", "delete", "promote", "setLabel", "update", "updateTags"]
})))]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:problem:audit-log:` followed by `malformed-request`,
    /// `unauthorized`, `forbidden`, `not-found`, `conflict`, `payload-too-large`,
    /// `unsupported-media-type`, `method-not-allowed`, `validation`, `unavailable` or `internal`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// The fields at fault, for validation problems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For an unknown action: the actions the resource type allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_actions: Option<Vec<String>>,
}
