//! The org tree: units nest by kind, and scopes are exact subtrees.

use shouwang_domain::{EventKind, OrgUnitId, OrgUnitKind, ScopePath};
use shouwang_store::{Command, Outcome, StoreError};

use crate::assert_err;
use crate::harness::{Harness, create_unit};

pub async fn org_units_nest_city_county_township_village_by_path(h: Harness) {
    let city = h.unit(None, OrgUnitKind::City, "411200").await;
    let county = h.unit(Some(&city), OrgUnitKind::County, "411224").await;
    let township = h.unit(Some(&county), OrgUnitKind::Township, "411224104").await;
    let village = h.unit(Some(&township), OrgUnitKind::Village, "411224104201").await;
    let bureau = h.unit(Some(&county), OrgUnitKind::Department, "health-bureau").await;

    assert_eq!(city.parent_id, None);
    assert_eq!(city.path, ScopePath::root().child(city.id));
    assert_eq!(county.parent_id, Some(city.id));
    assert_eq!(county.path, city.path.child(county.id));
    assert_eq!(township.path, county.path.child(township.id));
    assert_eq!(village.path, township.path.child(village.id));
    assert_eq!(village.path.depth(), 4);
    assert_eq!(bureau.path, county.path.child(bureau.id));

    assert_eq!(h.store.org_unit(village.id).await.unwrap(), village, "the stored unit is the one returned");
    assert_eq!(h.store.org_unit_by_code("411224").await.unwrap(), county);
    let all = h.store.org_units().await.unwrap();
    let paths: Vec<&str> = all.iter().map(|u| u.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted, "parents come before children");
    assert_eq!(all.len(), 5);

    let created: Vec<_> = h.published.events().into_iter().filter(|e| e.kind == EventKind::OrgUnitCreated).collect();
    assert_eq!(created.len(), 5, "one event per unit");
    let village_event = created.iter().find(|e| e.subject == format!("org_unit:{}", village.id)).unwrap();
    assert_eq!(village_event.scope, village.path, "the event is visible where the unit sits");
    assert_eq!(village_event.payload["code"], "411224104201");
}

pub async fn a_unit_of_the_wrong_kind_for_its_parent_is_refused(h: Harness) {
    let city = h.unit(None, OrgUnitKind::City, "411200").await;
    let county = h.unit(Some(&city), OrgUnitKind::County, "411224").await;
    let before = h.store.org_units().await.unwrap();

    let village_under_county = create_unit(Some(county.id), OrgUnitKind::Village, "v1");
    assert_err!(h.system(village_under_county).await, StoreError::Conflict { field: "kind" });
    let township_at_root = create_unit(None, OrgUnitKind::Township, "t1");
    assert_err!(h.system(township_at_root).await, StoreError::Conflict { field: "kind" });
    let city_under_county = create_unit(Some(county.id), OrgUnitKind::City, "c2");
    assert_err!(h.system(city_under_county).await, StoreError::Conflict { field: "kind" });

    assert_eq!(h.store.org_units().await.unwrap(), before, "nothing was written");
    assert_eq!(h.published.count(), 2, "refusals publish nothing");
}

pub async fn a_duplicate_org_unit_code_is_refused(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    assert_err!(
        h.system(create_unit(None, OrgUnitKind::County, "411224")).await,
        StoreError::Conflict { field: "code" }
    );
    assert_err!(
        h.system(create_unit(Some(county.id), OrgUnitKind::Township, "411224")).await,
        StoreError::Conflict { field: "code" }
    );
    assert_eq!(h.store.org_units().await.unwrap(), vec![county]);
}

pub async fn a_unit_under_an_unknown_parent_is_dangling(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let orphan = create_unit(Some(OrgUnitId(county.id.0 + 1000)), OrgUnitKind::Township, "411224104");
    assert_err!(h.system(orphan).await, StoreError::Dangling { field: "parent_id" });
    assert_eq!(h.store.org_units().await.unwrap(), vec![county.clone()]);
    assert_err!(h.store.org_unit(OrgUnitId(county.id.0 + 1000)).await, StoreError::NotFound);
    assert_err!(h.store.org_unit_by_code("411224104").await, StoreError::NotFound);
}

pub async fn units_within_a_scope_are_exactly_its_subtree_not_a_prefix_sibling(h: Harness) {
    let (short, long) = h.prefix_siblings().await;
    let roots = h.store.org_units().await.unwrap().len();
    let inside = h.unit(Some(&short), OrgUnitKind::Township, "inside").await;
    let inside_village = h.unit(Some(&inside), OrgUnitKind::Village, "inside-village").await;
    let trap = h.unit(Some(&long), OrgUnitKind::Township, "trap").await;

    let within = h.store.org_units_within(&short.path).await.unwrap();
    assert_eq!(within, vec![short.clone(), inside.clone(), inside_village.clone()], "{short:?} vs {long:?}");
    assert!(!within.contains(&trap));

    let township_only = h.store.org_units_within(&inside.path).await.unwrap();
    assert_eq!(township_only, vec![inside.clone(), inside_village]);

    let long_within = h.store.org_units_within(&long.path).await.unwrap();
    assert_eq!(long_within, vec![long, trap]);

    let everything = h.store.org_units_within(&ScopePath::root()).await.unwrap();
    assert_eq!(everything, h.store.org_units().await.unwrap());
    assert_eq!(everything.len(), roots + 3);
}

pub async fn renaming_a_unit_keeps_its_path_and_records_the_old_name(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let renamed = h.ok(Command::RenameOrgUnit { id: county.id, name: "卢氏县".into() }).await;
    let Outcome::OrgUnit(unit) = &renamed.outcome else { panic!("RenameOrgUnit gave {:?}", renamed.outcome) };
    assert_eq!(unit.name, "卢氏县");
    assert_eq!(unit.path, county.path);
    assert_eq!(h.store.org_unit(county.id).await.unwrap(), *unit);

    assert_eq!(renamed.events.len(), 1);
    let event = &renamed.events[0];
    assert_eq!(event.kind, EventKind::OrgUnitUpdated);
    assert_eq!(event.payload["previous_name"], county.name.as_str());
    assert_eq!(event.payload["name"], "卢氏县");

    assert_err!(
        h.system(Command::RenameOrgUnit { id: OrgUnitId(county.id.0 + 1000), name: "x".into() }).await,
        StoreError::NotFound
    );
}
