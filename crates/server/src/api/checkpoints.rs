//! `/api/v1/checkpoints`, rosters, check-in, supplies and resupply: the API
//! of the checkpoint capability. The page handlers call the same functions.
//!
//! Who may do what: everyone with *read* sees the posts in their scope;
//! commanders (*command*) set posts up and plan shifts; officers (*write*)
//! record duty at the posts in their scope; *approve* decides on resupply.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shouwang_domain::checkpoint::{
    CheckpointCode, CheckpointKind, CheckpointStatus, DEFAULT_GEOFENCE_M, LatLon, int_in,
};
use shouwang_domain::duty::{ShiftPattern, Span};
use shouwang_domain::policy::Action;
use shouwang_domain::supplies::{LivingAspect, MovementKind, ResupplyFilter, quantity};
use shouwang_domain::{BoundedText, CheckpointId, FieldError, OrgUnitId, RecordId, ShiftId, UserId};
use shouwang_store::writer::{CheckpointDraft, Command};
use shouwang_store::{CheckInRecord, Checkpoint, ResupplyRequest, Shift, StoreError, SupplyLevel};
use utoipa::{IntoParams, ToSchema};

use super::json::{ApiJson, ApiQuery};
use crate::auth::{Authed, hide_out_of_scope};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The longest shift the roster accepts, in hours.
pub const MAX_SHIFT_HOURS: i64 = 12;

/// A checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointView {
    /// Id.
    pub id: i64,
    /// Code, e.g. `ZYG-01`.
    pub code: String,
    /// Name.
    pub name: String,
    /// `county_border`, `provincial_border`, `highway_exit`, `trunk_road`,
    /// `village_entry`, `station`, `other`.
    pub kind: String,
    /// Org unit id.
    pub org_unit_id: i64,
    /// WGS-84 latitude.
    pub lat: f64,
    /// WGS-84 longitude.
    pub lon: f64,
    /// Address or description.
    pub address: String,
    /// People required per shift.
    pub required_staff: i64,
    /// Geofence radius, metres.
    pub geofence_m: i64,
    /// Shift pattern, e.g. `08:00+12,20:00+12`.
    pub shift_pattern: String,
    /// `active`, `suspended`, `closed`.
    pub status: String,
    /// `staffed`, `understaffed`, `unstaffed`, `no_signal`, `suspended`.
    pub staffing: String,
    /// People checked in now.
    pub present: i64,
}

impl CheckpointView {
    /// The view of `c` with `present` people checked in.
    pub fn of(c: &Checkpoint, present: i64) -> Self {
        Self {
            id: c.id.0,
            code: c.code.clone(),
            name: c.name.clone(),
            kind: c.kind.as_str().into(),
            org_unit_id: c.org_unit_id.0,
            lat: c.location.lat,
            lon: c.location.lon,
            address: c.address.clone(),
            required_staff: c.required_staff,
            geofence_m: c.geofence_m,
            shift_pattern: c.shift_pattern.clone(),
            status: c.status.as_str().into(),
            staffing: c.staffing.as_str().into(),
            present,
        }
    }
}

/// Filters for the list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuery {
    /// Only posts under this org unit (a township).
    pub org_unit_id: Option<i64>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this status.
    pub status: Option<String>,
}

/// The posts within the caller's scope matching `q`, with who is present.
pub async fn list_within(state: &AppState, authed: &Authed, q: &CheckpointQuery) -> AppResult<Vec<CheckpointView>> {
    authed.may_here(Action::ReadCheckpoints)?;
    let kind = q.kind.as_deref().filter(|k| !k.is_empty()).map(|k| CheckpointKind::parse("kind", k)).transpose()?;
    let status =
        q.status.as_deref().filter(|s| !s.is_empty()).map(|s| CheckpointStatus::parse("status", s)).transpose()?;
    let under = match q.org_unit_id {
        Some(id) => Some(
            state.store.org_unit(OrgUnitId(id)).await.map_err(|_| FieldError::new("org_unit_id", "not_found"))?.path,
        ),
        None => None,
    };
    let present: std::collections::HashMap<_, _> =
        state.store.present_counts_within(&authed.principal.scope).await?.into_iter().collect();
    Ok(state
        .store
        .checkpoints_within(&authed.principal.scope)
        .await?
        .iter()
        .filter(|c| kind.is_none_or(|k| c.kind == k))
        .filter(|c| status.is_none_or(|s| c.status == s))
        .filter(|c| under.as_ref().is_none_or(|u| u.contains(&c.scope)))
        .map(|c| CheckpointView::of(c, present.get(&c.id).copied().unwrap_or(0)))
        .collect())
}

/// The posts within the caller's scope.
#[utoipa::path(get, path = "/api/v1/checkpoints", tag = "checkpoints", params(CheckpointQuery),
    responses((status = 200, body = [CheckpointView])))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<CheckpointQuery>,
) -> AppResult<Json<Vec<CheckpointView>>> {
    Ok(Json(list_within(&state, &authed, &q).await?))
}

/// A checkpoint as submitted (create, edit, import row).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointInput {
    /// The org unit (township) it belongs to.
    pub org_unit_id: i64,
    /// Unique code: 2–20 of `A–Z 0–9 -`.
    pub code: String,
    /// Name, 1–64 characters.
    pub name: String,
    /// Kind (see the list).
    pub kind: String,
    /// Latitude, −90 to 90.
    pub lat: f64,
    /// Longitude, −180 to 180.
    pub lon: f64,
    /// Address or description, up to 200 characters.
    #[serde(default)]
    pub address: String,
    /// People required per shift, 1–50.
    pub required_staff: i64,
    /// Geofence radius in metres, 50–5000 (default 300).
    pub geofence_m: Option<i64>,
    /// `3x8` (default), `2x12`, or `HH:MM+H,…`.
    pub shift_pattern: Option<String>,
}

impl CheckpointInput {
    /// Parses every field into a draft.
    pub fn parse(&self) -> Result<CheckpointDraft, FieldError> {
        let address = self.address.trim();
        if address.chars().count() > 200 {
            return Err(FieldError::new("address", "too_long").arg("max", 200));
        }
        let pattern = ShiftPattern::parse("shift_pattern", self.shift_pattern.as_deref().unwrap_or("3x8"))?;
        Ok(CheckpointDraft {
            org_unit: OrgUnitId(self.org_unit_id),
            code: CheckpointCode::parse("code", &self.code)?,
            name: BoundedText::<64>::parse("name", &self.name)?.into_string(),
            kind: CheckpointKind::parse("kind", &self.kind)?,
            location: LatLon::parse("", self.lat, self.lon)?,
            address: address.to_owned(),
            required_staff: int_in("required_staff", self.required_staff, 1, 50)?,
            geofence_m: int_in("geofence_m", self.geofence_m.unwrap_or(DEFAULT_GEOFENCE_M), 50, 5000)?,
            shift_pattern: pattern.to_stored(),
        })
    }
}

/// Checks that the caller may manage posts under the draft's org unit.
pub async fn may_manage_under(state: &AppState, authed: &Authed, unit: OrgUnitId) -> AppResult<()> {
    let unit = state.store.org_unit(unit).await.map_err(|e| match e {
        StoreError::NotFound => AppError::Field(FieldError::new("org_unit_id", "not_found")),
        other => other.into(),
    })?;
    authed.may(Action::ManageCheckpoints, &unit.path).map_err(|e| match e {
        AppError::Forbidden(shouwang_domain::policy::Denied::OutOfScope) => {
            FieldError::new("org_unit_id", "out_of_scope").into()
        }
        other => other,
    })
}

/// Sets up a post.
pub async fn create_checkpoint(state: &AppState, authed: &Authed, draft: CheckpointDraft) -> AppResult<Checkpoint> {
    authed.may_here(Action::ManageCheckpoints)?;
    may_manage_under(state, authed, draft.org_unit).await?;
    Ok(state.writer.submit(authed.actor(), Command::CreateCheckpoint(draft)).await?.outcome.into_checkpoint()?)
}

/// Set up a checkpoint.
#[utoipa::path(post, path = "/api/v1/checkpoints", tag = "checkpoints", request_body = CheckpointInput,
    responses((status = 201, body = CheckpointView), (status = 409, description = "the code is taken"),
              (status = 422, description = "a field is invalid")))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<CheckpointInput>,
) -> AppResult<(StatusCode, Json<CheckpointView>)> {
    authed.may_here(Action::ManageCheckpoints)?;
    let cp = create_checkpoint(&state, &authed, req.parse()?).await?;
    Ok((StatusCode::CREATED, Json(CheckpointView::of(&cp, 0))))
}

/// The post `id`, if within the caller's scope for `action`.
pub async fn checkpoint_for(
    state: &AppState,
    authed: &Authed,
    id: CheckpointId,
    action: Action,
) -> AppResult<Checkpoint> {
    let cp = state.store.checkpoint(id).await?;
    authed.may(action, &cp.scope).map_err(hide_out_of_scope)?;
    Ok(cp)
}

/// Everything about one post now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointDetail {
    /// The post.
    pub checkpoint: CheckpointView,
    /// Today's and tomorrow's shifts.
    pub shifts: Vec<ShiftView>,
    /// Who is checked in.
    pub present: Vec<CheckInView>,
    /// Supply levels.
    pub supplies: Vec<SupplyView>,
    /// Resupply requests, newest first.
    pub resupply: Vec<ResupplyView>,
}

/// A shift.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftView {
    /// Id.
    pub id: i64,
    /// Post id.
    pub checkpoint_id: i64,
    /// Start, µs since the epoch.
    pub starts_us: i64,
    /// End.
    pub ends_us: i64,
    /// Leader's user id.
    pub leader_id: Option<i64>,
    /// Staff user ids.
    pub staff: Vec<i64>,
}

impl From<&Shift> for ShiftView {
    fn from(s: &Shift) -> Self {
        Self {
            id: s.id.0,
            checkpoint_id: s.checkpoint_id.0,
            starts_us: s.span.starts_us,
            ends_us: s.span.ends_us,
            leader_id: s.leader_id.map(|l| l.0),
            staff: s.staff.iter().map(|u| u.0).collect(),
        }
    }
}

/// A check-in.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInView {
    /// The client-made id.
    pub id: String,
    /// Who.
    pub user_id: i64,
    /// Where.
    pub checkpoint_id: i64,
    /// For which shift.
    pub shift_id: i64,
    /// When (server time).
    pub in_us: i64,
    /// Check-out time, if any.
    pub out_us: Option<i64>,
    /// Metres from the post.
    pub distance_m: Option<f64>,
    /// Outside the geofence (or no position).
    pub outside_fence: bool,
    /// Minutes late.
    pub late_minutes: i64,
}

impl From<&CheckInRecord> for CheckInView {
    fn from(c: &CheckInRecord) -> Self {
        Self {
            id: c.id.to_string(),
            user_id: c.user_id.0,
            checkpoint_id: c.checkpoint_id.0,
            shift_id: c.shift_id.0,
            in_us: c.in_us,
            out_us: c.out_us,
            distance_m: c.distance_m.map(f64::round),
            outside_fence: c.outside_fence,
            late_minutes: c.late_minutes,
        }
    }
}

/// Stock of one item.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupplyView {
    /// Catalogue key, e.g. `mask`.
    pub item: String,
    /// Unit.
    pub unit: String,
    /// On hand.
    pub on_hand: i64,
    /// Low-stock threshold.
    pub threshold: i64,
    /// At or below the threshold.
    pub low: bool,
}

impl From<&SupplyLevel> for SupplyView {
    fn from(l: &SupplyLevel) -> Self {
        Self {
            item: l.item_key.clone(),
            unit: l.unit.clone(),
            on_hand: l.on_hand,
            threshold: l.threshold,
            low: l.low(),
        }
    }
}

/// A resupply request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResupplyView {
    /// The client-made id.
    pub id: String,
    /// Post id.
    pub checkpoint_id: i64,
    /// Item.
    pub item: String,
    /// Asked for.
    pub quantity: i64,
    /// Approved.
    pub approved_quantity: Option<i64>,
    /// `requested`, `approved`, `rejected`, `dispatched`, `received`.
    pub state: String,
    /// The post's note.
    pub note: String,
    /// HQ's note.
    pub decision_note: String,
    /// When asked.
    pub requested_us: i64,
}

impl From<&ResupplyRequest> for ResupplyView {
    fn from(r: &ResupplyRequest) -> Self {
        Self {
            id: r.id.to_string(),
            checkpoint_id: r.checkpoint_id.0,
            item: r.item_key.clone(),
            quantity: r.quantity,
            approved_quantity: r.approved_quantity,
            state: r.state.as_str().into(),
            note: r.note.clone(),
            decision_note: r.decision_note.clone(),
            requested_us: r.requested_us,
        }
    }
}

const DAY_US: i64 = 86_400_000_000;

/// The detail of one post.
pub async fn detail_of(state: &AppState, cp: &Checkpoint) -> AppResult<CheckpointDetail> {
    let now = shouwang_store::now_us();
    let present = state.store.present(cp.id).await?;
    let shifts = state.store.shifts(cp.id, now - DAY_US / 2, now + 2 * DAY_US).await?;
    let supplies = state.store.supply_levels(cp.id).await?;
    let resupply = state.store.resupply_requests_within(&cp.scope, None).await?;
    Ok(CheckpointDetail {
        checkpoint: CheckpointView::of(cp, present.len() as i64),
        shifts: shifts.iter().map(ShiftView::from).collect(),
        present: present.iter().map(CheckInView::from).collect(),
        supplies: supplies.iter().map(SupplyView::from).collect(),
        resupply: resupply.iter().map(ResupplyView::from).collect(),
    })
}

/// One post: roster, presence, supplies, requests.
#[utoipa::path(get, path = "/api/v1/checkpoints/{id}", tag = "checkpoints",
    params(("id" = i64, Path, description = "checkpoint id")), responses((status = 200, body = CheckpointDetail)))]
pub async fn detail(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
) -> AppResult<Json<CheckpointDetail>> {
    let cp = checkpoint_for(&state, &authed, CheckpointId(id), Action::ReadCheckpoints).await?;
    Ok(Json(detail_of(&state, &cp).await?))
}

/// Edit a checkpoint (not its org unit).
#[utoipa::path(put, path = "/api/v1/checkpoints/{id}", tag = "checkpoints", request_body = CheckpointInput,
    params(("id" = i64, Path, description = "checkpoint id")), responses((status = 200, body = CheckpointView)))]
pub async fn update(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<CheckpointInput>,
) -> AppResult<Json<CheckpointView>> {
    authed.may_here(Action::ManageCheckpoints)?;
    let draft = req.parse()?;
    let cp = checkpoint_for(&state, &authed, CheckpointId(id), Action::ManageCheckpoints).await?;
    let command = Command::UpdateCheckpoint { id: cp.id, draft };
    let cp = state.writer.submit(authed.actor(), command).await?.outcome.into_checkpoint()?;
    let present = state.store.present(cp.id).await?.len() as i64;
    Ok(Json(CheckpointView::of(&cp, present)))
}

/// A status change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `active`, `suspended` or `closed`.
    pub status: String,
    /// Why, 1–200 characters.
    pub reason: String,
}

/// Suspend, close or reopen a checkpoint.
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/status", tag = "checkpoints", request_body = StatusChange,
    params(("id" = i64, Path, description = "checkpoint id")), responses((status = 200, body = CheckpointView)))]
pub async fn set_status(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<StatusChange>,
) -> AppResult<Json<CheckpointView>> {
    authed.may_here(Action::ManageCheckpoints)?;
    let status = CheckpointStatus::parse("status", &req.status)?;
    let reason = BoundedText::<200>::parse("reason", &req.reason)?.into_string();
    let cp = checkpoint_for(&state, &authed, CheckpointId(id), Action::ManageCheckpoints).await?;
    let cp = state
        .writer
        .submit(authed.actor(), Command::SetCheckpointStatus { id: cp.id, status, reason })
        .await?
        .outcome
        .into_checkpoint()?;
    Ok(Json(CheckpointView::of(&cp, state.store.present(cp.id).await?.len() as i64)))
}

/// A shift to plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShift {
    /// Start, µs since the epoch.
    pub starts_us: i64,
    /// End; at most 12 hours after the start.
    pub ends_us: i64,
    /// The leader (one of `staff`).
    pub leader_id: Option<i64>,
    /// Who works it.
    pub staff: Vec<i64>,
}

/// Plans a shift at a post.
pub async fn plan_shift(state: &AppState, authed: &Authed, cp: CheckpointId, req: &NewShift) -> AppResult<Shift> {
    authed.may_here(Action::ManageCheckpoints)?;
    let span = Span::shift(req.starts_us, req.ends_us, MAX_SHIFT_HOURS)?;
    if req.staff.is_empty() {
        return Err(FieldError::new("staff", "required").into());
    }
    let cp = checkpoint_for(state, authed, cp, Action::ManageCheckpoints).await?;
    let command = Command::PlanShift {
        checkpoint: cp.id,
        span,
        leader: req.leader_id.map(UserId),
        staff: req.staff.iter().copied().map(UserId).collect(),
    };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_shift()?)
}

/// Plan a shift with its staff.
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/shifts", tag = "checkpoints", request_body = NewShift,
    params(("id" = i64, Path, description = "checkpoint id")), responses((status = 201, body = ShiftView)))]
pub async fn create_shift(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<NewShift>,
) -> AppResult<(StatusCode, Json<ShiftView>)> {
    let shift = plan_shift(&state, &authed, CheckpointId(id), &req).await?;
    Ok((StatusCode::CREATED, Json(ShiftView::from(&shift))))
}

/// A swap.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Swap {
    /// Who leaves the shift.
    pub out_user_id: i64,
    /// Who takes the place.
    pub in_user_id: i64,
    /// Why, 1–200 characters.
    pub reason: String,
}

/// Swap one person on a shift for another.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/swap", tag = "checkpoints", request_body = Swap,
    params(("id" = i64, Path, description = "shift id")), responses((status = 200, body = ShiftView)))]
pub async fn swap(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<Swap>,
) -> AppResult<Json<ShiftView>> {
    authed.may_here(Action::ManageCheckpoints)?;
    let reason = BoundedText::<200>::parse("reason", &req.reason)?.into_string();
    let command = Command::SwapShiftStaff {
        shift: ShiftId(id),
        out: UserId(req.out_user_id),
        into: UserId(req.in_user_id),
        reason,
    };
    // The post's scope is checked through the shift's post.
    let shift = state.store.shift(ShiftId(id)).await?;
    checkpoint_for(&state, &authed, shift.checkpoint_id, Action::ManageCheckpoints).await?;
    Ok(Json(ShiftView::from(&state.writer.submit(authed.actor(), command).await?.outcome.into_shift()?)))
}

/// A check-in from a phone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInInput {
    /// A UUIDv7 made by the phone.
    pub id: String,
    /// The shift checked in for.
    pub shift_id: i64,
    /// Latitude from the phone, if it could tell.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
}

/// Checks the caller in; `(record, created)`.
pub async fn check_in(state: &AppState, authed: &Authed, req: &CheckInInput) -> AppResult<(CheckInRecord, bool)> {
    authed.may_here(Action::RecordDuty)?;
    let id = RecordId::parse("id", &req.id)?;
    let location = match (req.lat, req.lon) {
        (Some(lat), Some(lon)) => Some(LatLon::parse("", lat, lon)?),
        (None, None) => None,
        (Some(_), None) => return Err(FieldError::new("lon", "required").into()),
        (None, Some(_)) => return Err(FieldError::new("lat", "required").into()),
    };
    let shift = state.store.shift(ShiftId(req.shift_id)).await.map_err(|e| match e {
        StoreError::NotFound => AppError::Field(FieldError::new("shift_id", "not_found")),
        other => other.into(),
    })?;
    checkpoint_for(state, authed, shift.checkpoint_id, Action::RecordDuty).await.map_err(|e| match e {
        AppError::NotFound => AppError::Field(FieldError::new("shift_id", "not_on_shift")),
        other => other,
    })?;
    let applied = state.writer.submit(authed.actor(), Command::CheckIn { id, shift: shift.id, location }).await?;
    match applied.outcome {
        shouwang_store::Outcome::CheckIn { record, created } => Ok((record, created)),
        other => Err(AppError::Internal(anyhow::anyhow!("CheckIn gave {other:?}"))),
    }
}

/// Check in for a shift (201; 200 for a resend).
#[utoipa::path(post, path = "/api/v1/check-ins", tag = "duty", request_body = CheckInInput,
    responses((status = 201, body = CheckInView), (status = 200, body = CheckInView, description = "a resend")))]
pub async fn create_check_in(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<CheckInInput>,
) -> AppResult<(StatusCode, Json<CheckInView>)> {
    let (record, created) = check_in(&state, &authed, &req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(CheckInView::from(&record))))
}

/// Checks the caller out.
pub async fn check_out(state: &AppState, authed: &Authed) -> AppResult<CheckInRecord> {
    authed.may_here(Action::RecordDuty)?;
    match state.writer.submit(authed.actor(), Command::CheckOut).await?.outcome {
        shouwang_store::Outcome::CheckIn { record, .. } => Ok(record),
        other => Err(AppError::Internal(anyhow::anyhow!("CheckOut gave {other:?}"))),
    }
}

/// A check-out; the body is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckOutInput {
    /// The check-in this check-out ends. A phone's outbox sends it, so a
    /// check-out resent after a lost answer cannot end a later check-in:
    /// when it is not the caller's open check-in, nothing changes
    /// (`check_in_id`, `not_checked_in`).
    #[serde(default)]
    pub check_in_id: Option<String>,
}

/// Check out.
#[utoipa::path(post, path = "/api/v1/check-out", tag = "duty", request_body = Option<CheckOutInput>,
    responses((status = 200, body = CheckInView)))]
pub async fn create_check_out(
    State(state): State<AppState>,
    authed: Authed,
    body: axum::body::Bytes,
) -> AppResult<Json<CheckInView>> {
    let input: CheckOutInput =
        if body.iter().all(u8::is_ascii_whitespace) { CheckOutInput::default() } else { super::json::parse(&body)? };
    if let Some(raw) = input.check_in_id.as_deref() {
        let expected = RecordId::parse("check_in_id", raw)?;
        let open = state.store.open_check_in(authed.principal.user_id).await?;
        if open.is_none_or(|c| c.id != expected) {
            return Err(FieldError::new("check_in_id", "not_checked_in").into());
        }
    }
    Ok(Json(CheckInView::from(&check_out(&state, &authed).await?)))
}

/// A stock movement.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementInput {
    /// A UUIDv7 made by the phone.
    pub id: String,
    /// Catalogue key, e.g. `mask`.
    pub item: String,
    /// `receipt`, `consumption` or `count`.
    pub kind: String,
    /// A whole number, 0–1,000,000.
    pub quantity: i64,
}

/// Records a stock movement at a post.
pub async fn move_supply(
    state: &AppState,
    authed: &Authed,
    cp: CheckpointId,
    req: &MovementInput,
) -> AppResult<SupplyLevel> {
    authed.may_here(Action::RecordDuty)?;
    let id = RecordId::parse("id", &req.id)?;
    let kind = MovementKind::parse("kind", &req.kind)?;
    let qty = quantity("quantity", req.quantity)?;
    let cp = checkpoint_for(state, authed, cp, Action::RecordDuty).await?;
    let command = Command::MoveSupply { id, checkpoint: cp.id, item: req.item.trim().to_owned(), kind, quantity: qty };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_supply_level()?)
}

/// Record a stock movement (receipt, consumption, count).
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/supplies", tag = "duty", request_body = MovementInput,
    params(("id" = i64, Path, description = "checkpoint id")), responses((status = 200, body = SupplyView)))]
pub async fn create_movement(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<MovementInput>,
) -> AppResult<Json<SupplyView>> {
    Ok(Json(SupplyView::from(&move_supply(&state, &authed, CheckpointId(id), &req).await?)))
}

/// A resupply request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResupplyInput {
    /// A UUIDv7 made by the phone.
    pub id: String,
    /// Catalogue key.
    pub item: String,
    /// How many, at least 1.
    pub quantity: i64,
    /// A note, up to 200 characters.
    #[serde(default)]
    pub note: String,
}

/// Files a resupply request for a post.
pub async fn file_resupply(
    state: &AppState,
    authed: &Authed,
    cp: CheckpointId,
    req: &ResupplyInput,
) -> AppResult<ResupplyRequest> {
    authed.may_here(Action::RecordDuty)?;
    let id = RecordId::parse("id", &req.id)?;
    if !(1..=1_000_000).contains(&req.quantity) {
        return Err(FieldError::new("quantity", "out_of_range").arg("min", 1).arg("max", 1_000_000).into());
    }
    let note = req.note.trim();
    if note.chars().count() > 200 {
        return Err(FieldError::new("note", "too_long").arg("max", 200).into());
    }
    let cp = checkpoint_for(state, authed, cp, Action::RecordDuty).await?;
    let command = Command::FileResupply {
        id,
        checkpoint: cp.id,
        item: req.item.trim().to_owned(),
        quantity: req.quantity,
        note: note.to_owned(),
    };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_resupply()?)
}

/// Ask HQ for supplies.
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/resupply", tag = "duty", request_body = ResupplyInput,
    params(("id" = i64, Path, description = "checkpoint id")), responses((status = 201, body = ResupplyView)))]
pub async fn create_resupply(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<ResupplyInput>,
) -> AppResult<(StatusCode, Json<ResupplyView>)> {
    let r = file_resupply(&state, &authed, CheckpointId(id), &req).await?;
    Ok((StatusCode::CREATED, Json(ResupplyView::from(&r))))
}

/// Which requests.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResupplyQuery {
    /// `open` (requested, approved or dispatched), one state's name, or
    /// empty or absent for every request.
    pub state: Option<String>,
}

/// Resupply requests of posts within the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/resupply", tag = "duty", params(ResupplyQuery), responses((status = 200, body = [ResupplyView])))]
pub async fn list_resupply(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<ResupplyQuery>,
) -> AppResult<Json<Vec<ResupplyView>>> {
    authed.may_here(Action::ReadCheckpoints)?;
    let filter = ResupplyFilter::parse("state", q.state.as_deref().unwrap_or_default())?;
    let all = state.store.resupply_requests_within(&authed.principal.scope, filter).await?;
    Ok(Json(all.iter().map(ResupplyView::from).collect()))
}

/// A decision on a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// How many are approved (1 to the quantity asked); null refuses.
    pub approved_quantity: Option<i64>,
    /// A note, up to 200 characters (required when refusing).
    #[serde(default)]
    pub note: String,
}

async fn request_for(state: &AppState, authed: &Authed, id: &str, action: Action) -> AppResult<ResupplyRequest> {
    let id = RecordId::parse("id", id).map_err(|_| AppError::NotFound)?;
    let r = state.store.resupply_request(id).await?;
    checkpoint_for(state, authed, r.checkpoint_id, action).await?;
    Ok(r)
}

/// Decides on a request.
pub async fn decide(state: &AppState, authed: &Authed, id: &str, req: &Decision) -> AppResult<ResupplyRequest> {
    authed.may_here(Action::ApproveResupply)?;
    let note = req.note.trim().to_owned();
    if req.approved_quantity.is_none() && note.is_empty() {
        return Err(FieldError::new("note", "required").into());
    }
    if note.chars().count() > 200 {
        return Err(FieldError::new("note", "too_long").arg("max", 200).into());
    }
    let r = request_for(state, authed, id, Action::ApproveResupply).await?;
    let command = Command::DecideResupply { id: r.id, approved: req.approved_quantity, note };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_resupply()?)
}

/// Approve (fully or partly) or refuse a resupply request.
#[utoipa::path(post, path = "/api/v1/resupply/{id}/decision", tag = "duty", request_body = Decision,
    params(("id" = String, Path, description = "request id")), responses((status = 200, body = ResupplyView)))]
pub async fn create_decision(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Decision>,
) -> AppResult<Json<ResupplyView>> {
    Ok(Json(ResupplyView::from(&decide(&state, &authed, &id, &req).await?)))
}

/// Moves a request on: dispatch (HQ) or receipt (the post).
pub async fn advance(state: &AppState, authed: &Authed, id: &str, receipt: bool) -> AppResult<ResupplyRequest> {
    let action = if receipt { Action::RecordDuty } else { Action::ApproveResupply };
    authed.may_here(action)?;
    let r = request_for(state, authed, id, action).await?;
    let command = if receipt { Command::ConfirmResupply { id: r.id } } else { Command::DispatchResupply { id: r.id } };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_resupply()?)
}

/// Mark an approved request as dispatched.
#[utoipa::path(post, path = "/api/v1/resupply/{id}/dispatch", tag = "duty",
    params(("id" = String, Path, description = "request id")), responses((status = 200, body = ResupplyView)))]
pub async fn dispatch(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Json<ResupplyView>> {
    Ok(Json(ResupplyView::from(&advance(&state, &authed, &id, false).await?)))
}

/// Confirm receipt at the post (stock goes up).
#[utoipa::path(post, path = "/api/v1/resupply/{id}/receipt", tag = "duty",
    params(("id" = String, Path, description = "request id")), responses((status = 200, body = ResupplyView)))]
pub async fn receipt(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Json<ResupplyView>> {
    Ok(Json(ResupplyView::from(&advance(&state, &authed, &id, true).await?)))
}

/// One line of a living-conditions check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LivingAnswer {
    /// `shelter`, `heating`, `meals`, `water`, `rest_area`, `toilet`.
    pub aspect: String,
    /// Fine or not.
    pub ok: bool,
    /// What is wrong, up to 200 characters.
    #[serde(default)]
    pub note: String,
}

/// A living-conditions check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LivingCheckInput {
    /// A UUIDv7 made by the phone.
    pub id: String,
    /// One answer per aspect.
    pub answers: Vec<LivingAnswer>,
}

/// Records a living-conditions check: every aspect answered once.
pub async fn living_check(
    state: &AppState,
    authed: &Authed,
    cp: CheckpointId,
    req: &LivingCheckInput,
) -> AppResult<()> {
    authed.may_here(Action::RecordDuty)?;
    let id = RecordId::parse("id", &req.id)?;
    let mut answers = Vec::new();
    for (i, a) in req.answers.iter().enumerate() {
        let aspect = LivingAspect::ALL.into_iter().find(|x| x.as_str() == a.aspect).ok_or_else(|| {
            FieldError::new(format!("answers[{i}].aspect"), "invalid_choice")
                .arg("choices", "shelter, heating, meals, water, rest_area, toilet")
        })?;
        if answers.iter().any(|(x, _, _)| *x == aspect) {
            return Err(FieldError::new(format!("answers[{i}].aspect"), "duplicate").into());
        }
        if a.note.chars().count() > 200 {
            return Err(FieldError::new(format!("answers[{i}].note"), "too_long").arg("max", 200).into());
        }
        if !a.ok && a.note.trim().is_empty() {
            return Err(FieldError::new(format!("answers[{i}].note"), "required").into());
        }
        answers.push((aspect, a.ok, a.note.trim().to_owned()));
    }
    if answers.len() != LivingAspect::ALL.len() {
        return Err(FieldError::new("answers", "every_aspect_once").into());
    }
    let cp = checkpoint_for(state, authed, cp, Action::RecordDuty).await?;
    state.writer.submit(authed.actor(), Command::RecordLivingCheck { id, checkpoint: cp.id, answers }).await?;
    Ok(())
}

/// Record a living-conditions check (shelter, heating, meals, water, rest, toilet).
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/living-checks", tag = "duty", request_body = LivingCheckInput,
    params(("id" = i64, Path, description = "checkpoint id")), responses((status = 204)))]
pub async fn create_living_check(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<LivingCheckInput>,
) -> AppResult<StatusCode> {
    living_check(&state, &authed, CheckpointId(id), &req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a duty officer's phone shows: their post, their shift now or next,
/// who else is on it, their check-in, the post's supplies and requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyPost {
    /// The post, if the officer has a shift today.
    pub checkpoint: Option<CheckpointDetail>,
    /// The shift now or next (within a day).
    pub shift: Option<ShiftView>,
    /// The officer's open check-in.
    pub check_in: Option<CheckInView>,
}

/// The caller's shift now or next (within a day) and their open check-in:
/// the shift's post is "their post".
pub async fn shift_now(state: &AppState, authed: &Authed) -> AppResult<(Option<Shift>, Option<CheckInRecord>)> {
    let now = shouwang_store::now_us();
    let open = state.store.open_check_in(authed.principal.user_id).await?;
    let shifts = state.store.shifts_of_user(authed.principal.user_id, now - DAY_US / 2, now + DAY_US).await?;
    let shift = match &open {
        Some(c) => shifts.iter().find(|s| s.id == c.shift_id).cloned(),
        None => shifts.iter().find(|s| s.span.ends_us > now).cloned(),
    };
    Ok((shift, open))
}

/// The officer's post now.
pub async fn my_post_of(state: &AppState, authed: &Authed) -> AppResult<MyPost> {
    authed.may_here(Action::ReadCheckpoints)?;
    let (shift, open) = shift_now(state, authed).await?;
    let checkpoint = match shift.as_ref().map(|s| s.checkpoint_id) {
        Some(id) => Some(detail_of(state, &state.store.checkpoint(id).await?).await?),
        None => None,
    };
    Ok(MyPost {
        checkpoint,
        shift: shift.as_ref().map(ShiftView::from),
        check_in: open.as_ref().map(CheckInView::from),
    })
}

/// The caller's post, shift and check-in.
#[utoipa::path(get, path = "/api/v1/me/post", tag = "duty", responses((status = 200, body = MyPost)))]
pub async fn my_post(State(state): State<AppState>, authed: Authed) -> AppResult<Json<MyPost>> {
    Ok(Json(my_post_of(&state, &authed).await?))
}
