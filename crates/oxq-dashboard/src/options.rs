//! [`DashboardOptions`]: who may use the dashboard ([`Auth`]), whether it may change anything,
//! whether it shows job data, which queues (their key prefix) it shows, which workers'
//! counters `/metrics` adds, and the clock the throughput series reads "now" from.

use std::sync::Arc;

use oxq::{Clock, SystemClock};

use crate::metrics::WorkerMetrics;

/// The credentials every route asks for.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: Bearer <token>`, or (for a browser) the cookie the pages' login form
    /// sets once the token is typed in.
    Token(String),
    /// `Authorization: Basic <base64 of user:password>` (a browser asks for them).
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Auth::Token(<hidden>)"),
            Auth::Basic { user, .. } => {
                write!(f, "Auth::Basic {{ user: {user:?}, password: <hidden> }}")
            }
        }
    }
}

/// How the dashboard is guarded and what it shows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DashboardOptions {
    /// Credentials every route asks for; `None`: anyone who reaches it (then [`serve`](crate::serve)
    /// listens only on a loopback address).
    pub auth: Option<Auth>,
    /// Refuse every action (retry, remove, promote, pause, resume, clean) with 403.
    pub read_only: bool,
    /// Leave out job data, return values and scheduler templates' data from every answer.
    pub hide_data: bool,
    /// The key prefix of the queues shown (BullMQ's `prefix`, `bull` by default).
    pub prefix: String,
    /// Counters fed by workers of this process, shown at `/metrics` beside the store's figures.
    pub worker_metrics: Option<WorkerMetrics>,
    /// Where "now" is read for the last hour's throughput (default: the system clock).
    pub clock: Arc<dyn Clock>,
}

impl Default for DashboardOptions {
    fn default() -> Self {
        Self {
            auth: None,
            read_only: false,
            hide_data: false,
            prefix: oxq::DEFAULT_PREFIX.to_owned(),
            worker_metrics: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl DashboardOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask every request for `Authorization: Bearer <token>`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::Token(token.into()));
        self
    }

    /// Ask every request for HTTP Basic credentials.
    pub fn user_password(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some(Auth::Basic {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    pub fn hide_data(mut self, hide_data: bool) -> Self {
        self.hide_data = hide_data;
        self
    }

    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Show these workers' counters at `/metrics` (see [`WorkerMetrics::listener`]).
    pub fn worker_metrics(mut self, metrics: WorkerMetrics) -> Self {
        self.worker_metrics = Some(metrics);
        self
    }

    /// Read "now" from `clock` (tests pass a [`ManualClock`](oxq::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}
