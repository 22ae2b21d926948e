//! Registered households as stored: a household reads back with its members,
//! its head and a scope under its village; a taken number or a unit that is
//! not a village is refused on its field, and an import with one bad row
//! writes none; visits move the last-visit day forward only and a resend is
//! stored once; sales never exceed the unsold stock and a harvest never
//! falls below what was sold; a household's difficulty is a ticket that goes
//! to its township first and is routed on from there; the enterprise's
//! ticket path is unchanged; and the migration that taught tickets their
//! second subject keeps every ticket and note already stored.

use std::sync::Arc;

use sqlx::Row;

use shouwang_domain::enterprise::{ResumptionStatus, Sector, SizeClass, TicketCategory, TicketStatus};
use shouwang_domain::household::{
    IncomeSource, Member, MemberDraft, PovertyStatus, ProduceKind, RegistryNo, SalesChannel,
};
use shouwang_domain::{EventKind, HouseholdId, OrgUnitKind, RecordId, Right, UserId};
use shouwang_store::writer::Actor;
use shouwang_store::{
    Backend, Command, EnterpriseDraft, HouseholdDraft, NewProduction, NewSale, NewTicket, NewVisit, OrgUnit, Store,
    StoreError, StoreOptions, TicketStep, TicketSubject, User, Viewer, Writer,
};
use shouwang_testdb::TestDb;

use crate::assert_err;
use crate::checkpoints::{count, refused};
use crate::harness::{Harness, Published, actor};

/// A day in the spring of 2020 (days since 1970-01-01).
const DAY: i64 = 18_330;

/// A county, a township with two villages, another township with one, a
/// county department, and a cadre of the first township who helps
/// households.
struct County {
    county: OrgUnit,
    town: OrgUnit,
    village: OrgUnit,
    other_village: OrgUnit,
    far_village: OrgUnit,
    other_town: OrgUnit,
    commerce: OrgUnit,
    cadre: User,
}

async fn county(h: &Harness) -> County {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let town = h.unit(Some(&county), OrgUnitKind::Township, "411224104").await;
    let other_town = h.unit(Some(&county), OrgUnitKind::Township, "411224107").await;
    let village = h.unit(Some(&town), OrgUnitKind::Village, "411224104202").await;
    let other_village = h.unit(Some(&town), OrgUnitKind::Village, "411224104203").await;
    let far_village = h.unit(Some(&other_town), OrgUnitKind::Village, "411224107201").await;
    let commerce = h.unit(Some(&county), OrgUnitKind::Department, "D-COMMERCE").await;
    let role = h.role("township_cadre", &[Right::Read, Right::Write, Right::Approve]).await;
    let cadre = h.user("cadre", &role, &town).await;
    County { county, town, village, other_village, far_village, other_town, commerce, cadre }
}

fn member(name: &str, relation: &str, age: i64, ability: &str) -> Member {
    let d = MemberDraft {
        name: name.into(),
        relation: relation.into(),
        age: Some(age),
        ability: ability.into(),
        health: "healthy".into(),
    };
    d.parse("members[0]").expect("test members are valid")
}

/// A household of three in `village`, its head (张德山) listed second.
fn draft(village: &OrgUnit, registry_no: &str, helper: Option<UserId>) -> HouseholdDraft {
    HouseholdDraft {
        registry_no: RegistryNo::parse("registry_no", registry_no).expect("test numbers are valid"),
        village: village.id,
        members: vec![
            member("李秀英", "spouse", 55, "partial"),
            member("张德山", "head", 58, "full"),
            member("张小华", "child", 9, "none"),
        ],
        head: 1,
        phone: None,
        status: PovertyStatus::InPoverty,
        income_sources: vec![IncomeSource::Farming, IncomeSource::Wages],
        helper,
        note: String::new(),
    }
}

async fn register(h: &Harness, d: HouseholdDraft) -> shouwang_store::Household {
    h.ok(Command::CreateHousehold(d)).await.outcome.into_household().expect("a household")
}

async fn households(h: &Harness) -> i64 {
    count(h, "SELECT COUNT(*) AS n FROM households").await
}

pub async fn a_registered_household_reads_back_with_its_members_head_and_scope_under_its_village(h: Harness) {
    let w = county(&h).await;
    let applied = h.ok(Command::CreateHousehold(draft(&w.village, " 41122410a001 ", Some(w.cadre.id)))).await;
    let created = applied.outcome.into_household().expect("a household");
    let stored = h.store.household(created.id).await.expect("it reads back");
    assert_eq!(stored, created);

    assert_eq!(stored.registry_no, "41122410A001", "numbers are trimmed and upper-cased");
    assert_eq!(stored.scope.as_str(), format!("{}h{}/", w.village.path, stored.id));
    assert!(w.village.path.contains(&stored.scope) && w.town.path.contains(&stored.scope));
    assert_eq!((stored.village_id, stored.village_name.as_str()), (w.village.id, "unit 411224104202"));
    assert_eq!(stored.township_name, "unit 411224104");
    assert_eq!(stored.members, draft(&w.village, "41122410A001", None).members, "members in their order");
    assert_eq!((stored.head, stored.head().name.expose()), (1, "张德山"));
    assert_eq!(stored.able_count(), 2, "the child cannot work");
    assert_eq!(stored.status, PovertyStatus::InPoverty);
    assert_eq!(stored.income_sources, [IncomeSource::Farming, IncomeSource::Wages]);
    assert_eq!((stored.helper_id, stored.helper_name.as_deref()), (Some(w.cadre.id), Some("User cadre")));
    assert_eq!(stored.last_visit_day, None);

    // One event, in the household's scope, carrying no names.
    assert_eq!(applied.events.len(), 1);
    assert_eq!((applied.events[0].kind, &applied.events[0].scope), (EventKind::HouseholdCreated, &stored.scope));
    let payload = applied.events[0].payload.to_string();
    assert!(!payload.contains("张德山") && !payload.contains("李秀英"), "no names in events: {payload}");

    // Seen from its township and by its helper; not from another township.
    let town = Viewer { scope: &w.town.path, user: UserId(0) };
    assert_eq!(h.store.households_visible(&town, None).await.unwrap().len(), 1);
    let lifted = Some(PovertyStatus::LiftedThisYear);
    assert!(h.store.households_visible(&town, lifted).await.unwrap().is_empty(), "filtered by status");
    let other = Viewer { scope: &w.other_town.path, user: UserId(0) };
    assert!(h.store.households_visible(&other, None).await.unwrap().is_empty());
    let helper_elsewhere = Viewer { scope: &w.other_town.path, user: w.cadre.id };
    assert_eq!(h.store.households_visible(&helper_elsewhere, None).await.unwrap().len(), 1, "its helper sees it");
    assert_err!(h.store.household(HouseholdId(stored.id.0 + 1000)).await, StoreError::NotFound);

    // Moved to another village: the scope follows.
    let mut moved = draft(&w.other_village, "41122410A001", Some(w.cadre.id));
    moved.status = PovertyStatus::LiftedThisYear;
    let after = h.ok(Command::UpdateHousehold { id: stored.id, draft: moved }).await.outcome.into_household().unwrap();
    assert_eq!(after.scope.as_str(), format!("{}h{}/", w.other_village.path, stored.id));
    assert_eq!((after.status, after.registry_no.as_str()), (PovertyStatus::LiftedThisYear, "41122410A001"));
}

pub async fn a_taken_registry_number_or_a_unit_that_is_not_a_village_is_refused_naming_the_field(h: Harness) {
    let w = county(&h).await;
    let first = register(&h, draft(&w.village, "41122410A001", None)).await;
    let events = h.published.count();

    refused(
        h.system(Command::CreateHousehold(draft(&w.far_village, "41122410a001", None))).await,
        "registry_no",
        "taken",
    );
    refused(
        h.system(Command::CreateHousehold(draft(&w.town, "41122410A002", None))).await,
        "village_id",
        "not_a_village",
    );
    refused(
        h.system(Command::CreateHousehold(draft(&w.commerce, "41122410A003", None))).await,
        "village_id",
        "not_a_village",
    );
    let mut nowhere = draft(&w.village, "41122410A004", None);
    nowhere.village = shouwang_domain::OrgUnitId(999_999);
    refused(h.system(Command::CreateHousehold(nowhere)).await, "village_id", "not_found");
    refused(
        h.system(Command::CreateHousehold(draft(&w.village, "41122410A005", Some(UserId(999_999))))).await,
        "helper_id",
        "not_found",
    );
    assert_eq!(households(&h).await, 1, "nothing written");
    assert_eq!(h.published.count(), events, "no event for a refusal");

    // Its own number is no clash when it is edited; another's is.
    let second = register(&h, draft(&w.village, "41122410A002", None)).await;
    h.ok(Command::UpdateHousehold { id: first.id, draft: draft(&w.village, "41122410A001", None) }).await;
    let clash = Command::UpdateHousehold { id: second.id, draft: draft(&w.village, "41122410A001", None) };
    refused(h.system(clash).await, "registry_no", "taken");
    let into_town = Command::UpdateHousehold { id: second.id, draft: draft(&w.town, "41122410A002", None) };
    refused(h.system(into_town).await, "village_id", "not_a_village");
    assert_eq!(h.store.household(second.id).await.unwrap().village_id, w.village.id, "unchanged");
}

pub async fn an_import_with_a_bad_row_writes_nothing_and_names_the_row(h: Harness) {
    let w = county(&h).await;
    let events = h.all_events().await.len();
    let rows = vec![
        draft(&w.village, "41122410A001", None),
        draft(&w.far_village, "41122410A002", None),
        draft(&w.town, "41122410A003", None),
    ];
    refused(h.system(Command::ImportHouseholds(rows)).await, "rows[2].village_id", "not_a_village");
    let twice = vec![draft(&w.village, "41122410A001", None), draft(&w.far_village, "41122410a001", None)];
    refused(h.system(Command::ImportHouseholds(twice)).await, "rows[1].registry_no", "taken");
    assert_eq!(households(&h).await, 0, "nothing written");
    assert_eq!(h.all_events().await.len(), events, "no events");

    let good = vec![draft(&w.village, "41122410A001", None), draft(&w.far_village, "41122410A002", None)];
    let applied = h.ok(Command::ImportHouseholds(good)).await;
    assert_eq!(applied.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::HouseholdCreated; 2]);
    let stored = applied.outcome.into_households().expect("households");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].scope.as_str(), format!("{}h{}/", w.far_village.path, stored[1].id));
    assert_eq!(households(&h).await, 2);

    // A row taken by an earlier import is named too.
    let again = vec![draft(&w.other_village, "41122410A009", None), draft(&w.village, "41122410A002", None)];
    refused(h.system(Command::ImportHouseholds(again)).await, "rows[1].registry_no", "taken");
    assert_eq!(households(&h).await, 2);
}

fn visit(id: RecordId, household: HouseholdId, day: i64) -> Command {
    Command::RecordVisit(NewVisit { id, household, day, found: "香菇出菇正常".into(), promised: String::new() })
}

pub async fn a_visit_moves_the_last_visit_day_forward_only_and_a_resend_is_stored_once(h: Harness) {
    let w = county(&h).await;
    let hh = register(&h, draft(&w.village, "41122410A001", Some(w.cadre.id))).await;
    let me = actor(&w.cadre);
    let town = Viewer { scope: &w.town.path, user: UserId(0) };
    assert_eq!(h.store.households_unvisited(&town, DAY).await.unwrap().len(), 1, "never visited");

    let first = h.submit(me.clone(), visit(RecordId::new_v7(), hh.id, DAY)).await.expect("a visit");
    assert_eq!(first.events[0].kind, EventKind::HouseholdVisited);
    let (v, created) = first.outcome.into_visit().unwrap();
    assert!(created);
    assert_eq!((v.cadre_id, v.cadre_name.as_str(), v.day), (w.cadre.id, "User cadre", DAY));
    assert_eq!(h.store.household(hh.id).await.unwrap().last_visit_day, Some(DAY));

    let later = RecordId::new_v7();
    h.submit(me.clone(), visit(later, hh.id, DAY + 5)).await.expect("a later visit");
    assert_eq!(h.store.household(hh.id).await.unwrap().last_visit_day, Some(DAY + 5));

    // Logged late, for a day in between: kept, and the date stays.
    h.submit(me.clone(), visit(RecordId::new_v7(), hh.id, DAY + 2)).await.expect("a late visit");
    assert_eq!(h.store.household(hh.id).await.unwrap().last_visit_day, Some(DAY + 5), "never moved back");

    // Sent again from a phone that lost the answer: stored once.
    let events = h.published.count();
    let resent = h.submit(me.clone(), visit(later, hh.id, DAY + 5)).await.expect("a resend");
    assert!(resent.events.is_empty());
    assert!(!resent.outcome.into_visit().unwrap().1, "not created again");
    assert_eq!(h.published.count(), events);
    let days: Vec<i64> = h.store.visits_of(hh.id).await.unwrap().iter().map(|v| v.day).collect();
    assert_eq!(days, [DAY + 5, DAY + 2, DAY], "newest first, each once");

    // Another cadre reusing the id, or a household that is not there.
    let role = h.role("cadre2", &[Right::Read, Right::Write]).await;
    let other = h.user("other", &role, &w.town).await;
    refused(h.submit(actor(&other), visit(later, hh.id, DAY + 5)).await, "id", "taken");
    refused(
        h.submit(me.clone(), visit(RecordId::new_v7(), HouseholdId(999_999), DAY)).await,
        "household_id",
        "not_found",
    );
    assert_eq!(h.store.visits_of(hh.id).await.unwrap().len(), 3);

    assert_eq!(h.store.households_unvisited(&town, DAY + 6).await.unwrap().len(), 1, "not since");
    assert!(h.store.households_unvisited(&town, DAY + 5).await.unwrap().is_empty(), "visited that day");
}

fn production(id: RecordId, household: HouseholdId) -> Command {
    Command::RecordProduction(NewProduction {
        id,
        household,
        kind: ProduceKind::Shiitake,
        scale: 2_000,
        expected_output: 3_000,
        expected_day: DAY + 60,
        note: String::new(),
    })
}

fn sale(id: RecordId, production: RecordId, quantity: i64) -> Command {
    Command::RecordSale(NewSale {
        id,
        production,
        day: DAY,
        quantity,
        price_fen: 650,
        channel: SalesChannel::Cooperative,
        buyer: "朱阳关香菇合作社".into(),
    })
}

pub async fn a_sale_above_the_unsold_stock_or_a_harvest_below_sold_is_refused_and_changes_nothing(h: Harness) {
    let w = county(&h).await;
    let hh = register(&h, draft(&w.village, "41122410A001", Some(w.cadre.id))).await;
    let me = actor(&w.cadre);
    let pid = RecordId::new_v7();
    let entered = h.submit(me.clone(), production(pid, hh.id)).await.expect("entered");
    assert_eq!(entered.events[0].kind, EventKind::ProductionRecorded);
    let (p, created) = entered.outcome.into_production().unwrap();
    assert!(created);
    assert_eq!((p.harvested, p.sold, p.unsold, p.kind), (0, 0, 0, ProduceKind::Shiitake));
    let resent = h.submit(me.clone(), production(pid, hh.id)).await.expect("a resend");
    assert!(resent.events.is_empty() && !resent.outcome.into_production().unwrap().1, "entered once");
    assert_eq!(h.store.production_of(hh.id).await.unwrap().len(), 1);

    // Nothing harvested: nothing to sell.
    refused(h.submit(me.clone(), sale(RecordId::new_v7(), pid, 1)).await, "quantity", "above_stock");

    h.submit(me.clone(), Command::UpdateHarvest { id: pid, harvested: 1_000 }).await.expect("harvested");
    let first = RecordId::new_v7();
    let sold = h.submit(me.clone(), sale(first, pid, 600)).await.expect("sold");
    assert_eq!(sold.events[0].kind, EventKind::ProduceSold);
    let (s, created) = sold.outcome.into_sale().unwrap();
    assert!(created);
    assert_eq!((s.quantity, s.price_fen, s.household_id, s.recorded_by), (600, 650, hh.id, w.cadre.id));
    let stock = h.store.production(pid).await.unwrap();
    assert_eq!((stock.harvested, stock.sold, stock.unsold), (1_000, 600, 400));

    // Above the stock: refused, naming the stock; nothing changes.
    let events = h.published.count();
    match h.submit(me.clone(), sale(RecordId::new_v7(), pid, 401)).await {
        Err(StoreError::Invalid(e)) => {
            assert_eq!((e.field.as_str(), e.code), ("quantity", "above_stock"));
            assert!(e.args.iter().any(|(k, v)| *k == "stock" && v == "400"), "{e:?}");
        }
        other => panic!("expected above_stock, got {other:?}"),
    }
    // Below what was sold: refused, nothing changes.
    let low = h.submit(me.clone(), Command::UpdateHarvest { id: pid, harvested: 599 }).await;
    refused(low, "harvested", "below_sold");
    assert_eq!(h.store.production(pid).await.unwrap(), stock, "unchanged");
    assert_eq!(h.store.sales_of(hh.id).await.unwrap().len(), 1);
    assert_eq!(h.published.count(), events, "no event for a refusal");

    // A resend of the sale is the same sale; the rest of the stock sells.
    let again = h.submit(me.clone(), sale(first, pid, 600)).await.expect("a resend");
    assert!(again.events.is_empty() && !again.outcome.into_sale().unwrap().1);
    h.submit(me.clone(), sale(RecordId::new_v7(), pid, 400)).await.expect("the rest sells");
    h.submit(me.clone(), Command::UpdateHarvest { id: pid, harvested: 1_000 }).await.expect("harvest equal to sold");
    let after = h.store.production(pid).await.unwrap();
    assert_eq!((after.harvested, after.sold, after.unsold), (1_000, 1_000, 0));
    refused(h.submit(me.clone(), sale(RecordId::new_v7(), pid, 1)).await, "quantity", "above_stock");
    assert_eq!(h.store.sales_of(hh.id).await.unwrap().len(), 2);

    let totals = h.store.production_totals(&w.county.path).await.unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!((totals[0].households, totals[0].harvested, totals[0].sold, totals[0].unsold), (1, 1_000, 1_000, 0));
    assert!(h.store.production_totals(&w.other_town.path).await.unwrap().is_empty());
    assert_err!(h.store.production(RecordId::new_v7()).await, StoreError::NotFound);
    let unknown = sale(RecordId::new_v7(), RecordId::new_v7(), 1);
    refused(h.submit(me.clone(), unknown).await, "production_id", "not_found");
}

fn difficulty(id: RecordId, subject: TicketSubject, category: TicketCategory) -> NewTicket {
    NewTicket {
        id,
        subject,
        category,
        department: None,
        title: "香菇滞销，收购商不来".into(),
        body: String::new(),
        attachment: None,
        pass_request: None,
    }
}

fn route_to(to: &OrgUnit) -> TicketStep {
    TicketStep {
        status: None, note: "转商务局对接电商".into(), rating: None, attachment: None, route_to: Some(to.id)
    }
}

fn status(to: TicketStatus) -> TicketStep {
    TicketStep { status: Some(to), note: String::new(), rating: None, attachment: None, route_to: None }
}

pub async fn a_household_difficulty_goes_to_its_township_first_and_is_routed_on_from_there(h: Harness) {
    let w = county(&h).await;
    // A route configured for sales, and the category's default department:
    // a household's difficulty still goes to its township first.
    let industry = h.unit(Some(&w.county), OrgUnitKind::Department, "D-INDUSTRY").await;
    let route =
        Command::PutTicketRoute { category: TicketCategory::Sales, department: industry.id, deadline_hours: 48 };
    h.ok(route).await;
    let hh = register(&h, draft(&w.village, "41122410A001", Some(w.cadre.id))).await;
    let me = actor(&w.cadre);

    let id = RecordId::new_v7();
    let raised = h
        .submit(
            me.clone(),
            Command::RaiseTicket(difficulty(id, TicketSubject::Household(hh.id), TicketCategory::Sales)),
        )
        .await
        .expect("raised");
    assert_eq!(raised.events[0].kind, EventKind::TicketRaised);
    let (t, _) = raised.outcome.into_ticket().unwrap();
    assert_eq!((t.household_id, t.enterprise_id), (Some(hh.id), None));
    assert_eq!(t.department_id, w.town.id, "the household's township");
    assert_eq!(t.officer_id, Some(w.cadre.id), "the helping cadre");
    assert_eq!(t.subject_name, "unit 411224104202 张**户", "the village and the head's name masked");
    assert_eq!((t.scope.as_str(), t.status), (hh.scope.as_str(), TicketStatus::Open));
    assert_eq!(t.deadline_us - t.raised_us, 48 * 3_600_000_000, "the configured route's hours");
    assert_eq!(t.subject_href(), format!("/households/{}", hh.id));
    let payload = raised.events[0].payload.to_string();
    assert!(!payload.contains("张德山"), "no whole names in events: {payload}");
    assert_eq!(h.store.tickets_of_household(hh.id).await.unwrap().len(), 1);
    let counts = h.store.difficulty_counts(&w.county.path).await.unwrap();
    assert_eq!(
        counts.iter().map(|c| (c.category, c.total, c.open)).collect::<Vec<_>>(),
        [(TicketCategory::Sales, 1, 1)]
    );
    assert!(h.store.difficulty_counts(&w.other_town.path).await.unwrap().is_empty());

    // The township takes it, then hands it on: open again, at the department.
    let step = |s: TicketStep| Command::StepTicket { id, step: s };
    h.submit(me.clone(), step(status(TicketStatus::Accepted))).await.expect("accepted");
    let moved = h.submit(me.clone(), step(route_to(&w.commerce))).await.expect("routed");
    assert_eq!(moved.events[0].kind, EventKind::TicketRouted);
    assert_eq!(moved.events[0].payload["from_department_id"], w.town.id.0);
    let (t, _) = moved.outcome.into_ticket().unwrap();
    assert_eq!((t.department_id, t.status), (w.commerce.id, TicketStatus::Open));
    assert_eq!(t.officer_id, Some(w.cadre.id), "the officer stays");
    let notes = h.store.ticket_notes(id).await.unwrap();
    let last = notes.last().expect("a note");
    assert_eq!((last.status, last.note.as_str()), (Some(TicketStatus::Open), "转商务局对接电商"));

    // Not to where it is, not to a village, not with a status.
    refused(h.submit(me.clone(), step(route_to(&w.commerce))).await, "route_to", "same_department");
    refused(h.submit(me.clone(), step(route_to(&w.village))).await, "route_to", "not_routable");
    let mut both = route_to(&w.town);
    both.status = Some(TicketStatus::Accepted);
    refused(h.submit(me.clone(), step(both)).await, "route_to", "alone");
    let mut nowhere = route_to(&w.town);
    nowhere.route_to = Some(shouwang_domain::OrgUnitId(999_999));
    refused(h.submit(me.clone(), step(nowhere)).await, "route_to", "not_found");
    assert_eq!(h.store.ticket(id).await.unwrap().department_id, w.commerce.id);

    // Resolved: settled, so it goes nowhere any more.
    h.submit(me.clone(), step(status(TicketStatus::Resolved))).await.expect("resolved");
    refused(h.submit(me.clone(), step(route_to(&w.town))).await, "route_to", "settled");
    let t = h.store.ticket(id).await.unwrap();
    assert_eq!((t.department_id, t.status), (w.commerce.id, TicketStatus::Resolved));
    let counts = h.store.difficulty_counts(&w.county.path).await.unwrap();
    assert_eq!((counts[0].total, counts[0].open), (1, 0));

    // A household that is not there.
    let missing = difficulty(RecordId::new_v7(), TicketSubject::Household(HouseholdId(999_999)), TicketCategory::Sales);
    refused(h.submit(me.clone(), Command::RaiseTicket(missing)).await, "household_id", "not_found");
}

fn enterprise(unit: &OrgUnit, department: &OrgUnit) -> EnterpriseDraft {
    let first17 = "91411224MA0000001";
    let code = format!("{first17}{}", shouwang_domain::enterprise::CreditCode::check_char(first17).unwrap());
    EnterpriseDraft {
        credit_code: shouwang_domain::enterprise::CreditCode::parse("credit_code", &code).unwrap(),
        name: "卢氏县宏达防护用品有限公司".into(),
        sector: Sector::Manufacturing,
        size_class: SizeClass::Small,
        org_unit: unit.id,
        address: String::new(),
        above_designated: false,
        key_enterprise: false,
        epidemic_supplies: true,
        employees: 50,
        service_officer: None,
        department: Some(department.id),
    }
}

pub async fn an_enterprise_problem_still_goes_by_its_route_and_keeps_its_name(h: Harness) {
    let w = county(&h).await;
    let industry = h.unit(Some(&w.county), OrgUnitKind::Department, "D-INDUSTRY").await;
    let e = h.ok(Command::CreateEnterprise(enterprise(&w.town, &industry))).await.outcome.into_enterprise().unwrap();
    assert_eq!(e.status, ResumptionStatus::NotStarted);
    let me = actor(&w.cadre);
    let id = RecordId::new_v7();
    let raised = h
        .submit(
            me.clone(),
            Command::RaiseTicket(difficulty(id, TicketSubject::Enterprise(e.id), TicketCategory::Sales)),
        )
        .await
        .expect("raised");
    let (t, created) = raised.outcome.into_ticket().unwrap();
    assert!(created);
    assert_eq!((t.enterprise_id, t.household_id), (Some(e.id), None));
    assert_eq!(t.department_id, w.commerce.id, "sales goes to the category's department, not the township");
    assert_eq!(t.subject_name, "卢氏县宏达防护用品有限公司");
    assert_eq!(t.scope, e.scope);
    assert_eq!(t.subject_href(), format!("/enterprises/{}", e.id));
    assert_eq!(raised.events[0].payload["enterprise_id"], e.id.0);
    assert!(raised.events[0].payload["household_id"].is_null());

    // Labour has no department here: the enterprise's own takes it.
    let labour = difficulty(RecordId::new_v7(), TicketSubject::Enterprise(e.id), TicketCategory::Labour);
    let (t2, _) = h.submit(me.clone(), Command::RaiseTicket(labour)).await.unwrap().outcome.into_ticket().unwrap();
    assert_eq!(t2.department_id, industry.id);

    // Rerouting works for an enterprise's ticket too; the dashboard counts
    // enterprises' tickets only.
    let moved = h.submit(me.clone(), Command::StepTicket { id, step: route_to(&industry) }).await.expect("routed");
    assert_eq!(moved.outcome.into_ticket().unwrap().0.department_id, industry.id);
    let resent = h
        .submit(
            me.clone(),
            Command::RaiseTicket(difficulty(id, TicketSubject::Enterprise(e.id), TicketCategory::Sales)),
        )
        .await
        .expect("a resend");
    assert!(resent.events.is_empty(), "raised once");
    assert!(h.store.difficulty_counts(&w.county.path).await.unwrap().is_empty(), "no household difficulties");
    let missing = difficulty(
        RecordId::new_v7(),
        TicketSubject::Enterprise(shouwang_domain::EnterpriseId(999_999)),
        TicketCategory::Sales,
    );
    refused(h.submit(me, Command::RaiseTicket(missing)).await, "enterprise_id", "not_found");
}

/// The migrations before households, as shipped.
const BEFORE_HOUSEHOLDS: [(i64, &str, &str, &str); 11] = [
    (
        1,
        "foundation",
        include_str!("../../migrations/sqlite/0001_foundation.sql"),
        include_str!("../../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "checkpoints",
        include_str!("../../migrations/sqlite/0002_checkpoints.sql"),
        include_str!("../../migrations/postgres/0002_checkpoints.sql"),
    ),
    (
        3,
        "screenings",
        include_str!("../../migrations/sqlite/0003_screenings.sql"),
        include_str!("../../migrations/postgres/0003_screenings.sql"),
    ),
    (
        4,
        "passes",
        include_str!("../../migrations/sqlite/0004_passes.sql"),
        include_str!("../../migrations/postgres/0004_passes.sql"),
    ),
    (
        5,
        "calls",
        include_str!("../../migrations/sqlite/0005_calls.sql"),
        include_str!("../../migrations/postgres/0005_calls.sql"),
    ),
    (
        6,
        "orders",
        include_str!("../../migrations/sqlite/0006_orders.sql"),
        include_str!("../../migrations/postgres/0006_orders.sql"),
    ),
    (
        7,
        "alerts",
        include_str!("../../migrations/sqlite/0007_alerts.sql"),
        include_str!("../../migrations/postgres/0007_alerts.sql"),
    ),
    (
        8,
        "incident_handling",
        include_str!("../../migrations/sqlite/0008_incident_handling.sql"),
        include_str!("../../migrations/postgres/0008_incident_handling.sql"),
    ),
    (
        9,
        "attachments",
        include_str!("../../migrations/sqlite/0009_attachments.sql"),
        include_str!("../../migrations/postgres/0009_attachments.sql"),
    ),
    (
        10,
        "escalation",
        include_str!("../../migrations/sqlite/0010_escalation.sql"),
        include_str!("../../migrations/postgres/0010_escalation.sql"),
    ),
    (
        11,
        "enterprises",
        include_str!("../../migrations/sqlite/0011_enterprises.sql"),
        include_str!("../../migrations/postgres/0011_enterprises.sql"),
    ),
];

/// A database left at schema version 11 (before households) with an
/// enterprise's ticket and its timeline in it, as a deployment upgrading
/// would have it.
async fn database_at_version_11(backend: Backend, url: &str, ticket: RecordId) {
    let url = if backend == Backend::Sqlite { format!("{url}?mode=rwc") } else { url.to_owned() };
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.expect("the database opens");
    let mut conn = pool.acquire().await.expect("a connection");
    if backend == Backend::Sqlite {
        sqlx::raw_sql("PRAGMA foreign_keys=ON").execute(&mut *conn).await.unwrap();
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations \
         (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    for (version, name, sqlite, postgres) in BEFORE_HOUSEHOLDS {
        let sql = if backend == Backend::Sqlite { sqlite } else { postgres };
        sqlx::raw_sql(sql).execute(&mut *conn).await.unwrap_or_else(|e| panic!("migration {version}: {e}"));
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_us) VALUES ($1, $2, 0)")
            .bind(version)
            .bind(name)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let sector = Sector::Manufacturing.as_str();
    let first17 = "91411224MA0000001";
    let code = format!("{first17}{}", shouwang_domain::enterprise::CreditCode::check_char(first17).unwrap());
    let statements = [
        "INSERT INTO org_units (id, parent_id, kind, code, name, path, created_us) \
         VALUES (1, NULL, 'county', '411224', '卢氏县', '/1/', 0)"
            .to_owned(),
        "INSERT INTO org_units (id, parent_id, kind, code, name, path, created_us) \
         VALUES (2, 1, 'township', '411224104', '朱阳关镇', '/1/2/', 0)"
            .to_owned(),
        "INSERT INTO org_units (id, parent_id, kind, code, name, path, created_us) \
         VALUES (3, 1, 'department', 'D-INDUSTRY', '县工信局', '/1/3/', 0)"
            .to_owned(),
        "INSERT INTO roles (name, rights, updated_us) VALUES ('service_officer', 'read,write,approve', 0)".to_owned(),
        "INSERT INTO users (id, username, display_name, password_hash, role, org_unit_id, scope, created_us, updated_us) \
         VALUES (1, 'service', '王专员', 'hash:service', 'service_officer', 3, '/1/3/', 0, 0)"
            .to_owned(),
        format!(
            "INSERT INTO enterprises (id, credit_code, name, sector, size_class, org_unit_id, scope, employees, \
             service_officer_id, department_id, created_us, updated_us) \
             VALUES (1, '{code}', '卢氏县宏达防护用品有限公司', '{sector}', 'small', 2, '/1/2/e1/', 50, 1, 3, 0, 0)"
        ),
        format!(
            "INSERT INTO tickets (id, enterprise_id, scope, category, department_id, officer_id, title, body, status, \
             raised_by, raised_us, deadline_us, updated_us) \
             VALUES ('{ticket}', 1, '/1/2/e1/', 'labour', 3, 1, '返岗员工需要健康证明', '二十人', 'in_progress', \
             1, 1000, 2000, 1500)"
        ),
        format!(
            "INSERT INTO ticket_notes (ticket_id, seq, at_us, author_id, status, note) \
             VALUES ('{ticket}', 1, 1100, 1, 'accepted', '')"
        ),
        format!(
            "INSERT INTO ticket_notes (ticket_id, seq, at_us, author_id, status, note) \
             VALUES ('{ticket}', 2, 1500, 1, 'in_progress', '已联系卫健委')"
        ),
    ];
    for sql in statements {
        sqlx::raw_sql(&sql).execute(&mut *conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    drop(conn);
    pool.close().await;
}

pub async fn the_households_migration_keeps_existing_tickets_and_their_notes(h: Harness) {
    // The harness's own database is migrated to the end; this test needs one
    // of its own, stopped before households.
    let backend = h.backend();
    let Some(db) = TestDb::fresh(backend, "households_migration").await else { return };
    let ticket = RecordId::new_v7();
    database_at_version_11(backend, &db.url, ticket).await;

    let store = Store::open(&StoreOptions::new(&db.url)).await.expect("the newer binary migrates the database");
    let versions: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<i64, _>("version").unwrap())
        .collect();
    assert!(versions.len() >= 12 && versions[..12] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], "{versions:?}");

    let t = store.ticket(ticket).await.expect("the ticket survived");
    assert_eq!((t.enterprise_id, t.household_id), (Some(shouwang_domain::EnterpriseId(1)), None));
    assert_eq!(t.subject_name, "卢氏县宏达防护用品有限公司");
    assert_eq!((t.category, t.status), (TicketCategory::Labour, TicketStatus::InProgress));
    assert_eq!((t.department_id.0, t.officer_id), (3, Some(UserId(1))));
    assert_eq!((t.title.as_str(), t.body.as_str()), ("返岗员工需要健康证明", "二十人"));
    assert_eq!((t.raised_us, t.deadline_us), (1000, 2000));
    let notes = store.ticket_notes(ticket).await.expect("its notes survived");
    let kept: Vec<_> = notes.iter().map(|n| (n.at_us, n.status, n.note.as_str(), n.author_name.as_str())).collect();
    assert_eq!(
        kept,
        [
            (1100, Some(TicketStatus::Accepted), "", "王专员"),
            (1500, Some(TicketStatus::InProgress), "已联系卫健委", "王专员"),
        ]
    );
    if backend == Backend::Sqlite {
        let dangling = sqlx::query("PRAGMA foreign_key_check").fetch_all(store.pool()).await.unwrap();
        assert!(dangling.is_empty(), "no foreign key points nowhere after the rebuild");
    }

    // The migrated ticket is worked on as before: its timeline goes on.
    let (writer, _task) = Writer::spawn(store.clone(), Arc::new(Published::default()));
    let step = TicketStep {
        status: Some(TicketStatus::Resolved),
        note: "已办结".into(),
        rating: None,
        attachment: None,
        route_to: None,
    };
    let service = Actor::user(UserId(1), &crate::harness::username("service"));
    writer.submit(service, Command::StepTicket { id: ticket, step }).await.expect("the old ticket moves on");
    let notes = store.ticket_notes(ticket).await.unwrap();
    assert_eq!(notes.len(), 3);
    assert_eq!(notes[2].status, Some(TicketStatus::Resolved));
    // A ticket without a subject is refused by the table itself.
    let none = sqlx::query("UPDATE tickets SET enterprise_id = NULL WHERE id = $1")
        .bind(ticket.to_string())
        .execute(store.pool())
        .await;
    assert!(none.is_err(), "a ticket has exactly one subject");
}
