//! `oxq dashboard` through the built binary: it refuses a non-loopback address without a
//! token, and serves the JSON API and metrics (token required) until SIGTERM, on both stores.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use support::{Fixture, signal};

on_both_stores!(
    a_non_loopback_address_without_a_token_is_a_usage_error,
    it_serves_the_api_and_metrics_with_the_token_until_sigterm,
);

fn a_non_loopback_address_without_a_token_is_a_usage_error(fx: &Fixture) {
    let sentence = fx.fails(&["dashboard", "--listen", "0.0.0.0:0"], 2);
    assert!(
        sentence.contains("refusing to listen on 0.0.0.0:0 without auth"),
        "{sentence}"
    );
}

/// A GET over HTTP/1.1; answers the status code and the body.
fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the dashboard");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_owned());
    (status, body)
}

fn it_serves_the_api_and_metrics_with_the_token_until_sigterm(fx: &Fixture) {
    fx.add("emails", r#"{"to":"a@example.com"}"#, &[]);
    let mut dashboard = fx.spawn(&[
        "dashboard",
        "--listen",
        "127.0.0.1:0",
        "--token",
        "t0ken",
        "--read-only",
    ]);
    let stderr = dashboard.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the dashboard prints its address before serving")
            .expect("read stderr");
        if let Some(rest) = line.strip_prefix("oxq: dashboard on http://") {
            break rest.split('/').next().unwrap_or_default().to_owned();
        }
    };

    assert_eq!(get(&addr, "/api/queues", None).0, 401);
    let (status, body) = get(&addr, "/api/queues", Some("t0ken"));
    assert_eq!(status, 200, "{body}");
    let queues: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(queues[0]["name"], "emails", "{body}");
    assert_eq!(queues[0]["counts"]["waiting"], 1, "{body}");
    let (status, metrics) = get(&addr, "/metrics", Some("t0ken"));
    assert_eq!(status, 200, "{metrics}");
    assert!(
        metrics.contains(r#"oxq_jobs{queue="emails",state="waiting"} 1"#),
        "{metrics}"
    );

    signal(&dashboard, "TERM");
    let status = dashboard.wait().expect("the dashboard exits");
    assert_eq!(status.code(), Some(0), "{status:?}");
}
