//! `oxq cancel <id>`: cancels one job from the command line, whatever process runs it.
//!
//! Prints what happened (`--json`: `{"cancelled": id, "outcome": ..., "state": ...}` with the
//! outcome `cancelled` (and the state it left), `requested` (it was running: it is failed now,
//! and its worker drops it at its next lock renewal) or `already-finished` (and its state,
//! nothing changed). An unknown job exits 3, like every other command.

use oxq::{CancelOutcome, JobId};
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::store::Store;

pub async fn cancel(store: &Store, queue_name: &str, id: &str, json: bool) -> CliResult<()> {
    let queue = store.existing_queue(queue_name).await?;
    let id = JobId(id.to_owned());
    let (outcome, state, sentence) = match queue.cancel(&id).await? {
        CancelOutcome::NotFound => return Err(CliError::unknown_job(id.as_str(), queue_name)),
        CancelOutcome::Cancelled { prev } => (
            "cancelled",
            Some(prev),
            format!("cancelled job {id} (it was {prev}); it is failed and will not run"),
        ),
        CancelOutcome::Requested => (
            "requested",
            None,
            format!(
                "job {id} was running: it is failed now, and its worker stops it at its next \
                 lock renewal"
            ),
        ),
        CancelOutcome::AlreadyFinished { state } => (
            "already-finished",
            Some(state),
            format!("job {id} is {state} already; nothing changed"),
        ),
        other => {
            return Err(CliError::Failed(format!(
                "job {id}: the store answered {other:?}, which this oxq does not know"
            )));
        }
    };
    if json {
        print_json(&json!({
            "cancelled": id.as_str(),
            "outcome": outcome,
            "state": state.map(|s| s.as_str()),
        }));
    } else {
        println!("{sentence}");
    }
    Ok(())
}
