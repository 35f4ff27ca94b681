//! A child that fails for good, under each `ChildFailure` policy.

use super::*;

/// `Wait` (the default): a child that failed for good stays a pending dependency and its
/// parent keeps waiting.
pub async fn a_failed_child_that_waits_keeps_its_parent_waiting(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(&k, &kids, JobOptions::new(), &[("c", ChildFailure::Wait)]).await?;
    fail(&kids, "c", k.t0 + 10).await?;
    ensure_eq!(state(&kids, "c").await?, JobState::Failed, "child");
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(d.pending, vec![key(&kids, "c")], "pending");
    ensure_eq!(
        d.counts,
        DependencyCounts {
            pending: 1,
            ..DependencyCounts::default()
        },
        "dependency counts"
    );
    Ok(())
}

/// `FailParent`: the child moves to the parent's failed children, and the parent, released at
/// once although another child is pending, is handed out with the deferred failure `child
/// <key> failed`.
pub async fn a_failed_child_that_fails_its_parent_releases_it_to_fail(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[("c1", ChildFailure::FailParent), ("c2", ChildFailure::Wait)],
    )
    .await?;
    fail(&kids, "c1", k.t0 + 10).await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(d.failed, vec![key(&kids, "c1")], "failed children");
    ensure_eq!(d.pending, vec![key(&kids, "c2")], "pending");
    let reason = format!("child {} failed", key(&kids, "c1"));
    let parent = k.get(&id("p")).await?;
    ensure_eq!(parent.state, JobState::Waiting, "parent");
    ensure_eq!(
        parent.deferred_failure.as_deref(),
        Some(reason.as_str()),
        "parent's deferred failure"
    );
    let fetched = take(&k, "p", k.t0 + 20).await?;
    ensure_eq!(
        fetched.record.deferred_failure.as_deref(),
        Some(reason.as_str()),
        "the fetched parent's deferred failure"
    );
    Ok(())
}

/// `FailParent` on a parent that waits in delayed (added on its own, with a delay) makes it
/// runnable now, to fail.
pub async fn a_child_failing_its_delayed_parent_makes_it_runnable_now(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let minute = Duration::from_secs(60);
    add_alone(&k, "p", JobOptions::new().delay(minute), k.t0).await?;
    let p = link(&k, "p", ChildFailure::FailParent);
    add_alone(&kids, "c", JobOptions::new().parent(p), k.t0 + 1).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Delayed, "parent before");
    fail(&kids, "c", k.t0 + 10).await?;
    let fetched = take(&k, "p", k.t0 + 20).await?;
    ensure!(
        fetched.record.deferred_failure.is_some(),
        "the parent was handed out without its deferred failure"
    );
    Ok(())
}

/// `Ignore`: the child moves to the parent's ignored children with its failure reason; the
/// parent waits for the others and is released when the last completes.
pub async fn a_failed_child_that_is_ignored_records_its_reason(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[("c1", ChildFailure::Ignore), ("c2", ChildFailure::Wait)],
    )
    .await?;
    fail(&kids, "c1", k.t0 + 10).await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(
        d.ignored,
        vec![(key(&kids, "c1"), "boom".to_owned())],
        "ignored children"
    );
    ensure_eq!(d.pending, vec![key(&kids, "c2")], "pending");
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    run(&kids, "c2", k.t0 + 20).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    Ok(())
}

/// `Remove`: the child is dropped from the parent's dependencies and recorded nowhere; the
/// parent is released when its other child completes.
pub async fn a_failed_child_that_is_removed_leaves_no_trace(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[("c1", ChildFailure::Remove), ("c2", ChildFailure::Wait)],
    )
    .await?;
    fail(&kids, "c1", k.t0 + 10).await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(d.pending, vec![key(&kids, "c2")], "pending");
    ensure_eq!(
        d.counts,
        DependencyCounts {
            pending: 1,
            ..DependencyCounts::default()
        },
        "dependency counts"
    );
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    run(&kids, "c2", k.t0 + 20).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    Ok(())
}

/// `ContinueParent`: the failure is recorded as ignored and the parent is released at once,
/// although another child is pending (so it cannot complete yet).
pub async fn a_failed_child_that_continues_its_parent_releases_it_at_once(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[
            ("c1", ChildFailure::ContinueParent),
            ("c2", ChildFailure::Wait),
        ],
    )
    .await?;
    fail(&kids, "c1", k.t0 + 10).await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(
        d.ignored,
        vec![(key(&kids, "c1"), "boom".to_owned())],
        "ignored children"
    );
    ensure_eq!(d.pending, vec![key(&kids, "c2")], "pending");
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        k.last_event(&id("p")).await?,
        released("p"),
        "parent's event"
    );
    Ok(())
}
