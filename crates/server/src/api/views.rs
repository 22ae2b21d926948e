//! What the API returns: stable JSON shapes, described in the OpenAPI
//! document. Built from store records; never the records themselves, so the
//! storage can change without breaking clients.

use serde::Serialize;
use shouwang_domain::{Event, Principal};
use shouwang_store::{ApiToken, DutyLogEntry, OrgUnit, User};
use utoipa::ToSchema;

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role name.
    pub role: String,
    /// The role's rights.
    pub rights: Vec<String>,
    /// Org unit id.
    pub org_unit_id: i64,
    /// Scope path, e.g. `/1/2/`.
    pub scope: String,
    /// `zh-CN`, `en`, or null.
    pub locale: Option<String>,
    /// Whether the account is disabled.
    pub disabled: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self { locale: u.locale.clone(), disabled: u.disabled, ..Self::from(&u.principal()) }
    }
}

impl From<&Principal> for UserView {
    /// The user as signed in (language and state are not part of a principal).
    fn from(p: &Principal) -> Self {
        Self {
            id: p.user_id.0,
            username: p.username.as_str().to_owned(),
            display_name: p.display_name.clone(),
            role: p.role.as_str().to_owned(),
            rights: p.rights.list().iter().map(|r| r.as_str().to_owned()).collect(),
            org_unit_id: p.org_unit.0,
            scope: p.scope.as_str().to_owned(),
            locale: None,
            disabled: false,
        }
    }
}

/// A node of the org tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgUnitView {
    /// Id.
    pub id: i64,
    /// Parent id; null at the root.
    pub parent_id: Option<i64>,
    /// `city`, `county`, `township`, `village` or `department`.
    pub kind: String,
    /// Region or department code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Scope path.
    pub path: String,
}

impl From<&OrgUnit> for OrgUnitView {
    fn from(o: &OrgUnit) -> Self {
        Self {
            id: o.id.0,
            parent_id: o.parent_id.map(|p| p.0),
            kind: o.kind.as_str().to_owned(),
            code: o.code.clone(),
            name: o.name.clone(),
            path: o.path.as_str().to_owned(),
        }
    }
}

/// An event of the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Position in the log (the cursor).
    pub id: i64,
    /// Commit time, microseconds since the epoch (UTC).
    pub at_us: i64,
    /// Acting user id; null for the system.
    pub actor_id: Option<i64>,
    /// Acting user's login name, or `system`.
    pub actor_name: String,
    /// What happened, e.g. `user.created`.
    pub kind: String,
    /// What it happened to, e.g. `user:12`.
    pub subject: String,
    /// Scope path of the subject.
    pub scope: String,
    /// The facts.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id.0,
            at_us: e.at_us,
            actor_id: e.actor.map(|a| a.0),
            actor_name: e.actor_name.clone(),
            kind: e.kind.as_str().to_owned(),
            subject: e.subject.clone(),
            scope: e.scope.as_str().to_owned(),
            payload: e.payload.clone(),
        }
    }
}

/// An API token, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Id.
    pub id: i64,
    /// Whose rights it carries.
    pub user_id: i64,
    /// What it is for.
    pub name: String,
    /// Issued, microseconds since the epoch.
    pub created_us: i64,
    /// Revoked, if it was.
    pub revoked_us: Option<i64>,
}

impl From<&ApiToken> for TokenView {
    fn from(t: &ApiToken) -> Self {
        Self {
            id: t.id.0,
            user_id: t.user_id.0,
            name: t.name.clone(),
            created_us: t.created_us,
            revoked_us: t.revoked_us,
        }
    }
}

/// A duty-log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct DutyLogView {
    /// The client-made UUIDv7.
    pub id: String,
    /// The unit whose log it is.
    pub org_unit_id: i64,
    /// Author's user id.
    pub author_id: i64,
    /// Text.
    pub body: String,
    /// When it happened (device clock), microseconds since the epoch.
    pub occurred_us: i64,
    /// When the server stored it.
    pub recorded_us: i64,
}

impl From<&DutyLogEntry> for DutyLogView {
    fn from(d: &DutyLogEntry) -> Self {
        Self {
            id: d.id.to_string(),
            org_unit_id: d.org_unit_id.0,
            author_id: d.author_id.0,
            body: d.body.clone(),
            occurred_us: d.occurred_us,
            recorded_us: d.recorded_us,
        }
    }
}
