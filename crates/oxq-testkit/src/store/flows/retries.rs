//! Retried children: one between attempts keeps its parent waiting, one retried from completed is pending again.

use super::*;

/// A child whose failed attempt is retried stays pending, and its parent waiting; its later
/// completion releases the parent.
pub async fn a_retried_child_keeps_its_parent_waiting(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let p = link(&k, "p", ChildFailure::FailParent);
    add_flow(
        &k,
        vec![
            node(&k, "p", 1, JobOptions::new()),
            leaf(&kids, "c", p, JobOptions::new().attempts(2)),
        ],
        k.t0,
    )
    .await?;
    let c = take(&kids, "c", k.t0 + 10).await?;
    kids.finish(&c, TOKEN, failed(Retry::Now), k.t0 + 11)
        .await?;
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    ensure_eq!(
        deps(&k, "p", 10).await?.pending,
        vec![key(&kids, "c")],
        "pending"
    );
    run(&kids, "c", k.t0 + 20).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    Ok(())
}

/// Retrying a completed child makes it a pending dependency again (its processed value is
/// forgotten); the parent, already released, is not moved back.
pub async fn retrying_a_completed_child_makes_it_pending_again(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(&k, &kids, JobOptions::new(), &[("c", ChildFailure::Wait)]).await?;
    run(&kids, "c", k.t0 + 10).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    kids.store
        .job_retry(JobAt {
            queue: kids.queue.clone(),
            job_id: id("c"),
            now: k.t0 + 20,
        })
        .await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(d.pending, vec![key(&kids, "c")], "pending");
    ensure!(d.processed.is_empty(), "processed: {:?}", d.processed);
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "parent");
    Ok(())
}
