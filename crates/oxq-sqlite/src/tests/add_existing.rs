//! [`AddedJob`]: the state of a new job, or the stored job for an existing custom id.

use std::time::Duration;

use oxq_core::backend::*;
use oxq_core::{Backend, Event, JobId, JobOptions, JobState, QueueRef, Result};

use super::{T0, events, get, job, store};

#[tokio::test]
async fn adding_an_existing_id_answers_the_stored_job() -> Result<()> {
    let (_dir, store) = store().await?;
    let queue = QueueRef::new("dup")?;
    let first = AddJobs {
        queue: queue.clone(),
        jobs: vec![job(JobOptions::new().job_id("a"), r#"{"v":1}"#)],
        now: T0,
    };
    let answer = store.job_add_bulk(first).await?;
    assert_eq!(
        answer.jobs,
        vec![AddedJob::Created {
            id: JobId::from("a"),
            state: JobState::Waiting
        }]
    );

    let second = AddJobs {
        queue: queue.clone(),
        jobs: vec![
            job(JobOptions::new().job_id("a"), r#"{"v":2}"#),
            job(JobOptions::new().job_id("b").priority(3), r#"{"v":3}"#),
            job(JobOptions::new().job_id("b"), r#"{"v":4}"#),
            job(JobOptions::new().delay(Duration::from_secs(5)), "{}"),
        ],
        now: T0 + 1,
    };
    let answer = store.job_add_bulk(second).await?.jobs;
    assert_eq!(answer.len(), 4);
    let AddedJob::Existing(a) = &answer[0] else {
        panic!("expected the stored job a, got {:?}", answer[0]);
    };
    assert_eq!(a.id, JobId::from("a"));
    assert_eq!(a.data, r#"{"v":1}"#, "the stored job, not the new one");
    assert_eq!(a.state, JobState::Waiting);
    assert_eq!(a.timestamp, T0);
    assert_eq!(**a, get(&store, &queue, &JobId::from("a")).await?);
    assert_eq!(
        answer[1],
        AddedJob::Created {
            id: JobId::from("b"),
            state: JobState::Prioritized
        }
    );
    let AddedJob::Existing(b) = &answer[2] else {
        panic!(
            "expected job b added earlier in the call, got {:?}",
            answer[2]
        );
    };
    assert_eq!(b.data, r#"{"v":3}"#);
    assert_eq!(b.state, JobState::Prioritized);
    assert!(matches!(
        &answer[3],
        AddedJob::Created {
            state: JobState::Delayed,
            ..
        }
    ));

    let duplicated: Vec<_> = events(&store, &queue)
        .await?
        .into_iter()
        .filter_map(|e| match e {
            Event::Duplicated { job_id } => Some(job_id),
            _ => None,
        })
        .collect();
    assert_eq!(duplicated, vec![JobId::from("a"), JobId::from("b")]);
    Ok(())
}
