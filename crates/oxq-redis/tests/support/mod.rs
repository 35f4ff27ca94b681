//! Test support: a real `redis-server` per test (or `REDIS_URL`), a fresh store and a queue
//! under a unique hash-tagged prefix, raw Redis access for checking the wire format, and waits
//! with time limits.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxq_core::backend::{AddJobs, Fetch, FetchJobs, Fetched, GetJob, NewJob, OfQueue, SetPaused};
use oxq_core::{Backend, JobCounts, JobId, JobOptions, JobRecord, LockToken, QueueRef};
use oxq_redis::{RedisBackend, RedisOptions};

/// A `redis-server` on a free loopback port, stopped on drop; or the server at `REDIS_URL`.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    pub url: String,
}

impl RedisServer {
    pub fn start() -> Self {
        if let Ok(url) = std::env::var("REDIS_URL") {
            return Self {
                child: None,
                port: 0,
                url,
            };
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let mut server = Self {
            child: None,
            port,
            url: format!("redis://127.0.0.1:{port}"),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}); install it (apt-get install redis-server) \
                     or set REDIS_URL to a server these tests may use"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {}",
                self.port
            );
            // the server process is starting; nothing to wait on but its port
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (its data is gone: no persistence).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        assert!(self.port != 0, "cannot restart a server given by REDIS_URL");
        self.stop();
        self.spawn();
    }

    pub fn owns_server(&self) -> bool {
        self.port != 0
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One test's world.
pub struct World {
    pub server: RedisServer,
    pub backend: Arc<RedisBackend>,
    pub queue: QueueRef,
    pub raw: redis::aio::MultiplexedConnection,
}

impl World {
    pub async fn new() -> Self {
        let server = RedisServer::start();
        let backend = oxq_redis::connect(&server.url, RedisOptions::default())
            .await
            .expect("connect to the test server");
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let queue = QueueRef::with_prefix(format!("{{t{}}}", &tag[..8]), "jobs").expect("queue");
        let raw = redis::Client::open(server.url.as_str())
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("raw connection");
        Self {
            server,
            backend,
            queue,
            raw,
        }
    }

    pub fn key(&self, suffix: &str) -> String {
        format!("{}:{}:{suffix}", self.queue.prefix, self.queue.name)
    }

    pub fn dyn_backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    pub async fn add(&self, name: &str, data: &str, options: JobOptions) -> JobId {
        self.add_at(name, data, options, now()).await
    }

    pub async fn add_at(&self, name: &str, data: &str, options: JobOptions, at: u64) -> JobId {
        let added = self
            .backend
            .job_add_bulk(AddJobs {
                queue: self.queue.clone(),
                jobs: vec![NewJob {
                    name: name.to_owned(),
                    data: data.to_owned(),
                    options,
                }],
                now: at,
            })
            .await
            .expect("add");
        added.jobs[0].id().clone()
    }

    pub fn fetch_request(&self, token: &str, max_jobs: u32) -> FetchJobs {
        FetchJobs {
            queue: self.queue.clone(),
            fetch: Fetch {
                token: LockToken(token.to_owned()),
                lock_duration: Duration::from_secs(30),
                max_jobs,
                worker_name: Some("w1".to_owned()),
                limiter: None,
            },
            now: now(),
        }
    }

    pub async fn fetch(&self, token: &str, max_jobs: u32) -> Fetched {
        self.backend
            .job_move_to_active(self.fetch_request(token, max_jobs))
            .await
            .expect("fetch")
    }

    pub async fn get(&self, id: &str) -> Option<JobRecord> {
        self.backend
            .job_get(GetJob {
                queue: self.queue.clone(),
                job_id: JobId::from(id),
            })
            .await
            .expect("get")
    }

    pub async fn counts(&self) -> JobCounts {
        self.backend
            .jobs_count(OfQueue {
                queue: self.queue.clone(),
            })
            .await
            .expect("counts")
    }

    /// Pauses (`true`) or resumes the queue.
    pub async fn set_paused(&self, paused: bool) {
        self.backend
            .queue_set_paused(SetPaused {
                queue: self.queue.clone(),
                paused,
                now: now(),
            })
            .await
            .expect("pause or resume");
    }

    pub async fn is_paused(&self) -> bool {
        self.backend
            .queue_status(OfQueue {
                queue: self.queue.clone(),
            })
            .await
            .expect("status")
            .paused
    }

    pub async fn hash(&self, id: &str) -> HashMap<String, String> {
        redis::cmd("HGETALL")
            .arg(self.key(id))
            .query_async(&mut self.raw.clone())
            .await
            .expect("HGETALL")
    }

    /// Every entry of the events stream as (event name, fields).
    pub async fn events(&self) -> Vec<(String, HashMap<String, String>)> {
        let entries: Vec<(String, HashMap<String, String>)> = redis::cmd("XRANGE")
            .arg(self.key("events"))
            .arg("-")
            .arg("+")
            .query_async(&mut self.raw.clone())
            .await
            .expect("XRANGE");
        entries
            .into_iter()
            .map(|(_, fields)| (fields.get("event").cloned().unwrap_or_default(), fields))
            .collect()
    }

    /// Calls of one command since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
    pub async fn calls_of(&self, command: &str) -> u64 {
        let info: String = self.cmd(redis::cmd("INFO").arg("commandstats")).await;
        info.lines()
            .find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls=")))
            .and_then(|rest| rest.split(',').next())
            .and_then(|calls| calls.parse().ok())
            .unwrap_or(0)
    }

    pub async fn cmd<T: redis::FromRedisValue>(&self, cmd: &mut redis::Cmd) -> T {
        cmd.query_async(&mut self.raw.clone())
            .await
            .expect("raw command")
    }
}

pub fn now() -> u64 {
    oxq_core::clock::now_ms()
}

pub fn ids(fetched: &Fetched) -> Vec<String> {
    fetched
        .jobs
        .iter()
        .map(|j| j.record.id.to_string())
        .collect()
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        // a polled condition on a real server; bounded by `limit`
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
