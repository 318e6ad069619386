//! Builds the application: state, router, middleware, and the listening server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use audit_core::Catalog;
use audit_core::checkpoint::CheckpointSigner;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::checkpointer;
use crate::config::Config;
use crate::connection_limit::ConnectionLimit;
use crate::error::{ApiError, method_not_allowed_fallback, not_found_fallback};
use crate::metrics::{self, Metrics};
use crate::openapi::ApiDoc;
use crate::purger;
use crate::rate_limit::RateLimiter;
use crate::routes;
use crate::signing_key;
use crate::store::{Store, secrets};
use crate::streams::sealed::STREAM_SECRET_KEY;
use crate::streams::worker::{Worker, WorkerSettings};
use crate::timeout;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The configuration.
    pub config: Arc<Config>,
    /// The catalog every organization gets.
    pub catalog: Arc<Catalog>,
    /// The key that signs viewer tokens, shared by every process through the database.
    pub viewer_key: Arc<[u8; 32]>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Per-credential request rate limits.
    pub rate_limiter: Arc<RateLimiter>,
    /// Open live tails per credential.
    pub tail_connections: Arc<ConnectionLimit>,
    /// Turns true when the server begins to shut down, so endless responses (live tails) end
    /// and graceful shutdown can complete.
    pub shutting_down: watch::Receiver<bool>,
    /// The key that encrypts log stream secrets, shared by every process through the database.
    pub stream_key: Arc<[u8; 32]>,
    /// The key that signs checkpoints.
    pub checkpoint_signer: Arc<CheckpointSigner>,
}

/// The documented API routes, with the document they make.
pub fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(routes::router())
}

/// The whole HTTP application for `state`.
pub fn router(state: AppState) -> Router {
    let max_body_bytes = state.config.max_body_bytes;
    let (api, mut document) = documented_routes().split_for_parts();
    crate::openapi::finish(&mut document);
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

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
    shutting_down: watch::Sender<bool>,
    state: AppState,
    signer: Arc<CheckpointSigner>,
    config: Arc<Config>,
}

impl Application {
    /// Checks the configuration, connects, migrates and binds.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let catalog = config.base_catalog()?;
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        let viewer_key = secrets::get_or_create(&store, secrets::VIEWER_TOKEN_KEY).await?;
        let stream_key = secrets::get_or_create(&store, STREAM_SECRET_KEY).await?;
        let signer = Arc::new(signing_key::load(&config, &store).await?);
        let listener = TcpListener::bind(config.bind).await?;
        let tail_connections = Arc::new(ConnectionLimit::new(config.tail_max_connections_per_key));
        let (shutting_down, shutting_down_receiver) = watch::channel(false);
        let rate_limiter = Arc::new(RateLimiter::new(
            config.rate_limit_per_second,
            config.rate_limit_burst,
        ));
        let config = Arc::new(config);
        let state = AppState {
            store: store.clone(),
            config: config.clone(),
            catalog: Arc::new(catalog),
            viewer_key: Arc::new(viewer_key),
            metrics: Arc::new(Metrics::default()),
            rate_limiter,
            tail_connections,
            shutting_down: shutting_down_receiver,
            stream_key: Arc::new(stream_key),
            checkpoint_signer: signer.clone(),
        };
        Ok(Application {
            listener,
            router: router(state.clone()),
            store,
            shutting_down,
            state,
            signer,
            config,
        })
    }

    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves, with the background tasks (checkpoint signing, retention purge, log stream
    /// delivery), until `shutdown` completes; then lets requests in flight finish, stops the tasks
    /// and closes the pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let schedule = checkpointer::Schedule {
            every_records: i64::try_from(self.config.checkpoint_every_records).unwrap_or(i64::MAX),
            interval: Duration::from_secs(self.config.checkpoint_interval_secs),
        };
        let tasks = [
            tokio::spawn(checkpointer::run(
                self.store.clone(),
                self.signer.clone(),
                schedule,
                stopped.clone(),
            )),
            tokio::spawn(purger::run(
                self.store.clone(),
                self.signer.clone(),
                Duration::from_secs(self.config.purge_interval_secs),
                stopped,
            )),
        ];
        let worker = Worker::start(
            self.store.clone(),
            self.state.stream_key.clone(),
            self.state.metrics.clone(),
            WorkerSettings::from_config(&self.config),
        );
        let shutting_down = self.shutting_down;
        let served = axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Live tails never finish on their own: tell them to end (clients reconnect).
            let _ = shutting_down.send(true);
        })
        .await;
        let _ = stop.send(true);
        worker.stop().await;
        for task in tasks {
            let _ = task.await;
        }
        let _ = self.store.close().await;
        served
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
