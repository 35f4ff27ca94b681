//! The single writer thread and its group commit.
//!
//! One OS thread owns the only read-write connection of this process. Async callers send it a
//! command (a closure over [`WriteCtx`]) and await a oneshot answer. The thread takes the first
//! command, then drains every command already queued (up to [`MAX_BATCH`]) and runs them all
//! in ONE `BEGIN IMMEDIATE` transaction, each inside its own `SAVEPOINT` so a failing command
//! rolls back alone (a lone command runs without one: its failure rolls back the
//! transaction). After `COMMIT` it signals the queues the batch touched and answers every
//! caller; nobody hears "done" before the commit that made it durable. Under load, hundreds
//! of calls share one commit, which is where the store's throughput comes from.
//!
//! Caveats: a batch holds the file's write lock for its whole duration, so other processes'
//! writes wait (up to the busy timeout) behind it. When `BEGIN` or `COMMIT` fails (e.g. the
//! busy timeout ran out), every command of the batch fails with the same (transient) error,
//! each caller's error holding the one SQLite error as its source, and nothing of the batch is
//! applied. A panicking command is caught, rolled back and reported. Once the database file
//! was found deleted or replaced ([`crate::file_watch`]), no batch runs: every command fails
//! with that (one atomic load per batch).

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{StoreError, StoreResult};
use crate::file_watch::FileWatch;
use crate::signals::{QueueKey, Signals};

/// Commands run in one transaction at most.
const MAX_BATCH: usize = 512;

/// What a command sees: the connection inside the batch transaction, and where to record the
/// queues it touched.
pub(crate) struct WriteCtx<'c> {
    pub conn: &'c Connection,
    pub max_events: u64,
    touched: &'c mut HashSet<QueueKey>,
}

impl WriteCtx<'_> {
    /// Marks a queue as changed: its waiters are woken after the commit.
    pub(crate) fn touch(&mut self, key: &QueueKey) {
        if !self.touched.contains(key) {
            self.touched.insert(key.clone());
        }
    }
}

/// A queued command: run it inside the transaction, then answer after the commit.
trait Pending: Send {
    /// Runs the command; true when it succeeded (its savepoint is kept).
    fn run(&mut self, ctx: &mut WriteCtx<'_>) -> bool;
    /// Answers the caller with the command's result, or `commit`'s error.
    fn answer(self: Box<Self>, commit: Result<(), StoreError>);
}

struct Op<F, T> {
    work: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<F, T> Pending for Op<F, T>
where
    F: FnOnce(&mut WriteCtx<'_>) -> StoreResult<T> + Send,
    T: Send,
{
    fn run(&mut self, ctx: &mut WriteCtx<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = catch_unwind(AssertUnwindSafe(|| work(ctx))).unwrap_or_else(|_| {
            Err(StoreError::Core(oxq_core::Error::store(
                "a sqlite store operation panicked; it was rolled back",
            )))
        });
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, commit: Result<(), StoreError>) {
        let answer = match self.result {
            Some(Err(own)) => Err(own),
            Some(Ok(value)) => commit.map(|()| value),
            None => Err(commit.err().unwrap_or(StoreError::WriterGone)),
        };
        // The caller may have gone away (its future was dropped); the work stands.
        let _ = self.reply.send(answer);
    }
}

/// The handle async code uses to reach the writer thread.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Box<dyn Pending>>,
}

impl Writer {
    /// Starts the writer thread on `conn`. The thread ends when the last `Writer` is dropped.
    pub(crate) fn start(
        conn: Connection,
        signals: Arc<Signals>,
        watch: Arc<FileWatch>,
        max_events: u64,
    ) -> StoreResult<Writer> {
        let (tx, rx) = mpsc::channel::<Box<dyn Pending>>();
        std::thread::Builder::new()
            .name("oxq-sqlite-writer".to_owned())
            .spawn(move || writer_loop(conn, rx, signals, &watch, max_events))
            .map_err(|source| StoreError::Thread {
                what: "writer",
                source,
            })?;
        Ok(Writer { queue: tx })
    }

    /// Runs `work` in the next batch transaction and returns its result once committed.
    pub(crate) async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        F: FnOnce(&mut WriteCtx<'_>) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let op = Op {
            work: Some(work),
            result: None,
            reply,
        };
        self.queue
            .send(Box::new(op))
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

fn writer_loop(
    conn: Connection,
    rx: mpsc::Receiver<Box<dyn Pending>>,
    signals: Arc<Signals>,
    watch: &FileWatch,
    max_events: u64,
) {
    let mut batch: Vec<Box<dyn Pending>> = Vec::with_capacity(MAX_BATCH);
    let mut touched = HashSet::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let commit = watch
            .ensure_present()
            .and_then(|()| run_batch(&conn, &mut batch, &mut touched, max_events))
            .map_err(Arc::new);
        if commit.is_ok() {
            signals.notify(touched.iter());
        }
        touched.clear();
        for pending in batch.drain(..) {
            let shared = commit.as_ref().map(|_| ());
            pending.answer(shared.map_err(|e| StoreError::Batch(Arc::clone(e))));
        }
    }
    tracing::debug!("sqlite writer thread stopping");
}

/// Runs the batch in one transaction; the error of `BEGIN`/`COMMIT` if the batch was lost.
fn run_batch(
    conn: &Connection,
    batch: &mut [Box<dyn Pending>],
    touched: &mut HashSet<QueueKey>,
    max_events: u64,
) -> Result<(), StoreError> {
    control(conn, "BEGIN IMMEDIATE")?;
    if let [only] = batch {
        // A lone command needs no savepoint: when it fails, the whole transaction goes.
        let mut ctx = WriteCtx {
            conn,
            max_events,
            touched,
        };
        if !only.run(&mut ctx) {
            touched.clear();
            control(conn, "ROLLBACK")?;
            return Ok(());
        }
    } else {
        for pending in batch.iter_mut() {
            if let Err(e) = run_one(conn, pending.as_mut(), touched, max_events) {
                // A savepoint that cannot be rolled back leaves the transaction in doubt.
                let _ = control(conn, "ROLLBACK");
                return Err(e);
            }
        }
    }
    if let Err(e) = control(conn, "COMMIT") {
        let _ = control(conn, "ROLLBACK");
        return Err(e.into());
    }
    Ok(())
}

fn run_one(
    conn: &Connection,
    pending: &mut dyn Pending,
    touched: &mut HashSet<QueueKey>,
    max_events: u64,
) -> Result<(), StoreError> {
    control(conn, "SAVEPOINT cmd")?;
    let mut own_touched = HashSet::new();
    let mut ctx = WriteCtx {
        conn,
        max_events,
        touched: &mut own_touched,
    };
    if pending.run(&mut ctx) {
        control(conn, "RELEASE cmd")?;
        touched.extend(own_touched);
    } else {
        control(conn, "ROLLBACK TO cmd")?;
        control(conn, "RELEASE cmd")?;
    }
    Ok(())
}

/// Runs a transaction-control statement, prepared once per connection.
pub(crate) fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}
