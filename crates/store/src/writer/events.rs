//! Appending the events of many commands in one statement, for the
//! screenings' bulk path (`screenings::record_together`). One event per
//! statement, as `insert_event` does for a command applied alone, would cost
//! a round trip per command. (The duty log's bulk path keeps its own: its
//! subjects are unique, so it matches ids back by subject alone.)

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::{AnyConnection, Row};

use shouwang_domain::{Event, NewEvent};

use super::bulk::{ROWS_PER_STATEMENT, values};
use super::{Actor, stored_event};
use crate::{Backend, StoreError};

/// Everything but the id that tells two events apart: the columns returned
/// beside it.
type Key = (Option<i64>, String, String, String, String, String);

/// Appends `events` (each with who caused it) at `now` and returns them with
/// their ids, in the order given.
///
/// Neither SQLite nor PostgreSQL promises that `RETURNING` gives rows in the
/// order of `VALUES`, so each id is matched back by the row's content. Two
/// events with the same content are the same in everything but the id, so
/// which of them gets which id does not matter.
pub(super) async fn insert_many(
    conn: &mut AnyConnection,
    backend: Backend,
    events: Vec<(&Actor, NewEvent)>,
    now: i64,
) -> Result<Vec<Arc<Event>>, StoreError> {
    let payloads: Vec<String> = events.iter().map(|(_, e)| e.payload.to_string()).collect();
    let key = |i: usize| -> Key {
        let (actor, e) = &events[i];
        (
            actor.id.map(|u| u.0),
            actor.name.clone(),
            e.kind.as_str().to_owned(),
            e.subject.clone(),
            e.scope.as_str().to_owned(),
            payloads[i].clone(),
        )
    };
    let mut waiting: HashMap<Key, Vec<usize>> = HashMap::with_capacity(events.len());
    for i in (0..events.len()).rev() {
        waiting.entry(key(i)).or_default().push(i);
    }
    let mut ids: Vec<Option<i64>> = vec![None; events.len()];
    for start in (0..events.len()).step_by(ROWS_PER_STATEMENT) {
        let chunk = start..(start + ROWS_PER_STATEMENT).min(events.len());
        let sql = format!(
            "INSERT INTO events (at_us, actor_id, actor_name, kind, subject, scope, payload) VALUES {} \
             RETURNING id, actor_id, actor_name, kind, subject, scope, payload",
            values(backend, chunk.len(), 7)
        );
        // The text depends on the chunk's size: not worth a cache slot.
        let mut q = sqlx::query(&sql).persistent(false);
        for i in chunk {
            let (actor, e) = &events[i];
            q = q
                .bind(now)
                .bind(actor.id.map(|u| u.0))
                .bind(actor.name.as_str())
                .bind(e.kind.as_str())
                .bind(e.subject.as_str())
                .bind(e.scope.as_str())
                .bind(payloads[i].as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let returned: Key = (
                row.try_get("actor_id")?,
                row.try_get("actor_name")?,
                row.try_get("kind")?,
                row.try_get("subject")?,
                row.try_get("scope")?,
                row.try_get("payload")?,
            );
            let i = waiting
                .get_mut(&returned)
                .and_then(Vec::pop)
                .ok_or_else(|| StoreError::Corrupt(format!("an event came back that was not sent: {}", returned.3)))?;
            ids[i] = Some(row.try_get("id")?);
        }
    }
    events
        .into_iter()
        .zip(ids)
        .map(|((actor, e), id)| {
            let id =
                id.ok_or_else(|| StoreError::Corrupt(format!("no id came back for the event of {}", e.subject)))?;
            Ok(Arc::new(stored_event(actor, e, id, now)))
        })
        .collect()
}
