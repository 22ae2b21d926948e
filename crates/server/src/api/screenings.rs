//! Screenings (检查登记) through the API: one from a phone, a batch of up to a
//! thousand from a device that was offline, searches with personal data
//! masked unless the caller may and asks to see it (audited), statistics
//! from the rollups, incidents, and the region codes a form picks from.
//!
//! The rules live in `shouwang_domain::screening`; this file turns JSON into
//! its drafts, its decisions into store commands, and stored records into
//! views fit for the caller's rights.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::policy::Action;
use shouwang_domain::region::RegionCode;
use shouwang_domain::screening::{
    MobilePhone, NumberOrText, Outcome as Verdict, PersonDraft, PersonName, ScreeningDraft, ScreeningFields,
};
use shouwang_domain::{CheckpointId, FieldError, RecordId};
use shouwang_store::writer::Command;
use shouwang_store::{Grain, Incident, NewScreening, PersonRecord, Screening, ScreeningCount, ScreeningFilter};
use utoipa::{IntoParams, ToSchema};

use super::json::{ApiJson, ApiQuery};
use crate::auth::{Authed, hide_out_of_scope};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// The earliest device time accepted: 2020-01-01 UTC.
const EARLIEST_US: i64 = 1_577_836_800_000_000;
/// How far ahead of the server a device clock may run: one day.
const AHEAD_US: i64 = 86_400_000_000;
/// The most screenings one batch may hold.
pub const MAX_BATCH: usize = 1000;
const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;

/// One person screened. Every field is optional; a person with none is
/// refused.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    /// Full name, up to 32 characters.
    pub name: Option<String>,
    /// Resident ID number (GB 11643, 18 characters, check digit verified).
    pub id_number: Option<String>,
    /// Mainland mobile number.
    pub phone: Option<String>,
    /// Body temperature in °C, 35.0–42.0 (a number, or text such as "36.5").
    #[schema(value_type = Option<f64>)]
    pub temperature: Option<NumberOrText>,
    /// Region code travelled from (county, city or province), e.g. `411224`.
    pub origin: Option<String>,
    /// Region code travelling to.
    pub destination: Option<String>,
    /// `green`, `yellow` or `red`.
    pub health_code: Option<String>,
}

/// A screening as a phone sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningInput {
    /// A UUIDv7 made by the phone; sending the same id again is safe.
    pub id: String,
    /// When it happened by the phone's clock (µs since the epoch); default now.
    pub occurred_us: Option<i64>,
    /// `in` or `out`.
    pub direction: Option<String>,
    /// The plate, e.g. `豫M12345` or `豫MD12345`; empty or `none` on foot.
    pub plate: Option<String>,
    /// `car`, `truck`, `van`, `bus`, `motorcycle`, `tractor`, `other`.
    pub vehicle_type: Option<String>,
    /// How many people, 1–99.
    #[schema(value_type = Option<i64>)]
    pub people_count: Option<NumberOrText>,
    /// People recorded one by one (at most `people_count`).
    #[serde(default)]
    pub people: Vec<PersonInput>,
    /// `production_materials`, `living_supplies`, `medical_supplies`,
    /// `agricultural_inputs`, `none`.
    pub cargo: Option<String>,
    /// The freight pass shown, if any.
    pub pass_number: Option<String>,
    /// `released`, `released_disinfected`, `quarantined`,
    /// `referred_to_hospital`, `turned_back`.
    pub outcome: Option<String>,
    /// Up to 200 characters.
    pub note: Option<String>,
}

impl ScreeningInput {
    fn draft(self) -> ScreeningDraft {
        ScreeningDraft {
            direction: self.direction,
            plate: self.plate,
            vehicle_type: self.vehicle_type,
            people_count: self.people_count,
            people: self
                .people
                .into_iter()
                .map(|p| PersonDraft {
                    name: p.name,
                    id_number: p.id_number,
                    phone: p.phone,
                    temperature: p.temperature,
                    origin: p.origin,
                    destination: p.destination,
                    health_code: p.health_code,
                })
                .collect(),
            cargo: self.cargo,
            pass_number: self.pass_number,
            outcome: self.outcome,
            note: self.note,
        }
    }

    /// Checks every field; all the problems, not just the first.
    pub fn parse(self, now_us: i64, utc_offset_hours: i32) -> Result<NewScreening, Vec<FieldError>> {
        let mut errors = Vec::new();
        let id = RecordId::parse("id", &self.id).map_err(|e| errors.push(e)).ok();
        let occurred_us = self.occurred_us.unwrap_or(now_us);
        if !(EARLIEST_US..=now_us + AHEAD_US).contains(&occurred_us) {
            errors.push(FieldError::new("occurred_us", "time_out_of_range"));
        }
        let fields = ScreeningFields::parse(&self.draft(), now_us).map_err(|e| errors.extend(e)).ok();
        match (id, fields) {
            (Some(id), Some(f)) if errors.is_empty() => Ok(new_screening(id, occurred_us, utc_offset_hours, &f)),
            _ => Err(errors),
        }
    }
}

/// The start, in UTC µs, of the local day (at `offset_hours`) holding `us`.
pub fn local_day_start(us: i64, offset_hours: i32) -> i64 {
    let offset = i64::from(offset_hours) * HOUR_US;
    (us + offset).div_euclid(DAY_US) * DAY_US - offset
}

fn new_screening(id: RecordId, occurred_us: i64, offset_hours: i32, f: &ScreeningFields) -> NewScreening {
    NewScreening {
        id,
        occurred_us,
        day_us: local_day_start(occurred_us, offset_hours),
        direction: f.direction(),
        plate: f.plate().plate().map(|p| p.as_str().to_owned()),
        vehicle_type: f.vehicle_type(),
        people_count: f.people_count(),
        cargo: f.cargo(),
        pass_number: f.pass_number().map(str::to_owned),
        outcome: f.outcome(),
        note: f.note().to_owned(),
        people: f
            .people()
            .iter()
            .map(|p| PersonRecord {
                name: p.name().map(|n| n.expose().to_owned()),
                id_number: p.id_number().map(|n| n.expose().to_owned()),
                phone: p.phone().map(|n| n.expose().to_owned()),
                temperature_dc: p.temperature().map(|t| i64::from(t.tenths())),
                origin: p.origin().map(|r| r.as_str().to_owned()),
                destination: p.destination().map(|r| r.as_str().to_owned()),
                health_code: p.health_code(),
            })
            .collect(),
        incidents: f.incidents().iter().map(|i| (i.kind, i.severity)).collect(),
    }
}

/// A person as the caller may see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    /// Name; masked to the surname unless seen unmasked.
    pub name: Option<String>,
    /// ID number; masked to the first 6 and last 4.
    pub id_number: Option<String>,
    /// Phone; masked to the first 3 and last 4.
    pub phone: Option<String>,
    /// °C.
    pub temperature: Option<f64>,
    /// Region code.
    pub origin: Option<String>,
    /// The region's full name.
    pub origin_name: Option<String>,
    /// Region code.
    pub destination: Option<String>,
    /// The region's full name.
    pub destination_name: Option<String>,
    /// `green`, `yellow`, `red`.
    pub health_code: Option<String>,
}

/// A screening as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScreeningView {
    /// The phone's UUIDv7.
    pub id: String,
    /// Post.
    pub checkpoint_id: i64,
    /// When, by the phone.
    pub occurred_us: i64,
    /// When stored.
    pub recorded_us: i64,
    /// Who logged it.
    pub officer_id: i64,
    /// `in`, `out`.
    pub direction: String,
    /// Plate, or null on foot (or erased).
    pub plate: Option<String>,
    /// Vehicle type.
    pub vehicle_type: String,
    /// People.
    pub people_count: i64,
    /// Cargo.
    pub cargo: String,
    /// Pass number.
    pub pass_number: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Note.
    pub note: String,
    /// A fever was measured.
    pub fever: bool,
    /// A red code was shown.
    pub red_code: bool,
    /// Personal fields erased after the retention period.
    pub erased: bool,
    /// Whether personal data is masked in this view.
    pub masked: bool,
    /// People recorded one by one.
    pub people: Vec<PersonView>,
}

/// First `head` and last `tail` characters, the rest as `*`.
fn keep_ends(raw: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let stars = "*".repeat(chars.len() - head - tail);
    format!(
        "{}{stars}{}",
        chars[..head].iter().collect::<String>(),
        chars[chars.len() - tail..].iter().collect::<String>()
    )
}

impl ScreeningView {
    /// The view of `s`, personal fields masked unless `unmasked`.
    pub fn of(s: &Screening, unmasked: bool) -> Self {
        let region = |code: &Option<String>| {
            code.as_deref().and_then(|c| RegionCode::parse("region", c).ok()).map(|r| r.full_name().to_owned())
        };
        let people = s
            .people
            .iter()
            .map(|p| PersonView {
                name: p.name.as_deref().map(|n| {
                    if unmasked {
                        n.to_owned()
                    } else {
                        PersonName::parse("name", n).map_or_else(|_| keep_ends(n, 1, 0), |v| v.masked())
                    }
                }),
                id_number: p.id_number.as_deref().map(|n| if unmasked { n.to_owned() } else { keep_ends(n, 6, 4) }),
                phone: p.phone.as_deref().map(|n| {
                    if unmasked {
                        n.to_owned()
                    } else {
                        MobilePhone::parse("phone", n).map_or_else(|_| keep_ends(n, 3, 4), |v| v.masked())
                    }
                }),
                temperature: p.temperature_dc.map(|t| t as f64 / 10.0),
                origin_name: region(&p.origin),
                origin: p.origin.clone(),
                destination_name: region(&p.destination),
                destination: p.destination.clone(),
                health_code: p.health_code.map(|c| c.as_str().to_owned()),
            })
            .collect();
        Self {
            id: s.id.to_string(),
            checkpoint_id: s.checkpoint_id.0,
            occurred_us: s.occurred_us,
            recorded_us: s.recorded_us,
            officer_id: s.officer_id.0,
            direction: s.direction.as_str().to_owned(),
            plate: s.plate.clone(),
            vehicle_type: s.vehicle_type.as_str().to_owned(),
            people_count: s.people_count,
            cargo: s.cargo.as_str().to_owned(),
            pass_number: s.pass_number.clone(),
            outcome: s.outcome.as_str().to_owned(),
            note: s.note.clone(),
            fever: s.fever,
            red_code: s.red_code,
            erased: s.erased_us.is_some(),
            masked: !unmasked,
            people,
        }
    }
}

/// Records `screenings` at post `cp` for the caller; one result per record.
pub async fn record(
    state: &AppState,
    authed: &Authed,
    cp: CheckpointId,
    screenings: Vec<NewScreening>,
) -> AppResult<Vec<(Screening, bool)>> {
    // From the cache: a post's scope never changes, and whether it is
    // active is the writer's to check, in the transaction.
    let scope = state.cache.post_scope(&state.store, cp).await?;
    authed.may(Action::RecordScreening, &scope).map_err(hide_out_of_scope)?;
    let command = Command::RecordScreenings { checkpoint: cp, screenings };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_screenings()?)
}

/// Log one screening at a post. 201 when stored now, 200 when this id was
/// stored before (the stored record is returned unchanged). A fever
/// (≥ 37.3 °C) or a red code opens an incident for HQ.
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/screenings", tag = "screenings", request_body = ScreeningInput,
    params(("id" = i64, Path, description = "The post")),
    responses((status = 201, body = ScreeningView), (status = 200, body = ScreeningView, description = "already stored"),
              (status = 422, description = "a field is invalid (the first one found is named)")))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<ScreeningInput>,
) -> AppResult<(StatusCode, Json<ScreeningView>)> {
    let new = req
        .parse(shouwang_store::now_us(), state.config.display_utc_offset_hours)
        .map_err(|errors| AppError::Field(errors.into_iter().next().expect("a refusal names at least one field")))?;
    let mut done = record(&state, &authed, CheckpointId(id), vec![new]).await?;
    let (stored, created) = done.pop().expect("one screening in, one out");
    // Masked like any read: an unmasked view is a search with `unmasked`.
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(ScreeningView::of(&stored, false))))
}

/// A batch of screenings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningBatch {
    /// 1–1000 screenings.
    pub screenings: Vec<ScreeningInput>,
}

/// A stored batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchSummary {
    /// Records stored by this request.
    pub created: usize,
    /// Records that were stored before (resends).
    pub resent: usize,
    /// Records that raised an incident.
    pub flagged: usize,
}

/// One bad field of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowProblem {
    /// The record's index in `screenings` (from 0).
    pub index: usize,
    /// The field within the record, e.g. `people[0].id_number`.
    pub field: String,
    /// Stable code.
    pub code: String,
    /// What is wrong, in the caller's language.
    pub message: String,
}

/// The refusal of a batch: the one error shape plus every bad field.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchRefusal {
    /// `{"code":"screening_rows","field":"screenings","message":…}`.
    #[schema(value_type = Object)]
    pub error: serde_json::Value,
    /// Every bad field, by record.
    pub rows: Vec<RowProblem>,
}

/// Log a batch of screenings (a phone back online, an import): all or none.
/// A batch with bad records is refused whole, each bad field named by its
/// record's index; records already stored are answered as resent.
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/screenings/batch", tag = "screenings",
    request_body = ScreeningBatch, params(("id" = i64, Path, description = "The post")),
    responses((status = 201, body = BatchSummary), (status = 422, body = BatchRefusal)))]
pub async fn create_batch(
    State(state): State<AppState>,
    authed: Authed,
    lang: Lang,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<ScreeningBatch>,
) -> AppResult<Response> {
    if req.screenings.is_empty() {
        return Err(FieldError::new("screenings", "required").into());
    }
    if req.screenings.len() > MAX_BATCH {
        return Err(FieldError::new("screenings", "too_many_rows").arg("max", MAX_BATCH).into());
    }
    // The post first: a batch for a post out of reach is not worth checking.
    let scope = state.cache.post_scope(&state.store, CheckpointId(id)).await?;
    authed.may(Action::RecordScreening, &scope).map_err(hide_out_of_scope)?;
    let now = shouwang_store::now_us();
    let mut problems = Vec::new();
    let mut valid = Vec::with_capacity(req.screenings.len());
    for (index, input) in req.screenings.into_iter().enumerate() {
        match input.parse(now, state.config.display_utc_offset_hours) {
            Ok(new) => valid.push(new),
            Err(errors) => problems.extend(errors.into_iter().map(|e| RowProblem {
                index,
                field: e.field.clone(),
                code: e.code.to_owned(),
                message: state.i18n.field_error(lang, &e),
            })),
        }
    }
    if !problems.is_empty() {
        let bad: std::collections::BTreeSet<usize> = problems.iter().map(|p| p.index).collect();
        let message = state.i18n.text(lang, "error-screening-rows", &[("count", bad.len().to_string())]);
        let error = serde_json::json!({ "code": "screening_rows", "field": "screenings", "message": message });
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(BatchRefusal { error, rows: problems })).into_response());
    }
    let done = record(&state, &authed, CheckpointId(id), valid).await?;
    let created = done.iter().filter(|(_, c)| *c).count();
    let summary = BatchSummary {
        created,
        resent: done.len() - created,
        flagged: done.iter().filter(|(s, c)| *c && (s.fever || s.red_code)).count(),
    };
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}

/// Which screenings.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ScreeningQuery {
    /// Only at this post.
    pub checkpoint_id: Option<i64>,
    /// From (µs, inclusive).
    pub from_us: Option<i64>,
    /// To (µs, exclusive).
    pub to_us: Option<i64>,
    /// Only this plate (exact, as normalised).
    pub plate: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Only those that raised an incident.
    pub flagged: Option<bool>,
    /// At most this many, newest first (1–500, default 100).
    pub limit: Option<i64>,
    /// Show personal data unmasked: needs the `see_personal` right, and is
    /// recorded in the audit log.
    pub unmasked: Option<bool>,
}

impl ScreeningQuery {
    /// The store's filter, or the first bad parameter.
    pub fn filter(&self) -> Result<ScreeningFilter, FieldError> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(FieldError::new("limit", "out_of_range").arg("min", 1).arg("max", 500));
        }
        let plate = match self.plate.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(shouwang_domain::screening::PlateNumber::parse("plate", p)?.as_str().to_owned()),
            None => None,
        };
        let outcome = match self.outcome.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            Some(o) => Some(Verdict::parse("outcome", o)?),
            None => None,
        };
        Ok(ScreeningFilter {
            checkpoint: self.checkpoint_id.map(CheckpointId),
            from_us: self.from_us,
            to_us: self.to_us,
            plate,
            outcome,
            flagged: self.flagged.unwrap_or(false),
            limit,
        })
    }
}

/// Searches screenings within `authed`'s scope; unmasked (and audited) only
/// if asked and allowed.
pub async fn search(state: &AppState, authed: &Authed, q: &ScreeningQuery) -> AppResult<(Vec<Screening>, bool)> {
    authed.may_here(Action::ReadScreenings)?;
    let unmasked = q.unmasked.unwrap_or(false);
    if unmasked {
        authed.may_here(Action::SeePersonal)?;
    }
    let found = state.store.screenings_within(&authed.principal.scope, &q.filter()?).await?;
    if unmasked && !found.is_empty() {
        let audit = Command::RecordUnmaskedView {
            what: "search".into(),
            count: found.len() as i64,
            scope: authed.principal.scope.clone(),
        };
        state.writer.submit(authed.actor(), audit).await?;
    }
    Ok((found, unmasked))
}

/// Screenings within the caller's scope, newest first; personal data masked
/// unless `unmasked=true` (which needs `see_personal` and is audited).
#[utoipa::path(get, path = "/api/v1/screenings", tag = "screenings", params(ScreeningQuery),
    responses((status = 200, body = [ScreeningView])))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<ScreeningQuery>,
) -> AppResult<Json<Vec<ScreeningView>>> {
    let (found, unmasked) = search(&state, &authed, &q).await?;
    Ok(Json(found.iter().map(|s| ScreeningView::of(s, unmasked)).collect()))
}

/// Which counts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Only this post.
    pub checkpoint_id: Option<i64>,
    /// From (µs, inclusive; for days, the start of a local day).
    pub from_us: Option<i64>,
    /// To (µs, exclusive).
    pub to_us: Option<i64>,
    /// `hour`, `day` (local days) or `total` (default).
    pub grain: Option<String>,
}

/// Screening counts within the caller's scope by post, direction, cargo and
/// outcome: per hour, per local day, or in total. Read from rollups kept as
/// screenings are written, so as fast over years as over a day.
#[utoipa::path(get, path = "/api/v1/screenings/stats", tag = "screenings", params(StatsQuery),
    responses((status = 200, body = [Object])))]
pub async fn stats(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> AppResult<Json<Vec<ScreeningCount>>> {
    authed.may_here(Action::ReadScreenings)?;
    let grain = match q.grain.as_deref().unwrap_or("total") {
        "hour" => Grain::Hour,
        "day" => Grain::Day,
        "total" => Grain::Total,
        _ => return Err(FieldError::new("grain", "invalid_choice").arg("choices", "hour, day, total").into()),
    };
    let (from, to) = (q.from_us.unwrap_or(i64::MIN), q.to_us.unwrap_or(i64::MAX));
    if from >= to {
        return Err(FieldError::new("to_us", "ends_before_start").into());
    }
    let cp = q.checkpoint_id.map(CheckpointId);
    let counts = state.store.screening_counts(&authed.principal.scope, cp, from, to, grain).await?;
    Ok(Json(counts))
}

/// Which incidents.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    /// Only open ones (default true).
    pub open: Option<bool>,
}

/// Incidents at posts within the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "screenings", params(IncidentQuery),
    responses((status = 200, body = [Object])))]
pub async fn incidents(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<IncidentQuery>,
) -> AppResult<Json<Vec<Incident>>> {
    authed.may_here(Action::ReadScreenings)?;
    Ok(Json(state.store.incidents_within(&authed.principal.scope, q.open.unwrap_or(true)).await?))
}

/// A region search.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegionQuery {
    /// Digits (a code prefix) or words of the name, e.g. `卢氏` or `4112`.
    pub q: String,
    /// At most this many (1–50, default 20).
    pub limit: Option<usize>,
}

/// A region.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionView {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Province, city and county.
    pub full_name: String,
}

/// Region codes for an origin or destination, by code prefix or name.
#[utoipa::path(get, path = "/api/v1/regions", tag = "screenings", params(RegionQuery),
    responses((status = 200, body = [RegionView])))]
pub async fn regions(_authed: Authed, ApiQuery(q): ApiQuery<RegionQuery>) -> AppResult<Json<Vec<RegionView>>> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(FieldError::new("limit", "out_of_range").arg("min", 1).arg("max", 50).into());
    }
    let found = RegionCode::search(&q.q, limit)
        .into_iter()
        .map(|r| RegionView {
            code: r.as_str().to_owned(),
            name: r.name().to_owned(),
            full_name: r.full_name().to_owned(),
        })
        .collect();
    Ok(Json(found))
}
