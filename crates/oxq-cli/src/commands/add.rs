//! `add`: one job from flags, or many from a JSON-lines file in one bulk add.
//!
//! A file line is either a job's data (any JSON value), or an object `{"data": …}` with at
//! most the keys `name`, `data` and `opts`: `opts` takes `job_id`, `delay_ms`, `priority`,
//! `attempts` and `lifo` (an unknown key is an error, not ignored). Blank lines are skipped.
//! Every line is read and checked (options, and the data's size against the queue's payload
//! limit) before anything is written, so a file with one bad line adds nothing, and the error
//! names that line. A file's jobs are then added [`CHUNK`] at a time, with a progress bar when
//! stderr is a terminal (never with `--json`); should the store fail part way, the error says
//! how many of the file's first jobs were added.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use oxq::{JobOptions, QueueOptions};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::args::AddArgs;
use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::store::Store;

/// The options a file line may give a job.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineOptions {
    job_id: Option<String>,
    delay_ms: Option<u64>,
    priority: Option<u32>,
    attempts: Option<u32>,
    lifo: Option<bool>,
}

/// A file line written as an object naming its parts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineJob {
    name: Option<String>,
    data: Value,
    #[serde(default)]
    opts: LineOptions,
}

/// One job ready to add.
type NewJob = (String, Value, JobOptions);

pub async fn add(store: &Store, args: &AddArgs, json: bool) -> CliResult<()> {
    let jobs = match &args.file {
        Some(path) => read_file(path, &args.name)?,
        None => vec![from_flags(args)?],
    };
    if jobs.is_empty() {
        return Err(CliError::Usage("the file holds no job".to_owned()));
    }
    let queue = store.queue(&args.queue.queue)?;
    let total = jobs.len();
    let bar = progress_bar(total, args.file.is_some() && !json);
    let mut ids: Vec<String> = Vec::with_capacity(total);
    let mut pending = jobs.into_iter();
    loop {
        let chunk: Vec<NewJob> = pending.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        let added = match queue.add_bulk(chunk).await {
            Ok(added) => added,
            Err(e) if ids.is_empty() => {
                bar.abandon();
                return Err(e.into());
            }
            Err(e) => {
                bar.abandon();
                return Err(CliError::Failed(format!(
                    "the store failed after the file's first {} of {total} jobs were added: {e}",
                    ids.len()
                )));
            }
        };
        bar.inc(added.len() as u64);
        ids.extend(added.iter().map(|job| job.id().to_string()));
    }
    bar.finish();
    if json {
        print_json(&json!({ "ids": ids }));
    } else if let [id] = ids.as_slice() {
        println!("added job {id} to {}", args.queue.queue);
    } else {
        println!("added {} jobs to {}", ids.len(), args.queue.queue);
    }
    Ok(())
}

/// Jobs per store call when adding a file: the progress bar moves once per call.
pub const CHUNK: usize = 1_000;

/// A bar counting added jobs on stderr when `wanted` and stderr is a terminal; else a hidden
/// one that draws nothing.
fn progress_bar(total: usize, wanted: bool) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} jobs added ({per_sec}, {elapsed_precise})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
        .with_style(style)
}

fn from_flags(args: &AddArgs) -> CliResult<NewJob> {
    let data = match &args.data {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| CliError::Usage(format!("--data is not valid JSON: {e}")))?,
        None => Value::Null,
    };
    let options = options(&LineOptions {
        job_id: args.job_id.clone(),
        delay_ms: args.delay_ms,
        priority: args.priority,
        attempts: args.attempts,
        lifo: None,
    });
    options.validate()?;
    Ok((args.name.clone(), data, options))
}

fn options(given: &LineOptions) -> JobOptions {
    let mut options = JobOptions::new();
    if let Some(id) = &given.job_id {
        options = options.job_id(id.clone());
    }
    if let Some(ms) = given.delay_ms {
        options = options.delay(Duration::from_millis(ms));
    }
    if let Some(priority) = given.priority {
        options = options.priority(priority);
    }
    if let Some(attempts) = given.attempts {
        options = options.attempts(attempts);
    }
    if let Some(lifo) = given.lifo {
        options = options.lifo(lifo);
    }
    options
}

/// Every job of a JSON-lines file, or the error of its first bad line.
fn read_file(path: &Path, default_name: &str) -> CliResult<Vec<NewJob>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))?;
    parse_lines(&text, default_name).map_err(|(line, reason)| {
        CliError::Usage(format!(
            "{} line {line}: {reason}; nothing was added",
            path.display()
        ))
    })
}

/// The jobs of JSON-lines `text`, or the first bad line's number (1-based) and what is wrong.
fn parse_lines(text: &str, default_name: &str) -> Result<Vec<NewJob>, (usize, String)> {
    let mut jobs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value =
            serde_json::from_str(line).map_err(|e| (number, format!("not valid JSON: {e}")))?;
        let job = if is_line_job(&value) {
            let job: LineJob =
                serde_json::from_value(value).map_err(|e| (number, e.to_string()))?;
            let options = options(&job.opts);
            let name = job.name.unwrap_or_else(|| default_name.to_owned());
            (name, job.data, options)
        } else {
            (default_name.to_owned(), value, JobOptions::new())
        };
        job.2.validate().map_err(|e| (number, e.to_string()))?;
        check_size(&job.1).map_err(|reason| (number, reason))?;
        jobs.push(job);
    }
    Ok(jobs)
}

/// The queue refuses data whose JSON is over its payload limit: a line is checked before
/// anything is added.
fn check_size(data: &Value) -> Result<(), String> {
    let limit = QueueOptions::new().max_payload_bytes;
    let size = serde_json::to_string(data).map_or(0, |json| json.len());
    if size > limit {
        return Err(format!(
            "its data is {size} bytes, over the limit of {limit}"
        ));
    }
    Ok(())
}

/// An object with a `data` key and no key but `name`, `data`, `opts`: a job written out.
fn is_line_job(value: &Value) -> bool {
    value.as_object().is_some_and(|fields| {
        fields.contains_key("data")
            && fields
                .keys()
                .all(|key| matches!(key.as_str(), "name" | "data" | "opts"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_lines_and_job_objects_mix_and_blank_lines_are_skipped() {
        let text =
            "{\"n\":1}\n\n\"text\"\n{\"name\":\"x\",\"data\":[1],\"opts\":{\"priority\":3}}\n";
        let jobs = parse_lines(text, "default").expect("valid file");
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs[0].1, json!({"n": 1}));
        assert_eq!(jobs[1].1, json!("text"));
        assert_eq!(jobs[2].0, "x");
        assert_eq!(jobs[2].2.priority, 3);
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = parse_lines("1\n2\n{oops\n", "d").expect_err("line 3 is not JSON");
        assert_eq!(err.0, 3);
        let err = parse_lines("{\"data\":1,\"opts\":{\"prio\":1}}", "d").expect_err("unknown opt");
        assert_eq!(err.0, 1);
        assert!(err.1.contains("prio"), "{}", err.1);
        let err = parse_lines("1\n{\"data\":1,\"opts\":{\"attempts\":0}}", "d").expect_err("0");
        assert_eq!(err.0, 2);
        let big = format!(
            "1\n\"{}\"\n",
            "x".repeat(QueueOptions::new().max_payload_bytes)
        );
        let err = parse_lines(&big, "d").expect_err("over the payload limit");
        assert_eq!(err.0, 2);
        assert!(err.1.contains("over the limit"), "{}", err.1);
    }
}
