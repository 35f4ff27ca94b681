//! The pages a person uses: one HTML page, its script and its style, embedded in the binary
//! (files under `assets/`, no CDN, no build step), which draw everything from the JSON API;
//! and, for a token-guarded dashboard, the login form that turns the token into a cookie.
//!
//! Routes (below the dashboard's base path): `GET /` the page, `GET /assets/app.js`,
//! `GET /assets/app.css`, `POST /login` (form field `token`) and `POST /logout`. The page is
//! answered with the base path written into it, so its links work wherever an app nests the
//! router (axum serves a router nested under `/oxq` at `/oxq`, without a trailing slash).

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::auth::{TOKEN_COOKIE, base_of, token_cookie_value};
use crate::options::Auth;
use crate::state::DashboardState;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const LOGIN_HTML: &str = include_str!("../assets/login.html");

/// The page and its files load nothing from elsewhere and run no inline script, so job data
/// shown on it cannot run as code.
const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                           base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
/// The login form carries its own small style and posts only to the dashboard.
const LOGIN_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                            base-uri 'none'; \
                            frame-ancestors 'none'; form-action 'self'";

pub(crate) async fn index(OriginalUri(original): OriginalUri) -> Response {
    let base = base_of(original.path(), "/");
    let page = INDEX_HTML.replace("{{BASE}}", &escape(&base));
    with_policy(Html(page).into_response(), PAGE_POLICY)
}

/// The page's own path for a base path: `/` at the root, else the base without its slash
/// (where axum serves a nested router's `/`; a cookie with this path reaches every route).
fn page_path(base: &str) -> &str {
    match base.trim_end_matches('/') {
        "" => "/",
        path => path,
    }
}

pub(crate) async fn script() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

pub(crate) async fn style() -> Response {
    asset(APP_CSS, "text/css; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_policy(response, PAGE_POLICY)
}

fn with_policy(mut response: Response, policy: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The login form (401), posting to `{base}login`, with `error` above it when given.
pub(crate) fn login_page(base: &str, error: Option<&str>) -> Response {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let page = LOGIN_HTML
        .replace("{{ACTION}}", &escape(&format!("{base}login")))
        .replace("{{ERROR}}", &error);
    let mut response = (StatusCode::UNAUTHORIZED, Html(page)).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    with_policy(response, LOGIN_POLICY)
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    token: String,
}

/// Checks the typed token; sets the cookie and sends the browser to the page, or shows the
/// form again with why.
pub(crate) async fn login(
    State(state): State<DashboardState>,
    OriginalUri(original): OriginalUri,
    Form(form): Form<LoginForm>,
) -> Response {
    let base = base_of(original.path(), "/login");
    let Some(Auth::Token(token)) = &state.options.auth else {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({
                "error": "this dashboard has no login form: it asks for no token"
            })),
        )
            .into_response();
    };
    if !bool::from(form.token.as_bytes().ct_eq(token.as_bytes())) {
        tracing::info!("dashboard: a login with a wrong token");
        return login_page(&base, Some("That token is not the dashboard's token."));
    }
    let page = page_path(&base);
    let cookie = format!(
        "{TOKEN_COOKIE}={}; Path={page}; HttpOnly; SameSite=Strict",
        token_cookie_value(token)
    );
    with_cookie(Redirect::to(page).into_response(), &cookie)
}

/// Forgets the cookie and sends the browser back to the page (which shows the form again).
pub(crate) async fn logout(OriginalUri(original): OriginalUri) -> Response {
    let base = base_of(original.path(), "/logout");
    let page = page_path(&base);
    let cookie = format!("{TOKEN_COOKIE}=; Path={page}; HttpOnly; SameSite=Strict; Max-Age=0");
    with_cookie(Redirect::to(page).into_response(), &cookie)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    match HeaderValue::from_str(cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
            response
        }
        Err(_) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": "the dashboard's path cannot be set in a cookie" })),
        )
            .into_response(),
    }
}

/// `text` safe inside HTML text and attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_path_of_a_base() {
        assert_eq!(page_path("/"), "/");
        assert_eq!(page_path("/oxq/"), "/oxq");
        assert_eq!(page_path("/a/b/"), "/a/b");
    }

    #[test]
    fn text_put_in_the_login_page_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
