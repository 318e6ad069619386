//! The API key secret, kept out of logs.

use std::fmt;

/// A bearer secret (an API key or the operator's admin token).
///
/// `Debug` and `Display` print a redacted placeholder, so a client or config can be logged
/// without leaking credentials. Read the value with [`ApiKeySecret::expose`].
///
/// ```
/// use audit_client::ApiKeySecret;
///
/// let secret = ApiKeySecret::new("ak_live_0123456789abcdef");
/// assert_eq!(format!("{secret:?}"), "ApiKeySecret(\"ak_l…\")");
/// assert_eq!(secret.to_string(), "ak_l…");
/// assert_eq!(secret.expose(), "ak_live_0123456789abcdef");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

/// How many leading characters are shown to recognise a key (the server shows the same
/// `secretPrefix`); short secrets show none.
const SHOWN_CHARS: usize = 4;

impl ApiKeySecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        ApiKeySecret(secret.into())
    }

    /// The secret itself, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn redacted(&self) -> String {
        if self.0.chars().count() < SHOWN_CHARS * 4 {
            return "…".to_owned();
        }
        let prefix: String = self.0.chars().take(SHOWN_CHARS).collect();
        format!("{prefix}…")
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ApiKeySecret").field(&self.redacted()).finish()
    }
}

impl fmt::Display for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl From<String> for ApiKeySecret {
    fn from(secret: String) -> Self {
        ApiKeySecret(secret)
    }
}

impl From<&str> for ApiKeySecret {
    fn from(secret: &str) -> Self {
        ApiKeySecret(secret.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_print_the_secret() {
        let secret = ApiKeySecret::new("ak_supersecretvalue_123456");
        let printed = format!("{secret:?} {secret} {:#?}", Some(&secret));
        assert!(!printed.contains("supersecret"), "{printed}");
        assert!(!printed.contains("123456"), "{printed}");
    }

    #[test]
    fn short_secrets_show_nothing() {
        let secret = ApiKeySecret::new("short");
        assert_eq!(secret.to_string(), "…");
        assert!(!format!("{secret:?}").contains("sh"));
    }
}
