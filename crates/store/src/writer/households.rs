//! How the writer keeps registered households: the household and its
//! members, production and its harvest, sales (never more than the unsold
//! stock: checked against the row inside the transaction, so two phones
//! selling the same stock cannot both succeed), and visits, each of which
//! moves the household's `last_visit_day`.

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::{EventKind, FieldError, HouseholdId, NewEvent, OrgUnitKind, RecordId, ScopePath, UserId};

use super::{Actor, Command, Decided, Outcome};
use crate::StoreError;
use crate::households::{
    HOUSEHOLD_COLUMNS, Household, HouseholdDraft, NewProduction, NewSale, NewVisit, PRODUCTION_COLUMNS, Production,
    SALE_COLUMNS, VISIT_COLUMNS, household_from, production_from, sale_from, sources_to_stored, visit_from,
};

fn invalid(field: &str, code: &'static str) -> StoreError {
    StoreError::Invalid(FieldError::new(field, code))
}

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    match command {
        Command::CreateHousehold(d) => {
            let village = check(conn, d, None).await?;
            create(conn, d, &village, now).await
        }
        Command::ImportHouseholds(drafts) => {
            // All or none: every row is checked before any is written.
            let mut villages = Vec::with_capacity(drafts.len());
            for (i, d) in drafts.iter().enumerate() {
                let within = |e: StoreError| match e {
                    StoreError::Invalid(f) => StoreError::Invalid(f.within(&format!("rows[{i}]"))),
                    other => other,
                };
                villages.push(check(conn, d, None).await.map_err(within)?);
                if drafts[..i].iter().any(|e| e.registry_no == d.registry_no) {
                    return Err(StoreError::Invalid(FieldError::new(format!("rows[{i}].registry_no"), "taken")));
                }
            }
            let mut stored = Vec::with_capacity(drafts.len());
            let mut events = Vec::with_capacity(drafts.len());
            for (d, village) in drafts.iter().zip(&villages) {
                let (outcome, mut new_events) = create(conn, d, village, now).await?;
                stored.push(outcome.into_household()?);
                events.append(&mut new_events);
            }
            Ok((Outcome::Households(stored), events))
        }
        Command::UpdateHousehold { id, draft } => update(conn, *id, draft, now).await,
        Command::RecordVisit(v) => visit(conn, actor.person()?, v, now).await,
        Command::RecordProduction(p) => produce(conn, actor.person()?, p, now).await,
        Command::UpdateHarvest { id, harvested } => harvest(conn, *id, *harvested, now).await,
        Command::RecordSale(s) => sell(conn, actor.person()?, s, now).await,
        _ => unreachable!("households::apply is only given household commands"),
    }
}

async fn household(conn: &mut AnyConnection, id: HouseholdId) -> Result<Household, StoreError> {
    let sql = format!("SELECT {HOUSEHOLD_COLUMNS} WHERE h.id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *conn).await?;
    household_from(&row.ok_or(StoreError::NotFound)?)
}

/// Checks what a draft points at (a village, a helper) and that its number
/// is free (for `except`'s own); returns the village's path.
async fn check(
    conn: &mut AnyConnection,
    d: &HouseholdDraft,
    except: Option<HouseholdId>,
) -> Result<ScopePath, StoreError> {
    let unit = sqlx::query("SELECT kind, path FROM org_units WHERE id = $1")
        .bind(d.village.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| invalid("village_id", "not_found"))?;
    if unit.try_get::<&str, _>("kind")? != OrgUnitKind::Village.as_str() {
        return Err(invalid("village_id", "not_a_village"));
    }
    if let Some(helper) = d.helper {
        let found = sqlx::query("SELECT 1 FROM users WHERE id = $1").bind(helper.0).fetch_optional(&mut *conn).await?;
        if found.is_none() {
            return Err(invalid("helper_id", "not_found"));
        }
    }
    let taken = sqlx::query("SELECT id FROM households WHERE registry_no = $1")
        .bind(d.registry_no.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<i64, _>("id"))
        .transpose()?;
    if taken.is_some_and(|t| Some(HouseholdId(t)) != except) {
        return Err(invalid("registry_no", "taken"));
    }
    Ok(ScopePath::from_stored(unit.try_get("path")?)?)
}

fn members_json(d: &HouseholdDraft) -> Result<String, StoreError> {
    let stored: Vec<_> = d.members.iter().map(|m| m.to_stored()).collect();
    serde_json::to_string(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn able(d: &HouseholdDraft) -> i64 {
    d.members.iter().filter(|m| m.ability != shouwang_domain::household::WorkAbility::None).count() as i64
}

fn household_event(kind: EventKind, h: &Household, extra: serde_json::Value) -> NewEvent {
    // The payload carries no names: events are seen by anyone in scope.
    let mut payload = json!({
        "id": h.id, "registry_no": h.registry_no, "village_id": h.village_id, "village": h.village_name,
        "status": h.status, "members": h.members.len(), "helper_id": h.helper_id,
    });
    if let (Some(p), Some(x)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(x.clone());
    }
    NewEvent::new(kind, format!("household:{}", h.id), h.scope.clone(), payload)
}

async fn create(
    conn: &mut AnyConnection,
    d: &HouseholdDraft,
    village: &ScopePath,
    now: i64,
) -> Result<Decided, StoreError> {
    // The scope needs the id: insert under a placeholder unique to this
    // row, then set it.
    let placeholder = format!("{}pending{}", village.as_str(), d.registry_no.as_str());
    let row = sqlx::query(
        "INSERT INTO households (registry_no, village_id, scope, head_name, phone, members, members_count, \
         able_count, status, income_sources, helper_id, note, created_us, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
    )
    .bind(d.registry_no.as_str())
    .bind(d.village.0)
    .bind(&placeholder)
    .bind(d.members[d.head].name.expose())
    .bind(d.phone.as_ref().map_or("", |p| p.expose()))
    .bind(members_json(d)?)
    .bind(d.members.len() as i64)
    .bind(able(d))
    .bind(d.status.as_str())
    .bind(sources_to_stored(&d.income_sources))
    .bind(d.helper.map(|u| u.0))
    .bind(&d.note)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id = HouseholdId(row.try_get("id")?);
    sqlx::query("UPDATE households SET scope = $1 WHERE id = $2")
        .bind(village.segment(&format!("h{id}")).as_str())
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let stored = household(conn, id).await?;
    let event = household_event(EventKind::HouseholdCreated, &stored, json!({}));
    Ok((Outcome::Household(stored), vec![event]))
}

async fn update(
    conn: &mut AnyConnection,
    id: HouseholdId,
    d: &HouseholdDraft,
    now: i64,
) -> Result<Decided, StoreError> {
    let before = household(conn, id).await?;
    let village = check(conn, d, Some(id)).await?;
    sqlx::query(
        "UPDATE households SET registry_no = $1, village_id = $2, scope = $3, head_name = $4, phone = $5, \
         members = $6, members_count = $7, able_count = $8, status = $9, income_sources = $10, helper_id = $11, \
         note = $12, updated_us = $13 WHERE id = $14",
    )
    .bind(d.registry_no.as_str())
    .bind(d.village.0)
    .bind(village.segment(&format!("h{id}")).as_str())
    .bind(d.members[d.head].name.expose())
    .bind(d.phone.as_ref().map_or("", |p| p.expose()))
    .bind(members_json(d)?)
    .bind(d.members.len() as i64)
    .bind(able(d))
    .bind(d.status.as_str())
    .bind(sources_to_stored(&d.income_sources))
    .bind(d.helper.map(|u| u.0))
    .bind(&d.note)
    .bind(now)
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    if before.village_id != d.village {
        // Its difficulties move with it.
        sqlx::query("UPDATE tickets SET scope = $1 WHERE household_id = $2")
            .bind(village.segment(&format!("h{id}")).as_str())
            .bind(id.0)
            .execute(&mut *conn)
            .await?;
    }
    let after = household(conn, id).await?;
    let event = household_event(EventKind::HouseholdUpdated, &after, json!({ "status_before": before.status }));
    Ok((Outcome::Household(after), vec![event]))
}

async fn visit(conn: &mut AnyConnection, who: UserId, v: &NewVisit, now: i64) -> Result<Decided, StoreError> {
    let sql = format!("SELECT {VISIT_COLUMNS} WHERE v.id = $1");
    if let Some(old) = sqlx::query(&sql).bind(v.id.to_string()).fetch_optional(&mut *conn).await? {
        let old = visit_from(&old)?;
        if old.cadre_id != who || old.household_id != v.household {
            return Err(invalid("id", "taken"));
        }
        return Ok((Outcome::Visit { visit: old, created: false }, Vec::new()));
    }
    let h = household(conn, v.household).await.map_err(|e| match e {
        StoreError::NotFound => invalid("household_id", "not_found"),
        other => other,
    })?;
    sqlx::query(
        "INSERT INTO visits (id, household_id, cadre_id, day, found, promised, recorded_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(v.id.to_string())
    .bind(h.id.0)
    .bind(who.0)
    .bind(v.day)
    .bind(&v.found)
    .bind(&v.promised)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    // A visit logged late for an earlier day never moves the date back.
    sqlx::query(
        "UPDATE households SET last_visit_day = $1 WHERE id = $2 AND (last_visit_day IS NULL OR last_visit_day < $1)",
    )
    .bind(v.day)
    .bind(h.id.0)
    .execute(&mut *conn)
    .await?;
    let stored = visit_from(&sqlx::query(&sql).bind(v.id.to_string()).fetch_one(&mut *conn).await?)?;
    let event = household_event(
        EventKind::HouseholdVisited,
        &h,
        json!({ "visit_id": stored.id, "day": v.day, "cadre_id": who, "promised": !v.promised.is_empty() }),
    );
    Ok((Outcome::Visit { visit: stored, created: true }, vec![event]))
}

async fn production(conn: &mut AnyConnection, id: RecordId) -> Result<Option<Production>, StoreError> {
    let sql = format!("SELECT {PRODUCTION_COLUMNS} WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    row.as_ref().map(production_from).transpose()
}

fn production_event(h: &Household, p: &Production, extra: serde_json::Value) -> NewEvent {
    let mut payload = json!({
        "id": p.id, "household_id": h.id, "village": h.village_name, "kind": p.kind, "scale": p.scale,
        "expected_output": p.expected_output, "harvested": p.harvested, "sold": p.sold, "unsold": p.unsold,
    });
    if let (Some(o), Some(x)) = (payload.as_object_mut(), extra.as_object()) {
        o.extend(x.clone());
    }
    NewEvent::new(EventKind::ProductionRecorded, format!("household:{}", h.id), h.scope.clone(), payload)
}

async fn produce(conn: &mut AnyConnection, who: UserId, p: &NewProduction, now: i64) -> Result<Decided, StoreError> {
    if let Some(old) = production(conn, p.id).await? {
        if old.household_id != p.household {
            return Err(invalid("id", "taken"));
        }
        return Ok((Outcome::Production { production: old, created: false }, Vec::new()));
    }
    let h = household(conn, p.household).await.map_err(|e| match e {
        StoreError::NotFound => invalid("household_id", "not_found"),
        other => other,
    })?;
    sqlx::query(
        "INSERT INTO production (id, household_id, kind, scale, expected_output, expected_day, note, recorded_by, \
         created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(p.id.to_string())
    .bind(h.id.0)
    .bind(p.kind.as_str())
    .bind(p.scale)
    .bind(p.expected_output)
    .bind(p.expected_day)
    .bind(&p.note)
    .bind(who.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let stored = production(conn, p.id).await?.ok_or(StoreError::NotFound)?;
    let event = production_event(&h, &stored, json!({ "created": true }));
    Ok((Outcome::Production { production: stored, created: true }, vec![event]))
}

async fn harvest(conn: &mut AnyConnection, id: RecordId, harvested: i64, now: i64) -> Result<Decided, StoreError> {
    let p = production(conn, id).await?.ok_or(StoreError::NotFound)?;
    if harvested < p.sold {
        return Err(StoreError::Invalid(FieldError::new("harvested", "below_sold").arg("sold", p.sold)));
    }
    sqlx::query("UPDATE production SET harvested = $1, updated_us = $2 WHERE id = $3")
        .bind(harvested)
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let h = household(conn, p.household_id).await?;
    let after = production(conn, id).await?.ok_or(StoreError::NotFound)?;
    let event = production_event(&h, &after, json!({ "harvested_before": p.harvested }));
    Ok((Outcome::Production { production: after, created: true }, vec![event]))
}

async fn sell(conn: &mut AnyConnection, who: UserId, s: &NewSale, now: i64) -> Result<Decided, StoreError> {
    let sql = format!("SELECT {SALE_COLUMNS} WHERE id = $1");
    if let Some(old) = sqlx::query(&sql).bind(s.id.to_string()).fetch_optional(&mut *conn).await? {
        let old = sale_from(&old)?;
        if old.production_id != s.production {
            return Err(invalid("id", "taken"));
        }
        return Ok((Outcome::Sale { sale: old, created: false }, Vec::new()));
    }
    let p = production(conn, s.production).await?.ok_or_else(|| invalid("production_id", "not_found"))?;
    if s.quantity > p.unsold {
        return Err(StoreError::Invalid(FieldError::new("quantity", "above_stock").arg("stock", p.unsold)));
    }
    // Guarded by the stock as it stands, should another sale have landed
    // since the read above.
    let moved =
        sqlx::query("UPDATE production SET sold = sold + $1, updated_us = $2 WHERE id = $3 AND harvested - sold >= $1")
            .bind(s.quantity)
            .bind(now)
            .bind(p.id.to_string())
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if moved != 1 {
        return Err(StoreError::Invalid(FieldError::new("quantity", "above_stock").arg("stock", p.unsold)));
    }
    sqlx::query(
        "INSERT INTO sales (id, production_id, household_id, day, quantity, price_fen, channel, buyer, recorded_by, \
         recorded_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(s.id.to_string())
    .bind(p.id.to_string())
    .bind(p.household_id.0)
    .bind(s.day)
    .bind(s.quantity)
    .bind(s.price_fen)
    .bind(s.channel.as_str())
    .bind(&s.buyer)
    .bind(who.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let stored = sale_from(&sqlx::query(&sql).bind(s.id.to_string()).fetch_one(&mut *conn).await?)?;
    let h = household(conn, p.household_id).await?;
    let after = production(conn, p.id).await?.ok_or(StoreError::NotFound)?;
    let mut event = production_event(
        &h,
        &after,
        json!({ "sale_id": stored.id, "quantity": s.quantity, "price_fen": s.price_fen, "channel": s.channel }),
    );
    event.kind = EventKind::ProduceSold;
    Ok((Outcome::Sale { sale: stored, created: true }, vec![event]))
}
