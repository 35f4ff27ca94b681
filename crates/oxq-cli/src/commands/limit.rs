//! `limit get|set|remove`: a queue's global rate limit and global concurrency, shared by every
//! worker of the queue (on Redis, Node BullMQ's workers too).

use oxq::QueueLimits;
use serde_json::{Value, json};

use crate::args::LimitCommand;
use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::store::Store;

fn limits_json(limits: &QueueLimits) -> Value {
    json!({
        "rate_limit": limits.rate_limit.map(|l| json!({
            "max": l.max,
            "duration_ms": u64::try_from(l.duration.as_millis()).unwrap_or(u64::MAX),
        })),
        "concurrency": limits.concurrency,
        "rate_limited_until": limits.rate_limited_until,
    })
}

fn print_limits(queue: &str, limits: &QueueLimits, json: bool) {
    if json {
        print_json(&limits_json(limits));
        return;
    }
    let rate = limits.rate_limit.map_or("none".to_owned(), |l| {
        format!("{} per {} ms", l.max, l.duration.as_millis())
    });
    let concurrency = limits
        .concurrency
        .map_or("none".to_owned(), |c| c.to_string());
    println!("queue {queue}: rate limit {rate}, global concurrency {concurrency}");
    if let Some(until) = limits.rate_limited_until {
        println!("rate limited until {until} (ms since the epoch)");
    }
}

pub async fn run(store: &Store, command: &LimitCommand, json: bool) -> CliResult<()> {
    match command {
        LimitCommand::Get { queue } => {
            let q = store.existing_queue(&queue.queue).await?;
            print_limits(&queue.queue, &q.limits().await?, json);
        }
        LimitCommand::Set {
            queue,
            rate,
            concurrency,
        } => {
            if rate.is_none() && concurrency.is_none() {
                return Err(CliError::Usage(
                    "give --rate MAX/DURATION, --concurrency N, or both".to_owned(),
                ));
            }
            let q = store.queue(&queue.queue)?;
            if let Some(rate) = rate {
                q.set_global_rate_limit(rate.max, rate.duration).await?;
            }
            if let Some(n) = concurrency {
                q.set_global_concurrency(*n).await?;
            }
            print_limits(&queue.queue, &q.limits().await?, json);
        }
        LimitCommand::Remove {
            queue,
            rate,
            concurrency,
        } => {
            if !rate && !concurrency {
                return Err(CliError::Usage(
                    "give --rate, --concurrency, or both".to_owned(),
                ));
            }
            let q = store.existing_queue(&queue.queue).await?;
            if *rate {
                q.remove_global_rate_limit().await?;
            }
            if *concurrency {
                q.remove_global_concurrency().await?;
            }
            print_limits(&queue.queue, &q.limits().await?, json);
        }
    }
    Ok(())
}
