//! `examples/order_saga.rs` as a user runs it, on both stores: each order's report holds the
//! fetched order, the charge with its idempotency key, the confirmation and the review asked
//! after the (shortened) sleep.
//!
//! Run with: `cargo build -p oxq --examples && cargo test -p oxq --test order_saga`

mod support;

use std::process::Command;

use oxq_testkit::redis_server::RedisServer;
use support::example;

fn check(url: &str) {
    let output = Command::new(example("order_saga"))
        .args(["--url", url, "--orders", "3", "--sleep-ms", "300"])
        .env_remove("RUST_LOG")
        .output()
        .expect("run order_saga");
    assert!(
        output.status.success(),
        "order_saga failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reports: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON report per line"))
        .collect();
    assert_eq!(reports.len(), 3, "{reports:?}");
    for report in &reports {
        let order = report["order"].as_str().expect("order id");
        assert_eq!(
            report["charge"]["idempotency_key"],
            format!("bull:sagas:{order}:charge"),
            "{report}"
        );
        assert_eq!(
            report["confirmation"],
            format!("confirmation sent to {order}@example.com"),
            "{report}"
        );
        assert_eq!(
            report["review"],
            format!("review asked of {order}@example.com"),
            "{report}"
        );
    }
}

#[test]
fn order_saga_reports_every_order_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    check(&format!(
        "sqlite://{}",
        dir.path().join("sagas.db").display()
    ));
}

#[test]
fn order_saga_reports_every_order_on_redis() {
    let server = RedisServer::start();
    check(&server.url());
}
