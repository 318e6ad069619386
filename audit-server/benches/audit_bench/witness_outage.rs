//! Batch ingest with the witness stopped against it running, in one run: a server configured
//! with an `audit-witness` child takes alternating rounds with the witness up and killed. After
//! each round without it, `/metrics` must show checkpoints unwitnessed; the witness is then
//! restarted on the same key and state, and the time until none is unwitnessed is taken.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use audit_core::checkpoint::CheckpointSigner;

use crate::alternation::{Alternation, RoundPlan};
use crate::data::{Generator, Rng};
use crate::db::Place;
use crate::load::{self, Api};
use crate::server::{ServeOptions, ServerProcess};
use crate::witness_process::{WITNESS_NAME, WitnessProcess};

/// The longest wait for the witness's checkpoints to be cosigned again.
const RECOVERY_LIMIT: Duration = Duration::from_secs(120);

/// The outage figures.
#[derive(Debug, Clone, Default)]
pub struct WitnessOutage {
    /// Batch ingest: the first condition with the witness running, the second stopped.
    pub ingest: Alternation,
    /// `audit_checkpoints_unwitnessed` after each round with the witness stopped.
    pub unwitnessed_while_stopped: Vec<u64>,
    /// After each restart, the time until `audit_checkpoints_unwitnessed` was 0 (`None`: not
    /// within [`RECOVERY_LIMIT`]).
    pub recoveries: Vec<Option<Duration>>,
}

impl WitnessOutage {
    /// Whether every round with the witness stopped left checkpoints marked unwitnessed.
    pub fn marked_unwitnessed(&self) -> bool {
        !self.unwitnessed_while_stopped.is_empty()
            && self.unwitnessed_while_stopped.iter().all(|&count| count > 0)
    }

    /// The slowest recovery (`None` when one did not happen).
    pub fn slowest_recovery(&self) -> Option<Duration> {
        self.recoveries
            .iter()
            .try_fold(Duration::ZERO, |slowest, recovery| {
                recovery.map(|took| slowest.max(took))
            })
    }
}

/// Runs the rounds of `plan` on a fresh database.
pub async fn measure(
    place: &mut Place,
    work_dir: &Path,
    plan: RoundPlan,
    seed: u64,
) -> anyhow::Result<WitnessOutage> {
    let dir = tempfile::Builder::new()
        .prefix("audit-bench-witness-")
        .tempdir_in(work_dir)?;
    let mut rng = Rng::new(seed ^ 0x5167);
    let signing_seed: [u8; 32] = std::array::from_fn(|_| rng.below(256) as u8);
    let signing_key_file = dir.path().join("signing.key");
    std::fs::write(&signing_key_file, signing_seed)?;
    let log_vkey = CheckpointSigner::from_seed("audit-log", &signing_seed)?
        .verifier()
        .vkey();
    let mut witness = WitnessProcess::new(dir.path(), log_vkey)?;
    let witness_vkey = witness.vkey().await?;
    witness.start().await?;
    let url = place.fresh("witness").await?;
    let options = ServeOptions {
        witness: Some(format!("{witness_vkey} {}", witness.url())),
        signing_key_file: Some(signing_key_file),
        ..ServeOptions::default()
    };
    let server = ServerProcess::start(&url, work_dir, &options).await?;
    let outcome = alternate(&server, &mut witness, plan, seed).await;
    server.stop().await?;
    witness.kill().await?;
    place.discard("witness").await;
    outcome
}

async fn alternate(
    server: &ServerProcess,
    witness: &mut WitnessProcess,
    plan: RoundPlan,
    seed: u64,
) -> anyhow::Result<WitnessOutage> {
    let api = Api::set_up(&server.base_url).await?;
    let mut generator = Generator::new(seed);
    let mut outage = WitnessOutage::default();
    for index in 0..plan.rounds {
        let running = Alternation::first_at(index);
        if !running {
            witness.kill().await?;
        }
        let cpu = server.cpu_seconds();
        let (stored, took) = load::batch_round(&api, &mut generator, plan.events, plan.concurrency).await?;
        outage
            .ingest
            .push(running, stored, took, server.cpu_seconds() - cpu);
        let state = if running { "running" } else { "stopped" };
        eprint!(
            "  round {}: witness {state}: {stored} events at {:.0} events/s",
            index + 1,
            stored as f64 / took.as_secs_f64()
        );
        if running {
            eprintln!();
            continue;
        }
        // The witness client tries every second, then backs off; give it a few tries.
        let (unwitnessed, _) = wait_for_gauge(&api, Duration::from_secs(10), |count| count > 0).await?;
        outage.unwitnessed_while_stopped.push(unwitnessed);
        witness.start().await?;
        let (left, took) = wait_for_gauge(&api, RECOVERY_LIMIT, |count| count == 0).await?;
        let recovery = (left == 0).then_some(took);
        outage.recoveries.push(recovery);
        eprintln!(
            "; unwitnessed {unwitnessed}; after the restart all cosigned in {}",
            recovery.map_or_else(
                || format!("more than {} s", RECOVERY_LIMIT.as_secs()),
                |took| format!("{:.1} s", took.as_secs_f64())
            )
        );
    }
    Ok(outage)
}

/// Polls `audit_checkpoints_unwitnessed` until `done` holds or `limit` passes; answers the last
/// value read and the time it took.
async fn wait_for_gauge(
    api: &Api,
    limit: Duration,
    done: impl Fn(u64) -> bool,
) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    loop {
        let metrics = api.metrics().await?;
        let count =
            unwitnessed(&metrics).context("/metrics has no audit_checkpoints_unwitnessed of the witness")?;
        if done(count) || started.elapsed() >= limit {
            return Ok((count, started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The bench witness's `audit_checkpoints_unwitnessed` in a `/metrics` text.
fn unwitnessed(metrics: &str) -> Option<u64> {
    let series = format!("audit_checkpoints_unwitnessed{{witness=\"{WITNESS_NAME}\"}}");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
}
