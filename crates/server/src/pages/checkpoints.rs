//! The checkpoint pages: the posts in scope and a form to set one up
//! (`/checkpoints`), one post with its roster, presence, supplies and
//! requests (`/checkpoints/{id}`), HQ's resupply queue (`/resupply`), and
//! the duty officer's phone page (`/my-post`).
//!
//! Every rule lives in `api::checkpoints`: these handlers turn form fields
//! into the API's inputs, call the same functions the JSON API calls, and
//! redirect (303) on success. A refusal for one field renders the page again
//! with the message beside that field and what was typed kept; anything else
//! (forbidden, not found) goes to the error page. Every form works without
//! JavaScript; `post.js` only adds the phone's position to the check-in.

use std::collections::{BTreeMap, HashMap};

use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::checkpoint::{CheckpointKind, CheckpointStatus, DEFAULT_GEOFENCE_M};
use shouwang_domain::duty::ShiftPattern;
use shouwang_domain::policy::{Action, Right};
use shouwang_domain::supplies::{LivingAspect, ResupplyFilter, ResupplyState, quantity_text};
use shouwang_domain::{CheckpointId, FieldError, OrgUnitKind, ScopePath, UserId};
use shouwang_store::{Checkpoint, ScreeningFilter, StoreError};

use super::{Page, field_refusal, format_time, safe_next, see_other};
use crate::api::alerts::AlertView;
use crate::api::checkpoints::{
    self as api, CheckInInput, CheckInView, CheckpointInput, CheckpointQuery, CheckpointView, Decision, LivingAnswer,
    LivingCheckInput, MovementInput, NewShift, ResupplyInput, ResupplyQuery, ResupplyView, ShiftView, StatusChange,
    SupplyView,
};
use crate::api::json::{ApiJson, ApiQuery};
use crate::api::screenings::ScreeningView;
use crate::api::views::OrgUnitView;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;
/// Requests listed on the phone page (the newest).
const MY_POST_REQUESTS: usize = 20;

// ------------------------------------------------------------------ helpers

/// A page rendered again after a refusal carries the refusal's status.
fn with_status_of(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

/// The page, with the message of a refused field beside that field. A
/// person of a shift's staff (`staff[2]`) is refused beside the staff list,
/// naming the person.
fn page_with(state: &AppState, lang: Lang, authed: &Authed, path: &str, refused: Option<(&FieldError, &str)>) -> Page {
    let mut page = Page::new(state, lang, Some(authed), path);
    if let Some((fe, person)) = refused {
        let message = message_of(state, lang, fe);
        let (key, message) = match fe.field.split_once('[') {
            Some(("staff", _)) if !person.is_empty() => (
                "staff".to_owned(),
                state.i18n.text(lang, "cp-error-person", &[("message", message), ("name", person.to_owned())]),
            ),
            Some(("staff", _)) => ("staff".to_owned(), message),
            _ => (fe.field.clone(), message),
        };
        page.errors.insert(key, message);
    }
    page
}

/// Fields the pages carry hidden: a refusal of one is the message alone
/// ("您已签到，请先签退"), since no label stands beside it.
const HIDDEN_FIELDS: [&str; 4] = ["id", "shift_id", "checkpoint_id", "state"];

/// A refusal's message in the page's language; the states of a request in
/// it are named in words too.
fn message_of(state: &AppState, lang: Lang, fe: &FieldError) -> String {
    let args: Vec<(&str, String)> = fe
        .args
        .iter()
        .map(|(k, v)| {
            let key = format!("resupply-state-{v}");
            let v = if fe.code == "invalid_transition" && state.i18n.has(lang, &key) {
                state.i18n.text(lang, &key, &[])
            } else {
                v.clone()
            };
            (*k, v)
        })
        .collect();
    let key = label_key("error", fe.code);
    let message = if state.i18n.has(lang, &key) { state.i18n.text(lang, &key, &args) } else { fe.code.to_owned() };
    if HIDDEN_FIELDS.contains(&fe.field.as_str()) {
        message
    } else {
        let field = state.i18n.field_label(lang, &fe.field);
        state.i18n.text(lang, "field-error", &[("field", field), ("message", message)])
    }
}

/// An id in the path: anything but a number names nothing.
fn path_id(raw: &str) -> AppResult<i64> {
    raw.parse().map_err(|_| AppError::NotFound)
}

/// A whole number typed in a form field.
fn int_field(field: &str, raw: &str) -> Result<i64, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new(field, "required"));
    }
    raw.parse().map_err(|_| FieldError::new(field, "whole_number"))
}

/// A whole number, or nothing when the field is left empty.
fn opt_int_field(field: &str, raw: &str) -> Result<Option<i64>, FieldError> {
    if raw.trim().is_empty() { Ok(None) } else { int_field(field, raw).map(Some) }
}

/// A decimal number (a coordinate), or nothing when left empty.
fn opt_float_field(field: &str, raw: &str) -> Result<Option<f64>, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| FieldError::new(field, "invalid"))
}

/// A fresh UUIDv7 when the form brought none (a client without the page's
/// id); the one it brought otherwise, so a resend stores one record.
fn id_or_fresh(raw: &str) -> String {
    let raw = raw.trim();
    if raw.is_empty() { uuid::Uuid::now_v7().to_string() } else { raw.to_owned() }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A message in the page's language, or `fallback` when the catalogue has an
/// item added later without a translation.
fn label_or(state: &AppState, lang: Lang, key: &str, fallback: &str) -> String {
    if state.i18n.has(lang, key) { state.i18n.text(lang, key, &[]) } else { fallback.to_owned() }
}

/// The words for supply items, by key.
#[derive(Debug, Default, Serialize)]
pub(crate) struct SupplyLabels {
    /// Item → its name.
    pub(crate) items: BTreeMap<String, String>,
    /// Item → the name of its unit.
    pub(crate) units: BTreeMap<String, String>,
    /// The catalogue to choose from, in display order: item keys.
    catalogue: Vec<String>,
}

pub(crate) async fn supply_labels(
    state: &AppState,
    lang: Lang,
    extra: impl IntoIterator<Item = (String, String)>,
) -> AppResult<SupplyLabels> {
    let mut labels = SupplyLabels::default();
    let catalogue = state.store.supply_items().await?;
    let pairs = catalogue.iter().map(|(k, u, _)| (k.clone(), u.clone())).chain(extra);
    for (item, unit) in pairs {
        if !labels.items.contains_key(&item) {
            labels.units.insert(item.clone(), label_or(state, lang, &label_key("unit", &unit), &unit));
            labels.items.insert(item.clone(), label_or(state, lang, &label_key("item", &item), &item));
        }
    }
    // The catalogue in its display order, then what was added later.
    let order = |k: &str| shouwang_domain::supplies::DEFAULT_CATALOGUE.iter().position(|(d, _, _)| *d == k);
    let mut keys: Vec<String> = catalogue.into_iter().map(|(k, _, _)| k).collect();
    keys.sort_by_key(|k| (order(k).unwrap_or(usize::MAX), k.clone()));
    labels.catalogue = keys;
    Ok(labels)
}

/// Sorts stock levels as the catalogue lists items (items added later last).
fn in_catalogue_order(levels: &mut [SupplyView]) {
    let order = |k: &str| shouwang_domain::supplies::DEFAULT_CATALOGUE.iter().position(|(d, _, _)| *d == k);
    levels.sort_by_key(|l| (order(&l.item).unwrap_or(usize::MAX), l.item.clone()));
}

/// `item-rest-area` for (`item`, `rest_area`).
fn label_key(prefix: &str, value: &str) -> String {
    format!("{prefix}-{}", value.replace('_', "-"))
}

/// Display names of users, looked up once each.
#[derive(Debug, Default)]
struct Names(HashMap<i64, String>);

impl Names {
    async fn get(&mut self, state: &AppState, id: i64) -> AppResult<String> {
        if let Some(n) = self.0.get(&id) {
            return Ok(n.clone());
        }
        let name = match state.store.user(UserId(id)).await {
            Ok(u) => u.display_name,
            Err(StoreError::NotFound) => format!("#{id}"),
            Err(e) => return Err(e.into()),
        };
        self.0.insert(id, name.clone());
        Ok(name)
    }
}

/// Local midnight (display zone) of the day holding `us`.
fn local_midnight(us: i64, offset_hours: i32) -> i64 {
    let offset = i64::from(offset_hours) * HOUR_US;
    (us + offset).div_euclid(DAY_US) * DAY_US - offset
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` as days since the epoch; `None` for anything else (31 April
/// included).
fn parse_date(raw: &str) -> Option<i64> {
    let mut parts = raw.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(2000..=2100).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    (format_time(days * DAY_US, 0)[..10] == format!("{y:04}-{m:02}-{d:02}")).then_some(days)
}

/// `HH:MM` (or `HH:MM:SS`) as minutes after midnight.
fn parse_clock(raw: &str) -> Option<i64> {
    let mut parts = raw.trim().split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// A shift typed as a local date, a start and an end time; an end at or
/// before the start is on the next day (a night shift).
fn shift_span(date: &str, start: &str, end: &str, offset_hours: i32) -> Result<(i64, i64), FieldError> {
    let day = parse_date(date)
        .ok_or_else(|| FieldError::new("starts_us", if date.trim().is_empty() { "required" } else { "invalid" }))?;
    let from = parse_clock(start)
        .ok_or_else(|| FieldError::new("starts_us", if start.trim().is_empty() { "required" } else { "invalid" }))?;
    let to = parse_clock(end)
        .ok_or_else(|| FieldError::new("ends_us", if end.trim().is_empty() { "required" } else { "invalid" }))?;
    let midnight = day * DAY_US - i64::from(offset_hours) * HOUR_US;
    let starts = midnight + from * 60_000_000;
    let ends = midnight + to * 60_000_000 + if to <= from { DAY_US } else { 0 };
    Ok((starts, ends))
}

/// The kinds, statuses and staffing values as the templates list them.
fn choices() -> minijinja::Value {
    minijinja::context! {
        kinds => CheckpointKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        statuses => CheckpointStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        resupply_states => ResupplyState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    }
}

/// A form that carries only its CSRF token and where to go back to.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ButtonForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    back: String,
}

// -------------------------------------------------------------- the list

/// The list's filters, as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ListFilters {
    org_unit_id: String,
    kind: String,
    status: String,
}

impl ListFilters {
    fn query(&self) -> Result<CheckpointQuery, FieldError> {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(CheckpointQuery {
            org_unit_id: opt_int_field("org_unit_id", &self.org_unit_id)?,
            kind: text(&self.kind),
            status: text(&self.status),
        })
    }
}

/// The form setting up a post.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CheckpointForm {
    #[serde(rename = "_csrf", skip_serializing)]
    csrf: String,
    org_unit_id: String,
    code: String,
    name: String,
    kind: String,
    lat: String,
    lon: String,
    address: String,
    required_staff: String,
    geofence_m: String,
    shift_pattern: String,
}

impl CheckpointForm {
    fn input(&self) -> Result<CheckpointInput, FieldError> {
        let lat = opt_float_field("lat", &self.lat)?.ok_or_else(|| FieldError::new("lat", "required"))?;
        let lon = opt_float_field("lon", &self.lon)?.ok_or_else(|| FieldError::new("lon", "required"))?;
        let pattern = self.shift_pattern.trim();
        Ok(CheckpointInput {
            org_unit_id: int_field("org_unit_id", &self.org_unit_id)?,
            code: self.code.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            lat,
            lon,
            address: self.address.clone(),
            required_staff: int_field("required_staff", &self.required_staff)?,
            geofence_m: opt_int_field("geofence_m", &self.geofence_m)?,
            shift_pattern: (!pattern.is_empty()).then(|| pattern.to_owned()),
        })
    }
}

/// A post as the table shows it.
#[derive(Debug, Serialize)]
struct PostRow {
    #[serde(flatten)]
    post: CheckpointView,
    township: String,
}

/// Which form of a page was refused: its messages stand in that form only.
type Refused<'a> = Option<(&'static str, &'a FieldError)>;

async fn render_list(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    filters: &ListFilters,
    posts: Vec<CheckpointView>,
    form: &CheckpointForm,
    refused: Refused<'_>,
) -> AppResult<Response> {
    let units = state.store.org_units_within(&authed.principal.scope).await?;
    let mut unit_names: HashMap<i64, String> = units.iter().map(|u| (u.id.0, u.name.clone())).collect();
    let mut rows = Vec::with_capacity(posts.len());
    for post in posts {
        // An officer's scope is their post: its township lies above it.
        let township = match unit_names.get(&post.org_unit_id) {
            Some(name) => name.clone(),
            None => {
                let name = match state.store.org_unit(shouwang_domain::OrgUnitId(post.org_unit_id)).await {
                    Ok(u) => u.name,
                    Err(StoreError::NotFound) => String::new(),
                    Err(e) => return Err(e.into()),
                };
                unit_names.insert(post.org_unit_id, name.clone());
                name
            }
        };
        rows.push(PostRow { township, post });
    }
    let townships: Vec<OrgUnitView> =
        units.iter().filter(|u| u.kind == OrgUnitKind::Township).map(OrgUnitView::from).collect();
    let page = page_with(state, lang, authed, "/checkpoints", refused.map(|(_, fe)| (fe, "")));
    let ctx = page.with(minijinja::context! {
        posts => rows,
        townships => townships,
        filters => filters,
        filtered => !(filters.org_unit_id.is_empty() && filters.kind.is_empty() && filters.status.is_empty()),
        can_manage => authed.may_here(Action::ManageCheckpoints).is_ok(),
        form => form,
        failed => refused.map(|(f, _)| f),
        choices => choices(),
        default_geofence => DEFAULT_GEOFENCE_M,
    });
    Ok(state.templates.render("checkpoints.html", ctx)?.into_response())
}

fn blank_checkpoint_form() -> CheckpointForm {
    CheckpointForm {
        kind: CheckpointKind::CountyBorder.as_str().to_owned(),
        required_staff: "3".to_owned(),
        geofence_m: DEFAULT_GEOFENCE_M.to_string(),
        shift_pattern: "3x8".to_owned(),
        ..Default::default()
    }
}

/// The posts within scope, filtered, and a form to set one up.
pub async fn list_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    ApiQuery(filters): ApiQuery<ListFilters>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadCheckpoints)?;
    let form = blank_checkpoint_form();
    let listed = match filters.query() {
        Ok(q) => api::list_within(&state, &authed, &q).await,
        Err(e) => Err(e.into()),
    };
    match listed {
        Ok(posts) => render_list(&state, lang, &authed, &filters, posts, &form, None).await,
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            let res = render_list(&state, lang, &authed, &filters, Vec::new(), &form, Some(("filter", &fe))).await?;
            Ok(with_status_of(res, status))
        }
    }
}

/// Sets up a post from the form; on success, its page.
pub async fn create_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<CheckpointForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::ManageCheckpoints)?;
    let result = async {
        let draft = form.input()?.parse()?;
        api::create_checkpoint(&state, &authed, draft).await
    }
    .await;
    match result {
        Ok(cp) => Ok(see_other(&format!("/checkpoints/{}", cp.id.0))),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            let filters = ListFilters::default();
            let posts = api::list_within(&state, &authed, &CheckpointQuery::default()).await?;
            let res = render_list(&state, lang, &authed, &filters, posts, &form, Some(("create", &fe))).await?;
            Ok(with_status_of(res, status))
        }
    }
}

// ------------------------------------------------------------ one post

/// The status form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct StatusForm {
    #[serde(rename = "_csrf", skip_serializing)]
    csrf: String,
    status: String,
    reason: String,
}

/// The shift form, as typed.
#[derive(Debug, Default, Serialize)]
struct ShiftForm {
    date: String,
    start: String,
    end: String,
    leader_id: String,
    staff: Vec<i64>,
}

/// A decision on a request, from a row's small form.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DecisionForm {
    #[serde(rename = "_csrf", skip_serializing)]
    csrf: String,
    /// `approve` or `refuse`.
    decision: String,
    approved_quantity: String,
    note: String,
    #[serde(skip_serializing)]
    back: String,
}

/// What the post's page holds in its forms.
#[derive(Debug, Default)]
struct DetailForms {
    status: StatusForm,
    shift: Option<ShiftForm>,
    /// The request whose row form was refused, and what it held.
    row: Option<(String, DecisionForm)>,
}

/// A shift as the roster shows it.
#[derive(Debug, Serialize)]
struct ShiftRow {
    id: i64,
    starts_us: i64,
    ends_us: i64,
    staff: Vec<Person>,
    now: bool,
    over: bool,
}

#[derive(Debug, Serialize)]
struct Person {
    id: i64,
    name: String,
    /// The login name, to tell two people of one name apart (choices only).
    username: String,
    leader: bool,
}

/// Someone checked in, as the page shows them.
#[derive(Debug, Serialize)]
struct PresentRow {
    name: String,
    in_us: i64,
    distance_m: Option<f64>,
    outside_fence: bool,
    late_minutes: i64,
}

/// A request as a table row: the post and the item's words with it.
#[derive(Debug, Serialize)]
struct RequestRow {
    #[serde(flatten)]
    request: ResupplyView,
    post_code: String,
    post_name: String,
}

/// Officers who may be put on a post's shifts: duty officers of its
/// township whose scope holds the post (or lies within it), as the roster
/// requires.
async fn officers_for(state: &AppState, cp: &Checkpoint, township: &ScopePath) -> AppResult<Vec<Person>> {
    let users = state.store.users_within(township).await?;
    Ok(users
        .into_iter()
        .filter(|u| !u.disabled && u.role.as_str() == "duty_officer" && u.rights.has(Right::Write))
        .filter(|u| cp.scope.as_str().starts_with(u.scope.as_str()) || u.scope.as_str().starts_with(cp.scope.as_str()))
        .map(|u| Person { id: u.id.0, name: u.display_name, username: u.username.as_str().to_owned(), leader: false })
        .collect())
}

/// The next shift of the post's pattern that has not begun, as the plan
/// form's defaults.
fn next_pattern_shift(cp: &Checkpoint, now: i64, offset_hours: i32) -> ShiftForm {
    let today = local_midnight(now, offset_hours);
    let next = ShiftPattern::parse("shift_pattern", &cp.shift_pattern).ok().and_then(|p| {
        let mut spans = p.shifts_of_day(today);
        spans.extend(p.shifts_of_day(today + DAY_US));
        spans.into_iter().find(|(s, _)| *s > now)
    });
    let (starts, ends) = next.unwrap_or((today + DAY_US + 8 * HOUR_US, today + DAY_US + 16 * HOUR_US));
    let (s, e) = (format_time(starts, i64::from(offset_hours)), format_time(ends, i64::from(offset_hours)));
    ShiftForm { date: s[..10].to_owned(), start: s[11..16].to_owned(), end: e[11..16].to_owned(), ..Default::default() }
}

/// Who is checked in at a post, as the detail page and the board's panel
/// list them.
async fn present_rows(state: &AppState, names: &mut Names, present: &[CheckInView]) -> AppResult<Vec<PresentRow>> {
    let mut rows = Vec::with_capacity(present.len());
    for c in present {
        rows.push(PresentRow {
            name: names.get(state, c.user_id).await?,
            in_us: c.in_us,
            distance_m: c.distance_m,
            outside_fence: c.outside_fence,
            late_minutes: c.late_minutes,
        });
    }
    Ok(rows)
}

async fn shift_rows(state: &AppState, names: &mut Names, shifts: &[ShiftView], now: i64) -> AppResult<Vec<ShiftRow>> {
    let mut rows = Vec::with_capacity(shifts.len());
    for s in shifts {
        let mut staff = Vec::with_capacity(s.staff.len());
        for id in &s.staff {
            let name = names.get(state, *id).await?;
            staff.push(Person { id: *id, name, username: String::new(), leader: s.leader_id == Some(*id) });
        }
        // The leader first.
        staff.sort_by_key(|p| !p.leader);
        rows.push(ShiftRow {
            id: s.id,
            starts_us: s.starts_us,
            ends_us: s.ends_us,
            staff,
            now: s.starts_us <= now && now < s.ends_us,
            over: s.ends_us <= now,
        });
    }
    Ok(rows)
}

async fn render_detail(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    id: CheckpointId,
    forms: DetailForms,
    refused: Refused<'_>,
) -> AppResult<Response> {
    let cp = api::checkpoint_for(state, authed, id, Action::ReadCheckpoints).await?;
    let detail = api::detail_of(state, &cp).await?;
    let unit = state.store.org_unit(cp.org_unit_id).await?;
    let can_manage = authed.may(Action::ManageCheckpoints, &cp.scope).is_ok();
    let can_approve = authed.may(Action::ApproveResupply, &cp.scope).is_ok();
    let offset = state.config.display_utc_offset_hours;
    let now = shouwang_store::now_us();

    let officers = if can_manage { officers_for(state, &cp, &unit.path).await? } else { Vec::new() };
    let mut names = Names(officers.iter().map(|p| (p.id, p.name.clone())).collect());
    // Today's and tomorrow's shifts, in the display zone.
    let today = local_midnight(now, offset);
    let shown: Vec<ShiftView> =
        detail.shifts.into_iter().filter(|s| s.ends_us > today && s.starts_us < today + 2 * DAY_US).collect();
    let shifts = shift_rows(state, &mut names, &shown, now).await?;
    let present = present_rows(state, &mut names, &detail.present).await?;
    // The person a refused staff entry names.
    let person = match (refused, &forms.shift) {
        (Some((_, fe)), Some(shift)) => match fe.field.strip_prefix("staff[").and_then(|r| r.strip_suffix(']')) {
            Some(i) => match i.parse::<usize>().ok().and_then(|i| shift.staff.get(i)) {
                Some(uid) => names.get(state, *uid).await?,
                None => String::new(),
            },
            None => String::new(),
        },
        _ => String::new(),
    };
    let mut supplies = detail.supplies;
    in_catalogue_order(&mut supplies);
    let labels = supply_labels(state, lang, supplies.iter().map(|s| (s.item.clone(), s.unit.clone()))).await?;
    let requests: Vec<RequestRow> = detail
        .resupply
        .into_iter()
        .map(|r| RequestRow { request: r, post_code: cp.code.clone(), post_name: cp.name.clone() })
        .collect();
    let path = format!("/checkpoints/{}", cp.id.0);
    let page = page_with(state, lang, authed, &path, refused.map(|(_, fe)| (fe, person.as_str())));
    let shift_form = forms.shift.unwrap_or_else(|| next_pattern_shift(&cp, now, offset));
    let (error_row, row_form) = forms.row.unzip();
    let row_shown = error_row.as_ref().is_some_and(|id| requests.iter().any(|r| &r.request.id == id));
    let ctx = page.with(minijinja::context! {
        post => detail.checkpoint,
        township => OrgUnitView::from(&unit),
        shifts => shifts,
        present => present,
        supplies => supplies,
        requests => requests,
        show_post => false,
        labels => labels,
        officers => officers,
        can_manage => can_manage,
        can_approve => can_approve,
        status_form => forms.status,
        shift_form => shift_form,
        row_form => row_form,
        // A row no longer listed (it moved on meanwhile): its message above the table.
        error_row_shown => row_shown,
        error_row => error_row,
        failed => refused.map(|(f, _)| f),
        back => path,
        choices => choices(),
    });
    Ok(state.templates.render("checkpoint.html", ctx)?.into_response())
}

/// How many of a post's latest screenings its panel on the board lists.
const PANEL_SCREENINGS: i64 = 8;

/// The panel a click on a post opens beside the board (`/board/posts/{id}`):
/// an HTML fragment with the post's state, who is on the shift now and who
/// is present, its latest screenings (personal data masked), supplies, open
/// alerts and incidents, and buttons for a call, a roll call and an order.
/// board.js fetches it again when an event about the post arrives.
pub async fn panel_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = CheckpointId(path_id(&id)?);
    let cp = api::checkpoint_for(&state, &authed, id, Action::ReadCheckpoints).await?;
    let detail = api::detail_of(&state, &cp).await?;
    let unit = state.store.org_unit(cp.org_unit_id).await?;
    let now = shouwang_store::now_us();
    let mut names = Names(HashMap::new());
    let on_now: Vec<ShiftView> = detail.shifts.into_iter().filter(|s| s.starts_us <= now && now < s.ends_us).collect();
    let shifts = shift_rows(&state, &mut names, &on_now, now).await?;
    let here: Vec<i64> = detail.present.iter().map(|c| c.user_id).collect();
    let present = present_rows(&state, &mut names, &detail.present).await?;
    let mut supplies = detail.supplies;
    in_catalogue_order(&mut supplies);
    let labels = supply_labels(&state, lang, supplies.iter().map(|s| (s.item.clone(), s.unit.clone()))).await?;
    // Screenings only for those who may read them, and masked.
    let screenings: Vec<ScreeningView> = if authed.may(Action::ReadScreenings, &cp.scope).is_ok() {
        let filter = ScreeningFilter { checkpoint: Some(id), limit: PANEL_SCREENINGS, ..Default::default() };
        state.store.screenings_within(&cp.scope, &filter).await?.iter().map(|s| ScreeningView::of(s, false)).collect()
    } else {
        Vec::new()
    };
    let alerts: Vec<AlertView> = state
        .store
        .alerts_within(&cp.scope, true, 100)
        .await?
        .iter()
        .filter(|a| a.checkpoint == Some(id))
        .map(AlertView::from)
        .collect();
    let incidents: Vec<_> =
        state.store.incidents_within(&cp.scope, true).await?.into_iter().filter(|i| i.checkpoint_id == id).collect();
    // Requests the post and HQ still have to act on.
    let requests: Vec<ResupplyView> = detail
        .resupply
        .into_iter()
        .filter(|r| ResupplyState::parse("state", &r.state).is_ok_and(|s| !s.is_finished()))
        .collect();
    // What the post's phones delivered from their outbox, and how late.
    let synced = state.store.post_sync_within(&cp.scope).await?.remove(&id);
    let receipts: Vec<minijinja::Value> = state
        .store
        .field_receipts(id, PANEL_RECEIPTS)
        .await?
        .iter()
        .map(|r| {
            minijinja::context! {
                kind => receipt_kind(&r.route), entered_us => r.entered_us, received_us => r.received_us,
                late => r.late, for_someone_else => r.entered_by.is_some_and(|u| u != r.user_id),
            }
        })
        .collect();
    let path = format!("/checkpoints/{}", cp.id.0);
    let ctx = Page::new(&state, lang, Some(&authed), &path).with(minijinja::context! {
        sync => synced.map(|s| minijinja::context! {
            last_sync_us => s.last_sync_us, records => s.records, late => s.late_records,
            skew_minutes => s.skew_us / 60_000_000,
        }),
        receipts => receipts,
        post => detail.checkpoint,
        township => OrgUnitView::from(&unit),
        shifts => shifts,
        here => here,
        present => present,
        supplies => supplies,
        labels => labels,
        requests => requests,
        screenings => screenings,
        alerts => alerts,
        incidents => incidents,
        can_call => authed.may(Action::PlaceCall, &cp.scope).is_ok() && state.calls.sfu().is_some(),
        can_order => authed.may(Action::IssueOrder, &cp.scope).is_ok(),
        can_handle => authed.may(Action::HandleAlert, &cp.scope).is_ok(),
    });
    Ok(state.templates.render("board_post.html", ctx)?.into_response())
}

/// Outbox receipts the post panel lists.
const PANEL_RECEIPTS: i64 = 8;

/// What kind of record a receipt's route stored: the last word of its path
/// that is not a number (`screenings`, `supplies`, `acknowledge`, …).
fn receipt_kind(route: &str) -> String {
    route.rsplit('/').find(|p| !p.is_empty() && !p.chars().all(|c| c.is_ascii_digit())).unwrap_or("").to_owned()
}

/// One post: details, status, roster, presence, supplies, requests.
pub async fn detail_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadCheckpoints)?;
    let id = CheckpointId(path_id(&id)?);
    render_detail(&state, lang, &authed, id, DetailForms::default(), None).await
}

/// Suspends, closes or reopens a post (through the API's handler).
pub async fn status_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::ManageCheckpoints)?;
    let id = path_id(&id)?;
    let change = StatusChange { status: form.status.clone(), reason: form.reason.clone() };
    match api::set_status(State(state.clone()), authed.clone(), Path(id), ApiJson(change)).await {
        Ok(_) => Ok(see_other(&format!("/checkpoints/{id}"))),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            let forms = DetailForms { status: form, ..Default::default() };
            let res = render_detail(&state, lang, &authed, CheckpointId(id), forms, Some(("status", &fe))).await?;
            Ok(with_status_of(res, status))
        }
    }
}

/// Plans a shift from the form. Parsed by hand: the staff come as several
/// `staff` fields.
pub async fn shift_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let first = |key: &str| pairs.iter().find(|(k, _)| k == key).map_or(String::new(), |(_, v)| v.clone());
    authed.check_csrf(&first("_csrf"))?;
    authed.may_here(Action::ManageCheckpoints)?;
    let id = path_id(&id)?;
    let mut form = ShiftForm {
        date: first("date"),
        start: first("start"),
        end: first("end"),
        leader_id: first("leader_id"),
        staff: Vec::new(),
    };
    let result = async {
        for (k, v) in &pairs {
            if k == "staff" {
                form.staff.push(v.trim().parse().map_err(|_| FieldError::new("staff", "invalid"))?);
            }
        }
        let (starts_us, ends_us) =
            shift_span(&form.date, &form.start, &form.end, state.config.display_utc_offset_hours)?;
        let shift = NewShift {
            starts_us,
            ends_us,
            leader_id: opt_int_field("leader_id", &form.leader_id)?,
            staff: form.staff.clone(),
        };
        api::plan_shift(&state, &authed, CheckpointId(id), &shift).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/checkpoints/{id}#roster"))),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            let forms = DetailForms { shift: Some(form), ..Default::default() };
            let res = render_detail(&state, lang, &authed, CheckpointId(id), forms, Some(("shift", &fe))).await?;
            Ok(with_status_of(res, status))
        }
    }
}

// ------------------------------------------------------- resupply queue

/// The queue's filter. Absent, it shows what waits for a decision; empty,
/// everything.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    state: Option<String>,
}

async fn render_queue(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    filter: &str,
    row: Option<(String, DecisionForm)>,
    refused: Refused<'_>,
) -> AppResult<Response> {
    let listed = api::list_resupply(
        State(state.clone()),
        authed.clone(),
        ApiQuery(ResupplyQuery { state: Some(filter.to_owned()) }),
    )
    .await;
    let (requests, filter_refusal) = match listed {
        Ok(axum::Json(list)) => (list, None),
        Err(e) => (Vec::new(), Some(field_refusal(e)?)),
    };
    let posts: HashMap<i64, Checkpoint> =
        state.store.checkpoints_within(&authed.principal.scope).await?.into_iter().map(|c| (c.id.0, c)).collect();
    let rows: Vec<RequestRow> = requests
        .into_iter()
        .map(|r| {
            let (post_code, post_name) =
                posts.get(&r.checkpoint_id).map_or_else(Default::default, |c| (c.code.clone(), c.name.clone()));
            RequestRow { request: r, post_code, post_name }
        })
        .collect();
    let labels = supply_labels(state, lang, []).await?;
    let refused = refused.or(filter_refusal.as_ref().map(|(_, fe)| ("filter", fe)));
    let page = page_with(state, lang, authed, "/resupply", refused.map(|(_, fe)| (fe, "")));
    let back = format!("/resupply?state={}", form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>());
    let (error_row, row_form) = row.unzip();
    let row_shown = error_row.as_ref().is_some_and(|id| rows.iter().any(|r| &r.request.id == id));
    let ctx = page.with(minijinja::context! {
        requests => rows,
        show_post => true,
        labels => labels,
        filter => filter,
        can_approve => authed.may_here(Action::ApproveResupply).is_ok(),
        row_form => row_form,
        error_row_shown => row_shown,
        error_row => error_row,
        failed => refused.map(|(f, _)| f),
        back => back,
        choices => choices(),
    });
    let res = state.templates.render("checkpoints_resupply.html", ctx)?.into_response();
    Ok(match filter_refusal {
        Some((status, _)) => with_status_of(res, status),
        None => res,
    })
}

/// HQ's resupply queue within scope.
pub async fn queue_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadCheckpoints)?;
    // What HQ still has to act on, unless asked for something else.
    let filter = q.state.unwrap_or_else(|| ResupplyFilter::Open.as_str().to_owned());
    render_queue(&state, lang, &authed, filter.trim(), None, None).await
}

/// Where a row form came from: a post's page or the queue (with its filter).
enum Back {
    Post(CheckpointId),
    Queue(String),
}

fn back_of(raw: &str) -> (String, Back) {
    let back = safe_next(Some(raw));
    if let Some(id) = back.strip_prefix("/checkpoints/").and_then(|r| r.split(['#', '?']).next()?.parse().ok()) {
        return (back, Back::Post(CheckpointId(id)));
    }
    let filter = back
        .strip_prefix("/resupply?")
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()));
    match filter {
        Some(f) => (back, Back::Queue(f)),
        None => ("/resupply".to_owned(), Back::Queue(ResupplyFilter::Open.as_str().to_owned())),
    }
}

/// Renders the page a refused row form came from, the message in its row.
async fn refused_row(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    back: Back,
    row: (String, DecisionForm),
    which: &'static str,
    e: AppError,
) -> AppResult<Response> {
    let (status, fe) = field_refusal(e)?;
    let res = match back {
        Back::Post(id) => {
            let forms = DetailForms { row: Some(row), ..Default::default() };
            render_detail(state, lang, authed, id, forms, Some((which, &fe))).await?
        }
        Back::Queue(filter) => render_queue(state, lang, authed, &filter, Some(row), Some((which, &fe))).await?,
    };
    Ok(with_status_of(res, status))
}

/// Approves (the quantity typed) or refuses (with the note) a request.
pub async fn decision_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::ApproveResupply)?;
    let (to, back) = back_of(&form.back);
    let result = async {
        let approved_quantity = match form.decision.as_str() {
            "refuse" => None,
            _ => Some(quantity_text("approved_quantity", &form.approved_quantity)?),
        };
        let decision = Decision { approved_quantity, note: form.note.clone() };
        api::decide(&state, &authed, &id, &decision).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&to)),
        Err(e) => {
            let which = if form.decision == "refuse" { "refuse" } else { "approve" };
            refused_row(&state, lang, &authed, back, (id, form), which, e).await
        }
    }
}

/// Marks an approved request dispatched.
pub async fn dispatch_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<ButtonForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::ApproveResupply)?;
    let (to, back) = back_of(&form.back);
    match api::advance(&state, &authed, &id, false).await {
        Ok(_) => Ok(see_other(&to)),
        Err(e) => refused_row(&state, lang, &authed, back, (id, DecisionForm::default()), "dispatch", e).await,
    }
}

// -------------------------------------------------------------- my post

/// The check-in form (its position filled in by `post.js` when it can).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CheckInForm {
    #[serde(rename = "_csrf", skip_serializing)]
    csrf: String,
    id: String,
    shift_id: String,
    lat: String,
    lon: String,
}

/// The consumption and the resupply forms.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SupplyForm {
    #[serde(rename = "_csrf", skip_serializing)]
    csrf: String,
    id: String,
    checkpoint_id: String,
    item: String,
    quantity: String,
    note: String,
}

/// One line of the living-conditions checklist, as typed.
#[derive(Debug, Serialize)]
struct LivingRow {
    aspect: &'static str,
    /// `yes`, `no`, or empty when not answered.
    ok: String,
    note: String,
}

/// What the phone page's forms hold.
#[derive(Debug, Default)]
struct MyPostForms {
    check_in_id: Option<String>,
    consume: SupplyForm,
    resupply: SupplyForm,
    living_id: Option<String>,
    living: Option<Vec<LivingRow>>,
}

/// `?done=` after a successful post: a word of confirmation in its section.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MyPostQuery {
    done: Option<String>,
}

async fn render_my_post(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    forms: MyPostForms,
    done: Option<&str>,
    refused: Refused<'_>,
) -> AppResult<Response> {
    let mine = api::my_post_of(state, authed).await?;
    let me = authed.principal.user_id.0;
    let now = shouwang_store::now_us();
    let mut names = Names::default();
    names.0.insert(me, authed.principal.display_name.clone());
    let shift = match &mine.shift {
        Some(s) => shift_rows(state, &mut names, std::slice::from_ref(s), now).await?.pop(),
        None => None,
    };
    let is_leader = mine.shift.as_ref().is_some_and(|s| s.leader_id == Some(me));
    let (post, supplies, requests) = match mine.checkpoint {
        Some(d) => {
            let requests: Vec<ResupplyView> = d.resupply.into_iter().take(MY_POST_REQUESTS).collect();
            let mut supplies = d.supplies;
            in_catalogue_order(&mut supplies);
            (Some(d.checkpoint), supplies, requests)
        }
        None => (None, Vec::new(), Vec::new()),
    };
    let labels = supply_labels(state, lang, supplies.iter().map(|s| (s.item.clone(), s.unit.clone()))).await?;
    // The resupply form offers the first low item.
    let mut resupply = forms.resupply;
    if resupply.item.is_empty() {
        resupply.item = supplies.iter().find(|s| s.low).map(|s| s.item.clone()).unwrap_or_default();
    }
    let living = forms.living.unwrap_or_else(|| {
        LivingAspect::ALL
            .iter()
            .map(|a| LivingRow { aspect: a.as_str(), ok: String::new(), note: String::new() })
            .collect()
    });
    let done = done
        .filter(|d| ["check_in", "check_out", "consume", "resupply", "receipt", "living", "ack", "report"].contains(d));
    let orders = super::orders::mine_for_page(state, authed).await?;
    let page = page_with(state, lang, authed, "/my-post", refused.map(|(_, fe)| (fe, "")));
    let ctx = page.with(minijinja::context! {
        outbox_texts => super::outbox_texts(state, lang),
        post => post,
        shift => shift,
        shift_now => mine.shift.as_ref().is_some_and(|s| s.starts_us <= now),
        check_in => mine.check_in,
        is_leader => is_leader,
        supplies => supplies,
        requests => requests,
        labels => labels,
        check_in_id => forms.check_in_id.unwrap_or_else(new_id),
        consume => forms.consume,
        consume_id => new_id(),
        resupply => resupply,
        resupply_id => new_id(),
        living => living,
        living_id => forms.living_id.unwrap_or_else(new_id),
        failed => refused.map(|(f, _)| f),
        done => done,
        me => me,
        orders => orders,
        incident_kinds => super::incidents::reportable(),
        incident_id => new_id(),
    });
    Ok(state.templates.render("my_post.html", ctx)?.into_response())
}

/// The officer's phone page: post, shift, check-in, supplies, requests.
pub async fn my_post_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    ApiQuery(q): ApiQuery<MyPostQuery>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadCheckpoints)?;
    render_my_post(&state, lang, &authed, MyPostForms::default(), q.done.as_deref(), None).await
}

/// After a refused post of another page's form on "My post" (an order's
/// acknowledgement), the phone page again with the message in `which`.
pub(crate) async fn my_post_refused_with(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    which: &'static str,
    e: AppError,
) -> AppResult<Response> {
    my_post_refused(state, lang, authed, MyPostForms::default(), which, e).await
}

/// After a refused post, the phone page again with the message in place.
async fn my_post_refused(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    forms: MyPostForms,
    which: &'static str,
    e: AppError,
) -> AppResult<Response> {
    let (status, fe) = field_refusal(e)?;
    Ok(with_status_of(render_my_post(state, lang, authed, forms, None, Some((which, &fe))).await?, status))
}

/// Checks in (with the phone's position when `post.js` could get it).
pub async fn check_in_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<CheckInForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let id = id_or_fresh(&form.id);
    let result = async {
        let input = CheckInInput {
            id: id.clone(),
            shift_id: int_field("shift_id", &form.shift_id)?,
            lat: opt_float_field("lat", &form.lat)?,
            lon: opt_float_field("lon", &form.lon)?,
        };
        api::check_in(&state, &authed, &input).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/my-post?done=check_in")),
        Err(e) => {
            let forms = MyPostForms { check_in_id: Some(id), ..Default::default() };
            my_post_refused(&state, lang, &authed, forms, "check_in", e).await
        }
    }
}

/// Checks out.
pub async fn check_out_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<ButtonForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    match api::check_out(&state, &authed).await {
        Ok(_) => Ok(see_other("/my-post?done=check_out")),
        Err(e) => my_post_refused(&state, lang, &authed, MyPostForms::default(), "check_out", e).await,
    }
}

/// Records what was used up at the post.
pub async fn consume_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<SupplyForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let result = async {
        let post = CheckpointId(int_field("checkpoint_id", &form.checkpoint_id)?);
        let movement = MovementInput {
            id: id_or_fresh(&form.id),
            item: form.item.clone(),
            kind: "consumption".to_owned(),
            quantity: quantity_text("quantity", &form.quantity)?,
        };
        api::move_supply(&state, &authed, post, &movement).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/my-post?done=consume#supplies")),
        Err(e) => {
            let forms = MyPostForms { consume: form, ..Default::default() };
            my_post_refused(&state, lang, &authed, forms, "consume", e).await
        }
    }
}

/// Asks HQ for supplies.
pub async fn resupply_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<SupplyForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let result = async {
        let post = CheckpointId(int_field("checkpoint_id", &form.checkpoint_id)?);
        let request = ResupplyInput {
            id: id_or_fresh(&form.id),
            item: form.item.clone(),
            quantity: int_field("quantity", &form.quantity)?,
            note: form.note.clone(),
        };
        api::file_resupply(&state, &authed, post, &request).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/my-post?done=resupply#requests")),
        Err(e) => {
            let forms = MyPostForms { resupply: form, ..Default::default() };
            my_post_refused(&state, lang, &authed, forms, "resupply", e).await
        }
    }
}

/// Confirms that a dispatched request arrived (stock goes up).
pub async fn receipt_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<ButtonForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    match api::advance(&state, &authed, &id, true).await {
        Ok(_) => Ok(see_other("/my-post?done=receipt#requests")),
        Err(e) => my_post_refused(&state, lang, &authed, MyPostForms::default(), "receipt", e).await,
    }
}

/// The shift leader's living-conditions check: `ok_<aspect>` (`yes` or
/// `no`) and `note_<aspect>` for each aspect. An aspect left unanswered is
/// left out, and the API refuses the check for it.
pub async fn living_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    body: Bytes,
) -> AppResult<Response> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let first = |key: &str| pairs.iter().find(|(k, _)| k == key).map_or(String::new(), |(_, v)| v.clone());
    authed.check_csrf(&first("_csrf"))?;
    let id = id_or_fresh(&first("id"));
    let rows: Vec<LivingRow> = LivingAspect::ALL
        .iter()
        .map(|a| LivingRow {
            aspect: a.as_str(),
            ok: first(&format!("ok_{}", a.as_str())),
            note: first(&format!("note_{}", a.as_str())),
        })
        .collect();
    let result = async {
        let post = CheckpointId(int_field("checkpoint_id", &first("checkpoint_id"))?);
        let answers = rows
            .iter()
            .filter(|r| r.ok == "yes" || r.ok == "no")
            .map(|r| LivingAnswer { aspect: r.aspect.to_owned(), ok: r.ok == "yes", note: r.note.clone() })
            .collect();
        api::living_check(&state, &authed, post, &LivingCheckInput { id: id.clone(), answers }).await
    }
    .await;
    match result {
        Ok(()) => Ok(see_other("/my-post?done=living#living")),
        Err(e) => {
            // The API numbers the answers it was given: name the aspect instead.
            let e = match e {
                AppError::Field(mut fe) => {
                    let given: Vec<&LivingRow> = rows.iter().filter(|r| r.ok == "yes" || r.ok == "no").collect();
                    if let Some((i, rest)) = fe.field.strip_prefix("answers[").and_then(|r| r.split_once(']'))
                        && let Some(row) = i.parse::<usize>().ok().and_then(|i| given.get(i))
                    {
                        fe.field = format!("{}{rest}", row.aspect);
                    }
                    AppError::Field(fe)
                }
                other => other,
            };
            let forms = MyPostForms { living_id: Some(id), living: Some(rows), ..Default::default() };
            my_post_refused(&state, lang, &authed, forms, "living", e).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_shift_becomes_utc_and_a_night_shift_ends_next_day() {
        // 2020-02-10 08:00 in Lushi (UTC+8) is 00:00 UTC.
        let (s, e) = shift_span("2020-02-10", "08:00", "20:00", 8).unwrap();
        assert_eq!(format_time(s, 0), "2020-02-10 00:00:00");
        assert_eq!(format_time(e, 0), "2020-02-10 12:00:00");
        let (s, e) = shift_span("2020-02-10", "20:00", "08:00", 8).unwrap();
        assert_eq!(format_time(s, 8), "2020-02-10 20:00:00");
        assert_eq!(format_time(e, 8), "2020-02-11 08:00:00");
        assert_eq!(shift_span("2020-02-30", "08:00", "09:00", 8).unwrap_err().field, "starts_us");
        assert_eq!(shift_span("2020-02-10", "", "09:00", 8).unwrap_err().code, "required");
        assert_eq!(shift_span("2020-02-10", "08:00", "25:00", 8).unwrap_err().field, "ends_us");
    }

    #[test]
    fn local_midnight_is_in_the_display_zone() {
        let us = 1_581_294_600_000_000; // 2020-02-10 08:30 at UTC+8
        assert_eq!(format_time(local_midnight(us, 8), 8), "2020-02-10 00:00:00");
    }

    #[test]
    fn a_row_form_goes_back_only_to_this_site() {
        assert!(matches!(back_of("/checkpoints/7#roster").1, Back::Post(CheckpointId(7))));
        assert!(matches!(back_of("/resupply?state=approved").1, Back::Queue(ref s) if s == "approved"));
        assert_eq!(back_of("https://evil.example").0, "/resupply");
    }
}
