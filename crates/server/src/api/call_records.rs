//! The call history: every call within the caller's scope or that they
//! were a party to — who called whom, who answered, declined or missed it,
//! who joined and left when, how long it lasted and how it ended. The calls
//! themselves are made over the live WebSocket (`crate::calls`).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shouwang_domain::FieldError;
use shouwang_domain::policy::Action;
use shouwang_store::{CallRecord, Party};
use utoipa::{IntoParams, ToSchema};

use super::json::ApiQuery;
use crate::auth::Authed;
use crate::error::AppResult;
use crate::state::AppState;

/// One party of a call.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyView {
    /// Account id.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// The post they were called at, if any.
    pub checkpoint_id: Option<i64>,
    /// `ringing`, `joined`, `declined`, `missed` or `left`.
    pub state: String,
    /// When they were rung (the caller: when the call started).
    pub invited_us: i64,
    /// When they first joined.
    pub joined_us: Option<i64>,
    /// When they last left.
    pub left_us: Option<i64>,
}

impl From<&Party> for PartyView {
    fn from(p: &Party) -> Self {
        Self {
            user_id: p.user.0,
            name: p.name.clone(),
            checkpoint_id: p.checkpoint.map(|c| c.0),
            state: p.state.as_str().to_owned(),
            invited_us: p.invited_us,
            joined_us: p.joined_us,
            left_us: p.left_us,
        }
    }
}

/// A call as the history shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    /// Id.
    pub id: String,
    /// `call`, `broadcast` or `inspection`.
    pub kind: String,
    /// Who called.
    pub caller_id: i64,
    /// Their name.
    pub caller_name: String,
    /// When it started.
    pub started_us: i64,
    /// When someone first answered.
    pub answered_us: Option<i64>,
    /// When it ended (none while it goes on).
    pub ended_us: Option<i64>,
    /// How long it lasted (or has lasted), in seconds.
    pub duration_s: i64,
    /// `answered`, `declined` or `missed`; none while it goes on.
    pub outcome: Option<String>,
    /// The caller first, then everyone rung.
    pub parties: Vec<PartyView>,
}

impl CallView {
    /// The view of `c` at `now`.
    pub fn of(c: &CallRecord, now: i64) -> Self {
        Self {
            id: c.id.to_string(),
            kind: c.kind.as_str().to_owned(),
            caller_id: c.caller.0,
            caller_name: c.party(c.caller).map(|p| p.name.clone()).unwrap_or_default(),
            started_us: c.started_us,
            answered_us: c.answered_us,
            ended_us: c.ended_us,
            duration_s: c.duration_us(now) / 1_000_000,
            outcome: c.outcome.map(|o| o.as_str().to_owned()),
            parties: c.parties.iter().map(PartyView::from).collect(),
        }
    }
}

/// Which calls.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CallsQuery {
    /// At most this many, newest first (1–500, default 100).
    pub limit: Option<i64>,
}

/// The calls `authed` may see, newest first.
pub async fn history(state: &AppState, authed: &Authed, q: &CallsQuery) -> AppResult<Vec<CallView>> {
    authed.may_here(Action::ReadEvents)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(FieldError::new("limit", "out_of_range").arg("min", 1).arg("max", 500).into());
    }
    let p = &authed.principal;
    let now = shouwang_store::now_us();
    Ok(state.store.calls_for(&p.scope, p.user_id, limit).await?.iter().map(|c| CallView::of(c, now)).collect())
}

/// The call history: calls within the caller's scope or that they were a
/// party to, newest first.
#[utoipa::path(get, path = "/api/v1/calls", tag = "events", params(CallsQuery),
    responses((status = 200, body = [CallView]), (status = 422, description = "limit out of range")))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<CallsQuery>,
) -> AppResult<Json<Vec<CallView>>> {
    Ok(Json(history(&state, &authed, &q).await?))
}
