//! Freight passes: issuing (idempotent by id, unique numbers), revoking,
//! requests and the decision on them, the reads a list, a post's offline copy
//! and HQ's usage report make.

use shouwang_domain::pass::{PassStatus, RequestState};
use shouwang_domain::screening::CargoCategory;
use shouwang_domain::{EventKind, RecordId, Right, ScopePath};
use shouwang_store::{
    Command, NewPass, NewPassRequest, NewScreening, Pass, PassDecision, PassRequest, StoreError, User, now_us,
};

use crate::checkpoints::{count, events_of, post, refused, world};
use crate::harness::{Harness, actor};

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;

struct Scene {
    county: ScopePath,
    town: ScopePath,
    approver: User,
    contact: User,
}

async fn scene(h: &Harness) -> Scene {
    let w = world(h).await;
    let approver_role = h.role("approver", &[Right::Read, Right::Approve]).await;
    let contact_role = h.role("contact", &[Right::Read, Right::Write]).await;
    let approver = h.user("hq", &approver_role, &w.county).await;
    let contact = h.user("firm", &contact_role, &w.town).await;
    Scene { county: w.county.path.clone(), town: w.town.path.clone(), approver, contact }
}

fn new_pass(number: &str, scope: &ScopePath, until_us: i64) -> NewPass {
    NewPass {
        id: RecordId::new_v7(),
        number: number.to_owned(),
        scope: scope.clone(),
        token: format!("TOKEN{number}"),
        plates: vec!["豫M12345".into(), "豫MD12345".into()],
        enterprise: "宏达防护".into(),
        valid_from_us: now_us() - HOUR_US,
        valid_until_us: until_us,
    }
}

async fn issued(h: &Harness, user: &User, new: NewPass) -> (Pass, bool, Vec<EventKind>) {
    let applied = h.submit(actor(user), Command::IssuePass(new)).await.expect("the pass is issued");
    let kinds = applied.events.iter().map(|e| e.kind).collect();
    let (pass, created) = applied.outcome.into_pass().expect("a pass");
    (pass, created, kinds)
}

async fn requested(h: &Harness, user: &User, scope: &ScopePath) -> PassRequest {
    let new = NewPassRequest {
        id: RecordId::new_v7(),
        scope: scope.clone(),
        terms: r#"{"enterprise":"宏达防护","driver_phone":"13800138000"}"#.into(),
        note: "口罩原料".into(),
    };
    let applied = h.submit(actor(user), Command::RequestPass(new)).await.expect("the request is stored");
    applied.outcome.into_pass_request().expect("a request").0
}

pub async fn an_issued_pass_reads_back_and_a_resend_returns_it_without_an_event(h: Harness) {
    let s = scene(&h).await;
    let new = new_pass("AAAA0001", &s.county, now_us() + DAY_US);
    let (pass, created, kinds) = issued(&h, &s.approver, new.clone()).await;
    assert!(created);
    assert_eq!(kinds, [EventKind::PassIssued]);
    assert_eq!((pass.status, pass.issued_by, pass.plates.len()), (PassStatus::Issued, s.approver.id, 2));
    assert_eq!(h.store.pass(new.id).await.unwrap(), pass, "read back as answered");
    assert_eq!(h.store.pass_by_number("AAAA0001").await.unwrap(), Some(pass.clone()));
    assert_eq!(h.store.pass_by_number("ZZZZ9999").await.unwrap(), None);
    let event = &events_of(&h, EventKind::PassIssued).await[0];
    assert_eq!(event.payload["number"], "AAAA0001");
    assert!(!event.payload.to_string().contains("TOKEN"), "the token stays out of the event log");

    let (again, created, kinds) = issued(&h, &s.approver, new.clone()).await;
    assert_eq!((again, created, kinds), (pass, false, vec![]));
    refused(h.submit(actor(&s.contact), Command::IssuePass(new)).await, "id", "taken");
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM passes").await, 1);
}

pub async fn a_taken_pass_number_is_a_conflict_and_writes_nothing(h: Harness) {
    let s = scene(&h).await;
    issued(&h, &s.approver, new_pass("AAAA0001", &s.county, now_us() + DAY_US)).await;
    let clash = h.submit(actor(&s.approver), Command::IssuePass(new_pass("AAAA0001", &s.county, now_us() + DAY_US)));
    assert!(matches!(clash.await, Err(StoreError::Conflict { field: "number" })));
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM passes").await, 1);
}

pub async fn revoking_a_pass_lists_it_for_posts_once_and_only_while_it_would_be_valid(h: Harness) {
    let s = scene(&h).await;
    let (live, ..) = issued(&h, &s.approver, new_pass("AAAA0001", &s.county, now_us() + DAY_US)).await;
    let (other, ..) = issued(&h, &s.approver, new_pass("AAAA0002", &s.county, now_us() + DAY_US)).await;
    let before = now_us() - 1;
    let revoke = |id| Command::RevokePass { id, reason: "车辆挪用".into() };
    let applied = h.submit(actor(&s.approver), revoke(live.id)).await.unwrap();
    assert_eq!(applied.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::PassRevoked]);
    let (revoked, changed) = applied.outcome.into_pass().unwrap();
    assert!(changed);
    assert_eq!((revoked.status, revoked.revoke_reason.as_str()), (PassStatus::Revoked, "车辆挪用"));

    let again = h.submit(actor(&s.approver), revoke(live.id)).await.unwrap();
    assert!(again.events.is_empty(), "revoking twice changes nothing");
    assert!(matches!(h.submit(actor(&s.approver), revoke(RecordId::new_v7())).await, Err(StoreError::NotFound)));

    let list = h.store.revocations_since(0, now_us()).await.unwrap();
    assert_eq!(list.iter().map(|r| r.number.as_str()).collect::<Vec<_>>(), ["AAAA0001"]);
    assert_eq!(h.store.revocations_since(before, now_us()).await.unwrap().len(), 1);
    assert!(h.store.revocations_since(list[0].revoked_us, now_us()).await.unwrap().is_empty(), "nothing newer");
    assert!(h.store.revocations_since(0, now_us() + 2 * DAY_US).await.unwrap().is_empty(), "expired: no longer listed");

    let live_now: Vec<String> = h.store.live_passes(now_us()).await.unwrap().into_iter().map(|p| p.number).collect();
    assert_eq!(live_now, [other.number], "a revoked pass is not live");
    assert!(h.store.live_passes(now_us() + 2 * DAY_US).await.unwrap().is_empty());
}

pub async fn passes_are_listed_within_scope_and_to_whoever_asked_for_them(h: Harness) {
    let s = scene(&h).await;
    let (county_pass, ..) = issued(&h, &s.approver, new_pass("AAAA0001", &s.county, now_us() + DAY_US)).await;
    let (town_pass, ..) = issued(&h, &s.approver, new_pass("AAAA0002", &s.town, now_us() + DAY_US)).await;
    let ids = |v: Vec<Pass>| v.into_iter().map(|p| p.number).collect::<Vec<_>>();
    let seen = ids(h.store.passes_for(&s.county, s.approver.id, 100).await.unwrap());
    assert_eq!(seen, [town_pass.number.clone(), county_pass.number.clone()], "newest first");
    let seen = ids(h.store.passes_for(&s.town, s.contact.id, 100).await.unwrap());
    assert_eq!(seen, [town_pass.number], "a county pass is not within a township's scope");

    let request = requested(&h, &s.contact, &s.town).await;
    let approved = new_pass("AAAA0003", &s.county, now_us() + DAY_US);
    let decide = Command::DecidePassRequest { id: request.id, decision: PassDecision::Approve(approved) };
    h.submit(actor(&s.approver), decide).await.unwrap();
    let seen = ids(h.store.passes_for(&s.town, s.contact.id, 100).await.unwrap());
    assert_eq!(seen.len(), 2, "the requester sees the pass issued to them: {seen:?}");
}

pub async fn a_request_is_approved_into_a_pass_once(h: Harness) {
    let s = scene(&h).await;
    let request = requested(&h, &s.contact, &s.town).await;
    assert_eq!(request.state, RequestState::Requested);
    let event = &events_of(&h, EventKind::PassRequested).await[0];
    assert_eq!(event.payload["enterprise"], "宏达防护");
    assert!(!event.payload.to_string().contains("13800138000"), "no phone in the event log");

    let pass = new_pass("AAAA0001", &s.county, now_us() + DAY_US);
    let decide = |p: NewPass| Command::DecidePassRequest { id: request.id, decision: PassDecision::Approve(p) };
    let applied = h.submit(actor(&s.approver), decide(pass.clone())).await.unwrap();
    assert_eq!(applied.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::PassIssued]);
    let (decided, _) = applied.outcome.into_pass_request().unwrap();
    assert_eq!(
        (decided.state, decided.pass_id, decided.decided_by),
        (RequestState::Approved, Some(pass.id), Some(s.approver.id))
    );
    assert_eq!(h.store.pass_request(request.id).await.unwrap(), decided);
    let stored = h.store.pass(pass.id).await.unwrap();
    assert_eq!((stored.request_id, stored.requested_by), (Some(request.id), Some(s.contact.id)));

    let twice = h.submit(actor(&s.approver), decide(new_pass("AAAA0002", &s.county, now_us() + DAY_US))).await;
    assert!(matches!(twice, Err(StoreError::Conflict { field: "state" })), "{twice:?}");
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM passes").await, 1);
}

pub async fn a_refused_request_keeps_its_reason_and_issues_nothing(h: Harness) {
    let s = scene(&h).await;
    let request = requested(&h, &s.contact, &s.town).await;
    let refuse =
        Command::DecidePassRequest { id: request.id, decision: PassDecision::Refuse { note: "资料不全".into() } };
    let applied = h.submit(actor(&s.approver), refuse).await.unwrap();
    assert_eq!(applied.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::PassRefused]);
    let (decided, _) = applied.outcome.into_pass_request().unwrap();
    assert_eq!(
        (decided.state, decided.decision_note.as_str(), decided.pass_id),
        (RequestState::Refused, "资料不全", None)
    );
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM passes").await, 0);
    let approve = Command::DecidePassRequest {
        id: request.id,
        decision: PassDecision::Approve(new_pass("AAAA0001", &s.county, now_us() + DAY_US)),
    };
    assert!(matches!(h.submit(actor(&s.approver), approve).await, Err(StoreError::Conflict { field: "state" })));
    let open = h.store.pass_requests_for(&s.town, s.contact.id, 100).await.unwrap();
    assert_eq!(open.len(), 1);
    let other = requested(&h, &s.contact, &s.town).await;
    let listed = h.store.pass_requests_for(&s.county, s.approver.id, 100).await.unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [other.id, request.id], "open ones first");
}

pub async fn pass_usage_counts_screenings_with_a_pass_per_post_and_local_day(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let guard = w.guard(&h, "guard-a").await;
    // 2026-11-20 00:00 in Beijing (UTC+8), as UTC µs.
    let day = 1_795_104_000_000_000;
    let at = |h_: i64, pass: Option<&str>| NewScreening {
        id: RecordId::new_v7(),
        occurred_us: day + h_ * HOUR_US,
        day_us: day + h_.div_euclid(24) * DAY_US,
        direction: shouwang_domain::screening::Direction::In,
        plate: Some("豫M12345".into()),
        vehicle_type: shouwang_domain::screening::VehicleType::Truck,
        people_count: 1,
        cargo: CargoCategory::ProductionMaterials,
        pass_number: pass.map(str::to_owned),
        outcome: shouwang_domain::screening::Outcome::Released,
        note: String::new(),
        people: vec![],
        incidents: vec![],
    };
    // 23:00 local is still the same day; midnight starts the next.
    let batch = vec![
        at(1, Some("AAAA0001")),
        at(5, Some("AAAA0001")),
        at(23, Some("AAAA0002")),
        at(24, Some("AAAA0001")),
        at(2, None),
    ];
    h.submit(actor(&guard), Command::RecordScreenings { checkpoint: cp.id, screenings: batch }).await.unwrap();
    let usage = h.store.pass_usage(&w.county.path, day - DAY_US, day + 3 * DAY_US, 8).await.unwrap();
    let rows: Vec<(i64, i64, i64)> = usage.iter().map(|u| (u.day_us, u.screenings, u.passes)).collect();
    assert_eq!(rows, [(day, 3, 2), (day + DAY_US, 1, 1)]);
    assert!(usage.iter().all(|u| u.checkpoint_id == cp.id));
    assert!(h.store.pass_usage(&w.other_town.path, day - DAY_US, day + 3 * DAY_US, 8).await.unwrap().is_empty());
}
