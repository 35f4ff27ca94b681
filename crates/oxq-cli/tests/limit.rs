//! `oxq limit` through the built binary on both stores: `set` writes a global rate limit and
//! concurrency that `get` reads back (JSON and table), `remove` takes each away; a bad rate, a
//! concurrency of 0 or nothing to set exit 2, an unknown queue exits 3.

mod support;

use serde_json::json;
use support::Fixture;

on_both_stores!(limits_are_set_read_and_removed);

fn limits_are_set_read_and_removed(fx: &Fixture) {
    fx.add("calls", r#"{"n": 1}"#, &[]);
    let set = fx.json(&[
        "limit",
        "set",
        "--queue",
        "calls",
        "--rate",
        "10/2s",
        "--concurrency",
        "4",
    ]);
    assert_eq!(
        set,
        json!({
            "rate_limit": {"max": 10, "duration_ms": 2000},
            "concurrency": 4,
            "rate_limited_until": null,
        })
    );
    assert_eq!(fx.json(&["limit", "get", "--queue", "calls"]), set);
    let table = fx.ok(&["limit", "get", "--queue", "calls"]);
    assert!(
        table.contains("rate limit 10 per 2000 ms") && table.contains("global concurrency 4"),
        "{table}"
    );
    let removed = fx.json(&["limit", "remove", "--queue", "calls", "--rate"]);
    assert_eq!(removed["rate_limit"], json!(null), "{removed}");
    assert_eq!(removed["concurrency"], json!(4), "{removed}");
    let removed = fx.json(&["limit", "remove", "--queue", "calls", "--concurrency"]);
    assert_eq!(removed["concurrency"], json!(null), "{removed}");

    // refused by the argument parser (clap's own message, exit 2)
    for bad in [["--rate", "0/1s"], ["--concurrency", "0"]] {
        let run = fx.run(&["limit", "set", "--queue", "calls", bad[0], bad[1]]);
        assert_eq!(run.code, Some(2), "{bad:?}: {run:?}");
        assert!(run.stderr.contains(bad[1]), "{bad:?}: {run:?}");
    }
    fx.fails(&["limit", "set", "--queue", "calls"], 2);
    fx.fails(&["limit", "remove", "--queue", "calls"], 2);
    fx.fails(&["limit", "get", "--queue", "nowhere"], 3);
}
