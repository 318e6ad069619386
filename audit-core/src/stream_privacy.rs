//! A log stream's privacy policy: fields of each record dropped, masked or replaced by a keyed
//! hash in what the stream sends, never in the trail itself.

use serde::{Deserialize, Serialize};

/// What happens to a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PrivacyAction {
    /// Left out.
    Drop,
    /// Replaced by `"***"`.
    Mask,
    /// Replaced by the hex HMAC-SHA256 of its value under the stream's own key: stable for one
    /// stream (a SIEM can still correlate), different between streams, never reversible.
    Hash,
}

/// One rule of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivacyRule {
    /// `ipAddress`, `userAgent`, `userId`, or a dotted path inside `before`, `after` or
    /// `metadata` (`after.email`, `metadata.client.ip`); at most 256 characters.
    #[cfg_attr(feature = "utoipa", schema(max_length = 256, example = "after.email"))]
    pub field: String,
    /// What happens to it.
    pub action: PrivacyAction,
}

/// A stream's privacy policy; no rules (the default) sends records whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivacyPolicy {
    /// The rules, at most 32, one per field.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_items = 32))]
    pub rules: Vec<PrivacyRule>,
}

/// The top-level fields a rule may name alone.
pub const PRIVACY_FIELDS: [&str; 3] = ["ipAddress", "userAgent", "userId"];
/// The fields a rule may name a dotted path inside.
pub const PRIVACY_PATH_ROOTS: [&str; 3] = ["before", "after", "metadata"];
