//! The examples as a user meets them on the command line: each answers `--help` with a usage
//! line and exits 0 without doing anything else (`quickstart --help` used to run the whole
//! program), an empty `--url` is refused instead of quietly opening `./oxq.db`, errors print as
//! a sentence (no Rust debug text), and a producer logs which store and file it uses.
//!
//! Run with: `cargo test -p oxq --test examples_cli`

mod support;

use std::process::{Command, Output};

use support::example;

/// Runs example `name` with `args` in `dir`, capturing both streams.
fn run_in(dir: &std::path::Path, name: &str, args: &[&str]) -> Output {
    Command::new(example(name))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("run example")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_example_answers_help_with_a_usage_line_and_does_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in [
        "quickstart",
        "produce",
        "echo_worker",
        "daily_digest",
        "order_flow",
    ] {
        let output = run_in(dir.path(), name, &["--help"]);
        let stdout = text(&output.stdout);
        assert!(
            output.status.success(),
            "{name} --help: {:?}, stderr {}",
            output.status,
            text(&output.stderr)
        );
        assert!(
            stdout.contains(&format!("Usage: {name}")),
            "{name} --help printed no usage line: {stdout}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read temp dir")
        .map(|e| e.expect("dir entry").file_name())
        .collect();
    assert!(left.is_empty(), "--help wrote files: {left:?}");
}

#[test]
fn an_empty_url_is_refused_in_a_sentence_and_opens_no_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["produce", "echo_worker"] {
        let output = run_in(dir.path(), name, &["--url", "", "--count", "1"]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{name}: invalid connection url \"\": the URL is empty"
            )),
            "{name} should say the URL is empty: {stderr}"
        );
        assert!(
            !stderr.contains("InvalidUrl {"),
            "{name} printed debug text: {stderr}"
        );
    }
    assert!(
        !dir.path().join("oxq.db").exists(),
        "an empty URL opened ./oxq.db"
    );
}

#[test]
fn a_producer_logs_the_store_and_file_it_uses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("jobs.db");
    let url = format!("sqlite://{}", file.display());
    let output = run_in(dir.path(), "produce", &["--url", &url, "--count", "1"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "produce: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("opened the store"))
        .unwrap_or_else(|| panic!("no start-up line naming the store: {stderr}"));
    assert!(
        line.contains("INFO")
            && line.contains("store=\"sqlite\"")
            && line.contains(&file.display().to_string()),
        "the start-up line should name the sqlite store and {}: {line}",
        file.display()
    );
}

#[test]
fn a_producer_stopped_mid_bulk_says_how_many_jobs_it_had_added() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("jobs.db");
    let url = format!("sqlite://{}", file.display());
    // creates the schema and the queue
    let first = run_in(dir.path(), "produce", &["--url", &url, "--count", "1"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    // from the 1,001st job on, every insert fails, as a full disk would
    let conn = rusqlite::Connection::open(&file).expect("open the database");
    conn.execute_batch(
        "CREATE TRIGGER full_disk BEFORE INSERT ON jobs WHEN (SELECT count(*) FROM jobs) >= 1001 \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
    )
    .expect("create the trigger");
    drop(conn);
    let output = run_in(dir.path(), "produce", &["--url", &url, "--count", "2500"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("produce: stopped after adding 1000 of 2500 jobs"),
        "produce should say how many jobs it had added: {stderr}"
    );
}
