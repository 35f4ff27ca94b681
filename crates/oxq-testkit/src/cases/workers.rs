//! A running [`Worker`] is listed by [`Queue::workers`] with its name, and is gone once it
//! closed (the worker's presence, on stores with the `Workers` facet).

use std::time::{Duration, Instant};

use oxq_core::{Error, Queue, Worker};
use serde_json::Value;

use crate::{CaseResult, Harness, TestError, ensure_eq};

/// The names `queue` lists, sorted.
async fn listed(queue: &Queue<Value>) -> CaseResult<Vec<Option<String>>> {
    let mut names: Vec<Option<String>> = match queue.workers().await {
        Ok(workers) => workers.into_iter().map(|w| w.name).collect(),
        Err(Error::Unsupported { .. }) => {
            return Err(TestError::skip("the store keeps no worker presence"));
        }
        Err(e) => return Err(e.into()),
    };
    names.sort();
    Ok(names)
}

/// Polls until the queue lists `expected` or 10 s pass. A poll: the worker announces itself
/// from a task of its own, and the store offers nothing to wait on for that.
async fn until_listed(queue: &Queue<Value>, expected: &[Option<String>]) -> CaseResult {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let names = listed(queue).await?;
        if names == expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(TestError::msg(format!(
                "workers listed: {names:?}, expected {expected:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two workers, one named `mailer`, are listed while they run; the named one is gone once it
/// closed, the other once it closed too.
pub async fn running_workers_are_listed_until_they_close(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    ensure_eq!(
        listed(&queue).await?,
        Vec::new(),
        "workers before any started"
    );
    let process = |_job| async { Ok::<_, std::io::Error>(()) };
    let named = Worker::start(&queue, h.worker_options().name("mailer"), process);
    let mut without_name = h.worker_options();
    without_name.name = None;
    let unnamed = Worker::start(&queue, without_name, process);
    until_listed(&queue, &[None, Some("mailer".to_owned())]).await?;
    named.close().await?;
    ensure_eq!(
        listed(&queue).await?,
        vec![None],
        "workers after mailer closed"
    );
    unnamed.close().await?;
    ensure_eq!(
        listed(&queue).await?,
        Vec::new(),
        "workers after both closed"
    );
    Ok(())
}
