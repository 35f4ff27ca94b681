//! Run with: `cargo run --example order_saga [-- --orders 3 --sleep-ms 2000] [--url redis://...]`
//!
//! An order workflow as one job made of durable steps: fetch the order, charge the card, send
//! the confirmation email, sleep 30 minutes (`--sleep-ms` shortens it), then ask for a review.
//!
//! * Each [`Job::step`] runs once: its result is stored with the job as soon as it returns, so
//!   when the job runs again (a retry, a crash of this process, the resume after the sleep) the
//!   finished steps hand back their stored results and only the next step runs.
//! * The charge passes [`Job::idempotency_key`] to the (simulated) payment API: a charge that
//!   ran but was not recorded before a crash is deduplicated by the API, not charged twice.
//! * The sleep ends the attempt: the job waits in delayed, holding no worker slot and using no
//!   attempt, and runs again when it is due.
//!
//! Without flags it adds `--orders` orders, works them to completion and prints each one's
//! report as a JSON line. `--no-add` and `--no-work` split that between processes (the crash
//! test starts workers that it kills with `kill -9`); `--ledger FILE` appends one line
//! `<order> <step>` per side effect to FILE, so a test can count how often each ran.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use oxq::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Runs order sagas: fetch, charge, confirm, sleep, ask for a review.
#[derive(Debug, Parser)]
#[command(name = "order_saga")]
struct Args {
    /// Store URL (default: the embedded store).
    #[arg(long, default_value = oxq::DEFAULT_URL)]
    url: String,
    /// How many orders to add, and to wait for.
    #[arg(long, default_value_t = 3)]
    orders: u64,
    /// How long each order sleeps before asking for a review (ms; 30 minutes by default).
    #[arg(long, default_value_t = 30 * 60 * 1000)]
    sleep_ms: u64,
    /// Simulated work in each step (ms).
    #[arg(long, default_value_t = 0)]
    step_ms: u64,
    /// Orders worked at once.
    #[arg(long, default_value_t = 10)]
    concurrency: usize,
    /// Append `<order> <step>` to this file for each side effect.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Do not add orders (another process did).
    #[arg(long)]
    no_add: bool,
    /// Only add the orders; start no worker.
    #[arg(long)]
    no_work: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Order {
    id: String,
    email: String,
    cents: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Charge {
    receipt: String,
    idempotency_key: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("order_saga: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let orders: Queue<Value> = Queue::connect(&args.url, "sagas").await?;
    if !args.no_add {
        let jobs = (1..=args.orders)
            .map(|n| {
                let id = format!("order-{n}");
                let options = JobOptions::new()
                    .job_id(&id)
                    .attempts(5)
                    .backoff(Backoff::fixed(Duration::from_millis(100)));
                ("order".to_owned(), json!({ "order": id }), options)
            })
            .collect();
        orders.add_bulk(jobs).await?;
    }
    if args.no_work {
        return Ok(());
    }
    let worker = Worker::try_start(
        &orders,
        WorkerOptions::new().concurrency(args.concurrency),
        {
            let saga = Saga {
                sleep: Duration::from_millis(args.sleep_ms),
                work: Duration::from_millis(args.step_ms),
                ledger: args.ledger.clone(),
            };
            move |job: Job| {
                let saga = saga.clone();
                async move { saga.run(&job).await }
            }
        },
    )?;
    // Another process may finish some orders: the queue's counts say when all are done (a
    // poll, since there is no event for "every job of the queue").
    while orders.counts().await?.completed < args.orders {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.close().await?;
    if args.ledger.is_none() {
        for job in orders
            .get_jobs(&[JobState::Completed], 0, args.orders, true)
            .await?
        {
            if let Some(report) = job.return_value::<Value>() {
                println!("{}", report?);
            }
        }
    }
    Ok(())
}

/// The saga's settings, shared by every run.
#[derive(Debug, Clone)]
struct Saga {
    sleep: Duration,
    work: Duration,
    ledger: Option<PathBuf>,
}

impl Saga {
    async fn run(&self, job: &Job) -> Result<Value, BoxError> {
        let id = job.data()["order"]
            .as_str()
            .ok_or("the job names no order")?
            .to_owned();
        let order: Order = job
            .step("fetch-order", || async {
                self.effect(&id, "fetch-order").await?;
                Ok::<_, BoxError>(Order {
                    id: id.clone(),
                    email: format!("{id}@example.com"),
                    cents: 4200,
                })
            })
            .await?;
        let charge: Charge = job
            .step("charge", || async {
                // a real payment API deduplicates on this key: a charge whose result was lost
                // in a crash is answered again, not made twice
                let idempotency_key = job.idempotency_key("charge");
                self.effect(&id, "charge").await?;
                Ok::<_, BoxError>(Charge {
                    receipt: format!("receipt-{}-{}", order.id, order.cents),
                    idempotency_key,
                })
            })
            .await?;
        let confirmation: String = job
            .step("confirm", || async {
                self.effect(&id, "confirm").await?;
                Ok::<_, BoxError>(format!("confirmation sent to {}", order.email))
            })
            .await?;
        job.sleep("wait-for-review", self.sleep).await?;
        let review: String = job
            .step("ask-review", || async {
                self.effect(&id, "ask-review").await?;
                Ok::<_, BoxError>(format!("review asked of {}", order.email))
            })
            .await?;
        Ok(json!({
            "order": order.id,
            "charge": charge,
            "confirmation": confirmation,
            "review": review,
        }))
    }

    /// The step's side effect: simulated work, then a line in the ledger.
    async fn effect(&self, order: &str, step: &str) -> Result<(), BoxError> {
        if !self.work.is_zero() {
            tokio::time::sleep(self.work).await; // simulated work, so a kill can land in it
        }
        if let Some(path) = &self.ledger {
            // one write(2) of one line with O_APPEND: lines of concurrent steps never mix
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            file.write_all(format!("{order} {step}\n").as_bytes())?;
        }
        Ok(())
    }
}
