//! `audit-server`: runs the server (default), applies migrations, or prints the OpenAPI document.

use audit_server::config::Config;
use audit_server::store::Store;
use audit_server::{Application, shutdown_signal};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator: the server allocates in many small pieces on many
/// threads (sqlx runs each SQLite connection on a thread of its own), where glibc's per-thread
/// arenas kept freed memory and the process grew phase by phase (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "audit-server",
    version,
    about = "Immutable, tamper-evident audit logs over HTTP."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document and exit.
    Openapi,
    /// Run the retention purge for every organization with a retention period now, print what
    /// it did (one JSON line per organization) and exit.
    Purge,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(&cli.config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            print!("{}", audit_server::http::openapi::document_json());
        }
        Command::Migrate => {
            let store = Store::connect(&cli.config.database_url).await?;
            store.migrate().await?;
            tracing::info!("migrations applied");
        }
        Command::Purge => {
            cli.config.validate()?;
            let store = Store::connect(&cli.config.database_url).await?;
            store.migrate().await?;
            let signer = audit_server::state::checkpoint_signer(&cli.config, &store).await?;
            for report in audit_server::tasks::purger::purge_all(&store, &signer).await? {
                println!("{}", serde_json::to_string(&report)?);
            }
            store.close().await?;
        }
        Command::Serve => {
            if cli.config.admin_token.is_none() {
                tracing::warn!("AUDIT_ADMIN_TOKEN is not set: organizations and API keys cannot be created");
            }
            let application = Application::build(cli.config).await?;
            tracing::info!(address = %application.local_addr()?, "audit server listening");
            application.run_until(shutdown_signal()).await?;
        }
    }
    Ok(())
}

fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
