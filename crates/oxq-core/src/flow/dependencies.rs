//! A job's view of its children: their return values, their ignored failures, and the whole
//! dependency lists ([`Dependencies`]); and [`Job::as_parent`] to add children to it.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::backend::{Dependencies, GetDependencies};
use crate::error::{Error, Result};
use crate::job::Job;

use super::flows_of;
use super::parent::{ChildKey, ParentLink};

impl<T> Job<T> {
    /// The job's parent, if it is a child.
    pub fn parent(&self) -> Option<&ParentLink> {
        self.options().parent.as_ref()
    }

    /// A link that makes a job added with it (through
    /// [`JobOptions::parent`](crate::JobOptions::parent)) a child of this one.
    pub fn as_parent(&self) -> ParentLink {
        ParentLink::new(self.queue().clone(), self.id().clone())
    }

    /// The job's dependencies, at most `limit` of each kind (the counts are whole).
    pub async fn dependencies(&self, limit: u64) -> Result<Dependencies> {
        let flows = flows_of(self.backend().as_ref())?;
        flows
            .job_dependencies(GetDependencies {
                queue: self.queue().clone(),
                job_id: self.id().clone(),
                limit,
            })
            .await?
            .ok_or_else(|| Error::JobNotFound(self.id().to_string()))
    }

    /// The return values of the children that completed, by child key (`prefix:queue:id`).
    pub async fn children_values<R: DeserializeOwned>(&self) -> Result<BTreeMap<ChildKey, R>> {
        let deps = self.dependencies(u64::MAX).await?;
        deps.processed
            .into_iter()
            .map(|(key, json)| {
                let value = serde_json::from_str(&json).map_err(|source| Error::Decode {
                    job_id: key.to_string(),
                    source,
                })?;
                Ok((key, value))
            })
            .collect()
    }

    /// The failure reasons of children that failed under
    /// [`ChildFailure::Ignore`](super::ChildFailure::Ignore) or
    /// [`ChildFailure::ContinueParent`](super::ChildFailure::ContinueParent).
    pub async fn ignored_children_failures(&self) -> Result<BTreeMap<ChildKey, String>> {
        Ok(self
            .dependencies(u64::MAX)
            .await?
            .ignored
            .into_iter()
            .collect())
    }
}
