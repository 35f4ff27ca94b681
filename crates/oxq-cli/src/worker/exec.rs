//! One attempt of `oxq worker --exec CMD`: the job run as a child process.
//!
//! The protocol, as the child sees it:
//! * `CMD` runs through `sh -c`, as the leader of its own process group.
//! * stdin: the job's data as JSON, then end of file.
//! * environment: `OXQ_JOB_ID`, `OXQ_JOB_NAME`, `OXQ_QUEUE`, `OXQ_ATTEMPT` (1 for the first
//!   attempt).
//! * stdout: the return value as JSON (empty: `null`). Output that is not JSON fails the attempt.
//! * exit status: 0 completes the job; anything else (a signal too) fails the attempt with the
//!   tail of stderr as the reason (127, `sh`'s "command not found", says so).
//! * stderr: a line `progress: N` (a number or any JSON) sets the job's progress, a line
//!   `log: text` adds `text` to the job's log; other lines are kept for the failure reason.
//! * `--timeout-ms`: past it the process group is killed and the attempt fails. When the worker
//!   drops the attempt (the job's own timeout, the close deadline, a second signal) the
//!   process group is killed too ([`GroupKill`]).

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use oxq::{Job, Outcome};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};

use super::group::GroupKill;

/// Lines of stderr kept for a failure reason.
const TAIL_LINES: usize = 20;
/// Characters of one kept stderr line.
const TAIL_LINE_CHARS: usize = 1000;

/// What every attempt of one worker runs.
#[derive(Debug)]
pub struct ExecConfig {
    /// Given to `sh -c`.
    pub command: String,
    pub queue: String,
    /// Kill the command after this long.
    pub timeout: Option<Duration>,
}

/// Runs `job` through the command; the outcome the worker records.
pub async fn run_job(job: Job<Value>, config: Arc<ExecConfig>) -> Outcome<Value> {
    match attempt(job, &config).await {
        Ok(value) => Outcome::Complete(value),
        Err(reason) => Outcome::fail(reason),
    }
}

/// What a finished child left.
struct Finished {
    status: std::io::Result<ExitStatus>,
    stdout: std::io::Result<Vec<u8>>,
    stderr_tail: Vec<String>,
}

async fn attempt(mut job: Job<Value>, config: &ExecConfig) -> Result<Value, String> {
    let data = serde_json::to_vec(job.data())
        .map_err(|e| format!("cannot encode the job's data as JSON: {e}"))?;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&config.command)
        .env("OXQ_JOB_ID", job.id().as_str())
        .env("OXQ_JOB_NAME", job.name())
        .env("OXQ_QUEUE", &config.queue)
        .env("OXQ_ATTEMPT", (job.attempts_made() + 1).to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start `sh -c {}`: {e}", config.command))?;
    let mut group = GroupKill::new(child.id());
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());

    let run = async {
        let feed = async {
            if let Some(mut stdin) = stdin {
                // a command that does not read its input closes the pipe: not an error
                let _ = stdin.write_all(&data).await;
            }
        };
        let collect = async {
            let mut buf = Vec::new();
            if let Some(mut stdout) = stdout {
                stdout.read_to_end(&mut buf).await?;
            }
            Ok(buf)
        };
        let ((), stdout, stderr_tail) =
            tokio::join!(feed, collect, follow_stderr(stderr, &mut job));
        Finished {
            status: child.wait().await,
            stdout,
            stderr_tail,
        }
    };
    let finished = match config.timeout {
        Some(limit) => match tokio::time::timeout(limit, run).await {
            Ok(finished) => finished,
            Err(_) => {
                group.kill();
                return Err(format!(
                    "timed out after {} ms; the command and its process group were killed",
                    limit.as_millis()
                ));
            }
        },
        None => run.await,
    };
    group.disarm();
    judge(finished)
}

/// The return value of a child that ended, or why the attempt failed.
fn judge(finished: Finished) -> Result<Value, String> {
    let status = finished
        .status
        .map_err(|e| format!("cannot wait for the command: {e}"))?;
    let tail = finished.stderr_tail.join("\n");
    if !status.success() {
        let how = match status.code() {
            Some(127) => "exited with status 127 (command not found)".to_owned(),
            Some(code) => format!("exited with status {code}"),
            None => {
                use std::os::unix::process::ExitStatusExt;
                format!("was killed by signal {}", status.signal().unwrap_or(0))
            }
        };
        return Err(if tail.is_empty() {
            format!("the command {how} and wrote nothing on stderr")
        } else {
            format!("the command {how}: {tail}")
        });
    }
    let stdout = finished
        .stdout
        .map_err(|e| format!("cannot read the command's stdout: {e}"))?;
    let text = String::from_utf8_lossy(&stdout);
    let text = text.trim();
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|e| {
        format!(
            "the command's stdout is not JSON ({e}): {}",
            crate::output::truncate(text, 200)
        )
    })
}

/// Reads the child's stderr to its end: applies `progress:` and `log:` lines to the job and
/// answers the last other lines.
async fn follow_stderr<R: AsyncRead + Unpin>(
    stderr: Option<R>,
    job: &mut Job<Value>,
) -> Vec<String> {
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let Some(stderr) = stderr else {
        return Vec::new();
    };
    let mut reader = BufReader::new(stderr);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tail.push_back(format!("(cannot read stderr: {e})"));
                break;
            }
        }
        let line = String::from_utf8_lossy(&raw);
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(progress) = line.strip_prefix("progress:") {
            if let Ok(value) = serde_json::from_str::<Value>(progress.trim()) {
                if let Err(e) = job.update_progress(value).await {
                    tracing::warn!(job = %job.id(), error = %e, "cannot record progress");
                }
                continue;
            }
        } else if let Some(text) = line.strip_prefix("log:") {
            if let Err(e) = job.log(text.trim_start()).await {
                tracing::warn!(job = %job.id(), error = %e, "cannot add a log line");
            }
            continue;
        }
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(crate::output::truncate(line, TAIL_LINE_CHARS));
    }
    tail.into()
}
