//! Fresh databases for one run: a temporary SQLite file, or a PostgreSQL database
//! `audit_bench_<random>` created on the given server and dropped at the end.

use std::path::PathBuf;

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, DbBackend};

/// Which database the run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files in a temporary directory.
    Sqlite,
    /// Databases on a PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The name shown in the report.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// The sea-orm backend.
    pub fn db_backend(self) -> DbBackend {
        match self {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        }
    }
}

/// Where the run's databases are made.
#[derive(Debug)]
pub struct Place {
    /// The backend.
    pub backend: Backend,
    /// For PostgreSQL: the server URL without a database name.
    server_url: String,
    /// For PostgreSQL: a database to connect to for CREATE/DROP DATABASE.
    admin_url: String,
    /// For SQLite: the directory of the files (removed at the end unless kept).
    dir: Option<tempfile::TempDir>,
    /// A random tag shared by the run's databases.
    tag: String,
    /// The databases made, to drop at the end.
    made: Vec<String>,
    /// Keep the databases at the end.
    keep: bool,
}

impl Place {
    /// Reads `--database-url`: `sqlite` (a temporary directory), `sqlite://DIR_OR_FILE...` or a
    /// directory path (files go there), or `postgres://USER@HOST:PORT[/DB]` (a server).
    pub fn new(url: &str, keep: bool) -> anyhow::Result<Self> {
        let tag = format!("{:08x}", rand_u32()?);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let base = url.split('?').next().unwrap_or(url);
            let after_scheme = base.split_once("://").map_or("", |(_, rest)| rest);
            let server_url = match after_scheme.split_once('/') {
                Some((authority, _)) => {
                    format!("{}://{authority}", base.split("://").next().unwrap_or("postgres"))
                }
                None => base.to_owned(),
            };
            let admin_url = if after_scheme.contains('/') {
                base.to_owned()
            } else {
                format!("{server_url}/postgres")
            };
            return Ok(Place {
                backend: Backend::Postgres,
                server_url,
                admin_url,
                dir: None,
                tag,
                made: Vec::new(),
                keep,
            });
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        let path = path.split('?').next().unwrap_or(path);
        let dir = if path.is_empty() || path == "sqlite" || path == "sqlite:" {
            tempfile::Builder::new().prefix("audit-bench-").tempdir()?
        } else {
            let parent = PathBuf::from(path);
            let parent = if parent.extension().is_some() {
                parent.parent().map(PathBuf::from).unwrap_or_default()
            } else {
                parent
            };
            std::fs::create_dir_all(&parent).with_context(|| format!("create {}", parent.display()))?;
            tempfile::Builder::new()
                .prefix("audit-bench-")
                .tempdir_in(parent)?
        };
        Ok(Place {
            backend: Backend::Sqlite,
            server_url: String::new(),
            admin_url: String::new(),
            dir: Some(dir),
            tag,
            made: Vec::new(),
            keep,
        })
    }

    /// A fresh, empty database named after `purpose`; answers its URL.
    pub async fn fresh(&mut self, purpose: &str) -> anyhow::Result<String> {
        match self.backend {
            Backend::Sqlite => {
                let dir = self.dir.as_ref().context("SQLite directory")?;
                let file = dir.path().join(format!("{purpose}.db"));
                Ok(format!("sqlite://{}?mode=rwc", file.display()))
            }
            Backend::Postgres => {
                let name = format!("audit_bench_{}_{purpose}", self.tag);
                let admin = Database::connect(self.admin_url.as_str())
                    .await
                    .with_context(|| format!("connect to {}", self.admin_url))?;
                // The name is ours (a random tag and a fixed word), safe to write into the statement.
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await?;
                let _ = admin.close().await;
                self.made.push(name.clone());
                Ok(format!("{}/{name}", self.server_url))
            }
        }
    }

    /// Removes the database made for `purpose` now (to free its disk and cache).
    pub async fn discard(&mut self, purpose: &str) {
        match self.backend {
            Backend::Sqlite => {
                if let Some(dir) = &self.dir {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(dir.path().join(format!("{purpose}.db{suffix}")));
                    }
                }
            }
            Backend::Postgres => {
                let name = format!("audit_bench_{}_{purpose}", self.tag);
                if let Ok(admin) = Database::connect(self.admin_url.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
                self.made.retain(|made| *made != name);
            }
        }
    }

    /// Drops every database made (or says where they are, when kept).
    pub async fn clean_up(mut self) {
        if self.keep {
            match (&self.backend, self.dir.take()) {
                (Backend::Sqlite, Some(dir)) => {
                    eprintln!("kept the SQLite files in {}", dir.keep().display());
                }
                _ => eprintln!("kept the databases {:?} on {}", self.made, self.server_url),
            }
            return;
        }
        if self.backend == Backend::Postgres
            && let Ok(admin) = Database::connect(self.admin_url.as_str()).await
        {
            for name in &self.made {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
            }
            let _ = admin.close().await;
        }
    }
}

fn rand_u32() -> anyhow::Result<u32> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    Ok(u32::from_le_bytes(bytes))
}
