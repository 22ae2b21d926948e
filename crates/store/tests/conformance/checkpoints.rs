//! Checkpoints and duty: posts and their scopes, imports, status, rosters,
//! check-in and staffing, supplies, resupply requests and living checks.
//!
//! Writes happen at the writer's clock, so shifts are planned relative to
//! [`now_us`]: one that started 5 minutes ago is on time, one that started
//! 30 minutes ago is 30 minutes late.

use sqlx::Row;

use shouwang_domain::checkpoint::{CheckpointCode, CheckpointKind, CheckpointStatus, DEFAULT_GEOFENCE_M, LatLon};
use shouwang_domain::duty::{Span, Staffing};
use shouwang_domain::supplies::{LivingAspect, MovementKind, ResupplyFilter, ResupplyState};
use shouwang_domain::{Event, EventKind, OrgUnitId, OrgUnitKind, RecordId, Right, Role, ScopePath, UserId};
use shouwang_store::writer::{Applied, CheckpointDraft};
use shouwang_store::{
    CheckInRecord, Checkpoint, Command, OrgUnit, Outcome, ResupplyRequest, Shift, StoreError, SupplyLevel, User, now_us,
};

use crate::assert_err;
use crate::harness::{Harness, actor, username};

const MINUTE_US: i64 = 60_000_000;
const HOUR_US: i64 = 60 * MINUTE_US;

/// Where every test post stands.
const HOME: LatLon = LatLon { lat: 34.0, lon: 111.0 };

/// About 450 m north of [`HOME`] (a degree of latitude is about 111.2 km).
const FAR: LatLon = LatLon { lat: 34.0 + 450.0 / 111_195.0, lon: 111.0 };

/// A county with two townships and a role for the people at the posts.
pub(crate) struct World {
    pub(crate) county: OrgUnit,
    pub(crate) town: OrgUnit,
    pub(crate) other_town: OrgUnit,
    pub(crate) guard: Role,
}

pub(crate) async fn world(h: &Harness) -> World {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let town = h.unit(Some(&county), OrgUnitKind::Township, "411224104").await;
    let other_town = h.unit(Some(&county), OrgUnitKind::Township, "411224105").await;
    let guard = h.role("guard", &[Right::Read, Right::Write]).await;
    World { county, town, other_town, guard }
}

impl World {
    /// A person working in the (first) township.
    pub(crate) async fn guard(&self, h: &Harness, name: &str) -> User {
        h.user(name, &self.guard, &self.town).await
    }
}

fn draft(unit: &OrgUnit, code: &str) -> CheckpointDraft {
    CheckpointDraft {
        org_unit: unit.id,
        code: CheckpointCode::parse("code", code).expect("test codes are valid"),
        name: format!("post {code}"),
        kind: CheckpointKind::CountyBorder,
        location: HOME,
        address: format!("the road at {code}"),
        required_staff: 2,
        geofence_m: DEFAULT_GEOFENCE_M,
        shift_pattern: "08:00+12,20:00+12".into(),
    }
}

pub(crate) async fn post(h: &Harness, unit: &OrgUnit, code: &str) -> Checkpoint {
    h.ok(Command::CreateCheckpoint(draft(unit, code))).await.outcome.into_checkpoint().expect("a checkpoint")
}

/// A span starting `start_min` minutes from now (negative: ago), `hours` long.
fn from_now(start_min: i64, hours: i64) -> Span {
    let starts_us = now_us() + start_min * MINUTE_US;
    Span { starts_us, ends_us: starts_us + hours * HOUR_US }
}

/// A fixed span `offset_h` hours after `base`, `hours` long.
fn at(base: i64, offset_h: i64, hours: i64) -> Span {
    let starts_us = base + offset_h * HOUR_US;
    Span { starts_us, ends_us: starts_us + hours * HOUR_US }
}

/// Tomorrow, to the microsecond of now: a base for rosters.
fn tomorrow() -> i64 {
    now_us() + 24 * HOUR_US
}

/// Plans `span` at `cp` with `staff`, the first of them leading.
fn plan_shift(cp: &Checkpoint, span: Span, staff: &[&User]) -> Command {
    Command::PlanShift {
        checkpoint: cp.id,
        span,
        leader: staff.first().map(|u| u.id),
        staff: staff.iter().map(|u| u.id).collect(),
    }
}

async fn plan(h: &Harness, cp: &Checkpoint, span: Span, staff: &[&User]) -> Shift {
    h.ok(plan_shift(cp, span, staff)).await.outcome.into_shift().expect("a shift")
}

fn ids(users: &[&User]) -> Vec<UserId> {
    let mut ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
    ids.sort();
    ids
}

fn check_in(id: RecordId, shift: &Shift, location: Option<LatLon>) -> Command {
    Command::CheckIn { id, shift: shift.id, location }
}

/// `user` checks in for `shift`; it must succeed.
async fn checked_in(
    h: &Harness,
    user: &User,
    shift: &Shift,
    location: Option<LatLon>,
) -> (CheckInRecord, bool, Applied) {
    let applied = h
        .submit(actor(user), check_in(RecordId::new_v7(), shift, location))
        .await
        .unwrap_or_else(|e| panic!("{} could not check in: {e:?}", user.username.as_str()));
    check_in_outcome(applied)
}

fn check_in_outcome(applied: Applied) -> (CheckInRecord, bool, Applied) {
    match &applied.outcome {
        Outcome::CheckIn { record, created } => (record.clone(), *created, applied),
        other => panic!("a check-in gave {other:?}"),
    }
}

fn move_supply(cp: &Checkpoint, item: &str, kind: MovementKind, quantity: i64) -> Command {
    Command::MoveSupply { id: RecordId::new_v7(), checkpoint: cp.id, item: item.into(), kind, quantity }
}

async fn moved(h: &Harness, user: &User, command: Command) -> (SupplyLevel, Applied) {
    let what = format!("{command:?}");
    let applied = h.submit(actor(user), command).await.unwrap_or_else(|e| panic!("{what} failed: {e:?}"));
    (applied.outcome.clone().into_supply_level().expect("a supply level"), applied)
}

async fn masks(h: &Harness) {
    h.ok(Command::PutSupplyItem { key: "mask".into(), unit: "piece".into(), default_threshold: 200 }).await;
}

fn file_resupply(id: RecordId, cp: &Checkpoint, quantity: i64) -> Command {
    Command::FileResupply { id, checkpoint: cp.id, item: "mask".into(), quantity, note: "running low".into() }
}

async fn resupply(h: &Harness, user: &User, command: Command) -> (ResupplyRequest, Applied) {
    let what = format!("{command:?}");
    let applied = h.submit(actor(user), command).await.unwrap_or_else(|e| panic!("{what} failed: {e:?}"));
    (applied.outcome.clone().into_resupply().expect("a resupply request"), applied)
}

fn kinds(applied: &Applied) -> Vec<EventKind> {
    applied.events.iter().map(|e| e.kind).collect()
}

pub(crate) async fn events_of(h: &Harness, kind: EventKind) -> Vec<Event> {
    h.all_events().await.into_iter().filter(|e| e.kind == kind).collect()
}

pub(crate) async fn count(h: &Harness, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(h.store.pool()).await.expect("a count").try_get("n").expect("a number")
}

/// Asserts a refusal naming `field` with `code`.
#[track_caller]
pub(crate) fn refused(result: Result<Applied, StoreError>, field: &str, code: &str) {
    match result {
        Err(StoreError::Invalid(e)) => assert_eq!((e.field.as_str(), e.code), (field, code), "{e:?}"),
        other => panic!("expected Invalid({field}: {code}), got {other:?}"),
    }
}

// ---------------------------------------------------------------- posts

pub async fn a_created_checkpoint_is_scoped_under_its_unit_active_and_unstaffed(h: Harness) {
    let w = world(&h).await;
    let applied = h.ok(Command::CreateCheckpoint(draft(&w.town, " zyg-01 "))).await;
    let cp = applied.outcome.clone().into_checkpoint().unwrap();

    assert_eq!(cp.code, "ZYG-01");
    assert_eq!(cp.org_unit_id, w.town.id);
    assert_eq!(cp.scope.as_str(), format!("{}c{}/", w.town.path.as_str(), cp.id));
    assert!(w.town.path.contains(&cp.scope) && w.county.path.contains(&cp.scope));
    assert_eq!(cp.status, CheckpointStatus::Active);
    assert_eq!(cp.staffing, Staffing::Unstaffed);
    assert_eq!(cp.kind, CheckpointKind::CountyBorder);
    assert_eq!(cp.location, HOME);
    assert_eq!((cp.required_staff, cp.geofence_m), (2, DEFAULT_GEOFENCE_M));
    assert_eq!(cp.shift_pattern, "08:00+12,20:00+12");
    assert_eq!(h.store.checkpoint(cp.id).await.unwrap(), cp, "the stored post is the one returned");
    assert_eq!(h.store.checkpoint_by_code("ZYG-01").await.unwrap(), cp);

    assert_eq!(kinds(&applied), vec![EventKind::CheckpointCreated]);
    let e = &applied.events[0];
    assert_eq!(e.subject, format!("checkpoint:{}", cp.id));
    assert_eq!(e.scope, cp.scope, "the event is visible at the post and above");
    assert_eq!(e.payload["code"], "ZYG-01");
    assert_eq!(e.payload["status"], "active");
    assert_eq!(e.payload["staffing"], "unstaffed");
    assert_eq!(e.payload["org_unit_id"], w.town.id.0);
}

pub async fn a_duplicate_checkpoint_code_is_refused(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let events = h.published.count();

    // Codes are upper-cased, so this is the same code, and unique across units.
    assert_err!(
        h.system(Command::CreateCheckpoint(draft(&w.other_town, "zyg-01"))).await,
        StoreError::Conflict { field: "code" }
    );
    assert_eq!(h.store.checkpoints_within(&ScopePath::root()).await.unwrap(), vec![cp]);
    assert_eq!(h.published.count(), events, "a refusal publishes nothing");
}

pub async fn a_checkpoint_under_an_unknown_unit_is_dangling(h: Harness) {
    let w = world(&h).await;
    let nowhere = CheckpointDraft { org_unit: OrgUnitId(999_999), ..draft(&w.town, "ZYG-01") };
    assert_err!(h.system(Command::CreateCheckpoint(nowhere)).await, StoreError::Dangling { field: "org_unit_id" });
    assert!(h.store.checkpoints_within(&ScopePath::root()).await.unwrap().is_empty());
    assert!(events_of(&h, EventKind::CheckpointCreated).await.is_empty());
}

pub async fn checkpoints_within_a_township_are_only_its_own_posts(h: Harness) {
    let w = world(&h).await;
    let b = post(&h, &w.town, "ZYG-02").await;
    let a = post(&h, &w.town, "ZYG-01").await;
    let c = post(&h, &w.other_town, "DM-01").await;

    assert_eq!(h.store.checkpoints_within(&w.town.path).await.unwrap(), vec![a.clone(), b.clone()], "by code");
    assert_eq!(h.store.checkpoints_within(&w.other_town.path).await.unwrap(), vec![c.clone()]);
    assert_eq!(h.store.checkpoints_within(&w.county.path).await.unwrap(), vec![c, a.clone(), b]);
    assert_eq!(h.store.checkpoints_within(&a.scope).await.unwrap(), vec![a], "a post's scope holds itself");
}

pub async fn checkpoints_within_a_scope_exclude_a_prefix_sibling(h: Harness) {
    let (short, long) = h.prefix_siblings().await;
    let mine = post(&h, &short, "ONE-01").await;
    let theirs = post(&h, &long, "TEN-01").await;
    assert_eq!(h.store.checkpoints_within(&short.path).await.unwrap(), vec![mine]);
    assert_eq!(h.store.checkpoints_within(&long.path).await.unwrap(), vec![theirs]);
}

pub async fn a_user_scoped_to_a_checkpoint_lies_within_it(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let other = post(&h, &w.town, "ZYG-02").await;
    let command = Command::CreateUser {
        username: username("zyg01-phone"),
        display_name: "ZYG-01 duty phone".into(),
        password_hash: "hash:zyg01-phone".into(),
        role: w.guard.name.clone(),
        org_unit: w.town.id,
        scope: Some(cp.scope.clone()),
    };
    let user = h.ok(command).await.outcome.into_user().unwrap();

    assert_eq!(user.org_unit_id, w.town.id);
    assert_eq!(user.scope, cp.scope);
    assert!(cp.scope.contains(&user.scope) && w.town.path.contains(&user.scope));
    assert!(!other.scope.contains(&user.scope));
    assert_eq!(h.store.checkpoints_within(&user.scope).await.unwrap(), vec![cp.clone()], "they see their post only");
    assert_eq!(h.store.users_within(&cp.scope).await.unwrap(), vec![user.clone()]);
    assert!(h.store.users_within(&other.scope).await.unwrap().is_empty());
    assert!(h.store.users_within(&w.town.path).await.unwrap().contains(&user));

    // Being within the post, they may be put on its roster.
    let shift = plan(&h, &cp, at(tomorrow(), 0, 8), &[&user]).await;
    assert_eq!(shift.staff, vec![user.id]);
}

pub async fn updating_a_checkpoint_keeps_its_unit_and_restaffs_it(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let other = post(&h, &w.town, "ZYG-02").await;
    let (a, b) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await);
    let shift = plan(&h, &cp, from_now(-5, 8), &[&a, &b]).await;
    checked_in(&h, &a, &shift, Some(HOME)).await;
    checked_in(&h, &b, &shift, Some(HOME)).await;
    assert_eq!(h.store.checkpoint(cp.id).await.unwrap().staffing, Staffing::Staffed);

    let taken = draft(&w.town, "ZYG-02");
    assert_err!(
        h.system(Command::UpdateCheckpoint { id: cp.id, draft: taken }).await,
        StoreError::Conflict { field: "code" }
    );
    let moved = draft(&w.other_town, "ZYG-01");
    refused(h.system(Command::UpdateCheckpoint { id: cp.id, draft: moved }).await, "org_unit_id", "cannot_move_post");

    let three =
        CheckpointDraft { required_staff: 3, name: "朱阳关省界检测点".into(), ..draft(&w.town, "ZYG-01") };
    let applied = h.ok(Command::UpdateCheckpoint { id: cp.id, draft: three }).await;
    assert_eq!(kinds(&applied), vec![EventKind::CheckpointUpdated, EventKind::StaffingChanged]);
    let after = applied.outcome.clone().into_checkpoint().unwrap();
    assert_eq!((after.required_staff, after.name.as_str()), (3, "朱阳关省界检测点"));
    assert_eq!(after.staffing, Staffing::Understaffed, "two present of three required");
    assert_eq!(after.scope, cp.scope);
    assert_eq!(applied.events[1].payload["previous"], "staffed");
    assert_eq!(h.store.checkpoint(other.id).await.unwrap(), other, "the other post is untouched");
}

// ---------------------------------------------------------------- import

pub async fn importing_checkpoints_writes_every_row_with_one_event_each(h: Harness) {
    let w = world(&h).await;
    let drafts: Vec<CheckpointDraft> = (1..=5).map(|i| draft(&w.town, &format!("IMP-{i:02}"))).collect();
    let applied = h.ok(Command::ImportCheckpoints(drafts)).await;
    let posts = applied.outcome.clone().into_checkpoints().unwrap();

    let codes: Vec<&str> = posts.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, ["IMP-01", "IMP-02", "IMP-03", "IMP-04", "IMP-05"]);
    for p in &posts {
        assert_eq!(p.scope, w.town.path.segment(&format!("c{}", p.id)));
        assert_eq!((p.status, p.staffing), (CheckpointStatus::Active, Staffing::Unstaffed));
    }
    assert_eq!(h.store.checkpoints_within(&w.town.path).await.unwrap(), posts);

    assert_eq!(applied.events.len(), 5, "one event per row");
    for (e, p) in applied.events.iter().zip(&posts) {
        assert_eq!(e.kind, EventKind::CheckpointCreated);
        assert_eq!(e.subject, format!("checkpoint:{}", p.id));
        assert_eq!(e.scope, p.scope);
        assert_eq!(e.payload["imported"], true);
    }
}

pub async fn an_import_with_a_taken_code_writes_none_of_its_rows(h: Harness) {
    let w = world(&h).await;
    let existing = post(&h, &w.other_town, "ZYG-01").await;
    let events = h.published.count();
    let nothing_new = || async { h.store.checkpoints_within(&ScopePath::root()).await.unwrap() };

    // Row 2 takes an existing code: rows 0 and 1 must not stay behind.
    let rows =
        vec![draft(&w.town, "IMP-01"), draft(&w.town, "IMP-02"), draft(&w.town, "ZYG-01"), draft(&w.town, "IMP-04")];
    refused(h.system(Command::ImportCheckpoints(rows)).await, "rows[2].code", "taken");
    assert_eq!(nothing_new().await, vec![existing.clone()], "all or nothing");

    // Row 1 repeats row 0's code.
    let rows = vec![draft(&w.town, "IMP-01"), draft(&w.town, "imp-01")];
    refused(h.system(Command::ImportCheckpoints(rows)).await, "rows[1].code", "taken");
    assert_eq!(nothing_new().await, vec![existing.clone()]);

    // Row 1 names a unit that does not exist.
    let rows =
        vec![draft(&w.town, "IMP-01"), CheckpointDraft { org_unit: OrgUnitId(999_999), ..draft(&w.town, "IMP-02") }];
    assert_err!(h.system(Command::ImportCheckpoints(rows)).await, StoreError::Dangling { field: "org_unit_id" });
    assert_eq!(nothing_new().await, vec![existing.clone()]);
    assert_eq!(h.published.count(), events, "refused imports publish nothing");

    // The codes are still free.
    let rows = vec![draft(&w.town, "IMP-01"), draft(&w.town, "IMP-02")];
    let posts = h.ok(Command::ImportCheckpoints(rows)).await.outcome.into_checkpoints().unwrap();
    assert_eq!(posts.len(), 2);
    assert_eq!(h.store.checkpoints_within(&ScopePath::root()).await.unwrap().len(), 3);
}

// ---------------------------------------------------------------- status

pub async fn suspending_a_post_records_why_and_the_previous_status(h: Harness) {
    let w = world(&h).await;
    let commander = h.user("commander", &w.guard, &w.county).await;
    let cp = post(&h, &w.town, "ZYG-01").await;

    let suspend = Command::SetCheckpointStatus {
        id: cp.id,
        status: CheckpointStatus::Suspended,
        reason: "snow closes the pass".into(),
    };
    let applied = h.submit(actor(&commander), suspend).await.unwrap();
    let after = applied.outcome.clone().into_checkpoint().unwrap();
    assert_eq!(after.status, CheckpointStatus::Suspended);
    assert_eq!(after.staffing, Staffing::Suspended, "no staffing is expected of a suspended post");
    assert_eq!(h.store.checkpoint(cp.id).await.unwrap(), after);

    assert_eq!(kinds(&applied), vec![EventKind::CheckpointStatusChanged, EventKind::StaffingChanged]);
    let status = &applied.events[0];
    assert_eq!(status.scope, cp.scope);
    assert_eq!(status.actor, Some(commander.id));
    assert_eq!(status.payload["status"], "suspended");
    assert_eq!(status.payload["previous_status"], "active");
    assert_eq!(status.payload["reason"], "snow closes the pass");
    assert_eq!(applied.events[1].payload["previous"], "unstaffed");
    assert_eq!(applied.events[1].payload["staffing"], "suspended");

    let rows = sqlx::query("SELECT status, reason, actor_id FROM checkpoint_status_history WHERE checkpoint_id = $1")
        .bind(cp.id.0)
        .fetch_all(h.store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].try_get::<String, _>("status").unwrap(), "suspended");
    assert_eq!(rows[0].try_get::<String, _>("reason").unwrap(), "snow closes the pass");
    assert_eq!(rows[0].try_get::<Option<i64>, _>("actor_id").unwrap(), Some(commander.id.0));

    // Reopening brings it back, unstaffed until someone checks in.
    let reopen =
        Command::SetCheckpointStatus { id: cp.id, status: CheckpointStatus::Active, reason: "road cleared".into() };
    let applied = h.submit(actor(&commander), reopen).await.unwrap();
    let again = applied.outcome.clone().into_checkpoint().unwrap();
    assert_eq!((again.status, again.staffing), (CheckpointStatus::Active, Staffing::Unstaffed));
    assert_eq!(applied.events[0].payload["previous_status"], "suspended");
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM checkpoint_status_history").await, 2);
}

pub async fn setting_the_same_status_again_is_refused_as_unchanged(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let set = |status| Command::SetCheckpointStatus { id: cp.id, status, reason: "why not".into() };

    refused(h.system(set(CheckpointStatus::Active)).await, "status", "unchanged");
    h.ok(set(CheckpointStatus::Closed)).await;
    let events = h.published.count();
    refused(h.system(set(CheckpointStatus::Closed)).await, "status", "unchanged");
    assert_eq!(h.published.count(), events);
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM checkpoint_status_history").await, 1);
    assert_eq!(h.store.checkpoint(cp.id).await.unwrap().status, CheckpointStatus::Closed);
}

// ---------------------------------------------------------------- rosters

pub async fn a_shift_leader_must_be_on_the_shift(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let (a, b) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await);
    let span = at(tomorrow(), 0, 8);

    let command = Command::PlanShift { checkpoint: cp.id, span, leader: Some(b.id), staff: vec![a.id] };
    refused(h.system(command).await, "leader_id", "leader_not_on_shift");
    assert!(h.store.shifts(cp.id, 0, i64::MAX).await.unwrap().is_empty());

    let applied = h.ok(plan_shift(&cp, span, &[&b, &a])).await;
    let shift = applied.outcome.clone().into_shift().unwrap();
    assert_eq!((shift.checkpoint_id, shift.span, shift.leader_id), (cp.id, span, Some(b.id)));
    assert_eq!(shift.staff, ids(&[&a, &b]));
    assert_eq!(h.store.shift(shift.id).await.unwrap(), shift);
    assert_eq!(kinds(&applied), vec![EventKind::ShiftPlanned]);
    assert_eq!(applied.events[0].scope, cp.scope);
    assert_eq!(applied.events[0].payload["leader_id"], b.id.0);
}

pub async fn shift_staff_must_be_enabled_and_within_the_posts_scope(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let local = w.guard(&h, "guard-a").await;
    let outsider = h.user("outsider", &w.guard, &w.other_town).await;
    let gone = w.guard(&h, "gone").await;
    h.ok(Command::SetUserDisabled { id: gone.id, disabled: true }).await;
    let span = at(tomorrow(), 0, 8);

    refused(h.system(plan_shift(&cp, span, &[&local, &outsider])).await, "staff[1]", "out_of_scope");
    refused(h.system(plan_shift(&cp, span, &[&gone])).await, "staff[0]", "not_found");
    assert!(h.store.shifts(cp.id, 0, i64::MAX).await.unwrap().is_empty());

    // Someone from the county above may work a township's post.
    let commander = h.user("commander", &w.guard, &w.county).await;
    let shift = plan(&h, &cp, span, &[&local, &commander]).await;
    assert_eq!(shift.staff, ids(&[&local, &commander]));
}

pub async fn an_overlapping_shift_at_the_same_post_is_refused(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let (a, b) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await);
    let base = tomorrow();
    let day = plan(&h, &cp, at(base, 0, 8), &[&a]).await;

    refused(h.system(plan_shift(&cp, at(base, 4, 8), &[&b])).await, "starts_us", "shift_exists");
    refused(h.system(plan_shift(&cp, at(base, 0, 8), &[&b])).await, "starts_us", "shift_exists");
    assert_eq!(h.store.shifts(cp.id, 0, i64::MAX).await.unwrap(), vec![day]);
    assert!(h.store.shifts_of_user(b.id, 0, i64::MAX).await.unwrap().is_empty());
}

pub async fn a_person_on_an_overlapping_shift_elsewhere_cannot_be_booked(h: Harness) {
    let w = world(&h).await;
    let here = post(&h, &w.town, "ZYG-01").await;
    let there = post(&h, &w.town, "ZYG-02").await;
    let (a, b, c) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await, w.guard(&h, "guard-c").await);
    let base = tomorrow();
    let first = plan(&h, &here, at(base, 0, 8), &[&a, &b]).await;
    let events = h.published.count();

    refused(h.system(plan_shift(&there, at(base, 6, 8), &[&c, &b])).await, "staff[1]", "shift_overlaps");
    assert!(h.store.shifts(there.id, 0, i64::MAX).await.unwrap().is_empty(), "nothing was written");
    assert!(h.store.shifts_of_user(c.id, 0, i64::MAX).await.unwrap().is_empty());
    assert_eq!(h.store.shifts_of_user(b.id, 0, i64::MAX).await.unwrap(), vec![first]);
    assert_eq!(h.published.count(), events);
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM shift_assignments").await, 2);
}

pub async fn back_to_back_shifts_are_fine(h: Harness) {
    let w = world(&h).await;
    let here = post(&h, &w.town, "ZYG-01").await;
    let there = post(&h, &w.town, "ZYG-02").await;
    let (a, b) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await);
    let base = tomorrow();

    let day = plan(&h, &here, at(base, 0, 8), &[&a, &b]).await;
    let night = plan(&h, &here, at(base, 8, 8), &[&a, &b]).await;
    let next = plan(&h, &there, at(base, 16, 8), &[&b]).await;
    assert_eq!(h.store.shifts(here.id, base, base + 16 * HOUR_US).await.unwrap(), vec![day.clone(), night.clone()]);
    assert_eq!(h.store.shifts_of_user(a.id, 0, i64::MAX).await.unwrap(), vec![day.clone(), night.clone()]);
    assert_eq!(h.store.shifts_of_user(b.id, 0, i64::MAX).await.unwrap(), vec![day, night, next]);
    assert_eq!(events_of(&h, EventKind::ShiftPlanned).await.len(), 3);
}

pub async fn swapping_staff_moves_a_person_and_records_the_reason(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let (a, b, c) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await, w.guard(&h, "guard-c").await);
    let shift = plan(&h, &cp, at(tomorrow(), 0, 8), &[&a, &b]).await;
    assert_eq!(shift.leader_id, Some(a.id));

    let swap = Command::SwapShiftStaff { shift: shift.id, out: a.id, into: c.id, reason: "a is ill".into() };
    let applied = h.ok(swap).await;
    let after = applied.outcome.clone().into_shift().unwrap();
    assert_eq!(after.staff, ids(&[&b, &c]));
    assert_eq!(after.leader_id, Some(c.id), "who takes the leader's place leads");
    assert_eq!(after.span, shift.span);
    assert_eq!(h.store.shift(shift.id).await.unwrap(), after);
    assert!(h.store.shifts_of_user(a.id, 0, i64::MAX).await.unwrap().is_empty());
    assert_eq!(h.store.shifts_of_user(c.id, 0, i64::MAX).await.unwrap(), vec![after]);

    assert_eq!(kinds(&applied), vec![EventKind::ShiftSwapped]);
    let e = &applied.events[0];
    assert_eq!(e.scope, cp.scope);
    assert_eq!(e.payload["reason"], "a is ill");
    assert_eq!(e.payload["out_user_id"], a.id.0);
    assert_eq!(e.payload["in_user_id"], c.id.0);
}

pub async fn a_swap_refuses_someone_off_the_shift_or_already_booked(h: Harness) {
    let w = world(&h).await;
    let here = post(&h, &w.town, "ZYG-01").await;
    let there = post(&h, &w.town, "ZYG-02").await;
    let (a, b) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await);
    let (c, d) = (w.guard(&h, "guard-c").await, w.guard(&h, "guard-d").await);
    let base = tomorrow();
    let shift = plan(&h, &here, at(base, 0, 8), &[&a, &b]).await;
    plan(&h, &there, at(base, 4, 8), &[&c]).await;
    let swap = |out: &User, into: &User| Command::SwapShiftStaff {
        shift: shift.id,
        out: out.id,
        into: into.id,
        reason: "swap".into(),
    };

    refused(h.system(swap(&d, &c)).await, "out_user_id", "not_on_shift");
    refused(h.system(swap(&a, &c)).await, "in_user_id", "shift_overlaps");
    refused(h.system(swap(&a, &b)).await, "in_user_id", "already_on_shift");
    assert_eq!(h.store.shift(shift.id).await.unwrap(), shift, "the shift is unchanged");
    assert!(events_of(&h, EventKind::ShiftSwapped).await.is_empty());
}

// ---------------------------------------------------------------- check-in

pub async fn checking_in_off_the_roster_is_refused(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let (a, c) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-c").await);
    let shift = plan(&h, &cp, from_now(-5, 8), &[&a]).await;

    refused(h.submit(actor(&c), check_in(RecordId::new_v7(), &shift, Some(HOME))).await, "shift_id", "not_on_shift");
    refused(h.system(check_in(RecordId::new_v7(), &shift, Some(HOME))).await, "actor", "needs_a_person");
    assert!(h.store.present(cp.id).await.unwrap().is_empty());
    assert!(events_of(&h, EventKind::CheckedIn).await.is_empty());
}

pub async fn check_ins_inside_the_fence_staff_the_post_one_event_per_change(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let (a, b) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await);
    let shift = plan(&h, &cp, from_now(-5, 8), &[&a, &b]).await;

    let (first, created, applied) = checked_in(&h, &a, &shift, Some(HOME)).await;
    assert!(created);
    assert_eq!((first.user_id, first.checkpoint_id, first.shift_id), (a.id, cp.id, shift.id));
    assert_eq!(first.out_us, None);
    assert_eq!(first.distance_m, Some(0.0));
    assert!(!first.outside_fence);
    assert_eq!(first.late_minutes, 0, "5 minutes after the start is on time");
    assert_eq!(kinds(&applied), vec![EventKind::CheckedIn, EventKind::StaffingChanged]);
    assert_eq!(applied.events[0].actor, Some(a.id));
    assert_eq!(applied.events[0].scope, cp.scope);
    assert_eq!(applied.events[0].payload["outside_fence"], false);
    let changed = &applied.events[1].payload;
    assert_eq!((changed["previous"].as_str(), changed["staffing"].as_str()), (Some("unstaffed"), Some("understaffed")));
    assert_eq!(h.store.checkpoint(cp.id).await.unwrap().staffing, Staffing::Understaffed);

    let (second, _, applied) = checked_in(&h, &b, &shift, Some(HOME)).await;
    assert_eq!(kinds(&applied), vec![EventKind::CheckedIn, EventKind::StaffingChanged]);
    let changed = &applied.events[1].payload;
    assert_eq!((changed["previous"].as_str(), changed["staffing"].as_str()), (Some("understaffed"), Some("staffed")));
    assert_eq!(changed["present"], 2);
    assert_eq!(h.store.checkpoint(cp.id).await.unwrap().staffing, Staffing::Staffed);

    let mut present = h.store.present(cp.id).await.unwrap();
    present.sort_by_key(|r| r.user_id);
    assert_eq!(present, vec![first.clone(), second]);
    assert_eq!(h.store.open_check_in(a.id).await.unwrap(), Some(first));
    assert_eq!(h.store.present_counts_within(&w.town.path).await.unwrap(), vec![(cp.id, 2)]);
    assert!(h.store.present_counts_within(&w.other_town.path).await.unwrap().is_empty());
    assert_eq!(h.store.open_check_ins_within(&w.county.path).await.unwrap().len(), 2);
    assert_eq!(events_of(&h, EventKind::StaffingChanged).await.len(), 2, "one event per change");
}

pub async fn a_check_in_outside_the_fence_is_allowed_but_flagged(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let (a, b) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await);
    let shift = plan(&h, &cp, from_now(-5, 8), &[&a, &b]).await;

    let (far, _, applied) = checked_in(&h, &a, &shift, Some(FAR)).await;
    assert!(far.outside_fence, "450 m is beyond the 300 m fence");
    let distance = far.distance_m.expect("a distance");
    assert!((distance - 450.0).abs() < 5.0, "{distance}");
    let payload = &applied.events[0].payload;
    assert_eq!(payload["outside_fence"], true);
    assert!((payload["distance_m"].as_f64().unwrap() - 450.0).abs() < 5.0, "{payload}");
    assert_eq!(h.store.checkpoint(cp.id).await.unwrap().staffing, Staffing::Understaffed, "they still count");

    // A phone that cannot tell where it is is flagged as well.
    let (blind, _, _) = checked_in(&h, &b, &shift, None).await;
    assert!(blind.outside_fence);
    assert_eq!(blind.distance_m, None);
}

pub async fn check_in_timing_counts_minutes_late_and_refuses_outside_the_shift(h: Harness) {
    let w = world(&h).await;
    let (one, two) = (post(&h, &w.town, "ZYG-01").await, post(&h, &w.town, "ZYG-02").await);
    let three = post(&h, &w.town, "ZYG-03").await;
    let (a, b, c) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await, w.guard(&h, "guard-c").await);

    let late = plan(&h, &one, from_now(-30, 8), &[&a]).await;
    let (record, _, applied) = checked_in(&h, &a, &late, Some(HOME)).await;
    assert_eq!(record.late_minutes, 30);
    assert_eq!(applied.events[0].payload["late_minutes"], 30);

    let early = plan(&h, &two, from_now(180, 8), &[&b]).await;
    refused(
        h.submit(actor(&b), check_in(RecordId::new_v7(), &early, Some(HOME))).await,
        "shift_id",
        "check_in_too_early",
    );
    let d = w.guard(&h, "guard-d").await;
    let soon = plan(&h, &three, from_now(45, 8), &[&d]).await;
    let (record, _, _) = checked_in(&h, &d, &soon, Some(HOME)).await;
    assert_eq!(record.late_minutes, 0, "up to an hour early is fine");

    let over = plan(&h, &two, from_now(-600, 8), &[&c]).await;
    refused(h.submit(actor(&c), check_in(RecordId::new_v7(), &over, Some(HOME))).await, "shift_id", "shift_over");
    assert_eq!(h.store.open_check_in(c.id).await.unwrap(), None);
}

pub async fn a_resent_check_in_is_stored_once_and_a_second_one_refused(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let (a, b) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await);
    let shift = plan(&h, &cp, from_now(-5, 8), &[&a, &b]).await;
    let id = RecordId::new_v7();

    let (first, created, _) = check_in_outcome(h.submit(actor(&a), check_in(id, &shift, Some(HOME))).await.unwrap());
    assert!(created);
    assert_eq!(first.id, id);
    let events = h.published.count();

    // The phone did not hear the answer and sends again, from elsewhere.
    let (again, created, applied) =
        check_in_outcome(h.submit(actor(&a), check_in(id, &shift, Some(FAR))).await.unwrap());
    assert!(!created);
    assert_eq!(again, first, "the stored record comes back");
    assert!(applied.events.is_empty());

    refused(h.submit(actor(&a), check_in(RecordId::new_v7(), &shift, Some(HOME))).await, "id", "already_checked_in");
    assert_err!(h.submit(actor(&b), check_in(id, &shift, Some(HOME))).await, StoreError::Conflict { field: "id" });

    assert_eq!(h.published.count(), events, "nothing more was published");
    assert_eq!(h.store.present(cp.id).await.unwrap(), vec![first]);
    assert_eq!(events_of(&h, EventKind::CheckedIn).await.len(), 1);
}

pub async fn checking_in_at_a_suspended_post_is_refused(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let a = w.guard(&h, "guard-a").await;
    let shift = plan(&h, &cp, from_now(-5, 8), &[&a]).await;
    let suspend =
        Command::SetCheckpointStatus { id: cp.id, status: CheckpointStatus::Suspended, reason: "snow".into() };
    h.ok(suspend).await;

    refused(
        h.submit(actor(&a), check_in(RecordId::new_v7(), &shift, Some(HOME))).await,
        "checkpoint_id",
        "post_not_active",
    );
    assert!(h.store.present(cp.id).await.unwrap().is_empty());
    assert_eq!(h.store.checkpoint(cp.id).await.unwrap().staffing, Staffing::Suspended);
}

pub async fn checking_out_ends_presence_and_unstaffs_the_post(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let (a, b) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await);
    let shift = plan(&h, &cp, from_now(-5, 8), &[&a, &b]).await;
    let (record, _, _) = checked_in(&h, &a, &shift, Some(HOME)).await;
    checked_in(&h, &b, &shift, Some(HOME)).await;

    let (out, created, applied) = check_in_outcome(h.submit(actor(&a), Command::CheckOut).await.unwrap());
    assert!(!created);
    assert_eq!(out.id, record.id);
    assert!(out.out_us.is_some_and(|t| t >= record.in_us));
    assert_eq!(kinds(&applied), vec![EventKind::CheckedOut, EventKind::StaffingChanged]);
    assert_eq!(applied.events[1].payload["previous"], "staffed");
    assert_eq!(applied.events[1].payload["staffing"], "understaffed");
    assert_eq!(h.store.open_check_in(a.id).await.unwrap(), None);

    let (_, _, applied) = check_in_outcome(h.submit(actor(&b), Command::CheckOut).await.unwrap());
    assert_eq!(applied.events[1].payload["staffing"], "unstaffed");
    assert!(h.store.present(cp.id).await.unwrap().is_empty());
    assert_eq!(h.store.checkpoint(cp.id).await.unwrap().staffing, Staffing::Unstaffed);

    refused(h.submit(actor(&a), Command::CheckOut).await, "id", "not_checked_in");
    assert_eq!(events_of(&h, EventKind::CheckedOut).await.len(), 2);
}

pub async fn a_post_whose_phones_fall_silent_has_no_signal_until_heard_again(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let (a, b) = (w.guard(&h, "guard-a").await, w.guard(&h, "guard-b").await);
    let shift = plan(&h, &cp, from_now(-5, 8), &[&a, &b]).await;
    checked_in(&h, &a, &shift, Some(HOME)).await;
    checked_in(&h, &b, &shift, Some(HOME)).await;
    let set = |heard| Command::SetStaffing { checkpoint: cp.id, heard };

    let applied = h.ok(set(0)).await;
    assert_eq!(applied.outcome.clone().into_checkpoint().unwrap().staffing, Staffing::NoSignal);
    assert_eq!(kinds(&applied), vec![EventKind::StaffingChanged]);
    assert_eq!(applied.events[0].payload["previous"], "staffed");
    assert_eq!(applied.events[0].payload["staffing"], "no_signal");
    assert!(h.ok(set(0)).await.events.is_empty(), "no change, no event");

    let applied = h.ok(set(2)).await;
    assert_eq!(applied.outcome.clone().into_checkpoint().unwrap().staffing, Staffing::Staffed);
    assert_eq!(applied.events[0].payload["previous"], "no_signal");
    assert!(h.ok(set(1)).await.events.is_empty(), "one phone heard of two present is still staffed");
    assert_eq!(h.store.checkpoint(cp.id).await.unwrap().staffing, Staffing::Staffed);
}

// ---------------------------------------------------------------- supplies

pub async fn consumption_crossing_the_threshold_reports_low_stock_once(h: Harness) {
    let w = world(&h).await;
    masks(&h).await;
    assert_eq!(h.store.supply_items().await.unwrap(), vec![("mask".into(), "piece".into(), 200)]);
    let cp = post(&h, &w.town, "ZYG-01").await;
    let a = w.guard(&h, "guard-a").await;

    let (level, applied) = moved(&h, &a, move_supply(&cp, "mask", MovementKind::Receipt, 300)).await;
    assert_eq!((level.on_hand, level.threshold, level.unit.as_str()), (300, 200, "piece"));
    assert_eq!(kinds(&applied), vec![EventKind::SupplyMoved]);
    assert_eq!(applied.events[0].scope, cp.scope);

    let (level, applied) = moved(&h, &a, move_supply(&cp, "mask", MovementKind::Consumption, 120)).await;
    assert_eq!(level.on_hand, 180);
    assert!(level.low());
    assert_eq!(kinds(&applied), vec![EventKind::SupplyMoved, EventKind::SupplyLow]);
    let low = &applied.events[1];
    assert_eq!(low.scope, cp.scope);
    assert_eq!((low.payload["item"].as_str(), low.payload["on_hand"].as_i64()), (Some("mask"), Some(180)));
    assert_eq!(low.payload["threshold"], 200);

    let (level, applied) = moved(&h, &a, move_supply(&cp, "mask", MovementKind::Consumption, 30)).await;
    assert_eq!(level.on_hand, 150);
    assert_eq!(kinds(&applied), vec![EventKind::SupplyMoved], "already low: no second warning");
    assert_eq!(h.store.supply_levels(cp.id).await.unwrap(), vec![level.clone()]);
    assert_eq!(h.store.low_stock_within(&w.town.path).await.unwrap(), vec![level]);
    assert!(h.store.low_stock_within(&w.other_town.path).await.unwrap().is_empty());
    assert_eq!(events_of(&h, EventKind::SupplyLow).await.len(), 1);

    // Restocked above the threshold, the next fall warns again.
    moved(&h, &a, move_supply(&cp, "mask", MovementKind::Receipt, 100)).await;
    assert!(h.store.low_stock_within(&w.town.path).await.unwrap().is_empty());
    let (_, applied) = moved(&h, &a, move_supply(&cp, "mask", MovementKind::Count, 200)).await;
    assert_eq!(kinds(&applied), vec![EventKind::SupplyMoved, EventKind::SupplyLow], "at the threshold is low");
    assert_eq!(events_of(&h, EventKind::SupplyLow).await.len(), 2);
}

pub async fn consuming_more_than_on_hand_is_refused_and_writes_nothing(h: Harness) {
    let w = world(&h).await;
    masks(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let a = w.guard(&h, "guard-a").await;
    let (level, _) = moved(&h, &a, move_supply(&cp, "mask", MovementKind::Receipt, 10)).await;
    let events = h.published.count();

    refused(
        h.submit(actor(&a), move_supply(&cp, "mask", MovementKind::Consumption, 11)).await,
        "quantity",
        "more_than_on_hand",
    );
    assert_eq!(h.store.supply_levels(cp.id).await.unwrap(), vec![level]);
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM supply_movements").await, 1);
    assert_eq!(h.published.count(), events);
}

pub async fn a_movement_of_an_unknown_item_is_dangling(h: Harness) {
    let w = world(&h).await;
    masks(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let a = w.guard(&h, "guard-a").await;

    assert_err!(
        h.submit(actor(&a), move_supply(&cp, "unicorn", MovementKind::Receipt, 5)).await,
        StoreError::Dangling { field: "item_key" }
    );
    assert!(h.store.supply_levels(cp.id).await.unwrap().is_empty());
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM supply_movements").await, 0);
    assert!(events_of(&h, EventKind::SupplyMoved).await.is_empty());
}

pub async fn a_resent_movement_is_applied_once(h: Harness) {
    let w = world(&h).await;
    masks(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let a = w.guard(&h, "guard-a").await;
    let receipt = move_supply(&cp, "mask", MovementKind::Receipt, 50);

    let (first, _) = moved(&h, &a, receipt.clone()).await;
    let (again, applied) = moved(&h, &a, receipt).await;
    assert_eq!(first.on_hand, 50);
    assert_eq!(again, first, "the resend changes nothing");
    assert!(applied.events.is_empty());
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM supply_movements").await, 1);
    assert_eq!(events_of(&h, EventKind::SupplyMoved).await.len(), 1);
}

// ---------------------------------------------------------------- resupply

pub async fn a_resupply_request_runs_from_request_to_receipt_of_the_approved_quantity(h: Harness) {
    let w = world(&h).await;
    masks(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let a = w.guard(&h, "guard-a").await;
    let hq = h.user("hq", &w.guard, &w.county).await;
    moved(&h, &a, move_supply(&cp, "mask", MovementKind::Receipt, 500)).await;
    let id = RecordId::new_v7();

    let (filed, applied) = resupply(&h, &a, file_resupply(id, &cp, 100)).await;
    assert_eq!((filed.id, filed.checkpoint_id, filed.item_key.as_str()), (id, cp.id, "mask"));
    assert_eq!((filed.quantity, filed.approved_quantity, filed.state), (100, None, ResupplyState::Requested));
    assert_eq!(filed.requested_by, a.id);
    assert_eq!(kinds(&applied), vec![EventKind::ResupplyRequested]);
    assert_eq!(applied.events[0].subject, format!("resupply:{id}"));
    assert_eq!(applied.events[0].scope, cp.scope);
    let (resent, applied) = resupply(&h, &a, file_resupply(id, &cp, 100)).await;
    assert_eq!(resent, filed, "a resend finds the request");
    assert!(applied.events.is_empty());

    let decide = Command::DecideResupply { id, approved: Some(60), note: "60 in stock".into() };
    let (approved, applied) = resupply(&h, &hq, decide).await;
    assert_eq!((approved.state, approved.approved_quantity), (ResupplyState::Approved, Some(60)));
    assert_eq!(approved.decision_note, "60 in stock");
    assert_eq!(kinds(&applied), vec![EventKind::ResupplyApproved]);
    assert_eq!(applied.events[0].payload["approved_quantity"], 60);

    let (dispatched, applied) = resupply(&h, &hq, Command::DispatchResupply { id }).await;
    assert_eq!(dispatched.state, ResupplyState::Dispatched);
    assert_eq!(kinds(&applied), vec![EventKind::ResupplyDispatched]);

    let (received, applied) = resupply(&h, &a, Command::ConfirmResupply { id }).await;
    assert_eq!(received.state, ResupplyState::Received);
    assert_eq!(kinds(&applied), vec![EventKind::ResupplyReceived, EventKind::SupplyMoved]);
    assert_eq!(applied.events[1].payload["quantity"], 60);
    assert_eq!(applied.events[1].payload["kind"], "receipt");
    assert_eq!(h.store.supply_levels(cp.id).await.unwrap()[0].on_hand, 560, "stock goes up by the approved 60");
    assert_eq!(h.store.resupply_request(id).await.unwrap(), received);

    refused(h.submit(actor(&a), Command::ConfirmResupply { id }).await, "state", "invalid_transition");
    assert_eq!(h.store.supply_levels(cp.id).await.unwrap()[0].on_hand, 560, "received once");
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM supply_movements").await, 2);
}

pub async fn approving_more_than_was_asked_is_refused(h: Harness) {
    let w = world(&h).await;
    masks(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let a = w.guard(&h, "guard-a").await;
    let id = RecordId::new_v7();
    let (filed, _) = resupply(&h, &a, file_resupply(id, &cp, 100)).await;

    for qty in [101, 0] {
        let decide = Command::DecideResupply { id, approved: Some(qty), note: String::new() };
        refused(h.system(decide).await, "approved_quantity", "out_of_range");
    }
    refused(h.system(Command::DispatchResupply { id }).await, "state", "invalid_transition");
    refused(h.submit(actor(&a), Command::ConfirmResupply { id }).await, "state", "invalid_transition");
    assert_eq!(h.store.resupply_request(id).await.unwrap(), filed, "still requested");
    for qty in [0, 1_000_001] {
        // A quantity the stock could never take would leave a confirmed
        // request without its receipt.
        refused(h.submit(actor(&a), file_resupply(RecordId::new_v7(), &cp, qty)).await, "quantity", "out_of_range");
    }
    assert_eq!(h.store.resupply_requests_within(&ScopePath::root(), None).await.unwrap(), vec![filed]);
}

pub async fn a_refused_request_cannot_be_dispatched(h: Harness) {
    let w = world(&h).await;
    masks(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let a = w.guard(&h, "guard-a").await;
    let id = RecordId::new_v7();
    resupply(&h, &a, file_resupply(id, &cp, 100)).await;

    let refuse = Command::DecideResupply { id, approved: None, note: "none left".into() };
    let applied = h.ok(refuse).await;
    let rejected = applied.outcome.clone().into_resupply().unwrap();
    assert_eq!((rejected.state, rejected.approved_quantity), (ResupplyState::Rejected, None));
    assert_eq!(rejected.decision_note, "none left");
    assert_eq!(kinds(&applied), vec![EventKind::ResupplyRejected]);

    refused(h.system(Command::DispatchResupply { id }).await, "state", "invalid_transition");
    let approve = Command::DecideResupply { id, approved: Some(10), note: String::new() };
    refused(h.system(approve).await, "state", "invalid_transition");
    assert_eq!(h.store.resupply_request(id).await.unwrap(), rejected);
}

pub async fn resupply_requests_filter_by_scope_and_state(h: Harness) {
    let w = world(&h).await;
    masks(&h).await;
    let (one, two) = (post(&h, &w.town, "ZYG-01").await, post(&h, &w.town, "ZYG-02").await);
    let elsewhere = post(&h, &w.other_town, "DM-01").await;
    let a = w.guard(&h, "guard-a").await;
    let (r1, r2, r3) = (RecordId::new_v7(), RecordId::new_v7(), RecordId::new_v7());
    resupply(&h, &a, file_resupply(r1, &one, 100)).await;
    resupply(&h, &a, file_resupply(r2, &two, 50)).await;
    resupply(&h, &a, file_resupply(r3, &elsewhere, 20)).await;
    h.ok(Command::DecideResupply { id: r2, approved: Some(50), note: String::new() }).await;

    let within = |scope: ScopePath, state: Option<ResupplyState>| {
        let store = h.store.clone();
        async move {
            let mut ids: Vec<RecordId> =
                store.resupply_requests_within(&scope, state).await.unwrap().into_iter().map(|r| r.id).collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(within(w.town.path.clone(), None).await, vec![r1, r2]);
    assert_eq!(within(w.town.path.clone(), Some(ResupplyState::Requested)).await, vec![r1]);
    assert_eq!(within(w.town.path.clone(), Some(ResupplyState::Approved)).await, vec![r2]);
    assert_eq!(within(w.county.path.clone(), Some(ResupplyState::Requested)).await, vec![r1, r3]);
    assert_eq!(within(w.county.path.clone(), None).await, vec![r1, r2, r3]);
    assert!(within(w.other_town.path.clone(), Some(ResupplyState::Approved)).await.is_empty());
    assert_eq!(within(one.scope.clone(), None).await, vec![r1]);
    let open = |filter: ResupplyFilter| {
        let store = h.store.clone();
        let scope = w.county.path.clone();
        async move {
            let mut ids: Vec<RecordId> =
                store.resupply_requests_within(&scope, filter).await.unwrap().into_iter().map(|r| r.id).collect();
            ids.sort();
            ids
        }
    };
    h.ok(Command::DecideResupply { id: r3, approved: None, note: "县仓库存不足".into() }).await;
    assert_eq!(open(ResupplyFilter::Open).await, vec![r1, r2], "refused is finished, approved is still open");
    assert_eq!(open(ResupplyFilter::All).await, vec![r1, r2, r3]);

    let newest_first = h.store.resupply_requests_within(&w.county.path, None).await.unwrap();
    let times: Vec<i64> = newest_first.iter().map(|r| r.requested_us).collect();
    assert!(times.windows(2).all(|p| p[0] >= p[1]), "{times:?}");
}

pub async fn a_post_not_active_cannot_file_a_resupply_request(h: Harness) {
    let w = world(&h).await;
    masks(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let a = w.guard(&h, "guard-a").await;
    let suspend =
        Command::SetCheckpointStatus { id: cp.id, status: CheckpointStatus::Suspended, reason: "snow".into() };
    h.ok(suspend).await;

    refused(h.submit(actor(&a), file_resupply(RecordId::new_v7(), &cp, 100)).await, "checkpoint_id", "post_not_active");
    assert!(h.store.resupply_requests_within(&ScopePath::root(), None).await.unwrap().is_empty());
    assert!(events_of(&h, EventKind::ResupplyRequested).await.is_empty());
}

// ---------------------------------------------------------------- living

fn living_check(id: RecordId, cp: &Checkpoint) -> Command {
    Command::RecordLivingCheck {
        id,
        checkpoint: cp.id,
        answers: vec![
            (LivingAspect::Shelter, true, String::new()),
            (LivingAspect::Heating, false, "the heater is broken".into()),
            (LivingAspect::Meals, true, String::new()),
            (LivingAspect::Water, false, "three bottles left".into()),
            (LivingAspect::RestArea, true, String::new()),
            (LivingAspect::Toilet, true, String::new()),
        ],
    }
}

pub async fn a_living_check_counts_its_problems_and_names_them(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let leader = w.guard(&h, "leader").await;
    let id = RecordId::new_v7();

    let applied = h.submit(actor(&leader), living_check(id, &cp)).await.unwrap();
    assert_eq!(applied.outcome, Outcome::Done);
    assert_eq!(kinds(&applied), vec![EventKind::LivingChecked]);
    let e = &applied.events[0];
    assert_eq!(e.scope, cp.scope);
    assert_eq!(e.actor, Some(leader.id));
    let problems: Vec<&str> =
        e.payload["problems"].as_array().unwrap().iter().map(|p| p["aspect"].as_str().unwrap()).collect();
    assert_eq!(problems, ["heating", "water"]);
    assert_eq!(e.payload["problems"][0]["note"], "the heater is broken");

    let row = sqlx::query("SELECT problems, author_id, answers FROM living_checks WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(h.store.pool())
        .await
        .unwrap();
    assert_eq!(row.try_get::<i64, _>("problems").unwrap(), 2);
    assert_eq!(row.try_get::<i64, _>("author_id").unwrap(), leader.id.0);
    let answers: serde_json::Value = serde_json::from_str(&row.try_get::<String, _>("answers").unwrap()).unwrap();
    assert_eq!(answers.as_array().unwrap().len(), 6, "every answer is kept");
}

pub async fn a_resent_living_check_is_stored_once(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let leader = w.guard(&h, "leader").await;
    let id = RecordId::new_v7();

    h.submit(actor(&leader), living_check(id, &cp)).await.unwrap();
    let again = h.submit(actor(&leader), living_check(id, &cp)).await.unwrap();
    assert_eq!(again.outcome, Outcome::Done);
    assert!(again.events.is_empty());
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM living_checks").await, 1);
    assert_eq!(events_of(&h, EventKind::LivingChecked).await.len(), 1);
}
