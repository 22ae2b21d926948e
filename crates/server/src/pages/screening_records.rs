//! `/screenings`: HQ's view of the screenings within its scope — open
//! incidents, totals for a date range from the rollups, and the records
//! themselves with filters. Personal data is masked; those with the
//! `see_personal` right may tick "unmasked", which the audit log records.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::policy::Action;
use shouwang_domain::screening::{CargoCategory, Direction, Outcome as Verdict, VehicleType};
use shouwang_store::Grain;

use super::{Page, field_refusal, with_status};
use crate::api::import::parse_date;
use crate::api::json::ApiQuery;
use crate::api::screenings::{ScreeningQuery, ScreeningView, local_day_start, search};
use crate::auth::Authed;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::state::AppState;

const DAY_US: i64 = 86_400_000_000;

/// The filter form, as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Filters {
    checkpoint_id: String,
    from: String,
    to: String,
    plate: String,
    outcome: String,
    flagged: Option<String>,
    unmasked: Option<String>,
}

/// `2026-11-29` (as the date picker sends it; `2026/11/29` and
/// `2026年11月29日` too) as the start of that local day, in UTC µs.
fn day(field: &str, raw: &str, offset_hours: i32) -> Result<Option<i64>, shouwang_domain::FieldError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let days = parse_date(raw).ok_or_else(|| shouwang_domain::FieldError::new(field, "invalid_format"))?;
    Ok(Some(days * DAY_US - i64::from(offset_hours) * 3_600_000_000))
}

impl Filters {
    fn query(&self, offset_hours: i32, today: i64) -> Result<ScreeningQuery, shouwang_domain::FieldError> {
        let from = day("from", &self.from, offset_hours)?.unwrap_or(today);
        let to = day("to", &self.to, offset_hours)?.map_or(today + DAY_US, |d| d + DAY_US);
        if to <= from {
            return Err(shouwang_domain::FieldError::new("to", "ends_before_start"));
        }
        let checkpoint_id = match self.checkpoint_id.trim() {
            "" => None,
            raw => Some(raw.parse().map_err(|_| shouwang_domain::FieldError::new("checkpoint_id", "not_found"))?),
        };
        Ok(ScreeningQuery {
            checkpoint_id,
            from_us: Some(from),
            to_us: Some(to),
            plate: Some(self.plate.clone()),
            outcome: Some(self.outcome.clone()),
            flagged: Some(self.flagged.is_some()),
            limit: Some(200),
            unmasked: Some(self.unmasked.is_some()),
        })
    }
}

/// One row of the totals.
#[derive(Debug, Serialize)]
struct Total {
    outcome: &'static str,
    screenings: i64,
    people: i64,
}

/// The page.
pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    ApiQuery(filters): ApiQuery<Filters>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadScreenings)?;
    let offset = state.config.display_utc_offset_hours;
    let today = local_day_start(shouwang_store::now_us(), offset);
    let mut page = Page::new(&state, lang, Some(&authed), "/screenings");
    let mut status = axum::http::StatusCode::OK;
    let (records, unmasked, range) = match filters.query(offset, today) {
        Ok(q) => {
            let range = (q.from_us.unwrap_or(today), q.to_us.unwrap_or(today + DAY_US), q.checkpoint_id);
            match search(&state, &authed, &q).await {
                Ok((found, unmasked)) => (found, unmasked, range),
                Err(e) => {
                    let (s, fe) = field_refusal(e)?;
                    page.error(&state.i18n, lang, &fe);
                    status = s;
                    (Vec::new(), false, range)
                }
            }
        }
        Err(fe) => {
            page.error(&state.i18n, lang, &fe);
            status = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            (Vec::new(), false, (today, today + DAY_US, None))
        }
    };
    let scope = &authed.principal.scope;
    let counts = state
        .store
        .screening_counts(scope, range.2.map(shouwang_domain::CheckpointId), range.0, range.1, Grain::Total)
        .await?;
    let totals: Vec<Total> = Verdict::ALL
        .iter()
        .map(|o| Total {
            outcome: o.as_str(),
            screenings: counts.iter().filter(|c| c.outcome == *o).map(|c| c.screenings).sum(),
            people: counts.iter().filter(|c| c.outcome == *o).map(|c| c.people).sum(),
        })
        .collect();
    let posts = state.store.checkpoints_within(scope).await?;
    let post_names: std::collections::HashMap<i64, String> =
        posts.iter().map(|p| (p.id.0, format!("{} {}", p.code, p.name))).collect();
    let incidents = state.store.incidents_within(scope, true).await?;
    let choices = minijinja::context! {
        directions => Direction::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        vehicles => VehicleType::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        cargo => CargoCategory::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        outcomes => Verdict::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
    };
    let ctx = page.with(minijinja::context! {
        filters => filters,
        records => records.iter().map(|s| ScreeningView::of(s, unmasked)).collect::<Vec<_>>(),
        unmasked => unmasked,
        may_unmask => authed.may_here(Action::SeePersonal).is_ok(),
        totals => totals,
        total_screenings => counts.iter().map(|c| c.screenings).sum::<i64>(),
        total_people => counts.iter().map(|c| c.people).sum::<i64>(),
        posts => posts.iter().map(|p| (p.id.0, format!("{} {}", p.code, p.name))).collect::<Vec<_>>(),
        post_names => post_names.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<std::collections::BTreeMap<_, _>>(),
        incidents => incidents,
        choices => choices,
    });
    let html = state.templates.render("screenings.html", ctx)?;
    Ok(if status == axum::http::StatusCode::OK { html.into_response() } else { with_status(status, html) })
}
