//! Checks an event against the size limits and field rules before anything is stored.

use serde_json::Value;

use crate::{ActorType, AuditEvent, FieldError};

/// Size limits for one event. The defaults are the contract's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventLimits {
    /// Longest identifier, role, resource type or action, in characters.
    pub max_identifier_chars: usize,
    /// Longest `userAgent`, in characters.
    pub max_user_agent_chars: usize,
    /// Largest `before`, `after` or `metadata`, in bytes of compact JSON.
    pub max_state_bytes: usize,
}

impl Default for EventLimits {
    fn default() -> Self {
        EventLimits {
            max_identifier_chars: 256,
            max_user_agent_chars: 1024,
            max_state_bytes: 256 * 1024,
        }
    }
}

/// Why an event cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventViolation {
    /// A `before`, `after` or `metadata` value is over the byte limit (HTTP 413).
    TooLarge(Vec<FieldError>),
    /// Fields break the rules (HTTP 422).
    Invalid(Vec<FieldError>),
}

impl EventViolation {
    /// The offending fields.
    pub fn errors(&self) -> &[FieldError] {
        match self {
            EventViolation::TooLarge(errors) | EventViolation::Invalid(errors) => errors,
        }
    }
}

impl AuditEvent {
    /// Checks required fields, lengths, sizes and characters no database can store.
    pub fn validate(&self, limits: &EventLimits) -> Result<(), EventViolation> {
        let mut invalid = Vec::new();
        let mut too_large = Vec::new();

        match self.actor_type {
            ActorType::User if is_blank(&self.user_id) => {
                invalid.push(FieldError::new("userId", "is required when type is USER"));
            }
            ActorType::ApiKey if is_blank(&self.api_key_id) => {
                invalid.push(FieldError::new("apiKeyId", "is required when type is API_KEY"));
            }
            _ => {}
        }
        for (field, value) in [
            ("resourceType", &self.resource_type),
            ("resourceId", &self.resource_id),
            ("action", &self.action),
        ] {
            if value.trim().is_empty() {
                invalid.push(FieldError::new(field, "must not be empty"));
            }
        }

        let identifiers = [
            ("userId", self.user_id.as_deref()),
            ("apiKeyId", self.api_key_id.as_deref()),
            ("projectId", self.project_id.as_deref()),
            ("resourceType", Some(self.resource_type.as_str())),
            ("resourceId", Some(self.resource_id.as_str())),
            ("action", Some(self.action.as_str())),
            ("ipAddress", self.ip_address.as_deref()),
            ("requestId", self.request_id.as_deref()),
            ("traceId", self.trace_id.as_deref()),
            ("onBehalfOf", self.on_behalf_of.as_deref()),
            ("impersonatedBy", self.impersonated_by.as_deref()),
        ];
        for (field, value) in identifiers {
            check_text(field, value, limits.max_identifier_chars, &mut invalid);
        }
        check_text(
            "userAgent",
            self.user_agent.as_deref(),
            limits.max_user_agent_chars,
            &mut invalid,
        );

        let metadata = self.metadata.clone().map(Value::Object);
        for (field, value) in [
            ("before", &self.before),
            ("after", &self.after),
            ("metadata", &metadata),
        ] {
            let Some(value) = value else { continue };
            let bytes = serde_json::to_vec(value)
                .map(|json| json.len())
                .unwrap_or(usize::MAX);
            if bytes > limits.max_state_bytes {
                too_large.push(FieldError::new(
                    field,
                    format!("is {bytes} bytes; the limit is {}", limits.max_state_bytes),
                ));
            }
            if contains_nul(value) {
                invalid.push(FieldError::new(field, "must not contain NUL characters"));
            }
        }

        if !too_large.is_empty() {
            Err(EventViolation::TooLarge(too_large))
        } else if !invalid.is_empty() {
            Err(EventViolation::Invalid(invalid))
        } else {
            Ok(())
        }
    }
}

fn is_blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|text| text.trim().is_empty())
}

fn check_text(field: &str, value: Option<&str>, max_chars: usize, errors: &mut Vec<FieldError>) {
    let Some(value) = value else { return };
    let chars = value.chars().count();
    if chars > max_chars {
        errors.push(FieldError::new(
            field,
            format!("is {chars} characters; the limit is {max_chars}"),
        ));
    }
    if value.contains('\0') {
        errors.push(FieldError::new(field, "must not contain NUL characters"));
    }
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(members) => members
            .iter()
            .any(|(name, member)| name.contains('\0') || contains_nul(member)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(violation: EventViolation) -> Vec<String> {
        violation
            .errors()
            .iter()
            .map(|error| error.field.clone())
            .collect()
    }

    #[test]
    fn a_complete_event_is_valid() {
        let event = AuditEvent::by_user("u_1", "prompt", "pr_1", "create");
        assert_eq!(event.validate(&EventLimits::default()), Ok(()));
    }

    #[test]
    fn actor_identity_is_required_by_type() {
        let event = AuditEvent::new(ActorType::User, "prompt", "pr_1", "create");
        assert_eq!(
            fields(event.validate(&EventLimits::default()).unwrap_err()),
            ["userId"]
        );
        let event = AuditEvent::new(ActorType::ApiKey, "prompt", "pr_1", "create");
        assert_eq!(
            fields(event.validate(&EventLimits::default()).unwrap_err()),
            ["apiKeyId"]
        );
        let event = AuditEvent::new(ActorType::System, "prompt", "pr_1", "create");
        assert!(event.validate(&EventLimits::default()).is_ok());
    }

    #[test]
    fn long_identifiers_and_large_states_are_named() {
        let mut event = AuditEvent::by_user("u".repeat(257), "prompt", "pr_1", "create");
        event.user_agent = Some("a".repeat(1025));
        assert_eq!(
            fields(event.validate(&EventLimits::default()).unwrap_err()),
            ["userId", "userAgent"]
        );

        let mut event = AuditEvent::by_user("u_1", "prompt", "pr_1", "create");
        event.after = Some(json!({"blob": "x".repeat(300 * 1024)}));
        let violation = event.validate(&EventLimits::default()).unwrap_err();
        assert!(matches!(violation, EventViolation::TooLarge(_)));
        assert_eq!(fields(violation), ["after"]);
    }

    #[test]
    fn nul_characters_are_refused_everywhere() {
        let mut event = AuditEvent::by_user("u\0", "prompt", "pr_1", "create");
        event.before = Some(json!({"a": ["ok", "bad\u{0}"]}));
        assert_eq!(
            fields(event.validate(&EventLimits::default()).unwrap_err()),
            ["userId", "before"]
        );
    }
}
