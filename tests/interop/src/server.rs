//! [`RedisServer`]: a private `redis-server` for one test, or the shared one in `REDIS_URL`.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long a fresh `redis-server` may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` on a free loopback port, without persistence, killed on drop; or, when
/// the `REDIS_URL` environment variable is set, that server (left alone on drop). Either way
/// each test puts its queues under a prefix of its own ([`crate::unique_prefix`]).
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    url: String,
}

impl RedisServer {
    pub fn start() -> Result<Self> {
        if let Some(url) = std::env::var("REDIS_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
        {
            return Ok(Self { child: None, url });
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| Error::new(format!("no free loopback port: {e}")))?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                Error::new(format!(
                    "cannot start redis-server ({e}): install it (apt-get install redis-server) \
                     or set REDIS_URL to a server the interop tests may use"
                ))
            })?;
        let mut server = Self {
            child: Some(child),
            url: format!("redis://127.0.0.1:{port}"),
        };
        server.await_port(port)?;
        Ok(server)
    }

    /// Blocks until the server accepts connections (it has nothing else to wait on).
    fn await_port(&mut self, port: u16) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(Error::new(format!(
                    "redis-server exited at start ({status}); is port {port} taken?"
                )));
            }
            if Instant::now() >= deadline {
                return Err(Error::new(format!(
                    "redis-server did not listen on port {port} within {START_TIMEOUT:?}"
                )));
            }
            // A starting server gives no signal but its open port.
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// `redis://127.0.0.1:<port>` (or `REDIS_URL`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this guard started (and will stop) the server.
    pub fn is_private(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
