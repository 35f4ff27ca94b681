//! A job that completes without reaching a step stored by an earlier run (the step was renamed
//! or removed from the code while the job was in flight) logs a `tracing` warning naming that
//! step; a run that reaches every stored step logs none. On a SQLite file, with a
//! `tracing_subscriber` layer recording every warning.

use std::sync::{Arc, Mutex};

use oxq::{Job, JobOptions, Queue, Worker, WorkerEvent, WorkerOptions};
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every warning's fields, as `name=value` text joined by spaces.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Text<'a>(&'a mut String);

impl Visit for Text<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl<S: Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() != Level::WARN {
            return;
        }
        let mut text = String::new();
        event.record(&mut Text(&mut text));
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(text);
    }
}

impl Warnings {
    fn naming(&self, needle: &str) -> Vec<String> {
        let seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        seen.iter()
            .filter(|w| w.contains(needle))
            .cloned()
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_run_that_skips_a_stored_step_warns_naming_it() {
    let warnings = Warnings::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(warnings.clone()))
        .expect("the only subscriber of this test binary");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("steps.db").display());
    let backend = oxq::connect(&url).await.expect("open the store");
    let queue: Queue<Value> = Queue::new(backend, "renames").expect("a queue name");

    // "renamed": its first run stores `fetch` and `old-charge`, then fails; the second run
    // (the code changed meanwhile) calls `fetch` and `new-charge` and completes.
    // "kept": the same steps on both runs.
    for id in ["renamed", "kept"] {
        queue
            .add("order", json!(id), JobOptions::new().job_id(id).attempts(2))
            .await
            .expect("add");
    }
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let options = WorkerOptions::new().on_event(move |event| {
        let _ = events.send(event.clone());
    });
    let worker = Worker::start(&queue, options, |job: Job<Value>| async move {
        let first_run = job.attempts_made() == 0;
        job.step("fetch", || async { Ok::<_, BoxError>(1) }).await?;
        let charge = if first_run || job.id().as_str() == "kept" {
            "old-charge"
        } else {
            "new-charge"
        };
        job.step(charge, || async { Ok::<_, BoxError>(2) }).await?;
        if first_run {
            return Err(BoxError::from("fail the first run"));
        }
        Ok::<_, BoxError>(json!("done"))
    });
    let mut completed = 0;
    while completed < 2 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(30), received.recv())
            .await
            .expect("both jobs complete within 30 s")
            .expect("the worker is running");
        if matches!(event, WorkerEvent::Completed { .. }) {
            completed += 1;
        }
    }
    worker.close().await.expect("the worker closes");

    let about_renamed = warnings.naming("job_id=renamed ");
    assert_eq!(about_renamed.len(), 1, "{about_renamed:?}");
    assert!(
        about_renamed[0].contains("old-charge")
            && about_renamed[0].contains("without reaching stored steps"),
        "{about_renamed:?}"
    );
    assert!(
        !about_renamed[0].contains("\"fetch\""),
        "a step the run reached is not named: {about_renamed:?}"
    );
    assert_eq!(warnings.naming("job_id=kept "), Vec::<String>::new());
}
