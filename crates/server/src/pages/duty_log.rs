//! The duty-log page: the newest entries within scope, and a form to add one.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::policy::{Action, Right};

use super::{Page, refused_page, see_other};
use crate::api::duty_log::{NewDutyLogEntry, add};
use crate::api::views::{DutyLogView, OrgUnitView};
use crate::auth::Authed;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::state::AppState;

/// What the form holds (kept when it is shown again after a refusal).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct DutyLogForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    /// A UUIDv7 the page made when it was rendered: posting twice (a double
    /// tap, a resend after a timeout) stores one entry.
    id: String,
    org_unit_id: Option<i64>,
    body: String,
}

async fn render(state: &AppState, authed: &Authed, page: Page, form: &DutyLogForm) -> AppResult<Response> {
    let entries = state.store.duty_log(&authed.principal.scope, 100).await?;
    let units = state.store.org_units_within(&authed.principal.scope).await?;
    let ctx = page.with(minijinja::context! {
        entries => entries.iter().map(DutyLogView::from).collect::<Vec<_>>(),
        units => units.iter().map(OrgUnitView::from).collect::<Vec<_>>(),
        can_write => authed.principal.rights.has(Right::Write),
        form => form,
        new_id => uuid::Uuid::now_v7().to_string(),
    });
    Ok(state.templates.render("duty_log.html", ctx)?.into_response())
}

/// The page.
pub async fn show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::ReadDutyLog)?;
    let page = Page::new(&state, lang, Some(&authed), "/duty-log");
    let form = DutyLogForm { org_unit_id: Some(authed.principal.org_unit.0), ..Default::default() };
    render(&state, &authed, page, &form).await
}

/// Adds an entry from the form.
pub async fn submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<DutyLogForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let input = NewDutyLogEntry {
        id: form.id.clone(),
        org_unit_id: form.org_unit_id,
        body: form.body.clone(),
        occurred_us: None,
    };
    let result = match input.parse(shouwang_store::now_us()) {
        Ok(valid) => add(&state, &authed, valid).await.map(|_| ()),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => Ok(see_other("/duty-log")),
        Err(e) => {
            refused_page(&state, lang, &authed, "/duty-log", e, |page| render(&state, &authed, page, &form)).await
        }
    }
}
