//! Configuration, from the environment or the same names as command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use audit_core::checkpoint::{CheckpointSigner, CheckpointVerifier};
use audit_core::cosignature::CosignatureVerifier;
use audit_core::policy::{Policy, PolicyError, QUORUM_NONE, Threshold};
use audit_core::{Catalog, EventLimits};

/// The default database: an SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://audit.db?mode=rwc";

/// The shortest admin token the server accepts.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// The group of every configured witness in the published verification policy.
pub const WITNESS_GROUP: &str = "witnesses";

/// Everything the server needs to run.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, env = "AUDIT_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Read replicas of the PostgreSQL database (`postgres://...`, repeat the flag or separate
    /// with commas): list, get, export and the live tail read from them; writes, verify,
    /// proofs and checkpoints stay on `AUDIT_DATABASE_URL`.
    #[arg(
        long = "database-read-url",
        env = "AUDIT_DATABASE_READ_URL",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub database_read_urls: Vec<String>,

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

    /// How often log streams look for new records, in milliseconds.
    #[arg(long, env = "AUDIT_STREAMS_POLL_MS", default_value_t = 250)]
    pub streams_poll_ms: u64,

    /// Records per log stream batch (1 to 1,000).
    #[arg(long, env = "AUDIT_STREAMS_BATCH_SIZE", default_value_t = 500)]
    pub streams_batch_size: u64,

    /// Failed deliveries in a row before a log stream is marked unhealthy.
    #[arg(long, env = "AUDIT_STREAMS_UNHEALTHY_AFTER", default_value_t = 3)]
    pub streams_unhealthy_after: u32,

    /// The longest delay between delivery retries, in milliseconds.
    #[arg(long, env = "AUDIT_STREAMS_MAX_BACKOFF_MS", default_value_t = 10_000)]
    pub streams_max_backoff_ms: u64,

    /// The directory under which file log streams write (unset: file streams are refused).
    #[arg(long, env = "AUDIT_STREAMS_FILE_ROOT")]
    pub streams_file_root: Option<PathBuf>,

    /// Let log streams call loopback, private and link-local addresses (off: an organization's
    /// key cannot make the server reach its own network).
    #[arg(long, env = "AUDIT_STREAMS_ALLOW_PRIVATE_NETWORKS")]
    pub streams_allow_private_networks: bool,

    /// Requests per second each API key or viewer token may make on average (0 = no limit);
    /// beyond it the answer is 429 with `Retry-After`.
    #[arg(long, env = "AUDIT_RATE_LIMIT_PER_SECOND", default_value_t = 1000.0)]
    pub rate_limit_per_second: f64,

    /// Requests each API key or viewer token may make at once before the rate applies.
    #[arg(long, env = "AUDIT_RATE_LIMIT_BURST", default_value_t = 2000.0)]
    pub rate_limit_burst: f64,

    /// Seconds an `/api/v1` request may take before it is answered 503 (fractions allowed;
    /// 0 = no timeout). The live tail and exports stream and are exempt.
    #[arg(long, env = "AUDIT_REQUEST_TIMEOUT_SECS", default_value_t = 30.0)]
    pub request_timeout_secs: f64,

    /// A file holding the checkpoint signing key: a 32-byte Ed25519 seed, raw or base64. Without
    /// it the server generates a key at first start and keeps it in the database.
    #[arg(long, env = "AUDIT_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,

    /// The checkpoint signing key's name, on signature lines and in the verifier key.
    #[arg(long, env = "AUDIT_SIGNING_KEY_NAME", default_value = "audit-log")]
    pub signing_key_name: String,

    /// Sign a checkpoint of an organization once this many records were added since its last one.
    #[arg(long, env = "AUDIT_CHECKPOINT_EVERY_RECORDS", default_value_t = 1000)]
    pub checkpoint_every_records: u64,

    /// Sign a checkpoint of an organization whose head moved at least this often, in seconds.
    #[arg(long, env = "AUDIT_CHECKPOINT_INTERVAL_SECS", default_value_t = 60)]
    pub checkpoint_interval_secs: u64,

    /// How often the retention purge runs, in seconds.
    #[arg(long, env = "AUDIT_PURGE_INTERVAL_SECS", default_value_t = 3600)]
    pub purge_interval_secs: u64,

    /// A witness every checkpoint is submitted to: its cosignature verifier key and the URL its
    /// C2SP tlog-witness API answers at, `"<vkey> <url>"` (repeat the flag, or separate with
    /// commas in the environment variable).
    #[arg(long = "witness", env = "AUDIT_WITNESSES", value_delimiter = ',', value_parser = parse_witness)]
    pub witnesses: Vec<WitnessEndpoint>,

    /// How many of the configured witnesses must cosign a checkpoint for the verification
    /// policy the server publishes (default: all of them).
    #[arg(long, env = "AUDIT_WITNESS_QUORUM")]
    pub witness_quorum: Option<usize>,
}

/// A witness the server submits checkpoints to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessEndpoint {
    /// The key its cosignatures verify with; its name is the witness's name.
    pub verifier: CosignatureVerifier,
    /// Where its tlog-witness API answers (`<url>/add-checkpoint`).
    pub url: String,
}

fn parse_witness(text: &str) -> Result<WitnessEndpoint, String> {
    let (vkey, url) = text
        .trim()
        .split_once(char::is_whitespace)
        .ok_or("expected \"<vkey> <url>\"")?;
    let verifier = CosignatureVerifier::from_vkey(vkey).map_err(|error| error.to_string())?;
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("the witness URL {url:?} is not http(s)"));
    }
    Ok(WitnessEndpoint {
        verifier,
        url: url.to_owned(),
    })
}

/// A configuration the server refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The admin token is too short to be safe.
    #[error("AUDIT_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_CHARS} characters")]
    AdminTokenTooShort,
    /// A schedule setting is zero.
    #[error("{0} must be at least 1")]
    ZeroSchedule(&'static str),
    /// The signing key's name is not usable in a signed note.
    #[error("AUDIT_SIGNING_KEY_NAME must be non-empty without whitespace or '+'")]
    BadSigningKeyName,
    /// The witness quorum asks for more witnesses than are configured (or for none).
    #[error("AUDIT_WITNESS_QUORUM must be between 1 and the number of AUDIT_WITNESSES ({0})")]
    BadWitnessQuorum(usize),
    /// Two witnesses share a name.
    #[error("two AUDIT_WITNESSES are named {0}")]
    DuplicateWitness(String),
    /// The witnesses do not make a verification policy (two share a key, say).
    #[error("AUDIT_WITNESSES do not make a verification policy: {0}")]
    BadWitnessPolicy(#[from] PolicyError),
    /// A read replica is configured for a database that is not PostgreSQL, or is not PostgreSQL.
    #[error(
        "AUDIT_DATABASE_READ_URL needs PostgreSQL: both it and AUDIT_DATABASE_URL must be postgres:// URLs"
    )]
    ReadReplicaNotPostgres,
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
    ///
    /// The defaults are the flags' own (written once, on the fields above), read from a command
    /// line without flags and without looking at the environment.
    pub fn new(database_url: impl Into<String>) -> Self {
        use clap::{Args, FromArgMatches};
        let command =
            Config::augment_args(clap::Command::new("audit-server")).mut_args(|arg| arg.env(None::<&str>));
        let matches = command.get_matches_from(["audit-server"]);
        let mut config = Config::from_arg_matches(&matches).expect("every flag has a default");
        config.database_url = database_url.into();
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        config
    }

    /// Checks the settings that cannot be checked by parsing alone.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("AUDIT_CHECKPOINT_EVERY_RECORDS", self.checkpoint_every_records),
            ("AUDIT_CHECKPOINT_INTERVAL_SECS", self.checkpoint_interval_secs),
            ("AUDIT_PURGE_INTERVAL_SECS", self.purge_interval_secs),
        ] {
            if value == 0 {
                return Err(ConfigError::ZeroSchedule(name));
            }
        }
        let postgres = |url: &str| url.starts_with("postgres://") || url.starts_with("postgresql://");
        let replicas_fit =
            postgres(&self.database_url) && self.database_read_urls.iter().all(|url| postgres(url.trim()));
        if !self.database_read_urls.is_empty() && !replicas_fit {
            return Err(ConfigError::ReadReplicaNotPostgres);
        }
        let name = &self.signing_key_name;
        if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
            return Err(ConfigError::BadSigningKeyName);
        }
        if let Some(quorum) = self.witness_quorum
            && (quorum == 0 || quorum > self.witnesses.len())
        {
            return Err(ConfigError::BadWitnessQuorum(self.witnesses.len()));
        }
        let mut names = std::collections::BTreeSet::new();
        for witness in &self.witnesses {
            if !names.insert(witness.verifier.name()) {
                return Err(ConfigError::DuplicateWitness(witness.verifier.name().to_owned()));
            }
        }
        let any_log = CheckpointSigner::from_seed(&self.signing_key_name, &[0; 32])
            .map_err(|_| ConfigError::BadSigningKeyName)?
            .verifier();
        self.verification_policy(any_log)?;
        match &self.admin_token {
            Some(token) if token.chars().count() < MIN_ADMIN_TOKEN_CHARS => {
                Err(ConfigError::AdminTokenTooShort)
            }
            _ => Ok(()),
        }
    }

    /// The tlog-policy this server's checkpoints of `log` (a verifier key named by one
    /// organization's origin) satisfy once cosigned: the log, every configured witness, and a
    /// quorum of [`Config::witness_quorum`] of them (all by default; `none` without witnesses).
    pub fn verification_policy(&self, log: CheckpointVerifier) -> Result<Policy, PolicyError> {
        let mut policy = Policy::builder();
        policy.add_log(log, None)?;
        let mut names = Vec::new();
        for witness in &self.witnesses {
            let name = witness.verifier.name();
            policy.add_witness(name, witness.verifier.clone(), Some(&witness.url))?;
            names.push(name);
        }
        if names.is_empty() {
            policy.set_quorum(QUORUM_NONE)?;
            return policy.build();
        }
        let threshold = match self.witness_quorum {
            Some(quorum) if quorum < names.len() => Threshold::AtLeast(quorum),
            _ => Threshold::All,
        };
        policy.add_group(WITNESS_GROUP, threshold, &names)?;
        policy.set_quorum(WITNESS_GROUP)?;
        policy.build()
    }

    /// The request timeout in force (zero, negative or not finite: none).
    pub fn request_timeout(&self) -> std::time::Duration {
        let seconds = self.request_timeout_secs;
        if seconds.is_finite() && seconds > 0.0 {
            std::time::Duration::from_secs_f64(seconds)
        } else {
            std::time::Duration::ZERO
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

    /// The operator's own resource/action pairs (`AUDIT_CATALOG_FILE`), if any.
    pub fn catalog_file(&self) -> Result<Catalog, ConfigError> {
        let mut catalog = Catalog::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_replicas_need_postgres_on_both_sides() {
        let mut config = Config::new("sqlite://audit.db?mode=rwc");
        config.database_read_urls = vec!["postgres://postgres@127.0.0.1:5433/audit".into()];
        assert!(matches!(
            config.validate(),
            Err(ConfigError::ReadReplicaNotPostgres)
        ));

        config.database_url = "postgres://postgres@127.0.0.1:5432/audit".into();
        assert!(config.validate().is_ok());

        config.database_read_urls.push("sqlite://replica.db".into());
        assert!(matches!(
            config.validate(),
            Err(ConfigError::ReadReplicaNotPostgres)
        ));

        config.database_read_urls.clear();
        assert!(config.validate().is_ok(), "no replicas: any database");
    }
}
