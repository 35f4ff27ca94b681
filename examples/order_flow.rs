//! Run with: `cargo run --example order_flow [-- --orders 3] [--url redis://...]`
//!
//! A parent/child flow per order: charge the card first, then send the email and the invoice
//! in parallel, then report the three results.
//!
//! * A [`FlowProducer`] writes each order as one tree, atomically: the parent `order` (queue
//!   `orders`) waits in waiting-children for its child `charge` (queue `payments`).
//! * Once the charge completed, the `order` job runs and adds two children of its own, `email`
//!   (queue `emails`) and `invoice` (queue `invoices`), then returns
//!   [`Outcome::WaitForChildren`]: it waits again, without using an attempt.
//! * When both are done it runs a third time, reads the three results with
//!   [`Job::children_values`] and completes with the report, which this program prints, one
//!   JSON line per order. A failed email is ignored (`ChildFailure::Ignore`, reported as
//!   `email_failed`); a failed charge fails the order (`ChildFailure::FailParent`).
//!
//! The children's ids derive from the order's (`email-<order>`), so an order that runs again
//! after a crash does not send a second email. Exits after `--orders` reports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Parser;
use oxq::prelude::*;
use oxq::{ChildFailure, ChildKey, FlowJob, FlowProducer};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// Runs order flows: charge, then email and invoice in parallel, then a report.
#[derive(Debug, Parser)]
#[command(name = "order_flow")]
struct Args {
    /// Store URL (default: the embedded store).
    #[arg(long, default_value = oxq::DEFAULT_URL)]
    url: String,
    /// How many orders to place and report.
    #[arg(long, default_value_t = 3)]
    orders: u64,
    /// Make the email of every order fail (the report says so; the order still completes).
    #[arg(long)]
    fail_emails: bool,
}

#[derive(Debug)]
struct Failure(String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // a sentence naming what failed, never `{:?}` of an error
            eprintln!("order_flow: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let backend = oxq::connect(&args.url).await?;
    let queue = |name: &str| Queue::<Value>::new(backend.clone(), name);
    let (orders, payments, emails, invoices) = (
        queue("orders")?,
        queue("payments")?,
        queue("emails")?,
        queue("invoices")?,
    );

    let reported = Arc::new(AtomicU64::new(0));
    let all_reported = Arc::new(Notify::new());
    let workers = vec![
        Worker::try_start(&payments, WorkerOptions::new(), |job: Job| async move {
            let cents = job.data()["cents"].as_u64().unwrap_or(0);
            Ok::<_, Failure>(
                json!({ "charged_cents": cents, "receipt": format!("r-{}", job.id()) }),
            )
        })?,
        Worker::try_start(&emails, WorkerOptions::new(), {
            let fail = args.fail_emails;
            move |job: Job| async move {
                if fail {
                    return Err(Failure("the mail server refused the message".to_owned()));
                }
                Ok(json!({ "sent_to": job.data()["to"] }))
            }
        })?,
        Worker::try_start(&invoices, WorkerOptions::new(), |job: Job| async move {
            let order = job.data()["order"].as_str().unwrap_or_default().to_owned();
            Ok::<_, Failure>(json!({ "invoice": format!("inv-{order}") }))
        })?,
        Worker::try_start(&orders, WorkerOptions::new(), {
            let (reported, all_reported, target) =
                (reported.clone(), all_reported.clone(), args.orders);
            let (emails, invoices) = (emails.clone(), invoices.clone());
            move |job: Job| {
                let (reported, all_reported) = (reported.clone(), all_reported.clone());
                let (emails, invoices) = (emails.clone(), invoices.clone());
                async move {
                    let outcome = order_step(&job, &emails, &invoices).await?;
                    if let Outcome::Complete(report) = &outcome {
                        println!("{report}");
                        if reported.fetch_add(1, Ordering::SeqCst) + 1 >= target {
                            all_reported.notify_one();
                        }
                    }
                    Ok::<_, oxq::Error>(outcome)
                }
            }
        })?,
    ];

    let producer = FlowProducer::new(backend.clone());
    for n in 1..=args.orders {
        let order = format!("order-{n}-{}", std::process::id());
        producer
            .add(
                FlowJob::new(
                    "orders",
                    "order",
                    json!({ "order": order, "to": "a@example.com" }),
                )
                .options(JobOptions::new().job_id(&order))
                .child(
                    FlowJob::new("payments", "charge", json!({ "cents": 1250 * n }))
                        .options(JobOptions::new().job_id(format!("charge-{order}")))
                        .on_failure(ChildFailure::FailParent),
                ),
            )
            .await?;
    }

    tokio::select! {
        _ = all_reported.notified() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    for worker in workers {
        worker.close().await?;
    }
    Ok(())
}

/// One run of an order: after the charge, add the email and the invoice and wait for them;
/// after those, report.
async fn order_step(job: &Job, emails: &Queue, invoices: &Queue) -> oxq::Result<Outcome<Value>> {
    let values: BTreeMap<ChildKey, Value> = job.children_values().await?;
    let value_from = |queue: &str| {
        values
            .iter()
            .find(|(key, _)| key.queue.name == queue)
            .map(|(_, value)| value.clone())
    };
    let ignored = job.ignored_children_failures().await?;
    let email_failed = ignored
        .iter()
        .find(|(key, _)| key.queue.name == "emails")
        .map(|(_, reason)| reason.clone());
    let (email, invoice) = (value_from("emails"), value_from("invoices"));
    if email.is_none() && email_failed.is_none() && invoice.is_none() {
        // Phase two: the card is charged; fan out. Ids derive from the order's, so a rerun after
        // a crash finds these jobs instead of adding them twice.
        let order = job.id().as_str();
        let data = job.data().clone();
        emails
            .add(
                "email",
                json!({ "to": data["to"], "order": order }),
                JobOptions::new()
                    .job_id(format!("email-{order}"))
                    .parent(job.as_parent().on_failure(ChildFailure::Ignore)),
            )
            .await?;
        invoices
            .add(
                "invoice",
                json!({ "order": order }),
                JobOptions::new()
                    .job_id(format!("invoice-{order}"))
                    .parent(job.as_parent()),
            )
            .await?;
        return Ok(Outcome::WaitForChildren);
    }
    Ok(Outcome::Complete(json!({
        "order": job.id().as_str(),
        "charge": value_from("payments"),
        "email": email,
        "email_failed": email_failed,
        "invoice": invoice,
    })))
}
