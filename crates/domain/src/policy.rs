//! The one policy module: every read and write in Shouwang is decided here.
//!
//! A [`Role`] is a named set of [`Right`]s that admins may adjust; a
//! [`Principal`] is a signed-in user (or device token) with a role and a
//! scope. [`authorize`] answers whether the principal may perform an
//! [`Action`] on a subject at a given [`ScopePath`]. Handlers call nothing
//! else to decide access, so the route × role matrix test in the server
//! exercises exactly this function.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::{FieldError, OrgUnitId, ScopePath, UserId, Username};

/// One right a role may grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// See records within scope.
    Read,
    /// Create field records within scope (check-ins, screenings, logs …).
    Write,
    /// Download data in bulk (XLSX, CSV). Separate from read on purpose.
    Export,
    /// See personal data (ID numbers, phones, names) unmasked.
    SeePersonal,
    /// Approve applications and requests.
    Approve,
    /// Command: roll calls, dispatch orders, calls.
    Command,
    /// Administer org units, users, roles, tokens; read the audit log.
    Administer,
}

impl Right {
    /// Every right, in display order.
    pub const ALL: [Right; 7] =
        [Self::Read, Self::Write, Self::Export, Self::SeePersonal, Self::Approve, Self::Command, Self::Administer];

    fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Export => "export",
            Self::SeePersonal => "see_personal",
            Self::Approve => "approve",
            Self::Command => "command",
            Self::Administer => "administer",
        }
    }

    /// Parses a stored or submitted right.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw).ok_or_else(|| {
            FieldError::new(field, "invalid_choice").arg("choices", Self::ALL.map(Right::as_str).join(", "))
        })
    }
}

/// A set of rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights(u32);

impl Rights {
    /// No rights at all.
    pub const NONE: Rights = Rights(0);

    /// The set of the given rights.
    pub fn of(rights: &[Right]) -> Self {
        Self(rights.iter().fold(0, |acc, r| acc | r.bit()))
    }

    /// Whether the set holds `right`.
    pub fn has(self, right: Right) -> bool {
        self.0 & right.bit() != 0
    }

    /// The rights in the set, in display order.
    pub fn list(self) -> Vec<Right> {
        Right::ALL.into_iter().filter(|r| self.has(*r)).collect()
    }

    /// Stored form: names separated by commas.
    pub fn to_stored(self) -> String {
        self.list().iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
    }

    /// Parses the stored form.
    pub fn from_stored(raw: &str) -> Result<Self, FieldError> {
        let mut rights = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            rights.push(Right::parse("rights", part)?);
        }
        Ok(Self::of(&rights))
    }
}

impl Serialize for Rights {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list().serialize(s)
    }
}

/// A role's name: 2–32 characters of `a–z 0–9 _`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RoleName(String);

impl RoleName {
    /// Parses a role name.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.len() < 2 || s.len() > 32 {
            return Err(FieldError::new(field, "length").arg("min", 2).arg("max", 32));
        }
        if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(FieldError::new(field, "role_chars"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A role: a name and the rights it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    /// The role's name, e.g. `commander`.
    pub name: RoleName,
    /// What the role may do.
    pub rights: Rights,
}

/// The seven roles every deployment starts with. Admins may change their
/// rights later; the names are what the design and the docs refer to.
pub fn default_roles() -> Vec<Role> {
    use Right::*;
    let role = |name: &str, rights: &[Right]| Role {
        name: RoleName::parse("name", name).expect("default role names are valid"),
        rights: Rights::of(rights),
    };
    vec![
        role("admin", &Right::ALL),
        role("commander", &[Read, Write, Export, SeePersonal, Approve, Command]),
        role("duty_officer", &[Read, Write]),
        role("enterprise_contact", &[Read, Write]),
        role("service_officer", &[Read, Write, Approve]),
        role("township_cadre", &[Read, Write, Approve, Export]),
        role("viewer", &[Read]),
    ]
}

/// Who is acting: a signed-in user, or a device or integration using an API
/// token on a user's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user_id: UserId,
    /// Their login name.
    pub username: Username,
    /// Their display name.
    pub display_name: String,
    /// Their role.
    pub role: RoleName,
    /// The rights of that role at sign-in.
    pub rights: Rights,
    /// The org unit their scope is rooted at.
    pub org_unit: OrgUnitId,
    /// Their scope: everything at or under this path.
    pub scope: ScopePath,
}

/// Something a principal may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the event feed and live stream.
    ReadEvents,
    /// Read the org-unit tree.
    ReadOrgUnits,
    /// Read and write the duty log.
    ReadDutyLog,
    /// Add to the duty log.
    WriteDutyLog,
    /// Download records in bulk.
    Export,
    /// See personal data unmasked.
    SeePersonal,
    /// Administer org units, users, roles and tokens; read the audit log.
    Administer,
    /// Change what holds for the whole deployment (the rights of roles):
    /// administrators of a top-level unit only.
    AdministerDeployment,
    /// Read checkpoints, rosters, presence, supplies.
    ReadCheckpoints,
    /// Set up and edit checkpoints, plan and swap shifts (commanders).
    ManageCheckpoints,
    /// Record duty at a post: check in and out, stock movements, resupply
    /// requests and receipts, living-conditions checks.
    RecordDuty,
    /// Decide on resupply requests and dispatch them.
    ApproveResupply,
    /// Log screenings at a post.
    RecordScreening,
    /// Search screenings, their statistics and incidents (personal data
    /// masked unless [`Action::SeePersonal`] too).
    ReadScreenings,
    /// See freight passes, requests and their use; verify a pass at a post.
    ReadPasses,
    /// Ask for a freight pass (enterprise contacts).
    RequestPass,
    /// Issue and revoke freight passes; decide on requests.
    IssuePass,
    /// Call posts (audio/video dispatch) and see calls going on.
    PlaceCall,
    /// Issue, amend and revoke orders and roll calls; see every receipt.
    IssueOrder,
    /// Read, acknowledge and report on one's own orders and roll calls.
    AnswerOrder,
    /// Take (acknowledge) an alert.
    HandleAlert,
    /// See enterprises, their resumption, reports, tickets and projects
    /// (within scope, or those one serves as dedicated officer).
    ReadEnterprises,
    /// Enter and edit enterprises and key projects, set up their contacts.
    ManageEnterprises,
    /// File for an enterprise: its application, daily report, problems;
    /// confirm or reopen its tickets.
    ReportForEnterprise,
    /// Review applications to resume; suspend an enterprise.
    ReviewResumption,
    /// Accept, work on and resolve problem tickets; route them on.
    HandleTicket,
    /// See registered households, the labour pool and demand, transport
    /// batches and spring ploughing (personal data masked unless
    /// [`Action::SeePersonal`] too).
    ReadRural,
    /// Register and edit households; log visits, production, sales and
    /// difficulties (the cadres helping them).
    ManageHouseholds,
    /// Enter workers and labour demand; health-check passengers; confirm a
    /// batch's arrival (the receiving side).
    ManageLabour,
    /// Confirm placements and organise transport batches (the township).
    PlaceWorkers,
    /// Enter a village's spring-ploughing plan and progress.
    PlanPloughing,
}

impl Action {
    /// The right the action needs.
    pub fn needs(self) -> Right {
        match self {
            Self::ReadEvents
            | Self::ReadOrgUnits
            | Self::ReadDutyLog
            | Self::ReadCheckpoints
            | Self::ReadScreenings
            | Self::ReadPasses
            | Self::ReadEnterprises
            | Self::ReadRural => Right::Read,
            Self::ManageHouseholds | Self::ManageLabour | Self::PlanPloughing => Right::Write,
            Self::PlaceWorkers => Right::Approve,
            Self::ReportForEnterprise => Right::Write,
            Self::ManageEnterprises | Self::ReviewResumption | Self::HandleTicket => Right::Approve,
            Self::RequestPass | Self::AnswerOrder => Right::Write,
            Self::IssuePass => Right::Approve,
            Self::WriteDutyLog | Self::RecordDuty | Self::RecordScreening => Right::Write,
            Self::ManageCheckpoints | Self::PlaceCall | Self::IssueOrder | Self::HandleAlert => Right::Command,
            Self::ApproveResupply => Right::Approve,
            Self::Export => Right::Export,
            Self::SeePersonal => Right::SeePersonal,
            Self::Administer | Self::AdministerDeployment => Right::Administer,
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The role lacks the right.
    #[error("the role lacks the right {0:?}")]
    MissingRight(Right),
    /// The subject lies outside the principal's scope.
    #[error("the subject is outside the caller's scope")]
    OutOfScope,
}

/// Decides whether `principal` may do `action` to a subject at `subject`.
///
/// Both conditions must hold: the role grants the right, and the subject lies
/// within the principal's scope. Listing endpoints pass the principal's own
/// scope (always within itself) and then filter rows by it.
pub fn authorize(principal: &Principal, action: Action, subject: &ScopePath) -> Result<(), Denied> {
    let right = action.needs();
    if !principal.rights.has(right) {
        return Err(Denied::MissingRight(right));
    }
    if !principal.scope.contains(subject) {
        return Err(Denied::OutOfScope);
    }
    // Roles apply everywhere: only someone whose scope is a whole top-level
    // unit (the deployment's county or city) may change them.
    if action == Action::AdministerDeployment && principal.scope.depth() > 1 {
        return Err(Denied::OutOfScope);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: &str, scope: ScopePath) -> Principal {
        let r = default_roles().into_iter().find(|r| r.name.as_str() == role).unwrap();
        Principal {
            user_id: UserId(1),
            username: Username::parse("u", "someone").unwrap(),
            display_name: "Someone".into(),
            role: r.name,
            rights: r.rights,
            org_unit: OrgUnitId(4),
            scope,
        }
    }

    #[test]
    fn export_is_a_right_apart_from_read() {
        let county = ScopePath::root().child(OrgUnitId(1));
        let viewer = principal("viewer", county.clone());
        assert!(authorize(&viewer, Action::ReadEvents, &county).is_ok());
        assert_eq!(authorize(&viewer, Action::Export, &county), Err(Denied::MissingRight(Right::Export)));
    }

    #[test]
    fn a_township_user_cannot_touch_another_township() {
        let county = ScopePath::root().child(OrgUnitId(1));
        let ours = county.child(OrgUnitId(2));
        let theirs = county.child(OrgUnitId(3));
        let cadre = principal("township_cadre", ours.clone());
        assert!(authorize(&cadre, Action::WriteDutyLog, &ours.child(OrgUnitId(9))).is_ok());
        assert_eq!(authorize(&cadre, Action::WriteDutyLog, &theirs), Err(Denied::OutOfScope));
        assert_eq!(authorize(&cadre, Action::ReadEvents, &county), Err(Denied::OutOfScope));
    }

    #[test]
    fn rights_round_trip_through_their_stored_form() {
        for role in default_roles() {
            assert_eq!(Rights::from_stored(&role.rights.to_stored()).unwrap(), role.rights);
        }
        assert!(Rights::from_stored("read,fly").is_err());
        assert_eq!(Rights::from_stored("").unwrap(), Rights::NONE);
    }

    #[test]
    fn only_a_top_level_admin_administers_the_deployment() {
        let county = ScopePath::root().child(OrgUnitId(1));
        let township = county.child(OrgUnitId(2));
        assert!(authorize(&principal("admin", county.clone()), Action::AdministerDeployment, &county).is_ok());
        let local = principal("admin", township.clone());
        assert_eq!(authorize(&local, Action::AdministerDeployment, &township), Err(Denied::OutOfScope));
        assert!(authorize(&local, Action::Administer, &township).is_ok());
    }

    #[test]
    fn only_admin_administers_by_default() {
        for role in default_roles() {
            assert_eq!(role.rights.has(Right::Administer), role.name.as_str() == "admin", "{}", role.name);
        }
    }
}
