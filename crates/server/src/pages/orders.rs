//! Orders and roll calls in pages: HQ's list and form (`/orders`), one
//! order's receipts (`/orders/{id}`), the board's roll-call panel, and the
//! officer's acknowledgement and report forms on "My post". Every form works
//! without JavaScript; `orders.js` keeps the lists current from the live
//! stream and adds the phone's position to an acknowledgement.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::order::OrderKind;
use shouwang_domain::policy::Action;
use shouwang_domain::{FieldError, ScopePath};
use shouwang_store::ReceiptChange;

use super::{Page, refused_page, see_other};
use crate::api::board::board_of;
use crate::api::orders::{self as api, NewOrderIn, OrderView, Targets};
use crate::api::views::OrgUnitView;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

const MINUTE_US: i64 = 60_000_000;
/// How long a roll call stays on the board after it was started.
const ROLL_CALL_ON_BOARD_US: i64 = 2 * 60 * MINUTE_US;

/// HQ's form (kept when it is shown again after a refusal).
#[derive(Debug, Serialize)]
pub struct OrderForm {
    #[serde(skip_serializing)]
    csrf: String,
    /// A UUIDv7 made when the page was rendered: posting twice issues once.
    id: String,
    kind: String,
    title: String,
    body: String,
    priority: String,
    /// Minutes from now.
    deadline_minutes: String,
    needs_report: Option<String>,
    /// Ticked posts.
    checkpoints: Vec<i64>,
    /// Ticked units.
    org_units: Vec<i64>,
    /// The file uploaded for it (orders.js uploads before posting).
    attachment_id: String,
}

impl Default for OrderForm {
    fn default() -> Self {
        Self {
            csrf: String::new(),
            id: uuid::Uuid::now_v7().to_string(),
            kind: "order".into(),
            title: String::new(),
            body: String::new(),
            priority: "normal".into(),
            deadline_minutes: "60".into(),
            needs_report: None,
            checkpoints: Vec::new(),
            org_units: Vec::new(),
            attachment_id: String::new(),
        }
    }
}

/// A roll call on the board: how many answered, post by post.
#[derive(Debug, Serialize)]
pub struct RollCallPanel {
    id: String,
    title: String,
    issued_us: i64,
    deadline_us: i64,
    acknowledged: usize,
    recipients: usize,
    overdue: usize,
    posts: Vec<PostProgress>,
}

/// One post of a roll call.
#[derive(Debug, Serialize)]
pub struct PostProgress {
    id: i64,
    acknowledged: usize,
    recipients: usize,
}

/// A form's "within how many minutes" as a deadline (empty: none given).
fn deadline_of(minutes: &str) -> Result<Option<i64>, FieldError> {
    match minutes.trim() {
        "" => Ok(None),
        m => {
            let m: i64 = m.parse().map_err(|_| FieldError::new("deadline_minutes", "whole_number"))?;
            Ok(Some(shouwang_store::now_us() + m * MINUTE_US))
        }
    }
}

/// The roll calls started within `scope` in the last two hours, newest
/// first, for the board.
pub async fn roll_calls_on_board(state: &AppState, scope: &ScopePath) -> AppResult<Vec<RollCallPanel>> {
    let since = shouwang_store::now_us() - ROLL_CALL_ON_BOARD_US;
    let calls = state.store.orders_within(scope, Some(OrderKind::RollCall), 5).await?;
    Ok(calls
        .into_iter()
        .filter(|o| o.issued_us >= since && o.state == shouwang_domain::order::OrderState::Active)
        .map(|o| {
            let mut posts: Vec<PostProgress> = Vec::new();
            for r in &o.receipts {
                let Some(cp) = r.checkpoint else { continue };
                let at = match posts.iter().position(|p| p.id == cp.0) {
                    Some(i) => i,
                    None => {
                        posts.push(PostProgress { id: cp.0, acknowledged: 0, recipients: 0 });
                        posts.len() - 1
                    }
                };
                posts[at].recipients += 1;
                posts[at].acknowledged += usize::from(r.state.is_acknowledged());
            }
            RollCallPanel {
                id: o.id.to_string(),
                title: o.title.clone(),
                issued_us: o.issued_us,
                deadline_us: o.deadline_us,
                acknowledged: o.acknowledged(),
                recipients: o.receipts.len(),
                overdue: o.receipts.iter().filter(|r| r.overdue_us.is_some() && !r.state.is_acknowledged()).count(),
                posts,
            }
        })
        .collect())
}

async fn render_list(state: &AppState, authed: &Authed, page: Page, form: &OrderForm) -> AppResult<Response> {
    let scope = &authed.principal.scope;
    let orders = state.store.orders_within(scope, None, 100).await?;
    let board = board_of(state, scope).await?;
    let units = state.store.org_units_within(scope).await?;
    let ctx = page.with(minijinja::context! {
        orders => orders.iter().map(OrderView::from).collect::<Vec<_>>(),
        posts => board.posts,
        units => units.iter().map(OrgUnitView::from).collect::<Vec<_>>(),
        form => form,
        can_issue => authed.may_here(Action::IssueOrder).is_ok(),
        now_us => shouwang_store::now_us(),
        attachment_max_kib => state.config.attachment_max_bytes / 1024,
    });
    Ok(state.templates.render("orders.html", ctx)?.into_response())
}

/// What the orders page is opened for.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// A post to address the new order to (from its panel on the board);
    /// only a prefill, so anything but a number is ignored.
    post: Option<String>,
}

/// HQ's orders and roll calls, and the form to issue one.
pub async fn list_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadEvents)?;
    let page = Page::new(&state, lang, Some(&authed), "/orders");
    let form = OrderForm {
        checkpoints: q.post.and_then(|p| p.trim().parse().ok()).into_iter().collect(),
        ..OrderForm::default()
    };
    render_list(&state, &authed, page, &form).await
}

impl OrderForm {
    /// Reads the form by hand: posts and units come as repeated fields.
    fn parse(body: &[u8]) -> Result<OrderForm, FieldError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let first = |key: &str| pairs.iter().find(|(k, _)| k == key).map_or(String::new(), |(_, v)| v.clone());
        let ids = |key: &str| -> Result<Vec<i64>, FieldError> {
            pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.trim().parse().map_err(|_| FieldError::new(key, "invalid")))
                .collect()
        };
        Ok(OrderForm {
            csrf: first("_csrf"),
            id: first("id"),
            kind: first("kind"),
            title: first("title"),
            body: first("body"),
            priority: first("priority"),
            deadline_minutes: first("deadline_minutes"),
            needs_report: pairs.iter().any(|(k, _)| k == "needs_report").then(|| "on".to_owned()),
            checkpoints: ids("checkpoints")?,
            org_units: ids("org_units")?,
            attachment_id: first("attachment_id"),
        })
    }
}

/// Issues an order from the form.
pub async fn issue_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let form = OrderForm::parse(&body).map_err(AppError::Field)?;
    authed.check_csrf(&form.csrf)?;
    let result = async {
        let deadline_us = deadline_of(&form.deadline_minutes)?;
        let req = NewOrderIn {
            id: form.id.clone(),
            kind: Some(form.kind.clone()),
            title: Some(form.title.clone()),
            body: form.body.clone(),
            priority: Some(form.priority.clone()),
            deadline_us,
            needs_report: form.needs_report.is_some(),
            targets: Targets {
                checkpoints: form.checkpoints.clone(),
                users: vec![],
                org_units: form.org_units.clone(),
            },
            attachment_id: Some(form.attachment_id.trim()).filter(|a| !a.is_empty()).map(str::to_owned),
        };
        api::issue(&state, &authed, &req).await
    }
    .await;
    match result {
        Ok((order, _)) => Ok(see_other(&format!("/orders/{}", order.id))),
        Err(e) => {
            // The form asks for minutes; the API speaks of a deadline.
            let e = match e {
                AppError::Field(fe) if fe.field == "deadline_us" => {
                    AppError::Field(FieldError { field: "deadline_minutes".into(), ..fe })
                }
                other => other,
            };
            refused_page(&state, lang, &authed, "/orders", e, |page| render_list(&state, &authed, page, &form)).await
        }
    }
}

async fn render_detail(state: &AppState, authed: &Authed, page: Page, id: &str) -> AppResult<Response> {
    let order = api::visible(state, authed, id).await?;
    let board = board_of(state, &authed.principal.scope).await?;
    let post_names: std::collections::BTreeMap<String, String> =
        board.posts.iter().map(|p| (p.id.to_string(), format!("{} {}", p.code, p.name))).collect();
    let ctx = page.with(minijinja::context! {
        order => OrderView::from(&order),
        post_names => post_names,
        can_issue => authed.may(Action::IssueOrder, &order.scope).is_ok(),
        minutes_left => ((order.deadline_us - shouwang_store::now_us()) / MINUTE_US).max(1),
    });
    Ok(state.templates.render("order.html", ctx)?.into_response())
}

/// One order: every receipt, live; amend and revoke.
pub async fn detail_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let page = Page::new(&state, lang, Some(&authed), "/orders");
    render_detail(&state, &authed, page, &id).await
}

/// The amendment form.
#[derive(Debug, Deserialize)]
pub struct AmendForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    deadline_minutes: String,
}

/// Amends an order.
pub async fn amend_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<AmendForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let result = async {
        let deadline_us = deadline_of(&form.deadline_minutes)?;
        let order = api::visible(&state, &authed, &id).await?;
        authed.may(Action::IssueOrder, &order.scope)?;
        api::amend_order(&state, &authed, &order, form.body.clone(), deadline_us).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/orders/{id}"))),
        Err(e) => {
            refused_page(&state, lang, &authed, "/orders", e, |page| render_detail(&state, &authed, page, &id)).await
        }
    }
}

/// A form that is only a button.
#[derive(Debug, Deserialize)]
pub struct ButtonForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// Revokes an order.
pub async fn revoke_submit(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<ButtonForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let order = api::visible(&state, &authed, &id).await?;
    authed.may(Action::IssueOrder, &order.scope)?;
    api::revoke_order(&state, &authed, &order).await?;
    Ok(see_other(&format!("/orders/{id}")))
}

/// The phone's acknowledgement (with the position `orders.js` added).
#[derive(Debug, Deserialize)]
pub struct AckForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    /// A photo uploaded by orders.js before posting, if any.
    #[serde(default)]
    photo_id: String,
}

fn opt_float(field: &str, raw: &str) -> Result<Option<f64>, FieldError> {
    match raw.trim() {
        "" => Ok(None),
        s => s.parse().map(Some).map_err(|_| FieldError::new(field, "invalid")),
    }
}

/// Acknowledges an order, or answers a roll call, from "My post".
pub async fn ack_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<AckForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let result = async {
        let version = form.version.trim().parse().map_err(|_| FieldError::new("version", "invalid"))?;
        let location =
            shouwang_domain::order::parse_location(opt_float("lat", &form.lat)?, opt_float("lon", &form.lon)?)?;
        let photo = api::photo_of(Some(&form.photo_id))?;
        api::answer(&state, &authed, &id, ReceiptChange::Acknowledge { version, location, photo }).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/my-post?done=ack#my-orders")),
        Err(e) => super::checkpoints::my_post_refused_with(&state, lang, &authed, "order", e).await,
    }
}

/// The phone's completion report.
#[derive(Debug, Deserialize)]
pub struct ReportForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    report: String,
    /// A photo uploaded by orders.js before posting, if any.
    #[serde(default)]
    photo_id: String,
}

/// Reports an order done, from "My post".
pub async fn report_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<ReportForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let result = async {
        let text = shouwang_domain::order::parse_report(&form.report)?;
        let photo = api::photo_of(Some(&form.photo_id))?;
        api::answer(&state, &authed, &id, ReceiptChange::Report { text, photo }).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/my-post?done=report#my-orders")),
        Err(e) => super::checkpoints::my_post_refused_with(&state, lang, &authed, "order", e).await,
    }
}

/// The orders for "My post": each with the viewer's own receipt, or, for
/// one escalated to the viewer as a supervisor, who has still not answered.
pub async fn mine_for_page(state: &AppState, authed: &Authed) -> Result<Vec<serde_json::Value>, AppError> {
    let me = authed.principal.user_id;
    let orders = api::mine(state, authed, 20).await?;
    Ok(orders
        .iter()
        .filter_map(|o| {
            let mut v = serde_json::to_value(OrderView::from(o)).ok()?;
            if let Some(r) = o.receipt(me) {
                v["mine"] = serde_json::to_value(crate::api::orders::ReceiptView::from(r)).ok()?;
                return Some(v);
            }
            let silent: Vec<&str> = o
                .receipts
                .iter()
                .filter(|r| r.escalated_to.as_ref().is_some_and(|(id, _)| *id == me) && !r.state.is_acknowledged())
                .map(|r| r.name.as_str())
                .collect();
            if silent.is_empty() {
                return None;
            }
            v["escalated"] = serde_json::json!(silent);
            Some(v)
        })
        .collect())
}
