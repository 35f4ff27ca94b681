//! `oxq worker --exec CMD --rate-limit MAX/DURATION` through the built binary on both stores:
//! jobs start no faster than the limit allows, and a malformed limit is a usage error.

mod support;

use support::Fixture;

on_both_stores!(
    starts_follow_the_rate_limit,
    a_malformed_rate_limit_is_a_usage_error
);

fn starts_follow_the_rate_limit(fx: &Fixture) {
    let ids: Vec<String> = (0..6)
        .map(|n| fx.add("paced", &n.to_string(), &[]))
        .collect();
    let args = [
        "worker",
        "--queue",
        "paced",
        "--exec",
        "cat",
        "--concurrency",
        "6",
        "--rate-limit",
        "2/1s",
        "--count",
        "6",
    ];
    let summary = fx.json(&args);
    assert_eq!(summary["completed"], 6, "{summary}");
    let mut starts: Vec<u64> = ids
        .iter()
        .map(|id| {
            let job = fx.job("paced", id);
            assert_eq!(job["state"], "completed", "{job}");
            job["processed_on"]
                .as_u64()
                .unwrap_or_else(|| panic!("no processed_on: {job}"))
        })
        .collect();
    starts.sort_unstable();
    // 2 starts per 1 s window: six jobs need three windows, the third at least two
    // durations after the first window opened (which was at or just before the first start);
    // concurrency 6 alone would start them all at once
    let spread = starts[5] - starts[0];
    assert!(
        spread >= 1_900,
        "6 jobs at 2/1s started within {spread} ms: {starts:?}"
    );
}

fn a_malformed_rate_limit_is_a_usage_error(fx: &Fixture) {
    for bad in ["10", "0/1s", "10/fast", "10/0ms"] {
        let args = [
            "worker",
            "--queue",
            "q",
            "--exec",
            "cat",
            "--rate-limit",
            bad,
        ];
        let run = fx.run(&args);
        assert_eq!(run.code, Some(2), "--rate-limit {bad}: {run:?}");
        assert!(run.stderr.contains("--rate-limit"), "{run:?}");
    }
}
