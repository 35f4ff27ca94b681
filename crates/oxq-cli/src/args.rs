//! The command line's grammar (clap derive): global options and one variant per command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Inspect and steer oxq queues, and run workers in any language.
///
/// Exit codes: 0 ok, 1 failure, 2 usage (bad arguments, a malformed URL or job option),
/// 3 not found (an unknown job id, scheduler or queue).
#[derive(Debug, Parser)]
#[command(name = "oxq", version)]
pub struct Cli {
    /// Store URL (sqlite://FILE, redis://HOST:PORT, ...); default: $OXQ_URL, else sqlite://oxq.db.
    /// An empty value is an error, never the default.
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Key prefix of the queues.
    #[arg(long, global = true, default_value = oxq::DEFAULT_PREFIX)]
    pub prefix: String,
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// `--queue Q`, for every command on one queue.
#[derive(Debug, Args)]
pub struct QueueArg {
    /// The queue's name.
    #[arg(long)]
    pub queue: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The queues under the prefix.
    Queues,
    /// How many jobs the queue holds in each state.
    Counts(QueueArg),
    /// A page of the jobs in one state.
    List {
        /// waiting, prioritized, delayed, active, waiting-children, completed or failed.
        state: oxq::JobState,
        #[command(flatten)]
        queue: QueueArg,
        #[arg(long, default_value_t = 0)]
        offset: u64,
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Everything about one job: data, options, state, progress, attempts, errors, logs, flow,
    /// durable steps.
    Get {
        id: String,
        #[command(flatten)]
        queue: QueueArg,
    },
    /// Add one job from flags, or many from a JSON-lines file.
    Add(AddArgs),
    /// Run a failed or completed job again, or every failed job with --all.
    Retry {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        queue: QueueArg,
    },
    /// Remove a job no worker holds.
    Remove {
        id: String,
        #[command(flatten)]
        queue: QueueArg,
    },
    /// Make a delayed job runnable now.
    Promote {
        id: String,
        #[command(flatten)]
        queue: QueueArg,
    },
    /// Cancel a job: one not yet running fails now with the reason "cancelled"; a running one
    /// too, and its worker stops it at its next lock renewal.
    Cancel {
        id: String,
        #[command(flatten)]
        queue: QueueArg,
    },
    /// Stop workers from starting jobs (jobs keep arriving).
    Pause(QueueArg),
    /// Let workers start jobs again.
    Resume(QueueArg),
    /// Remove every waiting job (and delayed ones with --delayed).
    Drain {
        #[command(flatten)]
        queue: QueueArg,
        #[arg(long)]
        delayed: bool,
    },
    /// Remove up to --limit jobs in one state older than --grace-ms.
    Clean {
        state: oxq::JobState,
        #[command(flatten)]
        queue: QueueArg,
        #[arg(long, default_value_t = 0)]
        grace_ms: u64,
        #[arg(long, default_value_t = 1000)]
        limit: u64,
    },
    /// Delete the queue and all its jobs (asks first on a terminal unless --yes).
    Obliterate {
        #[command(flatten)]
        queue: QueueArg,
        /// Also when jobs are active.
        #[arg(long)]
        force: bool,
        /// Do not ask; required when stdin is not a terminal.
        #[arg(long)]
        yes: bool,
    },
    /// Job schedulers (cron or fixed-interval repeats).
    Schedulers {
        #[command(subcommand)]
        command: SchedulersCommand,
    },
    /// Dead letter queues: name one for a queue, list, replay and purge its dead jobs.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// A queue's global rate limit and concurrency, shared by all its workers.
    Limit {
        #[command(subcommand)]
        command: LimitCommand,
    },
    /// Run jobs with a command: data on stdin, return value on stdout.
    Worker(WorkerArgs),
    /// Check the store's deployment (BullMQ's production guide): one ok/warn/fail line per
    /// check; exit 1 when a check fails (or warns, with --strict).
    Doctor(DoctorArgs),
    /// Serve the dashboard over HTTP: pages (/), JSON API (/api), Prometheus metrics (/metrics).
    Dashboard(DashboardArgs),
    /// Measure the stores: add and process throughput, start latency at a steady rate,
    /// delayed-job lateness; beside Node BullMQ on Redis with --node.
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// IP:PORT to listen on; an address other than loopback needs --token.
    #[arg(long)]
    pub listen: std::net::SocketAddr,
    /// Every request must carry `Authorization: Bearer <TOKEN>` (visible in `ps`: prefer
    /// $OXQ_DASHBOARD_TOKEN).
    #[arg(long)]
    pub token: Option<String>,
    /// Refuse every action (retry, remove, promote, pause, resume, clean) with 403.
    #[arg(long)]
    pub read_only: bool,
    /// Leave job data and return values out of every answer.
    #[arg(long)]
    pub hide_data: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Exit 1 on warnings too, not only on failed checks.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub queue: QueueArg,
    /// Job name (for --file: the name of lines that give none).
    #[arg(long, default_value = "default")]
    pub name: String,
    /// The job's data, as JSON.
    #[arg(long, conflicts_with = "file")]
    pub data: Option<String>,
    /// A JSON-lines file: one job's data per line, or {"name", "data", "opts"} objects.
    #[arg(long)]
    pub file: Option<PathBuf>,
    #[arg(long, conflicts_with = "file")]
    pub delay_ms: Option<u64>,
    #[arg(long, conflicts_with = "file")]
    pub priority: Option<u32>,
    #[arg(long, conflicts_with = "file")]
    pub attempts: Option<u32>,
    #[arg(long, conflicts_with = "file")]
    pub job_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SchedulersCommand {
    /// The queue's schedulers, soonest next run first.
    List {
        #[command(flatten)]
        queue: QueueArg,
        #[arg(long, default_value_t = 0)]
        offset: u64,
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Create a scheduler or replace its schedule and template.
    Upsert {
        id: String,
        #[command(flatten)]
        queue: QueueArg,
        /// A cron pattern (5 fields, or 6 with seconds first).
        #[arg(
            long,
            required_unless_present = "every_ms",
            conflicts_with = "every_ms"
        )]
        cron: Option<String>,
        /// The IANA time zone of --cron (default UTC).
        #[arg(long, requires = "cron")]
        tz: Option<String>,
        /// Run every N milliseconds.
        #[arg(long)]
        every_ms: Option<u64>,
        /// Name of the jobs each run adds.
        #[arg(long, default_value = "default")]
        name: String,
        /// Data of the jobs each run adds, as JSON (default null).
        #[arg(long)]
        data: Option<String>,
    },
    /// Remove a scheduler and its pending run.
    Remove {
        id: String,
        #[command(flatten)]
        queue: QueueArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum LimitCommand {
    /// The queue's limits, and until when it is rate limited now.
    Get {
        #[command(flatten)]
        queue: QueueArg,
    },
    /// Set the global rate limit (at most MAX starts per DURATION: 10/1s, 100/500ms, 5/2m)
    /// and/or the global concurrency.
    Set {
        #[command(flatten)]
        queue: QueueArg,
        #[arg(long)]
        rate: Option<crate::worker::RateLimitArg>,
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        concurrency: Option<u32>,
    },
    /// Remove the global rate limit and/or the global concurrency.
    Remove {
        #[command(flatten)]
        queue: QueueArg,
        #[arg(long)]
        rate: bool,
        #[arg(long)]
        concurrency: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Send the jobs of --queue that fail for good to queue DEAD_LETTER_QUEUE (same prefix).
    Set {
        #[command(flatten)]
        queue: QueueArg,
        dead_letter_queue: String,
    },
    /// Stop sending the jobs of --queue anywhere when they fail for good.
    Unset {
        #[command(flatten)]
        queue: QueueArg,
    },
    /// The dead jobs --queue (a dead letter queue) holds, oldest first.
    List {
        #[command(flatten)]
        queue: QueueArg,
        #[arg(long, default_value_t = 0)]
        offset: u64,
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Add dead jobs back to their source queues (attempts reset).
    Replay {
        #[command(flatten)]
        queue: QueueArg,
        /// Ids of dead jobs in --queue.
        ids: Vec<String>,
        /// Every dead job of --queue.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
    /// Delete dead jobs.
    Purge {
        #[command(flatten)]
        queue: QueueArg,
        /// Ids of dead jobs in --queue.
        ids: Vec<String>,
        /// Every dead job of --queue.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub queue: QueueArg,
    /// The command each job runs, through `sh -c` (pipes, quoting and variables work as in a
    /// shell): job data on stdin, return value (JSON) on stdout.
    #[arg(long)]
    pub exec: String,
    /// Jobs run at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// Kill the command (and its process group) after this long; the attempt fails.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: Option<u64>,
    /// Exit after this many jobs finished (completed, or failed with no attempt left).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// On SIGTERM/SIGINT, how long running commands may finish before they are killed and
    /// their jobs handed back.
    #[arg(long, default_value_t = 30_000)]
    pub close_timeout_ms: u64,
    /// At most MAX jobs started per DURATION across every worker of the queue: `10/1s`,
    /// `100/500ms`, `5/2m`.
    #[arg(long, value_name = "MAX/DURATION")]
    pub rate_limit: Option<crate::worker::RateLimitArg>,
}
