//! Events: the spine of Shouwang.
//!
//! Every write appends events in the same transaction as the state it
//! changes. The event table is therefore at once the audit log, the feed of
//! the live board, the replay source for a client that reconnects with its
//! last [`EventId`], and the sync cursor for the offline app.

use serde::{Deserialize, Serialize};

use crate::{EventId, FieldError, ScopePath, UnixMicros, UserId};

macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// What happened. The stored and wire form is the dotted name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventKind {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl EventKind {
            /// Every kind.
            pub const ALL: &'static [EventKind] = &[$(Self::$variant,)*];

            /// The dotted name, e.g. `user.created`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }
        }
    };
}

event_kinds! {
    /// An account was created.
    UserCreated = "user.created",
    /// An account's name, role or scope changed.
    UserUpdated = "user.updated",
    /// An account was disabled; its sessions and tokens stop working.
    UserDisabled = "user.disabled",
    /// An account was enabled again.
    UserEnabled = "user.enabled",
    /// A password was set.
    PasswordChanged = "user.password_changed",
    /// A user signed in.
    LoginSucceeded = "auth.login",
    /// A sign-in was refused (wrong password, disabled account, throttled).
    LoginFailed = "auth.login_failed",
    /// A user signed out.
    LoggedOut = "auth.logout",
    /// An org unit was created.
    OrgUnitCreated = "org_unit.created",
    /// An org unit was renamed.
    OrgUnitUpdated = "org_unit.updated",
    /// A role's rights changed.
    RoleUpdated = "role.updated",
    /// An API token was issued.
    TokenCreated = "token.created",
    /// An API token was revoked.
    TokenRevoked = "token.revoked",
    /// An entry was added to a unit's duty log.
    DutyLogEntryAdded = "duty_log.entry_added",
    /// Records were exported in bulk (who, what, how many).
    DataExported = "data.exported",
    /// A checkpoint was set up.
    CheckpointCreated = "checkpoint.created",
    /// A checkpoint's details changed.
    CheckpointUpdated = "checkpoint.updated",
    /// A checkpoint was suspended, closed or reopened.
    CheckpointStatusChanged = "checkpoint.status_changed",
    /// A checkpoint's staffing changed (staffed, understaffed, …).
    StaffingChanged = "checkpoint.staffing_changed",
    /// A shift was planned with its staff.
    ShiftPlanned = "shift.planned",
    /// One person on a shift was swapped for another.
    ShiftSwapped = "shift.swapped",
    /// An officer checked in at a post.
    CheckedIn = "duty.checked_in",
    /// An officer checked out.
    CheckedOut = "duty.checked_out",
    /// Stock was received, used or counted at a post.
    SupplyMoved = "supply.moved",
    /// An item fell to its low-stock threshold.
    SupplyLow = "supply.low_stock",
    /// A post asked HQ for supplies.
    ResupplyRequested = "resupply.requested",
    /// HQ approved a resupply request (fully or in part).
    ResupplyApproved = "resupply.approved",
    /// HQ refused a resupply request.
    ResupplyRejected = "resupply.rejected",
    /// Supplies are on their way.
    ResupplyDispatched = "resupply.dispatched",
    /// The post confirmed receipt.
    ResupplyReceived = "resupply.received",
    /// A shift leader filled in the living-conditions check.
    LivingChecked = "living.checked",
    /// Screenings were logged at a post (one, or a batch).
    ScreeningRecorded = "screening.recorded",
    /// A screening raised an incident (fever, red code), or one was reported.
    IncidentOpened = "incident.opened",
    /// An incident was assigned, moved to handling, or noted.
    IncidentUpdated = "incident.updated",
    /// An incident was closed.
    IncidentClosed = "incident.closed",
    /// Someone saw screenings' personal data unmasked (audit).
    PersonalDataViewed = "screening.unmasked",
    /// The retention job erased personal data of old screenings.
    PersonalDataErased = "screening.erased",
    /// A freight pass was issued (directly, or on approving a request).
    PassIssued = "pass.issued",
    /// A freight pass was revoked.
    PassRevoked = "pass.revoked",
    /// An enterprise asked for a freight pass.
    PassRequested = "pass.requested",
    /// A request for a freight pass was refused.
    PassRefused = "pass.refused",
    /// Someone started a call (who called whom).
    CallStarted = "call.started",
    /// A party joined a call (answered it, or was added and joined).
    CallJoined = "call.joined",
    /// A party declined a call.
    CallDeclined = "call.declined",
    /// A party's phone rang and nobody picked it up.
    CallMissed = "call.missed",
    /// A party left a call.
    CallLeft = "call.left",
    /// A call ended (its duration and outcome).
    CallEnded = "call.ended",
    /// HQ issued an order or started a roll call (the summary, in the
    /// order's scope).
    OrderIssued = "order.issued",
    /// An order reached one recipient (in the recipient's post or unit, so
    /// their phone hears of it).
    OrderDelivered = "order.delivered",
    /// A recipient opened an order.
    OrderRead = "order.read",
    /// A recipient acknowledged an order (签收) or answered a roll call.
    OrderAcknowledged = "order.acknowledged",
    /// A recipient reported an order done.
    OrderReported = "order.reported",
    /// HQ amended an order: it is to be acknowledged again.
    OrderAmended = "order.amended",
    /// HQ revoked an order.
    OrderRevoked = "order.revoked",
    /// A recipient let the deadline pass without acknowledging: an alert
    /// for HQ and the recipient's supervisors.
    OrderOverdue = "order.overdue",
    /// An overdue receipt was escalated to the recipient's supervisor (the
    /// shift's leader, or the nearest commander above): an event they hear.
    OrderEscalated = "order.escalated",
    /// An alert was raised (once per condition).
    AlertRaised = "alert.raised",
    /// Someone at HQ took an alert.
    AlertAcknowledged = "alert.acknowledged",
    /// An alert's condition cleared.
    AlertResolved = "alert.resolved",
    /// An enterprise was entered.
    EnterpriseCreated = "enterprise.created",
    /// An enterprise's details changed.
    EnterpriseUpdated = "enterprise.updated",
    /// An enterprise applied to resume work.
    ResumptionFiled = "resumption.filed",
    /// An application to resume was approved, returned or refused.
    ResumptionReviewed = "resumption.reviewed",
    /// An enterprise resumed partly or fully, or was suspended.
    ResumptionChanged = "resumption.changed",
    /// An enterprise filed its daily report.
    DailyReported = "enterprise.reported",
    /// A problem ticket was raised (and routed).
    TicketRaised = "ticket.raised",
    /// A ticket was accepted, taken up, reopened or commented on.
    TicketUpdated = "ticket.updated",
    /// A ticket was resolved by its department.
    TicketResolved = "ticket.resolved",
    /// The enterprise confirmed a resolved ticket, with its rating.
    TicketConfirmed = "ticket.confirmed",
    /// A ticket passed its deadline unresolved (escalated).
    TicketOverdue = "ticket.overdue",
    /// A key project was entered or one of its milestones reached.
    ProjectUpdated = "project.updated",
    /// A ticket was routed on to another township or department.
    TicketRouted = "ticket.routed",
    /// A registered household was entered.
    HouseholdCreated = "household.created",
    /// A household's details, members or status changed.
    HouseholdUpdated = "household.updated",
    /// The cadre responsible visited a household.
    HouseholdVisited = "household.visited",
    /// A household's production was entered or its harvest updated.
    ProductionRecorded = "production.recorded",
    /// A household sold some of its produce.
    ProduceSold = "production.sold",
    /// A worker joined the labour pool or their details changed.
    WorkerUpdated = "labour.worker",
    /// An employer's positions were posted or changed.
    DemandUpdated = "labour.demand",
    /// A township confirmed a worker's placement, or it changed.
    PlacementUpdated = "labour.placement",
    /// A transport batch was planned, or its passengers or checks changed.
    BatchUpdated = "transport.updated",
    /// A transport batch departed.
    BatchDeparted = "transport.departed",
    /// The receiving side confirmed a batch's arrival.
    BatchArrived = "transport.arrived",
    /// A village's spring-ploughing figures changed.
    PloughingUpdated = "ploughing.updated",
    /// Records entered at a post arrived through the field outbox.
    PostSynced = "post.synced",
}

impl EventKind {
    /// Parses a stored or requested kind.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL.iter().copied().find(|k| k.as_str() == raw).ok_or_else(|| FieldError::new(field, "invalid_choice"))
    }
}

/// An event the domain decided on, before the store gives it an id and time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub kind: EventKind,
    /// What it happened to, as `type:id`, e.g. `user:12`.
    pub subject: String,
    /// Where the subject sits in the org tree: who may see this event.
    pub scope: ScopePath,
    /// The facts, as JSON. Personal data is never put here unmasked.
    pub payload: serde_json::Value,
}

impl NewEvent {
    /// A new event.
    pub fn new(kind: EventKind, subject: impl Into<String>, scope: ScopePath, payload: serde_json::Value) -> Self {
        Self { kind, subject: subject.into(), scope, payload }
    }
}

/// An event as committed. Its JSON is also how it travels between nodes
/// (see `shouwang_bus::nats`), hence `Deserialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log; grows with commit order.
    pub id: EventId,
    /// When it was committed.
    pub at_us: UnixMicros,
    /// Who did it; `None` for the system itself (jobs, the simulator's clock).
    pub actor: Option<UserId>,
    /// The actor's login name at the time, kept so the audit log reads alone.
    pub actor_name: String,
    /// What happened.
    pub kind: EventKind,
    /// What it happened to.
    pub subject: String,
    /// Who may see it.
    pub scope: ScopePath,
    /// The facts.
    pub payload: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse("kind", k.as_str()).unwrap(), *k);
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        assert!(EventKind::parse("kind", "user.exploded").is_err());
    }
}
