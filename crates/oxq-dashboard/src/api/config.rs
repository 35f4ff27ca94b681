//! `GET /api/config`: what the pages need to know about this dashboard (whether it offers
//! actions, hides data, which store and prefix it shows, how it is guarded).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::options::Auth;
use crate::state::DashboardState;

pub(crate) async fn show(State(state): State<DashboardState>) -> Json<Value> {
    let options = &state.options;
    let auth = options.auth.as_ref().map(|auth| match auth {
        Auth::Token(_) => "token",
        Auth::Basic { .. } => "basic",
    });
    Json(json!({
        "read_only": options.read_only,
        "hide_data": options.hide_data,
        "store": state.backend.kind(),
        "prefix": options.prefix,
        "auth": auth,
    }))
}
