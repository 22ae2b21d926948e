//! Labour export as stored: the labour pool, employers' demand, placements
//! and transport batches with their passengers, and the reads the pages and
//! the rural dashboard need. The writes are in `writer/labour.rs`; the rules
//! (what a worker or a demand may say, who fits a demand best, when a batch
//! may leave) are the domain's (`shouwang_domain::labour`).
//!
//! Who sees what: workers, placements and batches within the reader's
//! scope (a worker's is its village's path, a placement's its worker's, a
//! batch's its organising township's); demand is public to every reader in
//! the county, since job openings are meant to be seen.
//!
//! Names and phones are personal data: records hold them as
//! [`PersonName`] and [`MobilePhone`], whose `Debug` masks them; the API
//! decides who sees them whole.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use shouwang_domain::labour::{BatchState, HealthStatus, PlacementState, Region, Skill};
use shouwang_domain::screening::{MobilePhone, PersonName, PlateNumber};
use shouwang_domain::{
    BatchId, DemandId, EnterpriseId, FieldError, HouseholdId, OrgUnitId, PlacementId, ScopePath, UserId, WorkerId,
};

use crate::{Store, StoreError, now_us};

/// A worker in the labour pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    /// Its id.
    pub id: WorkerId,
    /// Their village.
    pub village_id: OrgUnitId,
    /// That village's name.
    pub village_name: String,
    /// The registered household they come from.
    pub household_id: Option<HouseholdId>,
    /// The village's path.
    pub scope: ScopePath,
    /// Full name.
    pub name: PersonName,
    /// Mobile number.
    pub phone: Option<MobilePhone>,
    /// Age in years.
    pub age: i64,
    /// What they can do.
    pub skills: Vec<Skill>,
    /// Health.
    pub health: HealthStatus,
    /// The last health check.
    pub last_check_day: i64,
    /// Available from.
    pub available_day: i64,
    /// Where they would go.
    pub destinations: Vec<Region>,
    /// Anything else.
    pub note: String,
    /// When they joined the pool.
    pub created_us: i64,
    /// When their details last changed.
    pub updated_us: i64,
}

/// Positions an employer offers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Demand {
    /// Its id.
    pub id: DemandId,
    /// The local enterprise offering them.
    pub enterprise_id: Option<EnterpriseId>,
    /// The employer's name (the enterprise's, for a local one).
    pub employer: String,
    /// Its scope: the enterprise's, or the poster's.
    pub scope: ScopePath,
    /// Where the work is.
    pub location: String,
    /// How far that is.
    pub region: Region,
    /// How many positions.
    pub positions: i64,
    /// Skills asked for; empty: anyone.
    pub skills: Vec<Skill>,
    /// Monthly pay, yuan.
    pub pay_yuan_month: i64,
    /// First day.
    pub start_day: i64,
    /// Last day; `None`: open-ended.
    pub end_day: Option<i64>,
    /// Housing provided.
    pub accommodation: bool,
    /// Anything else.
    pub note: String,
    /// Who posted it.
    pub posted_by: Option<UserId>,
    /// Live (not cancelled) placements in it.
    pub filled: i64,
    /// When it was posted.
    pub created_us: i64,
    /// When it last changed.
    pub updated_us: i64,
}

/// A worker placed in a demand's positions.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Its id.
    pub id: PlacementId,
    /// Who.
    pub worker_id: WorkerId,
    /// Their name.
    pub worker_name: PersonName,
    /// Their village's name.
    pub village_name: String,
    /// In which demand.
    pub demand_id: DemandId,
    /// The employer's name.
    pub employer: String,
    /// Where the work is.
    pub location: String,
    /// How far.
    pub region: Region,
    /// The worker's scope.
    pub scope: ScopePath,
    /// First day (the demand's).
    pub start_day: i64,
    /// Last day (the demand's).
    pub end_day: Option<i64>,
    /// Where it stands.
    pub state: PlacementState,
    /// The batch taking the worker there, if any.
    pub batch_id: Option<BatchId>,
    /// When the township confirmed it.
    pub confirmed_us: i64,
    /// When it last changed.
    pub updated_us: i64,
}

/// One passenger of a batch and their check before departure.
#[derive(Debug, Clone, PartialEq)]
pub struct Passenger {
    /// The placement they travel for.
    pub placement_id: PlacementId,
    /// Who.
    pub worker_id: WorkerId,
    /// Their name.
    pub worker_name: PersonName,
    /// The demand they are placed in.
    pub demand_id: DemandId,
    /// The employer.
    pub employer: String,
    /// The demand's scope (the receiving side).
    pub demand_scope: ScopePath,
    /// When they were checked; `None`: not yet.
    pub checked_us: Option<i64>,
    /// The temperature taken, tenths of a degree.
    pub temperature_tenths: Option<i64>,
    /// Whether they passed (below 37.3 °C).
    pub passed: Option<bool>,
}

/// An organised point-to-point transport batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Its id.
    pub id: BatchId,
    /// The township (or higher) organising it.
    pub org_unit_id: OrgUnitId,
    /// That unit's name.
    pub org_unit_name: String,
    /// That unit's path.
    pub scope: ScopePath,
    /// The day of departure.
    pub day: i64,
    /// Where it leaves from.
    pub origin: String,
    /// Where it goes.
    pub destination: String,
    /// The vehicle's plate.
    pub plate: String,
    /// Seats for passengers.
    pub seats: i64,
    /// Where it stands.
    pub state: BatchState,
    /// When it was planned.
    pub planned_us: i64,
    /// When it left.
    pub departed_us: Option<i64>,
    /// When the receiving side confirmed arrival.
    pub arrived_us: Option<i64>,
    /// The passengers, in the order they were added.
    pub passengers: Vec<Passenger>,
}

/// A batch as planned.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBatch {
    /// The township (or county) organising it; its path is the batch's scope.
    pub org_unit: OrgUnitId,
    /// The day of departure.
    pub day: i64,
    /// Where it leaves from, 1–60 characters.
    pub origin: String,
    /// Where it goes, 1–60 characters.
    pub destination: String,
    /// The vehicle.
    pub plate: PlateNumber,
    /// Seats for passengers, 1–60.
    pub seats: i64,
    /// The placements travelling, in order.
    pub passengers: Vec<PlacementId>,
}

fn list<T>(raw: &str, parse: fn(&str, &str) -> Result<T, FieldError>) -> Result<Vec<T>, StoreError> {
    raw.split(',').filter(|s| !s.is_empty()).map(|s| parse("list", s).map_err(StoreError::from)).collect()
}

/// The stored form of a list of choices.
pub(crate) fn joined<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> String {
    items.iter().map(|i| name(*i)).collect::<Vec<_>>().join(",")
}

pub(crate) const WORKER_COLUMNS: &str = "w.id, w.village_id, v.name AS village_name, w.household_id, w.scope, w.name, \
    w.phone, w.age, w.skills, w.health, w.last_check_day, w.available_day, w.destinations, w.note, w.created_us, \
    w.updated_us FROM workers w JOIN org_units v ON v.id = w.village_id";

pub(crate) fn worker_from(row: &AnyRow) -> Result<Worker, StoreError> {
    let phone: String = row.try_get("phone")?;
    Ok(Worker {
        id: WorkerId(row.try_get("id")?),
        village_id: OrgUnitId(row.try_get("village_id")?),
        village_name: row.try_get("village_name")?,
        household_id: row.try_get::<Option<i64>, _>("household_id")?.map(HouseholdId),
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        name: PersonName::parse("name", row.try_get("name")?)?,
        phone: if phone.is_empty() { None } else { Some(MobilePhone::parse("phone", &phone)?) },
        age: row.try_get("age")?,
        skills: list(row.try_get("skills")?, Skill::parse)?,
        health: HealthStatus::parse("health", row.try_get("health")?)?,
        last_check_day: row.try_get("last_check_day")?,
        available_day: row.try_get("available_day")?,
        destinations: list(row.try_get("destinations")?, Region::parse)?,
        note: row.try_get("note")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

pub(crate) const DEMAND_COLUMNS: &str = "d.id, d.enterprise_id, d.employer, d.scope, d.location, d.region, d.positions, \
    d.skills, d.pay_yuan_month, d.start_day, d.end_day, d.accommodation, d.note, d.posted_by, d.created_us, \
    d.updated_us, (SELECT COUNT(*) FROM placements p WHERE p.demand_id = d.id AND p.state <> 'cancelled') AS filled \
    FROM labour_demand d";

pub(crate) fn demand_from(row: &AnyRow) -> Result<Demand, StoreError> {
    Ok(Demand {
        id: DemandId(row.try_get("id")?),
        enterprise_id: row.try_get::<Option<i64>, _>("enterprise_id")?.map(EnterpriseId),
        employer: row.try_get("employer")?,
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        location: row.try_get("location")?,
        region: Region::parse("region", row.try_get("region")?)?,
        positions: row.try_get("positions")?,
        skills: list(row.try_get("skills")?, Skill::parse)?,
        pay_yuan_month: row.try_get("pay_yuan_month")?,
        start_day: row.try_get("start_day")?,
        end_day: row.try_get("end_day")?,
        accommodation: row.try_get::<i64, _>("accommodation")? != 0,
        note: row.try_get("note")?,
        posted_by: row.try_get::<Option<i64>, _>("posted_by")?.map(UserId),
        filled: row.try_get("filled")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

pub(crate) const PLACEMENT_COLUMNS: &str = "p.id, p.worker_id, w.name AS worker_name, v.name AS village_name, \
    p.demand_id, d.employer, d.location, d.region, p.scope, p.start_day, p.end_day, p.state, bp.batch_id, \
    p.confirmed_us, p.updated_us FROM placements p JOIN workers w ON w.id = p.worker_id \
    JOIN org_units v ON v.id = w.village_id JOIN labour_demand d ON d.id = p.demand_id \
    LEFT JOIN batch_passengers bp ON bp.placement_id = p.id";

pub(crate) fn placement_from(row: &AnyRow) -> Result<Placement, StoreError> {
    Ok(Placement {
        id: PlacementId(row.try_get("id")?),
        worker_id: WorkerId(row.try_get("worker_id")?),
        worker_name: PersonName::parse("name", row.try_get("worker_name")?)?,
        village_name: row.try_get("village_name")?,
        demand_id: DemandId(row.try_get("demand_id")?),
        employer: row.try_get("employer")?,
        location: row.try_get("location")?,
        region: Region::parse("region", row.try_get("region")?)?,
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        start_day: row.try_get("start_day")?,
        end_day: row.try_get("end_day")?,
        state: PlacementState::parse("state", row.try_get("state")?)?,
        batch_id: row.try_get::<Option<i64>, _>("batch_id")?.map(BatchId),
        confirmed_us: row.try_get("confirmed_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

pub(crate) async fn worker(conn: &mut AnyConnection, id: WorkerId) -> Result<Worker, StoreError> {
    let sql = format!("SELECT {WORKER_COLUMNS} WHERE w.id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *conn).await?;
    worker_from(&row.ok_or(StoreError::NotFound)?)
}

pub(crate) async fn demand(conn: &mut AnyConnection, id: DemandId) -> Result<Demand, StoreError> {
    let sql = format!("SELECT {DEMAND_COLUMNS} WHERE d.id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *conn).await?;
    demand_from(&row.ok_or(StoreError::NotFound)?)
}

pub(crate) async fn placement(conn: &mut AnyConnection, id: PlacementId) -> Result<Placement, StoreError> {
    let sql = format!("SELECT {PLACEMENT_COLUMNS} WHERE p.id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *conn).await?;
    placement_from(&row.ok_or(StoreError::NotFound)?)
}

pub(crate) async fn batch(conn: &mut AnyConnection, id: BatchId) -> Result<Batch, StoreError> {
    let row = sqlx::query(
        "SELECT b.id, b.org_unit_id, o.name AS org_unit_name, b.scope, b.day, b.origin, b.destination, b.plate, \
         b.seats, b.state, b.planned_us, b.departed_us, b.arrived_us FROM transport_batches b \
         JOIN org_units o ON o.id = b.org_unit_id WHERE b.id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let rows = sqlx::query(
        "SELECT bp.placement_id, p.worker_id, w.name, p.demand_id, d.employer, d.scope AS demand_scope, \
         bp.checked_us, bp.temperature_tenths, bp.passed FROM batch_passengers bp \
         JOIN placements p ON p.id = bp.placement_id JOIN workers w ON w.id = p.worker_id \
         JOIN labour_demand d ON d.id = p.demand_id WHERE bp.batch_id = $1 ORDER BY bp.position",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    let passengers = rows
        .iter()
        .map(|r| {
            Ok(Passenger {
                placement_id: PlacementId(r.try_get("placement_id")?),
                worker_id: WorkerId(r.try_get("worker_id")?),
                worker_name: PersonName::parse("name", r.try_get("name")?)?,
                demand_id: DemandId(r.try_get("demand_id")?),
                employer: r.try_get("employer")?,
                demand_scope: ScopePath::from_stored(r.try_get("demand_scope")?)?,
                checked_us: r.try_get("checked_us")?,
                temperature_tenths: r.try_get("temperature_tenths")?,
                passed: r.try_get::<Option<i64>, _>("passed")?.map(|p| p != 0),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Batch {
        id,
        org_unit_id: OrgUnitId(row.try_get("org_unit_id")?),
        org_unit_name: row.try_get("org_unit_name")?,
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        day: row.try_get("day")?,
        origin: row.try_get("origin")?,
        destination: row.try_get("destination")?,
        plate: row.try_get("plate")?,
        seats: row.try_get("seats")?,
        state: BatchState::parse("state", row.try_get("state")?)?,
        planned_us: row.try_get("planned_us")?,
        departed_us: row.try_get("departed_us")?,
        arrived_us: row.try_get("arrived_us")?,
        passengers,
    })
}

/// A week's Monday (days since 1970-01-01, a Thursday).
pub fn monday_of(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

impl Store {
    /// One worker.
    pub async fn worker(&self, id: WorkerId) -> Result<Worker, StoreError> {
        worker(&mut *self.pool.acquire().await?, id).await
    }

    /// The workers within `scope`, by village and name (at most 2000).
    pub async fn workers_within(&self, scope: &ScopePath) -> Result<Vec<Worker>, StoreError> {
        let sql =
            format!("SELECT {WORKER_COLUMNS} WHERE w.scope >= $1 AND w.scope < $2 ORDER BY v.name, w.name LIMIT 2000");
        let rows = sqlx::query(&sql).bind(scope.as_str()).bind(scope.upper_bound()).fetch_all(&self.pool).await?;
        rows.iter().map(worker_from).collect()
    }

    /// The days each worker within `scope` is held by a live placement:
    /// `(worker, start, end)`.
    pub async fn busy_within(&self, scope: &ScopePath) -> Result<Vec<(WorkerId, i64, Option<i64>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT worker_id, start_day, end_day FROM placements \
             WHERE state <> 'cancelled' AND scope >= $1 AND scope < $2",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((WorkerId(r.try_get("worker_id")?), r.try_get("start_day")?, r.try_get("end_day")?)))
            .collect()
    }

    /// One demand.
    pub async fn demand(&self, id: DemandId) -> Result<Demand, StoreError> {
        demand(&mut *self.pool.acquire().await?, id).await
    }

    /// Every demand (openings are public county-wide), the soonest start
    /// first; `open_only` leaves out those that started more than 30 days
    /// before `today` or are full.
    pub async fn demands(&self, today: i64, open_only: bool) -> Result<Vec<Demand>, StoreError> {
        let sql = format!("SELECT {DEMAND_COLUMNS} ORDER BY d.start_day, d.id LIMIT 1000");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let all = rows.iter().map(demand_from).collect::<Result<Vec<_>, _>>()?;
        Ok(all.into_iter().filter(|d| !open_only || (d.filled < d.positions && d.start_day >= today - 30)).collect())
    }

    /// One placement.
    pub async fn placement(&self, id: PlacementId) -> Result<Placement, StoreError> {
        placement(&mut *self.pool.acquire().await?, id).await
    }

    /// The placements within `scope`, newest first (at most 1000).
    pub async fn placements_within(&self, scope: &ScopePath) -> Result<Vec<Placement>, StoreError> {
        let sql = format!(
            "SELECT {PLACEMENT_COLUMNS} WHERE p.scope >= $1 AND p.scope < $2 ORDER BY p.confirmed_us DESC, p.id DESC \
             LIMIT 1000"
        );
        let rows = sqlx::query(&sql).bind(scope.as_str()).bind(scope.upper_bound()).fetch_all(&self.pool).await?;
        rows.iter().map(placement_from).collect()
    }

    /// The placements in a demand, oldest first.
    pub async fn placements_of_demand(&self, demand: DemandId) -> Result<Vec<Placement>, StoreError> {
        let sql = format!("SELECT {PLACEMENT_COLUMNS} WHERE p.demand_id = $1 ORDER BY p.id");
        let rows = sqlx::query(&sql).bind(demand.0).fetch_all(&self.pool).await?;
        rows.iter().map(placement_from).collect()
    }

    /// One batch with its passengers.
    pub async fn batch(&self, id: BatchId) -> Result<Batch, StoreError> {
        batch(&mut *self.pool.acquire().await?, id).await
    }

    /// The batches within `scope`, or carrying a placement within it, the
    /// latest day first (at most 200).
    pub async fn batches_within(&self, scope: &ScopePath) -> Result<Vec<Batch>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT b.id FROM transport_batches b WHERE (b.scope >= $1 AND b.scope < $2) \
             OR EXISTS (SELECT 1 FROM batch_passengers bp JOIN placements p ON p.id = bp.placement_id \
                        WHERE bp.batch_id = b.id AND p.scope >= $1 AND p.scope < $2) \
             ORDER BY b.day DESC, b.id DESC LIMIT 200",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&mut *conn)
        .await?;
        let mut found = Vec::with_capacity(rows.len());
        for r in rows {
            found.push(batch(&mut conn, BatchId(r.try_get("id")?)).await?);
        }
        Ok(found)
    }

    /// Live placements within `scope` (not cancelled), by the region of
    /// their demand.
    pub async fn placements_by_region(&self, scope: &ScopePath) -> Result<Vec<(Region, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.region, COUNT(*) AS n FROM placements p JOIN labour_demand d ON d.id = p.demand_id \
             WHERE p.state <> 'cancelled' AND p.scope >= $1 AND p.scope < $2 GROUP BY d.region",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        let mut counts = Vec::with_capacity(Region::ALL.len());
        for region in Region::ALL.iter().copied() {
            let n = rows
                .iter()
                .find(|r| r.try_get::<&str, _>("region").is_ok_and(|s| s == region.as_str()))
                .map(|r| r.try_get::<i64, _>("n"))
                .transpose()?
                .unwrap_or(0);
            counts.push((region, n));
        }
        Ok(counts)
    }

    /// Live placements within `scope` by the Monday of their first day, for
    /// the eight weeks up to the current one (UTC), every week listed.
    pub async fn placements_by_week(&self, scope: &ScopePath) -> Result<Vec<(i64, i64)>, StoreError> {
        let this_week = monday_of(now_us().div_euclid(86_400_000_000));
        let first = this_week - 7 * 7;
        let rows = sqlx::query(
            "SELECT start_day FROM placements WHERE state <> 'cancelled' AND scope >= $1 AND scope < $2 \
             AND start_day >= $3 AND start_day < $4",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .bind(first)
        .bind(this_week + 7)
        .fetch_all(&self.pool)
        .await?;
        let mut weeks: Vec<(i64, i64)> = (0..8).map(|i| (first + 7 * i, 0)).collect();
        for r in &rows {
            let monday = monday_of(r.try_get("start_day")?);
            if let Some(w) = weeks.iter_mut().find(|(m, _)| *m == monday) {
                w.1 += 1;
            }
        }
        Ok(weeks)
    }

    /// Batches within `scope` by state, every state listed.
    pub async fn batch_counts(&self, scope: &ScopePath) -> Result<Vec<(BatchState, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM transport_batches WHERE scope >= $1 AND scope < $2 GROUP BY state",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        let mut counts = Vec::with_capacity(BatchState::ALL.len());
        for state in BatchState::ALL.iter().copied() {
            let n = rows
                .iter()
                .find(|r| r.try_get::<&str, _>("state").is_ok_and(|s| s == state.as_str()))
                .map(|r| r.try_get::<i64, _>("n"))
                .transpose()?
                .unwrap_or(0);
            counts.push((state, n));
        }
        Ok(counts)
    }

    /// Workers in the pool within `scope`.
    pub async fn workers_count(&self, scope: &ScopePath) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM workers WHERE scope >= $1 AND scope < $2")
            .bind(scope.as_str())
            .bind(scope.upper_bound())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mondays_are_mondays() {
        // 2020-03-02 was a Monday; 1970-01-01 a Thursday.
        let monday = shouwang_domain::calendar::days_from_civil(2020, 3, 2);
        for d in 0..7 {
            assert_eq!(monday_of(monday + d), monday);
        }
        assert_eq!(monday_of(monday - 1), monday - 7);
        assert_eq!(monday_of(0), -3);
    }
}
