//! Parent/child jobs ("flows", as BullMQ calls them).
//!
//! A parent job waits in waiting-children until every child it depends on has completed, then
//! runs and reads its children's results ([`Job::children_values`](crate::Job::children_values)).
//! Children may live on other queues and have children of their own. Two ways to make them:
//!
//! * [`FlowProducer::add`] writes a whole tree ([`FlowJob`]) in one atomic step;
//! * a running job adds children with [`JobOptions::parent`](crate::JobOptions::parent) set to
//!   [`Job::as_parent`](crate::Job::as_parent) and returns
//!   [`Outcome::WaitForChildren`](crate::Outcome::WaitForChildren); it runs again once they are
//!   done.
//!
//! Each child says what its final failure does to its parent ([`ChildFailure`]). What a store
//! does at each transition is written once, in [`crate::backend::Flows`]; stores without the
//! facet refuse flows with [`Error::Unsupported`](crate::Error::Unsupported).
//!
//! | module | owns |
//! |---|---|
//! | `parent` | [`ParentLink`], [`ChildFailure`], [`ChildKey`] |
//! | `tree` | [`FlowJob`], the tree a producer writes, and its flattening into store nodes |
//! | `producer` | [`FlowProducer`]: add, add in bulk, read a tree back ([`FlowTree`]) |
//! | `dependencies` | a job's view of its children: values, ignored failures, dependencies |

mod dependencies;
mod parent;
mod producer;
mod tree;

pub use parent::{ChildFailure, ChildKey, ParentLink};
pub use producer::{FlowAdded, FlowProducer, FlowQuery, FlowTree};
pub use tree::FlowJob;

use crate::backend::{Backend, Flows};
use crate::error::{Error, Result};

/// The store's flows facet, or [`Error::Unsupported`] naming the store.
pub(crate) fn flows_of(backend: &dyn Backend) -> Result<&dyn Flows> {
    backend.flows().ok_or_else(|| Error::Unsupported {
        store: backend.kind(),
        operation: "flows (parent/child jobs)",
    })
}
