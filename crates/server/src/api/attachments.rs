//! Files that go with orders: uploaded first, then named by an order
//! (`attachment_id`) or an answer (`photo_id`). An upload is the raw bytes
//! with the client's UUIDv7 in the query, so a phone on a weak signal can
//! send it again without storing it twice. What a file is comes from its
//! first bytes; it is served back with that type, `nosniff`, and as a
//! download unless it is a picture or a PDF.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shouwang_domain::attachment::{self, AttachmentType};
use shouwang_domain::policy::Action;
use shouwang_domain::{FieldError, RecordId};
use shouwang_store::writer::Command;
use shouwang_store::{Attachment, NewAttachment};
use utoipa::{IntoParams, ToSchema};

use super::json::ApiQuery;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What an upload is.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// A UUIDv7 made by the client; sending the same file again returns it.
    pub id: String,
    /// The file's name as the user knows it.
    pub name: Option<String>,
}

/// A stored file.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    /// Id: name it as an order's `attachment_id` or an answer's `photo_id`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `image/jpeg`, `image/png`, `image/webp` or `application/pdf`, by its
    /// first bytes.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

impl From<&Attachment> for AttachmentView {
    fn from(a: &Attachment) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name.clone(),
            content_type: a.content_type.as_str().to_owned(),
            size: a.size,
            sha256: a.sha256.clone(),
        }
    }
}

/// A refusal of the file itself, with the status that says why: 413 too
/// large, 415 not a kind accepted, 422 empty.
fn file_refusal(e: FieldError) -> Response {
    let status = match e.code {
        "file_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "unsupported_file" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut res = AppError::Field(e).into_response();
    *res.status_mut() = status;
    res
}

/// Stores a file for `authed` after checking it; `(file, created)`.
pub async fn store(
    state: &AppState,
    authed: &Authed,
    id: RecordId,
    name: &str,
    bytes: Vec<u8>,
    field: &str,
) -> Result<(Attachment, bool), Response> {
    let max = state.config.attachment_max_bytes;
    let kind = attachment::check(field, &bytes, bytes.len(), max).map_err(file_refusal)?;
    let fallback = match kind {
        AttachmentType::Pdf => "file.pdf",
        _ => "photo",
    };
    let new = NewAttachment {
        id,
        name: attachment::clean_name(name, fallback),
        content_type: kind,
        scope: authed.principal.scope.clone(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        data: bytes,
    };
    let applied = state.writer.submit(authed.actor(), Command::StoreAttachment(new)).await.map_err(|e| {
        let e: AppError = e.into();
        e.into_response()
    })?;
    applied.outcome.into_attachment().map_err(|e| AppError::from(e).into_response())
}

/// Upload a file: the raw bytes as the body (a JPEG, PNG or WebP photo, or
/// a PDF; at most `attachment_max_bytes`, 5 MiB by default). 201 when
/// stored, 200 when this id holds these bytes already.
#[utoipa::path(post, path = "/api/v1/attachments", tag = "orders", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentView), (status = 200, body = AttachmentView, description = "sent before"),
              (status = 413, description = "larger than allowed (field `file`)"),
              (status = 415, description = "not a JPEG, PNG, WebP or PDF (field `file`)"),
              (status = 422, description = "empty, or the id is taken by other bytes")))]
pub async fn upload(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Body,
) -> Response {
    let result = async {
        if authed.may_here(Action::IssueOrder).is_err() {
            authed.may_here(Action::AnswerOrder)?;
        }
        Ok::<_, AppError>(RecordId::parse("id", &q.id)?)
    }
    .await;
    let id = match result {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let max = state.config.attachment_max_bytes;
    // One byte more than allowed is enough to know it is too large.
    let bytes = match axum::body::to_bytes(body, max + 1).await {
        Ok(b) => b.to_vec(),
        Err(_) => return file_refusal(FieldError::new("file", "file_too_large").arg("max_kib", max / 1024)),
    };
    match store(&state, &authed, id, q.name.as_deref().unwrap_or_default(), bytes, "file").await {
        Ok((file, created)) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(AttachmentView::from(&file))).into_response()
        }
        Err(res) => res,
    }
}

/// Whether `authed` may read file `file`: they uploaded it, or they may see
/// an order that uses it.
async fn readable(state: &AppState, authed: &Authed, file: &Attachment) -> AppResult<()> {
    if file.owner == authed.principal.user_id {
        return Ok(());
    }
    for order in state.store.orders_using(file.id).await? {
        if super::orders::visible(state, authed, &order.to_string()).await.is_ok() {
            return Ok(());
        }
    }
    for ticket in state.store.tickets_using(file.id).await? {
        if super::tickets::visible(state, authed, &ticket.to_string()).await.is_ok() {
            return Ok(());
        }
    }
    Err(AppError::NotFound)
}

/// Checks that file `id` exists and is the caller's own upload, naming
/// `field` when not: one may attach only what one uploaded.
pub async fn own(state: &AppState, authed: &Authed, id: RecordId, field: &str) -> AppResult<()> {
    match state.store.attachment(id).await {
        Ok(file) if file.owner == authed.principal.user_id => Ok(()),
        Ok(_) | Err(shouwang_store::StoreError::NotFound) => Err(FieldError::new(field, "not_found").into()),
        Err(e) => Err(e.into()),
    }
}

/// A file, to whoever uploaded it or may see an order that uses it.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, description = "the bytes, with their type"), (status = 404)))]
pub async fn download(State(state): State<AppState>, authed: Authed, Path(id): Path<String>) -> AppResult<Response> {
    let id = RecordId::parse("id", &id).map_err(|_| AppError::NotFound)?;
    let file = state.store.attachment(id).await?;
    readable(&state, &authed, &file).await?;
    let data = state.store.attachment_data(id).await?;
    let mut res = data.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type.as_str()));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400, immutable"));
    let encoded: String = form_urlencoded::byte_serialize(file.name.as_bytes()).collect();
    let disposition = format!("inline; filename*=UTF-8''{}", encoded.replace('+', "%20"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
