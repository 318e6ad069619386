//! A `before` or `after` state as it is recorded: JSON text with the values of sensitive keys
//! masked, no longer than the layer's state limit (measured on the compact form), or nothing.
//!
//! Text is walked once, to check it and to find whether it holds a sensitive key; only then is
//! it parsed into a tree, masked and written out again. A state that is not JSON, too deep or
//! too long is left out of the event rather than sent for the service to refuse.

use audit_core::RawJson;
use serde_json::Value;

use super::hooks::AuditState;
use crate::redact::Redactor;

/// A state before masking: given by a hook or the handler, or the copy of the response body
/// (text not yet known to be JSON).
pub(super) enum Unmasked {
    /// A state given by a hook or the handler.
    Given(AuditState),
    /// The copy of the response body.
    Body(String),
}

/// A state as it is recorded: JSON text, with the values of sensitive keys masked; `None` when
/// it is not JSON or longer than `limit` bytes.
///
/// Text is walked once, to check it and to find out whether it holds a sensitive key at all;
/// only then is it parsed into a tree, masked and written out again. Most states hold none.
pub(super) fn masked(state: Unmasked, redactor: &Redactor, limit: usize) -> Option<RawJson> {
    let text = match state {
        Unmasked::Given(AuditState::Value(value)) => return written(value, redactor, limit),
        Unmasked::Given(AuditState::Json(json)) => json.into_string(),
        Unmasked::Body(text) => text,
    };
    let (json, sensitive) = RawJson::parse_flagging_keys(text, |key| redactor.is_sensitive(key)).ok()?;
    if !sensitive && json.len() <= limit {
        return Some(json);
    }
    written(json.to_value(), redactor, limit)
}

/// `value` masked and written out compact, when that fits in `limit` bytes (the bound is on
/// the serialized value, as the service measures it, not on the whitespace of a text) and is
/// nested no deeper than an event can carry.
fn written(mut value: Value, redactor: &Redactor, limit: usize) -> Option<RawJson> {
    redactor.redact(&mut value);
    let json = RawJson::parse(value.to_string()).ok()?;
    (json.len() <= limit).then_some(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::REDACTED;

    #[test]
    fn states_are_masked_and_bounded_as_serialized() {
        let redactor = Redactor::default();
        let body = |text: &str| Unmasked::Body(text.to_owned());
        let pretty = "{\n  \"name\": \"a\",\n  \"apiKey\": \"k\"\n}";
        let state = masked(body(pretty), &redactor, 1000).unwrap();
        assert_eq!(
            state.to_value(),
            serde_json::json!({ "name": "a", "apiKey": REDACTED })
        );

        // Nothing to mask: kept as it came, whitespace and all.
        let spaced = r#"{ "name" : "abc" }"#;
        assert_eq!(masked(body(spaced), &redactor, 1000).unwrap().as_str(), spaced);
        // The bound is on the compact form.
        let compact = r#"{"name":"abc"}"#;
        assert_eq!(
            masked(body(spaced), &redactor, compact.len()).unwrap().as_str(),
            compact
        );
        assert!(masked(body(spaced), &redactor, compact.len() - 1).is_none());

        assert!(masked(body("<html>"), &redactor, 1000).is_none());
        let given = Unmasked::Given(AuditState::Value(serde_json::json!({ "token": 1, "n": 2 })));
        let state = masked(given, &redactor, 1000).unwrap();
        assert_eq!(state.to_value(), serde_json::json!({ "token": REDACTED, "n": 2 }));
    }
}
