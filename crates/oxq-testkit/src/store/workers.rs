//! The [`Workers`](oxq_core::backend::Workers) facet: an announced worker is listed (with its
//! name, an address and its age) until it leaves, a renewal does not list it twice, and a
//! queue lists only its own workers. A store without the facet skips these cases.

use std::time::Duration;

use oxq_core::backend::{AnnounceWorker, LeaveWorker, ListWorkers, WorkerInfo, Workers};

use super::kit::Kit;
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

const TTL: Duration = Duration::from_secs(90);

fn facet(k: &Kit) -> CaseResult<&dyn Workers> {
    k.store
        .workers()
        .ok_or_else(|| TestError::skip("the store keeps no worker presence"))
}

async fn announce(w: &dyn Workers, k: &Kit, id: &str, name: Option<&str>, now: u64) -> CaseResult {
    w.worker_announce(AnnounceWorker {
        queue: k.queue.clone(),
        worker_id: id.to_owned(),
        name: name.map(str::to_owned),
        now,
        ttl: TTL,
    })
    .await?;
    Ok(())
}

async fn leave(w: &dyn Workers, k: &Kit, id: &str) -> CaseResult {
    w.worker_leave(LeaveWorker {
        queue: k.queue.clone(),
        worker_id: id.to_owned(),
    })
    .await?;
    Ok(())
}

async fn list(w: &dyn Workers, k: &Kit, now: u64) -> CaseResult<Vec<WorkerInfo>> {
    Ok(w.workers_list(ListWorkers {
        queue: k.queue.clone(),
        now,
    })
    .await?)
}

/// The names listed, sorted (`-` for a worker without one).
fn names(workers: &[WorkerInfo]) -> Vec<String> {
    let mut names: Vec<String> = workers
        .iter()
        .map(|w| w.name.clone().unwrap_or_else(|| "-".to_owned()))
        .collect();
    names.sort();
    names
}

/// Two workers announced (one named, one not) are both listed with an address; the one that
/// leaves is gone at once, the other stays until it leaves too.
pub async fn an_announced_worker_is_listed_until_it_leaves(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let w = facet(&k)?;
    ensure_eq!(
        list(w, &k, k.t0).await?,
        Vec::new(),
        "workers before any announcement"
    );
    announce(w, &k, "worker-a", Some("alpha"), k.t0).await?;
    announce(w, &k, "worker-b", None, k.t0 + 10).await?;
    let listed = list(w, &k, k.t0 + 20).await?;
    ensure_eq!(names(&listed), vec!["-", "alpha"], "workers listed");
    ensure!(
        listed.iter().all(|w| !w.addr.is_empty()),
        "every worker has an address: {listed:?}"
    );
    leave(w, &k, "worker-a").await?;
    ensure_eq!(
        names(&list(w, &k, k.t0 + 30).await?),
        vec!["-"],
        "workers after alpha left"
    );
    leave(w, &k, "worker-b").await?;
    ensure_eq!(
        list(w, &k, k.t0 + 40).await?,
        Vec::new(),
        "workers after both left"
    );
    // leaving twice is no error
    leave(w, &k, "worker-b").await?;
    Ok(())
}

/// Renewing an announcement lists the worker once; another queue of the same store lists none
/// of this queue's workers.
pub async fn a_renewed_worker_is_listed_once_and_on_its_queue_only(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let w = facet(&k)?;
    let other = k.sibling(h, "other")?;
    for offset in [0, 1_000, 2_000] {
        announce(w, &k, "worker-a", Some("alpha"), k.t0 + offset).await?;
    }
    let listed = list(w, &k, k.t0 + 2_000).await?;
    ensure_eq!(
        names(&listed),
        vec!["alpha"],
        "workers after three renewals"
    );
    ensure_eq!(
        list(w, &other, k.t0 + 2_000).await?,
        Vec::new(),
        "workers of another queue"
    );
    leave(w, &k, "worker-a").await?;
    Ok(())
}
