//! The [`Groups`](oxq_core::backend::Groups) facet and its rules on the worker's path: a fetch
//! takes group jobs round-robin across groups (jobs without a group first), a paused group
//! keeps its jobs while the others run, per-group concurrency and rate limits (of one group
//! or of every group) cap each group alone, a delayed or retried group job stays in its group,
//! and one group's flood cannot starve the others (10,000 jobs of A, then 10 of B and C).
//!
//! Rate windows are judged by the caller's `now`, moved by hand here. The other paths that
//! move a job between states (promote all, signals, replay, dedup, clean, cancel, remove) are
//! in [`moves`]; flows and job schedulers with groups in [`flows`].

mod flows;
mod moves;

pub use flows::*;
pub use moves::*;

use std::time::Duration;

use oxq_core::backend::{
    ChangeGroup, GetGroup, GroupChange, GroupInfo, GroupTarget, Groups, RateLimit, Retry,
};
use oxq_core::{Error, JobOptions};

use super::kit::{Kit, completed, failed, fetched_ids, ids};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

fn facet(k: &Kit) -> CaseResult<&dyn Groups> {
    k.store
        .groups()
        .ok_or_else(|| TestError::msg(format!("the {} store has no Groups facet", k.store.kind())))
}

async fn change(k: &Kit, target: GroupTarget, change: GroupChange) -> oxq_core::Result<()> {
    facet(k)
        .map_err(|e| Error::store(e.to_string()))?
        .group_change(ChangeGroup {
            queue: k.queue.clone(),
            target,
            change,
        })
        .await
}

fn one(key: &str) -> GroupTarget {
    GroupTarget::One(key.to_owned())
}

async fn info(k: &Kit, key: &str, now: u64) -> CaseResult<GroupInfo> {
    Ok(facet(k)?
        .group_get(GetGroup {
            queue: k.queue.clone(),
            group: key.to_owned(),
            now,
        })
        .await?)
}

/// Adds jobs `<group><n>` for n in `range` to `group`, with those ids.
async fn add_group(k: &Kit, group: &str, range: std::ops::RangeInclusive<u32>) -> CaseResult {
    let jobs = range
        .map(|n| {
            Kit::job(
                "g",
                JobOptions::new().job_id(format!("{group}{n}")).group(group),
            )
        })
        .collect();
    k.add_jobs(jobs, k.t0).await?;
    Ok(())
}

pub async fn group_jobs_are_taken_round_robin_after_plain_jobs(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    add_group(&k, "a", 1..=4).await?;
    add_group(&k, "b", 1..=2).await?;
    add_group(&k, "c", 1..=2).await?;
    k.add("plain", JobOptions::new().job_id("p1")).await?;
    let mut order = Vec::new();
    for i in 0..6 {
        order.extend(k.fetch_ids(&format!("t{i}"), 1, k.t0).await?);
    }
    ensure_eq!(
        order,
        ids(&["p1", "a1", "b1", "c1", "a2", "b2"]),
        "one job at a time: the plain job, then one job per group per turn"
    );
    // a batch goes on from the group after the one served last
    let rest = k.fetch_ids("batch", 10, k.t0).await?;
    ensure_eq!(rest, ids(&["c2", "a3", "a4"]), "the rest in one fetch");
    let counts = k.counts().await?;
    ensure_eq!(counts.active, 9, "every job active");
    Ok(())
}

pub async fn group_jobs_count_as_waiting_and_per_group(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    add_group(&k, "a", 1..=3).await?;
    add_group(&k, "b", 1..=1).await?;
    k.add_at(
        "later",
        JobOptions::new().group("a").delay(Duration::from_secs(60)),
        k.t0,
    )
    .await?;
    let counts = k.counts().await?;
    ensure_eq!(counts.waiting, 4, "group jobs count as waiting");
    ensure_eq!(counts.delayed, 1, "the delayed group job");
    k.fetch("t", 1, k.t0).await?;
    let a = info(&k, "a", k.t0).await?;
    ensure_eq!(
        (a.waiting, a.active, a.delayed),
        (2, 1, 1),
        "group a's counts"
    );
    let none = info(&k, "nobody", k.t0).await?;
    ensure_eq!(
        none,
        GroupInfo::default(),
        "a group without jobs or settings"
    );
    Ok(())
}

pub async fn a_paused_group_keeps_its_jobs_and_the_others_run(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    add_group(&k, "a", 1..=2).await?;
    add_group(&k, "b", 1..=2).await?;
    change(&k, one("a"), GroupChange::Pause).await?;
    ensure!(info(&k, "a", k.t0).await?.paused, "group a reads paused");
    ensure_eq!(
        k.fetch_ids("t1", 10, k.t0).await?,
        ids(&["b1", "b2"]),
        "only group b runs"
    );
    ensure_eq!(
        k.fetch_ids("t2", 10, k.t0).await?,
        Vec::<String>::new(),
        "nothing while a is paused"
    );
    ensure_eq!(
        info(&k, "a", k.t0).await?.waiting,
        2,
        "a's jobs stay queued"
    );
    change(&k, one("a"), GroupChange::Resume).await?;
    ensure!(!info(&k, "a", k.t0).await?.paused, "group a reads resumed");
    ensure_eq!(
        k.fetch_ids("t3", 10, k.t0).await?,
        ids(&["a1", "a2"]),
        "a's jobs after its resume"
    );
    Ok(())
}

pub async fn group_concurrency_caps_each_group_alone(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    add_group(&k, "a", 1..=3).await?;
    add_group(&k, "b", 1..=3).await?;
    change(&k, GroupTarget::Every, GroupChange::SetConcurrency(1)).await?;
    let first = k.fetch("t1", 10, k.t0).await?;
    ensure_eq!(
        fetched_ids(&first),
        ids(&["a1", "b1"]),
        "one job per group at a concurrency of 1"
    );
    ensure_eq!(
        k.fetch_ids("t2", 10, k.t0).await?,
        Vec::<String>::new(),
        "both groups full"
    );
    // a group's own setting wins over the one for every group
    change(&k, one("b"), GroupChange::SetConcurrency(2)).await?;
    ensure_eq!(
        info(&k, "b", k.t0).await?.concurrency,
        Some(2),
        "b's own cap"
    );
    ensure_eq!(
        info(&k, "a", k.t0).await?.concurrency,
        Some(1),
        "a's cap, for every group"
    );
    ensure_eq!(
        k.fetch_ids("t3", 10, k.t0).await?,
        ids(&["b2"]),
        "b's own cap of 2"
    );
    let a1 = &first.jobs[0];
    k.finish(a1, "t1", completed(), k.t0).await?;
    ensure_eq!(
        k.fetch_ids("t4", 10, k.t0).await?,
        ids(&["a2"]),
        "a's next job once a1 is done"
    );
    change(&k, GroupTarget::Every, GroupChange::RemoveConcurrency).await?;
    ensure_eq!(
        k.fetch_ids("t5", 10, k.t0).await?,
        ids(&["a3"]),
        "a is free, b still at its own cap"
    );
    Ok(())
}

pub async fn a_group_rate_limit_caps_the_starts_of_its_window(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    add_group(&k, "a", 1..=4).await?;
    add_group(&k, "b", 1..=3).await?;
    let window = Duration::from_secs(10);
    change(
        &k,
        one("a"),
        GroupChange::SetRateLimit(RateLimit::new(2, window)),
    )
    .await?;
    ensure_eq!(
        k.fetch_ids("t1", 10, k.t0).await?,
        ids(&["a1", "b1", "a2", "b2", "b3"]),
        "two of a's jobs in its window, b unlimited"
    );
    let a = info(&k, "a", k.t0).await?;
    ensure_eq!(a.rate_limit, Some(RateLimit::new(2, window)), "a's limit");
    ensure_eq!(
        a.rate_limited_until,
        Some(k.t0 + 10_000),
        "a is limited until its window ends"
    );
    ensure_eq!(
        k.fetch_ids("t2", 10, k.t0 + 9_999).await?,
        Vec::<String>::new(),
        "nothing of a before the window ends"
    );
    ensure_eq!(
        k.fetch_ids("t3", 10, k.t0 + 10_000).await?,
        ids(&["a3", "a4"]),
        "a's next window"
    );
    change(&k, one("a"), GroupChange::RemoveRateLimit).await?;
    ensure_eq!(
        info(&k, "a", k.t0).await?.rate_limit,
        None,
        "a's limit removed"
    );
    Ok(())
}

pub async fn delayed_and_retried_group_jobs_stay_in_their_group(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add_at(
        "later",
        JobOptions::new()
            .job_id("d1")
            .group("a")
            .delay(Duration::from_secs(5)),
        k.t0,
    )
    .await?;
    add_group(&k, "b", 1..=1).await?;
    let b1 = k.fetch("t1", 1, k.t0).await?;
    ensure_eq!(fetched_ids(&b1), ids(&["b1"]), "b1 runs");
    k.finish(&b1.jobs[0], "t1", failed(Retry::Now), k.t0)
        .await?;
    change(&k, one("a"), GroupChange::Pause).await?;
    change(&k, one("b"), GroupChange::Pause).await?;
    let due = k.t0 + 5_000;
    ensure_eq!(
        k.fetch_ids("t2", 10, due).await?,
        Vec::<String>::new(),
        "the promoted and the retried job wait in their paused groups"
    );
    ensure_eq!(info(&k, "a", due).await?.waiting, 1, "d1 waits in group a");
    ensure_eq!(info(&k, "b", due).await?.waiting, 1, "b1 waits in group b");
    change(&k, one("b"), GroupChange::Resume).await?;
    ensure_eq!(k.fetch_ids("t3", 10, due).await?, ids(&["b1"]), "b1 again");
    change(&k, one("a"), GroupChange::Resume).await?;
    ensure_eq!(
        k.fetch_ids("t4", 10, due).await?,
        ids(&["d1"]),
        "d1 at last"
    );
    Ok(())
}

pub async fn one_groups_flood_does_not_starve_the_others(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let flood = (1..=10_000)
        .map(|_| Kit::job("flood", JobOptions::new().group("a")))
        .collect();
    k.add_jobs(flood, k.t0).await?;
    add_group(&k, "b", 1..=10).await?;
    add_group(&k, "c", 1..=10).await?;
    for round in 1..=10 {
        let batch = k.fetch("t", 3, k.t0).await?;
        let groups: Vec<Option<String>> = batch
            .jobs
            .iter()
            .map(|j| j.record.options.group.clone())
            .collect();
        ensure_eq!(
            groups,
            vec![
                Some("a".to_owned()),
                Some("b".to_owned()),
                Some("c".to_owned())
            ],
            "round {round}: one job of each group"
        );
        ensure_eq!(
            fetched_ids(&batch)[1..].to_vec(),
            ids(&[&format!("b{round}"), &format!("c{round}")]),
            "round {round}: b's and c's jobs in order"
        );
    }
    ensure_eq!(
        info(&k, "b", k.t0).await?.waiting,
        0,
        "every b job started in 10 rounds"
    );
    ensure_eq!(
        info(&k, "a", k.t0).await?.waiting,
        9_990,
        "a's backlog waits its turns"
    );
    Ok(())
}

pub async fn bad_group_keys_and_settings_are_refused(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for bad in [
        "",
        "a:b",
        "a b",
        &"x".repeat(oxq_core::MAX_GROUP_KEY_LEN + 1),
    ] {
        let added = k
            .store
            .job_add_bulk(oxq_core::backend::AddJobs {
                queue: k.queue.clone(),
                jobs: vec![Kit::job("bad", JobOptions::new().group(bad))],
                now: k.t0,
            })
            .await;
        if !matches!(added, Err(Error::InvalidOptions(_))) {
            return Err(TestError::msg(format!("group {bad:?} answered {added:?}")));
        }
    }
    for (target, bad) in [
        (GroupTarget::Every, GroupChange::Pause),
        (one("a"), GroupChange::SetConcurrency(0)),
        (
            one("a"),
            GroupChange::SetRateLimit(RateLimit::new(0, Duration::from_secs(1))),
        ),
        (one("a:b"), GroupChange::Pause),
    ] {
        match change(&k, target.clone(), bad).await {
            Err(Error::InvalidOptions(_)) => {}
            other => {
                return Err(TestError::msg(format!(
                    "{target:?} {bad:?} answered {other:?}"
                )));
            }
        }
    }
    ensure_eq!(k.counts().await?.waiting, 0, "nothing was added");
    Ok(())
}
