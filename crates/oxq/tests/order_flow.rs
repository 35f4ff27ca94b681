//! `examples/order_flow.rs` as a user runs it, on both stores: each order's report holds the
//! charge, the email and the invoice (the parent ran after its first child, added two more,
//! waited for them and ran again); with every email failing, the reports say so and the orders
//! still complete (`ChildFailure::Ignore`).
//!
//! Run with: `cargo test -p oxq --test order_flow`

mod support;

use std::process::Command;

use oxq_testkit::redis_server::RedisServer;
use support::example;

fn reports(url: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let output = Command::new(example("order_flow"))
        .args(["--url", url, "--orders", "3"])
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .expect("run order_flow");
    assert!(
        output.status.success(),
        "order_flow failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON report per line"))
        .collect()
}

fn check(url: &str) {
    let done = reports(url, &[]);
    assert_eq!(done.len(), 3, "{done:?}");
    for report in &done {
        let order = report["order"].as_str().expect("order id");
        assert!(
            report["charge"]["charged_cents"].as_u64().is_some(),
            "{report}"
        );
        assert_eq!(report["email"]["sent_to"], "a@example.com", "{report}");
        assert_eq!(
            report["invoice"]["invoice"],
            format!("inv-{order}"),
            "{report}"
        );
        assert!(report["email_failed"].is_null(), "{report}");
    }
    let failing = reports(url, &["--fail-emails"]);
    assert_eq!(failing.len(), 3, "{failing:?}");
    for report in &failing {
        assert!(report["email"].is_null(), "{report}");
        assert_eq!(
            report["email_failed"], "the mail server refused the message",
            "{report}"
        );
        assert!(report["invoice"]["invoice"].is_string(), "{report}");
    }
}

#[test]
fn orders_report_their_three_results_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    check(&format!(
        "sqlite://{}",
        dir.path().join("orders.db").display()
    ));
}

#[test]
fn orders_report_their_three_results_on_redis() {
    let server = RedisServer::start();
    check(&server.url());
}
