//! Running the Node scripts in `tests/interop/node/` against a queue: one-shot scripts
//! ([`NodeEnv::run`]) and long-running ones ([`NodeEnv::spawn`] → [`NodeProcess`]).
//!
//! Every script takes the queue from its environment (`INTEROP_REDIS_URL`, `INTEROP_PREFIX`,
//! `INTEROP_QUEUE`), its own parameters as one JSON argument, and prints JSON lines. A
//! long-running script stops gracefully when its stdin is closed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use crate::error::{Error, Result};

/// The BullMQ version `package.json` pins; the scripts are checked to run against it.
pub const BULLMQ_VERSION: &str = "6.7.0";

/// `tests/interop`, where `package.json` and `node_modules/` live.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails with instructions unless `node_modules/` holds the pinned BullMQ.
pub fn check_node_modules() -> Result<()> {
    let manifest = interop_dir().join("node_modules/bullmq/package.json");
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        Error::new(format!(
            "{} is missing ({e}): run `npm ci` in tests/interop before the interop tests",
            manifest.display()
        ))
    })?;
    let package: Value = serde_json::from_str(&text)
        .map_err(|e| Error::new(format!("{} is not JSON: {e}", manifest.display())))?;
    match package.get("version").and_then(Value::as_str) {
        Some(BULLMQ_VERSION) => Ok(()),
        other => Err(Error::new(format!(
            "node_modules has bullmq {other:?}, the tests need {BULLMQ_VERSION}: run `npm ci` in tests/interop"
        ))),
    }
}

/// Where the Node scripts find their queue.
#[derive(Debug, Clone)]
pub struct NodeEnv {
    pub url: String,
    pub prefix: String,
    pub queue: String,
}

impl NodeEnv {
    /// The same server and prefix, another queue.
    pub fn with_queue(&self, queue: &str) -> Self {
        Self {
            queue: queue.to_owned(),
            ..self.clone()
        }
    }

    fn command(&self, script: &str, arg: &Value) -> Result<Command> {
        check_node_modules()?;
        let path = script_path(script);
        if !path.is_file() {
            return Err(Error::new(format!("no Node script {}", path.display())));
        }
        let mut command = Command::new("node");
        command
            .arg(path)
            .arg(arg.to_string())
            .current_dir(interop_dir())
            .env("INTEROP_REDIS_URL", &self.url)
            .env("INTEROP_PREFIX", &self.prefix)
            .env("INTEROP_QUEUE", &self.queue)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        Ok(command)
    }

    /// Runs `node/<script>` to the end and returns the JSON lines it printed.
    pub async fn run(&self, script: &str, arg: &Value, timeout: Duration) -> Result<Vec<Value>> {
        let mut command = self.command(script, arg)?;
        command.stdin(Stdio::null());
        let child = command.spawn().map_err(spawn_error)?;
        let output = tokio::time::timeout(timeout, child.wait_with_output())
            .await
            .map_err(|_| Error::new(format!("node {script} did not finish within {timeout:?}")))?
            .map_err(|e| Error::new(format!("waiting for node {script}: {e}")))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(Error::new(format!(
                "node {script} failed ({}):\n{stderr}\nstdout:\n{stdout}",
                output.status
            )));
        }
        stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| parse_line(script, line))
            .collect()
    }

    /// Starts `node/<script>`; see [`NodeProcess`].
    pub fn spawn(&self, script: &str, arg: &Value) -> Result<NodeProcess> {
        let mut command = self.command(script, arg)?;
        command.stdin(Stdio::piped());
        let mut child = command.spawn().map_err(spawn_error)?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::new("node's stdout was not captured"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| Error::new("node's stderr was not captured"))?;
        let (tx, lines) = mpsc::unbounded_channel();
        let name = script.to_owned();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if !line.trim().is_empty() && tx.send(parse_line(&name, &line)).is_err() {
                    break;
                }
            }
        });
        let errors = Arc::new(Mutex::new(String::new()));
        tokio::spawn(collect(stderr, errors.clone()));
        Ok(NodeProcess {
            script: script.to_owned(),
            child,
            stdin,
            lines,
            seen: Vec::new(),
            stderr: errors,
        })
    }
}

fn script_path(script: &str) -> PathBuf {
    interop_dir().join("node").join(script)
}

fn spawn_error(e: std::io::Error) -> Error {
    Error::new(format!(
        "cannot run node ({e}): install Node.js ≥ 18 (apt-get install nodejs npm)"
    ))
}

fn parse_line(script: &str, line: &str) -> Result<Value> {
    serde_json::from_str(line).map_err(|e| {
        Error::new(format!(
            "node {script} printed a non-JSON line {line:?}: {e}"
        ))
    })
}

async fn collect(mut stream: impl AsyncRead + Unpin, into: Arc<Mutex<String>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buf[..n]);
        match into.lock() {
            Ok(mut s) => s.push_str(&text),
            Err(poisoned) => poisoned.into_inner().push_str(&text),
        }
    }
}

/// A running Node script: read its JSON lines as they come, then close its stdin to stop it.
/// Killed if dropped while running.
#[derive(Debug)]
pub struct NodeProcess {
    script: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Result<Value>>,
    seen: Vec<Value>,
    stderr: Arc<Mutex<String>>,
}

impl NodeProcess {
    /// Every line read so far, in order.
    pub fn seen(&self) -> &[Value] {
        &self.seen
    }

    /// What the script wrote to stderr so far.
    pub fn stderr(&self) -> String {
        match self.stderr.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads lines until one satisfies `matches` (which is returned), failing after `timeout`
    /// or when the script ends first.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        what: &str,
        matches: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, self.lines.recv()).await;
            match next {
                Err(_) => {
                    return Err(Error::new(format!(
                        "timed out after {timeout:?} waiting for node {} to print {what}; stderr:\n{}",
                        self.script,
                        self.stderr()
                    )));
                }
                Ok(None) => {
                    return Err(Error::new(format!(
                        "node {} ended before printing {what}; stderr:\n{}",
                        self.script,
                        self.stderr()
                    )));
                }
                Ok(Some(line)) => {
                    let line = line?;
                    self.seen.push(line.clone());
                    if matches(&line) {
                        return Ok(line);
                    }
                }
            }
        }
    }

    /// Reads lines until `count` of all the lines printed so far satisfy `matches`.
    pub async fn wait_for_count(
        &mut self,
        timeout: Duration,
        what: &str,
        count: usize,
        matches: impl Fn(&Value) -> bool,
    ) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut found = self.seen.iter().filter(|l| matches(l)).count();
        while found < count {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let progress = format!("{what} ({found} of {count} so far)");
            self.wait_for(left, &progress, &matches).await?;
            found += 1;
        }
        Ok(())
    }

    /// Waits for the line `{"event": name, ...}`.
    pub async fn wait_event(&mut self, name: &str, timeout: Duration) -> Result<Value> {
        self.wait_for(timeout, &format!("event {name:?}"), |v| event_is(v, name))
            .await
    }

    /// Closes stdin (the scripts' stop signal), reads the remaining lines, checks the exit
    /// status and returns every line the script printed.
    pub async fn finish(mut self, timeout: Duration) -> Result<Vec<Value>> {
        drop(self.stdin.take());
        let script = self.script.clone();
        let rest = async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line?);
            }
            self.child
                .wait()
                .await
                .map_err(|e| Error::new(format!("waiting for node {script}: {e}")))
        };
        let status = tokio::time::timeout(timeout, rest)
            .await
            .map_err(|_| Error::new(format!("node {script} did not stop within {timeout:?}")))??;
        if !status.success() {
            return Err(Error::new(format!(
                "node {script} failed ({status}); stderr:\n{}",
                self.stderr()
            )));
        }
        Ok(std::mem::take(&mut self.seen))
    }
}

/// Whether a line is `{"event": name, ...}`.
pub fn event_is(line: &Value, name: &str) -> bool {
    line.get("event").and_then(Value::as_str) == Some(name)
}

/// The path of a file under `tests/interop`.
pub fn interop_path(relative: impl AsRef<Path>) -> PathBuf {
    interop_dir().join(relative)
}
