//! The workspace's example programs (`examples/*.rs`, targets of the `oxq` package), run as
//! separate processes.
//!
//! `cargo test` on the workspace builds them into `target/<profile>/examples/`, next to the
//! test binary's `target/<profile>/deps/`. When only this package is tested
//! (`cargo test -p oxq-interop`) they may be missing or older than their sources, so
//! [`example`] asks cargo to build them first. It builds them as a workspace-wide
//! `cargo test` does (`--workspace`, so dependencies get the same unified features): after
//! such a run it is a no-op, and otherwise the artifacts it makes are the ones that run will
//! reuse.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};

/// Builds (once per test process) and returns the path of example `name`.
pub fn example(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::new(format!("cannot find the test executable: {e}")))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| Error::new(format!("{} is not in target/<profile>/deps", exe.display())))?;
    build_once(name, profile_dir)?;
    let path = profile_dir.join("examples").join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::new(format!(
            "{} is missing although cargo built it",
            path.display()
        )))
    }
}

/// Examples already built by this process.
static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn build_once(name: &str, profile_dir: &Path) -> Result<()> {
    // Held across the build: two tests asking at once build once.
    let mut built = match BUILT.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    if built.iter().any(|b| b == name) {
        return Ok(());
    }
    let profile = profile_dir
        .file_name()
        .and_then(|p| p.to_str())
        .ok_or_else(|| Error::new("target profile directory has no name"))?;
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| Error::new("target profile directory has no parent"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let workspace = crate::node::interop_dir().join("../..");
    let mut command = Command::new(&cargo);
    command
        .current_dir(&workspace)
        .args(["build", "--quiet", "--workspace", "--example", name])
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let output = command
        .output()
        .map_err(|e| Error::new(format!("cannot run {cargo} to build example {name}: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "building example {name} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    built.push(name.to_owned());
    Ok(())
}

/// The last line an example printed on stdout, parsed as its JSON summary.
pub fn summary(stdout: &[u8]) -> Result<Value> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| Error::new("the example printed nothing"))?;
    serde_json::from_str(line)
        .map_err(|e| Error::new(format!("the example's summary {line:?} is not JSON: {e}")))
}

/// A running example program, killed if dropped before it ends.
#[derive(Debug)]
pub struct ExampleProcess {
    name: String,
    child: tokio::process::Child,
}

/// Starts example `name` with `args` (building it first if needed), stdout captured.
pub async fn spawn(name: &str, args: &[&str]) -> Result<ExampleProcess> {
    let owned = name.to_owned();
    let path = tokio::task::spawn_blocking(move || example(&owned))
        .await
        .map_err(|e| Error::new(format!("building example {name} panicked: {e}")))??;
    let child = tokio::process::Command::new(&path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::new(format!("cannot run {}: {e}", path.display())))?;
    Ok(ExampleProcess {
        name: name.to_owned(),
        child,
    })
}

/// Runs example `name` to the end and returns its JSON summary.
pub async fn run(name: &str, args: &[&str], timeout: Duration) -> Result<Value> {
    spawn(name, args).await?.summary(timeout).await
}

impl ExampleProcess {
    /// Waits for the program to exit successfully and returns its JSON summary.
    pub async fn summary(self, timeout: Duration) -> Result<Value> {
        let name = self.name;
        let output = tokio::time::timeout(timeout, self.child.wait_with_output())
            .await
            .map_err(|_| Error::new(format!("example {name} did not exit within {timeout:?}")))?
            .map_err(|e| Error::new(format!("waiting for example {name}: {e}")))?;
        if !output.status.success() {
            return Err(Error::new(format!(
                "example {name} failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        summary(&output.stdout)
    }
}
