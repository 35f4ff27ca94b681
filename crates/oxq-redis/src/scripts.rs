//! The Lua scripts: their sources (compiled in with `include_str!`), the registry of
//! [`redis::Script`]s built once at start-up, and [`ScriptCall`], the one place a call's keys
//! and arguments are encoded.
//!
//! Each script file in `scripts/` starts with a header listing its KEYS (by suffix), ARGV,
//! return codes and events. Shared helpers live in `scripts/include/` and are prepended at
//! build time (Redis scripts cannot include files). Calls go out as `EVALSHA`; redis-rs loads
//! the script and retries when the server answers `NOSCRIPT` (after a restart or
//! `SCRIPT FLUSH`).
//!
//! Conventions every script relies on: `KEYS` are queue keys `prefix:name:<suffix>` in the
//! order of [`ScriptCall::KEYS`], and `ARGV[1]` is the base `prefix:name:`; the remaining
//! arguments come from [`ScriptCall::args`].

use std::collections::HashMap;

use redis::aio::ConnectionManager;
use redis::{Script, ScriptInvocation, Value};

use crate::error::{RedisStoreError, StoreResult};
use crate::keys::QueueKeys;

/// One script call: which script, which queue keys, which arguments.
pub(crate) trait ScriptCall {
    /// The script's file stem in `scripts/`.
    const NAME: &'static str;
    /// Suffixes of the queue keys passed as `KEYS`, in order (must match the script header).
    const KEYS: &'static [&'static str];
    /// Arguments after `ARGV[1]` (the base key), in the order the header lists them.
    fn args(&self, inv: &mut ScriptInvocation<'_>);
}

/// A script's source: the shared helpers, then the named includes, then the script.
macro_rules! source {
    ($name:literal $(, $include:literal)*) => {
        concat!(
            include_str!("../scripts/include/common.lua"),
            $(include_str!(concat!("../scripts/include/", $include, ".lua")),)*
            include_str!(concat!("../scripts/", $name, ".lua"))
        )
    };
}

/// Every script: (name, full source). Includes come in dependency order.
pub(crate) const SOURCES: &[(&str, &str)] = &[
    ("add", source!("add", "read_job")),
    ("move_to_active", source!("move_to_active", "fetch")),
    ("finish", source!("finish", "parent", "retention", "fetch")),
    ("extend_locks", source!("extend_locks")),
    ("recover_stalled", source!("recover_stalled")),
    ("update_progress", source!("update_progress")),
    ("add_log", source!("add_log")),
    ("remove_job", source!("remove_job", "parent")),
    ("promote", source!("promote")),
    ("retry_job", source!("retry_job")),
    ("move_jobs_to_wait", source!("move_jobs_to_wait")),
    ("pause", source!("pause")),
    ("resume", source!("resume")),
    ("drain", source!("drain", "parent")),
    ("clean", source!("clean", "parent")),
    ("obliterate", source!("obliterate")),
    ("get_job", source!("get_job", "read_job")),
    ("list_jobs", source!("list_jobs")),
];

/// The scripts, hashed once at start-up.
#[derive(Debug)]
pub(crate) struct Scripts {
    by_name: HashMap<&'static str, Script>,
}

impl Scripts {
    pub(crate) fn load() -> Self {
        Self {
            by_name: SOURCES
                .iter()
                .map(|(name, source)| (*name, Script::new(source)))
                .collect(),
        }
    }

    /// Runs `call` against `queue`'s keys.
    pub(crate) async fn run<S: ScriptCall>(
        &self,
        conn: &mut ConnectionManager,
        queue: &QueueKeys,
        call: &S,
    ) -> StoreResult<Value> {
        let script = self
            .by_name
            .get(S::NAME)
            .ok_or_else(|| RedisStoreError::reply(S::NAME, "no such script"))?;
        let mut inv = script.prepare_invoke();
        for suffix in S::KEYS {
            inv.key(queue.key(suffix));
        }
        inv.arg(queue.base());
        call.args(&mut inv);
        let reply: Value = inv.invoke_async(conn).await?;
        Ok(reply)
    }
}

/// The KEYS a script's header lists (`--   <n> <suffix>` lines between `-- KEYS` and `-- ARGV`).
#[cfg(test)]
pub(crate) fn header_keys(name: &str) -> Vec<String> {
    let path = format!("{}/scripts/{name}.lua", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut keys = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line == "-- KEYS" {
            inside = true;
            continue;
        }
        if line == "-- ARGV" {
            break;
        }
        if inside && let Some(rest) = line.strip_prefix("--   ") {
            let mut parts = rest.split_whitespace();
            let (Some(n), Some(suffix)) = (parts.next(), parts.next()) else {
                continue;
            };
            assert_eq!(
                n.parse::<usize>().ok(),
                Some(keys.len() + 1),
                "{name}: KEYS numbering"
            );
            keys.push(suffix.to_owned());
        }
    }
    keys
}
