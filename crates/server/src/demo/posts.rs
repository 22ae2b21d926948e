//! The demo's checkpoints: one or two posts per township, about 150 duty
//! officers, today's rosters, who is checked in, and supplies — with a few
//! posts understaffed and a few low on masks, so the board has something to
//! show. Coordinates are approximate (within the county's real extent).

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use shouwang_domain::checkpoint::{CheckpointCode, CheckpointKind, LatLon};
use shouwang_domain::duty::{ShiftPattern, Span};
use shouwang_domain::supplies::MovementKind;
use shouwang_domain::{RecordId, RoleName, Username};
use shouwang_store::writer::{Actor, CheckpointDraft, Command};
use shouwang_store::{Checkpoint, User, Writer, now_us};

use super::{DONGMING, Demo, ZHUYANGGUAN, names};

/// A post to seed: code, name, kind, township code, position, staff per
/// shift, shift pattern.
struct PostPlan {
    code: String,
    name: String,
    kind: CheckpointKind,
    town: String,
    at: (f64, f64),
    required: i64,
    pattern: &'static str,
}

/// The two posts of the scenario, then one per other township.
fn plan(demo: &Demo, rng: &mut StdRng) -> Vec<PostPlan> {
    let post = |code: &str, name: &str, kind, town: &str, at, required, pattern| PostPlan {
        code: code.to_owned(),
        name: name.to_owned(),
        kind,
        town: town.to_owned(),
        at,
        required,
        pattern,
    };
    let mut posts = vec![
        post("ZYG-01", "朱阳关省界检测点", CheckpointKind::CountyBorder, ZHUYANGGUAN, (33.716, 110.983), 3, "2x12"),
        post("DM-01", "东明高速出口检测点", CheckpointKind::HighwayExit, DONGMING, (34.142, 111.182), 4, "3x8"),
    ];
    let kinds =
        [CheckpointKind::TrunkRoad, CheckpointKind::VillageEntry, CheckpointKind::TrunkRoad, CheckpointKind::Station];
    for (i, code) in demo.townships.iter().enumerate() {
        if code == ZHUYANGGUAN || code == DONGMING {
            continue;
        }
        let town = &demo.units[code];
        let short = ["街道", "镇", "乡"].iter().find_map(|s| town.name.strip_suffix(s)).unwrap_or(&town.name);
        let kind = kinds[i % kinds.len()];
        let suffix = match kind {
            CheckpointKind::VillageEntry => "村口检测点",
            CheckpointKind::Station => "客运站检测点",
            _ => "公路检测点",
        };
        let at = (rng.gen_range(33.60..34.35), rng.gen_range(110.65..111.55));
        let pattern = if i % 2 == 0 { "3x8" } else { "2x12" };
        posts.push(post(
            &format!("LS-{:02}", i + 1),
            &format!("{short}{suffix}"),
            kind,
            code,
            at,
            rng.gen_range(2..=3),
            pattern,
        ));
    }
    posts
}

/// Local midnight (UTC+8) of the day containing `now`, in µs.
fn local_day_start(now: i64) -> i64 {
    const DAY: i64 = 86_400_000_000;
    const OFFSET: i64 = 8 * 3_600_000_000;
    (now + OFFSET).div_euclid(DAY) * DAY - OFFSET
}

/// A point a few dozen metres from `at`.
fn near(rng: &mut StdRng, at: LatLon) -> LatLon {
    LatLon::parse("", at.lat + rng.gen_range(-0.0004..0.0004), at.lon + rng.gen_range(-0.0004..0.0004))
        .expect("a point near a valid point is valid")
}

/// Seeds the posts, their officers, rosters, presence and supplies.
pub async fn seed(w: &Writer, demo: &mut Demo, password_hash: &str, nobody_hash: &str) -> anyhow::Result<()> {
    let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(33_716);
    let mut posts: Vec<Checkpoint> = Vec::new();
    for p in plan(demo, &mut rng) {
        let draft = CheckpointDraft {
            org_unit: demo.units[&p.town].id,
            code: CheckpointCode::parse("code", &p.code)?,
            name: p.name,
            kind: p.kind,
            location: LatLon::parse("", p.at.0, p.at.1)?,
            address: format!("{}境内（示意坐标）", demo.units[&p.town].name),
            required_staff: p.required,
            geofence_m: 300,
            shift_pattern: ShiftPattern::parse("shift_pattern", p.pattern)?.to_stored(),
        };
        posts.push(w.submit(Actor::system(), Command::CreateCheckpoint(draft)).await?.outcome.into_checkpoint()?);
    }
    // Officers: seven or eight per post, scoped to their post. The demo
    // login `duty` is one of the 朱阳关 border post's.
    let officer_role = RoleName::parse("role", "duty_officer")?;
    let mut staff: Vec<Vec<User>> = Vec::new();
    for (p, post) in posts.iter().enumerate() {
        let mut people = Vec::new();
        let count = if p == 0 { 8 } else { rng.gen_range(6..=8) };
        for n in 0..count {
            let (username, hash) = if p == 0 && n == 0 {
                ("duty".to_owned(), password_hash)
            } else {
                (format!("{}-{}", post.code.to_lowercase(), n + 1), nobody_hash)
            };
            let display =
                if username == "duty" { "朱阳关卡点 张伟".to_owned() } else { names::person(&mut rng) };
            let command = Command::CreateUser {
                username: Username::parse("username", &username)?,
                display_name: display,
                password_hash: hash.to_owned(),
                role: officer_role.clone(),
                org_unit: post.org_unit_id,
                scope: Some(post.scope.clone()),
            };
            let u = w.submit(Actor::system(), command).await?.outcome.into_user()?;
            demo.users.insert(username, u.clone());
            people.push(u);
        }
        staff.push(people);
    }
    // Today's and tomorrow's shifts, staffed in rotation; who is on now
    // checks in — except at a few posts, which stay short-handed.
    let now = now_us();
    let today = local_day_start(now);
    for (p, post) in posts.iter().enumerate() {
        let pattern = ShiftPattern::parse("shift_pattern", &post.shift_pattern)?;
        let people = &staff[p];
        let mut spans: Vec<(i64, i64)> = pattern.shifts_of_day(today - 86_400_000_000);
        spans.extend(pattern.shifts_of_day(today));
        spans.extend(pattern.shifts_of_day(today + 86_400_000_000));
        spans.retain(|(_, ends)| *ends > now - 12 * 3_600_000_000);
        let per_shift = post.required_staff as usize;
        // Rotate so that the crew on now starts with the post's first
        // officer: at the border post that is the demo login `duty`.
        let current = spans.iter().position(|(s, e)| *s <= now && now < *e).unwrap_or(0);
        let mut next = (people.len() * per_shift * spans.len() - current * per_shift) % people.len();
        for (starts, ends) in spans {
            let crew: Vec<&User> = (0..per_shift).map(|k| &people[(next + k) % people.len()]).collect();
            next += per_shift;
            let span = Span::shift(starts, ends, 12)?;
            let command = Command::PlanShift {
                checkpoint: post.id,
                span,
                leader: Some(crew[0].id),
                staff: crew.iter().map(|u| u.id).collect(),
            };
            let shift = match w.submit(Actor::system(), command).await {
                Ok(a) => a.outcome.into_shift()?,
                // A rotation that would double-book someone is skipped.
                Err(shouwang_store::StoreError::Invalid(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            if !span.contains(now) {
                continue;
            }
            // Who turns up: everyone at most posts; fewer at every fifth.
            let turn_up = if p % 5 == 3 { crew.len().saturating_sub(1) } else { crew.len() };
            for (k, u) in crew.iter().enumerate().take(turn_up) {
                if u.username.as_str() == "duty" || p == 7 && k > 0 {
                    continue; // the demo officer checks in by hand; post 8 is nearly empty
                }
                let command = Command::CheckIn {
                    id: RecordId::new_v7(),
                    shift: shift.id,
                    location: Some(near(&mut rng, post.location)),
                };
                w.submit(Actor::user(u.id, &u.username), command).await?;
            }
        }
    }
    // Supplies: a delivery of everything, then what has been used; masks run
    // low at a few posts.
    for (p, post) in posts.iter().enumerate() {
        let keeper = &staff[p][1];
        for (item, _, threshold) in shouwang_domain::supplies::DEFAULT_CATALOGUE {
            let stock = threshold * rng.gen_range(2..=4) + rng.gen_range(0..10);
            let receipt = Command::MoveSupply {
                id: RecordId::new_v7(),
                checkpoint: post.id,
                item: (*item).into(),
                kind: MovementKind::Receipt,
                quantity: stock,
            };
            w.submit(Actor::user(keeper.id, &keeper.username), receipt).await?;
            let used = if *item == "mask" && p % 4 == 1 { stock - threshold / 2 } else { rng.gen_range(0..=stock / 3) };
            if used > 0 {
                let consumption = Command::MoveSupply {
                    id: RecordId::new_v7(),
                    checkpoint: post.id,
                    item: (*item).into(),
                    kind: MovementKind::Consumption,
                    quantity: used,
                };
                w.submit(Actor::user(keeper.id, &keeper.username), consumption).await?;
            }
        }
    }
    demo.posts = posts;
    Ok(())
}

/// One simulated step at a post: someone uses up some supplies.
pub async fn consume(w: &Writer, demo: &Demo, rng: &mut StdRng) -> anyhow::Result<()> {
    let Some(post) = demo.posts.choose(rng) else { return Ok(()) };
    let officers: Vec<&User> =
        demo.users.values().filter(|u| u.scope == post.scope && u.username.as_str() != "duty").collect();
    let Some(officer) = officers.choose(rng) else { return Ok(()) };
    let (item, qty) = *[("mask", 20), ("gloves", 10), ("disinfectant", 2), ("drinking_water", 6), ("food", 6)]
        .choose(rng)
        .expect("non-empty");
    let command = Command::MoveSupply {
        id: RecordId::new_v7(),
        checkpoint: post.id,
        item: item.into(),
        kind: MovementKind::Consumption,
        quantity: qty,
    };
    match w.submit(Actor::user(officer.id, &officer.username), command).await {
        // Nothing left to use is not a failure of the simulator.
        Err(shouwang_store::StoreError::Invalid(_)) => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}
