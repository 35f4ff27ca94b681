//! One module per store operation, each paired with its script in `scripts/` (a `ScriptCall`
//! struct encoding the script's keys and arguments, and the function the backend calls).

pub(crate) mod add;
pub(crate) mod clean;
pub(crate) mod counts;
pub(crate) mod drain;
pub(crate) mod events;
pub(crate) mod extend_locks;
pub(crate) mod finish;
pub(crate) mod get_job;
pub(crate) mod list_jobs;
pub(crate) mod logs;
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
pub(crate) mod wait;

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
    use crate::scripts::{SOURCES, ScriptCall, header_keys};

    use super::*;

    fn entry<S: ScriptCall>() -> (&'static str, &'static [&'static str]) {
        (S::NAME, S::KEYS)
    }

    /// Every script's Rust call passes exactly the KEYS its header lists, in order, and every
    /// script has a call.
    #[test]
    fn script_keys_match_headers() {
        let calls = [
            entry::<add::AddCall<'static>>(),
            entry::<move_to_active::FetchCall<'static>>(),
            entry::<finish::FinishCall<'static>>(),
            entry::<extend_locks::ExtendCall<'static>>(),
            entry::<recover_stalled::RecoverCall>(),
            entry::<progress::ProgressCall<'static>>(),
            entry::<logs::AddLogCall<'static>>(),
            entry::<remove_job::RemoveCall<'static>>(),
            entry::<promote::PromoteCall<'static>>(),
            entry::<retry_job::RetryCall<'static>>(),
            entry::<move_jobs_to_wait::MoveCall>(),
            entry::<pause::PauseCall>(),
            entry::<pause::ResumeCall>(),
            entry::<drain::DrainCall>(),
            entry::<clean::CleanCall>(),
            entry::<obliterate::ObliterateCall>(),
            entry::<get_job::GetCall<'static>>(),
            entry::<list_jobs::ListCall<'static>>(),
        ];
        for (name, keys) in calls {
            let header = header_keys(name);
            assert!(!header.is_empty(), "{name}.lua has no KEYS header");
            assert_eq!(
                header,
                keys.to_vec(),
                "{name}: KEYS of the header and the Rust call differ"
            );
        }
        for (name, _) in SOURCES {
            assert!(
                calls.iter().any(|(n, _)| n == name),
                "script {name} has no ScriptCall"
            );
        }
        assert_eq!(calls.len(), SOURCES.len());
    }
}
