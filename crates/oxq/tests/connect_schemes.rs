//! `oxq::connect` accepts every URL scheme a store declares, and the store it opens works:
//! `redis://`, `valkey://`, `unix://` and `redis+unix://` against a real `redis-server` this test
//! starts (TCP on a free loopback port and a Unix socket), `sqlite://` on a temporary file.

use std::time::Duration;

mod support;

use oxq::prelude::*;
use oxq_testkit::redis_server::RedisServer;
use serde_json::{Value, json};

/// Opens `url` through the facade, adds a job and reads it back.
async fn round_trip(url: &str, store: &str) {
    let backend = oxq::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    assert_eq!(backend.kind(), store, "{url}");
    let queue: Queue<Value> = Queue::new(backend, "schemes").expect("queue");
    let job = queue
        .add("hello", json!({"url": url}), JobOptions::new())
        .await
        .unwrap_or_else(|e| panic!("add through {url}: {e}"));
    let read = queue
        .get_job(job.id())
        .await
        .expect("read back")
        .expect("the job exists");
    assert_eq!(read.data(), &json!({"url": url}));
}

#[tokio::test]
async fn every_declared_scheme_opens_a_working_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("redis.sock");
    let server = RedisServer::with_unix_socket(&socket);
    let port = server.port;
    for url in [
        format!("redis://127.0.0.1:{port}"),
        format!("valkey://127.0.0.1:{port}"),
        format!("unix://{}", socket.display()),
        format!("redis+unix://{}", socket.display()),
    ] {
        round_trip(&url, "redis").await;
    }
    round_trip(
        &format!("sqlite://{}", dir.path().join("q.db").display()),
        "sqlite",
    )
    .await;
    for scheme in oxq::redis::URL_SCHEMES
        .iter()
        .chain(oxq::sqlite::URL_SCHEMES)
    {
        assert!(
            oxq::accepted_schemes().contains(&format!("{scheme}://")),
            "{scheme} is declared by a store but not accepted by the facade"
        );
    }
}

/// Events the queue's log holds from its start.
async fn events_kept(backend: std::sync::Arc<dyn oxq::Backend>, queue: &QueueRef) -> usize {
    let mut events = QueueEvents::after(backend, queue.clone(), None);
    let mut kept = 0;
    while events
        .next_timeout(Duration::from_millis(100))
        .await
        .expect("read events")
        .is_some()
    {
        kept += 1;
    }
    kept
}

/// `connect_with` hands the store its options: an event log capped at 10 by the options keeps
/// far fewer of 400 events than the default cap does, and a parameter in the URL wins over them.
#[tokio::test]
async fn connect_with_hands_the_store_its_options() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut kept = Vec::new();
    for (file, query) in [
        ("default.db", ""),
        ("capped.db", ""),
        ("url.db", "?max_events=100000"),
    ] {
        let url = format!("sqlite://{}{query}", dir.path().join(file).display());
        let options = match file {
            "default.db" => oxq::ConnectOptions::new(),
            _ => oxq::ConnectOptions::new()
                .sqlite(oxq::sqlite::SqliteOptions::default().max_events(10)),
        };
        let backend = oxq::connect_with(&url, options)
            .await
            .expect("connect_with");
        let queue: Queue<Value> = Queue::new(backend.clone(), "capped").expect("queue");
        for i in 0..200 {
            queue
                .add("e", json!(i), JobOptions::new())
                .await
                .expect("add");
        }
        kept.push(events_kept(backend, queue.queue_ref()).await);
    }
    let [default, capped, url] = kept[..] else {
        unreachable!("three stores")
    };
    assert_eq!(default, 400, "events kept under the default cap");
    assert!(capped < 100, "the options' cap of 10 kept {capped} events");
    assert_eq!(url, 400, "the URL's cap should win over the options'");
}
