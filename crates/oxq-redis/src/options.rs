//! [`RedisOptions`]: how the Redis store connects and how long it waits.

use std::fmt;
use std::time::Duration;

/// Settings of a [`RedisBackend`](crate::RedisBackend); [`RedisOptions::default`] suits most uses.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `command_timeout` | 5 s | a normal command (adds, fetches, finishes) fails with `Unavailable` after this |
/// | `connect_timeout` | 5 s | one connection attempt |
/// | `reconnect_retries` | 6 | reconnect attempts per outage before a command reports the outage |
/// | `max_reconnect_delay` | 5 s | cap of the exponential backoff between reconnect attempts |
/// | `blocking_margin` | 5 s | a blocking wait (`BZPOPMIN`, `XREAD BLOCK`) gets its block time plus this to answer |
/// | `max_idle_blocking_connections` | 16 | idle blocking connections kept for reuse |
/// | `add_batch` | 500 | jobs per add script call (a bulk add of more jobs makes several calls) |
/// | `check_server` | true | check the server version and eviction policy on connect |
/// | `tls_root_ca` | none | PEM certificate(s) of the CA that signed the server's certificate, for `rediss://` with a private CA; when set, only these are trusted (not the public webpki roots) |
/// | `tls_client_cert` | none | PEM certificate chain and private key presented to the server (mutual TLS, `tls-auth-clients yes`) |
///
/// Every option has a builder method of the same name, so the options can be set from outside
/// this crate (e.g. through the `oxq` facade's `ConnectOptions`):
///
/// ```
/// use std::time::Duration;
/// # let (ca_pem, cert_pem, key_pem) = (Vec::<u8>::new(), Vec::<u8>::new(), Vec::<u8>::new());
/// let options = oxq_redis::RedisOptions::default()
///     .command_timeout(Duration::from_secs(2))
///     .connect_timeout(Duration::from_secs(1))
///     .tls_root_ca(ca_pem) // e.g. std::fs::read("ca.crt")?
///     .tls_client_cert(cert_pem, key_pem);
/// # let _ = options;
/// ```
///
/// The TLS options need a `rediss://` (or `valkeys://`) URL. User name, password and database number are part of
/// the URL (`rediss://user:password@host:port/db`); the key prefix is the queue's
/// (`QueueRef::with_prefix`, default `bull`).
#[derive(Clone)]
#[non_exhaustive]
pub struct RedisOptions {
    pub command_timeout: Duration,
    pub connect_timeout: Duration,
    pub reconnect_retries: usize,
    pub max_reconnect_delay: Duration,
    pub blocking_margin: Duration,
    pub max_idle_blocking_connections: usize,
    pub add_batch: usize,
    pub check_server: bool,
    /// PEM bytes of the certificate(s) trusted to sign the server's certificate.
    pub tls_root_ca: Option<Vec<u8>>,
    tls_client_cert: Option<ClientCert>,
}

/// A client certificate chain and its private key, both PEM. Its `Debug` shows no key material.
#[derive(Clone)]
pub(crate) struct ClientCert {
    pub(crate) cert_chain: Vec<u8>,
    pub(crate) key: Vec<u8>,
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured without `..`: a new field must be added here too.
        let Self {
            command_timeout,
            connect_timeout,
            reconnect_retries,
            max_reconnect_delay,
            blocking_margin,
            max_idle_blocking_connections,
            add_batch,
            check_server,
            tls_root_ca,
            tls_client_cert,
        } = self;
        f.debug_struct("RedisOptions")
            .field("command_timeout", command_timeout)
            .field("connect_timeout", connect_timeout)
            .field("reconnect_retries", reconnect_retries)
            .field("max_reconnect_delay", max_reconnect_delay)
            .field("blocking_margin", blocking_margin)
            .field(
                "max_idle_blocking_connections",
                max_idle_blocking_connections,
            )
            .field("add_batch", add_batch)
            .field("check_server", check_server)
            .field(
                "tls_root_ca",
                &tls_root_ca
                    .as_ref()
                    .map(|pem| format!("{} bytes of PEM", pem.len())),
            )
            .field("tls_client_cert", &tls_client_cert.as_ref().map(|_| "set"))
            .finish()
    }
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            command_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            reconnect_retries: 6,
            max_reconnect_delay: Duration::from_secs(5),
            blocking_margin: Duration::from_secs(5),
            max_idle_blocking_connections: 16,
            add_batch: 500,
            check_server: true,
            tls_root_ca: None,
            tls_client_cert: None,
        }
    }
}

impl RedisOptions {
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }

    pub fn max_reconnect_delay(mut self, delay: Duration) -> Self {
        self.max_reconnect_delay = delay;
        self
    }

    pub fn blocking_margin(mut self, margin: Duration) -> Self {
        self.blocking_margin = margin;
        self
    }

    pub fn max_idle_blocking_connections(mut self, connections: usize) -> Self {
        self.max_idle_blocking_connections = connections;
        self
    }

    pub fn add_batch(mut self, jobs: usize) -> Self {
        self.add_batch = jobs.max(1);
        self
    }

    pub fn check_server(mut self, check: bool) -> Self {
        self.check_server = check;
        self
    }

    /// Trusts the CA certificate(s) in `pem` (the contents of a `.pem`/`.crt` file, e.g. Redis's
    /// `tls-ca-cert-file`) for a `rediss://` URL, instead of the public webpki roots.
    pub fn tls_root_ca(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root_ca = Some(pem.into());
        self
    }

    /// Presents this client certificate chain and private key (both PEM) to the server, for
    /// servers that verify clients (`tls-auth-clients yes`).
    pub fn tls_client_cert(
        mut self,
        cert_chain_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls_client_cert = Some(ClientCert {
            cert_chain: cert_chain_pem.into(),
            key: key_pem.into(),
        });
        self
    }

    /// The client certificate set with [`RedisOptions::tls_client_cert`].
    pub(crate) fn client_cert(&self) -> Option<&ClientCert> {
        self.tls_client_cert.as_ref()
    }
}
