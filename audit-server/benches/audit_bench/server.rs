//! The server under test runs as a child process (this binary's hidden `serve` subcommand), so
//! its memory is its own: `/proc/<pid>/status` gives its resident set (`VmRSS`) and peak
//! (`VmHWM`), sampled every 50 ms.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use audit_core::cosignature::CosignatureVerifier;
use audit_server::config::{Config, WitnessEndpoint};
use audit_server::{Application, shutdown_signal};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

/// The admin token the child server is started with.
pub const ADMIN_TOKEN: &str = "audit-bench-admin-token-0123456789";

/// How the server under test differs from the defaults, besides what every run sets.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeOptions {
    /// Appends do not maintain the Merkle tree (`store::bench_no_tree`).
    #[arg(long)]
    pub no_tree: bool,
    /// A witness, `"<vkey> <url>"`, as `AUDIT_WITNESSES` takes it.
    #[arg(long)]
    pub witness: Option<String>,
    /// The checkpoint signing key's seed file (so that a witness can be told its verifier key).
    #[arg(long)]
    pub signing_key_file: Option<PathBuf>,
}

impl ServeOptions {
    fn args(&self) -> Vec<std::ffi::OsString> {
        let mut args = Vec::new();
        if self.no_tree {
            args.push("--no-tree".into());
        }
        if let Some(witness) = &self.witness {
            args.extend(["--witness".into(), witness.into()]);
        }
        if let Some(file) = &self.signing_key_file {
            args.extend(["--signing-key-file".into(), file.clone().into_os_string()]);
        }
        args
    }
}

/// Runs the server in this process until stdin closes (the parent went away or asked it to
/// stop) or a signal arrives, after writing its port to `port_file`.
pub async fn serve(
    database_url: String,
    bind: std::net::SocketAddr,
    port_file: PathBuf,
    options: ServeOptions,
) -> anyhow::Result<()> {
    let mut config = Config::new(database_url);
    config.bind = bind;
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    // The benchmark measures the server, not the per-key rate limit (default 1000/s).
    config.rate_limit_per_second = 0.0;
    if options.no_tree {
        audit_server::store::bench_no_tree::switch_tree_off();
    }
    if let Some((vkey, url)) = options.witness.as_deref().and_then(|text| text.split_once(' ')) {
        config.witnesses = vec![WitnessEndpoint {
            verifier: CosignatureVerifier::from_vkey(vkey).context("the --witness vkey")?,
            url: url.to_owned(),
        }];
    }
    config.signing_key_file = options.signing_key_file;
    let application = Application::build(config).await?;
    let port = application.local_addr()?.port();
    let temporary = port_file.with_extension("tmp");
    std::fs::write(&temporary, port.to_string())?;
    std::fs::rename(&temporary, &port_file)?;
    let stdin_closed = async {
        let mut stdin = tokio::io::stdin();
        let mut buffer = [0u8; 64];
        while let Ok(read) = stdin.read(&mut buffer).await {
            if read == 0 {
                break;
            }
        }
    };
    application
        .run_until(async move {
            tokio::select! {
                () = stdin_closed => {},
                () = shutdown_signal() => {},
            }
        })
        .await?;
    Ok(())
}

/// One process's memory, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// Resident set now, in KiB.
    pub rss_kib: u64,
    /// Peak resident set so far, in KiB.
    pub hwm_kib: u64,
}

/// Reads the memory of process `pid`.
pub fn memory_of(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
    })
}

/// The CPU time process `pid` has used so far (all its threads, user and system), in seconds,
/// from `/proc/<pid>/stat` (clock ticks of 1/100 s, Linux's `USER_HZ`). Unlike wall time it
/// hardly depends on what else the machine is running.
pub fn cpu_seconds_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are space separated.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<u64>().ok());
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// Samples a process's RSS in the background; a window's maximum can be read and reset.
#[derive(Debug, Clone)]
pub struct Sampler {
    window_max_kib: Arc<AtomicU64>,
    samples: Arc<std::sync::Mutex<Vec<(Duration, u64)>>>,
    recording: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Sampler {
    /// Starts sampling `pid` every 50 ms.
    pub fn start(pid: u32) -> Self {
        let sampler = Sampler {
            window_max_kib: Arc::new(AtomicU64::new(0)),
            samples: Arc::new(std::sync::Mutex::new(Vec::new())),
            recording: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let background = sampler.clone();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            while !background.stop.load(Ordering::Relaxed) {
                if let Some(memory) = memory_of(pid) {
                    background
                        .window_max_kib
                        .fetch_max(memory.rss_kib, Ordering::Relaxed);
                    if background.recording.load(Ordering::Relaxed)
                        && let Ok(mut samples) = background.samples.lock()
                    {
                        samples.push((started.elapsed(), memory.rss_kib));
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        sampler
    }

    /// The largest RSS seen since the last call, in KiB; starts a new window.
    pub fn take_window_max(&self) -> u64 {
        self.window_max_kib.swap(0, Ordering::Relaxed)
    }

    /// Starts keeping every sample (for a time series).
    pub fn record(&self) {
        if let Ok(mut samples) = self.samples.lock() {
            samples.clear();
        }
        self.recording.store(true, Ordering::Relaxed);
    }

    /// Stops keeping samples and answers those kept (time since start, RSS KiB).
    pub fn recorded(&self) -> Vec<(Duration, u64)> {
        self.recording.store(false, Ordering::Relaxed);
        self.samples
            .lock()
            .map(|samples| samples.clone())
            .unwrap_or_default()
    }

    /// Stops sampling.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The server child process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
}

impl ServerProcess {
    /// Starts `audit-bench serve` on `database_url` and waits until it listens.
    pub async fn start(database_url: &str, work_dir: &Path, options: &ServeOptions) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("the bench binary's path")?;
        let port_file = work_dir.join(format!("server-port-{}", std::process::id()));
        let _ = std::fs::remove_file(&port_file);
        let mut child = Command::new(exe)
            .arg("serve")
            .arg("--database-url")
            .arg(database_url)
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--port-file")
            .arg(&port_file)
            .args(options.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("start the server child")?;
        let pid = child.id().context("the server child's pid")?;
        for _ in 0..600 {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(port) = text.trim().parse::<u16>()
            {
                let _ = std::fs::remove_file(&port_file);
                return Ok(ServerProcess {
                    child,
                    pid,
                    base_url: format!("http://127.0.0.1:{port}"),
                });
            }
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("the server exited before listening: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the server did not listen within a minute")
    }

    /// The server's memory now.
    pub fn memory(&self) -> Option<Memory> {
        memory_of(self.pid)
    }

    /// The CPU time the server used so far, in seconds (0 when unknown).
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(self.pid).unwrap_or_default()
    }

    /// Asks the server to stop (closing its stdin) and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.child.stdin.take());
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                self.child.start_kill()?;
                self.child.wait().await?;
            }
        }
        Ok(())
    }
}
