//! `oxq worker --exec CMD` on both stores, with children in two languages (a shell script and
//! a Python program): return values, progress and log lines, failures (a command that does not
//! exist, non-JSON output, a non-zero exit, a hang past the timeout) and shutdown by signal.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::{Fixture, StderrLines, alive, signal, wait_for_exit, wait_until};

on_both_stores!(
    a_shell_script_reports_progress_logs_and_a_value,
    a_python_program_fails_then_succeeds_on_its_second_attempt,
    a_missing_command_and_non_json_output_fail_the_attempt,
    a_child_past_its_timeout_is_killed_with_its_group,
    sigterm_lets_a_running_child_finish,
    a_second_signal_kills_the_child_and_hands_its_job_back,
);

const EXIT: Duration = Duration::from_secs(30);
/// What the worker logs when it takes a signal.
const SIGNAL_SEEN: &str = "signal received";

/// Reads a file the child wrote once it exists.
fn wait_for_file(fx: &Fixture, name: &str) -> String {
    let path = fx.path(name);
    wait_until(EXIT, name, || {
        std::fs::read_to_string(&path).is_ok_and(|text| text.ends_with('\n'))
    });
    std::fs::read_to_string(&path).expect("read file")
}

fn a_shell_script_reports_progress_logs_and_a_value(fx: &Fixture) {
    let id = fx.add("sh", r#"{"n":20}"#, &["--name", "double"]);
    let script = fx.script(
        "double.sh",
        r#"#!/bin/sh
data=$(cat)
n=$(echo "$data" | sed 's/[^0-9]//g')
echo "progress: 50" >&2
echo "log: doubling $n" >&2
echo "a plain stderr line" >&2
echo "progress: {\"step\": 2}" >&2
printf '{"doubled": %s, "id": "%s", "name": "%s", "queue": "%s", "attempt": %s}\n' \
  $((n * 2)) "$OXQ_JOB_ID" "$OXQ_JOB_NAME" "$OXQ_QUEUE" "$OXQ_ATTEMPT"
"#,
    );
    let out = fx.json(&[
        "worker",
        "--queue",
        "sh",
        "--exec",
        script.to_str().expect("path"),
        "--count",
        "1",
    ]);
    assert_eq!(out, json!({"completed": 1, "failed": 0, "abandoned": 0}));
    let job = fx.job("sh", &id);
    assert_eq!(job["state"], json!("completed"), "{job}");
    assert_eq!(
        job["return_value"],
        json!({"doubled": 40, "id": id, "name": "double", "queue": "sh", "attempt": 1})
    );
    assert_eq!(job["progress"], json!({"step": 2}));
    assert_eq!(job["logs"], json!(["doubling 20"]));
}

fn a_python_program_fails_then_succeeds_on_its_second_attempt(fx: &Fixture) {
    let id = fx.add("py", r#"{"words":["a","bb","ccc"]}"#, &["--attempts", "2"]);
    let program = fx.script(
        "lengths.py",
        r#"#!/usr/bin/env python3
import json, os, sys
data = json.load(sys.stdin)
attempt = int(os.environ["OXQ_ATTEMPT"])
print("progress: 10", file=sys.stderr, flush=True)
if attempt == 1:
    print("log: first attempt fails on purpose", file=sys.stderr, flush=True)
    raise RuntimeError("flaky upstream on attempt 1")
print(json.dumps({"lengths": [len(w) for w in data["words"]], "attempt": attempt}))
"#,
    );
    let command = format!("python3 {}", program.display());
    let out = fx.json(&[
        "worker", "--queue", "py", "--exec", &command, "--count", "1",
    ]);
    assert_eq!(out["completed"], json!(1), "{out}");
    let job = fx.job("py", &id);
    assert_eq!(job["state"], json!("completed"), "{job}");
    assert_eq!(
        job["return_value"],
        json!({"lengths": [1, 2, 3], "attempt": 2})
    );
    assert_eq!(job["attempts_made"], json!(2));
    let first_error = job["stacktrace"][0]
        .as_str()
        .expect("the first attempt's error");
    assert!(
        first_error.contains("exited with status 1")
            && first_error.contains("RuntimeError: flaky upstream on attempt 1"),
        "{first_error}"
    );
    assert!(!first_error.contains("progress:"), "{first_error}");
    assert_eq!(job["logs"], json!(["first attempt fails on purpose"]));
}

fn a_missing_command_and_non_json_output_fail_the_attempt(fx: &Fixture) {
    let missing = fx.add("bad", "1", &[]);
    let out = fx.json(&[
        "worker",
        "--queue",
        "bad",
        "--exec",
        "no-such-command-oxq",
        "--count",
        "1",
    ]);
    assert_eq!(out["failed"], json!(1), "{out}");
    let job = fx.job("bad", &missing);
    assert_eq!(job["state"], json!("failed"));
    let reason = job["failed_reason"].as_str().expect("reason");
    assert!(
        reason.contains("command not found") && reason.contains("no-such-command-oxq"),
        "{reason}"
    );

    let chatty = fx.add("bad", "2", &[]);
    fx.ok(&[
        "worker",
        "--queue",
        "bad",
        "--exec",
        "echo all done",
        "--count",
        "1",
    ]);
    let job = fx.job("bad", &chatty);
    assert_eq!(job["state"], json!("failed"));
    let reason = job["failed_reason"].as_str().expect("reason");
    assert!(
        reason.contains("stdout is not JSON") && reason.contains("all done"),
        "{reason}"
    );

    let silent = fx.add("bad", "3", &[]);
    fx.ok(&[
        "worker", "--queue", "bad", "--exec", "exit 0", "--count", "1",
    ]);
    assert_eq!(fx.job("bad", &silent)["return_value"], json!(null));
    assert_eq!(fx.job("bad", &silent)["state"], json!("completed"));

    assert_eq!(
        fx.run(&["worker", "--queue", "bad"]).code,
        Some(2),
        "--exec is required"
    );
    for zero in ["--count", "--timeout-ms", "--concurrency"] {
        let args = ["worker", "--queue", "bad", "--exec", "cat", zero, "0"];
        assert_eq!(fx.run(&args).code, Some(2), "{zero} 0");
    }
}

fn a_child_past_its_timeout_is_killed_with_its_group(fx: &Fixture) {
    let id = fx.add("slow", "1", &[]);
    // the shell starts `sleep` as a grandchild: the whole group must die
    let script = fx.script(
        "hang.sh",
        "#!/bin/sh\nsleep 600 &\necho $! > sleeper.pid\nwait\n",
    );
    let out = fx.json(&[
        "worker",
        "--queue",
        "slow",
        "--exec",
        script.to_str().expect("path"),
        "--timeout-ms",
        "500",
        "--count",
        "1",
    ]);
    assert_eq!(out["failed"], json!(1), "{out}");
    let job = fx.job("slow", &id);
    assert_eq!(job["state"], json!("failed"));
    let reason = job["failed_reason"].as_str().expect("reason");
    assert!(reason.contains("timed out after 500 ms"), "{reason}");
    let sleeper: u32 = wait_for_file(fx, "sleeper.pid")
        .trim()
        .parse()
        .expect("a pid");
    wait_until(Duration::from_secs(5), "the grandchild to die", || {
        !alive(sleeper)
    });
}

/// A child that says it started (with its pid), then waits for the file `go`: it polls for it,
/// since a shell has no other signal a test can send it without killing it.
fn waiting_child(fx: &Fixture) -> String {
    let script = fx.script(
        "wait_for_go.sh",
        "#!/bin/sh\necho $$ > started.pid\nwhile [ ! -f go ]; do sleep 0.05; done\necho '\"finished\"'\n",
    );
    script.to_str().expect("path").to_owned()
}

fn sigterm_lets_a_running_child_finish(fx: &Fixture) {
    let id = fx.add("term", "1", &[]);
    let later = fx.add("term", "2", &[]);
    let command = waiting_child(fx);
    let mut worker = fx.spawn(&["worker", "--queue", "term", "--exec", &command, "--json"]);
    let mut stderr = StderrLines::of(&mut worker);
    let child: u32 = wait_for_file(fx, "started.pid")
        .trim()
        .parse()
        .expect("a pid");
    signal(&worker, "TERM");
    stderr.wait_for(SIGNAL_SEEN, EXIT);
    // the worker is closing: the running child keeps going until it finishes
    assert!(alive(child), "the child survives the first SIGTERM");
    std::fs::write(fx.path("go"), "").expect("write go");
    let run = wait_for_exit(worker, EXIT);
    assert_eq!(run.code, Some(0), "{run:?}");
    let job = fx.job("term", &id);
    assert_eq!(job["state"], json!("completed"), "{job}");
    assert_eq!(job["return_value"], json!("finished"));
    assert_eq!(
        fx.job("term", &later)["state"],
        json!("waiting"),
        "no new job started"
    );
}

fn a_second_signal_kills_the_child_and_hands_its_job_back(fx: &Fixture) {
    let id = fx.add("kill", "1", &[]);
    let command = waiting_child(fx);
    let mut worker = fx.spawn(&["worker", "--queue", "kill", "--exec", &command]);
    let mut stderr = StderrLines::of(&mut worker);
    let child: u32 = wait_for_file(fx, "started.pid")
        .trim()
        .parse()
        .expect("a pid");
    signal(&worker, "TERM");
    // two signals sent at once may arrive as one: send the second once the first is seen
    stderr.wait_for(SIGNAL_SEEN, EXIT);
    assert_eq!(fx.job("kill", &id)["state"], json!("active"));
    signal(&worker, "TERM");
    let run = wait_for_exit(worker, EXIT);
    assert_eq!(run.code, Some(0), "{run:?}");
    wait_until(Duration::from_secs(5), "the child to die", || !alive(child));
    let job = fx.job("kill", &id);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time after 1970")
        .as_millis() as u64;
    // handed back as due now: runnable at once, no attempt used
    assert_eq!(job["state"], json!("delayed"), "{job}");
    assert!(
        job["due_at"].as_u64().is_some_and(|due| due <= now),
        "{job}"
    );
    assert_eq!(job["attempts_made"], json!(0), "{job}");
    let next = fx.json(&[
        "worker", "--queue", "kill", "--exec", "echo 7", "--count", "1",
    ]);
    assert_eq!(
        next["completed"],
        json!(1),
        "another worker runs it at once: {next}"
    );
}
