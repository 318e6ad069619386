//! The Markdown report: every figure, the raw limit beside each throughput with the ratio, the
//! target and whether it is met.

use std::fmt::Write as _;

use crate::alternation::Alternation;
use crate::db::Backend;
use crate::explain::Plan as QueryPlan;
use crate::load::{BatchIngest, DeepPage, Export, FilterLatency, SingleIngest, Verify};
use crate::proofs::ProofLatency;
use crate::raw::RawLimit;
use crate::run::Plan;
use crate::stats::{mib, thousands};
use crate::witness_outage::WitnessOutage;

/// The largest share of batch ingest the tree, or a stopped witness, may cost.
const INGEST_RATIO_TARGET: f64 = 0.95;

/// The longest a restarted witness may take to have every checkpoint cosigned again.
const RECOVERY_TARGET_SECS: f64 = 60.0;

/// The largest memory the server may use, in KiB (256 MiB).
const MEMORY_TARGET_KIB: u64 = 256 * 1024;

/// The server's memory over one phase.
#[derive(Debug, Clone)]
pub struct PhaseMemory {
    /// The phase.
    pub name: String,
    /// Largest RSS sampled during the phase, KiB.
    pub max_rss_kib: u64,
    /// VmHWM at the end of the phase, KiB.
    pub hwm_kib: u64,
    /// CPU time the server used during the phase, seconds.
    pub cpu_seconds: f64,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// The backend.
    pub backend: Backend,
    /// The command line.
    pub command: String,
    /// The machine.
    pub machine: String,
    /// When the run started (UTC).
    pub started: String,
    /// Events generated for the trail.
    pub records: u64,
    /// The raw limit.
    pub raw: Option<RawLimit>,
    /// Batch ingest.
    pub batch: Option<BatchIngest>,
    /// Single-event ingest.
    pub single: Option<SingleIngest>,
    /// Single-event ingest with the clients spread over as many organizations.
    pub single_spread: Option<SingleIngest>,
    /// First pages.
    pub filters: Vec<FilterLatency>,
    /// Page 1 versus the deep page.
    pub deep: Option<DeepPage>,
    /// Inclusion and consistency proof latency.
    pub proofs: Vec<ProofLatency>,
    /// Batch ingest without the Merkle tree (first) and with it (second).
    pub tree_cost: Option<Alternation>,
    /// Batch ingest with the witness running and stopped, and its recovery.
    pub witness: Option<WitnessOutage>,
    /// Exports.
    pub exports: Vec<Export>,
    /// Verification.
    pub verify: Option<Verify>,
    /// Memory by phase.
    pub phases: Vec<PhaseMemory>,
    /// RSS right after start, KiB.
    pub memory_at_start_kib: u64,
    /// VmHWM at the end, KiB.
    pub peak_kib: u64,
    /// Query plans.
    pub plans: Vec<QueryPlan>,
    /// The load average at the end.
    pub load_at_end: String,
    /// Remarks on how the run went.
    pub notes: Vec<String>,
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**NOT met**" }
}

/// A description of this machine: cores, CPU model, memory, OS.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total_kib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({model}), {:.1} GiB RAM, Linux {}, load average at start {}",
        total_kib as f64 / 1024.0 / 1024.0,
        kernel.trim(),
        load_average()
    )
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Report {
    /// An empty report for `plan`.
    pub fn new(backend: Backend, plan: &Plan) -> Self {
        Report {
            backend,
            command: plan.command.clone(),
            machine: machine(),
            started: audit_core::timestamp::format(&chrono::Utc::now()),
            records: 0,
            raw: None,
            batch: None,
            single: None,
            single_spread: None,
            filters: Vec::new(),
            deep: None,
            proofs: Vec::new(),
            tree_cost: None,
            witness: None,
            exports: Vec::new(),
            verify: None,
            phases: Vec::new(),
            memory_at_start_kib: 0,
            peak_kib: 0,
            plans: Vec::new(),
            load_at_end: String::new(),
            notes: Vec::new(),
        }
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = self.write(&mut out);
        out
    }

    fn write_tree_cost(out: &mut String, tree: &Alternation) -> std::fmt::Result {
        let rounds = tree.rounds.len();
        let events = tree.rounds.first().map_or(0, |round| round.events);
        writeln!(
            out,
            "| batch ingest without the Merkle tree: {rounds} alternating rounds of {} events, fresh databases | {} events/s | | | | |",
            thousands(events as f64),
            thousands(tree.rate(true))
        )?;
        writeln!(
            out,
            "| batch ingest with the Merkle tree, same rounds | {} events/s | | {:.3} × without | ≥ {INGEST_RATIO_TARGET} × without | {} |",
            thousands(tree.rate(false)),
            tree.ratio(),
            met(tree.ratio() >= INGEST_RATIO_TARGET)
        )?;
        Self::write_cpu(out, tree, "without the tree", "with it")
    }

    /// The server's CPU time per 1,000 events of both conditions, beside their rates.
    fn write_cpu(out: &mut String, rounds: &Alternation, first: &str, second: &str) -> std::fmt::Result {
        let (a, b) = (
            rounds.cpu_ms_per_thousand(true),
            rounds.cpu_ms_per_thousand(false),
        );
        writeln!(
            out,
            "| server CPU per 1,000 events: {first} / {second} | {a:.0} / {b:.0} ms | | {:.3} × | | |",
            b / a
        )
    }

    fn write_witness(out: &mut String, witness: &WitnessOutage) -> std::fmt::Result {
        let ingest = &witness.ingest;
        let events = ingest.rounds.first().map_or(0, |round| round.events);
        writeln!(
            out,
            "| batch ingest, `audit-witness` running: {} alternating rounds of {} events | {} events/s | | | | |",
            ingest.rounds.len(),
            thousands(events as f64),
            thousands(ingest.rate(true))
        )?;
        writeln!(
            out,
            "| batch ingest, `audit-witness` killed, same rounds | {} events/s | | {:.3} × running | ≥ {INGEST_RATIO_TARGET} × running | {} |",
            thousands(ingest.rate(false)),
            ingest.ratio(),
            met(ingest.ratio() >= INGEST_RATIO_TARGET)
        )?;
        Self::write_cpu(out, ingest, "witness running", "killed")?;
        let counts: Vec<String> = witness
            .unwitnessed_while_stopped
            .iter()
            .map(u64::to_string)
            .collect();
        writeln!(
            out,
            "| `audit_checkpoints_unwitnessed` after each round with the witness killed | {} | | | > 0 | {} |",
            counts.join(", "),
            met(witness.marked_unwitnessed())
        )?;
        let recoveries: Vec<String> = witness
            .recoveries
            .iter()
            .map(|recovery| {
                recovery.map_or_else(
                    || "never".to_owned(),
                    |took| format!("{:.1} s", took.as_secs_f64()),
                )
            })
            .collect();
        let slowest = witness.slowest_recovery().map(|took| took.as_secs_f64());
        writeln!(
            out,
            "| witness restarted (same key and state): time until `audit_checkpoints_unwitnessed` is 0 | {} | | | ≤ {RECOVERY_TARGET_SECS} s | {} |",
            recoveries.join(", "),
            met(slowest.is_some_and(|secs| secs <= RECOVERY_TARGET_SECS))
        )
    }

    fn write(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "## {} — {} records",
            self.backend.name(),
            thousands(self.records as f64)
        )?;
        writeln!(out)?;
        writeln!(out, "- machine: {}", self.machine)?;
        writeln!(
            out,
            "- started: {}, load average at the end: {}",
            self.started, self.load_at_end
        )?;
        writeln!(out, "- command: `{}`", self.command)?;
        for note in &self.notes {
            writeln!(out, "- note: {note}")?;
        }
        writeln!(out)?;
        writeln!(out, "| measure | figure | raw limit | ratio | target | |")?;
        writeln!(out, "| --- | ---: | ---: | ---: | --- | --- |")?;
        let raw_rate = self.raw.as_ref().map(RawLimit::rate);
        if let Some(raw) = &self.raw {
            writeln!(
                out,
                "| raw limit: {} rows, {} ({:.0} bytes of values per row, 10 indexes) | {} rows/s | | | | |",
                thousands(raw.rows as f64),
                raw.method,
                raw.avg_row_bytes,
                thousands(raw.rate())
            )?;
        }
        let ratio_row = |out: &mut String, label: String, rate: f64, target: f64| -> std::fmt::Result {
            match raw_rate {
                Some(raw) => {
                    let ratio = rate / raw;
                    writeln!(
                        out,
                        "| {label} | {} events/s | {} rows/s | {ratio:.2} | ≥ {target} × raw | {} |",
                        thousands(rate),
                        thousands(raw),
                        met(ratio >= target)
                    )
                }
                None => writeln!(out, "| {label} | {} events/s | | | | |", thousands(rate)),
            }
        };
        if let Some(batch) = &self.batch {
            ratio_row(
                out,
                format!(
                    "batch ingest: {} events, 1,000 per request, {} connection(s)",
                    thousands(batch.events as f64),
                    batch.concurrency
                ),
                batch.rate(),
                0.75,
            )?;
        }
        for single in self.single.iter().chain(&self.single_spread) {
            let spread = match single.organizations {
                1 => String::new(),
                organizations => format!(", spread over {organizations} organizations"),
            };
            ratio_row(
                out,
                format!(
                    "single-event ingest: {} events, {} concurrent clients{spread}",
                    thousands(single.events as f64),
                    single.clients
                ),
                single.rate(),
                0.3,
            )?;
            writeln!(
                out,
                "| single-event latency{spread} p50 / p99 (max) | {:.1} / {:.1} ms ({:.1}) | | | p99 ≤ 50 ms | {} |",
                single.latency.p50_ms,
                single.latency.p99_ms,
                single.latency.max_ms,
                met(single.latency.p99_ms <= 50.0)
            )?;
        }
        for filter in &self.filters {
            writeln!(
                out,
                "| first page (50), filter {}: p50 / p99 ({} requests, {:.0} records per page) | {:.2} / {:.2} ms | | | p99 ≤ 10 ms | {} |",
                filter.name,
                filter.latency.count,
                filter.avg_records,
                filter.latency.p50_ms,
                filter.latency.p99_ms,
                met(filter.latency.p99_ms <= 10.0)
            )?;
        }
        if let Some(deep) = &self.deep {
            writeln!(
                out,
                "| page 1, no filter: p50 / p99 | {:.2} / {:.2} ms | | | | |",
                deep.first.p50_ms, deep.first.p99_ms
            )?;
            let ratio50 = deep.deep.p50_ms / deep.first.p50_ms;
            let ratio99 = deep.deep.p99_ms / deep.first.p99_ms;
            writeln!(
                out,
                "| page {} following cursors: p50 / p99 (walk of {} pages: {:.1} s) | {:.2} / {:.2} ms | | {ratio50:.2} / {ratio99:.2} × page 1 | ≤ 1.5 × page 1 | {} |",
                thousands(deep.page as f64),
                thousands(deep.page as f64),
                deep.walk.as_secs_f64(),
                deep.deep.p50_ms,
                deep.deep.p99_ms,
                met(ratio50 <= 1.5 && ratio99 <= 1.5)
            )?;
        }
        for proofs in &self.proofs {
            for (name, latency) in [
                ("inclusion", proofs.inclusion),
                ("consistency", proofs.consistency),
            ] {
                writeln!(
                    out,
                    "| {name} proof at {} leaves: p50 / p99 (max), {} requests from {} client(s) | {:.2} / {:.2} ms ({:.2}) | | | p99 ≤ 10 ms | {} |",
                    thousands(proofs.tree_size as f64),
                    latency.count,
                    proofs.clients,
                    latency.p50_ms,
                    latency.p99_ms,
                    latency.max_ms,
                    met(latency.p99_ms <= 10.0)
                )?;
            }
        }
        for export in &self.exports {
            let exact = match export.expected {
                Some(expected) if expected == export.rows => {
                    format!(", exactly the {} expected", thousands(expected as f64))
                }
                Some(expected) => format!(", **expected {}**", thousands(expected as f64)),
                None => String::new(),
            };
            writeln!(
                out,
                "| export {} as {}: {} rows{exact}, {:.0} MB in {:.1} s | {} rows/s | | | ≥ 100,000 rows/s | {} |",
                export.label,
                export.format.to_uppercase(),
                thousands(export.rows as f64),
                export.bytes as f64 / 1e6,
                export.elapsed.as_secs_f64(),
                thousands(export.rate()),
                met(export.rate() >= 100_000.0
                    && export.expected.is_none_or(|expected| expected == export.rows))
            )?;
        }
        if let Some(verify) = &self.verify {
            writeln!(
                out,
                "| verify: {} records in {:.1} s | {} rows/s | | | ≥ 200,000 rows/s | {} |",
                thousands(verify.report.checked as f64),
                verify.elapsed.as_secs_f64(),
                thousands(verify.rate()),
                met(verify.rate() >= 200_000.0)
            )?;
        }
        if let Some(tree) = &self.tree_cost {
            Self::write_tree_cost(out, tree)?;
        }
        if let Some(witness) = &self.witness {
            Self::write_witness(out, witness)?;
        }
        writeln!(
            out,
            "| server peak memory (VmHWM over the whole run) | {} | | | ≤ 256 MiB | {} |",
            mib(self.peak_kib),
            met(self.peak_kib <= MEMORY_TARGET_KIB)
        )?;
        writeln!(out)?;

        if let Some(tree) = &self.tree_cost {
            writeln!(
                out,
                "Batch ingest by round, events/s: {}.",
                tree.describe("without the tree", "with the tree")
            )?;
        }
        if let Some(witness) = &self.witness {
            writeln!(
                out,
                "Batch ingest by round, events/s: {}.",
                witness.ingest.describe("witness running", "witness stopped")
            )?;
        }
        if let Some(batch) = &self.batch {
            let probes: Vec<String> = batch
                .probes
                .iter()
                .map(|(concurrency, events, rate)| {
                    format!(
                        "{concurrency}: {} events/s ({} events)",
                        thousands(*rate),
                        thousands(*events as f64)
                    )
                })
                .collect();
            writeln!(out, "Batch ingest, connections tried: {}.", probes.join("; "))?;
            let tenths: Vec<String> = batch.by_tenth.iter().map(|rate| thousands(*rate)).collect();
            writeln!(
                out,
                "Then with {} connection(s), events/s by tenth of the rest of the seed: {}.",
                batch.concurrency,
                tenths.join(", ")
            )?;
            writeln!(out)?;
        }

        writeln!(
            out,
            "Server memory (RSS from `/proc/<pid>/status`, sampled every 50 ms):"
        )?;
        writeln!(out)?;
        writeln!(out, "| phase | max RSS | VmHWM at its end | server CPU time |")?;
        writeln!(out, "| --- | ---: | ---: | ---: |")?;
        writeln!(out, "| after start | {} | | |", mib(self.memory_at_start_kib))?;
        for phase in &self.phases {
            writeln!(
                out,
                "| {} | {} | {} | {:.2} s |",
                phase.name,
                mib(phase.max_rss_kib),
                mib(phase.hwm_kib),
                phase.cpu_seconds
            )?;
        }
        writeln!(out)?;
        writeln!(out, "Exports, server RSS while streaming:")?;
        writeln!(out)?;
        writeln!(
            out,
            "| export | rows | RSS before | RSS during (min – max) | RSS 1 s after | VmHWM after | RSS series (s: MiB) |"
        )?;
        writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | --- |")?;
        for export in &self.exports {
            let series: Vec<String> = export
                .rss_series
                .iter()
                .map(|(at, mib)| format!("{at:.1}: {mib:.0}"))
                .collect();
            writeln!(
                out,
                "| {} {} | {} | {} | {} – {} | {} | {} | {} |",
                export.label,
                export.format,
                thousands(export.rows as f64),
                mib(export.rss_before_kib),
                mib(export.rss_during_min_kib),
                mib(export.rss_during_max_kib),
                mib(export.rss_after_kib),
                mib(export.hwm_after_kib),
                series.join(", ")
            )?;
        }
        writeln!(out)?;
        if !self.plans.is_empty() {
            writeln!(
                out,
                "<details><summary>Query plans of the first-page queries</summary>"
            )?;
            writeln!(out)?;
            for plan in &self.plans {
                writeln!(out, "{}:", plan.name)?;
                writeln!(out)?;
                writeln!(out, "```")?;
                for line in &plan.lines {
                    writeln!(out, "{line}")?;
                }
                writeln!(out, "```")?;
                writeln!(out)?;
            }
            writeln!(out, "</details>")?;
        }
        Ok(())
    }
}
