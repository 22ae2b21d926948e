//! Sign-in, sign-out, the language switch, the home page, and first-start
//! setup.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shouwang_domain::duty::Staffing;
use shouwang_domain::policy::Action;
use shouwang_domain::screening::IncidentKind;
use shouwang_domain::{BoundedText, EventId, FieldError, NewPassword, OrgUnitCode, OrgUnitKind, RoleName, Username};
use shouwang_store::EventFilter;
use shouwang_store::writer::{Actor, Command};

use super::{Page, field_refusal, safe_next, see_other, with_status};
use crate::api::views::EventView;
use crate::auth::{Authed, ClientAddr, MaybeAuthed, cookies, login, password, random_token, token_hash};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// The settings key holding the hash of the one-time setup token.
pub const SETUP_TOKEN_KEY: &str = "setup_token_hash";

/// `?next=` after signing in.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in page. It sets the sign-in CSRF cookie its form echoes.
pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    MaybeAuthed(authed): MaybeAuthed,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    if authed.is_some() {
        return Ok(see_other(&safe_next(q.next.as_deref())));
    }
    let csrf = random_token();
    let page = Page::new(&state, lang, None, "/login");
    let html = render_login(&state, page, &csrf, "", q.next.as_deref())?;
    let cookie = cookies::set(cookies::LOGIN_CSRF, &csrf, Some(3600), state.https);
    Ok(([(header::SET_COOKIE, cookie)], html).into_response())
}

fn render_login(
    state: &AppState,
    page: Page,
    csrf: &str,
    username: &str,
    next: Option<&str>,
) -> AppResult<axum::response::Html<String>> {
    let demo_logins: Vec<&str> = if state.demo { crate::DEMO_LOGINS.to_vec() } else { Vec::new() };
    let ctx = page.with(minijinja::context! {
        login_csrf => csrf, username => username, next => safe_next(next), demo_logins => demo_logins,
    });
    state.templates.render("login.html", ctx)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(rename = "_csrf")]
    csrf: String,
    next: Option<String>,
}

/// Signs in from the form; on failure shows the form again with the reason
/// beside the field.
pub async fn submit(
    State(state): State<AppState>,
    lang: Lang,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let expected = cookies::get(&headers, cookies::LOGIN_CSRF).unwrap_or("");
    let result = if expected.is_empty() || expected != form.csrf {
        Err(AppError::Csrf)
    } else {
        login::sign_in(&state, &form.username, &form.password, client).await
    };
    match result {
        Ok(signed) => {
            let mut res = see_other(&safe_next(form.next.as_deref()));
            for c in signed.cookies(&state) {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            Ok(res)
        }
        Err(e) => {
            let status = e.status();
            let info = e.info();
            let mut page = Page::new(&state, lang, None, "/login");
            let field = info.field.clone().unwrap_or_else(|| "password".into());
            let message = match &info.field_error {
                Some(fe) => state.i18n.field_error(lang, fe),
                None if matches!(e, AppError::Internal(_)) => return Err(e),
                None => state.i18n.text(lang, &info.message_key, &info.args),
            };
            page.errors.insert(field, message);
            let csrf = if expected.is_empty() { random_token() } else { expected.to_owned() };
            let html = render_login(&state, page, &csrf, &form.username, form.next.as_deref())?;
            let cookie = cookies::set(cookies::LOGIN_CSRF, &csrf, Some(3600), state.https);
            Ok((status, [(header::SET_COOKIE, cookie)], html).into_response())
        }
    }
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// Signs out.
pub async fn logout(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let clear = login::sign_out(&state, &headers).await?;
    let mut res = see_other("/login");
    res.headers_mut().append(clear.0, clear.1);
    Ok(res)
}

/// The language switch.
#[derive(Debug, Deserialize)]
pub struct LangForm {
    lang: String,
    back: Option<String>,
}

/// Switches the language: a cookie for everyone, and the account's saved
/// choice for a signed-in user. A language choice is not worth a CSRF token:
/// the worst a forged one does is change the language.
pub async fn switch_lang(
    State(state): State<AppState>,
    MaybeAuthed(authed): MaybeAuthed,
    Form(form): Form<LangForm>,
) -> AppResult<Response> {
    let lang = Lang::ALL
        .into_iter()
        .find(|l| l.tag() == form.lang)
        .ok_or_else(|| AppError::Field(FieldError::new("lang", "invalid_choice").arg("choices", "zh-CN, en")))?;
    if let Some(a) = &authed {
        let command = Command::SetLocale { id: a.principal.user_id, locale: Some(lang.tag().to_owned()) };
        state.writer.submit(a.actor(), command).await?;
    }
    let mut res = see_other(&safe_next(form.back.as_deref()));
    res.headers_mut()
        .append(header::SET_COOKIE, cookies::set(cookies::LANG, lang.tag(), Some(365 * 86400), state.https));
    Ok(res)
}

/// The home page: who you are, what you may do, and the newest events in
/// your scope, live.
pub async fn home(State(state): State<AppState>, lang: Lang, MaybeAuthed(authed): MaybeAuthed) -> AppResult<Response> {
    let Some(authed) = authed else {
        if state.store.user_count().await? == 0 {
            return Ok(see_other("/setup"));
        }
        return Ok(see_other("/login"));
    };
    let unit = state.store.org_unit(authed.principal.org_unit).await?;
    let recent = if authed.may_here(Action::ReadEvents).is_ok() {
        let mut f = EventFilter::after(authed.principal.scope.clone(), EventId(0), 20);
        f.after = None;
        f.newest_first = true;
        state.store.events(&f).await?
    } else {
        Vec::new()
    };
    if authed.principal.rights.has(shouwang_domain::Right::Command) {
        let events = recent.iter().rev().map(EventView::from).collect();
        return super::board::render(&state, lang, &authed, events).await;
    }
    let last_event_id = recent.first().map_or(0, |e| e.id.0);
    // The feed is drawn by live.js, the page's first events as the live ones
    // after them, so that both read the same.
    let events: Vec<EventView> = recent.iter().rev().map(EventView::from).collect();
    let ctx = Page::new(&state, lang, Some(&authed), "/").with(minijinja::context! {
        unit => crate::api::views::OrgUnitView::from(&unit),
        events => serde_json::to_string(&events).map_err(|e| AppError::Internal(e.into()))?,
        has_events => !events.is_empty(),
        feed_words => feed_words(&state, lang).await?,
        last_event_id => last_event_id,
    });
    Ok(state.templates.render("home.html", ctx)?.into_response())
}

/// The words live.js needs to tell what an event says, as JSON: staffing
/// states, supply items and their units, in the page's language.
pub(crate) async fn feed_words(state: &AppState, lang: Lang) -> AppResult<String> {
    let staffing: serde_json::Map<String, serde_json::Value> = Staffing::ALL
        .iter()
        .map(|s| {
            let key = format!("staffing-{}", s.as_str().replace('_', "-"));
            (s.as_str().to_owned(), state.i18n.text(lang, &key, &[]).into())
        })
        .collect();
    let supplies = super::checkpoints::supply_labels(state, lang, []).await?;
    let incidents: serde_json::Map<String, serde_json::Value> = IncidentKind::ALL
        .iter()
        .map(|k| {
            let key = format!("scr-incident-{}", k.as_str().replace('_', "-"));
            (k.as_str().to_owned(), state.i18n.text(lang, &key, &[]).into())
        })
        .collect();
    let words = serde_json::json!({
        "staffing": staffing, "items": supplies.items, "units": supplies.units, "incidents": incidents,
        "screenings": state.i18n.text(lang, "feed-screenings", &[]),
    });
    Ok(words.to_string())
}

/// `?token=` of the setup link.
#[derive(Debug, Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

/// First start: the page that creates the deployment's root unit and first
/// administrator, reached through the one-time link printed at start-up.
pub async fn setup_show(State(state): State<AppState>, lang: Lang, Query(q): Query<SetupQuery>) -> AppResult<Response> {
    if state.store.user_count().await? > 0 {
        return Ok(see_other("/login"));
    }
    let page = Page::new(&state, lang, None, "/setup");
    let ctx = page.with(minijinja::context! { token => q.token.unwrap_or_default(), form => SetupForm::default() });
    Ok(state.templates.render("setup.html", ctx)?.into_response())
}

/// The setup form.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct SetupForm {
    token: String,
    region_code: String,
    region_name: String,
    region_kind: String,
    username: String,
    display_name: String,
    password: String,
}

/// Creates the root unit and the first administrator, then signs them in.
pub async fn setup_submit(
    State(state): State<AppState>,
    lang: Lang,
    ClientAddr(client): ClientAddr,
    Form(form): Form<SetupForm>,
) -> AppResult<Response> {
    if state.store.user_count().await? > 0 {
        return Ok(see_other("/login"));
    }
    let page = Page::new(&state, lang, None, "/setup");
    let result = setup(&state, &form).await;
    match result {
        Ok(()) => {
            let signed = login::sign_in(&state, &form.username, &form.password, client).await?;
            let mut res = see_other("/");
            for c in signed.cookies(&state) {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            Ok(res)
        }
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            let mut page = page;
            page.error(&state.i18n, lang, &fe);
            let shown = SetupForm { password: String::new(), ..form };
            let ctx = page.with(minijinja::context! { token => shown.token.clone(), form => shown });
            Ok(with_status(status, state.templates.render("setup.html", ctx)?))
        }
    }
}

async fn setup(state: &AppState, form: &SetupForm) -> AppResult<()> {
    let stored = state.store.setting(SETUP_TOKEN_KEY).await?;
    if stored.is_none_or(|h| h != token_hash(form.token.trim())) {
        return Err(FieldError::new("token", "setup_token_wrong").into());
    }
    let code = OrgUnitCode::parse("region_code", &form.region_code)?;
    let name = BoundedText::<64>::parse("region_name", &form.region_name)?;
    let kind = match form.region_kind.as_str() {
        "city" => OrgUnitKind::City,
        "county" => OrgUnitKind::County,
        _ => return Err(FieldError::new("region_kind", "invalid_choice").arg("choices", "city, county").into()),
    };
    let username = Username::parse("username", &form.username)?;
    let display_name = BoundedText::<32>::parse("display_name", &form.display_name)?;
    let pw = NewPassword::parse("password", &form.password, &username)?;
    let password_hash = password::hash(pw.expose().to_owned()).await?;
    crate::bootstrap::ensure_roles(state).await?;
    let root = state
        .writer
        .submit(Actor::system(), Command::CreateOrgUnit { parent: None, kind, code, name: name.into_string() })
        .await?
        .outcome
        .into_org_unit()?;
    let admin = RoleName::parse("role", "admin").expect("a valid literal");
    let command = Command::CreateUser {
        username,
        display_name: display_name.into_string(),
        password_hash,
        role: admin,
        org_unit: root.id,
        scope: None,
    };
    state.writer.submit(Actor::system(), command).await?;
    state.writer.submit(Actor::system(), Command::PutSetting { key: SETUP_TOKEN_KEY.into(), value: None }).await?;
    Ok(())
}
