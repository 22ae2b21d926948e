//! How the writer takes a whole sheet of workers or of demand (an import):
//! all rows or none. Every row is checked against the database first — the
//! village (and the household) of each worker, the enterprise of each
//! demand — and only then is the first row written, with the same inserts
//! as `CreateWorker` and `PostDemand` (`writer/labour.rs`). The batch's
//! transaction commits the other commands in it, so a command must not fail
//! half-way.
//!
//! A refusal names the row as the API's import maps it back to the file:
//! `rows[i].<field>`, `i` from 0.

use sqlx::AnyConnection;

use shouwang_domain::FieldError;

use super::labour::{check_home, create_worker, post_demand};
use super::{Actor, Command, Decided, Outcome};
use crate::StoreError;

/// A refusal about row `i`.
fn within(i: usize) -> impl Fn(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Invalid(f) => StoreError::Invalid(f.within(&format!("rows[{i}]"))),
        other => other,
    }
}

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    match command {
        Command::ImportWorkers(rows) => {
            for (i, f) in rows.iter().enumerate() {
                check_home(conn, f).await.map_err(within(i))?;
            }
            let mut events = Vec::with_capacity(rows.len());
            for f in rows {
                let (_, mut new_events) = create_worker(conn, actor, f, now).await?;
                events.append(&mut new_events);
            }
            Ok((Outcome::Count(rows.len() as i64), events))
        }
        Command::ImportDemand { rows, scope } => {
            for (i, f) in rows.iter().enumerate() {
                if let Some(e) = f.enterprise {
                    let found = sqlx::query("SELECT 1 AS one FROM enterprises WHERE id = $1")
                        .bind(e.0)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if found.is_none() {
                        return Err(StoreError::Invalid(FieldError::new(
                            format!("rows[{i}].enterprise_id"),
                            "not_found",
                        )));
                    }
                }
            }
            let mut events = Vec::with_capacity(rows.len());
            for f in rows {
                let (_, mut new_events) = post_demand(conn, actor, f, scope, now).await?;
                events.append(&mut new_events);
            }
            Ok((Outcome::Count(rows.len() as i64), events))
        }
        _ => unreachable!("writer::apply routes only labour imports here"),
    }
}
