//! Alerts as stored, and the reads the board and the alert list need. The
//! writes are in `writer/alerts.rs`: the server's evaluator hands the writer
//! every condition of a rule that holds now, and the writer raises what is
//! new and resolves what cleared, in one transaction.

use sqlx::Row;
use sqlx::any::AnyRow;

use shouwang_domain::alert::{AlertRule, AlertState, Severity};
use shouwang_domain::{CheckpointId, RecordId, ScopePath, UserId};

use crate::{Store, StoreError};

/// A condition that holds now: what an open alert stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// What it is about, e.g. `checkpoint:12` or `order:…:user:5`; with the
    /// rule, it identifies the alert.
    pub subject: String,
    /// Who may see it.
    pub scope: ScopePath,
    /// The post it concerns, if any.
    pub checkpoint: Option<CheckpointId>,
    /// The facts to show (the post's name, the item, the order's title…).
    pub detail: serde_json::Value,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    /// Id (UUIDv7, made by the writer).
    pub id: RecordId,
    /// What raised it.
    pub rule: AlertRule,
    /// What it is about.
    pub subject: String,
    /// Who may see it.
    pub scope: ScopePath,
    /// The post, if any.
    pub checkpoint: Option<CheckpointId>,
    /// How bad.
    pub severity: Severity,
    /// Open, acknowledged or resolved.
    pub state: AlertState,
    /// The facts.
    pub detail: serde_json::Value,
    /// When it was raised.
    pub raised_us: i64,
    /// When someone took it.
    pub acked_us: Option<i64>,
    /// Who took it.
    pub acked_by: Option<UserId>,
    /// When its condition cleared.
    pub resolved_us: Option<i64>,
}

pub(crate) const ALERT_COLUMNS: &str = "id, rule, subject, scope, checkpoint_id, severity, state, detail, raised_us, \
     acked_us, acked_by, resolved_us FROM alerts";

pub(crate) fn alert_from(row: &AnyRow) -> Result<AlertRecord, StoreError> {
    let detail: String = row.try_get("detail")?;
    Ok(AlertRecord {
        id: RecordId::parse("id", row.try_get("id")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        rule: AlertRule::parse("rule", row.try_get("rule")?)?,
        subject: row.try_get("subject")?,
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        checkpoint: row.try_get::<Option<i64>, _>("checkpoint_id")?.map(CheckpointId),
        severity: Severity::parse("severity", row.try_get("severity")?)?,
        state: AlertState::parse("state", row.try_get("state")?)?,
        detail: serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        raised_us: row.try_get("raised_us")?,
        acked_us: row.try_get("acked_us")?,
        acked_by: row.try_get::<Option<i64>, _>("acked_by")?.map(UserId),
        resolved_us: row.try_get("resolved_us")?,
    })
}

impl Store {
    /// One alert.
    pub async fn alert(&self, id: RecordId) -> Result<AlertRecord, StoreError> {
        let sql = format!("SELECT {ALERT_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        alert_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// Alerts within `scope`, newest first, at most `limit` (1–1000): only
    /// those not resolved when `live_only`.
    pub async fn alerts_within(
        &self,
        scope: &ScopePath,
        live_only: bool,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let live = if live_only { "AND state <> 'resolved'" } else { "" };
        let sql = format!(
            "SELECT {ALERT_COLUMNS} WHERE scope >= $1 AND scope < $2 {live} ORDER BY raised_us DESC, id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.as_str())
            .bind(scope.upper_bound())
            .bind(limit.clamp(1, 1000))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(alert_from).collect()
    }
}
