//! Incidents reported and handled: one incident with its timeline of notes,
//! as the incident page shows it. Raising incidents from screenings is in
//! `writer/screenings.rs`; reporting and handling in `writer/incidents.rs`.

use sqlx::Row;

use shouwang_domain::screening::{IncidentKind, IncidentSeverity, IncidentStatus};
use shouwang_domain::{CheckpointId, RecordId, ScopePath, UserId};

use crate::screenings::{INCIDENT_COLUMNS, Incident, incident_from};
use crate::{Store, StoreError};

/// An incident reported by hand at a post.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    /// A UUIDv7 made by the client: resending reports it once.
    pub id: RecordId,
    /// What happened (a kind a screening does not raise).
    pub kind: IncidentKind,
    /// How urgent.
    pub severity: IncidentSeverity,
    /// Where.
    pub checkpoint: CheckpointId,
    /// What happened, in a few words.
    pub summary: String,
}

/// One step of handling an incident: any of a new status, a new assignee
/// and a note.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentStep {
    /// Move to this status.
    pub status: Option<IncidentStatus>,
    /// Hand it to this person.
    pub assignee: Option<UserId>,
    /// What was done or found (may be empty when the status or assignee
    /// changes).
    pub note: String,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentNote {
    /// When.
    pub at_us: i64,
    /// Who wrote it.
    pub author: Option<UserId>,
    /// Their name.
    pub author_name: String,
    /// The status this step set, if any.
    pub status: Option<IncidentStatus>,
    /// Who this step assigned, if anyone.
    pub assignee: Option<UserId>,
    /// The note.
    pub note: String,
}

impl Store {
    /// One incident with its scope and timeline, oldest note first.
    pub async fn incident(&self, id: RecordId) -> Result<(Incident, ScopePath, Vec<IncidentNote>), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let sql = format!("SELECT scope, {INCIDENT_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?;
        let row = row.ok_or(StoreError::NotFound)?;
        let (incident, scope): (_, String) = (incident_from(&row)?, row.try_get("scope")?);
        let rows = sqlx::query(
            "SELECT n.at_us, n.author_id, COALESCE(u.display_name, '') AS author_name, n.status, n.assignee_id, \
             n.note FROM incident_notes n LEFT JOIN users u ON u.id = n.author_id \
             WHERE n.incident_id = $1 ORDER BY n.seq",
        )
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let notes = rows
            .iter()
            .map(|r| {
                Ok(IncidentNote {
                    at_us: r.try_get("at_us")?,
                    author: r.try_get::<Option<i64>, _>("author_id")?.map(UserId),
                    author_name: r.try_get("author_name")?,
                    status: r
                        .try_get::<Option<&str>, _>("status")?
                        .map(|s| IncidentStatus::parse("status", s))
                        .transpose()?,
                    assignee: r.try_get::<Option<i64>, _>("assignee_id")?.map(UserId),
                    note: r.try_get("note")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((incident, ScopePath::from_stored(&scope)?, notes))
    }
}
