//! [`Queue`]'s job-scheduler calls: upsert, get, list, count, remove.
//!
//! Everything is validated here, before the store is asked: the scheduler id, the schedule
//! ([`Repeat::validate`]: the cron pattern, the time zone, `every`, the dates, the limit) and
//! the template (its options as for an add, minus a custom id or a delay, which the scheduler
//! sets). A refused upsert writes nothing, so no worker ever meets an unusable schedule. A
//! store without schedulers answers [`Error::Unsupported`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Queue;
use crate::backend::{
    GetScheduler, JobScheduler, ListSchedulers, RemoveScheduler, SchedulerTemplate, Schedulers,
    UpsertScheduler,
};
use crate::error::{Error, Result};
use crate::options::JobOptions;
use crate::repeat::{Repeat, validate_scheduler_id};

/// What each run of a scheduler adds: a job name, a payload and options.
#[derive(Debug, Clone)]
pub struct JobTemplate<T> {
    pub name: String,
    pub data: T,
    pub options: JobOptions,
}

impl<T> JobTemplate<T> {
    pub fn new(name: impl Into<String>, data: T) -> Self {
        Self {
            name: name.into(),
            data,
            options: JobOptions::default(),
        }
    }

    /// Options of every run (no custom id or delay: the scheduler sets both).
    pub fn options(mut self, options: JobOptions) -> Self {
        self.options = options;
        self
    }
}

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn schedulers(&self) -> Result<&dyn Schedulers> {
        self.backend.schedulers().ok_or(Error::Unsupported {
            store: self.backend.kind(),
            operation: "job schedulers",
        })
    }

    /// Creates scheduler `id`, or replaces its schedule, template and pending run (never
    /// leaving two pending runs). Answers the scheduler with its next run.
    pub async fn upsert_job_scheduler(
        &self,
        id: &str,
        repeat: Repeat,
        template: JobTemplate<T>,
    ) -> Result<JobScheduler> {
        validate_scheduler_id(id)?;
        repeat.validate()?;
        let template = self.encode_template(template)?;
        self.schedulers()?
            .scheduler_upsert(UpsertScheduler {
                queue: self.queue.clone(),
                id: id.to_owned(),
                repeat,
                template,
                now: self.now(),
            })
            .await
    }

    fn encode_template(&self, template: JobTemplate<T>) -> Result<SchedulerTemplate> {
        let JobTemplate {
            name,
            data,
            options,
        } = template;
        options.validate()?;
        if options.job_id.is_some() {
            return Err(Error::invalid(
                "a scheduler's template cannot have a job id: each run gets repeat:<id>:<time>",
            ));
        }
        if options.delay.is_some() {
            return Err(Error::invalid(
                "a scheduler's template cannot have a delay: the schedule sets when runs start",
            ));
        }
        let data = serde_json::to_string(&data).map_err(Error::Encode)?;
        if data.len() > self.options.max_payload_bytes {
            return Err(Error::PayloadTooLarge {
                size: data.len(),
                limit: self.options.max_payload_bytes,
            });
        }
        Ok(SchedulerTemplate {
            name,
            data,
            options,
        })
    }

    pub async fn get_job_scheduler(&self, id: &str) -> Result<Option<JobScheduler>> {
        self.schedulers()?
            .scheduler_get(GetScheduler {
                queue: self.queue.clone(),
                id: id.to_owned(),
            })
            .await
    }

    /// A page of schedulers with their next run, soonest first when `ascending`.
    pub async fn job_schedulers(
        &self,
        offset: u64,
        limit: u64,
        ascending: bool,
    ) -> Result<Vec<JobScheduler>> {
        self.schedulers()?
            .schedulers_list(ListSchedulers {
                queue: self.queue.clone(),
                offset,
                limit,
                ascending,
            })
            .await
    }

    pub async fn job_scheduler_count(&self) -> Result<u64> {
        self.schedulers()?.schedulers_count(self.of_queue()).await
    }

    /// Removes a scheduler and its pending run (if not started); `false` when unknown.
    pub async fn remove_job_scheduler(&self, id: &str) -> Result<bool> {
        let removed = self
            .schedulers()?
            .scheduler_remove(RemoveScheduler {
                queue: self.queue.clone(),
                id: id.to_owned(),
                now: self.now(),
            })
            .await?;
        Ok(removed.existed)
    }
}
