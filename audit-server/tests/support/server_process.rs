//! The real `audit-server` binary as a child process on a fixed port, for tests that kill
//! it (SIGKILL) and start it again, or run several on one database.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use audit_client::AuditClient;
use audit_core::{CreatedApiKey, NewApiKey, NewOrganization, Scope};
use audit_server::testing::ADMIN_TOKEN;

/// The server binary as a child process on a fixed port.
pub struct ServerProcess {
    child: Option<Child>,
    address: SocketAddr,
    database_url: String,
    /// Settings beyond the database, the address and the admin token.
    settings: Vec<(String, String)>,
    log: File,
}

impl ServerProcess {
    /// Starts the binary on `database_url` with its defaults, logging to `log`.
    pub async fn start(database_url: &str, log: &Path) -> Self {
        Self::start_with(database_url, log, &[]).await
    }

    /// Starts the binary on `database_url` with the environment `settings` too.
    pub async fn start_with(database_url: &str, log: &Path, settings: &[(&str, &str)]) -> Self {
        // A free port, released for the server to bind (and to bind again after each kill).
        let address = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let mut server = ServerProcess {
            child: None,
            address,
            database_url: database_url.to_owned(),
            settings: settings
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            log: File::create(log).unwrap(),
        };
        server.restart().await;
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Starts the binary and waits until `/ready` answers 200.
    pub async fn restart(&mut self) {
        let http = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            let mut child = Command::new(env!("CARGO_BIN_EXE_audit-server"))
                .env("AUDIT_DATABASE_URL", &self.database_url)
                .env("AUDIT_BIND", self.address.to_string())
                .env("AUDIT_ADMIN_TOKEN", ADMIN_TOKEN)
                .envs(self.settings.iter().map(|(name, value)| (name, value)))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(self.log.try_clone().unwrap())
                .spawn()
                .expect("start audit-server");
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    // Did not come up (e.g. the port was not free yet): try again.
                    eprintln!("audit-server exited at start-up ({status}); starting it again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
                let ready = http.get(format!("{}/ready", self.base_url())).send().await;
                if ready.is_ok_and(|response| response.status() == 200) {
                    self.child = Some(child);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        panic!("audit-server did not become ready");
    }

    /// SIGKILL: no graceful shutdown, no flushing, requests cut off where they are.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL audit-server");
            let status = child.wait().unwrap();
            assert!(!status.success(), "{status:?}");
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A new organization named `name` on the server at `base_url`, and a key of it holding every
/// scope, made with the admin token.
pub async fn organization_with_key(base_url: &str, name: &str) -> CreatedApiKey {
    let admin = AuditClient::new(base_url, ADMIN_TOKEN).unwrap();
    let org = admin
        .create_organization(NewOrganization { name: name.into() })
        .await
        .unwrap();
    admin
        .create_api_key(
            org.id,
            NewApiKey {
                name: name.into(),
                scopes: Scope::ALL.to_vec(),
                project_id: None,
            },
        )
        .await
        .unwrap()
}
