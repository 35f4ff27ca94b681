//! [`StoreMemo`]: what a store learned about a job when it handed it out, carried by the
//! fetched job and given back with that job's finish.
//!
//! A store may need again, when an attempt ends, something it read when the attempt began (the
//! Redis store keeps the attempts count it read, so its completion script need not read the job
//! hash a second time). Rather than a table shared between two calls, the note travels with the
//! job: the runtime holds it beside the job and returns it untouched in [`Finish`](super::Finish).
//! It lives exactly as long as the attempt, belongs to the lock token that fetched the job, and
//! costs nothing when a store keeps none. A store must treat a missing or foreign memo as "read
//! it again", never as an error: a finish may come from a process that did not fetch the job.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A store's typed note about one fetched job. Opaque to the runtime.
#[derive(Clone, Default)]
pub struct StoreMemo(Option<Arc<dyn Any + Send + Sync>>);

impl StoreMemo {
    /// A memo holding `note`.
    pub fn new<T: Any + Send + Sync>(note: T) -> Self {
        Self(Some(Arc::new(note)))
    }

    /// No memo: the store reads what it needs at finish time.
    pub fn none() -> Self {
        Self(None)
    }

    /// The note, if there is one of type `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.as_deref().and_then(|note| note.downcast_ref::<T>())
    }
}

impl fmt::Debug for StoreMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "StoreMemo(..)"
        } else {
            "StoreMemo(none)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memo_answers_only_for_its_own_type() {
        let memo = StoreMemo::new(7_u64);
        assert_eq!(memo.get::<u64>(), Some(&7));
        assert_eq!(memo.get::<String>(), None);
        assert_eq!(StoreMemo::none().get::<u64>(), None);
    }
}
