//! The project's `audit-witness` binary as a child process (Cargo builds it beside the bench and
//! names it in `CARGO_BIN_EXE_audit-witness`), started and killed at will on one port, key
//! and state file, so a restart is the same witness coming back.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// The witness's key name.
pub const WITNESS_NAME: &str = "bench-witness";

/// The binary Cargo built for this bench.
const BINARY: &str = env!("CARGO_BIN_EXE_audit-witness");

/// A witness that may be running or not.
#[derive(Debug)]
pub struct WitnessProcess {
    key_file: PathBuf,
    state_file: PathBuf,
    port: u16,
    log_vkey: String,
    child: Option<Child>,
}

impl WitnessProcess {
    /// A witness keeping its key and state in `dir`, witnessing the log whose verifier key is
    /// `log_vkey`, on a port free now. Not started.
    pub fn new(dir: &Path, log_vkey: String) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        Ok(WitnessProcess {
            key_file: dir.join("witness.key"),
            state_file: dir.join("witness.json"),
            port,
            log_vkey,
            child: None,
        })
    }

    /// Its cosignature verifier key (`audit-witness vkey`, which creates the key file).
    pub async fn vkey(&self) -> anyhow::Result<String> {
        let output = Command::new(BINARY)
            .arg("vkey")
            .arg("--name")
            .arg(WITNESS_NAME)
            .arg("--key-file")
            .arg(&self.key_file)
            .output()
            .await
            .with_context(|| format!("run {BINARY} vkey"))?;
        if !output.status.success() {
            bail!(
                "audit-witness vkey failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }

    /// Where its tlog-witness API answers.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts it and waits until it accepts connections.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        let mut child = Command::new(BINARY)
            .arg("--name")
            .arg(WITNESS_NAME)
            .arg("--key-file")
            .arg(&self.key_file)
            .arg("--state")
            .arg(&self.state_file)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--log")
            .arg(&self.log_vkey)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {BINARY}"))?;
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                self.child = Some(child);
                return Ok(());
            }
            if let Some(status) = child.try_wait()? {
                bail!("audit-witness exited before listening: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("audit-witness did not listen within 30 s")
    }

    /// Kills it (SIGKILL: a witness that went away, not one that said goodbye).
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }
}
