//! Freight passes as stored: passes, enterprises' requests, and the reads a
//! list, a post's offline copy and HQ's usage report need. The writes are in
//! `writer/passes.rs`; what a pass says and whether it is good is the
//! domain's (`shouwang_domain::pass`).
//!
//! A pass is stored as its signed token plus the columns reads filter on.
//! Tokens and requested terms carry the driver's name and phone, so the
//! records' `Debug` leaves them out.

use sqlx::Row;
use sqlx::any::AnyRow;

use shouwang_domain::pass::{PassStatus, RequestState};
use shouwang_domain::{CheckpointId, RecordId, ScopePath, UserId};

use crate::{Store, StoreError};

/// A pass to store, signed by the server.
#[derive(Clone, PartialEq)]
pub struct NewPass {
    /// A UUIDv7 (the client's, or made by the server).
    pub id: RecordId,
    /// The pass number as stored (`7K3M9QP2`).
    pub number: String,
    /// Where it is valid: the issuer's scope.
    pub scope: ScopePath,
    /// The signed token.
    pub token: String,
    /// Its plates, normalised.
    pub plates: Vec<String>,
    /// The enterprise.
    pub enterprise: String,
    /// Valid from (µs).
    pub valid_from_us: i64,
    /// Valid until (µs, exclusive).
    pub valid_until_us: i64,
}

impl std::fmt::Debug for NewPass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPass").field("id", &self.id).field("number", &self.number).finish_non_exhaustive()
    }
}

/// A stored pass.
#[derive(Clone, PartialEq)]
pub struct Pass {
    /// Its UUIDv7.
    pub id: RecordId,
    /// Its number as stored.
    pub number: String,
    /// Issued or revoked.
    pub status: PassStatus,
    /// Where it is valid.
    pub scope: ScopePath,
    /// The signed token (carries every claim).
    pub token: String,
    /// Its plates.
    pub plates: Vec<String>,
    /// The enterprise.
    pub enterprise: String,
    /// Valid from.
    pub valid_from_us: i64,
    /// Valid until (exclusive).
    pub valid_until_us: i64,
    /// Who issued it.
    pub issued_by: UserId,
    /// The request it answers, if any.
    pub request_id: Option<RecordId>,
    /// Who asked for it, if anyone did.
    pub requested_by: Option<UserId>,
    /// When it was issued.
    pub created_us: i64,
    /// When it was revoked.
    pub revoked_us: Option<i64>,
    /// Who revoked it.
    pub revoked_by: Option<UserId>,
    /// Why (empty unless revoked).
    pub revoke_reason: String,
}

impl std::fmt::Debug for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pass")
            .field("id", &self.id)
            .field("number", &self.number)
            .field("status", &self.status)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// An enterprise's request to store.
#[derive(Clone, PartialEq)]
pub struct NewPassRequest {
    /// The client's UUIDv7.
    pub id: RecordId,
    /// The requester's scope: who may decide on it.
    pub scope: ScopePath,
    /// The terms asked for, as JSON (`PassTermsDraft`), already checked.
    pub terms: String,
    /// A note for the approver.
    pub note: String,
}

impl std::fmt::Debug for NewPassRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPassRequest").field("id", &self.id).field("scope", &self.scope).finish_non_exhaustive()
    }
}

/// A stored request.
#[derive(Clone, PartialEq)]
pub struct PassRequest {
    /// Its UUIDv7.
    pub id: RecordId,
    /// Who asked.
    pub requested_by: UserId,
    /// Their scope.
    pub scope: ScopePath,
    /// The terms asked for, as JSON.
    pub terms: String,
    /// Their note.
    pub note: String,
    /// Requested, approved or refused.
    pub state: RequestState,
    /// When asked.
    pub created_us: i64,
    /// Who decided.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_us: Option<i64>,
    /// Why refused (or a remark on approval).
    pub decision_note: String,
    /// The pass issued on approval.
    pub pass_id: Option<RecordId>,
}

impl std::fmt::Debug for PassRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassRequest")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// How an approver decides on a request.
#[derive(Debug, Clone, PartialEq)]
pub enum PassDecision {
    /// Issue this pass (signed from the request's terms).
    Approve(NewPass),
    /// Refuse, with the reason.
    Refuse {
        /// Why.
        note: String,
    },
}

/// A revoked pass, as a post's offline list holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Revocation {
    /// The number as stored.
    pub number: String,
    /// When it was revoked.
    pub revoked_us: i64,
}

/// Passes shown at one post on one local day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PassUsage {
    /// The post.
    pub checkpoint_id: CheckpointId,
    /// The start of the local day (UTC µs).
    pub day_us: i64,
    /// Screenings that recorded a pass number.
    pub screenings: i64,
    /// Distinct pass numbers among them.
    pub passes: i64,
}

pub(crate) const PASS_COLUMNS: &str = "id, number, status, scope, token, plates, enterprise, valid_from_us, \
     valid_until_us, issued_by, request_id, requested_by, created_us, revoked_us, revoked_by, revoke_reason FROM passes";

pub(crate) const REQUEST_COLUMNS: &str = "id, requested_by, scope, terms, note, state, created_us, decided_by, \
     decided_us, decision_note, pass_id FROM pass_requests";

fn record_id(raw: &str) -> Result<RecordId, StoreError> {
    RecordId::parse("id", raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn pass_from(row: &AnyRow) -> Result<Pass, StoreError> {
    let plates: String = row.try_get("plates")?;
    Ok(Pass {
        id: record_id(row.try_get("id")?)?,
        number: row.try_get("number")?,
        status: PassStatus::parse("status", row.try_get("status")?)?,
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        token: row.try_get("token")?,
        plates: plates.split(' ').filter(|p| !p.is_empty()).map(str::to_owned).collect(),
        enterprise: row.try_get("enterprise")?,
        valid_from_us: row.try_get("valid_from_us")?,
        valid_until_us: row.try_get("valid_until_us")?,
        issued_by: UserId(row.try_get("issued_by")?),
        request_id: row.try_get::<Option<&str>, _>("request_id")?.map(record_id).transpose()?,
        requested_by: row.try_get::<Option<i64>, _>("requested_by")?.map(UserId),
        created_us: row.try_get("created_us")?,
        revoked_us: row.try_get("revoked_us")?,
        revoked_by: row.try_get::<Option<i64>, _>("revoked_by")?.map(UserId),
        revoke_reason: row.try_get("revoke_reason")?,
    })
}

pub(crate) fn request_from(row: &AnyRow) -> Result<PassRequest, StoreError> {
    Ok(PassRequest {
        id: record_id(row.try_get("id")?)?,
        requested_by: UserId(row.try_get("requested_by")?),
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        terms: row.try_get("terms")?,
        note: row.try_get("note")?,
        state: RequestState::parse("state", row.try_get("state")?)?,
        created_us: row.try_get("created_us")?,
        decided_by: row.try_get::<Option<i64>, _>("decided_by")?.map(UserId),
        decided_us: row.try_get("decided_us")?,
        decision_note: row.try_get("decision_note")?,
        pass_id: row.try_get::<Option<&str>, _>("pass_id")?.map(record_id).transpose()?,
    })
}

impl Store {
    /// One pass.
    pub async fn pass(&self, id: RecordId) -> Result<Pass, StoreError> {
        let sql = format!("SELECT {PASS_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        pass_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// The pass with this number (as stored, `7K3M9QP2`), if any.
    pub async fn pass_by_number(&self, number: &str) -> Result<Option<Pass>, StoreError> {
        let sql = format!("SELECT {PASS_COLUMNS} WHERE number = $1");
        let row = sqlx::query(&sql).bind(number).fetch_optional(&self.pool).await?;
        row.as_ref().map(pass_from).transpose()
    }

    /// Passes valid within `scope`, and those `user` asked for wherever they
    /// are valid; newest first, at most `limit` (1–500).
    pub async fn passes_for(&self, scope: &ScopePath, user: UserId, limit: i64) -> Result<Vec<Pass>, StoreError> {
        let sql = format!(
            "SELECT {PASS_COLUMNS} WHERE (scope >= $1 AND scope < $2) OR requested_by = $3 \
             ORDER BY created_us DESC, id DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.as_str())
            .bind(scope.upper_bound())
            .bind(user.0)
            .bind(limit.clamp(1, 500))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(pass_from).collect()
    }

    /// Passes in force at `now_us` or later (issued, not yet ended),
    /// anywhere: the caller keeps those that admit its post.
    pub async fn live_passes(&self, now_us: i64) -> Result<Vec<Pass>, StoreError> {
        let sql = format!(
            "SELECT {PASS_COLUMNS} WHERE status = 'issued' AND valid_until_us > $1 ORDER BY valid_until_us LIMIT 20000"
        );
        let rows = sqlx::query(&sql).bind(now_us).fetch_all(&self.pool).await?;
        rows.iter().map(pass_from).collect()
    }

    /// Passes revoked after `since_us` that would otherwise still be in force
    /// at `now_us`: what a post's offline list must hold.
    pub async fn revocations_since(&self, since_us: i64, now_us: i64) -> Result<Vec<Revocation>, StoreError> {
        let rows = sqlx::query(
            "SELECT number, revoked_us FROM passes WHERE revoked_us IS NOT NULL AND revoked_us > $1 \
             AND valid_until_us > $2 ORDER BY revoked_us",
        )
        .bind(since_us)
        .bind(now_us)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(Revocation { number: r.try_get("number")?, revoked_us: r.try_get("revoked_us")? }))
            .collect()
    }

    /// One request.
    pub async fn pass_request(&self, id: RecordId) -> Result<PassRequest, StoreError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        request_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// Requests from within `scope`, and `user`'s own; open ones first, then
    /// newest first; at most `limit` (1–500).
    pub async fn pass_requests_for(
        &self,
        scope: &ScopePath,
        user: UserId,
        limit: i64,
    ) -> Result<Vec<PassRequest>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} WHERE (scope >= $1 AND scope < $2) OR requested_by = $3 \
             ORDER BY CASE WHEN state = 'requested' THEN 0 ELSE 1 END, created_us DESC, id DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.as_str())
            .bind(scope.upper_bound())
            .bind(user.0)
            .bind(limit.clamp(1, 500))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(request_from).collect()
    }

    /// Passes shown at the posts within `scope` per post and local day (the
    /// zone `offset_hours` from UTC), from `from_us` (inclusive) to `to_us`
    /// (exclusive), counted from the screenings that recorded a pass number.
    pub async fn pass_usage(
        &self,
        scope: &ScopePath,
        from_us: i64,
        to_us: i64,
        offset_hours: i32,
    ) -> Result<Vec<PassUsage>, StoreError> {
        const DAY_US: i64 = 86_400_000_000;
        let offset = i64::from(offset_hours) * 3_600_000_000;
        // Times are after 1970, so integer division floors; the offset moves
        // the day boundary to local midnight.
        let rows = sqlx::query(
            "SELECT checkpoint_id, day_us, CAST(COUNT(*) AS BIGINT) AS screenings, \
             CAST(COUNT(DISTINCT pass_number) AS BIGINT) AS passes FROM \
             (SELECT checkpoint_id, pass_number, ((occurred_us + $1) / $2) * $2 - $1 AS day_us FROM screenings \
              WHERE pass_number IS NOT NULL AND scope >= $3 AND scope < $4 AND occurred_us >= $5 AND occurred_us < $6) u \
             GROUP BY checkpoint_id, day_us ORDER BY day_us, checkpoint_id",
        )
        .bind(offset)
        .bind(DAY_US)
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .bind(from_us)
        .bind(to_us)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PassUsage {
                    checkpoint_id: CheckpointId(r.try_get("checkpoint_id")?),
                    day_us: r.try_get("day_us")?,
                    screenings: r.try_get("screenings")?,
                    passes: r.try_get("passes")?,
                })
            })
            .collect()
    }
}
