//! How the writer applies checkpoint and duty commands. The rules are the
//! domain's (`shouwang_domain::{checkpoint, duty, supplies}`); this file reads
//! what they need inside the transaction and persists what they decide.

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::checkpoint::{CheckpointCode, CheckpointKind, CheckpointStatus, LatLon};
use shouwang_domain::duty::{Span, check_no_double_booking, judge_check_in, staffing};
use shouwang_domain::supplies::{self, MovementKind, ResupplyState};
use shouwang_domain::{CheckpointId, EventKind, FieldError, NewEvent, OrgUnitId, RecordId, ShiftId, UserId};

use super::{Actor, Command, Decided, Outcome};
use crate::checkpoints::{
    CHECK_IN_COLUMNS, CHECKPOINT_COLUMNS, Checkpoint, RESUPPLY_COLUMNS, ResupplyRequest, SupplyLevel, check_in_from,
    checkpoint_from, resupply_from, shift_from, shift_staff,
};
use crate::reads::{ORG_COLUMNS, org_unit_from};
use crate::{Shift, StoreError};

/// The fields of a checkpoint, as created, edited or imported.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointDraft {
    /// The org unit it belongs to.
    pub org_unit: OrgUnitId,
    /// Unique code.
    pub code: CheckpointCode,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: CheckpointKind,
    /// Position.
    pub location: LatLon,
    /// Address or description.
    pub address: String,
    /// People per shift.
    pub required_staff: i64,
    /// Geofence radius in metres.
    pub geofence_m: i64,
    /// Stored shift pattern.
    pub shift_pattern: String,
}

fn invalid(field: &str, code: &'static str) -> StoreError {
    StoreError::Invalid(FieldError::new(field, code))
}

fn who(actor: &Actor) -> Result<UserId, StoreError> {
    actor.person()
}

pub(crate) async fn checkpoint(conn: &mut AnyConnection, id: CheckpointId) -> Result<Checkpoint, StoreError> {
    let sql = format!("SELECT {CHECKPOINT_COLUMNS} WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *conn).await?;
    checkpoint_from(&row.ok_or(StoreError::Dangling { field: "checkpoint_id" })?)
}

async fn shift(conn: &mut AnyConnection, id: ShiftId) -> Result<Shift, StoreError> {
    let row = sqlx::query("SELECT id, checkpoint_id, starts_us, ends_us, leader_id FROM shifts WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::Dangling { field: "shift_id" })?;
    let staff = shift_staff(conn, id).await?;
    shift_from(&row, staff)
}

async fn resupply(conn: &mut AnyConnection, id: RecordId) -> Result<ResupplyRequest, StoreError> {
    let sql = format!("SELECT {RESUPPLY_COLUMNS} WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    resupply_from(&row.ok_or(StoreError::NotFound)?)
}

/// Spans of the shifts `user` works that overlap `span`, other than `except`.
async fn busy_spans(
    conn: &mut AnyConnection,
    user: UserId,
    span: Span,
    except: Option<ShiftId>,
) -> Result<Vec<Span>, StoreError> {
    let rows = sqlx::query(
        "SELECT s.starts_us, s.ends_us FROM shifts s JOIN shift_assignments a ON a.shift_id = s.id \
         WHERE a.user_id = $1 AND s.starts_us < $3 AND s.ends_us > $2 AND s.id <> $4",
    )
    .bind(user.0)
    .bind(span.starts_us)
    .bind(span.ends_us)
    .bind(except.map_or(0, |s| s.0))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok(Span { starts_us: r.try_get("starts_us")?, ends_us: r.try_get("ends_us")? })).collect()
}

/// Whether `user` may work a shift at `cp` during `span`: an enabled account
/// whose scope covers the post or lies within it, not already on a shift
/// that overlaps (other than `except`). Refusals name `field`.
async fn may_work_at(
    conn: &mut AnyConnection,
    user: UserId,
    cp: &Checkpoint,
    span: Span,
    except: Option<ShiftId>,
    field: &str,
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT scope FROM users WHERE id = $1 AND disabled = 0")
        .bind(user.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| invalid(field, "not_found"))?;
    let scope: String = row.try_get("scope")?;
    if !cp.scope.as_str().starts_with(&scope) && !scope.starts_with(cp.scope.as_str()) {
        return Err(invalid(field, "out_of_scope"));
    }
    let busy = busy_spans(conn, user, span, except).await?;
    check_no_double_booking(&busy, span).map_err(|e| StoreError::Invalid(FieldError { field: field.to_owned(), ..e }))
}

async fn insert_checkpoint(conn: &mut AnyConnection, d: &CheckpointDraft, now: i64) -> Result<Checkpoint, StoreError> {
    let sql = format!("SELECT {ORG_COLUMNS} WHERE id = $1");
    let unit = sqlx::query(&sql).bind(d.org_unit.0).fetch_optional(&mut *conn).await?;
    let unit = org_unit_from(&unit.ok_or(StoreError::Dangling { field: "org_unit_id" })?)?;
    if sqlx::query("SELECT 1 FROM checkpoints WHERE code = $1")
        .bind(d.code.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict { field: "code" });
    }
    // The scope holds the post's own id: insert with a unique placeholder, then set it.
    let row = sqlx::query(
        "INSERT INTO checkpoints (code, name, kind, org_unit_id, scope, lat, lon, address, required_staff, geofence_m, \
         shift_pattern, status, staffing, created_us, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', 'unstaffed', $12, $12) RETURNING id",
    )
    .bind(d.code.as_str())
    .bind(&d.name)
    .bind(d.kind.as_str())
    .bind(d.org_unit.0)
    .bind(format!("/pending/{}/", d.code.as_str()))
    .bind(d.location.lat)
    .bind(d.location.lon)
    .bind(&d.address)
    .bind(d.required_staff)
    .bind(d.geofence_m)
    .bind(&d.shift_pattern)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id = CheckpointId(row.try_get("id")?);
    let scope = unit.path.segment(&format!("c{id}"));
    sqlx::query("UPDATE checkpoints SET scope = $1 WHERE id = $2")
        .bind(scope.as_str())
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    checkpoint(conn, id).await
}

fn checkpoint_event(kind: EventKind, cp: &Checkpoint, extra: serde_json::Value) -> NewEvent {
    let mut payload = json!({
        "id": cp.id, "code": cp.code, "name": cp.name, "kind": cp.kind, "org_unit_id": cp.org_unit_id,
        "lat": cp.location.lat, "lon": cp.location.lon, "required_staff": cp.required_staff,
        "status": cp.status, "staffing": cp.staffing,
    });
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    NewEvent::new(kind, format!("checkpoint:{}", cp.id), cp.scope.clone(), payload)
}

/// Recomputes a post's staffing from its open check-ins; writes and reports
/// a change only. `heard`: how many present phones were heard from lately
/// (`None`: all of them, as right after a check-in).
async fn restaff(
    conn: &mut AnyConnection,
    id: CheckpointId,
    heard: Option<i64>,
    now: i64,
) -> Result<Vec<NewEvent>, StoreError> {
    let cp = checkpoint(conn, id).await?;
    let present: i64 = sqlx::query("SELECT COUNT(*) AS n FROM check_ins WHERE checkpoint_id = $1 AND out_us IS NULL")
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let running = cp.status == CheckpointStatus::Active;
    let next = staffing(running, cp.required_staff, present, heard.unwrap_or(present).min(present));
    if next == cp.staffing {
        return Ok(vec![]);
    }
    sqlx::query("UPDATE checkpoints SET staffing = $1, updated_us = $2 WHERE id = $3")
        .bind(next.as_str())
        .bind(now)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let changed = Checkpoint { staffing: next, ..cp.clone() };
    Ok(vec![checkpoint_event(
        EventKind::StaffingChanged,
        &changed,
        json!({ "previous": cp.staffing, "present": present, "required": cp.required_staff }),
    )])
}

async fn level(conn: &mut AnyConnection, cp: CheckpointId, item: &str) -> Result<SupplyLevel, StoreError> {
    let row = sqlx::query(
        "SELECT l.on_hand, l.threshold, i.unit FROM supply_items i \
         LEFT JOIN supply_levels l ON l.item_key = i.key AND l.checkpoint_id = $1 WHERE i.key = $2",
    )
    .bind(cp.0)
    .bind(item)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::Dangling { field: "item_key" })?;
    let threshold = match row.try_get::<Option<i64>, _>("threshold")? {
        Some(t) => t,
        None => sqlx::query("SELECT default_threshold FROM supply_items WHERE key = $1")
            .bind(item)
            .fetch_one(&mut *conn)
            .await?
            .try_get("default_threshold")?,
    };
    Ok(SupplyLevel {
        checkpoint_id: cp,
        item_key: item.to_owned(),
        unit: row.try_get("unit")?,
        on_hand: row.try_get::<Option<i64>, _>("on_hand")?.unwrap_or(0),
        threshold,
    })
}

/// One stock movement.
struct Movement<'a> {
    id: RecordId,
    item: &'a str,
    kind: MovementKind,
    qty: i64,
    actor: UserId,
}

/// Moves stock and reports the movement, and a low-stock event when the
/// level falls to its threshold from above.
async fn move_stock(
    conn: &mut AnyConnection,
    cp: &Checkpoint,
    m: Movement<'_>,
    now: i64,
) -> Result<(SupplyLevel, Vec<NewEvent>), StoreError> {
    let Movement { id, item, kind, qty, actor } = m;
    let before = level(conn, cp.id, item).await?;
    let on_hand = supplies::apply_movement(before.on_hand, kind, qty).map_err(StoreError::Invalid)?;
    sqlx::query(
        "INSERT INTO supply_levels (checkpoint_id, item_key, on_hand, threshold, updated_us) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (checkpoint_id, item_key) DO UPDATE SET on_hand = excluded.on_hand, updated_us = excluded.updated_us",
    )
    .bind(cp.id.0)
    .bind(item)
    .bind(on_hand)
    .bind(before.threshold)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO supply_movements (id, checkpoint_id, item_key, kind, quantity, on_hand_after, actor_id, at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(cp.id.0)
    .bind(item)
    .bind(kind.as_str())
    .bind(qty)
    .bind(on_hand)
    .bind(actor.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let after = SupplyLevel { on_hand, ..before.clone() };
    let subject = format!("checkpoint:{}", cp.id);
    let mut events = vec![NewEvent::new(
        EventKind::SupplyMoved,
        subject.clone(),
        cp.scope.clone(),
        json!({ "id": id, "checkpoint_id": cp.id, "code": cp.code, "item": item, "kind": kind, "quantity": qty,
                "on_hand": on_hand, "unit": after.unit }),
    )];
    if after.low() && !before.low() {
        events.push(NewEvent::new(
            EventKind::SupplyLow,
            subject,
            cp.scope.clone(),
            json!({ "checkpoint_id": cp.id, "code": cp.code, "name": cp.name, "item": item, "on_hand": on_hand,
                    "threshold": after.threshold, "unit": after.unit }),
        ));
    }
    Ok((after, events))
}

/// Whether a field record with this id exists in `table` (a resend).
async fn seen(conn: &mut AnyConnection, table: &str, id: RecordId) -> Result<bool, StoreError> {
    let sql = format!("SELECT 1 FROM {table} WHERE id = $1");
    Ok(sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?.is_some())
}

fn running(cp: &Checkpoint) -> Result<(), StoreError> {
    match cp.status {
        CheckpointStatus::Active => Ok(()),
        _ => Err(invalid("checkpoint_id", "post_not_active")),
    }
}

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    match command {
        Command::CreateCheckpoint(d) => {
            let cp = insert_checkpoint(conn, d, now).await?;
            let e = checkpoint_event(EventKind::CheckpointCreated, &cp, json!({}));
            Ok((Outcome::Checkpoint(cp), vec![e]))
        }
        Command::ImportCheckpoints(drafts) => {
            // All or nothing: a refusal returned after some rows were
            // inserted would leave them in the batch's transaction, which
            // commits. So every row is checked before any is written.
            for (i, d) in drafts.iter().enumerate() {
                let unit = sqlx::query("SELECT 1 FROM org_units WHERE id = $1")
                    .bind(d.org_unit.0)
                    .fetch_optional(&mut *conn)
                    .await?;
                if unit.is_none() {
                    return Err(StoreError::Dangling { field: "org_unit_id" });
                }
                let taken = drafts[..i].iter().any(|e| e.code == d.code)
                    || sqlx::query("SELECT 1 FROM checkpoints WHERE code = $1")
                        .bind(d.code.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .is_some();
                if taken {
                    return Err(StoreError::Invalid(FieldError::new(format!("rows[{i}].code"), "taken")));
                }
            }
            let mut out = Vec::with_capacity(drafts.len());
            let mut events = Vec::with_capacity(drafts.len());
            for (i, d) in drafts.iter().enumerate() {
                let cp = insert_checkpoint(conn, d, now).await.map_err(|e| match e {
                    StoreError::Conflict { field } => {
                        StoreError::Invalid(FieldError::new(format!("rows[{i}].{field}"), "taken"))
                    }
                    other => other,
                })?;
                events.push(checkpoint_event(EventKind::CheckpointCreated, &cp, json!({ "imported": true })));
                out.push(cp);
            }
            Ok((Outcome::Checkpoints(out), events))
        }
        Command::UpdateCheckpoint { id, draft: d } => {
            let before = checkpoint(conn, *id).await?;
            let clash = sqlx::query("SELECT 1 FROM checkpoints WHERE code = $1 AND id <> $2")
                .bind(d.code.as_str())
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?;
            if clash.is_some() {
                return Err(StoreError::Conflict { field: "code" });
            }
            if d.org_unit != before.org_unit_id {
                return Err(invalid("org_unit_id", "cannot_move_post"));
            }
            sqlx::query(
                "UPDATE checkpoints SET code = $1, name = $2, kind = $3, lat = $4, lon = $5, address = $6, \
                 required_staff = $7, geofence_m = $8, shift_pattern = $9, updated_us = $10 WHERE id = $11",
            )
            .bind(d.code.as_str())
            .bind(&d.name)
            .bind(d.kind.as_str())
            .bind(d.location.lat)
            .bind(d.location.lon)
            .bind(&d.address)
            .bind(d.required_staff)
            .bind(d.geofence_m)
            .bind(&d.shift_pattern)
            .bind(now)
            .bind(id.0)
            .execute(&mut *conn)
            .await?;
            let mut events =
                vec![checkpoint_event(EventKind::CheckpointUpdated, &checkpoint(conn, *id).await?, json!({}))];
            events.extend(restaff(conn, *id, None, now).await?);
            Ok((Outcome::Checkpoint(checkpoint(conn, *id).await?), events))
        }
        Command::SetCheckpointStatus { id, status, reason } => {
            let before = checkpoint(conn, *id).await?;
            if before.status == *status {
                return Err(invalid("status", "unchanged"));
            }
            sqlx::query("UPDATE checkpoints SET status = $1, updated_us = $2 WHERE id = $3")
                .bind(status.as_str())
                .bind(now)
                .bind(id.0)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO checkpoint_status_history (checkpoint_id, status, reason, actor_id, at_us) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id.0)
            .bind(status.as_str())
            .bind(reason)
            .bind(actor.id.map(|u| u.0))
            .bind(now)
            .execute(&mut *conn)
            .await?;
            let after = checkpoint(conn, *id).await?;
            let mut events = vec![checkpoint_event(
                EventKind::CheckpointStatusChanged,
                &after,
                json!({ "previous_status": before.status, "reason": reason }),
            )];
            events.extend(restaff(conn, *id, None, now).await?);
            Ok((Outcome::Checkpoint(checkpoint(conn, *id).await?), events))
        }
        Command::PlanShift { checkpoint: cp_id, span, leader, staff } => {
            let cp = checkpoint(conn, *cp_id).await?;
            if let Some(l) = leader
                && !staff.contains(l)
            {
                return Err(invalid("leader_id", "leader_not_on_shift"));
            }
            let clash =
                sqlx::query("SELECT 1 FROM shifts WHERE checkpoint_id = $1 AND starts_us < $3 AND ends_us > $2")
                    .bind(cp_id.0)
                    .bind(span.starts_us)
                    .bind(span.ends_us)
                    .fetch_optional(&mut *conn)
                    .await?;
            if clash.is_some() {
                return Err(invalid("starts_us", "shift_exists"));
            }
            for (i, u) in staff.iter().enumerate() {
                let field = format!("staff[{i}]");
                if staff[..i].contains(u) {
                    return Err(invalid(&field, "duplicate"));
                }
                may_work_at(conn, *u, &cp, *span, None, &field).await?;
            }
            let row = sqlx::query(
                "INSERT INTO shifts (checkpoint_id, starts_us, ends_us, leader_id, created_us) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(cp_id.0)
            .bind(span.starts_us)
            .bind(span.ends_us)
            .bind(leader.map(|l| l.0))
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            let shift_id = ShiftId(row.try_get("id")?);
            for u in staff {
                sqlx::query("INSERT INTO shift_assignments (shift_id, user_id, assigned_us) VALUES ($1, $2, $3)")
                    .bind(shift_id.0)
                    .bind(u.0)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
            let planned = shift(conn, shift_id).await?;
            let e = NewEvent::new(
                EventKind::ShiftPlanned,
                format!("checkpoint:{}", cp.id),
                cp.scope.clone(),
                json!({ "shift_id": shift_id, "checkpoint_id": cp.id, "code": cp.code, "starts_us": span.starts_us,
                        "ends_us": span.ends_us, "leader_id": leader, "staff": staff }),
            );
            Ok((Outcome::Shift(planned), vec![e]))
        }
        Command::SwapShiftStaff { shift: shift_id, out, into, reason } => {
            let s = shift(conn, *shift_id).await?;
            if !s.staff.contains(out) {
                return Err(invalid("out_user_id", "not_on_shift"));
            }
            if s.staff.contains(into) {
                return Err(invalid("in_user_id", "already_on_shift"));
            }
            let cp = checkpoint(conn, s.checkpoint_id).await?;
            may_work_at(conn, *into, &cp, s.span, Some(s.id), "in_user_id").await?;
            sqlx::query("DELETE FROM shift_assignments WHERE shift_id = $1 AND user_id = $2")
                .bind(shift_id.0)
                .bind(out.0)
                .execute(&mut *conn)
                .await?;
            sqlx::query("INSERT INTO shift_assignments (shift_id, user_id, assigned_us) VALUES ($1, $2, $3)")
                .bind(shift_id.0)
                .bind(into.0)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            if s.leader_id == Some(*out) {
                sqlx::query("UPDATE shifts SET leader_id = $1 WHERE id = $2")
                    .bind(into.0)
                    .bind(shift_id.0)
                    .execute(&mut *conn)
                    .await?;
            }
            let e = NewEvent::new(
                EventKind::ShiftSwapped,
                format!("checkpoint:{}", cp.id),
                cp.scope.clone(),
                json!({ "shift_id": shift_id, "out_user_id": out, "in_user_id": into, "reason": reason }),
            );
            Ok((Outcome::Shift(shift(conn, *shift_id).await?), vec![e]))
        }
        Command::CheckIn { id, shift: shift_id, location } => {
            let user = who(actor)?;
            if seen(conn, "check_ins", *id).await? {
                let sql = format!("SELECT {CHECK_IN_COLUMNS} WHERE id = $1");
                let stored = check_in_from(&sqlx::query(&sql).bind(id.to_string()).fetch_one(&mut *conn).await?)?;
                if stored.user_id != user {
                    return Err(StoreError::Conflict { field: "id" });
                }
                return Ok((Outcome::CheckIn { record: stored, created: false }, vec![]));
            }
            let s = shift(conn, *shift_id).await?;
            if !s.staff.contains(&user) {
                return Err(invalid("shift_id", "not_on_shift"));
            }
            let cp = checkpoint(conn, s.checkpoint_id).await?;
            running(&cp)?;
            let open = sqlx::query("SELECT 1 FROM check_ins WHERE user_id = $1 AND out_us IS NULL")
                .bind(user.0)
                .fetch_optional(&mut *conn)
                .await?;
            if open.is_some() {
                return Err(invalid("id", "already_checked_in"));
            }
            let distance = location.map(|l| l.distance_m(cp.location));
            let finding =
                judge_check_in(s.span, now, distance.unwrap_or(0.0), cp.geofence_m).map_err(StoreError::Invalid)?;
            let outside = distance.is_none() || finding.outside_fence;
            sqlx::query(
                "INSERT INTO check_ins (id, user_id, checkpoint_id, shift_id, in_us, lat, lon, distance_m, outside_fence, late_minutes) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(id.to_string())
            .bind(user.0)
            .bind(cp.id.0)
            .bind(shift_id.0)
            .bind(now)
            .bind(location.map(|l| l.lat))
            .bind(location.map(|l| l.lon))
            .bind(distance)
            .bind(i64::from(outside))
            .bind(finding.late_minutes)
            .execute(&mut *conn)
            .await?;
            let sql = format!("SELECT {CHECK_IN_COLUMNS} WHERE id = $1");
            let record = check_in_from(&sqlx::query(&sql).bind(id.to_string()).fetch_one(&mut *conn).await?)?;
            let mut events = vec![NewEvent::new(
                EventKind::CheckedIn,
                format!("checkpoint:{}", cp.id),
                cp.scope.clone(),
                json!({ "id": id, "user_id": user, "name": actor.name, "checkpoint_id": cp.id, "code": cp.code,
                        "shift_id": shift_id, "distance_m": distance.map(f64::round), "outside_fence": outside,
                        "late_minutes": finding.late_minutes }),
            )];
            events.extend(restaff(conn, cp.id, None, now).await?);
            Ok((Outcome::CheckIn { record, created: true }, events))
        }
        Command::CheckOut => {
            let user = who(actor)?;
            let sql = format!("SELECT {CHECK_IN_COLUMNS} WHERE user_id = $1 AND out_us IS NULL");
            let open = sqlx::query(&sql).bind(user.0).fetch_optional(&mut *conn).await?;
            let mut record = check_in_from(&open.ok_or_else(|| invalid("id", "not_checked_in"))?)?;
            sqlx::query("UPDATE check_ins SET out_us = $1 WHERE id = $2")
                .bind(now)
                .bind(record.id.to_string())
                .execute(&mut *conn)
                .await?;
            record.out_us = Some(now);
            let cp = checkpoint(conn, record.checkpoint_id).await?;
            let mut events = vec![NewEvent::new(
                EventKind::CheckedOut,
                format!("checkpoint:{}", cp.id),
                cp.scope.clone(),
                json!({ "id": record.id, "user_id": user, "name": actor.name, "checkpoint_id": cp.id, "code": cp.code }),
            )];
            events.extend(restaff(conn, cp.id, None, now).await?);
            Ok((Outcome::CheckIn { record, created: false }, events))
        }
        Command::SetStaffing { checkpoint: id, heard } => {
            let events = restaff(conn, *id, Some(*heard), now).await?;
            Ok((Outcome::Checkpoint(checkpoint(conn, *id).await?), events))
        }
        Command::PutSupplyItem { key, unit, default_threshold } => {
            sqlx::query(
                "INSERT INTO supply_items (key, unit, default_threshold, created_us) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET unit = excluded.unit, default_threshold = excluded.default_threshold",
            )
            .bind(key)
            .bind(unit)
            .bind(default_threshold)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok((Outcome::Done, vec![]))
        }
        Command::MoveSupply { id, checkpoint: cp_id, item, kind, quantity } => {
            let user = who(actor)?;
            let cp = checkpoint(conn, *cp_id).await?;
            if seen(conn, "supply_movements", *id).await? {
                return Ok((Outcome::SupplyLevel(level(conn, cp.id, item).await?), vec![]));
            }
            let m = Movement { id: *id, item, kind: *kind, qty: *quantity, actor: user };
            let (after, events) = move_stock(conn, &cp, m, now).await?;
            Ok((Outcome::SupplyLevel(after), events))
        }
        Command::FileResupply { id, checkpoint: cp_id, item, quantity, note } => {
            let user = who(actor)?;
            if seen(conn, "resupply_requests", *id).await? {
                return Ok((Outcome::Resupply(resupply(conn, *id).await?), vec![]));
            }
            let cp = checkpoint(conn, *cp_id).await?;
            running(&cp)?;
            level(conn, cp.id, item).await?;
            if !(1..=1_000_000).contains(quantity) {
                return Err(invalid("quantity", "out_of_range"));
            }
            sqlx::query(
                "INSERT INTO resupply_requests (id, checkpoint_id, item_key, quantity, state, note, decision_note, \
                 requested_by, requested_us, updated_us) VALUES ($1, $2, $3, $4, 'requested', $5, '', $6, $7, $7)",
            )
            .bind(id.to_string())
            .bind(cp.id.0)
            .bind(item)
            .bind(quantity)
            .bind(note)
            .bind(user.0)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            let r = resupply(conn, *id).await?;
            let e = resupply_event(EventKind::ResupplyRequested, &cp, &r);
            Ok((Outcome::Resupply(r), vec![e]))
        }
        Command::DecideResupply { id, approved, note } => {
            let r = resupply(conn, *id).await?;
            let to = if approved.is_some() { ResupplyState::Approved } else { ResupplyState::Rejected };
            supplies::resupply_step(r.state, to).map_err(StoreError::Invalid)?;
            let qty = approved
                .map(|q| supplies::approved_quantity(r.quantity, q))
                .transpose()
                .map_err(StoreError::Invalid)?;
            sqlx::query(
                "UPDATE resupply_requests SET state = $1, approved_quantity = $2, decision_note = $3, updated_us = $4 WHERE id = $5",
            )
            .bind(to.as_str())
            .bind(qty)
            .bind(note)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
            let r = resupply(conn, *id).await?;
            let cp = checkpoint(conn, r.checkpoint_id).await?;
            let kind = if qty.is_some() { EventKind::ResupplyApproved } else { EventKind::ResupplyRejected };
            let e = resupply_event(kind, &cp, &r);
            Ok((Outcome::Resupply(r), vec![e]))
        }
        Command::DispatchResupply { id } => {
            let r = resupply(conn, *id).await?;
            supplies::resupply_step(r.state, ResupplyState::Dispatched).map_err(StoreError::Invalid)?;
            set_state(conn, *id, ResupplyState::Dispatched, now).await?;
            let r = resupply(conn, *id).await?;
            let cp = checkpoint(conn, r.checkpoint_id).await?;
            let e = resupply_event(EventKind::ResupplyDispatched, &cp, &r);
            Ok((Outcome::Resupply(r), vec![e]))
        }
        Command::ConfirmResupply { id } => {
            let user = who(actor)?;
            let r = resupply(conn, *id).await?;
            supplies::resupply_step(r.state, ResupplyState::Received).map_err(StoreError::Invalid)?;
            let cp = checkpoint(conn, r.checkpoint_id).await?;
            // The receipt is a stock movement of its own, with an id derived
            // from the request's so that it, too, happens once. Stock first:
            // a refused movement must leave the request as it was.
            let movement = RecordId::derived(*id, 1);
            let qty = r.approved_quantity.unwrap_or(r.quantity);
            let m = Movement { id: movement, item: &r.item_key, kind: MovementKind::Receipt, qty, actor: user };
            let (_, mut events) = move_stock(conn, &cp, m, now).await?;
            set_state(conn, *id, ResupplyState::Received, now).await?;
            let r = resupply(conn, *id).await?;
            events.insert(0, resupply_event(EventKind::ResupplyReceived, &cp, &r));
            Ok((Outcome::Resupply(r), events))
        }
        Command::RecordLivingCheck { id, checkpoint: cp_id, answers } => {
            let user = who(actor)?;
            let cp = checkpoint(conn, *cp_id).await?;
            if seen(conn, "living_checks", *id).await? {
                return Ok((Outcome::Done, vec![]));
            }
            let problems: Vec<serde_json::Value> = answers
                .iter()
                .filter(|(_, ok, _)| !ok)
                .map(|(a, _, note)| json!({ "aspect": a.as_str(), "note": note }))
                .collect();
            let stored: Vec<serde_json::Value> =
                answers.iter().map(|(a, ok, note)| json!({ "aspect": a.as_str(), "ok": ok, "note": note })).collect();
            sqlx::query(
                "INSERT INTO living_checks (id, checkpoint_id, author_id, at_us, answers, problems) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id.to_string())
            .bind(cp.id.0)
            .bind(user.0)
            .bind(now)
            .bind(serde_json::Value::Array(stored).to_string())
            .bind(problems.len() as i64)
            .execute(&mut *conn)
            .await?;
            let e = NewEvent::new(
                EventKind::LivingChecked,
                format!("checkpoint:{}", cp.id),
                cp.scope.clone(),
                json!({ "id": id, "checkpoint_id": cp.id, "code": cp.code, "name": cp.name, "problems": problems }),
            );
            Ok((Outcome::Done, vec![e]))
        }
        other => unreachable!("foundation commands are applied in foundation.rs, not {other:?}"),
    }
}

async fn set_state(conn: &mut AnyConnection, id: RecordId, state: ResupplyState, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE resupply_requests SET state = $1, updated_us = $2 WHERE id = $3")
        .bind(state.as_str())
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn resupply_event(kind: EventKind, cp: &Checkpoint, r: &ResupplyRequest) -> NewEvent {
    NewEvent::new(
        kind,
        format!("resupply:{}", r.id),
        cp.scope.clone(),
        json!({ "id": r.id, "checkpoint_id": cp.id, "code": cp.code, "name": cp.name, "item": r.item_key,
                "quantity": r.quantity, "approved_quantity": r.approved_quantity, "state": r.state,
                "note": r.note, "decision_note": r.decision_note }),
    )
}
