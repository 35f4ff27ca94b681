//! Runs the built `oxq` binary as a user does, against a store made for the test: a temp
//! SQLite file, or a `redis-server` started on a free port.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use oxq_testkit::redis_server::RedisServer;

/// A store for one test, and the directory the binary runs in.
pub struct Fixture {
    pub url: String,
    dir: tempfile::TempDir,
    _redis: Option<RedisServer>,
}

/// How the binary ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Fixture {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
        Self {
            url,
            dir,
            _redis: None,
        }
    }

    pub fn redis() -> Self {
        let server = RedisServer::start();
        Self {
            url: server.url(),
            dir: tempfile::tempdir().expect("temp dir"),
            _redis: Some(server),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with `--url` set, in the test's directory, stdin closed.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_oxq"));
        command
            .arg("--url")
            .arg(&self.url)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("OXQ_URL")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run(self.command(args))
    }

    /// Runs and expects exit 0; answers stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, Some(0), "oxq {args:?}: {run:?}");
        run.stdout
    }

    /// Runs with `--json`, expects exit 0, answers the JSON it printed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let out = self.ok(&with_json);
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("oxq {args:?}: {out:?}: {e}"))
    }

    /// Runs, expects exit `code` and one sentence on stderr; answers that sentence.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        expect_failure(self.run(args), code, args)
    }

    /// `get <id> --json` of queue `queue`.
    pub fn job(&self, queue: &str, id: &str) -> Value {
        self.json(&["get", id, "--queue", queue])
    }

    /// Adds a job with `data`; answers its id.
    pub fn add(&self, queue: &str, data: &str, extra: &[&str]) -> String {
        let mut args = vec!["add", "--queue", queue, "--data", data];
        args.extend_from_slice(extra);
        let out = self.json(&args);
        out["ids"][0].as_str().expect("an id").to_owned()
    }

    /// Writes an executable file in the test's directory.
    pub fn script(&self, name: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path(name);
        std::fs::write(&path, text).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod script");
        path
    }

    /// Starts `oxq` in the background, stdout and stderr captured.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start oxq")
    }
}

pub fn run(mut command: Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run oxq");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Checks a failed run: its exit code, and stderr one `oxq: ` sentence, no debug text.
pub fn expect_failure(run: Run, code: i32, what: &[&str]) -> String {
    assert_eq!(run.code, Some(code), "oxq {what:?}: {run:?}");
    let stderr = run.stderr.trim_end();
    assert!(stderr.starts_with("oxq: "), "oxq {what:?}: {stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    for debug in ["Error {", "Some(", "source:", "Os {"] {
        assert!(!stderr.contains(debug), "debug text in {stderr:?}");
    }
    stderr.to_owned()
}

/// Waits for a child to exit, at most `timeout`; answers its output.
pub fn wait_for_exit(child: Child, timeout: Duration) -> Run {
    let pid = child.id();
    let deadline = Instant::now() + timeout;
    let mut child = child;
    loop {
        if child.try_wait().expect("poll oxq").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("oxq (pid {pid}) did not exit within {timeout:?}");
        }
        // std's Child has no blocking wait with a deadline: poll its exit status
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("collect oxq output");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Polls `check` every 20 ms until it holds; panics naming `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        // the state checked lives in another process (a file, a store row): poll it
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` exists (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            // the state follows the parenthesised command name
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z")
        })
        .unwrap_or(false)
}

pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} failed");
}

/// Generates `mod sqlite` and `mod redis`, each with one `#[test]` per named function
/// `fn name(&Fixture)` of the parent module.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $case() { super::$case(&$crate::support::Fixture::sqlite()) })*
        }
        mod redis {
            $(#[test] fn $case() { super::$case(&$crate::support::Fixture::redis()) })*
        }
    };
}

/// The lines a running `oxq` writes on stderr, read on a thread of their own.
pub struct StderrLines {
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl StderrLines {
    /// Takes over `child`'s piped stderr.
    pub fn of(child: &mut Child) -> Self {
        use std::io::BufRead;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `text`, at most `timeout`.
    pub fn wait_for(&mut self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.seen.iter().any(|line| line.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no stderr line with {text:?}; saw {:?}", self.seen),
            }
        }
    }
}
