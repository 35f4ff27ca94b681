//! The credentials check in front of every route: 401 (with `WWW-Authenticate`) unless the
//! request carries the token or user/password of [`DashboardOptions`](crate::DashboardOptions).
//! Secrets are compared in constant time.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::options::Auth;
use crate::state::DashboardState;

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
    if given.is_some_and(|given| accepts(auth, given)) {
        return next.run(request).await;
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
}
