//! Releasing a parent when its last child completes: the value it records, and where the parent goes (the front of its waiting jobs, delayed, prioritized).

use super::*;

/// A completed child moves from pending to processed with its return value, which survives
/// the child's own removal on completion; the parent waits for the others, and the last one
/// releases it to the front of its queue's waiting jobs with `waiting{prev:
/// waiting-children}`.
pub async fn a_completed_child_moves_its_value_to_processed_and_the_last_releases_the_parent(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[("c1", ChildFailure::Wait), ("c2", ChildFailure::Wait)],
    )
    .await?;
    add_alone(&k, "other", JobOptions::new(), k.t0 + 1).await?;
    let c1 = take(&kids, "c1", k.t0 + 10).await?;
    kids.finish(&c1, TOKEN, completed_keeping(KeepJobs::None), k.t0 + 11)
        .await?;
    ensure!(
        kids.try_get(&id("c1")).await?.is_none(),
        "the child kept no record, yet it is stored"
    );
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(
        d.processed,
        vec![(key(&kids, "c1"), "42".to_owned())],
        "processed"
    );
    ensure_eq!(d.pending, vec![key(&kids, "c2")], "pending");
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    run(&kids, "c2", k.t0 + 20).await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(
        (d.counts.processed, d.counts.pending),
        (2, 0),
        "(processed, pending)"
    );
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        k.last_event(&id("p")).await?,
        released("p"),
        "parent's event"
    );
    take(&k, "p", k.t0 + 30).await?;
    Ok(())
}

/// A parent with a delay is released to delayed, due that delay after the release (not after
/// it was written), with a `delayed` event, and runs no earlier.
pub async fn a_released_parent_with_a_delay_is_due_that_long_after_the_release(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let delay = Duration::from_secs(5);
    family(
        &k,
        &kids,
        JobOptions::new().delay(delay),
        &[("c", ChildFailure::Wait)],
    )
    .await?;
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    let c = take(&kids, "c", k.t0 + 100).await?;
    kids.finish(&c, TOKEN, completed(), k.t0 + 1_000).await?;
    let due = k.t0 + 6_000;
    let parent = k.get(&id("p")).await?;
    ensure_eq!(
        (parent.state, parent.due_at),
        (JobState::Delayed, Some(due)),
        "parent (state, due)"
    );
    ensure_eq!(
        k.last_event(&id("p")).await?,
        Event::Delayed {
            job_id: id("p"),
            due_at: due
        },
        "parent's event"
    );
    ensure!(
        k.fetch(TOKEN, 1, due - 1).await?.jobs.is_empty(),
        "the parent ran before its delay ended"
    );
    take(&k, "p", due).await?;
    Ok(())
}

/// A parent with a priority is released to prioritized.
pub async fn a_released_parent_with_a_priority_is_prioritized(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new().priority(2),
        &[("c", ChildFailure::Wait)],
    )
    .await?;
    run(&kids, "c", k.t0 + 10).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Prioritized, "parent");
    ensure_eq!(
        k.last_event(&id("p")).await?,
        released("p"),
        "parent's event"
    );
    Ok(())
}
