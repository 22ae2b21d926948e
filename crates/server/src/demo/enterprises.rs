//! The demo's resumption of work (复工复产): about forty invented
//! enterprises of the county at every stage — not started, waiting for
//! review, returned, refused, approved, partly and fully running, suspended
//! — with a week of daily reports from those running, two key projects (a
//! mask line on plan, a protective-suit line slipping) and problem tickets in
//! every state. The mask maker 宏达 in 东明镇 is the enterprise of the demo
//! login `enterprise`.
//!
//! Everything goes through the writer as the person who would do it: the
//! enterprise's contact files and reports, the township cadre reviews, the
//! service officer works the tickets, the contact confirms them. Only the
//! register itself is entered by the system, as an import would.

use std::collections::HashSet;

use anyhow::Context;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use shouwang_domain::enterprise::{
    CreditCode, DailyReportDraft, MilestoneKind, MilestonePlan, PreventionPlan, PreventionPlanDraft, ResumptionStatus,
    Satisfaction, Sector, SizeClass, TicketCategory, TicketStatus, Workforce,
};
use shouwang_domain::{FieldError, RecordId, RoleName, Username};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{
    Enterprise, EnterpriseDraft, NewApplication, NewDailyReport, NewTicket, ProjectDraft, Store, Ticket, TicketStep,
    TicketSubject, User, Viewer, Writer, now_us,
};

use super::{Demo, ZHUYANGGUAN, cadre_of, names};

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;
/// Days of reports seeded for a running enterprise, today included.
const REPORT_DAYS: i64 = 7;

/// Today's day number in the county (UTC+8), as the API counts days.
fn local_day(now: i64) -> i64 {
    (now + 8 * HOUR_US).div_euclid(DAY_US)
}

fn as_user(u: &User) -> Actor {
    Actor::user(u.id, &u.username)
}

fn fields(errors: Vec<FieldError>) -> anyhow::Error {
    anyhow::anyhow!("{errors:?}")
}

/// What an enterprise makes of the epidemic supplies, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Supply {
    None,
    Masks,
    Disinfectant,
    Suits,
}

/// What was wrong with an application that came back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Flaw {
    /// Eight to a dormitory room.
    Dormitory,
    /// No room to isolate someone with a fever.
    NoIsolation,
    /// Masks for three days.
    FewMasks,
}

/// Where an enterprise's resumption stands after the seed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    NotStarted,
    Applied,
    /// Returned once (for the firm's note), filed again, waiting.
    Reapplied,
    Returned,
    Refused,
    Approved,
    Partly,
    Fully,
    /// Partly first, then fully.
    FullyViaPartly,
    /// Ran (and reported) until suspended (for the firm's note).
    Suspended,
}

impl Stage {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "not_started" => Self::NotStarted,
            "applied" => Self::Applied,
            "reapplied" => Self::Reapplied,
            "returned" => Self::Returned,
            "refused" => Self::Refused,
            "approved" => Self::Approved,
            "partly" => Self::Partly,
            "fully" => Self::Fully,
            "fully_via_partly" => Self::FullyViaPartly,
            "suspended" => Self::Suspended,
            _ => return None,
        })
    }
}

/// An invented enterprise of the register.
#[derive(Debug)]
struct Firm {
    /// What its people call it (and its contact's title).
    short: &'static str,
    name: &'static str,
    sector: Sector,
    size: SizeClass,
    town: &'static str,
    street: &'static str,
    employees: u32,
    above: bool,
    key: bool,
    supply: Supply,
    /// Has a contact account (the first firm's is the demo login).
    contact: bool,
    /// Running, but today's report is not in.
    lagging: bool,
    /// What a returned application lacked.
    flaw: Option<Flaw>,
    department: &'static str,
    /// Login name of its service officer; empty: none.
    officer: &'static str,
    stage: Stage,
    /// The reviewer's comment or the reason: returned, refused, suspended.
    note: &'static str,
}

/// The register, one enterprise a line: short name | registered name |
/// sector (GB/T 4754) | size | township code | street | employees | flags |
/// department | service officer | stage | note. Flags: `above` (规上),
/// `key`, `masks` / `disinfectant` / `suits` (makes them), `contact` (has an
/// account), `lagging` (today's report not in), and what a returned
/// application lacked: `dormitory`, `no_isolation`, `few_masks`. The first
/// is the enterprise of the demo login `enterprise`.
const REGISTER: &str = "\
宏达防护|卢氏县宏达防护用品有限公司|C|medium|411224107|东明镇产业集聚区纬二路8号|260|above key masks contact|D-INDUSTRY|service|fully_via_partly|
洁康消毒|卢氏县洁康消毒用品有限公司|C|small|411224100|城关镇产业集聚区经三路16号|85|key disinfectant contact|D-INDUSTRY|service|fully|
安盾医疗|河南安盾医疗用品有限公司|C|medium|411224107|东明镇产业集聚区纬一路12号|180|above key suits contact|D-INDUSTRY|service|partly|
伏牛山菌业|卢氏县伏牛山食用菌开发有限公司|C|medium|411224100|城关镇莘川大道西段88号|320|above key contact|D-INDUSTRY|service|fully_via_partly|
东明菌菇|卢氏县东明菌菇食品有限公司|C|small|411224107|东明镇东明村三组|75|above contact|D-INDUSTRY|service|partly|
鑫达钼业|卢氏县鑫达钼业有限公司|B|large|411224107|东明镇南沟矿区|1200|above key contact|D-INDUSTRY|service|partly|
恒通机械|卢氏县恒通机械制造有限公司|C|small|411224107|东明镇产业集聚区经一路5号|95|above contact|D-INDUSTRY|service|approved|
豫卢纺织|卢氏县豫卢纺织有限公司|C|medium|411224107|东明镇产业集聚区纬三路20号|210|above contact|D-INDUSTRY|service|fully|
佳美印刷|卢氏县佳美印刷包装有限公司|C|small|411224100|城关镇产业集聚区经五路3号|55|contact|D-INDUSTRY|service|fully|
核桃产业|卢氏县核桃产业开发有限公司|C|small|411224107|东明镇后河村|70|contact|D-INDUSTRY|service|applied|
兴隆建材|卢氏县兴隆建材有限公司|C|small|411224107|东明镇涧北村|60|contact|D-INDUSTRY|service|reapplied|返岗人员来源地信息不完整，请逐一填写来源省市后重新申报。
朱阳关菌业|卢氏县朱阳关菌业有限公司|C|small|411224104|朱阳关镇杜店村|60|contact|D-INDUSTRY|service|applied|
山珍香菇|卢氏县山珍香菇种植有限公司|A|small|411224104|朱阳关镇朱阳关村|45|contact|D-AGRI|svc-industry|partly|
金源矿业|卢氏县金源矿业有限公司|B|medium|411224104|朱阳关镇夹河矿区|220|above contact|D-INDUSTRY|svc-industry|refused|井下作业人员密集、通风条件不满足防控要求，暂不同意复工，待疫情形势缓和后再行申报。
昌盛砂石|卢氏县昌盛砂石有限公司|B|small|411224104|朱阳关镇老君河沿岸|30|contact|D-INDUSTRY||refused|采砂点位于饮用水源保护区，且环保手续不全，不予复工。
连翘药材|卢氏县连翘中药材开发有限公司|A|small|411224104|朱阳关镇漂池村|35|contact|D-AGRI||fully|
宏远建筑|卢氏县宏远建筑工程有限公司|E|medium|411224100|城关镇解放路106号|150|above contact|D-INDUSTRY|svc-industry|partly|
城建市政|卢氏县城建市政工程有限公司|E|small|411224100|城关镇莘川大道东段21号|90|contact dormitory|D-INDUSTRY|svc-industry|returned|工地宿舍每间住8人，请按每间不超过4人调整住宿方案后重新申报。
杜关劳务|卢氏县杜关建筑劳务有限公司|E|small|411224101|杜关镇杜关村|120|contact|D-HRSS||applied|
万家福超市|卢氏县万家福商贸有限公司|F|small|411224100|城关镇人民路52号|40|contact|D-COMMERCE|svc-commerce|fully|
丰源农资|卢氏县丰源农资有限公司|F|micro|411224107|东明镇东明街12号|18|contact|D-AGRI|svc-commerce|fully|
华鑫超市|卢氏县华鑫超市有限公司|F|small|411224107|东明镇东明街36号|35|contact|D-COMMERCE|svc-commerce|approved|
顺通物流|卢氏县顺通物流有限公司|G|small|411224107|东明镇高速出口东侧|55|contact lagging|D-TRANSPORT|svc-transport|partly|
豫西运输|卢氏县豫西运输有限公司|G|medium|411224100|城关镇汽车站南院|130|above contact|D-TRANSPORT|svc-transport|approved|
鸿运快递|卢氏县鸿运快递有限公司|G|small|411224100|城关镇建设路9号|25|contact lagging|D-TRANSPORT|svc-transport|fully|
迎宾馆|卢氏县迎宾馆有限公司|H|small|411224100|城关镇迎宾路1号|65|contact|D-COMMERCE|svc-commerce|suspended|复查发现未落实入住人员测温登记，责令停业整改。
老城饭庄|卢氏县老城饭庄餐饮有限公司|H|micro|411224100|城关镇老城街17号|22||D-COMMERCE||not_started|
东明农家乐|卢氏县东明农家乐餐饮有限公司|H|micro|411224107|东明镇桥头村|8||D-COMMERCE||not_started|
兴贤里酒店|卢氏县兴贤里酒店管理有限公司|H|small|411224001|兴贤里街道滨河路28号|45|contact no_isolation|D-COMMERCE|svc-commerce|returned|未设置临时隔离观察室，请补充设置后重新申报。
绿源饮品|卢氏县绿源饮品有限公司|C|small|411224100|城关镇产业集聚区经二路7号|50|contact|D-INDUSTRY|svc-industry|suspended|一名员工为确诊病例的密切接触者，停产消杀，同班组人员居家隔离14天。
瑞丰面粉|卢氏县瑞丰面粉有限公司|C|small|411224100|城关镇西关村|40|contact few_masks|D-INDUSTRY|svc-industry|returned|口罩储备仅够3天，请按不少于7天用量储备后重新申报。
黑木耳科技|卢氏县黑木耳科技开发有限公司|C|small|411224100|城关镇东关村|48|contact|D-INDUSTRY|svc-industry|applied|
卢氏燃气|卢氏县天然气有限公司|D|small|411224100|城关镇莘川大道东段3号|60|key contact|D-INDUSTRY|svc-industry|fully|
官道口果业|卢氏县官道口果业有限公司|A|small|411224103|官道口镇官道口村|30|contact lagging|D-AGRI||partly|
五里川药材|卢氏县五里川中药材种植有限公司|A|micro|411224102|五里川镇五里川村|15|contact|D-AGRI||approved|
双龙湾旅游|卢氏县双龙湾旅游开发有限公司|N|small|411224108|双龙湾镇景区管理处|80||D-COMMERCE||not_started|
范里建材|卢氏县范里建材有限公司|C|small|411224106|范里镇范里村|40||D-INDUSTRY||not_started|
";

/// The register, parsed.
fn register() -> anyhow::Result<Vec<Firm>> {
    REGISTER
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&'static str> = line.split('|').map(str::trim).collect();
            anyhow::ensure!(f.len() == 12, "register line {line:?}: 12 fields");
            let flags: Vec<&str> = f[7].split_whitespace().collect();
            let has = |flag: &str| flags.contains(&flag);
            let supply = match () {
                _ if has("masks") => Supply::Masks,
                _ if has("disinfectant") => Supply::Disinfectant,
                _ if has("suits") => Supply::Suits,
                _ => Supply::None,
            };
            let flaw = match () {
                _ if has("dormitory") => Some(Flaw::Dormitory),
                _ if has("no_isolation") => Some(Flaw::NoIsolation),
                _ if has("few_masks") => Some(Flaw::FewMasks),
                _ => None,
            };
            Ok(Firm {
                short: f[0],
                name: f[1],
                sector: Sector::parse("sector", f[2])?,
                size: SizeClass::parse("size_class", f[3])?,
                town: f[4],
                street: f[5],
                employees: f[6].parse().with_context(|| format!("employees of {}", f[0]))?,
                above: has("above"),
                key: has("key"),
                supply,
                contact: has("contact"),
                lagging: has("lagging"),
                flaw,
                department: f[8],
                officer: f[9],
                stage: Stage::parse(f[10]).with_context(|| format!("stage of {}", f[0]))?,
                note: f[11],
            })
        })
        .collect()
}

/// The other service officers (the demo's `service` is the first): login,
/// department, title.
const OFFICERS: &[(&str, &str, &str)] = &[
    ("svc-industry", "D-INDUSTRY", "县工信局"),
    ("svc-commerce", "D-COMMERCE", "县商务局"),
    ("svc-transport", "D-TRANSPORT", "县交通运输局"),
];

/// Where returning staff come from.
const ORIGINS: &[&str] =
    &["陕西省商洛市", "河南省郑州市", "河南省洛阳市", "广东省", "浙江省", "江苏省", "山西省运城市"];

/// The characters of a credit code.
const CREDIT_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A valid, unused credit code registered in the county: `91` (an
/// enterprise registered by industry and commerce), `411224`, nine
/// characters of organisation code, and the check character.
fn credit_code(rng: &mut StdRng, taken: &mut HashSet<String>) -> anyhow::Result<CreditCode> {
    let pick = |rng: &mut StdRng| CREDIT_ALPHABET[rng.gen_range(0..CREDIT_ALPHABET.len())] as char;
    loop {
        // Newer registrations carry `MA…`; older ones an organisation code.
        let org: String = if rng.gen_bool(0.6) {
            format!("MA{}", (0..7).map(|_| pick(rng)).collect::<String>())
        } else {
            let digits: String = (0..8).map(|_| char::from(b'0' + rng.gen_range(0..10))).collect();
            format!("{digits}{}", pick(rng))
        };
        let first17 = format!("91411224{org}");
        let check = CreditCode::check_char(&first17).context("17 characters of the alphabet")?;
        let code = CreditCode::parse("credit_code", &format!("{first17}{check}"))?;
        if taken.insert(code.as_str().to_owned()) {
            return Ok(code);
        }
    }
}

fn mobile(rng: &mut StdRng) -> String {
    let second = *[3, 5, 7, 8, 9].choose(rng).expect("non-empty");
    format!("1{second}{:09}", rng.gen_range(0..1_000_000_000))
}

/// A plausible prevention plan, with the flaw a reviewer sent back.
fn plan(rng: &mut StdRng, f: &Firm, flaw: Option<Flaw>) -> anyhow::Result<PreventionPlan> {
    let dormitory = match flaw {
        Some(Flaw::Dormitory) => "工地活动板房集中住宿，每间8人",
        _ if f.employees >= 50 => "集体宿舍每间不超过4人，每日通风消毒",
        _ => "",
    };
    let draft = PreventionPlanDraft {
        mask_stock_days: Some(if matches!(flaw, Some(Flaw::FewMasks)) { 3 } else { rng.gen_range(10..=30) }),
        disinfection: [
            "每日早晚两次全面消毒，车间、食堂每两小时消毒一次",
            "每日三次消毒，门把手、电梯等重点部位专人擦拭",
        ]
        .choose(rng)
        .expect("non-empty")
        .to_string(),
        gate_temperature_checks: true,
        canteen: if f.employees >= 30 {
            "错峰分批就餐，一人一桌，同向而坐".into()
        } else {
            String::new()
        },
        dormitory: dormitory.into(),
        isolation_room: !matches!(flaw, Some(Flaw::NoIsolation)),
        emergency_contact_name: names::person(rng),
        emergency_contact_phone: mobile(rng),
    };
    draft.parse().map_err(fields)
}

/// Who will work: most local, some returning from named places, a few
/// still away.
fn workforce(rng: &mut StdRng, employees: u32) -> Workforce {
    let returning = employees * rng.gen_range(8..25) / 100;
    let still_away = employees * rng.gen_range(0..6) / 100;
    let local = employees - returning - still_away;
    let count = (returning as usize).min(rng.gen_range(1..=3));
    let mut origins: Vec<(String, u32)> = ORIGINS.choose_multiple(rng, count).map(|o| ((*o).to_owned(), 0)).collect();
    for i in 0..returning as usize {
        let n = origins.len();
        if n > 0 {
            // The first origin gets the most.
            origins[if i % 3 == 0 { i % n } else { 0 }].1 += 1;
        }
    }
    origins.retain(|(_, n)| *n > 0);
    Workforce { local, returning, returning_origins: origins, still_away }
}

/// Output value per person at full capacity and day, yuan.
fn value_per_head(sector: Sector) -> i64 {
    match sector {
        Sector::Mining => 1200,
        Sector::Manufacturing | Sector::Utilities => 900,
        Sector::Construction => 700,
        Sector::Trade => 600,
        Sector::Transport => 500,
        Sector::Hospitality => 300,
        _ => 350,
    }
}

/// A day's figures: `k` counts the days of running (0 the first), so that
/// people, capacity and epidemic-supply output grow over the week.
fn figures(rng: &mut StdRng, f: &Firm, partly: bool, k: i64) -> DailyReportDraft {
    let employees = i64::from(f.employees);
    let (from, step) = if partly { (35, 4) } else { (78, 3) };
    let pct = (from + step * k + rng.gen_range(-3..=3)).clamp(5, 100);
    let on_site = (employees * (pct + rng.gen_range(-4..=4)).clamp(5, 100) / 100).clamp(1, employees);
    let output = employees * pct * value_per_head(f.sector) / 100 * rng.gen_range(85..=115) / 100;
    let growth = |base: i64, per_day: i64, rng: &mut StdRng| base + per_day * k + rng.gen_range(0..=per_day / 2);
    let (masks, disinfectant, suits) = match f.supply {
        Supply::Masks => (growth(42_000, 6_000, rng), 0, 0),
        Supply::Disinfectant => (0, growth(1_800, 350, rng), 0),
        Supply::Suits => (0, 0, growth(600, 150, rng)),
        Supply::None => (0, 0, 0),
    };
    let problems = match (f.supply, k) {
        (Supply::Masks, 5..) => "熔喷布库存仅够3天生产，已提交诉求。",
        (Supply::Suits, _) => "压条机未到货，贴条工序靠手工，产能受限。",
        _ if partly && k == 6 && f.employees > 100 => "部分外地员工仍在隔离观察期，暂未返岗。",
        _ => "",
    };
    DailyReportDraft {
        on_site: Some(on_site),
        capacity_pct: Some(pct),
        output_value_yuan: Some(output),
        ppe_stock_days: Some(if f.supply == Supply::Masks { 30 } else { rng.gen_range(6..=20) }),
        raw_material_days: Some(if f.supply == Supply::Masks { 3 } else { rng.gen_range(5..=30) }),
        orders_on_hand_yuan: Some(output * rng.gen_range(8..=30)),
        masks: Some(masks),
        disinfectant_kg: Some(disinfectant),
        suits: Some(suits),
        problems: problems.into(),
    }
}

/// One enterprise as seeded, with who acts for it.
struct Seeded {
    firm: Firm,
    e: Enterprise,
    contact: Option<User>,
    officer: Option<User>,
}

impl Seeded {
    /// Who files for the enterprise: its contact, else its officer.
    fn filer(&self) -> anyhow::Result<&User> {
        self.contact.as_ref().or(self.officer.as_ref()).with_context(|| format!("{} has nobody to file", self.e.name))
    }
}

/// Seeds the officers, the register, the contacts (the demo `enterprise`
/// login among them), every enterprise's way to its stage, a week of
/// reports, the key projects and the tickets.
pub async fn seed(w: &Writer, demo: &mut Demo, demo_hash: &str, nobody_hash: &str) -> anyhow::Result<()> {
    let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(20_200_217);
    let officer_role = RoleName::parse("role", "service_officer")?;
    for (login, department, title) in OFFICERS {
        let command = Command::CreateUser {
            username: Username::parse("username", login)?,
            display_name: format!("{title} {}", names::person(&mut rng)),
            password_hash: nobody_hash.to_owned(),
            role: officer_role.clone(),
            org_unit: demo.unit(department).id,
            scope: None,
        };
        let u = w.submit(Actor::system(), command).await?.outcome.into_user()?;
        demo.users.insert((*login).to_owned(), u);
    }

    // The register, as the county's list was imported; then the contacts.
    let contact_role = RoleName::parse("role", "enterprise_contact")?;
    let mut taken = HashSet::new();
    let firms = register()?;
    let mut seeded = Vec::with_capacity(firms.len());
    for (i, f) in firms.into_iter().enumerate() {
        let town = demo.unit(f.town).clone();
        let officer = (!f.officer.is_empty())
            .then(|| demo.users.get(f.officer).cloned().with_context(|| format!("officer {}", f.officer)))
            .transpose()?;
        let draft = EnterpriseDraft {
            credit_code: credit_code(&mut rng, &mut taken)?,
            name: f.name.to_owned(),
            sector: f.sector,
            size_class: f.size,
            org_unit: town.id,
            address: format!("河南省卢氏县{}", f.street),
            above_designated: f.above,
            key_enterprise: f.key,
            epidemic_supplies: f.supply != Supply::None,
            employees: f.employees,
            service_officer: officer.as_ref().map(|u| u.id),
            department: Some(demo.unit(f.department).id),
        };
        let e = w.submit(Actor::system(), Command::CreateEnterprise(draft)).await?.outcome.into_enterprise()?;
        let contact = if !f.contact {
            None
        } else {
            // The first is the demo's own login, scoped to its enterprise.
            let (login, display, hash) = if i == 0 {
                ("enterprise".to_owned(), "企业联络员 刘洋".to_owned(), demo_hash)
            } else {
                (format!("contact{:02}", i + 1), format!("{} {}", f.short, names::person(&mut rng)), nobody_hash)
            };
            let command = Command::CreateUser {
                username: Username::parse("username", &login)?,
                display_name: display,
                password_hash: hash.to_owned(),
                role: contact_role.clone(),
                org_unit: town.id,
                scope: Some(e.scope.clone()),
            };
            let u = w.submit(Actor::system(), command).await?.outcome.into_user()?;
            demo.users.insert(login, u.clone());
            Some(u)
        };
        seeded.push(Seeded { firm: f, e, contact, officer });
    }

    let today = local_day(now_us());
    for s in &seeded {
        resume(w, demo, &mut rng, s, today).await.with_context(|| format!("resuming {}", s.e.name))?;
    }
    projects(w, &seeded, today).await.context("seeding key projects")?;
    tickets(w, &seeded).await.context("seeding tickets")?;
    Ok(())
}

/// Drives one enterprise to its stage through the real commands, with its
/// week of reports if it runs.
async fn resume(w: &Writer, demo: &Demo, rng: &mut StdRng, s: &Seeded, today: i64) -> anyhow::Result<()> {
    let f = &s.firm;
    let stage = f.stage;
    if stage == Stage::NotStarted {
        return Ok(());
    }
    let id = s.e.id;
    let filer = as_user(s.filer()?);
    // The township reviews; at 朱阳关 that is the demo's own cadre.
    let reviewer = if f.town == ZHUYANGGUAN { &demo.users["cadre"] } else { cadre_of(demo, f.town) };
    let reviewer = as_user(reviewer);
    let file = |plan: PreventionPlan, workforce: Workforce| {
        let new = NewApplication { id: RecordId::new_v7(), enterprise: id, plan, workforce };
        w.submit(filer.clone(), Command::FileResumption(new))
    };
    let first = file(plan(rng, f, f.flaw)?, workforce(rng, f.employees)).await?.outcome.into_application()?.0;
    let review = |application: RecordId, to: ResumptionStatus, note: &str| {
        let command = Command::ReviewResumption { application, to, note: note.to_owned() };
        w.submit(reviewer.clone(), command)
    };
    let approval = "同意复工。请严格落实测温、消毒、错峰就餐等防控措施，每日报送复工情况。";
    match stage {
        Stage::Applied | Stage::NotStarted => return Ok(()),
        Stage::Reapplied => {
            review(first.id, ResumptionStatus::Returned, f.note).await?;
            file(plan(rng, f, None)?, workforce(rng, f.employees)).await?;
            return Ok(());
        }
        Stage::Returned => {
            review(first.id, ResumptionStatus::Returned, f.note).await?;
            return Ok(());
        }
        Stage::Refused => {
            review(first.id, ResumptionStatus::Refused, f.note).await?;
            return Ok(());
        }
        _ => review(first.id, ResumptionStatus::Approved, approval).await?,
    };
    let set = |to: ResumptionStatus, note: String, who: Actor| {
        w.submit(who, Command::SetResumption { enterprise: id, to, note })
    };
    let partly = stage == Stage::Partly;
    let first_day = format!("首批{}名员工返岗，部分复工复产。", f.employees * rng.gen_range(30..45) / 100);
    match stage {
        Stage::Approved => return Ok(()),
        Stage::Partly | Stage::FullyViaPartly => {
            set(ResumptionStatus::PartlyResumed, first_day, filer.clone()).await?;
        }
        _ => {}
    }
    if !partly {
        set(ResumptionStatus::FullyResumed, "员工全部返岗，全面恢复生产经营。".into(), filer.clone()).await?;
    }
    // A week of reports, oldest first; the laggards have not sent today's,
    // the suspended stopped the day before.
    let last = match stage {
        Stage::Suspended => today - 1,
        _ if f.lagging => today - 1,
        _ => today,
    };
    for k in 0..REPORT_DAYS {
        let day = today - (REPORT_DAYS - 1) + k;
        if day > last {
            break;
        }
        let figures = figures(rng, f, partly, k).parse(f.employees).map_err(fields)?;
        let new = NewDailyReport { id: RecordId::new_v7(), enterprise: id, day, figures };
        w.submit(filer.clone(), Command::FileDailyReport(new)).await?;
    }
    if stage == Stage::Suspended {
        set(ResumptionStatus::Suspended, f.note.to_owned(), reviewer.clone()).await?;
    }
    Ok(())
}

fn find<'a>(seeded: &'a [Seeded], short: &str) -> anyhow::Result<&'a Seeded> {
    seeded.iter().find(|s| s.firm.short == short).with_context(|| format!("the demo seeds {short}"))
}

/// The two key projects: 宏达's new mask line on plan, 安盾's protective-suit
/// line late on its equipment. The service officer enters them; the
/// enterprises record what they reached.
async fn projects(w: &Writer, seeded: &[Seeded], today: i64) -> anyhow::Result<()> {
    use MilestoneKind::*;
    let service = seeded[0].officer.as_ref().context("宏达 has the demo service officer")?;
    // (kind, planned, reached) in days from today.
    type Plan = &'static [(MilestoneKind, i64, Option<i64>)];
    let masks: Plan = &[
        (Permits, -20, Some(-21)),
        (EquipmentOrdered, -16, Some(-16)),
        (EquipmentDelivered, -7, Some(-8)),
        (Installed, -2, Some(-2)),
        (TrialProduction, 2, None),
        (FullProduction, 7, None),
    ];
    let suits: Plan = &[
        (Permits, -18, Some(-18)),
        (EquipmentOrdered, -15, Some(-14)),
        (EquipmentDelivered, -6, None),
        (Installed, -2, None),
        (TrialProduction, 3, None),
        (FullProduction, 10, None),
    ];
    let list = [
        ("宏达防护", "熔喷布口罩生产线", "一次性医用口罩", 100_000, "只", masks, ""),
        (
            "安盾医疗",
            "医用防护服生产线",
            "医用一次性防护服",
            3_000,
            "套",
            suits,
            "设备到货延迟：热封压条机供应商在浙江，货车途经多地检查站滞留，预计延后一周到货。",
        ),
    ];
    for (short, name, product, capacity, unit, plan, blocking) in list {
        let s = find(seeded, short)?;
        let draft = ProjectDraft {
            enterprise: s.e.id,
            name: name.into(),
            product: product.into(),
            planned_daily_capacity: capacity,
            capacity_unit: unit.into(),
            milestones: plan
                .iter()
                .map(|(kind, planned, _)| MilestonePlan { kind: *kind, planned_day: today + planned, actual_day: None })
                .collect(),
            blocking: String::new(),
        };
        let project = w.submit(as_user(service), Command::CreateProject(draft)).await?.outcome.into_project()?;
        let reached: Vec<_> = plan.iter().filter_map(|(kind, _, done)| done.map(|d| (*kind, today + d))).collect();
        for (i, (kind, day)) in reached.iter().enumerate() {
            let last = i + 1 == reached.len();
            let command = Command::SetMilestone {
                project: project.id,
                kind: *kind,
                actual_day: Some(*day),
                blocking: (last && !blocking.is_empty()).then(|| blocking.to_owned()),
            };
            w.submit(as_user(s.filer()?), command).await?;
        }
    }
    Ok(())
}

/// The tickets, one a line: short name of the enterprise | category |
/// raised by (`contact` or `officer`) | title | problem | steps. A step is
/// `status:note`, `confirmed*rating:note` for a confirmation, the steps
/// separated by `;`. The officer works the ticket; the contact confirms or
/// reopens it.
const TICKET_PLANS: &str = "\
宏达防护|raw_materials|contact|熔喷布供应紧张|现有熔喷布库存仅够3天生产，原山东供应商限量供货，请协调省内熔喷布货源。|accepted:已受理，县工信局正在对接省工信厅熔喷布调配。;in_progress:已联系郑州两家熔喷布厂，正在商谈供货量。
宏达防护|logistics|contact|原料运输车辆通行证|从郑州运输耳带、鼻梁条的两辆货车需办理疫情防控应急物资运输通行证。|accepted:已受理，正在对接县交通运输局。;resolved:通行证已办理，车辆可走东明高速出口绿色通道。;confirmed*5:车辆已顺利进县，感谢！
宏达防护|labour|contact|返岗员工健康证明|23名外地返岗员工需开具健康证明，请协助安排集中体检。|accepted:已受理。;in_progress:已与县人民医院对接，安排周三集中体检。;resolved:23人体检完毕，健康证明已发放，请企业确认。
洁康消毒|raw_materials|contact|次氯酸钠原料短缺|消毒液主要原料次氯酸钠库存告急，原供货渠道中断，请帮助联系货源。|
安盾医疗|logistics|contact|防护服设备运输受阻|热封压条机从浙江发货，途经多地检查站滞留，请协调开通应急物资绿色通道。|accepted:已受理，正在联系沿途各地交通部门。
安盾医疗|finance|officer|设备采购资金缺口|防护服生产线设备款尚缺约300万元，申请疫情防控重点保障企业专项贷款及贴息。|accepted:已受理，县商务局对接农发行。;in_progress:农发行已上门调查，材料正在审核。
伏牛山菌业|logistics|contact|香菇外运物流中断|干香菇订单积压约40吨，外地物流车辆不愿进县，请协调运力。|accepted:已受理。;in_progress:已协调县内物流企业承运。;resolved:顺通物流已安排3辆车承运。;confirmed*4:已发出两车，运价略高，总体满意。
东明菌菇|labour|contact|采菇工人不足|菇棚进入采收期，缺采菇工约25人，请帮助招聘周边村民。|accepted:已受理，转县人社局。;resolved:已通过东明镇各村发布招工信息。;reopened:仅招到5人，缺口仍有20人，请继续协调。
鑫达钼业|permits|contact|安全生产许可证延期|安全生产许可证2月底到期，疫情期间无法现场复审，申请延期办理。|
恒通机械|utilities|contact|厂区用电增容|新增两台数控设备，需变压器增容至630千伏安，请协调供电公司加快办理。|accepted:已受理，已联系县供电公司。
豫卢纺织|policy|contact|社保费减免政策咨询|咨询阶段性减免企业社保费政策的适用条件和办理流程。|accepted:已受理。;resolved:已送达政策解读，按中型企业减半征收，无需申请。;confirmed*3:已了解，回复稍慢。
佳美印刷|finance|contact|流动资金贷款|原材料涨价，申请200万元流动资金贷款。|accepted:已受理。;in_progress:已推荐至县农商行。;resolved:农商行已受理贷款申请。;reopened:银行仍要求房产抵押，未能放款，请继续协调信用贷款。
顺通物流|logistics|contact|货车司机返岗隔离|6名外地货车司机返岗后需隔离14天，影响运力，请明确隔离要求。|
万家福超市|raw_materials|officer|蔬菜货源不足|蔬菜批发市场未开市，超市蔬菜供应不足，请协调货源。|accepted:已受理。;resolved:已对接县蔬菜基地每日直供。
宏远建筑|labour|contact|建筑工人返岗|在建项目需返岗工人80人，目前到岗30人，请协助点对点接回外地工人。|accepted:已受理，正在联系劳务输出地。
";

/// A seeded ticket.
struct TicketPlan {
    short: &'static str,
    category: TicketCategory,
    by_officer: bool,
    title: &'static str,
    body: &'static str,
    steps: Vec<(TicketStatus, Option<Satisfaction>, &'static str)>,
}

fn ticket_plans() -> anyhow::Result<Vec<TicketPlan>> {
    TICKET_PLANS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&'static str> = line.split('|').map(str::trim).collect();
            anyhow::ensure!(f.len() == 6, "ticket line {line:?}: 6 fields");
            let mut steps = Vec::new();
            for step in f[5].split(';').filter(|s| !s.trim().is_empty()) {
                let (head, note) = step.split_once(':').with_context(|| format!("step {step:?}"))?;
                let (status, rating) = match head.split_once('*') {
                    Some((s, r)) => (s, Some(Satisfaction::parse("rating", r.parse()?)?)),
                    None => (head, None),
                };
                steps.push((TicketStatus::parse("status", status)?, rating, note));
            }
            Ok(TicketPlan {
                short: f[0],
                category: TicketCategory::parse("category", f[1])?,
                by_officer: f[2] == "officer",
                title: f[3],
                body: f[4],
                steps,
            })
        })
        .collect()
}

/// The tickets, each raised and stepped by whom would.
async fn tickets(w: &Writer, seeded: &[Seeded]) -> anyhow::Result<()> {
    for plan in ticket_plans()? {
        let short = plan.short;
        let s = find(seeded, short)?;
        let officer = s.officer.as_ref().with_context(|| format!("{short} has a service officer"))?;
        let contact = s.contact.as_ref().with_context(|| format!("{short} has a contact"))?;
        let raiser = if plan.by_officer { officer } else { contact };
        let new = NewTicket {
            id: RecordId::new_v7(),
            subject: TicketSubject::Enterprise(s.e.id),
            category: plan.category,
            department: None,
            title: plan.title.into(),
            body: plan.body.into(),
            attachment: None,
            pass_request: None,
        };
        let (ticket, _) = w.submit(as_user(raiser), Command::RaiseTicket(new)).await?.outcome.into_ticket()?;
        for (status, rating, note) in plan.steps {
            let enterprises_word = matches!(status, TicketStatus::Confirmed | TicketStatus::Reopened);
            let who = if enterprises_word { contact } else { officer };
            let step = TicketStep { status: Some(status), note: note.into(), rating, attachment: None, route_to: None };
            w.submit(as_user(who), Command::StepTicket { id: ticket.id, step }).await?;
        }
    }
    Ok(())
}

/// New problems the simulator raises now and then.
const NEW_PROBLEMS: &[(TicketCategory, &str, &str)] = &[
    (TicketCategory::Logistics, "原材料运输通行证", "外省原材料运输车辆进县需办理通行证，请协助办理。"),
    (TicketCategory::Labour, "外地员工点对点返岗", "有一批外地员工需点对点接回，请协调包车和健康证明。"),
    (TicketCategory::RawMaterials, "包装材料短缺", "纸箱、包装袋供应商未复工，库存仅够一周，请帮助对接货源。"),
    (TicketCategory::Finance, "申请贷款贴息", "申请疫情期间流动资金贷款贴息，请告知办理流程。"),
    (TicketCategory::Utilities, "厂区用水压力不足", "复产后用水量增加，厂区水压不足，请协调自来水公司。"),
    (TicketCategory::Policy, "稳岗补贴申领", "咨询稳岗返还和以工代训补贴的申领条件。"),
    (TicketCategory::Permits, "食品生产许可证换证", "食品生产许可证即将到期，申请网上办理换证。"),
    (TicketCategory::Other, "测温枪采购困难", "需要红外测温枪10支，市场缺货，请帮助对接。"),
];

/// The enterprise's own contact, if it has one.
fn contact_of<'a>(demo: &'a Demo, e: &Enterprise) -> Option<&'a User> {
    demo.users.values().find(|u| u.role.as_str() == "enterprise_contact" && u.scope == e.scope)
}

fn user_by_id(demo: &Demo, id: shouwang_domain::UserId) -> Option<&User> {
    demo.users.values().find(|u| u.id == id)
}

/// Whether `u` is one of the demo's own logins, whose steps a real browser
/// takes: the simulator leaves them alone.
fn by_hand(u: &User) -> bool {
    crate::DEMO_LOGINS.contains(&u.username.as_str()) && u.username.as_str() != "service"
}

/// The simulator's view: the county as the commander sees it, and the
/// register. It acts only for the register's enterprises, so what a person
/// enters in the demo (an enterprise, its tickets) is theirs alone.
struct Sim<'a> {
    store: &'a Store,
    w: &'a Writer,
    demo: &'a Demo,
    viewer: Viewer<'a>,
    firms: Vec<Firm>,
}

impl Sim<'_> {
    fn firm(&self, name: &str) -> Option<&Firm> {
        self.firms.iter().find(|f| f.name == name)
    }

    /// The register's enterprises as they stand.
    async fn enterprises(&self) -> anyhow::Result<Vec<Enterprise>> {
        let all = self.store.enterprises_visible(&self.viewer).await?;
        Ok(all.into_iter().filter(|e| self.firm(&e.name).is_some()).collect())
    }
}

/// How long a resolved ticket waits before its enterprise gets round to
/// confirming it.
const CONFIRM_AFTER_US: i64 = 15 * 60_000_000;

/// One simulated step of the resumption of work: a running enterprise
/// files (or corrects) today's report, a ticket moves one step, or now and
/// then a new problem is raised. Reads what stands first, so every step
/// fits; the demo's own logins (but `service`) are left to a real browser.
pub async fn step(store: &Store, w: &Writer, demo: &Demo, rng: &mut StdRng) -> anyhow::Result<()> {
    let Some(commander) = demo.users.get("commander") else { return Ok(()) };
    let viewer = Viewer { scope: &commander.scope, user: commander.id };
    let sim = Sim { store, w, demo, viewer, firms: register()? };
    match rng.gen_range(0..20) {
        0..=9 => report(&sim, rng).await,
        10..=16 => move_ticket(&sim, rng).await,
        _ => raise(&sim, rng).await,
    }
}

/// A running enterprise (not a laggard) files today's report, or corrects
/// it when it is in: output and stock move, people on site stay as they
/// were (the dashboard's head count changes only with real reports).
async fn report(sim: &Sim<'_>, rng: &mut StdRng) -> anyhow::Result<()> {
    let today = local_day(now_us());
    let running: Vec<Enterprise> = sim
        .enterprises()
        .await?
        .into_iter()
        .filter(|e| e.status.is_resumed() && sim.firm(&e.name).is_some_and(|f| !f.lagging))
        .collect();
    // Those yet to report go first.
    let due: Vec<&Enterprise> = running.iter().filter(|e| e.last_report_day.is_none_or(|d| d < today)).collect();
    let Some(e) = due.choose(rng).copied().or_else(|| running.choose(rng)) else { return Ok(()) };
    let officer = e.service_officer_id.and_then(|id| user_by_id(sim.demo, id));
    let Some(filer) = contact_of(sim.demo, e).or(officer).filter(|u| !by_hand(u)) else { return Ok(()) };
    let Some(firm) = sim.firm(&e.name) else { return Ok(()) };
    let last = sim.store.daily_reports(e.id, 1).await?.into_iter().next();
    let draft = match last {
        // The latest figures, output a little up.
        Some(r) => {
            let f = r.figures;
            let up = |n: i64, rng: &mut StdRng| n + n * rng.gen_range(0..=6) / 100;
            DailyReportDraft {
                on_site: Some(i64::from(f.on_site)),
                capacity_pct: Some((i64::from(f.capacity_pct) + rng.gen_range(-2..=4)).clamp(5, 100)),
                output_value_yuan: Some(up(f.output_value_yuan, rng)),
                ppe_stock_days: Some(i64::from(f.ppe_stock_days).max(1) - i64::from(rng.gen_bool(0.3))),
                raw_material_days: Some(i64::from(f.raw_material_days)),
                orders_on_hand_yuan: Some(f.orders_on_hand_yuan),
                masks: Some(up(f.masks, rng)),
                disinfectant_kg: Some(up(f.disinfectant_kg, rng)),
                suits: Some(up(f.suits, rng)),
                problems: f.problems,
            }
        }
        None => figures(rng, firm, e.status == ResumptionStatus::PartlyResumed, 0),
    };
    let employees = u32::try_from(e.employees).unwrap_or(u32::MAX);
    let figures = draft.parse(employees).map_err(fields)?;
    let new = NewDailyReport { id: RecordId::new_v7(), enterprise: e.id, day: today, figures };
    sim.w.submit(as_user(filer), Command::FileDailyReport(new)).await?;
    Ok(())
}

/// A ticket of the register's not yet closed moves one step: its officer
/// accepts, starts or resolves it; a while after it was resolved, the
/// enterprise confirms with a rating, or now and then reopens it.
async fn move_ticket(sim: &Sim<'_>, rng: &mut StdRng) -> anyhow::Result<()> {
    let now = now_us();
    let open = sim.store.tickets_visible(&sim.viewer, true).await?;
    let movable: Vec<&Ticket> = open
        .iter()
        .filter(|t| sim.firm(&t.subject_name).is_some())
        .filter(|t| t.status != TicketStatus::Resolved || t.resolved_us.is_some_and(|r| now - r > CONFIRM_AFTER_US))
        .collect();
    let Some(t) = movable.choose(rng) else { return Ok(()) };
    let Some(e) = t.enterprise_id else { return Ok(()) };
    let e = sim.store.enterprise(e).await?;
    let officer = t.officer_id.and_then(|id| user_by_id(sim.demo, id));
    let own = contact_of(sim.demo, &e).or_else(|| user_by_id(sim.demo, t.raised_by));
    let (who, status, note, rating) = match t.status {
        TicketStatus::Open | TicketStatus::Reopened => {
            (officer, TicketStatus::Accepted, "已受理，正在对接相关部门。", None)
        }
        TicketStatus::Accepted => (officer, TicketStatus::InProgress, "已联系相关单位，正在协调办理。", None),
        TicketStatus::InProgress => (officer, TicketStatus::Resolved, "已协调解决，请企业确认。", None),
        TicketStatus::Resolved if rng.gen_bool(0.15) => {
            (own, TicketStatus::Reopened, "问题仍未完全解决，请继续协调。", None)
        }
        TicketStatus::Resolved => {
            let stars = *[3, 4, 4, 5, 5, 5].choose(rng).expect("non-empty");
            (own, TicketStatus::Confirmed, "问题已解决，感谢帮助。", Some(Satisfaction::parse("rating", stars)?))
        }
        TicketStatus::Confirmed => return Ok(()),
    };
    // Without someone to act, or when the demo's own login would, it waits.
    let Some(who) = who.filter(|u| !by_hand(u)) else { return Ok(()) };
    let step = TicketStep { status: Some(status), note: note.into(), rating, attachment: None, route_to: None };
    sim.w.submit(as_user(who), Command::StepTicket { id: t.id, step }).await?;
    Ok(())
}

/// A running or approved enterprise of the register raises a new problem
/// (unless plenty are open already).
async fn raise(sim: &Sim<'_>, rng: &mut StdRng) -> anyhow::Result<()> {
    if sim.store.tickets_visible(&sim.viewer, true).await?.len() >= 30 {
        return Ok(());
    }
    let candidates: Vec<Enterprise> = sim
        .enterprises()
        .await?
        .into_iter()
        .filter(|e| e.status.is_resumed() || e.status == ResumptionStatus::Approved)
        .filter(|e| contact_of(sim.demo, e).is_some_and(|u| !by_hand(u)))
        .collect();
    let Some(e) = candidates.choose(rng) else { return Ok(()) };
    let Some(raiser) = contact_of(sim.demo, e) else { return Ok(()) };
    let (category, title, body) = *NEW_PROBLEMS.choose(rng).expect("non-empty");
    let new = NewTicket {
        id: RecordId::new_v7(),
        subject: TicketSubject::Enterprise(e.id),
        category,
        department: None,
        title: title.into(),
        body: body.into(),
        attachment: None,
        pass_request: None,
    };
    sim.w.submit(as_user(raiser), Command::RaiseTicket(new)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_register_has_every_stage_in_the_townships() {
        let firms = register().unwrap();
        assert!((30..=40).contains(&firms.len()), "{}", firms.len());
        assert_eq!(firms[0].name, "卢氏县宏达防护用品有限公司");
        assert!(firms[0].contact && firms[0].officer == "service" && firms[0].town == super::super::DONGMING);
        use Stage::*;
        for stage in [NotStarted, Applied, Reapplied, Returned, Refused, Approved, Partly, Fully, Suspended] {
            assert!(firms.iter().any(|f| f.stage == stage), "{stage:?}");
        }
        for f in &firms {
            let reasoned = matches!(f.stage, Reapplied | Returned | Refused | Suspended);
            assert_eq!(!f.note.is_empty(), reasoned, "{}", f.short);
            assert!((8..=1200).contains(&f.employees), "{}", f.short);
            // Whoever files must exist: a contact or an officer.
            assert!(f.stage == NotStarted || f.contact || !f.officer.is_empty(), "{}", f.short);
            assert!(!f.lagging || matches!(f.stage, Partly | Fully | FullyViaPartly), "{}", f.short);
        }
        let served = firms.iter().filter(|f| f.officer == "service").count();
        assert!((10..=14).contains(&served), "{served}");
        let names: HashSet<_> = firms.iter().map(|f| f.short).collect();
        assert_eq!(names.len(), firms.len());
        let supplies: Vec<_> = firms.iter().map(|f| f.supply).filter(|s| *s != Supply::None).collect();
        assert_eq!(supplies, [Supply::Masks, Supply::Disinfectant, Supply::Suits]);
    }

    #[test]
    fn credit_codes_are_valid_and_distinct() {
        let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(7);
        let mut taken = HashSet::new();
        for _ in 0..200 {
            let code = credit_code(&mut rng, &mut taken).unwrap();
            assert!(code.as_str().starts_with("91411224"));
            assert_eq!(CreditCode::parse("c", code.as_str()).unwrap(), code);
        }
        assert_eq!(taken.len(), 200);
    }

    #[test]
    fn tickets_reach_every_state_by_allowed_steps() {
        let firms = register().unwrap();
        let mut reached = HashSet::new();
        for t in ticket_plans().unwrap() {
            let f = firms.iter().find(|f| f.short == t.short).unwrap();
            assert!(f.contact && !f.officer.is_empty(), "{}", t.short);
            assert!(t.title.chars().count() <= 60 && !t.body.is_empty());
            let mut status = TicketStatus::Open;
            for (to, rating, note) in &t.steps {
                status = status.step(*to).unwrap();
                assert_eq!(rating.is_some(), *to == TicketStatus::Confirmed);
                assert!(!note.is_empty());
            }
            reached.insert(status);
        }
        assert_eq!(reached.len(), TicketStatus::ALL.len(), "{reached:?}");
    }

    #[test]
    fn plans_workforces_and_reports_pass_the_domain_checks() {
        let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(9);
        for f in register().unwrap() {
            let p = plan(&mut rng, &f, f.flaw).unwrap();
            assert_eq!(
                p.is_complete_for_approval().is_empty(),
                !matches!(f.flaw, Some(Flaw::FewMasks | Flaw::NoIsolation))
            );
            workforce(&mut rng, f.employees).check(f.employees).unwrap();
            for k in 0..REPORT_DAYS {
                for partly in [false, true] {
                    figures(&mut rng, &f, partly, k).parse(f.employees).unwrap();
                }
            }
        }
    }
}
