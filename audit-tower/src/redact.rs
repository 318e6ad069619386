//! Masking secrets before anything leaves the process.
//!
//! Every object key of `before`, `after` and `metadata` is compared, case-insensitively and
//! ignoring `-`, `_`, `.` and spaces, with the sensitive names: a key that ends in `password`,
//! `passwd`, `passphrase`, `secret`, `token`, `apiKey`, `authorization`, `privateKey`,
//! `secretKey`, `accessKey`, `cookie` or `credentials` (so `api_key`, `accessToken`, `client-secret`, `dbPassword`), or that
//! equals one the host added. Its value, whatever it is, becomes `"[REDACTED]"`.
//!
//! ```
//! use audit_tower::Redactor;
//! use serde_json::json;
//!
//! let redactor = Redactor::default().with_key("ssn");
//! let mut value = json!({ "name": "a", "api_key": "k", "nested": [{ "accessToken": "t", "SSN": 1 }],
//!                         "maxTokens": 5 });
//! redactor.redact(&mut value);
//! assert_eq!(value, json!({ "name": "a", "api_key": "[REDACTED]",
//!                           "nested": [{ "accessToken": "[REDACTED]", "SSN": "[REDACTED]" }],
//!                           "maxTokens": 5 }));
//! ```

use std::collections::HashSet;

use serde_json::{Map, Value};

/// What a masked value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

const SENSITIVE_SUFFIXES: [&str; 13] = [
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "authorization",
    "privatekey",
    "secretkey",
    "accesskey",
    "cookie",
    "credential",
    "credentials",
];

/// Masks the values of sensitive keys in JSON values.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    extra: HashSet<String>,
}

/// Keys this long or shorter are normalized on the stack; longer ones (rare) allocate.
const STACK_KEY_BYTES: usize = 64;

fn is_ignored(c: char) -> bool {
    matches!(c, '-' | '_' | '.' | ' ')
}

fn normalize(key: &str) -> String {
    key.chars()
        .filter(|&c| !is_ignored(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// [`normalize`] without allocating, for ASCII keys that fit `buffer`.
fn normalize_ascii<'b>(key: &str, buffer: &'b mut [u8; STACK_KEY_BYTES]) -> Option<&'b str> {
    let mut len = 0;
    for byte in key.bytes() {
        if !byte.is_ascii() {
            return None;
        }
        if !is_ignored(char::from(byte)) {
            *buffer.get_mut(len)? = byte.to_ascii_lowercase();
            len += 1;
        }
    }
    std::str::from_utf8(&buffer[..len]).ok()
}

/// For each ASCII byte, the names of [`SENSITIVE_SUFFIXES`] that end with it, as a bit set of
/// their indices.
const NAMES_ENDING_WITH: [u16; 128] = {
    let mut table = [0; 128];
    let mut i = 0;
    while i < SENSITIVE_SUFFIXES.len() {
        let name = SENSITIVE_SUFFIXES[i].as_bytes();
        table[name[name.len() - 1] as usize] |= 1 << i;
        i += 1;
    }
    table
};

fn is_ignored_byte(byte: u8) -> bool {
    is_ignored(char::from(byte))
}

/// Whether the ASCII `key`, normalized, ends with one of [`SENSITIVE_SUFFIXES`]: compared
/// from its end without normalizing it first (every audited value's keys pass through here,
/// and most differ from every sensitive name in their last letters).
fn ends_with_sensitive_name(key: &str) -> bool {
    let key = key.as_bytes();
    let Some(&last) = key.iter().rev().find(|&&byte| !is_ignored_byte(byte)) else {
        return false;
    };
    let mut candidates = NAMES_ENDING_WITH
        .get(usize::from(last.to_ascii_lowercase()))
        .copied()
        .unwrap_or(0);
    while candidates != 0 {
        let index = candidates.trailing_zeros() as usize;
        candidates &= candidates - 1;
        if ends_with_normalized(key, SENSITIVE_SUFFIXES[index].as_bytes()) {
            return true;
        }
    }
    false
}

/// Whether the ASCII `key` ends with the lowercase `name`, ignoring case and the bytes of
/// [`is_ignored`] in `key`.
fn ends_with_normalized(key: &[u8], name: &[u8]) -> bool {
    let mut significant = key.iter().rev().filter(|&&byte| !is_ignored_byte(byte));
    name.iter().rev().all(|&expected| {
        significant
            .next()
            .is_some_and(|byte| byte.to_ascii_lowercase() == expected)
    })
}

impl Redactor {
    /// Also masks `key` (compared case-insensitively, ignoring `-`, `_`, `.` and spaces).
    pub fn with_key(mut self, key: impl AsRef<str>) -> Self {
        self.extra.insert(normalize(key.as_ref()));
        self
    }

    /// Whether values under `key` are masked.
    pub fn is_sensitive(&self, key: &str) -> bool {
        if !key.is_ascii() {
            return self.is_sensitive_normalized(&normalize(key));
        }
        if ends_with_sensitive_name(key) {
            return true;
        }
        if self.extra.is_empty() {
            return false;
        }
        let mut buffer = [0; STACK_KEY_BYTES];
        match normalize_ascii(key, &mut buffer) {
            Some(normalized) => self.extra.contains(normalized),
            None => self.extra.contains(&normalize(key)),
        }
    }

    fn is_sensitive_normalized(&self, key: &str) -> bool {
        SENSITIVE_SUFFIXES.iter().any(|suffix| key.ends_with(suffix))
            || (!self.extra.is_empty() && self.extra.contains(key))
    }

    /// Masks every sensitive key in `value`, at any depth.
    pub fn redact(&self, value: &mut Value) {
        match value {
            Value::Object(map) => self.redact_map(map),
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact(item)),
            _ => {}
        }
    }

    /// Masks every sensitive key in `map`, at any depth.
    pub fn redact_map(&self, map: &mut Map<String, Value>) {
        for (key, value) in map.iter_mut() {
            if self.is_sensitive(key) {
                *value = Value::String(REDACTED.to_owned());
            } else {
                self.redact(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_names_in_any_spelling() {
        let redactor = Redactor::default();
        for key in [
            "password",
            "Password",
            "new_password",
            "secret",
            "clientSecret",
            "token",
            "accessToken",
            "refresh_token",
            "apiKey",
            "api_key",
            "API-KEY",
            "authorization",
            "Authorization",
            "privateKey",
            "cookie",
            "пароль_token",
            "a_very_long_configuration_key_name_that_does_not_fit_on_the_stack_password",
            "pass_word",
            "API.KEY",
            "x-Auth-Token ",
            "Credentials",
        ] {
            assert!(redactor.is_sensitive(key), "{key}");
        }
        for key in [
            "name",
            "maxTokens",
            "tokenCount",
            "secretName",
            "prompt",
            "keyId",
            "токен",
            "a_very_long_configuration_key_name_that_does_not_fit_on_the_stack_at_all",
            "",
            "_-. ",
            "n",
            "ken",
            "projectId",
            "labels",
            "version",
        ] {
            assert!(!redactor.is_sensitive(key), "{key}");
        }
    }

    #[test]
    fn comparing_from_the_end_agrees_with_normalizing_first() {
        // Keys made of pieces of sensitive names, ordinary words and separators, in mixed case.
        let pieces = [
            "pass",
            "word",
            "wd",
            "phrase",
            "secret",
            "tok",
            "en",
            "api",
            "key",
            "author",
            "ization",
            "private",
            "access",
            "cookie",
            "credential",
            "s",
            "id",
            "name",
            "_",
            "-",
            ".",
            " ",
            "X",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for _ in 0..20_000 {
            let mut key = String::new();
            for _ in 0..next(5) {
                let piece = pieces[next(pieces.len())];
                match next(3) {
                    0 => key.push_str(&piece.to_ascii_uppercase()),
                    _ => key.push_str(piece),
                }
            }
            let expected = Redactor::default().is_sensitive_normalized(&normalize(&key));
            assert_eq!(ends_with_sensitive_name(&key), expected, "{key:?}");
        }
    }

    #[test]
    fn whole_values_are_masked() {
        let redactor = Redactor::default();
        let mut value = serde_json::json!({ "credentials": { "user": "a", "pass": "b" }, "ok": true });
        redactor.redact(&mut value);
        assert_eq!(
            value,
            serde_json::json!({ "credentials": "[REDACTED]", "ok": true })
        );
    }
}
