//! Labour export (劳务输出): the labour pool of the villages, the positions
//! employers offer, matching the one to the other, and the organised
//! point-to-point transport (点对点) that takes placed workers to work.
//!
//! The flow, and the type that carries each step:
//!
//! ```text
//! WorkerDraft ─parse→ WorkerFields      (a villager joins the pool)
//! DemandDraft ─parse→ DemandFields      (an employer offers positions)
//! rank(demand, candidates, today) → Vec<Suggestion>   (who fits, and why)
//! the township confirms a placement     PlacementState::Confirmed
//! a batch is planned, each passenger checked (temperature) before departure
//! BatchState::Planned → Departed → Arrived, the placements with it
//! ```
//!
//! Drafts arrive loose, as JSON or a form sends them; their `parse` reports
//! every bad field at once, named as the client knows it (`skills[1]`).
//! Days are whole days since 1970-01-01, as [`crate::calendar`] counts them;
//! a period's end is inclusive and `None` means open-ended.

use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::checkpoint::choice_enum;
use crate::screening::{BodyTemperature, MobilePhone, PersonName};
use crate::text::BoundedText;
use crate::{EnterpriseId, HouseholdId, OrgUnitId, WorkerId};

choice_enum! {
    /// What a worker can do, or a position asks for.
    Skill {
        /// 建筑.
        Construction = "construction",
        /// 制造、流水线.
        Manufacturing = "manufacturing",
        /// 电工.
        Electrician = "electrician",
        /// 焊工.
        Welding = "welding",
        /// 驾驶.
        Driving = "driving",
        /// 缝纫.
        Sewing = "sewing",
        /// 厨师、餐饮.
        Cooking = "cooking",
        /// 护理、家政.
        Caregiving = "caregiving",
        /// 农业.
        Farming = "farming",
        /// 普工.
        General = "general",
    }
}

choice_enum! {
    /// A worker's health as the village clinic last found it.
    HealthStatus {
        /// Fit to travel and work.
        Healthy = "healthy",
        /// Under medical observation: may be placed, ranked lower.
        Observation = "observation",
        /// Unwell: never suggested, never placed.
        Unwell = "unwell",
    }
}

choice_enum! {
    /// How far from home a position is.
    Region {
        /// 县内: within the county.
        County = "county",
        /// 省内: elsewhere in the province.
        Province = "province",
        /// 省外: outside the province.
        Outside = "outside",
    }
}

choice_enum! {
    /// Where a placement stands.
    PlacementState {
        /// The township confirmed it; the worker has not left yet.
        Confirmed = "confirmed",
        /// On the road with a transport batch.
        Departed = "departed",
        /// The receiving side confirmed arrival.
        Arrived = "arrived",
        /// Called off before departure.
        Cancelled = "cancelled",
    }
}

impl PlacementState {
    /// Whether the placement holds the worker's time (all but cancelled).
    pub fn is_live(self) -> bool {
        self != Self::Cancelled
    }

    /// Checks a change: confirmed → departed or cancelled; departed →
    /// arrived. Nothing else, and never to itself.
    pub fn step(self, to: PlacementState) -> Result<PlacementState, FieldError> {
        use PlacementState::*;
        match (self, to) {
            (Confirmed, Departed | Cancelled) | (Departed, Arrived) => Ok(to),
            _ => Err(FieldError::new("state", "invalid_transition").arg("from", self.as_str()).arg("to", to.as_str())),
        }
    }
}

choice_enum! {
    /// Where a transport batch stands.
    BatchState {
        /// Planned: passengers may be added and checked.
        Planned = "planned",
        /// On the road.
        Departed = "departed",
        /// Arrived, confirmed by the receiving side.
        Arrived = "arrived",
    }
}

impl BatchState {
    /// Checks a change: planned → departed → arrived.
    pub fn step(self, to: BatchState) -> Result<BatchState, FieldError> {
        match (self, to) {
            (Self::Planned, Self::Departed) | (Self::Departed, Self::Arrived) => Ok(to),
            _ => Err(FieldError::new("state", "invalid_transition").arg("from", self.as_str()).arg("to", to.as_str())),
        }
    }
}

/// Whether two periods of days share a day. Ends are inclusive; `None` is
/// open-ended.
pub fn overlaps(a_start: i64, a_end: Option<i64>, b_start: i64, b_end: Option<i64>) -> bool {
    a_start <= b_end.unwrap_or(i64::MAX) && b_start <= a_end.unwrap_or(i64::MAX)
}

/// Parses a required `YYYY-MM-DD` (see [`crate::calendar::parse_day`]).
pub fn parse_day(field: &str, raw: &str) -> Result<i64, FieldError> {
    if raw.trim().is_empty() {
        return Err(FieldError::new(field, "required"));
    }
    crate::calendar::parse_day(field, raw)
}

/// The value, or `None` with its error recorded.
fn keep<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// A list of choices, each checked (`field[i]`), repeats dropped.
fn choices<T: Copy + PartialEq>(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: &[String],
    parse: fn(&str, &str) -> Result<T, FieldError>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        if let Some(v) = keep(errors, parse(&format!("{field}[{i}]"), s))
            && !out.contains(&v)
        {
            out.push(v);
        }
    }
    out
}

/// A whole number in `min..=max`, required.
fn whole(field: &str, raw: Option<i64>, min: i64, max: i64) -> Result<i64, FieldError> {
    let n = raw.ok_or_else(|| FieldError::new(field, "required"))?;
    crate::checkpoint::int_in(field, n, min, max)
}

/// A worker as submitted (a form or JSON), before any check. `Debug` hides
/// the name and the phone.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerDraft {
    /// Full name.
    pub name: String,
    /// Mobile number; may be blank.
    pub phone: String,
    /// The village (org unit) they live in.
    pub village_id: Option<i64>,
    /// The registered household they come from, if any.
    pub household_id: Option<i64>,
    /// Age in years.
    pub age: Option<i64>,
    /// What they can do: [`Skill`] names.
    pub skills: Vec<String>,
    /// [`HealthStatus`] name.
    pub health: String,
    /// The day of the last health check, `YYYY-MM-DD`.
    pub last_check: String,
    /// From which day they can leave, `YYYY-MM-DD`.
    pub available_from: String,
    /// Where they would go: [`Region`] names.
    pub destinations: Vec<String>,
    /// Anything else.
    pub note: String,
}

impl std::fmt::Debug for WorkerDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerDraft")
            .field("name", &format_args!("<redacted>"))
            .field("phone", &format_args!("<redacted>"))
            .field("village_id", &self.village_id)
            .field("household_id", &self.household_id)
            .field("age", &self.age)
            .field("skills", &self.skills)
            .field("health", &self.health)
            .field("last_check", &self.last_check)
            .field("available_from", &self.available_from)
            .field("destinations", &self.destinations)
            .finish_non_exhaustive()
    }
}

/// A worker's details, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerFields {
    /// Full name (personal data).
    pub name: PersonName,
    /// Mobile number (personal data).
    pub phone: Option<MobilePhone>,
    /// Their village.
    pub village: OrgUnitId,
    /// Their registered household.
    pub household: Option<HouseholdId>,
    /// Age, 16–65.
    pub age: u8,
    /// At least one skill, no repeats.
    pub skills: Vec<Skill>,
    /// Health.
    pub health: HealthStatus,
    /// The last health check, not after today.
    pub last_check_day: i64,
    /// Available from.
    pub available_day: i64,
    /// At least one region, no repeats.
    pub destinations: Vec<Region>,
    /// Up to 200 characters.
    pub note: String,
}

impl WorkerFields {
    /// The youngest worker placed (the labour law's minimum age).
    pub const MIN_AGE: i64 = 16;
    /// The oldest.
    pub const MAX_AGE: i64 = 65;
}

impl WorkerDraft {
    /// Checks every field against `today`, reporting all bad ones: name
    /// (1–32 characters), phone (a mobile number, or blank), village, age
    /// 16–65, at least one skill, health, last check (a date not after
    /// today), available from (a date), at least one destination, note (up
    /// to 200 characters).
    pub fn parse(&self, today: i64) -> Result<WorkerFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let name = keep(e, PersonName::parse("name", &self.name));
        let phone = if self.phone.trim().is_empty() {
            Some(None)
        } else {
            keep(e, MobilePhone::parse("phone", &self.phone)).map(Some)
        };
        let village = keep(e, self.village_id.map(OrgUnitId).ok_or_else(|| FieldError::new("village_id", "required")));
        let age = keep(e, whole("age", self.age, WorkerFields::MIN_AGE, WorkerFields::MAX_AGE));
        let skills = choices(e, "skills", &self.skills, Skill::parse);
        if self.skills.is_empty() {
            e.push(FieldError::new("skills", "required"));
        }
        let health = keep(e, HealthStatus::parse("health", &self.health));
        let last_check_day = keep(
            e,
            parse_day("last_check", &self.last_check)
                .and_then(|d| if d > today { Err(FieldError::new("last_check", "in_future")) } else { Ok(d) }),
        );
        let available_day = keep(e, parse_day("available_from", &self.available_from));
        let destinations = choices(e, "destinations", &self.destinations, Region::parse);
        if self.destinations.is_empty() {
            e.push(FieldError::new("destinations", "required"));
        }
        let note = keep(e, BoundedText::<200>::parse_optional("note", &self.note));
        match (name, phone, village, age, health, last_check_day, available_day, note) {
            (
                Some(name),
                Some(phone),
                Some(village),
                Some(age),
                Some(health),
                Some(last_check_day),
                Some(available_day),
                Some(note),
            ) if errors.is_empty() => Ok(WorkerFields {
                name,
                phone,
                village,
                household: self.household_id.map(HouseholdId),
                // In 16..=65, so it fits.
                age: u8::try_from(age).expect("the age is checked to be 16–65"),
                skills,
                health,
                last_check_day,
                available_day,
                destinations,
                note,
            }),
            _ => Err(errors),
        }
    }
}

/// Positions as an employer offers them, before any check.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemandDraft {
    /// A local enterprise (its name becomes the employer's).
    pub enterprise_id: Option<i64>,
    /// An outside employer's name (required without an enterprise).
    pub employer: String,
    /// Where the work is, e.g. 郑州市航空港区.
    pub location: String,
    /// [`Region`] name.
    pub region: String,
    /// How many positions, 1–500.
    pub positions: Option<i64>,
    /// Skills asked for ([`Skill`] names); none: anyone.
    pub skills: Vec<String>,
    /// Monthly pay in yuan, 0–100000.
    pub pay_yuan_month: Option<i64>,
    /// First day of work, `YYYY-MM-DD`.
    pub start: String,
    /// Last day of work, `YYYY-MM-DD`; blank: open-ended.
    pub end: String,
    /// Whether the employer houses the workers.
    pub accommodation: bool,
    /// Anything else.
    pub note: String,
}

/// Positions offered, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandFields {
    /// The local enterprise offering them.
    pub enterprise: Option<EnterpriseId>,
    /// The outside employer's name (blank with an enterprise).
    pub employer: String,
    /// Where the work is.
    pub location: String,
    /// How far that is.
    pub region: Region,
    /// How many, 1–500.
    pub positions: u16,
    /// Skills asked for; empty: anyone.
    pub skills: Vec<Skill>,
    /// Monthly pay, yuan.
    pub pay_yuan_month: i64,
    /// First day.
    pub start_day: i64,
    /// Last day (not before the first); `None`: open-ended.
    pub end_day: Option<i64>,
    /// Housing provided.
    pub accommodation: bool,
    /// Up to 500 characters.
    pub note: String,
}

impl DemandFields {
    /// The most positions one posting offers.
    pub const MAX_POSITIONS: i64 = 500;
    /// The highest monthly pay accepted, yuan.
    pub const MAX_PAY: i64 = 100_000;
}

impl DemandDraft {
    /// Checks every field, reporting all bad ones: an enterprise or an
    /// employer's name (up to 60 characters), location (1–100), region,
    /// positions 1–500, skills, pay 0–100000 yuan a month, start (a date),
    /// end (a date not before the start, or blank), note (up to 500).
    pub fn parse(&self) -> Result<DemandFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let employer = keep(e, BoundedText::<60>::parse_optional("employer", &self.employer));
        if self.enterprise_id.is_none() && employer.as_ref().is_some_and(String::is_empty) {
            e.push(FieldError::new("employer", "required"));
        }
        let location = keep(e, BoundedText::<100>::parse("location", &self.location).map(BoundedText::into_string));
        let region = keep(e, Region::parse("region", &self.region));
        let positions = keep(e, whole("positions", self.positions, 1, DemandFields::MAX_POSITIONS));
        let skills = choices(e, "skills", &self.skills, Skill::parse);
        let pay = keep(e, whole("pay_yuan_month", self.pay_yuan_month, 0, DemandFields::MAX_PAY));
        let start_day = keep(e, parse_day("start", &self.start));
        let end_day =
            if self.end.trim().is_empty() { Some(None) } else { keep(e, parse_day("end", &self.end)).map(Some) };
        if let (Some(start), Some(Some(end))) = (start_day, end_day)
            && end < start
        {
            e.push(FieldError::new("end", "before_start"));
        }
        let note = keep(e, BoundedText::<500>::parse_optional("note", &self.note));
        match (employer, location, region, positions, pay, start_day, end_day, note) {
            (
                Some(employer),
                Some(location),
                Some(region),
                Some(positions),
                Some(pay_yuan_month),
                Some(start_day),
                Some(end_day),
                Some(note),
            ) if errors.is_empty() => Ok(DemandFields {
                enterprise: self.enterprise_id.map(EnterpriseId),
                employer,
                location,
                region,
                positions: u16::try_from(positions).expect("positions are checked to be 1–500"),
                skills,
                pay_yuan_month,
                start_day,
                end_day,
                accommodation: self.accommodation,
                note,
            }),
            _ => Err(errors),
        }
    }
}

/// A worker as the ranking sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Who.
    pub worker: WorkerId,
    /// Their skills.
    pub skills: Vec<Skill>,
    /// Their health.
    pub health: HealthStatus,
    /// Their last health check.
    pub last_check_day: i64,
    /// Available from.
    pub available_day: i64,
    /// Where they would go.
    pub destinations: Vec<Region>,
    /// The periods their live placements hold (start, end).
    pub busy: Vec<(i64, Option<i64>)>,
}

/// What the ranking looks at in a demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    /// Skills asked for; empty: anyone.
    pub skills: Vec<Skill>,
    /// How far.
    pub region: Region,
    /// First day.
    pub start_day: i64,
    /// Last day.
    pub end_day: Option<i64>,
}

choice_enum! {
    /// Why a suggestion scored what it did; each is shown beside it.
    Reason {
        /// Has every skill asked for.
        SkillsAll = "skills_all",
        /// Has some of the skills asked for.
        SkillsSome = "skills_some",
        /// Has none of the skills asked for.
        SkillsNone = "skills_none",
        /// The position asks for no particular skill.
        SkillsAny = "skills_any",
        /// Available by the first day.
        Available = "available",
        /// Available within a week of the first day.
        AvailableSoon = "available_soon",
        /// Available later than a week after the first day.
        AvailableLate = "available_late",
        /// Would go to the position's region.
        WantsRegion = "wants_region",
        /// Would rather go elsewhere.
        PrefersElsewhere = "prefers_elsewhere",
        /// Healthy.
        Healthy = "healthy",
        /// Under medical observation.
        Observation = "observation",
        /// Health checked within the last two weeks.
        CheckRecent = "check_recent",
        /// Health last checked more than two weeks ago.
        CheckStale = "check_stale",
    }
}

impl Reason {
    /// What the reason adds to the score.
    pub fn points(self) -> u32 {
        match self {
            Self::SkillsAll => 40,
            Self::SkillsSome => 25,
            Self::SkillsAny => 30,
            Self::Available => 25,
            Self::AvailableSoon => 10,
            Self::WantsRegion => 20,
            Self::Healthy => 15,
            Self::Observation => 5,
            Self::CheckRecent => 10,
            Self::SkillsNone | Self::AvailableLate | Self::PrefersElsewhere | Self::CheckStale => 0,
        }
    }
}

/// A worker suggested for a demand, with the reasons for the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// Who.
    pub worker: WorkerId,
    /// Higher is better (at most 110).
    pub score: u32,
    /// What made the score, in the order skills, availability,
    /// destination, health, check.
    pub reasons: Vec<Reason>,
}

/// A health check older than this many days ranks lower.
pub const CHECK_FRESH_DAYS: i64 = 14;
/// Available within this many days after the start still counts a little.
pub const AVAILABLE_GRACE_DAYS: i64 = 7;

/// Ranks `candidates` for `demand` on `today`: skills in common, available
/// by the first day, wanting to go to the demand's region, health, and how
/// recent the health check is. The unwell, and those whose live placements
/// overlap the demand's dates, are left out. Best first; ties go to who is
/// available earlier, then to the lower id.
pub fn rank(demand: &Opening, candidates: &[Candidate], today: i64) -> Vec<Suggestion> {
    let mut out: Vec<(i64, Suggestion)> = candidates
        .iter()
        .filter(|c| c.health != HealthStatus::Unwell)
        .filter(|c| !c.busy.iter().any(|&(s, e)| overlaps(s, e, demand.start_day, demand.end_day)))
        .map(|c| {
            let mut reasons = Vec::with_capacity(5);
            let shared = demand.skills.iter().filter(|s| c.skills.contains(s)).count();
            reasons.push(match shared {
                _ if demand.skills.is_empty() => Reason::SkillsAny,
                0 => Reason::SkillsNone,
                n if n == demand.skills.len() => Reason::SkillsAll,
                _ => Reason::SkillsSome,
            });
            reasons.push(if c.available_day <= demand.start_day {
                Reason::Available
            } else if c.available_day <= demand.start_day + AVAILABLE_GRACE_DAYS {
                Reason::AvailableSoon
            } else {
                Reason::AvailableLate
            });
            reasons.push(if c.destinations.contains(&demand.region) {
                Reason::WantsRegion
            } else {
                Reason::PrefersElsewhere
            });
            reasons.push(if c.health == HealthStatus::Healthy { Reason::Healthy } else { Reason::Observation });
            reasons.push(if today - c.last_check_day > CHECK_FRESH_DAYS {
                Reason::CheckStale
            } else {
                Reason::CheckRecent
            });
            let score = reasons.iter().map(|r| r.points()).sum();
            (c.available_day, Suggestion { worker: c.worker, score, reasons })
        })
        .collect();
    out.sort_by(|(a_day, a), (b_day, b)| {
        b.score.cmp(&a.score).then(a_day.cmp(b_day)).then(a.worker.0.cmp(&b.worker.0))
    });
    out.into_iter().map(|(_, s)| s).collect()
}

/// A passenger's check before departure: the temperature taken, and whether
/// they may travel (below 37.3 °C).
pub fn passes_check(temperature: BodyTemperature) -> bool {
    !temperature.is_fever()
}

/// Why a batch may not depart: `passengers` `required` with none aboard,
/// `unchecked` (with `count`) while any passenger is unchecked or failed
/// the check. `checks` holds each passenger's result: `None` unchecked,
/// `Some(passed)`.
pub fn may_depart(checks: &[Option<bool>]) -> Result<(), FieldError> {
    if checks.is_empty() {
        return Err(FieldError::new("passengers", "required"));
    }
    let not_ready = checks.iter().filter(|c| **c != Some(true)).count();
    if not_ready > 0 {
        return Err(FieldError::new("passengers", "unchecked").arg("count", not_ready));
    }
    Ok(())
}

/// Checks a batch's passenger list against its seats: no repeats
/// (`passengers[i]` `duplicate`), at most `seats` (`passengers`
/// `over_seats`, with `seats` and `count`).
pub fn check_seats(passengers: &[i64], seats: i64) -> Result<(), FieldError> {
    for (i, p) in passengers.iter().enumerate() {
        if passengers[..i].contains(p) {
            return Err(FieldError::new(format!("passengers[{i}]"), "duplicate"));
        }
    }
    if passengers.len() as i64 > seats {
        return Err(FieldError::new("passengers", "over_seats").arg("seats", seats).arg("count", passengers.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::days_from_civil;
    use proptest::prelude::*;

    fn day(m: i64, d: i64) -> i64 {
        days_from_civil(2020, m, d)
    }

    fn fields(errors: &[FieldError]) -> Vec<(&str, &'static str)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    fn worker() -> WorkerDraft {
        WorkerDraft {
            name: " 王建国 ".into(),
            phone: "138 0013 8000".into(),
            village_id: Some(7),
            household_id: None,
            age: Some(34),
            skills: vec!["construction".into(), "welding".into(), "construction".into()],
            health: "healthy".into(),
            last_check: "2020-02-20".into(),
            available_from: "2020-03-01".into(),
            destinations: vec!["province".into()],
            note: String::new(),
        }
    }

    #[test]
    fn a_good_worker_parses_normalised() {
        let w = worker().parse(day(2, 24)).unwrap();
        assert_eq!(w.name.expose(), "王建国");
        assert_eq!(w.phone.unwrap().expose(), "13800138000");
        assert_eq!(w.skills, [Skill::Construction, Skill::Welding]);
        assert_eq!((w.age, w.last_check_day, w.available_day), (34, day(2, 20), day(3, 1)));
        let no_phone = WorkerDraft { phone: " ".into(), ..worker() }.parse(day(2, 24)).unwrap();
        assert_eq!(no_phone.phone, None);
        let debug = format!("{:?} {:?}", worker(), worker().parse(day(2, 24)).unwrap());
        assert!(!debug.contains("王建国") && !debug.contains("0013"), "{debug}");
    }

    #[test]
    fn a_bad_worker_reports_every_field() {
        let draft = WorkerDraft {
            name: String::new(),
            phone: "12345".into(),
            village_id: None,
            age: Some(15),
            skills: vec!["juggling".into()],
            health: "fine".into(),
            last_check: "2020-02-25".into(),
            available_from: "2020-02-30".into(),
            destinations: vec![],
            note: "注".repeat(201),
            ..worker()
        };
        assert_eq!(
            fields(&draft.parse(day(2, 24)).unwrap_err()),
            [
                ("name", "required"),
                ("phone", "invalid_phone"),
                ("village_id", "required"),
                ("age", "out_of_range"),
                ("skills[0]", "invalid_choice"),
                ("health", "invalid_choice"),
                ("last_check", "in_future"),
                ("available_from", "invalid_date"),
                ("destinations", "required"),
                ("note", "too_long"),
            ]
        );
        let old = WorkerDraft { age: Some(66), skills: vec![], ..worker() }.parse(day(2, 24)).unwrap_err();
        assert_eq!(fields(&old), [("age", "out_of_range"), ("skills", "required")]);
        assert_eq!(old[0].args, [("min", "16".to_owned()), ("max", "65".to_owned())]);
    }

    fn demand() -> DemandDraft {
        DemandDraft {
            enterprise_id: None,
            employer: "郑州富士康".into(),
            location: "郑州市航空港区".into(),
            region: "province".into(),
            positions: Some(30),
            skills: vec!["manufacturing".into()],
            pay_yuan_month: Some(4500),
            start: "2020-03-01".into(),
            end: "2020-08-31".into(),
            accommodation: true,
            note: String::new(),
        }
    }

    #[test]
    fn a_good_demand_parses() {
        let d = demand().parse().unwrap();
        assert_eq!((d.positions, d.start_day, d.end_day), (30, day(3, 1), Some(day(8, 31))));
        let open = DemandDraft { end: String::new(), skills: vec![], ..demand() }.parse().unwrap();
        assert_eq!((open.end_day, open.skills.len()), (None, 0));
        let local = DemandDraft { enterprise_id: Some(3), employer: String::new(), ..demand() }.parse().unwrap();
        assert_eq!(local.enterprise, Some(EnterpriseId(3)));
    }

    #[test]
    fn a_bad_demand_reports_every_field() {
        let draft = DemandDraft {
            employer: "  ".into(),
            location: String::new(),
            region: "abroad".into(),
            positions: Some(501),
            pay_yuan_month: Some(-1),
            start: "2020-03-10".into(),
            end: "2020-03-09".into(),
            ..demand()
        };
        assert_eq!(
            fields(&draft.parse().unwrap_err()),
            [
                ("employer", "required"),
                ("location", "required"),
                ("region", "invalid_choice"),
                ("positions", "out_of_range"),
                ("pay_yuan_month", "out_of_range"),
                ("end", "before_start"),
            ]
        );
        let none = DemandDraft { positions: None, start: String::new(), ..demand() }.parse().unwrap_err();
        assert_eq!(fields(&none), [("positions", "required"), ("start", "required")]);
    }

    #[test]
    fn periods_overlap_inclusively() {
        assert!(overlaps(1, Some(5), 5, Some(9)));
        assert!(!overlaps(1, Some(4), 5, Some(9)));
        assert!(overlaps(1, None, 100, Some(101)));
        assert!(overlaps(10, Some(20), 1, None));
        assert!(!overlaps(10, Some(20), 21, None));
        assert!(overlaps(1, None, 2, None));
    }

    fn candidate(id: i64) -> Candidate {
        Candidate {
            worker: WorkerId(id),
            skills: vec![Skill::Manufacturing],
            health: HealthStatus::Healthy,
            last_check_day: day(2, 20),
            available_day: day(2, 25),
            destinations: vec![Region::Province],
            busy: vec![],
        }
    }

    fn opening() -> Opening {
        Opening { skills: vec![Skill::Manufacturing], region: Region::Province, start_day: day(3, 1), end_day: None }
    }

    #[test]
    fn ranking_puts_the_best_fit_first_and_says_why() {
        let today = day(2, 24);
        let best = candidate(5);
        let wrong_skill = Candidate { skills: vec![Skill::Farming], ..candidate(1) };
        let late = Candidate { available_day: day(3, 20), ..candidate(2) };
        let elsewhere = Candidate { destinations: vec![Region::County], ..candidate(3) };
        let stale = Candidate { last_check_day: day(2, 1), ..candidate(4) };
        let watched = Candidate { health: HealthStatus::Observation, ..candidate(6) };
        let unwell = Candidate { health: HealthStatus::Unwell, ..candidate(7) };
        let busy = Candidate { busy: vec![(day(2, 1), Some(day(3, 1)))], ..candidate(8) };
        let done_before = Candidate { busy: vec![(day(1, 1), Some(day(2, 29)))], ..candidate(9) };
        let all = [wrong_skill, late, elsewhere, stale, best, watched, unwell, busy, done_before];
        let ranked = rank(&opening(), &all, today);
        let order: Vec<i64> = ranked.iter().map(|s| s.worker.0).collect();
        assert_eq!(order, [5, 9, 4, 6, 3, 2, 1]);
        assert_eq!(ranked[0].score, 110);
        assert_eq!(
            ranked[0].reasons,
            [Reason::SkillsAll, Reason::Available, Reason::WantsRegion, Reason::Healthy, Reason::CheckRecent]
        );
        let stale = ranked.iter().find(|s| s.worker.0 == 4).unwrap();
        assert!(stale.reasons.contains(&Reason::CheckStale) && stale.score == 100);
    }

    #[test]
    fn ranking_for_any_skill_favours_no_one_by_skill() {
        let open = Opening { skills: vec![], ..opening() };
        let ranked =
            rank(&open, &[candidate(2), Candidate { skills: vec![Skill::Cooking], ..candidate(1) }], day(2, 24));
        assert_eq!(ranked.iter().map(|s| s.worker.0).collect::<Vec<_>>(), [1, 2]);
        assert!(ranked.iter().all(|s| s.reasons[0] == Reason::SkillsAny));
    }

    #[test]
    fn placements_and_batches_move_forward_only() {
        use PlacementState::*;
        assert_eq!(Confirmed.step(Departed), Ok(Departed));
        assert_eq!(Confirmed.step(Cancelled), Ok(Cancelled));
        assert_eq!(Departed.step(Arrived), Ok(Arrived));
        for bad in [(Departed, Cancelled), (Arrived, Cancelled), (Cancelled, Confirmed), (Confirmed, Arrived)] {
            assert_eq!(bad.0.step(bad.1).unwrap_err().code, "invalid_transition");
        }
        assert!(BatchState::Planned.step(BatchState::Departed).is_ok());
        assert!(BatchState::Planned.step(BatchState::Arrived).is_err());
        assert!(BatchState::Arrived.step(BatchState::Departed).is_err());
    }

    #[test]
    fn a_batch_departs_only_with_everyone_checked_and_passed() {
        assert_eq!(may_depart(&[Some(true), Some(true)]), Ok(()));
        let e = may_depart(&[Some(true), None, Some(false)]).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("passengers", "unchecked"));
        assert_eq!(e.args, [("count", "2".to_owned())]);
        assert_eq!(may_depart(&[]).unwrap_err().code, "required");
        let t = |c| BodyTemperature::from_celsius("t", c).unwrap();
        assert!(passes_check(t(37.2)) && !passes_check(t(37.3)));
    }

    #[test]
    fn seats_bound_the_passengers() {
        assert_eq!(check_seats(&[1, 2, 3], 3), Ok(()));
        let over = check_seats(&[1, 2, 3, 4], 3).unwrap_err();
        assert_eq!((over.field.as_str(), over.code), ("passengers", "over_seats"));
        assert_eq!(over.args, [("seats", "3".to_owned()), ("count", "4".to_owned())]);
        assert_eq!(check_seats(&[1, 2, 1], 9).unwrap_err().field, "passengers[2]");
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric(a in 0i64..100, la in prop::option::of(0i64..50), b in 0i64..100, lb in prop::option::of(0i64..50)) {
            let (ae, be) = (la.map(|l| a + l), lb.map(|l| b + l));
            prop_assert_eq!(overlaps(a, ae, b, be), overlaps(b, be, a, ae));
            prop_assert!(overlaps(a, ae, a, ae));
        }

        #[test]
        fn ranking_never_suggests_the_unwell_or_the_busy(
            healths in prop::collection::vec(0usize..3, 1..20),
            busy in prop::collection::vec(any::<bool>(), 20),
        ) {
            let cands: Vec<Candidate> = healths.iter().enumerate().map(|(i, h)| Candidate {
                health: HealthStatus::ALL[*h],
                busy: if busy[i] { vec![(day(3, 5), None)] } else { vec![] },
                ..candidate(i as i64)
            }).collect();
            let ranked = rank(&opening(), &cands, day(2, 24));
            for s in &ranked {
                let c = &cands[s.worker.0 as usize];
                prop_assert!(c.health != HealthStatus::Unwell && c.busy.is_empty());
            }
            prop_assert!(ranked.windows(2).all(|w| w[0].score >= w[1].score));
        }
    }
}
