//! The writer: one task that owns every write, with group commit.
//!
//! Callers send a [`Command`] through a [`Writer`] handle and await the
//! answer. The task takes whatever commands are waiting (up to
//! [`MAX_BATCH`]), applies them in **one** transaction together with the
//! events each produces, commits, and only then answers each caller and hands
//! the committed events to the listener (the bus). With 200 phones writing at
//! once, 200 small writes cost one fsync instead of 200: that is what makes
//! durable writes fast.
//!
//! ```text
//!  request ─┐                     ┌─ BEGIN ─ cmd₁ … cmdₙ ─ events ─ COMMIT ─┐
//!  request ─┼─► mpsc ─► writer ───┤                                          ├─► answers, bus
//!  request ─┘                     └─ (a database error: roll back, then each ┘
//!                                     command again in a transaction of its own)
//! ```
//!
//! A command either writes nothing and returns a decision (`Conflict`,
//! `NotFound`, …), which leaves the batch intact, or fails inside the
//! database, which poisons the transaction; then the batch is rolled back and
//! every command in it is retried alone, so one bad command never costs the
//! others their write.
//!
//! Event ids follow commit order: SQLite has one writer at a time by
//! construction, and on PostgreSQL each batch takes a transaction-scoped
//! advisory lock before it inserts events, so several nodes never interleave.

use std::sync::Arc;
use std::time::Instant;

use sqlx::AnyConnection;
use sqlx::{Acquire, Row};
use tokio::sync::{mpsc, oneshot};

use shouwang_domain::{
    Event, EventId, EventKind, NewEvent, OrgUnitCode, OrgUnitId, OrgUnitKind, RecordId, Role, RoleName, ScopePath,
    TokenId, UserId, Username,
};

use crate::reads::{DUTY_LOG_COLUMNS, ORG_COLUMNS, USER_COLUMNS, duty_log_from, org_unit_from, user_from};
use crate::{ApiToken, Backend, DutyLogEntry, OrgUnit, Store, StoreError, User, now_us};

/// The most commands one transaction takes.
pub const MAX_BATCH: usize = 1000;

/// The advisory lock key that keeps event ids in commit order on PostgreSQL.
const EVENT_ORDER_LOCK: i64 = 0x5348_5757_0002;

/// Who asks for a write: a user, or the system (`id: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user, if a user.
    pub id: Option<UserId>,
    /// Their login name, or `system`.
    pub name: String,
}

impl Actor {
    /// The system itself: start-up, jobs, the demo seeder.
    pub fn system() -> Self {
        Self { id: None, name: "system".into() }
    }

    /// A user.
    pub fn user(id: UserId, name: &Username) -> Self {
        Self { id: Some(id), name: name.as_str().to_owned() }
    }
}

/// A write. Each variant is applied by one function below and produces the
/// events that describe it.
#[derive(Debug, Clone)]
pub enum Command {
    /// Create a role, or replace its rights.
    PutRole(Role),
    /// Create an org unit under `parent`.
    CreateOrgUnit {
        /// The unit above; `None` for a root.
        parent: Option<OrgUnitId>,
        /// What kind of unit.
        kind: OrgUnitKind,
        /// Its unique code.
        code: OrgUnitCode,
        /// Its name.
        name: String,
    },
    /// Rename an org unit.
    RenameOrgUnit {
        /// Which.
        id: OrgUnitId,
        /// The new name.
        name: String,
    },
    /// Create an account.
    CreateUser {
        /// Login name; must be free.
        username: Username,
        /// Name shown to others.
        display_name: String,
        /// An Argon2id hash (never the password).
        password_hash: String,
        /// The role.
        role: RoleName,
        /// The org unit; its path becomes the user's scope.
        org_unit: OrgUnitId,
        /// A narrower scope inside the org unit (a checkpoint's), if any.
        scope: Option<ScopePath>,
    },
    /// Change an account's name, role or org unit.
    UpdateUser {
        /// Which.
        id: UserId,
        /// New display name.
        display_name: Option<String>,
        /// New role.
        role: Option<RoleName>,
        /// New org unit (and so scope).
        org_unit: Option<OrgUnitId>,
    },
    /// Disable or enable an account. Disabling ends its sessions.
    SetUserDisabled {
        /// Which.
        id: UserId,
        /// Disabled or not.
        disabled: bool,
    },
    /// Set a password hash. Ends every session of the account.
    SetPassword {
        /// Which account.
        id: UserId,
        /// The new Argon2id hash.
        password_hash: String,
    },
    /// Set the preferred language.
    SetLocale {
        /// Which account.
        id: UserId,
        /// `zh-CN`, `en`, or none to follow the browser.
        locale: Option<String>,
    },
    /// Start a browser session after a successful sign-in.
    CreateSession {
        /// Whose.
        user: UserId,
        /// SHA-256 of the cookie value.
        token_hash: String,
        /// The CSRF token bound to it.
        csrf: String,
        /// When it lapses.
        expires_us: i64,
        /// The client's address, for the audit log.
        client: String,
    },
    /// End a session.
    EndSession {
        /// SHA-256 of the cookie value.
        token_hash: String,
    },
    /// Record a refused sign-in (nothing else is written).
    LoginFailed {
        /// The name that was tried (may not exist).
        username: String,
        /// Why: `bad_credentials`, `disabled`, `throttled`.
        reason: &'static str,
        /// The client's address.
        client: String,
    },
    /// Issue an API token.
    CreateToken {
        /// Whose rights it carries.
        user: UserId,
        /// What it is for.
        name: String,
        /// SHA-256 of the secret.
        token_hash: String,
    },
    /// Revoke an API token.
    RevokeToken {
        /// Which.
        id: TokenId,
    },
    /// Add an entry to a unit's duty log; idempotent by `id`.
    AddDutyLogEntry {
        /// The client-made UUIDv7.
        id: RecordId,
        /// The unit whose log it is.
        org_unit: OrgUnitId,
        /// That unit's path (already checked by the caller's policy).
        scope: ScopePath,
        /// The text.
        body: String,
        /// When it happened, by the device's clock.
        occurred_us: i64,
    },
    /// Record that someone exported data in bulk.
    RecordExport {
        /// What was exported, e.g. `events`.
        what: String,
        /// How many records.
        count: i64,
        /// The scope exported.
        scope: ScopePath,
    },
    /// Set a deployment setting (no event: settings hold secrets such as the
    /// first-start token).
    PutSetting {
        /// Key.
        key: String,
        /// Value; `None` deletes.
        value: Option<String>,
    },
}

/// What a command produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A role as stored.
    Role(Role),
    /// An org unit as stored.
    OrgUnit(OrgUnit),
    /// A user as stored.
    User(User),
    /// An API token as stored.
    Token(ApiToken),
    /// A duty-log entry; `created` is false when the id was already stored
    /// (the repeated submission gets the stored record back).
    DutyLogEntry {
        /// The stored entry.
        entry: DutyLogEntry,
        /// Whether this submission created it.
        created: bool,
    },
    /// Done; nothing to return.
    Done,
}

macro_rules! outcome_into {
    ($($(#[$doc:meta])* $fn:ident => $variant:ident($ty:ty),)*) => {
        impl Outcome {
            $($(#[$doc])*
            pub fn $fn(self) -> Result<$ty, StoreError> {
                match self {
                    Outcome::$variant(v) => Ok(v),
                    other => Err(StoreError::Corrupt(format!(
                        concat!("the writer answered {:?} where ", stringify!($variant), " was due"), other
                    ))),
                }
            })*
        }
    };
}

outcome_into! {
    /// The user a user command produced.
    into_user => User(User),
    /// The org unit an org-unit command produced.
    into_org_unit => OrgUnit(OrgUnit),
    /// The token a token command produced.
    into_token => Token(ApiToken),
    /// The role a role command produced.
    into_role => Role(Role),
}

impl Outcome {
    /// The entry a duty-log command produced, and whether it is new.
    pub fn into_duty_log_entry(self) -> Result<(DutyLogEntry, bool), StoreError> {
        match self {
            Outcome::DutyLogEntry { entry, created } => Ok((entry, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where DutyLogEntry was due"))),
        }
    }
}

/// A committed command: its outcome and the events it appended.
#[derive(Debug, Clone)]
pub struct Applied {
    /// What it produced.
    pub outcome: Outcome,
    /// The events, with their ids.
    pub events: Vec<Arc<Event>>,
}

/// Hears about every committed batch, in commit order. The bus implements it.
pub trait CommitListener: Send + Sync + 'static {
    /// Called after commit with the batch's events, oldest first.
    fn committed(&self, events: &[Arc<Event>]);
}

struct Job {
    actor: Actor,
    command: Command,
    reply: oneshot::Sender<Result<Applied, StoreError>>,
}

/// A handle to the writer task. Cheap to clone; the task stops once every
/// handle is dropped and the queue is drained.
#[derive(Clone, Debug)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("actor", &self.actor.name).finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer task. Await the handle after dropping every
    /// [`Writer`] to know that the last batch is durable.
    pub fn spawn(store: Store, listener: Arc<dyn CommitListener>) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 8);
        let task = tokio::spawn(run(store, listener, rx));
        (Writer { tx }, task)
    }

    /// Applies `command` as `actor`; returns once it is durable.
    pub async fn submit(&self, actor: Actor, command: Command) -> Result<Applied, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Job { actor, command, reply }).await.map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn run(store: Store, listener: Arc<dyn CommitListener>, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let started = Instant::now();
        let size = batch.len();
        let results = apply_batch(&store, &batch).await;
        metrics::histogram!("shouwang_writer_batch_size").record(size as f64);
        metrics::histogram!("shouwang_writer_commit_seconds").record(started.elapsed().as_secs_f64());
        let mut committed: Vec<Arc<Event>> = Vec::new();
        for r in results.iter().flatten() {
            committed.extend(r.events.iter().cloned());
        }
        if !committed.is_empty() {
            listener.committed(&committed);
        }
        for (job, result) in batch.drain(..).zip(results) {
            // The caller may have gone away (request cancelled); the write
            // stands regardless.
            let _ = job.reply.send(result);
        }
    }
    tracing::info!("writer drained and stopped");
}

/// Applies a batch in one transaction; on a database error, each command
/// alone. Returns one result per job, in order.
async fn apply_batch(store: &Store, batch: &[Job]) -> Vec<Result<Applied, StoreError>> {
    match try_together(store, batch).await {
        Ok(results) => results,
        Err(e) => {
            if batch.len() > 1 {
                tracing::warn!(error = %e, batch.size = batch.len(), "batch failed; applying its commands one by one");
            }
            let mut results = Vec::with_capacity(batch.len());
            for job in batch {
                let one = try_together(store, std::slice::from_ref(job)).await;
                results.push(one.and_then(|mut r| r.pop().expect("one job gives one result")));
            }
            results
        }
    }
}

/// One transaction for all of `jobs`. `Err` only for a database failure (the
/// whole transaction is void); per-command decisions are in the `Ok` vector.
async fn try_together(store: &Store, jobs: &[Job]) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
    let mut conn = store.pool.acquire().await?;
    let mut tx = conn.begin().await?;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(EVENT_ORDER_LOCK).execute(&mut *tx).await?;
    }
    let now = now_us();
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        match apply(&mut tx, &job.actor, &job.command, now).await {
            Ok((outcome, new_events)) => {
                let mut events = Vec::with_capacity(new_events.len());
                for e in new_events {
                    events.push(Arc::new(insert_event(&mut tx, &job.actor, e, now).await?));
                }
                results.push(Ok(Applied { outcome, events }));
            }
            Err(e) if e.is_database() => return Err(classify(e)),
            Err(decision) => results.push(Err(decision)),
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// Turns constraint violations into the decisions they stand for.
fn classify(e: StoreError) -> StoreError {
    if let StoreError::Database(sqlx::Error::Database(db)) = &e {
        let msg = db.message().to_lowercase();
        if db.is_unique_violation() {
            let field = if msg.contains("username") {
                "username"
            } else if msg.contains("code") {
                "code"
            } else {
                "id"
            };
            return StoreError::Conflict { field };
        }
        if db.is_foreign_key_violation() {
            let field = if msg.contains("org_unit") { "org_unit_id" } else { "id" };
            return StoreError::Dangling { field };
        }
    }
    e
}

async fn insert_event(conn: &mut AnyConnection, actor: &Actor, e: NewEvent, now: i64) -> Result<Event, StoreError> {
    let payload = e.payload.to_string();
    let row = sqlx::query(
        "INSERT INTO events (at_us, actor_id, actor_name, kind, subject, scope, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(now)
    .bind(actor.id.map(|u| u.0))
    .bind(&actor.name)
    .bind(e.kind.as_str())
    .bind(&e.subject)
    .bind(e.scope.as_str())
    .bind(&payload)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Event {
        id: EventId(row.try_get("id")?),
        at_us: now,
        actor: actor.id,
        actor_name: actor.name.clone(),
        kind: e.kind,
        subject: e.subject,
        scope: e.scope,
        payload: e.payload,
    })
}

type Decided = (Outcome, Vec<NewEvent>);

async fn apply(conn: &mut AnyConnection, actor: &Actor, command: &Command, now: i64) -> Result<Decided, StoreError> {
    use serde_json::json;
    match command {
        Command::PutRole(role) => {
            sqlx::query(
                "INSERT INTO roles (name, rights, updated_us) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET rights = excluded.rights, updated_us = excluded.updated_us",
            )
            .bind(role.name.as_str())
            .bind(role.rights.to_stored())
            .bind(now)
            .execute(&mut *conn)
            .await?;
            let event = NewEvent::new(
                EventKind::RoleUpdated,
                format!("role:{}", role.name),
                ScopePath::root(),
                json!({ "role": role.name, "rights": role.rights }),
            );
            Ok((Outcome::Role(role.clone()), vec![event]))
        }
        Command::CreateOrgUnit { parent, kind, code, name } => {
            let parent_unit = match parent {
                Some(p) => Some(org_unit(conn, *p).await.map_err(dangling("parent_id"))?),
                None => None,
            };
            if !kind.may_sit_under(parent_unit.as_ref().map(|p| p.kind)) {
                return Err(StoreError::Conflict { field: "kind" });
            }
            if exists(conn, "SELECT 1 FROM org_units WHERE code = $1", code.as_str()).await? {
                return Err(StoreError::Conflict { field: "code" });
            }
            // The path holds the unit's own id, which the insert assigns, so
            // insert a unique placeholder path and set the real one after.
            let placeholder = format!("/pending{}/", code.as_str().replace(['-', '_'], ""));
            let row = sqlx::query(
                "INSERT INTO org_units (parent_id, kind, code, name, path, created_us) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(parent.map(|p| p.0))
            .bind(kind.as_str())
            .bind(code.as_str())
            .bind(name)
            .bind(&placeholder)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            let id = OrgUnitId(row.try_get("id")?);
            let path = parent_unit.map_or_else(ScopePath::root, |p| p.path).child(id);
            sqlx::query("UPDATE org_units SET path = $1 WHERE id = $2")
                .bind(path.as_str())
                .bind(id.0)
                .execute(&mut *conn)
                .await?;
            let unit =
                OrgUnit { id, parent_id: *parent, kind: *kind, code: code.as_str().into(), name: name.clone(), path };
            let event = NewEvent::new(
                EventKind::OrgUnitCreated,
                format!("org_unit:{id}"),
                unit.path.clone(),
                json!({ "id": id, "parent_id": parent, "kind": kind, "code": unit.code, "name": name }),
            );
            Ok((Outcome::OrgUnit(unit), vec![event]))
        }
        Command::RenameOrgUnit { id, name } => {
            let mut unit = org_unit(conn, *id).await?;
            sqlx::query("UPDATE org_units SET name = $1 WHERE id = $2")
                .bind(name)
                .bind(id.0)
                .execute(&mut *conn)
                .await?;
            let event = NewEvent::new(
                EventKind::OrgUnitUpdated,
                format!("org_unit:{id}"),
                unit.path.clone(),
                json!({ "id": id, "name": name, "previous_name": unit.name }),
            );
            unit.name = name.clone();
            Ok((Outcome::OrgUnit(unit), vec![event]))
        }
        Command::CreateUser { username, display_name, password_hash, role, org_unit: unit_id, scope } => {
            if exists(conn, "SELECT 1 FROM users WHERE username = $1", username.as_str()).await? {
                return Err(StoreError::Conflict { field: "username" });
            }
            if !exists(conn, "SELECT 1 FROM roles WHERE name = $1", role.as_str()).await? {
                return Err(StoreError::Dangling { field: "role" });
            }
            let unit = org_unit(conn, *unit_id).await.map_err(dangling("org_unit_id"))?;
            let scope = match scope {
                Some(s) if unit.path.contains(s) => s.clone(),
                Some(_) => return Err(StoreError::Conflict { field: "scope" }),
                None => unit.path.clone(),
            };
            let row = sqlx::query(
                "INSERT INTO users (username, display_name, password_hash, role, org_unit_id, scope, \
                 disabled, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) RETURNING id",
            )
            .bind(username.as_str())
            .bind(display_name)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(unit_id.0)
            .bind(scope.as_str())
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            let user = user(conn, UserId(row.try_get("id")?)).await?;
            let event = NewEvent::new(
                EventKind::UserCreated,
                format!("user:{}", user.id),
                user.scope.clone(),
                json!({ "id": user.id, "username": user.username, "display_name": user.display_name,
                        "role": user.role, "org_unit_id": user.org_unit_id }),
            );
            Ok((Outcome::User(user), vec![event]))
        }
        Command::UpdateUser { id, display_name, role, org_unit: unit_id } => {
            let before = user(conn, *id).await?;
            if let Some(r) = role
                && !exists(conn, "SELECT 1 FROM roles WHERE name = $1", r.as_str()).await?
            {
                return Err(StoreError::Dangling { field: "role" });
            }
            let scope = match unit_id {
                Some(u) => Some(org_unit(conn, *u).await.map_err(dangling("org_unit_id"))?.path),
                None => None,
            };
            sqlx::query(
                "UPDATE users SET display_name = COALESCE($1, display_name), role = COALESCE($2, role), \
                 org_unit_id = COALESCE($3, org_unit_id), scope = COALESCE($4, scope), updated_us = $5 WHERE id = $6",
            )
            .bind(display_name.as_deref())
            .bind(role.as_ref().map(|r| r.as_str()))
            .bind(unit_id.map(|u| u.0))
            .bind(scope.as_ref().map(|s| s.as_str()))
            .bind(now)
            .bind(id.0)
            .execute(&mut *conn)
            .await?;
            let after = user(conn, *id).await?;
            let event = NewEvent::new(
                EventKind::UserUpdated,
                format!("user:{id}"),
                after.scope.clone(),
                json!({ "id": id, "display_name": after.display_name, "role": after.role,
                        "org_unit_id": after.org_unit_id, "previous_role": before.role }),
            );
            Ok((Outcome::User(after), vec![event]))
        }
        Command::SetUserDisabled { id, disabled } => {
            let u = user(conn, *id).await?;
            sqlx::query("UPDATE users SET disabled = $1, updated_us = $2 WHERE id = $3")
                .bind(i64::from(*disabled))
                .bind(now)
                .bind(id.0)
                .execute(&mut *conn)
                .await?;
            if *disabled {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *conn).await?;
            }
            let kind = if *disabled { EventKind::UserDisabled } else { EventKind::UserEnabled };
            let event =
                NewEvent::new(kind, format!("user:{id}"), u.scope.clone(), json!({ "id": id, "username": u.username }));
            Ok((Outcome::User(User { disabled: *disabled, ..u }), vec![event]))
        }
        Command::SetPassword { id, password_hash } => {
            let u = user(conn, *id).await?;
            sqlx::query("UPDATE users SET password_hash = $1, updated_us = $2 WHERE id = $3")
                .bind(password_hash)
                .bind(now)
                .bind(id.0)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *conn).await?;
            let event =
                NewEvent::new(EventKind::PasswordChanged, format!("user:{id}"), u.scope.clone(), json!({ "id": id }));
            Ok((Outcome::User(u), vec![event]))
        }
        Command::SetLocale { id, locale } => {
            sqlx::query("UPDATE users SET locale = $1, updated_us = $2 WHERE id = $3")
                .bind(locale.as_deref())
                .bind(now)
                .bind(id.0)
                .execute(&mut *conn)
                .await?;
            Ok((Outcome::User(user(conn, *id).await?), vec![]))
        }
        Command::CreateSession { user: uid, token_hash, csrf, expires_us, client } => {
            let u = user(conn, *uid).await?;
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, csrf, created_us, expires_us) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(uid.0)
            .bind(csrf)
            .bind(now)
            .bind(expires_us)
            .execute(&mut *conn)
            .await?;
            // Expired sessions are swept here, where a write happens anyway.
            sqlx::query("DELETE FROM sessions WHERE expires_us < $1").bind(now).execute(&mut *conn).await?;
            let event = NewEvent::new(
                EventKind::LoginSucceeded,
                format!("user:{uid}"),
                u.scope.clone(),
                json!({ "username": u.username, "client": client }),
            );
            Ok((Outcome::User(u), vec![event]))
        }
        Command::EndSession { token_hash } => {
            let row = sqlx::query("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
                .bind(token_hash)
                .fetch_optional(&mut *conn)
                .await?;
            let Some(row) = row else {
                return Ok((Outcome::Done, vec![]));
            };
            let u = user(conn, UserId(row.try_get("user_id")?)).await?;
            let event = NewEvent::new(
                EventKind::LoggedOut,
                format!("user:{}", u.id),
                u.scope,
                json!({ "username": u.username }),
            );
            Ok((Outcome::Done, vec![event]))
        }
        Command::LoginFailed { username, reason, client } => {
            let known = Username::parse("username", username).ok();
            let scope = match known {
                Some(name) => {
                    let sql = "SELECT scope FROM users WHERE username = $1";
                    let row = sqlx::query(sql).bind(name.as_str()).fetch_optional(&mut *conn).await?;
                    row.map(|r| r.try_get::<String, _>("scope")).transpose()?
                }
                None => None,
            };
            let scope = scope.map(|s: String| ScopePath::from_stored(&s)).transpose()?.unwrap_or_else(ScopePath::root);
            let shown: String = username.chars().take(64).collect();
            let event = NewEvent::new(
                EventKind::LoginFailed,
                format!("login:{shown}"),
                scope,
                json!({ "username": shown, "reason": reason, "client": client }),
            );
            Ok((Outcome::Done, vec![event]))
        }
        Command::CreateToken { user: uid, name, token_hash } => {
            let u = user(conn, *uid).await?;
            let row = sqlx::query(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_us) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(uid.0)
            .bind(name)
            .bind(token_hash)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            let token = ApiToken {
                id: TokenId(row.try_get("id")?),
                user_id: *uid,
                name: name.clone(),
                created_us: now,
                revoked_us: None,
            };
            let event = NewEvent::new(
                EventKind::TokenCreated,
                format!("token:{}", token.id),
                u.scope,
                json!({ "id": token.id, "user_id": uid, "name": name }),
            );
            Ok((Outcome::Token(token), vec![event]))
        }
        Command::RevokeToken { id } => {
            let row = sqlx::query(
                "UPDATE api_tokens SET revoked_us = COALESCE(revoked_us, $1) WHERE id = $2 \
                 RETURNING user_id, name, created_us, revoked_us",
            )
            .bind(now)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
            let row = row.ok_or(StoreError::NotFound)?;
            let token = ApiToken {
                id: *id,
                user_id: UserId(row.try_get("user_id")?),
                name: row.try_get("name")?,
                created_us: row.try_get("created_us")?,
                revoked_us: row.try_get("revoked_us")?,
            };
            let u = user(conn, token.user_id).await?;
            let event = NewEvent::new(
                EventKind::TokenRevoked,
                format!("token:{id}"),
                u.scope,
                json!({ "id": id, "user_id": token.user_id, "name": token.name }),
            );
            Ok((Outcome::Token(token), vec![event]))
        }
        Command::AddDutyLogEntry { id, org_unit: unit, scope, body, occurred_us } => {
            let author = actor.id.ok_or(StoreError::Conflict { field: "author" })?;
            // Checked here rather than left to the foreign key: SQLite's
            // constraint error does not say which reference dangles, and a
            // failed statement would cost the whole batch a rollback.
            let unit_row = sqlx::query("SELECT 1 FROM org_units WHERE id = $1").bind(unit.0).fetch_optional(&mut *conn);
            if unit_row.await?.is_none() {
                return Err(StoreError::Dangling { field: "org_unit_id" });
            }
            let inserted = sqlx::query(
                "INSERT INTO duty_log (id, org_unit_id, scope, author_id, body, occurred_us, recorded_us) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING recorded_us",
            )
            .bind(id.to_string())
            .bind(unit.0)
            .bind(scope.as_str())
            .bind(author.0)
            .bind(body)
            .bind(occurred_us)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            if inserted.is_none() {
                let sql = format!("SELECT {DUTY_LOG_COLUMNS} WHERE id = $1");
                let stored = duty_log_from(&sqlx::query(&sql).bind(id.to_string()).fetch_one(&mut *conn).await?)?;
                if stored.author_id != author {
                    return Err(StoreError::Conflict { field: "id" });
                }
                return Ok((Outcome::DutyLogEntry { entry: stored, created: false }, vec![]));
            }
            let entry = DutyLogEntry {
                id: *id,
                org_unit_id: *unit,
                scope: scope.clone(),
                author_id: author,
                body: body.clone(),
                occurred_us: *occurred_us,
                recorded_us: now,
            };
            let event = NewEvent::new(
                EventKind::DutyLogEntryAdded,
                format!("duty_log:{id}"),
                scope.clone(),
                json!({ "id": id, "org_unit_id": unit, "body": body, "occurred_us": occurred_us }),
            );
            Ok((Outcome::DutyLogEntry { entry, created: true }, vec![event]))
        }
        Command::RecordExport { what, count, scope } => {
            let event = NewEvent::new(
                EventKind::DataExported,
                format!("export:{what}"),
                scope.clone(),
                json!({ "what": what, "count": count, "scope": scope }),
            );
            Ok((Outcome::Done, vec![event]))
        }
        Command::PutSetting { key, value } => {
            match value {
                Some(v) => {
                    sqlx::query(
                        "INSERT INTO settings (key, value) VALUES ($1, $2) \
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    )
                    .bind(key)
                    .bind(v)
                    .execute(&mut *conn)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM settings WHERE key = $1").bind(key).execute(&mut *conn).await?;
                }
            }
            Ok((Outcome::Done, vec![]))
        }
    }
}

/// Maps `NotFound` of a referenced record to `Dangling { field }`; any other
/// error (a database failure) stays what it is, so the batch is retried.
fn dangling(field: &'static str) -> impl Fn(StoreError) -> StoreError {
    move |e| match e {
        StoreError::NotFound => StoreError::Dangling { field },
        other => other,
    }
}

async fn exists(conn: &mut AnyConnection, sql: &str, key: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query(sql).bind(key).fetch_optional(&mut *conn).await?.is_some())
}

async fn org_unit(conn: &mut AnyConnection, id: OrgUnitId) -> Result<OrgUnit, StoreError> {
    let sql = format!("SELECT {ORG_COLUMNS} WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *conn).await?;
    org_unit_from(&row.ok_or(StoreError::NotFound)?)
}

async fn user(conn: &mut AnyConnection, id: UserId) -> Result<User, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} WHERE u.id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *conn).await?;
    user_from(&row.ok_or(StoreError::NotFound)?)
}
