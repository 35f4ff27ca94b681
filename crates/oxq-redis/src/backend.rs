//! [`RedisBackend`] and its [`Backend`] implementation, which hands each call to its module
//! in `ops/` and names the server (`redis at host:port`) in every store failure it answers
//! ([`Error::at_target`](oxq_core::Error::at_target)).

use std::sync::Arc;

use async_trait::async_trait;
use oxq_core::backend::*;
use oxq_core::{
    Backend, Capabilities, Error, EventId, JobCounts, JobRecord, QueueRef, Result, StoredEvent,
};
use redis::Value;
use redis::aio::ConnectionManager;

use crate::connection::{self, BlockingPool, SharedPool};
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::QueueKeys;
use crate::ops;
use crate::options::RedisOptions;
use crate::scripts::{ScriptCall, Scripts};

/// oxq's store on Redis. Cheap to share as `Arc<RedisBackend>` / `Arc<dyn Backend>`.
pub struct RedisBackend {
    pub(crate) conn: ConnectionManager,
    pub(crate) scripts: Scripts,
    pub(crate) blocking: SharedPool,
    pub(crate) options: RedisOptions,
    /// The named connections of this process's announced workers.
    pub(crate) presences: ops::workers::Presences,
    /// `redis at host:port`, for messages (never a password).
    target: String,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Connects to the Redis server at `url` (see the crate docs for the accepted forms), checks
/// it (Redis ≥ 6.2; a warning unless `maxmemory-policy` is `noeviction`) and returns the store.
///
/// Fails with [`Error::InvalidUrl`](oxq_core::Error::InvalidUrl) for a URL it cannot use,
/// [`Error::Unavailable`](oxq_core::Error::Unavailable) when the server cannot be reached
/// (after the reconnect retries), and at once with [`Error::Store`](oxq_core::Error::Store)
/// when the server refuses the credentials or the TLS handshake fails
/// ([`RedisStoreError::Auth`], [`RedisStoreError::Tls`]).
pub async fn connect(url: &str, options: RedisOptions) -> Result<Arc<RedisBackend>> {
    let client = connection::client(url, &options)?;
    let target = connection::target(&client);
    match RedisBackend::open(client, options, target.clone()).await {
        Ok(backend) => Ok(Arc::new(backend)),
        Err(e) => Err(Error::from(e).at_target(&target)),
    }
}

/// [`connect`] as the store-agnostic `Arc<dyn Backend>` a URL-picking facade hands out (not
/// wrapped in `Instrumented`; the facade does that). `url` may use any of
/// [`URL_SCHEMES`](crate::URL_SCHEMES).
pub async fn open_url(url: &str, options: RedisOptions) -> Result<Arc<dyn Backend>> {
    let backend: Arc<dyn Backend> = connect(url, options).await?;
    Ok(backend)
}

impl RedisBackend {
    async fn open(
        client: redis::Client,
        options: RedisOptions,
        target: String,
    ) -> StoreResult<Self> {
        let blocking = Arc::new(BlockingPool::new(client.clone(), &options));
        let presences = ops::workers::Presences::new(client.clone());
        // One attempt first: a wrong password or certificate fails here at once; an outage
        // falls through to the managed connection, which retries.
        match blocking.probe().await {
            Err(e) if !e.is_transient() => return Err(e),
            _ => {}
        }
        let mut conn = connection::manager(client, &options)
            .await
            .map_err(RedisStoreError::on_connect)?;
        if options.check_server {
            connection::check_server(&mut conn).await?;
        }
        Ok(Self {
            conn,
            scripts: Scripts::load(),
            blocking,
            options,
            presences,
            target,
        })
    }

    /// `result`, its error naming this server when it is a store failure.
    pub(crate) fn named<T, E: Into<Error>>(&self, result: std::result::Result<T, E>) -> Result<T> {
        result.map_err(|e| e.into().at_target(&self.target))
    }

    /// A handle on the managed connection (cheap: it is multiplexed).
    pub(crate) fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Runs one script against `queue`'s keys.
    pub(crate) async fn run<S: ScriptCall>(
        &self,
        queue: &QueueRef,
        call: &S,
    ) -> StoreResult<Value> {
        let mut conn = self.conn();
        self.scripts
            .run(&mut conn, &QueueKeys::new(queue), call)
            .await
    }
}

#[async_trait]
impl Backend for RedisBackend {
    fn kind(&self) -> &'static str {
        "redis"
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

    fn steps(&self) -> Option<&dyn oxq_core::backend::Steps> {
        Some(self)
    }

    fn dead_letters(&self) -> Option<&dyn oxq_core::backend::DeadLetters> {
        Some(self)
    }

    fn deduplication(&self) -> Option<&dyn DedupIds> {
        Some(self)
    }

    fn workers(&self) -> Option<&dyn Workers> {
        Some(self)
    }

    fn cancellation(&self) -> Option<&dyn Cancellation> {
        Some(self)
    }

    fn groups(&self) -> Option<&dyn oxq_core::backend::Groups> {
        Some(self)
    }

    fn metrics(&self) -> Option<&dyn oxq_core::backend::Metrics> {
        Some(self)
    }

    async fn job_add_bulk(&self, req: AddJobs) -> Result<AddedJobs> {
        self.named(ops::add::add(self, req).await)
    }

    async fn job_get(&self, req: GetJob) -> Result<Option<JobRecord>> {
        self.named(ops::get_job::get(self, req).await)
    }

    async fn jobs_list(&self, req: ListJobs) -> Result<Vec<JobRecord>> {
        self.named(ops::list_jobs::list(self, req).await)
    }

    async fn jobs_count(&self, req: OfQueue) -> Result<JobCounts> {
        self.named(ops::counts::counts(self, &req.queue).await)
    }

    async fn job_move_to_active(&self, req: FetchJobs) -> Result<Fetched> {
        let mut fetched = self.named(ops::move_to_active::fetch(self, &req).await)?;
        ops::schedulers::after_fetch(self, &req.queue, &mut fetched, req.now).await;
        Ok(fetched)
    }

    async fn queue_wait(&self, req: WaitForJobs) -> Result<Wakeup> {
        self.named(ops::wait::wait(self, req).await)
    }

    async fn job_finish(&self, req: FinishJobs) -> Result<FinishResult> {
        // Only a finish that fetches next can take a scheduler's run.
        let (queue, now) = (req.fetch_next.is_some().then(|| req.queue.clone()), req.now);
        let mut finished = self.named(ops::finish::finish(self, req).await)?;
        if let Some(queue) = queue {
            ops::schedulers::after_fetch(self, &queue, &mut finished.fetched, now).await;
        }
        Ok(finished)
    }

    async fn locks_extend(&self, req: ExtendLocks) -> Result<ExtendedLocks> {
        self.named(ops::extend_locks::extend(self, req).await)
    }

    async fn stalled_recover(&self, req: RecoverStalled) -> Result<RecoveredStalled> {
        self.named(ops::recover_stalled::recover(self, req).await)
    }

    async fn job_update_progress(&self, req: UpdateProgress) -> Result<()> {
        self.named(ops::progress::update(self, req).await)
    }

    async fn job_log_add(&self, req: AddLog) -> Result<LogAdded> {
        self.named(ops::logs::add(self, req).await)
    }

    async fn job_logs(&self, req: ReadLogs) -> Result<JobLogs> {
        self.named(ops::logs::read(self, req).await)
    }

    async fn job_remove(&self, req: RemoveJob) -> Result<JobRemoved> {
        self.named(ops::remove_job::remove(self, req).await)
    }

    async fn job_promote(&self, req: JobAt) -> Result<()> {
        self.named(ops::promote::promote(self, req).await)
    }

    async fn job_retry(&self, req: JobAt) -> Result<()> {
        self.named(ops::retry_job::retry(self, req).await)
    }

    async fn jobs_retry(&self, req: RetryJobs) -> Result<MovedJobs> {
        self.named(ops::move_jobs_to_wait::retry_many(self, req).await)
    }

    async fn jobs_promote(&self, req: PromoteJobs) -> Result<MovedJobs> {
        self.named(ops::move_jobs_to_wait::promote_many(self, req).await)
    }

    async fn queue_set_paused(&self, req: SetPaused) -> Result<()> {
        self.named(ops::pause::set_paused(self, req).await)
    }

    async fn queue_status(&self, req: OfQueue) -> Result<QueueStatus> {
        self.named(ops::pause::status(self, &req.queue).await)
    }

    async fn queue_drain(&self, req: DrainQueue) -> Result<DrainedJobs> {
        self.named(ops::drain::drain(self, req).await)
    }

    async fn queue_clean(&self, req: CleanQueue) -> Result<CleanedJobs> {
        self.named(ops::clean::clean(self, req).await)
    }

    async fn queue_obliterate(&self, req: ObliterateQueue) -> Result<()> {
        self.named(ops::obliterate::obliterate(self, req).await)
    }

    async fn queues_list(&self, req: ListQueues) -> Result<Vec<QueueRef>> {
        self.named(ops::queues::list(self, &req.prefix).await)
    }

    async fn events_latest(&self, req: OfQueue) -> Result<Option<EventId>> {
        self.named(ops::events::latest(self, &req.queue).await)
    }

    async fn events_read(&self, req: ReadEvents) -> Result<Vec<StoredEvent>> {
        self.named(ops::events::read(self, req).await)
    }
}
