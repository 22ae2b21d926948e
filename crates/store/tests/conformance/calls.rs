//! Call records: a call started with the people rung, each party answering,
//! declining, missing or leaving once, the call's end with its outcome, and
//! the reads the board (calls going on) and the history make.

use shouwang_domain::call::{CallKind, CallOutcome, PartyState};
use shouwang_domain::{EventKind, RecordId};
use shouwang_store::{CallRecord, Command, Invitee, NewCall, PartyChange, StoreError, User};

use crate::checkpoints::{events_of, post, refused, world};
use crate::harness::{Harness, actor};

struct Scene {
    hq: User,
    officers: [User; 2],
    stranger: User,
    new: NewCall,
}

async fn scene(h: &Harness) -> Scene {
    let w = world(h).await;
    let hq = h.user("commander", &w.guard, &w.county).await;
    let officers = [w.guard(h, "guard-a").await, w.guard(h, "guard-b").await];
    let stranger = h.user("stranger", &w.guard, &w.other_town).await;
    let cp = post(h, &w.town, "ZYG-01").await;
    let new = NewCall {
        id: RecordId::new_v7(),
        kind: CallKind::Call,
        scope: cp.scope.clone(),
        invited: officers.iter().map(|o| Invitee { user: o.id, checkpoint: Some(cp.id) }).collect(),
    };
    Scene { hq, officers, stranger, new }
}

async fn change(h: &Harness, call: RecordId, who: &User, change: PartyChange) -> (CallRecord, Vec<EventKind>) {
    let applied =
        h.submit(actor(who), Command::CallParty { call, user: who.id, change }).await.expect("the change is recorded");
    (applied.outcome.into_call().expect("a call"), applied.events.iter().map(|e| e.kind).collect())
}

fn states(call: &CallRecord) -> Vec<PartyState> {
    call.parties.iter().map(|p| p.state).collect()
}

pub async fn a_call_rings_its_parties_and_a_resend_returns_it_without_an_event(h: Harness) {
    let s = scene(&h).await;
    let applied = h.submit(actor(&s.hq), Command::StartCall(s.new.clone())).await.expect("the call starts");
    let call = applied.outcome.into_call().expect("a call");
    assert_eq!(applied.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::CallStarted]);
    assert_eq!(call.caller, s.hq.id);
    assert_eq!(call.parties[0].user, s.hq.id, "the caller comes first");
    assert_eq!(states(&call), [PartyState::Joined, PartyState::Ringing, PartyState::Ringing]);
    assert_eq!(call.parties[1].name, s.officers[0].display_name);
    let payload = &applied.events[0].payload;
    assert_eq!(payload["invited"].as_array().map(Vec::len), Some(2), "{payload}");

    let again = h.submit(actor(&s.hq), Command::StartCall(s.new.clone())).await.expect("a resend");
    assert!(again.events.is_empty());
    assert_eq!(again.outcome.into_call().expect("a call"), call);
    assert_eq!(h.store.active_calls_within(&s.new.scope).await.expect("active calls"), vec![call]);

    // Another person reusing the id is refused, and a call with nobody to ring.
    refused(h.submit(actor(&s.officers[0]), Command::StartCall(s.new.clone())).await, "id", "taken");
    let alone = NewCall { id: RecordId::new_v7(), invited: vec![], ..s.new.clone() };
    refused(h.submit(actor(&s.hq), Command::StartCall(alone)).await, "invited", "required");
}

pub async fn answering_declining_and_leaving_happen_once_each(h: Harness) {
    let s = scene(&h).await;
    let id = s.new.id;
    h.submit(actor(&s.hq), Command::StartCall(s.new.clone())).await.expect("the call starts");

    let (call, kinds) = change(&h, id, &s.officers[0], PartyChange::Join).await;
    assert_eq!(kinds, [EventKind::CallJoined]);
    assert!(call.answered_us.is_some(), "the first officer to join answers the call");
    let (_, kinds) = change(&h, id, &s.officers[0], PartyChange::Join).await;
    assert!(kinds.is_empty(), "joining twice is one join");

    let (call, kinds) = change(&h, id, &s.officers[1], PartyChange::Decline).await;
    assert_eq!(kinds, [EventKind::CallDeclined]);
    assert_eq!(states(&call), [PartyState::Joined, PartyState::Joined, PartyState::Declined]);
    let (_, kinds) = change(&h, id, &s.officers[1], PartyChange::Decline).await;
    assert!(kinds.is_empty());

    // Someone in the call cannot decline it; they leave it.
    let refusal = h
        .submit(
            actor(&s.officers[0]),
            Command::CallParty { call: id, user: s.officers[0].id, change: PartyChange::Decline },
        )
        .await;
    assert!(matches!(refusal, Err(StoreError::Conflict { field: "state" })), "{refusal:?}");
    let (call, kinds) = change(&h, id, &s.officers[0], PartyChange::Leave).await;
    assert_eq!(kinds, [EventKind::CallLeft]);
    assert!(call.party(s.officers[0].id).and_then(|p| p.left_us).is_some());

    // A leaver can be rung again and rejoin, keeping when they first joined.
    let first_joined = call.party(s.officers[0].id).and_then(|p| p.joined_us);
    let (_, kinds) = change(&h, id, &s.officers[0], PartyChange::Invite { checkpoint: None }).await;
    assert!(kinds.is_empty());
    let (call, kinds) = change(&h, id, &s.officers[0], PartyChange::Join).await;
    assert_eq!(kinds, [EventKind::CallJoined]);
    let p = call.party(s.officers[0].id).expect("a party");
    assert_eq!((p.state, p.joined_us, p.left_us), (PartyState::Joined, first_joined, None));

    // A stranger is not in the call.
    let stranger = &s.stranger;
    refused(
        h.submit(actor(stranger), Command::CallParty { call: id, user: stranger.id, change: PartyChange::Join }).await,
        "user",
        "not_in_call",
    );
}

pub async fn ending_a_call_misses_who_still_rings_and_records_the_outcome(h: Harness) {
    let s = scene(&h).await;
    let id = s.new.id;
    h.submit(actor(&s.hq), Command::StartCall(s.new.clone())).await.expect("the call starts");
    change(&h, id, &s.officers[1], PartyChange::Decline).await;

    let applied = h.submit(actor(&s.hq), Command::EndCall { call: id }).await.expect("the call ends");
    let kinds: Vec<_> = applied.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::CallMissed, EventKind::CallEnded]);
    let call = applied.outcome.into_call().expect("a call");
    assert_eq!(call.outcome, Some(CallOutcome::Missed), "one declined, one never answered");
    assert_eq!(states(&call), [PartyState::Left, PartyState::Missed, PartyState::Declined]);
    assert!(call.ended_us.is_some());
    assert_eq!(applied.events[1].payload["outcome"], "missed");
    assert!(h.store.active_calls_within(&s.new.scope).await.expect("active").is_empty());

    // Ending it again changes nothing; nobody joins an ended call.
    let again = h.submit(actor(&s.hq), Command::EndCall { call: id }).await.expect("ending again");
    assert!(again.events.is_empty());
    let late = h
        .submit(
            actor(&s.officers[0]),
            Command::CallParty { call: id, user: s.officers[0].id, change: PartyChange::Join },
        )
        .await;
    assert!(matches!(late, Err(StoreError::Conflict { field: "call" })), "{late:?}");
    assert_eq!(events_of(&h, EventKind::CallEnded).await.len(), 1);
    // Officer 0 missed it (officer 1 declined, which is an answer).
    let missed = h.store.missed_calls_since(0).await.expect("missed calls");
    let who: Vec<_> = missed.iter().map(|(c, p)| (c.id, p.user)).collect();
    assert_eq!(who, [(id, s.officers[0].id)]);

    // An answered call ends answered, with its duration.
    let answered = NewCall { id: RecordId::new_v7(), ..s.new.clone() };
    h.submit(actor(&s.hq), Command::StartCall(answered.clone())).await.expect("the call starts");
    change(&h, answered.id, &s.officers[0], PartyChange::Join).await;
    let applied = h.submit(actor(&s.hq), Command::EndCall { call: answered.id }).await.expect("the call ends");
    let call = applied.outcome.into_call().expect("a call");
    assert_eq!(call.outcome, Some(CallOutcome::Answered));
    assert!(applied.events.last().expect("an end event").payload["duration_us"].as_i64().is_some());
    // Officer 0 has been in a call since: their missed one no longer
    // stands; officer 1 let this one ring out.
    let missed = h.store.missed_calls_since(0).await.expect("missed calls");
    let who: Vec<_> = missed.iter().map(|(c, p)| (c.id, p.user)).collect();
    assert_eq!(who, [(answered.id, s.officers[1].id)]);

    // The history lists both, newest first, to HQ and to the officer.
    let history = h.store.calls_for(&s.new.scope, s.officers[0].id, 10).await.expect("history");
    assert_eq!(history.iter().map(|c| c.id).collect::<Vec<_>>(), [answered.id, id]);
    let hq_scope = shouwang_domain::ScopePath::root();
    assert_eq!(h.store.calls_for(&hq_scope, s.hq.id, 1).await.expect("history").len(), 1, "the limit holds");
}
