//! The demo's spring ploughing (春耕备耕): this year's plan for every
//! village of the county (the urban communities of the county town excepted)
//! — corn, potato, wheat and medicinal herbs everywhere, tobacco in the
//! tobacco townships — with sowing under way at each township's own pace:
//! 瓦窑沟乡 and 狮子坪乡, high in the mountains, are clearly behind; some
//! villages are short of seed, fertiliser or film.
//!
//! Every figure goes through the domain's check and the writer, entered by
//! the township's cadre, as a real entry would be. [`step`] is for the
//! simulator: a village sows a little more or receives inputs.

use anyhow::Context;
use futures_util::future::try_join_all;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use shouwang_domain::ploughing::{Crop, DEFAULT_SOWN_MARGIN_PCT, PloughDraft, PloughFigures};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{OrgUnit, Store, Writer, now_us};

use super::{Demo, cadre_of};

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

/// Townships far behind: remote, cold, short of hands.
const BEHIND: [&str; 2] = ["411224205", "411224206"];
/// Townships that grow tobacco (烟叶).
const TOBACCO: [&str; 4] = ["411224101", "411224102", "411224103", "411224106"];

/// This year in the county (UTC+8).
fn this_year() -> i64 {
    shouwang_domain::calendar::civil_from_days((now_us() + 8 * HOUR_US).div_euclid(DAY_US)).0
}

/// Per mu of a crop: seed, fertiliser and film needed (kg), and the planned
/// area's range (mu) for a village.
fn per_mu(crop: Crop) -> (i64, i64, i64, std::ops::Range<i64>) {
    match crop {
        Crop::Corn => (2, 40, 4, 200..600),
        Crop::Potato => (150, 50, 5, 80..300),
        Crop::Wheat => (12, 35, 0, 100..400),
        Crop::Herbs => (3, 20, 0, 30..150),
        Crop::Tobacco => (0, 45, 5, 50..200),
        _ => (5, 30, 0, 20..80),
    }
}

/// A village's figures for a crop: planned by the table, sown at `pace`
/// (0–1) with some spread, inputs supplied at `supply` (0–1) of need.
fn figures(rng: &mut StdRng, crop: Crop, pace: f64, supply: f64) -> anyhow::Result<PloughFigures> {
    let (seed, fertiliser, film, area) = per_mu(crop);
    let planned = rng.gen_range(area);
    let sown = ((planned as f64) * (pace * rng.gen_range(0.7..1.2)).min(1.0)).round() as i64;
    let got = |need: i64, rng: &mut StdRng| ((need as f64) * (supply * rng.gen_range(0.9..1.1)).min(1.0)) as i64;
    let (seed, fertiliser, film) = (seed * planned, fertiliser * planned, film * planned);
    let draft = PloughDraft {
        planned_mu: Some(planned),
        sown_mu: Some(sown),
        seed_need_kg: Some(seed),
        seed_got_kg: Some(got(seed, rng)),
        fertiliser_need_kg: Some(fertiliser),
        fertiliser_got_kg: Some(got(fertiliser, rng)),
        film_need_kg: Some(film),
        film_got_kg: Some(got(film, rng)),
        machines: Some(planned / 150 + rng.gen_range(0..3)),
        note: String::new(),
    };
    draft.parse(DEFAULT_SOWN_MARGIN_PCT).map_err(|e| anyhow::anyhow!("demo ploughing figures: {e:?}"))
}

/// Whether a unit ploughs: the county town's urban communities do not.
fn farms(unit: &OrgUnit) -> bool {
    !unit.name.contains("社区")
}

/// Seeds this year's plans and progress for every farming village.
pub async fn seed(w: &Writer, demo: &Demo) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(20200315);
    let year = this_year();
    for (i, township) in demo.townships.iter().enumerate() {
        let Some(villages) = demo.villages.get(township) else { continue };
        let cadre = cadre_of(demo, township);
        let actor = Actor::user(cadre.id, &cadre.username);
        // Sowing paces spread over the townships; two are far behind.
        let pace = if BEHIND.contains(&township.as_str()) { 0.12 } else { 0.35 + 0.05 * (i % 9) as f64 };
        let mut commands = Vec::new();
        for code in villages {
            let village = &demo.units[code];
            if !farms(village) {
                continue;
            }
            let mut crops = vec![Crop::Corn, Crop::Potato, Crop::Wheat, Crop::Herbs];
            if TOBACCO.contains(&township.as_str()) {
                crops.push(Crop::Tobacco);
            }
            crops.shuffle(&mut rng);
            // One village in five is short of its inputs.
            let supply = if rng.gen_bool(0.2) { rng.gen_range(0.3..0.7) } else { 1.0 };
            for crop in crops.into_iter().take(rng.gen_range(2..=3)) {
                let figures = figures(&mut rng, crop, pace, supply)?;
                commands.push(Command::PutPloughing { village: village.id, crop, year, figures });
            }
        }
        // A township's rows at once: the writer commits them together.
        try_join_all(commands.into_iter().map(|c| w.submit(actor.clone(), c)))
            .await
            .with_context(|| format!("ploughing of township {township}"))?;
    }
    Ok(())
}

/// One step of the simulator: a random village sows a little more of a crop
/// not yet done, and now and then receives the inputs it lacked.
pub async fn step(store: &Store, w: &Writer, demo: &Demo, rng: &mut StdRng) -> anyhow::Result<()> {
    let Some(township) = demo.townships.choose(rng) else { return Ok(()) };
    let Some(code) = demo.villages.get(township).and_then(|v| v.choose(rng)) else { return Ok(()) };
    let village = &demo.units[code];
    let year = this_year();
    let rows = store.ploughing_within(&village.path, year).await?;
    let Some(row) =
        rows.iter().filter(|r| r.figures.sown_mu < r.figures.planned_mu).collect::<Vec<_>>().choose(rng).copied()
    else {
        return Ok(());
    };
    let mut f = row.figures.clone();
    // The behind townships sow slowly even now.
    let share = if BEHIND.contains(&township.as_str()) { 0.02 } else { rng.gen_range(0.04..0.12) };
    f.sown_mu = (f.sown_mu + ((f.planned_mu as f64) * share).ceil() as i64).min(f.planned_mu);
    if rng.gen_bool(0.3) {
        f.seed_got_kg = f.seed_got_kg.max(f.seed_need_kg);
        f.fertiliser_got_kg = f.fertiliser_got_kg.max(f.fertiliser_need_kg);
        f.film_got_kg = f.film_got_kg.max(f.film_need_kg);
    }
    let cadre = cadre_of(demo, township);
    let command = Command::PutPloughing { village: village.id, crop: row.crop, year, figures: f };
    w.submit(Actor::user(cadre.id, &cadre.username), command).await?;
    Ok(())
}
