//! Adding jobs: what a new job reads back as, ids (automatic, custom, duplicate, invalid), the
//! state the store answers for each new job, and many adds at once.

use std::collections::BTreeSet;
use std::time::Duration;

use oxq_core::backend::{AddJobs, AddedJob, NewJob, RemoveJob};
use oxq_core::{Backoff, Error, Event, JobId, JobOptions, JobState, KeepJobs};

use super::kit::{Kit, expect_err};
use crate::{CaseResult, Harness, TestError, bail, ensure, ensure_eq};

/// A new job reads back exactly as it was added (name, payload text byte for byte, options,
/// add time) with fresh counters, and its add emits `added` then `waiting`.
pub async fn a_new_job_reads_back_as_added(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let options = JobOptions::new()
        .attempts(3)
        .backoff(Backoff::exponential(Duration::from_millis(100)).with_jitter(0.5))
        .timeout(Duration::from_secs(5))
        .remove_on_complete(KeepJobs::Count(10))
        .remove_on_fail(KeepJobs::Age {
            max_age: Duration::from_secs(60),
            count: Some(3),
        });
    let data = "{ \"b\": 1,\n  \"a\": [1.50, \"é\"] }";
    let job = NewJob {
        name: "email".into(),
        data: data.into(),
        options: options.clone(),
    };
    let added = k.add_jobs(vec![job], k.t0).await?;
    ensure_eq!(
        added,
        vec![AddedJob::Created {
            id: JobId::from("1"),
            state: JobState::Waiting
        }],
        "the add's answer"
    );
    let id = JobId::from("1");
    let job = k.get(&id).await?;
    ensure_eq!(
        (job.id.as_str(), job.name.as_str(), job.data.as_str()),
        ("1", "email", data),
        "(id, name, data)"
    );
    ensure_eq!(job.options, options, "options");
    ensure_eq!(job.state, JobState::Waiting, "state");
    ensure_eq!(job.timestamp, k.t0, "timestamp (the add's now)");
    ensure_eq!(job.progress, "0", "progress");
    ensure_eq!(
        (job.attempts_made, job.attempts_started, job.stalled_count),
        (0, 0, 0),
        "(attempts made, started, stalled)"
    );
    ensure_eq!(
        (job.processed_on, job.finished_on, job.due_at),
        (None, None, None),
        "(processed, finished, due)"
    );
    ensure!(
        job.return_value.is_none() && job.failed_reason.is_none() && job.stacktrace.is_empty(),
        "a new job has no result or errors: {job:?}"
    );
    ensure_eq!(
        k.job_events(&id).await?,
        vec![
            Event::Added {
                job_id: id.clone(),
                name: "email".into()
            },
            Event::Waiting {
                job_id: id.clone(),
                prev: None
            },
        ],
        "events of the add"
    );
    ensure!(
        k.try_get(&JobId::from("nope")).await?.is_none(),
        "an unknown id reads as a job"
    );
    Ok(())
}

/// Automatic ids count up from 1, and a custom id takes a number too (as BullMQ's counter
/// does): after `1` and `custom`, the next automatic id is `3`, and there is no job `2`.
pub async fn automatic_ids_count_up_and_custom_ids_take_a_number(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    ensure_eq!(
        k.add("a", JobOptions::new()).await?.as_str(),
        "1",
        "first id"
    );
    let custom = k.add("b", JobOptions::new().job_id("custom")).await?;
    ensure_eq!(custom.as_str(), "custom", "custom id");
    ensure_eq!(
        k.add("c", JobOptions::new()).await?.as_str(),
        "3",
        "third id"
    );
    ensure_eq!(
        k.get(&custom).await?.options.job_id,
        Some(JobId::from("custom")),
        "the custom job's options keep its id"
    );
    ensure!(
        k.try_get(&JobId::from("2")).await?.is_none(),
        "the number a custom id took is not a job"
    );
    let removed = k
        .store
        .job_remove(RemoveJob {
            queue: k.queue.clone(),
            job_id: JobId::from("2"),
            now: k.t0,
        })
        .await?;
    ensure!(!removed.existed, "removing job 2 found a job");
    ensure_eq!(k.get(&JobId::from("3")).await?.name, "c", "job 3's name");
    Ok(())
}

/// Adding an id that exists writes nothing: the entry is the existing job as it stands, a
/// `duplicated` event is recorded, and the other jobs of the call are added.
pub async fn a_duplicate_id_answers_the_existing_job(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let first = k
        .add("first", JobOptions::new().job_id("order-7").priority(3))
        .await?;
    let again = NewJob {
        name: "second".into(),
        data: "1".into(),
        options: JobOptions::new()
            .job_id("order-7")
            .delay(Duration::from_secs(60)),
    };
    let added = k
        .add_jobs(vec![again, Kit::job("third", JobOptions::new())], k.t0 + 5)
        .await?;
    let stored = k.get(&first).await?;
    match &added[0] {
        AddedJob::Existing(record) => ensure_eq!(**record, stored, "the existing job answered"),
        other => bail!("a duplicate id answered {other:?}"),
    }
    ensure_eq!(
        (stored.name.as_str(), stored.state, stored.timestamp),
        ("first", JobState::Prioritized, k.t0),
        "the existing job stands (name, state, added at)"
    );
    ensure!(
        matches!(
            &added[1],
            AddedJob::Created {
                state: JobState::Waiting,
                ..
            }
        ),
        "the next job of the call: {:?}",
        added[1]
    );
    ensure_eq!(
        k.job_events(&first).await?,
        vec![
            Event::Added {
                job_id: first.clone(),
                name: "first".into()
            },
            Event::Waiting {
                job_id: first.clone(),
                prev: None
            },
            Event::Duplicated {
                job_id: first.clone()
            },
        ],
        "events of the job"
    );
    ensure_eq!(k.counts().await?.total(), 2, "jobs in the queue");
    Ok(())
}

/// A custom id given twice in one call is added once: the second entry answers the first job.
pub async fn a_custom_id_repeated_in_one_call_is_added_once(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let same = |name: &str| Kit::job(name, JobOptions::new().job_id("same"));
    let added = k
        .add_jobs(vec![same("first"), same("second")], k.t0)
        .await?;
    ensure!(
        matches!(&added[0], AddedJob::Created { id, state: JobState::Waiting } if id.as_str() == "same"),
        "first entry: {:?}",
        added[0]
    );
    match &added[1] {
        AddedJob::Existing(record) => ensure_eq!(record.name, "first", "the second entry's job"),
        other => bail!("the repeated id answered {other:?}"),
    }
    ensure_eq!(
        k.get(&JobId::from("same")).await?.name,
        "first",
        "the stored job"
    );
    ensure_eq!(
        k.event_names().await?,
        ["added", "waiting", "duplicated"],
        "events"
    );
    Ok(())
}

/// A call with an invalid job (an integer custom id, which BullMQ forbids) is refused with
/// `InvalidOptions` and writes none of its jobs, not even the valid ones before it.
pub async fn an_invalid_job_refuses_the_whole_call(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let mut bad = JobOptions::new();
    bad.job_id = Some(JobId::from("12"));
    let result = k
        .store
        .job_add_bulk(AddJobs {
            queue: k.queue.clone(),
            jobs: vec![Kit::job("ok", JobOptions::new()), Kit::job("bad", bad)],
            now: k.t0,
        })
        .await;
    expect_err(result.map(|a| a.jobs), "InvalidOptions", |e| {
        matches!(e, Error::InvalidOptions(_))
    })?;
    ensure_eq!(k.counts().await?.total(), 0, "jobs written");
    ensure!(k.events().await?.is_empty(), "events written");
    Ok(())
}

/// The store answers each new job's state: a delay wins over a priority (delayed, due at add
/// time + delay, with a `delayed` event), then a priority (prioritized), else waiting.
pub async fn each_new_job_is_answered_with_its_state(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let added = k
        .add_jobs(
            vec![
                Kit::job(
                    "d",
                    JobOptions::new().delay(Duration::from_secs(10)).priority(2),
                ),
                Kit::job("p", JobOptions::new().priority(2)),
                Kit::job("w", JobOptions::new()),
            ],
            k.t0,
        )
        .await?;
    let states: Vec<_> = added
        .iter()
        .map(|a| match a {
            AddedJob::Created { state, .. } => Ok(*state),
            other => Err(TestError::msg(format!("not created: {other:?}"))),
        })
        .collect::<CaseResult<_>>()?;
    ensure_eq!(
        states,
        vec![JobState::Delayed, JobState::Prioritized, JobState::Waiting],
        "answered states"
    );
    for entry in &added {
        let record = k.get(entry.id()).await?;
        let AddedJob::Created { state, .. } = entry else {
            continue;
        };
        ensure_eq!(record.state, *state, "stored state of {}", record.name);
    }
    let delayed = k.get(added[0].id()).await?;
    ensure_eq!(delayed.due_at, Some(k.t0 + 10_000), "due time");
    ensure_eq!(
        k.job_events(&delayed.id).await?,
        vec![
            Event::Added {
                job_id: delayed.id.clone(),
                name: "d".into()
            },
            Event::Delayed {
                job_id: delayed.id.clone(),
                due_at: k.t0 + 10_000
            },
        ],
        "events of the delayed add"
    );
    let counts = k.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.prioritized, counts.delayed),
        (1, 1, 1),
        "(waiting, prioritized, delayed)"
    );
    Ok(())
}

/// 16 tasks adding 25 jobs each at the same time get the ids 1 to 400, each once.
pub async fn concurrent_adds_get_unique_ids(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (store, queue, now) = (k.store.clone(), k.queue.clone(), k.t0);
        tasks.push(tokio::spawn(async move {
            let kit = Kit {
                store,
                queue,
                t0: now,
            };
            let mut ids = Vec::new();
            for i in 0..25 {
                let id = kit.add(&format!("{t}-{i}"), JobOptions::new()).await?;
                ids.push(id.0);
            }
            Ok::<_, TestError>(ids)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.map_err(|e| TestError::msg(e.to_string()))??);
    }
    let numbers: BTreeSet<u64> = all.iter().filter_map(|id| id.parse().ok()).collect();
    ensure_eq!(all.len(), 400, "ids handed out");
    ensure_eq!(
        numbers,
        (1..=400).collect::<BTreeSet<u64>>(),
        "distinct ids"
    );
    Ok(())
}

/// One call of 1,200 jobs (more than a store may write per step) keeps their order: ids 1 to
/// 1,200 in the order given, all waiting, run in that order.
pub async fn a_large_bulk_keeps_order_and_ids(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let jobs = (0..1200)
        .map(|i| Kit::job(&format!("n{i}"), JobOptions::new()))
        .collect();
    let added = k.add_jobs(jobs, k.t0).await?;
    let expected: Vec<AddedJob> = (1..=1200)
        .map(|i| AddedJob::Created {
            id: JobId::from(i.to_string()),
            state: JobState::Waiting,
        })
        .collect();
    ensure!(
        added == expected,
        "the answers are not 1..=1200, all waiting"
    );
    ensure_eq!(k.counts().await?.waiting, 1200, "waiting jobs");
    ensure_eq!(
        k.get(&JobId::from("1200")).await?.name,
        "n1199",
        "job 1200's name"
    );
    let first = k.fetch_ids("t", 3, k.t0).await?;
    ensure_eq!(first, super::kit::ids(&["1", "2", "3"]), "first fetched");
    Ok(())
}
