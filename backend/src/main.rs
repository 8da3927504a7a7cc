//! The `wharf` command line: `serve`, `worker`, `migrate`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wharf::config::Config;
use wharf::{server, store, telemetry};

#[derive(Parser)]
#[command(name = "wharf", version, about = "A data marketplace for a data lake")]
struct Cli {
    /// A TOML configuration file; WHARF_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and API, with an in-process job worker.
    Serve {
        /// Fill the catalog with sample domains, products and tables.
        #[arg(long)]
        demo: bool,
    },
    /// Run background jobs only, beside one or more `serve` processes.
    Worker,
    /// Bring the database schema up to date and exit.
    Migrate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    telemetry::init_logging(&config)?;
    config.warn_about_ignored_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { demo } => server::serve(config, demo).await,
            Command::Worker => server::work(config).await,
            Command::Migrate => {
                let store = store::open(&config.database_url).await?;
                let version = store.schema_version().await?;
                println!(
                    "database {} is at schema version {version}",
                    config.database_url.redacted()
                );
                store.close().await;
                Ok(())
            }
        }
    })
}
