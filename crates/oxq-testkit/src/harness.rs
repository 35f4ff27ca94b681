//! [`Harness`]: a fresh, isolated store and a unique queue for one case, and [`run_case`], which
//! runs a case on its own Tokio runtime, applies a time limit and keeps the store of a failed case.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use futures::FutureExt;
use oxq_core::queue::QueueOptions;
use oxq_core::{Backend, Capabilities, ManualClock, Queue, QueueRef, WorkerOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CaseResult, TestError};

/// The longest any case may run before it fails as hung. Each wait inside a case has its own,
/// much shorter, limit; this is the safety net.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(150);

/// Set to `1` to keep every store a case used, not only those of failed cases.
pub const KEEP_ENV: &str = "OXQ_TESTKIT_KEEP";

/// What a store's opener hands the harness besides the backend: files to delete afterwards,
/// a server to stop, ... Dropped when the case ends, after the backend.
pub trait Fixture: Send + Sync + fmt::Debug + 'static {
    /// The case failed: keep what the store wrote for a human to inspect, and say where.
    fn keep(self: Box<Self>) -> Option<String>;
}

/// Nothing to clean up or keep.
impl Fixture for () {
    fn keep(self: Box<Self>) -> Option<String> {
        None
    }
}

/// A temporary directory for a file-backed store, deleted after the case unless it failed.
#[derive(Debug)]
pub struct TempStore {
    dir: tempfile::TempDir,
}

impl TempStore {
    /// A new directory whose name starts with `oxq-<case>-`.
    pub fn new(case: &str) -> std::io::Result<Self> {
        let prefix = format!("oxq-{}-", case.replace("::", "-"));
        Ok(Self {
            dir: tempfile::Builder::new().prefix(&prefix).tempdir()?,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A file inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Fixture for TempStore {
    fn keep(self: Box<Self>) -> Option<String> {
        Some(self.dir.keep().display().to_string())
    }
}

/// One case's world: a store no other case touches and a queue name of its own.
pub struct Harness {
    store: &'static str,
    case: &'static str,
    // Declared before `fixture` so the store closes before its files go away.
    backend: Arc<dyn Backend>,
    queue: QueueRef,
    /// The case's own clock, for queues from [`Harness::queue_with_clock`].
    clock: Arc<ManualClock>,
    /// Set by `Harness::with_probe` (in `probe.rs`).
    pub(crate) probe: Option<Arc<dyn crate::probe::WaitProbe>>,
    /// Set by `Harness::with_corruptor` (in `corrupt.rs`).
    pub(crate) corruptor: Option<Arc<dyn crate::corrupt::Corruptor>>,
    fixture: Mutex<Option<Box<dyn Fixture>>>,
}

impl fmt::Debug for Harness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("store", &self.store)
            .field("case", &self.case)
            .field("queue", &self.queue.key())
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// A harness on `backend` whose queue, under the default prefix, is named after the case
    /// plus a random suffix, so cases never share a queue even on a shared server.
    pub fn new(
        store: &'static str,
        case: &'static str,
        backend: Arc<dyn Backend>,
        fixture: impl Fixture,
    ) -> CaseResult<Self> {
        let queue = QueueRef::new(unique_name(case))?;
        Ok(Self {
            store,
            case,
            backend,
            queue,
            clock: Arc::new(ManualClock::starting_now()),
            probe: None,
            corruptor: None,
            fixture: Mutex::new(Some(Box::new(fixture))),
        })
    }

    /// The same harness with the queue under `prefix` (a store on a shared server gives each
    /// case its own, e.g. a hash-tagged `{t-…}` prefix on Redis).
    pub fn with_prefix(mut self, prefix: &str) -> CaseResult<Self> {
        self.queue = QueueRef::with_prefix(prefix, self.queue.name.clone())?;
        Ok(self)
    }

    /// The store's short name (`sqlite`, `redis`).
    pub fn store(&self) -> &'static str {
        self.store
    }

    /// `module::case`.
    pub fn case(&self) -> &'static str {
        self.case
    }

    pub fn backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    pub fn capabilities(&self) -> Capabilities {
        self.backend.capabilities()
    }

    /// Skips the case (with a logged reason) unless the store has `capability`.
    pub fn require(&self, capability: &str, has: impl Fn(&Capabilities) -> bool) -> CaseResult {
        if has(&self.capabilities()) {
            Ok(())
        } else {
            Err(TestError::skip(format!(
                "the {} store lacks {capability}",
                self.store
            )))
        }
    }

    /// The case's queue.
    pub fn queue_ref(&self) -> &QueueRef {
        &self.queue
    }

    /// The case's queue, with payload type `T`.
    pub fn queue<T>(&self) -> Queue<T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        Queue::from_ref(self.backend.clone(), self.queue.clone())
    }

    /// The case's manual clock: it shows the real time at the case's start and stands still
    /// until the case moves it. Only queues from [`Harness::queue_with_clock`] read it.
    pub fn clock(&self) -> &Arc<ManualClock> {
        &self.clock
    }

    /// The case's queue on the case's [`ManualClock`]: adds, delays, backoff, retention and its
    /// workers' fetches all read that clock, so the case moves time instead of sleeping.
    pub fn queue_with_clock<T>(&self) -> Queue<T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        self.queue()
            .with_options(QueueOptions::new().clock(self.clock.clone()))
            .expect("the default queue options with a clock are valid")
    }

    /// A second queue on the same store, to check that queues do not touch each other.
    pub fn other_queue<T>(&self, suffix: &str) -> CaseResult<Queue<T>>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        let name = format!("{}-{suffix}", self.queue.name);
        let queue = QueueRef::with_prefix(self.queue.prefix.clone(), name)?;
        Ok(Queue::from_ref(self.backend.clone(), queue))
    }

    /// Worker options sized for tests: locks of 2 s (renewed every 500 ms), a stalled check
    /// every 500 ms and idle waits of at most 250 ms, so recoveries and wake-ups take
    /// fractions of a second instead of BullMQ's 30 s defaults.
    pub fn worker_options(&self) -> WorkerOptions {
        WorkerOptions::new()
            .lock_duration(Duration::from_secs(2))
            .stalled_interval(Duration::from_millis(500))
            .drain_delay(Duration::from_millis(250))
            .name(format!("{}-worker", self.case.replace("::", "-")))
    }

    fn keep(&self) -> Option<String> {
        let fixture = match self.fixture.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        fixture.and_then(|f| f.keep())
    }
}

fn unique_name(case: &str) -> String {
    let case = case.replace("::", "-");
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{case}-{}", &suffix[..8])
}

fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    });
}

/// Runs one case on one store: opens a fresh store with `open`, runs `body` on a two-thread
/// Tokio runtime under [`CASE_TIMEOUT`], and panics (failing the test) with the case's error.
/// The store of a failed case is kept and its location printed (all are kept when
/// `OXQ_TESTKIT_KEEP=1`).
///
/// Called by the tests [`conformance_suite!`](crate::conformance_suite) generates; a plain
/// `#[test]` that builds its runtime here rather than `#[tokio::test]`, so that a crate
/// instantiating the suite needs no Tokio macros of its own and the runner can keep the store
/// and enforce the time limit around the case.
pub fn run_case<O, OF, C>(store: &'static str, case: &'static str, open: O, body: C)
where
    O: FnOnce(&'static str) -> OF,
    OF: Future<Output = CaseResult<Harness>>,
    C: AsyncFnOnce(&Harness) -> CaseResult,
{
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => panic!("[{store}] {case}: cannot build a Tokio runtime: {e}"),
    };
    let started = Instant::now();
    let outcome = runtime.block_on(async move {
        let harness = open(case)
            .await
            .map_err(|e| format!("cannot open the {store} store: {e}"))?;
        let ran = tokio::time::timeout(
            CASE_TIMEOUT,
            AssertUnwindSafe(body(&harness)).catch_unwind(),
        )
        .await;
        let failure = match ran {
            Ok(Ok(Ok(()))) => None,
            // A skip is not a pass: see `skip.rs`.
            Ok(Ok(Err(e))) if e.is_skip() => crate::skip::verdict(store, case, &e),
            Ok(Ok(Err(e))) => Some(e.to_string()),
            Ok(Err(panic)) => Some(format!("panicked: {}", panic_message(panic.as_ref()))),
            Err(_) => Some(format!("did not finish within {CASE_TIMEOUT:?}")),
        };
        let keep_all = std::env::var(KEEP_ENV).is_ok_and(|v| v == "1");
        match failure {
            None if !keep_all => Ok(()),
            None => {
                if let Some(place) = harness.keep() {
                    eprintln!("[{store}] {case}: store kept at {place}");
                }
                Ok(())
            }
            Some(message) => {
                let kept = harness
                    .keep()
                    .map(|place| format!("\n  the store is kept at {place}"))
                    .unwrap_or_default();
                Err(format!("{message}{kept}"))
            }
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    if let Err(message) = outcome {
        panic!(
            "[{store}] {case} failed after {:.1?}: {message}",
            started.elapsed()
        );
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string value".to_owned())
}
