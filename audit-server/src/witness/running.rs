//! A witness serving on its own task: started by the `audit-witness` binary, or in-process by
//! tests of the server's witness client.

use std::net::SocketAddr;
use std::sync::Arc;

use audit_core::cosignature::{CosignatureVerifier, Cosigner};
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;

use super::config::WitnessConfig;
use super::router::{WitnessState, router};
use super::state::StateStore;

/// A running witness.
#[derive(Debug)]
pub struct Witness {
    address: SocketAddr,
    verifier: CosignatureVerifier,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Witness {
    /// Reads the state file, binds `config.listen` and serves until [`Witness::stop`].
    pub async fn start(config: WitnessConfig) -> anyhow::Result<Witness> {
        let cosigner = Cosigner::from_seed(&config.name, &config.seed)?;
        let verifier = cosigner.verifier();
        let state = Arc::new(WitnessState {
            cosigner,
            logs: config.logs,
            store: Mutex::new(StateStore::open(&config.state_path)?),
        });
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", config.listen))?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router(state))
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Witness {
            address,
            verifier,
            stop,
            task,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Its submission prefix, `http://<address>`: add-checkpoint is `<url>/add-checkpoint`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Its cosignature verifier key, as logs and clients configure it.
    pub fn vkey(&self) -> String {
        self.verifier.vkey()
    }

    /// The verifier of its cosignatures.
    pub fn verifier(&self) -> &CosignatureVerifier {
        &self.verifier
    }

    /// Stops accepting, finishes the requests under way, and returns once it has stopped.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        self.task.await.map_err(std::io::Error::other)?
    }
}
