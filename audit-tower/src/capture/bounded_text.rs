//! Header values and ids as an event carries them: a header's text trimmed and never blank, an
//! id cut to a bound in characters (never inside a character), so that no host input makes an
//! event too large.

use http::{HeaderMap, header};

/// The most characters kept of an id (resource, project, actor, request).
pub(super) const MAX_ID_CHARS: usize = 256;

/// `value` cut to at most `chars` characters.
pub(super) fn truncate(mut value: String, chars: usize) -> String {
    // A string of at most `chars` bytes has at most `chars` characters.
    if value.len() <= chars {
        return value;
    }
    if let Some((at, _)) = value.char_indices().nth(chars) {
        value.truncate(at);
    }
    value
}

/// The value of header `name`, trimmed, when it is there and not blank (bytes that are not
/// UTF-8 are replaced).
pub(super) fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    let value = headers.get(name)?;
    let text = String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
    (!text.is_empty()).then_some(text)
}
