//! Reading flows back: dependency lists and counts, a child's parent link.

use super::*;

/// `job_dependencies` lists at most `limit` of each kind, by key, with whole counts; an
/// unknown job has none (`None`).
pub async fn dependencies_are_listed_up_to_the_limit_with_whole_counts(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[
            ("a", ChildFailure::Wait),
            ("b", ChildFailure::Wait),
            ("c", ChildFailure::Wait),
            ("d", ChildFailure::Wait),
            ("e", ChildFailure::Ignore),
        ],
    )
    .await?;
    let fetched = kids.fetch(TOKEN, 5, k.t0 + 10).await?;
    ensure_eq!(
        fetched_ids(&fetched),
        ids(&["a", "b", "c", "d", "e"]),
        "children fetched"
    );
    let mut items = Vec::new();
    for job in &fetched.jobs {
        match job.record.id.as_str() {
            "d" => {}
            "e" => items.push((job, TOKEN, failed_for_good())),
            _ => items.push((job, TOKEN, completed())),
        }
    }
    for verdict in kids.finish_many(items, k.t0 + 11).await? {
        verdict?;
    }
    let d = deps(&k, "p", 2).await?;
    ensure_eq!(
        d.processed,
        vec![
            (key(&kids, "a"), "42".to_owned()),
            (key(&kids, "b"), "42".to_owned())
        ],
        "processed, limited"
    );
    ensure_eq!(d.pending, vec![key(&kids, "d")], "pending");
    ensure_eq!(
        d.ignored,
        vec![(key(&kids, "e"), "boom".to_owned())],
        "ignored"
    );
    ensure_eq!(
        d.counts,
        DependencyCounts {
            processed: 3,
            pending: 1,
            ignored: 1,
            failed: 0
        },
        "counts"
    );
    let unknown = facet(&k)?
        .job_dependencies(GetDependencies {
            queue: k.queue.clone(),
            job_id: id("nope"),
            limit: 10,
        })
        .await?;
    ensure!(
        unknown.is_none(),
        "an unknown job has dependencies: {unknown:?}"
    );
    Ok(())
}

/// A child's stored options read back with its parent link and failure policy, whether a flow
/// wrote it or it was added on its own.
pub async fn a_childs_parent_link_reads_back_with_its_policy(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(&k, &kids, JobOptions::new(), &[("c", ChildFailure::Ignore)]).await?;
    ensure_eq!(
        kids.get(&id("c")).await?.options.parent,
        Some(link(&k, "p", ChildFailure::Ignore)),
        "the flow's child"
    );
    let p = link(&k, "p", ChildFailure::ContinueParent);
    add_alone(
        &kids,
        "alone",
        JobOptions::new().parent(p.clone()),
        k.t0 + 1,
    )
    .await?;
    ensure_eq!(
        kids.get(&id("alone")).await?.options.parent,
        Some(p),
        "the child added on its own"
    );
    Ok(())
}
