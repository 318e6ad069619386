//! `audit-bench`: measures the audit server against the raw limit of its database.
//!
//! In one run, on one backend chosen by URL, on fresh databases:
//!
//! 1. the raw limit: the same generated rows inserted straight into an identical `audit_logs`
//!    (COPY on PostgreSQL, prepared multi-row INSERTs in one transaction on SQLite);
//! 2. the server, run as a child process, over real HTTP: batch ingest (1,000 events per
//!    request; this seeds the trail) and single-event ingest from 64 concurrent clients;
//! 3. first-page latency under each filter, and page 1 versus page 10,000 following cursors;
//! 4. export rows/s (all records, and a known subset checked row for row, CSV and JSONL, with
//!    the server's RSS while streaming), inclusion and consistency proof latency from several
//!    clients, and verify rows/s;
//! 5. batch ingest without and with the Merkle tree, alternating rounds on fresh databases;
//! 6. batch ingest with an `audit-witness` child running and killed, alternating, the
//!    unwitnessed gauge while it is away and the time to be cosigned after it comes back;
//! 7. the server's peak memory; then a Markdown table with the raw limit beside each
//!    throughput, the ratio, the target and whether it is met, plus the query plans.
//!
//! ```sh
//! cargo bench -p audit-server --features bench --bench audit-bench -- \
//!     --database-url sqlite                                  # or postgres://postgres@127.0.0.1:5432/test
//! cargo bench -p audit-server --features bench --bench audit-bench -- --database-url sqlite --quick
//! ```

mod alternation;
mod big;
mod bulk;
mod data;
mod db;
mod explain;
mod load;
mod proofs;
mod raw;
mod report;
mod run;
mod server;
mod stats;
mod tree_cost;
mod witness_outage;
mod witness_process;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Benchmarks the audit server on SQLite or PostgreSQL against the database's raw insert rate.
#[derive(Debug, Parser)]
#[command(name = "audit-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// `sqlite` (files in a temporary directory), `sqlite://DIR` (a temporary directory in
    /// DIR), or a PostgreSQL server `postgres://USER@HOST:PORT[/DB]` (the run creates
    /// `audit_bench_<random>_*` databases there and drops them at the end).
    #[arg(long)]
    database_url: Option<String>,

    /// Records to seed (default 1,000,000 through batch ingest; 10,000,000 with `--big`).
    #[arg(long)]
    records: Option<usize>,

    /// The read path at 10,000,000 records (or `--records`, when given): the trail is
    /// written straight into the database over the past year (monthly partitions on
    /// PostgreSQL), then only the read phases run (first pages, deep page, exports, proofs,
    /// verify).
    #[arg(long)]
    big: bool,

    /// The read phases of `--big` again, on a trail a `--big --keep` run left at this
    /// database URL (its seeding is not repeated).
    #[arg(long)]
    big_from: Option<String>,

    /// Single events sent by the concurrent clients.
    #[arg(long, default_value_t = 20_000)]
    single_events: usize,

    /// Concurrent single-event clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,

    /// Rows of the raw-limit insert (default: the records, at most 500,000).
    #[arg(long)]
    raw_rows: Option<usize>,

    /// First-page requests per filter (and per page in the deep-page comparison).
    #[arg(long, default_value_t = 200)]
    query_requests: usize,

    /// The deep page reached by following cursors.
    #[arg(long, default_value_t = 10_000)]
    deep_page: usize,

    /// Inclusion proofs, and as many consistency proofs, requested on the seeded trail.
    #[arg(long, default_value_t = 3_000)]
    proof_requests: usize,

    /// Concurrent clients requesting proofs.
    #[arg(long, default_value_t = 8)]
    proof_clients: usize,

    /// Rounds of the tree and witness comparisons (the two conditions alternating A B B A;
    /// a multiple of 4 cancels a steady drift).
    #[arg(long, default_value_t = 4)]
    rounds: usize,

    /// Events per round of the tree and witness comparisons.
    #[arg(long, default_value_t = 100_000)]
    round_events: usize,

    /// Small counts for a smoke run of about a minute (20,000 records).
    #[arg(long)]
    quick: bool,

    /// Keep the databases at the end (to look at them).
    #[arg(long)]
    keep: bool,

    /// Also write the Markdown report to this file.
    #[arg(long)]
    report: Option<PathBuf>,

    /// Added by `cargo bench` to every benchmark's command line; nothing to do with it.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server under test (started by the benchmark itself).
    #[command(hide = true)]
    Serve {
        /// The database.
        #[arg(long)]
        database_url: String,
        /// The address to listen on.
        #[arg(long)]
        bind: SocketAddr,
        /// Where to write the port once listening.
        #[arg(long)]
        port_file: PathBuf,
        /// What differs from the defaults.
        #[command(flatten)]
        options: server::ServeOptions,
    },
}

/// The same allocator as the `audit-server` binary, so `audit-bench serve` measures what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Serve {
        database_url,
        bind,
        port_file,
        options,
    }) = cli.command
    {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_writer(std::io::stderr)
            .init();
        return server::serve(database_url, bind, port_file, options).await;
    }
    let Some(database_url) = cli.database_url.clone() else {
        anyhow::bail!("--database-url is required (sqlite, or postgres://USER@HOST:PORT)");
    };
    let mut records = cli
        .records
        .unwrap_or(if cli.big { 10_000_000 } else { 1_000_000 });
    let mut single_events = cli.single_events;
    let mut query_requests = cli.query_requests;
    let mut probe_events = 30_000;
    let mut proof_requests = cli.proof_requests;
    let mut round_events = cli.round_events;
    if cli.quick {
        proof_requests = proof_requests.min(500);
        round_events = round_events.min(10_000);
        records = records.min(20_000);
        single_events = single_events.min(2_000);
        query_requests = query_requests.min(50);
        probe_events = 2_000;
    }
    let raw_rows = cli.raw_rows.unwrap_or(records.min(500_000));
    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let plan = run::Plan {
        database_url,
        records,
        raw_rows,
        single_events,
        clients: cli.clients,
        query_requests,
        probe_events,
        proof_requests,
        proof_clients: cli.proof_clients,
        rounds: cli.rounds,
        round_events,
        deep_page: cli.deep_page,
        keep: cli.keep,
        command: format!("cargo bench -p audit-server --features bench --bench audit-bench -- {command}"),
        seed: 0xa0d1_7b3e,
        big: cli.big,
    };
    let report = match &cli.big_from {
        Some(url) => big::rerun(&plan, url).await?,
        None => run::run(plan).await?,
    };
    let markdown = report.markdown();
    println!("{markdown}");
    if let Some(path) = cli.report {
        std::fs::write(&path, &markdown)?;
        eprintln!("report written to {}", path.display());
    }
    Ok(())
}
