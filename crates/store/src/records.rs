//! What the store hands back: records as read, already parsed into domain
//! types where the domain has one.

use serde::Serialize;
use shouwang_domain::{
    EventId, EventKind, OrgUnitId, OrgUnitKind, Principal, RecordId, Rights, RoleName, ScopePath, TokenId, UserId,
    Username,
};

/// A node of the org tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrgUnit {
    /// Its id.
    pub id: OrgUnitId,
    /// The unit above it; `None` at the root.
    pub parent_id: Option<OrgUnitId>,
    /// City, county, township, village or department.
    pub kind: OrgUnitKind,
    /// Region code or department code; unique.
    pub code: String,
    /// Its name, e.g. 朱阳关镇.
    pub name: String,
    /// Its scope path, e.g. `/1/2/7/`.
    pub path: ScopePath,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Login name.
    pub username: Username,
    /// Name shown to others.
    pub display_name: String,
    /// The role's name.
    pub role: RoleName,
    /// The role's rights as they are now.
    pub rights: Rights,
    /// The org unit the account belongs to.
    pub org_unit_id: OrgUnitId,
    /// What the account may see and write.
    pub scope: ScopePath,
    /// Preferred language (`zh-CN`, `en`), if the user chose one.
    pub locale: Option<String>,
    /// A disabled account cannot sign in, and its sessions and tokens stop.
    pub disabled: bool,
    /// When it was created.
    pub created_us: i64,
}

impl User {
    /// The principal acting as this user.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role.clone(),
            rights: self.rights,
            org_unit: self.org_unit_id,
            scope: self.scope.clone(),
        }
    }
}

/// A live browser session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Whose.
    pub user: User,
    /// The CSRF token bound to this session.
    pub csrf: String,
    /// When it lapses.
    pub expires_us: i64,
}

/// An API token, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    /// Its id.
    pub id: TokenId,
    /// Whose rights it carries.
    pub user_id: UserId,
    /// What it is for, e.g. "朱阳关 post phone 2".
    pub name: String,
    /// When it was issued.
    pub created_us: i64,
    /// When it was revoked, if it was.
    pub revoked_us: Option<i64>,
}

/// One entry in a unit's duty log (值班日志).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DutyLogEntry {
    /// The client-made UUIDv7.
    pub id: RecordId,
    /// The unit whose log it is.
    pub org_unit_id: OrgUnitId,
    /// That unit's scope.
    pub scope: ScopePath,
    /// Who wrote it.
    pub author_id: UserId,
    /// What happened.
    pub body: String,
    /// When it happened, by the device's clock.
    pub occurred_us: i64,
    /// When the server stored it.
    pub recorded_us: i64,
}

/// Which events to read.
#[derive(Debug, Clone)]
pub struct EventFilter {
    /// Only events within this scope.
    pub scope: ScopePath,
    /// Only events with a larger id (a cursor).
    pub after: Option<EventId>,
    /// Only events with a smaller id (paging backwards through the audit log).
    pub before: Option<EventId>,
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only this actor.
    pub actor: Option<UserId>,
    /// At most this many; the store caps it at 1,000.
    pub limit: i64,
    /// Newest first (the audit page) instead of oldest first (cursors).
    pub newest_first: bool,
}

impl EventFilter {
    /// Everything after `after` within `scope`, oldest first: a cursor read.
    pub fn after(scope: ScopePath, after: EventId, limit: i64) -> Self {
        Self { scope, after: Some(after), before: None, kind: None, actor: None, limit, newest_first: false }
    }
}
