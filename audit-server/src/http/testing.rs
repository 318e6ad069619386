//! An in-process server on a fresh database, for tests of this and other crates.
//!
//! ```no_run
//! # async fn example() {
//! use audit_server::testing::TestServer;
//! let server = TestServer::start_sqlite().await;
//! let org = server.create_org("Acme").await;
//! let key = server.create_key(org.id, &[audit_core::Scope::AuditLogsWrite]).await;
//! # }
//! ```
//!
//! PostgreSQL servers need `AUDIT_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`); each gets a database of its own, dropped at
//! the end. Without the variable, [`TestServer::start_postgres`] prints a skip line and
//! answers `None`.

use std::net::SocketAddr;

use audit_core::{CreatedApiKey, NewApiKey, NewOrganization, Organization, Scope};
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::http::server::Application;

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "AUDIT_TEST_POSTGRES_URL";

/// The admin token of every test server.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// A server running in this process on a random local port.
pub struct TestServer {
    config: Config,
    address: SocketAddr,
    running: Mutex<Option<Running>>,
    http: reqwest::Client,
    _sqlite_dir: Option<tempfile::TempDir>,
    postgres: Option<PostgresDatabase>,
}

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

impl TestServer {
    /// A server on a fresh SQLite file.
    pub async fn start_sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("audit.db").display());
        let mut server = TestServer::start_with(test_config(url)).await;
        server._sqlite_dir = Some(dir);
        server
    }

    /// A server on a fresh PostgreSQL database, or `None` (with a visible skip line) when
    /// `AUDIT_TEST_POSTGRES_URL` is not set. Panics when it is set but unreachable.
    pub async fn start_postgres() -> Option<Self> {
        let database = PostgresDatabase::create().await?;
        let mut server = TestServer::start_with(test_config(database.url.clone())).await;
        server.postgres = Some(database);
        Some(server)
    }

    /// A server on `backend` (`None` when PostgreSQL is not configured).
    pub async fn start(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(TestServer::start_sqlite().await),
            Backend::Postgres => TestServer::start_postgres().await,
        }
    }

    /// A server with a configuration of the caller's (its `bind` port is chosen anew if 0).
    pub async fn start_with(config: Config) -> Self {
        let application = Application::build(config.clone())
            .await
            .expect("test server starts");
        let address = application.local_addr().expect("bound address");
        let mut config = config;
        config.bind = address;
        let server = TestServer {
            config,
            address,
            running: Mutex::new(None),
            http: reqwest::Client::new(),
            _sqlite_dir: None,
            postgres: None,
        };
        *server.running.lock().await = Some(run(application));
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The operator's admin token.
    pub fn admin_token(&self) -> &str {
        ADMIN_TOKEN
    }

    /// The database URL.
    pub fn database_url(&self) -> &str {
        &self.config.database_url
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        if self.postgres.is_some() {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// A plain HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// Stops serving gracefully; the port and the database are kept for [`TestServer::restart`].
    pub async fn stop(&self) {
        if let Some(running) = self.running.lock().await.take() {
            let _ = running.stop.send(());
            let _ = running.task.await;
        }
    }

    /// Serves again on the same port and database.
    pub async fn restart(&self) {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return;
        }
        let mut last_error = None;
        for _ in 0..50 {
            match Application::build(self.config.clone()).await {
                Ok(application) => {
                    *running = Some(run(application));
                    return;
                }
                Err(error) => {
                    last_error = Some(error);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
        panic!("test server did not restart: {last_error:?}");
    }

    /// Stops, applies `configure` to the configuration, and serves again on the same port and
    /// database (for settings such as the checkpoint schedule).
    pub async fn reconfigure(&mut self, configure: impl FnOnce(&mut Config)) {
        self.stop().await;
        configure(&mut self.config);
        self.restart().await;
    }

    /// Creates an organization through the API.
    pub async fn create_org(&self, name: &str) -> Organization {
        let response = self
            .http
            .post(self.url("/api/v1/organizations"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&NewOrganization {
                name: name.to_owned(),
            })
            .send()
            .await
            .expect("create organization");
        assert_eq!(response.status(), 201, "create organization");
        response.json().await.expect("organization body")
    }

    /// Creates an organization-level key with `scopes` through the API.
    pub async fn create_key(&self, org_id: uuid::Uuid, scopes: &[Scope]) -> CreatedApiKey {
        self.create_project_key(org_id, scopes, None).await
    }

    /// Creates a key with `scopes`, restricted to `project_id` when given, through the API.
    pub async fn create_project_key(
        &self,
        org_id: uuid::Uuid,
        scopes: &[Scope],
        project_id: Option<&str>,
    ) -> CreatedApiKey {
        let body = NewApiKey {
            name: "test key".to_owned(),
            scopes: scopes.to_vec(),
            project_id: project_id.map(str::to_owned),
        };
        let response = self
            .http
            .post(self.url(&format!("/api/v1/organizations/{org_id}/api-keys")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("create key");
        assert_eq!(response.status(), 201, "create key");
        response.json().await.expect("key body")
    }
}

/// A fresh database without a server, for tests that run the `audit-server` binary themselves:
/// an SQLite file in a temporary directory, or a PostgreSQL database of its own (dropped with
/// this value).
pub struct TestDatabase {
    url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    _postgres: Option<PostgresDatabase>,
}

impl TestDatabase {
    /// A database on `backend`, or `None` (with a skip line) when PostgreSQL is not configured.
    pub async fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("audit.db").display());
                Some(TestDatabase {
                    url,
                    _sqlite_dir: Some(dir),
                    _postgres: None,
                })
            }
            Backend::Postgres => {
                let database = PostgresDatabase::create().await?;
                Some(TestDatabase {
                    url: database.url.clone(),
                    _sqlite_dir: None,
                    _postgres: Some(database),
                })
            }
        }
    }

    /// The URL to give the server as `AUDIT_DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn test_config(database_url: String) -> Config {
    let mut config = Config::new(database_url);
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    // Tests deliver log streams to receivers on loopback.
    config.streams_allow_private_networks = true;
    config
}

fn run(application: Application) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(application.run_until(async {
        let _ = stopped.await;
    }));
    Running { stop, task }
}

/// A PostgreSQL database made for one test and dropped after it.
struct PostgresDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    async fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            eprintln!("SKIPPED: PostgreSQL test (set {POSTGRES_URL_VAR} to run it)");
            return None;
        };
        let name = format!("audit_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url.as_str())
            .await
            .unwrap_or_else(|error| panic!("{POSTGRES_URL_VAR}={admin_url} is unreachable: {error}"));
        // The name is ours (a UUID), not input, so it is safe to write into the statement.
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let base = admin_url.split('?').next().unwrap_or(&admin_url);
        let server = base.rsplit_once('/').map(|(server, _)| server).unwrap_or(base);
        Some(PostgresDatabase {
            url: format!("{server}/{name}"),
            admin_url,
            name,
        })
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropping = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropping.join();
    }
}
