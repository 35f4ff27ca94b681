//! oxq's dashboard as an axum [`Router`](axum::Router): pages a person uses at `/`, a JSON
//! API under `/api` and Prometheus metrics at `/metrics`, over any store
//! (`Arc<dyn oxq::Backend>`).
//!
//! Mount [`router`] in your own axum app (as Bull Board mounts in Express), or let
//! [`serve`] / [`BoundDashboard`] serve it alone (`oxq dashboard --listen 127.0.0.1:PORT`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use oxq_dashboard::{DashboardOptions, router};
//! let backend = oxq::connect("sqlite://oxq.db").await?;
//! let dashboard = router(backend, DashboardOptions::new().token("s3cret").read_only(true));
//! let app = axum::Router::new().nest("/oxq", dashboard);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! Every route asks for the credentials of [`DashboardOptions`] when it has some (401
//! without); a browser opening the page of a token-guarded dashboard gets a login form that
//! sets a cookie, and asks for a user/password by itself. A read-only dashboard answers its
//! actions with 403 and its pages show none. The routes are listed in [`api`] and the README's
//! "Dashboard API and metrics" section.

pub mod api;
mod auth;
mod error;
pub mod metrics;
mod options;
mod pages;
mod serve;
mod state;

pub use error::{ApiError, DashboardError};
pub use metrics::WorkerMetrics;
pub use options::{Auth, DashboardOptions};
pub use serve::{BoundDashboard, serve};

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

/// The dashboard's routes (the pages, `/api/...` and `/metrics`) over `backend`, guarded as
/// `options` say.
pub fn router(backend: Arc<dyn oxq::Backend>, options: DashboardOptions) -> Router {
    let state = state::DashboardState::new(backend, options);
    Router::new()
        .route("/", get(pages::index))
        .route("/assets/app.js", get(pages::script))
        .route("/assets/app.css", get(pages::style))
        .nest("/api", api::routes(state.clone()))
        .route("/metrics", get(metrics::scrape))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_credentials,
        ))
        .route("/login", post(pages::login))
        .route("/logout", post(pages::logout))
        .layer(axum::middleware::from_fn(auth::refuse_cross_site))
        .with_state(state)
}
