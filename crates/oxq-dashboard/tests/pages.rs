//! The pages through real HTTP requests: the page and its embedded files, the token login
//! form and its cookie, Basic auth left to the browser, actions from another site refused, and
//! the dashboard nested under a path of a user's own axum app. On a temp SQLite file (the
//! pages read the store only through the API, which tests/api.rs runs on both stores).

mod support;

use std::net::SocketAddr;

use axum::http::{Method, StatusCode, header};
use base64::Engine;
use oxq_dashboard::DashboardOptions;
use support::{Served, TestStore, seed};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

fn header_of(response: &support::Response, name: header::HeaderName) -> String {
    response
        .headers
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header: {:?}", response.headers))
        .to_owned()
}

/// `name=value` of a `Set-Cookie` header, for a `Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .expect("a cookie")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_files_are_embedded() {
    let store = TestStore::sqlite().await;
    let dashboard = Served::start(&store.backend, DashboardOptions::new()).await;

    let page = dashboard.get("/").await.expect(StatusCode::OK);
    assert!(header_of(&page, header::CONTENT_TYPE).starts_with("text/html"));
    assert!(
        page.text.contains("<script src=\"/assets/app.js\""),
        "{}",
        page.text
    );
    assert!(page.text.contains("href=\"/assets/app.css\""));
    let policy = header_of(&page, header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("default-src 'self'"), "{policy}");

    let script = dashboard.get("/assets/app.js").await.expect(StatusCode::OK);
    assert!(header_of(&script, header::CONTENT_TYPE).starts_with("text/javascript"));
    assert!(
        script.text.contains("search/data?text="),
        "the script uses the data search"
    );
    assert!(
        script.text.contains("/throughput"),
        "the script draws the throughput"
    );
    let style = dashboard
        .get("/assets/app.css")
        .await
        .expect(StatusCode::OK);
    assert!(header_of(&style, header::CONTENT_TYPE).starts_with("text/css"));

    let config = dashboard
        .get("/api/config")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(config["read_only"], false);
    assert_eq!(config["hide_data"], false);
    assert_eq!(config["store"], "sqlite");
    assert_eq!(config["prefix"], "bull");
    assert_eq!(config["auth"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_dashboard_logs_a_browser_in_with_a_cookie() {
    let store = TestStore::sqlite().await;
    seed(&store.backend).await;
    let dashboard = Served::start(&store.backend, DashboardOptions::new().token("s3 cret;")).await;

    // the page without credentials is the login form; the API is a plain 401
    let form = dashboard.get("/").await.expect(StatusCode::UNAUTHORIZED);
    assert!(header_of(&form, header::CONTENT_TYPE).starts_with("text/html"));
    assert!(form.text.contains("action=\"/login\""), "{}", form.text);
    assert!(form.text.contains("name=\"token\""));
    dashboard
        .get("/api/queues")
        .await
        .expect(StatusCode::UNAUTHORIZED);
    dashboard
        .get("/assets/app.js")
        .await
        .expect(StatusCode::UNAUTHORIZED);

    let wrong = dashboard
        .send(Method::POST, "/login", &[FORM], "token=s3+cret")
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert!(wrong.text.contains("not the dashboard"), "{}", wrong.text);
    assert!(!wrong.headers.contains_key(header::SET_COOKIE));

    let right = dashboard
        .send(Method::POST, "/login", &[FORM], "token=s3+cret%3B")
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(header_of(&right, header::LOCATION), "/");
    let set_cookie = header_of(&right, header::SET_COOKIE);
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("s3 cret"),
        "the token is encoded: {set_cookie}"
    );
    let cookie = cookie_pair(&set_cookie);

    // the cookie opens the page, the API and the actions
    let with_cookie = [("cookie", cookie.as_str())];
    let page = dashboard
        .send(Method::GET, "/", &with_cookie, "")
        .await
        .expect(StatusCode::OK);
    assert!(page.text.contains("assets/app.js"));
    let queues = dashboard
        .send(Method::GET, "/api/queues", &with_cookie, "")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(queues.as_array().map(Vec::len), Some(2), "{queues}");
    dashboard
        .send(Method::POST, "/api/queues/emails/pause", &with_cookie, "")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        dashboard
            .send(Method::GET, "/api/config", &with_cookie, "")
            .await
            .json["auth"],
        "token"
    );
    // a cookie with another token opens nothing
    dashboard
        .send(
            Method::GET,
            "/api/queues",
            &[("cookie", "oxq_dashboard_token=czNjcmV0")],
            "",
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);

    let logout = dashboard
        .send(Method::POST, "/logout", &with_cookie, "")
        .await
        .expect(StatusCode::SEE_OTHER);
    assert!(header_of(&logout, header::SET_COOKIE).contains("Max-Age=0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_password_dashboard_lets_the_browser_ask() {
    let store = TestStore::sqlite().await;
    let dashboard = Served::start(
        &store.backend,
        DashboardOptions::new().user_password("ada", "pw"),
    )
    .await;
    let asked = dashboard.get("/").await.expect(StatusCode::UNAUTHORIZED);
    assert_eq!(
        header_of(&asked, header::WWW_AUTHENTICATE),
        "Basic realm=\"oxq\""
    );
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ada:pw")
    );
    let page = dashboard
        .call(Method::GET, "/", Some(&basic))
        .await
        .expect(StatusCode::OK);
    assert!(page.text.contains("assets/app.js"));
    // no login form: the browser asks for the user and password itself
    dashboard
        .send(Method::POST, "/login", &[FORM], "token=pw")
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_sent_by_another_site_are_refused() {
    let store = TestStore::sqlite().await;
    seed(&store.backend).await;
    let dashboard = Served::start(&store.backend, DashboardOptions::new()).await;
    for site in ["cross-site", "same-site"] {
        let refused = dashboard
            .send(
                Method::POST,
                "/api/queues/emails/pause",
                &[("sec-fetch-site", site)],
                "",
            )
            .await
            .expect(StatusCode::FORBIDDEN);
        assert!(
            refused.json["error"]
                .as_str()
                .is_some_and(|e| e.contains(site))
        );
    }
    let queue = dashboard
        .get("/api/queues/emails")
        .await
        .expect(StatusCode::OK);
    assert_eq!(queue.json["paused"], false, "nothing was paused");
    // reads from anywhere are fine, and the page's own requests act
    dashboard
        .send(
            Method::GET,
            "/api/queues",
            &[("sec-fetch-site", "cross-site")],
            "",
        )
        .await
        .expect(StatusCode::OK);
    dashboard
        .send(
            Method::POST,
            "/api/queues/emails/pause",
            &[("sec-fetch-site", "same-origin")],
            "",
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        dashboard.get("/api/queues/emails").await.json["paused"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_under_a_path_of_an_app() {
    let store = TestStore::sqlite().await;
    seed(&store.backend).await;
    let dashboard =
        oxq_dashboard::router(store.backend.clone(), DashboardOptions::new().token("t"));
    let app = axum::Router::new().nest("/oxq", dashboard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr: SocketAddr = listener.local_addr().expect("its address");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let served = support::Served::at(addr);

    // axum serves a router nested under /oxq at /oxq
    let form = served.get("/oxq").await.expect(StatusCode::UNAUTHORIZED);
    assert!(form.text.contains("action=\"/oxq/login\""), "{}", form.text);
    let login = served
        .send(Method::POST, "/oxq/login", &[FORM], "token=t")
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(header_of(&login, header::LOCATION), "/oxq");
    let set_cookie = header_of(&login, header::SET_COOKIE);
    assert!(set_cookie.contains("Path=/oxq;"), "{set_cookie}");
    let cookie = cookie_pair(&set_cookie);
    let with_cookie = [("cookie", cookie.as_str())];

    // the page links its files and the API under /oxq/
    let page = served
        .send(Method::GET, "/oxq", &with_cookie, "")
        .await
        .expect(StatusCode::OK);
    assert!(
        page.text.contains("src=\"/oxq/assets/app.js\""),
        "{}",
        page.text
    );
    assert!(page.text.contains("content=\"/oxq/\""), "{}", page.text);
    served
        .send(Method::GET, "/oxq/assets/app.js", &with_cookie, "")
        .await
        .expect(StatusCode::OK);
    served
        .send(Method::GET, "/oxq/api/queues", &with_cookie, "")
        .await
        .expect(StatusCode::OK);
    server.abort();
}
