//! A parent's own attempt: completions refused while children are pending or failed, and `WaitForChildren`.

use super::*;

/// A parent's completion while a child is pending is refused for that item with
/// `PendingDependencies`; the parent stays active under its lock, its attempt uncounted.
pub async fn a_parent_cannot_complete_while_a_child_is_pending(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_alone(&k, "p", JobOptions::new(), k.t0).await?;
    let parent = take(&k, "p", k.t0 + 1).await?;
    add_alone(
        &kids,
        "c",
        JobOptions::new().parent(link(&k, "p", ChildFailure::Wait)),
        k.t0 + 2,
    )
    .await?;
    let verdict = k
        .finish_many(vec![(&parent, TOKEN, completed())], k.t0 + 3)
        .await?
        .remove(0);
    expect_err(
        verdict,
        "PendingDependencies with 1 pending",
        |e| matches!(e, Error::PendingDependencies { job_id, pending: 1 } if job_id == "p"),
    )?;
    let record = k.get(&id("p")).await?;
    ensure_eq!(
        (record.state, record.attempts_made),
        (JobState::Active, 0),
        "parent (state, attempts made)"
    );
    k.finish(&parent, TOKEN, failed_for_good(), k.t0 + 4)
        .await?;
    Ok(())
}

/// A parent's completion after a `FailParent` child failed is refused for that item with
/// `FailedDependency` naming the child; the parent stays active under its lock.
pub async fn a_parent_with_a_failed_child_cannot_complete(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_alone(&k, "p", JobOptions::new(), k.t0).await?;
    let parent = take(&k, "p", k.t0 + 1).await?;
    let p = link(&k, "p", ChildFailure::FailParent);
    add_alone(&kids, "c", JobOptions::new().parent(p), k.t0 + 2).await?;
    fail(&kids, "c", k.t0 + 3).await?;
    let verdict = k
        .finish_many(vec![(&parent, TOKEN, completed())], k.t0 + 5)
        .await?
        .remove(0);
    let child = key(&kids, "c").to_string();
    expect_err(
        verdict,
        "FailedDependency naming the child",
        |e| matches!(e, Error::FailedDependency { job_id, child: c } if job_id == "p" && *c == child),
    )?;
    ensure_eq!(state(&k, "p").await?, JobState::Active, "parent");
    k.finish(&parent, TOKEN, failed_for_good(), k.t0 + 6)
        .await?;
    Ok(())
}

/// `WaitForChildren` with a child pending moves the parent to waiting-children (`waiting-
/// children` event), releases its lock and does not count the attempt; the child's completion
/// releases it.
pub async fn waiting_for_children_parks_the_parent_until_they_are_done(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_alone(&k, "p", JobOptions::new(), k.t0).await?;
    let parent = take(&k, "p", k.t0 + 1).await?;
    add_alone(
        &kids,
        "c",
        JobOptions::new().parent(link(&k, "p", ChildFailure::Wait)),
        k.t0 + 2,
    )
    .await?;
    k.finish(&parent, TOKEN, AttemptEnd::WaitForChildren, k.t0 + 3)
        .await?;
    let record = k.get(&id("p")).await?;
    ensure_eq!(
        (record.state, record.attempts_made),
        (JobState::WaitingChildren, 0),
        "parent (state, attempts made)"
    );
    ensure_eq!(
        k.last_event(&id("p")).await?,
        Event::WaitingChildren { job_id: id("p") },
        "parent's event"
    );
    let again = k
        .finish_many(vec![(&parent, TOKEN, completed())], k.t0 + 4)
        .await?
        .remove(0);
    expect_err(again, "LockLost: the lock was released", |e| {
        matches!(e, Error::LockLost(_))
    })?;
    run(&kids, "c", k.t0 + 10).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        k.last_event(&id("p")).await?,
        released("p"),
        "parent's event"
    );
    Ok(())
}

/// `WaitForChildren` with nothing pending puts the parent back at the front of the line,
/// its lock released and the attempt not counted.
pub async fn waiting_for_children_with_none_pending_runs_the_parent_again_first(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_alone(&k, "p", JobOptions::new(), k.t0).await?;
    let parent = take(&k, "p", k.t0 + 1).await?;
    add_alone(
        &kids,
        "c",
        JobOptions::new().parent(link(&k, "p", ChildFailure::Wait)),
        k.t0 + 2,
    )
    .await?;
    run(&kids, "c", k.t0 + 3).await?;
    add_alone(&k, "other", JobOptions::new(), k.t0 + 4).await?;
    k.finish(&parent, TOKEN, AttemptEnd::WaitForChildren, k.t0 + 5)
        .await?;
    let record = k.get(&id("p")).await?;
    ensure_eq!(
        (record.state, record.attempts_made),
        (JobState::Waiting, 0),
        "parent (state, attempts made)"
    );
    take(&k, "p", k.t0 + 6).await?;
    Ok(())
}
