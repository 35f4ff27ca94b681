//! Fault-test support: a `redis-server` of the test's own on a free loopback port, optionally
//! with an append-only file in a temp directory, that the test shuts down gracefully
//! (`SHUTDOWN`, so the AOF is flushed and fsynced) and starts again on the same port, loading
//! what it persisted. Plus raw RESP over a plain socket for the moments when the test must act
//! on the server without any client library (readiness, shutdown, `CLIENT LIST`).
//!
//! Fault tests restart the server, so they never use `REDIS_URL`; without a `redis-server`
//! binary they fail with a message saying so (never a silent skip).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the server keeps across a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing: a restart comes back empty.
    None,
    /// `appendonly yes`, `appendfsync always`: every acknowledged write is on disk before the
    /// reply, so even an unclean stop loses nothing acknowledged (the tests stop the server
    /// cleanly, which flushes the AOF under any fsync policy; `always` also makes the
    /// "no acknowledged job is lost" assertion hold without relying on that).
    AofAlways,
}

/// A `redis-server` owned by one test, stopped (and its directory removed) on drop.
#[derive(Debug)]
pub struct FaultServer {
    child: Option<Child>,
    pub port: u16,
    pub url: String,
    dir: PathBuf,
    persistence: Persistence,
}

impl FaultServer {
    pub fn start(persistence: Persistence) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let dir =
            std::env::temp_dir().join(format!("oxq-faults-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir for the server");
        let mut server = Self {
            child: None,
            port,
            url: format!("redis://127.0.0.1:{port}"),
            dir,
            persistence,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--save", ""]);
        match self.persistence {
            Persistence::None => cmd.args(["--appendonly", "no"]),
            Persistence::AofAlways => cmd.args(["--appendonly", "yes", "--appendfsync", "always"]),
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): the fault tests need the redis-server \
                     binary (apt-get install redis-server); they restart it, so REDIS_URL \
                     cannot stand in for it"
                )
            });
        self.child = Some(child);
        // Ready means PONG: while it loads the AOF, Redis answers LOADING.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(reply) = self.command(&["PING"])
                && reply.starts_with("+PONG")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not become ready on port {}",
                self.port
            );
            // the server process is starting or loading; nothing to wait on but its answer
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server gracefully with `SHUTDOWN` (AOF flushed and fsynced) and waits for the
    /// process to exit. Connections drop; the port refuses connections until [`Self::start_again`].
    pub fn shutdown(&mut self) {
        self.shutdown_after(&[]);
    }

    /// Sends `commands` and `SHUTDOWN` in one write, so Redis runs them back to back with no
    /// other client served in between (one read of one client's input), then waits for the
    /// process to exit.
    pub fn shutdown_after(&mut self, commands: &[&[&str]]) {
        let mut child = self.child.take().expect("the server is running");
        let mut payload = Vec::new();
        for args in commands {
            payload.extend(resp(args));
        }
        payload.extend(resp(&["SHUTDOWN"]));
        let sent = TcpStream::connect(("127.0.0.1", self.port)).and_then(|mut s| {
            s.write_all(&payload)?;
            // the server answers the commands before SHUTDOWN, then closes the socket
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
            Ok(())
        });
        if let Err(e) = sent {
            let _ = child.kill();
            panic!("could not send SHUTDOWN: {e}");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    // the server is writing its AOF and exiting
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    let _ = child.kill();
                    panic!("redis-server did not exit after SHUTDOWN");
                }
            }
        }
    }

    /// Starts the server again on the same port, with the same directory (it loads its AOF).
    pub fn start_again(&mut self) {
        self.spawn();
    }

    /// One command over a fresh socket, returning the raw reply (RESP, as text).
    pub fn command(&self, args: &[&str]) -> std::io::Result<String> {
        let stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        (&stream).write_all(&resp(args))?;
        read_reply(&mut BufReader::new(&stream))
    }

    /// The clients the server sees (`CLIENT LIST`), one map of fields per client.
    pub fn clients(&self) -> Vec<Vec<(String, String)>> {
        let reply = self.command(&["CLIENT", "LIST"]).unwrap_or_default();
        reply
            .lines()
            .skip(1) // the bulk header
            .filter(|line| line.contains("id="))
            .map(|line| {
                line.split(' ')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect()
    }

    /// How many clients are blocked in `BZPOPMIN` right now (the idle workers' dedicated
    /// connections; nothing else in these tests blocks).
    pub fn blocked_in_bzpopmin(&self) -> usize {
        self.clients()
            .iter()
            .filter(|fields| {
                let get = |name: &str| {
                    fields
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str())
                };
                get("cmd") == Some("bzpopmin") && get("flags").is_some_and(|f| f.contains('b'))
            })
            .count()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend(format!("${}\r\n{arg}\r\n", arg.len()).into_bytes());
    }
    out
}

/// Reads one simple, error, integer or bulk reply (all these tests need).
fn read_reply(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if let Some(len) = line.strip_prefix('$') {
        let len: i64 = len.trim().parse().unwrap_or(-1);
        if len < 0 {
            return Ok(line);
        }
        let mut body = vec![0u8; len as usize + 2];
        reader.read_exact(&mut body)?;
        line.push_str(&String::from_utf8_lossy(&body));
    }
    Ok(line)
}
