//! The opaque keyset cursor of the read endpoint.
//!
//! A cursor names the last `seq` a page returned; the next page continues strictly below it.
//! Clients treat it as an opaque string.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A position in an organization's trail, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The next page holds records with a `seq` below this one.
    pub before_seq: i64,
}

/// A cursor string that this server did not make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor returned by this API")]
pub struct InvalidCursor;

const PREFIX: &str = "v1:";

impl Cursor {
    /// The opaque form.
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{PREFIX}{}", self.before_seq))
    }

    /// Reads an opaque cursor.
    pub fn decode(text: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
        let seq = text.strip_prefix(PREFIX).ok_or(InvalidCursor)?;
        let before_seq: i64 = seq.parse().map_err(|_| InvalidCursor)?;
        if before_seq < 1 {
            return Err(InvalidCursor);
        }
        Ok(Cursor { before_seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let cursor = Cursor { before_seq: 4242 };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        for garbage in ["", "!!", "djE6", "djE6LTE", "eHg6MTA", "djE6YWJj"] {
            assert_eq!(Cursor::decode(garbage), Err(InvalidCursor), "{garbage}");
        }
    }
}
