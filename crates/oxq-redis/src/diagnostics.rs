//! [`diagnostics`]: what a deployment check (`oxq doctor`) needs to know about a Redis server,
//! read over a connection of its own, outside the [`Backend`](oxq_core::Backend) seam: the
//! server's version, eviction policy, persistence, cluster mode, round-trip times and clock.
//!
//! It only reads (`INFO`, `CONFIG GET`, `PING`, `TIME`) and judges nothing: the caller decides
//! what is good enough. It does not refuse an old server, unlike [`connect`](crate::connect).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oxq_core::{Error, Result};
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use crate::connection;
use crate::error::RedisStoreError;
use crate::options::RedisOptions;

/// PINGs [`diagnostics`] times.
pub const PINGS: usize = 5;

/// What [`diagnostics`] read from the server.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisDiagnostics {
    /// `redis at host:port` (never a password).
    pub target: String,
    /// `redis_version` (or `valkey_version` on Valkey), e.g. `7.2.4`.
    pub version: String,
    /// `maxmemory_policy` from `INFO memory`, e.g. `noeviction`.
    pub maxmemory_policy: Option<String>,
    /// `aof_enabled` from `INFO persistence`.
    pub aof_enabled: bool,
    /// `appendfsync` from `CONFIG GET`, or why it could not be read (managed services often
    /// disable `CONFIG`).
    pub appendfsync: std::result::Result<String, String>,
    /// `cluster_enabled` from `INFO cluster`.
    pub cluster_enabled: bool,
    /// The round trip of each of [`PINGS`] PINGs, in the order sent.
    pub ping_round_trips: Vec<Duration>,
    /// The server's `TIME` minus this host's clock at the middle of the call, in
    /// milliseconds (positive: the server is ahead).
    pub clock_skew_ms: i64,
    /// How far off [`clock_skew_ms`](Self::clock_skew_ms) may be: half the `TIME` round trip.
    pub clock_skew_uncertainty: Duration,
}

impl RedisDiagnostics {
    /// The median of [`ping_round_trips`](Self::ping_round_trips).
    pub fn median_round_trip(&self) -> Duration {
        let mut sorted = self.ping_round_trips.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }
}

/// Connects to `url` (any of [`URL_SCHEMES`](crate::URL_SCHEMES); TLS settings and timeouts
/// from `options`, no reconnect retries) and reads the server's settings for a deployment
/// check. Fails with [`Error::Unavailable`] naming `redis at host:port` when the server cannot
/// be reached, and as [`connect`](crate::connect) does for a bad URL or refused credentials.
pub async fn diagnostics(url: &str, options: &RedisOptions) -> Result<RedisDiagnostics> {
    let client = connection::client(url, options)?;
    let target = connection::target(&client);
    read(client, options, target.clone())
        .await
        .map_err(|e| Error::from(e).at_target(&target))
}

async fn read(
    client: redis::Client,
    options: &RedisOptions,
    target: String,
) -> std::result::Result<RedisDiagnostics, RedisStoreError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.command_timeout));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(RedisStoreError::on_connect)?;

    let server = info(&mut conn, "server").await?;
    let version = field(&server, "valkey_version")
        .or_else(|| field(&server, "redis_version"))
        .ok_or_else(|| RedisStoreError::reply("INFO server", "no redis_version field"))?;
    let memory = info(&mut conn, "memory").await?;
    let persistence = info(&mut conn, "persistence").await?;
    let cluster = info(&mut conn, "cluster").await?;
    let appendfsync = config_get(&mut conn, "appendfsync").await;

    let mut ping_round_trips = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        let started = Instant::now();
        redis::cmd("PING").query_async::<()>(&mut conn).await?;
        ping_round_trips.push(started.elapsed());
    }

    let before = SystemTime::now();
    let started = Instant::now();
    let (seconds, micros): (i64, i64) = redis::cmd("TIME").query_async(&mut conn).await?;
    let round_trip = started.elapsed();
    let local_middle = before + round_trip / 2;
    let local_ms = local_middle
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let server_ms = seconds.saturating_mul(1000).saturating_add(micros / 1000);

    Ok(RedisDiagnostics {
        target,
        version,
        maxmemory_policy: field(&memory, "maxmemory_policy"),
        aof_enabled: field(&persistence, "aof_enabled").as_deref() == Some("1"),
        appendfsync,
        cluster_enabled: field(&cluster, "cluster_enabled").as_deref() == Some("1"),
        ping_round_trips,
        clock_skew_ms: server_ms.saturating_sub(local_ms),
        clock_skew_uncertainty: round_trip / 2,
    })
}

async fn info(
    conn: &mut MultiplexedConnection,
    section: &str,
) -> std::result::Result<String, RedisStoreError> {
    Ok(redis::cmd("INFO").arg(section).query_async(conn).await?)
}

/// `CONFIG GET name`'s value, or why there is none (the command is refused or renamed).
async fn config_get(
    conn: &mut MultiplexedConnection,
    name: &str,
) -> std::result::Result<String, String> {
    let reply: redis::RedisResult<Vec<String>> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query_async(conn)
        .await;
    match reply {
        Ok(pair) => pair
            .get(1)
            .cloned()
            .ok_or_else(|| format!("CONFIG GET {name} answered no value")),
        Err(e) => Err(format!(
            "CONFIG GET {name} failed: {}",
            RedisStoreError::Redis(e)
        )),
    }
}

/// The value of `name` in an `INFO` reply (`name:value` lines).
fn field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_from_info_lines() {
        let info = "# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\n";
        assert_eq!(field(info, "redis_version").as_deref(), Some("7.2.4"));
        assert_eq!(field(info, "redis_mode").as_deref(), Some("standalone"));
        assert_eq!(field(info, "redis"), None);
    }
}
