//! How the writer applies the foundation's commands: roles, org units,
//! accounts, sessions, tokens, the duty log, exports, settings.
//!
//! Each arm either returns a decision before writing anything (`Conflict`,
//! `NotFound`, `Dangling` — the batch goes on) or writes and returns the
//! events that describe the change.

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::{EventKind, NewEvent, OrgUnitId, ScopePath, TokenId, UserId, Username};

use super::{Actor, Command, Decided, Outcome};
use crate::reads::{DUTY_LOG_COLUMNS, ORG_COLUMNS, USER_COLUMNS, duty_log_from, org_unit_from, user_from};
use crate::{ApiToken, DutyLogEntry, OrgUnit, StoreError, User};

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
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
        // `writer::apply` sends every other command to its capability's file.
        other => unreachable!("{other:?} is applied in its capability's module, not here"),
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
