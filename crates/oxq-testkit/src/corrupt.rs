//! [`Corruptor`]: how a store lets the suite break a stored job behind the API's back, so the
//! poison-row cases ([`store::poison`](crate::store::poison),
//! [`cases::poison`](crate::cases::poison)) can check that one undecodable job fails alone
//! and the queue goes on.
//!
//! A store's opener hands one to [`Harness::with_corruptor`]; a case calls
//! [`Harness::corrupt`] on a job it added. Without a corruptor the case is skipped (which fails
//! the test unless skips are allowed, see [`ALLOW_SKIP_ENV`](crate::ALLOW_SKIP_ENV)).
//!
//! What each store writes: SQLite, raw SQL on the job's row (`tests/sqlite.rs`); Redis, a raw
//! `HSET` of the job hash's BullMQ field (`oxq-redis/tests/conformance.rs`).

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use oxq_core::{JobId, QueueRef};

use crate::{CaseResult, Harness, TestError};

/// One way a stored job can be broken, in terms every store has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// The name is bytes that are not UTF-8 (`ff 00 fe`).
    NameNotUtf8,
    /// The payload is bytes that are not UTF-8 (`ff 00 fe`; SQLite stores them as a BLOB).
    DataNotUtf8,
    /// The payload is text but not JSON (`{broken`).
    DataNotJson,
    /// The time the job was added is not a number (`abc`).
    TimestampNotNumber,
    /// The options are text but not JSON (`{broken`).
    OptionsNotJson,
}

impl Corruption {
    pub const ALL: [Corruption; 5] = [
        Corruption::NameNotUtf8,
        Corruption::DataNotUtf8,
        Corruption::DataNotJson,
        Corruption::TimestampNotNumber,
        Corruption::OptionsNotJson,
    ];
}

/// Breaks one stored job as a [`Corruption`] says, writing past the store's API.
pub trait Corruptor: Send + Sync + fmt::Debug + 'static {
    /// Breaks job `job` of `queue`; answers the name of the column or hash field it broke (as
    /// the store calls it: `name`, `data`, `timestamp`, `options` or `opts`), which the
    /// reason the job fails with must name.
    fn corrupt<'a>(
        &'a self,
        queue: &'a QueueRef,
        job: &'a JobId,
        corruption: Corruption,
    ) -> BoxFuture<'a, CaseResult<&'static str>>;
}

impl Harness {
    /// The same harness, with the store's [`Corruptor`].
    pub fn with_corruptor(mut self, corruptor: impl Corruptor) -> Self {
        self.corruptor = Some(Arc::new(corruptor));
        self
    }

    /// Breaks job `job` of the case's queue; answers the column or field it broke. Skips the
    /// case when the store's opener gave no corruptor.
    pub async fn corrupt(&self, job: &JobId, corruption: Corruption) -> CaseResult<&'static str> {
        let Some(corruptor) = self.corruptor.clone() else {
            return Err(TestError::skip(format!(
                "the {} store's opener gives no Corruptor (Harness::with_corruptor)",
                self.store()
            )));
        };
        corruptor.corrupt(self.queue_ref(), job, corruption).await
    }
}
