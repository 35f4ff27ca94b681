//! The store a benchmark runs on: fresh SQLite files in a directory of their own, or a Redis
//! server (the one `--url` names, else a `redis-server` started for the run on a free port,
//! without persistence). Each scenario gets a fresh queue; a Redis queue is obliterated after
//! its scenario, outside the timing.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oxq::{Backend, Queue, QueueRef};
use serde_json::Value;

use crate::error::{CliError, CliResult};

/// Which store a benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// The embedded store: a fresh SQLite file per scenario and run (WAL, synchronous=NORMAL).
    Sqlite,
    /// A Redis server.
    Redis,
}

impl StoreKind {
    pub fn label(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Redis => "redis",
        }
    }
}

/// One store under test, ready to hand out fresh queues.
#[derive(Debug)]
pub enum Target {
    Sqlite {
        /// Removed with everything in it when the benchmark ends.
        dir: tempfile::TempDir,
        files: AtomicUsize,
    },
    Redis {
        url: String,
        prefix: String,
        /// The server's own connection for `INFO` (CPU counters, version).
        info: redis::aio::MultiplexedConnection,
        /// The server started for this run, killed on drop.
        _server: Option<OwnRedis>,
    },
}

/// A fresh queue for one scenario, and a second handle on it as a separate worker process
/// would have (its own connection on Redis; the same store on SQLite, as in one process).
#[derive(Debug)]
pub struct BenchQueue {
    pub queue: Queue<Value>,
    pub worker_side: Queue<Value>,
}

impl Target {
    /// A directory for fresh SQLite files: under `parent` when given, else the system's
    /// temporary directory.
    pub fn sqlite(parent: Option<&Path>) -> CliResult<Self> {
        let dir = match parent {
            Some(parent) => tempfile::Builder::new()
                .prefix("oxq-bench")
                .tempdir_in(parent),
            None => tempfile::Builder::new().prefix("oxq-bench").tempdir(),
        }
        .map_err(|e| {
            CliError::Failed(format!("cannot make a directory for the SQLite files: {e}"))
        })?;
        Ok(Target::Sqlite {
            dir,
            files: AtomicUsize::new(0),
        })
    }

    /// The Redis server at `url`, or (`None`) a `redis-server` of its own.
    pub async fn redis(url: Option<&str>, prefix: &str) -> CliResult<Self> {
        let (url, server) = match url {
            Some(url) => (url.to_owned(), None),
            None => {
                let server = OwnRedis::start()?;
                (server.url.clone(), Some(server))
            }
        };
        // the store checks the URL and the server first, with its own clear errors
        oxq::connect(&url).await?;
        let info = redis::Client::open(url.as_str())
            .map_err(|e| CliError::Usage(format!("{url} is not a Redis URL: {e}")))?
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| CliError::Failed(format!("cannot connect to Redis for INFO: {e}")))?;
        Ok(Target::Redis {
            url,
            prefix: prefix.to_owned(),
            info,
            _server: server,
        })
    }

    pub fn kind(&self) -> StoreKind {
        match self {
            Target::Sqlite { .. } => StoreKind::Sqlite,
            Target::Redis { .. } => StoreKind::Redis,
        }
    }

    /// The Redis server's URL (for Node BullMQ); `None` for SQLite.
    pub fn redis_url(&self) -> Option<&str> {
        match self {
            Target::Sqlite { .. } => None,
            Target::Redis { url, .. } => Some(url),
        }
    }

    /// What the table's heading says about the store.
    pub async fn describe(&self) -> String {
        match self {
            Target::Sqlite { .. } => {
                "embedded store: a fresh SQLite file per scenario and run (WAL, synchronous=NORMAL)"
                    .to_owned()
            }
            Target::Redis { info, .. } => {
                let mut info = info.clone();
                let version = info_text(&mut info, "server")
                    .await
                    .ok()
                    .and_then(|text| info_field(&text, "redis_version"))
                    .unwrap_or_else(|| "?".to_owned());
                format!("Redis {version}")
            }
        }
    }

    /// A fresh store and queue for `scenario` of run `run`.
    pub async fn fresh_queue(&self, scenario: &str, run: usize) -> CliResult<BenchQueue> {
        let name = format!("bench-{}-run{run}-{scenario}", std::process::id());
        match self {
            Target::Sqlite { dir, files } => {
                let n = files.fetch_add(1, Ordering::Relaxed);
                let path = dir.path().join(format!("bench-{n}.db"));
                let backend = oxq::connect(&format!("sqlite://{}", path.display())).await?;
                let queue = Queue::from_ref(backend, QueueRef::new(name)?);
                Ok(BenchQueue {
                    worker_side: queue.clone(),
                    queue,
                })
            }
            Target::Redis { url, prefix, .. } => {
                let queue = QueueRef::with_prefix(prefix, &name)?;
                let producer: Arc<dyn Backend> = oxq::connect(url).await?;
                let worker: Arc<dyn Backend> = oxq::connect(url).await?;
                Ok(BenchQueue {
                    queue: Queue::from_ref(producer, queue.clone()),
                    worker_side: Queue::from_ref(worker, queue),
                })
            }
        }
    }

    /// Drops what a scenario left: a Redis queue is obliterated (a SQLite file goes with the
    /// directory).
    pub async fn clean_up(&self, queue: &BenchQueue) -> CliResult<()> {
        if let Target::Redis { .. } = self {
            queue.queue.obliterate(true).await?;
        }
        Ok(())
    }

    /// The Redis server's CPU seconds so far (`INFO cpu`); `None` for SQLite.
    pub async fn server_cpu(&self) -> CliResult<Option<f64>> {
        let Target::Redis { info, .. } = self else {
            return Ok(None);
        };
        let mut info = info.clone();
        let text = info_text(&mut info, "cpu")
            .await
            .map_err(|e| CliError::Failed(format!("INFO cpu failed: {e}")))?;
        let field = |name| {
            info_field(&text, name)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Ok(Some(field("used_cpu_sys") + field("used_cpu_user")))
    }
}

async fn info_text(
    conn: &mut redis::aio::MultiplexedConnection,
    section: &str,
) -> redis::RedisResult<String> {
    redis::cmd("INFO").arg(section).query_async(conn).await
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim().to_owned())
    })
}

/// A `redis-server` on a free loopback port without persistence, killed on drop.
#[derive(Debug)]
pub struct OwnRedis {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start() -> CliResult<Self> {
        let failed = |what: String| CliError::Failed(what);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| failed(format!("no free port for a redis-server: {e}")))?
            .port();
        let dir = tempfile::tempdir()
            .map_err(|e| failed(format!("no directory for a redis-server: {e}")))?;
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                failed(format!(
                    "cannot start redis-server ({e}); install it, pass --url redis://..., or \
                     --store sqlite"
                ))
            })?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "the redis-server started on port {port} did not accept connections"
                )));
            }
            // the server is starting: its port is the only thing to wait on
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
            _dir: dir,
        })
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
