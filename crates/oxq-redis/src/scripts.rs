//! The Lua scripts: their sources (compiled in with `include_str!`), the registry of
//! [`redis::Script`]s built once at start-up, and [`ScriptCall`], the one place a call's keys
//! and arguments are encoded.
//!
//! Each script file in `scripts/` starts with a header listing its KEYS (by suffix), ARGV,
//! return codes and events; a test checks every call's KEYS and the number of its ARGV against
//! the header (see [`header_argv`] for how a header states variadic arguments). Shared helpers live in `scripts/include/` and are prepended at
//! build time (Redis scripts cannot include files). Calls go out as `EVALSHA`; redis-rs loads
//! the script and retries when the server answers `NOSCRIPT` (after a restart or
//! `SCRIPT FLUSH`).
//!
//! Conventions every script relies on: `KEYS` are queue keys `prefix:name:<suffix>` in the
//! order of [`ScriptCall::KEYS`], and `ARGV[1]` is the base `prefix:name:`; the remaining
//! arguments come from [`ScriptCall::args`]. Flows reach other queues' keys too (a child's
//! parent, a tree's nodes, a subtree): those keys are built in the script from the job keys
//! it reads or the queues its arguments name (`include/parent.lua`), and `flow_add.lua` and
//! `job_dependencies.lua` take no `KEYS` at all (their header says so); this is what ties
//! flows to a single Redis node.

use std::collections::HashMap;

use redis::aio::ConnectionManager;
use redis::{Script, ScriptInvocation, ToRedisArgs, Value};

use crate::error::{RedisStoreError, StoreResult};
use crate::keys::{Key, QueueKeys};

/// One script call: which script, which queue keys, which arguments.
pub(crate) trait ScriptCall {
    /// The script's file stem in `scripts/`.
    const NAME: &'static str;
    /// The queue keys passed as `KEYS`, in order (must match the script header).
    const KEYS: &'static [Key];
    /// Arguments after `ARGV[1]` (the base key), in the order the header lists them.
    fn args<A: Argv>(&self, argv: &mut A);
}

/// Where a call's arguments go: the script invocation, or (in tests) a recorder that counts
/// them against the header.
pub(crate) trait Argv {
    fn arg<T: ToRedisArgs>(&mut self, value: T) -> &mut Self;
}

impl Argv for ScriptInvocation<'_> {
    fn arg<T: ToRedisArgs>(&mut self, value: T) -> &mut Self {
        ScriptInvocation::arg(self, value)
    }
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
    ("add", source!("add", "read_job", "dedup")),
    ("move_to_active", source!("move_to_active", "fetch")),
    (
        "finish",
        source!(
            "finish",
            "parent",
            "retention",
            "fetch",
            "dedup",
            "dead_letter"
        ),
    ),
    ("extend_locks", source!("extend_locks")),
    ("recover_stalled", source!("recover_stalled")),
    ("update_progress", source!("update_progress")),
    ("add_log", source!("add_log")),
    ("remove_job", source!("remove_job", "parent", "subtree")),
    ("promote", source!("promote")),
    ("retry_job", source!("retry_job", "parent")),
    ("move_jobs_to_wait", source!("move_jobs_to_wait", "parent")),
    ("pause", source!("pause")),
    ("resume", source!("resume")),
    ("drain", source!("drain", "parent")),
    ("clean", source!("clean", "parent")),
    ("obliterate", source!("obliterate", "parent")),
    ("get_job", source!("get_job", "read_job")),
    ("list_jobs", source!("list_jobs")),
    ("flow_add", source!("flow_add", "parent")),
    ("job_dependencies", source!("job_dependencies")),
    ("steps_read", source!("steps_read")),
    ("step_save", source!("step_save")),
    ("job_signal", source!("job_signal")),
    ("dedup_key", source!("dedup_key", "dedup")),
    ("scheduler_upsert", source!("scheduler_upsert", "scheduler")),
    ("scheduler_next", source!("scheduler_next", "scheduler")),
    ("scheduler_remove", source!("scheduler_remove", "scheduler")),
    (
        "dead_letters_list",
        source!("dead_letters_list", "read_job"),
    ),
    ("dead_letters_replay", source!("dead_letters_replay")),
    ("dead_letters_purge", source!("dead_letters_purge")),
    ("cancel", source!("cancel", "parent")),
    ("job_counts", source!("job_counts")),
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
        for key in S::KEYS {
            inv.key(queue.key(*key));
        }
        inv.arg(queue.base());
        call.args(&mut inv);
        let reply: Value = inv.invoke_async(conn).await?;
        Ok(reply)
    }
}

/// The lines of a header section: from the line `-- <start>` to the line `-- <end>`.
#[cfg(test)]
fn header_section(name: &str, start: &str, end: &str) -> Vec<String> {
    let path = format!("{}/scripts/{name}.lua", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(str::trim_end)
        .skip_while(|line| *line != format!("-- {start}"))
        .skip(1)
        .take_while(|line| *line != format!("-- {end}"))
        .map(str::to_owned)
        .collect()
}

/// The KEYS a script's header lists (`--   <n> <suffix>` lines between `-- KEYS` and `-- ARGV`).
#[cfg(test)]
pub(crate) fn header_keys(name: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for line in header_section(name, "KEYS", "ARGV") {
        let Some(rest) = line.strip_prefix("--   ") else {
            continue;
        };
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
    keys
}

/// The shape of a script's ARGV as its header states it.
#[cfg(test)]
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct HeaderArgv {
    /// Numbered positions (`--   <n> ...`), ARGV[1] (the base key) included.
    pub fixed: usize,
    /// Values each item adds after the fixed ones: `then <K> values per <item>` on a numbered
    /// line, or a last position written `<n>..` (one value per item to the end).
    pub per_item: usize,
    /// Values after the items: lines `--   then <K> values ...`, added up.
    pub tail: usize,
}

#[cfg(test)]
impl HeaderArgv {
    /// How many arguments after ARGV[1] a call with `items` items passes.
    pub fn expected(&self, items: usize) -> usize {
        self.fixed - 1 + self.per_item * items + self.tail
    }
}

/// The ARGV a script's header lists (between `-- ARGV` and `-- Returns`).
#[cfg(test)]
pub(crate) fn header_argv(name: &str) -> HeaderArgv {
    /// `K` of `then K value(s) per` in `words`, if there.
    fn per(words: &[&str]) -> Option<usize> {
        words.windows(4).find_map(|w| {
            (w[0] == "then" && w[2].starts_with("value") && w[3] == "per")
                .then(|| w[1].parse().ok())
                .flatten()
        })
    }
    let mut argv = HeaderArgv::default();
    for line in header_section(name, "ARGV", "Returns") {
        let Some(rest) = line.strip_prefix("--   ") else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let Some(first) = words.first() else {
            continue;
        };
        if let Some(n) = first.strip_suffix("..") {
            assert_eq!(
                n.parse::<usize>().ok(),
                Some(argv.fixed + 1),
                "{name}: ARGV numbering"
            );
            argv.per_item = 1;
        } else if let Ok(n) = first.parse::<usize>() {
            assert_eq!(n, argv.fixed + 1, "{name}: ARGV numbering");
            argv.fixed = n;
            if let Some(k) = per(&words) {
                argv.per_item = k;
            }
        } else if *first == "then" {
            argv.tail += words
                .get(1)
                .and_then(|k| k.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("{name}: a `then` line must say how many values follow"));
        }
    }
    argv
}

/// Arguments recorded instead of sent, to count them.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct RecordedArgs(pub Vec<Vec<u8>>);

#[cfg(test)]
impl Argv for RecordedArgs {
    fn arg<T: ToRedisArgs>(&mut self, value: T) -> &mut Self {
        self.0.extend(value.to_redis_args());
        self
    }
}
