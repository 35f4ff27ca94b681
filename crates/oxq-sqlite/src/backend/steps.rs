//! The SQLite store's [`Steps`] facet: `steps_read` on a reader, `step_save` and `job_signal`
//! on the writer. The rules live in [`ops::steps`](crate::ops::steps); a trigger deletes a
//! job's steps with the job.

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{
    JobStepEntries, ReadSteps, SaveStep, SavedStep, SendSignal, SignalSent, Steps,
};

use super::SqliteBackend;
use crate::ops::steps;

#[async_trait]
impl Steps for SqliteBackend {
    async fn steps_read(&self, req: ReadSteps) -> Result<Option<JobStepEntries>> {
        self.read(move |conn| steps::read(conn, &req)).await
    }

    async fn step_save(&self, req: SaveStep) -> Result<SavedStep> {
        self.write(move |ctx| steps::save(ctx, req)).await
    }

    async fn job_signal(&self, req: SendSignal) -> Result<SignalSent> {
        self.write(move |ctx| steps::signal(ctx, req)).await
    }
}
