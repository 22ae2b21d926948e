//! Registered households in the demo county: a hundred or so across the
//! townships, a quarter of them in Zhuyangguan (朱阳关镇), where most grow
//! shiitake on log-bags and, with the buyers kept away by the epidemic, sit
//! on unsold stock. Their cadres visit them (a few are overdue a visit),
//! and some difficulties are raised: sales blocked at the township, one
//! routed on to the commerce bureau, one settled.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use shouwang_domain::enterprise::{TicketCategory, TicketStatus};
use shouwang_domain::household::{
    Health, IncomeSource, Member, PovertyStatus, ProduceKind, RegistryNo, Relation, SalesChannel, WorkAbility,
};
use shouwang_domain::screening::{MobilePhone, PersonName};
use shouwang_domain::{OrgUnitId, RecordId};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{
    Household, HouseholdDraft, NewProduction, NewSale, NewTicket, NewVisit, Store, TicketStep, TicketSubject, User,
    Viewer, Writer, now_us,
};

use super::{Demo, ZHUYANGGUAN, cadre_of, names};

const DAY_US: i64 = 86_400_000_000;

/// Today in the county (UTC+8), as a day number.
fn today() -> i64 {
    (now_us() + 8 * 3_600_000_000).div_euclid(DAY_US)
}

fn actor(u: &User) -> Actor {
    Actor::user(u.id, &u.username)
}

fn member(rng: &mut StdRng, surname_of: &str, relation: Relation, age: u8) -> anyhow::Result<Member> {
    // Family members mostly share the head's surname.
    let name = match relation {
        Relation::Spouse | Relation::Other => names::person(rng),
        _ => {
            let given = names::person(rng);
            format!("{}{}", surname_of.chars().next().unwrap_or('王'), given.chars().skip(1).collect::<String>())
        }
    };
    let ability = match age {
        0..=15 => WorkAbility::None,
        16..=59 if rng.gen_bool(0.85) => WorkAbility::Full,
        16..=69 => WorkAbility::Partial,
        _ => WorkAbility::None,
    };
    let health = match rng.gen_range(0..20) {
        0..=1 => Health::Chronic,
        2 => Health::Serious,
        3 => Health::Disabled,
        _ => Health::Healthy,
    };
    let ability = if matches!(health, Health::Serious | Health::Disabled) { WorkAbility::None } else { ability };
    Ok(Member { name: PersonName::parse("name", &name)?, relation, age, ability, health })
}

fn family(rng: &mut StdRng) -> anyhow::Result<Vec<Member>> {
    let head_age = rng.gen_range(36..72);
    let head_name = names::person(rng);
    let mut members = vec![member(rng, &head_name, Relation::Head, head_age)?];
    members[0].name = PersonName::parse("name", &head_name)?;
    if rng.gen_bool(0.8) {
        let age = head_age.saturating_sub(rng.gen_range(0..5));
        members.push(member(rng, &head_name, Relation::Spouse, age)?);
    }
    for _ in 0..rng.gen_range(0..3) {
        let age = head_age.saturating_sub(rng.gen_range(20..30));
        members.push(member(rng, &head_name, Relation::Child, age)?);
    }
    if head_age < 50 && rng.gen_bool(0.4) {
        let age = head_age + rng.gen_range(22..30);
        members.push(member(rng, &head_name, Relation::Parent, age)?);
    }
    if head_age > 55 && rng.gen_bool(0.3) {
        let age = rng.gen_range(3..14);
        members.push(member(rng, &head_name, Relation::Grandchild, age)?);
    }
    Ok(members)
}

/// Seeds the households, their production, sales, visits and difficulties.
pub async fn seed(w: &Writer, demo: &Demo) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(2020_0301);
    let today = today();
    let demo_cadre = demo.users.get("cadre").expect("the demo seeds the cadre login").clone();
    let mut mushroom_growers = Vec::new();
    let mut others = Vec::new();
    for township in &demo.townships {
        let zhuyangguan = township == ZHUYANGGUAN;
        let cadre = cadre_of(demo, township).clone();
        let villages = &demo.villages[township];
        let count = if zhuyangguan { 24 } else { 4 };
        for i in 0..count {
            let village = demo.unit(&villages[i % villages.len()]).clone();
            let members = family(&mut rng)?;
            let status = match rng.gen_range(0..20) {
                0..=7 => PovertyStatus::InPoverty,
                8..=14 => PovertyStatus::LiftedThisYear,
                _ => PovertyStatus::LiftedMonitored,
            };
            let mut income_sources = vec![IncomeSource::Farming];
            if members.iter().filter(|m| m.ability == WorkAbility::Full).count() > 1 {
                income_sources.push(IncomeSource::Wages);
            }
            if rng.gen_bool(0.3) {
                income_sources.push(IncomeSource::Subsidy);
            }
            // The demo's own cadre helps the first households of her town.
            let helper = if zhuyangguan && i < 8 { demo_cadre.clone() } else { cadre.clone() };
            let phone = format!("13{}{:08}", rng.gen_range(5..=9), rng.gen_range(0..100_000_000));
            let draft = HouseholdDraft {
                registry_no: RegistryNo::parse("registry_no", &format!("{}{:03}", village.code, i + 1))?,
                village: village.id,
                members,
                head: 0,
                phone: Some(MobilePhone::parse("phone", &phone)?),
                status,
                income_sources,
                helper: Some(helper.id),
                note: String::new(),
            };
            let h = w.submit(actor(&helper), Command::CreateHousehold(draft)).await?.outcome.into_household()?;
            visits(w, &helper, &h, &mut rng, today).await?;
            if zhuyangguan && i % 4 != 3 {
                mushroom_growers.push((h, helper));
            } else {
                others.push((h, helper));
            }
        }
    }
    for (h, helper) in &mushroom_growers {
        shiitake(w, helper, h, &mut rng, today).await?;
    }
    for (h, helper) in &others {
        let kind = *[ProduceKind::Herbs, ProduceKind::Livestock, ProduceKind::Cropland, ProduceKind::Orchard]
            .choose(&mut rng)
            .expect("non-empty");
        let scale = match kind {
            ProduceKind::Livestock => rng.gen_range(5..40),
            _ => rng.gen_range(2..12),
        };
        let expected = match kind {
            ProduceKind::Livestock => scale,
            ProduceKind::Herbs => scale * 150,
            _ => scale * 400,
        };
        let p = NewProduction {
            id: RecordId::new_v7(),
            household: h.id,
            kind,
            scale,
            expected_output: expected,
            expected_day: today + rng.gen_range(20..150),
            note: String::new(),
        };
        w.submit(actor(helper), Command::RecordProduction(p)).await?;
    }
    difficulties(w, demo, &mushroom_growers, &others).await
}

/// Visits in the last weeks; one household in six has gone without one for
/// more than a month.
async fn visits(w: &Writer, helper: &User, h: &Household, rng: &mut StdRng, today: i64) -> anyhow::Result<()> {
    let overdue = rng.gen_ratio(1, 6);
    let days: Vec<i64> = if overdue {
        if rng.gen_bool(0.5) { vec![] } else { vec![today - rng.gen_range(35..60)] }
    } else {
        let mut d: Vec<i64> = (0..rng.gen_range(1..4)).map(|_| today - rng.gen_range(0..28)).collect();
        d.sort();
        d
    };
    let found = [
        "家中老人身体尚可，口罩、消毒液已发放。",
        "子女在外务工未返岗，家中劳力不足。",
        "香菇出菇正常，外地客商进不来，销售困难。",
        "春耕种子已备，化肥尚缺两袋。",
        "低保、临时救助已按时到账。",
    ];
    let promised = ["联系合作社上门收购", "协调镇农技站送化肥", "帮助登记外出务工意向", ""];
    for day in days {
        let v = NewVisit {
            id: RecordId::new_v7(),
            household: h.id,
            day,
            found: found.choose(rng).expect("non-empty").to_string(),
            promised: promised.choose(rng).expect("non-empty").to_string(),
        };
        w.submit(actor(helper), Command::RecordVisit(v)).await?;
    }
    Ok(())
}

/// Shiitake on log-bags: about a kilogram of fresh mushrooms a bag over the
/// season; much of what was picked is still unsold.
async fn shiitake(w: &Writer, helper: &User, h: &Household, rng: &mut StdRng, today: i64) -> anyhow::Result<()> {
    let bags = rng.gen_range(30..150) * 100;
    let p = NewProduction {
        id: RecordId::new_v7(),
        household: h.id,
        kind: ProduceKind::Shiitake,
        scale: bags,
        expected_output: bags,
        expected_day: today - rng.gen_range(5..20),
        note: "鲜菇".into(),
    };
    let stored = w.submit(actor(helper), Command::RecordProduction(p)).await?.outcome.into_production()?.0;
    let harvested = bags * rng.gen_range(25..60) / 100;
    w.submit(actor(helper), Command::UpdateHarvest { id: stored.id, harvested }).await?;
    let mut left = harvested * rng.gen_range(20..70) / 100;
    for _ in 0..rng.gen_range(1..4) {
        let quantity = (left / 2).max(1);
        if quantity > left {
            break;
        }
        left -= quantity;
        let channel = *SalesChannel::ALL.choose(rng).expect("non-empty");
        let buyer = match channel {
            SalesChannel::Cooperative => "朱阳关镇香菇专业合作社",
            SalesChannel::Ecommerce => "卢氏县电商服务中心",
            SalesChannel::Market => "西峡香菇市场",
            SalesChannel::Buyer => "本地收购商",
        };
        let sale = NewSale {
            id: RecordId::new_v7(),
            production: stored.id,
            day: today - rng.gen_range(0..10),
            quantity,
            price_fen: rng.gen_range(500..900),
            channel,
            buyer: buyer.into(),
        };
        w.submit(actor(helper), Command::RecordSale(sale)).await?;
    }
    Ok(())
}

async fn raise(
    w: &Writer,
    who: &User,
    h: &Household,
    category: TicketCategory,
    title: &str,
    body: &str,
) -> anyhow::Result<shouwang_store::Ticket> {
    let t = NewTicket {
        id: RecordId::new_v7(),
        subject: TicketSubject::Household(h.id),
        category,
        department: None,
        title: title.into(),
        body: body.into(),
        attachment: None,
        pass_request: None,
    };
    Ok(w.submit(actor(who), Command::RaiseTicket(t)).await?.outcome.into_ticket()?.0)
}

async fn step(w: &Writer, who: &User, t: &shouwang_store::Ticket, step: TicketStep) -> anyhow::Result<()> {
    w.submit(actor(who), Command::StepTicket { id: t.id, step }).await?;
    Ok(())
}

fn to(status: TicketStatus, note: &str) -> TicketStep {
    TicketStep { status: Some(status), note: note.into(), rating: None, attachment: None, route_to: None }
}

/// Difficulties: sales blocked in Zhuyangguan (two open at the township,
/// one routed on to the commerce bureau, one settled),
/// fertiliser short elsewhere.
async fn difficulties(
    w: &Writer,
    demo: &Demo,
    growers: &[(Household, User)],
    others: &[(Household, User)],
) -> anyhow::Result<()> {
    let commerce: OrgUnitId = demo.unit("D-COMMERCE").id;
    let township_cadre = cadre_of(demo, ZHUYANGGUAN).clone();
    let body = "外地收购商因疫情管控进不来，鲜菇积压，急需联系销路。";
    for (h, helper) in growers.iter().take(2) {
        raise(w, helper, h, TicketCategory::Sales, "鲜香菇积压滞销", body).await?;
    }
    if let Some((h, helper)) = growers.get(2) {
        let t = raise(w, helper, h, TicketCategory::Sales, "香菇销路受阻，请求对接电商", body).await?;
        let route = TicketStep {
            status: None,
            note: "转县商务局对接消费扶贫平台".into(),
            rating: None,
            attachment: None,
            route_to: Some(commerce),
        };
        step(w, &township_cadre, &t, route).await?;
    }
    if let Some((h, helper)) = growers.get(3) {
        let t = raise(w, helper, h, TicketCategory::Sales, "干香菇需要冷库暂存", "鲜菇烘干后无处存放。").await?;
        step(w, &township_cadre, &t, to(TicketStatus::Accepted, "镇里协调合作社冷库。")).await?;
        step(w, &township_cadre, &t, to(TicketStatus::Resolved, "已安排合作社冷库免费暂存一个月。")).await?;
    }
    if let Some((h, helper)) = others.first() {
        raise(w, helper, h, TicketCategory::FarmInputs, "春耕化肥短缺", "复合肥还差4袋，镇上农资店缺货。").await?;
    }
    if let Some((h, helper)) = others.get(5) {
        raise(w, helper, h, TicketCategory::Labour, "儿子想外出务工", "需要健康证明和点对点返岗安排。").await?;
    }
    Ok(())
}

/// The simulator's household activity: a cadre logs a visit, or a grower
/// sells some of the stock.
pub async fn step_once(store: &Store, w: &Writer, demo: &Demo, rng: &mut StdRng) -> anyhow::Result<()> {
    let county = demo.unit("411224");
    let viewer = Viewer { scope: &county.path, user: shouwang_domain::UserId(0) };
    let all = store.households_visible(&viewer, None).await?;
    let Some(h) = all.choose(rng) else { return Ok(()) };
    let Some(helper) = h.helper_id.and_then(|id| demo.users.values().find(|u| u.id == id)) else { return Ok(()) };
    if rng.gen_bool(0.5) {
        let v = NewVisit {
            id: RecordId::new_v7(),
            household: h.id,
            day: today(),
            found: "入户走访，了解生产和防疫情况，一切正常。".into(),
            promised: String::new(),
        };
        w.submit(actor(helper), Command::RecordVisit(v)).await?;
        return Ok(());
    }
    let stock = store.production_of(h.id).await?.into_iter().find(|p| p.unsold > 0);
    if let Some(p) = stock {
        let sale = NewSale {
            id: RecordId::new_v7(),
            production: p.id,
            day: today(),
            quantity: rng.gen_range(1..=p.unsold.min(500)),
            price_fen: rng.gen_range(500..900),
            channel: SalesChannel::Cooperative,
            buyer: "朱阳关镇香菇专业合作社".into(),
        };
        w.submit(actor(helper), Command::RecordSale(sale)).await?;
    }
    Ok(())
}
