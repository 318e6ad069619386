//! Runs the host app: `AUDIT_URL` (default `http://127.0.0.1:8080`), `AUDIT_API_KEY` (a key
//! with `auditLogs:write`) and `HOST_BIND` (default `127.0.0.1:3000`) from the environment.
//! `GET /metrics` shows the audit dispatcher's counters (queue depth, sent, dropped, ...) and
//! the audit layer's (recorded, dropped, skipped for want of an actor, failed).

use std::net::SocketAddr;
use std::time::Duration;

use audit_client::{AuditClient, Dispatcher, DispatcherConfig};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let audit_url = std::env::var("AUDIT_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    let api_key = std::env::var("AUDIT_API_KEY").map_err(|_| "AUDIT_API_KEY is not set")?;
    let bind = std::env::var("HOST_BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());

    let dispatcher = Dispatcher::spawn(AuditClient::new(audit_url, api_key)?, DispatcherConfig::default());
    let store = host_app::Store::default();
    let audit = host_app::audit_layer(store.clone(), dispatcher.clone());
    let (metrics, layer) = (dispatcher.clone(), audit.clone());
    // The dispatcher's queue and the layer live in this process: their counters belong on
    // this app's /metrics.
    let app = host_app::app_with_layer(store, audit).route(
        "/metrics",
        axum::routing::get(move || {
            let text = metrics.stats().prometheus_text() + &layer.stats().prometheus_text();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    text,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    // The bound address, not `bind`: with port 0 the system picks the port.
    tracing::info!(address = %listener.local_addr()?, "host app listening");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    if let Err(error) = dispatcher.shutdown(Duration::from_secs(5)).await {
        tracing::warn!(%error, stats = ?dispatcher.stats(), "audit events not delivered at shutdown");
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
