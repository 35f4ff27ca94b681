//! The dashboard's pages in a real headless browser (Debian's `chromium`, driven by
//! `playwright-core` from `crates/oxq-dashboard/browser/dashboard.mjs`), over a real SQLite
//! file and a redis-server started here: log in with the token, see the queues, open the failed
//! job, retry it by clicking while a worker runs, see it completed, search by data, open the
//! dead letter view and replay the job's dead copy by clicking (the worker completes the
//! replay), and see a read-only dashboard offer no action. Screenshots go to
//! `target/dashboard-screenshots/<store>/`.
//!
//! Needs `/usr/bin/chromium` (or `CHROMIUM`) and `npm ci` run in `crates/oxq-dashboard/browser`
//! (scripts/test-all.sh does both); without them the test fails saying so, it never skips.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oxq::prelude::*;
use oxq_dashboard::DashboardOptions;
use serde_json::{Value, json};
use support::{Served, TestStore};

const QUEUE: &str = "emails";
const DEAD_QUEUE: &str = "emails-dead";
const FAILED_JOB: &str = "welcome-42";
const FAILURE: &str = "mail server refused the connection";
const SEARCH_TEXT: &str = "ada@lovelace.example";
const TOKEN: &str = "browser-test-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_failed_job_retried_by_clicking() {
    failed_job_retried_by_clicking(TestStore::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_failed_job_retried_by_clicking() {
    failed_job_retried_by_clicking(TestStore::redis().await, "redis").await;
}

fn chromium() -> PathBuf {
    let path =
        std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    assert!(
        path.is_file(),
        "chromium is missing at {}: install it (apt-get install -y chromium; scripts/test-all.sh \
         does) or set CHROMIUM to a chromium binary",
        path.display()
    );
    path
}

fn browser_package() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        dir.join("node_modules/playwright-core/package.json")
            .is_file(),
        "playwright-core is not installed: run `npm ci` in {} (scripts/test-all.sh does)",
        dir.display()
    );
    dir
}

fn screenshots(store: &str) -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp: the screenshots go beside it, under <target>
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .unwrap_or(tmp)
        .join("dashboard-screenshots")
        .join(store)
}

async fn failed_job_retried_by_clicking(store: TestStore, store_name: &str) {
    let chromium = chromium();
    let package = browser_package();

    // a worker that fails every job while the mail server is "down", then completes them
    let queue: Queue<Value> = Queue::new(store.backend.clone(), QUEUE).expect("a queue name");
    queue
        .set_dead_letter_queue(Some(DEAD_QUEUE))
        .await
        .expect("a dead letter queue");
    let server_down = Arc::new(AtomicBool::new(false));
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let options = WorkerOptions::new().on_event(move |event| {
        let _ = events.send(event.clone());
    });
    let down = server_down.clone();
    let worker = Worker::start(&queue, options, move |job: Job<Value>| {
        let down = down.clone();
        async move {
            job.log(format!("trying {}", job.data()["to"]))
                .await
                .map_err(std::io::Error::other)?;
            if down.load(Ordering::SeqCst) {
                return Err(std::io::Error::other(FAILURE));
            }
            Ok(json!({ "delivered": true }))
        }
    });
    for n in 0..3 {
        queue
            .add(
                "welcome",
                json!({ "to": format!("user{n}@example.com") }),
                JobOptions::new(),
            )
            .await
            .expect("add");
    }
    wait_for(
        &mut received,
        "the three jobs complete",
        |event| matches!(event, WorkerEvent::Completed { .. }),
        3,
    )
    .await;
    server_down.store(true, Ordering::SeqCst);
    queue
        .add(
            "welcome",
            json!({ "to": SEARCH_TEXT, "template": "welcome" }),
            JobOptions::new().job_id(FAILED_JOB).attempts(2),
        )
        .await
        .expect("add");
    wait_for(
        &mut received,
        "the job fails for good",
        |event| {
            matches!(
                event,
                WorkerEvent::Failed {
                    retrying: false,
                    ..
                }
            )
        },
        1,
    )
    .await;
    // the mail server is back: the retry the browser asks for completes
    server_down.store(false, Ordering::SeqCst);

    let dashboard = Served::start(&store.backend, DashboardOptions::new().token(TOKEN)).await;
    let read_only = Served::start(
        &store.backend,
        DashboardOptions::new().read_only(true).hide_data(true),
    )
    .await;
    let shots = screenshots(store_name);
    // last run's screenshots must not stand in for this run's
    if shots.exists() {
        std::fs::remove_dir_all(&shots).expect("last run's screenshots are removed");
    }
    let mut node = tokio::process::Command::new("node");
    node.arg(package.join("dashboard.mjs"))
        .current_dir(&package)
        .env("DASHBOARD_URL", format!("http://{}/", dashboard.addr))
        .env("DASHBOARD_TOKEN", TOKEN)
        .env("READ_ONLY_URL", format!("http://{}/", read_only.addr))
        .env("QUEUE", QUEUE)
        .env("DEAD_QUEUE", DEAD_QUEUE)
        .env("FAILED_JOB", FAILED_JOB)
        .env("FAILURE", FAILURE)
        .env("SEARCH_TEXT", SEARCH_TEXT)
        .env("SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(180), node.output())
        .await
        .expect("the browser script ends within 180 s")
        .expect("node runs (is nodejs installed?)");
    assert!(
        output.status.success(),
        "the browser script failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // what the clicks did is in the store, and the screenshots are on disk
    let job = queue
        .get_record(&JobId(FAILED_JOB.into()))
        .await
        .expect("a read")
        .expect("the job");
    assert_eq!(job.state, JobState::Completed);
    let dead: Queue<Value> = Queue::new(store.backend.clone(), DEAD_QUEUE).expect("a queue name");
    let dead_letters = dead.dead_letters(0, 10).await.expect("the dead jobs");
    assert_eq!(dead_letters.len(), 1, "{dead_letters:?}");
    assert_eq!(dead_letters[0].source_id.as_str(), FAILED_JOB);
    assert_eq!(dead_letters[0].replays, 1, "replayed by the click");
    let replayed = dead_letters[0]
        .replayed_as
        .clone()
        .expect("the replay's job id");
    // the retried job and the replayed one both complete
    wait_for(
        &mut received,
        "the retried and the replayed jobs complete",
        |event| matches!(event, WorkerEvent::Completed { .. }),
        2,
    )
    .await;
    assert_eq!(
        queue
            .get_record(&replayed)
            .await
            .expect("a read")
            .map(|r| r.state),
        Some(JobState::Completed)
    );
    for name in [
        "01-login-refused.png",
        "02-queues.png",
        "03-failed-jobs.png",
        "04-failed-job.png",
        "05-completed-job.png",
        "06-search-by-data.png",
        "07-dead-letters.png",
        "08-read-only.png",
    ] {
        let size = std::fs::metadata(shots.join(name)).map_or(0, |m| m.len());
        assert!(size > 1000, "screenshot {name} in {}", shots.display());
    }
    worker.close().await.expect("the worker closes");
}

/// Waits until `count` events matching `wanted` arrived.
async fn wait_for(
    received: &mut tokio::sync::mpsc::UnboundedReceiver<WorkerEvent>,
    what: &str,
    wanted: impl Fn(&WorkerEvent) -> bool,
    count: usize,
) {
    let mut seen = 0;
    while seen < count {
        let event = tokio::time::timeout(Duration::from_secs(30), received.recv())
            .await
            .unwrap_or_else(|_| panic!("{what} within 30 s"))
            .expect("the worker is running");
        if wanted(&event) {
            seen += 1;
        }
    }
}
