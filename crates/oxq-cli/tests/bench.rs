//! `oxq bench` through the built binary, with tiny sizes: every scenario on both stores in one
//! run (one JSON line each), the human tables, Node BullMQ beside oxq on Redis, and the bad
//! arguments it refuses. The figures are checked for presence and sanity, never for speed.

mod support;

use serde_json::Value;
use support::Fixture;

/// Tiny sizes: a run takes a few seconds.
const TINY: &[&str] = &[
    "--jobs",
    "40",
    "--runs",
    "1",
    "--concurrency",
    "1,4",
    "--batch",
    "16",
    "--latency-rate",
    "100",
    "--latency-seconds",
    "0.3",
    "--delayed-rate",
    "200",
    "--delayed-seconds",
    "0.2",
    "--delay-ms",
    "150",
];

fn bench_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["bench"];
    args.extend_from_slice(TINY);
    args.extend_from_slice(extra);
    args
}

/// The JSON lines a run printed, each parsed.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

fn line<'a>(lines: &'a [Value], store: &str, scenario: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["store"] == store && l["scenario"] == scenario)
        .unwrap_or_else(|| panic!("no line for {store} {scenario} in {lines:#?}"))
}

fn positive(line: &Value, field: &str) -> f64 {
    let value = line[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {line}"));
    assert!(value.is_finite() && value > 0.0, "{field} in {line}");
    value
}

const THROUGHPUT: [&str; 6] = [
    "add",
    "add_bulk",
    "process_c1",
    "process_c4",
    "store_add_bulk",
    "store_fetch_finish",
];

#[test]
fn every_scenario_on_both_stores_prints_one_sane_json_line() {
    let fx = Fixture::redis();
    // a store named twice is measured once
    let out = fx.ok(&bench_args(&["--store", "sqlite,redis,sqlite", "--json"]));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2 * (THROUGHPUT.len() + 2), "{out}");
    for store in ["sqlite", "redis"] {
        for scenario in THROUGHPUT {
            let l = line(&lines, store, scenario);
            assert_eq!(l["jobs"], 40, "{l}");
            assert_eq!(l["runs"], 1, "{l}");
            let rate = positive(l, "jobs_per_s");
            assert_eq!(l["jobs_per_s_runs"][0].as_f64(), Some(rate), "{l}");
            // this process's CPU (Linux): zero is possible for 40 jobs, never negative
            let cpu = l["process_cpu_us_per_job"].as_f64().expect("process CPU");
            assert!(cpu >= 0.0, "{l}");
            match store {
                "redis" => assert!(l["server_cpu_us_per_job"].as_f64() >= Some(0.0), "{l}"),
                _ => assert!(l["server_cpu_us_per_job"].is_null(), "{l}"),
            }
            assert!(l.get("bullmq").is_none(), "no --node: {l}");
        }
        let latency = line(&lines, store, "start_latency");
        assert_eq!(
            (latency["rate"].clone(), latency["concurrency"].clone()),
            (100.into(), 10.into())
        );
        assert_eq!(latency["jobs"], 30, "{latency}");
        let (p50, p95, p99, max) = (
            positive(latency, "p50_ms"),
            positive(latency, "p95_ms"),
            positive(latency, "p99_ms"),
            positive(latency, "max_ms"),
        );
        assert!(p50 <= p95 && p95 <= p99 && p99 <= max, "{latency}");
        // generous: a loaded CI machine, but not seconds for an idle worker
        assert!(p50 < 2_000.0, "{latency}");

        let late = line(&lines, store, "delayed_lateness");
        assert_eq!(
            (late["rate"].clone(), late["delay_ms"].clone()),
            (200.into(), 150.into())
        );
        assert_eq!(late["jobs"], 40, "{late}");
        assert!(late.get("p95_ms").is_none(), "p50 and p99 only: {late}");
        let (p50, p99) = (
            late["p50_ms"].as_f64().expect("p50"),
            late["p99_ms"].as_f64().expect("p99"),
        );
        // a job may start a hair before its due time as the add's stamp reads it (the store
        // counts whole milliseconds from its own reading), never a whole delay early
        assert!(p50 > -5.0 && p50 <= p99 && p99 < 2_000.0, "{late}");
    }
}

#[test]
fn the_table_names_each_scenario_and_the_store() {
    let fx = Fixture::sqlite();
    let only = [
        "--store",
        "sqlite",
        "--only",
        "add-bulk,process,start-latency",
    ];
    let args = bench_args(&only);
    // the fixture's --url names a SQLite file: bench refuses it (below), so run without
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_oxq"));
    command
        .args(&args)
        .current_dir(fx.dir())
        .env_remove("OXQ_URL");
    let run = support::run(command);
    assert_eq!(run.code, Some(0), "{run:?}");
    let out = run.stdout;
    assert!(out.contains("sqlite: embedded store"), "{out}");
    for scenario in ["add_bulk (batches of 16)", "process_c1 (", "process_c4 ("] {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("| {scenario}")))
            .unwrap_or_else(|| panic!("no row {scenario}: {out}"));
        // scenario, jobs/s, server CPU (none on SQLite), process CPU, runs
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert!(cells[1].parse::<f64>().is_ok_and(|v| v > 0.0), "{row}");
        assert_eq!(cells[2], "-", "{row}");
    }
    assert!(!out.contains("| add ("), "--only leaves add out: {out}");
    let latency = out
        .lines()
        .find(|l| l.starts_with("start_latency ("))
        .unwrap_or_else(|| panic!("no latency line: {out}"));
    assert!(
        latency.contains("30 jobs") && latency.contains("p95") && latency.contains("p99"),
        "{latency}"
    );
}

#[test]
fn node_bullmq_runs_beside_oxq_on_redis() {
    let fx = Fixture::redis();
    let out = fx.ok(&bench_args(&[
        "--store",
        "redis",
        "--only",
        "add,add-bulk,process,start-latency,delayed",
        "--node",
        "--json",
    ]));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 6, "{out}");
    for scenario in ["add", "add_bulk", "process_c1", "process_c4"] {
        let l = line(&lines, "redis", scenario);
        positive(l, "jobs_per_s");
        let bullmq = &l["bullmq"];
        assert_eq!(bullmq["runs"], 1, "{l}");
        let rate = positive(bullmq, "jobs_per_s");
        let ratio = positive(bullmq, "oxq_over_bullmq_jobs_per_s");
        let expected = l["jobs_per_s"].as_f64().expect("oxq rate") / rate;
        assert!((ratio - expected).abs() <= 0.01 + expected * 0.01, "{l}");
        assert!(bullmq["server_cpu_us_per_job"].as_f64() >= Some(0.0), "{l}");
    }
    for (scenario, jobs) in [("start_latency", 30), ("delayed_lateness", 40)] {
        let l = line(&lines, "redis", scenario);
        let bullmq = &l["bullmq"];
        assert_eq!(bullmq["jobs"], jobs, "{l}");
        let (p50, p99) = (
            bullmq["p50_ms"].as_f64().expect("p50"),
            bullmq["p99_ms"].as_f64().expect("p99"),
        );
        assert!(p50 > -5.0 && p50 <= p99 && p99 < 5_000.0, "{l}");
    }
    let table = fx.ok(&bench_args(&[
        "--store", "redis", "--only", "add", "--node",
    ]));
    assert!(table.contains("beside Node BullMQ (bullmq "), "{table}");
    assert!(
        table.contains("| add (one by one, each awaited) |"),
        "{table}"
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let fx = Fixture::sqlite();
    // the fixture passes --url sqlite://…: bench makes its own files
    let err = fx.fails(&bench_args(&["--store", "sqlite"]), 2);
    assert!(err.contains("--url names a Redis server"), "{err}");
    let redis = Fixture::redis();
    let err = redis.fails(&bench_args(&["--store", "sqlite", "--node"]), 2);
    assert!(err.contains("add redis to --store"), "{err}");
    let err = redis.fails(&["bench", "--latency-seconds", "0"], 2);
    assert!(err.contains("--latency-seconds"), "{err}");
    // clap's own refusals: exit 2 too
    assert_eq!(redis.run(&["bench", "--concurrency", "0"]).code, Some(2));
    assert_eq!(redis.run(&["bench", "--only", "everything"]).code, Some(2));
    assert_eq!(redis.run(&["bench", "--store", "mongo"]).code, Some(2));
}

/// `--groups N` puts every job of the throughput and store-loop scenarios in one of N groups,
/// and each scenario says so; a store without job groups is refused before anything runs, in
/// one sentence naming the option and the store; Node BullMQ has no groups, so `--node` with
/// it is a usage error.
#[test]
fn groups_put_every_job_in_one_of_n_groups() {
    let fx = Fixture::redis();
    let grouped = ["--only", "add,add-bulk,process,store", "--groups", "3"];
    let mut args = bench_args(&grouped);
    args.extend_from_slice(&["--store", "sqlite", "--json"]);
    let out = fx.ok(&args);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), THROUGHPUT.len(), "{out}");
    for scenario in THROUGHPUT {
        let l = line(&lines, "sqlite", scenario);
        positive(l, "jobs_per_s");
        assert!(
            l["detail"]
                .as_str()
                .is_some_and(|d| d.ends_with(", 3 groups")),
            "{l}"
        );
    }

    // the Redis store keeps groups too: it is measured like SQLite
    let mut args = bench_args(&grouped);
    args.extend_from_slice(&["--store", "redis"]);
    let out = fx.ok(&args);
    assert!(out.contains("(each in one of 3 groups)"), "{out}");

    // clap's refusal: exit 2
    let run = fx.run(&bench_args(&[
        "--store", "redis", "--node", "--groups", "3",
    ]));
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--groups"), "{run:?}");
}

/// `--metrics P` has the throughput and store-loop scenarios' workers record BullMQ's
/// per-minute metrics (a store without them would refuse the worker, so a run that completes
/// recorded them), and each scenario says so; Node's side has no such option, and P must keep
/// at least one point and at most a year of minutes.
#[test]
fn metrics_are_recorded_by_the_scenarios_workers_when_asked() {
    let fx = Fixture::redis();
    let mut args = bench_args(&["--only", "process,store", "--metrics", "10"]);
    args.extend_from_slice(&["--store", "sqlite,redis", "--json"]);
    let out = fx.ok(&args);
    let lines = json_lines(&out);
    for store in ["sqlite", "redis"] {
        for scenario in ["process_c1", "process_c4", "store_fetch_finish"] {
            let l = line(&lines, store, scenario);
            positive(l, "jobs_per_s");
            assert!(
                l["detail"]
                    .as_str()
                    .is_some_and(|d| d.ends_with(", metrics recorded (10 points)")),
                "{l}"
            );
        }
    }
    for bad in [
        &["--metrics", "0"][..],
        &["--metrics", "525601"],
        &["--metrics", "10", "--node"],
    ] {
        let run = fx.run(&bench_args(&[&["--store", "redis"][..], bad].concat()));
        assert_eq!(run.code, Some(2), "{bad:?}: {run:?}");
        assert!(run.stderr.contains("--metrics"), "{bad:?}: {run:?}");
    }
}
