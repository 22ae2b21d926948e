//! Call records as stored: a call, its parties, and the reads the board
//! (calls going on now) and the call history need. The writes are in
//! `writer/calls.rs`; the media is the SFU's (`shouwang_media`) and never
//! reaches the database.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use shouwang_domain::call::{CallKind, CallOutcome, PartyState};
use shouwang_domain::{CheckpointId, RecordId, ScopePath, UserId};

use crate::{Store, StoreError};

/// A call to start: the caller is the actor.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    /// A UUIDv7 made by the server; also the SFU room's name.
    pub id: RecordId,
    /// What kind of call.
    pub kind: CallKind,
    /// Where its events are seen (the narrowest unit holding every post
    /// called).
    pub scope: ScopePath,
    /// Who is rung, and at which post.
    pub invited: Vec<Invitee>,
}

/// One person rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invitee {
    /// Who.
    pub user: UserId,
    /// At which post, if called as a post's officer.
    pub checkpoint: Option<CheckpointId>,
}

/// What happened to one party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyChange {
    /// They are rung (a call that grows); a party already in the call is
    /// left as is.
    Invite {
        /// At which post.
        checkpoint: Option<CheckpointId>,
    },
    /// They answered (or came back after a dropped connection).
    Join,
    /// They declined.
    Decline,
    /// Their phone rang out.
    Miss,
    /// They left.
    Leave,
}

/// One party of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Who.
    pub user: UserId,
    /// Their display name.
    pub name: String,
    /// The post they were called at, if any.
    pub checkpoint: Option<CheckpointId>,
    /// Where they stand.
    pub state: PartyState,
    /// When they were rung (the caller: when the call started).
    pub invited_us: i64,
    /// When they first joined.
    pub joined_us: Option<i64>,
    /// When they last left.
    pub left_us: Option<i64>,
}

/// A call as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// Its id (and the SFU room's name).
    pub id: RecordId,
    /// What kind.
    pub kind: CallKind,
    /// Who called.
    pub caller: UserId,
    /// Where its events are seen.
    pub scope: ScopePath,
    /// When it started.
    pub started_us: i64,
    /// When someone besides the caller first joined.
    pub answered_us: Option<i64>,
    /// When it ended; `None` while it goes on.
    pub ended_us: Option<i64>,
    /// How it ended.
    pub outcome: Option<CallOutcome>,
    /// Everyone in it or rung, the caller first, then in the order rung.
    pub parties: Vec<Party>,
}

impl CallRecord {
    /// How long it lasted (or has lasted until `now`), from start to end.
    pub fn duration_us(&self, now: i64) -> i64 {
        self.ended_us.unwrap_or(now) - self.started_us
    }

    /// The party that is `user`, if any.
    pub fn party(&self, user: UserId) -> Option<&Party> {
        self.parties.iter().find(|p| p.user == user)
    }
}

pub(crate) const CALL_COLUMNS: &str =
    "id, kind, caller_id, scope, started_us, answered_us, ended_us, outcome FROM calls";

const PARTY_COLUMNS: &str = "p.call_id, p.user_id, u.display_name, p.checkpoint_id, p.state, p.invited_us, \
     p.joined_us, p.left_us FROM call_parties p JOIN users u ON u.id = p.user_id";

fn call_from(row: &AnyRow) -> Result<CallRecord, StoreError> {
    let outcome: Option<&str> = row.try_get("outcome")?;
    Ok(CallRecord {
        id: RecordId::parse("id", row.try_get("id")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        kind: CallKind::parse("kind", row.try_get("kind")?)?,
        caller: UserId(row.try_get("caller_id")?),
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        started_us: row.try_get("started_us")?,
        answered_us: row.try_get("answered_us")?,
        ended_us: row.try_get("ended_us")?,
        outcome: outcome.map(|o| CallOutcome::parse("outcome", o)).transpose()?,
        parties: Vec::new(),
    })
}

fn party_from(row: &AnyRow) -> Result<(String, Party), StoreError> {
    Ok((
        row.try_get("call_id")?,
        Party {
            user: UserId(row.try_get("user_id")?),
            name: row.try_get("display_name")?,
            checkpoint: row.try_get::<Option<i64>, _>("checkpoint_id")?.map(CheckpointId),
            state: PartyState::parse("state", row.try_get("state")?)?,
            invited_us: row.try_get("invited_us")?,
            joined_us: row.try_get("joined_us")?,
            left_us: row.try_get("left_us")?,
        },
    ))
}

/// Reads the calls `sql` selects (binding `binds`), with their parties.
pub(crate) async fn calls_where(
    conn: &mut AnyConnection,
    sql: &str,
    binds: &[Bind<'_>],
) -> Result<Vec<CallRecord>, StoreError> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(*t),
            Bind::Int(i) => q.bind(*i),
        };
    }
    let mut calls = q.fetch_all(&mut *conn).await?.iter().map(call_from).collect::<Result<Vec<_>, _>>()?;
    if calls.is_empty() {
        return Ok(calls);
    }
    let ids: Vec<String> = calls.iter().map(|c| c.id.to_string()).collect();
    let marks = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT {PARTY_COLUMNS} WHERE p.call_id IN ({marks}) ORDER BY p.invited_us, p.user_id");
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(id.as_str());
    }
    for row in q.fetch_all(&mut *conn).await? {
        let (call_id, party) = party_from(&row)?;
        if let Some(i) = ids.iter().position(|id| *id == call_id) {
            calls[i].parties.push(party);
        }
    }
    for c in &mut calls {
        // The caller first, whenever they were rung.
        if let Some(i) = c.parties.iter().position(|p| p.user == c.caller) {
            let caller = c.parties.remove(i);
            c.parties.insert(0, caller);
        }
    }
    Ok(calls)
}

/// A bound parameter of [`calls_where`].
pub(crate) enum Bind<'a> {
    Text(&'a str),
    Int(i64),
}

impl Store {
    /// One call with its parties.
    pub async fn call(&self, id: RecordId) -> Result<CallRecord, StoreError> {
        let id = id.to_string();
        let sql = format!("SELECT {CALL_COLUMNS} WHERE id = $1");
        calls_where(&mut *self.pool.acquire().await?, &sql, &[Bind::Text(&id)]).await?.pop().ok_or(StoreError::NotFound)
    }

    /// Calls going on now within `scope`, oldest first.
    pub async fn active_calls_within(&self, scope: &ScopePath) -> Result<Vec<CallRecord>, StoreError> {
        let sql = format!(
            "SELECT {CALL_COLUMNS} WHERE ended_us IS NULL AND scope >= $1 AND scope < $2 ORDER BY started_us, id"
        );
        let upper = scope.upper_bound();
        calls_where(&mut *self.pool.acquire().await?, &sql, &[Bind::Text(scope.as_str()), Bind::Text(&upper)]).await
    }

    /// Calls started since `since_us` that rang out at someone who has not
    /// joined any call started after: `(call, the party who missed it)`,
    /// oldest first.
    pub async fn missed_calls_since(&self, since_us: i64) -> Result<Vec<(CallRecord, Party)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        // Who still stands as missed: no call they joined started later.
        let still = sqlx::query(
            "SELECT p.call_id, p.user_id FROM call_parties p JOIN calls c ON c.id = p.call_id \
             WHERE p.state = 'missed' AND c.started_us >= $1 AND NOT EXISTS (SELECT 1 FROM call_parties q \
             JOIN calls d ON d.id = q.call_id WHERE q.user_id = p.user_id AND q.joined_us IS NOT NULL \
             AND d.started_us > c.started_us)",
        )
        .bind(since_us)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<String, _>("call_id")?, UserId(r.try_get("user_id")?))))
        .collect::<Result<Vec<_>, StoreError>>()?;
        if still.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {CALL_COLUMNS} WHERE started_us >= $1 \
             AND id IN (SELECT call_id FROM call_parties WHERE state = 'missed') ORDER BY started_us, id"
        );
        let calls = calls_where(&mut conn, &sql, &[Bind::Int(since_us)]).await?;
        Ok(calls
            .iter()
            .flat_map(|call| {
                let id = call.id.to_string();
                call.parties
                    .iter()
                    .filter(|p| still.iter().any(|(c, u)| *c == id && *u == p.user))
                    .map(move |p| (call.clone(), p.clone()))
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    /// Calls within `scope`, or that `user` was a party to, newest first, at
    /// most `limit` (1–500).
    pub async fn calls_for(&self, scope: &ScopePath, user: UserId, limit: i64) -> Result<Vec<CallRecord>, StoreError> {
        let sql = format!(
            "SELECT {CALL_COLUMNS} WHERE (scope >= $1 AND scope < $2) \
             OR id IN (SELECT call_id FROM call_parties WHERE user_id = $3) \
             ORDER BY started_us DESC, id DESC LIMIT $4"
        );
        let upper = scope.upper_bound();
        let binds = [Bind::Text(scope.as_str()), Bind::Text(&upper), Bind::Int(user.0), Bind::Int(limit.clamp(1, 500))];
        calls_where(&mut *self.pool.acquire().await?, &sql, &binds).await
    }
}
