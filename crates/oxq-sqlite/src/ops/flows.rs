//! Parent/child jobs (flows): the rules of [`oxq_core::backend::Flows`] kept in SQL.
//!
//! Rows (see `migrations/0003_flows.sql`): `jobs.flow` marks a child ([`CHILD`]: its options
//! name a parent) and a parent ([`PARENT`]: a child was added to it); `job_dependencies` holds
//! one row per child of a parent, pending, processed (with its value), ignored (with its
//! reason) or failed. A job whose `flow` is 0 never reaches this module: each hook sits behind
//! a test of a column its caller reads anyway (the completion's `UPDATE ... AND flow = 0`
//! falls back here only when it matched nothing), so jobs outside flows pay nothing.
//!
//! Where the rules hook in:
//!
//! | caller | hook |
//! |---|---|
//! | `job_add_bulk` | [`links::require_parent`] before the add (`ParentNotFound`), [`links::add_dependency`] after |
//! | `flow_add` | [`write::flow_add`] |
//! | `job_finish` | [`attempt::complete`] (a parent's refusals, a child's value), [`links::child_failed`] (its policy), [`attempt::wait_for_children`] |
//! | every delete of a job (remove, retention, drain, clean, obliterate) | [`links::child_removed`] via [`links::delete_job`]; a parent's rows go by trigger |
//! | `job_remove` of a parent | [`subtree::remove`] |
//! | `job_retry`, `jobs_retry` | [`links::child_retried`] |
//! | `job_dependencies` | [`read::dependencies`] |
//!
//! A parent may live on another queue than its child, so a write that reaches one goes
//! through [`OtherQueues`] for that queue's row (positions and events), saved with its own.
//!
//! | module | owns |
//! |---|---|
//! | `queues` | [`OtherQueues`]: the rows of the other queues one write reaches |
//! | `links` | a child's link to its parent: adding, settling, detaching, retrying; releasing a parent |
//! | `attempt` | a flow job's own attempt end: completion checks, `WaitForChildren` |
//! | `write` | `flow_add`: whole trees in one step |
//! | `subtree` | removing a parent with everything under it |
//! | `read` | `job_dependencies` |

pub(crate) mod attempt;
pub(crate) mod links;
mod queues;
pub(crate) mod read;
pub(crate) mod subtree;
pub(crate) mod write;

pub(crate) use queues::OtherQueues;

/// `jobs.flow` bit: the job is a child (its options name a parent).
pub(crate) const CHILD: i64 = 1;

/// `jobs.flow` bit: the job is a parent (it has or had dependencies).
pub(crate) const PARENT: i64 = 2;
