//! `queue_wait`: `BZPOPMIN prefix:name:marker <timeout>` on a dedicated connection, never a
//! poll. Member "0" (score 0) or a due time reached by the request's `now` means jobs are
//! ready; a due time within the wait (before `now + timeout`) is `DueAt`, the hint of a delayed
//! job added meanwhile (consumed with the marker, so never reported twice); a due time beyond
//! the wait is consumed without being reported and the wait blocks for the rest of its
//! timeout; no marker within the timeout is `TimedOut`. Only the timeout is real time. A wait
//! the server cuts short (`-UNBLOCKED`: `CLIENT UNBLOCK id ERROR`, or the instance became a
//! replica) popped nothing and is `TimedOut` too, not an error: the worker simply looks again.
//!
//! Cancel-safe: the command runs in its own task. If the caller drops the future after Redis
//! popped a marker, the task puts the marker back (`ZADD NX`), so no wake-up is lost, and the
//! connection of an unfinished command is never reused.

use std::time::{Duration, Instant};

use oxq_core::backend::{WaitForJobs, Wakeup};
use oxq_core::clock::millis;
use redis::Value;
use redis::aio::ConnectionManager;
use tokio::sync::oneshot;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::{Key, QueueKeys};
use crate::reply;

/// A popped marker: member and score.
type Marker = (String, f64);

pub(crate) async fn wait(backend: &RedisBackend, req: WaitForJobs) -> StoreResult<Wakeup> {
    let key = QueueKeys::new(&req.queue).key(Key::Marker);
    let timeout = req.timeout.max(Duration::from_millis(1));
    let pool = backend.blocking.clone();
    // due times after this are beyond the wait: not reported (see the module docs)
    let horizon = req.now.saturating_add(millis(timeout));
    let (tx, rx) = oneshot::channel::<StoreResult<Option<Marker>>>();
    let task_key = key.clone();
    let mut task_conn = backend.conn();
    tokio::spawn(async move {
        let deadline = Instant::now() + timeout;
        let result = loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < Duration::from_millis(1) {
                break Ok(None);
            }
            let mut cmd = redis::cmd("BZPOPMIN");
            cmd.arg(&task_key)
                .arg(format!("{:.3}", remaining.as_secs_f64()));
            match pool
                .query::<Value>(&cmd, remaining, "BZPOPMIN")
                .await
                .and_then(marker)
            {
                // a hint beyond this wait is consumed, not reported: block for the rest
                Ok(Some((_, score))) if due_of(score) > horizon => continue,
                // the server cut the wait short and popped nothing: the caller looks again
                Err(e) if e.is_unblocked() => break Ok(None),
                other => break other,
            }
        };
        if let Err(Ok(Some(popped))) = tx.send(result) {
            // the caller went away before the answer: leave the marker for the next waiter
            restore(&mut task_conn, &task_key, popped).await;
        }
    });
    let mut pending = Pending {
        rx: Some(rx),
        key,
        conn: backend.conn(),
    };
    let answer = match pending.rx.as_mut() {
        Some(rx) => rx.await,
        None => return Err(RedisStoreError::reply("BZPOPMIN", "no pending wait")),
    };
    pending.rx = None;
    let popped = answer.map_err(|_| RedisStoreError::BlockingTimeout {
        command: "BZPOPMIN",
    })??;
    Ok(match popped {
        None => Wakeup::TimedOut,
        Some((_, score)) => {
            let due = due_of(score);
            if due <= req.now {
                Wakeup::JobsReady
            } else {
                Wakeup::DueAt(due)
            }
        }
    })
}

/// The caller's end of a wait. Dropped before it was read, it closes the channel: a marker
/// already delivered into it is put back; one not yet delivered makes the task put it back.
struct Pending {
    rx: Option<oneshot::Receiver<StoreResult<Option<Marker>>>>,
    key: String,
    conn: ConnectionManager,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(mut rx) = self.rx.take() else {
            return;
        };
        rx.close();
        if let Ok(Ok(Some(popped))) = rx.try_recv()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let mut conn = self.conn.clone();
            let key = std::mem::take(&mut self.key);
            runtime.spawn(async move { restore(&mut conn, &key, popped).await });
        }
    }
}

async fn restore(conn: &mut ConnectionManager, key: &str, (member, score): Marker) {
    let restored: redis::RedisResult<i64> = redis::cmd("ZADD")
        .arg(key)
        .arg("NX")
        .arg(score)
        .arg(&member)
        .query_async(conn)
        .await;
    if let Err(e) = restored {
        tracing::warn!(error = %e, "could not restore a wake-up marker after a cancelled wait");
    }
}

/// The due time a marker's score stands for (0, "ready now", for member "0").
fn due_of(score: f64) -> u64 {
    if score.is_finite() && score > 0.0 {
        score as u64
    } else {
        0
    }
}

fn marker(value: Value) -> StoreResult<Option<Marker>> {
    let items = reply::array(value, "BZPOPMIN")?;
    if items.is_empty() {
        return Ok(None);
    }
    let (Some(member), Some(score)) = (items.get(1), items.get(2)) else {
        return Err(RedisStoreError::reply(
            "BZPOPMIN",
            "expected [key, member, score]",
        ));
    };
    let member = reply::string(member, "BZPOPMIN")?;
    let score = reply::string(score, "BZPOPMIN")?
        .parse::<f64>()
        .unwrap_or(0.0);
    Ok(Some((member, score)))
}
