//! What the dashboard tests share: a real store of either kind (a temp SQLite file or a
//! redis-server started here), queues seeded by a real worker, the dashboard served on a free
//! loopback port, and an HTTP/1.1 client for it.

#![allow(dead_code)] // each test file uses part of it

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use oxq::prelude::*;
use oxq_dashboard::{BoundDashboard, DashboardOptions, WorkerMetrics};
use oxq_testkit::redis_server::RedisServer;
use serde_json::{Value, json};

/// Defines each case (an `async fn(TestStore)` of the test file) as one test per store, in
/// modules `sqlite` and `redis`.
#[allow(unused_macros)] // the test files that run on one store only do not call it
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case($crate::support::TestStore::sqlite().await).await
            })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case($crate::support::TestStore::redis().await).await
            })*
        }
    };
}

/// A store for one test, and what keeps it alive (its temp dir or its server).
pub struct TestStore {
    pub backend: Arc<dyn oxq::Backend>,
    _sqlite_dir: Option<tempfile::TempDir>,
    _redis: Option<RedisServer>,
}

impl TestStore {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let url = format!("sqlite://{}", dir.path().join("dashboard.db").display());
        let backend = oxq::connect(&url).await.expect("the SQLite store opens");
        Self {
            backend,
            _sqlite_dir: Some(dir),
            _redis: None,
        }
    }

    pub async fn redis() -> Self {
        let server = RedisServer::start();
        let backend = oxq::connect(&server.url())
            .await
            .expect("the Redis store opens");
        Self {
            backend,
            _sqlite_dir: None,
            _redis: Some(server),
        }
    }
}

/// What [`seed`] leaves in queue `emails`.
pub const COMPLETED: [&str; 3] = ["ok-1", "ok-2", "ok-3"];
pub const FAILED: &str = "bad";
pub const DELAYED: &str = "later";
pub const WAITING: [&str; 2] = ["w-1", "w-2"];
/// The error each attempt of [`FAILED`] throws, and how many attempts it has.
pub const FAILURE: &str = "smtp down";
pub const FAILED_ATTEMPTS: u32 = 2;
/// Queue `reports` holds a parent [`PARENT`] waiting for its child [`CHILD`].
pub const PARENT: &str = "p";
pub const CHILD: &str = "c";

/// Fills the store: in `emails`, three jobs completed and one failed after two attempts by a
/// real worker (each logs a line), one delayed an hour, two waiting; in `reports`, a parent and
/// its child, both waiting. Answers the worker's counters.
pub async fn seed(backend: &Arc<dyn oxq::Backend>) -> WorkerMetrics {
    let emails: Queue<Value> = Queue::new(backend.clone(), "emails").expect("a queue name");
    for (n, id) in COMPLETED.iter().enumerate() {
        emails
            .add(
                "send",
                json!({ "to": format!("user{n}@example.com") }),
                JobOptions::new().job_id(*id),
            )
            .await
            .expect("add");
    }
    emails
        .add(
            "send",
            json!({ "to": "nobody@example.com" }),
            JobOptions::new().job_id(FAILED).attempts(FAILED_ATTEMPTS),
        )
        .await
        .expect("add");

    let metrics = WorkerMetrics::new();
    let feed = metrics.listener("emails");
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let options = WorkerOptions::new().on_event(move |event| {
        feed(event);
        let _ = events.send(event.clone());
    });
    let worker = Worker::start(&emails, options, |job: Job<Value>| async move {
        job.log(format!("sending to {}", job.data()["to"]))
            .await
            .map_err(std::io::Error::other)?;
        if job.id().as_str() == FAILED {
            return Err(std::io::Error::other(FAILURE));
        }
        Ok(json!({ "sent": true }))
    });
    let (mut completed, mut failed_for_good) = (0, 0);
    while completed < COMPLETED.len() || failed_for_good < 1 {
        let event = tokio::time::timeout(Duration::from_secs(30), received.recv())
            .await
            .expect("the worker finishes the seeded jobs within 30 s")
            .expect("the worker is running");
        match event {
            WorkerEvent::Completed { .. } => completed += 1,
            WorkerEvent::Failed {
                retrying: false, ..
            } => failed_for_good += 1,
            _ => {}
        }
    }
    worker.close().await.expect("the worker closes");

    emails
        .add(
            "send",
            json!({ "to": "later@example.com" }),
            JobOptions::new()
                .job_id(DELAYED)
                .delay(Duration::from_secs(3600)),
        )
        .await
        .expect("add");
    for id in WAITING {
        emails
            .add("send", json!({ "to": id }), JobOptions::new().job_id(id))
            .await
            .expect("add");
    }

    let reports: Queue<Value> = Queue::new(backend.clone(), "reports").expect("a queue name");
    let parent = reports
        .add(
            "monthly",
            json!({ "month": 5 }),
            JobOptions::new().job_id(PARENT),
        )
        .await
        .expect("add");
    reports
        .add(
            "part",
            json!({ "part": 1 }),
            JobOptions::new().job_id(CHILD).parent(parent.as_parent()),
        )
        .await
        .expect("add");
    metrics
}

/// The dashboard served on a free loopback port until dropped.
pub struct Served {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Served {
    pub async fn start(backend: &Arc<dyn oxq::Backend>, options: DashboardOptions) -> Self {
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("an address");
        let bound = BoundDashboard::bind(addr, backend.clone(), options)
            .await
            .expect("the dashboard binds a loopback port");
        let addr = bound.local_addr().expect("its address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(bound.serve_until(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
        }
    }

    /// A client of a dashboard served by the test itself at `addr` (nothing to stop).
    pub fn at(addr: SocketAddr) -> Self {
        Self { addr, stop: None }
    }

    /// Sends a request with `Authorization: <authorization>` when given; answers the status
    /// and the body (JSON when it parses, else a string).
    pub async fn call(&self, method: Method, path: &str, authorization: Option<&str>) -> Response {
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = request.body(Full::new(Bytes::new())).expect("a request");
        let response = client
            .request(request)
            .await
            .expect("the dashboard answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("the whole body")
            .to_bytes();
        let text = String::from_utf8(body.to_vec()).expect("a UTF-8 body");
        Response {
            status,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
            headers,
        }
    }

    /// Sends a request with these headers and body; answers as [`Served::call`] does.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .expect("a request");
        let response = client
            .request(request)
            .await
            .expect("the dashboard answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("the whole body")
            .to_bytes();
        let text = String::from_utf8(body.to_vec()).expect("a UTF-8 body");
        Response {
            status,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str) -> Response {
        self.call(Method::POST, path, None).await
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub json: Value,
    pub text: String,
    pub headers: axum::http::HeaderMap,
}

impl Response {
    /// Panics with the body unless the status is `expected`.
    pub fn expect(self, expected: StatusCode) -> Self {
        assert_eq!(self.status, expected, "body: {}", self.text);
        self
    }
}
