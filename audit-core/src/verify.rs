//! The answer of chain verification.

use serde::{Deserialize, Serialize};

/// The range to verify; both ends optional and inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "utoipa", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyParams {
    /// The first `seq` to check (default 1).
    #[cfg_attr(feature = "utoipa", param(minimum = 1))]
    pub from_seq: Option<i64>,
    /// The last `seq` to check (default: the head of the trail).
    #[cfg_attr(feature = "utoipa", param(minimum = 1))]
    pub to_seq: Option<i64>,
}

/// Whether the organization's chain is intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "valid": true, "checked": 1234, "headSeq": 1234,
    "headHash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "firstInvalidSeq": null, "reason": null
})))]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// True when every checked record is in place and unchanged.
    pub valid: bool,
    /// How many records were checked.
    pub checked: u64,
    /// The last `seq` of the trail (0 when empty).
    pub head_seq: i64,
    /// The hash of the last record (64 zeros when empty).
    pub head_hash: String,
    /// The first `seq` at which the chain breaks, or null when it is intact.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub first_invalid_seq: Option<i64>,
    /// What is wrong there, or null when the chain is intact.
    #[cfg_attr(feature = "utoipa", schema(required))]
    pub reason: Option<String>,
}
