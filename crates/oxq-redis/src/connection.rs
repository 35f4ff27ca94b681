//! Connections: one managed, multiplexed connection for normal commands (auto-reconnect with
//! capped exponential backoff, a short response timeout so producers fail fast), and a pool of
//! dedicated connections for blocking commands, plus the checks run on connect.
//!
//! A blocking command (`BZPOPMIN`, `XREAD BLOCK`) takes a connection out of the pool for its
//! whole duration and gets a response timeout of its block time plus a margin (redis-rs ≥ 1.0
//! would otherwise time responses out after 500 ms). The connection goes back to the pool only
//! after a complete answer; a command that failed, timed out or whose future was dropped
//! mid-flight takes its connection with it, so no later command ever reads a stale reply.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{
    AsyncConnectionConfig, Client, ClientTlsConfig, FromRedisValue, IntoConnectionInfo,
    TlsCertificates,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::{RedisStoreError, StoreResult};
use crate::options::RedisOptions;

/// Schemes that connect over TLS.
const TLS_SCHEMES: &[&str] = &["rediss", "valkeys"];

/// Opens a client for `url` with the TLS settings of `options`, with a clear error for URLs and
/// settings this store cannot use.
pub(crate) fn client(url: &str, options: &RedisOptions) -> StoreResult<Client> {
    let url_error = |reason: String| RedisStoreError::Url {
        url: redact_password(url),
        reason,
    };
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .unwrap_or_default();
    let scheme = scheme.as_str();
    if scheme == "redis+cluster" || scheme == "rediss+cluster" {
        return Err(url_error(
            "Redis Cluster is not supported by this store yet; use redis:// or rediss://"
                .to_owned(),
        ));
    }
    if !crate::URL_SCHEMES.contains(&scheme) {
        return Err(url_error(format!(
            "unknown scheme {scheme:?}; expected one of {}",
            crate::URL_SCHEMES
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let tls = TLS_SCHEMES.contains(&scheme);
    if tls {
        // rustls needs a process-wide crypto provider; ring is the one compiled in. Another
        // provider installed first by the application is fine too.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let info = url
        .into_connection_info()
        .map_err(|e| url_error(e.to_string()))?;
    let client_cert = options.client_cert();
    if options.tls_root_ca.is_none() && client_cert.is_none() {
        return Client::open(info).map_err(|e| url_error(e.to_string()));
    }
    if !tls {
        return Err(url_error(
            "tls_root_ca and tls_client_cert need a rediss:// (or valkeys://) url".to_owned(),
        ));
    }
    if let Some(pem) = &options.tls_root_ca {
        check_has_certificate(pem, "tls_root_ca")?;
    }
    if let Some(cert) = client_cert {
        check_has_certificate(&cert.cert_chain, "tls_client_cert")?;
    }
    let certificates = TlsCertificates {
        client_tls: client_cert.map(|cert| ClientTlsConfig {
            client_cert: cert.cert_chain.clone(),
            client_key: cert.key.clone(),
        }),
        root_cert: options.tls_root_ca.clone(),
    };
    Client::build_with_tls(info, certificates).map_err(|e| RedisStoreError::TlsOption {
        reason: e.to_string(),
    })
}

/// Fails unless `pem` holds at least one well-formed certificate (redis-rs would accept an
/// empty CA list and then reject every server).
fn check_has_certificate(pem: &[u8], option: &str) -> StoreResult<()> {
    let mut found = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        cert.map_err(|e| RedisStoreError::TlsOption {
            reason: format!("{option}: {e}"),
        })?;
        found += 1;
    }
    if found == 0 {
        return Err(RedisStoreError::TlsOption {
            reason: format!("{option} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        });
    }
    Ok(())
}

/// Where `client` connects, for messages: `redis at host:port`, or `redis at <socket path>`.
/// Built from the parsed address, so it never holds a user name or password.
pub(crate) fn target(client: &Client) -> String {
    format!("redis at {}", client.get_connection_info().addr())
}

/// `url` with the password, if any, replaced by `***`, for error messages.
pub(crate) fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match user_info.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => url.to_owned(),
    }
}

/// The managed connection for normal commands.
pub(crate) async fn manager(
    client: Client,
    options: &RedisOptions,
) -> redis::RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(options.reconnect_retries)
        .set_exponent_base(2.0)
        .set_min_delay(Duration::from_millis(100))
        .set_max_delay(options.max_reconnect_delay)
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.command_timeout));
    ConnectionManager::new_with_config(client, config).await
}

/// Checks the server: Redis ≥ 6.2 (the scripts use `LMOVE`, `LPOS`, `ZADD GT`-era commands),
/// and warns when the eviction policy may delete job data.
pub(crate) async fn check_server(conn: &mut ConnectionManager) -> StoreResult<()> {
    let server: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    let version = info_field(&server, "valkey_version")
        .or_else(|| info_field(&server, "redis_version"))
        .unwrap_or_default();
    if !version_at_least(&version, (6, 2)) {
        return Err(RedisStoreError::ServerTooOld { found: version });
    }
    let memory: String = redis::cmd("INFO").arg("memory").query_async(conn).await?;
    if let Some(policy) = info_field(&memory, "maxmemory_policy")
        && policy != "noeviction"
    {
        tracing::warn!(
            policy = %policy,
            "Redis maxmemory-policy is {policy:?}, not \"noeviction\": under memory pressure Redis may evict job data and locks; set `maxmemory-policy noeviction`"
        );
    }
    Ok(())
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim().to_owned())
    })
}

fn version_at_least(version: &str, min: (u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= min
}

/// Dedicated connections for blocking commands.
pub(crate) struct BlockingPool {
    client: Client,
    idle: Mutex<Vec<MultiplexedConnection>>,
    connect_timeout: Duration,
    margin: Duration,
    max_idle: usize,
}

impl std::fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingPool")
            .field("margin", &self.margin)
            .field("max_idle", &self.max_idle)
            .finish_non_exhaustive()
    }
}

impl BlockingPool {
    pub(crate) fn new(client: Client, options: &RedisOptions) -> Self {
        Self {
            client,
            idle: Mutex::new(Vec::new()),
            connect_timeout: options.connect_timeout,
            margin: options.blocking_margin,
            max_idle: options.max_idle_blocking_connections,
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<MultiplexedConnection>> {
        match self.idle.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    async fn take(&self) -> StoreResult<MultiplexedConnection> {
        if let Some(conn) = self.idle().pop() {
            return Ok(conn);
        }
        Ok(self.open().await?)
    }

    async fn open(&self) -> redis::RedisResult<MultiplexedConnection> {
        // No response timeout on the connection itself: `query` bounds each command.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(None);
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// Opens one connection and pings it, so that refused credentials or a failed TLS handshake
    /// surface at once as [`RedisStoreError::Auth`] / [`RedisStoreError::Tls`] instead of after
    /// the managed connection's reconnect retries. The connection then joins the pool.
    pub(crate) async fn probe(&self) -> StoreResult<()> {
        let mut conn = self.open().await.map_err(RedisStoreError::on_connect)?;
        let ping = redis::cmd("PING");
        match tokio::time::timeout(self.margin, ping.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => {
                self.give_back(conn);
                Ok(())
            }
            Ok(Err(e)) => Err(RedisStoreError::on_connect(e)),
            Err(_) => Err(RedisStoreError::BlockingTimeout { command: "PING" }),
        }
    }

    fn give_back(&self, conn: MultiplexedConnection) {
        let mut idle = self.idle();
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    /// Runs a command that blocks up to `block` on a connection of its own.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        block: Duration,
        command: &'static str,
    ) -> StoreResult<T> {
        let mut conn = self.take().await?;
        match tokio::time::timeout(block + self.margin, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(value)) => {
                self.give_back(conn);
                Ok(value)
            }
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(RedisStoreError::BlockingTimeout { command }),
        }
    }
}

/// A shareable pool.
pub(crate) type SharedPool = Arc<BlockingPool>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert!(version_at_least("7.0.15", (6, 2)));
        assert!(version_at_least("6.2.0", (6, 2)));
        assert!(!version_at_least("6.0.9", (6, 2)));
        assert!(!version_at_least("", (6, 2)));
        assert_eq!(
            info_field("# Server\r\nredis_version:7.0.15\r\n", "redis_version").as_deref(),
            Some("7.0.15")
        );
    }

    fn defaults() -> RedisOptions {
        RedisOptions::default()
    }

    #[test]
    fn unsupported_urls_say_what_is_accepted() {
        let err = client("http://x", &defaults()).expect_err("rejected");
        assert!(err.to_string().contains("rediss"));
        let err = client("redis+cluster://x", &defaults()).expect_err("rejected");
        assert!(err.to_string().contains("Cluster"));
        assert!(client("redis://user:pw@127.0.0.1:6390/3", &defaults()).is_ok());
    }

    #[test]
    fn every_declared_scheme_is_accepted() {
        for scheme in crate::URL_SCHEMES {
            let url = if scheme.contains("unix") {
                format!("{scheme}:///tmp/oxq-redis.sock")
            } else {
                format!("{scheme}://127.0.0.1:6390/2")
            };
            let result = client(&url, &defaults());
            assert!(result.is_ok(), "{url}: {:?}", result.err());
        }
        assert!(
            client("VALKEY://127.0.0.1", &defaults()).is_ok(),
            "any case"
        );
        let err = client("http://x", &defaults()).expect_err("rejected");
        for scheme in crate::URL_SCHEMES {
            assert!(err.to_string().contains(&format!("{scheme}://")), "{err}");
        }
    }

    #[test]
    fn the_target_names_host_and_port_or_socket_and_never_the_password() {
        let target = |url: &str| target(&client(url, &defaults()).expect("a usable url"));
        assert_eq!(
            target("redis://oxq:hunter2@127.0.0.1:6390/3"),
            "redis at 127.0.0.1:6390"
        );
        assert_eq!(target("redis://:hunter2@cache"), "redis at cache:6379");
        assert_eq!(
            target("rediss://cache.internal:6380"),
            "redis at cache.internal:6380"
        );
        assert_eq!(
            target("redis+unix:///run/redis.sock"),
            "redis at /run/redis.sock"
        );
    }

    #[test]
    fn url_errors_do_not_show_the_password() {
        let err =
            client("redis://oxq:hunter2@127.0.0.1:notaport/3", &defaults()).expect_err("bad port");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(
            redact_password("rediss://oxq:s3cr:et@host:6380/3?x=1"),
            "rediss://oxq:***@host:6380/3?x=1"
        );
        assert_eq!(redact_password("redis://host/0"), "redis://host/0");
        assert_eq!(redact_password("redis://user@host"), "redis://user@host");
    }

    #[test]
    fn tls_options_need_rediss_and_a_certificate() {
        let ca = defaults().tls_root_ca(b"not a certificate".to_vec());
        let err = client("redis://127.0.0.1:6380", &ca).expect_err("plain url");
        assert!(err.to_string().contains("rediss://"), "{err}");
        let err = client("rediss://127.0.0.1:6380", &ca).expect_err("no certificate");
        assert!(err.to_string().contains("tls_root_ca"), "{err}");
        assert!(!err.is_transient());
    }
}
