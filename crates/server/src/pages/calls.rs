//! The call history page (`/calls`): what `GET /api/v1/calls` returns, as a
//! table — when, who called, what kind, each party with what became of
//! their ring, how long, how it ended; and, where calls are recorded, each
//! party's recorded tracks to download (for those who may see personal
//! data there).

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
    // Only calls with a folder of recordings are looked at more closely.
    let mut recordings = BTreeMap::new();
    for call in &calls {
        if !state.config.recordings_dir().join(&call.id).is_dir() {
            continue;
        }
        if let Ok((_, files)) = crate::api::recordings::of_call(&state, &authed, &call.id).await
            && !files.is_empty()
        {
            recordings.insert(call.id.clone(), files);
        }
    }
    let ctx = Page::new(&state, lang, Some(&authed), "/calls").with(minijinja::context! {
        show_recordings => state.config.media.record || !recordings.is_empty(),
        recordings => recordings,
        calls => calls,
        posts => posts,
    });
    Ok(state.templates.render("calls.html", ctx)?.into_response())
}
