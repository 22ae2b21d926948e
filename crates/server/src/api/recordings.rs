//! A recorded call's files, when the deployment records calls
//! (`media.record`): the list, and each file to download or play. A
//! recording is personal data: only those who may see personal data within
//! the call's scope get it, and the retention job deletes it after
//! `media.recording_retention_days`.
//!
//! The SFU writes one file per party and track under
//! `data_dir/recordings/<call>/`, named `user<id>-<peer>-<mid>.<ext>`:
//! Opus audio in Ogg (`.ogg`), VP8 or VP9 video in IVF (`.ivf`), H.264 as
//! Annex B (`.h264`). A party that dropped and came back has a file per
//! connection.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use axum::Json;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shouwang_domain::RecordId;
use shouwang_domain::policy::Action;
use shouwang_store::CallRecord;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use utoipa::ToSchema;

use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// One recorded track.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingView {
    /// The file's name: download it at `/api/v1/calls/{id}/recordings/{file}`.
    pub file: String,
    /// Whose track it is.
    pub user_id: Option<i64>,
    /// Their name, as the call knows it.
    pub name: Option<String>,
    /// `audio` or `video`.
    pub kind: String,
    /// `audio/ogg` (Opus), `video/x-ivf` (VP8, VP9) or `video/h264`.
    pub content_type: String,
    /// Whether it is complete: false while its party is still in the call
    /// (the name then ends in `.part`), or when the server stopped before
    /// completing it (playable up to where it stops).
    pub complete: bool,
    /// Its size.
    pub bytes: u64,
    /// When it was last written to (its end, once the party left).
    pub modified_us: i64,
}

/// The type and kind of a recording, by its extension (before `.part`, the
/// mark of a file still being written); `None`: not one.
fn type_of(file: &str) -> Option<(&'static str, &'static str)> {
    match Path::new(file.strip_suffix(".part").unwrap_or(file)).extension()?.to_str()? {
        "ogg" => Some(("audio/ogg", "audio")),
        "ivf" => Some(("video/x-ivf", "video")),
        "h264" => Some(("video/h264", "video")),
        _ => None,
    }
}

/// The account a recording's file name says it is of.
fn user_of(file: &str) -> Option<i64> {
    file.strip_prefix("user")?.split('-').next()?.parse().ok()
}

/// The call `raw`, if the caller may hear its recordings; 404 otherwise,
/// so that a call out of scope and none at all look alike.
async fn call_for(state: &AppState, authed: &Authed, raw: &str) -> AppResult<CallRecord> {
    let id = RecordId::parse("id", raw).map_err(|_| AppError::NotFound)?;
    let call = state.store.call(id).await?;
    authed.may(Action::ReadEvents, &call.scope).map_err(|_| AppError::NotFound)?;
    authed.may(Action::SeePersonal, &call.scope)?;
    Ok(call)
}

fn call_dir(state: &AppState, call: &CallRecord) -> PathBuf {
    state.config.recordings_dir().join(call.id.to_string())
}

/// The recordings of `call`, oldest first (none when calls are not recorded
/// or nobody published anything).
async fn recordings(state: &AppState, call: &CallRecord) -> AppResult<Vec<RecordingView>> {
    let mut entries = match tokio::fs::read_dir(call_dir(state, call)).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let mut out = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(|e| AppError::Internal(e.into()))? {
        let Ok(file) = entry.file_name().into_string() else { continue };
        let Some((content_type, kind)) = type_of(&file) else { continue };
        let Ok(meta) = entry.metadata().await else { continue };
        let modified_us =
            meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_micros() as i64);
        let user_id = user_of(&file);
        let name = user_id.and_then(|u| call.parties.iter().find(|p| p.user.0 == u)).map(|p| p.name.clone());
        out.push(RecordingView {
            file: file.clone(),
            user_id,
            name,
            kind: kind.into(),
            content_type: content_type.into(),
            complete: !file.ends_with(".part"),
            bytes: meta.len(),
            modified_us,
        });
    }
    out.sort_by(|a, b| (a.modified_us, &a.file).cmp(&(b.modified_us, &b.file)));
    Ok(out)
}

/// A call's recordings (for pages: the caller is checked here).
pub async fn of_call(state: &AppState, authed: &Authed, id: &str) -> AppResult<(CallRecord, Vec<RecordingView>)> {
    let call = call_for(state, authed, id).await?;
    let files = recordings(state, &call).await?;
    Ok((call, files))
}

/// A call's recordings: one file per party and track.
#[utoipa::path(get, path = "/api/v1/calls/{id}/recordings", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = [RecordingView]),
        (status = 403, description = "the caller may not see personal data there"),
        (status = 404, description = "no such call within the caller's scope")))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    UrlPath(id): UrlPath<String>,
) -> AppResult<Json<Vec<RecordingView>>> {
    Ok(Json(of_call(&state, &authed, &id).await?.1))
}

/// One recording, to download or play (byte ranges are served, so players
/// can seek).
#[utoipa::path(get, path = "/api/v1/calls/{id}/recordings/{file}", tag = "events",
    params(("id" = String, Path), ("file" = String, Path)),
    responses((status = 200, description = "the file"), (status = 206, description = "the range asked for"),
        (status = 404, description = "no such call or recording")))]
pub async fn download(
    State(state): State<AppState>,
    authed: Authed,
    UrlPath((id, file)): UrlPath<(String, String)>,
    request: Request,
) -> AppResult<Response> {
    let (call, files) = of_call(&state, &authed, &id).await?;
    // Only a name the folder holds: nothing else reaches the disk.
    let found = files.into_iter().find(|f| f.file == file).ok_or(AppError::NotFound)?;
    let path = call_dir(&state, &call).join(&found.file);
    let served = ServeFile::new_with_mime(&path, &found.content_type.parse().map_err(|_| AppError::NotFound)?)
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let mut res = served.into_response();
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", found.file)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// Deletes the recordings of calls whose files were last written more than
/// `days` days before `now`; returns how many calls'. A folder that cannot
/// be read or deleted is logged and left for the next pass; the others are
/// still purged.
pub fn purge_old(dir: &Path, days: u32, now: std::time::SystemTime) -> std::io::Result<usize> {
    let cutoff = now - std::time::Duration::from_secs(u64::from(days) * 86_400);
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut purged = 0;
    for entry in entries.flatten() {
        let call = entry.path();
        if !call.is_dir() {
            continue;
        }
        match last_written(&call)
            .and_then(|at| if at < cutoff { std::fs::remove_dir_all(&call).map(|()| true) } else { Ok(false) })
        {
            Ok(true) => purged += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(folder = %call.display(), error = %e, "cannot purge a call's recordings"),
        }
    }
    Ok(purged)
}

/// When a call's folder was last written to: its newest file, or the
/// folder itself (made, or a file added or renamed, a moment ago).
fn last_written(call: &Path) -> std::io::Result<std::time::SystemTime> {
    let folder = std::fs::metadata(call)?.modified()?;
    let newest = std::fs::read_dir(call)?.filter_map(|f| f.ok()?.metadata().ok()?.modified().ok()).max();
    Ok(newest.map_or(folder, |n| n.max(folder)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_say_whose_and_what_a_recording_is() {
        assert_eq!(user_of("user12-3-0.ogg"), Some(12));
        assert_eq!(user_of("peer-3-0.ogg"), None);
        assert_eq!(type_of("user12-3-1.ivf"), Some(("video/x-ivf", "video")));
        assert_eq!(type_of("user12-3-0.ogg"), Some(("audio/ogg", "audio")));
        assert_eq!(type_of("user12-3-0.ogg.part"), Some(("audio/ogg", "audio")));
        assert_eq!(type_of("notes.txt"), None);
        assert_eq!(type_of("notes.part"), None);
    }

    #[test]
    fn only_calls_recorded_before_the_retention_period_are_purged() {
        let nanos = std::time::SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_nanos();
        let dir = std::env::temp_dir().join(format!("shouwang-purge-{}-{nanos}", std::process::id()));
        for call in ["old", "new"] {
            std::fs::create_dir_all(dir.join(call)).expect("a scratch folder");
            std::fs::write(dir.join(call).join("user1-1-0.ogg"), b"OggS").expect("a scratch file");
        }
        let now = std::time::SystemTime::now();
        // Thirty days on, both are older than 29 days and neither than 31.
        let later = now + std::time::Duration::from_secs(30 * 86_400);
        assert_eq!(purge_old(&dir, 31, later).expect("a purge"), 0);
        let old = std::fs::File::options().write(true).open(dir.join("old/user1-1-0.ogg")).expect("the file");
        old.set_modified(now - std::time::Duration::from_secs(10 * 86_400)).expect("an older time");
        // The folder's own time counts too (a recording just begun there).
        assert_eq!(purge_old(&dir, 35, later).expect("a purge"), 0);
        let folder = std::fs::File::open(dir.join("old")).expect("the folder");
        folder.set_modified(now - std::time::Duration::from_secs(10 * 86_400)).expect("an older time");
        // Thirty days on, "old" was last written 40 days before.
        assert_eq!(purge_old(&dir, 35, later).expect("a purge"), 1);
        assert!(!dir.join("old").exists() && dir.join("new/user1-1-0.ogg").exists());
        assert_eq!(purge_old(&dir, 35, later).expect("a purge"), 0);
        std::fs::remove_dir_all(&dir).expect("the scratch folder is removed");
    }
}
