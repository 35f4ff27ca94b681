//! Serving the dashboard alone: [`BoundDashboard`] binds a listener (refusing a non-loopback
//! address when no credentials are set) and serves [`router`](crate::router) on it; [`serve`]
//! does both and runs until the process ends.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::error::DashboardError;
use crate::options::DashboardOptions;

/// The dashboard bound to a listening socket, not yet serving.
#[derive(Debug)]
pub struct BoundDashboard {
    listener: TcpListener,
    router: Router,
}

impl BoundDashboard {
    /// Binds `addr` (port 0 picks a free one). A non-loopback address is refused with
    /// [`DashboardError::NonLoopbackWithoutAuth`] unless `options` has credentials.
    pub async fn bind(
        addr: SocketAddr,
        backend: Arc<dyn oxq::Backend>,
        options: DashboardOptions,
    ) -> Result<Self, DashboardError> {
        if options.auth.is_none() && !addr.ip().is_loopback() {
            return Err(DashboardError::NonLoopbackWithoutAuth { addr });
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| DashboardError::Bind { addr, source })?;
        Ok(Self {
            listener,
            router: crate::router(backend, options),
        })
    }

    /// The address it listens on (the port picked, when bound to port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, DashboardError> {
        self.listener.local_addr().map_err(DashboardError::Serve)
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn serve_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), DashboardError> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, "dashboard listening");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(DashboardError::Serve)
    }
}

/// Serves the dashboard on `addr` until the process ends; see [`BoundDashboard::bind`] for the
/// refusal of a non-loopback address without credentials.
pub async fn serve(
    addr: SocketAddr,
    backend: Arc<dyn oxq::Backend>,
    options: DashboardOptions,
) -> Result<(), DashboardError> {
    BoundDashboard::bind(addr, backend, options)
        .await?
        .serve_until(std::future::pending())
        .await
}
