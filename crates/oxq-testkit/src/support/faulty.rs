//! [`Faulty`]: a store wrapper for runtime cases. It counts the fetches the runtime asks for
//! (a `job_move_to_active`, or a `job_finish` carrying a fetch) and, while a [`Fault`] is
//! switched on, refuses every call with that fault's error before it reaches the store, so a
//! case can stage an outage or a store that refuses writes without touching the store itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use oxq_core::backend::*;
use oxq_core::events::{EventId, StoredEvent};
use oxq_core::{Backend, Capabilities, Error, JobCounts, JobRecord, QueueRef};

use crate::support::lock;

/// How a [`Faulty`] store refuses calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Unreachable for now ([`Error::Unavailable`]): the runtime waits and tries again.
    Unavailable,
}

impl Fault {
    fn error(self, op: &str) -> Error {
        match self {
            Fault::Unavailable => {
                Error::unavailable(format!("{op}: store switched off by the case"), None, None)
            }
        }
    }
}

/// Wraps a store; see the module docs.
#[derive(Debug)]
pub struct Faulty {
    inner: Arc<dyn Backend>,
    fault: Mutex<Option<Fault>>,
    fetches: AtomicU64,
}

impl Faulty {
    pub fn wrap(inner: Arc<dyn Backend>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            fault: Mutex::new(None),
            fetches: AtomicU64::new(0),
        })
    }

    /// From now on every call fails with `fault` (`None`: calls reach the store again).
    pub fn set_fault(&self, fault: Option<Fault>) {
        *lock(&self.fault) = fault;
    }

    /// Fetches asked for so far, refused ones included.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    fn check(&self, op: &str) -> oxq_core::Result<()> {
        match *lock(&self.fault) {
            Some(fault) => Err(fault.error(op)),
            None => Ok(()),
        }
    }
}

type Answer<'a, T> = Pin<Box<dyn Future<Output = oxq_core::Result<T>> + Send + 'a>>;

/// Forwards each `$op($req) -> $answer` to the store unless a fault is on. Written out by
/// hand in the shape `#[async_trait]` gives the trait's methods.
macro_rules! forward {
    ($($op:ident($req:ty) -> $answer:ty;)*) => {
        impl Backend for Faulty {
            fn kind(&self) -> &'static str {
                self.inner.kind()
            }

            fn capabilities(&self) -> Capabilities {
                self.inner.capabilities()
            }

            fn job_move_to_active<'life0, 'async_trait>(
                &'life0 self,
                req: FetchJobs,
            ) -> Answer<'async_trait, Fetched>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                self.fetches.fetch_add(1, Ordering::SeqCst);
                Box::pin(async move {
                    self.check("job_move_to_active")?;
                    self.inner.job_move_to_active(req).await
                })
            }

            fn job_finish<'life0, 'async_trait>(
                &'life0 self,
                req: FinishJobs,
            ) -> Answer<'async_trait, FinishResult>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                if req.fetch_next.is_some() {
                    self.fetches.fetch_add(1, Ordering::SeqCst);
                }
                Box::pin(async move {
                    self.check("job_finish")?;
                    self.inner.job_finish(req).await
                })
            }

            $(
                fn $op<'life0, 'async_trait>(&'life0 self, req: $req) -> Answer<'async_trait, $answer>
                where
                    'life0: 'async_trait,
                    Self: 'async_trait,
                {
                    Box::pin(async move {
                        self.check(stringify!($op))?;
                        self.inner.$op(req).await
                    })
                }
            )*
        }
    };
}

forward! {
    job_add_bulk(AddJobs) -> AddedJobs;
    job_get(GetJob) -> Option<JobRecord>;
    jobs_list(ListJobs) -> Vec<JobRecord>;
    jobs_count(OfQueue) -> JobCounts;
    queue_wait(WaitForJobs) -> Wakeup;
    locks_extend(ExtendLocks) -> ExtendedLocks;
    stalled_recover(RecoverStalled) -> RecoveredStalled;
    job_update_progress(UpdateProgress) -> ();
    job_log_add(AddLog) -> LogAdded;
    job_logs(ReadLogs) -> JobLogs;
    job_remove(RemoveJob) -> JobRemoved;
    job_promote(JobAt) -> ();
    job_retry(JobAt) -> ();
    jobs_retry(RetryJobs) -> MovedJobs;
    jobs_promote(PromoteJobs) -> MovedJobs;
    queue_set_paused(SetPaused) -> ();
    queue_status(OfQueue) -> QueueStatus;
    queue_drain(DrainQueue) -> DrainedJobs;
    queue_clean(CleanQueue) -> CleanedJobs;
    queue_obliterate(ObliterateQueue) -> ();
    queues_list(ListQueues) -> Vec<QueueRef>;
    events_latest(OfQueue) -> Option<EventId>;
    events_read(ReadEvents) -> Vec<StoredEvent>;
}
