//! A bounded soak run: many concurrent SDK clients doing mixed writes (single events, batches,
//! the background dispatcher) and reads (filtered lists, gets, cursor paging, exports,
//! verification) against a real server (in-process, real HTTP, a fresh database), then a check
//! that every acknowledged event is stored exactly once and every chain verifies.
//!
//! ```sh
//! cargo run --release -p audit-client --example soak -- --seconds 120 --clients 32
//! AUDIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo run --release -p audit-client --example soak -- --backend postgres --seconds 120
//! ```
//!
//! Exits with status 1 unless the run ends with zero errors and zero loss.

mod driver;

use std::time::Duration;

use audit_server::testing::{Backend, TestServer};
use driver::SoakConfig;

fn usage() -> ! {
    eprintln!("usage: soak [--backend sqlite|postgres] [--seconds N] [--clients N] [--organizations N]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut backend = Backend::Sqlite;
    let mut config = SoakConfig {
        duration: Duration::from_secs(120),
        clients: 32,
        organizations: 2,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--backend" => {
                backend = match value.as_str() {
                    "sqlite" => Backend::Sqlite,
                    "postgres" => Backend::Postgres,
                    _ => usage(),
                }
            }
            "--seconds" => config.duration = Duration::from_secs(value.parse().unwrap_or_else(|_| usage())),
            "--clients" => config.clients = value.parse().unwrap_or_else(|_| usage()),
            "--organizations" => config.organizations = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let Some(server) = TestServer::start(backend).await else {
        eprintln!("set AUDIT_TEST_POSTGRES_URL to soak PostgreSQL");
        std::process::exit(2);
    };
    println!(
        "soak: {backend:?}, {} clients over {} organizations, {:?}",
        config.clients, config.organizations, config.duration
    );
    let report = driver::run(&server, &config).await;
    println!("{report}");
    if !report.clean() {
        std::process::exit(1);
    }
}
