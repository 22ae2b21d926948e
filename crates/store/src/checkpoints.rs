//! Checkpoints and duty as stored: records and reads. The writes are in
//! `writer/checkpoints.rs`.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use shouwang_domain::checkpoint::{CheckpointKind, CheckpointStatus, LatLon};
use shouwang_domain::duty::{Span, Staffing};
use shouwang_domain::supplies::{ResupplyFilter, ResupplyState};
use shouwang_domain::{CheckpointId, OrgUnitId, RecordId, ScopePath, ShiftId, UserId};

use crate::{Store, StoreError};

/// A checkpoint (post).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    /// Id.
    pub id: CheckpointId,
    /// Short code, e.g. `ZYG-01`.
    pub code: String,
    /// Name, e.g. 朱阳关省界检测点.
    pub name: String,
    /// What it guards.
    pub kind: CheckpointKind,
    /// The org unit it belongs to.
    pub org_unit_id: OrgUnitId,
    /// Its own scope: the unit's path plus `c<id>/`.
    pub scope: ScopePath,
    /// Where it is.
    pub location: LatLon,
    /// Address or description.
    pub address: String,
    /// People required per shift.
    pub required_staff: i64,
    /// Check-ins farther than this are flagged.
    pub geofence_m: i64,
    /// Stored shift pattern (`08:00+12,20:00+12`).
    pub shift_pattern: String,
    /// Active, suspended, closed.
    pub status: CheckpointStatus,
    /// How it is staffed now.
    pub staffing: Staffing,
    /// Last change.
    pub updated_us: i64,
}

/// A shift at a post and who works it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shift {
    /// Id.
    pub id: ShiftId,
    /// The post.
    pub checkpoint_id: CheckpointId,
    /// When.
    pub span: Span,
    /// The shift leader, if named.
    pub leader_id: Option<UserId>,
    /// Everyone assigned, leader included.
    pub staff: Vec<UserId>,
}

/// A check-in, open until the officer checks out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckInRecord {
    /// The client-made id.
    pub id: RecordId,
    /// Who.
    pub user_id: UserId,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// For which shift.
    pub shift_id: ShiftId,
    /// When they checked in (server time).
    pub in_us: i64,
    /// When they checked out, if they have.
    pub out_us: Option<i64>,
    /// Metres from the post, if the phone gave a position.
    pub distance_m: Option<f64>,
    /// Farther than the geofence.
    pub outside_fence: bool,
    /// Minutes late.
    pub late_minutes: i64,
}

/// Stock of one item at one post.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupplyLevel {
    /// The post.
    pub checkpoint_id: CheckpointId,
    /// The catalogue item.
    pub item_key: String,
    /// Its unit (piece, pair, litre …).
    pub unit: String,
    /// On hand.
    pub on_hand: i64,
    /// At or below this, the item is low.
    pub threshold: i64,
}

impl SupplyLevel {
    /// Whether the item is low.
    pub fn low(&self) -> bool {
        shouwang_domain::supplies::is_low(self.on_hand, self.threshold)
    }
}

/// A resupply request from a post.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResupplyRequest {
    /// The client-made id.
    pub id: RecordId,
    /// The post.
    pub checkpoint_id: CheckpointId,
    /// What.
    pub item_key: String,
    /// How many were asked for.
    pub quantity: i64,
    /// How many HQ approved.
    pub approved_quantity: Option<i64>,
    /// Where it stands.
    pub state: ResupplyState,
    /// The post's note.
    pub note: String,
    /// HQ's note on its decision.
    pub decision_note: String,
    /// Who asked.
    pub requested_by: UserId,
    /// When.
    pub requested_us: i64,
    /// Last change.
    pub updated_us: i64,
}

pub(crate) const CHECKPOINT_COLUMNS: &str = "id, code, name, kind, org_unit_id, scope, lat, lon, address, \
     required_staff, geofence_m, shift_pattern, status, staffing, updated_us FROM checkpoints";
pub(crate) const RESUPPLY_COLUMNS: &str = "id, checkpoint_id, item_key, quantity, approved_quantity, state, note, \
     decision_note, requested_by, requested_us, updated_us FROM resupply_requests";
pub(crate) const CHECK_IN_COLUMNS: &str =
    "id, user_id, checkpoint_id, shift_id, in_us, out_us, distance_m, outside_fence, late_minutes FROM check_ins";

fn staffing_from(s: &str) -> Result<Staffing, StoreError> {
    [Staffing::Staffed, Staffing::Understaffed, Staffing::Unstaffed, Staffing::NoSignal, Staffing::Suspended]
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown staffing {s}")))
}

pub(crate) fn checkpoint_from(row: &AnyRow) -> Result<Checkpoint, StoreError> {
    Ok(Checkpoint {
        id: CheckpointId(row.try_get("id")?),
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        kind: CheckpointKind::parse("kind", row.try_get("kind")?)?,
        org_unit_id: OrgUnitId(row.try_get("org_unit_id")?),
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        location: LatLon::parse("location", row.try_get("lat")?, row.try_get("lon")?)?,
        address: row.try_get("address")?,
        required_staff: row.try_get("required_staff")?,
        geofence_m: row.try_get("geofence_m")?,
        shift_pattern: row.try_get("shift_pattern")?,
        status: CheckpointStatus::parse("status", row.try_get("status")?)?,
        staffing: staffing_from(row.try_get("staffing")?)?,
        updated_us: row.try_get("updated_us")?,
    })
}

fn level_from(r: &AnyRow) -> Result<SupplyLevel, StoreError> {
    Ok(SupplyLevel {
        checkpoint_id: CheckpointId(r.try_get("checkpoint_id")?),
        item_key: r.try_get("item_key")?,
        unit: r.try_get("unit")?,
        on_hand: r.try_get("on_hand")?,
        threshold: r.try_get("threshold")?,
    })
}

pub(crate) fn resupply_from(row: &AnyRow) -> Result<ResupplyRequest, StoreError> {
    let id: String = row.try_get("id")?;
    Ok(ResupplyRequest {
        id: RecordId::parse("id", &id)?,
        checkpoint_id: CheckpointId(row.try_get("checkpoint_id")?),
        item_key: row.try_get("item_key")?,
        quantity: row.try_get("quantity")?,
        approved_quantity: row.try_get("approved_quantity")?,
        state: ResupplyState::parse("state", row.try_get("state")?)?,
        note: row.try_get("note")?,
        decision_note: row.try_get("decision_note")?,
        requested_by: UserId(row.try_get("requested_by")?),
        requested_us: row.try_get("requested_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

pub(crate) fn check_in_from(row: &AnyRow) -> Result<CheckInRecord, StoreError> {
    let id: String = row.try_get("id")?;
    Ok(CheckInRecord {
        id: RecordId::parse("id", &id)?,
        user_id: UserId(row.try_get("user_id")?),
        checkpoint_id: CheckpointId(row.try_get("checkpoint_id")?),
        shift_id: ShiftId(row.try_get("shift_id")?),
        in_us: row.try_get("in_us")?,
        out_us: row.try_get("out_us")?,
        distance_m: row.try_get("distance_m")?,
        outside_fence: row.try_get::<i64, _>("outside_fence")? != 0,
        late_minutes: row.try_get("late_minutes")?,
    })
}

pub(crate) async fn shift_staff(conn: &mut sqlx::AnyConnection, shift: ShiftId) -> Result<Vec<UserId>, StoreError> {
    let rows = sqlx::query("SELECT user_id FROM shift_assignments WHERE shift_id = $1 ORDER BY user_id")
        .bind(shift.0)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(UserId(r.try_get("user_id")?))).collect()
}

pub(crate) fn shift_from(row: &AnyRow, staff: Vec<UserId>) -> Result<Shift, StoreError> {
    Ok(Shift {
        id: ShiftId(row.try_get("id")?),
        checkpoint_id: CheckpointId(row.try_get("checkpoint_id")?),
        span: Span { starts_us: row.try_get("starts_us")?, ends_us: row.try_get("ends_us")? },
        leader_id: row.try_get::<Option<i64>, _>("leader_id")?.map(UserId),
        staff,
    })
}

impl Store {
    /// The checkpoints within `scope`, by code.
    pub async fn checkpoints_within(&self, scope: &ScopePath) -> Result<Vec<Checkpoint>, StoreError> {
        let sql = format!("SELECT {CHECKPOINT_COLUMNS} WHERE scope >= $1 AND scope < $2 ORDER BY code");
        let rows = sqlx::query(&sql).bind(scope.as_str()).bind(scope.upper_bound()).fetch_all(&self.pool).await?;
        rows.iter().map(checkpoint_from).collect()
    }

    /// One checkpoint.
    pub async fn checkpoint(&self, id: CheckpointId) -> Result<Checkpoint, StoreError> {
        let sql = format!("SELECT {CHECKPOINT_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await?;
        checkpoint_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// One checkpoint by code.
    pub async fn checkpoint_by_code(&self, code: &str) -> Result<Checkpoint, StoreError> {
        let sql = format!("SELECT {CHECKPOINT_COLUMNS} WHERE code = $1");
        let row = sqlx::query(&sql).bind(code).fetch_optional(&self.pool).await?;
        checkpoint_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// One shift with its staff.
    pub async fn shift(&self, id: ShiftId) -> Result<Shift, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT id, checkpoint_id, starts_us, ends_us, leader_id FROM shifts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
        let staff = shift_staff(&mut conn, id).await?;
        shift_from(&row, staff)
    }

    /// The shifts of a post overlapping `[from, to)`, in time order.
    pub async fn shifts(&self, checkpoint: CheckpointId, from: i64, to: i64) -> Result<Vec<Shift>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT id, checkpoint_id, starts_us, ends_us, leader_id FROM shifts \
             WHERE checkpoint_id = $1 AND starts_us < $3 AND ends_us > $2 ORDER BY starts_us",
        )
        .bind(checkpoint.0)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let staff = shift_staff(&mut conn, ShiftId(row.try_get("id")?)).await?;
            out.push(shift_from(row, staff)?);
        }
        Ok(out)
    }

    /// The shifts `user` works overlapping `[from, to)`, at any post.
    pub async fn shifts_of_user(&self, user: UserId, from: i64, to: i64) -> Result<Vec<Shift>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT s.id, s.checkpoint_id, s.starts_us, s.ends_us, s.leader_id FROM shifts s \
             JOIN shift_assignments a ON a.shift_id = s.id \
             WHERE a.user_id = $1 AND s.starts_us < $3 AND s.ends_us > $2 ORDER BY s.starts_us",
        )
        .bind(user.0)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let staff = shift_staff(&mut conn, ShiftId(row.try_get("id")?)).await?;
            out.push(shift_from(row, staff)?);
        }
        Ok(out)
    }

    /// The open check-ins at a post: who is there now.
    pub async fn present(&self, checkpoint: CheckpointId) -> Result<Vec<CheckInRecord>, StoreError> {
        let sql = format!("SELECT {CHECK_IN_COLUMNS} WHERE checkpoint_id = $1 AND out_us IS NULL ORDER BY in_us");
        let rows = sqlx::query(&sql).bind(checkpoint.0).fetch_all(&self.pool).await?;
        rows.iter().map(check_in_from).collect()
    }

    /// The user's open check-in, if any.
    pub async fn open_check_in(&self, user: UserId) -> Result<Option<CheckInRecord>, StoreError> {
        let sql = format!("SELECT {CHECK_IN_COLUMNS} WHERE user_id = $1 AND out_us IS NULL");
        let row = sqlx::query(&sql).bind(user.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(check_in_from).transpose()
    }

    /// Every open check-in within `scope` (the presence monitor's view).
    pub async fn open_check_ins_within(&self, scope: &ScopePath) -> Result<Vec<CheckInRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.user_id, c.checkpoint_id, c.shift_id, c.in_us, c.out_us, c.distance_m, c.outside_fence, \
             c.late_minutes FROM check_ins c JOIN checkpoints p ON p.id = c.checkpoint_id \
             WHERE c.out_us IS NULL AND p.scope >= $1 AND p.scope < $2",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(check_in_from).collect()
    }

    /// How many people are checked in at each post within `scope` (posts
    /// with nobody are absent).
    pub async fn present_counts_within(&self, scope: &ScopePath) -> Result<Vec<(CheckpointId, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.checkpoint_id, COUNT(*) AS n FROM check_ins c JOIN checkpoints p ON p.id = c.checkpoint_id \
             WHERE c.out_us IS NULL AND p.scope >= $1 AND p.scope < $2 GROUP BY c.checkpoint_id",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((CheckpointId(r.try_get("checkpoint_id")?), r.try_get("n")?))).collect()
    }

    /// Low items at posts within `scope`: (post, level).
    pub async fn low_stock_within(&self, scope: &ScopePath) -> Result<Vec<SupplyLevel>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.checkpoint_id, l.item_key, i.unit, l.on_hand, l.threshold FROM supply_levels l \
             JOIN supply_items i ON i.key = l.item_key JOIN checkpoints p ON p.id = l.checkpoint_id \
             WHERE l.on_hand <= l.threshold AND p.scope >= $1 AND p.scope < $2 ORDER BY l.checkpoint_id, l.item_key",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(level_from).collect()
    }

    /// A post's supply levels, by item.
    pub async fn supply_levels(&self, checkpoint: CheckpointId) -> Result<Vec<SupplyLevel>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.checkpoint_id, l.item_key, i.unit, l.on_hand, l.threshold FROM supply_levels l \
             JOIN supply_items i ON i.key = l.item_key WHERE l.checkpoint_id = $1 ORDER BY l.item_key",
        )
        .bind(checkpoint.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(level_from).collect()
    }

    /// The supply catalogue: key, unit, default threshold.
    pub async fn supply_items(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT key, unit, default_threshold FROM supply_items ORDER BY key")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("key")?, r.try_get("unit")?, r.try_get("default_threshold")?))).collect()
    }

    /// Resupply requests of posts within `scope` that `filter` admits, newest
    /// first (at most 500).
    pub async fn resupply_requests_within(
        &self,
        scope: &ScopePath,
        filter: impl Into<ResupplyFilter>,
    ) -> Result<Vec<ResupplyRequest>, StoreError> {
        let finished: Vec<String> =
            ResupplyState::ALL.iter().filter(|s| s.is_finished()).map(|s| format!("'{}'", s.as_str())).collect();
        let sql = format!(
            "SELECT r.{} r JOIN checkpoints p ON p.id = r.checkpoint_id \
             WHERE p.scope >= $1 AND p.scope < $2 \
             AND ($3 = '' OR r.state = $3 OR ($3 = 'open' AND r.state NOT IN ({}))) \
             ORDER BY r.requested_us DESC LIMIT 500",
            RESUPPLY_COLUMNS.replace(", ", ", r."),
            finished.join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(scope.as_str())
            .bind(scope.upper_bound())
            .bind(filter.into().as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(resupply_from).collect()
    }

    /// One resupply request.
    pub async fn resupply_request(&self, id: RecordId) -> Result<ResupplyRequest, StoreError> {
        let sql = format!("SELECT {RESUPPLY_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        resupply_from(&row.ok_or(StoreError::NotFound)?)
    }
}
