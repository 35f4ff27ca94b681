//! `oxq doctor` through the built binary: redis-servers started with a bad and a good
//! configuration, cluster mode and the key prefix, an unreachable server, and SQLite files that
//! are fresh, missing or damaged (exit 1 when a check fails, 0 with warnings unless --strict).

mod support;

use std::io::{Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Fixture, Run, expect_failure, run};

/// A redis-server started with extra settings, killed on drop.
struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start(settings: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = oxq_testkit::redis_server::free_port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(dir.path())
            .args(settings)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            // the server process is starting; nothing to wait on but its port
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn doctor(&self, args: &[&str]) -> Run {
        doctor(&format!("redis://127.0.0.1:{}", self.port), args)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn doctor(url: &str, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_oxq"));
    command
        .args(["--url", url, "doctor"])
        .args(args)
        .current_dir(dir.path())
        .env_remove("OXQ_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    run(command)
}

/// The status word of the line of check `name` (`ok`, `warn` or `fail`).
fn status_of<'a>(run: &'a Run, name: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|line| {
            line.split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
                .starts_with(name)
        })
        .and_then(|line| line.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {name} line in {run:?}"))
}

fn line_of<'a>(run: &'a Run, name: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|line| line.contains(name))
        .unwrap_or_else(|| panic!("no {name} line in {run:?}"))
}

#[test]
fn an_evicting_policy_fails_and_names_the_fix() {
    let redis = Redis::start(&["--maxmemory-policy", "allkeys-lru", "--appendonly", "no"]);
    let out = redis.doctor(&[]);
    assert_eq!(status_of(&out, "maxmemory-policy"), "fail", "{out:?}");
    let line = line_of(&out, "maxmemory-policy");
    assert!(
        line.contains("allkeys-lru") && line.contains("maxmemory-policy noeviction"),
        "{line}"
    );
    assert_eq!(status_of(&out, "persistence"), "warn", "{out:?}");
    assert!(line_of(&out, "persistence").contains("appendonly yes"));
    let err = expect_failure(out, 1, &["doctor", "allkeys-lru"]);
    assert!(
        err.contains("1 of 6 checks failed: maxmemory-policy"),
        "{err}"
    );
}

#[test]
fn noeviction_and_aof_pass_and_json_has_one_object_per_check() {
    let redis = Redis::start(&["--maxmemory-policy", "noeviction", "--appendonly", "yes"]);
    let out = redis.doctor(&[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(status_of(&out, "maxmemory-policy"), "ok", "{out:?}");
    assert_eq!(status_of(&out, "persistence"), "ok", "{out:?}");
    assert!(line_of(&out, "persistence").contains("appendfsync everysec"));
    assert_eq!(status_of(&out, "key prefix"), "ok", "{out:?}");
    assert_ne!(status_of(&out, "redis version"), "fail", "{out:?}");
    assert_eq!(status_of(&out, "clock skew"), "ok", "same host: {out:?}");

    let out = redis.doctor(&["--json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let checks: Value = serde_json::from_str(out.stdout.trim()).expect("doctor --json is JSON");
    let checks = checks.as_array().expect("an array of checks");
    let names: Vec<&str> = checks.iter().filter_map(|c| c["check"].as_str()).collect();
    assert_eq!(
        names,
        [
            "redis version",
            "maxmemory-policy",
            "persistence",
            "latency",
            "clock skew",
            "key prefix"
        ]
    );
    for check in checks {
        assert!(
            ["ok", "warn", "fail"].contains(&check["status"].as_str().unwrap_or("")),
            "{check}"
        );
        assert!(
            !check["detail"].as_str().unwrap_or("").is_empty(),
            "{check}"
        );
    }
    assert_eq!(checks[1]["status"], "ok");
}

#[test]
fn warnings_exit_zero_unless_strict() {
    let redis = Redis::start(&["--maxmemory-policy", "noeviction", "--appendonly", "no"]);
    let out = redis.doctor(&[]);
    assert_eq!(status_of(&out, "persistence"), "warn", "{out:?}");
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = redis.doctor(&["--strict"]);
    assert!(line_of(&out, "persistence").starts_with("warn"));
    let err = expect_failure(out, 1, &["doctor --strict"]);
    assert!(
        err.contains("checks failed or warned") && err.contains("persistence"),
        "{err}"
    );
}

#[test]
fn cluster_mode_needs_a_hash_tag_in_the_prefix() {
    let redis = Redis::start(&[
        "--maxmemory-policy",
        "noeviction",
        "--cluster-enabled",
        "yes",
    ]);
    let plain = redis.doctor(&[]);
    assert_eq!(status_of(&plain, "key prefix"), "fail", "{plain:?}");
    assert!(
        line_of(&plain, "key prefix").contains("{bull}"),
        "{plain:?}"
    );
    assert_eq!(plain.code, Some(1));

    let tagged = redis.doctor(&["--prefix", "{bull}"]);
    assert_eq!(status_of(&tagged, "key prefix"), "warn", "{tagged:?}");
}

#[test]
fn an_unreachable_redis_is_one_sentence_with_its_address() {
    let port = oxq_testkit::redis_server::free_port();
    let out = doctor(&format!("redis://127.0.0.1:{port}"), &[]);
    let err = expect_failure(out, 1, &["doctor unreachable"]);
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn a_fresh_sqlite_file_is_healthy() {
    let fx = Fixture::sqlite();
    fx.add("q", "1", &[]);
    let out = fx.run(&["doctor"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    for check in ["file", "journal mode", "synchronous", "integrity"] {
        assert_eq!(status_of(&out, check), "ok", "{check}: {out:?}");
    }
    assert!(line_of(&out, "journal mode").contains("wal"));
    assert_ne!(status_of(&out, "free disk"), "fail", "{out:?}");

    let out = fx.run(&["doctor", "--json"]);
    let checks: Value = serde_json::from_str(out.stdout.trim()).expect("doctor --json is JSON");
    assert_eq!(checks.as_array().map(Vec::len), Some(5), "{checks}");
    assert_eq!(checks[3]["check"], "integrity");
    assert_eq!(checks[3]["status"], "ok");
}

#[test]
fn a_missing_sqlite_file_fails_and_is_not_created() {
    let fx = Fixture::sqlite();
    let out = fx.run(&["doctor"]);
    assert_eq!(status_of(&out, "file"), "fail", "{out:?}");
    expect_failure(out, 1, &["doctor missing file"]);
    assert!(!fx.path("jobs.db").exists(), "doctor created the file");
}

#[test]
fn a_sqlite_file_with_a_garbage_header_fails_integrity() {
    let fx = Fixture::sqlite();
    fx.add("q", "1", &[]);
    checkpoint(&fx.path("jobs.db"));
    overwrite(&fx.path("jobs.db"), 0, 100);
    let out = fx.run(&["doctor"]);
    assert_eq!(status_of(&out, "integrity"), "fail", "{out:?}");
    assert!(
        line_of(&out, "integrity").contains("not a database"),
        "{out:?}"
    );
    let err = expect_failure(out, 1, &["doctor garbage header"]);
    assert!(err.contains("integrity"), "{err}");
}

#[test]
fn a_sqlite_file_with_damaged_pages_fails_integrity() {
    let fx = Fixture::sqlite();
    let lines: String = (0..500)
        .map(|n| format!("{{\"n\":{n},\"pad\":\"{}\"}}\n", "x".repeat(200)))
        .collect();
    std::fs::write(fx.path("jobs.jsonl"), lines).expect("write jobs");
    fx.ok(&["add", "--queue", "q", "--file", "jobs.jsonl"]);
    let db = fx.path("jobs.db");
    checkpoint(&db);
    let size = std::fs::metadata(&db).expect("db file").len();
    assert!(size > 16 * 4096, "{size} bytes: the jobs are in the file");
    // keep the schema (page 1) and the tables' root pages; damage the jobs' pages after them
    overwrite(&db, 30 * 4096, size - 34 * 4096);
    let out = fx.run(&["doctor"]);
    assert_eq!(status_of(&out, "journal mode"), "ok", "{out:?}");
    assert_eq!(status_of(&out, "integrity"), "fail", "{out:?}");
    let line = line_of(&out, "integrity");
    assert!(line.contains("quick_check found damage"), "{out:?}");
    assert_eq!(out.stdout.lines().count(), 5, "one line per check: {out:?}");
    expect_failure(out, 1, &["doctor damaged pages"]);
}

/// Moves every page from the WAL into the database file (python3's sqlite3, which these tests
/// use already), so damage written to the file hits pages SQLite reads.
fn checkpoint(db: &std::path::Path) {
    let status = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
             c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchall(); c.close()",
        )
        .arg(db)
        .status()
        .expect("python3 is installed");
    assert!(status.success(), "checkpoint {}", db.display());
}

/// Overwrites `len` bytes of `path` from `offset` with a pattern no page holds.
fn overwrite(path: &std::path::Path, offset: u64, len: u64) {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open db file");
    file.seek(SeekFrom::Start(offset)).expect("seek");
    let garbage = vec![0xA5_u8; usize::try_from(len).expect("len fits")];
    file.write_all(&garbage).expect("overwrite");
    file.sync_all().expect("sync");
}
