//! How the writer issues and revokes freight passes and records enterprises'
//! requests and the decisions on them, each with its event in the same
//! transaction. The server signs a pass before it asks for it to be stored,
//! so no secret ever reaches this task.
//!
//! Every write is idempotent: a pass or request whose id is stored comes
//! back as stored; revoking a revoked pass changes nothing; a request
//! decided once cannot be decided again (`Conflict` on `state`).

use serde_json::json;
use sqlx::AnyConnection;

use shouwang_domain::pass::{PassStatus, RequestState};
use shouwang_domain::{EventKind, FieldError, NewEvent, RecordId, UserId};

use super::{Actor, Command, Decided, Outcome};
use crate::StoreError;
use crate::passes::{
    NewPass, NewPassRequest, PASS_COLUMNS, Pass, PassDecision, PassRequest, REQUEST_COLUMNS, pass_from, request_from,
};

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    let who = actor.person()?;
    match command {
        Command::IssuePass(new) => issue(conn, who, new, None, now).await,
        Command::RevokePass { id, reason } => revoke(conn, who, *id, reason, now).await,
        Command::RequestPass(new) => request(conn, who, new, now).await,
        Command::DecidePassRequest { id, decision } => decide(conn, who, *id, decision, now).await,
        _ => unreachable!("writer::apply routes only pass commands here"),
    }
}

async fn stored_pass(conn: &mut AnyConnection, id: RecordId) -> Result<Option<Pass>, StoreError> {
    let sql = format!("SELECT {PASS_COLUMNS} WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    row.as_ref().map(pass_from).transpose()
}

async fn stored_request(conn: &mut AnyConnection, id: RecordId) -> Result<Option<PassRequest>, StoreError> {
    let sql = format!("SELECT {REQUEST_COLUMNS} WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    row.as_ref().map(request_from).transpose()
}

fn issued_event(pass: &Pass) -> NewEvent {
    NewEvent::new(
        EventKind::PassIssued,
        format!("pass:{}", pass.id),
        pass.scope.clone(),
        json!({
            "number": pass.number,
            "enterprise": pass.enterprise,
            "valid_from_us": pass.valid_from_us,
            "valid_until_us": pass.valid_until_us,
            "request_id": pass.request_id.map(|r| r.to_string()),
        }),
    )
}

/// Inserts `new` issued by `who` (for `request`, if one); a resend of the
/// same id by the same issuer gets the stored pass.
async fn issue(
    conn: &mut AnyConnection,
    who: UserId,
    new: &NewPass,
    request: Option<&PassRequest>,
    now: i64,
) -> Result<Decided, StoreError> {
    if let Some(old) = stored_pass(conn, new.id).await? {
        if old.issued_by != who {
            return Err(StoreError::Invalid(FieldError::new("id", "taken")));
        }
        return Ok((Outcome::Pass { pass: old, created: false }, Vec::new()));
    }
    let clash = sqlx::query("SELECT id FROM passes WHERE number = $1").bind(&new.number).fetch_optional(&mut *conn);
    if clash.await?.is_some() {
        return Err(StoreError::Conflict { field: "number" });
    }
    let pass = Pass {
        id: new.id,
        number: new.number.clone(),
        status: PassStatus::Issued,
        scope: new.scope.clone(),
        token: new.token.clone(),
        plates: new.plates.clone(),
        enterprise: new.enterprise.clone(),
        valid_from_us: new.valid_from_us,
        valid_until_us: new.valid_until_us,
        issued_by: who,
        request_id: request.map(|r| r.id),
        requested_by: request.map(|r| r.requested_by),
        created_us: now,
        revoked_us: None,
        revoked_by: None,
        revoke_reason: String::new(),
    };
    sqlx::query(
        "INSERT INTO passes (id, number, status, scope, token, plates, enterprise, valid_from_us, valid_until_us, \
         issued_by, request_id, requested_by, created_us, revoke_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, '')",
    )
    .bind(pass.id.to_string())
    .bind(&pass.number)
    .bind(pass.status.as_str())
    .bind(pass.scope.as_str())
    .bind(&pass.token)
    .bind(pass.plates.join(" "))
    .bind(&pass.enterprise)
    .bind(pass.valid_from_us)
    .bind(pass.valid_until_us)
    .bind(who.0)
    .bind(pass.request_id.map(|r| r.to_string()))
    .bind(pass.requested_by.map(|u| u.0))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let event = issued_event(&pass);
    Ok((Outcome::Pass { pass, created: true }, vec![event]))
}

async fn revoke(
    conn: &mut AnyConnection,
    who: UserId,
    id: RecordId,
    reason: &str,
    now: i64,
) -> Result<Decided, StoreError> {
    let mut pass = stored_pass(conn, id).await?.ok_or(StoreError::NotFound)?;
    if pass.status == PassStatus::Revoked {
        return Ok((Outcome::Pass { pass, created: false }, Vec::new()));
    }
    sqlx::query(
        "UPDATE passes SET status = 'revoked', revoked_us = $1, revoked_by = $2, revoke_reason = $3 WHERE id = $4",
    )
    .bind(now)
    .bind(who.0)
    .bind(reason)
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    pass.status = PassStatus::Revoked;
    pass.revoked_us = Some(now);
    pass.revoked_by = Some(who);
    pass.revoke_reason = reason.to_owned();
    let event = NewEvent::new(
        EventKind::PassRevoked,
        format!("pass:{id}"),
        pass.scope.clone(),
        json!({ "number": pass.number, "reason": reason }),
    );
    Ok((Outcome::Pass { pass, created: true }, vec![event]))
}

async fn request(conn: &mut AnyConnection, who: UserId, new: &NewPassRequest, now: i64) -> Result<Decided, StoreError> {
    if let Some(old) = stored_request(conn, new.id).await? {
        if old.requested_by != who {
            return Err(StoreError::Invalid(FieldError::new("id", "taken")));
        }
        return Ok((Outcome::PassRequest { request: old, created: false }, Vec::new()));
    }
    sqlx::query(
        "INSERT INTO pass_requests (id, requested_by, scope, terms, note, state, created_us, decision_note) \
         VALUES ($1, $2, $3, $4, $5, 'requested', $6, '')",
    )
    .bind(new.id.to_string())
    .bind(who.0)
    .bind(new.scope.as_str())
    .bind(&new.terms)
    .bind(&new.note)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let request = PassRequest {
        id: new.id,
        requested_by: who,
        scope: new.scope.clone(),
        terms: new.terms.clone(),
        note: new.note.clone(),
        state: RequestState::Requested,
        created_us: now,
        decided_by: None,
        decided_us: None,
        decision_note: String::new(),
        pass_id: None,
    };
    // The terms hold the driver's name and phone: the event names only the
    // enterprise.
    let enterprise = serde_json::from_str::<serde_json::Value>(&new.terms)
        .ok()
        .and_then(|t| t.get("enterprise").cloned())
        .unwrap_or(serde_json::Value::Null);
    let event = NewEvent::new(
        EventKind::PassRequested,
        format!("pass_request:{}", new.id),
        new.scope.clone(),
        json!({ "enterprise": enterprise }),
    );
    Ok((Outcome::PassRequest { request, created: true }, vec![event]))
}

async fn decide(
    conn: &mut AnyConnection,
    who: UserId,
    id: RecordId,
    decision: &PassDecision,
    now: i64,
) -> Result<Decided, StoreError> {
    let mut request = stored_request(conn, id).await?.ok_or(StoreError::NotFound)?;
    if request.state != RequestState::Requested {
        return Err(StoreError::Conflict { field: "state" });
    }
    let (events, pass_id, note) = match decision {
        PassDecision::Approve(new) => {
            let (outcome, events) = issue(conn, who, new, Some(&request), now).await?;
            let Outcome::Pass { pass, created: true } = outcome else {
                // A pass with this id exists already: the approval is not new.
                return Err(StoreError::Invalid(FieldError::new("id", "taken")));
            };
            request.state = RequestState::Approved;
            (events, Some(pass.id), String::new())
        }
        PassDecision::Refuse { note } => {
            request.state = RequestState::Refused;
            let event = NewEvent::new(
                EventKind::PassRefused,
                format!("pass_request:{id}"),
                request.scope.clone(),
                json!({ "reason": note }),
            );
            (vec![event], None, note.clone())
        }
    };
    sqlx::query(
        "UPDATE pass_requests SET state = $1, decided_by = $2, decided_us = $3, decision_note = $4, pass_id = $5 \
         WHERE id = $6",
    )
    .bind(request.state.as_str())
    .bind(who.0)
    .bind(now)
    .bind(&note)
    .bind(pass_id.map(|p| p.to_string()))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    request.decided_by = Some(who);
    request.decided_us = Some(now);
    request.decision_note = note;
    request.pass_id = pass_id;
    Ok((Outcome::PassRequest { request, created: true }, events))
}
