//! The web viewer at `/`: one HTML page, its script and its stylesheet, embedded in the binary.
//!
//! The page reads a viewer token from the URL fragment (`/#token=vt_...`, the `url` that
//! `POST /api/v1/viewer-tokens` answers) and calls the read endpoints with it. It is not part of
//! the OpenAPI document: it is not under `/api/v1`.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// The page.
pub const INDEX_HTML: &str = include_str!("../../../assets/viewer/index.html");
/// The script.
pub const VIEWER_JS: &str = include_str!("../../../assets/viewer/viewer.js");
/// The stylesheet.
pub const VIEWER_CSS: &str = include_str!("../../../assets/viewer/viewer.css");

/// The policy of every viewer file: only this origin, no inline script or style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The viewer routes: `/`, `/viewer.js` and `/viewer.css`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/viewer.js", get(script))
        .route("/viewer.css", get(stylesheet))
}

/// The page.
async fn index(headers: HeaderMap) -> Response {
    asset(&headers, "text/html; charset=utf-8", INDEX_HTML)
}

/// The script.
async fn script(headers: HeaderMap) -> Response {
    asset(&headers, "text/javascript; charset=utf-8", VIEWER_JS)
}

/// The stylesheet.
async fn stylesheet(headers: HeaderMap) -> Response {
    asset(&headers, "text/css; charset=utf-8", VIEWER_CSS)
}

/// The strong validator of a file: a hash of its content.
fn etag(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..12]))
}

/// Serves `body`, or 304 when the browser already holds this version. Every load revalidates
/// (`no-cache`), so a new server version shows at once and the three files never mismatch.
fn asset(request: &HeaderMap, content_type: &'static str, body: &'static str) -> Response {
    let tag = etag(body);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|candidate| candidate.trim() == tag));
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    if fresh {
        (StatusCode::NOT_MODIFIED, headers).into_response()
    } else {
        (headers, body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_links_only_its_own_files_and_has_no_inline_script() {
        assert!(INDEX_HTML.contains(r#"<script src="/viewer.js" defer></script>"#));
        assert!(INDEX_HTML.contains(r#"href="/viewer.css""#));
        assert_eq!(INDEX_HTML.matches("<script").count(), 1, "no inline script");
        assert!(
            !INDEX_HTML.contains(" style="),
            "no inline style (the policy forbids it)"
        );
        for text in [INDEX_HTML, VIEWER_JS, VIEWER_CSS] {
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "no external asset"
            );
        }
    }
}
