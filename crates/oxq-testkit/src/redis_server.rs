//! A real `redis-server` for process-level tests (the facade's, the command line's, the
//! dashboard's): on a free loopback port, and on a Unix socket when asked, killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` this test started, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    /// A server on a free loopback port.
    pub fn start() -> Self {
        Self::spawn(None)
    }

    /// A server on a free loopback port and on the Unix socket `socket`.
    pub fn with_unix_socket(socket: &Path) -> Self {
        Self::spawn(Some(socket))
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(socket: Option<&Path>) -> Self {
        let port = free_port();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"]);
        if let Some(socket) = socket {
            command.args(["--unixsocket", &socket.display().to_string()]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)");
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        let up =
            || TcpStream::connect(("127.0.0.1", port)).is_ok() && socket.is_none_or(Path::exists);
        while !up() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            // the server process is starting; nothing to wait on but its port and socket
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on (now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
