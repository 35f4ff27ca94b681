//! Node BullMQ's side of the Redis comparison (`--node`): runs BullMQ's `add`, `add_bulk`,
//! `process_cC`, `start_latency` and `delayed_lateness` scenarios, those chosen
//! (`tests/interop/bench/node_bench.mjs`, built into the binary), on the same Redis server, and
//! reads the JSON line it prints: wall seconds and the server's CPU seconds per throughput
//! scenario, every job's sample (ms) per steady-rate one.
//!
//! bullmq and ioredis resolve from `--node-dir DIR` (DIR/node_modules), by default the
//! source tree's `tests/interop` this binary was built from (`npm ci` there).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use super::stats::Measure;
use super::steady::Steady;
use crate::error::{CliError, CliResult};

/// The Node script, written to a temporary file for each run.
const SCRIPT: &str = include_str!("../../../../tests/interop/bench/node_bench.mjs");

/// Where bullmq is looked for when `--node-dir` is not given.
pub fn default_node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// What one run of the Node side measured.
#[derive(Debug)]
pub struct NodeRun {
    /// `bullmq X, node Y`.
    pub about: String,
    /// Throughput scenario name → its measure (server CPU, no process CPU).
    pub measures: BTreeMap<String, Measure>,
    /// Steady-rate scenario name → every job's sample, in ms.
    pub samples: BTreeMap<String, Vec<f64>>,
}

/// What the script runs: the scenarios (`add`, `add_bulk`, `process`, `start_latency`,
/// `delayed_lateness`) and their sizes.
#[derive(Debug, Clone)]
pub struct NodeParams {
    pub scenarios: Vec<&'static str>,
    pub jobs: usize,
    pub batch: usize,
    pub concurrency: Vec<usize>,
    pub latency: Steady,
    pub delayed: Steady,
    pub delay_ms: u64,
}

/// One run of the script: the chosen scenarios on fresh queues tagged with `run`.
pub async fn run(
    node: &str,
    node_dir: &Path,
    url: &str,
    run: usize,
    params: &NodeParams,
) -> CliResult<NodeRun> {
    let failed = |what: String| CliError::Failed(what);
    let dir =
        tempfile::tempdir().map_err(|e| failed(format!("no directory for the script: {e}")))?;
    let script = dir.path().join("node_bench.mjs");
    std::fs::write(&script, SCRIPT)
        .map_err(|e| failed(format!("cannot write {}: {e}", script.display())))?;
    let concurrency: Vec<String> = params.concurrency.iter().map(ToString::to_string).collect();
    let output = tokio::process::Command::new(node)
        .arg(&script)
        .args(["--url", url, "--jobs", &params.jobs.to_string()])
        .args(["--bulk", &params.batch.to_string()])
        .args(["--tag", &format!("{}-run{run}", std::process::id())])
        .args(["--concurrency", &concurrency.join(",")])
        .args(["--scenarios", &params.scenarios.join(",")])
        .args(["--latency-rate", &params.latency.rate.to_string()])
        .args(["--latency-seconds", &params.latency.seconds.to_string()])
        .args(["--delayed-rate", &params.delayed.rate.to_string()])
        .args(["--delayed-seconds", &params.delayed.seconds.to_string()])
        .args(["--delay-ms", &params.delay_ms.to_string()])
        .args([
            "--steady-concurrency",
            &params.latency.concurrency.to_string(),
        ])
        .env("BULLMQ_FROM", node_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(|e| failed(format!("cannot run {node}: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(failed(format!(
            "Node BullMQ's benchmark exited with {} ({last}); is bullmq installed in {}? \
             (`npm ci` there, or --node-dir)",
            output.status,
            node_dir.display()
        )));
    }
    parse(&String::from_utf8_lossy(&output.stdout))
}

/// The script's report: its last line starting with `{`.
fn parse(stdout: &str) -> CliResult<NodeRun> {
    let bad = |what: &str| CliError::Failed(format!("Node BullMQ's benchmark printed {what}"));
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with('{'))
        .ok_or_else(|| bad("no JSON line"))?;
    let report: Value = serde_json::from_str(line).map_err(|_| bad("a line that is not JSON"))?;
    let mut measures = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for result in report["results"]
        .as_array()
        .ok_or_else(|| bad("no results"))?
    {
        let scenario = result["scenario"]
            .as_str()
            .ok_or_else(|| bad("no scenario"))?;
        if let Some(values) = result["samples"].as_array() {
            let values: Option<Vec<f64>> = values.iter().map(Value::as_f64).collect();
            let values = values.ok_or_else(|| bad("a sample that is not a number"))?;
            samples.insert(scenario.to_owned(), values);
            continue;
        }
        let measure = Measure {
            seconds: result["seconds"]
                .as_f64()
                .ok_or_else(|| bad("no seconds"))?,
            process_cpu: None,
            server_cpu: result["redis_cpu_seconds"].as_f64(),
        };
        measures.insert(scenario.to_owned(), measure);
    }
    Ok(NodeRun {
        about: format!(
            "bullmq {}, node {}",
            report["bullmq"].as_str().unwrap_or("?"),
            report["node"].as_str().unwrap_or("?")
        ),
        measures,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_scripts_report() {
        let out = "noise\n{\"bullmq\":\"5.1.0\",\"node\":\"v20\",\"results\":[{\"scenario\":\"add\",\
                   \"jobs\":10,\"seconds\":0.5,\"redis_cpu_seconds\":0.1}]}\n";
        let run = parse(out).expect("a report");
        assert_eq!(run.about, "bullmq 5.1.0, node v20");
        assert_eq!(run.measures["add"].seconds, 0.5);
        assert_eq!(run.measures["add"].server_cpu, Some(0.1));
        assert!(parse("no json").is_err());
        let out = "{\"results\":[{\"scenario\":\"start_latency\",\"samples\":[1.5,2]}]}";
        let run = parse(out).expect("a report");
        assert_eq!(run.samples["start_latency"], vec![1.5, 2.0]);
        assert!(run.measures.is_empty());
        assert!(parse("{\"results\":[{\"scenario\":\"x\",\"samples\":[\"a\"]}]}").is_err());
    }
}
