//! Reads. Each runs on the pool, never inside the writer's transaction.

use sqlx::Row;
use sqlx::any::AnyRow;

use shouwang_domain::{
    Event, EventId, EventKind, OrgUnitId, OrgUnitKind, RecordId, Rights, Role, RoleName, ScopePath, TokenId, UserId,
    Username,
};

use crate::{ApiToken, DutyLogEntry, EventFilter, OrgUnit, SessionRecord, Store, StoreError, User};

pub(crate) const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, r.rights, u.org_unit_id, u.scope, \
     u.locale, u.disabled, u.created_us FROM users u JOIN roles r ON r.name = u.role";
pub(crate) const ORG_COLUMNS: &str = "id, parent_id, kind, code, name, path FROM org_units";
pub(crate) const EVENT_COLUMNS: &str = "id, at_us, actor_id, actor_name, kind, subject, scope, payload FROM events";
pub(crate) const DUTY_LOG_COLUMNS: &str =
    "id, org_unit_id, scope, author_id, body, occurred_us, recorded_us FROM duty_log";

pub(crate) fn user_from(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: Username::parse("username", row.try_get("username")?)?,
        display_name: row.try_get("display_name")?,
        role: RoleName::parse("role", row.try_get("role")?)?,
        rights: Rights::from_stored(row.try_get("rights")?)?,
        org_unit_id: OrgUnitId(row.try_get("org_unit_id")?),
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        locale: row.try_get("locale")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_us: row.try_get("created_us")?,
    })
}

pub(crate) fn org_unit_from(row: &AnyRow) -> Result<OrgUnit, StoreError> {
    Ok(OrgUnit {
        id: OrgUnitId(row.try_get("id")?),
        parent_id: row.try_get::<Option<i64>, _>("parent_id")?.map(OrgUnitId),
        kind: OrgUnitKind::parse("kind", row.try_get("kind")?)?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        path: ScopePath::from_stored(row.try_get("path")?)?,
    })
}

pub(crate) fn event_from(row: &AnyRow) -> Result<Event, StoreError> {
    let payload: String = row.try_get("payload")?;
    Ok(Event {
        id: EventId(row.try_get("id")?),
        at_us: row.try_get("at_us")?,
        actor: row.try_get::<Option<i64>, _>("actor_id")?.map(UserId),
        actor_name: row.try_get("actor_name")?,
        kind: EventKind::parse("kind", row.try_get("kind")?)?,
        subject: row.try_get("subject")?,
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

pub(crate) fn duty_log_from(row: &AnyRow) -> Result<DutyLogEntry, StoreError> {
    let id: String = row.try_get("id")?;
    Ok(DutyLogEntry {
        id: RecordId::parse("id", &id)?,
        org_unit_id: OrgUnitId(row.try_get("org_unit_id")?),
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        author_id: UserId(row.try_get("author_id")?),
        body: row.try_get("body")?,
        occurred_us: row.try_get("occurred_us")?,
        recorded_us: row.try_get("recorded_us")?,
    })
}

fn all<T>(rows: Vec<AnyRow>, f: fn(&AnyRow) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}

impl Store {
    /// The whole org tree, parents before children.
    pub async fn org_units(&self) -> Result<Vec<OrgUnit>, StoreError> {
        let sql = format!("SELECT {ORG_COLUMNS} ORDER BY path");
        all(sqlx::query(&sql).fetch_all(&self.pool).await?, org_unit_from)
    }

    /// The org units within `scope`, parents before children.
    pub async fn org_units_within(&self, scope: &ScopePath) -> Result<Vec<OrgUnit>, StoreError> {
        let sql = format!("SELECT {ORG_COLUMNS} WHERE path >= $1 AND path < $2 ORDER BY path");
        let rows = sqlx::query(&sql).bind(scope.as_str()).bind(scope.upper_bound()).fetch_all(&self.pool).await?;
        all(rows, org_unit_from)
    }

    /// One org unit.
    pub async fn org_unit(&self, id: OrgUnitId) -> Result<OrgUnit, StoreError> {
        let sql = format!("SELECT {ORG_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await?;
        org_unit_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// One org unit by its code.
    pub async fn org_unit_by_code(&self, code: &str) -> Result<OrgUnit, StoreError> {
        let sql = format!("SELECT {ORG_COLUMNS} WHERE code = $1");
        let row = sqlx::query(&sql).bind(code).fetch_optional(&self.pool).await?;
        org_unit_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// Every role.
    pub async fn roles(&self) -> Result<Vec<Role>, StoreError> {
        let rows = sqlx::query("SELECT name, rights FROM roles ORDER BY name").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(Role {
                    name: RoleName::parse("name", r.try_get("name")?)?,
                    rights: Rights::from_stored(r.try_get("rights")?)?,
                })
            })
            .collect()
    }

    /// One user.
    pub async fn user(&self, id: UserId) -> Result<User, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} WHERE u.id = $1");
        let row = sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await?;
        user_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// A user and their password hash, for signing in.
    pub async fn credentials(&self, username: &Username) -> Result<(User, String), StoreError> {
        let sql = format!("SELECT u.password_hash, {USER_COLUMNS} WHERE u.username = $1");
        let row = sqlx::query(&sql).bind(username.as_str()).fetch_optional(&self.pool).await?;
        let row = row.ok_or(StoreError::NotFound)?;
        Ok((user_from(&row)?, row.try_get("password_hash")?))
    }

    /// The users within `scope`, by login name.
    pub async fn users_within(&self, scope: &ScopePath) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} WHERE u.scope >= $1 AND u.scope < $2 ORDER BY u.username");
        let rows = sqlx::query(&sql).bind(scope.as_str()).bind(scope.upper_bound()).fetch_all(&self.pool).await?;
        all(rows, user_from)
    }

    /// The session with this token hash, if it is live and its user enabled.
    pub async fn session(&self, token_hash: &str, now_us: i64) -> Result<Option<SessionRecord>, StoreError> {
        let sql = format!(
            "SELECT s.csrf, s.expires_us, {USER_COLUMNS} JOIN sessions s ON s.user_id = u.id \
             WHERE s.token_hash = $1 AND s.expires_us > $2 AND u.disabled = 0"
        );
        let row = sqlx::query(&sql).bind(token_hash).bind(now_us).fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(SessionRecord {
                user: user_from(&row)?,
                csrf: row.try_get("csrf")?,
                expires_us: row.try_get("expires_us")?,
            })
        })
        .transpose()
    }

    /// The user an API token acts for, if the token is live and the user
    /// enabled.
    pub async fn token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} JOIN api_tokens t ON t.user_id = u.id \
             WHERE t.token_hash = $1 AND t.revoked_us IS NULL AND u.disabled = 0"
        );
        let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from).transpose()
    }

    /// The API tokens of the users within `scope`, newest first.
    pub async fn tokens_within(&self, scope: &ScopePath) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.user_id, t.name, t.created_us, t.revoked_us FROM api_tokens t \
             JOIN users u ON u.id = t.user_id WHERE u.scope >= $1 AND u.scope < $2 ORDER BY t.id DESC",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiToken {
                    id: TokenId(r.try_get("id")?),
                    user_id: UserId(r.try_get("user_id")?),
                    name: r.try_get("name")?,
                    created_us: r.try_get("created_us")?,
                    revoked_us: r.try_get("revoked_us")?,
                })
            })
            .collect()
    }

    /// Events matching `filter`. Oldest first unless the filter asks
    /// otherwise; at most 1,000.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        let mut sql = format!("SELECT {EVENT_COLUMNS} WHERE scope >= $1 AND scope < $2");
        let mut n = 2;
        let mut clause = |sql: &mut String, text: &str| {
            n += 1;
            sql.push_str(&text.replace('?', &format!("${n}")));
        };
        if filter.after.is_some() {
            clause(&mut sql, " AND id > ?");
        }
        if filter.before.is_some() {
            clause(&mut sql, " AND id < ?");
        }
        if filter.kind.is_some() {
            clause(&mut sql, " AND kind = ?");
        }
        if filter.actor.is_some() {
            clause(&mut sql, " AND actor_id = ?");
        }
        sql.push_str(if filter.newest_first { " ORDER BY id DESC" } else { " ORDER BY id" });
        clause(&mut sql, " LIMIT ?");
        let mut q = sqlx::query(&sql).bind(filter.scope.as_str()).bind(filter.scope.upper_bound());
        if let Some(a) = filter.after {
            q = q.bind(a.0);
        }
        if let Some(b) = filter.before {
            q = q.bind(b.0);
        }
        if let Some(k) = filter.kind {
            q = q.bind(k.as_str());
        }
        if let Some(a) = filter.actor {
            q = q.bind(a.0);
        }
        let rows = q.bind(filter.limit.clamp(1, 1000)).fetch_all(&self.pool).await?;
        all(rows, event_from)
    }

    /// The id of the newest event, or 0 when there is none.
    pub async fn last_event_id(&self) -> Result<EventId, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM events").fetch_one(&self.pool).await?;
        Ok(EventId(row.try_get("id")?))
    }

    /// The newest duty-log entries within `scope`.
    pub async fn duty_log(&self, scope: &ScopePath, limit: i64) -> Result<Vec<DutyLogEntry>, StoreError> {
        let sql = format!(
            "SELECT {DUTY_LOG_COLUMNS} WHERE scope >= $1 AND scope < $2 ORDER BY occurred_us DESC, id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(scope.as_str())
            .bind(scope.upper_bound())
            .bind(limit.clamp(1, 1000))
            .fetch_all(&self.pool)
            .await?;
        all(rows, duty_log_from)
    }

    /// One duty-log entry by its id.
    pub async fn duty_log_entry(&self, id: RecordId) -> Result<DutyLogEntry, StoreError> {
        let sql = format!("SELECT {DUTY_LOG_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        duty_log_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// A deployment setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    /// How many users there are: zero means a fresh deployment that needs its
    /// first admin.
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(&self.pool).await?;
        Ok(row.try_get("n")?)
    }
}
