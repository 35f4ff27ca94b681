//! Poison jobs at the fetch: a stored job broken behind the API's back (through the store's
//! [`Corruptor`](crate::Corruptor)) is still handed out, with a deferred failure that names
//! the broken column or field, in the same call as the good jobs around it; it then ends
//! failed like any other job and stays readable. A fetch never fails as a whole because of
//! one job, so one bad job cannot stop its queue.
//!
//! Data that is text but not JSON is not the store's business: it is handed out as stored, and
//! the worker fails the job when it decodes the payload (`cases::poison`).

use oxq_core::backend::{AttemptEnd, Fetched, Retry};
use oxq_core::{JobId, JobOptions, JobState, KeepJobs};

use super::kit::{Kit, fetched_ids};
use crate::{CaseResult, Corruption, Harness, bail, ensure, ensure_eq};

/// Jobs `a`, `b` and `c` added, `b` broken by `corruption`, then one fetch of up to three.
struct Poisoned {
    kit: Kit,
    bad: JobId,
    /// The column or field the store's corruptor broke.
    column: &'static str,
    fetched: Fetched,
}

async fn poison_the_middle_job(h: &Harness, corruption: Corruption) -> CaseResult<Poisoned> {
    let kit = Kit::new(h);
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        ids.push(kit.add(name, JobOptions::new()).await?);
    }
    let bad = ids[1].clone();
    let column = h.corrupt(&bad, corruption).await?;
    let fetched = kit.fetch("t1", 3, kit.t0).await?;
    let expected: Vec<String> = ids.iter().map(|id| id.0.clone()).collect();
    ensure_eq!(
        fetched_ids(&fetched),
        expected,
        "jobs one fetch took with job {bad} broken ({corruption:?})"
    );
    Ok(Poisoned {
        kit,
        bad,
        column,
        fetched,
    })
}

/// The broken job carries a deferred failure naming `` `column` ``, the others none; failing it
/// for good records that reason, and the job reads back and lists as failed.
async fn defers_a_failure_naming_the_column(h: &Harness, corruption: Corruption) -> CaseResult {
    let Poisoned {
        kit,
        bad,
        column,
        fetched,
    } = poison_the_middle_job(h, corruption).await?;
    let mut reason = None;
    for job in &fetched.jobs {
        let deferred = job.record.deferred_failure.clone();
        if job.record.id == bad {
            reason = deferred;
        } else {
            ensure_eq!(
                deferred,
                None,
                "deferred failure of good job {}",
                job.record.id
            );
        }
    }
    let Some(reason) = reason else {
        bail!("broken job {bad} ({corruption:?}) was handed out without a deferred failure");
    };
    ensure!(
        reason.contains(&format!("`{column}`")),
        "deferred failure {reason:?} of job {bad} should name `{column}`"
    );
    let Some(job) = fetched.jobs.iter().find(|j| j.record.id == bad) else {
        bail!("job {bad} missing from the fetch");
    };
    let end = AttemptEnd::Failed {
        reason: reason.clone(),
        retry: Retry::Never {
            keep: KeepJobs::All,
        },
    };
    kit.finish(job, "t1", end, kit.t0).await?;
    let stored = kit.get(&bad).await?;
    ensure_eq!(
        (stored.state, stored.failed_reason.as_deref()),
        (JobState::Failed, Some(reason.as_str())),
        "state and reason of broken job {bad} after failing it"
    );
    ensure_eq!(
        kit.list(&[JobState::Failed], 0, 10, true).await?,
        vec![bad.0.clone()],
        "failed jobs listed"
    );
    Ok(())
}

/// A name that is not UTF-8 (the issue's `cast(x'ff00fe' as text)`) defers a failure naming it.
pub async fn a_name_that_is_not_utf8_defers_a_failure_naming_it(h: &Harness) -> CaseResult {
    defers_a_failure_naming_the_column(h, Corruption::NameNotUtf8).await
}

/// A payload that is not UTF-8 (a BLOB on SQLite) defers a failure naming it.
pub async fn data_that_is_not_utf8_defers_a_failure_naming_it(h: &Harness) -> CaseResult {
    defers_a_failure_naming_the_column(h, Corruption::DataNotUtf8).await
}

/// An added-at time that is not a number defers a failure naming it.
pub async fn a_timestamp_that_is_not_a_number_defers_a_failure_naming_it(
    h: &Harness,
) -> CaseResult {
    defers_a_failure_naming_the_column(h, Corruption::TimestampNotNumber).await
}

/// Options that are not JSON (so attempts, backoff and retention are unknown) defer a failure
/// naming them.
pub async fn options_that_do_not_decode_defer_a_failure_naming_them(h: &Harness) -> CaseResult {
    defers_a_failure_naming_the_column(h, Corruption::OptionsNotJson).await
}

/// A payload that is text but not JSON is handed out as stored, with no deferred failure: the
/// worker judges payloads.
pub async fn data_that_is_not_json_is_handed_out_as_stored(h: &Harness) -> CaseResult {
    let Poisoned { bad, fetched, .. } = poison_the_middle_job(h, Corruption::DataNotJson).await?;
    let Some(job) = fetched.jobs.iter().find(|j| j.record.id == bad) else {
        bail!("job {bad} missing from the fetch");
    };
    ensure_eq!(
        (
            job.record.data.as_str(),
            job.record.deferred_failure.as_deref()
        ),
        ("{broken", None),
        "payload and deferred failure of job {bad}"
    );
    Ok(())
}
