//! `oxq dlq` through the built binary on both stores: `set` names a queue's dead letter queue,
//! an exec worker fails a job for good, `list` shows the dead job with its source, data and
//! every error, `replay` puts it back on the source queue (where a second worker completes
//! it), `purge` deletes it; an unknown id exits 3 and `replay` without ids or --all exits 2.

mod support;

use serde_json::json;
use support::Fixture;

on_both_stores!(a_dead_job_is_listed_replayed_and_purged);

fn a_dead_job_is_listed_replayed_and_purged(fx: &Fixture) {
    let set = fx.json(&["dlq", "set", "--queue", "jobs", "dead"]);
    assert_eq!(set, json!({"queue": "jobs", "dead_letter_queue": "dead"}));
    let id = fx.add("jobs", r#"{"n": 1, "s": "é"}"#, &["--attempts", "2"]);
    // a command that always fails: two attempts, then failed for good
    fx.ok(&[
        "worker",
        "--queue",
        "jobs",
        "--exec",
        "echo no >&2; exit 1",
        "--count",
        "1",
    ]);
    assert_eq!(fx.job("jobs", &id)["state"], json!("failed"));

    let dead = fx.json(&["dlq", "list", "--queue", "dead"]);
    let entries = dead.as_array().expect("a list");
    assert_eq!(entries.len(), 1, "{dead}");
    let entry = &entries[0];
    assert_eq!(entry["source_queue"], json!("jobs"), "{entry}");
    assert_eq!(entry["source_id"], json!(id), "{entry}");
    assert_eq!(entry["data"], json!({"n": 1, "s": "é"}), "{entry}");
    assert_eq!(entry["attempts_made"], json!(2), "{entry}");
    assert_eq!(
        entry["stacktrace"].as_array().map(Vec::len),
        Some(2),
        "every attempt's error: {entry}"
    );
    let dead_id = entry["id"].as_str().expect("an id").to_owned();
    let table = fx.ok(&["dlq", "list", "--queue", "dead"]);
    assert!(
        table.contains("SOURCE ID") && table.contains(&dead_id),
        "{table}"
    );

    let replayed = fx.json(&["dlq", "replay", "--queue", "dead", &dead_id]);
    let job_id = replayed["replayed"][0]["job_id"]
        .as_str()
        .expect("the replayed job's id")
        .to_owned();
    assert_eq!(
        replayed["replayed"][0]["queue"],
        json!("jobs"),
        "{replayed}"
    );
    let job = fx.job("jobs", &job_id);
    assert_eq!(job["state"], json!("waiting"), "{job}");
    assert_eq!(job["attempts_made"], json!(0), "{job}");
    fx.ok(&["worker", "--queue", "jobs", "--exec", "cat", "--count", "1"]);
    assert_eq!(fx.job("jobs", &job_id)["state"], json!("completed"));
    let listed = fx.json(&["dlq", "list", "--queue", "dead"]);
    assert_eq!(listed[0]["replays"], json!(1), "{listed}");
    assert_eq!(listed[0]["replayed_as"], json!(job_id), "{listed}");

    fx.fails(&["dlq", "replay", "--queue", "dead", "nope"], 3);
    fx.fails(&["dlq", "replay", "--queue", "dead"], 2);
    assert_eq!(
        fx.json(&["dlq", "purge", "--queue", "dead", "--all"]),
        json!({"purged": 1})
    );
    assert_eq!(fx.json(&["dlq", "list", "--queue", "dead"]), json!([]));
    let unset = fx.json(&["dlq", "unset", "--queue", "jobs"]);
    assert_eq!(unset, json!({"queue": "jobs", "dead_letter_queue": null}));
}
