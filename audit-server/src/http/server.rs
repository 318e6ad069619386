//! The listening server: binds, serves the router with the background tasks (checkpoint
//! signing, retention purge, log stream delivery) beside it, and shuts all of it down in order.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::http::router::router;
use crate::state::AppState;
use crate::streams::worker::{Worker, WorkerSettings};
use crate::tasks::{checkpointer, partitioner, purger, witnesser};

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    shutting_down: watch::Sender<bool>,
    state: AppState,
}

impl Application {
    /// Checks the configuration, connects, migrates and binds.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (shutting_down, shutting_down_receiver) = watch::channel(false);
        let bind = config.bind;
        let state = AppState::open(config, shutting_down_receiver).await?;
        let listener = TcpListener::bind(bind).await?;
        Ok(Application {
            listener,
            router: router(state.clone()),
            shutting_down,
            state,
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
            every_records: i64::try_from(self.state.config.checkpoint_every_records).unwrap_or(i64::MAX),
            interval: Duration::from_secs(self.state.config.checkpoint_interval_secs),
        };
        let mut tasks = vec![
            tokio::spawn(checkpointer::run(
                self.state.store.clone(),
                self.state.checkpoint_signer.clone(),
                schedule,
                stopped.clone(),
            )),
            tokio::spawn(purger::run(
                self.state.store.clone(),
                self.state.checkpoint_signer.clone(),
                Duration::from_secs(self.state.config.purge_interval_secs),
                stopped.clone(),
            )),
            tokio::spawn(partitioner::run(self.state.store.clone(), stopped.clone())),
        ];
        for witness in &self.state.config.witnesses {
            tasks.push(tokio::spawn(witnesser::run(
                self.state.store.clone(),
                witness.clone(),
                self.state.witness_board.clone(),
                stopped.clone(),
            )));
        }
        let worker = Worker::start(
            self.state.store.clone(),
            self.state.stream_key.clone(),
            self.state.metrics.streams.clone(),
            WorkerSettings::from_config(&self.state.config),
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
        let _ = self.state.store.close().await;
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
