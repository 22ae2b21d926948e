//! The call history page (`/calls`): what `GET /api/v1/calls` returns, as a
//! table — when, who called, what kind, each party with what became of
//! their ring, how long, how it ended.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::Page;
use crate::api::call_records::{CallsQuery, history};
use crate::auth::Authed;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::state::AppState;

/// The last hundred calls the viewer may see.
pub async fn show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    let calls = history(&state, &authed, &CallsQuery::default()).await?;
    let posts: BTreeMap<String, String> = state
        .store
        .checkpoints_within(&shouwang_domain::ScopePath::root())
        .await?
        .into_iter()
        .filter(|c| calls.iter().any(|call| call.parties.iter().any(|p| p.checkpoint_id == Some(c.id.0))))
        .map(|c| (c.id.0.to_string(), c.code))
        .collect();
    let ctx = Page::new(&state, lang, Some(&authed), "/calls").with(minijinja::context! {
        calls => calls,
        posts => posts,
    });
    Ok(state.templates.render("calls.html", ctx)?.into_response())
}
