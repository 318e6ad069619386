//! A stream's privacy policy applied to what it sends: each rule drops, masks or hashes one
//! field of a copy of the record, before the record becomes an event in the stream's format,
//! so every format and every destination sees the same policy.
//!
//! Invariants: the stored record is never changed (the policy works on a copy, so the trail,
//! its hashes and its reads are untouched); a hash is HMAC-SHA256 under the stream's own key,
//! stable for that stream and different between streams; a path that is not in a record is
//! left alone.

use audit_core::{AuditRecord, FieldError, PRIVACY_FIELDS, PRIVACY_PATH_ROOTS, PrivacyAction, PrivacyPolicy};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The most rules in a policy.
pub const MAX_RULES: usize = 32;
/// The longest field a rule names.
pub const MAX_FIELD_CHARS: usize = 256;
/// What a masked field becomes.
pub const MASK: &str = "***";

/// Checks a policy: known fields, well-formed paths, one rule per field.
pub fn check(policy: &PrivacyPolicy) -> Result<(), FieldError> {
    if policy.rules.len() > MAX_RULES {
        return Err(FieldError::new(
            "privacy.rules",
            format!("at most {MAX_RULES} rules"),
        ));
    }
    for (index, rule) in policy.rules.iter().enumerate() {
        let name = format!("privacy.rules[{index}].field");
        let field = rule.field.as_str();
        if field.chars().count() > MAX_FIELD_CHARS {
            return Err(FieldError::new(
                &name,
                format!("at most {MAX_FIELD_CHARS} characters"),
            ));
        }
        let known = PRIVACY_FIELDS.contains(&field)
            || field.split_once('.').is_some_and(|(root, path)| {
                PRIVACY_PATH_ROOTS.contains(&root) && path.split('.').all(|part| !part.is_empty())
            });
        if !known {
            return Err(FieldError::new(
                &name,
                "must be ipAddress, userAgent, userId or a dotted path inside before, after or metadata \
                 (e.g. after.email)",
            ));
        }
        if policy.rules[..index]
            .iter()
            .any(|earlier| earlier.field == rule.field)
        {
            return Err(FieldError::new(&name, "has a rule already"));
        }
    }
    Ok(())
}

/// The hex HMAC-SHA256 of `text` under `key`.
fn keyed_hash(key: &[u8], text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// What a string field becomes (`None`: dropped).
fn apply_to_text(action: PrivacyAction, key: &[u8], text: &str) -> Option<String> {
    match action {
        PrivacyAction::Drop => None,
        PrivacyAction::Mask => Some(MASK.to_owned()),
        PrivacyAction::Hash => Some(keyed_hash(key, text)),
    }
}

/// Applies `action` to the member at `path` inside `object`, when it is there. A value that is
/// not a string is hashed as its JSON text.
fn apply_to_path(object: &mut Map<String, Value>, path: &[&str], action: PrivacyAction, key: &[u8]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = object;
    for part in parents {
        match current.get_mut(*part) {
            Some(Value::Object(inner)) => current = inner,
            _ => return,
        }
    }
    let Some(value) = current.get(*last) else {
        return;
    };
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match apply_to_text(action, key, &text) {
        Some(replaced) => {
            current.insert((*last).to_owned(), Value::String(replaced));
        }
        None => {
            current.remove(*last);
        }
    }
}

fn apply_to_state(state: &mut Option<Value>, path: &[&str], action: PrivacyAction, key: &[u8]) {
    if let Some(Value::Object(object)) = state {
        apply_to_path(object, path, action, key);
    }
}

/// A copy of `record` with `policy` applied under the stream's hashing `key`.
pub fn apply(policy: &PrivacyPolicy, key: &[u8], record: &AuditRecord) -> AuditRecord {
    let mut copy = record.clone();
    for rule in &policy.rules {
        let action = rule.action;
        let text_field = match rule.field.as_str() {
            "ipAddress" => Some(&mut copy.ip_address),
            "userAgent" => Some(&mut copy.user_agent),
            "userId" => Some(&mut copy.user_id),
            _ => None,
        };
        if let Some(field) = text_field {
            *field = field.as_deref().and_then(|text| apply_to_text(action, key, text));
            continue;
        }
        let Some((root, path)) = rule.field.split_once('.') else {
            continue;
        };
        let path: Vec<&str> = path.split('.').collect();
        match root {
            "before" => apply_to_state(&mut copy.before, &path, action, key),
            "after" => apply_to_state(&mut copy.after, &path, action, key),
            "metadata" => {
                if let Some(metadata) = copy.metadata.as_mut() {
                    apply_to_path(metadata, &path, action, key);
                }
            }
            _ => {}
        }
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_core::PrivacyRule;

    fn policy(rules: &[(&str, PrivacyAction)]) -> PrivacyPolicy {
        PrivacyPolicy {
            rules: rules
                .iter()
                .map(|(field, action)| PrivacyRule {
                    field: (*field).to_owned(),
                    action: *action,
                })
                .collect(),
        }
    }

    #[test]
    fn policies_name_known_fields_once() {
        assert!(
            check(&policy(&[
                ("ipAddress", PrivacyAction::Hash),
                ("after.a.b", PrivacyAction::Drop)
            ]))
            .is_ok()
        );
        for bad in ["email", "after.", "after..x", "resourceId", "before"] {
            let error = check(&policy(&[(bad, PrivacyAction::Mask)])).unwrap_err();
            assert_eq!(error.field, "privacy.rules[0].field", "{bad}");
        }
        let twice = policy(&[("userId", PrivacyAction::Mask), ("userId", PrivacyAction::Drop)]);
        assert_eq!(check(&twice).unwrap_err().field, "privacy.rules[1].field");
    }
}
