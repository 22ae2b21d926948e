//! What arrived from phones through the field outbox: a receipt per record
//! (the phone's clocks beside the server's) and each post's running figures
//! for the board. Written by [`Command::RecordSync`](crate::Command).

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use shouwang_domain::{CheckpointId, RecordId, ScopePath, UserId};

use crate::{Store, StoreError};

/// One record a sync request delivered (and the server stored).
#[derive(Debug, Clone, PartialEq)]
pub struct SyncedRecord {
    /// The record's own client id.
    pub id: RecordId,
    /// The route it went to, e.g. `POST /api/v1/checkpoints/3/screenings`.
    pub route: String,
    /// The phone's clock when the officer entered it (µs).
    pub entered_us: i64,
    /// Who entered it, when the phone said so.
    pub entered_by: Option<UserId>,
}

/// What one sync request delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncBatch {
    /// The post the phone works at, if any.
    pub checkpoint: Option<CheckpointId>,
    /// Who sent it.
    pub user: UserId,
    /// The phone's clock when it sent the request (µs).
    pub sent_us: i64,
    /// A record that waited on the phone longer than this (µs) was entered
    /// offline: it arrived late.
    pub late_after_us: i64,
    /// The records stored, in the order sent.
    pub records: Vec<SyncedRecord>,
}

/// A post's figures from the field outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct PostSync {
    /// The post.
    pub checkpoint_id: CheckpointId,
    /// When a phone there last delivered something (server clock, µs).
    pub last_sync_us: i64,
    /// Records delivered through the outbox.
    pub records: i64,
    /// Of those, entered offline.
    pub late_records: i64,
    /// Server clock minus the phone's at the last sync (µs).
    pub skew_us: i64,
}

/// A stored receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldReceipt {
    /// The record's id.
    pub id: RecordId,
    /// The post.
    pub checkpoint_id: Option<CheckpointId>,
    /// Who sent it.
    pub user_id: UserId,
    /// Who entered it, if the phone said.
    pub entered_by: Option<UserId>,
    /// The route.
    pub route: String,
    /// Phone clock at entry.
    pub entered_us: i64,
    /// Phone clock at sending.
    pub sent_us: i64,
    /// Server clock at arrival.
    pub received_us: i64,
    /// Server minus phone clock.
    pub skew_us: i64,
    /// Entered offline.
    pub late: bool,
}

fn post_sync_from(r: &AnyRow) -> Result<PostSync, StoreError> {
    Ok(PostSync {
        checkpoint_id: CheckpointId(r.try_get("checkpoint_id")?),
        last_sync_us: r.try_get("last_sync_us")?,
        records: r.try_get("records")?,
        late_records: r.try_get("late_records")?,
        skew_us: r.try_get("skew_us")?,
    })
}

fn receipt_from(r: &AnyRow) -> Result<FieldReceipt, StoreError> {
    let id: String = r.try_get("id")?;
    Ok(FieldReceipt {
        id: RecordId::parse("id", &id).map_err(|_| StoreError::Corrupt(format!("receipt id {id}")))?,
        checkpoint_id: r.try_get::<Option<i64>, _>("checkpoint_id")?.map(CheckpointId),
        user_id: UserId(r.try_get("user_id")?),
        entered_by: r.try_get::<Option<i64>, _>("entered_by")?.map(UserId),
        route: r.try_get("route")?,
        entered_us: r.try_get("entered_us")?,
        sent_us: r.try_get("sent_us")?,
        received_us: r.try_get("received_us")?,
        skew_us: r.try_get("skew_us")?,
        late: r.try_get::<i64, _>("late")? != 0,
    })
}

impl Store {
    /// The outbox figures of the posts within `scope`.
    pub async fn post_sync_within(&self, scope: &ScopePath) -> Result<HashMap<CheckpointId, PostSync>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.checkpoint_id, s.last_sync_us, s.records, s.late_records, s.skew_us \
             FROM post_sync s JOIN checkpoints p ON p.id = s.checkpoint_id WHERE p.scope >= $1 AND p.scope < $2",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| post_sync_from(r).map(|s| (s.checkpoint_id, s))).collect()
    }

    /// The receipts of a post's records, in the order they were entered on
    /// the phone (newest first), at most `limit`.
    pub async fn field_receipts(&self, post: CheckpointId, limit: i64) -> Result<Vec<FieldReceipt>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, checkpoint_id, user_id, entered_by, route, entered_us, sent_us, received_us, skew_us, late \
             FROM field_receipts WHERE checkpoint_id = $1 ORDER BY entered_us DESC, id DESC LIMIT $2",
        )
        .bind(post.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(receipt_from).collect()
    }
}
