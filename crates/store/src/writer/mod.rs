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

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{Acquire, Row};
use sqlx::{Any, AnyConnection};

mod alerts;
mod attachments;
mod bulk;
mod calls;
mod checkpoints;
mod enterprises;
mod events;
mod foundation;
mod households;
mod incidents;
mod labour;
mod labour_import;
mod orders;
mod passes;
mod ploughing;
mod screenings;
mod sync;

pub use checkpoints::CheckpointDraft;
use tokio::sync::{mpsc, oneshot};

use shouwang_domain::{
    Event, EventId, NewEvent, OrgUnitCode, OrgUnitId, OrgUnitKind, RecordId, Role, RoleName, ScopePath, TokenId,
    UserId, Username,
};

use crate::checkpoints::{CheckInRecord, Checkpoint, ResupplyRequest, Shift, SupplyLevel};
use crate::screenings::{NewScreening, Screening};
use crate::{ApiToken, Backend, DutyLogEntry, OrgUnit, Store, StoreError, User, now_us};
use shouwang_domain::checkpoint::{CheckpointStatus, LatLon};
use shouwang_domain::duty::Span;
use shouwang_domain::supplies::{LivingAspect, MovementKind};
use shouwang_domain::{CheckpointId, ShiftId};

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
    /// The person acting; a command only a person may give refuses the
    /// system by the field `actor`.
    pub(crate) fn person(&self) -> Result<UserId, StoreError> {
        self.id.ok_or_else(|| StoreError::Invalid(shouwang_domain::FieldError::new("actor", "needs_a_person")))
    }

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
    /// Set up a checkpoint.
    CreateCheckpoint(CheckpointDraft),
    /// Set up many checkpoints at once (an import): all or none.
    ImportCheckpoints(Vec<CheckpointDraft>),
    /// Change a checkpoint's details (not its org unit).
    UpdateCheckpoint {
        /// Which.
        id: CheckpointId,
        /// The new details.
        draft: CheckpointDraft,
    },
    /// Suspend, close or reopen a checkpoint, with a reason.
    SetCheckpointStatus {
        /// Which.
        id: CheckpointId,
        /// The new status.
        status: CheckpointStatus,
        /// Why.
        reason: String,
    },
    /// Plan a shift at a post with its staff.
    PlanShift {
        /// Where.
        checkpoint: CheckpointId,
        /// When.
        span: Span,
        /// The leader (one of `staff`).
        leader: Option<UserId>,
        /// Who works it.
        staff: Vec<UserId>,
    },
    /// Swap one person on a shift for another, with a reason.
    SwapShiftStaff {
        /// Which shift.
        shift: ShiftId,
        /// Who leaves it.
        out: UserId,
        /// Who takes the place.
        into: UserId,
        /// Why.
        reason: String,
    },
    /// The acting officer checks in for a shift; idempotent by `id`.
    CheckIn {
        /// The client-made UUIDv7.
        id: RecordId,
        /// The shift.
        shift: ShiftId,
        /// Where the phone says it is, if it could tell.
        location: Option<LatLon>,
    },
    /// The acting officer checks out.
    CheckOut,
    /// Recompute a post's staffing given how many present phones were heard
    /// from lately (the presence monitor).
    SetStaffing {
        /// Which post.
        checkpoint: CheckpointId,
        /// Phones heard from.
        heard: i64,
    },
    /// Add or change a catalogue item.
    PutSupplyItem {
        /// Key, e.g. `mask`.
        key: String,
        /// Unit, e.g. `piece`.
        unit: String,
        /// Default low-stock threshold.
        default_threshold: i64,
    },
    /// Receive, use or count stock at a post; idempotent by `id`.
    MoveSupply {
        /// The client-made UUIDv7.
        id: RecordId,
        /// Where.
        checkpoint: CheckpointId,
        /// Which item.
        item: String,
        /// Receipt, consumption or count.
        kind: MovementKind,
        /// How many.
        quantity: i64,
    },
    /// Ask HQ for supplies; idempotent by `id`.
    FileResupply {
        /// The client-made UUIDv7.
        id: RecordId,
        /// From which post.
        checkpoint: CheckpointId,
        /// Which item.
        item: String,
        /// How many.
        quantity: i64,
        /// A note.
        note: String,
    },
    /// Approve (`Some(quantity)`) or refuse (`None`) a resupply request.
    DecideResupply {
        /// Which request.
        id: RecordId,
        /// How many are approved; none: refused.
        approved: Option<i64>,
        /// HQ's note.
        note: String,
    },
    /// Mark an approved request as on its way.
    DispatchResupply {
        /// Which request.
        id: RecordId,
    },
    /// The post confirms receipt; stock goes up by the approved quantity.
    ConfirmResupply {
        /// Which request.
        id: RecordId,
    },
    /// A shift leader's living-conditions check; idempotent by `id`.
    RecordLivingCheck {
        /// The client-made UUIDv7.
        id: RecordId,
        /// Which post.
        checkpoint: CheckpointId,
        /// Each aspect: fine or not, and a note.
        answers: Vec<(LivingAspect, bool, String)>,
    },
    /// Log screenings at a post: one from a phone, or a batch (all or none);
    /// a record whose id is already stored comes back as stored.
    RecordScreenings {
        /// Where.
        checkpoint: CheckpointId,
        /// The records, validated.
        screenings: Vec<NewScreening>,
    },
    /// Erase the personal fields of at most `limit` screenings that happened
    /// before `before_us` (the retention job).
    ErasePersonalData {
        /// The cut-off.
        before_us: i64,
        /// At most this many per transaction.
        limit: i64,
    },
    /// Record that the actor saw or exported personal data unmasked.
    RecordUnmaskedView {
        /// What was seen, e.g. `search` or `export`.
        what: String,
        /// How many records.
        count: i64,
        /// Within which scope.
        scope: ScopePath,
    },
    /// Start a call: the actor calls the invited; idempotent by its id.
    StartCall(crate::calls::NewCall),
    /// Something happened to one party of a call (rung, joined, declined,
    /// missed, left). A change that does not fit where the party stands
    /// (joining a call that ended, declining after leaving) is refused with
    /// `Conflict`; repeating a change changes nothing.
    CallParty {
        /// Which call.
        call: RecordId,
        /// Which party.
        user: UserId,
        /// What happened.
        change: crate::calls::PartyChange,
    },
    /// End a call: parties still ringing missed it, those in it left;
    /// ending an ended call changes nothing.
    EndCall {
        /// Which call.
        call: RecordId,
    },
    /// Issue an order or start a roll call: a receipt for every recipient;
    /// idempotent by its id.
    IssueOrder(crate::orders::NewOrder),
    /// A recipient read, acknowledged or reported on an order; the actor
    /// must be `user`.
    OrderReceipt {
        /// Which order.
        order: RecordId,
        /// Which recipient.
        user: UserId,
        /// What they did.
        change: crate::orders::ReceiptChange,
    },
    /// Amend an order's text and deadline: a new version that everyone
    /// acknowledges again.
    AmendOrder {
        /// Which order.
        order: RecordId,
        /// The new text.
        body: String,
        /// The new deadline.
        deadline_us: i64,
    },
    /// Revoke an order; revoking it again changes nothing.
    RevokeOrder {
        /// Which order.
        order: RecordId,
    },
    /// Mark these recipients' receipts overdue (each raised once; those who
    /// acknowledged meanwhile are left alone), each escalated to its
    /// supervisor if one was found.
    MarkOverdue {
        /// Which order.
        order: RecordId,
        /// Whose receipts, and whom each is escalated to.
        users: Vec<(UserId, Option<UserId>)>,
    },
    /// Every condition of `rule` that holds now: raise an alert for each one
    /// without a live alert, resolve the live ones whose condition is gone.
    /// Outcome: how many were raised.
    SyncAlerts {
        /// The rule evaluated.
        rule: shouwang_domain::alert::AlertRule,
        /// Its conditions that hold now.
        holding: Vec<crate::alerts::Condition>,
    },
    /// Take an alert (the actor); taking it again changes nothing, a
    /// resolved one is refused with `Conflict`.
    AcknowledgeAlert {
        /// Which alert.
        id: RecordId,
    },
    /// Keep a file (an order's attachment, an answer's photo); idempotent by
    /// its id. Makes no event: the order or answer that uses it does.
    StoreAttachment(crate::attachments::NewAttachment),
    /// Delete the files stored before `before_us` that no order and no
    /// answer names (uploads whose form was never sent). Outcome: how many.
    PurgeOrphanAttachments {
        /// Stored before this.
        before_us: i64,
    },
    /// An incident reported by hand at a post; idempotent by its id.
    ReportIncident(crate::incidents::NewIncident),
    /// One step of handling an incident: a status, an assignee, a note.
    /// Status moves forward only; a closed incident is a `Conflict`.
    HandleIncident {
        /// Which incident.
        id: RecordId,
        /// What changes.
        step: crate::incidents::IncidentStep,
    },
    /// Store a freight pass the server signed; idempotent by its id.
    IssuePass(crate::passes::NewPass),
    /// Revoke a pass, with the reason; revoking it again changes nothing.
    RevokePass {
        /// Which pass.
        id: RecordId,
        /// Why.
        reason: String,
    },
    /// An enterprise asks for a pass; idempotent by its id.
    RequestPass(crate::passes::NewPassRequest),
    /// Approve (issuing the pass given) or refuse a request for a pass.
    DecidePassRequest {
        /// Which request.
        id: RecordId,
        /// What was decided.
        decision: crate::passes::PassDecision,
    },
    /// Enter an enterprise (its credit code must be free).
    CreateEnterprise(crate::enterprises::EnterpriseDraft),
    /// Enter many enterprises at once (an import): all or none; a fault is
    /// named on `rows[i].<field>` (`i` from 0).
    ImportEnterprises(Vec<crate::enterprises::EnterpriseDraft>),
    /// Change an enterprise's details (not its township).
    UpdateEnterprise {
        /// Which.
        id: shouwang_domain::EnterpriseId,
        /// The new details.
        draft: crate::enterprises::EnterpriseDraft,
    },
    /// An enterprise files its application to resume; idempotent by its id.
    FileResumption(crate::enterprises::NewApplication),
    /// The township or department decides on an application: `approved`,
    /// `returned` (for changes, with comments) or `refused` (with a reason).
    ReviewResumption {
        /// Which application.
        application: RecordId,
        /// The decision.
        to: shouwang_domain::enterprise::ResumptionStatus,
        /// Comments or reason.
        note: String,
    },
    /// An approved enterprise resumes partly or fully, or is suspended (with
    /// a reason).
    SetResumption {
        /// Which.
        enterprise: shouwang_domain::EnterpriseId,
        /// The new status.
        to: shouwang_domain::enterprise::ResumptionStatus,
        /// Why.
        note: String,
    },
    /// An enterprise's daily report; idempotent by its id, and a later
    /// report for the same day corrects the earlier one.
    FileDailyReport(crate::enterprises::NewDailyReport),
    /// Raise a problem ticket; idempotent by its id.
    RaiseTicket(crate::enterprises::NewTicket),
    /// One step on a ticket: a status, a comment, the enterprise's rating.
    StepTicket {
        /// Which ticket.
        id: RecordId,
        /// What changes.
        step: crate::enterprises::TicketStep,
    },
    /// Mark a ticket past its deadline (once), escalated to the head of its
    /// department if one was found.
    MarkTicketOverdue {
        /// Which ticket.
        id: RecordId,
        /// Whom it is escalated to.
        escalate_to: Option<UserId>,
    },
    /// Route a category of ticket to a department with a deadline.
    PutTicketRoute {
        /// The category.
        category: shouwang_domain::enterprise::TicketCategory,
        /// The department.
        department: OrgUnitId,
        /// Hours to resolve.
        deadline_hours: i64,
    },
    /// Enter a key project with its milestones.
    CreateProject(crate::enterprises::ProjectDraft),
    /// Record when a milestone of a key project was reached (or clear it),
    /// and what blocks the project now.
    SetMilestone {
        /// Which project.
        project: shouwang_domain::ProjectId,
        /// Which milestone.
        kind: shouwang_domain::enterprise::MilestoneKind,
        /// The day it was reached.
        actual_day: Option<i64>,
        /// What blocks the project now, if that changes.
        blocking: Option<String>,
    },
    /// Add a worker to the labour pool (the village must be one:
    /// `village_id` `not_a_village`; a household must be of that village).
    CreateWorker(shouwang_domain::labour::WorkerFields),
    /// Change a worker's details (not their village).
    UpdateWorker {
        /// Which.
        id: shouwang_domain::WorkerId,
        /// The new details.
        fields: shouwang_domain::labour::WorkerFields,
    },
    /// Post positions: a local enterprise's (its scope and name) or an
    /// outside employer's (the poster's scope).
    PostDemand {
        /// The positions.
        fields: shouwang_domain::labour::DemandFields,
        /// The poster's scope, for an outside employer.
        scope: ScopePath,
    },
    /// Add many workers at once (an import): all or none, every row checked
    /// before any is written; a fault is named on `rows[i].<field>`. The
    /// outcome is the count.
    ImportWorkers(Vec<shouwang_domain::labour::WorkerFields>),
    /// Post many demands at once (an import), like `PostDemand`: all or
    /// none; a fault is named on `rows[i].<field>`. The outcome is the
    /// count.
    ImportDemand {
        /// The positions, row by row.
        rows: Vec<shouwang_domain::labour::DemandFields>,
        /// The poster's scope, for outside employers.
        scope: ScopePath,
    },
    /// Change a demand (not its enterprise; not its dates once placed in).
    UpdateDemand {
        /// Which.
        id: shouwang_domain::DemandId,
        /// The new details.
        fields: shouwang_domain::labour::DemandFields,
    },
    /// The township confirms a worker for a demand: refused on `worker_id`
    /// (`placed_overlapping`, `unwell`) or `demand_id` (`positions_filled`);
    /// confirming the same pair again returns the placement.
    ConfirmPlacement {
        /// Who.
        worker: shouwang_domain::WorkerId,
        /// Where.
        demand: shouwang_domain::DemandId,
    },
    /// Call off a placement before departure (it leaves its batch).
    CancelPlacement {
        /// Which.
        id: shouwang_domain::PlacementId,
    },
    /// Plan a transport batch with its passengers (confirmed placements on
    /// no other batch, at most one per seat: `passengers` `over_seats`).
    PlanBatch(crate::labour::NewBatch),
    /// Add passengers to a planned batch.
    AddPassengers {
        /// Which batch.
        batch: shouwang_domain::BatchId,
        /// The placements.
        placements: Vec<shouwang_domain::PlacementId>,
    },
    /// A passenger's check before departure (passed: below 37.3 °C); a
    /// second check replaces the first.
    CheckPassenger {
        /// Which batch.
        batch: shouwang_domain::BatchId,
        /// Whose placement.
        placement: shouwang_domain::PlacementId,
        /// The temperature taken.
        temperature: shouwang_domain::screening::BodyTemperature,
    },
    /// The batch leaves: refused (`passengers` `unchecked`) while a
    /// passenger is unchecked or failed; its placements depart with it.
    DepartBatch {
        /// Which.
        batch: shouwang_domain::BatchId,
    },
    /// The receiving side confirms arrival; the placements arrive.
    ArriveBatch {
        /// Which.
        batch: shouwang_domain::BatchId,
    },
    /// Register a household with its members.
    CreateHousehold(crate::households::HouseholdDraft),
    /// Register many households at once (an import): all or none.
    ImportHouseholds(Vec<crate::households::HouseholdDraft>),
    /// Change a household's details, members or status.
    UpdateHousehold {
        /// Which household.
        id: shouwang_domain::HouseholdId,
        /// Its details as they are now.
        draft: crate::households::HouseholdDraft,
    },
    /// Log a visit to a household (the acting cadre visited).
    RecordVisit(crate::households::NewVisit),
    /// Enter what a household grows or raises.
    RecordProduction(crate::households::NewProduction),
    /// Set how much of a production entry has been harvested (never below
    /// what was sold: `harvested`, `below_sold`).
    UpdateHarvest {
        /// Which production entry.
        id: RecordId,
        /// Harvested so far.
        harvested: i64,
    },
    /// Record a sale of a household's produce (never above the unsold
    /// stock: `quantity`, `above_stock`).
    RecordSale(crate::households::NewSale),
    /// Enter or replace a village's spring-ploughing figures for a crop and
    /// year; the unit must be a village (`village_id`, `not_a_village`).
    PutPloughing {
        /// The village.
        village: OrgUnitId,
        /// The crop.
        crop: shouwang_domain::ploughing::Crop,
        /// The year.
        year: i64,
        /// The checked figures.
        figures: shouwang_domain::ploughing::PloughFigures,
    },
    /// Note what the field outbox delivered: a receipt per record (one
    /// already noted is skipped) and the post's figures; answers the count
    /// of records noted for the first time.
    RecordSync(crate::sync::SyncBatch),
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
    /// A checkpoint as stored.
    Checkpoint(Checkpoint),
    /// Checkpoints as stored (an import).
    Checkpoints(Vec<Checkpoint>),
    /// A shift as stored.
    Shift(Shift),
    /// A check-in (or the check-out that closed it); `created` is false for
    /// a resend or a check-out.
    CheckIn {
        /// The record.
        record: CheckInRecord,
        /// Whether this submission created it.
        created: bool,
    },
    /// A supply level after a movement.
    SupplyLevel(SupplyLevel),
    /// A resupply request as stored.
    Resupply(ResupplyRequest),
    /// Screenings in the order submitted, each with whether this submission
    /// created it (false: a resend, the stored record).
    Screenings(Vec<(Screening, bool)>),
    /// How many records a bulk command touched.
    Count(i64),
    /// A pass as stored; `created` is false when nothing changed (a resend,
    /// or revoking a revoked pass).
    Pass {
        /// The pass.
        pass: crate::passes::Pass,
        /// Whether this command changed it.
        created: bool,
    },
    /// A request for a pass as stored; `created` is false for a resend.
    PassRequest {
        /// The request.
        request: crate::passes::PassRequest,
        /// Whether this command changed it.
        created: bool,
    },
    /// A call as it stands after the command.
    Call(crate::calls::CallRecord),
    /// An order as it stands after the command.
    Order(crate::orders::OrderRecord),
    /// An alert as it stands after the command.
    Alert(crate::alerts::AlertRecord),
    /// An incident as it stands after the command.
    Incident(crate::screenings::Incident),
    /// A file as stored; `created` is false for a resend.
    Attachment {
        /// The file's facts.
        attachment: crate::attachments::Attachment,
        /// Whether this submission stored it.
        created: bool,
    },
    /// An enterprise as it stands after the command.
    Enterprise(crate::enterprises::Enterprise),
    /// Enterprises as stored (an import).
    Enterprises(Vec<crate::enterprises::Enterprise>),
    /// An application as stored; `created` is false for a resend.
    Application {
        /// The application.
        application: crate::enterprises::Application,
        /// Whether this command changed it.
        created: bool,
    },
    /// A daily report as stored; `created` is false for a resend.
    DailyReport {
        /// The report.
        report: crate::enterprises::DailyReport,
        /// Whether this command stored it.
        created: bool,
    },
    /// A ticket as it stands; `created` is false when nothing changed.
    Ticket {
        /// The ticket.
        ticket: crate::enterprises::Ticket,
        /// Whether this command changed it.
        created: bool,
    },
    /// A key project as it stands.
    Project(crate::enterprises::Project),
    /// A worker as stored.
    Worker(crate::labour::Worker),
    /// A demand as stored.
    Demand(crate::labour::Demand),
    /// A placement as it stands; `created` is false when nothing changed (a
    /// repeat).
    Placement {
        /// The placement.
        placement: crate::labour::Placement,
        /// Whether this command changed it.
        created: bool,
    },
    /// A batch as it stands; `created` is false when nothing changed (a
    /// repeated departure or arrival).
    Batch {
        /// The batch.
        batch: crate::labour::Batch,
        /// Whether this command changed it.
        created: bool,
    },
    /// A household as it stands after the command.
    Household(crate::households::Household),
    /// Households as stored (an import).
    Households(Vec<crate::households::Household>),
    /// A visit as stored; `created` is false for a resend.
    Visit {
        /// The visit.
        visit: crate::households::Visit,
        /// Whether this command stored it.
        created: bool,
    },
    /// A production entry as it stands; `created` is false for a resend.
    Production {
        /// The entry.
        production: crate::households::Production,
        /// Whether this command changed it.
        created: bool,
    },
    /// A sale as stored; `created` is false for a resend.
    Sale {
        /// The sale.
        sale: crate::households::Sale,
        /// Whether this command stored it.
        created: bool,
    },
    /// A village's spring-ploughing row as it stands.
    Ploughing(crate::ploughing::Ploughing),
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
    /// The household a household command left.
    into_household => Household(crate::households::Household),
    /// The households an import produced.
    into_households => Households(Vec<crate::households::Household>),
    /// The user a user command produced.
    into_user => User(User),
    /// The org unit an org-unit command produced.
    into_org_unit => OrgUnit(OrgUnit),
    /// The token a token command produced.
    into_token => Token(ApiToken),
    /// The role a role command produced.
    into_role => Role(Role),
    /// The checkpoint a checkpoint command produced.
    into_checkpoint => Checkpoint(Checkpoint),
    /// The checkpoints an import produced.
    into_checkpoints => Checkpoints(Vec<Checkpoint>),
    /// The shift a roster command produced.
    into_shift => Shift(Shift),
    /// The level a supply movement left.
    into_supply_level => SupplyLevel(SupplyLevel),
    /// The request a resupply command produced.
    into_resupply => Resupply(ResupplyRequest),
    /// The screenings a screening command recorded or found.
    into_screenings => Screenings(Vec<(Screening, bool)>),
    /// How many records a bulk command touched.
    into_count => Count(i64),
    /// The call a call command left.
    into_call => Call(crate::calls::CallRecord),
    /// The order an order command left.
    into_order => Order(crate::orders::OrderRecord),
    /// The alert an alert command left.
    into_alert => Alert(crate::alerts::AlertRecord),
    /// The incident an incident command left.
    into_incident => Incident(crate::screenings::Incident),
    /// The enterprise an enterprise command left.
    into_enterprise => Enterprise(crate::enterprises::Enterprise),
    /// The enterprises an import entered.
    into_enterprises => Enterprises(Vec<crate::enterprises::Enterprise>),
    /// The project a project command left.
    into_project => Project(crate::enterprises::Project),
    /// The worker a labour-pool command left.
    into_worker => Worker(crate::labour::Worker),
    /// The demand a demand command left.
    into_demand => Demand(crate::labour::Demand),
    /// The row a spring-ploughing command left.
    into_ploughing => Ploughing(crate::ploughing::Ploughing),
}

impl Outcome {
    /// The pass a pass command produced, and whether it changed.
    pub fn into_pass(self) -> Result<(crate::passes::Pass, bool), StoreError> {
        match self {
            Outcome::Pass { pass, created } => Ok((pass, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where Pass was due"))),
        }
    }

    /// The visit a visit command stored, and whether it was new.
    pub fn into_visit(self) -> Result<(crate::households::Visit, bool), StoreError> {
        match self {
            Outcome::Visit { visit, created } => Ok((visit, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where Visit was due"))),
        }
    }

    /// The production entry a production command left, and whether it changed.
    pub fn into_production(self) -> Result<(crate::households::Production, bool), StoreError> {
        match self {
            Outcome::Production { production, created } => Ok((production, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where Production was due"))),
        }
    }

    /// The sale a sale command stored, and whether it was new.
    pub fn into_sale(self) -> Result<(crate::households::Sale, bool), StoreError> {
        match self {
            Outcome::Sale { sale, created } => Ok((sale, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where Sale was due"))),
        }
    }

    /// The request a request command produced, and whether it changed.
    pub fn into_pass_request(self) -> Result<(crate::passes::PassRequest, bool), StoreError> {
        match self {
            Outcome::PassRequest { request, created } => Ok((request, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where PassRequest was due"))),
        }
    }

    /// The file an attachment command stored, and whether it is new.
    pub fn into_attachment(self) -> Result<(crate::attachments::Attachment, bool), StoreError> {
        match self {
            Outcome::Attachment { attachment, created } => Ok((attachment, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where Attachment was due"))),
        }
    }

    /// The application a resumption command left, and whether it changed.
    pub fn into_application(self) -> Result<(crate::enterprises::Application, bool), StoreError> {
        match self {
            Outcome::Application { application, created } => Ok((application, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where Application was due"))),
        }
    }

    /// The report a daily-report command stored, and whether it is new.
    pub fn into_daily_report(self) -> Result<(crate::enterprises::DailyReport, bool), StoreError> {
        match self {
            Outcome::DailyReport { report, created } => Ok((report, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where DailyReport was due"))),
        }
    }

    /// The ticket a ticket command left, and whether it changed.
    pub fn into_ticket(self) -> Result<(crate::enterprises::Ticket, bool), StoreError> {
        match self {
            Outcome::Ticket { ticket, created } => Ok((ticket, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where Ticket was due"))),
        }
    }

    /// The placement a placement command left, and whether it changed.
    pub fn into_placement(self) -> Result<(crate::labour::Placement, bool), StoreError> {
        match self {
            Outcome::Placement { placement, created } => Ok((placement, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where Placement was due"))),
        }
    }

    /// The batch a transport command left, and whether it changed.
    pub fn into_batch(self) -> Result<(crate::labour::Batch, bool), StoreError> {
        match self {
            Outcome::Batch { batch, created } => Ok((batch, created)),
            other => Err(StoreError::Corrupt(format!("the writer answered {other:?} where Batch was due"))),
        }
    }

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
    /// Called after commit, before any caller of the batch is answered,
    /// with the batch's events, oldest first: what must be true by the
    /// time a caller hears "done" (a cache forgetting what is stale).
    fn committed(&self, events: &[Arc<Event>]);

    /// Called with the same events once the batch's callers have been
    /// answered: the fan-out to live subscribers goes here, so that waking
    /// ten thousand of them never delays the answers.
    fn answered(&self, events: &[Arc<Event>]) {
        let _ = events;
    }
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
    /// Starts the writer. Await the handle after dropping every [`Writer`] to
    /// know that the last batch is durable. Call it inside a tokio runtime.
    ///
    /// The writer runs on a thread of its own, with a single-threaded tokio
    /// runtime, rather than as a task among the server's: a batch makes
    /// several round trips to the database, and each time the answer comes
    /// back the writer must run again at once. As a task it would wait in the
    /// runtime's shared queue behind every ready HTTP connection (hundreds of
    /// microseconds per round trip under load), and the whole write path
    /// waits with it. Its own thread is woken by the kernel directly.
    pub fn spawn(store: Store, listener: Arc<dyn CommitListener>) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 8);
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("shouwang-writer".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a single-threaded runtime can be built");
            rt.block_on(run(store, listener, rx));
            let _ = done_tx.send(());
        });
        if let Err(e) = thread {
            panic!("cannot start the writer thread: {e}");
        }
        let task = tokio::spawn(async move {
            if done_rx.await.is_err() {
                panic!("the writer thread stopped without draining its queue (it panicked)");
            }
        });
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
    // The writer keeps a connection of its own, so a busy read pool never
    // makes a batch wait; after a database failure it takes a fresh one.
    let mut own: Option<PoolConnection<Any>> = None;
    // Org units seen in committed batches. None is ever deleted, so the bulk
    // path need not ask the database about these again.
    let mut known_units: HashSet<i64> = HashSet::new();
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let started = Instant::now();
        let size = batch.len();
        let results = apply_batch(&store, &mut own, &mut known_units, &batch).await;
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
        if !committed.is_empty() {
            listener.answered(&committed);
        }
    }
    // Close rather than return the connection: it may be bound to this
    // thread's runtime, which ends now.
    if let Some(conn) = own.take() {
        let _ = conn.close().await;
    }
    tracing::info!("writer drained and stopped");
}

/// Applies a batch in one transaction; on a database error, each command
/// alone. Returns one result per job, in order.
async fn apply_batch(
    store: &Store,
    own: &mut Option<PoolConnection<Any>>,
    known_units: &mut HashSet<i64>,
    batch: &[Job],
) -> Vec<Result<Applied, StoreError>> {
    match with_connection(store, own, known_units, batch).await {
        Ok(results) => results,
        Err(e) => {
            if batch.len() > 1 {
                tracing::warn!(error = %e, batch.size = batch.len(), "batch failed; applying its commands one by one");
            }
            let mut results = Vec::with_capacity(batch.len());
            for job in batch {
                let one = with_connection(store, own, known_units, std::slice::from_ref(job)).await;
                results.push(one.and_then(|mut r| r.pop().expect("one job gives one result")));
            }
            results
        }
    }
}

/// [`try_together`] on the writer's own connection, acquired when there is
/// none; a database failure drops it (it may be broken).
async fn with_connection(
    store: &Store,
    own: &mut Option<PoolConnection<Any>>,
    known_units: &mut HashSet<i64>,
    jobs: &[Job],
) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
    let conn = match own {
        Some(c) => c,
        None => {
            let mut conn = store.pool.acquire().await?;
            if store.backend == Backend::Sqlite {
                // A page cache big enough for a batch's work and the pages
                // every batch touches (index ends, rollups). With SQLite's
                // default 2 MiB, a batch of a few hundred screenings spilled
                // dirty pages mid-transaction and read hot pages back from
                // the file. Only the writer's connection gets it; it grows
                // as pages are used. And a checkpoint every 10,000 WAL pages
                // (about 40 MiB) rather than 1,000: the committing writer
                // runs it, and it was a quarter of the database thread.
                sqlx::query("PRAGMA cache_size = -65536").execute(&mut *conn).await?;
                sqlx::query("PRAGMA wal_autocheckpoint = 10000").execute(&mut *conn).await?;
            }
            own.insert(conn)
        }
    };
    let result = match try_together(store, conn, known_units, jobs, false).await {
        Ok(Some(results)) => Ok(results),
        // Some duty-log ids were stored already: once more, reading them
        // first.
        Ok(None) => try_together(store, conn, known_units, jobs, true)
            .await
            .and_then(|r| r.ok_or_else(|| StoreError::Corrupt("a resend was found after checking for resends".into()))),
        Err(e) => Err(e),
    };
    if result.is_err()
        && let Some(broken) = own.take()
    {
        // Not back into the pool: it may be broken, and it may be bound to
        // the writer thread's runtime.
        let _ = broken.close().await;
    }
    result
}

/// One transaction for all of `jobs`. `Err` only for a database failure (the
/// whole transaction is void); per-command decisions are in the `Ok` vector.
/// `Ok(None)`: the bulk path met an id stored before and rolled back; run
/// again with `precheck` (see `bulk`).
async fn try_together(
    store: &Store,
    conn: &mut AnyConnection,
    known_units: &mut HashSet<i64>,
    jobs: &[Job],
    precheck: bool,
) -> Result<Option<Vec<Result<Applied, StoreError>>>, StoreError> {
    if store.backend == Backend::Sqlite && !precheck {
        match bulk::duty_log_in_one_trip(conn, jobs, now_us(), known_units).await? {
            Some(bulk::Bulk::Done { results, .. }) => return Ok(Some(results)),
            // Rolled back already: straight to the try that reads the stored ids.
            Some(bulk::Bulk::Resent) => return Ok(None),
            None => {}
        }
    }
    // SQLite: take the write lock at BEGIN. A deferred transaction that has
    // read and then writes while another connection holds the lock (a
    // backup, a migration, `sqlite3` at the console) gets SQLITE_BUSY at
    // once: SQLite calls the busy handler only for a connection with no
    // transaction open. BEGIN IMMEDIATE waits out `busy_timeout` instead.
    let mut tx = match store.backend {
        Backend::Sqlite => sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?,
        Backend::Postgres => conn.begin().await?,
    };
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(EVENT_ORDER_LOCK).execute(&mut *tx).await?;
    }
    let now = now_us();
    // Field records of the busiest kinds go together (see `bulk` and
    // `screenings::record_together`); the rest one by one. Each job's answer
    // keeps its place.
    let mut answers: Vec<Option<Result<Applied, StoreError>>> = (0..jobs.len()).map(|_| None).collect();
    let bulk_jobs: Vec<usize> = (0..jobs.len()).filter(|&i| bulk::is_bulk(&jobs[i])).collect();
    let mut units_found = Vec::new();
    if bulk_jobs.len() > 1 {
        let picked: Vec<&Job> = bulk_jobs.iter().map(|&i| &jobs[i]).collect();
        match bulk::duty_log(&mut tx, store.backend, &picked, now, known_units, precheck).await.map_err(classify)? {
            bulk::Bulk::Done { results, units } => {
                for (i, answer) in bulk_jobs.into_iter().zip(results) {
                    answers[i] = Some(answer);
                }
                units_found = units;
            }
            bulk::Bulk::Resent => {
                tx.rollback().await?;
                return Ok(None);
            }
        }
    }
    let together: Vec<usize> = (0..jobs.len()).filter(|&i| screenings::goes_together(&jobs[i])).collect();
    if together.len() > 1 {
        let picked: Vec<&Job> = together.iter().map(|&i| &jobs[i]).collect();
        let done = screenings::record_together(&mut tx, &picked, now).await.map_err(classify)?;
        for (i, answer) in together.into_iter().zip(done) {
            answers[i] = answer;
        }
    }
    let mut results = Vec::with_capacity(jobs.len());
    for (job, answer) in jobs.iter().zip(answers) {
        if let Some(answer) = answer {
            results.push(answer);
            continue;
        }
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
    known_units.extend(units_found);
    Ok(Some(results))
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
    Ok(stored_event(actor, e, row.try_get("id")?, now))
}

/// The event `e` by `actor`, as stored at `now` with id `id`.
fn stored_event(actor: &Actor, e: NewEvent, id: i64, now: i64) -> Event {
    Event {
        id: EventId(id),
        at_us: now,
        actor: actor.id,
        actor_name: actor.name.clone(),
        kind: e.kind,
        subject: e.subject,
        scope: e.scope,
        payload: e.payload,
    }
}

/// A statement's error, with a foreign key pointing at nothing named as
/// `field` (`Dangling`, a 422 beside that field) rather than a database
/// failure: `.map_err(dangling_key("assignee_id"))`.
pub(crate) fn dangling_key(field: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match StoreError::from(e) {
        StoreError::Database(e) if e.as_database_error().is_some_and(|d| d.is_foreign_key_violation()) => {
            StoreError::Dangling { field }
        }
        other => other,
    }
}

/// What a command decided: its outcome and the events to append.
pub(crate) type Decided = (Outcome, Vec<NewEvent>);

/// Applies one command inside the batch's transaction.
async fn apply(conn: &mut AnyConnection, actor: &Actor, command: &Command, now: i64) -> Result<Decided, StoreError> {
    use Command::*;
    match command {
        CreateCheckpoint(_)
        | ImportCheckpoints(_)
        | UpdateCheckpoint { .. }
        | SetCheckpointStatus { .. }
        | PlanShift { .. }
        | SwapShiftStaff { .. }
        | CheckIn { .. }
        | CheckOut
        | SetStaffing { .. }
        | PutSupplyItem { .. }
        | MoveSupply { .. }
        | FileResupply { .. }
        | DecideResupply { .. }
        | DispatchResupply { .. }
        | ConfirmResupply { .. }
        | RecordLivingCheck { .. } => checkpoints::apply(conn, actor, command, now).await,
        RecordScreenings { .. } | ErasePersonalData { .. } | RecordUnmaskedView { .. } => {
            screenings::apply(conn, actor, command, now).await
        }
        IssuePass(_) | RevokePass { .. } | RequestPass(_) | DecidePassRequest { .. } => {
            passes::apply(conn, actor, command, now).await
        }
        StartCall(_) | CallParty { .. } | EndCall { .. } => calls::apply(conn, actor, command, now).await,
        IssueOrder(_) | OrderReceipt { .. } | AmendOrder { .. } | RevokeOrder { .. } | MarkOverdue { .. } => {
            orders::apply(conn, actor, command, now).await
        }
        SyncAlerts { .. } | AcknowledgeAlert { .. } => alerts::apply(conn, actor, command, now).await,
        ReportIncident(_) | HandleIncident { .. } => incidents::apply(conn, actor, command, now).await,
        StoreAttachment(_) => attachments::apply(conn, actor, command, now).await,
        CreateEnterprise(_)
        | ImportEnterprises(_)
        | UpdateEnterprise { .. }
        | FileResumption(_)
        | ReviewResumption { .. }
        | SetResumption { .. }
        | FileDailyReport(_)
        | RaiseTicket(_)
        | StepTicket { .. }
        | MarkTicketOverdue { .. }
        | PutTicketRoute { .. }
        | CreateProject(_)
        | SetMilestone { .. } => enterprises::apply(conn, actor, command, now).await,
        CreateWorker(_)
        | UpdateWorker { .. }
        | PostDemand { .. }
        | UpdateDemand { .. }
        | ConfirmPlacement { .. }
        | CancelPlacement { .. }
        | PlanBatch(_)
        | AddPassengers { .. }
        | CheckPassenger { .. }
        | DepartBatch { .. }
        | ArriveBatch { .. } => labour::apply(conn, actor, command, now).await,
        ImportWorkers(_) | ImportDemand { .. } => labour_import::apply(conn, actor, command, now).await,
        CreateHousehold(_)
        | ImportHouseholds(_)
        | UpdateHousehold { .. }
        | RecordVisit(_)
        | RecordProduction(_)
        | UpdateHarvest { .. }
        | RecordSale(_) => households::apply(conn, actor, command, now).await,
        PutPloughing { .. } => ploughing::apply(conn, actor, command, now).await,
        RecordSync(_) => sync::apply(conn, actor, command, now).await,
        PurgeOrphanAttachments { before_us } => attachments::purge(conn, *before_us).await,
        _ => foundation::apply(conn, actor, command, now).await,
    }
}
