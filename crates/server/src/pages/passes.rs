//! Freight-pass pages: `/passes` (the list, the issue form for approvers, the
//! request form for enterprise contacts, requests to decide, passes used per
//! post and day), `/passes/{id}` (the printable pass: the plate in large
//! characters, the number, the QR code as inline SVG), and `/passes/verify`
//! (the officer's phone page; `pass-verify.js` checks passes there, offline
//! too).
//!
//! Forms post here and go through the same functions as the API
//! (`crate::api::passes`); a refusal renders the page again with the message
//! beside its field and what was typed kept.
//!
//! The verification form is the exception: it asks with a GET
//! (`/passes/verify?token=…&plate=…`), as checking stores nothing. The script
//! takes the form over where it runs; without it (an old phone, scripts
//! off), the browser sends the form as it is and the server renders the
//! verdict in the page. A QR code holding such a link opens the verdict from
//! any camera app too.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, Response};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::{Deserialize, Serialize};
use shouwang_domain::pass::PassNumber;
use shouwang_domain::policy::{Action, Right};
use shouwang_domain::screening::CargoCategory;
use shouwang_domain::{FieldError, Principal};

use super::{Page, field_refusal, see_other, with_status};
use crate::api::checkpoints::my_post_of;
use crate::api::json::ApiQuery;
use crate::api::passes::{
    DecisionInput, PassInput, PassRequestView, PassView, UsageQuery, VerifyInput, decide_request, issue_pass,
    list_passes, pass_for, request_pass, revoke_pass, signing_key, usage_within, verify_pass,
};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

const HOUR_US: i64 = 3_600_000_000;

/// The issue or request form as typed.
#[derive(Debug, Default, Serialize)]
struct PassForm {
    id: String,
    enterprise: String,
    plates: [String; 3],
    driver_name: String,
    driver_phone: String,
    origin: String,
    destination: String,
    posts: Vec<i64>,
    cargo: String,
    valid_from: String,
    valid_until: String,
    note: String,
}

/// `YYYY-MM-DDTHH:MM` (what `<input type="datetime-local">` sends) in the
/// zone `offset_hours` from UTC, as UTC µs.
fn parse_local(field: &str, raw: &str, offset_hours: i32) -> Result<i64, FieldError> {
    let bad = || FieldError::new(field, "invalid_date");
    let raw = raw.trim().replace(' ', "T");
    let (date, time) = raw.split_once('T').unwrap_or((raw.as_str(), "00:00"));
    let d: Vec<i64> = date.split('-').map(|p| p.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let t: Vec<i64> = time.split(':').take(2).map(|p| p.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let ([y, m, day], [hh, mm]) = (d.as_slice(), t.as_slice()) else { return Err(bad()) };
    let valid = (1..=12).contains(m)
        && (1..=shouwang_domain::calendar::days_in_month(*y, *m)).contains(day)
        && (0..24).contains(hh)
        && (0..60).contains(mm);
    if !valid {
        return Err(bad());
    }
    let days = shouwang_domain::calendar::days_from_civil(*y, *m, *day);
    Ok(((days * 24 + hh) * 60 + mm) * 60_000_000 - i64::from(offset_hours) * HOUR_US)
}

/// `YYYY-MM-DDTHH:MM` in the display zone, for a `datetime-local` value.
fn local_value(us: i64, offset_hours: i32) -> String {
    let s = super::format_time(us, i64::from(offset_hours));
    format!("{}T{}", &s[..10], &s[11..16])
}

impl PassForm {
    /// The form from posted fields (`posts` repeats); with the CSRF token.
    fn from_fields(fields: Vec<(String, String)>) -> (Self, String) {
        let mut form = Self::default();
        let mut csrf = String::new();
        for (key, value) in fields {
            match key.as_str() {
                "_csrf" => csrf = value,
                "id" => form.id = value,
                "enterprise" => form.enterprise = value,
                "plate1" => form.plates[0] = value,
                "plate2" => form.plates[1] = value,
                "plate3" => form.plates[2] = value,
                "driver_name" => form.driver_name = value,
                "driver_phone" => form.driver_phone = value,
                "origin" => form.origin = value,
                "destination" => form.destination = value,
                "posts" => form.posts.extend(value.trim().parse::<i64>().ok()),
                "cargo" => form.cargo = value,
                "valid_from" => form.valid_from = value,
                "valid_until" => form.valid_until = value,
                "note" => form.note = value,
                _ => {}
            }
        }
        (form, csrf)
    }

    /// The API's input, or the first field that is not a time.
    fn input(&self, offset_hours: i32) -> Result<PassInput, FieldError> {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let time = |field: &str, raw: &str| match raw.trim() {
            "" => Ok(None),
            t => parse_local(field, t, offset_hours).map(Some),
        };
        Ok(PassInput {
            id: text(&self.id),
            enterprise: text(&self.enterprise),
            plates: self.plates.iter().filter(|p| !p.trim().is_empty()).cloned().collect(),
            driver_name: text(&self.driver_name),
            driver_phone: text(&self.driver_phone),
            origin: text(&self.origin),
            destination: text(&self.destination),
            posts: self.posts.clone(),
            cargo: text(&self.cargo),
            valid_from_us: time("valid_from_us", &self.valid_from)?,
            valid_until_us: time("valid_until_us", &self.valid_until)?,
            note: text(&self.note),
        })
    }

    /// A blank form: production materials, valid from now for three days.
    fn blank(offset_hours: i32) -> Self {
        let now = shouwang_store::now_us();
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            cargo: CargoCategory::ProductionMaterials.as_str().to_owned(),
            valid_from: local_value(now, offset_hours),
            valid_until: local_value(now + 72 * HOUR_US, offset_hours),
            ..Self::default()
        }
    }
}

/// A usage row with the post's name.
#[derive(Debug, Serialize)]
struct UsageRow {
    day_us: i64,
    post: String,
    screenings: i64,
    passes: i64,
}

/// What `/passes` shows besides the forms.
async fn render_list(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    form: Option<(&'static str, PassForm)>,
    error: Option<&FieldError>,
    done: bool,
) -> AppResult<Html<String>> {
    authed.may_here(Action::ReadPasses)?;
    let p: &Principal = &authed.principal;
    let offset = state.config.display_utc_offset_hours;
    let can_issue = p.rights.has(Right::Approve);
    let can_request = !can_issue && p.rights.has(Right::Write);
    let passes = list_passes(state, authed, 200).await?;
    let requests: Vec<PassRequestView> = state
        .store
        .pass_requests_for(&p.scope, p.user_id, 200)
        .await?
        .iter()
        .map(|r| PassRequestView::of(r, authed))
        .collect();
    let posts = state.store.checkpoints_within(&p.scope).await?;
    let names: HashMap<i64, String> = posts.iter().map(|c| (c.id.0, format!("{} {}", c.code, c.name))).collect();
    let usage: Vec<UsageRow> = usage_within(state, &p.scope, &UsageQuery::default())
        .await?
        .into_iter()
        .map(|u| UsageRow {
            day_us: u.day_us,
            post: names.get(&u.checkpoint_id.0).cloned().unwrap_or_else(|| u.checkpoint_id.0.to_string()),
            screenings: u.screenings,
            passes: u.passes,
        })
        .collect();
    let (failed, form) = match form {
        Some((which, f)) => (which, f),
        None => ("", PassForm::blank(offset)),
    };
    let mut page = Page::new(state, lang, Some(authed), "/passes");
    if let Some(e) = error {
        page.error(&state.i18n, lang, e);
    }
    let post_choices: Vec<(i64, String)> = posts.iter().map(|c| (c.id.0, format!("{} {}", c.code, c.name))).collect();
    let ctx = page.with(minijinja::context! {
        passes, requests, usage, can_issue, can_request, failed, form, done,
        posts => post_choices,
        cargo_choices => CargoCategory::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
    });
    state.templates.render("passes.html", ctx)
}

/// The list, with the forms the caller may use.
pub async fn list_show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Html<String>> {
    render_list(&state, lang, &authed, None, None, false).await
}

async fn refused(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    which: &'static str,
    form: PassForm,
    e: AppError,
) -> AppResult<Response> {
    let (status, fe) = field_refusal(e)?;
    let html = render_list(state, lang, authed, Some((which, form)), Some(&fe), false).await?;
    Ok(with_status(status, html))
}

/// Issues a pass; on success, its printable page.
pub async fn issue_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (form, csrf) = PassForm::from_fields(fields);
    authed.check_csrf(&csrf)?;
    authed.may_here(Action::IssuePass)?;
    let result = async {
        let input = form.input(state.config.display_utc_offset_hours)?;
        issue_pass(&state, &authed, &input).await
    }
    .await;
    match result {
        Ok((pass, _)) => Ok(see_other(&format!("/passes/{}", pass.id))),
        Err(e) => refused(&state, lang, &authed, "issue", form, e).await,
    }
}

/// An enterprise contact asks for a pass.
pub async fn request_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (form, csrf) = PassForm::from_fields(fields);
    authed.check_csrf(&csrf)?;
    authed.may_here(Action::RequestPass)?;
    let result = async {
        let input = form.input(state.config.display_utc_offset_hours)?;
        request_pass(&state, &authed, &input).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/passes?requested=1")),
        Err(e) => refused(&state, lang, &authed, "request", form, e).await,
    }
}

/// A decision as a row's form posts it.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    decision: String,
    #[serde(default)]
    note: String,
}

/// Approves or refuses a request.
pub async fn decide_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    authed.may_here(Action::IssuePass)?;
    let input = DecisionInput { approve: form.decision == "approve", note: Some(form.note.clone()) };
    match decide_request(&state, &authed, &id, &input).await {
        Ok(_) => Ok(see_other("/passes#requests")),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            let fe = FieldError { field: format!("request:{id}"), ..fe };
            let html = render_list(&state, lang, &authed, None, Some(&fe), false).await?;
            Ok(with_status(status, html))
        }
    }
}

/// The QR code of `text` as inline SVG, one unit a module with the quiet
/// zone; the page scales it.
pub fn qr_svg(text: &str) -> AppResult<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("the token does not fit a QR code: {e}")))?;
    let svg = code.render::<svg::Color>().module_dimensions(1, 1).quiet_zone(true).build();
    // Drop the XML declaration: the SVG goes inside HTML.
    Ok(svg.find("<svg").map_or(svg.clone(), |at| svg[at..].to_owned()))
}

/// The printable pass.
pub async fn detail_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Html<String>> {
    render_detail(&state, lang, &authed, &id, None).await
}

async fn render_detail(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    id: &str,
    error: Option<&FieldError>,
) -> AppResult<Html<String>> {
    let pass = pass_for(state, authed, id).await?;
    let unmasked =
        authed.principal.rights.has(Right::SeePersonal) || pass.requested_by == Some(authed.principal.user_id);
    let view = PassView::of(&pass, unmasked, shouwang_store::now_us())?;
    let qr = qr_svg(&view.token)?;
    let can_revoke = authed.may(Action::IssuePass, &pass.scope).is_ok() && view.status == "issued";
    let post_names: Vec<String> = {
        let mut names = Vec::new();
        for p in &view.posts {
            match state.store.checkpoint(shouwang_domain::CheckpointId(*p)).await {
                Ok(c) => names.push(format!("{} {}", c.code, c.name)),
                Err(_) => names.push(p.to_string()),
            }
        }
        names
    };
    let mut page = Page::new(state, lang, Some(authed), "/passes");
    if let Some(e) = error {
        page.error(&state.i18n, lang, e);
    }
    let ctx = page.with(minijinja::context! { pass => view, qr, can_revoke, post_names });
    state.templates.render("pass.html", ctx)
}

/// A revocation as the pass page's form posts it.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// Revokes a pass from its page.
pub async fn revoke_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    match revoke_pass(&state, &authed, &id, Some(&form.reason)).await {
        Ok(_) => Ok(see_other(&format!("/passes/{id}"))),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            Ok(with_status(status, render_detail(&state, lang, &authed, &id, Some(&fe)).await?))
        }
    }
}

/// What the verification form sends: the token scanned or pasted, or the
/// number typed, in one field; the plate seen. Both absent on a plain visit;
/// present, if empty, when the form is sent.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct VerifyQuery {
    token: Option<String>,
    plate: Option<String>,
}

impl VerifyQuery {
    /// Whether the form was sent.
    fn is_sent(&self) -> bool {
        self.token.is_some() || self.plate.is_some()
    }

    /// The API's input at `post`: the field read as a number when it is one
    /// (as the script reads it), else as a token.
    fn input(&self, post: Option<i64>) -> VerifyInput {
        let text = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let token = text(&self.token);
        let is_number = token.as_deref().is_some_and(|t| PassNumber::parse("number", t).is_ok());
        VerifyInput {
            number: token.clone().filter(|_| is_number),
            token: token.filter(|_| !is_number),
            plate: text(&self.plate),
            checkpoint_id: post,
        }
    }
}

/// The officer's verification page; with `?token=`, the server's verdict on
/// it (the form sent without the script), or the error beside its field.
pub async fn verify_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    ApiQuery(typed): ApiQuery<VerifyQuery>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadPasses)?;
    let post = match my_post_of(&state, &authed).await {
        Ok(mine) => mine.checkpoint.map(|c| c.checkpoint),
        Err(AppError::Forbidden(_)) => None,
        Err(e) => return Err(e),
    };
    let mut page = Page::new(&state, lang, Some(&authed), "/passes/verify");
    let (status, result) = if !typed.is_sent() {
        (StatusCode::OK, None)
    } else {
        match verify_pass(&state, &authed, lang, &typed.input(post.as_ref().map(|p| p.id))).await {
            Ok(view) => (StatusCode::OK, Some(view)),
            Err(e) => {
                let (status, fe) = field_refusal(e)?;
                // One field takes the token or a typed number.
                let fe = if fe.field == "number" { FieldError { field: "token".into(), ..fe } } else { fe };
                page.error(&state.i18n, lang, &fe);
                (status, None)
            }
        }
    };
    let text = |key: &str| state.i18n.text(lang, key, &[]);
    let mut texts = serde_json::Map::new();
    for v in shouwang_domain::pass::Verdict::ALL {
        texts.insert(v.as_str().to_owned(), text(&format!("pass-verdict-{}", v.as_str().replace('_', "-"))).into());
    }
    for key in [
        "pass-verify-online",
        "pass-verify-offline",
        "pass-verify-synced",
        "pass-verify-never-synced",
        "pass-verify-no-crypto",
        "pass-verify-no-camera",
        "pass-verify-not-cached",
        "pass-verify-stop",
        "pass-verify-scan",
    ] {
        // The synced line has placeholders the page fills in.
        let value = if key == "pass-verify-synced" {
            state.i18n.text(
                lang,
                key,
                &[("at", "{at}".into()), ("count", "{count}".into()), ("revoked", "{revoked}".into())],
            )
        } else {
            text(key)
        };
        texts.insert(key.trim_start_matches("pass-verify-").to_owned(), value.into());
    }
    let public_key = signing_key(&state)?.public_key().to_base64url();
    let ctx = page.with(minijinja::context! {
        outbox_texts => super::outbox_texts(&state, lang),
        post, public_key, typed, result,
        texts => serde_json::Value::Object(texts).to_string(),
        user_key => authed.principal.user_id.0,
    });
    Ok(with_status(status, state.templates.render("pass_verify.html", ctx)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_in_the_display_zone() {
        // 2020-02-10 08:30 in Lushi is 00:30 UTC.
        assert_eq!(parse_local("t", "2020-02-10T08:30", 8).unwrap(), 1_581_294_600_000_000);
        assert_eq!(local_value(1_581_294_600_000_000, 8), "2020-02-10T08:30");
        assert_eq!(parse_local("t", "2020-02-30T08:30", 8).unwrap_err().code, "invalid_date");
        assert_eq!(parse_local("t", "soon", 8).unwrap_err().code, "invalid_date");
    }

    #[test]
    fn a_token_fits_a_qr_code_as_inline_svg() {
        let svg = qr_svg(&"A".repeat(340)).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
