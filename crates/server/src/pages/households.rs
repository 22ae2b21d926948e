//! Registered households in pages: the households one may see
//! (`/households`, with the form that registers one and the list of those
//! not visited lately), one household (`/households/{id}`: its members,
//! production and sales, visits and difficulties, with the forms a helping
//! cadre uses from a phone), and the rural dashboard of the user's scope
//! (`/rural`).
//!
//! Every form works without JavaScript and goes through the API's own
//! functions (`crate::api::households`, `crate::api::tickets`); a refusal
//! renders the page again with the message beside its field and what was
//! typed kept.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shouwang_domain::household::{
    DIFFICULTIES, Health, IncomeSource, MemberDraft, PovertyStatus, ProduceKind, Relation, SalesChannel, WorkAbility,
};
use shouwang_domain::policy::Action;
use shouwang_domain::{FieldError, OrgUnitKind};

use super::{Page, field_refusal, see_other, whole};
use crate::api::enterprises::{format_day, today, viewer};
use crate::api::households::{self as api, HarvestIn, HouseholdIn, HouseholdView, ProductionIn, SaleIn, VisitIn};
use crate::api::tickets::{self as tickets, TicketIn};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// Member rows the register form offers.
const MEMBER_ROWS: usize = 6;

/// A form as posted: every field by name.
type Fields = HashMap<String, String>;

fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map_or("", String::as_str)
}

/// A household's id in a path; anything else is a page that is not there.
fn household_id(raw: &str) -> AppResult<i64> {
    raw.trim().parse().map_err(|_| AppError::NotFound)
}

/// A refusal with a field: the page again, the message beside it; any other
/// goes to the error page.
fn refused(state: &AppState, lang: Lang, authed: &Authed, path: &str, e: AppError) -> AppResult<(StatusCode, Page)> {
    let (status, fe) = field_refusal(e)?;
    let mut page = Page::new(state, lang, Some(authed), path);
    page.error(&state.i18n, lang, &fe);
    Ok((status, page))
}

/// An id and a name, for a `<select>`.
#[derive(Debug, Serialize)]
struct Choice {
    id: i64,
    name: String,
}

/// The villages within the user's scope (`township / village`), and the
/// cadres who may help a household there.
async fn register_choices(state: &AppState, authed: &Authed) -> AppResult<(Vec<Choice>, Vec<Choice>)> {
    let scope = &authed.principal.scope;
    let units = state.store.org_units().await?;
    let name_of = |id| units.iter().find(|u| Some(u.id) == id).map_or("", |u| u.name.as_str());
    let mut villages: Vec<Choice> = units
        .iter()
        .filter(|u| u.kind == OrgUnitKind::Village && scope.contains(&u.path))
        .map(|u| Choice { id: u.id.0, name: format!("{} / {}", name_of(u.parent_id), u.name) })
        .collect();
    villages.sort_by(|a, b| a.name.cmp(&b.name));
    let helpers = state
        .store
        .users_within(scope)
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.rights.has(shouwang_domain::Right::Write))
        .filter(|u| matches!(u.role.as_str(), "township_cadre" | "commander" | "service_officer"))
        .map(|u| Choice { id: u.id.0, name: u.display_name })
        .collect();
    Ok((villages, helpers))
}

/// The choices every household form offers, by stored name.
fn choices() -> minijinja::Value {
    let names = |all: &[&'static str]| all.to_vec();
    minijinja::context! {
        statuses => names(&PovertyStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        relations => names(&Relation::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        abilities => names(&WorkAbility::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        healths => names(&Health::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        sources => names(&IncomeSource::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        kinds => ProduceKind::ALL.iter().map(|k| (k.as_str(), k.scale_unit(), k.output_unit())).collect::<Vec<_>>(),
        channels => names(&SalesChannel::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        difficulties => DIFFICULTIES.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
    }
}

// --------------------------------------------------------------- the list

async fn render_list(
    state: &AppState,
    authed: &Authed,
    page: Page,
    status: Option<PovertyStatus>,
    unvisited: Option<i64>,
    form: &Fields,
) -> AppResult<Response> {
    authed.may_here(Action::ReadRural)?;
    let today = today(state);
    let households = match unvisited {
        Some(days) => state.store.households_unvisited(&viewer(authed), today - days).await?,
        None => state.store.households_visible(&viewer(authed), status).await?,
    };
    let views: Vec<HouseholdView> = households.iter().map(|h| HouseholdView::of(h, authed, today)).collect();
    let may_register = authed.may_here(Action::ManageHouseholds).is_ok();
    let (villages, helpers) =
        if may_register { register_choices(state, authed).await? } else { (Vec::new(), Vec::new()) };
    let ctx = page.with(minijinja::context! {
        households => views,
        status => status.map(PovertyStatus::as_str),
        unvisited => unvisited,
        may_register => may_register && !villages.is_empty(),
        villages => villages,
        helpers => helpers,
        member_rows => (0..MEMBER_ROWS).collect::<Vec<_>>(),
        choices => choices(),
        form => form,
    });
    Ok(state.templates.render("households.html", ctx)?.into_response())
}

/// Filters of the list.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    unvisited: String,
}

/// The households the user may see; `?unvisited=30` lists those not visited
/// in 30 days, the longest first.
pub async fn list_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let status = PovertyStatus::parse("status", &q.status).ok();
    let unvisited = q.unvisited.trim().parse::<i64>().ok().map(|d| d.clamp(1, 365));
    let page = Page::new(&state, lang, Some(&authed), "/households");
    render_list(&state, &authed, page, status, unvisited, &Fields::new()).await
}

/// What the register form says, as the API takes it.
fn household_input(form: &Fields) -> HouseholdIn {
    let members = (0..MEMBER_ROWS)
        .map(|i| {
            let f = |k: &str| field(form, &format!("members[{i}].{k}")).to_owned();
            MemberDraft {
                name: f("name"),
                relation: f("relation"),
                age: whole("age", &f("age")).ok().flatten(),
                ability: f("ability"),
                health: f("health"),
            }
        })
        .collect();
    HouseholdIn {
        registry_no: field(form, "registry_no").to_owned(),
        village_id: field(form, "village_id").trim().parse().unwrap_or(0),
        phone: field(form, "phone").to_owned(),
        members,
        status: field(form, "status").to_owned(),
        income_sources: IncomeSource::ALL
            .iter()
            .filter(|s| form.contains_key(&format!("source_{}", s.as_str())))
            .map(|s| s.as_str().to_owned())
            .collect(),
        helper_id: field(form, "helper_id").trim().parse().ok(),
        note: field(form, "note").to_owned(),
    }
}

/// Registers a household, then opens it.
pub async fn create_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<Fields>,
) -> AppResult<Response> {
    authed.check_csrf(field(&form, "_csrf"))?;
    // An age that is not a number is named before anything else.
    for i in 0..MEMBER_ROWS {
        let name = format!("members[{i}].age");
        if let Err(fe) = whole(&name, field(&form, &name)) {
            let mut page = Page::new(&state, lang, Some(&authed), "/households");
            page.error(&state.i18n, lang, &fe);
            let mut res = render_list(&state, &authed, page, None, None, &form).await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(res);
        }
    }
    if field(&form, "village_id").trim().is_empty() {
        let mut page = Page::new(&state, lang, Some(&authed), "/households");
        page.error(&state.i18n, lang, &FieldError::new("village_id", "required"));
        let mut res = render_list(&state, &authed, page, None, None, &form).await?;
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    match api::register(&state, &authed, &household_input(&form)).await {
        Ok(h) => Ok(see_other(&format!("/households/{}", h.id))),
        Err(e) => {
            let (status, page) = refused(&state, lang, &authed, "/households", e)?;
            let mut res = render_list(&state, &authed, page, None, None, &form).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

// ---------------------------------------------------------- one household

/// Which form a refused post came from, and what it said.
struct Failed<'a> {
    form: &'a str,
    fields: &'a Fields,
}

async fn render_detail(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    page: Page,
    id: i64,
    failed: Option<Failed<'_>>,
) -> AppResult<Response> {
    let h = api::visible(state, authed, id).await?;
    let today = today(state);
    let production = state.store.production_of(h.id).await?;
    let sales = state.store.sales_of(h.id).await?;
    let visits = state.store.visits_of(h.id).await?;
    let difficulties = state.store.tickets_of_household(h.id).await?;
    let may_manage = api::may_manage(authed, &h).is_ok();
    let empty = Fields::new();
    let (failed_form, form) = match &failed {
        Some(f) => (f.form, f.fields),
        None => ("", &empty),
    };
    let ctx = page.with(minijinja::context! {
        outbox_texts => super::outbox_texts(state, lang),
        hh => HouseholdView::of(&h, authed, today),
        production => production,
        sales => sales.iter().map(|s| minijinja::context! {
            day => format_day(s.day), quantity => s.quantity, price => format!("{}.{:02}", s.price_fen / 100, s.price_fen % 100),
            channel => s.channel.as_str(), buyer => s.buyer, production_id => s.production_id.to_string(),
        }).collect::<Vec<_>>(),
        visits => visits.iter().map(|v| minijinja::context! {
            day => format_day(v.day), cadre => v.cadre_name, found => v.found, promised => v.promised,
        }).collect::<Vec<_>>(),
        difficulties => difficulties,
        may_manage => may_manage,
        today => format_day(today),
        choices => choices(),
        failed => failed_form,
        form => form,
        new_id => shouwang_domain::RecordId::new_v7().to_string(),
    });
    Ok(state.templates.render("household.html", ctx)?.into_response())
}

/// One household.
pub async fn detail_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = household_id(&id)?;
    let page = Page::new(&state, lang, Some(&authed), &format!("/households/{id}"));
    render_detail(&state, lang, &authed, page, id, None).await
}

/// After a form of the household's page: back to its section, or the page
/// again with the refusal beside its field.
async fn settle<T>(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    id: i64,
    name: &str,
    form: &Fields,
    result: AppResult<T>,
) -> AppResult<Response> {
    match result {
        Ok(_) => Ok(see_other(&format!("/households/{id}?done={name}#{name}"))),
        Err(e) => {
            let (status, page) = refused(state, lang, authed, &format!("/households/{id}"), e)?;
            let mut res =
                render_detail(state, lang, authed, page, id, Some(Failed { form: name, fields: form })).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

/// Logs a visit.
pub async fn visit_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> AppResult<Response> {
    let id = household_id(&id)?;
    authed.check_csrf(field(&form, "_csrf"))?;
    let req = VisitIn {
        id: field(&form, "id").to_owned(),
        day: field(&form, "day").to_owned(),
        found: field(&form, "found").to_owned(),
        promised: field(&form, "promised").to_owned(),
    };
    let result = api::log_visit(&state, &authed, id, &req).await;
    settle(&state, lang, &authed, id, "visits", &form, result).await
}

/// Enters production.
pub async fn production_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> AppResult<Response> {
    let id = household_id(&id)?;
    authed.check_csrf(field(&form, "_csrf"))?;
    let result = async {
        let req = ProductionIn {
            id: field(&form, "id").to_owned(),
            kind: field(&form, "kind").to_owned(),
            scale: whole("scale", field(&form, "scale"))?,
            expected_output: whole("expected_output", field(&form, "expected_output"))?,
            expected_day: field(&form, "expected_day").to_owned(),
            note: field(&form, "note").to_owned(),
        };
        api::enter_production(&state, &authed, id, &req).await
    }
    .await;
    settle(&state, lang, &authed, id, "production", &form, result).await
}

/// Sets a production entry's harvest.
pub async fn harvest_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> AppResult<Response> {
    let household = household_id(field(&form, "household_id"))?;
    authed.check_csrf(field(&form, "_csrf"))?;
    let result = async {
        let req = HarvestIn { harvested: whole("harvested", field(&form, "harvested"))? };
        api::set_harvest(&state, &authed, &id, &req).await
    }
    .await;
    settle(&state, lang, &authed, household, "production", &form, result).await
}

/// Records a sale.
pub async fn sale_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> AppResult<Response> {
    let household = household_id(field(&form, "household_id"))?;
    authed.check_csrf(field(&form, "_csrf"))?;
    let result = async {
        let req = SaleIn {
            id: field(&form, "id").to_owned(),
            day: field(&form, "day").to_owned(),
            quantity: whole("quantity", field(&form, "quantity"))?,
            price: field(&form, "price").to_owned(),
            channel: field(&form, "channel").to_owned(),
            buyer: field(&form, "buyer").to_owned(),
        };
        api::record_sale(&state, &authed, &id, &req).await
    }
    .await;
    settle(&state, lang, &authed, household, "sales", &form, result).await
}

/// Raises a difficulty, then opens its ticket.
pub async fn difficulty_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> AppResult<Response> {
    let id = household_id(&id)?;
    authed.check_csrf(field(&form, "_csrf"))?;
    let req = TicketIn {
        id: field(&form, "id").to_owned(),
        enterprise_id: None,
        household_id: Some(id),
        category: field(&form, "category").to_owned(),
        department_id: None,
        title: field(&form, "title").to_owned(),
        body: field(&form, "body").to_owned(),
        attachment_id: None,
        pass: None,
    };
    let result = if req.category.trim().is_empty() {
        Err(FieldError::new("category", "required").into())
    } else {
        tickets::raise(&state, &authed, &req).await
    };
    match result {
        Ok((t, _)) => Ok(see_other(&format!("/tickets/{}", t.id))),
        Err(e) => settle::<()>(&state, lang, &authed, id, "difficulties", &form, Err(e)).await,
    }
}

// -------------------------------------------------------------- dashboard

/// Poverty relief at a glance for the user's scope: households by status
/// and difficulty, production and unsold stock, workers placed, transport
/// batches, ploughing by township (the slowest first).
pub async fn rural_show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    let d = crate::api::rural::dashboard_of(&state, &authed).await?;
    let page = Page::new(&state, lang, Some(&authed), "/rural");
    let ctx = page.with(minijinja::context! { d => d, overdue_days => crate::api::rural::VISIT_OVERDUE_DAYS });
    Ok(state.templates.render("rural.html", ctx)?.into_response())
}
