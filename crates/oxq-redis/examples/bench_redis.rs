//! oxq's Redis store and Node BullMQ side by side, on the same Redis, in one run.
//!
//! Run with: `cargo run --release -p oxq-redis --example bench_redis -- [--jobs N] [--runs R]
//! [--concurrency 1,10,100] [--url redis://…] [--node node] [--node-dir DIR] [--no-node]
//! [--metrics POINTS]`
//!
//! Scenarios, each on a fresh queue (obliterated afterwards, outside the timing), for oxq
//! (`Queue`/`Worker`) and for BullMQ (`tests/interop/bench/node_bench.mjs`, spawned with
//! `node`, which prints JSON):
//! * `add`: N jobs added one by one, each awaited;
//! * `add_bulk`: N jobs added in bulks of 1,000;
//! * `process_cC`: N prefilled jobs processed by one worker at concurrency C (no-op
//!   processor), from the worker's start to its N-th completion.
//!
//! Each reports jobs/s and the Redis server's CPU per job (`INFO cpu`: `used_cpu_sys` +
//! `used_cpu_user` before and after). The table shows medians over the runs (the two sides
//! alternate who goes first) and the oxq/BullMQ ratios. Defaults: 20,000 jobs, 3 runs, a
//! `redis-server` of its own on a free port (no persistence), `node` from `PATH`, bullmq from
//! `tests/interop/node_modules` (`npm ci` there) or `--node-dir DIR` (DIR/node_modules).
//! A benchmark prints figures; it asserts nothing.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oxq_core::{JobOptions, Queue, QueueRef, Worker, WorkerEvent, WorkerOptions};
use oxq_redis::RedisOptions;
use serde_json::{Value, json};
use tokio::sync::Notify;

type Error = Box<dyn std::error::Error + Send + Sync>;

const BULK: usize = 1_000;

#[derive(Debug)]
struct Args {
    jobs: usize,
    runs: usize,
    concurrency: Vec<usize>,
    url: Option<String>,
    node: String,
    node_dir: Option<PathBuf>,
    no_node: bool,
    /// oxq's workers record BullMQ's per-minute metrics, keeping this many points.
    metrics: Option<u32>,
}

const USAGE: &str = "oxq's Redis store and Node BullMQ side by side, on the same Redis.

Usage: bench_redis [--jobs N] [--runs R] [--concurrency 1,10,100] [--url redis://…]
                   [--node node] [--node-dir DIR] [--no-node] [--metrics POINTS]

Without --url it starts a redis-server of its own on a free port.";

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        jobs: 20_000,
        runs: 3,
        concurrency: vec![1, 10, 100],
        url: None,
        node: "node".to_owned(),
        node_dir: None,
        no_node: false,
        metrics: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--no-node" {
            args.no_node = true;
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag} {value:?} is not a count: {e}");
        match flag.as_str() {
            "--jobs" => args.jobs = value.parse().map_err(bad)?,
            "--runs" => args.runs = value.parse::<usize>().map_err(bad)?.max(1),
            "--concurrency" => {
                args.concurrency = value
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .map_err(bad)?
            }
            "--url" => args.url = Some(value),
            "--node" => args.node = value,
            "--node-dir" => args.node_dir = Some(PathBuf::from(value)),
            "--metrics" => args.metrics = Some(value.parse().map_err(bad)?),
            other => {
                return Err(format!(
                    "unknown option {other}; expected --jobs, --runs, --concurrency, --url, \
                     --node, --node-dir, --no-node or --metrics"
                )
                .into());
            }
        }
    }
    Ok(args)
}

/// One timed scenario: wall seconds and Redis CPU seconds.
#[derive(Debug, Clone, Copy)]
struct Measure {
    seconds: f64,
    redis_cpu: f64,
}

/// Scenario name → one measure per run, per side.
type Results = BTreeMap<String, Vec<Measure>>;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // a sentence naming what failed, never `{:?}` of an error
            eprintln!("bench_redis: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let args = parse_args()?;
    let server = match &args.url {
        Some(_) => None,
        None => Some(OwnServer::start()?),
    };
    let url = args
        .url
        .clone()
        .or_else(|| server.as_ref().map(|s| s.url.clone()))
        .ok_or("no Redis")?;
    let mut raw = redis::Client::open(url.as_str())?
        .get_multiplexed_async_connection()
        .await?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut raw)
        .await?;
    let redis_version = info_field(&info, "redis_version").unwrap_or_default();

    let mut oxq = Results::new();
    let mut node = Results::new();
    let mut node_about = None;
    let mut node_error = None;
    for run in 0..args.runs {
        let node_first = run % 2 == 1;
        for side in if node_first { [1, 0] } else { [0, 1] } {
            if side == 0 {
                eprintln!("run {}: oxq", run + 1);
                run_oxq(&args, &url, run, &mut raw, &mut oxq).await?;
            } else if !args.no_node && node_error.is_none() {
                eprintln!("run {}: node bullmq", run + 1);
                match run_node(&args, &url, run, &mut node) {
                    Ok(about) => node_about = Some(about),
                    Err(e) => node_error = Some(e.to_string()),
                }
            }
        }
    }

    println!(
        "\noxq vs Node BullMQ on Redis {redis_version} ({}), {} jobs per scenario, median of {} \
         runs; {} cores",
        node_about.as_deref().unwrap_or("BullMQ not run"),
        args.jobs,
        args.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    if let Some(e) = &node_error {
        println!("Node BullMQ could not run: {e}");
    }
    print_table(&oxq, &node, &args);
    Ok(())
}

async fn run_oxq(
    args: &Args,
    url: &str,
    run: usize,
    raw: &mut redis::aio::MultiplexedConnection,
    results: &mut Results,
) -> Result<(), Error> {
    let backend = oxq_redis::connect(url, RedisOptions::default()).await?;
    let queue_for = |scenario: &str| -> Result<Queue<Value>, Error> {
        let queue = QueueRef::new(format!("bench-oxq-run{run}-{scenario}"))?;
        Ok(Queue::from_ref(backend.clone(), queue))
    };
    let jobs = args.jobs;

    let queue = queue_for("add")?;
    let m = measure(raw, async {
        for n in 0..jobs {
            queue
                .add("job", json!({ "n": n }), JobOptions::new())
                .await?;
        }
        Ok(())
    })
    .await?;
    record(results, "add", m);
    queue.obliterate(true).await?;

    let queue = queue_for("add_bulk")?;
    let m = measure(raw, add_bulk(&queue, jobs)).await?;
    record(results, "add_bulk", m);
    queue.obliterate(true).await?;

    for &c in &args.concurrency {
        let scenario = format!("process_c{c}");
        let queue = queue_for(&scenario)?;
        add_bulk(&queue, jobs).await?;
        let mut worker = None;
        let m = measure(raw, async {
            worker = Some(process_all(url, &queue, jobs, c, args.metrics).await?);
            Ok(())
        })
        .await?;
        if let Some(worker) = worker {
            worker.close().await?;
        }
        record(results, &scenario, m);
        queue.obliterate(true).await?;
    }
    Ok(())
}

async fn add_bulk(queue: &Queue<Value>, jobs: usize) -> Result<(), Error> {
    for start in (0..jobs).step_by(BULK) {
        let batch = (start..(start + BULK).min(jobs))
            .map(|n| ("job".to_owned(), json!({ "n": n }), JobOptions::new()))
            .collect();
        queue.add_bulk(batch).await?;
    }
    Ok(())
}

/// Starts a worker (with its own store, like a separate process) and returns it once it has
/// completed `jobs` jobs.
async fn process_all(
    url: &str,
    queue: &Queue<Value>,
    jobs: usize,
    concurrency: usize,
    metrics: Option<u32>,
) -> Result<Worker, Error> {
    let backend = oxq_redis::connect(url, RedisOptions::default()).await?;
    let queue: Queue<Value> = Queue::from_ref(backend, queue.queue_ref().clone());
    let done = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(Notify::new());
    let (count, notify) = (done.clone(), all_done.clone());
    let mut options = WorkerOptions::new().concurrency(concurrency);
    options.metrics = metrics;
    let options = options.on_event(move |event| match event {
        WorkerEvent::Completed { .. } if count.fetch_add(1, Ordering::Relaxed) + 1 == jobs => {
            notify.notify_one();
        }
        WorkerEvent::Failed { job_id, reason, .. } => {
            eprintln!("job {job_id} failed: {reason}");
        }
        _ => {}
    });
    let worker = Worker::try_start(&queue, options, |_job: oxq_core::Job<Value>| async {
        Ok::<_, std::convert::Infallible>(())
    })?;
    all_done.notified().await;
    Ok(worker)
}

async fn measure(
    raw: &mut redis::aio::MultiplexedConnection,
    body: impl std::future::Future<Output = Result<(), Error>>,
) -> Result<Measure, Error> {
    let cpu0 = redis_cpu(raw).await?;
    let started = Instant::now();
    body.await?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu1 = redis_cpu(raw).await?;
    Ok(Measure {
        seconds,
        redis_cpu: cpu1 - cpu0,
    })
}

async fn redis_cpu(raw: &mut redis::aio::MultiplexedConnection) -> Result<f64, Error> {
    let info: String = redis::cmd("INFO").arg("cpu").query_async(raw).await?;
    let field = |name| {
        info_field(&info, name)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok(field("used_cpu_sys") + field("used_cpu_user"))
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim().to_owned())
    })
}

fn record(results: &mut Results, scenario: &str, m: Measure) {
    results.entry(scenario.to_owned()).or_default().push(m);
}

/// Runs the Node script once (all scenarios); returns "bullmq X, node Y".
fn run_node(args: &Args, url: &str, run: usize, results: &mut Results) -> Result<String, Error> {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/bench/node_bench.mjs");
    let concurrency: Vec<String> = args.concurrency.iter().map(|c| c.to_string()).collect();
    let mut cmd = Command::new(&args.node);
    cmd.arg(&script)
        .args(["--url", url, "--jobs", &args.jobs.to_string()])
        .args(["--bulk", &BULK.to_string(), "--tag", &format!("run{run}")])
        .args(["--concurrency", &concurrency.join(",")])
        .stderr(Stdio::inherit());
    if let Some(dir) = &args.node_dir {
        cmd.env("BULLMQ_FROM", dir);
    }
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", args.node))?;
    if !output.status.success() {
        return Err(format!(
            "{} exited with {} (is bullmq installed? `npm ci` in tests/interop, or --node-dir)",
            script.display(),
            output.status
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with('{'))
        .ok_or("node_bench printed no JSON")?;
    let report: Value = serde_json::from_str(line)?;
    for r in report["results"].as_array().ok_or("no results")? {
        let scenario = r["scenario"].as_str().ok_or("no scenario")?;
        let m = Measure {
            seconds: r["seconds"].as_f64().ok_or("no seconds")?,
            redis_cpu: r["redis_cpu_seconds"].as_f64().ok_or("no cpu")?,
        };
        record(results, scenario, m);
    }
    Ok(format!(
        "bullmq {}, node {}",
        report["bullmq"].as_str().unwrap_or("?"),
        report["node"].as_str().unwrap_or("?")
    ))
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// Median jobs/s and median Redis CPU µs per job of one side's scenario.
fn summary(results: &Results, scenario: &str, jobs: usize) -> Option<(f64, f64)> {
    let runs = results.get(scenario)?;
    let rate = median(runs.iter().map(|m| jobs as f64 / m.seconds).collect())?;
    let cpu = median(
        runs.iter()
            .map(|m| m.redis_cpu * 1e6 / jobs as f64)
            .collect(),
    )?;
    Some((rate, cpu))
}

fn print_table(oxq: &Results, node: &Results, args: &Args) {
    let mut scenarios = vec!["add".to_owned(), "add_bulk".to_owned()];
    scenarios.extend(args.concurrency.iter().map(|c| format!("process_c{c}")));
    let cell = |v: Option<f64>, digits: usize| {
        v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
    };
    println!(
        "\n| scenario | oxq jobs/s | BullMQ jobs/s | oxq/BullMQ | oxq Redis CPU µs/job | BullMQ Redis CPU µs/job | oxq/BullMQ |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for s in &scenarios {
        let o = summary(oxq, s, args.jobs);
        let n = summary(node, s, args.jobs);
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        println!(
            "| {s} | {} | {} | {} | {} | {} | {} |",
            cell(o.map(|x| x.0), 0),
            cell(n.map(|x| x.0), 0),
            cell(ratio(o.map(|x| x.0), n.map(|x| x.0)), 2),
            cell(o.map(|x| x.1), 1),
            cell(n.map(|x| x.1), 1),
            cell(ratio(o.map(|x| x.1), n.map(|x| x.1)), 2),
        );
    }
    let per_run = |r: &Results, s: &str, figure: &dyn Fn(&Measure) -> String| -> String {
        r.get(s).map_or_else(String::new, |runs| {
            runs.iter().map(figure).collect::<Vec<_>>().join(" ")
        })
    };
    let rate = |m: &Measure| format!("{:.0}", args.jobs as f64 / m.seconds);
    let cpu = |m: &Measure| format!("{:.1}", m.redis_cpu * 1e6 / args.jobs as f64);
    println!("\nper run (jobs/s, oxq | BullMQ):");
    for s in &scenarios {
        println!(
            "  {s:<14} {} | {}",
            per_run(oxq, s, &rate),
            per_run(node, s, &rate)
        );
    }
    println!("\nper run (Redis CPU µs/job, oxq | BullMQ):");
    for s in &scenarios {
        println!(
            "  {s:<14} {} | {}",
            per_run(oxq, s, &cpu),
            per_run(node, s, &cpu)
        );
    }
}

/// A `redis-server` on a free loopback port without persistence, killed on drop.
struct OwnServer {
    child: Child,
    url: String,
}

impl OwnServer {
    fn start() -> Result<Self, Error> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server ({e}); install it or pass --url"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not start".into());
            }
            // the server is starting; nothing to wait on but its port
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        })
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
