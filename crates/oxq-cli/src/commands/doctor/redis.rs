//! The Redis checks: version, `maxmemory-policy`, persistence, round-trip latency, clock skew
//! and the key prefix's hash tag against cluster mode, from [`oxq_redis::diagnostics`].

use std::time::Duration;

use oxq_redis::{RedisDiagnostics, RedisOptions};

use super::Check;

/// A median PING round trip above this warns: every job costs several round trips.
const MAX_ROUND_TRIP: Duration = Duration::from_millis(10);
/// A clock difference above this warns (beyond the measurement's own uncertainty).
const MAX_CLOCK_SKEW_MS: i64 = 1000;

pub async fn checks(url: &str, prefix: &str) -> crate::error::CliResult<Vec<Check>> {
    // one attempt: an unreachable server is reported at once, naming host:port
    let options = RedisOptions::default()
        .reconnect_retries(0)
        .connect_timeout(Duration::from_secs(2));
    let found = oxq_redis::diagnostics(url, &options).await?;
    Ok(vec![
        version(&found),
        eviction(&found),
        persistence(&found),
        latency(&found),
        clock_skew(&found),
        key_prefix(prefix, found.cluster_enabled),
    ])
}

fn version(found: &RedisDiagnostics) -> Check {
    let v = &found.version;
    let (major, minor) = major_minor(v);
    if (major, minor) < (6, 2) {
        Check::fail(
            "redis version",
            format!(
                "{v} ({}): oxq's scripts need Redis 6.2 or newer; upgrade the server",
                found.target
            ),
        )
    } else if major < 7 {
        Check::warn(
            "redis version",
            format!("{v}: works, but Redis 7 or newer is recommended; plan an upgrade"),
        )
    } else {
        Check::ok("redis version", format!("{v} ({})", found.target))
    }
}

fn major_minor(version: &str) -> (u32, u32) {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn eviction(found: &RedisDiagnostics) -> Check {
    match found.maxmemory_policy.as_deref() {
        Some("noeviction") => Check::ok(
            "maxmemory-policy",
            "noeviction: Redis refuses writes when full instead of deleting keys",
        ),
        Some(policy) => Check::fail(
            "maxmemory-policy",
            format!(
                "{policy}: under memory pressure Redis evicts keys and jobs are lost; set \
                 `maxmemory-policy noeviction` (CONFIG SET maxmemory-policy noeviction, and in \
                 redis.conf)"
            ),
        ),
        None => Check::warn(
            "maxmemory-policy",
            "INFO memory does not report it; make sure the server runs with `maxmemory-policy noeviction`",
        ),
    }
}

fn persistence(found: &RedisDiagnostics) -> Check {
    const FIX: &str = "set `appendonly yes` and `appendfsync everysec`";
    if !found.aof_enabled {
        return Check::warn(
            "persistence",
            format!("AOF is off: a restart loses every job added since the last snapshot; {FIX}"),
        );
    }
    match found.appendfsync.as_deref() {
        Ok(fsync @ ("everysec" | "always")) => {
            Check::ok("persistence", format!("AOF on, appendfsync {fsync}"))
        }
        Ok(fsync) => Check::warn(
            "persistence",
            format!(
                "AOF on, but appendfsync {fsync}: the OS decides when writes reach the disk and a \
                 crash can lose more than a second of jobs; {FIX}"
            ),
        ),
        Err(reason) => Check::warn(
            "persistence",
            format!("AOF on; appendfsync unknown ({reason}); make sure it is everysec or always"),
        ),
    }
}

fn latency(found: &RedisDiagnostics) -> Check {
    let median = found.median_round_trip();
    let detail = format!(
        "median round trip {:.2} ms over {} PINGs",
        median.as_secs_f64() * 1000.0,
        found.ping_round_trips.len()
    );
    if median > MAX_ROUND_TRIP {
        Check::warn(
            "latency",
            format!(
                "{detail} (above {} ms): every job costs several round trips; run workers and \
                 producers close to Redis (same region and network)",
                MAX_ROUND_TRIP.as_millis()
            ),
        )
    } else {
        Check::ok("latency", detail)
    }
}

fn clock_skew(found: &RedisDiagnostics) -> Check {
    let skew = found.clock_skew_ms;
    let uncertainty = i64::try_from(found.clock_skew_uncertainty.as_millis()).unwrap_or(i64::MAX);
    let side = if skew >= 0 { "ahead of" } else { "behind" };
    let detail = format!(
        "Redis's clock is {} ms {side} this host's (±{uncertainty} ms)",
        skew.abs()
    );
    if skew.abs().saturating_sub(uncertainty) > MAX_CLOCK_SKEW_MS {
        Check::warn(
            "clock skew",
            format!(
                "{detail}: delays, lock expiry and stalled checks mix both clocks; sync both \
                 machines with NTP"
            ),
        )
    } else {
        Check::ok("clock skew", detail)
    }
}

/// What Redis Cluster hashes for a key starting with `prefix`: the text between its first `{`
/// and the next `}`, when not empty.
fn hash_tag(prefix: &str) -> Option<&str> {
    let open = prefix.find('{')?;
    let rest = &prefix[open + 1..];
    let close = rest.find('}')?;
    (close > 0).then(|| &rest[..close])
}

fn key_prefix(prefix: &str, cluster: bool) -> Check {
    const NAME: &str = "key prefix";
    let braces = prefix.matches(['{', '}']).count();
    match (hash_tag(prefix), cluster) {
        (None, _) if braces > 0 => Check::warn(
            NAME,
            format!(
                "{prefix:?} has braces but no hash tag (a non-empty {{...}}): Redis Cluster hashes \
                 whole keys, so a queue's keys land in different slots; use a prefix like \
                 \"{{{}}}\"",
                prefix.replace(['{', '}'], "")
            ),
        ),
        (None, true) => Check::fail(
            NAME,
            format!(
                "cluster mode is enabled and {prefix:?} has no hash tag: a queue's keys land in \
                 different slots and its scripts fail with CROSSSLOT; use --prefix \"{{{prefix}}}\" \
                 (BullMQ's prefix option the same)"
            ),
        ),
        (Some(tag), true) => Check::warn(
            NAME,
            format!(
                "cluster mode is enabled; {prefix:?} keeps every queue in the slot of {{{tag}}}, \
                 but oxq's Redis store talks to the one node of the URL (no cluster redirects): \
                 point it at the node owning that slot, or use a standalone server"
            ),
        ),
        (Some(tag), false) if braces > 2 => Check::warn(
            NAME,
            format!(
                "{prefix:?}: only the first hash tag ({{{tag}}}) counts; keep one so every client \
                 agrees on the slot"
            ),
        ),
        (Some(tag), false) => Check::ok(
            NAME,
            format!("{prefix:?}: hash tag {{{tag}}} (ready for Redis Cluster)"),
        ),
        (None, false) => Check::ok(
            NAME,
            format!("{prefix:?} (standalone server: no hash tag needed)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::Status;

    #[test]
    fn the_hash_tag_is_the_first_non_empty_braces() {
        assert_eq!(hash_tag("{bull}"), Some("bull"));
        assert_eq!(hash_tag("app{jobs}x"), Some("jobs"));
        assert_eq!(hash_tag("bull"), None);
        assert_eq!(hash_tag("{}bull"), None);
        assert_eq!(hash_tag("bull}{"), None);
        assert_eq!(hash_tag("{a}{b}"), Some("a"));
    }

    #[test]
    fn prefixes_are_judged_against_cluster_mode() {
        assert_eq!(key_prefix("bull", false).status, Status::Ok);
        assert_eq!(key_prefix("{bull}", false).status, Status::Ok);
        assert_eq!(key_prefix("bull{", false).status, Status::Warn);
        assert_eq!(key_prefix("{a}{b}", false).status, Status::Warn);
        assert_eq!(key_prefix("bull", true).status, Status::Fail);
        assert_eq!(key_prefix("{bull}", true).status, Status::Warn);
    }

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert_eq!(major_minor("7.2.4"), (7, 2));
        assert_eq!(major_minor("6.0.16"), (6, 0));
        assert_eq!(major_minor("garbage"), (0, 0));
    }
}
