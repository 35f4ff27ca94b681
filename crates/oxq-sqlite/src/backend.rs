//! [`SqliteBackend`]: opening the store, and the [`Backend`] implementation that routes each
//! call to the writer thread (state changes) or the reader pool (reads and waits). Every store
//! failure it answers names the database file ([`StoreError::at_file`]); one of SQLite itself
//! first looks at the file, so that a failure caused by its deletion or replacement (an I/O
//! error, a file it cannot open) says so ([`crate::file_watch`]).

mod cancel;
mod dead_letters;
mod dedup;
mod flows;
mod groups;
mod limits;
mod metrics;
mod schedulers;
mod steps;
mod workers;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use oxq_core::backend::*;
use oxq_core::{Backend, EventId, JobCounts, JobRecord, QueueRef, Result, StoredEvent};

use crate::checkpoint::Checkpointer;
use crate::error::{StoreError, StoreResult};
use crate::file_watch::{FileWatch, Watcher};
use crate::ops::{
    add, admin, events, fetch, finish, list, locks, logs, moves, schedulers as sched, stalled,
};
use crate::options::SqliteOptions;
use crate::readers::Readers;
use crate::signals::Signals;
use crate::writer::{WriteCtx, Writer};
use crate::{schema, wait};

/// The embedded store: one SQLite file in WAL mode. See the crate docs.
#[derive(Debug)]
pub struct SqliteBackend {
    path: PathBuf,
    options: SqliteOptions,
    writer: Writer,
    readers: Arc<Readers>,
    signals: Arc<Signals>,
    _checkpointer: Checkpointer,
    watch: Arc<FileWatch>,
    _watcher: Watcher,
}

impl SqliteBackend {
    /// Opens (creating and migrating if needed) the database file at `path`. Errors name the
    /// file.
    pub async fn open(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<Arc<SqliteBackend>> {
        let path = path.as_ref().to_path_buf();
        match Self::start(path.clone(), options).await {
            Ok(backend) => Ok(Arc::new(backend)),
            Err(e) => Err(e.at_file(&path)),
        }
    }

    async fn start(path: PathBuf, options: SqliteOptions) -> StoreResult<SqliteBackend> {
        let opened = {
            let (path, options) = (path.clone(), options.clone());
            tokio::task::spawn_blocking(move || {
                let conn = schema::open_writer(&path, &options)?;
                // the file's identity, taken once it surely exists
                Ok::<_, StoreError>((conn, Arc::new(FileWatch::new(&path))))
            })
            .await
        };
        let (conn, watch) = opened??;
        let watcher = Watcher::start(watch.clone())?;
        let checkpointer = Checkpointer::start(&path, &options)?;
        let signals = Arc::new(Signals::default());
        let writer = Writer::start(conn, signals.clone(), watch.clone(), options.max_events)?;
        let readers = Arc::new(Readers::new(path.clone(), options.clone(), watch.clone()));
        Ok(SqliteBackend {
            path,
            options,
            writer,
            readers,
            signals,
            _checkpointer: checkpointer,
            watch,
            _watcher: watcher,
        })
    }

    /// Opens the database a `sqlite:` URL names (see [`parse_url`](crate::parse_url)), with
    /// the default options under the URL's parameters; [`open_url`](crate::open_url) takes
    /// base options and answers the store as `Arc<dyn Backend>`.
    pub async fn connect(url: &str) -> Result<Arc<SqliteBackend>> {
        let (path, options) = crate::url::parse_url(url)?;
        Self::open(path, options).await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many `queue_wait` and `events_read` calls of this process are parked on `queue`
    /// right now (they have looked and found nothing, and wait for a change or their next
    /// poll). For tests that must act only once a waiter is blocked.
    pub fn parked_waiters(&self, queue: &QueueRef) -> usize {
        self.signals.parked(queue)
    }

    pub fn options(&self) -> &SqliteOptions {
        &self.options
    }

    /// `err` as the core error naming the file. A failure of SQLite itself first looks at the
    /// file (a `stat`, on errors only): when it was deleted or replaced, that is the answer.
    fn failed(&self, err: StoreError) -> oxq_core::Error {
        let err = match err {
            StoreError::Sqlite(_) | StoreError::Batch(_) => match self.watch.check() {
                Some(lost) => StoreError::FileLost(lost),
                None => err,
            },
            other => other,
        };
        err.at_file(&self.path)
    }

    async fn write<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut WriteCtx<'_>) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.run(work).await.map_err(|e| self.failed(e))
    }

    async fn read<T, F>(&self, read: F) -> Result<T>
    where
        F: FnOnce(&rusqlite::Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.readers.run(read).await.map_err(|e| self.failed(e))
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new().cross_process_events(true)
    }

    fn schedulers(&self) -> Option<&dyn Schedulers> {
        Some(self)
    }

    fn flows(&self) -> Option<&dyn Flows> {
        Some(self)
    }

    fn limits(&self) -> Option<&dyn oxq_core::backend::Limits> {
        Some(self)
    }

    fn groups(&self) -> Option<&dyn oxq_core::backend::Groups> {
        Some(self)
    }

    fn deduplication(&self) -> Option<&dyn oxq_core::backend::DedupIds> {
        Some(self)
    }

    fn steps(&self) -> Option<&dyn oxq_core::backend::Steps> {
        Some(self)
    }

    fn workers(&self) -> Option<&dyn Workers> {
        Some(self)
    }

    fn metrics(&self) -> Option<&dyn oxq_core::backend::Metrics> {
        Some(self)
    }

    fn cancellation(&self) -> Option<&dyn Cancellation> {
        Some(self)
    }

    fn dead_letters(&self) -> Option<&dyn oxq_core::backend::DeadLetters> {
        Some(self)
    }

    async fn job_add_bulk(&self, req: AddJobs) -> Result<AddedJobs> {
        self.write(move |ctx| add::add_bulk(ctx, req)).await
    }

    async fn job_get(&self, req: GetJob) -> Result<Option<JobRecord>> {
        self.read(move |conn| list::job_get(conn, &req.queue, &req.job_id))
            .await
    }

    async fn jobs_list(&self, req: ListJobs) -> Result<Vec<JobRecord>> {
        self.read(move |conn| list::jobs_list(conn, &req)).await
    }

    async fn jobs_count(&self, req: OfQueue) -> Result<JobCounts> {
        self.read(move |conn| list::jobs_count(conn, &req.queue))
            .await
    }

    async fn job_move_to_active(&self, req: FetchJobs) -> Result<Fetched> {
        self.write(move |ctx| {
            let (queue, now) = (req.queue.clone(), req.now);
            let mut fetched = fetch::move_to_active(ctx, req)?;
            sched::after_fetch(ctx, &queue, &mut fetched, now)?;
            Ok(fetched)
        })
        .await
    }

    async fn queue_wait(&self, req: WaitForJobs) -> Result<Wakeup> {
        let poll = self.options.poll_interval;
        wait::queue_wait(&self.readers, &self.signals, poll, req)
            .await
            .map_err(|e| self.failed(e))
    }

    async fn job_finish(&self, req: FinishJobs) -> Result<FinishResult> {
        self.write(move |ctx| {
            // Only a finish that fetches next can take a scheduler's run.
            let (queue, now) = (req.fetch_next.is_some().then(|| req.queue.clone()), req.now);
            let mut finished = finish::finish(ctx, req)?;
            if let Some(queue) = queue {
                sched::after_fetch(ctx, &queue, &mut finished.fetched, now)?;
            }
            Ok(finished)
        })
        .await
    }

    async fn locks_extend(&self, req: ExtendLocks) -> Result<ExtendedLocks> {
        self.write(move |ctx| locks::extend(ctx, req)).await
    }

    async fn stalled_recover(&self, req: RecoverStalled) -> Result<RecoveredStalled> {
        self.write(move |ctx| stalled::recover(ctx, req)).await
    }

    async fn job_update_progress(&self, req: UpdateProgress) -> Result<()> {
        self.write(move |ctx| logs::update_progress(ctx, req)).await
    }

    async fn job_log_add(&self, req: AddLog) -> Result<LogAdded> {
        self.write(move |ctx| logs::add(ctx, req)).await
    }

    async fn job_logs(&self, req: ReadLogs) -> Result<JobLogs> {
        self.read(move |conn| logs::read(conn, &req)).await
    }

    async fn job_remove(&self, req: RemoveJob) -> Result<JobRemoved> {
        self.write(move |ctx| admin::remove(ctx, req)).await
    }

    async fn job_promote(&self, req: JobAt) -> Result<()> {
        self.write(move |ctx| moves::promote(ctx, req)).await
    }

    async fn job_retry(&self, req: JobAt) -> Result<()> {
        self.write(move |ctx| moves::retry(ctx, req)).await
    }

    async fn jobs_retry(&self, req: RetryJobs) -> Result<MovedJobs> {
        self.write(move |ctx| moves::retry_many(ctx, req)).await
    }

    async fn jobs_promote(&self, req: PromoteJobs) -> Result<MovedJobs> {
        self.write(move |ctx| moves::promote_many(ctx, req)).await
    }

    async fn queue_set_paused(&self, req: SetPaused) -> Result<()> {
        self.write(move |ctx| admin::set_paused(ctx, req)).await
    }

    async fn queue_status(&self, req: OfQueue) -> Result<QueueStatus> {
        self.read(move |conn| list::queue_status(conn, &req.queue))
            .await
    }

    async fn queue_drain(&self, req: DrainQueue) -> Result<DrainedJobs> {
        self.write(move |ctx| admin::drain(ctx, req)).await
    }

    async fn queue_clean(&self, req: CleanQueue) -> Result<CleanedJobs> {
        self.write(move |ctx| admin::clean(ctx, req)).await
    }

    async fn queue_obliterate(&self, req: ObliterateQueue) -> Result<()> {
        self.write(move |ctx| admin::obliterate(ctx, req)).await
    }

    async fn queues_list(&self, req: ListQueues) -> Result<Vec<QueueRef>> {
        self.read(move |conn| list::queues_list(conn, &req.prefix))
            .await
    }

    async fn events_latest(&self, req: OfQueue) -> Result<Option<EventId>> {
        self.read(move |conn| events::latest(conn, &req.queue))
            .await
    }

    async fn events_read(&self, req: ReadEvents) -> Result<Vec<StoredEvent>> {
        let poll = self.options.poll_interval;
        wait::events_read(&self.readers, &self.signals, poll, req)
            .await
            .map_err(|e| self.failed(e))
    }
}
