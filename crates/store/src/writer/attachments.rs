//! How the writer keeps a file: once per client id. A resend of the same
//! bytes by the same person gets the stored file back; the id reused for
//! other bytes, or by someone else, is refused. Files nothing names after a
//! grace period are purged.

use sqlx::AnyConnection;

use shouwang_domain::FieldError;

use super::{Actor, Command, Decided, Outcome};
use crate::StoreError;
use crate::attachments::{ATTACHMENT_COLUMNS, NewAttachment, attachment_from};

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    let who = actor.person()?;
    let Command::StoreAttachment(new) = command else {
        unreachable!("writer::apply routes only attachment commands here")
    };
    let sql = format!("SELECT {ATTACHMENT_COLUMNS} WHERE id = $1");
    if let Some(row) = sqlx::query(&sql).bind(new.id.to_string()).fetch_optional(&mut *conn).await? {
        let old = attachment_from(&row)?;
        if old.owner != who || old.sha256 != new.sha256 {
            return Err(StoreError::Invalid(FieldError::new("id", "taken")));
        }
        return Ok((Outcome::Attachment { attachment: old, created: false }, Vec::new()));
    }
    insert(conn, who.0, new, now).await?;
    let row = sqlx::query(&sql).bind(new.id.to_string()).fetch_one(&mut *conn).await?;
    Ok((Outcome::Attachment { attachment: attachment_from(&row)?, created: true }, Vec::new()))
}

/// Deletes the files stored before `before_us` that no order and no answer
/// names. Inside the writer, so an order naming one cannot slip in between.
pub(super) async fn purge(conn: &mut AnyConnection, before_us: i64) -> Result<Decided, StoreError> {
    let done = sqlx::query(
        "DELETE FROM attachments WHERE created_us < $1 \
         AND id NOT IN (SELECT attachment_id FROM orders WHERE attachment_id IS NOT NULL) \
         AND id NOT IN (SELECT photo_id FROM order_receipts WHERE photo_id IS NOT NULL)",
    )
    .bind(before_us)
    .execute(&mut *conn)
    .await?;
    Ok((Outcome::Count(i64::try_from(done.rows_affected()).unwrap_or(i64::MAX)), Vec::new()))
}

async fn insert(conn: &mut AnyConnection, owner: i64, new: &NewAttachment, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO attachments (id, owner_id, scope, name, content_type, size, sha256, data, created_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new.id.to_string())
    .bind(owner)
    .bind(new.scope.as_str())
    .bind(&new.name)
    .bind(new.content_type.as_str())
    .bind(new.data.len() as i64)
    .bind(&new.sha256)
    .bind(new.data.as_slice())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
