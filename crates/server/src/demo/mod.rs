//! The demo county: Lushi County (卢氏县) of Sanmenxia, Henan, with its real
//! townships and villages, invented people, and a simulator that keeps the
//! board moving.
//!
//! [`seed`] runs once on an empty database; [`simulate`] runs until shutdown.
//! Each capability adds its part in one place: a `seed_*` step called from
//! [`seed`], and an activity in [`simulate`]'s list. Names of people are
//! invented; coordinates, where a later part adds them, are approximate.

mod enterprises;
mod households;
mod labour;
mod names;
mod orders;
mod ploughing;
mod posts;
mod screenings;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use shouwang_domain::{OrgUnitCode, OrgUnitKind, RecordId, RoleName, Username};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{OrgUnit, Store, User, Writer, now_us};

use crate::auth::{password, random_token};

const TOWNSHIPS: &str = include_str!("../../../../data/regions/lushi-townships.csv");
const VILLAGES: &str = include_str!("../../../../data/regions/lushi-villages.csv");

/// The Zhuyangguan town code (the county-border post is there).
pub const ZHUYANGGUAN: &str = "411224104";
/// The Dongming town code (the highway-exit post is there).
pub const DONGMING: &str = "411224107";

/// What the seed made, for the later seed steps and the simulator.
#[derive(Debug, Default)]
pub struct Demo {
    /// Org units by code.
    pub units: HashMap<String, OrgUnit>,
    /// Users by login name.
    pub users: HashMap<String, User>,
    /// Township codes, in file order.
    pub townships: Vec<String>,
    /// Village codes by township code.
    pub villages: HashMap<String, Vec<String>>,
    /// The checkpoints.
    pub posts: Vec<shouwang_store::Checkpoint>,
}

impl Demo {
    fn unit(&self, code: &str) -> &OrgUnit {
        self.units.get(code).unwrap_or_else(|| panic!("the demo seeds unit {code} before using it"))
    }
}

/// Parses a CSV row of the region files (quoted names, no embedded commas).
fn fields(line: &str) -> Vec<String> {
    line.split(',').map(|f| f.trim().trim_matches('"').to_owned()).collect()
}

async fn unit(
    w: &Writer,
    parent: Option<&OrgUnit>,
    kind: OrgUnitKind,
    code: &str,
    name: &str,
) -> anyhow::Result<OrgUnit> {
    let command = Command::CreateOrgUnit {
        parent: parent.map(|p| p.id),
        kind,
        code: OrgUnitCode::parse("code", code)?,
        name: name.to_owned(),
    };
    Ok(w.submit(Actor::system(), command).await?.outcome.into_org_unit()?)
}

/// Fills an empty database with the demo county. Refuses a database that
/// already has accounts: the demo never touches real data.
pub async fn seed(store: &Store, writer: &Writer) -> anyhow::Result<Demo> {
    anyhow::ensure!(
        store.user_count().await? == 0,
        "the database already has accounts; the demo seeds only an empty database"
    );
    let mut demo = Demo::default();
    seed_org_units(writer, &mut demo).await.context("seeding org units")?;
    let hashes = seed_people(writer, &mut demo).await.context("seeding people")?;
    posts::seed(writer, &mut demo, &hashes.0, &hashes.1).await.context("seeding checkpoints")?;
    seed_duty_log(writer, &demo).await.context("seeding the duty log")?;
    screenings::seed(writer, &demo).await.context("seeding screenings")?;
    orders::seed(writer, &demo).await.context("seeding orders")?;
    enterprises::seed(writer, &mut demo, &hashes.0, &hashes.1).await.context("seeding the resumption of work")?;
    households::seed(writer, &demo).await.context("seeding the registered households")?;
    labour::seed(writer, &mut demo).await.context("seeding the labour export")?;
    ploughing::seed(writer, &demo).await.context("seeding spring ploughing")?;
    Ok(demo)
}

async fn seed_org_units(w: &Writer, demo: &mut Demo) -> anyhow::Result<()> {
    let city = unit(w, None, OrgUnitKind::City, "4112", "三门峡市").await?;
    let county = unit(w, Some(&city), OrgUnitKind::County, "411224", "卢氏县").await?;
    for (code, name) in names::DEPARTMENTS {
        let d = unit(w, Some(&county), OrgUnitKind::Department, code, name).await?;
        demo.units.insert(code.to_string(), d);
    }
    for line in TOWNSHIPS.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f = fields(line);
        let t = unit(w, Some(&county), OrgUnitKind::Township, &f[0], &f[1]).await?;
        demo.townships.push(f[0].clone());
        demo.units.insert(f[0].clone(), t);
    }
    for line in VILLAGES.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f = fields(line);
        let township = demo.unit(&f[2]).clone();
        let v = unit(w, Some(&township), OrgUnitKind::Village, &f[0], &f[1]).await?;
        demo.villages.entry(f[2].clone()).or_default().push(f[0].clone());
        demo.units.insert(f[0].clone(), v);
    }
    demo.units.insert("4112".into(), city);
    demo.units.insert("411224".into(), county);
    Ok(())
}

async fn user(w: &Writer, name: &str, display: &str, role: &str, unit: &OrgUnit, hash: &str) -> anyhow::Result<User> {
    let command = Command::CreateUser {
        username: Username::parse("username", name)?,
        display_name: display.to_owned(),
        password_hash: hash.to_owned(),
        role: RoleName::parse("role", role)?,
        org_unit: unit.id,
        scope: None,
    };
    Ok(w.submit(Actor::system(), command).await?.outcome.into_user()?)
}

/// Seeds the accounts; returns the hash of `demo` and of a password nobody
/// knows, for the later steps. The demo login `enterprise` is scoped to its
/// enterprise, so [`enterprises::seed`] makes it once that exists.
async fn seed_people(w: &Writer, demo: &mut Demo) -> anyhow::Result<(String, String)> {
    // The demo accounts share the password `demo`; everyone else gets a
    // random one nobody knows.
    let demo_hash = password::hash("demo".into()).await?;
    let nobody_hash = password::hash(random_token()).await?;
    let county = demo.unit("411224").clone();
    let logins = [
        ("admin", "系统管理员 李娜", "admin", demo.unit("4112").clone()),
        ("commander", "指挥长 王建国", "commander", county.clone()),
        ("service", "县工信局 赵敏", "service_officer", demo.unit("D-INDUSTRY").clone()),
        ("cadre", "朱阳关镇干部 陈静", "township_cadre", demo.unit(ZHUYANGGUAN).clone()),
        ("viewer", "市领导 周强", "viewer", demo.unit("4112").clone()),
    ];
    for (name, display, role, unit) in logins {
        let u = user(w, name, display, role, &unit, &demo_hash).await?;
        demo.users.insert(name.to_owned(), u);
    }
    let mut rng = StdRng::seed_from_u64(411224);
    for code in demo.townships.clone() {
        let unit = demo.unit(&code).clone();
        let name = format!("cadre{}", &code[6..]);
        let display = format!("{} {}", unit.name, names::person(&mut rng));
        let u = user(w, &name, &display, "township_cadre", &unit, &nobody_hash).await?;
        demo.users.insert(name, u);
    }
    Ok((demo_hash, nobody_hash))
}

fn cadre_of<'a>(demo: &'a Demo, township: &str) -> &'a User {
    demo.users.get(&format!("cadre{}", &township[6..])).expect("every township has a seeded cadre")
}

async fn duty_log_entry(w: &Writer, demo: &Demo, rng: &mut StdRng, occurred_us: i64) -> anyhow::Result<()> {
    let township = demo.townships.choose(rng).expect("the demo has townships").clone();
    let cadre = cadre_of(demo, &township);
    let villages = &demo.villages[&township];
    let village = demo.unit(villages.choose(rng).expect("every township has villages"));
    let body = names::duty_note(rng, &village.name);
    let command = Command::AddDutyLogEntry {
        id: RecordId::new_v7(),
        org_unit: village.id,
        scope: village.path.clone(),
        body,
        occurred_us,
    };
    w.submit(Actor::user(cadre.id, &cadre.username), command).await?;
    Ok(())
}

async fn seed_duty_log(w: &Writer, demo: &Demo) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(20200210);
    let now = now_us();
    for i in 0..60 {
        duty_log_entry(w, demo, &mut rng, now - (60 - i) * 20 * 60_000_000).await?;
    }
    Ok(())
}

/// Keeps the demo alive: every `every`, one piece of realistic activity, as
/// the person who would do it, through the same writer as everyone else.
/// Stops when `shutdown` turns true.
pub async fn simulate(
    store: Store,
    writer: Writer,
    demo: Demo,
    presence: Option<std::sync::Arc<crate::presence::Presence>>,
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut rng = StdRng::from_entropy();
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        // Later capabilities add their activities here, weighted by how
        // often they happen at a real post.
        let result = match rng.gen_range(0..23) {
            0..=5 => duty_log_entry(&writer, &demo, &mut rng, now_us()).await,
            6..=15 => screenings::screen(&writer, &demo, &mut rng).await,
            16..=17 => posts::consume(&writer, &demo, &mut rng).await,
            18..=19 => enterprises::step(&store, &writer, &demo, &mut rng).await,
            20..=21 => households::step_once(&store, &writer, &demo, &mut rng).await,
            _ => ploughing::step(&store, &writer, &demo, &mut rng).await,
        };
        // The officers on duty keep their phones' pages open (all but the
        // demo's own login, whose phone is a real browser).
        // One post in the mountains has lost its signal: its phones stay silent.
        let silent = demo.posts.get(11).map(|p| p.scope.clone());
        if let Some(presence) = &presence {
            let on_duty =
                demo.users.values().filter(|u| u.role.as_str() == "duty_officer" && u.username.as_str() != "duty");
            for u in on_duty.filter(|u| Some(&u.scope) != silent.as_ref()) {
                presence.heard(u.id, now_us());
            }
        }
        // Whatever reached the simulated officers is answered, whichever
        // activity this tick was.
        let result = match result {
            Ok(()) => orders::answer(&store, &writer, &demo, &mut rng).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "demo simulator step failed");
        }
    }
}
