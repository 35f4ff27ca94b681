//! The `oxq` command line as a library: [`main`] parses the arguments, opens the store and
//! runs one command; the binary only calls it.
//!
//! Store: `--url`, else `$OXQ_URL`, else `sqlite://oxq.db` (an empty value is an error).
//! Output: tables for people, `--json` for scripts. Errors: one sentence on stderr,
//! `oxq: ...`, with the exit codes of [`error`].

pub mod args;
pub mod bench;
pub mod commands;
pub mod error;
pub mod output;
pub mod store;
pub mod worker;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use commands::dlq;
use commands::limit;
use commands::{add, cancel, dashboard, doctor, inspect, schedulers, steer};
use error::{CliError, CliResult};
use store::Store;

/// Parses the process's arguments, runs the command, and answers the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(matches!(cli.command, Command::Worker(_)));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("oxq: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("oxq: {error}");
            error.exit_code()
        }
    }
}

/// Logs go to stderr: warnings and errors (a worker: its start and stop too); `RUST_LOG`
/// overrides.
fn init_logs(worker: bool) {
    let default = if worker { "info" } else { "error" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Runs one parsed command.
pub async fn run(cli: Cli) -> CliResult<()> {
    let url = store::url_of(cli.url.as_deref());
    if let Command::Doctor(args) = &cli.command {
        // doctor opens its own read-only connection: it must work where the store would refuse
        return doctor::run(&url, &cli.prefix, args, cli.json).await;
    }
    if let Command::Bench(args) = &cli.command {
        // bench opens stores of its own: fresh SQLite files, and a Redis server
        return run_bench(args, &cli).await;
    }
    let long_running = matches!(cli.command, Command::Worker(_) | Command::Dashboard(_));
    let store = Store::open(&url, &cli.prefix, long_running).await?;
    let json = cli.json;
    match &cli.command {
        Command::Queues => inspect::queues(&store, json).await,
        Command::Counts(q) => inspect::counts(&store, &q.queue, json).await,
        Command::List {
            state,
            queue,
            offset,
            limit,
        } => inspect::list(&store, &queue.queue, *state, *offset, *limit, json).await,
        Command::Get { id, queue } => inspect::get(&store, &queue.queue, id, json).await,
        Command::Add(args) => add::add(&store, args, json).await,
        Command::Retry { id, all, queue } => {
            if id.is_none() && !all {
                return Err(CliError::Usage("give a job id or --all".to_owned()));
            }
            steer::retry(&store, &queue.queue, id.as_deref(), json).await
        }
        Command::Remove { id, queue } => steer::remove(&store, &queue.queue, id, json).await,
        Command::Promote { id, queue } => steer::promote(&store, &queue.queue, id, json).await,
        Command::Cancel { id, queue } => cancel::cancel(&store, &queue.queue, id, json).await,
        Command::Pause(q) => steer::set_paused(&store, &q.queue, true, json).await,
        Command::Resume(q) => steer::set_paused(&store, &q.queue, false, json).await,
        Command::Drain { queue, delayed } => {
            steer::drain(&store, &queue.queue, *delayed, json).await
        }
        Command::Clean {
            state,
            queue,
            grace_ms,
            limit,
        } => steer::clean(&store, &queue.queue, *state, *grace_ms, *limit, json).await,
        Command::Obliterate { queue, force, yes } => {
            steer::obliterate(&store, &queue.queue, *force, *yes, json).await
        }
        Command::Schedulers { command } => schedulers::run(&store, command, json).await,
        Command::Dlq { command } => dlq::run(&store, command, json).await,
        Command::Limit { command } => limit::run(&store, command, json).await,
        Command::Worker(args) => worker::run(&store, args, json).await,
        Command::Dashboard(args) => dashboard::run(&store, args).await,
        // answered above, before any store is opened
        Command::Doctor(args) => doctor::run(&url, &cli.prefix, args, json).await,
        // answered above, before any store is opened
        Command::Bench(args) => run_bench(args, &cli).await,
    }
}

/// `oxq bench`: `--url` as given, and `$OXQ_URL`, may name the Redis server to measure.
async fn run_bench(args: &bench::BenchArgs, cli: &Cli) -> CliResult<()> {
    let env_url = std::env::var("OXQ_URL").ok();
    bench::run(
        args,
        cli.url.as_deref(),
        env_url.as_deref(),
        &cli.prefix,
        cli.json,
    )
    .await
}
