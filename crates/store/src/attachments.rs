//! Attachments as stored: a file's facts and bytes, and which orders use
//! it (for who may read it). The write is `Command::StoreAttachment`.

use sqlx::Row;
use sqlx::any::AnyRow;

use shouwang_domain::attachment::AttachmentType;
use shouwang_domain::{RecordId, ScopePath, UserId};

use crate::{Store, StoreError};

/// A file to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttachment {
    /// A UUIDv7 from the client: resending stores nothing twice.
    pub id: RecordId,
    /// Its name, cleaned.
    pub name: String,
    /// What it is, by its first bytes.
    pub content_type: AttachmentType,
    /// The uploader's scope.
    pub scope: ScopePath,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// A stored file's facts, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attachment {
    /// Its id.
    pub id: RecordId,
    /// Who uploaded it.
    pub owner: UserId,
    /// The uploader's scope.
    #[serde(skip)]
    pub scope: ScopePath,
    /// Its name.
    pub name: String,
    /// What it is.
    pub content_type: AttachmentType,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// When it was stored.
    pub created_us: i64,
}

pub(crate) const ATTACHMENT_COLUMNS: &str =
    "id, owner_id, scope, name, content_type, size, sha256, created_us FROM attachments";

pub(crate) fn attachment_from(row: &AnyRow) -> Result<Attachment, StoreError> {
    Ok(Attachment {
        id: RecordId::parse("id", row.try_get("id")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        owner: UserId(row.try_get("owner_id")?),
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        name: row.try_get("name")?,
        content_type: AttachmentType::parse("content_type", row.try_get("content_type")?)?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
        created_us: row.try_get("created_us")?,
    })
}

impl Store {
    /// A file's facts.
    pub async fn attachment(&self, id: RecordId) -> Result<Attachment, StoreError> {
        let sql = format!("SELECT {ATTACHMENT_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        attachment_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// A file's bytes.
    pub async fn attachment_data(&self, id: RecordId) -> Result<Vec<u8>, StoreError> {
        let row = sqlx::query("SELECT data FROM attachments WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("data")?)
    }

    /// The orders that use a file: as their attachment, or as the photo of
    /// one of their receipts.
    pub async fn orders_using(&self, id: RecordId) -> Result<Vec<RecordId>, StoreError> {
        let rows = sqlx::query(
            "SELECT id AS order_id FROM orders WHERE attachment_id = $1 \
             UNION SELECT order_id FROM order_receipts WHERE photo_id = $1",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                RecordId::parse("order_id", r.try_get("order_id")?).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }
}
