//! Freight passes (通行证) through the API: HQ or a township issues and
//! revokes them, enterprise contacts ask for them and approvers decide, posts
//! verify them — online here, offline on the phone with the public key, the
//! revocation list and the tokens valid at their post that this module hands
//! out.
//!
//! What a pass says, how it is signed and how a post decides are the
//! domain's (`shouwang_domain::pass`); this file signs with the deployment's
//! key (kept by [`crate::bootstrap::pass_key`]), checks scopes, and turns
//! stored passes into views fit for the caller.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shouwang_domain::pass::{
    PassClaims, PassNumber, PassSigningKey, PassTerms, PassTermsDraft, PassToken, PostSeen, Verdict, verify,
};
use shouwang_domain::policy::{Action, Right};
use shouwang_domain::region::RegionCode;
use shouwang_domain::screening::PlateNumber;
use shouwang_domain::{CheckpointId, FieldError, RecordId, ScopePath};
use shouwang_store::writer::Command;
use shouwang_store::{NewPass, NewPassRequest, Pass, PassDecision, PassRequest, PassUsage, StoreError};
use utoipa::{IntoParams, ToSchema};

use super::checkpoints::{checkpoint_for, my_post_of};
use super::json::{ApiJson, ApiQuery};
use crate::auth::{Authed, hide_out_of_scope};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

const DAY_US: i64 = 86_400_000_000;

/// The terms of a pass, as a form or a client sends them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassInput {
    /// A UUIDv7 made by the client, so a resend is safe; made by the server
    /// if absent. Ignored when asking for a pass (see [`PassRequestInput`]).
    pub id: Option<String>,
    /// The enterprise's name, 1–60 characters.
    pub enterprise: Option<String>,
    /// 1–3 plates, e.g. `豫M12345`.
    #[serde(default)]
    pub plates: Vec<String>,
    /// The driver's name.
    pub driver_name: Option<String>,
    /// The driver's mainland mobile number.
    pub driver_phone: Option<String>,
    /// Region code of the origin, e.g. `411224`.
    pub origin: Option<String>,
    /// Region code of the destination.
    pub destination: Option<String>,
    /// The posts it may pass (checkpoint ids); empty: any post within the
    /// issuer's scope.
    #[serde(default)]
    pub posts: Vec<i64>,
    /// `production_materials`, `living_supplies`, `medical_supplies`,
    /// `agricultural_inputs`, `none`.
    pub cargo: Option<String>,
    /// Valid from (µs since the epoch); default now.
    pub valid_from_us: Option<i64>,
    /// Valid until (µs, exclusive); at most 90 days after the start.
    pub valid_until_us: Option<i64>,
    /// A note for the approver (requests only).
    pub note: Option<String>,
}

impl PassInput {
    /// The domain's draft of the terms.
    pub fn draft(&self) -> PassTermsDraft {
        PassTermsDraft {
            enterprise: self.enterprise.clone(),
            plates: self.plates.clone(),
            driver_name: self.driver_name.clone(),
            driver_phone: self.driver_phone.clone(),
            origin: self.origin.clone(),
            destination: self.destination.clone(),
            posts: self.posts.clone(),
            cargo: self.cargo.clone(),
            valid_from_us: self.valid_from_us,
            valid_until_us: self.valid_until_us,
        }
    }
}

/// A pass as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassView {
    /// Its UUIDv7.
    pub id: String,
    /// The number to read out or type: `7K3M-9QP2`.
    pub number: String,
    /// `issued` or `revoked`.
    pub status: String,
    /// Whether it is in force now (issued and within its window).
    pub in_force: bool,
    /// The enterprise.
    pub enterprise: String,
    /// Its plates.
    pub plates: Vec<String>,
    /// The driver.
    pub driver_name: String,
    /// The driver's phone; masked unless the caller may see personal data or
    /// asked for the pass.
    pub driver_phone: String,
    /// Region code of the origin.
    pub origin: String,
    /// Its full name.
    pub origin_name: String,
    /// Region code of the destination.
    pub destination: String,
    /// Its full name.
    pub destination_name: String,
    /// The posts it may pass; empty: any within `scope`.
    pub posts: Vec<i64>,
    /// Where it is valid: the issuer's scope.
    pub scope: String,
    /// Cargo category.
    pub cargo: String,
    /// Valid from (µs).
    pub valid_from_us: i64,
    /// Valid until (µs, exclusive).
    pub valid_until_us: i64,
    /// When it was issued.
    pub issued_us: i64,
    /// Who issued it.
    pub issued_by: i64,
    /// The request it answers.
    pub request_id: Option<String>,
    /// When it was revoked.
    pub revoked_us: Option<i64>,
    /// Why.
    pub revoke_reason: String,
    /// The signed token: what the QR code holds.
    pub token: String,
}

/// The signing key kept in the state; set at start.
pub fn signing_key(state: &AppState) -> AppResult<&PassSigningKey> {
    state.pass_key.get().ok_or_else(|| AppError::Internal(anyhow::anyhow!("the pass signing key is not loaded")))
}

fn region_name(code: RegionCode) -> String {
    code.full_name().to_owned()
}

impl PassView {
    /// The view of a stored pass; the phone masked unless `unmasked`.
    pub fn of(p: &Pass, unmasked: bool, now_us: i64) -> AppResult<Self> {
        let token = PassToken::parse("token", &p.token)?;
        let claims = token
            .claims_unverified()
            .map_err(|_| AppError::Internal(anyhow::anyhow!("stored pass {} has an unreadable token", p.id)))?;
        let t = claims.terms();
        Ok(Self {
            id: p.id.to_string(),
            number: claims.number.to_string(),
            status: p.status.as_str().to_owned(),
            in_force: p.status == shouwang_domain::pass::PassStatus::Issued
                && (p.valid_from_us..p.valid_until_us).contains(&now_us),
            enterprise: t.enterprise().to_owned(),
            plates: t.plates().iter().map(|p| p.as_str().to_owned()).collect(),
            driver_name: t.driver_name().expose().to_owned(),
            driver_phone: if unmasked { t.driver_phone().expose().to_owned() } else { t.driver_phone().masked() },
            origin: t.origin().as_str().to_owned(),
            origin_name: region_name(t.origin()),
            destination: t.destination().as_str().to_owned(),
            destination_name: region_name(t.destination()),
            posts: t.posts().iter().map(|c| c.0).collect(),
            scope: claims.scope.as_str().to_owned(),
            cargo: t.cargo().as_str().to_owned(),
            valid_from_us: t.valid_from_us(),
            valid_until_us: t.valid_until_us(),
            issued_us: claims.issued_us,
            issued_by: p.issued_by.0,
            request_id: p.request_id.map(|r| r.to_string()),
            revoked_us: p.revoked_us,
            revoke_reason: p.revoke_reason.clone(),
            token: p.token.clone(),
        })
    }
}

/// Whether `authed` sees `pass` with the phone unmasked.
fn unmasked_for(authed: &Authed, pass: &Pass) -> bool {
    authed.principal.rights.has(Right::SeePersonal) || pass.requested_by == Some(authed.principal.user_id)
}

/// Checks `draft` and that every post it names exists within `authed`'s
/// scope for issuing.
async fn terms_for_issue(state: &AppState, authed: &Authed, draft: &PassTermsDraft, now: i64) -> AppResult<PassTerms> {
    let terms = PassTerms::parse(draft, now)
        .map_err(|errors| AppError::Field(errors.into_iter().next().expect("a refusal names at least one field")))?;
    for (i, post) in terms.posts().iter().enumerate() {
        let found = checkpoint_for(state, authed, *post, Action::IssuePass).await;
        if let Err(AppError::NotFound) = found {
            return Err(FieldError::new(format!("posts[{i}]"), "not_found").into());
        }
        found?;
    }
    Ok(terms)
}

/// Signs `terms` as issued now by `authed` into a pass to store.
fn signed(state: &AppState, authed: &Authed, id: RecordId, terms: PassTerms, now: i64) -> AppResult<NewPass> {
    let number = PassNumber::from_bytes(rand::random());
    let claims = PassClaims::new(number, authed.principal.scope.clone(), now, terms);
    let token = signing_key(state)?.sign(&claims);
    let t = claims.terms();
    Ok(NewPass {
        id,
        number: claims.number.as_stored(),
        scope: claims.scope.clone(),
        token: token.as_str().to_owned(),
        plates: t.plates().iter().map(|p| p.as_str().to_owned()).collect(),
        enterprise: t.enterprise().to_owned(),
        valid_from_us: t.valid_from_us(),
        valid_until_us: t.valid_until_us(),
    })
}

fn optional_id(raw: &Option<String>) -> AppResult<RecordId> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => Ok(RecordId::parse("id", id)?),
        None => Ok(RecordId::new_v7()),
    }
}

/// Issues a pass with `input`'s terms as `authed`; with whether it is new.
pub async fn issue_pass(state: &AppState, authed: &Authed, input: &PassInput) -> AppResult<(Pass, bool)> {
    authed.may_here(Action::IssuePass)?;
    let id = optional_id(&input.id)?;
    let now = shouwang_store::now_us();
    let terms = terms_for_issue(state, authed, &input.draft(), now).await?;
    // A number drawn twice (one chance in a trillion) is drawn again.
    for _ in 0..3 {
        let new = signed(state, authed, id, terms.clone(), now)?;
        match state.writer.submit(authed.actor(), Command::IssuePass(new)).await {
            Err(StoreError::Conflict { field: "number" }) => continue,
            other => return Ok(other?.outcome.into_pass()?),
        }
    }
    Err(AppError::Internal(anyhow::anyhow!("three pass numbers in a row were taken")))
}

/// Issue a freight pass (approvers, within their scope). 201 when issued
/// now, 200 when this id was issued before (the stored pass, unchanged).
#[utoipa::path(post, path = "/api/v1/passes", tag = "passes", request_body = PassInput,
    responses((status = 201, body = PassView), (status = 200, body = PassView, description = "already issued"),
              (status = 422, description = "a field is invalid (the first one found is named)")))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(input): ApiJson<PassInput>,
) -> AppResult<(StatusCode, Json<PassView>)> {
    let (pass, created) = issue_pass(&state, &authed, &input).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(PassView::of(&pass, unmasked_for(&authed, &pass), shouwang_store::now_us())?)))
}

/// How many.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// At most this many, newest first (1–500, default 100).
    pub limit: Option<i64>,
}

fn limit_of(limit: Option<i64>) -> AppResult<i64> {
    let limit = limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(FieldError::new("limit", "out_of_range").arg("min", 1).arg("max", 500).into());
    }
    Ok(limit)
}

/// Passes valid within the caller's scope and those issued to the caller's
/// requests.
pub async fn list_passes(state: &AppState, authed: &Authed, limit: i64) -> AppResult<Vec<PassView>> {
    authed.may_here(Action::ReadPasses)?;
    let now = shouwang_store::now_us();
    let found = state.store.passes_for(&authed.principal.scope, authed.principal.user_id, limit).await?;
    found.iter().map(|p| PassView::of(p, unmasked_for(authed, p), now)).collect()
}

/// Passes valid within the caller's scope, and those issued on the caller's
/// own requests; newest first.
#[utoipa::path(get, path = "/api/v1/passes", tag = "passes", params(ListQuery),
    responses((status = 200, body = [PassView])))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<Vec<PassView>>> {
    Ok(Json(list_passes(&state, &authed, limit_of(q.limit)?).await?))
}

/// The pass `id`, if the caller may see it (within scope, or asked for it).
pub async fn pass_for(state: &AppState, authed: &Authed, id: &str) -> AppResult<Pass> {
    let id = RecordId::parse("id", id).map_err(|_| AppError::NotFound)?;
    let pass = state.store.pass(id).await?;
    if pass.requested_by != Some(authed.principal.user_id) {
        authed.may(Action::ReadPasses, &pass.scope).map_err(hide_out_of_scope)?;
    }
    Ok(pass)
}

/// One pass.
#[utoipa::path(get, path = "/api/v1/passes/{id}", tag = "passes",
    params(("id" = String, Path, description = "The pass's UUIDv7")),
    responses((status = 200, body = PassView), (status = 404)))]
pub async fn detail(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Json<PassView>> {
    let pass = pass_for(&state, &authed, &id).await?;
    Ok(Json(PassView::of(&pass, unmasked_for(&authed, &pass), shouwang_store::now_us())?))
}

/// Why a pass is revoked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeInput {
    /// 1–200 characters.
    pub reason: Option<String>,
}

/// Revokes pass `id` as `authed`.
pub async fn revoke_pass(state: &AppState, authed: &Authed, id: &str, reason: Option<&str>) -> AppResult<Pass> {
    authed.may_here(Action::IssuePass)?;
    let pass = pass_for(state, authed, id).await?;
    authed.may(Action::IssuePass, &pass.scope).map_err(hide_out_of_scope)?;
    let reason = shouwang_domain::BoundedText::<200>::parse("reason", reason.unwrap_or(""))?;
    let command = Command::RevokePass { id: pass.id, reason: reason.into_string() };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_pass()?.0)
}

/// Revoke a pass, with the reason: refused online at once, and by every
/// post's phone from its next sync.
#[utoipa::path(post, path = "/api/v1/passes/{id}/revoke", tag = "passes", request_body = RevokeInput,
    params(("id" = String, Path, description = "The pass's UUIDv7")),
    responses((status = 200, body = PassView), (status = 404), (status = 422)))]
pub async fn revoke(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RevokeInput>,
) -> AppResult<Json<PassView>> {
    let pass = revoke_pass(&state, &authed, &id, input.reason.as_deref()).await?;
    Ok(Json(PassView::of(&pass, unmasked_for(&authed, &pass), shouwang_store::now_us())?))
}

/// An enterprise's request for a pass.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassRequestView {
    /// Its UUIDv7.
    pub id: String,
    /// `requested`, `approved` or `refused`.
    pub state: String,
    /// Who asked.
    pub requested_by: i64,
    /// The terms asked for (the driver's phone masked unless the caller may
    /// see personal data or asked).
    #[schema(value_type = Object)]
    pub terms: serde_json::Value,
    /// Their note.
    pub note: String,
    /// When asked.
    pub created_us: i64,
    /// When decided.
    pub decided_us: Option<i64>,
    /// Why refused.
    pub decision_note: String,
    /// The pass issued on approval.
    pub pass_id: Option<String>,
}

impl PassRequestView {
    /// The view of `r` for `authed`.
    pub fn of(r: &PassRequest, authed: &Authed) -> Self {
        let mut terms: serde_json::Value = serde_json::from_str(&r.terms).unwrap_or(serde_json::Value::Null);
        let unmasked = authed.principal.rights.has(Right::SeePersonal) || r.requested_by == authed.principal.user_id;
        if !unmasked
            && let Some(phone) = terms.get("driver_phone").and_then(|p| p.as_str())
            && let Ok(p) = shouwang_domain::screening::MobilePhone::parse("driver_phone", phone)
        {
            terms["driver_phone"] = serde_json::Value::String(p.masked());
        }
        Self {
            id: r.id.to_string(),
            state: r.state.as_str().to_owned(),
            requested_by: r.requested_by.0,
            terms,
            note: r.note.clone(),
            created_us: r.created_us,
            decided_us: r.decided_us,
            decision_note: r.decision_note.clone(),
            pass_id: r.pass_id.map(|p| p.to_string()),
        }
    }
}

/// Asks for a pass with `input`'s terms as `authed`.
pub async fn request_pass(state: &AppState, authed: &Authed, input: &PassInput) -> AppResult<(PassRequest, bool)> {
    let id = RecordId::parse("id", input.id.as_deref().unwrap_or(""))?;
    request_pass_at(state, authed, input, id, authed.principal.scope.clone()).await
}

/// Asks for a pass as `authed` under `id`, to be decided by those whose
/// scope holds `scope` (an enterprise's, when its logistics ticket asks).
pub async fn request_pass_at(
    state: &AppState,
    authed: &Authed,
    input: &PassInput,
    id: RecordId,
    scope: ScopePath,
) -> AppResult<(PassRequest, bool)> {
    authed.may_here(Action::RequestPass)?;
    let terms = PassTerms::parse(&input.draft(), shouwang_store::now_us())
        .map_err(|errors| AppError::Field(errors.into_iter().next().expect("a refusal names at least one field")))?;
    let note = match input.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => shouwang_domain::BoundedText::<200>::parse("note", n)?.into_string(),
        None => String::new(),
    };
    let terms = serde_json::to_string(&terms.to_draft()).map_err(|e| AppError::Internal(e.into()))?;
    let new = NewPassRequest { id, scope, terms, note };
    Ok(state.writer.submit(authed.actor(), Command::RequestPass(new)).await?.outcome.into_pass_request()?)
}

/// Ask for a pass (enterprise contacts). `id` (a client-made UUIDv7) is
/// required, so a resend is safe: 201 when stored now, 200 for a resend.
#[utoipa::path(post, path = "/api/v1/pass-requests", tag = "passes", request_body = PassInput,
    responses((status = 201, body = PassRequestView), (status = 200, body = PassRequestView), (status = 422)))]
pub async fn create_request(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(input): ApiJson<PassInput>,
) -> AppResult<(StatusCode, Json<PassRequestView>)> {
    let (request, created) = request_pass(&state, &authed, &input).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(PassRequestView::of(&request, &authed))))
}

/// Requests from within the caller's scope and the caller's own; open ones
/// first.
#[utoipa::path(get, path = "/api/v1/pass-requests", tag = "passes", params(ListQuery),
    responses((status = 200, body = [PassRequestView])))]
pub async fn list_requests(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<Vec<PassRequestView>>> {
    authed.may_here(Action::ReadPasses)?;
    let found =
        state.store.pass_requests_for(&authed.principal.scope, authed.principal.user_id, limit_of(q.limit)?).await?;
    Ok(Json(found.iter().map(|r| PassRequestView::of(r, &authed)).collect()))
}

/// A decision on a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// True: issue the pass as asked; false: refuse.
    pub approve: bool,
    /// Why refused (required then), 1–200 characters.
    pub note: Option<String>,
}

/// Decides on request `id` as `authed`: approving issues the pass as asked,
/// valid within the approver's scope.
pub async fn decide_request(
    state: &AppState,
    authed: &Authed,
    id: &str,
    input: &DecisionInput,
) -> AppResult<PassRequest> {
    let id = RecordId::parse("id", id).map_err(|_| AppError::NotFound)?;
    let request = state.store.pass_request(id).await?;
    authed.may(Action::IssuePass, &request.scope).map_err(hide_out_of_scope)?;
    let decision = if input.approve {
        let draft: PassTermsDraft = serde_json::from_str(&request.terms)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored terms: {e}")))?;
        let now = shouwang_store::now_us();
        let terms = terms_for_issue(state, authed, &draft, now).await?;
        // The pass's id is derived from the request's, so a resent approval
        // cannot issue a second pass.
        PassDecision::Approve(signed(state, authed, request.id.derived(1), terms, now)?)
    } else {
        let note = shouwang_domain::BoundedText::<200>::parse("note", input.note.as_deref().unwrap_or(""))?;
        PassDecision::Refuse { note: note.into_string() }
    };
    let command = Command::DecidePassRequest { id: request.id, decision };
    let (decided, changed) = state.writer.submit(authed.actor(), command).await?.outcome.into_pass_request()?;
    if changed {
        super::tickets::settle_for_pass(state, authed, &decided).await?;
    }
    Ok(decided)
}

/// Approve (the pass is issued as asked) or refuse (with the reason) a
/// request. 409 if it was decided already.
#[utoipa::path(post, path = "/api/v1/pass-requests/{id}/decision", tag = "passes", request_body = DecisionInput,
    params(("id" = String, Path, description = "The request's UUIDv7")),
    responses((status = 200, body = PassRequestView), (status = 404), (status = 409), (status = 422)))]
pub async fn decide(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> AppResult<Json<PassRequestView>> {
    let request = decide_request(&state, &authed, &id, &input).await?;
    Ok(Json(PassRequestView::of(&request, &authed)))
}

/// What the officer has in front of them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    /// The token, scanned or pasted.
    pub token: Option<String>,
    /// Or the pass number, typed (`7K3M-9QP2`).
    pub number: Option<String>,
    /// The plate of the vehicle in front of the officer; checked if given.
    pub plate: Option<String>,
    /// The post; checked if given.
    pub checkpoint_id: Option<i64>,
}

/// The decision on a pass.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyView {
    /// `valid`, `expired`, `not_yet_valid`, `wrong_plate`,
    /// `not_for_this_post`, `revoked`, `forged` or `unknown`.
    pub verdict: String,
    /// Whether the vehicle may pass on it.
    pub valid: bool,
    /// The reason, in the caller's language.
    pub reason: String,
    /// What the pass says (unless forged or unknown), the phone masked.
    pub pass: Option<PassView>,
}

/// Decides on what the officer has, online.
pub async fn verify_pass(state: &AppState, authed: &Authed, lang: Lang, input: &VerifyInput) -> AppResult<VerifyView> {
    authed.may_here(Action::ReadPasses)?;
    let plate = match input.plate.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(PlateNumber::parse("plate", p)?),
        None => None,
    };
    let post = match input.checkpoint_id {
        Some(id) => {
            let cp = checkpoint_for(state, authed, CheckpointId(id), Action::ReadPasses).await;
            let cp = cp.map_err(|e| match e {
                AppError::NotFound => FieldError::new("checkpoint_id", "not_found").into(),
                other => other,
            })?;
            Some(PostSeen { id: cp.id, scope: cp.scope })
        }
        None => None,
    };
    let token_text = input.token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let (token, stored) = match (token_text, input.number.as_deref().map(str::trim).filter(|n| !n.is_empty())) {
        (Some(t), _) => {
            let token = PassToken::parse("token", t)?;
            let stored = match token.claims_unverified() {
                Ok(c) => state.store.pass_by_number(&c.number.as_stored()).await?,
                Err(_) => None,
            };
            (token, stored)
        }
        (None, Some(n)) => {
            let number = PassNumber::parse("number", n)?;
            match state.store.pass_by_number(&number.as_stored()).await? {
                Some(p) => (PassToken::parse("token", &p.token)?, Some(p)),
                None => return Ok(verdict_view(state, lang, Verdict::Unknown, None)),
            }
        }
        (None, None) => return Err(FieldError::new("token", "required").into()),
    };
    let revoked = stored.as_ref().is_some_and(|p| p.status == shouwang_domain::pass::PassStatus::Revoked);
    let now = shouwang_store::now_us();
    let key = signing_key(state)?.public_key();
    let v = verify(&token, &key, now, plate.as_ref(), post.as_ref(), |_| revoked);
    let view = match (&v.claims, &stored) {
        (Some(_), Some(p)) => Some(PassView::of(p, unmasked_for(authed, p), now)?),
        _ => None,
    };
    Ok(verdict_view(state, lang, v.verdict, view))
}

fn verdict_view(state: &AppState, lang: Lang, verdict: Verdict, pass: Option<PassView>) -> VerifyView {
    let key = format!("pass-verdict-{}", verdict.as_str().replace('_', "-"));
    VerifyView {
        verdict: verdict.as_str().to_owned(),
        valid: verdict.is_valid(),
        reason: state.i18n.text(lang, &key, &[]),
        pass,
    }
}

/// Verify a pass at a post: by its token (scanned or pasted) or its number
/// (typed), with the plate seen and the post. Nothing is stored.
#[utoipa::path(post, path = "/api/v1/passes/verify", tag = "passes", request_body = VerifyInput,
    responses((status = 200, body = VerifyView), (status = 422)))]
pub async fn verify_handler(
    State(state): State<AppState>,
    authed: Authed,
    lang: Lang,
    ApiJson(input): ApiJson<VerifyInput>,
) -> AppResult<Json<VerifyView>> {
    Ok(Json(verify_pass(&state, &authed, lang, &input).await?))
}

/// The deployment's public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// `Ed25519`.
    pub algorithm: &'static str,
    /// The raw 32-byte key in base64url without padding, for WebCrypto's
    /// `importKey('raw', …)`.
    pub public_key: String,
    /// The token format version.
    pub token_version: u8,
}

/// The public key passes are verified with.
#[utoipa::path(get, path = "/api/v1/passes/key", tag = "passes", responses((status = 200, body = KeyView)))]
pub async fn key(State(state): State<AppState>, authed: Authed) -> AppResult<Json<KeyView>> {
    authed.may_here(Action::ReadPasses)?;
    Ok(Json(key_view(&state)?))
}

/// The deployment's public key, as a post's phone imports it.
pub fn key_view(state: &AppState) -> AppResult<KeyView> {
    Ok(KeyView {
        algorithm: "Ed25519",
        public_key: signing_key(state)?.public_key().to_base64url(),
        token_version: shouwang_domain::pass::TOKEN_VERSION,
    })
}

/// Since when.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RevocationQuery {
    /// Only those revoked after this (µs); default: all.
    pub since_us: Option<i64>,
}

/// One revoked pass.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationView {
    /// Its number, `7K3M-9QP2`.
    pub number: String,
    /// When it was revoked.
    pub revoked_us: i64,
}

/// The revocation list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationsView {
    /// Passes revoked (after `since_us`) that would otherwise still be in force.
    pub revoked: Vec<RevocationView>,
    /// The server's time: the next `since_us`.
    pub synced_us: i64,
}

/// Passes revoked that would otherwise still be in force, anywhere in the
/// deployment (numbers only): what a post's phone keeps to refuse them
/// offline.
#[utoipa::path(get, path = "/api/v1/passes/revocations", tag = "passes", params(RevocationQuery),
    responses((status = 200, body = RevocationsView)))]
pub async fn revocations(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<RevocationQuery>,
) -> AppResult<Json<RevocationsView>> {
    authed.may_here(Action::ReadPasses)?;
    let now = shouwang_store::now_us();
    let revoked = revoked_since(&state, q.since_us.unwrap_or(0), now).await?;
    Ok(Json(RevocationsView { revoked, synced_us: now }))
}

/// Passes revoked after `since_us` that would otherwise be in force at `now`.
pub async fn revoked_since(state: &AppState, since_us: i64, now: i64) -> AppResult<Vec<RevocationView>> {
    let list = state.store.revocations_since(since_us, now).await?;
    Ok(list
        .into_iter()
        .map(|r| {
            let number = PassNumber::parse("number", &r.number).map(|n| n.to_string()).unwrap_or(r.number);
            RevocationView { number, revoked_us: r.revoked_us }
        })
        .collect())
}

/// Which post.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PostQuery {
    /// The post; default the caller's post now (their shift's).
    pub checkpoint_id: Option<i64>,
}

/// The tokens a post keeps.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostTokensView {
    /// The post.
    pub checkpoint_id: i64,
    /// Its scope: a pass naming no post is valid here if its scope holds this.
    pub scope: String,
    /// Tokens of the passes in force now or later that admit this post.
    pub tokens: Vec<String>,
    /// The server's time.
    pub synced_us: i64,
}

/// The post `q` names, or the caller's own.
pub async fn post_of(state: &AppState, authed: &Authed, checkpoint_id: Option<i64>) -> AppResult<PostSeen> {
    let cp = match checkpoint_id {
        Some(id) => checkpoint_for(state, authed, CheckpointId(id), Action::ReadPasses).await?,
        None => {
            let mine = my_post_of(state, authed).await?;
            let id =
                mine.checkpoint.map(|c| c.checkpoint.id).ok_or_else(|| FieldError::new("checkpoint_id", "required"))?;
            state.store.checkpoint(CheckpointId(id)).await?
        }
    };
    Ok(PostSeen { id: cp.id, scope: cp.scope })
}

/// The tokens of passes in force now or later that admit `post`.
pub async fn tokens_for(state: &AppState, post: &PostSeen) -> AppResult<Vec<String>> {
    let live = state.store.live_passes(shouwang_store::now_us()).await?;
    let mut tokens = Vec::new();
    for p in live {
        let Ok(token) = PassToken::parse("token", &p.token) else { continue };
        if token.claims_unverified().is_ok_and(|c| c.admits_post(post)) {
            tokens.push(p.token);
        }
    }
    Ok(tokens)
}

/// The tokens of passes valid (now or later) at a post, so that a number
/// typed on the post's phone can be checked with no connection.
#[utoipa::path(get, path = "/api/v1/passes/tokens", tag = "passes", params(PostQuery),
    responses((status = 200, body = PostTokensView), (status = 422, description = "no post given and none on shift")))]
pub async fn tokens(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<PostQuery>,
) -> AppResult<Json<PostTokensView>> {
    authed.may_here(Action::ReadPasses)?;
    let post = post_of(&state, &authed, q.checkpoint_id).await?;
    let tokens = tokens_for(&state, &post).await?;
    Ok(Json(PostTokensView {
        checkpoint_id: post.id.0,
        scope: post.scope.as_str().to_owned(),
        tokens,
        synced_us: shouwang_store::now_us(),
    }))
}

/// Which days.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// From (µs, inclusive); default seven days ago.
    pub from_us: Option<i64>,
    /// To (µs, exclusive); default now. At most 366 days after `from_us`.
    pub to_us: Option<i64>,
}

/// Passes used per post and local day within `scope`.
pub async fn usage_within(state: &AppState, scope: &ScopePath, q: &UsageQuery) -> AppResult<Vec<PassUsage>> {
    let now = shouwang_store::now_us();
    let to = q.to_us.unwrap_or(now);
    let from = q.from_us.unwrap_or(to - 7 * DAY_US);
    if from >= to {
        return Err(FieldError::new("to_us", "ends_before_start").into());
    }
    if to - from > 366 * DAY_US {
        return Err(FieldError::new("to_us", "range_too_long").arg("max", 366).into());
    }
    Ok(state.store.pass_usage(scope, from, to, state.config.display_utc_offset_hours).await?)
}

/// Passes shown at the posts within the caller's scope, per post and local
/// day, counted from the screenings that recorded a pass number.
#[utoipa::path(get, path = "/api/v1/passes/usage", tag = "passes", params(UsageQuery),
    responses((status = 200, body = [Object])))]
pub async fn usage(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> AppResult<Json<Vec<PassUsage>>> {
    authed.may_here(Action::ReadPasses)?;
    Ok(Json(usage_within(&state, &authed.principal.scope, &q).await?))
}
