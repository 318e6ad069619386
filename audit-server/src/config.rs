//! Configuration, from the environment or the same names as command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use audit_core::{Catalog, EventLimits};

/// The default database: an SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://audit.db?mode=rwc";

/// The shortest admin token the server accepts.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// Everything the server needs to run.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, env = "AUDIT_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "AUDIT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The operator's token for creating organizations and keys (at least 16 characters).
    #[arg(long, env = "AUDIT_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Largest request body, in bytes.
    #[arg(long, env = "AUDIT_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest `before`, `after` or `metadata` of one event, in bytes.
    #[arg(long, env = "AUDIT_MAX_STATE_BYTES", default_value_t = 256 * 1024)]
    pub max_state_bytes: usize,

    /// A TSV file of extra `resourceType<TAB>action` pairs allowed for every organization.
    #[arg(long, env = "AUDIT_CATALOG_FILE")]
    pub catalog_file: Option<PathBuf>,

    /// The URL people reach the server at, for viewer links (default: `http://` + the bind address).
    #[arg(long, env = "AUDIT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Log format: `text` or `json`.
    #[arg(long, env = "AUDIT_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// Live tails (`GET /api/v1/audit-logs/stream`) one API key or viewer token may hold open
    /// at once (0 = no cap).
    #[arg(long, env = "AUDIT_TAIL_MAX_CONNECTIONS_PER_KEY", default_value_t = 16)]
    pub tail_max_connections_per_key: usize,
}

/// A configuration the server refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The admin token is too short to be safe.
    #[error("AUDIT_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_CHARS} characters")]
    AdminTokenTooShort,
    /// The catalog file cannot be read.
    #[error("cannot read AUDIT_CATALOG_FILE {path}: {message}")]
    CatalogFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl Config {
    /// A configuration for `database_url` with every default, listening on a free port.
    pub fn new(database_url: impl Into<String>) -> Self {
        Config {
            database_url: database_url.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: None,
            max_body_bytes: 1024 * 1024,
            max_state_bytes: 256 * 1024,
            catalog_file: None,
            public_url: None,
            log_format: "text".to_owned(),
            tail_max_connections_per_key: 16,
        }
    }

    /// Checks the settings that cannot be checked by parsing alone.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match &self.admin_token {
            Some(token) if token.chars().count() < MIN_ADMIN_TOKEN_CHARS => {
                Err(ConfigError::AdminTokenTooShort)
            }
            _ => Ok(()),
        }
    }

    /// The base URL of the viewer.
    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }

    /// Size limits of one event.
    pub fn event_limits(&self) -> EventLimits {
        EventLimits {
            max_state_bytes: self.max_state_bytes,
            ..EventLimits::default()
        }
    }

    /// The catalog every organization gets: Langfuse's table plus the operator's file.
    pub fn base_catalog(&self) -> Result<Catalog, ConfigError> {
        let mut catalog = Catalog::langfuse();
        // What the service records about itself beyond Langfuse's table.
        catalog.add("viewerToken", "create");
        if let Some(path) = &self.catalog_file {
            let fail = |message: String| ConfigError::CatalogFile {
                path: path.clone(),
                message,
            };
            let text = std::fs::read_to_string(path).map_err(|error| fail(error.to_string()))?;
            catalog.extend(&Catalog::from_tsv(&text).map_err(|error| fail(error.to_string()))?);
        }
        Ok(catalog)
    }
}
