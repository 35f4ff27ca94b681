//! The [`Workers`] facet on Redis, as BullMQ does it (bullmq-v5-model.md §1.4): a worker is a
//! client connection named `<prefix>:<base64(queue)>:w:<worker name>`, or
//! `<prefix>:<base64(queue)>` for a worker without a name, and a queue's workers are the
//! clients of `CLIENT LIST` so named. Node's `Queue.getWorkers()` and Bull Board therefore list
//! oxq workers, and oxq lists Node workers.
//!
//! Each announced worker holds one dedicated connection of its own, named on the first
//! announcement; a renewal pings it (and opens and names a new one when the old one broke), and
//! leaving drops it, which closes it. A worker whose process dies is gone from the list as soon
//! as Redis notices its connection closed, so the announcement's time to live is not needed.
//! (Node names its blocking connection; oxq's blocking connections are shared between the
//! queues and waits of a process, so the name goes on a connection that only says "here".)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use oxq_core::backend::{AnnounceWorker, LeaveWorker, ListWorkers, WorkerInfo, Workers};
use oxq_core::{QueueRef, Result};
use redis::Client;
use redis::aio::MultiplexedConnection;

use crate::backend::RedisBackend;
use crate::error::StoreResult;

/// The named connections of the workers this process announced, by worker id.
pub(crate) struct Presences {
    client: Client,
    named: Mutex<HashMap<String, MultiplexedConnection>>,
}

impl std::fmt::Debug for Presences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presences").finish_non_exhaustive()
    }
}

impl Presences {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            named: Mutex::new(HashMap::new()),
        }
    }

    fn named(&self) -> std::sync::MutexGuard<'_, HashMap<String, MultiplexedConnection>> {
        self.named
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn announce(&self, req: &AnnounceWorker, timeout: Duration) -> StoreResult<()> {
        let existing = self.named().get(&req.worker_id).cloned();
        if let Some(mut conn) = existing {
            // a broken connection is replaced by a new one, named again
            if redis::cmd("PING")
                .query_async::<()>(&mut conn)
                .await
                .is_ok()
            {
                return Ok(());
            }
            self.named().remove(&req.worker_id);
        }
        let name = client_name(&req.queue, req.name.as_deref());
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let mut conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(&name)
            .query_async::<()>(&mut conn)
            .await?;
        self.named().insert(req.worker_id.clone(), conn);
        Ok(())
    }
}

/// `<prefix>:<base64(queue name)>`, the name Node gives a worker's connection without a name,
/// and the start of every worker connection's name of the queue.
fn queue_client_name(queue: &QueueRef) -> String {
    format!("{}:{}", queue.prefix, base64(queue.name.as_bytes()))
}

/// The connection name of a worker of `queue`, named `worker` or not.
fn client_name(queue: &QueueRef, worker: Option<&str>) -> String {
    match worker {
        Some(worker) => format!("{}:w:{worker}", queue_client_name(queue)),
        None => queue_client_name(queue),
    }
}

/// Standard base64 with padding (what Node's `Buffer.toString('base64')` writes).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The workers of `queue` in a `CLIENT LIST` answer, oldest first.
fn workers_in(list: &str, queue: &QueueRef) -> Vec<WorkerInfo> {
    let unnamed = queue_client_name(queue);
    let named_prefix = format!("{unnamed}:w:");
    let mut workers: Vec<WorkerInfo> = list
        .lines()
        .filter_map(|line| {
            let field = |key: &str| {
                line.split(' ')
                    .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            };
            let name = field("name")?;
            let worker = if name == unnamed {
                None
            } else {
                Some(name.strip_prefix(&named_prefix)?.to_owned())
            };
            let seconds =
                |key| Duration::from_secs(field(key).and_then(|v| v.parse().ok()).unwrap_or(0));
            Some(WorkerInfo::new(
                worker,
                field("addr").unwrap_or_default(),
                seconds("age"),
                seconds("idle"),
            ))
        })
        .collect();
    workers.sort_by_key(|w| std::cmp::Reverse(w.age));
    workers
}

#[async_trait]
impl Workers for RedisBackend {
    async fn worker_announce(&self, req: AnnounceWorker) -> Result<()> {
        let timeout = self.options.command_timeout;
        self.named(self.presences.announce(&req, timeout).await)
    }

    async fn worker_leave(&self, req: LeaveWorker) -> Result<()> {
        let Some(mut conn) = self.presences.named().remove(&req.worker_id) else {
            return Ok(());
        };
        // Clearing the name takes the worker off the list before this returns; closing the
        // connection (dropping its last handle) alone would do so only once Redis noticed.
        // (the connection answers within its response timeout, the store's command timeout)
        let cleared: StoreResult<()> = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg("")
            .query_async(&mut conn)
            .await
            .map_err(Into::into);
        self.named(cleared)
    }

    async fn workers_list(&self, req: ListWorkers) -> Result<Vec<WorkerInfo>> {
        let mut conn = self.conn();
        let list: StoreResult<String> = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut conn)
            .await
            .map_err(Into::into);
        self.named(list.map(|list| workers_in(&list, &req.queue)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_nodes_base64_of_the_queue() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64("fila-é".as_bytes()), "ZmlsYS3DqQ==");
        let queue = QueueRef::with_prefix("bull", "mail").expect("queue");
        assert_eq!(client_name(&queue, None), "bull:bWFpbA==");
        assert_eq!(client_name(&queue, Some("w1")), "bull:bWFpbA==:w:w1");
    }

    #[test]
    fn the_client_list_yields_the_queues_workers_oldest_first() {
        let queue = QueueRef::with_prefix("bull", "mail").expect("queue");
        let list = "id=3 addr=127.0.0.1:5001 laddr=x fd=8 name=bull:bWFpbA==:w:w1 age=4 idle=1 flags=N\n\
                    id=4 addr=127.0.0.1:5002 fd=9 name=bull:bWFpbA== age=9 idle=0 flags=N\n\
                    id=5 addr=127.0.0.1:5003 fd=10 name=bull:bWFpbA==:qe age=9 idle=0 flags=N\n\
                    id=6 addr=127.0.0.1:5004 fd=11 name=bull:b3RoZXI= age=9 idle=0 flags=N\n\
                    id=7 addr=127.0.0.1:5005 fd=12 name= age=9 idle=0 flags=N\n";
        let workers = workers_in(list, &queue);
        assert_eq!(
            workers,
            vec![
                WorkerInfo::new(
                    None,
                    "127.0.0.1:5002",
                    Duration::from_secs(9),
                    Duration::ZERO
                ),
                WorkerInfo::new(
                    Some("w1".into()),
                    "127.0.0.1:5001",
                    Duration::from_secs(4),
                    Duration::from_secs(1)
                ),
            ]
        );
    }
}
