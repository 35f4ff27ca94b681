//! `dashboard --listen IP:PORT`: serves the oxq-dashboard Router (JSON API and metrics) over
//! the opened store until SIGINT or SIGTERM. The token comes from `--token`, else
//! `$OXQ_DASHBOARD_TOKEN`; an address other than loopback without one is a usage error.

use oxq_dashboard::{BoundDashboard, DashboardError, DashboardOptions};

use crate::args::DashboardArgs;
use crate::error::{CliError, CliResult};
use crate::store::Store;

pub async fn run(store: &Store, args: &DashboardArgs) -> CliResult<()> {
    let mut options = DashboardOptions::new()
        .prefix(store.prefix.clone())
        .read_only(args.read_only)
        .hide_data(args.hide_data);
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("OXQ_DASHBOARD_TOKEN").ok())
        .filter(|token| !token.is_empty());
    if let Some(token) = token {
        options = options.token(token);
    }
    let bound = BoundDashboard::bind(args.listen, store.backend.clone(), options)
        .await
        .map_err(cli_error)?;
    let addr = bound.local_addr().map_err(cli_error)?;
    eprintln!("oxq: dashboard on http://{addr}/ (JSON API under /api, metrics at /metrics)");
    bound.serve_until(stop_signal()).await.map_err(cli_error)
}

fn cli_error(error: DashboardError) -> CliError {
    match error {
        DashboardError::NonLoopbackWithoutAuth { .. } => CliError::Usage(error.to_string()),
        other => CliError::Failed(other.to_string()),
    }
}

/// Completes on SIGINT or SIGTERM.
async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot watch SIGTERM; stop the dashboard with SIGINT");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("dashboard stopping");
}
