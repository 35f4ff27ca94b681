//! What a skipped case reports: a skip is not a pass.
//!
//! A case skips (`Err(TestError::skip(reason))`, e.g. from [`Harness::require`] or
//! [`Harness::until_blocked`]) when its store lacks what it needs. Cargo's test runner knows
//! only pass and fail, so the runner prints `SKIPPED <reason>` and **fails** the test, unless
//! [`ALLOW_SKIP_ENV`] is `1`: then the test passes and the printed line is the only trace. A
//! store that is known to lack a feature runs its suite with the variable set, and its CI log
//! says what was skipped; nobody mistakes a skipped case for a passing one.
//!
//! [`Harness::require`]: crate::Harness::require
//! [`Harness::until_blocked`]: crate::Harness::until_blocked

use crate::TestError;

/// Set to `1` to let skipped cases pass (they still print `SKIPPED`).
pub const ALLOW_SKIP_ENV: &str = "OXQ_TESTKIT_ALLOW_SKIP";

/// The runner's verdict on a case that skipped: `None` (pass) only when skips are allowed,
/// else the failure message.
pub(crate) fn verdict(store: &str, case: &str, skip: &TestError) -> Option<String> {
    eprintln!("[{store}] {case}: SKIPPED {}", skip.message());
    if std::env::var(ALLOW_SKIP_ENV).is_ok_and(|v| v == "1") {
        None
    } else {
        Some(format!(
            "SKIPPED {} (a skipped case fails; set {ALLOW_SKIP_ENV}=1 to let it pass)",
            skip.message()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A skip fails the test, unless the variable allows skips.
    #[test]
    fn a_skip_fails_unless_allowed() {
        let allowed = std::env::var(ALLOW_SKIP_ENV).is_ok_and(|v| v == "1");
        let verdict = verdict("store", "file::case", &TestError::skip("no such facet"));
        assert_eq!(verdict.is_none(), allowed, "{verdict:?}");
        if let Some(message) = verdict {
            assert!(message.starts_with("SKIPPED no such facet"), "{message}");
        }
    }
}
