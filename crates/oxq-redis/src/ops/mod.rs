//! One module per store operation, each paired with its script in `scripts/` (a `ScriptCall`
//! struct encoding the script's keys and arguments, and the function the backend calls).

pub(crate) mod add;
pub(crate) mod cancel;
pub(crate) mod clean;
pub(crate) mod counts;
pub(crate) mod dead_letters;
pub(crate) mod dedup;
pub(crate) mod drain;
pub(crate) mod events;
pub(crate) mod extend_locks;
pub(crate) mod finish;
pub(crate) mod flows;
pub(crate) mod get_job;
pub(crate) mod groups;
pub(crate) mod limits;
pub(crate) mod list_jobs;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod move_jobs_to_wait;
pub(crate) mod move_to_active;
pub(crate) mod obliterate;
pub(crate) mod pause;
pub(crate) mod progress;
pub(crate) mod promote;
pub(crate) mod queues;
pub(crate) mod recover_stalled;
pub(crate) mod remove_job;
pub(crate) mod retry_job;
pub(crate) mod schedulers;
pub(crate) mod steps;
pub(crate) mod wait;
pub(crate) mod workers;

use oxq_core::{Error, JobId};

/// The common single-job return codes of the scripts as oxq errors.
pub(crate) fn job_code(code: i64, id: &JobId, expected: &'static str) -> Result<(), Error> {
    match code {
        0 => Ok(()),
        -1 => Err(Error::JobNotFound(id.to_string())),
        -2 => Err(Error::LockLost(id.to_string())),
        -3 => Err(Error::JobNotInState {
            job_id: id.to_string(),
            expected,
        }),
        other => Err(Error::store(format!(
            "job {id}: unexpected script code {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use oxq_core::backend::{AttemptEnd, Fetch, Finish, FlowNode, ListJobs, NewJob, StoreMemo};
    use oxq_core::{JobOptions, JobState, KeepJobs, LockToken, QueueRef};

    use super::*;
    use crate::scripts::{RecordedArgs, SOURCES, ScriptCall, header_argv, header_keys};
    use crate::wire;

    /// Checks one call against its script's header: the KEYS, in order, and the number of
    /// arguments it passes with `items` items. Answers the script's name.
    fn check<S: ScriptCall>(call: &S, items: usize) -> &'static str {
        let name = S::NAME;
        let header = header_keys(name);
        // a script that builds all its keys from ARGV still has the section, saying so
        assert!(
            !header.is_empty() || (S::KEYS.is_empty() && has_keys_section(name)),
            "{name}.lua has no KEYS header"
        );
        let keys: Vec<&str> = S::KEYS.iter().map(|k| k.as_suffix()).collect();
        assert_eq!(
            header, keys,
            "{name}: KEYS of the header and the Rust call differ"
        );
        let mut args = RecordedArgs::default();
        call.args(&mut args);
        let argv = header_argv(name);
        assert!(argv.fixed >= 1, "{name}.lua has no ARGV header");
        assert_eq!(
            args.0.len(),
            argv.expected(items),
            "{name}: ARGV of the header ({argv:?}, {items} items) and the Rust call differ"
        );
        name
    }

    fn has_keys_section(name: &str) -> bool {
        let path = format!("{}/scripts/{name}.lua", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).is_ok_and(|text| text.lines().any(|l| l == "-- KEYS"))
    }

    /// Every script's Rust call passes exactly the KEYS its header lists, in order, and as many
    /// ARGV as the header says; every script has a call.
    #[test]
    fn script_calls_match_headers() {
        let id = JobId::from("7");
        let token = LockToken("t".into());
        let queue = QueueRef::new("q").expect("queue");
        let job = NewJob {
            name: "n".into(),
            data: "{}".into(),
            options: JobOptions::new(),
        };
        let parent = oxq_core::ParentLink::new(queue.clone(), id.clone());
        let child = NewJob {
            options: JobOptions::new().job_id("c").parent(parent),
            ..job.clone()
        };
        let flow_nodes = [
            FlowNode {
                queue: queue.clone(),
                job: NewJob {
                    options: JobOptions::new().job_id("p"),
                    ..job.clone()
                },
                children: 1,
            },
            FlowNode {
                queue: queue.clone(),
                job: child.clone(),
                children: 0,
            },
        ];
        let jobs = [child, job];
        let fetch = Fetch {
            token: token.clone(),
            lock_duration: Duration::from_secs(30),
            max_jobs: 4,
            worker_name: None,
            limiter: None,
        };
        let finish = |end| Finish {
            job_id: id.clone(),
            token: token.clone(),
            end,
            memo: StoreMemo::none(),
        };
        let ends = [
            finish(AttemptEnd::Completed {
                return_value: "1".into(),
                keep: KeepJobs::All,
            }),
            finish(AttemptEnd::Delayed { until: 5 }),
            finish(AttemptEnd::WaitForChildren),
        ];
        let finish_items = |fetch| finish::FinishCall {
            now: 1,
            items: ends
                .iter()
                .map(|end| finish::FinishItem {
                    finish: end,
                    args: wire::finish_args(&end.end, 1).expect("known end"),
                    attempts_after: Some("1"),
                })
                .collect(),
            // metrics on or off: the same number of values either way
            metrics: Some(60),
            fetch,
        };
        let locks = [(id.clone(), token.clone()), (id.clone(), token.clone())];
        let list = ListJobs {
            queue,
            states: vec![JobState::Waiting, JobState::Failed, JobState::Waiting],
            offset: 0,
            limit: 10,
            ascending: true,
        };
        let names = [
            check(
                &add::AddCall {
                    now: 1,
                    jobs: &jobs,
                },
                2,
            ),
            check(
                &move_to_active::FetchCall {
                    now: 1,
                    fetch: &fetch,
                },
                0,
            ),
            check(&finish_items(Some(&fetch)), 3),
            check(&finish_items(None), 3),
            check(
                &extend_locks::ExtendCall {
                    duration_ms: 1,
                    locks: &locks,
                },
                2,
            ),
            check(
                &recover_stalled::RecoverCall {
                    now: 1,
                    max_stalled_count: 1,
                    interval_ms: 1,
                },
                0,
            ),
            check(
                &progress::ProgressCall {
                    job_id: &id,
                    progress: "1",
                },
                0,
            ),
            check(
                &logs::AddLogCall {
                    job_id: &id,
                    line: "l",
                    keep: 0,
                },
                0,
            ),
            check(&remove_job::RemoveCall { job_id: &id }, 0),
            check(
                &flows::FlowAddCall {
                    now: 1,
                    nodes: &flow_nodes,
                },
                2,
            ),
            check(&flows::DependenciesCall { job_id: "7" }, 0),
            check(&promote::PromoteCall { job_id: &id }, 0),
            check(&retry_job::RetryCall { job_id: &id }, 0),
            check(
                &move_jobs_to_wait::MoveCall {
                    source: "failed",
                    max_score: "+inf".into(),
                    limit: 1,
                },
                0,
            ),
            check(&pause::PauseCall, 0),
            check(&pause::ResumeCall { first: true }, 0),
            check(
                &drain::DrainCall {
                    include_delayed: true,
                },
                0,
            ),
            check(
                &clean::CleanCall {
                    state: "failed",
                    cutoff: 1,
                    limit: 1,
                },
                0,
            ),
            check(
                &obliterate::ObliterateCall {
                    force: false,
                    budget: 1,
                },
                0,
            ),
            check(
                &dead_letters::ListCall {
                    offset: 0,
                    limit: 1,
                },
                0,
            ),
            check(
                &dead_letters::ReplayCall {
                    now: 1,
                    ids: &[id.clone(), id.clone()],
                },
                2,
            ),
            check(&dead_letters::PurgeCall { now: 1, ids: None }, 0),
            check(
                &dead_letters::PurgeCall {
                    now: 1,
                    ids: Some(&[id.clone(), id.clone()]),
                },
                2,
            ),
            check(&get_job::GetCall { job_id: &id }, 0),
            check(&counts::CountsCall, 0),
            // the repeated state is sent once
            check(&list_jobs::ListCall { req: &list }, 2),
            check(
                &schedulers::UpsertCall {
                    now: 1,
                    id: "s",
                    read_score: None,
                    fresh: Some(1),
                    replaced: None,
                    after_taken: None,
                    limit: None,
                    fields: "{}",
                    iteration_opts: "{}",
                },
                0,
            ),
            check(
                &schedulers::NextCall {
                    now: 1,
                    id: "s",
                    taken: 1,
                    next: 2,
                    iteration_opts: "{}",
                },
                0,
            ),
            check(&schedulers::RemoveCall { id: "s" }, 0),
            check(
                &dedup::DedupKeyCall {
                    now: 1,
                    op: dedup::DedupOp::Release,
                    dedup_id: "d",
                    job_id: Some(&id),
                },
                0,
            ),
            check(
                &cancel::CancelCall {
                    job_id: &id,
                    now: 1,
                },
                0,
            ),
            check(&steps::StepsReadCall { job_id: &id }, 0),
            check(
                &steps::StepSaveCall {
                    req: &oxq_core::backend::SaveStep {
                        queue: QueueRef::new("q").expect("queue"),
                        job_id: id.clone(),
                        token: token.clone(),
                        name: "s".into(),
                        entry: "{}".into(),
                        waits_for: None,
                    },
                },
                0,
            ),
            check(
                &steps::JobSignalCall {
                    req: &oxq_core::backend::SendSignal {
                        queue: QueueRef::new("q").expect("queue"),
                        job_id: id.clone(),
                        name: "s".into(),
                        payload: "1".into(),
                        now: 1,
                    },
                },
                0,
            ),
        ];
        for (name, _) in SOURCES {
            assert!(names.contains(name), "script {name} has no ScriptCall");
        }
    }
}
