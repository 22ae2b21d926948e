//! Screenings as stored: records, incidents, statistics and reads. The writes
//! are in `writer/screenings.rs`.
//!
//! Personal fields come back as stored; the server masks them for every role
//! that may not see them. The records' `Debug` hides them, so a log line
//! never carries an ID number or a phone.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use shouwang_domain::screening::{
    CargoCategory, Direction, HealthCode, IncidentKind, IncidentSeverity, IncidentStatus, Outcome as ScreeningOutcome,
    VehicleType,
};
use shouwang_domain::{CheckpointId, RecordId, ScopePath, UserId};

use crate::{Store, StoreError};

/// A person screened, as the phone sent them (already validated).
#[derive(Clone, PartialEq, Default)]
pub struct PersonRecord {
    /// Name.
    pub name: Option<String>,
    /// Resident ID number (GB 11643).
    pub id_number: Option<String>,
    /// Mainland mobile number.
    pub phone: Option<String>,
    /// Body temperature in tenths of a °C.
    pub temperature_dc: Option<i64>,
    /// Where from: a region code.
    pub origin: Option<String>,
    /// Where to: a region code.
    pub destination: Option<String>,
    /// Health-code colour.
    pub health_code: Option<HealthCode>,
}

impl std::fmt::Debug for PersonRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("PersonRecord")
            .field("name", &hidden(&self.name))
            .field("id_number", &hidden(&self.id_number))
            .field("phone", &hidden(&self.phone))
            .field("temperature_dc", &self.temperature_dc)
            .field("origin", &self.origin)
            .field("destination", &self.destination)
            .field("health_code", &self.health_code)
            .finish()
    }
}

/// A screening to record, validated by the domain
/// (`shouwang_domain::screening`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewScreening {
    /// The client-made UUIDv7.
    pub id: RecordId,
    /// When it happened, by the phone's clock.
    pub occurred_us: i64,
    /// The start of the deployment's local day holding `occurred_us` (the
    /// daily statistics' key).
    pub day_us: i64,
    /// In or out.
    pub direction: Direction,
    /// The plate; none for people on foot.
    pub plate: Option<String>,
    /// Vehicle type.
    pub vehicle_type: VehicleType,
    /// People in the vehicle (or on foot), at least one.
    pub people_count: i64,
    /// Cargo category.
    pub cargo: CargoCategory,
    /// The freight pass shown, if any.
    pub pass_number: Option<String>,
    /// What the post did.
    pub outcome: ScreeningOutcome,
    /// A note.
    pub note: String,
    /// People recorded one by one (at most `people_count`).
    pub people: Vec<PersonRecord>,
    /// The incidents it raises, as the domain decided.
    pub incidents: Vec<(IncidentKind, IncidentSeverity)>,
}

/// A stored screening.
#[derive(Debug, Clone, PartialEq)]
pub struct Screening {
    /// The client-made UUIDv7.
    pub id: RecordId,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// The post's scope.
    pub scope: ScopePath,
    /// When, by the phone's clock.
    pub occurred_us: i64,
    /// When the server stored it.
    pub recorded_us: i64,
    /// Who logged it.
    pub officer_id: UserId,
    /// In or out.
    pub direction: Direction,
    /// The plate (none: on foot, or erased).
    pub plate: Option<String>,
    /// Vehicle type.
    pub vehicle_type: VehicleType,
    /// People.
    pub people_count: i64,
    /// Cargo category.
    pub cargo: CargoCategory,
    /// Freight pass number (none, or erased).
    pub pass_number: Option<String>,
    /// What the post did.
    pub outcome: ScreeningOutcome,
    /// Note (empty once erased).
    pub note: String,
    /// A fever was measured.
    pub fever: bool,
    /// A red health code was shown.
    pub red_code: bool,
    /// When personal fields were erased by the retention job.
    pub erased_us: Option<i64>,
    /// The people recorded one by one.
    pub people: Vec<PersonRecord>,
}

/// Flag bits in `screenings.flags`.
pub(crate) const FLAG_FEVER: i64 = 1;
pub(crate) const FLAG_RED_CODE: i64 = 2;

impl Screening {
    /// The record a new screening becomes.
    pub(crate) fn from_new(s: &NewScreening, cp: CheckpointId, scope: &ScopePath, officer: UserId, now: i64) -> Self {
        let flags = flags_of(s);
        Self {
            id: s.id,
            checkpoint_id: cp,
            scope: scope.clone(),
            occurred_us: s.occurred_us,
            recorded_us: now,
            officer_id: officer,
            direction: s.direction,
            plate: s.plate.clone(),
            vehicle_type: s.vehicle_type,
            people_count: s.people_count,
            cargo: s.cargo,
            pass_number: s.pass_number.clone(),
            outcome: s.outcome,
            note: s.note.clone(),
            fever: flags & FLAG_FEVER != 0,
            red_code: flags & FLAG_RED_CODE != 0,
            erased_us: None,
            people: s.people.clone(),
        }
    }
}

/// The flag bits of a new screening, from the incidents it raises.
pub(crate) fn flags_of(s: &NewScreening) -> i64 {
    s.incidents.iter().fold(0, |f, (kind, _)| {
        f | match kind {
            IncidentKind::Fever => FLAG_FEVER,
            IncidentKind::RedCode => FLAG_RED_CODE,
            // Reported by hand, never raised by a screening.
            _ => 0,
        }
    })
}

pub(crate) const SCREENING_COLUMNS: &str = "id, checkpoint_id, scope, occurred_us, recorded_us, officer_id, direction, \
     plate, vehicle_type, people_count, cargo, pass_number, outcome, note, flags, erased_us FROM screenings";

pub(crate) fn screening_from(row: &AnyRow) -> Result<Screening, StoreError> {
    let flags: i64 = row.try_get("flags")?;
    Ok(Screening {
        id: RecordId::parse("id", row.try_get::<&str, _>("id")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        checkpoint_id: CheckpointId(row.try_get("checkpoint_id")?),
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        occurred_us: row.try_get("occurred_us")?,
        recorded_us: row.try_get("recorded_us")?,
        officer_id: UserId(row.try_get("officer_id")?),
        direction: Direction::parse("direction", row.try_get("direction")?)?,
        plate: row.try_get("plate")?,
        vehicle_type: VehicleType::parse("vehicle_type", row.try_get("vehicle_type")?)?,
        people_count: row.try_get("people_count")?,
        cargo: CargoCategory::parse("cargo", row.try_get("cargo")?)?,
        pass_number: row.try_get("pass_number")?,
        outcome: ScreeningOutcome::parse("outcome", row.try_get("outcome")?)?,
        note: row.try_get("note")?,
        fever: flags & FLAG_FEVER != 0,
        red_code: flags & FLAG_RED_CODE != 0,
        erased_us: row.try_get("erased_us")?,
        people: Vec::new(),
    })
}

pub(crate) fn person_from(row: &AnyRow) -> Result<PersonRecord, StoreError> {
    Ok(PersonRecord {
        name: row.try_get("name")?,
        id_number: row.try_get("id_number")?,
        phone: row.try_get("phone")?,
        temperature_dc: row.try_get("temperature_dc")?,
        origin: row.try_get("origin")?,
        destination: row.try_get("destination")?,
        health_code: row
            .try_get::<Option<&str>, _>("health_code")?
            .map(|c| HealthCode::parse("health_code", c))
            .transpose()?,
    })
}

/// An incident at a post: raised by a screening, or reported by hand.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// Derived from the screening's id and the kind; a reported one's own.
    pub id: RecordId,
    /// Fever, red code; conflict, accident, suspicious case, equipment failure.
    pub kind: IncidentKind,
    /// How urgent.
    pub severity: IncidentSeverity,
    /// Open, handling, closed.
    pub status: IncidentStatus,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// The screening that raised it.
    pub screening_id: Option<RecordId>,
    /// When.
    pub opened_us: i64,
    /// When it was closed.
    pub closed_us: Option<i64>,
    /// What happened, for one reported by hand.
    pub summary: String,
    /// Who reported it (none for one a screening raised).
    pub reported_by: Option<UserId>,
    /// Who handles it.
    pub assignee: Option<UserId>,
}

pub(crate) const INCIDENT_COLUMNS: &str = "id, kind, severity, status, checkpoint_id, screening_id, opened_us, \
     closed_us, summary, reported_by, assignee_id FROM incidents";

pub(crate) fn incident_from(row: &AnyRow) -> Result<Incident, StoreError> {
    let id = |raw: &str| RecordId::parse("id", raw).map_err(|e| StoreError::Corrupt(e.to_string()));
    Ok(Incident {
        id: id(row.try_get("id")?)?,
        kind: IncidentKind::parse("kind", row.try_get("kind")?)?,
        severity: IncidentSeverity::parse("severity", row.try_get("severity")?)?,
        status: IncidentStatus::parse("status", row.try_get("status")?)?,
        checkpoint_id: CheckpointId(row.try_get("checkpoint_id")?),
        screening_id: row.try_get::<Option<&str>, _>("screening_id")?.map(id).transpose()?,
        opened_us: row.try_get("opened_us")?,
        closed_us: row.try_get("closed_us")?,
        summary: row.try_get("summary")?,
        reported_by: row.try_get::<Option<i64>, _>("reported_by")?.map(UserId),
        assignee: row.try_get::<Option<i64>, _>("assignee_id")?.map(UserId),
    })
}

/// Which screenings a search returns.
#[derive(Debug, Clone, Default)]
pub struct ScreeningFilter {
    /// Only at this post.
    pub checkpoint: Option<CheckpointId>,
    /// From (inclusive), by when it happened.
    pub from_us: Option<i64>,
    /// To (exclusive).
    pub to_us: Option<i64>,
    /// Only this plate.
    pub plate: Option<String>,
    /// Only this outcome.
    pub outcome: Option<ScreeningOutcome>,
    /// Only those that raised an incident.
    pub flagged: bool,
    /// At most this many (newest first); capped at 500.
    pub limit: i64,
}

/// Counts for one key of the statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScreeningCount {
    /// The post.
    pub checkpoint_id: CheckpointId,
    /// Start of the hour or day (UTC µs); for totals, none.
    pub at_us: Option<i64>,
    /// In or out.
    pub direction: Direction,
    /// Cargo category.
    pub cargo: CargoCategory,
    /// Outcome.
    pub outcome: ScreeningOutcome,
    /// Screenings.
    pub screenings: i64,
    /// People in them.
    pub people: i64,
}

/// The grain of statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    /// Per hour.
    Hour,
    /// Per local day.
    Day,
    /// One total per key over the whole range.
    Total,
}

impl Store {
    /// Screenings of posts within `scope` that `filter` admits, newest first,
    /// with their people.
    pub async fn screenings_within(
        &self,
        scope: &ScopePath,
        filter: &ScreeningFilter,
    ) -> Result<Vec<Screening>, StoreError> {
        // Only the filters given go into the statement, so that the planner
        // sees which index fits: a post's, a plate's, or the time index
        // walked newest first. With every filter always present as
        // `($n = '' OR plate = $n)`, SQLite read every screening of the
        // scope and sorted them, whatever was asked (1.4 s for a post's
        // page at ten million). Planned afresh each time (`persistent`
        // off): a generic plan cannot tell a post's half a million rows
        // within an open time range from a day's hundred, and PostgreSQL's
        // picked the sort for both.
        enum Arg<'a> {
            Int(i64),
            Text(&'a str),
        }
        let upper = scope.upper_bound();
        let mut sql = format!("SELECT {SCREENING_COLUMNS} WHERE scope >= $1 AND scope < $2");
        let mut args = vec![Arg::Text(scope.as_str()), Arg::Text(&upper)];
        let mut clauses: Vec<(&str, Arg<'_>)> = Vec::new();
        if let Some(cp) = filter.checkpoint {
            clauses.push(("checkpoint_id =", Arg::Int(cp.0)));
        }
        if let Some(plate) = filter.plate.as_deref() {
            clauses.push(("plate =", Arg::Text(plate)));
        }
        if let Some(outcome) = filter.outcome {
            clauses.push(("outcome =", Arg::Text(outcome.as_str())));
        }
        if let Some(from) = filter.from_us {
            clauses.push(("occurred_us >=", Arg::Int(from)));
        }
        if let Some(to) = filter.to_us {
            clauses.push(("occurred_us <", Arg::Int(to)));
        }
        for (clause, arg) in clauses {
            args.push(arg);
            sql.push_str(&format!(" AND {clause} ${}", args.len()));
        }
        if filter.flagged {
            sql.push_str(" AND flags <> 0");
        }
        sql.push_str(&format!(" ORDER BY occurred_us DESC, id DESC LIMIT ${}", args.len() + 1));
        let mut q = sqlx::query(&sql).persistent(false);
        for arg in args {
            q = match arg {
                Arg::Int(i) => q.bind(i),
                Arg::Text(t) => q.bind(t),
            };
        }
        let rows = q.bind(filter.limit.clamp(1, 500)).fetch_all(&self.pool).await?;
        let mut found: Vec<Screening> = rows.iter().map(screening_from).collect::<Result<_, _>>()?;
        self.attach_people(&mut found).await?;
        Ok(found)
    }

    /// One screening with its people.
    pub async fn screening(&self, id: RecordId) -> Result<Screening, StoreError> {
        let sql = format!("SELECT {SCREENING_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        let mut found = vec![screening_from(&row.ok_or(StoreError::NotFound)?)?];
        self.attach_people(&mut found).await?;
        Ok(found.pop().expect("one screening was read"))
    }

    async fn attach_people(&self, screenings: &mut [Screening]) -> Result<(), StoreError> {
        let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (i, s) in screenings.iter().enumerate() {
            at.insert(s.id.to_string(), i);
        }
        let ids: Vec<&String> = at.keys().collect();
        for chunk in ids.chunks(100) {
            let marks: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT screening_id, name, id_number, phone, temperature_dc, origin, destination, health_code \
                 FROM screened_people WHERE screening_id IN ({}) ORDER BY screening_id, position",
                marks.join(", ")
            );
            // Planned for these keys each time: a cached generic plan made
            // while the table was small would go on scanning it whole.
            let mut q = sqlx::query(&sql).persistent(false);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for row in q.fetch_all(&self.pool).await? {
                let owner: &str = row.try_get("screening_id")?;
                if let Some(&i) = at.get(owner) {
                    screenings[i].people.push(person_from(&row)?);
                }
            }
        }
        Ok(())
    }

    /// Incidents at posts within `scope`, newest first; only those not yet
    /// closed (open or being handled) if `open_only`.
    pub async fn incidents_within(&self, scope: &ScopePath, open_only: bool) -> Result<Vec<Incident>, StoreError> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} WHERE scope >= $1 AND scope < $2 AND ($3 = 0 OR status <> 'closed') \
             ORDER BY opened_us DESC LIMIT 500"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.as_str())
            .bind(scope.upper_bound())
            .bind(i64::from(open_only))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(incident_from).collect()
    }

    /// Screening statistics of the posts within `scope` (or of one post),
    /// from `from_us` (inclusive) to `to_us` (exclusive), per hour, per local
    /// day, or in total. Read from the rollups the writer keeps, never from
    /// the screenings themselves: as fast at ten million records as at ten.
    pub async fn screening_counts(
        &self,
        scope: &ScopePath,
        checkpoint: Option<CheckpointId>,
        from_us: i64,
        to_us: i64,
        grain: Grain,
    ) -> Result<Vec<ScreeningCount>, StoreError> {
        let (table, at) = match grain {
            Grain::Hour => ("screening_hours", "hour_us"),
            // All of history: the all-time rollup, a few rows per post.
            Grain::Total if from_us == i64::MIN && to_us == i64::MAX => ("screening_totals", ""),
            Grain::Day | Grain::Total => ("screening_days", "day_us"),
        };
        let (select_at, group_at) = match grain {
            Grain::Total => ("CAST(NULL AS BIGINT) AS at_us".to_owned(), String::new()),
            _ => (format!("r.{at} AS at_us"), format!(", r.{at}")),
        };
        // The all-time rollup has no time column; the range is then all of
        // it, and `$3`, `$4` are compared with each other only.
        let range = if at.is_empty() { "$3 < $4".to_owned() } else { format!("r.{at} >= $3 AND r.{at} < $4") };
        // A post only when one is asked for, and planned per call (as the
        // screening list, see `screenings_within`): PostgreSQL's generic
        // plan for `($n = 0 OR r.checkpoint_id = $n)` scanned every day of
        // every post for one post's month (33 ms at ten million, 150 ms p99).
        let post = if checkpoint.is_some() { " AND r.checkpoint_id = $5" } else { "" };
        let sql = format!(
            "SELECT r.checkpoint_id, {select_at}, r.direction, r.cargo, r.outcome, \
             CAST(SUM(r.screenings) AS BIGINT) AS screenings, CAST(SUM(r.people) AS BIGINT) AS people \
             FROM {table} r JOIN checkpoints p ON p.id = r.checkpoint_id \
             WHERE p.scope >= $1 AND p.scope < $2 AND {range}{post} \
             GROUP BY r.checkpoint_id{group_at}, r.direction, r.cargo, r.outcome \
             ORDER BY r.checkpoint_id{group_at}, r.direction, r.cargo, r.outcome"
        );
        let mut q = sqlx::query(&sql)
            .persistent(false)
            .bind(scope.as_str())
            .bind(scope.upper_bound())
            .bind(from_us)
            .bind(to_us);
        if let Some(cp) = checkpoint {
            q = q.bind(cp.0);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(ScreeningCount {
                    checkpoint_id: CheckpointId(r.try_get("checkpoint_id")?),
                    at_us: r.try_get("at_us")?,
                    direction: Direction::parse("direction", r.try_get("direction")?)?,
                    cargo: CargoCategory::parse("cargo", r.try_get("cargo")?)?,
                    outcome: ScreeningOutcome::parse("outcome", r.try_get("outcome")?)?,
                    screenings: r.try_get("screenings")?,
                    people: r.try_get("people")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// When each post within `scope` last logged a screening (posts that
    /// never did are left out). One index lookup per post.
    pub async fn last_screening_per_post(
        &self,
        scope: &ScopePath,
    ) -> Result<std::collections::HashMap<CheckpointId, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, (SELECT MAX(s.occurred_us) FROM screenings s WHERE s.checkpoint_id = p.id) AS last_us \
             FROM checkpoints p WHERE p.scope >= $1 AND p.scope < $2",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        let mut last = std::collections::HashMap::new();
        for r in rows {
            if let Some(at) = r.try_get::<Option<i64>, _>("last_us")? {
                last.insert(CheckpointId(r.try_get("id")?), at);
            }
        }
        Ok(last)
    }
}
