//! BullMQ's per-minute metrics from a worker started with `WorkerOptions::metrics`, read by
//! `Queue::metrics`, on the case's manual clock moved across minutes.

use std::time::Duration;

use oxq_core::{Clock, JobOptions, MetricsKind, MetricsSeries};
use serde_json::{Value, json};

use crate::support::run_to_end;
use crate::{CaseResult, Harness, TestError, ensure_eq};

const MINUTE: u64 = 60_000;

/// Moves the case's clock to 1 s past the next whole minute; answers that time.
fn to_next_minute(h: &Harness) -> u64 {
    let now = h.clock().now_ms();
    h.clock()
        .advance(Duration::from_millis(MINUTE - now % MINUTE + 1_000));
    h.clock().now_ms()
}

/// A worker with metrics counts each completion and final failure; a point per minute is closed
/// by the first finish of a later minute (zeros for the minutes between), as Node's
/// `getMetrics` shows it. A worker without metrics counts nothing.
pub async fn a_worker_with_metrics_counts_completions_and_failures_per_minute(
    h: &Harness,
) -> CaseResult {
    if h.backend().metrics().is_none() {
        return Err(TestError::skip("the store keeps no metrics"));
    }
    let queue = h.queue_with_clock::<Value>();
    let options = h.worker_options().metrics(60);
    let add = |name: &'static str| {
        let queue = queue.clone();
        async move { queue.add(name, json!({}), JobOptions::new()).await }
    };
    let start = to_next_minute(h);
    for name in ["ok", "ok", "fail"] {
        add(name).await?;
    }
    run_to_end(&queue, options.clone(), 3).await?;
    let completed = queue.metrics(MetricsKind::Completed, 0, -1).await?;
    ensure_eq!(
        completed.meta.count,
        2,
        "completions counted ({completed:?})"
    );
    ensure_eq!(
        completed.meta.prev_ts,
        start,
        "clock started ({completed:?})"
    );
    ensure_eq!(completed.data, Vec::<u64>::new(), "points in minute 0");
    let failed = queue.metrics(MetricsKind::Failed, 0, -1).await?;
    ensure_eq!(failed.meta.count, 1, "failures counted ({failed:?})");

    // two minutes on: minute 0's two completions close, minute 1 was empty
    h.clock().advance(Duration::from_millis(2 * MINUTE));
    add("ok").await?;
    run_to_end(&queue, options.clone(), 1).await?;
    let completed = queue.metrics(MetricsKind::Completed, 0, -1).await?;
    ensure_eq!(
        completed.meta.count,
        3,
        "completions counted ({completed:?})"
    );
    ensure_eq!(completed.meta.prev_count, 2, "count at the close");
    ensure_eq!(completed.meta.prev_ts, start + 2 * MINUTE, "closed at");
    ensure_eq!(completed.data, vec![0, 2], "points, newest first");
    ensure_eq!(completed.count, 2, "points kept");
    ensure_eq!(
        queue.metrics(MetricsKind::Completed, 1, 1).await?.data,
        vec![2],
        "point 1 alone"
    );

    // a minute on: minute 0's failure closes, minutes 1 and 2 were empty
    h.clock().advance(Duration::from_millis(MINUTE));
    add("fail").await?;
    run_to_end(&queue, options, 1).await?;
    let failed = queue.metrics(MetricsKind::Failed, 0, -1).await?;
    ensure_eq!(failed.data, vec![0, 0, 1], "failure points ({failed:?})");
    ensure_eq!(failed.meta.count, 2, "failures counted");

    // a worker without metrics adds nothing
    let before = queue.metrics(MetricsKind::Completed, 0, -1).await?;
    h.clock().advance(Duration::from_millis(MINUTE));
    add("ok").await?;
    run_to_end(&queue, h.worker_options(), 1).await?;
    let after: MetricsSeries = queue.metrics(MetricsKind::Completed, 0, -1).await?;
    ensure_eq!(after, before, "series after a worker without metrics");
    Ok(())
}
