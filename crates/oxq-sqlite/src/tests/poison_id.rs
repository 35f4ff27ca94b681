//! A row whose id is not UTF-8 (written behind oxq's back): the fetch cannot hand it out,
//! since no worker could finish it by id, so it fails the row in place and hands out the rest.
//! The other poison columns are in the shared suite (`oxq-testkit` `store::poison`).

use oxq_core::backend::*;
use oxq_core::{Backend, Error, JobOptions, JobState, QueueRef, Result};

use super::{T0, fetch_as, job, store};

#[tokio::test]
async fn a_row_whose_id_is_not_utf8_fails_in_place_and_the_fetch_goes_on() -> Result<()> {
    let (dir, store) = store().await?;
    let queue = QueueRef::new("poison-id")?;
    let jobs = (0..3).map(|_| job(JobOptions::new(), "{}")).collect();
    let add = AddJobs {
        queue: queue.clone(),
        jobs,
        now: T0,
    };
    store.job_add_bulk(add).await?;
    let raw = rusqlite::Connection::open(dir.path().join("t.db"))
        .map_err(|e| Error::store_caused("open the file", e))?;
    raw.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| Error::store_caused("busy timeout", e))?;
    let changed = raw
        .execute(
            "UPDATE jobs SET id = cast(x'ff00fe' as text) WHERE id = '2'",
            [],
        )
        .map_err(|e| Error::store_caused("corrupt job 2", e))?;
    assert_eq!(changed, 1);
    drop(raw);

    let fetch = FetchJobs {
        queue: queue.clone(),
        fetch: fetch_as("t1"),
        now: T0 + 1,
    };
    let fetched = store.job_move_to_active(fetch.clone()).await?;
    let ids: Vec<_> = fetched.jobs.iter().map(|j| j.record.id.as_str()).collect();
    assert_eq!(ids, ["1", "3"], "jobs handed out around the broken row");
    let counts = store
        .jobs_count(OfQueue {
            queue: queue.clone(),
        })
        .await?;
    assert_eq!((counts.active, counts.failed, counts.waiting), (2, 1, 0));
    let failed = store
        .jobs_list(ListJobs {
            queue: queue.clone(),
            states: vec![JobState::Failed],
            offset: 0,
            limit: 10,
            ascending: true,
        })
        .await?;
    let reason = failed[0].failed_reason.clone().unwrap_or_default();
    assert!(reason.contains("`id` is not valid UTF-8"), "{reason}");
    assert!(store.job_move_to_active(fetch).await?.jobs.is_empty());
    Ok(())
}
