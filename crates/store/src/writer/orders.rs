//! How the writer keeps orders and roll calls: issuing one delivers a
//! receipt to every recipient; each receipt then moves delivered → read →
//! acknowledged → reported, each step once, with its event in the
//! recipient's scope so their phone and HQ's board hear of it.
//!
//! Resending an issued order returns it; reading twice changes nothing;
//! acknowledging twice, answering a revoked order or acknowledging a version
//! amended since are refused with `Conflict`, so nothing is written.

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::attachment::AttachmentType;
use shouwang_domain::order::{OrderState, ReceiptState};
use shouwang_domain::{EventKind, FieldError, NewEvent, RecordId, UserId};

use super::{Actor, Command, Decided, Outcome, dangling_key};
use crate::StoreError;
use crate::calls::Bind;
use crate::orders::{NewOrder, ORDER_COLUMNS, OrderRecord, Receipt, ReceiptChange, orders_where};

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    let who = || actor.person();
    match command {
        Command::IssueOrder(new) => issue(conn, who()?, new, now).await,
        Command::OrderReceipt { order, user, change } => {
            if who()? != *user {
                return Err(StoreError::Invalid(FieldError::new("order", "not_a_recipient")));
            }
            receipt(conn, *order, *user, change, now).await
        }
        Command::AmendOrder { order, body, deadline_us } => amend(conn, *order, body, *deadline_us, now).await,
        Command::RevokeOrder { order } => revoke(conn, *order, now).await,
        Command::MarkOverdue { order, users } => overdue(conn, *order, users, now).await,
        _ => unreachable!("writer::apply routes only order commands here"),
    }
}

async fn stored(conn: &mut AnyConnection, id: RecordId) -> Result<Option<OrderRecord>, StoreError> {
    let id = id.to_string();
    let sql = format!("SELECT {ORDER_COLUMNS} WHERE o.id = $1");
    Ok(orders_where(conn, &sql, &[Bind::Text(&id)]).await?.pop())
}

fn subject(order: &OrderRecord) -> String {
    format!("order:{}", order.id)
}

/// An event about one receipt, in the recipient's scope.
fn receipt_event(kind: EventKind, order: &OrderRecord, r: &Receipt) -> NewEvent {
    NewEvent::new(
        kind,
        subject(order),
        r.scope.clone(),
        json!({
            "user": r.user.0,
            "name": r.name,
            "checkpoint": r.checkpoint.map(|c| c.0),
            "kind": order.kind.as_str(),
            "title": order.title,
            "priority": order.priority.as_str(),
            "deadline_us": order.deadline_us,
            "version": order.version,
            "state": r.state.as_str(),
            "progress": order.progress(),
        }),
    )
}

/// One event of `kind` per receipt, each with the order as it now stands.
fn to_everyone(kind: EventKind, order: &OrderRecord) -> Vec<NewEvent> {
    order.receipts.iter().map(|r| receipt_event(kind, order, r)).collect()
}

async fn issue(conn: &mut AnyConnection, who: UserId, new: &NewOrder, now: i64) -> Result<Decided, StoreError> {
    if let Some(old) = stored(conn, new.id).await? {
        if old.author != who {
            return Err(StoreError::Invalid(FieldError::new("id", "taken")));
        }
        return Ok((Outcome::Order(old), Vec::new()));
    }
    if new.recipients.is_empty() {
        return Err(StoreError::Invalid(FieldError::new("targets", "no_recipients")));
    }
    if let Some(file) = new.attachment {
        own_file(conn, file, who, "attachment_id", false).await?;
    }
    let t = &new.text;
    sqlx::query(
        "INSERT INTO orders (id, kind, title, body, priority, author_id, scope, deadline_us, needs_report, \
         targets, version, state, issued_us, attachment_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, 'active', $11, $12)",
    )
    .bind(new.id.to_string())
    .bind(t.kind.as_str())
    .bind(t.title.as_str())
    .bind(&t.body)
    .bind(t.priority.as_str())
    .bind(who.0)
    .bind(new.scope.as_str())
    .bind(t.deadline_us)
    .bind(i64::from(t.needs_report))
    .bind(new.targets.to_string())
    .bind(now)
    .bind(new.attachment.map(|a| a.to_string()))
    .execute(&mut *conn)
    .await?;
    let mut seen = Vec::new();
    for r in &new.recipients {
        if seen.contains(&r.user) {
            continue;
        }
        seen.push(r.user);
        sqlx::query(
            "INSERT INTO order_receipts (order_id, user_id, checkpoint_id, scope, state, delivered_us) \
             VALUES ($1, $2, $3, $4, 'delivered', $5)",
        )
        .bind(new.id.to_string())
        .bind(r.user.0)
        .bind(r.checkpoint.map(|c| c.0))
        .bind(r.scope.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(dangling_key("targets"))?;
    }
    let order = stored(conn, new.id).await?.ok_or(StoreError::NotFound)?;
    let mut events = vec![NewEvent::new(
        EventKind::OrderIssued,
        subject(&order),
        order.scope.clone(),
        json!({
            "kind": order.kind.as_str(),
            "title": order.title,
            "priority": order.priority.as_str(),
            "deadline_us": order.deadline_us,
            "needs_report": order.needs_report,
            "author": order.author_name,
            "progress": order.progress(),
        }),
    )];
    events.extend(to_everyone(EventKind::OrderDelivered, &order));
    Ok((Outcome::Order(order), events))
}

/// Refuses, by `field`, a file that is not there, not `who`'s own upload,
/// or (for a photo) not a picture.
async fn own_file(
    conn: &mut AnyConnection,
    id: RecordId,
    who: UserId,
    field: &'static str,
    image_only: bool,
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT owner_id, content_type FROM attachments WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Err(StoreError::Invalid(FieldError::new(field, "not_found"))) };
    if UserId(row.try_get("owner_id")?) != who {
        return Err(StoreError::Invalid(FieldError::new(field, "not_found")));
    }
    let kind = AttachmentType::parse(field, row.try_get("content_type")?)?;
    if image_only && !kind.is_image() {
        return Err(StoreError::Invalid(FieldError::new(field, "not_an_image")));
    }
    Ok(())
}

async fn receipt(
    conn: &mut AnyConnection,
    id: RecordId,
    user: UserId,
    change: &ReceiptChange,
    now: i64,
) -> Result<Decided, StoreError> {
    let order = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    let Some(r) = order.receipt(user) else {
        return Err(StoreError::Invalid(FieldError::new("order", "not_a_recipient")));
    };
    if order.state == OrderState::Revoked {
        return Err(StoreError::Conflict { field: "order" });
    }
    let order_id = id.to_string();
    let kind = match change {
        ReceiptChange::Read if r.read_us.is_some() => return Ok((Outcome::Order(order), Vec::new())),
        ReceiptChange::Read => {
            // Reading never moves a receipt back (an amended order that was
            // acknowledged before is "read" again already).
            let state = if r.state == ReceiptState::Delivered { ReceiptState::Read } else { r.state };
            sqlx::query("UPDATE order_receipts SET read_us = $1, state = $2 WHERE order_id = $3 AND user_id = $4")
                .bind(now)
                .bind(state.as_str())
                .bind(&order_id)
                .bind(user.0)
                .execute(&mut *conn)
                .await?;
            EventKind::OrderRead
        }
        ReceiptChange::Acknowledge { version, .. } if *version != order.version => {
            return Err(StoreError::Conflict { field: "version" });
        }
        ReceiptChange::Acknowledge { .. } if r.state.is_acknowledged() => {
            return Err(StoreError::Conflict { field: "state" });
        }
        ReceiptChange::Acknowledge { version, location, photo } => {
            if let Some(file) = photo {
                own_file(conn, *file, user, "photo_id", true).await?;
            }
            sqlx::query(
                "UPDATE order_receipts SET state = 'acknowledged', read_us = COALESCE(read_us, $1), acked_us = $1, \
                 acked_version = $2, lat = $3, lon = $4, photo_id = COALESCE($5, photo_id) \
                 WHERE order_id = $6 AND user_id = $7",
            )
            .bind(now)
            .bind(*version)
            .bind(location.map(|l| l.0))
            .bind(location.map(|l| l.1))
            .bind(photo.map(|p| p.to_string()))
            .bind(&order_id)
            .bind(user.0)
            .execute(&mut *conn)
            .await?;
            EventKind::OrderAcknowledged
        }
        ReceiptChange::Report { .. } if !order.needs_report => {
            return Err(StoreError::Invalid(FieldError::new("report", "not_asked_for")));
        }
        ReceiptChange::Report { .. } if r.state != ReceiptState::Acknowledged => {
            return Err(StoreError::Conflict { field: "state" });
        }
        ReceiptChange::Report { text, photo } => {
            if let Some(file) = photo {
                own_file(conn, *file, user, "photo_id", true).await?;
            }
            sqlx::query(
                "UPDATE order_receipts SET state = 'reported', reported_us = $1, report = $2, \
                 photo_id = COALESCE($3, photo_id) WHERE order_id = $4 AND user_id = $5",
            )
            .bind(now)
            .bind(text)
            .bind(photo.map(|p| p.to_string()))
            .bind(&order_id)
            .bind(user.0)
            .execute(&mut *conn)
            .await?;
            EventKind::OrderReported
        }
    };
    let after = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    let r = after.receipt(user).ok_or(StoreError::NotFound)?;
    let mut event = receipt_event(kind, &after, r);
    if let (EventKind::OrderAcknowledged, Some((lat, lon))) = (kind, r.location) {
        event.payload["lat"] = json!(lat);
        event.payload["lon"] = json!(lon);
    }
    let events = vec![event];
    Ok((Outcome::Order(after), events))
}

async fn amend(
    conn: &mut AnyConnection,
    id: RecordId,
    body: &str,
    deadline_us: i64,
    now: i64,
) -> Result<Decided, StoreError> {
    let order = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    if order.state == OrderState::Revoked {
        return Err(StoreError::Conflict { field: "order" });
    }
    let order_id = id.to_string();
    sqlx::query("UPDATE orders SET body = $1, deadline_us = $2, version = version + 1, amended_us = $3 WHERE id = $4")
        .bind(body)
        .bind(deadline_us)
        .bind(now)
        .bind(&order_id)
        .execute(&mut *conn)
        .await?;
    // Everyone acknowledges the new version; a new deadline may go overdue
    // again.
    sqlx::query(
        "UPDATE order_receipts SET state = CASE WHEN read_us IS NULL THEN 'delivered' ELSE 'read' END, \
         acked_us = NULL, reported_us = NULL, report = NULL, overdue_us = NULL, photo_id = NULL \
         WHERE order_id = $1",
    )
    .bind(&order_id)
    .execute(&mut *conn)
    .await?;
    let after = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    let events = to_everyone(EventKind::OrderAmended, &after);
    Ok((Outcome::Order(after), events))
}

async fn revoke(conn: &mut AnyConnection, id: RecordId, now: i64) -> Result<Decided, StoreError> {
    let order = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    if order.state == OrderState::Revoked {
        return Ok((Outcome::Order(order), Vec::new()));
    }
    sqlx::query("UPDATE orders SET state = 'revoked', revoked_us = $1 WHERE id = $2")
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let after = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    let events = to_everyone(EventKind::OrderRevoked, &after);
    Ok((Outcome::Order(after), events))
}

async fn overdue(
    conn: &mut AnyConnection,
    id: RecordId,
    users: &[(UserId, Option<UserId>)],
    now: i64,
) -> Result<Decided, StoreError> {
    let order = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    if order.state == OrderState::Revoked || order.deadline_us > now {
        return Ok((Outcome::Order(order), Vec::new()));
    }
    // Raised once: only receipts still unacknowledged and not yet overdue.
    let due: Vec<(UserId, Option<UserId>)> = users
        .iter()
        .copied()
        .filter(|(u, _)| order.receipt(*u).is_some_and(|r| !r.state.is_acknowledged() && r.overdue_us.is_none()))
        .collect();
    for (user, supervisor) in &due {
        sqlx::query(
            "UPDATE order_receipts SET overdue_us = $1, escalated_to = $2 WHERE order_id = $3 AND user_id = $4",
        )
        .bind(now)
        .bind(supervisor.map(|s| s.0))
        .bind(id.to_string())
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(dangling_key("supervisor"))?;
    }
    let after = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    let mut events = Vec::new();
    for r in after.receipts.iter().filter(|r| due.iter().any(|(u, _)| *u == r.user)) {
        events.push(receipt_event(EventKind::OrderOverdue, &after, r));
        // The supervisor hears of it in their own scope, addressed to them.
        if let Some((boss, boss_name)) = &r.escalated_to {
            let scope: String = sqlx::query("SELECT scope FROM users WHERE id = $1")
                .bind(boss.0)
                .fetch_one(&mut *conn)
                .await?
                .try_get("scope")?;
            let mut e = receipt_event(EventKind::OrderEscalated, &after, r);
            e.scope = shouwang_domain::ScopePath::from_stored(&scope)?;
            e.payload["user"] = json!(boss.0);
            e.payload["supervisor"] = json!(boss_name);
            e.payload["overdue_user"] = json!(r.user.0);
            e.payload["person"] = json!(r.name);
            events.push(e);
        }
    }
    Ok((Outcome::Order(after), events))
}
