//! `audit-witness`: runs a C2SP tlog-witness of audit-log checkpoints
//! ([`audit_server::witness`]), or prints its verifier key.

use audit_server::shutdown_signal;
use audit_server::witness::Witness;
use audit_server::witness::cli::{WitnessCli, WitnessCommand};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = WitnessCli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    if let Some(WitnessCommand::Vkey { key }) = cli.command {
        println!("{}", key.cosigner()?.0.verifier().vkey());
        return Ok(());
    }
    let config = cli.serve.config(&cli.key)?;
    let logs: Vec<String> = config.logs.iter().map(|log| log.vkey()).collect();
    let witness = Witness::start(config).await?;
    println!("audit-witness: vkey {}", witness.vkey());
    tracing::info!(address = %witness.local_addr(), ?logs, "audit witness listening");
    shutdown_signal().await;
    witness.stop().await?;
    Ok(())
}
