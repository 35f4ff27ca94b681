//! Scenario 6: the example programs `produce` and `echo_worker` work on Redis
//! (`--url redis://…`) exactly as on the embedded store, and Node reads what they did.

use std::time::Duration;

use oxq_interop::Scene;
use oxq_interop::examples::{run, spawn};
use serde_json::{Value, json};

const JOBS: u64 = 50;
const WAIT: Duration = Duration::from_secs(60);

/// Runs a worker for `JOBS + 1` jobs, adds `JOBS` plain jobs and one `{"fail": true}` job,
/// and returns the three summaries without their timings.
async fn produce_and_echo(url: &str, prefix: &str, queue: &str) -> [Value; 3] {
    let common = ["--url", url, "--prefix", prefix, "--queue", queue];
    let target = (JOBS + 1).to_string();
    let worker = spawn(
        "echo_worker",
        &[&common[..], &["--count", &target, "--concurrency", "4"]].concat(),
    )
    .await
    .expect("start echo_worker");
    let count = JOBS.to_string();
    let added = run(
        "produce",
        &[&common[..], &["--count", &count]].concat(),
        WAIT,
    )
    .await
    .expect("produce");
    let failing = run(
        "produce",
        &[
            &common[..],
            &[
                "--count",
                "1",
                "--name",
                "boom",
                "--data",
                r#"{"fail": true}"#,
            ],
        ]
        .concat(),
        WAIT,
    )
    .await
    .expect("produce a failing job");
    let echoed = worker.summary(WAIT).await.expect("echo_worker summary");
    [added, failing, echoed].map(|mut summary| {
        let timing = summary.as_object_mut().and_then(|o| o.remove("elapsed_s"));
        assert!(
            timing.is_some_and(|t| t.is_f64()),
            "a summary without elapsed_s"
        );
        summary
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_work_on_redis_as_on_the_embedded_store() {
    let scene = Scene::start("echo").await.expect("scene");
    let on_redis = produce_and_echo(scene.url(), scene.prefix(), "echo").await;

    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite_url = format!("sqlite://{}", dir.path().join("oxq.db").display());
    let embedded = produce_and_echo(&sqlite_url, "bull", "echo").await;

    let expected = [
        json!({"added": JOBS}),
        json!({"added": 1}),
        json!({"abandoned": 0, "completed": JOBS, "failed": 1}),
    ];
    assert_eq!(embedded, expected, "on the embedded store");
    assert_eq!(on_redis, expected, "on Redis");

    // Node reads the examples' work: the echo of the first job and the failure of the last.
    let counts = scene.assert_counts_agree().await.expect("counts");
    assert_eq!((counts.completed, counts.failed), (JOBS, 1));
    let (first, boom) = ("1".to_owned(), (JOBS + 1).to_string());
    let node = scene.node_inspect(&[&first, &boom]).await.expect("inspect");
    assert_eq!(node[&first]["job"]["name"], "echo");
    assert_eq!(
        node[&first]["job"]["returnvalue"],
        json!({"echo": {"n": 0}})
    );
    assert_eq!(node[&boom]["job"]["name"], "boom");
    assert_eq!(node[&boom]["state"], "failed");
    assert_eq!(node[&boom]["job"]["failedReason"], "the job asked to fail");
    assert_eq!(node[&boom]["job"]["data"], json!({"fail": true}));
}
