//! `bench_redis` on the command line: `--help` prints a usage line and exits 0 without
//! starting a server (it used to fail as an unknown option); a bad option is a one-line
//! sentence and exit status 1, not Rust debug text.
//!
//! Run with: `cargo test -p oxq-redis --test examples_cli` (after `cargo build -p oxq-redis
//! --examples`; a plain `cargo test -p oxq-redis` builds them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The example binary built by `cargo test` (target/<profile>/examples/<name>).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile> directory");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: examples are built by `cargo test`",
        path.display()
    );
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(example("bench_redis"))
        .args(args)
        .output()
        .expect("run bench_redis")
}

#[test]
fn bench_redis_answers_help_with_a_usage_line() {
    for flag in ["--help", "-h"] {
        let output = run(&[flag]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "bench_redis {flag}: {:?}",
            output.status
        );
        assert!(
            stdout.contains("Usage: bench_redis"),
            "bench_redis {flag} printed no usage line: {stdout}"
        );
    }
}

#[test]
fn a_bad_option_is_a_sentence_and_status_1() {
    let output = run(&["--jobs", "many"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("bench_redis: --jobs \"many\" is not a count"),
        "a bad --jobs should print a sentence: {stderr}"
    );
}
