//! `steward`: Steward on one machine. `steward serve` runs every function's HTTP routes in
//! one process, through the same handlers the Lambdas run, on the embedded adapters.

mod hubspot;
mod run;
mod sandbox;
mod seed;
mod server;

use clap::{Parser, Subcommand};

/// mimalloc: planning threads allocate and free many small strings (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "steward",
    version,
    about = "Self-hosted CRM data quality for HubSpot and Salesforce"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve Steward on 127.0.0.1 with embedded storage under --data-dir (no AWS needed).
    Serve(server::ServeArgs),
    /// Run the sandbox CRM (HubSpot and Salesforce wire formats) with seeded dirty data.
    Sandbox(sandbox::SandboxArgs),
    /// Write the sandbox's generated contacts (dirty, with duplicates) to a CSV file.
    SandboxExport(sandbox::ExportArgs),
    /// Run a template over a CSV file offline: DIR/preview.csv, and with --apply DIR/result.csv.
    Run(run::RunArgs),
    /// HubSpot set-up: `steward hubspot register-action` registers the workflow action.
    Hubspot(hubspot::HubspotArgs),
    /// Print the OpenAPI document that `GET /openapi.json` serves (to generate clients offline).
    Openapi,
    /// Write N finished runs into a stopped server's data directory, as its Owner (benchmarks).
    #[command(hide = true)]
    SeedRuns(seed::SeedArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // Before logging starts: log lines go to stdout, which is the document's.
        Command::Openapi => print_openapi(),
        command => run_command(command),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("steward: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_command(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    steward_shared::telemetry::init(std::env::var("STEWARD_LOG_FORMAT").is_ok_and(|v| v == "json"));
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    match command {
        Command::Serve(args) => runtime.block_on(server::serve(args)),
        Command::Sandbox(args) => runtime.block_on(sandbox::run(args)),
        Command::Run(args) => runtime.block_on(run::run(args)),
        Command::SandboxExport(args) => sandbox::export(args),
        Command::SeedRuns(args) => runtime.block_on(seed::run(args)),
        Command::Hubspot(args) => runtime.block_on(hubspot::run(args)),
        Command::Openapi => print_openapi(),
    }
}

/// `steward openapi`: the document exactly as `/openapi.json` serves it, no server needed.
fn print_openapi() -> Result<(), Box<dyn std::error::Error>> {
    let doc = steward_shared::openapi::document(steward_shared::app::VERSION);
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}
