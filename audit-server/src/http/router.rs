//! The HTTP application: the documented API routes, Swagger UI, the viewer and `/metrics`,
//! behind the middleware every request passes (body limit, timeout, metrics, panic guard,
//! tracing).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::http::error::{ApiError, method_not_allowed_fallback, not_found_fallback};
use crate::http::openapi::{self, ApiDoc};
use crate::http::{metrics, routes, timeout};
use crate::state::AppState;

/// The documented API routes, with the document they make.
pub fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(routes::router())
}

/// The whole HTTP application for `state`.
pub fn router(state: AppState) -> Router {
    let max_body_bytes = state.config.max_body_bytes;
    let (api, mut document) = documented_routes().split_for_parts();
    openapi::finish(&mut document);
    api.merge(SwaggerUi::new("/docs").url("/openapi.json", document))
        .merge(routes::viewer::router())
        .route("/metrics", axum::routing::get(metrics::serve))
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        // Inside the metrics layer, so that timed-out requests are counted with their 503.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            timeout::limit,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("a request handler panicked").into_response()
}
