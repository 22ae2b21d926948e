//! Spring ploughing (春耕备耕) in pages: `/ploughing` shows the progress of
//! the user's scope by township, the slowest first; choosing a township
//! (`?township_id=`) shows its villages the same way and every village's
//! figures by crop. Those who may plan (township cadres, the county) get the
//! form `#plough-form` that enters or corrects a village's figures for a
//! crop; `?village_id=&crop=` fills it with what is stored.
//!
//! The form works without JavaScript and goes through the API's own
//! functions (`crate::api::ploughing`); a refusal draws the page again with
//! every message beside its field and what was typed kept.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::ploughing::{Crop, PloughDraft, PloughFigures};
use shouwang_domain::policy::Action;
use shouwang_domain::{FieldError, OrgUnitId, OrgUnitKind};
use shouwang_store::StoreError;

use super::{Page, see_other, whole};
use crate::api::ploughing as api;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// The number fields of the form, in the order shown.
const NUMBERS: [&str; 9] = [
    "planned_mu",
    "sown_mu",
    "seed_need_kg",
    "seed_got_kg",
    "fertiliser_need_kg",
    "fertiliser_got_kg",
    "film_need_kg",
    "film_got_kg",
    "machines",
];

/// What `/ploughing` may be asked for; anything unreadable is ignored.
#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    year: String,
    #[serde(default)]
    township_id: String,
    #[serde(default)]
    village_id: String,
    #[serde(default)]
    crop: String,
    #[serde(default)]
    done: String,
}

/// The form as typed: every value kept as text, so a refusal shows it again.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct PloughForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    village_id: String,
    #[serde(default)]
    crop: String,
    #[serde(default)]
    planned_mu: String,
    #[serde(default)]
    sown_mu: String,
    #[serde(default)]
    seed_need_kg: String,
    #[serde(default)]
    seed_got_kg: String,
    #[serde(default)]
    fertiliser_need_kg: String,
    #[serde(default)]
    fertiliser_got_kg: String,
    #[serde(default)]
    film_need_kg: String,
    #[serde(default)]
    film_got_kg: String,
    #[serde(default)]
    machines: String,
    #[serde(default)]
    note: String,
}

impl PloughForm {
    /// The form filled with stored figures.
    fn filled(year: i64, village: OrgUnitId, crop: Crop, f: &PloughFigures) -> Self {
        Self {
            csrf: String::new(),
            year: year.to_string(),
            village_id: village.0.to_string(),
            crop: crop.as_str().to_owned(),
            planned_mu: f.planned_mu.to_string(),
            sown_mu: f.sown_mu.to_string(),
            seed_need_kg: f.seed_need_kg.to_string(),
            seed_got_kg: f.seed_got_kg.to_string(),
            fertiliser_need_kg: f.fertiliser_need_kg.to_string(),
            fertiliser_got_kg: f.fertiliser_got_kg.to_string(),
            film_need_kg: f.film_need_kg.to_string(),
            film_got_kg: f.film_got_kg.to_string(),
            machines: f.machines.to_string(),
            note: f.note.clone(),
        }
    }

    /// The typed numbers as a draft, with a message for each that is not a
    /// whole number.
    fn draft(&self, errors: &mut Vec<FieldError>) -> PloughDraft {
        let mut n = |field: &str, raw: &str| whole(field, raw).map_err(|e| errors.push(e)).ok().flatten();
        PloughDraft {
            planned_mu: n("planned_mu", &self.planned_mu),
            sown_mu: n("sown_mu", &self.sown_mu),
            seed_need_kg: n("seed_need_kg", &self.seed_need_kg),
            seed_got_kg: n("seed_got_kg", &self.seed_got_kg),
            fertiliser_need_kg: n("fertiliser_need_kg", &self.fertiliser_need_kg),
            fertiliser_got_kg: n("fertiliser_got_kg", &self.fertiliser_got_kg),
            film_need_kg: n("film_need_kg", &self.film_need_kg),
            film_got_kg: n("film_got_kg", &self.film_got_kg),
            machines: n("machines", &self.machines),
            note: self.note.clone(),
        }
    }
}

/// A number from the query string, if it reads as one.
fn number(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

/// One row of a progress table.
#[derive(Debug, Serialize)]
struct Row {
    id: i64,
    name: String,
    planned_mu: i64,
    sown_mu: i64,
    sown_pct: i64,
    seed_pct: i64,
    fertiliser_pct: i64,
    film_pct: i64,
    machines: i64,
    /// The bar's width: the percent, at most 100.
    bar: i64,
    /// Whether any input is short (below 100 %).
    short: bool,
}

#[expect(clippy::too_many_arguments, reason = "a row's figures, named at the call")]
fn row(id: OrgUnitId, name: &str, planned: i64, sown: i64, pct: i64, seed: i64, fert: i64, film: i64, m: i64) -> Row {
    Row {
        id: id.0,
        name: name.to_owned(),
        planned_mu: planned,
        sown_mu: sown,
        sown_pct: pct,
        seed_pct: seed,
        fertiliser_pct: fert,
        film_pct: film,
        machines: m,
        bar: pct.clamp(0, 100),
        short: seed < 100 || fert < 100 || film < 100,
    }
}

/// A village offered by the form.
#[derive(Debug, Serialize)]
struct VillageChoice {
    id: i64,
    label: String,
}

/// Draws `/ploughing` for `year`, a township if chosen, and the form.
async fn render(
    state: &AppState,
    authed: &Authed,
    page: Page,
    year: i64,
    township: Option<i64>,
    form: PloughForm,
    done: &str,
) -> AppResult<Response> {
    let progress = api::progress_of(state, authed, year, township).await?;
    let scope = &authed.principal.scope;
    let townships: Vec<Row> = progress
        .townships
        .iter()
        .map(|t| {
            let (p, s, pct) = (t.planned_mu, t.sown_mu, t.sown_pct);
            row(t.township_id, &t.township, p, s, pct, t.seed_pct, t.fertiliser_pct, t.film_pct, t.machines)
        })
        .collect();
    let villages: Vec<Row> = progress
        .villages
        .iter()
        .map(|v| {
            let (p, s, pct) = (v.planned_mu, v.sown_mu, v.sown_pct);
            row(v.village_id, &v.village, p, s, pct, v.seed_pct, v.fertiliser_pct, v.film_pct, v.machines)
        })
        .collect();
    // A township's rows by village and crop; the whole county's would be
    // too long to read.
    let rows = match &progress.township {
        Some(t) => {
            let all = state.store.ploughing_within(scope, year).await?;
            all.into_iter().filter(|r| r.township_id == t.id).collect()
        }
        None => Vec::new(),
    };
    let can_plan = authed.may_here(Action::PlanPloughing).is_ok();
    let choices = if can_plan {
        let units = state.store.org_units_within(scope).await?;
        let names: HashMap<OrgUnitId, &str> = units.iter().map(|u| (u.id, u.name.as_str())).collect();
        units
            .iter()
            .filter(|u| u.kind == OrgUnitKind::Village)
            .filter(|u| township.is_none_or(|t| u.parent_id == Some(OrgUnitId(t))))
            .map(|u| {
                let town = u.parent_id.and_then(|p| names.get(&p)).filter(|_| township.is_none());
                let label = town.map_or_else(|| u.name.clone(), |t| format!("{t} · {}", u.name));
                VillageChoice { id: u.id.0, label }
            })
            .collect()
    } else {
        Vec::new()
    };
    let crops: Vec<&str> = Crop::ALL.iter().map(|c| c.as_str()).collect();
    let html = state.templates.render(
        "ploughing.html",
        page.with(minijinja::context! {
            year,
            years => (year - 2..=year + 1).rev().collect::<Vec<_>>(),
            margin_pct => progress.margin_pct,
            planned_mu => progress.planned_mu,
            sown_mu => progress.sown_mu,
            sown_pct => progress.sown_pct,
            township => progress.township,
            townships,
            villages,
            rows,
            can_plan,
            choices,
            crops,
            numbers => NUMBERS,
            form,
            done,
        }),
    )?;
    Ok(html.into_response())
}

/// The progress page.
pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadRural)?;
    let year = api::year_or_this(&state, number(&q.year)).unwrap_or_else(|_| api::this_year(&state));
    let township = number(&q.township_id);
    let crop = Crop::parse("crop", &q.crop).ok();
    let village = number(&q.village_id).map(OrgUnitId);
    let form = match (village, crop) {
        (Some(v), Some(c)) => match state.store.ploughing(v, c, year).await {
            Ok(r) if authed.principal.scope.contains(&r.scope) => PloughForm::filled(year, v, c, &r.figures),
            Ok(_) | Err(StoreError::NotFound) => {
                PloughForm { village_id: v.0.to_string(), crop: c.as_str().to_owned(), ..PloughForm::default() }
            }
            Err(e) => return Err(e.into()),
        },
        _ => PloughForm::default(),
    };
    let form = PloughForm { year: year.to_string(), ..form };
    let page = Page::new(&state, lang, Some(&authed), "/ploughing");
    render(&state, &authed, page, year, township, form, q.done.trim()).await
}

/// Enters or corrects a village's figures for a crop from the form, then
/// shows its township.
pub async fn submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<PloughForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::PlanPloughing)?;
    let mut errors = Vec::new();
    let year = match whole("year", &form.year) {
        Ok(raw) => api::year_or_this(&state, raw).map_err(|e| errors.push(e)).ok(),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let village = match number(&form.village_id) {
        None => {
            errors.push(FieldError::new("village_id", "required"));
            None
        }
        Some(id) => match api::plannable_village(&state, &authed, id).await {
            Ok(v) => Some(v),
            Err(AppError::Field(e)) => {
                errors.push(e);
                None
            }
            Err(AppError::NotFound) => {
                errors.push(FieldError::new("village_id", "not_found"));
                None
            }
            Err(other) => return Err(other),
        },
    };
    let crop = if form.crop.trim().is_empty() {
        errors.push(FieldError::new("crop", "required"));
        None
    } else {
        Crop::parse("crop", &form.crop).map_err(|e| errors.push(e)).ok()
    };
    let draft = form.draft(&mut errors);
    let figures = api::check(&state, draft).map_err(|mut e| errors.append(&mut e)).ok();
    if let (Some(year), Some(village), Some(crop), Some(figures), true) =
        (year, &village, crop, figures, errors.is_empty())
    {
        api::store(&state, &authed, village, crop, year, figures).await?;
        let township = village.parent_id.map_or(0, |t| t.0);
        return Ok(see_other(&format!("/ploughing?year={year}&township_id={township}&done=saved#villages")));
    }
    // Drawn again at the township of the village chosen, if any.
    let township = village.and_then(|v| v.parent_id).map(|t| t.0);
    let mut page = Page::new(&state, lang, Some(&authed), "/ploughing");
    // The first message of a field is the one shown.
    for e in errors.iter().rev() {
        page.error(&state.i18n, lang, e);
    }
    let year = year.unwrap_or_else(|| api::this_year(&state));
    let mut res = render(&state, &authed, page, year, township, form, "").await?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}
