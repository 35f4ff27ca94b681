//! Every inspect-and-steer command through the built binary, on both stores, with the bad
//! inputs each refuses (exit codes: 1 failure, 2 usage, 3 not found).

mod support;

use serde_json::json;
use support::Fixture;

on_both_stores!(
    add_counts_list_get,
    a_json_lines_file_adds_all_or_nothing,
    retry_remove_promote_and_unknown_ids,
    pause_resume_drain_clean,
    obliterate_asks_unless_yes,
    schedulers_list_upsert_remove,
    get_shows_parent_and_children,
    unknown_queues_are_not_found,
);

fn add_counts_list_get(fx: &Fixture) {
    let plain = fx.add(
        "mail",
        r#"{"to":"a@b.c"}"#,
        &["--name", "welcome", "--attempts", "3"],
    );
    let delayed = fx.add("mail", "1", &["--delay-ms", "600000", "--job-id", "later"]);
    assert_eq!(delayed, "later");
    let urgent = fx.add("mail", "2", &["--priority", "1"]);

    assert_eq!(fx.json(&["queues"]), json!(["mail"]));
    assert_eq!(fx.ok(&["queues"]).trim(), "mail");
    assert_eq!(
        fx.json(&["counts", "--queue", "mail"]),
        json!({"waiting": 1, "active": 0, "completed": 0, "failed": 0, "delayed": 1,
               "prioritized": 1, "waiting-children": 0})
    );
    let table = fx.ok(&["counts", "--queue", "mail"]);
    assert!(table.starts_with("STATE"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().eq(["delayed", "1"])),
        "{table}"
    );

    let waiting = fx.json(&["list", "waiting", "--queue", "mail"]);
    assert_eq!(waiting.as_array().map(Vec::len), Some(1), "{waiting}");
    assert_eq!(waiting[0]["id"], json!(plain));
    assert_eq!(
        fx.json(&["list", "delayed", "--queue", "mail"])[0]["id"],
        json!("later")
    );
    assert_eq!(
        fx.json(&["list", "prioritized", "--queue", "mail"])[0]["id"],
        json!(urgent)
    );
    let paged = fx.json(&["list", "waiting", "--queue", "mail", "--offset", "1"]);
    assert_eq!(paged, json!([]));
    let human = fx.ok(&["list", "waiting", "--queue", "mail"]);
    assert!(
        human.contains("welcome") && human.contains(&plain),
        "{human}"
    );

    let job = fx.job("mail", &plain);
    assert_eq!(job["name"], json!("welcome"));
    assert_eq!(job["state"], json!("waiting"));
    assert_eq!(job["data"], json!({"to": "a@b.c"}));
    assert_eq!(job["options"]["attempts"], json!(3));
    assert_eq!(job["progress"], json!(0));
    assert_eq!(job["logs"], json!([]));
    assert_eq!(job["parent"], json!(null));
    let text = fx.ok(&["get", &plain, "--queue", "mail"]);
    assert!(text.contains("welcome") && text.contains("a@b.c"), "{text}");

    // bad flags change nothing
    let err = fx.fails(&["add", "--queue", "mail", "--data", "{nope"], 2);
    assert!(err.contains("--data is not valid JSON"), "{err}");
    let err = fx.fails(&["add", "--queue", "mail", "--attempts", "0"], 2);
    assert!(err.contains("attempts"), "{err}");
    assert_eq!(
        fx.run(&["list", "sleeping", "--queue", "mail"]).code,
        Some(2)
    );
    assert_eq!(fx.json(&["counts", "--queue", "mail"])["waiting"], json!(1));
}

fn a_json_lines_file_adds_all_or_nothing(fx: &Fixture) {
    let good = fx.path("good.jsonl");
    std::fs::write(
        &good,
        "{\"n\":1}\n\n\"text\"\n{\"name\":\"named\",\"data\":{\"n\":3},\"opts\":{\"priority\":2,\"job_id\":\"j3\"}}\n",
    )
    .expect("write file");
    let added = fx.json(&[
        "add",
        "--queue",
        "bulk",
        "--file",
        good.to_str().expect("path"),
    ]);
    assert_eq!(added["ids"].as_array().map(Vec::len), Some(3), "{added}");
    assert_eq!(fx.job("bulk", "j3")["name"], json!("named"));
    assert_eq!(fx.job("bulk", "j3")["state"], json!("prioritized"));
    let first = added["ids"][0].as_str().expect("id");
    assert_eq!(fx.job("bulk", first)["data"], json!({"n": 1}));

    let bad = fx.path("bad.jsonl");
    std::fs::write(&bad, "{\"n\":4}\n{\"n\":5}\n{\"n\": oops}\n{\"n\":7}\n").expect("write");
    let err = fx.fails(
        &[
            "add",
            "--queue",
            "bulk",
            "--file",
            bad.to_str().expect("path"),
        ],
        2,
    );
    assert!(
        err.contains("line 3") && err.contains("nothing was added"),
        "{err}"
    );
    let typo = fx.path("typo.jsonl");
    std::fs::write(&typo, "1\n{\"data\":2,\"opts\":{\"atempts\":2}}\n").expect("write");
    let err = fx.fails(
        &[
            "add",
            "--queue",
            "bulk",
            "--file",
            typo.to_str().expect("path"),
        ],
        2,
    );
    assert!(err.contains("line 2") && err.contains("atempts"), "{err}");
    let counts = fx.json(&["counts", "--queue", "bulk"]);
    assert_eq!(
        (counts["waiting"].clone(), counts["prioritized"].clone()),
        (json!(2), json!(1))
    );

    let err = fx.fails(&["add", "--queue", "bulk", "--file", "missing.jsonl"], 1);
    assert!(err.contains("missing.jsonl"), "{err}");
}

/// Runs `n` jobs of `queue` through a worker whose command fails.
fn fail_jobs(fx: &Fixture, queue: &str, n: u64) {
    let count = n.to_string();
    let args = [
        "worker", "--queue", queue, "--exec", "exit 1", "--count", &count,
    ];
    fx.ok(&args);
}

fn retry_remove_promote_and_unknown_ids(fx: &Fixture) {
    let a = fx.add("q", "1", &[]);
    let b = fx.add("q", "2", &[]);
    fail_jobs(fx, "q", 2);
    assert_eq!(fx.job("q", &a)["state"], json!("failed"));

    assert_eq!(
        fx.json(&["retry", &a, "--queue", "q"]),
        json!({"retried": a})
    );
    assert_eq!(fx.job("q", &a)["state"], json!("waiting"));
    assert_eq!(
        fx.json(&["retry", "--all", "--queue", "q"]),
        json!({"retried": 1})
    );
    assert_eq!(fx.job("q", &b)["state"], json!("waiting"));
    assert_eq!(fx.run(&["retry", "--queue", "q"]).code, Some(2));

    assert!(
        fx.ok(&["remove", &a, "--queue", "q"])
            .contains("removed job")
    );
    fx.fails(&["get", &a, "--queue", "q"], 3);

    let later = fx.add("q", "3", &["--delay-ms", "600000"]);
    assert_eq!(fx.job("q", &later)["state"], json!("delayed"));
    fx.ok(&["promote", &later, "--queue", "q"]);
    assert_eq!(fx.job("q", &later)["state"], json!("waiting"));

    for command in ["get", "retry", "remove", "promote"] {
        let err = fx.fails(&[command, "no-such-job", "--queue", "q"], 3);
        assert!(
            err.contains("job no-such-job not found"),
            "{command}: {err}"
        );
    }
}

fn is_paused(fx: &Fixture, queue: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let backend = oxq::connect(&fx.url).await.expect("connect");
        let queue: oxq::Queue = oxq::Queue::new(backend, queue).expect("queue");
        queue.is_paused().await.expect("status")
    })
}

fn pause_resume_drain_clean(fx: &Fixture) {
    for n in 0..3 {
        fx.add("d", &n.to_string(), &[]);
    }
    let delayed = fx.add("d", "9", &["--delay-ms", "600000"]);
    assert_eq!(fx.json(&["pause", "--queue", "d"]), json!({"paused": true}));
    assert!(is_paused(fx, "d"));
    fx.ok(&["resume", "--queue", "d"]);
    assert!(!is_paused(fx, "d"));

    assert_eq!(fx.json(&["drain", "--queue", "d"]), json!({"removed": 3}));
    assert_eq!(fx.job("d", &delayed)["state"], json!("delayed"));
    assert_eq!(
        fx.json(&["drain", "--queue", "d", "--delayed"]),
        json!({"removed": 1})
    );

    let done = fx.add("d", "5", &[]);
    fx.ok(&["worker", "--queue", "d", "--exec", "cat", "--count", "1"]);
    assert_eq!(fx.job("d", &done)["return_value"], json!(5));
    let cleaned = fx.json(&["clean", "completed", "--queue", "d", "--grace-ms", "0"]);
    assert_eq!(cleaned, json!({"removed": [done]}));
    fx.fails(&["get", &done, "--queue", "d"], 3);
}

fn obliterate_asks_unless_yes(fx: &Fixture) {
    fx.add("gone", "1", &[]);
    let err = fx.fails(&["obliterate", "--queue", "gone"], 2);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(fx.json(&["counts", "--queue", "gone"])["waiting"], json!(1));
    fx.ok(&["obliterate", "--queue", "gone", "--yes"]);
    assert_eq!(fx.json(&["queues"]), json!([]));
    fx.fails(&["counts", "--queue", "gone"], 3);
}

fn schedulers_list_upsert_remove(fx: &Fixture) {
    let upserted = fx.json(&[
        "schedulers",
        "upsert",
        "tick",
        "--queue",
        "s",
        "--every-ms",
        "60000",
        "--name",
        "tock",
        "--data",
        r#"{"k":1}"#,
    ]);
    assert_eq!(upserted["id"], json!("tick"));
    assert!(upserted["next_run"].is_u64(), "{upserted}");
    fx.ok(&[
        "schedulers",
        "upsert",
        "daily",
        "--queue",
        "s",
        "--cron",
        "0 9 * * *",
        "--tz",
        "Asia/Seoul",
    ]);
    let listed = fx.json(&["schedulers", "list", "--queue", "s"]);
    let mut ids: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["daily", "tick"], "{listed}");
    let tick = listed
        .as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == json!("tick")))
        .expect("tick listed");
    assert_eq!(
        (tick["name"].clone(), tick["data"].clone()),
        (json!("tock"), json!({"k": 1}))
    );
    let table = fx.ok(&["schedulers", "list", "--queue", "s"]);
    assert!(table.contains("cron 0 9 * * * (Asia/Seoul)"), "{table}");

    let err = fx.fails(
        &[
            "schedulers",
            "upsert",
            "bad",
            "--queue",
            "s",
            "--cron",
            "61 * * * *",
        ],
        2,
    );
    assert!(err.contains("invalid job scheduler"), "{err}");
    assert_eq!(
        fx.run(&["schedulers", "upsert", "x", "--queue", "s"]).code,
        Some(2)
    );

    fx.ok(&["schedulers", "remove", "tick", "--queue", "s"]);
    let err = fx.fails(&["schedulers", "remove", "tick", "--queue", "s"], 3);
    assert!(err.contains("scheduler tick not found"), "{err}");
    assert_eq!(
        fx.json(&["schedulers", "list", "--queue", "s"])
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

fn get_shows_parent_and_children(fx: &Fixture) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let added =
        runtime.block_on(async {
            let backend = oxq::connect(&fx.url).await.expect("connect");
            let tree = oxq::FlowJob::new("flow", "parent", json!({"p": 1}))
                .child(oxq::FlowJob::new("flow", "child", json!({"c": 1})));
            oxq::FlowProducer::new(backend)
                .add(tree)
                .await
                .expect("add a flow")
        });
    let parent_id = added.id.to_string();
    let child_id = added.children[0].id.to_string();
    let parent = fx.job("flow", &parent_id);
    assert_eq!(parent["state"], json!("waiting-children"));
    assert_eq!(
        parent["dependencies"]["pending"],
        json!([format!("bull:flow:{child_id}")])
    );
    let child = fx.job("flow", &child_id);
    assert_eq!(child["parent"], json!(format!("bull:flow:{parent_id}")));
    let text = fx.ok(&["get", &parent_id, "--queue", "flow"]);
    assert!(text.contains("0 processed, 1 pending"), "{text}");
}

fn unknown_queues_are_not_found(fx: &Fixture) {
    fx.add("real", "1", &[]);
    for args in [
        vec!["counts", "--queue", "nope"],
        vec!["list", "waiting", "--queue", "nope"],
        vec!["get", "1", "--queue", "nope"],
        vec!["retry", "--all", "--queue", "nope"],
        vec!["pause", "--queue", "nope"],
        vec!["drain", "--queue", "nope"],
        vec!["clean", "failed", "--queue", "nope"],
        vec!["obliterate", "--queue", "nope", "--yes"],
        vec!["schedulers", "list", "--queue", "nope"],
    ] {
        let err = fx.fails(&args, 3);
        assert!(err.contains("queue nope not found"), "{args:?}: {err}");
    }
    assert_eq!(fx.json(&["queues"]), json!(["real"]));
    // another prefix holds no queue
    assert_eq!(fx.json(&["--prefix", "other", "queues"]), json!([]));
}
