//! Writing flows: states and events of a new tree, all-or-nothing writes, trees on one queue and three deep, a child added on its own.

use super::*;

/// A flow writes its parent in waiting-children (`added`, `waiting-children`) and each leaf
/// where an add would put it (waiting, delayed, prioritized), each answered with its state;
/// the parent's pending dependencies are its children, by key, and counts show
/// waiting-children.
pub async fn a_flow_writes_its_parent_waiting_for_children_and_leaves_as_added(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let p = link(&k, "p", ChildFailure::Wait);
    let minute = Duration::from_secs(60);
    let added = add_flow(
        &k,
        vec![
            node(&k, "p", 3, JobOptions::new()),
            leaf(&kids, "plain", p.clone(), JobOptions::new()),
            leaf(&kids, "later", p.clone(), JobOptions::new().delay(minute)),
            leaf(&kids, "urgent", p, JobOptions::new().priority(3)),
        ],
        k.t0,
    )
    .await?;
    let answered: Vec<(String, String, JobState)> = added
        .nodes
        .iter()
        .map(|n| (n.queue.name.clone(), n.id.0.clone(), n.state))
        .collect();
    let (q, kq) = (k.queue.name.clone(), kids.queue.name.clone());
    ensure_eq!(
        answered,
        vec![
            (q, "p".to_owned(), JobState::WaitingChildren),
            (kq.clone(), "plain".to_owned(), JobState::Waiting),
            (kq.clone(), "later".to_owned(), JobState::Delayed),
            (kq, "urgent".to_owned(), JobState::Prioritized),
        ],
        "the answer (queue, id, state) per node"
    );
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    ensure_eq!(
        kids.get(&id("later")).await?.due_at,
        Some(k.t0 + 60_000),
        "the delayed child's due time"
    );
    ensure_eq!(k.counts().await?.waiting_children, 1, "waiting-children");
    let kid_counts = kids.counts().await?;
    ensure_eq!(
        (
            kid_counts.waiting,
            kid_counts.delayed,
            kid_counts.prioritized
        ),
        (1, 1, 1),
        "children (waiting, delayed, prioritized)"
    );
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(
        d.pending,
        vec![
            key(&kids, "later"),
            key(&kids, "plain"),
            key(&kids, "urgent")
        ],
        "pending dependencies, by key"
    );
    ensure_eq!(
        d.counts,
        DependencyCounts {
            pending: 3,
            ..DependencyCounts::default()
        },
        "dependency counts"
    );
    ensure_eq!(
        k.job_events(&id("p")).await?,
        vec![
            Event::Added {
                job_id: id("p"),
                name: "p".into()
            },
            Event::WaitingChildren { job_id: id("p") },
        ],
        "the parent's events"
    );
    Ok(())
}

/// A flow is written whole or not at all: a node whose id exists refuses the call with
/// `Conflict`, a root whose parent does not exist with `ParentNotFound`, and neither leaves a
/// job or an event behind (not even of the nodes before the refused one).
pub async fn a_flow_with_an_existing_id_or_a_missing_parent_writes_nothing(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_alone(&k, "taken", JobOptions::new(), k.t0).await?;
    let p = link(&k, "p", ChildFailure::Wait);
    let clash = try_add_flow(
        &k,
        vec![
            node(&k, "p", 2, JobOptions::new()),
            leaf(&kids, "c", p.clone(), JobOptions::new()),
            leaf(&k, "taken", p, JobOptions::new()),
        ],
        k.t0 + 1,
    )
    .await?;
    expect_err(clash, "Conflict for an existing id", |e| {
        matches!(e, Error::Conflict(_))
    })?;
    let ghost = link(&k, "ghost", ChildFailure::Wait);
    let orphan = try_add_flow(
        &k,
        vec![
            node(&k, "r", 1, JobOptions::new().parent(ghost.clone())),
            leaf(
                &kids,
                "rc",
                link(&k, "r", ChildFailure::Wait),
                JobOptions::new(),
            ),
        ],
        k.t0 + 2,
    )
    .await?;
    let missing = ghost.key().to_string();
    expect_err(
        orphan,
        "ParentNotFound naming the parent",
        |e| matches!(e, Error::ParentNotFound { parent } if *parent == missing),
    )?;
    ensure_eq!(k.counts().await?.total(), 1, "jobs of the parent's queue");
    ensure_eq!(
        kids.counts().await?.total(),
        0,
        "jobs of the children's queue"
    );
    for job in ["p", "r"] {
        ensure!(
            k.job_events(&id(job)).await?.is_empty(),
            "a refused flow left events of {job}"
        );
    }
    ensure!(
        kids.events().await?.is_empty(),
        "a refused flow left events on the children's queue"
    );
    Ok(())
}

/// Children on the parent's own queue run first (the parent is not runnable), and the parent
/// runs once both completed.
pub async fn children_on_the_parents_queue_run_before_it(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    family(
        &k,
        &k,
        JobOptions::new(),
        &[("c1", ChildFailure::Wait), ("c2", ChildFailure::Wait)],
    )
    .await?;
    run(&k, "c1", k.t0 + 10).await?;
    run(&k, "c2", k.t0 + 20).await?;
    take(&k, "p", k.t0 + 30).await?;
    Ok(())
}

/// A tree three deep: the leaf runs first, then the middle job (on another queue), then the
/// root; each parent is released only when its own child completed.
pub async fn a_tree_three_deep_is_released_one_level_at_a_time(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let mid = k.sibling(h, "mid")?;
    let added = add_flow(
        &k,
        vec![
            node(&k, "root", 1, JobOptions::new()),
            node(
                &mid,
                "m",
                1,
                JobOptions::new().parent(link(&k, "root", ChildFailure::Wait)),
            ),
            leaf(
                &k,
                "leaf",
                link(&mid, "m", ChildFailure::Wait),
                JobOptions::new(),
            ),
        ],
        k.t0,
    )
    .await?;
    let states: Vec<JobState> = added.nodes.iter().map(|n| n.state).collect();
    ensure_eq!(
        states,
        vec![
            JobState::WaitingChildren,
            JobState::WaitingChildren,
            JobState::Waiting
        ],
        "states of root, middle, leaf"
    );
    run(&k, "leaf", k.t0 + 10).await?;
    ensure_eq!(
        state(&mid, "m").await?,
        JobState::Waiting,
        "middle after the leaf"
    );
    ensure_eq!(
        state(&k, "root").await?,
        JobState::WaitingChildren,
        "root after the leaf"
    );
    run(&mid, "m", k.t0 + 20).await?;
    ensure_eq!(
        deps(&k, "root", 10).await?.processed,
        vec![(key(&mid, "m"), "42".to_owned())],
        "root's processed children"
    );
    take(&k, "root", k.t0 + 30).await?;
    Ok(())
}

/// A child added on its own (`job_add_bulk` with `options.parent`) needs its parent: a
/// missing one refuses the whole call with `ParentNotFound`. An existing parent is not moved
/// (it stays waiting) and has the child as a pending dependency.
pub async fn a_child_added_on_its_own_needs_its_parent_and_does_not_move_it(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let ghost = link(&k, "ghost", ChildFailure::Wait);
    let refused = kids
        .store
        .job_add_bulk(AddJobs {
            queue: kids.queue.clone(),
            jobs: vec![
                Kit::job("fine", JobOptions::new()),
                Kit::job("orphan", JobOptions::new().parent(ghost.clone())),
            ],
            now: k.t0,
        })
        .await;
    let missing = ghost.key().to_string();
    expect_err(
        refused,
        "ParentNotFound naming the parent",
        |e| matches!(e, Error::ParentNotFound { parent } if *parent == missing),
    )?;
    ensure_eq!(kids.counts().await?.total(), 0, "jobs written");
    add_alone(&k, "p", JobOptions::new(), k.t0 + 1).await?;
    let p = link(&k, "p", ChildFailure::Wait);
    add_alone(&kids, "c", JobOptions::new().parent(p), k.t0 + 2).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "parent");
    ensure_eq!(
        deps(&k, "p", 10).await?.pending,
        vec![key(&kids, "c")],
        "pending"
    );
    Ok(())
}
