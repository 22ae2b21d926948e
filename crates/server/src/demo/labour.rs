//! The demo's labour export (劳务输出): a pool of about sixty villagers
//! across the county (most from 朱阳关镇, the demo cadre's township),
//! positions offered by three local enterprises through their contacts and
//! by two outside employers (郑州富士康 in the province, a 东莞 electronics
//! maker outside it), confirmed placements, and point-to-point transport:
//! one batch to 郑州 that arrived, one to 东莞 on the road today, and one to
//! a local enterprise still being checked before departure.
//!
//! Everything goes through the writer as the person who would do it: the
//! township cadres enter their villagers and confirm placements, the
//! enterprises' contacts post their positions, the county (the commander)
//! posts the outside employers' and confirms the arrival in 郑州.

use anyhow::Context;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use shouwang_domain::labour::{DemandDraft, HealthStatus, Region, Skill, WorkerDraft};
use shouwang_domain::screening::{BodyTemperature, PlateNumber};
use shouwang_domain::{EnterpriseId, FieldError, PlacementId, ScopePath};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{Demand, NewBatch, User, Worker, Writer, now_us};

use super::{Demo, ZHUYANGGUAN, cadre_of, names};

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;
/// Workers seeded in all.
const WORKERS: usize = 60;
/// Of which from 朱阳关镇.
const FROM_ZHUYANGGUAN: usize = 30;

fn as_user(u: &User) -> Actor {
    Actor::user(u.id, &u.username)
}

fn fields(errors: Vec<FieldError>) -> anyhow::Error {
    anyhow::anyhow!("{errors:?}")
}

fn day(d: i64) -> String {
    let (y, m, dd) = shouwang_domain::calendar::civil_from_days(d);
    format!("{y:04}-{m:02}-{dd:02}")
}

/// The township cadre who acts for `township` (the demo login `cadre` in
/// 朱阳关镇).
fn cadre<'a>(demo: &'a Demo, township: &str) -> &'a User {
    if township == ZHUYANGGUAN
        && let Some(u) = demo.users.get("cadre")
    {
        return u;
    }
    cadre_of(demo, township)
}

/// A plausible villager of `village`.
fn villager(rng: &mut StdRng, village: i64, today: i64) -> WorkerDraft {
    let how_many = rng.gen_range(1..=2);
    let skills: Vec<String> = Skill::ALL.choose_multiple(rng, how_many).map(|s| s.as_str().to_owned()).collect();
    let health = match rng.gen_range(0..100) {
        0..=3 => HealthStatus::Unwell,
        4..=12 => HealthStatus::Observation,
        _ => HealthStatus::Healthy,
    };
    let mut destinations: Vec<String> =
        Region::ALL.iter().filter(|_| rng.gen_bool(0.5)).map(|r| r.as_str().to_owned()).collect();
    if destinations.is_empty() {
        destinations.push(Region::Province.as_str().to_owned());
    }
    let second = *[3, 5, 7, 8, 9].choose(rng).expect("non-empty");
    WorkerDraft {
        name: names::person(rng),
        phone: format!("1{second}{:09}", rng.gen_range(0..1_000_000_000)),
        village_id: Some(village),
        household_id: None,
        age: Some(rng.gen_range(18..=58)),
        skills,
        health: health.as_str().to_owned(),
        last_check: day(today - rng.gen_range(0..=20)),
        available_from: day(today - rng.gen_range(0..=10) + if rng.gen_bool(0.2) { 20 } else { 0 }),
        destinations,
        note: String::new(),
    }
}

/// The enterprise a contact's scope ends in (`…/e<id>/`).
fn enterprise_of(scope: &ScopePath) -> Option<EnterpriseId> {
    let last = scope.as_str().trim_end_matches('/').rsplit('/').next()?;
    last.strip_prefix('e')?.parse().ok().map(EnterpriseId)
}

/// Seeds the pool, the demand, the placements and the batches.
pub async fn seed(w: &Writer, demo: &mut Demo) -> anyhow::Result<()> {
    let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(20_200_301);
    let today = (now_us() + 8 * HOUR_US).div_euclid(DAY_US);

    // The pool: half from 朱阳关镇, the rest across the other townships.
    let mut pool: Vec<(Worker, String)> = Vec::with_capacity(WORKERS);
    let others: Vec<String> = demo.townships.iter().filter(|t| *t != ZHUYANGGUAN).cloned().collect();
    for i in 0..WORKERS {
        let township = if i < FROM_ZHUYANGGUAN {
            ZHUYANGGUAN.to_owned()
        } else {
            others.choose(&mut rng).context("townships")?.clone()
        };
        let village_code = demo.villages[&township].choose(&mut rng).context("every township has villages")?.clone();
        let village = demo.unit(&village_code).id.0;
        let fields = villager(&mut rng, village, today).parse(today).map_err(fields)?;
        let by = cadre(demo, &township).clone();
        let wk = w.submit(as_user(&by), Command::CreateWorker(fields)).await?.outcome.into_worker()?;
        pool.push((wk, township));
    }

    // The demand: three local enterprises through their contacts, two
    // outside employers through the county.
    let commander = demo.users.get("commander").context("the demo has a commander")?.clone();
    let mut contacts: Vec<&User> = demo.users.values().filter(|u| enterprise_of(&u.scope).is_some()).collect();
    contacts.sort_by_key(|u| (u.username.as_str() != "enterprise", u.username.as_str().to_owned()));
    let mut local: Vec<Demand> = Vec::new();
    let trades = [("卢氏县城关镇车间", "sewing"), ("卢氏县产业集聚区", "manufacturing"), ("卢氏县东明镇", "general")];
    for (contact, (location, skill)) in contacts.iter().take(3).zip(trades) {
        let draft = DemandDraft {
            enterprise_id: enterprise_of(&contact.scope).map(|e| e.0),
            location: location.to_owned(),
            region: Region::County.as_str().to_owned(),
            positions: Some(rng.gen_range(6..=15)),
            skills: vec![skill.to_owned()],
            pay_yuan_month: Some(rng.gen_range(28..=40) * 100),
            start: day(today + rng.gen_range(1..=5)),
            end: day(today + 150),
            accommodation: rng.gen_bool(0.5),
            ..DemandDraft::default()
        };
        let fields = draft.parse().map_err(fields)?;
        let command = Command::PostDemand { fields, scope: contact.scope.clone() };
        local.push(w.submit(as_user(contact), command).await?.outcome.into_demand()?);
    }
    let county = demo.unit("411224").path.clone();
    let outside =
        |employer: &str, location: &str, region: Region, positions, pay, start: i64, end: Option<i64>| DemandDraft {
            employer: employer.to_owned(),
            location: location.to_owned(),
            region: region.as_str().to_owned(),
            positions: Some(positions),
            skills: vec!["manufacturing".into(), "general".into()],
            pay_yuan_month: Some(pay),
            start: day(start),
            end: end.map(day).unwrap_or_default(),
            accommodation: true,
            note: "包吃住，统一点对点接送".into(),
            ..DemandDraft::default()
        };
    let post = |draft: DemandDraft| {
        let scope = county.clone();
        let by = as_user(&commander);
        async move {
            let fields = draft.parse().map_err(fields)?;
            anyhow::Ok(w.submit(by, Command::PostDemand { fields, scope }).await?.outcome.into_demand()?)
        }
    };
    let foxconn = post(outside("郑州富士康", "郑州市航空港区", Region::Province, 40, 4800, today - 1, None)).await?;
    let dongguan = post(outside(
        "东莞市长安镇电子厂",
        "广东省东莞市长安镇",
        Region::Outside,
        30,
        5200,
        today + 1,
        Some(today + 180),
    ))
    .await?;

    // Placements: the township cadre confirms those who fit and want to go.
    let mut placed = std::collections::HashSet::new();
    let mut place = |d: &Demand, want: usize, township: Option<&str>| {
        let picks: Vec<(Worker, String)> = pool
            .iter()
            .filter(|(wk, t)| {
                !placed.contains(&wk.id)
                    && wk.health != HealthStatus::Unwell
                    && wk.destinations.contains(&d.region)
                    && township.is_none_or(|x| x == t.as_str())
            })
            .take(want)
            .cloned()
            .collect();
        for (wk, _) in &picks {
            placed.insert(wk.id);
        }
        picks
    };
    let confirm = async |d: &Demand, picks: Vec<(Worker, String)>| -> anyhow::Result<Vec<PlacementId>> {
        let mut ids = Vec::new();
        for (wk, township) in picks {
            let by = cadre(demo, &township).clone();
            let command = Command::ConfirmPlacement { worker: wk.id, demand: d.id };
            ids.push(w.submit(as_user(&by), command).await?.outcome.into_placement()?.0.id);
        }
        Ok(ids)
    };
    let to_zhengzhou = place(&foxconn, 8, Some(ZHUYANGGUAN));
    let to_zhengzhou = confirm(&foxconn, to_zhengzhou).await.context("placing for 郑州")?;
    let to_dongguan = place(&dongguan, 6, Some(ZHUYANGGUAN));
    let to_dongguan = confirm(&dongguan, to_dongguan).await.context("placing for 东莞")?;
    let later_foxconn = place(&foxconn, 6, None);
    confirm(&foxconn, later_foxconn).await.context("placing more for 郑州")?;
    // The first local employer takes 朱阳关镇 people: they ride its batch.
    let mut to_local = Vec::new();
    for (i, d) in local.iter().enumerate() {
        let picks = place(d, 3, (i == 0).then_some(ZHUYANGGUAN));
        let ids = confirm(d, picks).await.context("placing locally")?;
        if i == 0 {
            to_local = ids;
        }
    }

    // The batches, organised by 朱阳关镇.
    let town = demo.unit(ZHUYANGGUAN).clone();
    let organiser = cadre(demo, ZHUYANGGUAN).clone();
    let org = as_user(&organiser);
    let plan = async |day: i64, destination: &str, plate: &str, seats: i64, passengers: Vec<PlacementId>| {
        let batch = NewBatch {
            org_unit: town.id,
            day,
            origin: "朱阳关镇政府广场".into(),
            destination: destination.to_owned(),
            plate: PlateNumber::parse("plate", plate)?,
            seats,
            passengers,
        };
        anyhow::Ok(w.submit(org.clone(), Command::PlanBatch(batch)).await?.outcome.into_batch()?.0)
    };
    let check = async |b: shouwang_domain::BatchId, p: PlacementId, rng_tenths: i64| -> anyhow::Result<()> {
        let temperature = BodyTemperature::from_tenths("temperature", rng_tenths)?;
        let command = Command::CheckPassenger { batch: b, placement: p, temperature };
        w.submit(as_user(&organiser), command).await?;
        Ok(())
    };
    if !to_zhengzhou.is_empty() {
        let b = plan(today - 1, "郑州富士康航空港园区", "豫M36128", 33, to_zhengzhou.clone()).await?;
        for p in &to_zhengzhou {
            check(b.id, *p, rng.gen_range(360..=369)).await?;
        }
        w.submit(as_user(&organiser), Command::DepartBatch { batch: b.id }).await?;
        w.submit(as_user(&commander), Command::ArriveBatch { batch: b.id }).await?;
    }
    if !to_dongguan.is_empty() {
        let b = plan(today, "东莞市长安镇", "豫M52077", 45, to_dongguan.clone()).await?;
        for p in &to_dongguan {
            check(b.id, *p, rng.gen_range(360..=370)).await?;
        }
        w.submit(as_user(&organiser), Command::DepartBatch { batch: b.id }).await?;
    }
    if let Some(first) = to_local.first() {
        // Planned for tomorrow: one passenger checked so far.
        let b = plan(today + 1, "卢氏县产业集聚区", "豫M8K512", 19, to_local.clone()).await?;
        check(b.id, *first, 365).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn villagers_pass_the_domain_checks() {
        let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(1);
        for _ in 0..200 {
            villager(&mut rng, 7, 20_000).parse(20_000).unwrap();
        }
    }

    #[test]
    fn a_contacts_scope_names_its_enterprise() {
        let scope = ScopePath::from_stored("/1/2/7/e12/").unwrap();
        assert_eq!(enterprise_of(&scope), Some(EnterpriseId(12)));
        assert_eq!(enterprise_of(&ScopePath::from_stored("/1/2/7/").unwrap()), None);
    }
}
