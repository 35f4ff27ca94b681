//! Removing parts of a tree: a parent with its subtree (refused while a descendant is held), a child, a drained queue of children.

use super::*;

/// Removing a parent removes its whole subtree, on every queue and whatever each job's state
/// (a processed child included), with a `removed` event per job on its own queue.
pub async fn removing_a_parent_removes_its_subtree(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let root = link(&k, "root", ChildFailure::Wait);
    add_flow(
        &k,
        vec![
            node(&k, "root", 2, JobOptions::new()),
            node(&kids, "m", 1, JobOptions::new().parent(root.clone())),
            leaf(
                &k,
                "leaf",
                link(&kids, "m", ChildFailure::Wait),
                JobOptions::new(),
            ),
            leaf(&kids, "done", root, JobOptions::new()),
        ],
        k.t0,
    )
    .await?;
    run(&kids, "done", k.t0 + 10).await?;
    ensure!(
        remove(&k, "root", k.t0 + 20).await?,
        "removing the root found nothing"
    );
    for (kit, job) in [(&k, "root"), (&kids, "m"), (&k, "leaf"), (&kids, "done")] {
        ensure!(
            kit.try_get(&id(job)).await?.is_none(),
            "job {job} survived its ancestor's removal"
        );
        ensure!(
            matches!(kit.last_event(&id(job)).await?, Event::Removed { .. }),
            "no `removed` event for job {job}"
        );
    }
    ensure_eq!(
        k.counts().await?.total(),
        0,
        "jobs left on the root's queue"
    );
    ensure_eq!(
        kids.counts().await?.total(),
        0,
        "jobs left on the children's queue"
    );
    let gone = facet(&k)?
        .job_dependencies(GetDependencies {
            queue: k.queue.clone(),
            job_id: id("root"),
            limit: 10,
        })
        .await?;
    ensure!(
        gone.is_none(),
        "a removed parent still has dependencies: {gone:?}"
    );
    Ok(())
}

/// Removing a parent while a job of its subtree is held by a worker is a `Conflict` and
/// removes nothing.
pub async fn removing_a_parent_is_refused_while_a_descendant_is_held(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_flow(
        &k,
        vec![
            node(&k, "root", 1, JobOptions::new()),
            node(
                &kids,
                "m",
                1,
                JobOptions::new().parent(link(&k, "root", ChildFailure::Wait)),
            ),
            leaf(
                &k,
                "leaf",
                link(&kids, "m", ChildFailure::Wait),
                JobOptions::new(),
            ),
        ],
        k.t0,
    )
    .await?;
    // The fetch's lock (30 s from the real time the case began) is alive for the whole case.
    take(&k, "leaf", k.t0 + 1).await?;
    expect_err(remove(&k, "root", k.t0 + 2).await, "Conflict", |e| {
        matches!(e, Error::Conflict(_))
    })?;
    ensure_eq!(state(&k, "root").await?, JobState::WaitingChildren, "root");
    ensure_eq!(
        state(&kids, "m").await?,
        JobState::WaitingChildren,
        "middle"
    );
    ensure_eq!(state(&k, "leaf").await?, JobState::Active, "leaf");
    Ok(())
}

/// Removing a child drops it from its parent's pending dependencies; removing the last one
/// releases the parent (`waiting{prev: waiting-children}`).
pub async fn removing_a_child_releases_its_parent_when_it_was_the_last(h: &Harness) -> CaseResult {
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
    ensure!(remove(&kids, "c1", k.t0 + 1).await?, "c1 was not found");
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    ensure_eq!(
        deps(&k, "p", 10).await?.pending,
        vec![key(&kids, "c2")],
        "pending"
    );
    ensure!(remove(&kids, "c2", k.t0 + 2).await?, "c2 was not found");
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        k.last_event(&id("p")).await?,
        released("p"),
        "parent's event"
    );
    ensure_eq!(
        deps(&k, "p", 10).await?.counts.pending,
        0,
        "pending after both removals"
    );
    Ok(())
}

/// Draining the children's queue removes them from their parent's dependencies, which
/// releases the parent.
pub async fn draining_the_childrens_queue_releases_their_parent(h: &Harness) -> CaseResult {
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
    let drained = k
        .store
        .queue_drain(DrainQueue {
            queue: kids.queue.clone(),
            include_delayed: false,
        })
        .await?;
    ensure_eq!(drained.count, 2, "children drained");
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        deps(&k, "p", 10).await?.counts.pending,
        0,
        "pending after the drain"
    );
    Ok(())
}
