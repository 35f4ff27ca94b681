//! Choosing the store: `--url`, `OXQ_URL`, the default file, and the sentences for a URL
//! that names no store or a server that cannot be reached.

mod support;

use std::process::Command;

use serde_json::json;
use support::{expect_failure, run};

fn oxq(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oxq"));
    command
        .current_dir(dir)
        .env_remove("OXQ_URL")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null());
    command
}

#[test]
fn the_default_store_is_oxq_db_and_oxq_url_overrides_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut add = oxq(dir.path());
    add.args(["add", "--queue", "q", "--data", "1"]);
    assert_eq!(run(add).code, Some(0));
    assert!(dir.path().join("oxq.db").exists(), "the default file");

    let other = format!("sqlite://{}", dir.path().join("other.db").display());
    let mut queues = oxq(dir.path());
    queues.env("OXQ_URL", &other).args(["queues", "--json"]);
    let out = run(queues);
    assert_eq!(out.stdout.trim(), json!([]).to_string(), "{out:?}");

    let mut from_flag = oxq(dir.path());
    from_flag
        .env("OXQ_URL", &other)
        .args(["--url", "sqlite://oxq.db", "queues", "--json"]);
    assert_eq!(run(from_flag).stdout.trim(), json!(["q"]).to_string());
}

#[test]
fn an_empty_or_malformed_url_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut empty_env = oxq(dir.path());
    empty_env.env("OXQ_URL", "").arg("queues");
    let err = expect_failure(run(empty_env), 2, &["OXQ_URL="]);
    assert!(err.contains("the URL is empty"), "{err}");

    let mut empty_flag = oxq(dir.path());
    empty_flag.args(["--url", "", "queues"]);
    expect_failure(run(empty_flag), 2, &["--url ''"]);

    let mut unknown = oxq(dir.path());
    unknown.args(["--url", "postgres://db/jobs", "queues"]);
    let err = expect_failure(run(unknown), 2, &["--url postgres"]);
    assert!(
        err.contains("unknown scheme") && err.contains("redis://"),
        "{err}"
    );
    assert!(
        !dir.path().join("oxq.db").exists(),
        "no default file was made"
    );
}

#[test]
fn an_unreachable_redis_is_one_sentence_with_its_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = oxq_testkit::redis_server::free_port();
    let mut down = oxq(dir.path());
    down.args([
        "--url",
        &format!("redis://127.0.0.1:{port}"),
        "counts",
        "--queue",
        "q",
    ]);
    let err = expect_failure(run(down), 1, &["unreachable redis"]);
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}
