//! The web viewer at `/`: one HTML page, its script and its stylesheet, embedded in the binary.
//!
//! The page reads a viewer token from the URL fragment (`/#token=vt_...`, the `url` that
//! `POST /api/v1/viewer-tokens` answers) and calls the read endpoints with it. It is not part of
//! the OpenAPI document: it is not under `/api/v1`.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;

/// The page.
pub const INDEX_HTML: &str = include_str!("../../assets/viewer/index.html");
/// The script.
pub const VIEWER_JS: &str = include_str!("../../assets/viewer/viewer.js");
/// The stylesheet.
pub const VIEWER_CSS: &str = include_str!("../../assets/viewer/viewer.css");

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

/// The page; revalidated on every load so a new server version shows at once.
async fn index() -> Response {
    asset("text/html; charset=utf-8", "no-cache", INDEX_HTML)
}

/// The script.
async fn script() -> Response {
    asset("text/javascript; charset=utf-8", "public, max-age=300", VIEWER_JS)
}

/// The stylesheet.
async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", "public, max-age=300", VIEWER_CSS)
}

fn asset(content_type: &'static str, cache_control: &'static str, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache_control)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ];
    (headers, body).into_response()
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
