//! The [`Metrics`](oxq_core::backend::Metrics) facet: BullMQ's per-minute series of completions
//! and final failures, recorded by `job_finish` when it carries `metrics` and read back by
//! `metrics_read` (`bullmq-v5-model.md` §4.24). Times are passed explicitly, from a minute
//! boundary after the case's start, so each finish lands in the minute the case names.

use oxq_core::backend::{
    AttemptEnd, Finish, FinishJobs, MetricsKind, MetricsMeta, MetricsSeries, ReadMetrics, Retry,
};
use oxq_core::{JobOptions, KeepJobs, LockToken};

use super::kit::{Kit, completed, completed_keeping, failed, failed_for_good};
use crate::{CaseResult, Harness, TestError, ensure_eq};

const MINUTE: u64 = 60_000;

/// The case's first whole minute: `at(m, ms)` is `ms` into the `m`-th minute after it.
struct Minutes(u64);

impl Minutes {
    fn of(kit: &Kit) -> Self {
        Self((kit.t0 / MINUTE + 1) * MINUTE)
    }

    fn at(&self, minute: u64, ms: u64) -> u64 {
        self.0 + minute * MINUTE + ms
    }
}

/// Fetches `n` jobs at `now` and ends them all with `end` in one finish call carrying
/// `metrics`; fails unless each one applied.
async fn end_jobs(
    kit: &Kit,
    n: u32,
    end: AttemptEnd,
    now: u64,
    metrics: Option<u32>,
) -> CaseResult {
    let token = format!("t{now}");
    let fetched = kit.fetch(&token, n, now).await?;
    ensure_eq!(fetched.jobs.len(), n as usize, "jobs fetched at {now}");
    let items = fetched
        .jobs
        .iter()
        .map(|job| Finish {
            job_id: job.record.id.clone(),
            token: LockToken(token.clone()),
            end: end.clone(),
            memo: job.memo.clone(),
        })
        .collect();
    let result = kit
        .store
        .job_finish(FinishJobs {
            queue: kit.queue.clone(),
            now,
            items,
            fetch_next: None,
            metrics,
        })
        .await?;
    for item in result.items {
        item?;
    }
    Ok(())
}

async fn read(kit: &Kit, kind: MetricsKind, start: i64, end: i64) -> CaseResult<MetricsSeries> {
    let facet = kit
        .store
        .metrics()
        .ok_or_else(|| TestError::skip("the store keeps no metrics"))?;
    Ok(facet
        .metrics_read(ReadMetrics {
            queue: kit.queue.clone(),
            kind,
            start,
            end,
        })
        .await?)
}

fn series(count: u64, prev_ts: u64, prev_count: u64, data: &[u64], kept: u64) -> MetricsSeries {
    MetricsSeries {
        meta: MetricsMeta {
            count,
            prev_ts,
            prev_count,
        },
        data: data.to_vec(),
        count: kept,
    }
}

/// The first finish starts the clock; the first finish of a later minute closes a point with
/// the jobs counted before it, plus a zero for each whole minute between; the series keeps the
/// newest `max` points; several finishes in one call count one after the other.
pub async fn finishes_are_counted_per_minute_newest_first(h: &Harness) -> CaseResult {
    let kit = Kit::new(h);
    read(&kit, MetricsKind::Completed, 0, -1).await?;
    let m = Minutes::of(&kit);
    let max = Some(5);
    for i in 0..7 {
        kit.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    end_jobs(&kit, 2, completed(), m.at(0, 100), max).await?;
    ensure_eq!(
        read(&kit, MetricsKind::Completed, 0, -1).await?,
        series(2, m.at(0, 100), 0, &[], 0),
        "after the first finish (two jobs)"
    );
    end_jobs(&kit, 1, completed(), m.at(0, 59_999), max).await?;
    end_jobs(&kit, 1, completed(), m.at(1, 0), max).await?;
    ensure_eq!(
        read(&kit, MetricsKind::Completed, 0, -1).await?,
        series(4, m.at(1, 0), 3, &[3], 1),
        "after the first finish of minute 1"
    );
    // three minutes on: the point closed (1 job) and two zeros, newest first
    end_jobs(&kit, 1, completed_keeping(KeepJobs::None), m.at(4, 10), max).await?;
    ensure_eq!(
        read(&kit, MetricsKind::Completed, 0, -1).await?,
        series(5, m.at(4, 10), 4, &[0, 0, 1, 3], 4),
        "after a gap of two empty minutes (the job removed on completion still counts)"
    );
    // five minutes on with at most five points: the closed point and four zeros, cut to five
    end_jobs(&kit, 1, completed(), m.at(9, 0), max).await?;
    ensure_eq!(
        read(&kit, MetricsKind::Completed, 0, -1).await?,
        series(6, m.at(9, 0), 5, &[0, 0, 0, 0, 1], 5),
        "after a gap longer than the series"
    );
    ensure_eq!(
        read(&kit, MetricsKind::Completed, 3, -1).await?.data,
        vec![0, 1],
        "points 3 to the end"
    );
    ensure_eq!(
        read(&kit, MetricsKind::Completed, -2, 3).await?.data,
        vec![0],
        "points -2 to 3"
    );
    ensure_eq!(
        read(&kit, MetricsKind::Failed, 0, -1).await?,
        MetricsSeries::default(),
        "failures, none recorded"
    );
    // a finish that does not ask for metrics records nothing
    end_jobs(&kit, 1, completed(), m.at(12, 0), None).await?;
    ensure_eq!(
        read(&kit, MetricsKind::Completed, 0, -1).await?,
        series(6, m.at(9, 0), 5, &[0, 0, 0, 0, 1], 5),
        "after a finish without metrics"
    );
    let other = kit.sibling(h, "quiet")?;
    ensure_eq!(
        read(&other, MetricsKind::Completed, 0, -1).await?,
        MetricsSeries::default(),
        "another queue's series"
    );
    Ok(())
}

/// Only failures for good count as failed: a retried or delayed failure and a postponed job
/// count in no series.
pub async fn only_final_failures_are_counted_as_failed(h: &Harness) -> CaseResult {
    let kit = Kit::new(h);
    read(&kit, MetricsKind::Failed, 0, -1).await?;
    let m = Minutes::of(&kit);
    let max = Some(60);
    for i in 0..3 {
        kit.add(&format!("j{i}"), JobOptions::new().attempts(5))
            .await?;
    }
    end_jobs(&kit, 1, failed(Retry::Now), m.at(0, 0), max).await?;
    end_jobs(
        &kit,
        1,
        failed(Retry::After(std::time::Duration::from_secs(1))),
        m.at(0, 1),
        max,
    )
    .await?;
    end_jobs(
        &kit,
        1,
        AttemptEnd::Delayed { until: m.at(0, 10) },
        m.at(0, 2),
        max,
    )
    .await?;
    let nothing = MetricsSeries::default();
    ensure_eq!(
        read(&kit, MetricsKind::Failed, 0, -1).await?,
        nothing,
        "failed after a retry, a backoff and a postpone"
    );
    ensure_eq!(
        read(&kit, MetricsKind::Completed, 0, -1).await?,
        nothing,
        "completed after a retry, a backoff and a postpone"
    );
    // the three jobs are due again by minute 1: two fail for good, one completes
    end_jobs(&kit, 2, failed_for_good(), m.at(1, 0), max).await?;
    end_jobs(&kit, 1, completed(), m.at(2, 0), max).await?;
    ensure_eq!(
        read(&kit, MetricsKind::Failed, 0, -1).await?,
        series(2, m.at(1, 0), 0, &[], 0),
        "failed after two final failures"
    );
    ensure_eq!(
        read(&kit, MetricsKind::Completed, 0, -1).await?,
        series(1, m.at(2, 0), 0, &[], 0),
        "completed after one completion"
    );
    Ok(())
}
