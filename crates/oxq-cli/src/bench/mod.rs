//! `oxq bench`: throughput and latency of the stores, one program for what three earlier
//! benchmark programs measured (the embedded store; Redis beside Node BullMQ; the Backend trait
//! alone), plus two steady-rate scenarios.
//!
//! Scenario families, one module each: [`throughput`] (`add`, `add_bulk`, `process_cC`),
//! [`store_loop`] (`store_add_bulk`, `store_fetch_finish`), [`steady`] (`start_latency`,
//! `delayed_lateness`); [`node`] runs Node BullMQ's side of all but the store loop, [`target`]
//! opens the stores, [`stats`] times and summarizes, [`report`] prints a table per store or
//! one JSON line per scenario. A benchmark prints figures; it asserts nothing about them.

pub mod node;
pub mod report;
pub mod stats;
pub mod steady;
pub mod store_loop;
pub mod target;
pub mod throughput;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::output::print_json;
use report::{Figures, ScenarioResult};
use stats::{Measure, Percentiles};
use steady::Steady;
use store_loop::Loop;
use target::{StoreKind, Target};

/// A scenario family `--only` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Family {
    /// `add`: jobs added one by one, each awaited.
    Add,
    /// `add_bulk`: jobs added in batches of --batch.
    AddBulk,
    /// `process_cC`: jobs added beforehand, processed at each --concurrency.
    Process,
    /// `store_add_bulk` and `store_fetch_finish`: the Backend trait alone.
    Store,
    /// `start_latency`: add → processor start at --latency-rate.
    StartLatency,
    /// `delayed_lateness`: processor start − due time at --delayed-rate.
    Delayed,
}

/// `oxq bench`'s options.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The stores to measure. Redis: the server `--url` (or $OXQ_URL) names when it is a Redis
    /// URL, else a redis-server started for the run on a free port.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,redis")]
    pub store: Vec<StoreKind>,
    /// Run only these scenario families (default: all).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<Family>,
    /// Jobs per throughput scenario.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: u64,
    /// Runs of each scenario; tables show medians (latencies: percentiles of all runs' jobs).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// The worker concurrencies of `process_cC`.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: Vec<u32>,
    /// Jobs per add_bulk call (default: 5000 on SQLite, 1000 on Redis).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: Option<u64>,
    /// Tasks fetching and finishing at once in `store_fetch_finish`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub store_workers: u32,
    /// Jobs per fetch in `store_fetch_finish`.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub per_fetch: u32,
    /// Jobs per second added in `start_latency`.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub latency_rate: u32,
    /// Seconds of adding in `start_latency`.
    #[arg(long, default_value_t = 10.0)]
    pub latency_seconds: f64,
    /// The worker's concurrency in `start_latency` and `delayed_lateness`.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub latency_concurrency: u32,
    /// Delayed jobs per second added in `delayed_lateness`.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub delayed_rate: u32,
    /// Seconds of adding in `delayed_lateness`.
    #[arg(long, default_value_t = 5.0)]
    pub delayed_seconds: f64,
    /// The delay of each job in `delayed_lateness`.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub delay_ms: u64,
    /// Also run Node BullMQ's side of every chosen scenario but the store loop, on the same
    /// Redis, side by side; NODE is the node binary (default `node`).
    #[arg(long, num_args = 0..=1, default_missing_value = "node", value_name = "NODE")]
    pub node: Option<String>,
    /// The directory whose node_modules holds bullmq and ioredis (default: tests/interop of
    /// the source tree oxq was built from).
    #[arg(long, requires = "node")]
    pub node_dir: Option<PathBuf>,
    /// Where the SQLite files go (in a temporary directory inside it, removed at the end);
    /// default: the system's temporary directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Give every job of the throughput and store-loop scenarios one of N group keys (g0 ..
    /// gN-1, round robin), so workers take them round-robin across N groups: the cost of
    /// tenant fairness. Needs a store with job groups; Node BullMQ has none (no --node).
    #[arg(long, value_name = "N", conflicts_with = "node",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub groups: Option<u32>,
    /// Workers of the throughput and store-loop scenarios record BullMQ's per-minute metrics,
    /// keeping POINTS data points (`WorkerOptions::metrics`): the cost of recording them.
    #[arg(long, value_name = "POINTS", conflicts_with = "node",
          value_parser = clap::value_parser!(u32).range(1..=525_600))]
    pub metrics: Option<u32>,
}

impl BenchArgs {
    fn runs(&self, family: Family) -> bool {
        self.only.is_empty() || self.only.contains(&family)
    }

    fn batch_for(&self, store: StoreKind) -> usize {
        let default = match store {
            StoreKind::Sqlite => 5_000,
            StoreKind::Redis => 1_000,
        };
        self.batch.map_or(default, |b| b as usize)
    }

    fn check(&self) -> CliResult<()> {
        for (flag, seconds) in [
            ("--latency-seconds", self.latency_seconds),
            ("--delayed-seconds", self.delayed_seconds),
        ] {
            if !(seconds.is_finite() && seconds > 0.0) {
                return Err(CliError::Usage(format!(
                    "{flag} must be a positive number of seconds, not {seconds}"
                )));
            }
        }
        if self.node.is_some() && !self.store.contains(&StoreKind::Redis) {
            return Err(CliError::Usage(
                "--node compares with BullMQ on Redis: add redis to --store".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Runs the benchmark. `url_flag` is `--url` as given and `env_url` `$OXQ_URL`: a Redis URL
/// names the server to measure; another scheme in `--url` is a usage error (the SQLite files
/// are the benchmark's own, see `--dir`), in `$OXQ_URL` it is not used.
pub async fn run(
    args: &BenchArgs,
    url_flag: Option<&str>,
    env_url: Option<&str>,
    prefix: &str,
    json: bool,
) -> CliResult<()> {
    args.check()?;
    let redis_url = redis_url(url_flag, env_url)?;
    // each store once, in the order given
    let mut stores: Vec<StoreKind> = Vec::new();
    for kind in &args.store {
        if !stores.contains(kind) {
            stores.push(*kind);
        }
    }
    let mut node_failure = None;
    for kind in stores {
        let target = match kind {
            StoreKind::Sqlite => Target::sqlite(args.dir.as_deref())?,
            StoreKind::Redis => Target::redis(redis_url.as_deref(), prefix).await?,
        };
        if args.groups.is_some() {
            check_groups(&target).await?;
        }
        let outcome = bench_store(args, &target).await?;
        if let Some(failure) = outcome.node_failure {
            node_failure = Some(failure);
        }
        if json {
            for result in &outcome.results {
                print_json(&result.to_json());
            }
        } else {
            let heading = format!(
                "{}: {}{}; {} jobs per throughput scenario{}, median of {} runs; {} cores",
                kind.label(),
                target.describe().await,
                outcome
                    .node_about
                    .map(|about| format!(", beside Node BullMQ ({about})"))
                    .unwrap_or_default(),
                args.jobs,
                args.groups
                    .map(|n| format!(" (each in one of {n} groups)"))
                    .unwrap_or_default(),
                args.runs,
                std::thread::available_parallelism().map_or(0, |n| n.get()),
            );
            report::print_table(
                &heading,
                &outcome.results,
                args.node.is_some() && kind == StoreKind::Redis,
            );
        }
    }
    match node_failure {
        Some(failure) => Err(CliError::Failed(format!(
            "Node BullMQ could not run: {failure}"
        ))),
        None => Ok(()),
    }
}

/// Refuses `--groups` on a store without job groups, before any scenario runs (the store
/// loop adds through the `Backend` trait, which would not say so itself).
async fn check_groups(target: &Target) -> CliResult<()> {
    let probe = target.fresh_queue("groups", 0).await?;
    let backend = probe.queue.backend().clone();
    target.clean_up(&probe).await?;
    if backend.groups().is_some() {
        return Ok(());
    }
    let unsupported = oxq::Error::Unsupported {
        store: backend.kind(),
        operation: "job groups",
    };
    Err(CliError::Failed(format!(
        "oxq bench --groups: {unsupported}; measure groups with --store sqlite"
    )))
}

/// The Redis server to measure: a Redis URL from `--url`, else from `$OXQ_URL`; `None`: start
/// one.
fn redis_url(url_flag: Option<&str>, env_url: Option<&str>) -> CliResult<Option<String>> {
    let is_redis = |url: &str| {
        url.split_once("://")
            .is_some_and(|(scheme, _)| oxq::redis::URL_SCHEMES.contains(&scheme))
    };
    match url_flag {
        Some(url) if is_redis(url) => Ok(Some(url.to_owned())),
        Some(url) => Err(CliError::Usage(format!(
            "oxq bench measures fresh SQLite files of its own (--dir DIR says where); --url \
             names a Redis server, not {url}"
        ))),
        None => Ok(env_url.filter(|url| is_redis(url)).map(str::to_owned)),
    }
}

/// What one store's benchmark found.
#[derive(Debug)]
struct StoreOutcome {
    results: Vec<ScenarioResult>,
    node_about: Option<String>,
    node_failure: Option<String>,
}

/// Runs every chosen scenario `--runs` times on `target` (beside Node BullMQ on Redis with
/// `--node`, the two sides taking turns going first).
async fn bench_store(args: &BenchArgs, target: &Target) -> CliResult<StoreOutcome> {
    let kind = target.kind();
    let jobs = args.jobs as usize;
    let batch = args.batch_for(kind);
    let concurrency: Vec<usize> = args.concurrency.iter().map(|&c| c as usize).collect();
    let latency_load = Steady {
        rate: args.latency_rate,
        seconds: args.latency_seconds,
        concurrency: args.latency_concurrency as usize,
    };
    let delayed_load = Steady {
        rate: args.delayed_rate,
        seconds: args.delayed_seconds,
        concurrency: args.latency_concurrency as usize,
    };
    let delay = Duration::from_millis(args.delay_ms);
    let shape = Loop {
        workers: args.store_workers as usize,
        per_call: args.per_fetch,
    };
    let node_params = node::NodeParams {
        scenarios: [
            (Family::Add, "add"),
            (Family::AddBulk, "add_bulk"),
            (Family::Process, "process"),
            (Family::StartLatency, "start_latency"),
            (Family::Delayed, "delayed_lateness"),
        ]
        .into_iter()
        .filter(|(family, _)| args.runs(*family))
        .map(|(_, name)| name)
        .collect(),
        jobs,
        batch,
        concurrency: concurrency.clone(),
        latency: latency_load,
        delayed: delayed_load,
        delay_ms: args.delay_ms,
    };
    // Node BullMQ has no side in the Backend-level scenarios
    let with_node = args
        .node
        .as_deref()
        .filter(|_| kind == StoreKind::Redis && !node_params.scenarios.is_empty());
    let node_dir = args.node_dir.clone().unwrap_or_else(node::default_node_dir);

    let mut runs: BTreeMap<String, Vec<Measure>> = BTreeMap::new();
    let mut bullmq: BTreeMap<String, Vec<Measure>> = BTreeMap::new();
    let mut latency: Vec<f64> = Vec::new();
    let mut lateness: Vec<f64> = Vec::new();
    let mut bullmq_samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut node_about = None;
    let mut node_failure = None;
    let progress = std::io::stderr().is_terminal();
    let say = |what: &str, run: usize| {
        if progress {
            eprintln!("{} run {}/{}: {what}", kind.label(), run + 1, args.runs);
        }
    };
    for run in 0..args.runs as usize {
        let node_first = run % 2 == 1;
        for node_side in [node_first, !node_first] {
            if node_side {
                let Some(node_bin) = with_node.filter(|_| node_failure.is_none()) else {
                    continue;
                };
                say("Node BullMQ", run);
                let url = target.redis_url().unwrap_or_default();
                match node::run(node_bin, &node_dir, url, run, &node_params).await {
                    Ok(node_run) => {
                        node_about = Some(node_run.about);
                        for (scenario, measure) in node_run.measures {
                            bullmq.entry(scenario).or_default().push(measure);
                        }
                        for (scenario, samples) in node_run.samples {
                            bullmq_samples.entry(scenario).or_default().extend(samples);
                        }
                    }
                    Err(e) => node_failure = Some(e.to_string()),
                }
                continue;
            }
            if args.runs(Family::Add) {
                say("add", run);
                let m = throughput::add_one_by_one(target, run, jobs, args.groups).await?;
                runs.entry("add".to_owned()).or_default().push(m);
            }
            if args.runs(Family::AddBulk) {
                say("add_bulk", run);
                let m = throughput::add_in_bulk(target, run, jobs, batch, args.groups).await?;
                runs.entry("add_bulk".to_owned()).or_default().push(m);
            }
            if args.runs(Family::Process) {
                for &c in &concurrency {
                    say(&format!("process_c{c}"), run);
                    let m =
                        throughput::process(target, run, jobs, batch, c, args.groups, args.metrics)
                            .await?;
                    runs.entry(format!("process_c{c}")).or_default().push(m);
                }
            }
            if args.runs(Family::Store) {
                say("store_add_bulk, store_fetch_finish", run);
                let (added, processed) = store_loop::add_then_process(
                    target,
                    run,
                    jobs,
                    batch,
                    shape,
                    args.groups,
                    args.metrics,
                )
                .await?;
                runs.entry("store_add_bulk".to_owned())
                    .or_default()
                    .push(added);
                runs.entry("store_fetch_finish".to_owned())
                    .or_default()
                    .push(processed);
            }
            if args.runs(Family::StartLatency) {
                say("start_latency", run);
                latency.extend(steady::start_latency(target, run, latency_load).await?);
            }
            if args.runs(Family::Delayed) {
                say("delayed_lateness", run);
                lateness.extend(steady::delayed_lateness(target, run, delayed_load, delay).await?);
            }
        }
    }

    let mut results = Vec::new();
    let mut throughput = |scenario: String, detail: String| {
        let detail = match args.groups {
            Some(n) => format!("{detail}, {n} groups"),
            None => detail,
        };
        let detail = match args.metrics {
            Some(points) => format!("{detail}, metrics recorded ({points} points)"),
            None => detail,
        };
        if let Some(measures) = runs.remove(&scenario) {
            results.push(ScenarioResult {
                store: kind,
                figures: Figures::Throughput {
                    jobs,
                    runs: measures,
                    bullmq: bullmq.remove(&scenario).unwrap_or_default(),
                },
                scenario,
                detail,
            });
        }
    };
    throughput("add".to_owned(), "one by one, each awaited".to_owned());
    throughput("add_bulk".to_owned(), format!("batches of {batch}"));
    for &c in &concurrency {
        throughput(
            format!("process_c{c}"),
            format!("no-op processor, concurrency {c}"),
        );
    }
    throughput(
        "store_add_bulk".to_owned(),
        format!("Backend::job_add_bulk, batches of {batch}"),
    );
    throughput(
        "store_fetch_finish".to_owned(),
        format!(
            "Backend fetch+finish, {} task(s), {} per fetch",
            shape.workers, shape.per_call
        ),
    );
    if args.runs(Family::StartLatency) {
        results.push(ScenarioResult {
            store: kind,
            scenario: "start_latency".to_owned(),
            detail: format!(
                "add → processor start, {} jobs/s for {} s, concurrency {}",
                latency_load.rate, latency_load.seconds, latency_load.concurrency
            ),
            figures: Figures::Latency {
                samples: Percentiles::new(latency),
                bullmq: bullmq_samples.remove("start_latency").map(Percentiles::new),
                percentiles: &[50.0, 95.0, 99.0],
                params: json!({
                    "rate": latency_load.rate,
                    "seconds": latency_load.seconds,
                    "concurrency": latency_load.concurrency,
                    "runs": args.runs,
                }),
            },
        });
    }
    if args.runs(Family::Delayed) {
        results.push(ScenarioResult {
            store: kind,
            scenario: "delayed_lateness".to_owned(),
            detail: format!(
                "processor start − due, {} jobs/s delayed {} ms for {} s, concurrency {}",
                delayed_load.rate, args.delay_ms, delayed_load.seconds, delayed_load.concurrency
            ),
            figures: Figures::Latency {
                samples: Percentiles::new(lateness),
                bullmq: bullmq_samples
                    .remove("delayed_lateness")
                    .map(Percentiles::new),
                percentiles: &[50.0, 99.0],
                params: json!({
                    "rate": delayed_load.rate,
                    "seconds": delayed_load.seconds,
                    "delay_ms": args.delay_ms,
                    "concurrency": delayed_load.concurrency,
                    "runs": args.runs,
                }),
            },
        });
    }
    Ok(StoreOutcome {
        results,
        node_about,
        node_failure,
    })
}
