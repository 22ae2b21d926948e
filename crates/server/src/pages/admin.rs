//! The administration pages and one's own settings: the org tree, accounts,
//! roles, API tokens, the audit log, and the password change.
//!
//! Each page is a thin form over the functions the JSON API calls
//! (`api::org_units`, `api::users`, `api::auth`), so a rule lives in one
//! place and the pages cannot drift from the API. Every page needs a
//! signed-in user; the admin pages ask the policy for `Administer` first, and
//! every form post checks its `_csrf` field before anything else.
//!
//! A form refused for one field is rendered again with the message beside
//! that field, the HTTP status of the refusal, and the values typed kept —
//! never a password. Any other refusal (forbidden, not found) goes to the
//! error page. A success redirects (303), except issuing an API token: its
//! secret is shown on the page answering the post, this once.

use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::policy::{Action, Right};
use shouwang_domain::{
    BoundedText, EventId, EventKind, FieldError, OrgUnitKind, Rights, RoleName, TokenId, UserId, Username,
};
use shouwang_store::{EventFilter, StoreError};

use super::{Page, field_refusal, see_other};
use crate::api::auth::change_own_password;
use crate::api::json::ApiQuery;
use crate::api::org_units::{NewOrgUnit, create_unit};
use crate::api::users::{IssuedToken, NewUser, create_user, issue_token, put_role, revoke, set_disabled};
use crate::api::views::{OrgUnitView, TokenView, UserView};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// Rows of the audit log per page.
const AUDIT_PAGE: usize = 50;

/// The kinds of unit the page adds (a city or county root is made at setup).
const NEW_UNIT_KINDS: [OrgUnitKind; 4] =
    [OrgUnitKind::County, OrgUnitKind::Township, OrgUnitKind::Village, OrgUnitKind::Department];

/// The page for `authed` at `path`, with the message of a refused field.
fn page_for(state: &AppState, lang: Lang, authed: &Authed, path: &str, refusal: Option<&FieldError>) -> Page {
    let mut page = Page::new(state, lang, Some(authed), path);
    if let Some(fe) = refusal {
        page.error(&state.i18n, lang, fe);
    }
    page
}

/// A page rendered again after a refusal carries the refusal's status.
fn with_status_of(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

/// An id chosen in a select: a number, or the field is refused.
fn id_field(field: &str, raw: &str) -> Result<i64, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new(field, "required"));
    }
    raw.parse().map_err(|_| FieldError::new(field, "invalid"))
}

/// An id in the path: anything but a number names nothing.
fn path_id(raw: &str) -> AppResult<i64> {
    raw.parse().map_err(|_| AppError::NotFound)
}

/// A role's label in the page's language; a role added later without a
/// translation shows its name.
fn role_label(state: &AppState, lang: Lang, role: &str) -> String {
    let key = format!("role-{}", role.replace('_', "-"));
    if state.i18n.has(lang, &key) { state.i18n.text(lang, &key, &[]) } else { role.to_owned() }
}

/// A form that carries only its CSRF token (the buttons in table rows).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

// ---------------------------------------------------------------- org units

/// The form adding an org unit.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct OrgUnitForm {
    #[serde(rename = "_csrf", skip_serializing)]
    csrf: String,
    parent_id: String,
    kind: String,
    code: String,
    name: String,
}

/// A unit of the tree as the page shows it.
#[derive(Debug, Serialize)]
struct TreeRow {
    #[serde(flatten)]
    unit: OrgUnitView,
    /// 1 for the top of the caller's scope (the `tree-depth-N` class).
    depth: usize,
    /// Indentation for the parent select, whose options cannot be styled.
    indent: String,
}

async fn render_org_units(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    refusal: Option<&FieldError>,
    form: &OrgUnitForm,
) -> AppResult<Response> {
    let top = authed.principal.scope.depth();
    let units = state.store.org_units_within(&authed.principal.scope).await?;
    let rows: Vec<TreeRow> = units
        .iter()
        .map(|u| {
            let depth = (u.path.depth() + 1).saturating_sub(top).clamp(1, 6);
            TreeRow { unit: OrgUnitView::from(u), depth, indent: "\u{3000}".repeat(depth - 1) }
        })
        .collect();
    let ctx = page_for(state, lang, authed, "/admin/org-units", refusal).with(minijinja::context! {
        units => rows,
        kinds => NEW_UNIT_KINDS.map(OrgUnitKind::as_str),
        form => form,
    });
    Ok(state.templates.render("admin_org_units.html", ctx)?.into_response())
}

/// The org tree within scope and a form to add a unit.
pub async fn org_units_show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::Administer)?;
    let form = OrgUnitForm {
        parent_id: authed.principal.org_unit.0.to_string(),
        kind: OrgUnitKind::Township.as_str().to_owned(),
        ..Default::default()
    };
    render_org_units(&state, lang, &authed, None, &form).await
}

/// Adds an org unit from the form.
pub async fn org_units_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<OrgUnitForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::Administer)?;
    let result = async {
        let input = NewOrgUnit {
            parent_id: id_field("parent_id", &form.parent_id)?,
            kind: form.kind.clone(),
            code: form.code.clone(),
            name: form.name.clone(),
        };
        // A parent outside the scope is "not found" to the API; on the page
        // it is the parent field that is wrong.
        create_unit(&state, &authed, input.parse()?).await.map_err(|e| match e {
            AppError::NotFound => FieldError::new("parent_id", "not_found").into(),
            other => other,
        })
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/admin/org-units")),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            Ok(with_status_of(render_org_units(&state, lang, &authed, Some(&fe), &form).await?, status))
        }
    }
}

// -------------------------------------------------------------------- users

/// The form creating an account. The password is never sent back.
#[derive(Default, Deserialize, Serialize)]
#[serde(default)]
pub struct UserForm {
    #[serde(rename = "_csrf", skip_serializing)]
    csrf: String,
    username: String,
    display_name: String,
    #[serde(skip_serializing)]
    password: String,
    role: String,
    org_unit_id: String,
}

impl std::fmt::Debug for UserForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserForm")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .field("role", &self.role)
            .field("org_unit_id", &self.org_unit_id)
            .finish()
    }
}

/// An account as the table shows it.
#[derive(Debug, Serialize)]
struct UserRow {
    #[serde(flatten)]
    user: UserView,
    role_label: String,
    unit_name: String,
    is_self: bool,
}

/// A role to choose in a select.
#[derive(Debug, Serialize)]
struct RoleChoice {
    name: String,
    label: String,
}

async fn render_users(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    refusal: Option<(&FieldError, Option<i64>)>,
    form: &UserForm,
) -> AppResult<Response> {
    let scope = &authed.principal.scope;
    let users = state.store.users_within(scope).await?;
    let units = state.store.org_units_within(scope).await?;
    let roles = state.store.roles().await?;
    let unit_name = |id: i64| units.iter().find(|u| u.id.0 == id).map(|u| u.name.clone()).unwrap_or_default();
    let rows: Vec<UserRow> = users
        .iter()
        .map(|u| UserRow {
            user: UserView::from(u),
            role_label: role_label(state, lang, u.role.as_str()),
            unit_name: unit_name(u.org_unit_id.0),
            is_self: u.id == authed.principal.user_id,
        })
        .collect();
    let mut page = page_for(state, lang, authed, "/admin/users", refusal.map(|r| r.0));
    if let Some((fe, Some(_))) = refusal {
        // Beside a row the field's label ("Id") says nothing: the message alone.
        let args: Vec<(&str, String)> = fe.args.iter().map(|(k, v)| (*k, v.clone())).collect();
        let message = state.i18n.text(lang, &format!("error-{}", fe.code.replace('_', "-")), &args);
        page.errors.insert(fe.field.clone(), message);
    }
    let ctx = page.with(minijinja::context! {
        users => rows,
        // The account whose row button was refused: its message stands there.
        error_row => refusal.and_then(|r| r.1),
        units => units.iter().map(OrgUnitView::from).collect::<Vec<_>>(),
        roles => roles.iter().map(|r| RoleChoice {
            name: r.name.as_str().to_owned(),
            label: role_label(state, lang, r.name.as_str()),
        }).collect::<Vec<_>>(),
        form => form,
    });
    Ok(state.templates.render("admin_users.html", ctx)?.into_response())
}

/// The accounts within scope and a form to create one.
pub async fn users_show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::Administer)?;
    let form = UserForm {
        role: "viewer".to_owned(),
        org_unit_id: authed.principal.org_unit.0.to_string(),
        ..Default::default()
    };
    render_users(&state, lang, &authed, None, &form).await
}

/// Creates an account from the form.
pub async fn users_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<UserForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::Administer)?;
    let result = async {
        let input = NewUser {
            username: form.username.clone(),
            display_name: form.display_name.clone(),
            password: form.password.clone(),
            role: form.role.clone(),
            org_unit_id: id_field("org_unit_id", &form.org_unit_id)?,
        };
        create_user(&state, &authed, input.parse()?).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/admin/users")),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            Ok(with_status_of(render_users(&state, lang, &authed, Some((&fe, None)), &form).await?, status))
        }
    }
}

async fn switch_user(
    state: AppState,
    lang: Lang,
    authed: Authed,
    id: &str,
    form: CsrfForm,
    disabled: bool,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::Administer)?;
    let id = path_id(id)?;
    match set_disabled(&state, &authed, UserId(id), disabled).await {
        Ok(_) => Ok(see_other("/admin/users")),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            let form = UserForm {
                role: "viewer".to_owned(),
                org_unit_id: authed.principal.org_unit.0.to_string(),
                ..Default::default()
            };
            Ok(with_status_of(render_users(&state, lang, &authed, Some((&fe, Some(id))), &form).await?, status))
        }
    }
}

/// Disables an account (its sessions and tokens stop at once).
pub async fn user_disable(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    switch_user(state, lang, authed, &id, form, true).await
}

/// Enables an account again.
pub async fn user_enable(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    switch_user(state, lang, authed, &id, form, false).await
}

// -------------------------------------------------------------------- roles

/// A role's row: its rights as stored, or as just submitted when refused.
#[derive(Debug, Serialize)]
struct RoleRow {
    name: String,
    label: String,
    rights: Vec<String>,
}

/// What a refused role form held.
#[derive(Debug)]
struct RoleSubmission {
    name: String,
    rights: Vec<String>,
}

async fn render_roles(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    refusal: Option<(&FieldError, &RoleSubmission)>,
) -> AppResult<Response> {
    let roles = state.store.roles().await?;
    let rows: Vec<RoleRow> = roles
        .iter()
        .map(|r| {
            let name = r.name.as_str().to_owned();
            let rights = match refusal {
                Some((_, sub)) if sub.name == name => sub.rights.clone(),
                _ => r.rights.list().iter().map(|r| r.as_str().to_owned()).collect(),
            };
            RoleRow { label: role_label(state, lang, &name), name, rights }
        })
        .collect();
    let error_role = refusal.map(|(_, sub)| sub.name.clone());
    let error_row_shown = error_role.as_ref().is_some_and(|n| rows.iter().any(|r| &r.name == n));
    let ctx = page_for(state, lang, authed, "/admin/roles", refusal.map(|r| r.0)).with(minijinja::context! {
        roles => rows,
        all_rights => Right::ALL.map(Right::as_str),
        can_edit => authed.may_here(Action::AdministerDeployment).is_ok(),
        error_role => error_role,
        // A refusal for a role not in the table is shown above it.
        error_row_shown => error_row_shown,
    });
    Ok(state.templates.render("admin_roles.html", ctx)?.into_response())
}

/// Every role with its rights, one form per role.
pub async fn roles_show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::Administer)?;
    render_roles(&state, lang, &authed, None).await
}

/// Sets one role's rights. The body is parsed by hand: the checked rights
/// come as several `rights` fields.
pub async fn roles_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    body: Bytes,
) -> AppResult<Response> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let first = |key: &str| pairs.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str());
    authed.check_csrf(first("_csrf"))?;
    authed.may_here(Action::Administer)?;
    let submitted = RoleSubmission {
        name: first("name").trim().to_owned(),
        rights: pairs.iter().filter(|(k, _)| k == "rights").map(|(_, v)| v.clone()).collect(),
    };
    let result = async {
        let name = RoleName::parse("name", &submitted.name)?;
        let rights =
            submitted.rights.iter().map(|r| Right::parse("rights", r)).collect::<Result<Vec<_>, FieldError>>()?;
        put_role(&state, &authed, name, Rights::of(&rights)).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/admin/roles")),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            Ok(with_status_of(render_roles(&state, lang, &authed, Some((&fe, &submitted))).await?, status))
        }
    }
}

// ------------------------------------------------------------------- tokens

/// The form issuing an API token.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TokenForm {
    #[serde(rename = "_csrf", skip_serializing)]
    csrf: String,
    user_id: String,
    name: String,
}

/// A token as the table shows it.
#[derive(Debug, Serialize)]
struct TokenRow {
    #[serde(flatten)]
    token: TokenView,
    user_name: String,
}

/// An account to choose in a select.
#[derive(Debug, Serialize)]
struct UserChoice {
    id: i64,
    label: String,
}

async fn render_tokens(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    refusal: Option<&FieldError>,
    form: &TokenForm,
    issued: Option<&IssuedToken>,
) -> AppResult<Response> {
    let scope = &authed.principal.scope;
    let tokens = state.store.tokens_within(scope).await?;
    let users = state.store.users_within(scope).await?;
    let label = |u: &shouwang_store::User| format!("{} ({})", u.display_name, u.username.as_str());
    let rows: Vec<TokenRow> = tokens
        .iter()
        .map(|t| TokenRow {
            token: TokenView::from(t),
            user_name: users.iter().find(|u| u.id == t.user_id).map(label).unwrap_or_default(),
        })
        .collect();
    let ctx = page_for(state, lang, authed, "/admin/tokens", refusal).with(minijinja::context! {
        tokens => rows,
        users => users.iter().filter(|u| !u.disabled).map(|u| UserChoice { id: u.id.0, label: label(u) })
            .collect::<Vec<_>>(),
        form => form,
        issued => issued,
    });
    let mut res = state.templates.render("admin_tokens.html", ctx)?.into_response();
    if issued.is_some() {
        // The secret must not linger in a cache.
        res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// The API tokens within scope and a form to issue one.
pub async fn tokens_show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::Administer)?;
    render_tokens(&state, lang, &authed, None, &TokenForm::default(), None).await
}

/// Issues a token and shows its secret, this once (no redirect: the secret
/// is not stored anywhere to show it from again).
pub async fn tokens_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<TokenForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::Administer)?;
    let result = async {
        let user = UserId(id_field("user_id", &form.user_id)?);
        let name = BoundedText::<64>::parse("name", &form.name)?;
        issue_token(&state, &authed, user, name).await
    }
    .await;
    match result {
        Ok(issued) => render_tokens(&state, lang, &authed, None, &TokenForm::default(), Some(&issued)).await,
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            Ok(with_status_of(render_tokens(&state, lang, &authed, Some(&fe), &form, None).await?, status))
        }
    }
}

/// Revokes a token; it stops working at once.
pub async fn token_revoke(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::Administer)?;
    revoke(&state, &authed, TokenId(path_id(&id)?)).await?;
    Ok(see_other("/admin/tokens"))
}

// -------------------------------------------------------------- audit log

/// The audit log's filters and page.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this kind, e.g. `user.created`; empty: every kind.
    kind: Option<String>,
    /// Only what this user did (login name); empty: anyone.
    actor: Option<String>,
    /// Only events older than this id (the "older" link).
    before: Option<i64>,
}

/// An event as the table shows it.
#[derive(Debug, Serialize)]
struct AuditRow {
    id: i64,
    at_us: i64,
    actor_name: String,
    kind: String,
    subject: String,
    /// The payload as compact JSON.
    payload: String,
}

/// An event kind to choose in the filter.
#[derive(Debug, Serialize)]
struct KindChoice {
    value: &'static str,
    label_key: String,
}

/// The filters as typed, for the form and the paging links.
#[derive(Debug, Default, Serialize)]
struct AuditFilters {
    kind: String,
    actor: String,
}

impl AuditFilters {
    /// `/admin/events?…` with these filters and `before`.
    fn href(&self, before: Option<i64>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if !self.kind.is_empty() {
            q.append_pair("kind", &self.kind);
        }
        if !self.actor.is_empty() {
            q.append_pair("actor", &self.actor);
        }
        if let Some(b) = before {
            q.append_pair("before", &b.to_string());
        }
        let q = q.finish();
        if q.is_empty() { "/admin/events".to_owned() } else { format!("/admin/events?{q}") }
    }
}

/// Builds the store's filter from the query, resolving the actor's name.
async fn audit_filter(state: &AppState, authed: &Authed, q: &AuditQuery) -> AppResult<EventFilter> {
    let kind =
        match q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => Some(EventKind::parse("kind", k).map_err(|e| {
                e.arg("choices", EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))
            })?),
        };
    let actor = match q.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(raw) => {
            let name = Username::parse("actor", raw)?;
            match state.store.credentials(&name).await {
                Ok((user, _)) => Some(user.id),
                Err(StoreError::NotFound) => return Err(FieldError::new("actor", "not_found").into()),
                Err(e) => return Err(e.into()),
            }
        }
    };
    if q.before.is_some_and(|b| b < 1) {
        return Err(FieldError::new("before", "out_of_range").arg("min", 1).arg("max", i64::MAX).into());
    }
    Ok(EventFilter {
        scope: authed.principal.scope.clone(),
        after: None,
        before: q.before.map(EventId),
        kind,
        actor,
        // One more than a page, to know whether there is an older one.
        limit: AUDIT_PAGE as i64 + 1,
        newest_first: true,
    })
}

/// The audit log within scope, newest first, filtered and paged.
pub async fn events_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    query: Result<ApiQuery<AuditQuery>, AppError>,
) -> AppResult<Response> {
    authed.may_here(Action::Administer)?;
    let paged = matches!(&query, Ok(ApiQuery(q)) if q.before.is_some());
    let result = match query {
        Ok(ApiQuery(q)) => {
            let filters = AuditFilters {
                kind: q.kind.clone().unwrap_or_default().trim().to_owned(),
                actor: q.actor.clone().unwrap_or_default().trim().to_owned(),
            };
            match audit_filter(&state, &authed, &q).await {
                Ok(f) => Ok((filters, f)),
                Err(e) => Err((filters, e)),
            }
        }
        Err(e) => Err((AuditFilters::default(), e)),
    };
    let (filters, events, refusal) = match result {
        Ok((filters, f)) => (filters, state.store.events(&f).await?, None),
        Err((filters, e)) => {
            let (status, fe) = field_refusal(e)?;
            (filters, Vec::new(), Some((status, fe)))
        }
    };
    let older = (events.len() > AUDIT_PAGE).then(|| events[AUDIT_PAGE - 1].id.0);
    let rows: Vec<AuditRow> = events
        .iter()
        .take(AUDIT_PAGE)
        .map(|e| AuditRow {
            id: e.id.0,
            at_us: e.at_us,
            actor_name: e.actor_name.clone(),
            kind: e.kind.as_str().to_owned(),
            subject: e.subject.clone(),
            payload: e.payload.to_string(),
        })
        .collect();
    let kinds: Vec<KindChoice> = EventKind::ALL
        .iter()
        .map(|k| KindChoice { value: k.as_str(), label_key: format!("event-{}", k.as_str().replace(['.', '_'], "-")) })
        .collect();
    let page = page_for(&state, lang, &authed, "/admin/events", refusal.as_ref().map(|r| &r.1));
    let ctx = page.with(minijinja::context! {
        events => rows,
        kinds => kinds,
        filters => &filters,
        older_href => older.map(|id| filters.href(Some(id))),
        newest_href => filters.href(None),
        paged => paged,
        refused => refusal.is_some(),
    });
    let res = state.templates.render("admin_events.html", ctx)?.into_response();
    Ok(match refusal {
        Some((status, _)) => with_status_of(res, status),
        None => res,
    })
}

// ----------------------------------------------------------------- settings

/// The password-change form. Neither password is ever sent back.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    current_password: String,
    new_password: String,
    /// The new password typed twice, when the form asks for it (the page
    /// does; a client that sends only the two above is not refused for it).
    new_password_again: Option<String>,
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordForm(<redacted>)")
    }
}

async fn render_settings(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    refusal: Option<&FieldError>,
) -> AppResult<Response> {
    let unit = state.store.org_unit(authed.principal.org_unit).await?;
    let ctx = page_for(state, lang, authed, "/settings", refusal).with(minijinja::context! {
        unit => OrgUnitView::from(&unit),
        role_label => role_label(state, lang, authed.principal.role.as_str()),
    });
    Ok(state.templates.render("settings.html", ctx)?.into_response())
}

/// One's own account, the language, and the password change.
pub async fn settings_show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    render_settings(&state, lang, &authed, None).await
}

/// Changes one's password. Every session of the account ends, this one
/// included, so the answer is the sign-in page.
pub async fn settings_password(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let result = match &form.new_password_again {
        Some(again) if *again != form.new_password => {
            Err(FieldError::new("new_password_again", "passwords_differ").into())
        }
        _ => change_own_password(&state, &authed, &form.current_password, &form.new_password).await,
    };
    match result {
        Ok(()) => Ok(see_other("/login")),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            Ok(with_status_of(render_settings(&state, lang, &authed, Some(&fe)).await?, status))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_links_keep_the_filters() {
        let f = AuditFilters { kind: "user.created".into(), actor: "李 a&b".into() };
        assert_eq!(f.href(Some(42)), "/admin/events?kind=user.created&actor=%E6%9D%8E+a%26b&before=42");
        assert_eq!(AuditFilters::default().href(None), "/admin/events");
    }

    #[test]
    fn a_select_id_that_is_not_a_number_names_its_field() {
        assert_eq!(id_field("parent_id", " 7 "), Ok(7));
        assert_eq!(id_field("parent_id", "").unwrap_err().code, "required");
        assert_eq!(id_field("parent_id", "x").unwrap_err(), FieldError::new("parent_id", "invalid"));
    }

    #[test]
    fn passwords_never_reach_a_log() {
        let form =
            PasswordForm { current_password: "secret-1".into(), new_password: "secret-2".into(), ..Default::default() };
        assert!(!format!("{form:?}").contains("secret"));
        let form = UserForm { password: "secret-3".into(), ..Default::default() };
        assert!(!format!("{form:?}").contains("secret"));
    }
}
