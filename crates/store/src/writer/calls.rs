//! How the writer keeps call records: a call started, each party rung,
//! joined, declining, missing or leaving, and the call's end, each with its
//! event in the same transaction. The server's call registry decides when
//! these happen (it sees the signaling); this is the record HQ reads back.
//!
//! Every write is idempotent: starting a stored call returns it; a change a
//! party already went through changes nothing (and appends no event).

use serde_json::json;
use sqlx::AnyConnection;

use shouwang_domain::call::{CallOutcome, PartyState};
use shouwang_domain::{EventKind, FieldError, NewEvent, RecordId, UserId};

use super::{Actor, Command, Decided, Outcome, dangling_key};
use crate::StoreError;
use crate::calls::{Bind, CALL_COLUMNS, CallRecord, NewCall, Party, PartyChange, calls_where};

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    match command {
        Command::StartCall(new) => {
            let who = actor.person()?;
            start(conn, who, new, now).await
        }
        Command::CallParty { call, user, change } => party(conn, *call, *user, *change, now).await,
        Command::EndCall { call } => end(conn, *call, now).await,
        _ => unreachable!("writer::apply routes only call commands here"),
    }
}

async fn stored(conn: &mut AnyConnection, id: RecordId) -> Result<Option<CallRecord>, StoreError> {
    let id = id.to_string();
    let sql = format!("SELECT {CALL_COLUMNS} WHERE id = $1");
    Ok(calls_where(conn, &sql, &[Bind::Text(&id)]).await?.pop())
}

fn subject(call: &CallRecord) -> String {
    format!("call:{}", call.id)
}

fn party_event(kind: EventKind, call: &CallRecord, p: &Party) -> NewEvent {
    NewEvent::new(
        kind,
        subject(call),
        call.scope.clone(),
        json!({ "user": p.user.0, "name": p.name, "checkpoint": p.checkpoint.map(|c| c.0), "kind": call.kind.as_str() }),
    )
}

async fn start(conn: &mut AnyConnection, who: UserId, new: &NewCall, now: i64) -> Result<Decided, StoreError> {
    if let Some(old) = stored(conn, new.id).await? {
        if old.caller != who {
            return Err(StoreError::Invalid(FieldError::new("id", "taken")));
        }
        return Ok((Outcome::Call(old), Vec::new()));
    }
    if new.invited.iter().all(|i| i.user == who) {
        return Err(StoreError::Invalid(FieldError::new("invited", "required")));
    }
    sqlx::query("INSERT INTO calls (id, kind, caller_id, scope, started_us) VALUES ($1, $2, $3, $4, $5)")
        .bind(new.id.to_string())
        .bind(new.kind.as_str())
        .bind(who.0)
        .bind(new.scope.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    insert_party(conn, new.id, who, None, PartyState::Joined, now).await?;
    let mut seen = vec![who];
    for i in &new.invited {
        if seen.contains(&i.user) {
            continue;
        }
        seen.push(i.user);
        insert_party(conn, new.id, i.user, i.checkpoint, PartyState::Ringing, now).await?;
    }
    let call = stored(conn, new.id).await?.ok_or(StoreError::NotFound)?;
    let invited: Vec<_> = call
        .parties
        .iter()
        .filter(|p| p.user != who)
        .map(|p| json!({ "user": p.user.0, "name": p.name, "checkpoint": p.checkpoint.map(|c| c.0) }))
        .collect();
    let e = NewEvent::new(
        EventKind::CallStarted,
        subject(&call),
        call.scope.clone(),
        json!({ "kind": call.kind.as_str(), "caller": who.0, "caller_name": call.parties[0].name, "invited": invited }),
    );
    Ok((Outcome::Call(call), vec![e]))
}

async fn insert_party(
    conn: &mut AnyConnection,
    call: RecordId,
    user: UserId,
    checkpoint: Option<shouwang_domain::CheckpointId>,
    state: PartyState,
    now: i64,
) -> Result<(), StoreError> {
    let joined = (state == PartyState::Joined).then_some(now);
    sqlx::query(
        "INSERT INTO call_parties (call_id, user_id, checkpoint_id, state, invited_us, joined_us) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(call.to_string())
    .bind(user.0)
    .bind(checkpoint.map(|c| c.0))
    .bind(state.as_str())
    .bind(now)
    .bind(joined)
    .execute(&mut *conn)
    .await
    .map_err(dangling_key("invited"))?;
    Ok(())
}

async fn set_state(
    conn: &mut AnyConnection,
    call: RecordId,
    user: UserId,
    state: PartyState,
    now: i64,
) -> Result<(), StoreError> {
    // Joining, leaving and being rung again stamp their time ($4); declining
    // and missing keep the times there are.
    let set = match state {
        PartyState::Joined => "state = $3, joined_us = COALESCE(joined_us, $4), left_us = NULL",
        PartyState::Left => "state = $3, left_us = $4",
        PartyState::Ringing => "state = $3, invited_us = $4",
        PartyState::Declined | PartyState::Missed => "state = $3",
    };
    let sql = format!("UPDATE call_parties SET {set} WHERE call_id = $1 AND user_id = $2");
    let mut q = sqlx::query(&sql).bind(call.to_string()).bind(user.0).bind(state.as_str());
    if !matches!(state, PartyState::Declined | PartyState::Missed) {
        q = q.bind(now);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// What a change does to a party.
enum Step {
    /// Nothing: it already happened, or does not apply where they stand.
    Nothing,
    /// Ring someone not yet in the call.
    Ring(Option<shouwang_domain::CheckpointId>),
    /// Move them to a state, with the event to append, if any.
    Move(PartyState, Option<EventKind>),
}

async fn party(
    conn: &mut AnyConnection,
    id: RecordId,
    user: UserId,
    change: PartyChange,
    now: i64,
) -> Result<Decided, StoreError> {
    let call = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    let ended = call.ended_us.is_some();
    let step = match (change, call.party(user).map(|p| p.state)) {
        (PartyChange::Invite { .. } | PartyChange::Join | PartyChange::Decline, _) if ended => {
            return Err(StoreError::Conflict { field: "call" });
        }
        (PartyChange::Invite { checkpoint }, None) => Step::Ring(checkpoint),
        (PartyChange::Invite { .. }, Some(s)) if s.is_final() => Step::Move(PartyState::Ringing, None),
        (PartyChange::Invite { .. }, Some(_)) => Step::Nothing,
        (_, None) => return Err(StoreError::Invalid(FieldError::new("user", "not_in_call"))),
        (PartyChange::Join, Some(PartyState::Joined)) => Step::Nothing,
        (PartyChange::Join, Some(_)) => Step::Move(PartyState::Joined, Some(EventKind::CallJoined)),
        (PartyChange::Decline, Some(PartyState::Ringing)) => {
            Step::Move(PartyState::Declined, Some(EventKind::CallDeclined))
        }
        (PartyChange::Decline, Some(PartyState::Joined)) => return Err(StoreError::Conflict { field: "state" }),
        (PartyChange::Decline, Some(_)) => Step::Nothing,
        (PartyChange::Miss, Some(PartyState::Ringing)) => Step::Move(PartyState::Missed, Some(EventKind::CallMissed)),
        (PartyChange::Miss, Some(_)) => Step::Nothing,
        (PartyChange::Leave, Some(PartyState::Joined)) => Step::Move(PartyState::Left, Some(EventKind::CallLeft)),
        (PartyChange::Leave, Some(_)) => Step::Nothing,
    };
    let event = match step {
        Step::Nothing => return Ok((Outcome::Call(call), Vec::new())),
        Step::Ring(checkpoint) => {
            insert_party(conn, id, user, checkpoint, PartyState::Ringing, now).await?;
            None
        }
        Step::Move(state, event) => {
            set_state(conn, id, user, state, now).await?;
            if state == PartyState::Joined && user != call.caller && call.answered_us.is_none() {
                sqlx::query("UPDATE calls SET answered_us = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id.to_string())
                    .execute(&mut *conn)
                    .await?;
            }
            event
        }
    };
    let after = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    let events = match (event, after.party(user)) {
        (Some(kind), Some(p)) => vec![party_event(kind, &after, p)],
        _ => Vec::new(),
    };
    Ok((Outcome::Call(after), events))
}

async fn end(conn: &mut AnyConnection, id: RecordId, now: i64) -> Result<Decided, StoreError> {
    let call = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    if call.ended_us.is_some() {
        return Ok((Outcome::Call(call), Vec::new()));
    }
    let mut events = Vec::new();
    for p in &call.parties {
        match p.state {
            PartyState::Ringing => {
                set_state(conn, id, p.user, PartyState::Missed, now).await?;
                let mut missed = p.clone();
                missed.state = PartyState::Missed;
                events.push(party_event(EventKind::CallMissed, &call, &missed));
            }
            PartyState::Joined => set_state(conn, id, p.user, PartyState::Left, now).await?,
            _ => {}
        }
    }
    let after_states = call.parties.iter().filter(|p| p.user != call.caller).map(|p| match p.state {
        PartyState::Ringing => PartyState::Missed,
        s => s,
    });
    let outcome = CallOutcome::of(after_states, call.answered_us.is_some());
    sqlx::query("UPDATE calls SET ended_us = $1, outcome = $2 WHERE id = $3")
        .bind(now)
        .bind(outcome.as_str())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let after = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    events.push(NewEvent::new(
        EventKind::CallEnded,
        subject(&after),
        after.scope.clone(),
        json!({
            "kind": after.kind.as_str(),
            "outcome": outcome.as_str(),
            "duration_us": after.duration_us(now),
            "answered_us": after.answered_us,
            "parties": after.parties.len(),
        }),
    ));
    Ok((Outcome::Call(after), events))
}
