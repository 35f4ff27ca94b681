//! The connection options, each against a real `redis-server` started here: `rediss://` with a
//! private CA (`RedisOptions::tls_root_ca`), a Redis ACL user and password, the database number
//! in the URL, the queue's key prefix, and mutual TLS (`RedisOptions::tls_client_cert`).
//!
//! Each test makes a throwaway CA and certificates with the `openssl` CLI in a temporary
//! directory and starts a TLS-only server on a free loopback port whose only user is
//! `oxq`/`secret` (the `default` user is off). They prove that:
//! * a queue under a custom prefix lands in the URL's database under `prefix:name:*` keys (and
//!   not in database 0), and a `Worker` processes its job to completed, all over TLS;
//! * a queue from `QueueRef::new` uses BullMQ's default prefix `bull`, so Node tools find it;
//! * a wrong or missing password fails at once with a non-transient error;
//! * TLS without the CA fails at once, and a plain `redis://` to the TLS port fails within the
//!   reconnect bounds instead of hanging;
//! * a server that verifies clients refuses a client without a certificate and accepts the one
//!   given with `tls_client_cert`.

mod support;

use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxq_core::{Error, Job, JobOptions, Queue, QueueRef, Result, Worker, WorkerOptions};
use oxq_redis::{RedisBackend, RedisOptions};
use redis::aio::MultiplexedConnection;
use support::eventually;

/// A failure that needs no retry (refused credentials, an untrusted certificate) comes this fast.
const AT_ONCE: Duration = Duration::from_secs(3);
/// Any failing connect returns within this, no hang: with the default options, one attempt and
/// then 6 retries whose backoff (100 ms doubling, plus up to as much jitter) totals ≤ 12.6 s.
const FAIL_WITHIN: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_over_tls_lands_in_the_url_database_under_its_prefix_and_is_processed() {
    let f = Fixture::start(ClientCerts::NotRequired);
    let backend = f.connect("oxq:secret@", 3).await.expect("connect over TLS");
    let queue: Queue<String> = Queue::from_ref(
        backend,
        QueueRef::with_prefix("myapp", "mail").expect("queue"),
    );
    let job = queue
        .add("welcome", "a@b.c".to_owned(), JobOptions::new())
        .await
        .expect("add");
    let id = job.id().to_string();

    let keys = f.keys(3).await;
    assert!(keys.contains(&format!("myapp:mail:{id}")), "{keys:?}");
    assert!(
        keys.iter().all(|k| k.starts_with("myapp:mail:")),
        "{keys:?}"
    );
    assert_eq!(
        f.keys(0).await,
        Vec::<String>::new(),
        "nothing in database 0"
    );

    let worker = Worker::start(
        &queue,
        WorkerOptions::new().drain_delay(Duration::from_millis(250)),
        |job: Job<String>| async move { Ok::<_, String>(format!("sent to {}", job.data())) },
    );
    eventually(Duration::from_secs(10), "the job to complete", || {
        let queue = queue.clone();
        async move { queue.counts().await.is_ok_and(|c| c.completed == 1) }
    })
    .await;
    worker.close().await.expect("close");
    let mut db3 = f.raw(3).await;
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg("myapp:mail:completed")
        .arg(&id)
        .query_async(&mut db3)
        .await
        .expect("ZSCORE");
    assert!(score.is_some(), "job {id} is in myapp:mail:completed");
    let returned: Option<String> = redis::cmd("HGET")
        .arg(format!("myapp:mail:{id}"))
        .arg("returnvalue")
        .query_async(&mut db3)
        .await
        .expect("HGET");
    assert_eq!(returned.as_deref(), Some("\"sent to a@b.c\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_from_queue_ref_new_uses_bullmqs_default_prefix() {
    let f = Fixture::start(ClientCerts::NotRequired);
    let backend = f.connect("oxq:secret@", 0).await.expect("connect");
    let queue: Queue<u32> = Queue::new(backend, "mail").expect("queue");
    assert_eq!(queue.queue_ref().prefix, "bull");
    let job = queue.add("n", 1, JobOptions::new()).await.expect("add");
    let keys = f.keys(0).await;
    assert!(
        keys.contains(&format!("bull:mail:{}", job.id())),
        "{keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_password_fails_at_once_and_is_not_transient() {
    let f = Fixture::start(ClientCerts::NotRequired);
    let cases = [
        ("oxq:hunter2@", 3, "refused the credentials"),
        ("nobody:secret@", 3, "refused the credentials"),
        ("", 0, "refused the credentials"), // NOAUTH on the first command
        // redis-rs reports the refused `SELECT` without NOAUTH's code; the server's reason stays
        ("", 3, "Authentication required"),
    ];
    for (user_info, db, says) in cases {
        let (took, result) = timed(f.connect(user_info, db)).await;
        let err = result.expect_err("refused");
        let case = format!("{:?}: {err}", f.url(user_info, db));
        assert!(!matches!(err, Error::Unavailable { .. }), "{case}");
        assert!(!err.is_transient(), "{case}");
        assert!(err.to_string().contains(says), "{case}");
        assert!(
            !err.to_string().contains("hunter2"),
            "password shown: {case}"
        );
        assert!(took < AT_ONCE, "took {took:?}: {case}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_without_the_private_ca_fails_at_once() {
    let f = Fixture::start(ClientCerts::NotRequired);
    let url = f.url("oxq:secret@", 3);
    // the public webpki roots do not trust the test CA
    let (took, result) = timed(oxq_redis::connect(&url, RedisOptions::default())).await;
    let err = result.expect_err("untrusted certificate");
    assert!(!err.is_transient(), "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
    assert!(took < AT_ONCE, "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_redis_to_the_tls_port_fails_instead_of_hanging() {
    let f = Fixture::start(ClientCerts::NotRequired);
    let url = format!("redis://oxq:secret@127.0.0.1:{}/3", f.server.port);
    let (took, result) = timed(tokio::time::timeout(
        FAIL_WITHIN,
        oxq_redis::connect(&url, RedisOptions::default()),
    ))
    .await;
    let result = result.unwrap_or_else(|_| panic!("still connecting after {FAIL_WITHIN:?}"));
    let err = result.expect_err("a plain client cannot talk to a TLS port");
    eprintln!("plain redis:// to the TLS port failed after {took:?}: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_presents_the_client_certificate() {
    let f = Fixture::start(ClientCerts::Required);
    let url = f.url("oxq:secret@", 3);
    let (took, result) = timed(tokio::time::timeout(
        FAIL_WITHIN,
        oxq_redis::connect(&url, f.options()),
    ))
    .await;
    let result = result.unwrap_or_else(|_| panic!("still connecting after {FAIL_WITHIN:?}"));
    let err = result.expect_err("the server wants a client certificate");
    // Usually at once, with the server's `CertificateRequired` alert; but the server closes
    // right after the alert, so a reset may overtake it and read as an outage (then retried).
    eprintln!("TLS without a client certificate failed after {took:?}: {err}");

    let options = f
        .options()
        .tls_client_cert(f.pki.read("client.crt"), f.pki.read("client.key"));
    let backend = oxq_redis::connect(&url, options)
        .await
        .expect("connect with the client certificate");
    let queue: Queue<u32> = Queue::new(backend, "mail").expect("queue");
    queue.add("n", 1, JobOptions::new()).await.expect("add");
    assert_eq!(queue.counts().await.expect("counts").waiting, 1);
}

// ---- helpers ----

/// Whether the server asks clients for a certificate (`--tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientCerts {
    NotRequired,
    Required,
}

/// A throwaway PKI and a TLS-only server using it.
struct Fixture {
    server: TlsServer, // dropped (killed) before its certificates are deleted
    pki: Pki,
}

impl Fixture {
    fn start(client_certs: ClientCerts) -> Self {
        let pki = Pki::create();
        let server = TlsServer::start(&pki, client_certs);
        Self { server, pki }
    }

    /// `rediss://{user_info}localhost:{port}/{db}`; `user_info` is `user:password@` or empty.
    fn url(&self, user_info: &str, db: u8) -> String {
        format!("rediss://{user_info}localhost:{}/{db}", self.server.port)
    }

    /// Default options trusting the test CA.
    fn options(&self) -> RedisOptions {
        RedisOptions::default().tls_root_ca(self.pki.read("ca.crt"))
    }

    async fn connect(&self, user_info: &str, db: u8) -> Result<Arc<RedisBackend>> {
        oxq_redis::connect(&self.url(user_info, db), self.options()).await
    }

    /// A plain redis-rs connection to database `db` over the same TLS, for checking raw keys.
    async fn raw(&self, db: u8) -> MultiplexedConnection {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(self.pki.read("ca.crt")),
        };
        redis::Client::build_with_tls(self.url("oxq:secret@", db), certificates)
            .expect("raw client")
            .get_multiplexed_async_connection()
            .await
            .expect("raw connection")
    }

    async fn keys(&self, db: u8) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut self.raw(db).await)
            .await
            .expect("KEYS");
        keys.sort();
        keys
    }
}

/// A CA plus a server certificate (for `localhost` and `127.0.0.1`) and a client certificate
/// signed by it, as PEM files in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn create() -> Self {
        let pki = Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        pki.openssl(&[
            "-subj",
            "/CN=oxq test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]);
        pki.signed("server", "DNS:localhost,IP:127.0.0.1", "serverAuth");
        pki.signed("client", "DNS:oxq-test-client", "clientAuth");
        pki
    }

    /// `{name}.crt` and `{name}.key`, signed by the CA.
    fn signed(&self, name: &str, alt_names: &str, usage: &str) {
        let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
        self.openssl(&[
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            &format!("subjectAltName={alt_names}"),
            "-addext",
            &format!("extendedKeyUsage={usage}"),
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            &key,
            "-out",
            &crt,
        ]);
    }

    /// `openssl req -x509` making a P-256 key and a certificate valid for two days.
    fn openssl(&self, args: &[&str]) {
        let output = Command::new("openssl")
            .args(["req", "-x509", "-new", "-nodes", "-days", "2"])
            .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run openssl ({e}): these tests make their certificates with it; \
                     install it (apt-get install openssl)"
                )
            });
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.path(file)).expect("a certificate file")
    }
}

/// A `redis-server` with TLS only (no plain port) on a free loopback port, its only user
/// `oxq`/`secret`; killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start(pki: &Pki, client_certs: ClientCerts) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let path = |file: &str| pki.path(file).display().to_string();
        let auth_clients = match client_certs {
            ClientCerts::NotRequired => "no",
            ClientCerts::Required => "yes",
        };
        let log = path("redis.log");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--bind", "127.0.0.1"])
            .args(["--tls-port", &port.to_string()])
            .args(["--tls-cert-file", &path("server.crt")])
            .args(["--tls-key-file", &path("server.key")])
            .args(["--tls-ca-cert-file", &path("ca.crt")])
            .args(["--tls-auth-clients", auth_clients])
            .args(["--user", "oxq", "on", ">secret", "~*", "&*", "+@all"])
            .args(["--user", "default", "off"])
            .args(["--save", "", "--appendonly", "no", "--dir", &path("")])
            .args(["--logfile", &log])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}); install it (apt-get install redis-server)")
            });
        let mut server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = server.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "redis-server with TLS did not start on port {port} (it needs TLS support, \
                     as Debian's build has); its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            // the server process is starting; nothing to wait on but its port
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `future` and says how long it took.
async fn timed<F: Future>(future: F) -> (Duration, F::Output) {
    let started = Instant::now();
    let output = future.await;
    (started.elapsed(), output)
}
