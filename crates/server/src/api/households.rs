//! `/api/v1/households/…` and `/api/v1/production/…`: registered poor
//! households (建档立卡贫困户), their members, what they grow and sell, and
//! the visits of the cadre helping each (帮扶责任人). A household's
//! difficulties are tickets (`POST /api/v1/tickets` with `household_id`),
//! worked like an enterprise's problems.
//!
//! Who sees a household: a scope that holds it, and its helping cadre.
//! Names and phones are masked unless the caller may see personal data or
//! helps the household (they need the number to call).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shouwang_domain::household::{
    Health, IncomeSource, MemberDraft, PovertyStatus, ProduceKind, RegistryNo, Relation, SalesChannel, WorkAbility,
    parse_members, price_fen,
};
use shouwang_domain::policy::Action;
use shouwang_domain::screening::MobilePhone;
use shouwang_domain::{BoundedText, FieldError, HouseholdId, OrgUnitId, RecordId, Right, UserId};
use shouwang_store::writer::Command;
use shouwang_store::{Household, HouseholdDraft, NewProduction, NewSale, NewVisit, Production, Sale, Ticket, Visit};
use utoipa::ToSchema;

use super::enterprises::{format_day, parse_day, today, viewer};
use super::json::{ApiJson, ApiQuery};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Whether the caller may see `h`: it lies within their scope, or they help
/// it.
pub fn sees(authed: &Authed, h: &Household) -> bool {
    authed.principal.scope.contains(&h.scope) || h.helper_id == Some(authed.principal.user_id)
}

/// Reads household `id` if the caller may see it (404 otherwise).
pub async fn visible(state: &AppState, authed: &Authed, id: i64) -> AppResult<Household> {
    authed.may_here(Action::ReadRural)?;
    let h = state.store.household(HouseholdId(id)).await?;
    if !sees(authed, &h) {
        return Err(AppError::NotFound);
    }
    Ok(h)
}

/// Checks that the caller may write for `h` (visits, production, sales,
/// difficulties): the role grants it, and `h` is in scope or theirs to help.
pub fn may_manage(authed: &Authed, h: &Household) -> AppResult<()> {
    if h.helper_id == Some(authed.principal.user_id) {
        return authed.may_here(Action::ManageHouseholds);
    }
    authed.may(Action::ManageHouseholds, &h.scope)
}

/// Whether the caller sees `h`'s names and phone whole.
pub fn unmasked(authed: &Authed, h: &Household) -> bool {
    authed.principal.rights.has(Right::SeePersonal) || h.helper_id == Some(authed.principal.user_id)
}

/// A household's details as entered.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdIn {
    /// Its number in the national registration system (户编号), 6–24
    /// digits or capitals; unique.
    pub registry_no: String,
    /// The village (an org unit of kind village, within the caller's scope).
    pub village_id: i64,
    /// A mobile phone to reach it.
    #[serde(default)]
    pub phone: String,
    /// The members, exactly one with relation `head`; blank rows are left
    /// out. Each: `name`, `relation` (head, spouse, child, parent,
    /// grandchild, sibling, other), `age` 0–120, `ability` (full, partial,
    /// none), `health` (healthy, chronic, serious, disabled).
    #[schema(value_type = Vec<Object>)]
    pub members: Vec<MemberDraft>,
    /// `in_poverty`, `lifted_this_year` or `lifted_monitored`.
    pub status: String,
    /// At least one of wages, farming, livestock, business, subsidy, other.
    pub income_sources: Vec<String>,
    /// The cadre responsible for helping it (a user id).
    pub helper_id: Option<i64>,
    /// A note, up to 500 characters.
    #[serde(default)]
    pub note: String,
}

impl HouseholdIn {
    /// Checks every field; the first bad one is named.
    pub fn parse(&self) -> Result<HouseholdDraft, FieldError> {
        let registry_no = RegistryNo::parse("registry_no", &self.registry_no)?;
        let (members, head) = parse_members(&self.members).map_err(|mut e| e.remove(0))?;
        let phone = if self.phone.trim().is_empty() { None } else { Some(MobilePhone::parse("phone", &self.phone)?) };
        let status = PovertyStatus::parse("status", &self.status)?;
        let mut income_sources = Vec::new();
        for (i, s) in self.income_sources.iter().enumerate().filter(|(_, s)| !s.trim().is_empty()) {
            let source = IncomeSource::parse(&format!("income_sources[{i}]"), s)?;
            if !income_sources.contains(&source) {
                income_sources.push(source);
            }
        }
        if income_sources.is_empty() {
            return Err(FieldError::new("income_sources", "required"));
        }
        Ok(HouseholdDraft {
            registry_no,
            village: OrgUnitId(self.village_id),
            members,
            head,
            phone,
            status,
            income_sources,
            helper: self.helper_id.map(UserId),
            note: BoundedText::<500>::parse_optional("note", &self.note)?,
        })
    }
}

/// A member as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// Name, masked unless the caller may see it.
    pub name: String,
    /// Relation to the head.
    #[schema(value_type = String)]
    pub relation: Relation,
    /// Age.
    pub age: u8,
    /// Ability to work.
    #[schema(value_type = String)]
    pub ability: WorkAbility,
    /// Health.
    #[schema(value_type = String)]
    pub health: Health,
}

/// A household as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdView {
    /// Its id.
    pub id: i64,
    /// Its registration number.
    pub registry_no: String,
    /// Its village.
    pub village_id: i64,
    /// The village's name.
    pub village_name: String,
    /// The township's name.
    pub township_name: String,
    /// The head's name (masked unless the caller may see it).
    pub head_name: String,
    /// Its phone (masked likewise).
    pub phone: Option<String>,
    /// Its members.
    pub members: Vec<MemberView>,
    /// How many members can work.
    pub able_count: usize,
    /// Where it stands.
    #[schema(value_type = String)]
    pub status: PovertyStatus,
    /// Where its income comes from.
    #[schema(value_type = Vec<String>)]
    pub income_sources: Vec<IncomeSource>,
    /// The cadre helping it.
    pub helper_id: Option<i64>,
    /// That cadre's name.
    pub helper_name: Option<String>,
    /// A note.
    pub note: String,
    /// The latest visit, `YYYY-MM-DD`.
    pub last_visit: Option<String>,
    /// Days since the latest visit (none: never visited).
    pub days_since_visit: Option<i64>,
}

impl HouseholdView {
    /// `h` as `authed` may see it on day `today`.
    pub fn of(h: &Household, authed: &Authed, today: i64) -> Self {
        let whole = unmasked(authed, h);
        let name = |n: &shouwang_domain::screening::PersonName| {
            if whole { n.expose().to_owned() } else { n.masked() }
        };
        Self {
            id: h.id.0,
            registry_no: h.registry_no.clone(),
            village_id: h.village_id.0,
            village_name: h.village_name.clone(),
            township_name: h.township_name.clone(),
            head_name: name(&h.head().name),
            phone: h.phone.as_ref().map(|p| if whole { p.expose().to_owned() } else { p.masked() }),
            members: h
                .members
                .iter()
                .map(|m| MemberView {
                    name: name(&m.name),
                    relation: m.relation,
                    age: m.age,
                    ability: m.ability,
                    health: m.health,
                })
                .collect(),
            able_count: h.able_count(),
            status: h.status,
            income_sources: h.income_sources.clone(),
            helper_id: h.helper_id.map(|u| u.0),
            helper_name: h.helper_name.clone(),
            note: h.note.clone(),
            last_visit: h.last_visit_day.map(format_day),
            days_since_visit: h.last_visit_day.map(|d| today - d),
        }
    }
}

/// A household with what it produces, sells, the visits it had and its
/// difficulties.
#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdDetail {
    /// The household.
    pub household: HouseholdView,
    /// Its production, with harvest, sales and unsold stock.
    #[schema(value_type = Vec<Object>)]
    pub production: Vec<Production>,
    /// Its sales, newest first.
    #[schema(value_type = Vec<Object>)]
    pub sales: Vec<Sale>,
    /// Its visits, newest first.
    #[schema(value_type = Vec<Object>)]
    pub visits: Vec<Visit>,
    /// Its difficulties (tickets), newest first.
    #[schema(value_type = Vec<Object>)]
    pub difficulties: Vec<Ticket>,
}

async fn detail_of(state: &AppState, authed: &Authed, h: Household) -> AppResult<HouseholdDetail> {
    Ok(HouseholdDetail {
        production: state.store.production_of(h.id).await?,
        sales: state.store.sales_of(h.id).await?,
        visits: state.store.visits_of(h.id).await?,
        difficulties: state.store.tickets_of_household(h.id).await?,
        household: HouseholdView::of(&h, authed, today(state)),
    })
}

/// Checks that the village of a draft is one the caller may manage.
async fn may_register(state: &AppState, authed: &Authed, d: &HouseholdDraft) -> AppResult<()> {
    let village = match state.store.org_unit(d.village).await {
        Ok(v) => v,
        Err(shouwang_store::StoreError::NotFound) => return Err(FieldError::new("village_id", "not_found").into()),
        Err(e) => return Err(e.into()),
    };
    authed.may_here(Action::ManageHouseholds)?;
    if !authed.principal.scope.contains(&village.path) {
        return Err(FieldError::new("village_id", "not_found").into());
    }
    Ok(())
}

/// Which households to list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only those of this status.
    pub status: Option<String>,
}

/// The households the caller may see, by township, village and number.
#[utoipa::path(get, path = "/api/v1/households", tag = "households", params(("status" = Option<String>, Query)),
    responses((status = 200, body = Vec<HouseholdView>)))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<Vec<HouseholdView>>> {
    authed.may_here(Action::ReadRural)?;
    let status =
        q.status.as_deref().filter(|s| !s.is_empty()).map(|s| PovertyStatus::parse("status", s)).transpose()?;
    let today = today(&state);
    let all = state.store.households_visible(&viewer(&authed), status).await?;
    Ok(Json(all.iter().map(|h| HouseholdView::of(h, &authed, today)).collect()))
}

/// Registers a household; the household as stored.
pub async fn register(state: &AppState, authed: &Authed, req: &HouseholdIn) -> AppResult<Household> {
    let draft = req.parse()?;
    may_register(state, authed, &draft).await?;
    let applied = state.writer.submit(authed.actor(), Command::CreateHousehold(draft)).await?;
    Ok(applied.outcome.into_household()?)
}

/// Register a household in a village within the caller's scope.
#[utoipa::path(post, path = "/api/v1/households", tag = "households", request_body = HouseholdIn,
    responses((status = 201, body = HouseholdDetail), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<HouseholdIn>,
) -> AppResult<(StatusCode, Json<HouseholdDetail>)> {
    let h = register(&state, &authed, &req).await?;
    Ok((StatusCode::CREATED, Json(detail_of(&state, &authed, h).await?)))
}

/// One household with its production, sales, visits and difficulties.
#[utoipa::path(get, path = "/api/v1/households/{id}", tag = "households", params(("id" = i64, Path)),
    responses((status = 200, body = HouseholdDetail), (status = 404)))]
pub async fn detail(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
) -> AppResult<Json<HouseholdDetail>> {
    let h = visible(&state, &authed, id).await?;
    Ok(Json(detail_of(&state, &authed, h).await?))
}

/// Changes household `id` to `req`; the household as it stands.
pub async fn change(state: &AppState, authed: &Authed, id: i64, req: &HouseholdIn) -> AppResult<Household> {
    let h = visible(state, authed, id).await?;
    may_manage(authed, &h)?;
    let draft = req.parse()?;
    may_register(state, authed, &draft).await?;
    let applied = state.writer.submit(authed.actor(), Command::UpdateHousehold { id: h.id, draft }).await?;
    Ok(applied.outcome.into_household()?)
}

/// Change a household's details, members or status (all fields, as on
/// registering).
#[utoipa::path(put, path = "/api/v1/households/{id}", tag = "households", params(("id" = i64, Path)),
    request_body = HouseholdIn, responses((status = 200, body = HouseholdDetail), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<HouseholdIn>,
) -> AppResult<Json<HouseholdDetail>> {
    let h = change(&state, &authed, id, &req).await?;
    Ok(Json(detail_of(&state, &authed, h).await?))
}

/// A visit as logged.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitIn {
    /// A client-made UUIDv7; sending it again returns the stored visit.
    pub id: String,
    /// The day, `YYYY-MM-DD`: today or up to 30 days back (default today).
    #[serde(default)]
    pub day: String,
    /// What was found, 1–500 characters.
    pub found: String,
    /// What was promised, up to 500 characters.
    #[serde(default)]
    pub promised: String,
}

/// How far back a visit may be logged.
pub const VISIT_BACKDATE_DAYS: i64 = 30;

/// Logs a visit to household `id` by the caller; `(visit, created)`.
pub async fn log_visit(state: &AppState, authed: &Authed, id: i64, req: &VisitIn) -> AppResult<(Visit, bool)> {
    let record = RecordId::parse("id", &req.id)?;
    let today = today(state);
    let day = if req.day.trim().is_empty() { today } else { parse_day("day", &req.day)? };
    if day > today {
        return Err(FieldError::new("day", "in_future").into());
    }
    if day < today - VISIT_BACKDATE_DAYS {
        return Err(FieldError::new("day", "too_old").arg("days", VISIT_BACKDATE_DAYS).into());
    }
    let found = BoundedText::<500>::parse("found", &req.found)?.into_string();
    let promised = BoundedText::<500>::parse_optional("promised", &req.promised)?;
    let h = visible(state, authed, id).await?;
    may_manage(authed, &h)?;
    let visit = NewVisit { id: record, household: h.id, day, found, promised };
    let applied = state.writer.submit(authed.actor(), Command::RecordVisit(visit)).await?;
    Ok(applied.outcome.into_visit()?)
}

/// Log a visit (the cadre who visited, from a phone). 201 when logged now,
/// 200 for a resend.
#[utoipa::path(post, path = "/api/v1/households/{id}/visits", tag = "households", params(("id" = i64, Path)),
    request_body = VisitIn, responses((status = 201, body = Object), (status = 200, body = Object), (status = 422)))]
pub async fn create_visit(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<VisitIn>,
) -> AppResult<(StatusCode, Json<Visit>)> {
    let (visit, created) = log_visit(&state, &authed, id, &req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(visit)))
}

/// How long unvisited.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnvisitedQuery {
    /// Not visited in this many days (1–365, default 30).
    pub days: Option<i64>,
}

/// The households within scope not visited in `days` days (or never), the
/// longest unvisited first.
#[utoipa::path(get, path = "/api/v1/households/unvisited", tag = "households",
    params(("days" = Option<i64>, Query)), responses((status = 200, body = Vec<HouseholdView>), (status = 422)))]
pub async fn unvisited(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<UnvisitedQuery>,
) -> AppResult<Json<Vec<HouseholdView>>> {
    authed.may_here(Action::ReadRural)?;
    let days = shouwang_domain::checkpoint::int_in("days", q.days.unwrap_or(30), 1, 365)?;
    let today = today(&state);
    let all = state.store.households_unvisited(&viewer(&authed), today - days).await?;
    Ok(Json(all.iter().map(|h| HouseholdView::of(h, &authed, today)).collect()))
}

/// A production entry as entered.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductionIn {
    /// A client-made UUIDv7.
    pub id: String,
    /// shiitake, greenhouse, orchard, livestock, cropland, herbs, other.
    pub kind: String,
    /// Scale in the kind's unit (bags, greenhouses, mu, head), 1–1 000 000.
    pub scale: Option<i64>,
    /// Expected output in kg (head for livestock), 0–100 000 000.
    pub expected_output: Option<i64>,
    /// When the output is expected, `YYYY-MM-DD`.
    pub expected_day: String,
    /// A note, up to 200 characters.
    #[serde(default)]
    pub note: String,
}

fn required(field: &str, raw: Option<i64>, min: i64, max: i64) -> Result<i64, FieldError> {
    let n = raw.ok_or_else(|| FieldError::new(field, "required"))?;
    shouwang_domain::checkpoint::int_in(field, n, min, max)
}

/// Enters production for household `id`; `(entry, created)`.
pub async fn enter_production(
    state: &AppState,
    authed: &Authed,
    id: i64,
    req: &ProductionIn,
) -> AppResult<(Production, bool)> {
    let record = RecordId::parse("id", &req.id)?;
    let kind = ProduceKind::parse("kind", &req.kind)?;
    let scale = required("scale", req.scale, 1, 1_000_000)?;
    let expected_output = required("expected_output", req.expected_output, 0, 100_000_000)?;
    let expected_day = parse_day("expected_day", &req.expected_day)?;
    let note = BoundedText::<200>::parse_optional("note", &req.note)?;
    let h = visible(state, authed, id).await?;
    may_manage(authed, &h)?;
    let new = NewProduction { id: record, household: h.id, kind, scale, expected_output, expected_day, note };
    let applied = state.writer.submit(authed.actor(), Command::RecordProduction(new)).await?;
    Ok(applied.outcome.into_production()?)
}

/// Enter what a household grows or raises. 201 when entered now, 200 for a
/// resend.
#[utoipa::path(post, path = "/api/v1/households/{id}/production", tag = "households", params(("id" = i64, Path)),
    request_body = ProductionIn, responses((status = 201, body = Object), (status = 200, body = Object), (status = 422)))]
pub async fn create_production(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<ProductionIn>,
) -> AppResult<(StatusCode, Json<Production>)> {
    let (p, created) = enter_production(&state, &authed, id, &req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(p)))
}

/// The production entry `id` and its household, if the caller may write
/// for it.
async fn managed_production(state: &AppState, authed: &Authed, id: &str) -> AppResult<(Production, Household)> {
    let p = state.store.production(RecordId::parse("id", id)?).await?;
    let h = visible(state, authed, p.household_id.0).await?;
    may_manage(authed, &h)?;
    Ok((p, h))
}

/// A harvest so far.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HarvestIn {
    /// Harvested so far, in the output unit; at least what was sold.
    pub harvested: Option<i64>,
}

/// Sets how much was harvested so far.
pub async fn set_harvest(state: &AppState, authed: &Authed, id: &str, req: &HarvestIn) -> AppResult<Production> {
    let harvested = required("harvested", req.harvested, 0, 100_000_000)?;
    let (p, _) = managed_production(state, authed, id).await?;
    let applied = state.writer.submit(authed.actor(), Command::UpdateHarvest { id: p.id, harvested }).await?;
    Ok(applied.outcome.into_production()?.0)
}

/// Set how much of a production entry has been harvested (never below what
/// was sold).
#[utoipa::path(post, path = "/api/v1/production/{id}/harvest", tag = "households", params(("id" = String, Path)),
    request_body = HarvestIn, responses((status = 200, body = Object), (status = 422)))]
pub async fn harvest(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<HarvestIn>,
) -> AppResult<Json<Production>> {
    Ok(Json(set_harvest(&state, &authed, &id, &req).await?))
}

/// A sale as entered.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleIn {
    /// A client-made UUIDv7.
    pub id: String,
    /// The day, `YYYY-MM-DD` (default today; not in the future).
    #[serde(default)]
    pub day: String,
    /// Quantity in the output unit; at most the unsold stock.
    pub quantity: Option<i64>,
    /// Price per unit in yuan, e.g. `6.50`.
    pub price: String,
    /// buyer, cooperative, ecommerce or market.
    pub channel: String,
    /// The buyer's name, up to 60 characters.
    #[serde(default)]
    pub buyer: String,
}

/// Records a sale of production `id`; `(sale, created)`.
pub async fn record_sale(state: &AppState, authed: &Authed, id: &str, req: &SaleIn) -> AppResult<(Sale, bool)> {
    let record = RecordId::parse("id", &req.id)?;
    let today = today(state);
    let day = if req.day.trim().is_empty() { today } else { parse_day("day", &req.day)? };
    if day > today {
        return Err(FieldError::new("day", "in_future").into());
    }
    let quantity = required("quantity", req.quantity, 1, 100_000_000)?;
    let price_fen = price_fen("price", &req.price)?;
    let channel = SalesChannel::parse("channel", &req.channel)?;
    let buyer = BoundedText::<60>::parse_optional("buyer", &req.buyer)?;
    let (p, _) = managed_production(state, authed, id).await?;
    let sale = NewSale { id: record, production: p.id, day, quantity, price_fen, channel, buyer };
    let applied = state.writer.submit(authed.actor(), Command::RecordSale(sale)).await?;
    Ok(applied.outcome.into_sale()?)
}

/// Record a sale of a household's produce; more than the unsold stock is
/// refused (`quantity`, `above_stock`). 201 when recorded now, 200 for a
/// resend.
#[utoipa::path(post, path = "/api/v1/production/{id}/sales", tag = "households", params(("id" = String, Path)),
    request_body = SaleIn, responses((status = 201, body = Object), (status = 200, body = Object), (status = 422)))]
pub async fn create_sale(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SaleIn>,
) -> AppResult<(StatusCode, Json<Sale>)> {
    let (sale, created) = record_sale(&state, &authed, &id, &req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(sale)))
}
