//! The demo's screenings: the last day of traffic at every running post,
//! and a car, a truck or a walker now and then while the demo runs. Mostly
//! local plates (豫M is Sanmenxia), some from the neighbours (豫R Nanyang,
//! 陕E Weinan, 陕H Shangluo), trucks carrying production materials; now and
//! then a fever, which opens an incident for HQ.
//!
//! Records go through the same checks as a phone's (`ScreeningInput::parse`)
//! and the same writer command, as the officer on duty at the post.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::json;
use shouwang_domain::checkpoint::CheckpointStatus;
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{Checkpoint, User, Writer, now_us};

use super::{Demo, names};
use crate::api::screenings::ScreeningInput;

const HOUR_US: i64 = 3_600_000_000;
/// China Standard Time, the demo county's.
const UTC_OFFSET_HOURS: i32 = 8;

/// Plate prefixes, weighted towards the county's own.
const PREFIXES: &[(&str, u32)] = &[("豫M", 12), ("豫R", 3), ("豫A", 2), ("陕E", 2), ("陕H", 2), ("鄂C", 1)];
/// Where people come from: Lushi and its neighbours, some farther.
const REGIONS: &[&str] = &["411224", "411202", "411221", "411281", "411302", "610500", "611000", "410100", "420300"];

fn plate(rng: &mut StdRng) -> String {
    let total: u32 = PREFIXES.iter().map(|(_, w)| w).sum();
    let mut pick = rng.gen_range(0..total);
    let prefix = PREFIXES
        .iter()
        .find(|(_, w)| {
            if pick < *w {
                true
            } else {
                pick -= w;
                false
            }
        })
        .map_or("豫M", |(p, _)| p);
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let tail: String = (0..5).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect();
    format!("{prefix}{tail}")
}

/// A valid (invented) resident ID number born in Lushi: region, birth date,
/// sequence, and its GB 11643 check character.
fn id_number(rng: &mut StdRng) -> String {
    let body = format!(
        "411224{:04}{:02}{:02}{:03}",
        rng.gen_range(1950..2005),
        rng.gen_range(1..=12),
        rng.gen_range(1..=28),
        rng.gen_range(0..1000)
    );
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// One screening as a phone would send it, at `occurred_us`.
fn input(rng: &mut StdRng, occurred_us: i64) -> ScreeningInput {
    let walker = rng.gen_ratio(1, 12);
    let truck = !walker && rng.gen_ratio(1, 3);
    let people_count: i64 = if walker { 1 } else { *[1, 1, 1, 2, 2, 3, 4].choose(rng).expect("non-empty") };
    // One in twenty-five gets a person on record; one in two hundred has a fever.
    let fever = rng.gen_ratio(1, 200);
    let listed = fever || rng.gen_ratio(1, 25);
    let people = if listed {
        let temperature = if fever { rng.gen_range(37.4..39.2) } else { rng.gen_range(36.0..37.1) };
        vec![json!({
            "name": names::person(rng),
            "id_number": id_number(rng),
            "phone": format!("1{}{:09}", rng.gen_range(3..=9), rng.gen_range(0..1_000_000_000u64)),
            "temperature": (temperature * 10.0_f64).round() / 10.0,
            "origin": REGIONS.choose(rng).expect("non-empty"),
            "destination": "411224",
            "health_code": if fever { "yellow" } else { "green" },
        })]
    } else {
        vec![]
    };
    let outcome = if fever {
        "referred_to_hospital"
    } else if rng.gen_ratio(1, 40) {
        "turned_back"
    } else if truck && rng.gen_ratio(1, 3) {
        "released_disinfected"
    } else {
        "released"
    };
    let cargo = if truck {
        *["production_materials", "production_materials", "living_supplies", "medical_supplies", "agricultural_inputs"]
            .choose(rng)
            .expect("non-empty")
    } else {
        "none"
    };
    let body = json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "occurred_us": occurred_us,
        "direction": if rng.gen_bool(0.5) { "in" } else { "out" },
        "plate": if walker { "none".to_owned() } else { plate(rng) },
        "vehicle_type": if walker { "other" } else if truck { "truck" } else { *["car", "car", "car", "van", "bus"].choose(rng).expect("non-empty") },
        "people_count": people_count.max(people.len() as i64),
        "people": people,
        "cargo": cargo,
        "outcome": outcome,
    });
    serde_json::from_value(body).expect("the demo builds screening inputs of the API's shape")
}

/// The officer who logs at `post` (not the demo's own login, whose phone is
/// a real browser).
fn officer_at<'a>(demo: &'a Demo, post: &Checkpoint, rng: &mut StdRng) -> Option<&'a User> {
    let officers: Vec<&User> =
        demo.users.values().filter(|u| u.scope == post.scope && u.username.as_str() != "duty").collect();
    officers.choose(rng).copied()
}

async fn log(w: &Writer, demo: &Demo, post: &Checkpoint, rng: &mut StdRng, times: &[i64]) -> anyhow::Result<()> {
    let Some(officer) = officer_at(demo, post, rng) else { return Ok(()) };
    let now = now_us();
    let mut screenings = Vec::with_capacity(times.len());
    for &at in times {
        let parsed = input(rng, at).parse(now, UTC_OFFSET_HOURS);
        screenings.push(parsed.map_err(|e| anyhow::anyhow!("the demo made an invalid screening: {e:?}"))?);
    }
    let command = Command::RecordScreenings { checkpoint: post.id, screenings };
    w.submit(Actor::user(officer.id, &officer.username), command).await?;
    Ok(())
}

/// The last 24 hours at every running post: busier by day, a trickle at
/// night; busier at the highway exit and the border.
pub async fn seed(w: &Writer, demo: &Demo) -> anyhow::Result<()> {
    let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(373);
    let now = now_us();
    for (p, post) in demo.posts.iter().enumerate() {
        if post.status != CheckpointStatus::Active {
            continue;
        }
        let busy = if p < 2 { 3 } else { 1 };
        let mut times = Vec::new();
        for h in 0..24 {
            let start = now - (24 - h) * HOUR_US;
            let local_hour = (start / HOUR_US + i64::from(UTC_OFFSET_HOURS)).rem_euclid(24);
            let per_hour =
                busy * if (7..20).contains(&local_hour) { rng.gen_range(4..10) } else { rng.gen_range(0..3) };
            for _ in 0..per_hour {
                times.push(start + rng.gen_range(0..HOUR_US));
            }
        }
        times.sort_unstable();
        for chunk in times.chunks(200) {
            log(w, demo, post, &mut rng, chunk).await?;
        }
    }
    Ok(())
}

/// One simulated step: a vehicle or a walker screened at a running post now.
pub async fn screen(w: &Writer, demo: &Demo, rng: &mut StdRng) -> anyhow::Result<()> {
    let running: Vec<&Checkpoint> = demo.posts.iter().filter(|p| p.status == CheckpointStatus::Active).collect();
    let Some(post) = running.choose(rng).copied() else { return Ok(()) };
    log(w, demo, post, rng, &[now_us()]).await
}
