//! The copy of a request or response body kept on the side while it streams through: at most
//! the body limit, given up (and its memory freed) as soon as the body proves larger; and
//! which responses are worth copying at all (JSON, sent uncompressed).
//!
//! The copy never changes the body: it only observes the frames that pass.

use http::{HeaderMap, header};

/// A copy of a body, up to a limit.
#[derive(Debug)]
pub(crate) struct Tee {
    buf: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl Tee {
    /// An empty copy of at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Tee::with_capacity(limit, None)
    }

    /// A tee for a body of `size` bytes when known (one allocation of the right size).
    pub(crate) fn with_capacity(limit: usize, size: Option<u64>) -> Self {
        let capacity = size.map_or(0, |size| usize::try_from(size).unwrap_or(usize::MAX).min(limit));
        Tee {
            buf: Vec::with_capacity(capacity),
            limit,
            overflowed: false,
        }
    }

    /// Appends `chunk`, or gives the copy up when that would pass the limit.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        if self.overflowed {
            return;
        }
        if self.buf.len() + chunk.len() > self.limit {
            self.overflow();
        } else {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// Gives the copy up for good (the body is too large or cannot be copied) and frees it.
    pub(crate) fn overflow(&mut self) {
        self.overflowed = true;
        self.buf = Vec::new();
    }

    /// The copy, when it is whole and text (whether it is JSON is checked later).
    pub(super) fn text(self) -> Option<String> {
        if self.overflowed || self.buf.is_empty() {
            return None;
        }
        String::from_utf8(self.buf).ok()
    }
}

/// Whether the body is JSON (`application/json` or any `+json` type), by its `Content-Type`.
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        .unwrap_or(false)
}

/// Whether the body is sent as it is (no `Content-Encoding`, or `identity`): a compressed
/// body is not copied, as it could not be read as JSON.
pub(super) fn is_identity_encoded(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONTENT_ENCODING).iter().all(|v| {
        v.to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("identity"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tee_gives_up_beyond_its_limit() {
        let chunks = || {
            let mut tee = Tee::new(8);
            tee.push(b"{\"a\":");
            tee.push(b"1}");
            tee
        };
        assert_eq!(chunks().text().as_deref(), Some("{\"a\":1}"));
        let mut tee = chunks();
        tee.push(b"too much");
        assert_eq!(tee.text(), None);
    }

    #[test]
    fn only_bodies_sent_as_they_are_are_copied() {
        let headers = |encoding: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(encoding) = encoding {
                headers.insert(header::CONTENT_ENCODING, encoding.parse().unwrap());
            }
            headers
        };
        assert!(is_identity_encoded(&headers(None)));
        assert!(is_identity_encoded(&headers(Some("Identity"))));
        assert!(!is_identity_encoded(&headers(Some("gzip"))));
        assert!(!is_identity_encoded(&headers(Some("br"))));
    }
}
