//! The command board: the commander's home page. A map of the scope's posts
//! drawn as SVG from their coordinates (no tiles, no CDN), a sortable table
//! beside it, the headline figures on top and the live feed below; all of it
//! follows the live stream from the event the page was drawn at.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::Page;
use crate::api::alerts::AlertView;
use crate::api::board::{Board, board_of};
use crate::api::views::{EventView, OrgUnitView};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// The map's width in SVG units; its height follows the scope's shape.
const WIDTH: f64 = 1000.0;
/// Room around the outermost posts, in SVG units.
const PAD: f64 = 70.0;

/// A post's place on the map.
#[derive(Debug, Serialize)]
struct Marker {
    id: i64,
    x: f64,
    y: f64,
}

/// A township's name, placed at the middle of its posts.
#[derive(Debug, Serialize)]
struct Label {
    name: String,
    x: f64,
    y: f64,
}

/// The map: an equirectangular projection scaled by the cosine of the mean
/// latitude, fitted into `WIDTH` wide.
#[derive(Debug, Serialize)]
struct Map {
    width: f64,
    height: f64,
    markers: Vec<Marker>,
    labels: Vec<Label>,
}

fn map_of(board: &Board) -> Map {
    let posts = &board.posts;
    if posts.is_empty() {
        return Map { width: WIDTH, height: WIDTH / 2.0, markers: vec![], labels: vec![] };
    }
    let (mut min_lat, mut max_lat, mut min_lon, mut max_lon) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in posts {
        min_lat = min_lat.min(p.lat);
        max_lat = max_lat.max(p.lat);
        min_lon = min_lon.min(p.lon);
        max_lon = max_lon.max(p.lon);
    }
    let k = ((min_lat + max_lat) / 2.0).to_radians().cos();
    let span_x = ((max_lon - min_lon) * k).max(0.01);
    let span_y = (max_lat - min_lat).max(0.01);
    let scale = (WIDTH - 2.0 * PAD) / span_x;
    let height = (span_y * scale + 2.0 * PAD).clamp(WIDTH * 0.45, WIDTH * 1.1);
    let y_pad = (height - span_y * scale) / 2.0;
    let at = |lat: f64, lon: f64| (PAD + (lon - min_lon) * k * scale, height - y_pad - (lat - min_lat) * scale);
    let markers = posts
        .iter()
        .map(|p| {
            let (x, y) = at(p.lat, p.lon);
            Marker { id: p.id, x: (x * 10.0).round() / 10.0, y: (y * 10.0).round() / 10.0 }
        })
        .collect();
    let mut towns: BTreeMap<&str, (f64, f64, f64)> = BTreeMap::new();
    for p in posts {
        let t = towns.entry(p.township.as_str()).or_default();
        t.0 += p.lat;
        t.1 += p.lon;
        t.2 += 1.0;
    }
    let labels = towns
        .into_iter()
        .map(|(name, (lat, lon, n))| {
            let (x, y) = at(lat / n, lon / n);
            Label { name: name.to_owned(), x: (x * 10.0).round() / 10.0, y: ((y + 34.0) * 10.0).round() / 10.0 }
        })
        .collect();
    Map { width: WIDTH, height: height.round(), markers, labels }
}

/// Renders the board for `authed`, with the recent events of its feed.
pub async fn render(state: &AppState, lang: Lang, authed: &Authed, events: Vec<EventView>) -> AppResult<Response> {
    let scope = &authed.principal.scope;
    let board = board_of(state, scope).await?;
    let unit = state.store.org_unit(authed.principal.org_unit).await?;
    let map = map_of(&board);
    let json = serde_json::to_string(&board).map_err(|e| AppError::Internal(e.into()))?;
    // The feed shows what the board already counts; later events come from
    // the live stream, which starts after the board's cursor.
    let events: Vec<EventView> = events.into_iter().filter(|e| e.id <= board.last_event_id).collect();
    let events_json = serde_json::to_string(&events).map_err(|e| AppError::Internal(e.into()))?;
    let mut state_labels: BTreeMap<&str, String> = shouwang_domain::duty::Staffing::ALL
        .iter()
        .map(|s| (s.as_str(), state.i18n.text(lang, &format!("staffing-{}", s.as_str().replace('_', "-")), &[])))
        .collect();
    state_labels.insert("alert", state.i18n.text(lang, "board-alert", &[]));
    let state_labels = serde_json::to_string(&state_labels).map_err(|e| AppError::Internal(e.into()))?;
    // Posts in a call now (rung or talking), as the board already found.
    let in_call: Vec<i64> = board.posts.iter().filter(|p| p.active_call.is_some()).map(|p| p.id).collect();
    let roll_calls = super::orders::roll_calls_on_board(state, scope).await?;
    let alerts: Vec<AlertView> =
        state.store.alerts_within(scope, true, 30).await?.iter().map(AlertView::from).collect();
    let post_codes: BTreeMap<String, String> = board.posts.iter().map(|p| (p.id.to_string(), p.code.clone())).collect();
    let ctx = Page::new(state, lang, Some(authed), "/").with(minijinja::context! {
        state_labels => state_labels,
        unit => OrgUnitView::from(&unit),
        board => board,
        board_json => json,
        map => map,
        events => events_json,
        has_events => !events.is_empty(),
        feed_words => super::login::feed_words(state, lang).await?,
        last_event_id => board.last_event_id,
        can_call => authed.may_here(shouwang_domain::policy::Action::PlaceCall).is_ok() && state.calls.sfu().is_some(),
        in_call => in_call,
        can_order => authed.may_here(shouwang_domain::policy::Action::IssueOrder).is_ok(),
        roll_calls => roll_calls,
        post_codes => post_codes,
        alerts => alerts,
        can_handle => authed.may_here(shouwang_domain::policy::Action::HandleAlert).is_ok(),
    });
    Ok(state.templates.render("board.html", ctx)?.into_response())
}

/// The form that takes an alert from the board.
#[derive(Debug, serde::Deserialize)]
pub struct TakeForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// Takes an alert, back to the board.
pub async fn take_alert(
    axum::extract::State(state): axum::extract::State<AppState>,
    authed: Authed,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::Form(form): axum::Form<TakeForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    crate::api::alerts::take(&state, &authed, &id).await?;
    Ok(super::see_other("/#alerts"))
}
