//! What every handler and background task shares, and how it is opened from the configuration:
//! the database, the catalog, the keys kept in the database, the metrics and the limits.

use std::sync::Arc;

use audit_core::Catalog;
use audit_core::checkpoint::CheckpointSigner;
use tokio::sync::watch;

use crate::config::Config;
use crate::http::connection_limit::ConnectionLimit;
use crate::http::metrics::Metrics;
use crate::http::rate_limit::RateLimiter;
use crate::keys::sealed::STREAM_SECRET_KEY;
use crate::keys::signing_key;
use crate::store::replicas::Readers;
use crate::store::{self, Store, secrets};
use crate::tasks::witness_board::WitnessBoard;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Where list, get, export and tail read: a read replica fit to answer, or the primary.
    pub readers: Arc<Readers>,
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
    /// What the witness client knows of each configured witness.
    pub witness_board: Arc<WitnessBoard>,
}

impl AppState {
    /// Checks the configuration, connects, migrates and loads the keys kept in the database;
    /// long-lived responses end when `shutting_down` turns true.
    pub async fn open(config: Config, shutting_down: watch::Receiver<bool>) -> anyhow::Result<Self> {
        config.validate()?;
        let mut catalog = Catalog::langfuse();
        catalog.extend(&store::catalog::service_entries());
        catalog.extend(&config.catalog_file()?);
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        let viewer_key = secrets::get_or_create(&store, secrets::VIEWER_TOKEN_KEY).await?;
        let stream_key = secrets::get_or_create(&store, STREAM_SECRET_KEY).await?;
        let checkpoint_signer = checkpoint_signer(&config, &store).await?;
        let read_urls: Vec<String> = config
            .database_read_urls
            .iter()
            .map(|url| url.trim().to_owned())
            .collect();
        let readers = Readers::connect(store.clone(), &read_urls).await?;
        Ok(AppState {
            readers: Arc::new(readers),
            store,
            catalog: Arc::new(catalog),
            viewer_key: Arc::new(viewer_key),
            metrics: Arc::new(Metrics::default()),
            rate_limiter: Arc::new(RateLimiter::new(
                config.rate_limit_per_second,
                config.rate_limit_burst,
            )),
            tail_connections: Arc::new(ConnectionLimit::new(config.tail_max_connections_per_key)),
            shutting_down,
            stream_key: Arc::new(stream_key),
            checkpoint_signer: Arc::new(checkpoint_signer),
            witness_board: Arc::new(WitnessBoard::new(
                config.witnesses.iter().map(|witness| witness.verifier.name()),
            )),
            config: Arc::new(config),
        })
    }
}

/// The checkpoint signer the configuration asks for: the seed in `AUDIT_SIGNING_KEY_FILE`, or
/// else the one generated at first start and kept in the database, so that every process on
/// one database signs with the same key.
pub async fn checkpoint_signer(config: &Config, store: &Store) -> anyhow::Result<CheckpointSigner> {
    let seed = match &config.signing_key_file {
        Some(path) => signing_key::read_seed_file(path)?,
        None => {
            tracing::warn!(
                "the checkpoint signing key is kept in the database: whoever can write the database can also \
                 re-sign a rewritten trail. Keep it outside with AUDIT_SIGNING_KEY_FILE (see the README's \
                 \"The signing key\")"
            );
            secrets::get_or_create(store, secrets::CHECKPOINT_SIGNING_SEED).await?
        }
    };
    Ok(CheckpointSigner::from_seed(&config.signing_key_name, &seed)?)
}
