//! Server-rendered pages: minijinja templates from `web/templates/`,
//! embedded in the binary, translated with the `t()` function.
//!
//! A page handler builds a context with [`Page::new`] (language, signed-in
//! user, CSRF token, navigation for the user's rights) plus its own values,
//! and renders one template. A form that fails validation is rendered again
//! with `errors` (field → message in the user's language) and the values the
//! user typed, so the message stands beside the field and nothing is lost.

pub mod admin;
pub mod board;
pub mod calls;
pub mod checkpoints;
pub mod duty_log;
pub mod enterprises;
pub mod households;
pub mod incidents;
pub mod labour;
pub mod login;
pub mod orders;
pub mod passes;
pub mod ploughing;
pub mod screening_records;
pub mod screenings;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::value::Kwargs;
use minijinja::{Environment, State as TplState, Value};
use serde::Serialize;
use shouwang_domain::policy::Right;
use shouwang_domain::{FieldError, Principal};

use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::{I18n, Lang};
use crate::state::AppState;

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../../../web/templates/layout.html")),
    ("outbox.html", include_str!("../../../../web/templates/outbox.html")),
    ("login.html", include_str!("../../../../web/templates/login.html")),
    ("home.html", include_str!("../../../../web/templates/home.html")),
    ("error.html", include_str!("../../../../web/templates/error.html")),
    ("duty_log.html", include_str!("../../../../web/templates/duty_log.html")),
    ("setup.html", include_str!("../../../../web/templates/setup.html")),
    ("settings.html", include_str!("../../../../web/templates/settings.html")),
    ("admin_org_units.html", include_str!("../../../../web/templates/admin_org_units.html")),
    ("admin_users.html", include_str!("../../../../web/templates/admin_users.html")),
    ("admin_roles.html", include_str!("../../../../web/templates/admin_roles.html")),
    ("admin_tokens.html", include_str!("../../../../web/templates/admin_tokens.html")),
    ("admin_events.html", include_str!("../../../../web/templates/admin_events.html")),
    ("checkpoints.html", include_str!("../../../../web/templates/checkpoints.html")),
    ("checkpoint.html", include_str!("../../../../web/templates/checkpoint.html")),
    ("checkpoints_resupply.html", include_str!("../../../../web/templates/checkpoints_resupply.html")),
    ("checkpoints_requests.html", include_str!("../../../../web/templates/checkpoints_requests.html")),
    ("my_post.html", include_str!("../../../../web/templates/my_post.html")),
    ("screen.html", include_str!("../../../../web/templates/screen.html")),
    ("screenings.html", include_str!("../../../../web/templates/screenings.html")),
    ("board.html", include_str!("../../../../web/templates/board.html")),
    ("feed.html", include_str!("../../../../web/templates/feed.html")),
    ("passes.html", include_str!("../../../../web/templates/passes.html")),
    ("pass.html", include_str!("../../../../web/templates/pass.html")),
    ("pass_verify.html", include_str!("../../../../web/templates/pass_verify.html")),
    ("orders.html", include_str!("../../../../web/templates/orders.html")),
    ("order.html", include_str!("../../../../web/templates/order.html")),
    ("my_orders.html", include_str!("../../../../web/templates/my_orders.html")),
    ("board_post.html", include_str!("../../../../web/templates/board_post.html")),
    ("calls.html", include_str!("../../../../web/templates/calls.html")),
    ("incident.html", include_str!("../../../../web/templates/incident.html")),
    ("enterprises.html", include_str!("../../../../web/templates/enterprises.html")),
    ("enterprise.html", include_str!("../../../../web/templates/enterprise.html")),
    ("tickets.html", include_str!("../../../../web/templates/tickets.html")),
    ("ticket.html", include_str!("../../../../web/templates/ticket.html")),
    ("resumption.html", include_str!("../../../../web/templates/resumption.html")),
    ("enterprise_fields.html", include_str!("../../../../web/templates/enterprise_fields.html")),
    ("enterprise_projects.html", include_str!("../../../../web/templates/enterprise_projects.html")),
    ("labour.html", include_str!("../../../../web/templates/labour.html")),
    ("labour_demand.html", include_str!("../../../../web/templates/labour_demand.html")),
    ("transport.html", include_str!("../../../../web/templates/transport.html")),
    ("transport_batch.html", include_str!("../../../../web/templates/transport_batch.html")),
    ("ploughing.html", include_str!("../../../../web/templates/ploughing.html")),
    ("households.html", include_str!("../../../../web/templates/households.html")),
    ("household.html", include_str!("../../../../web/templates/household.html")),
    ("rural.html", include_str!("../../../../web/templates/rural.html")),
];

/// The template environment.
pub struct Templates {
    env: Environment<'static>,
    i18n: Arc<I18n>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Templates {
    /// Loads the embedded templates. Panics if one does not parse: a test
    /// renders every page, so that cannot ship.
    pub fn load(i18n: Arc<I18n>) -> Self {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
        let for_t = i18n.clone();
        env.add_function("t", move |state: &TplState, key: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
            let lang = lang_in(state);
            let mut args = Vec::new();
            for k in kwargs.args() {
                let v: Value = kwargs.get(k)?;
                args.push((k, v.to_string()));
            }
            Ok(for_t.text(lang, key, &args))
        });
        env.add_function("time", |state: &TplState, us: i64| -> String {
            let offset = state.lookup("utc_offset_hours").and_then(|v| i64::try_from(v).ok()).unwrap_or(8);
            format_time(us, offset)
        });
        env.add_function("day", |n: i64| -> String { crate::api::enterprises::format_day(n) });
        Self { env, i18n }
    }

    /// Renders `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> AppResult<Html<String>> {
        let template = self.env.get_template(name).map_err(|e| AppError::Internal(e.into()))?;
        template.render(ctx).map(Html).map_err(|e| AppError::Internal(anyhow::anyhow!("rendering {name}: {e:#}")))
    }

    /// The translations.
    pub fn i18n(&self) -> &I18n {
        &self.i18n
    }
}

fn lang_in(state: &TplState) -> Lang {
    match state.lookup("lang").and_then(|v| v.as_str().map(str::to_owned)).as_deref() {
        Some("en") => Lang::En,
        _ => Lang::ZhCn,
    }
}

/// `YYYY-MM-DD HH:MM:SS` in the display zone.
pub fn format_time(us: i64, offset_hours: i64) -> String {
    let secs = us.div_euclid(1_000_000) + offset_hours * 3600;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = shouwang_domain::calendar::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// One entry of the navigation.
#[derive(Debug, Serialize)]
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// Message key of its label.
    pub label: &'static str,
}

/// The navigation a principal sees: what their rights let them use. Later
/// capabilities add their entries here.
pub fn navigation(p: &Principal) -> Vec<NavItem> {
    let mut nav = vec![NavItem { href: "/", label: "nav-home" }];
    if p.rights.has(Right::Read) {
        nav.push(NavItem { href: "/duty-log", label: "nav-duty-log" });
        nav.push(NavItem { href: "/checkpoints", label: "nav-checkpoints" });
        nav.push(NavItem { href: "/screenings", label: "nav-screenings" });
    }
    if p.rights.has(Right::Approve) && p.rights.has(Right::Read) {
        nav.push(NavItem { href: "/resupply", label: "nav-resupply" });
    }
    if p.rights.has(Right::Command) {
        nav.push(NavItem { href: "/orders", label: "nav-orders" });
        nav.push(NavItem { href: "/calls", label: "nav-calls" });
    }
    if p.rights.has(Right::Write) && p.role.as_str() == "duty_officer" {
        nav.push(NavItem { href: "/my-post", label: "nav-my-post" });
        nav.push(NavItem { href: "/screen", label: "nav-screen" });
    }
    if p.rights.has(Right::Read) {
        nav.push(NavItem { href: "/passes", label: "nav-passes" });
    }
    if p.rights.has(Right::Read) && p.role.as_str() == "duty_officer" {
        nav.push(NavItem { href: "/passes/verify", label: "nav-pass-verify" });
    }
    // The resumption of work: not for the duty officers at the posts.
    if p.rights.has(Right::Read) && p.role.as_str() != "duty_officer" {
        nav.push(NavItem { href: "/enterprises", label: "nav-enterprises" });
        nav.push(NavItem { href: "/tickets", label: "nav-tickets" });
        let oversees = [Right::Approve, Right::Command, Right::Export].into_iter().any(|r| p.rights.has(r));
        if oversees || p.role.as_str() == "viewer" {
            nav.push(NavItem { href: "/resumption", label: "nav-resumption" });
        }
    }
    // Registered households: the townships and villages, and those
    // overseeing them; not the posts or the enterprises.
    if p.rights.has(Right::Read) && !matches!(p.role.as_str(), "duty_officer" | "enterprise_contact") {
        nav.push(NavItem { href: "/households", label: "nav-households" });
        let oversees = [Right::Approve, Right::Command, Right::Export].into_iter().any(|r| p.rights.has(r));
        if oversees || p.role.as_str() == "viewer" {
            nav.push(NavItem { href: "/rural", label: "nav-rural" });
        }
    }
    // Labour export: the villages and townships, and the enterprises that
    // post positions and receive the workers; not the posts.
    if p.rights.has(Right::Read) && p.role.as_str() != "duty_officer" {
        nav.push(NavItem { href: "/labour", label: "nav-labour" });
        nav.push(NavItem { href: "/transport", label: "nav-transport" });
    }
    // Spring ploughing: the townships and villages, and those overseeing
    // them; not the posts or the enterprises, whose scope holds no village.
    if p.rights.has(Right::Read) && !matches!(p.role.as_str(), "duty_officer" | "enterprise_contact") {
        nav.push(NavItem { href: "/ploughing", label: "plough-nav" });
    }
    if p.rights.has(Right::Administer) {
        nav.push(NavItem { href: "/admin/org-units", label: "nav-org-units" });
        nav.push(NavItem { href: "/admin/users", label: "nav-users" });
        nav.push(NavItem { href: "/admin/roles", label: "nav-roles" });
        nav.push(NavItem { href: "/admin/tokens", label: "nav-tokens" });
        nav.push(NavItem { href: "/admin/events", label: "nav-audit" });
    }
    nav.push(NavItem { href: "/settings", label: "nav-settings" });
    nav
}

/// The common part of every page's context.
#[derive(Debug, Serialize)]
pub struct Page {
    lang: &'static str,
    langs: Vec<(&'static str, &'static str)>,
    user: Option<crate::api::views::UserView>,
    role: Option<String>,
    csrf: String,
    nav: Vec<NavItem>,
    path: String,
    utc_offset_hours: i32,
    errors: BTreeMap<String, String>,
    /// The live indicator's words, as JSON for `live.js`.
    live_texts: String,
    /// Event kinds' labels, as JSON for `live.js`.
    kind_labels: String,
    /// The call screen's words, as JSON for `call.js`.
    call_texts: String,
    /// How often a duty officer's page tells the server the phone is there:
    /// three times within the presence timeout, at most every 30 s.
    heartbeat_seconds: u64,
    /// How long a phone may keep entering records without reaching the
    /// server (`outbox.js`), in hours.
    offline_hours: u32,
    /// The build's version (the service worker's), shown in the page's head.
    app_version: &'static str,
}

impl Page {
    /// A page for `authed` (or an anonymous visitor) at `path`.
    pub fn new(state: &AppState, lang: Lang, authed: Option<&Authed>, path: &str) -> Self {
        Self {
            lang: lang.tag(),
            langs: vec![("zh-CN", "简体中文"), ("en", "English")],
            user: authed.map(|a| crate::api::views::UserView::from(&a.principal)),
            role: authed.map(|a| format!("role-{}", a.principal.role.as_str().replace('_', "-"))),
            csrf: authed.map(|a| a.csrf().to_owned()).unwrap_or_default(),
            nav: authed.map(|a| navigation(&a.principal)).unwrap_or_default(),
            path: path.to_owned(),
            utc_offset_hours: state.config.display_utc_offset_hours,
            errors: BTreeMap::new(),
            live_texts: serde_json::json!({
                "online": state.i18n.text(lang, "live-online", &[]),
                "offline": state.i18n.text(lang, "live-offline", &[]),
                "reconnecting": state.i18n.text(lang, "live-reconnecting", &[]),
            })
            .to_string(),
            call_texts: call_texts(state, lang),
            heartbeat_seconds: (u64::from(state.config.presence_timeout_minutes) * 60 / 3).clamp(5, 30),
            offline_hours: state.config.offline_hours,
            app_version: crate::assets::app_version(),
            kind_labels: serde_json::Value::Object(
                shouwang_domain::EventKind::ALL
                    .iter()
                    .map(|k| {
                        let key = format!("event-{}", k.as_str().replace(['.', '_'], "-"));
                        (k.as_str().to_owned(), serde_json::Value::String(state.i18n.text(lang, &key, &[])))
                    })
                    .collect(),
            )
            .to_string(),
        }
    }

    /// Adds a field error, in the page's language.
    pub fn error(&mut self, i18n: &I18n, lang: Lang, e: &FieldError) {
        self.errors.insert(e.field.clone(), i18n.field_error(lang, e));
    }

    /// Merges with the page's own values into one context.
    pub fn with(self, own: impl Serialize) -> Value {
        minijinja::context! { ..Value::from_serialize(&self), ..Value::from_serialize(&own) }
    }
}

/// The words of the call screen (`call-*` in the translations, without the
/// prefix), as JSON for `call.js`.
fn call_texts(state: &AppState, lang: Lang) -> String {
    const KEYS: &[&str] = &[
        "incoming",
        "accept",
        "decline",
        "in-call",
        "connecting",
        "mute",
        "unmute",
        "camera-off",
        "camera-on",
        "switch-camera",
        "audio-only",
        "weak-audio",
        "weak-ptt",
        "hold-to-talk",
        "restore",
        "mode-audio",
        "mode-ptt",
        "hangup",
        "ringing",
        "calling",
        "ended",
        "reconnecting",
        "no-media",
        "offline",
        "outcome-answered",
        "outcome-missed",
        "outcome-declined",
        "outcome-ended",
        "add-post",
        "raise-hand",
        "has-floor",
        "give-floor",
        "take-floor",
        "inspection-asks",
        "inspect-none",
        "recorded",
    ];
    let texts: serde_json::Map<String, serde_json::Value> = KEYS
        .iter()
        .map(|k| ((*k).to_owned(), serde_json::Value::String(state.i18n.text(lang, &format!("call-{k}"), &[]))))
        .collect();
    serde_json::Value::Object(texts).to_string()
}

/// The words of the field outbox (`outbox-*` in the translations, without
/// the prefix), with `{count}`-style blanks for `outbox-status.js` to fill;
/// the kinds of record for the lines it lists; and the messages of the
/// checks the field pages make before a record goes into the outbox (the
/// server's own words for the same mistakes). Only the field pages (those
/// that include `outbox.html`) put it in their context.
pub(crate) fn outbox_texts(state: &AppState, lang: Lang) -> String {
    const KEYS: &[&str] = &[
        "never",
        "sending",
        "offline",
        "timeout",
        "storage-full",
        "no-storage",
        "sign-in-again",
        "resend",
        "discard",
        "discard-confirm",
        "fix",
        "photo-online",
        "saved",
        "synced",
        "refused",
        "check-form",
        "just-logged",
    ];
    let blank = |name: &str| format!("{{{name}}}");
    let text = |key: &str, args: &[(&str, String)]| state.i18n.text(lang, &format!("outbox-{key}"), args);
    let mut texts: serde_json::Map<String, serde_json::Value> =
        KEYS.iter().map(|k| (k.replace('-', "_"), serde_json::Value::String(text(k, &[])))).collect();
    for (key, args) in [
        ("server", vec!["status", "message"]),
        ("envelope", vec!["status", "message"]),
        ("signed-out", vec!["count"]),
        ("expired", vec!["hours", "count"]),
        ("damaged", vec!["detail"]),
        ("clock", vec!["minutes"]),
    ] {
        let args: Vec<(&str, String)> = args.iter().map(|a| (*a, blank(a))).collect();
        texts.insert(key.replace('-', "_"), serde_json::Value::String(text(key, &args)));
    }
    const KINDS: &[&str] = &[
        "screening",
        "check-in",
        "check-out",
        "consume",
        "resupply",
        "receipt",
        "living",
        "incident",
        "ack",
        "roll-call",
        "report",
        "visit",
    ];
    let kinds: serde_json::Map<String, serde_json::Value> = KINDS
        .iter()
        .map(|k| (k.replace('-', "_"), serde_json::Value::String(text(&format!("kind-{k}"), &[]))))
        .collect();
    texts.insert("kinds".into(), serde_json::Value::Object(kinds));
    let error = |code: &str, args: &[(&str, String)]| state.i18n.text(lang, &format!("error-{code}"), args);
    let errors = serde_json::json!({
        "required": error("required", &[]),
        "whole_number": error("whole-number", &[]),
        "in_future": error("in-future", &[]),
        "too_old": error("too-old", &[("days", crate::api::households::VISIT_BACKDATE_DAYS.to_string())]),
        "invalid_plate": error("invalid-plate", &[("example", shouwang_domain::screening::PlateNumber::EXAMPLE.to_owned())]),
        "invalid_length": error("invalid-length", &[("length", shouwang_domain::screening::ResidentId::LEN.to_string())]),
        "invalid_format": error("invalid-format", &[]),
        "bad_check_digit": error("bad-check-digit", &[]),
    });
    texts.insert("errors".into(), errors);
    serde_json::Value::Object(texts).to_string()
}

/// Splits a refused form submission: a field error comes back with its
/// status, to be shown beside its field on the page rendered again; any
/// other error is passed on (to the error page).
pub fn field_refusal(e: AppError) -> AppResult<(axum::http::StatusCode, FieldError)> {
    match e.info().field_error {
        Some(fe) => Ok((e.status(), fe)),
        None => Err(e),
    }
}

/// After a refused form: the page `render` draws again from a fresh
/// [`Page`] at `path`, with the field's message beside the field, under the
/// refusal's status. Errors without a field go to the error page.
pub async fn refused_page<F, Fut>(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    path: &str,
    e: AppError,
    render: F,
) -> AppResult<Response>
where
    F: FnOnce(Page) -> Fut,
    Fut: std::future::Future<Output = AppResult<Response>>,
{
    let (status, fe) = field_refusal(e)?;
    let mut page = Page::new(state, lang, Some(authed), path);
    page.error(&state.i18n, lang, &fe);
    let mut res = render(page).await?;
    *res.status_mut() = status;
    Ok(res)
}

/// A rendered page with a status other than 200.
pub fn with_status(status: axum::http::StatusCode, html: Html<String>) -> Response {
    (status, html).into_response()
}

/// Where to go after signing in: only a local path, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// Redirects after a successful form post (303, so a reload does not post
/// again).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Full-width digits (from Chinese input methods) as ASCII.
fn half_width(c: char) -> char {
    match c {
        '\u{FF10}'..='\u{FF19}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// A whole number typed into a form: blank is `None`; spaces and thousands
/// separators are dropped, full-width digits read.
pub(crate) fn whole(field: &str, raw: &str) -> Result<Option<i64>, FieldError> {
    let s: String =
        raw.chars().map(half_width).filter(|c| !c.is_whitespace() && !matches!(c, ',' | '，' | '_')).collect();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| FieldError::new(field, "whole_number"))
}

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(login::home))
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang", post(login::switch_lang))
        .route("/setup", get(login::setup_show).post(login::setup_submit))
        .route("/duty-log", get(duty_log::show).post(duty_log::submit))
        .route("/settings", get(admin::settings_show))
        .route("/settings/password", post(admin::settings_password))
        .route("/admin/org-units", get(admin::org_units_show).post(admin::org_units_submit))
        .route("/admin/users", get(admin::users_show).post(admin::users_submit))
        .route("/admin/users/{id}/disable", post(admin::user_disable))
        .route("/admin/users/{id}/enable", post(admin::user_enable))
        .route("/admin/roles", get(admin::roles_show).post(admin::roles_submit))
        .route("/admin/tokens", get(admin::tokens_show).post(admin::tokens_submit))
        .route("/admin/tokens/{id}/revoke", post(admin::token_revoke))
        .route("/admin/events", get(admin::events_show))
        .route("/checkpoints", get(checkpoints::list_show).post(checkpoints::create_submit))
        .route("/checkpoints/{id}", get(checkpoints::detail_show))
        .route("/board/posts/{id}", get(checkpoints::panel_show))
        .route("/checkpoints/{id}/status", post(checkpoints::status_submit))
        .route("/checkpoints/{id}/shifts", post(checkpoints::shift_submit))
        .route("/resupply", get(checkpoints::queue_show))
        .route("/resupply/{id}/decision", post(checkpoints::decision_submit))
        .route("/resupply/{id}/dispatch", post(checkpoints::dispatch_submit))
        .route("/screenings", get(screening_records::show))
        .route("/my-post", get(checkpoints::my_post_show))
        .route("/screen", get(screenings::show).post(screenings::submit))
        .route("/my-post/check-in", post(checkpoints::check_in_submit))
        .route("/my-post/check-out", post(checkpoints::check_out_submit))
        .route("/my-post/consume", post(checkpoints::consume_submit))
        .route("/my-post/resupply", post(checkpoints::resupply_submit))
        .route("/my-post/receipt/{id}", post(checkpoints::receipt_submit))
        .route("/my-post/living", post(checkpoints::living_submit))
        .route("/passes", get(passes::list_show).post(passes::issue_submit))
        .route("/passes/verify", get(passes::verify_show))
        .route("/passes/requests", post(passes::request_submit))
        .route("/passes/requests/{id}/decision", post(passes::decide_submit))
        .route("/passes/{id}", get(passes::detail_show))
        .route("/passes/{id}/revoke", post(passes::revoke_submit))
        .route("/alerts/{id}/acknowledge", post(board::take_alert))
        .route("/incidents/{id}", get(incidents::detail_show))
        .route("/incidents/{id}/steps", post(incidents::step_submit))
        .route("/my-post/incidents", post(incidents::report_submit))
        .route("/calls", get(calls::show))
        .route("/orders", get(orders::list_show).post(orders::issue_submit))
        .route("/orders/{id}", get(orders::detail_show))
        .route("/orders/{id}/amend", post(orders::amend_submit))
        .route("/orders/{id}/revoke", post(orders::revoke_submit))
        .route("/my-post/orders/{id}/ack", post(orders::ack_submit))
        .route("/my-post/orders/{id}/report", post(orders::report_submit))
        .route("/enterprises", get(enterprises::list_show).post(enterprises::create_submit))
        .route("/enterprises/{id}", get(enterprises::detail_show))
        .route("/enterprises/{id}/edit", post(enterprises::edit_submit))
        .route("/enterprises/{id}/apply", post(enterprises::apply_submit))
        .route("/enterprises/{id}/status", post(enterprises::status_submit))
        .route("/enterprises/{id}/report", post(enterprises::report_submit))
        .route("/enterprises/{id}/tickets", post(enterprises::ticket_submit))
        .route("/enterprises/{id}/projects", post(enterprises::project_submit))
        .route("/enterprises/{id}/contacts", post(enterprises::contact_submit))
        .route("/applications/{id}/review", post(enterprises::review_submit))
        .route("/projects/{id}/milestones", post(enterprises::milestone_submit))
        .route("/tickets", get(enterprises::tickets_show))
        .route("/tickets/{id}", get(enterprises::ticket_show))
        .route("/tickets/{id}/steps", post(enterprises::step_submit))
        .route("/resumption", get(enterprises::dashboard_show))
        .route("/rural", get(households::rural_show))
        .route("/households", get(households::list_show).post(households::create_submit))
        .route("/households/{id}", get(households::detail_show))
        .route("/households/{id}/visits", post(households::visit_submit))
        .route("/households/{id}/production", post(households::production_submit))
        .route("/households/{id}/difficulties", post(households::difficulty_submit))
        .route("/production/{id}/harvest", post(households::harvest_submit))
        .route("/production/{id}/sales", post(households::sale_submit))
        .route("/ploughing", get(ploughing::show).post(ploughing::submit))
        .route("/labour", get(labour::labour_show))
        .route("/labour/workers", post(labour::worker_submit))
        .route("/labour/demand", post(labour::demand_submit))
        .route("/labour/demand/{id}", get(labour::demand_show))
        .route("/labour/demand/{id}/place", post(labour::place_submit))
        .route("/labour/placements/{id}/cancel", post(labour::cancel_submit))
        .route("/transport", get(labour::transport_show).post(labour::batch_submit))
        .route("/transport/{id}", get(labour::batch_show))
        .route("/transport/{id}/checks", post(labour::check_submit))
        .route("/transport/{id}/passengers", post(labour::passengers_submit))
        .route("/transport/{id}/depart", post(labour::depart_submit))
        .route("/transport/{id}/arrive", post(labour::arrive_submit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_in_china_standard_time() {
        // 2020-02-10T00:30:00Z is 08:30 in Lushi.
        assert_eq!(format_time(1_581_294_600_000_000, 8), "2020-02-10 08:30:00");
        assert_eq!(format_time(0, 0), "1970-01-01 00:00:00");
    }

    #[test]
    fn next_never_leaves_the_site() {
        assert_eq!(safe_next(Some("/admin/users")), "/admin/users");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
