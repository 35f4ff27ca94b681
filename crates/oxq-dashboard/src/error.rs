//! The dashboard's errors: [`ApiError`], what a route answers (a status and `{"error": "..."}`),
//! and [`DashboardError`], why serving it alone failed.

use std::net::SocketAddr;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A route's failure, answered as a status code and `{"error": "<sentence>"}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("queue {0} not found")]
    QueueNotFound(String),
    #[error("job {id} not found in queue {queue}")]
    JobNotFound { queue: String, id: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("the dashboard is read-only")]
    ReadOnly,
    #[error("job data is hidden on this dashboard, so it cannot be searched")]
    DataHidden,
    #[error("a request from another site is refused (Sec-Fetch-Site: {0})")]
    CrossSite(String),
    #[error(transparent)]
    Store(#[from] oxq::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::QueueNotFound(_) | ApiError::JobNotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::ReadOnly | ApiError::DataHidden | ApiError::CrossSite(_) => {
                StatusCode::FORBIDDEN
            }
            ApiError::Store(error) => match error {
                oxq::Error::JobNotFound(_) => StatusCode::NOT_FOUND,
                oxq::Error::InvalidOptions(_) | oxq::Error::InvalidSchedule(_) => {
                    StatusCode::BAD_REQUEST
                }
                oxq::Error::JobNotInState { .. }
                | oxq::Error::Conflict(_)
                | oxq::Error::LockLost(_)
                | oxq::Error::PendingDependencies { .. } => StatusCode::CONFLICT,
                oxq::Error::Unsupported { .. } => StatusCode::NOT_IMPLEMENTED,
                oxq::Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "dashboard request failed");
        }
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// Why [`serve`](crate::serve) or [`BoundDashboard`](crate::BoundDashboard) could not serve.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(
        "refusing to listen on {addr} without auth: anyone who can reach it could read and \
         change the queues; give a token (or user and password), or listen on 127.0.0.1"
    )]
    NonLoopbackWithoutAuth { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the dashboard server stopped: {0}")]
    Serve(#[source] std::io::Error),
}
