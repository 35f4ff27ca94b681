//! Moving a case's [`ManualClock`] and proving the workers have looked at the store since.
//!
//! A moved clock wakes an idle worker, which fetches at the new time (promoting delayed jobs
//! that are now due). To assert that something did *not* happen at a time (a job not yet due
//! stayed delayed) without sleeping, [`advance_and_settle`] adds a canary job after the move and
//! waits until a worker has finished it: the fetch that took the canary ran at the new time, so
//! anything that fetch should not have started is still where it was.

use std::time::Duration;

use oxq_core::{JobOptions, KeepJobs, ManualClock, Queue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{WAIT, wait_until};
use crate::error::CaseResult;

/// The name of the canary jobs [`advance_and_settle`] adds; processors see them too.
pub const CANARY: &str = "canary";

/// Moves `clock` forward by `by`, then waits until a worker of `queue` has fetched and finished
/// a canary job at the new time. The canary is removed once finished (it uses one attempt and
/// keeps nothing), so counts and listings are as before.
pub async fn advance_and_settle<T>(
    clock: &ManualClock,
    queue: &Queue<T>,
    by: Duration,
) -> CaseResult
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    clock.advance(by);
    let canaries = queue.typed::<serde_json::Value>();
    let canary = canaries
        .add(
            CANARY,
            json!({ "canary": true }),
            JobOptions::new()
                .attempts(1)
                .remove_on_complete(KeepJobs::None)
                .remove_on_fail(KeepJobs::None),
        )
        .await?;
    let id = canary.id().clone();
    wait_until("a worker to finish the canary job", WAIT, || {
        let canaries = canaries.clone();
        let id = id.clone();
        async move { Ok(canaries.get_record(&id).await?.is_none()) }
    })
    .await
}
