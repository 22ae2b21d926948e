//! `GET /api/v1/board`: the command board's picture of the caller's scope
//! right now — every post with its staffing, people present, last activity,
//! screenings today and open incidents, and the headline figures — with the
//! id of the newest event it reflects, so that a client can follow the live
//! stream from exactly there (`/api/v1/live?after=`) and miss nothing.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use shouwang_domain::checkpoint::CheckpointStatus;
use shouwang_domain::policy::Action;
use shouwang_domain::screening::Outcome as Verdict;
use shouwang_domain::supplies::{ResupplyFilter, ResupplyState};
use shouwang_domain::{EventId, ScopePath};
use shouwang_store::{EventFilter, Grain};
use utoipa::ToSchema;

use super::screenings::local_day_start;
use crate::auth::Authed;
use crate::error::AppResult;
use crate::state::AppState;

const DAY_US: i64 = 86_400_000_000;

/// One post on the board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardPost {
    /// Id.
    pub id: i64,
    /// Code, e.g. `ZYG-01`.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// The township (or other unit) it belongs to.
    pub township: String,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// `active`, `suspended`, `closed`.
    pub status: String,
    /// `staffed`, `understaffed`, `unstaffed`, `no_signal`, `suspended`.
    pub staffing: String,
    /// What the marker shows: the staffing, or `alert` while an incident is
    /// open at a running post.
    pub state: String,
    /// People checked in.
    pub present: i64,
    /// People required per shift.
    pub required: i64,
    /// The last screening logged there (µs), if any.
    pub last_activity_us: Option<i64>,
    /// Screenings since local midnight.
    pub screenings_today: i64,
    /// Open incidents.
    pub open_incidents: i64,
    /// Alerts at this post not yet resolved.
    pub open_alerts: i64,
    /// The call this post is in now (rung or talking), if any.
    pub active_call: Option<String>,
    /// When a phone there last delivered its outbox (µs), if ever.
    pub last_sync_us: Option<i64>,
    /// Records from there that arrived late (entered offline).
    pub late_records: i64,
    /// Server clock minus the phone's at the last sync (µs); a phone clock
    /// off by more than [`CLOCK_SKEW_FLAG_US`] is flagged on the board.
    pub clock_skew_us: i64,
}

/// A phone clock further off than this (5 minutes) is flagged.
pub const CLOCK_SKEW_FLAG_US: i64 = 300_000_000;

/// The headline figures of the scope.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Headline {
    /// Posts running (not suspended or closed).
    pub posts_running: i64,
    /// Of those, staffed.
    pub posts_staffed: i64,
    /// People checked in at the posts.
    pub on_duty: i64,
    /// Screenings since local midnight.
    pub screenings_today: i64,
    /// Of those, by outcome.
    pub today_by_outcome: BTreeMap<String, i64>,
    /// Open incidents.
    pub open_incidents: i64,
    /// Resupply requests waiting for a decision.
    pub pending_resupply: i64,
    /// Alerts not yet resolved.
    pub open_alerts: i64,
}

/// The board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Board {
    /// The newest event this picture reflects: follow the live stream from
    /// here.
    pub last_event_id: i64,
    /// Start of the local day the "today" figures count from (µs).
    pub today_us: i64,
    /// The posts, by code.
    pub posts: Vec<BoardPost>,
    /// The figures.
    pub headline: Headline,
}

/// The board of `scope` now.
pub async fn board_of(state: &AppState, scope: &ScopePath) -> AppResult<Board> {
    // The event cursor first: anything committed after it is replayed by the
    // live stream, so the picture can only be older than the stream, never
    // newer (a change counted twice is impossible, one missed is too).
    let mut f = EventFilter::after(scope.clone(), EventId(0), 1);
    f.after = None;
    f.newest_first = true;
    let last_event_id = state.store.events(&f).await?.first().map_or(0, |e| e.id.0);

    let today = local_day_start(shouwang_store::now_us(), state.config.display_utc_offset_hours);
    let posts = state.store.checkpoints_within(scope).await?;
    let units: HashMap<i64, String> =
        state.store.org_units_within(scope).await?.into_iter().map(|u| (u.id.0, u.name)).collect();
    let mut present: HashMap<i64, i64> = HashMap::new();
    for c in state.store.open_check_ins_within(scope).await? {
        *present.entry(c.checkpoint_id.0).or_default() += 1;
    }
    let counts = state.store.screening_counts(scope, None, today, today + DAY_US, Grain::Day).await?;
    let mut today_at: HashMap<i64, i64> = HashMap::new();
    let mut by_outcome: BTreeMap<String, i64> = Verdict::ALL.iter().map(|o| (o.as_str().to_owned(), 0)).collect();
    for c in &counts {
        *today_at.entry(c.checkpoint_id.0).or_default() += c.screenings;
        *by_outcome.entry(c.outcome.as_str().to_owned()).or_default() += c.screenings;
    }
    let mut incidents: HashMap<i64, i64> = HashMap::new();
    for i in state.store.incidents_within(scope, true).await? {
        *incidents.entry(i.checkpoint_id.0).or_default() += 1;
    }
    let live_alerts = state.store.alerts_within(scope, true, 1000).await?;
    let mut alerts: HashMap<i64, i64> = HashMap::new();
    for a in live_alerts.iter().filter_map(|a| a.checkpoint) {
        *alerts.entry(a.0).or_default() += 1;
    }
    let mut calls: HashMap<i64, String> = HashMap::new();
    for c in state.store.active_calls_within(scope).await? {
        for cp in c.parties.iter().filter_map(|p| p.checkpoint) {
            calls.insert(cp.0, c.id.to_string());
        }
    }
    let last = state.store.last_screening_per_post(scope).await?;
    let synced = state.store.post_sync_within(scope).await?;
    let pending =
        state.store.resupply_requests_within(scope, ResupplyFilter::Only(ResupplyState::Requested)).await?.len() as i64;

    let board_posts: Vec<BoardPost> = posts
        .iter()
        .map(|p| {
            let open = incidents.get(&p.id.0).copied().unwrap_or(0);
            let alerting = alerts.get(&p.id.0).copied().unwrap_or(0);
            let running = p.status == CheckpointStatus::Active;
            BoardPost {
                id: p.id.0,
                code: p.code.clone(),
                name: p.name.clone(),
                kind: p.kind.as_str().to_owned(),
                township: units.get(&p.org_unit_id.0).cloned().unwrap_or_default(),
                lat: p.location.lat,
                lon: p.location.lon,
                status: p.status.as_str().to_owned(),
                staffing: p.staffing.as_str().to_owned(),
                state: if running && open + alerting > 0 { "alert".to_owned() } else { p.staffing.as_str().to_owned() },
                present: present.get(&p.id.0).copied().unwrap_or(0),
                required: p.required_staff,
                last_activity_us: last.get(&p.id).copied(),
                screenings_today: today_at.get(&p.id.0).copied().unwrap_or(0),
                open_incidents: open,
                open_alerts: alerting,
                active_call: calls.get(&p.id.0).cloned(),
                last_sync_us: synced.get(&p.id).map(|s| s.last_sync_us),
                late_records: synced.get(&p.id).map_or(0, |s| s.late_records),
                clock_skew_us: synced.get(&p.id).map_or(0, |s| s.skew_us),
            }
        })
        .collect();
    let running: Vec<&BoardPost> = board_posts.iter().filter(|p| p.status == "active").collect();
    let headline = Headline {
        posts_running: running.len() as i64,
        posts_staffed: running.iter().filter(|p| p.staffing == "staffed").count() as i64,
        on_duty: board_posts.iter().map(|p| p.present).sum(),
        screenings_today: today_at.values().sum(),
        today_by_outcome: by_outcome,
        open_incidents: incidents.values().sum(),
        pending_resupply: pending,
        open_alerts: live_alerts.len() as i64,
    };
    Ok(Board { last_event_id, today_us: today, posts: board_posts, headline })
}

/// The command board of the caller's scope now, and the event id to follow
/// the live stream from.
#[utoipa::path(get, path = "/api/v1/board", tag = "board", responses((status = 200, body = Board)))]
pub async fn show(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Board>> {
    authed.may_here(Action::ReadCheckpoints)?;
    Ok(Json(board_of(&state, &authed.principal.scope).await?))
}
