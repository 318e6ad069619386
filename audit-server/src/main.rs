//! `audit-server`: runs the server (default), applies migrations, prints the OpenAPI document,
//! purges, or imports a Langfuse audit trail.

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
    /// Import a Langfuse `audit_logs` table (re-runs import only rows not imported yet), print
    /// what it did as one JSON line and exit.
    ImportLangfuse(ImportLangfuseArgs),
}

/// The arguments of `import-langfuse`.
#[derive(Debug, clap::Args)]
struct ImportLangfuseArgs {
    /// The Langfuse database: `postgres://USER@HOST:PORT/DB`.
    #[arg(long)]
    from: String,
    /// The JSON file mapping Langfuse organization ids to ours; read if present, written with
    /// every organization the import creates.
    #[arg(long, default_value = "langfuse-organizations.json")]
    mapping: std::path::PathBuf,
    /// The database to import into (overrides `AUDIT_DATABASE_URL`).
    #[arg(long = "database-url")]
    database_url: Option<String>,
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
        Command::ImportLangfuse(args) => {
            let mut config = cli.config;
            if let Some(url) = args.database_url {
                config.database_url = url;
            }
            config.validate()?;
            let store = Store::connect(&config.database_url).await?;
            store.migrate().await?;
            let mut catalog = audit_core::Catalog::langfuse();
            catalog.extend(&audit_server::store::catalog::service_entries());
            catalog.extend(&config.catalog_file()?);
            let options = audit_server::import::langfuse::ImportOptions {
                from: args.from,
                mapping: args.mapping,
                limits: config.event_limits(),
                catalog,
                progress: true,
            };
            let report = audit_server::import::langfuse::import(&store, &options).await?;
            println!("{}", serde_json::to_string(&report)?);
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
