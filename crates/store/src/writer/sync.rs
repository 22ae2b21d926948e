//! How the writer notes what the field outbox delivered: one receipt per
//! record, keyed by its client id (a resend is not counted again), the
//! post's running figures, and one `post.synced` event in the post's scope
//! so the board shows late records as they arrive.

use serde_json::json;
use sqlx::AnyConnection;

use shouwang_domain::{EventKind, NewEvent};

use super::{Actor, Command, Decided, Outcome};
use crate::StoreError;
use crate::sync::SyncBatch;

pub(super) async fn apply(
    conn: &mut AnyConnection,
    _actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    match command {
        Command::RecordSync(batch) => record(conn, batch, now).await,
        _ => unreachable!("writer::apply routes only sync commands here"),
    }
}

async fn record(conn: &mut AnyConnection, b: &SyncBatch, now: i64) -> Result<Decided, StoreError> {
    let skew = now - b.sent_us;
    let (mut fresh, mut late) = (0_i64, 0_i64);
    for r in &b.records {
        let is_late = b.sent_us - r.entered_us > b.late_after_us;
        let done = sqlx::query(
            "INSERT INTO field_receipts (id, checkpoint_id, user_id, entered_by, route, entered_us, sent_us, \
             received_us, skew_us, late) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        )
        .bind(r.id.to_string())
        .bind(b.checkpoint.map(|c| c.0))
        .bind(b.user.0)
        .bind(r.entered_by.map(|u| u.0))
        .bind(&r.route)
        .bind(r.entered_us)
        .bind(b.sent_us)
        .bind(now)
        .bind(skew)
        .bind(i64::from(is_late))
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 1 {
            fresh += 1;
            late += i64::from(is_late);
        }
    }
    let Some(cp) = b.checkpoint else { return Ok((Outcome::Count(fresh), vec![])) };
    sqlx::query(
        "INSERT INTO post_sync (checkpoint_id, last_sync_us, records, late_records, skew_us) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (checkpoint_id) DO UPDATE SET last_sync_us = excluded.last_sync_us, \
         records = post_sync.records + excluded.records, late_records = post_sync.late_records + excluded.late_records, \
         skew_us = excluded.skew_us",
    )
    .bind(cp.0)
    .bind(now)
    .bind(fresh)
    .bind(late)
    .bind(skew)
    .execute(&mut *conn)
    .await?;
    let post = super::checkpoints::checkpoint(conn, cp).await?;
    let event = NewEvent::new(
        EventKind::PostSynced,
        format!("checkpoint:{}", cp.0),
        post.scope.clone(),
        json!({ "checkpoint_id": cp.0, "code": post.code, "records": fresh, "late": late, "skew_us": skew,
                "user_id": b.user.0 }),
    );
    Ok((Outcome::Count(fresh), vec![event]))
}
