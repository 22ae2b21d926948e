//! `/api/v1/orders`: dispatch orders (指令) and roll calls (点名).
//!
//! HQ names targets — posts, people, org units — and the server resolves
//! them to recipients at once: a post means whoever is checked in there or
//! on its current shift; a unit, every active account under it. Each
//! recipient's receipt then runs delivered → read → acknowledged (签收) →
//! reported, each step through the writer with its event, so the order's
//! page and the board follow it live. A background job marks receipts still
//! unacknowledged at the deadline overdue, once each.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shouwang_domain::order::{OrderKind, OrderText, Priority, parse_location, parse_report};
use shouwang_domain::policy::{Action, Right};
use shouwang_domain::{CheckpointId, FieldError, OrgUnitId, RecordId, ScopePath, UserId};
use shouwang_store::writer::Command;
use shouwang_store::{AttachedFile, NewOrder, OrderRecord, Receipt, ReceiptChange, Recipient, StoreError};
use utoipa::{IntoParams, ToSchema};

use super::json::{ApiJson, ApiQuery};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What an order names as its targets; at least one of them.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Posts: their officers on duty now receive it.
    #[serde(default)]
    pub checkpoints: Vec<i64>,
    /// People, by account id.
    #[serde(default)]
    pub users: Vec<i64>,
    /// Org units: every active account under them.
    #[serde(default)]
    pub org_units: Vec<i64>,
}

/// A new order or roll call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrderIn {
    /// A UUIDv7 made by the client; sending it again returns the stored order.
    pub id: String,
    /// `order` (default) or `roll_call`.
    pub kind: Option<String>,
    /// Title, 1–100 characters (a roll call's defaults to 点名).
    pub title: Option<String>,
    /// What to do, up to 4000 characters (required for an order).
    #[serde(default)]
    pub body: String,
    /// `normal` (default), `urgent` or `critical`.
    pub priority: Option<String>,
    /// By when to acknowledge (µs since the epoch); a roll call defaults to
    /// five minutes from now.
    pub deadline_us: Option<i64>,
    /// Whether a completion report is required after acknowledging.
    #[serde(default)]
    pub needs_report: bool,
    /// Who receives it.
    pub targets: Targets,
    /// A file uploaded first (`POST /api/v1/attachments`): an image or a PDF
    /// that goes with the order.
    pub attachment_id: Option<String>,
}

/// One recipient's receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    /// Account id.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// The post it reached them at, if any.
    pub checkpoint_id: Option<i64>,
    /// `delivered`, `read`, `acknowledged` or `reported`.
    pub state: String,
    /// When it reached them.
    pub delivered_us: i64,
    /// When they opened it.
    pub read_us: Option<i64>,
    /// When they acknowledged it.
    pub acked_us: Option<i64>,
    /// Where they were then (latitude), if the phone said.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// When they reported it done.
    pub reported_us: Option<i64>,
    /// Their report.
    pub report: Option<String>,
    /// When it went overdue.
    pub overdue_us: Option<i64>,
    /// The photo sent with the acknowledgement or report, if any
    /// (`GET /api/v1/attachments/{id}`).
    pub photo_id: Option<String>,
    /// Whom it was escalated to when it went overdue (account id).
    pub escalated_to: Option<i64>,
    /// Their name.
    pub escalated_name: Option<String>,
}

impl From<&Receipt> for ReceiptView {
    fn from(r: &Receipt) -> Self {
        Self {
            user_id: r.user.0,
            name: r.name.clone(),
            checkpoint_id: r.checkpoint.map(|c| c.0),
            state: r.state.as_str().to_owned(),
            delivered_us: r.delivered_us,
            read_us: r.read_us,
            acked_us: r.acked_us,
            lat: r.location.map(|l| l.0),
            lon: r.location.map(|l| l.1),
            reported_us: r.reported_us,
            report: r.report.clone(),
            overdue_us: r.overdue_us,
            photo_id: r.photo.map(|p| p.to_string()),
            escalated_to: r.escalated_to.as_ref().map(|(id, _)| id.0),
            escalated_name: r.escalated_to.as_ref().map(|(_, name)| name.clone()),
        }
    }
}

/// The file that goes with an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachedFileView {
    /// Id (`GET /api/v1/attachments/{id}` serves it).
    pub id: String,
    /// Its name.
    pub name: String,
    /// `image/jpeg`, `image/png`, `image/webp` or `application/pdf`.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
}

impl From<&AttachedFile> for AttachedFileView {
    fn from(f: &AttachedFile) -> Self {
        Self {
            id: f.id.to_string(),
            name: f.name.clone(),
            content_type: f.content_type.as_str().to_owned(),
            size: f.size,
        }
    }
}

/// An order with every receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    /// Id.
    pub id: String,
    /// `order` or `roll_call`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// `normal`, `urgent` or `critical`.
    pub priority: String,
    /// Who issued it.
    pub author_id: i64,
    /// Their name.
    pub author_name: String,
    /// By when to acknowledge.
    pub deadline_us: i64,
    /// Whether a completion report is required.
    pub needs_report: bool,
    /// The targets as submitted.
    #[schema(value_type = Object)]
    pub targets: serde_json::Value,
    /// 1, then one more per amendment.
    pub version: i64,
    /// `active` or `revoked`.
    pub state: String,
    /// When it was issued.
    pub issued_us: i64,
    /// When it was last amended.
    pub amended_us: Option<i64>,
    /// The file that goes with it, if any.
    pub attachment: Option<AttachedFileView>,
    /// How many have acknowledged.
    pub acknowledged: usize,
    /// Every receipt.
    pub receipts: Vec<ReceiptView>,
}

impl From<&OrderRecord> for OrderView {
    fn from(o: &OrderRecord) -> Self {
        Self {
            id: o.id.to_string(),
            kind: o.kind.as_str().to_owned(),
            title: o.title.clone(),
            body: o.body.clone(),
            priority: o.priority.as_str().to_owned(),
            author_id: o.author.0,
            author_name: o.author_name.clone(),
            deadline_us: o.deadline_us,
            needs_report: o.needs_report,
            targets: o.targets.clone(),
            version: o.version,
            state: o.state.as_str().to_owned(),
            issued_us: o.issued_us,
            amended_us: o.amended_us,
            attachment: o.attachment.as_ref().map(AttachedFileView::from),
            acknowledged: o.acknowledged(),
            receipts: o.receipts.iter().map(ReceiptView::from).collect(),
        }
    }
}

/// Parses what was submitted, at `now`.
pub fn parse(req: &NewOrderIn, now: i64) -> Result<(RecordId, OrderText), FieldError> {
    let id = RecordId::parse("id", &req.id)?;
    let kind = req.kind.as_deref().map(|k| OrderKind::parse("kind", k)).transpose()?.unwrap_or(OrderKind::Order);
    let priority =
        req.priority.as_deref().map(|p| Priority::parse("priority", p)).transpose()?.unwrap_or(Priority::Normal);
    let text =
        OrderText::parse(kind, req.title.as_deref(), &req.body, priority, req.deadline_us, req.needs_report, now)
            .map_err(|mut e| e.remove(0))?;
    Ok((id, text))
}

/// Resolves targets to recipients within `authed`'s scope; refusals name
/// `targets.checkpoints[i]` and the like. Returns the recipients and the
/// scope the order's summary belongs in.
pub async fn recipients(
    state: &AppState,
    authed: &Authed,
    targets: &Targets,
    now: i64,
) -> AppResult<(Vec<Recipient>, ScopePath)> {
    let named = targets.checkpoints.len() + targets.users.len() + targets.org_units.len();
    if named == 0 {
        return Err(FieldError::new("targets", "required").into());
    }
    if named > shouwang_domain::order::TARGETS_MAX {
        return Err(FieldError::new("targets", "too_many").arg("max", shouwang_domain::order::TARGETS_MAX).into());
    }
    let me = authed.principal.user_id;
    let in_scope = |field: String, scope: &ScopePath| {
        authed.may(Action::IssueOrder, scope).map_err(|_| AppError::Field(FieldError::new(field, "out_of_scope")))
    };
    let mut out: Vec<Recipient> = Vec::new();
    let add = |r: Recipient, out: &mut Vec<Recipient>| {
        if r.user != me && !out.iter().any(|o| o.user == r.user) {
            out.push(r);
        }
    };
    let mut post_scopes = Vec::new();
    for (i, id) in targets.checkpoints.iter().enumerate() {
        let field = format!("targets.checkpoints[{i}]");
        let cp = match state.store.checkpoint(CheckpointId(*id)).await {
            Ok(cp) => cp,
            Err(StoreError::NotFound) => return Err(FieldError::new(field, "not_found").into()),
            Err(e) => return Err(e.into()),
        };
        in_scope(field.clone(), &cp.scope)?;
        let mut here: BTreeSet<UserId> = state
            .store
            .open_check_ins_within(&cp.scope)
            .await?
            .into_iter()
            .filter(|c| c.checkpoint_id == cp.id)
            .map(|c| c.user_id)
            .collect();
        for shift in state.store.shifts(cp.id, now, now + 1).await? {
            here.extend(shift.staff);
        }
        here.remove(&me);
        if here.is_empty() {
            return Err(FieldError::new(field, "nobody_on_duty").into());
        }
        for user in here {
            add(Recipient { user, checkpoint: Some(cp.id), scope: cp.scope.clone() }, &mut out);
        }
        post_scopes.push(cp.scope);
    }
    for (i, id) in targets.users.iter().enumerate() {
        let field = format!("targets.users[{i}]");
        let user = match state.store.user(UserId(*id)).await {
            Ok(u) if !u.disabled => u,
            Ok(_) | Err(StoreError::NotFound) => return Err(FieldError::new(field, "not_found").into()),
            Err(e) => return Err(e.into()),
        };
        in_scope(field, &user.scope)?;
        add(Recipient { user: user.id, checkpoint: None, scope: user.scope }, &mut out);
    }
    for (i, id) in targets.org_units.iter().enumerate() {
        let field = format!("targets.org_units[{i}]");
        let unit = match state.cache.org_unit(&state.store, OrgUnitId(*id)).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => return Err(FieldError::new(field, "not_found").into()),
            Err(e) => return Err(e.into()),
        };
        in_scope(field.clone(), &unit.path)?;
        let users = state.store.users_within(&unit.path).await?;
        let mut users = users.into_iter().filter(|u| !u.disabled && u.id != me).peekable();
        if users.peek().is_none() {
            return Err(FieldError::new(field, "no_recipients").into());
        }
        for user in users {
            add(Recipient { user: user.id, checkpoint: None, scope: user.scope }, &mut out);
        }
    }
    // One post: its summary belongs there; otherwise with the issuer.
    let scope = match (post_scopes.as_slice(), named) {
        ([one], 1) => one.clone(),
        _ => authed.principal.scope.clone(),
    };
    Ok((out, scope))
}

/// Issues an order; `(order, created)`.
pub async fn issue(state: &AppState, authed: &Authed, req: &NewOrderIn) -> AppResult<(OrderRecord, bool)> {
    authed.may_here(Action::IssueOrder)?;
    let now = shouwang_store::now_us();
    let (id, text) = parse(req, now)?;
    // A resend is answered with what was stored, even after the posts'
    // staff changed.
    if let Ok(stored) = state.store.order(id).await
        && stored.author == authed.principal.user_id
    {
        return Ok((stored, false));
    }
    let (recipients, scope) = recipients(state, authed, &req.targets, now).await?;
    let targets = serde_json::to_value(&req.targets).map_err(|e| AppError::Internal(e.into()))?;
    let attachment = req.attachment_id.as_deref().map(|a| RecordId::parse("attachment_id", a)).transpose()?;
    let new = NewOrder { id, text, scope, targets, recipients, attachment };
    let order = state.writer.submit(authed.actor(), Command::IssueOrder(new)).await?.outcome.into_order()?;
    Ok((order, true))
}

/// Issue an order or start a roll call. 201 when issued now, 200 when this
/// id was issued before (the stored order is returned).
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = NewOrderIn,
    responses((status = 201, body = OrderView), (status = 200, body = OrderView, description = "already issued"),
              (status = 422, description = "a field is invalid: no targets, a deadline in the past, a post \
                outside your scope or with nobody on duty")))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<NewOrderIn>,
) -> AppResult<(StatusCode, Json<OrderView>)> {
    let (order, created) = issue(&state, &authed, &req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(OrderView::from(&order))))
}

/// Which orders.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    /// `order` or `roll_call`; default both.
    pub kind: Option<String>,
    /// At most this many, newest first (1–500, default 50).
    pub limit: Option<i64>,
}

fn limit_of(raw: Option<i64>) -> AppResult<i64> {
    let limit = raw.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(FieldError::new("limit", "out_of_range").arg("min", 1).arg("max", 500).into());
    }
    Ok(limit)
}

/// Orders and roll calls issued within the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrdersQuery),
    responses((status = 200, body = [OrderView])))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> AppResult<Json<Vec<OrderView>>> {
    authed.may_here(Action::ReadEvents)?;
    let kind = q.kind.as_deref().map(|k| OrderKind::parse("kind", k)).transpose()?;
    let orders = state.store.orders_within(&authed.principal.scope, kind, limit_of(q.limit)?).await?;
    Ok(Json(orders.iter().map(OrderView::from).collect()))
}

/// The orders the caller received that are in force: unacknowledged first,
/// then newest first.
pub async fn mine(state: &AppState, authed: &Authed, limit: i64) -> AppResult<Vec<OrderRecord>> {
    let me = authed.principal.user_id;
    let mut orders = state.store.orders_for(me, limit).await?;
    orders.sort_by_key(|o| {
        let acked = o.receipt(me).is_some_and(|r| r.state.is_acknowledged());
        (acked, std::cmp::Reverse(o.issued_us))
    });
    Ok(orders)
}

/// My orders and roll calls (the phone's list): unacknowledged on top.
#[utoipa::path(get, path = "/api/v1/me/orders", tag = "orders", params(OrdersQuery),
    responses((status = 200, body = [OrderView])))]
pub async fn my_orders(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> AppResult<Json<Vec<OrderView>>> {
    let orders = mine(&state, &authed, limit_of(q.limit)?).await?;
    Ok(Json(orders.iter().map(OrderView::from).collect()))
}

/// Reads order `id` if the caller may see it: it lies within their scope,
/// or they received it.
pub async fn visible(state: &AppState, authed: &Authed, id: &str) -> AppResult<OrderRecord> {
    let id = RecordId::parse("id", id)?;
    let order = state.store.order(id).await?;
    let mine = order.receipt(authed.principal.user_id).is_some();
    if !mine && authed.may(Action::ReadEvents, &order.scope).is_err() {
        return Err(AppError::NotFound);
    }
    Ok(order)
}

/// One order with every receipt.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404)))]
pub async fn detail(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Json<OrderView>> {
    Ok(Json(OrderView::from(&visible(&state, &authed, &id).await?)))
}

/// An acknowledgement (or a roll-call answer).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckIn {
    /// The version read (amended orders are acknowledged again).
    pub version: i64,
    /// Where the phone is, if it knows.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// A photo uploaded first (`POST /api/v1/attachments`), if any.
    pub photo_id: Option<String>,
}

/// A completion report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportIn {
    /// What was done, 1–4000 characters.
    pub report: String,
    /// A photo uploaded first (`POST /api/v1/attachments`), if any.
    pub photo_id: Option<String>,
}

/// The photo an answer names, if any.
pub fn photo_of(raw: Option<&str>) -> Result<Option<RecordId>, FieldError> {
    raw.map(str::trim).filter(|p| !p.is_empty()).map(|p| RecordId::parse("photo_id", p)).transpose()
}

/// Applies what the caller, a recipient, did with order `id`.
pub async fn answer(state: &AppState, authed: &Authed, id: &str, change: ReceiptChange) -> AppResult<OrderRecord> {
    authed.may_here(Action::AnswerOrder)?;
    let order = visible(state, authed, id).await?;
    let user = authed.principal.user_id;
    let command = Command::OrderReceipt { order: order.id, user, change };
    Ok(state.writer.submit(authed.actor(), command).await.map_err(refusal)?.outcome.into_order()?)
}

/// Turns a conflict of an order's state into a refusal that says which.
fn refusal(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict { field: "state" } => AppError::Refused(FieldError::new("state", "already_acknowledged")),
        StoreError::Conflict { field: "version" } => AppError::Refused(FieldError::new("version", "order_amended")),
        StoreError::Conflict { field: "order" } => AppError::Refused(FieldError::new("order", "order_revoked")),
        other => other.into(),
    }
}

/// Mark an order read (opening it on the phone does this).
#[utoipa::path(post, path = "/api/v1/orders/{id}/read", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 422, description = "not a recipient")))]
pub async fn read(State(state): State<AppState>, authed: Authed, Path(id): Path<String>) -> AppResult<Json<OrderView>> {
    Ok(Json(OrderView::from(&answer(&state, &authed, &id, ReceiptChange::Read).await?)))
}

/// Acknowledge an order (签收), or answer a roll call "present".
#[utoipa::path(post, path = "/api/v1/orders/{id}/acknowledge", tag = "orders", params(("id" = String, Path)),
    request_body = AckIn,
    responses((status = 200, body = OrderView), (status = 409, description = "acknowledged already, \
        amended since (acknowledge the new version) or revoked"), (status = 422, description = "not a recipient")))]
pub async fn acknowledge(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AckIn>,
) -> AppResult<Json<OrderView>> {
    let location = parse_location(req.lat, req.lon)?;
    let change =
        ReceiptChange::Acknowledge { version: req.version, location, photo: photo_of(req.photo_id.as_deref())? };
    Ok(Json(OrderView::from(&answer(&state, &authed, &id, change).await?)))
}

/// Report an acknowledged order done.
#[utoipa::path(post, path = "/api/v1/orders/{id}/report", tag = "orders", params(("id" = String, Path)),
    request_body = ReportIn, responses((status = 200, body = OrderView), (status = 409), (status = 422)))]
pub async fn report(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReportIn>,
) -> AppResult<Json<OrderView>> {
    let change = ReceiptChange::Report { text: parse_report(&req.report)?, photo: photo_of(req.photo_id.as_deref())? };
    Ok(Json(OrderView::from(&answer(&state, &authed, &id, change).await?)))
}

/// An amendment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendIn {
    /// The new text.
    pub body: String,
    /// The new deadline; default: unchanged (if still ahead).
    pub deadline_us: Option<i64>,
}

/// Amends `order` (the caller may issue orders there): a new text and,
/// if given, a new deadline; everyone acknowledges again.
pub async fn amend_order(
    state: &AppState,
    authed: &Authed,
    order: &OrderRecord,
    body: String,
    deadline_us: Option<i64>,
) -> AppResult<OrderRecord> {
    let deadline = Some(deadline_us.unwrap_or(order.deadline_us));
    let now = shouwang_store::now_us();
    let text = OrderText::parse(order.kind, Some(&order.title), &body, order.priority, deadline, false, now)
        .map_err(|mut e| e.remove(0))?;
    let command = Command::AmendOrder { order: order.id, body: text.body, deadline_us: text.deadline_us };
    Ok(state.writer.submit(authed.actor(), command).await.map_err(refusal)?.outcome.into_order()?)
}

/// Revokes `order`; revoking it again changes nothing.
pub async fn revoke_order(state: &AppState, authed: &Authed, order: &OrderRecord) -> AppResult<OrderRecord> {
    let command = Command::RevokeOrder { order: order.id };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_order()?)
}

/// Amend an order: everyone acknowledges the new version.
#[utoipa::path(post, path = "/api/v1/orders/{id}/amend", tag = "orders", params(("id" = String, Path)),
    request_body = AmendIn, responses((status = 200, body = OrderView), (status = 409), (status = 422)))]
pub async fn amend(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AmendIn>,
) -> AppResult<Json<OrderView>> {
    let order = visible(&state, &authed, &id).await?;
    authed.may(Action::IssueOrder, &order.scope)?;
    let order = amend_order(&state, &authed, &order, req.body, req.deadline_us).await?;
    Ok(Json(OrderView::from(&order)))
}

/// Revoke an order; revoking it again changes nothing.
#[utoipa::path(post, path = "/api/v1/orders/{id}/revoke", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView)))]
pub async fn revoke(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Json<OrderView>> {
    let order = visible(&state, &authed, &id).await?;
    authed.may(Action::IssueOrder, &order.scope)?;
    Ok(Json(OrderView::from(&revoke_order(&state, &authed, &order).await?)))
}

/// Whom a receipt gone overdue is escalated to: the leader of the
/// recipient's shift at the post now, if that is someone else; else the
/// nearest person with the command right at or above the recipient's
/// scope (the post's township, then the county …), never the recipient.
/// `None` when nobody is above them.
pub async fn supervisor_of(store: &shouwang_store::Store, r: &Receipt, now: i64) -> Result<Option<UserId>, StoreError> {
    if let Some(cp) = r.checkpoint {
        let leader = store
            .shifts(cp, now, now + 1)
            .await?
            .into_iter()
            .filter(|s| s.staff.contains(&r.user))
            .find_map(|s| s.leader_id.filter(|l| *l != r.user));
        if leader.is_some() {
            return Ok(leader);
        }
    }
    let mut at = Some(r.scope.clone());
    while let Some(scope) = at {
        let boss = store
            .users_within(&scope)
            .await?
            .into_iter()
            .filter(|u| u.scope == scope && u.id != r.user && !u.disabled && u.rights.has(Right::Command))
            // A commander before an administrator who may also command.
            .min_by_key(|u| (u.rights.has(Right::Administer), u.id.0));
        if let Some(boss) = boss {
            return Ok(Some(boss.id));
        }
        at = scope.parent();
    }
    Ok(None)
}

/// Marks every receipt whose deadline passed unacknowledged overdue (once
/// each), escalated to the recipient's supervisor: run by a background job
/// every few seconds. Returns how many receipts it marked.
pub async fn mark_overdue(store: &shouwang_store::Store, writer: &shouwang_store::Writer) -> Result<usize, StoreError> {
    let mut marked = 0;
    let now = shouwang_store::now_us();
    for (order, due) in store.overdue_receipts(now, 100).await? {
        let record = store.order(order).await?;
        let mut users = Vec::with_capacity(due.len());
        for user in due {
            let boss = match record.receipt(user) {
                Some(r) => supervisor_of(store, r, now).await?,
                None => None,
            };
            users.push((user, boss));
        }
        let command = Command::MarkOverdue { order, users };
        let applied = writer.submit(shouwang_store::writer::Actor::system(), command).await?;
        marked += applied.events.iter().filter(|e| e.kind == shouwang_domain::EventKind::OrderOverdue).count();
    }
    Ok(marked)
}
