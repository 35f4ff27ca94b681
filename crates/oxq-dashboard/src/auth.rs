//! The credentials check in front of every route: 401 (with `WWW-Authenticate`) unless the
//! request carries the token or user/password of [`DashboardOptions`](crate::DashboardOptions).
//! A browser carries the token in the cookie the login form sets ([`TOKEN_COOKIE`]); asking
//! for the page without it answers the login form, and a browser asks for a user/password by
//! itself (Basic). Secrets are compared in constant time. [`refuse_cross_site`] keeps other
//! sites' pages from making a logged-in browser act (a browser resends Basic credentials).

use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::options::Auth;
use crate::pages;
use crate::state::DashboardState;

/// The cookie the login form sets: the token, base64url-encoded (HttpOnly, SameSite=Strict,
/// scoped to the dashboard's path).
pub(crate) const TOKEN_COOKIE: &str = "oxq_dashboard_token";

pub(crate) async fn require_credentials(
    State(state): State<DashboardState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(auth) = &state.options.auth else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if given.is_some_and(|given| accepts(auth, given)) || cookie_accepted(auth, request.headers()) {
        return next.run(request).await;
    }
    if matches!(auth, Auth::Token(_))
        && request.method() == Method::GET
        && request.uri().path() == "/"
    {
        let base = dashboard_base(&request);
        return pages::login_page(&base, None);
    }
    let challenge = match auth {
        Auth::Token(_) => "Bearer",
        Auth::Basic { .. } => "Basic realm=\"oxq\"",
    };
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({ "error": "missing or wrong credentials" })),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// Whether the `Authorization` header value `given` carries the expected credentials.
fn accepts(auth: &Auth, given: &str) -> bool {
    let (scheme, value) = given.trim().split_once(' ').unwrap_or((given, ""));
    let value = value.trim();
    match auth {
        Auth::Token(token) => {
            scheme.eq_ignore_ascii_case("bearer") && same(value.as_bytes(), token.as_bytes())
        }
        Auth::Basic { user, password } => {
            if !scheme.eq_ignore_ascii_case("basic") {
                return false;
            }
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value) else {
                return false;
            };
            let expected = format!("{user}:{password}");
            same(&decoded, expected.as_bytes())
        }
    }
}

/// Whether the request carries the login form's cookie with the expected token.
fn cookie_accepted(auth: &Auth, headers: &HeaderMap) -> bool {
    let Auth::Token(token) = auth else {
        return false;
    };
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == TOKEN_COOKIE)
        .any(|(_, value)| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(value.trim())
                .is_ok_and(|decoded| same(&decoded, token.as_bytes()))
        })
}

/// The cookie value carrying `token`.
pub(crate) fn token_cookie_value(token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token)
}

/// The path the dashboard is served under, ending in `/` (`/` alone, or `/oxq/` when the app
/// nests the router under `/oxq`): the request's path as the client sent it, less the part
/// the dashboard's router sees.
pub(crate) fn dashboard_base(request: &Request) -> String {
    let inner = request.uri().path();
    let original = request
        .extensions()
        .get::<OriginalUri>()
        .map_or(inner, |uri| uri.path());
    base_of(original, inner)
}

pub(crate) fn base_of(original: &str, inner: &str) -> String {
    let outer = original.strip_suffix(inner).unwrap_or(original);
    format!("{}/", outer.trim_end_matches('/'))
}

/// 403 for a request that changes something (any method but GET/HEAD) sent by another site's
/// page, as the browser's `Sec-Fetch-Site` says; requests without the header (API clients,
/// older browsers) pass.
pub(crate) async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return next.run(request).await;
    }
    let site = request
        .headers()
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none");
    if site == "same-origin" || site == "none" {
        next.run(request).await
    } else {
        ApiError::CrossSite(site.to_owned()).into_response()
    }
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_or_a_user_password_is_checked_whole() {
        let token = Auth::Token("s3cret".into());
        assert!(accepts(&token, "Bearer s3cret"));
        assert!(accepts(&token, "bearer s3cret"));
        assert!(!accepts(&token, "Bearer s3cre"));
        assert!(!accepts(&token, "Bearer s3cret2"));
        assert!(!accepts(&token, "s3cret"));
        let basic = Auth::Basic {
            user: "ada".into(),
            password: "pw".into(),
        };
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("ada:pw")
        );
        assert!(accepts(&basic, &header));
        assert!(!accepts(&basic, "Basic YWRhOnB4"));
        assert!(!accepts(&basic, "Bearer pw"));
    }

    #[test]
    fn the_login_cookie_carries_the_token() {
        let token = Auth::Token("s3;cret".into());
        let cookie = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::COOKIE,
                HeaderValue::from_str(value).expect("a header"),
            );
            headers
        };
        let good = format!("a=b; {TOKEN_COOKIE}={}", token_cookie_value("s3;cret"));
        assert!(cookie_accepted(&token, &cookie(&good)));
        let wrong = format!("{TOKEN_COOKIE}={}", token_cookie_value("s3;cre"));
        assert!(!cookie_accepted(&token, &cookie(&wrong)));
        assert!(!cookie_accepted(&token, &cookie("other=x")));
        let basic = Auth::Basic {
            user: "ada".into(),
            password: "s3;cret".into(),
        };
        assert!(!cookie_accepted(&basic, &cookie(&good)));
    }

    #[test]
    fn the_base_path_is_where_the_app_nests_the_dashboard() {
        assert_eq!(base_of("/", "/"), "/");
        assert_eq!(base_of("/api/queues", "/api/queues"), "/");
        assert_eq!(base_of("/oxq/", "/"), "/oxq/");
        assert_eq!(base_of("/oxq", "/"), "/oxq/");
        assert_eq!(base_of("/oxq/login", "/login"), "/oxq/");
    }
}
