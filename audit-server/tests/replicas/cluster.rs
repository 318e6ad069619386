//! PostgreSQL clusters of the test's own: a primary made with `initdb` and a streaming
//! replica of it made with `pg_basebackup`, each on a free port under a temporary directory,
//! so the shared server's configuration is never touched. PostgreSQL refuses to run as root:
//! as root, the tools run as the `postgres` OS user, which owns the data directories.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable naming the shared PostgreSQL server; without it the test skips.
const POSTGRES_URL_VAR: &str = "AUDIT_TEST_POSTGRES_URL";

/// The directory of `initdb`, `pg_ctl` and `pg_basebackup`, newest version first.
fn tools() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| {
            ["initdb", "pg_ctl", "pg_basebackup"]
                .iter()
                .all(|tool| bin.join(tool).exists())
        })
        .collect();
    dirs.sort();
    dirs.pop()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// One data directory and the server running on it.
pub struct Cluster {
    tools: PathBuf,
    as_postgres: bool,
    data: PathBuf,
    /// The port it listens on, at 127.0.0.1.
    pub port: u16,
    running: bool,
}

impl Cluster {
    fn tool(&self, name: &str) -> Command {
        tool(&self.tools, self.as_postgres, name)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&mut self) {
        let log = self.data.with_extension("log");
        let status = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl start failed; see {}", log.display());
        self.running = true;
    }

    /// Stops the server at once (`immediate`: as if it had crashed).
    pub fn stop(&mut self) {
        if self.running {
            let _ = self
                .tool("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(std::process::Stdio::null())
                .status();
            self.running = false;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tool(tools: &Path, as_postgres: bool, name: &str) -> Command {
    let path = tools.join(name);
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

/// A primary and a streaming replica of it, with the directory that holds them.
pub struct PrimaryAndReplica {
    /// The standby, replaying the primary's WAL.
    pub replica: Cluster,
    /// The primary.
    pub primary: Cluster,
    _dir: tempfile::TempDir,
}

impl PrimaryAndReplica {
    /// Makes and starts both, or `None` with a visible skip line when PostgreSQL is not
    /// configured for the tests or its tools are missing.
    pub fn start() -> Option<Self> {
        if std::env::var(POSTGRES_URL_VAR).is_err() {
            eprintln!("SKIPPED: read replica test (set {POSTGRES_URL_VAR} to run it)");
            return None;
        }
        let Some(tools) = tools() else {
            eprintln!(
                "SKIPPED: read replica test (no initdb/pg_ctl/pg_basebackup under /usr/lib/postgresql)"
            );
            return None;
        };
        let as_postgres = running_as_root();
        let dir = tempfile::tempdir().unwrap();
        let chown = |path: &Path| {
            if as_postgres {
                let status = Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(path)
                    .status();
                assert!(status.unwrap().success());
            }
        };
        // The postgres user must reach into the directory.
        Command::new("chmod").arg("755").arg(dir.path()).status().unwrap();
        chown(dir.path());

        let mut primary = Cluster {
            data: dir.path().join("primary"),
            port: free_port(),
            tools: tools.clone(),
            as_postgres,
            running: false,
        };
        let status = primary
            .tool("initdb")
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-D"])
            .arg(&primary.data)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        // initdb's pg_hba.conf already trusts replication connections from 127.0.0.1.
        append_settings(&primary.data, primary.port, dir.path());
        primary.start();

        let mut replica = Cluster {
            data: dir.path().join("replica"),
            port: free_port(),
            tools,
            as_postgres,
            running: false,
        };
        let status = primary
            .tool("pg_basebackup")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "-D",
            ])
            .arg(&replica.data)
            .status()
            .unwrap();
        assert!(status.success(), "pg_basebackup failed");
        append_settings(&replica.data, replica.port, dir.path());
        replica.start();
        Some(PrimaryAndReplica {
            replica,
            primary,
            _dir: dir,
        })
    }
}

/// Sets the port, loopback only, sockets in `socket_dir`, and no fsync (a test cluster).
fn append_settings(data: &Path, port: u16, socket_dir: &Path) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .unwrap();
    writeln!(
        file,
        "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nfsync = off\n",
        socket_dir.display()
    )
    .unwrap();
}
