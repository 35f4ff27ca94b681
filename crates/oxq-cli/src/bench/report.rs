//! What a benchmark found and how it is shown: a table per store for people, or one JSON line
//! per scenario (`--json`).

use serde_json::{Value, json};

use super::stats::{Measure, Percentiles, median};
use super::target::StoreKind;

/// The figures of one scenario on one store.
#[derive(Debug)]
pub struct ScenarioResult {
    pub store: StoreKind,
    pub scenario: String,
    /// The scenario's parameters, in words (for the table).
    pub detail: String,
    pub figures: Figures,
}

#[derive(Debug)]
pub enum Figures {
    /// Jobs per second over `jobs` jobs, once per run; Node BullMQ's runs beside oxq's.
    Throughput {
        jobs: usize,
        runs: Vec<Measure>,
        bullmq: Vec<Measure>,
    },
    /// Milliseconds per job, pooled over the runs, with the percentiles the scenario reports.
    Latency {
        samples: Percentiles,
        /// Node BullMQ's samples, with `--node`.
        bullmq: Option<Percentiles>,
        percentiles: &'static [f64],
        /// The load's parameters, for the JSON line.
        params: Value,
    },
}

/// Median jobs/s, and the median CPU µs per job of this process and of the server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub jobs_per_s: f64,
    pub process_cpu_us_per_job: Option<f64>,
    pub server_cpu_us_per_job: Option<f64>,
}

/// The medians over `runs` of `jobs` jobs each; `None` without runs.
pub fn rates(runs: &[Measure], jobs: usize) -> Option<Rates> {
    let jobs = jobs.max(1) as f64;
    let per_job = |cpu: fn(&Measure) -> Option<f64>| {
        let values: Option<Vec<f64>> = runs
            .iter()
            .map(|m| cpu(m).map(|s| s * 1e6 / jobs))
            .collect();
        median(&values?)
    };
    Some(Rates {
        jobs_per_s: median(&runs.iter().map(|m| jobs / m.seconds).collect::<Vec<_>>())?,
        process_cpu_us_per_job: per_job(|m| m.process_cpu),
        server_cpu_us_per_job: per_job(|m| m.server_cpu),
    })
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

impl ScenarioResult {
    /// The scenario's JSON line.
    pub fn to_json(&self) -> Value {
        let mut line = json!({
            "store": self.store.label(),
            "scenario": self.scenario,
            "detail": self.detail,
        });
        let fields = match &self.figures {
            Figures::Throughput { jobs, runs, bullmq } => {
                let oxq = rates(runs, *jobs);
                let mut fields = json!({
                    "jobs": jobs,
                    "runs": runs.len(),
                    "jobs_per_s": oxq.map(|r| round(r.jobs_per_s, 0)),
                    "jobs_per_s_runs": runs.iter()
                        .map(|m| round(*jobs as f64 / m.seconds, 0)).collect::<Vec<_>>(),
                    "process_cpu_us_per_job": oxq.and_then(|r| r.process_cpu_us_per_job)
                        .map(|v| round(v, 2)),
                    "server_cpu_us_per_job": oxq.and_then(|r| r.server_cpu_us_per_job)
                        .map(|v| round(v, 2)),
                });
                if let Some(node) = rates(bullmq, *jobs) {
                    fields["bullmq"] = json!({
                        "runs": bullmq.len(),
                        "jobs_per_s": round(node.jobs_per_s, 0),
                        "jobs_per_s_runs": bullmq.iter()
                            .map(|m| round(*jobs as f64 / m.seconds, 0)).collect::<Vec<_>>(),
                        "server_cpu_us_per_job": node.server_cpu_us_per_job.map(|v| round(v, 2)),
                        "oxq_over_bullmq_jobs_per_s":
                            ratio(oxq.map(|r| r.jobs_per_s), Some(node.jobs_per_s))
                                .map(|v| round(v, 2)),
                    });
                }
                fields
            }
            Figures::Latency {
                samples,
                bullmq,
                percentiles,
                params,
            } => {
                let mut fields = params.clone();
                percentile_fields(&mut fields, samples, percentiles);
                if let Some(bullmq) = bullmq {
                    let mut node = json!({});
                    percentile_fields(&mut node, bullmq, percentiles);
                    fields["bullmq"] = node;
                }
                fields
            }
        };
        if let (Some(line), Some(fields)) = (line.as_object_mut(), fields.as_object()) {
            line.extend(fields.clone());
        }
        line
    }
}

/// `jobs`, `pP_ms` for each of `percentiles`, and `max_ms` into `fields`.
fn percentile_fields(fields: &mut Value, samples: &Percentiles, percentiles: &[f64]) {
    fields["jobs"] = json!(samples.count());
    for p in percentiles {
        fields[format!("p{p}_ms")] = json!(samples.at(*p).map(|v| round(v, 3)));
    }
    fields["max_ms"] = json!(samples.max().map(|v| round(v, 3)));
}

/// The human report of one store: a heading, a table of the throughput scenarios, one line
/// per latency scenario.
pub fn print_table(heading: &str, results: &[ScenarioResult], with_bullmq: bool) {
    println!("\n{heading}");
    let cell = |v: Option<f64>, digits: usize| {
        v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
    };
    let throughput: Vec<_> = results
        .iter()
        .filter_map(|r| match &r.figures {
            Figures::Throughput { jobs, runs, bullmq } => Some((r, *jobs, runs, bullmq)),
            Figures::Latency { .. } => None,
        })
        .collect();
    if !throughput.is_empty() {
        if with_bullmq {
            println!(
                "| scenario | oxq jobs/s | BullMQ jobs/s | oxq/BullMQ | oxq Redis CPU µs/job | \
                 BullMQ Redis CPU µs/job | oxq/BullMQ | oxq process CPU µs/job | runs (oxq jobs/s \
                 | BullMQ) |"
            );
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        } else {
            println!(
                "| scenario | jobs/s | server CPU µs/job | process CPU µs/job | runs (jobs/s) |"
            );
            println!("|---|---:|---:|---:|---|");
        }
        for (result, jobs, runs, bullmq) in throughput {
            let oxq = rates(runs, jobs);
            let per_run = |runs: &[Measure]| {
                runs.iter()
                    .map(|m| format!("{:.0}", jobs as f64 / m.seconds))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let rate = oxq.map(|r| r.jobs_per_s);
            let server = oxq.and_then(|r| r.server_cpu_us_per_job);
            let process = oxq.and_then(|r| r.process_cpu_us_per_job);
            if with_bullmq {
                let node = rates(bullmq, jobs);
                let node_rate = node.map(|r| r.jobs_per_s);
                let node_server = node.and_then(|r| r.server_cpu_us_per_job);
                let runs_cell = match bullmq.is_empty() {
                    true => per_run(runs),
                    false => format!("{} \\| {}", per_run(runs), per_run(bullmq)),
                };
                println!(
                    "| {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} |",
                    result.scenario,
                    result.detail,
                    cell(rate, 0),
                    cell(node_rate, 0),
                    cell(ratio(rate, node_rate), 2),
                    cell(server, 1),
                    cell(node_server, 1),
                    cell(ratio(server, node_server), 2),
                    cell(process, 1),
                    runs_cell,
                );
            } else {
                println!(
                    "| {} ({}) | {} | {} | {} | {} |",
                    result.scenario,
                    result.detail,
                    cell(rate, 0),
                    cell(server, 1),
                    cell(process, 1),
                    per_run(runs),
                );
            }
        }
    }
    for result in results {
        if let Figures::Latency {
            samples,
            bullmq,
            percentiles,
            ..
        } = &result.figures
        {
            let figures = |samples: &Percentiles| {
                percentiles
                    .iter()
                    .map(|p| format!("p{p} {} ms", cell(samples.at(*p), 2)))
                    .chain([format!("max {} ms", cell(samples.max(), 2))])
                    .collect::<Vec<String>>()
                    .join(", ")
            };
            println!(
                "{} ({}, {} jobs): {}",
                result.scenario,
                result.detail,
                samples.count(),
                figures(samples)
            );
            if let Some(bullmq) = bullmq {
                println!(
                    "  Node BullMQ ({} jobs): {}",
                    bullmq.count(),
                    figures(bullmq)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(seconds: f64, cpu: f64) -> Measure {
        Measure {
            seconds,
            process_cpu: Some(cpu),
            server_cpu: None,
        }
    }

    #[test]
    fn throughput_line_has_medians_per_run_figures_and_bullmq() {
        let result = ScenarioResult {
            store: StoreKind::Redis,
            scenario: "add".to_owned(),
            detail: "one by one".to_owned(),
            figures: Figures::Throughput {
                jobs: 1000,
                runs: vec![measure(1.0, 0.5), measure(0.5, 0.25), measure(2.0, 1.0)],
                bullmq: vec![Measure {
                    seconds: 2.0,
                    process_cpu: None,
                    server_cpu: Some(0.1),
                }],
            },
        };
        let line = result.to_json();
        assert_eq!(line["store"], "redis");
        assert_eq!(line["scenario"], "add");
        assert_eq!(line["jobs_per_s"], 1000.0);
        assert_eq!(line["jobs_per_s_runs"], json!([1000.0, 2000.0, 500.0]));
        assert_eq!(line["process_cpu_us_per_job"], 500.0);
        assert_eq!(line["server_cpu_us_per_job"], Value::Null);
        assert_eq!(line["bullmq"]["jobs_per_s"], 500.0);
        assert_eq!(line["bullmq"]["server_cpu_us_per_job"], 100.0);
        assert_eq!(line["bullmq"]["oxq_over_bullmq_jobs_per_s"], 2.0);
    }

    #[test]
    fn latency_line_has_its_percentiles() {
        let result = ScenarioResult {
            store: StoreKind::Sqlite,
            scenario: "delayed_lateness".to_owned(),
            detail: "x".to_owned(),
            figures: Figures::Latency {
                samples: Percentiles::new((1..=100).map(f64::from).collect()),
                bullmq: Some(Percentiles::new(vec![4.0, 2.0])),
                percentiles: &[50.0, 99.0],
                params: json!({ "rate": 1000 }),
            },
        };
        let line = result.to_json();
        assert_eq!(line["rate"], 1000);
        assert_eq!(line["jobs"], 100);
        assert_eq!(line["p50_ms"], 50.0);
        assert_eq!(line["p99_ms"], 99.0);
        assert_eq!(line["max_ms"], 100.0);
        assert!(line.get("p95_ms").is_none());
        assert_eq!(
            line["bullmq"],
            json!({"jobs": 2, "p50_ms": 2.0, "p99_ms": 4.0, "max_ms": 4.0})
        );
    }
}
