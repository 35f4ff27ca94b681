//! How oxq uses the Redis server: scripts go out by hash and come back after a `SCRIPT FLUSH`,
//! an idle worker blocks on the marker instead of polling, and an evicting `maxmemory-policy`
//! is named in a warning at connect time.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq_core::{JobOptions, Queue, Worker, WorkerOptions};
use oxq_redis::RedisOptions;
use serde_json::Value;
use support::{World, eventually};

/// `INFO <section>` field `name` as a number (0 when missing).
async fn info_number(w: &World, section: &str, name: &str) -> u64 {
    let info: String = w.cmd(redis::cmd("INFO").arg(section)).await;
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn scripts_go_by_hash_and_are_reloaded_after_a_script_flush() {
    let w = World::new().await;
    w.add("before", "1", JobOptions::new()).await;
    let _: () = w.cmd(redis::cmd("CONFIG").arg("RESETSTAT")).await;
    let _: () = w.cmd(redis::cmd("SCRIPT").arg("FLUSH")).await;

    w.add("after", "2", JobOptions::new()).await;
    let fetched = w.fetch("t1", 10).await;
    assert_eq!(support::ids(&fetched).len(), 2, "both jobs are fetched");

    assert!(
        w.calls_of("script|load").await >= 2,
        "the add and the fetch scripts were loaded again"
    );
    assert!(w.calls_of("evalsha").await >= 2, "scripts run by hash");
    assert_eq!(w.calls_of("eval").await, 0, "no script sent in full");
}

#[tokio::test]
async fn an_idle_worker_blocks_on_the_marker_instead_of_polling() {
    let w = World::new().await;
    let queue: Queue<Value> = Queue::from_ref(w.dyn_backend(), w.queue.clone());
    let worker = Worker::start(
        &queue,
        WorkerOptions::new().drain_delay(Duration::from_secs(5)),
        |_job: oxq_core::Job<Value>| async { Ok::<_, std::io::Error>(()) },
    );
    eventually(
        Duration::from_secs(10),
        "a client blocked in BZPOPMIN",
        || {
            let w = &w;
            async move {
                let clients: String = w.cmd(redis::cmd("CLIENT").arg("LIST")).await;
                clients
                    .lines()
                    .any(|c| c.contains("cmd=bzpopmin") && c.contains("flags=b"))
            }
        },
    )
    .await;

    let before = info_number(&w, "stats", "total_commands_processed").await;
    // The window in which an idle worker is watched: nothing to wait on, it must do nothing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = info_number(&w, "stats", "total_commands_processed").await;
    // the first INFO, at most one wait ending, a fetch and a new wait, a stalled check
    assert!(
        after - before <= 10,
        "{} commands in 2 s with an idle worker",
        after - before
    );
    worker.close().await.expect("close");
}

/// A `tracing` writer that keeps everything written, for checking log lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_evicting_maxmemory_policy_is_named_in_a_warning() {
    let w = World::new().await;
    let original: Vec<String> = w
        .cmd(redis::cmd("CONFIG").arg("GET").arg("maxmemory-policy"))
        .await;
    let original = original
        .get(1)
        .cloned()
        .unwrap_or_else(|| "noeviction".into());

    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let captured = captured.clone();
            move || captured.clone()
        })
        .with_ansi(false)
        .finish();
    // `#[tokio::test]` runs on this one thread, so the default subscriber sees the connect
    let _guard = tracing::subscriber::set_default(subscriber);

    oxq_redis::connect(&w.server.url, RedisOptions::default())
        .await
        .expect("connect");
    let quiet = captured.text();

    let _: () = w
        .cmd(
            redis::cmd("CONFIG")
                .arg("SET")
                .arg("maxmemory-policy")
                .arg("allkeys-lru"),
        )
        .await;
    let connected = oxq_redis::connect(&w.server.url, RedisOptions::default()).await;
    let _: () = w
        .cmd(
            redis::cmd("CONFIG")
                .arg("SET")
                .arg("maxmemory-policy")
                .arg(&original),
        )
        .await;
    connected.expect("an evicting policy still connects");

    if original == "noeviction" {
        assert!(
            !quiet.contains("maxmemory-policy"),
            "no warning under noeviction: {quiet}"
        );
    }
    let warned = captured.text();
    assert!(
        warned.contains("WARN") && warned.contains("allkeys-lru") && warned.contains("noeviction"),
        "the warning names the policy and the fix: {warned}"
    );
}
