//! One incident's page (`/incidents/{id}`): what happened, where, its
//! timeline, and for HQ the form that assigns it, moves it on and notes what
//! was done; and the officer's "report an incident" form on My post. Both
//! forms work without JavaScript.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::policy::Action;
use shouwang_domain::screening::IncidentKind;

use super::{Page, refused_page, see_other};
use crate::api::incidents::{self as api, NewIncidentIn, NoteView, StepIn};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// The kinds an officer may report (those screenings do not raise).
pub fn reportable() -> Vec<&'static str> {
    IncidentKind::ALL.iter().filter(|k| !k.from_screening()).map(|k| k.as_str()).collect()
}

async fn render(state: &AppState, authed: &Authed, page: Page, id: &str) -> AppResult<Response> {
    let (incident, notes) = api::visible(state, authed, id).await?;
    let post = state.store.checkpoint(incident.checkpoint_id).await?;
    let mut people: Vec<(i64, String)> = state
        .store
        .users_within(&state.store.org_unit(post.org_unit_id).await?.path)
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| (u.id.0, u.display_name))
        .collect();
    if !people.iter().any(|(id, _)| *id == authed.principal.user_id.0) {
        people.insert(0, (authed.principal.user_id.0, authed.principal.display_name.clone()));
    }
    let name_of = |id: Option<i64>| id.and_then(|id| people.iter().find(|(p, _)| *p == id).map(|(_, n)| n.clone()));
    let assignee = name_of(incident.assignee.map(|u| u.0));
    let reporter = match incident.reported_by {
        Some(u) => Some(state.store.user(u).await?.display_name),
        None => None,
    };
    let notes: Vec<NoteView> = notes.iter().map(NoteView::from).collect();
    let ctx = page.with(minijinja::context! {
        incident => incident,
        post => post,
        notes => notes,
        people => people,
        assignee => assignee,
        reporter => reporter,
        can_handle => authed.may(Action::HandleAlert, &post.scope).is_ok(),
    });
    Ok(state.templates.render("incident.html", ctx)?.into_response())
}

/// The incident's page.
pub async fn detail_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let page = Page::new(&state, lang, Some(&authed), "/screenings");
    render(&state, &authed, page, &id).await
}

/// HQ's handling form.
#[derive(Debug, Deserialize, Serialize)]
pub struct StepForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    assignee_id: String,
    #[serde(default)]
    note: String,
}

/// Applies a step of handling from the form.
pub async fn step_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<StepForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let result = async {
        let assignee_id = match form.assignee_id.trim() {
            "" => None,
            raw => Some(raw.parse().map_err(|_| shouwang_domain::FieldError::new("assignee_id", "invalid"))?),
        };
        let req = StepIn { status: Some(form.status.clone()), assignee_id, note: form.note.clone() };
        api::step(&state, &authed, &id, &req).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/incidents/{id}"))),
        Err(e) => {
            refused_page(&state, lang, &authed, "/screenings", e, |page| render(&state, &authed, page, &id)).await
        }
    }
}

/// The officer's report form on My post.
#[derive(Debug, Deserialize)]
pub struct ReportForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    checkpoint_id: String,
    #[serde(default)]
    summary: String,
}

/// Reports an incident from My post.
pub async fn report_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<ReportForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let result = async {
        let checkpoint_id = form
            .checkpoint_id
            .trim()
            .parse()
            .map_err(|_| AppError::Field(shouwang_domain::FieldError::new("checkpoint_id", "invalid")))?;
        let req = NewIncidentIn {
            id: form.id.clone(),
            kind: form.kind.clone(),
            severity: Some(form.severity.clone()).filter(|s| !s.is_empty()),
            checkpoint_id,
            summary: form.summary.clone(),
        };
        api::report(&state, &authed, &req).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/my-post?done=incident#report")),
        Err(e) => super::checkpoints::my_post_refused_with(&state, lang, &authed, "incident", e).await,
    }
}
