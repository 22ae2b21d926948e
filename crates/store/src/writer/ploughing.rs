//! How the writer keeps spring ploughing: a village's figures for a crop and
//! year replace the ones before (an upsert), with one `ploughing.updated`
//! event in the village's scope that carries the figures before and after —
//! the event log is the history. The domain checked the figures
//! (`PloughDraft::parse`); this file checks that the unit is a village.

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::ploughing::{Crop, PloughFigures};
use shouwang_domain::{EventKind, FieldError, NewEvent, OrgUnitId, OrgUnitKind, ScopePath};

use super::{Actor, Command, Decided, Outcome};
use crate::StoreError;
use crate::ploughing::{PLOUGHING_SELECT, Ploughing, ploughing_from};

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
        Command::PutPloughing { village, crop, year, figures } => {
            put(conn, actor, *village, *crop, *year, figures, now).await
        }
        _ => unreachable!("writer::apply routes only spring-ploughing commands here"),
    }
}

async fn row(
    conn: &mut AnyConnection,
    village: OrgUnitId,
    crop: Crop,
    year: i64,
) -> Result<Option<Ploughing>, StoreError> {
    let sql = format!("{PLOUGHING_SELECT} WHERE p.village_id = $1 AND p.crop = $2 AND p.year = $3");
    let row = sqlx::query(&sql).bind(village.0).bind(crop.as_str()).bind(year).fetch_optional(&mut *conn).await?;
    row.as_ref().map(ploughing_from).transpose()
}

async fn put(
    conn: &mut AnyConnection,
    actor: &Actor,
    village: OrgUnitId,
    crop: Crop,
    year: i64,
    f: &PloughFigures,
    now: i64,
) -> Result<Decided, StoreError> {
    let unit = sqlx::query("SELECT kind, path FROM org_units WHERE id = $1")
        .bind(village.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| invalid("village_id", "not_found"))?;
    let kind: String = unit.try_get("kind")?;
    if kind != OrgUnitKind::Village.as_str() {
        return Err(invalid("village_id", "not_a_village"));
    }
    let scope = ScopePath::from_stored(unit.try_get("path")?)?;
    let before = row(conn, village, crop, year).await?;
    sqlx::query(
        "INSERT INTO ploughing (village_id, crop, year, scope, planned_mu, sown_mu, seed_need_kg, seed_got_kg, \
         fertiliser_need_kg, fertiliser_got_kg, film_need_kg, film_got_kg, machines, note, updated_by, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (village_id, crop, year) DO UPDATE SET scope = excluded.scope, \
         planned_mu = excluded.planned_mu, sown_mu = excluded.sown_mu, seed_need_kg = excluded.seed_need_kg, \
         seed_got_kg = excluded.seed_got_kg, fertiliser_need_kg = excluded.fertiliser_need_kg, \
         fertiliser_got_kg = excluded.fertiliser_got_kg, film_need_kg = excluded.film_need_kg, \
         film_got_kg = excluded.film_got_kg, machines = excluded.machines, note = excluded.note, \
         updated_by = excluded.updated_by, updated_us = excluded.updated_us",
    )
    .bind(village.0)
    .bind(crop.as_str())
    .bind(year)
    .bind(scope.as_str())
    .bind(f.planned_mu)
    .bind(f.sown_mu)
    .bind(f.seed_need_kg)
    .bind(f.seed_got_kg)
    .bind(f.fertiliser_need_kg)
    .bind(f.fertiliser_got_kg)
    .bind(f.film_need_kg)
    .bind(f.film_got_kg)
    .bind(f.machines)
    .bind(&f.note)
    .bind(actor.id.map(|u| u.0))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let after = row(conn, village, crop, year).await?.ok_or(StoreError::NotFound)?;
    let event = NewEvent::new(
        EventKind::PloughingUpdated,
        format!("ploughing:{}:{}:{year}", village.0, crop.as_str()),
        scope,
        json!({ "village_id": village, "village": after.village, "township_id": after.township_id,
                "crop": crop, "year": year, "figures": after.figures,
                "before": before.map(|b| b.figures) }),
    );
    Ok((Outcome::Ploughing(after), vec![event]))
}
