//! Spring ploughing as stored: a village's figures for a crop and year are
//! one row, replaced by the next entry with an event each time; only a
//! village takes them; progress sums by township and by village, the
//! slowest first, with supply counted at most up to need.

use shouwang_domain::ploughing::{Crop, PloughFigures};
use shouwang_domain::{EventKind, OrgUnitKind};
use shouwang_store::{Command, OrgUnit, StoreError};

use crate::assert_err;
use crate::harness::{Harness, actor};

const YEAR: i64 = 2020;

fn figures(planned_mu: i64, sown_mu: i64) -> PloughFigures {
    PloughFigures {
        planned_mu,
        sown_mu,
        seed_need_kg: 0,
        seed_got_kg: 0,
        fertiliser_need_kg: 0,
        fertiliser_got_kg: 0,
        film_need_kg: 0,
        film_got_kg: 0,
        machines: 1,
        note: String::new(),
    }
}

fn put(village: &OrgUnit, crop: Crop, figures: PloughFigures) -> Command {
    Command::PutPloughing { village: village.id, crop, year: YEAR, figures }
}

/// A county with two townships (codes `…104`, `…107`) of two villages each.
async fn county(h: &Harness) -> (OrgUnit, [OrgUnit; 2], [OrgUnit; 4]) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let zyg = h.unit(Some(&county), OrgUnitKind::Township, "411224104").await;
    let dm = h.unit(Some(&county), OrgUnitKind::Township, "411224107").await;
    let villages = [
        h.unit(Some(&zyg), OrgUnitKind::Village, "411224104201").await,
        h.unit(Some(&zyg), OrgUnitKind::Village, "411224104202").await,
        h.unit(Some(&dm), OrgUnitKind::Village, "411224107201").await,
        h.unit(Some(&dm), OrgUnitKind::Village, "411224107202").await,
    ];
    (county, [zyg, dm], villages)
}

pub async fn a_village_crop_and_year_is_one_row_replaced_with_an_event_each_time(h: Harness) {
    let (county, [zyg, _], [v1, ..]) = county(&h).await;
    let role = h.role("township_cadre", &[shouwang_domain::Right::Read, shouwang_domain::Right::Write]).await;
    let cadre = h.user("cadre", &role, &zyg).await;

    let first = h.submit(actor(&cadre), put(&v1, Crop::Corn, figures(300, 0))).await.unwrap();
    let row = first.outcome.into_ploughing().unwrap();
    assert_eq!((row.village_id, row.township_id, row.crop, row.year), (v1.id, zyg.id, Crop::Corn, YEAR));
    assert_eq!((row.village.as_str(), &row.scope, row.updated_by), ("unit 411224104201", &v1.path, Some(cadre.id)));

    let later = PloughFigures { sown_mu: 120, seed_need_kg: 900, seed_got_kg: 600, ..figures(300, 0) };
    h.submit(actor(&cadre), put(&v1, Crop::Corn, later.clone())).await.unwrap();
    h.ok(put(&v1, Crop::Potato, figures(80, 10))).await;

    let stored = h.store.ploughing(v1.id, Crop::Corn, YEAR).await.unwrap();
    assert_eq!(stored.figures, later, "the later entry replaced the first");
    let rows = h.store.ploughing_within(&county.path, YEAR).await.unwrap();
    let keys: Vec<_> = rows.iter().map(|r| (r.village_id, r.crop)).collect();
    assert_eq!(keys, [(v1.id, Crop::Corn), (v1.id, Crop::Potato)]);
    assert!(h.store.ploughing_within(&county.path, YEAR + 1).await.unwrap().is_empty(), "another year");
    assert_err!(h.store.ploughing(v1.id, Crop::Wheat, YEAR).await, StoreError::NotFound);

    let events: Vec<_> = h.all_events().await.into_iter().filter(|e| e.kind == EventKind::PloughingUpdated).collect();
    assert_eq!(events.len(), 3, "one event per entry");
    assert_eq!(events[1].scope, v1.path);
    assert_eq!(events[1].payload["before"]["sown_mu"], 0);
    assert_eq!(events[1].payload["figures"]["sown_mu"], 120);
    assert!(events[0].payload["before"].is_null(), "the first entry had nothing before it");
}

fn invalid<T: std::fmt::Debug>(result: Result<T, StoreError>) -> (String, &'static str) {
    match result {
        Err(StoreError::Invalid(e)) => (e.field, e.code),
        other => panic!("expected a refusal naming a field, got {other:?}"),
    }
}

pub async fn only_a_village_takes_ploughing_figures_and_a_refusal_writes_nothing(h: Harness) {
    let (county, [zyg, _], _) = county(&h).await;
    let before = h.all_events().await.len();
    let refused = h.system(put(&zyg, Crop::Wheat, figures(10, 0))).await;
    assert_eq!(invalid(refused), ("village_id".into(), "not_a_village"));
    let gone = OrgUnit { id: shouwang_domain::OrgUnitId(999_999), ..zyg.clone() };
    let refused = h.system(put(&gone, Crop::Wheat, figures(10, 0))).await;
    assert_eq!(invalid(refused), ("village_id".into(), "not_found"));
    assert!(h.store.ploughing_within(&county.path, YEAR).await.unwrap().is_empty());
    assert_eq!(h.all_events().await.len(), before, "no event either");
}

pub async fn progress_sums_by_township_and_village_the_slowest_first(h: Harness) {
    let (county, [zyg, dm], [z1, z2, d1, d2]) = county(&h).await;
    // 朱阳关: 300 + 200 planned, 150 + 150 sown (60 %); seed: one village
    // has a surplus that must not hide the other's shortage.
    let surplus = PloughFigures { seed_need_kg: 100, seed_got_kg: 400, film_need_kg: 50, ..figures(300, 150) };
    h.ok(put(&z1, Crop::Corn, surplus)).await;
    h.ok(put(&z2, Crop::Corn, PloughFigures { seed_need_kg: 100, seed_got_kg: 0, ..figures(200, 150) })).await;
    // 东明: 100 + 100 planned, 10 + 30 sown (20 %), nothing needed.
    h.ok(put(&d1, Crop::Wheat, figures(100, 10))).await;
    h.ok(put(&d2, Crop::Herbs, figures(100, 30))).await;
    // Another year does not count.
    h.ok(Command::PutPloughing { village: z1.id, crop: Crop::Corn, year: YEAR - 1, figures: figures(1, 0) }).await;

    let towns = h.store.ploughing_by_township(&county.path, YEAR).await.unwrap();
    let summary: Vec<_> = towns.iter().map(|t| (t.township_id, t.planned_mu, t.sown_mu, t.sown_pct)).collect();
    assert_eq!(summary, [(dm.id, 200, 40, 20), (zyg.id, 500, 300, 60)], "the slowest first");
    let z = &towns[1];
    assert_eq!((z.seed_pct, z.fertiliser_pct, z.film_pct, z.machines), (50, 100, 0, 2));
    assert_eq!(z.township, "unit 411224104");

    let villages = h.store.ploughing_by_village(&county.path, zyg.id, YEAR).await.unwrap();
    let summary: Vec<_> = villages.iter().map(|v| (v.village_id, v.sown_pct, v.seed_pct)).collect();
    assert_eq!(summary, [(z1.id, 50, 100), (z2.id, 75, 0)]);

    // A township's own scope sees itself only; a village's scope its row.
    let own = h.store.ploughing_by_township(&dm.path, YEAR).await.unwrap();
    assert_eq!(own.iter().map(|t| t.township_id).collect::<Vec<_>>(), [dm.id]);
    assert!(h.store.ploughing_by_village(&dm.path, zyg.id, YEAR).await.unwrap().is_empty());
    let one = h.store.ploughing_by_village(&d2.path, dm.id, YEAR).await.unwrap();
    assert_eq!(one.iter().map(|v| v.village_id).collect::<Vec<_>>(), [d2.id]);
}
