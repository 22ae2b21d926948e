//! Screening at a road checkpoint (卡口登记): who and what passed, and what the
//! officer decided.
//!
//! A record arrives as a [`ScreeningDraft`], loose as JSON or a form sends it,
//! and becomes [`ScreeningFields`] through [`ScreeningFields::parse`], which
//! reports every bad field at once with its path (`people[1].id_number`), so
//! an officer at the barrier fixes the whole form in one go.
//!
//! Personal data is held in types whose `Debug` masks it — [`ResidentId`],
//! [`MobilePhone`], [`PersonName`] — so logging a record never leaks an ID
//! number, phone or name. Their full value is reached only through
//! `expose()`, for the store. Each type normalises what people actually type
//! (full-width digits, spaces, `·` in plates, `+86`) before checking.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{choice_enum, int_in};
use crate::region::RegionCode;
use crate::text::BoundedText;
use crate::{FieldError, UnixMicros};

choice_enum! {
    /// Which way through the checkpoint.
    Direction {
        /// Entering the guarded area.
        In = "in",
        /// Leaving it.
        Out = "out",
    }
}

choice_enum! {
    /// The kind of vehicle screened.
    VehicleType {
        /// Passenger car.
        Car = "car",
        /// Lorry.
        Truck = "truck",
        /// Van or minibus.
        Van = "van",
        /// Coach or bus.
        Bus = "bus",
        /// Motorcycle or tricycle.
        Motorcycle = "motorcycle",
        /// Tractor or farm vehicle.
        Tractor = "tractor",
        /// Anything else, including on foot.
        Other = "other",
    }
}

choice_enum! {
    /// The colour of a person's health code (健康码).
    HealthCode {
        /// No known risk.
        Green = "green",
        /// Under observation.
        Yellow = "yellow",
        /// Confirmed risk: raises an incident.
        Red = "red",
    }
}

choice_enum! {
    /// What a vehicle carries.
    CargoCategory {
        /// Raw materials and parts for production.
        ProductionMaterials = "production_materials",
        /// Food and daily necessities.
        LivingSupplies = "living_supplies",
        /// Medicine and medical equipment.
        MedicalSupplies = "medical_supplies",
        /// Seed, fertiliser, feed.
        AgriculturalInputs = "agricultural_inputs",
        /// No cargo.
        None = "none",
    }
}

choice_enum! {
    /// What the officer decided.
    Outcome {
        /// Let through.
        Released = "released",
        /// Let through after disinfecting the vehicle.
        ReleasedDisinfected = "released_disinfected",
        /// Handed over for quarantine.
        Quarantined = "quarantined",
        /// Sent to a hospital (fever clinic).
        ReferredToHospital = "referred_to_hospital",
        /// Sent back the way it came.
        TurnedBack = "turned_back",
    }
}

choice_enum! {
    /// What an incident is: raised by a screening (fever, red code) or
    /// reported by hand at a post.
    IncidentKind {
        /// Someone had a temperature of 37.3 °C or more.
        Fever = "fever",
        /// Someone showed a red health code.
        RedCode = "red_code",
        /// A dispute or scuffle at the post.
        Conflict = "conflict",
        /// A traffic or other accident.
        Accident = "accident",
        /// Someone or something suspicious (a detour around the post, a
        /// traveller from a risk area who lied).
        SuspiciousCase = "suspicious_case",
        /// Equipment broke (thermometer, barrier, lights, generator).
        EquipmentFailure = "equipment_failure",
    }
}

impl IncidentKind {
    /// Whether a screening raises it (rather than a person reporting it).
    pub fn from_screening(self) -> bool {
        matches!(self, IncidentKind::Fever | IncidentKind::RedCode)
    }
}

choice_enum! {
    /// Where the handling of an incident stands.
    IncidentStatus {
        /// Reported, nobody on it yet.
        Open = "open",
        /// Someone handles it.
        Handling = "handling",
        /// Done.
        Closed = "closed",
    }
}

impl IncidentStatus {
    /// Checks a change of status: forward only, and nothing after closing.
    pub fn step(self, to: IncidentStatus) -> Result<IncidentStatus, FieldError> {
        use IncidentStatus::*;
        match (self, to) {
            (Open, Handling | Closed) | (Handling, Closed) => Ok(to),
            _ => Err(FieldError::new("status", "invalid_transition").arg("from", self.as_str()).arg("to", to.as_str())),
        }
    }
}

choice_enum! {
    /// How urgently an incident needs attention.
    IncidentSeverity {
        /// Note it.
        Low = "low",
        /// Follow up during the shift.
        Medium = "medium",
        /// Act now.
        High = "high",
    }
}

/// Maps full-width ASCII (from Chinese input methods) to its ASCII form.
fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Province abbreviations that begin a civil plate.
const PLATE_PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
/// Last characters of trailer, learner and police plates.
const PLATE_SUFFIXES: &str = "挂学警";

/// A letter or digit allowed in a plate: I and O are never used (they read as
/// 1 and 0).
fn plate_char(c: char) -> bool {
    c.is_ascii_digit() || (c.is_ascii_uppercase() && c != 'I' && c != 'O')
}

/// A Chinese civil vehicle plate (GA 36-2018), normalised: `豫M12345`.
///
/// Province abbreviation, issuing-authority letter, then five letters or
/// digits (ordinary), six with `D`/`F` first or last (new energy), or four
/// followed by 挂, 学 or 警. Spaces, `·` and `-` are dropped, letters
/// upper-cased, full-width characters made ASCII.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PlateNumber(String);

impl PlateNumber {
    /// Shown to the user with `invalid_plate`.
    pub const EXAMPLE: &'static str = "豫M12345";

    /// Normalises and checks a plate.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s: String = raw
            .chars()
            .map(half_width)
            .filter(|c| !c.is_whitespace() && !"·•・-".contains(*c))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if !Self::is_well_formed(&s) {
            return Err(FieldError::new(field, "invalid_plate").arg("example", Self::EXAMPLE));
        }
        Ok(Self(s))
    }

    fn is_well_formed(s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        let [province, authority, rest @ ..] = chars.as_slice() else {
            return false;
        };
        if !PLATE_PROVINCES.contains(*province) || !authority.is_ascii_uppercase() || !plate_char(*authority) {
            return false;
        }
        let new_energy_mark = |c: &char| *c == 'D' || *c == 'F';
        match rest {
            [body @ .., suffix] if PLATE_SUFFIXES.contains(*suffix) => {
                body.len() == 4 && body.iter().all(|c| plate_char(*c))
            }
            [_, _, _, _, _] => rest.iter().all(|c| plate_char(*c)),
            [first, .., last] if rest.len() == 6 => {
                rest.iter().all(|c| plate_char(*c)) && (new_energy_mark(first) || new_energy_mark(last))
            }
            _ => false,
        }
    }

    /// The normalised plate.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is a green new-energy plate (eight characters).
    pub fn is_new_energy(&self) -> bool {
        self.0.chars().count() == 8
    }

    /// The province abbreviation (`豫`).
    pub fn province(&self) -> char {
        self.0.chars().next().expect("a parsed plate is never empty")
    }
}

impl fmt::Display for PlateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The vehicle of a screening: a plate, or none (on foot, or no plate).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VehiclePlate {
    /// A plated vehicle.
    Plate(PlateNumber),
    /// Nobody's plate to record: a pedestrian, or an unplated vehicle.
    NoVehicle,
}

impl VehiclePlate {
    /// Empty text, `none` (any case) or `无` mean no vehicle; anything else
    /// must be a plate.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let t = raw.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("none") || t == "无" {
            return Ok(Self::NoVehicle);
        }
        PlateNumber::parse(field, t).map(Self::Plate)
    }

    /// The plate, if any (what the store writes, or NULL).
    pub fn plate(&self) -> Option<&PlateNumber> {
        match self {
            Self::Plate(p) => Some(p),
            Self::NoVehicle => None,
        }
    }
}

/// Weights of the first 17 characters of a resident ID (GB 11643-1999).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder mod 11.
const ID_CHECK: [u8; 11] = *b"10X98765432";

/// The check character of 17 ASCII digits.
fn id_check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17.iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    ID_CHECK[(sum % 11) as usize]
}

const DAY_US: i64 = 86_400_000_000;

/// A mainland resident identity card number (居民身份证号码, GB 11643-1999):
/// region code, birth date, sequence, check character. Eighteen characters,
/// the last a digit or `X` (upper-cased).
///
/// Personal data: `Debug` shows only [`Self::masked`]; the full number is
/// reached through [`Self::expose`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

impl ResidentId {
    /// Characters in a number.
    pub const LEN: usize = 18;

    /// Normalises (drops spaces, upper-cases `x`, full-width to ASCII) and
    /// checks a number. The birth date must be a real date from 1800 on and
    /// not after `today_us` (one day's grace for the deployment's zone). The
    /// region code is not looked up: numbers keep codes of abolished counties.
    pub fn parse(field: &str, raw: &str, today_us: UnixMicros) -> Result<Self, FieldError> {
        let s: String =
            raw.chars().map(half_width).filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if s.chars().count() != Self::LEN {
            return Err(FieldError::new(field, "invalid_length").arg("length", Self::LEN));
        }
        let b = s.as_bytes();
        let well_formed = b.len() == Self::LEN
            && b[0] != b'0'
            && b[..17].iter().all(u8::is_ascii_digit)
            && (b[17].is_ascii_digit() || b[17] == b'X');
        if !well_formed {
            return Err(FieldError::new(field, "invalid_format"));
        }
        let number = |range: std::ops::Range<usize>| b[range].iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        let (y, m, d) = (number(6..10), number(10..12), number(12..14));
        let real_date = y >= 1800 && (1..=crate::calendar::days_in_month(y, m)).contains(&d);
        if !real_date || crate::calendar::days_from_civil(y, m, d) > today_us.div_euclid(DAY_US) + 1 {
            return Err(FieldError::new(field, "invalid_birth_date"));
        }
        if id_check_char(&b[..17]) != b[17] {
            return Err(FieldError::new(field, "bad_check_digit"));
        }
        Ok(Self(s))
    }

    /// The full number, for the store only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Region code and last four kept, birth date hidden:
    /// `110105********002X`.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

/// A mainland mobile number: eleven digits, `1[3-9]…`. A `+86`, `0086` or
/// `86` prefix, spaces, dashes and brackets are dropped.
///
/// Personal data: `Debug` shows only [`Self::masked`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MobilePhone(String);

impl MobilePhone {
    /// Shown to the user with `invalid_phone`.
    pub const EXAMPLE: &'static str = "138 0013 8000";

    /// Normalises and checks a number.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let mut s: String = raw.chars().map(half_width).filter(|c| !c.is_whitespace() && !"-()".contains(*c)).collect();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        for prefix in ["+86", "0086", "86"] {
            match s.strip_prefix(prefix) {
                Some(rest) if rest.len() == 11 => {
                    s = rest.to_owned();
                    break;
                }
                _ => {}
            }
        }
        let b = s.as_bytes();
        let valid = b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
        if !valid {
            return Err(FieldError::new(field, "invalid_phone").arg("example", Self::EXAMPLE));
        }
        Ok(Self(s))
    }

    /// The full number, for the store only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// First three and last four digits: `138****8000`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for MobilePhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MobilePhone({})", self.masked())
    }
}

/// Two-character surnames kept whole when a name is masked.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "令狐", "夏侯", "司徒", "端木",
    "宇文", "南宫", "西门", "轩辕",
];

/// A person's name as written: 1–32 characters, trimmed, no control
/// characters.
///
/// Personal data: `Debug` shows only [`Self::masked`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    /// The longest name accepted, in characters.
    pub const MAX: usize = 32;

    /// Trims and checks a name.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if s.chars().count() > Self::MAX {
            return Err(FieldError::new(field, "too_long").arg("max", Self::MAX));
        }
        if s.chars().any(char::is_control) {
            return Err(FieldError::new(field, "control_chars"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The full name, for the store only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The surname, then `*` for every other character: 张三丰 → 张**,
    /// 欧阳修文 → 欧阳**. A compound surname counts only in names of three or
    /// more characters, so a two-character name never shows whole.
    pub fn masked(&self) -> String {
        let len = self.0.chars().count();
        let compound = len > 2 && COMPOUND_SURNAMES.iter().any(|s| self.0.starts_with(s));
        let keep = if compound { 2 } else { 1 };
        let mut out: String = self.0.chars().take(keep).collect();
        out.extend(std::iter::repeat_n('*', len.saturating_sub(keep)));
        out
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({})", self.masked())
    }
}

/// A body temperature in tenths of a degree Celsius (365 = 36.5 °C), from
/// 35.0 to 42.0: outside that the thermometer or the typing is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BodyTemperature(i16);

impl BodyTemperature {
    /// Lowest accepted, in tenths.
    pub const MIN_TENTHS: i16 = 350;
    /// Highest accepted, in tenths.
    pub const MAX_TENTHS: i16 = 420;
    /// From here on it is a fever (37.3 °C).
    pub const FEVER_TENTHS: i16 = 373;
    /// From here on a fever is a high-severity incident (38.5 °C).
    pub const HIGH_FEVER_TENTHS: i16 = 385;

    fn out_of_range(field: &str) -> FieldError {
        FieldError::new(field, "out_of_range").arg("min", "35.0").arg("max", "42.0")
    }

    /// Checks a stored value in tenths.
    pub fn from_tenths(field: &str, tenths: i64) -> Result<Self, FieldError> {
        match i16::try_from(tenths) {
            Ok(t) if (Self::MIN_TENTHS..=Self::MAX_TENTHS).contains(&t) => Ok(Self(t)),
            _ => Err(Self::out_of_range(field)),
        }
    }

    /// Rounds degrees Celsius to the nearest tenth and checks the range.
    pub fn from_celsius(field: &str, celsius: f64) -> Result<Self, FieldError> {
        let tenths = (celsius * 10.0).round();
        if !(f64::from(Self::MIN_TENTHS)..=f64::from(Self::MAX_TENTHS)).contains(&tenths) {
            return Err(Self::out_of_range(field));
        }
        // In range, so the cast is exact.
        Ok(Self(tenths as i16))
    }

    /// Parses text such as `36.5`, `36.5℃` or `36.5 °C`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s: String = raw.chars().map(half_width).collect();
        let s = s.trim();
        let number = ["℃", "°C", "°c", "°"].iter().find_map(|u| s.strip_suffix(u)).unwrap_or(s).trim();
        if number.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        let celsius: f64 = number.parse().map_err(|_| FieldError::new(field, "not_a_number"))?;
        Self::from_celsius(field, celsius)
    }

    /// Tenths of a degree, as stored.
    pub fn tenths(self) -> i16 {
        self.0
    }

    /// Degrees Celsius.
    pub fn celsius(self) -> f64 {
        f64::from(self.0) / 10.0
    }

    /// At or above 37.3 °C.
    pub fn is_fever(self) -> bool {
        self.0 >= Self::FEVER_TENTHS
    }
}

impl fmt::Display for BodyTemperature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

/// A number as it arrives: a JSON number, or text from a form (`"36.5"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum NumberOrText {
    /// A JSON number.
    Number(f64),
    /// Text, parsed when checked.
    Text(String),
}

/// One person in a screening, as submitted. Every field is optional, but a
/// person with none is refused. `Debug` hides name, ID number and phone.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct PersonDraft {
    /// Full name.
    pub name: Option<String>,
    /// Resident ID number.
    pub id_number: Option<String>,
    /// Mobile number.
    pub phone: Option<String>,
    /// Body temperature in °C.
    pub temperature: Option<NumberOrText>,
    /// Region code travelled from.
    pub origin: Option<String>,
    /// Region code travelling to.
    pub destination: Option<String>,
    /// Health-code colour.
    pub health_code: Option<String>,
}

impl fmt::Debug for PersonDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| if v.is_some() { "Some(<redacted>)" } else { "None" };
        f.debug_struct("PersonDraft")
            .field("name", &format_args!("{}", hidden(&self.name)))
            .field("id_number", &format_args!("{}", hidden(&self.id_number)))
            .field("phone", &format_args!("{}", hidden(&self.phone)))
            .field("temperature", &self.temperature)
            .field("origin", &self.origin)
            .field("destination", &self.destination)
            .field("health_code", &self.health_code)
            .finish()
    }
}

/// A screening as submitted, before any check: every field loose and
/// optional, so that all problems are reported together. Blank text counts as
/// absent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ScreeningDraft {
    /// `in` or `out`.
    pub direction: Option<String>,
    /// The plate; absent, blank or `none` for no vehicle.
    pub plate: Option<String>,
    /// A [`VehicleType`] name.
    pub vehicle_type: Option<String>,
    /// How many people were screened, 1–99.
    pub people_count: Option<NumberOrText>,
    /// People recorded by name (may be fewer than `people_count`).
    pub people: Vec<PersonDraft>,
    /// A [`CargoCategory`] name.
    pub cargo: Option<String>,
    /// The freight pass number, if shown (up to 32 characters).
    pub pass_number: Option<String>,
    /// An [`Outcome`] name.
    pub outcome: Option<String>,
    /// Free text, up to 200 characters.
    pub note: Option<String>,
}

/// A checked person. At least one field is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenedPerson {
    name: Option<PersonName>,
    id_number: Option<ResidentId>,
    phone: Option<MobilePhone>,
    temperature: Option<BodyTemperature>,
    origin: Option<RegionCode>,
    destination: Option<RegionCode>,
    health_code: Option<HealthCode>,
}

impl ScreenedPerson {
    /// Full name.
    pub fn name(&self) -> Option<&PersonName> {
        self.name.as_ref()
    }

    /// Resident ID number.
    pub fn id_number(&self) -> Option<&ResidentId> {
        self.id_number.as_ref()
    }

    /// Mobile number.
    pub fn phone(&self) -> Option<&MobilePhone> {
        self.phone.as_ref()
    }

    /// Measured temperature.
    pub fn temperature(&self) -> Option<BodyTemperature> {
        self.temperature
    }

    /// Where they came from.
    pub fn origin(&self) -> Option<RegionCode> {
        self.origin
    }

    /// Where they are going.
    pub fn destination(&self) -> Option<RegionCode> {
        self.destination
    }

    /// Health-code colour shown.
    pub fn health_code(&self) -> Option<HealthCode> {
        self.health_code
    }
}

/// An incident a screening raises, to be opened with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct RaisedIncident {
    /// Why.
    pub kind: IncidentKind,
    /// How urgent.
    pub severity: IncidentSeverity,
}

/// A checked screening record: every field valid, and no more people listed
/// than counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningFields {
    direction: Direction,
    plate: VehiclePlate,
    vehicle_type: VehicleType,
    people_count: i64,
    people: Vec<ScreenedPerson>,
    cargo: CargoCategory,
    pass_number: Option<BoundedText<32>>,
    outcome: Outcome,
    note: Option<BoundedText<200>>,
}

/// Text that is present and not blank.
fn present(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Present text, or `required`.
fn required<'a>(field: &str, raw: &'a Option<String>) -> Result<&'a str, FieldError> {
    present(raw).ok_or_else(|| FieldError::new(field, "required"))
}

/// Parses present text; absent stays `None`.
fn optional<T>(
    raw: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    present(raw).map(parse).transpose()
}

/// The value, or `None` with its error recorded.
fn keep<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// A whole number from JSON or text.
fn whole_number(field: &str, raw: &Option<NumberOrText>) -> Result<i64, FieldError> {
    match raw {
        None => Err(FieldError::new(field, "required")),
        Some(NumberOrText::Number(n)) if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 => Ok(*n as i64),
        Some(NumberOrText::Number(_)) => Err(FieldError::new(field, "whole_number")),
        Some(NumberOrText::Text(t)) if t.trim().is_empty() => Err(FieldError::new(field, "required")),
        Some(NumberOrText::Text(t)) => t.trim().parse().map_err(|_| FieldError::new(field, "whole_number")),
    }
}

impl ScreenedPerson {
    /// Checks person `i`, recording errors under `people[i]`.
    fn parse(i: usize, p: &PersonDraft, today_us: UnixMicros, errors: &mut Vec<FieldError>) -> Option<Self> {
        let prefix = format!("people[{i}]");
        let field = |name: &str| format!("{prefix}.{name}");
        let temperature_given = match &p.temperature {
            None => false,
            Some(NumberOrText::Number(_)) => true,
            Some(NumberOrText::Text(t)) => !t.trim().is_empty(),
        };
        let texts = [&p.name, &p.id_number, &p.phone, &p.origin, &p.destination, &p.health_code];
        if !temperature_given && texts.iter().all(|t| present(t).is_none()) {
            errors.push(FieldError::new(prefix, "empty"));
            return None;
        }
        let before = errors.len();
        let temperature = match &p.temperature {
            Some(NumberOrText::Number(c)) => BodyTemperature::from_celsius(&field("temperature"), *c).map(Some),
            Some(NumberOrText::Text(t)) if temperature_given => {
                BodyTemperature::parse(&field("temperature"), t).map(Some)
            }
            _ => Ok(None),
        };
        let person = Self {
            name: keep(errors, optional(&p.name, |s| PersonName::parse(&field("name"), s))).flatten(),
            id_number: keep(errors, optional(&p.id_number, |s| ResidentId::parse(&field("id_number"), s, today_us)))
                .flatten(),
            phone: keep(errors, optional(&p.phone, |s| MobilePhone::parse(&field("phone"), s))).flatten(),
            temperature: keep(errors, temperature).flatten(),
            origin: keep(errors, optional(&p.origin, |s| RegionCode::parse(&field("origin"), s))).flatten(),
            destination: keep(errors, optional(&p.destination, |s| RegionCode::parse(&field("destination"), s)))
                .flatten(),
            health_code: keep(errors, optional(&p.health_code, |s| HealthCode::parse(&field("health_code"), s)))
                .flatten(),
        };
        (errors.len() == before).then_some(person)
    }
}

impl ScreeningFields {
    /// The most people one record may count.
    pub const MAX_PEOPLE: i64 = 99;

    /// Checks a draft, reporting every bad field. `today_us` bounds the birth
    /// dates in ID numbers.
    ///
    /// Rules beyond each field's own: `people_count` is 1–99 (a vehicle with
    /// nobody in it is not screened), and not below the number of people
    /// listed (`fewer_than_listed`); a listed person with no field at all is
    /// refused as `people[i]` `empty`.
    pub fn parse(draft: &ScreeningDraft, today_us: UnixMicros) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let direction = keep(e, required("direction", &draft.direction).and_then(|s| Direction::parse("direction", s)));
        let plate = keep(e, VehiclePlate::parse("plate", draft.plate.as_deref().unwrap_or("")));
        let vehicle_type =
            keep(e, required("vehicle_type", &draft.vehicle_type).and_then(|s| VehicleType::parse("vehicle_type", s)));
        let people_count = keep(
            e,
            whole_number("people_count", &draft.people_count)
                .and_then(|n| int_in("people_count", n, 1, Self::MAX_PEOPLE))
                .and_then(|n| match i64::try_from(draft.people.len()) {
                    Ok(listed) if listed <= n => Ok(n),
                    _ => Err(FieldError::new("people_count", "fewer_than_listed").arg("listed", draft.people.len())),
                }),
        );
        let mut people = Vec::with_capacity(draft.people.len());
        for (i, p) in draft.people.iter().enumerate() {
            people.extend(ScreenedPerson::parse(i, p, today_us, e));
        }
        let cargo = keep(e, required("cargo", &draft.cargo).and_then(|s| CargoCategory::parse("cargo", s)));
        let pass_number = keep(e, optional(&draft.pass_number, |s| BoundedText::parse("pass_number", s)));
        let outcome = keep(e, required("outcome", &draft.outcome).and_then(|s| Outcome::parse("outcome", s)));
        let note = keep(e, optional(&draft.note, |s| BoundedText::parse("note", s)));

        match (direction, plate, vehicle_type, people_count, cargo, pass_number, outcome, note) {
            (
                Some(direction),
                Some(plate),
                Some(vehicle_type),
                Some(people_count),
                Some(cargo),
                Some(pass_number),
                Some(outcome),
                Some(note),
            ) if errors.is_empty() => {
                Ok(Self { direction, plate, vehicle_type, people_count, people, cargo, pass_number, outcome, note })
            }
            _ => {
                debug_assert!(!errors.is_empty(), "every missing value recorded its error");
                Err(errors)
            }
        }
    }

    /// Into or out of the guarded area.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The plate, or no vehicle.
    pub fn plate(&self) -> &VehiclePlate {
        &self.plate
    }

    /// The kind of vehicle.
    pub fn vehicle_type(&self) -> VehicleType {
        self.vehicle_type
    }

    /// People screened, 1–99.
    pub fn people_count(&self) -> i64 {
        self.people_count
    }

    /// People recorded individually, at most [`Self::people_count`].
    pub fn people(&self) -> &[ScreenedPerson] {
        &self.people
    }

    /// What the vehicle carries.
    pub fn cargo(&self) -> CargoCategory {
        self.cargo
    }

    /// The freight pass number, if shown.
    pub fn pass_number(&self) -> Option<&str> {
        self.pass_number.as_ref().map(BoundedText::as_str)
    }

    /// The decision.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The note; empty if none.
    pub fn note(&self) -> &str {
        self.note.as_ref().map_or("", BoundedText::as_str)
    }

    /// The incidents this screening raises, at most one of each kind: fever if
    /// anyone measured 37.3 °C or more (high from 38.5 °C, else medium), red
    /// code (high) if anyone showed a red health code.
    pub fn incidents(&self) -> Vec<RaisedIncident> {
        let mut raised = Vec::new();
        let hottest = self.people.iter().filter_map(|p| p.temperature).max();
        if let Some(t) = hottest.filter(|t| t.is_fever()) {
            let severity = if t.tenths() >= BodyTemperature::HIGH_FEVER_TENTHS {
                IncidentSeverity::High
            } else {
                IncidentSeverity::Medium
            };
            raised.push(RaisedIncident { kind: IncidentKind::Fever, severity });
        }
        if self.people.iter().any(|p| p.health_code == Some(HealthCode::Red)) {
            raised.push(RaisedIncident { kind: IncidentKind::RedCode, severity: IncidentSeverity::High });
        }
        raised
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2025-01-20 00:00 UTC.
    const TODAY_US: UnixMicros = 1_737_331_200_000_000;

    fn id(raw: &str) -> Result<ResidentId, FieldError> {
        ResidentId::parse("id_number", raw, TODAY_US)
    }

    fn code_of<T: fmt::Debug>(r: Result<T, FieldError>) -> &'static str {
        r.unwrap_err().code
    }

    // ---- plates ----

    #[test]
    fn plates_are_normalised() {
        assert_eq!(PlateNumber::parse("plate", " 豫m·12345 ").unwrap().as_str(), "豫M12345");
        assert_eq!(PlateNumber::parse("plate", "京A 1234 5").unwrap().as_str(), "京A12345");
        assert_eq!(PlateNumber::parse("plate", "粤Ｂ•ＡＢ１２３").unwrap().as_str(), "粤BAB123");
        assert_eq!(PlateNumber::parse("plate", "沪a-d12345").unwrap().as_str(), "沪AD12345");
    }

    #[test]
    fn ordinary_plates_have_five_characters_after_the_letter() {
        let p = PlateNumber::parse("plate", "豫M12345").unwrap();
        assert!(!p.is_new_energy());
        assert_eq!(p.province(), '豫');
        assert_eq!(code_of(PlateNumber::parse("plate", "豫M1234")), "invalid_plate");
        assert_eq!(code_of(PlateNumber::parse("plate", "豫M123456")), "invalid_plate");
    }

    #[test]
    fn new_energy_plates_have_d_or_f_first_or_last() {
        for ok in ["京AD12345", "京AF12345", "粤B12345D", "粤B12345F", "沪ADA1234"] {
            let p = PlateNumber::parse("plate", ok).unwrap();
            assert!(p.is_new_energy(), "{ok}");
        }
        assert_eq!(code_of(PlateNumber::parse("plate", "京A123456")), "invalid_plate");
        assert_eq!(code_of(PlateNumber::parse("plate", "京AA1234B")), "invalid_plate");
    }

    #[test]
    fn trailer_learner_and_police_plates_have_four_characters_before_the_mark() {
        for ok in ["豫M1234挂", "豫M1234学", "豫A0123警"] {
            let p = PlateNumber::parse("plate", ok).unwrap();
            assert!(!p.is_new_energy(), "{ok}");
        }
        assert_eq!(code_of(PlateNumber::parse("plate", "豫M12345挂")), "invalid_plate");
        assert_eq!(code_of(PlateNumber::parse("plate", "豫M123挂")), "invalid_plate");
    }

    #[test]
    fn plates_refuse_unknown_provinces_i_o_and_bad_characters() {
        for bad in ["港A12345", "豫I12345", "豫O12345", "豫M1234O", "豫MI2345", "豫112345", "M12345", "豫M12-3#5"]
        {
            let err = PlateNumber::parse("plate", bad).unwrap_err();
            assert_eq!(err.code, "invalid_plate", "{bad}");
            assert_eq!(err.args, [("example", PlateNumber::EXAMPLE.to_owned())]);
        }
        assert_eq!(code_of(PlateNumber::parse("plate", " · ")), "required");
    }

    #[test]
    fn blank_or_none_means_no_vehicle() {
        for none in ["", "  ", "none", "NONE", "无"] {
            assert_eq!(VehiclePlate::parse("plate", none).unwrap(), VehiclePlate::NoVehicle, "{none:?}");
        }
        let v = VehiclePlate::parse("plate", "豫M12345").unwrap();
        assert_eq!(v.plate().map(PlateNumber::as_str), Some("豫M12345"));
        assert_eq!(VehiclePlate::parse("plate", "x").unwrap_err().code, "invalid_plate");
    }

    // ---- resident IDs ----

    #[test]
    fn published_resident_ids_parse() {
        assert_eq!(id("11010519491231002X").unwrap().expose(), "11010519491231002X");
        assert_eq!(id("440524188001010014").unwrap().expose(), "440524188001010014");
        assert_eq!(id(" 110105 19491231 002x ").unwrap().expose(), "11010519491231002X");
        assert_eq!(id("１１０１０５１９４９１２３１００２Ｘ").unwrap().expose(), "11010519491231002X");
    }

    #[test]
    fn resident_id_with_wrong_check_digit_is_refused() {
        assert_eq!(code_of(id("110105194912310021")), "bad_check_digit");
        assert_eq!(code_of(id("440524188001010015")), "bad_check_digit");
    }

    #[test]
    fn resident_id_with_impossible_birth_date_is_refused() {
        // Feb 30, month 13, Feb 29 of a non-leap year, year 1700.
        for bad in ["110105200002300010", "110105200013010010", "110105190002290010", "110105170001010010"] {
            assert_eq!(code_of(id(bad)), "invalid_birth_date", "{bad}");
        }
        // 2000 was a leap year (check digit computed so only the date matters).
        let leap = format!("11010520000229001{}", id_check_char(b"11010520000229001") as char);
        assert!(id(&leap).is_ok());
    }

    #[test]
    fn resident_id_born_after_today_is_refused() {
        let born = |date: &str| {
            let first17 = format!("110105{date}001");
            format!("{first17}{}", id_check_char(first17.as_bytes()) as char)
        };
        assert!(id(&born("20250120")).is_ok());
        assert!(id(&born("20250121")).is_ok(), "a day's grace for the zone");
        assert_eq!(code_of(id(&born("20250122"))), "invalid_birth_date");
    }

    #[test]
    fn resident_id_of_wrong_length_or_format_is_refused() {
        assert_eq!(code_of(id("110105194912310")), "invalid_length");
        assert_eq!(code_of(id("11010519491231002X1")), "invalid_length");
        let err = id("1101051949123100").unwrap_err();
        assert_eq!(err.args, [("length", "18".to_owned())]);
        assert_eq!(code_of(id("1101051949123100X2")), "invalid_format");
        assert_eq!(code_of(id("01010519491231002X")), "invalid_format");
        assert_eq!(code_of(id("11010519491231002Y")), "invalid_format");
        assert_eq!(code_of(id("11010519491231002张")), "invalid_format");
        assert_eq!(code_of(id("")), "required");
    }

    #[test]
    fn resident_id_debug_shows_only_the_masked_form() {
        let n = id("11010519491231002X").unwrap();
        assert_eq!(n.masked(), "110105********002X");
        let debug = format!("{n:?}");
        assert_eq!(debug, "ResidentId(110105********002X)");
        assert!(!debug.contains("19491231"));
        let person = ScreenedPerson {
            name: None,
            id_number: Some(n),
            phone: None,
            temperature: None,
            origin: None,
            destination: None,
            health_code: None,
        };
        assert!(!format!("{person:?}").contains("19491231"));
    }

    // ---- phones ----

    #[test]
    fn phones_drop_country_code_spaces_and_dashes() {
        for raw in ["13800138000", "+86 138 0013 8000", "86-138-0013-8000", "0086 13800138000", "(+86)13800138000"] {
            assert_eq!(MobilePhone::parse("phone", raw).unwrap().expose(), "13800138000", "{raw}");
        }
    }

    #[test]
    fn phones_must_be_mainland_mobile_numbers() {
        for bad in ["12800138000", "1380013800", "138001380001", "03912345678", "1380013800a", "+8513800138000"] {
            assert_eq!(code_of(MobilePhone::parse("phone", bad)), "invalid_phone", "{bad}");
        }
        assert_eq!(code_of(MobilePhone::parse("phone", " - ")), "required");
    }

    #[test]
    fn phone_debug_shows_only_the_masked_form() {
        let p = MobilePhone::parse("phone", "13800138000").unwrap();
        assert_eq!(p.masked(), "138****8000");
        assert_eq!(format!("{p:?}"), "MobilePhone(138****8000)");
    }

    // ---- names ----

    #[test]
    fn names_mask_all_but_the_surname() {
        let masked = |raw: &str| PersonName::parse("name", raw).unwrap().masked();
        assert_eq!(masked("张三丰"), "张**");
        assert_eq!(masked("李四"), "李*");
        assert_eq!(masked("王"), "王");
        assert_eq!(masked("欧阳修文"), "欧阳**");
        assert_eq!(masked("诸葛亮"), "诸葛*");
        assert_eq!(masked("欧阳"), "欧*", "a two-character name never shows whole");
        assert_eq!(masked("阿依古丽·买买提"), "阿*******");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("name", "  张三 ").unwrap().expose(), "张三");
        assert_eq!(code_of(PersonName::parse("name", " ")), "required");
        assert_eq!(code_of(PersonName::parse("name", &"张".repeat(33))), "too_long");
        assert!(PersonName::parse("name", &"张".repeat(32)).is_ok());
        assert_eq!(code_of(PersonName::parse("name", "张\u{0}三")), "control_chars");
    }

    #[test]
    fn name_debug_shows_only_the_masked_form() {
        let n = PersonName::parse("name", "张三丰").unwrap();
        assert_eq!(format!("{n:?}"), "PersonName(张**)");
    }

    #[test]
    fn person_draft_debug_hides_personal_fields() {
        let p = PersonDraft {
            name: Some("张三丰".into()),
            id_number: Some("11010519491231002X".into()),
            phone: Some("13800138000".into()),
            ..PersonDraft::default()
        };
        let debug = format!("{p:?}");
        for secret in ["张三丰", "11010519491231002X", "13800138000"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }

    // ---- temperatures ----

    #[test]
    fn temperatures_parse_from_text_and_numbers() {
        let t = |raw: &str| BodyTemperature::parse("t", raw).unwrap().tenths();
        assert_eq!(t("36.5"), 365);
        assert_eq!(t(" 37 "), 370);
        assert_eq!(t("37.3℃"), 373);
        assert_eq!(t("38.50 °C"), 385);
        assert_eq!(t("３６.８"), 368);
        assert_eq!(BodyTemperature::from_celsius("t", 37.25).unwrap().tenths(), 373);
        assert_eq!(BodyTemperature::from_tenths("t", 365).unwrap().to_string(), "36.5");
        assert_eq!(BodyTemperature::from_tenths("t", 420).unwrap().celsius(), 42.0);
    }

    #[test]
    fn temperatures_outside_35_to_42_are_refused() {
        let err = BodyTemperature::parse("t", "34.9").unwrap_err();
        assert_eq!(err.code, "out_of_range");
        assert_eq!(err.args, [("min", "35.0".to_owned()), ("max", "42.0".to_owned())]);
        assert_eq!(code_of(BodyTemperature::parse("t", "42.1")), "out_of_range");
        assert!(BodyTemperature::parse("t", "35.0").is_ok());
        assert!(BodyTemperature::parse("t", "42.0").is_ok());
        assert_eq!(code_of(BodyTemperature::from_celsius("t", f64::NAN)), "out_of_range");
        assert_eq!(code_of(BodyTemperature::from_tenths("t", 100_000)), "out_of_range");
        assert_eq!(code_of(BodyTemperature::parse("t", "hot")), "not_a_number");
        assert_eq!(code_of(BodyTemperature::parse("t", "℃")), "required");
    }

    #[test]
    fn fever_starts_at_37_3() {
        let t = |raw: &str| BodyTemperature::parse("t", raw).unwrap();
        assert!(!t("37.2").is_fever());
        assert!(t("37.3").is_fever());
    }

    // ---- choices ----

    #[test]
    fn choices_round_trip_by_name() {
        for d in Direction::ALL {
            assert_eq!(Direction::parse("direction", d.as_str()).unwrap(), *d);
        }
        assert_eq!(VehicleType::ALL.len(), 7);
        assert_eq!(CargoCategory::parse("cargo", "medical_supplies").unwrap(), CargoCategory::MedicalSupplies);
        assert_eq!(Outcome::parse("outcome", "released_disinfected").unwrap(), Outcome::ReleasedDisinfected);
        assert_eq!(IncidentKind::RedCode.as_str(), "red_code");
        assert_eq!(IncidentSeverity::ALL.len(), 3);
        assert_eq!(HealthCode::parse("h", "blue").unwrap_err().code, "invalid_choice");
    }

    // ---- whole records ----

    fn draft() -> ScreeningDraft {
        ScreeningDraft {
            direction: Some("in".into()),
            plate: Some("豫M·12345".into()),
            vehicle_type: Some("truck".into()),
            people_count: Some(NumberOrText::Number(2.0)),
            people: Vec::new(),
            cargo: Some("living_supplies".into()),
            pass_number: None,
            outcome: Some("released".into()),
            note: None,
        }
    }

    fn person() -> PersonDraft {
        PersonDraft {
            name: Some("张三丰".into()),
            id_number: Some("11010519491231002X".into()),
            phone: Some("13800138000".into()),
            temperature: Some(NumberOrText::Number(36.5)),
            origin: Some("411224".into()),
            destination: Some("410000".into()),
            health_code: Some("green".into()),
        }
    }

    fn fields_of(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn a_complete_draft_becomes_typed_fields() {
        let mut d = draft();
        d.people = vec![person()];
        d.pass_number = Some(" SX-2025-0001 ".into());
        d.note = Some("司机自述从郑州返回".into());
        let f = ScreeningFields::parse(&d, TODAY_US).unwrap();
        assert_eq!(f.direction(), Direction::In);
        assert_eq!(f.plate().plate().map(PlateNumber::as_str), Some("豫M12345"));
        assert_eq!(f.vehicle_type(), VehicleType::Truck);
        assert_eq!(f.people_count(), 2);
        assert_eq!(f.cargo(), CargoCategory::LivingSupplies);
        assert_eq!(f.pass_number(), Some("SX-2025-0001"));
        assert_eq!(f.outcome(), Outcome::Released);
        assert_eq!(f.note(), "司机自述从郑州返回");
        let p = &f.people()[0];
        assert_eq!(p.name().map(PersonName::expose), Some("张三丰"));
        assert_eq!(p.id_number().map(ResidentId::expose), Some("11010519491231002X"));
        assert_eq!(p.phone().map(MobilePhone::expose), Some("13800138000"));
        assert_eq!(p.temperature().map(BodyTemperature::tenths), Some(365));
        assert_eq!(p.origin().map(|r| r.full_name()), Some("河南省 三门峡市 卢氏县"));
        assert_eq!(p.destination().map(|r| r.as_str()), Some("410000"));
        assert_eq!(p.health_code(), Some(HealthCode::Green));
        assert!(f.incidents().is_empty());
        assert!(!format!("{f:?}").contains("11010519491231002X"));
    }

    #[test]
    fn a_pedestrian_needs_no_plate_but_still_counts_people() {
        let mut d = draft();
        d.plate = None;
        d.vehicle_type = Some("other".into());
        d.cargo = Some("none".into());
        d.people_count = Some(NumberOrText::Text("1".into()));
        let f = ScreeningFields::parse(&d, TODAY_US).unwrap();
        assert_eq!(f.plate(), &VehiclePlate::NoVehicle);
        assert_eq!(f.people_count(), 1);
        assert_eq!(f.note(), "");
        assert_eq!(f.pass_number(), None);

        d.people_count = Some(NumberOrText::Number(0.0));
        let errors = ScreeningFields::parse(&d, TODAY_US).unwrap_err();
        assert_eq!(fields_of(&errors), [("people_count", "out_of_range")]);
    }

    #[test]
    fn people_count_must_be_a_whole_number_from_1_to_99() {
        for (raw, code) in [
            (None, "required"),
            (Some(NumberOrText::Text(" ".into())), "required"),
            (Some(NumberOrText::Number(2.5)), "whole_number"),
            (Some(NumberOrText::Text("two".into())), "whole_number"),
            (Some(NumberOrText::Number(100.0)), "out_of_range"),
            (Some(NumberOrText::Text("-1".into())), "out_of_range"),
        ] {
            let mut d = draft();
            d.people_count = raw.clone();
            let errors = ScreeningFields::parse(&d, TODAY_US).unwrap_err();
            assert_eq!(fields_of(&errors), [("people_count", code)], "{raw:?}");
        }
    }

    #[test]
    fn listing_more_people_than_counted_is_refused() {
        let mut d = draft();
        d.people_count = Some(NumberOrText::Number(1.0));
        d.people = vec![person(), person()];
        let errors = ScreeningFields::parse(&d, TODAY_US).unwrap_err();
        assert_eq!(fields_of(&errors), [("people_count", "fewer_than_listed")]);
        assert_eq!(errors[0].args, [("listed", "2".to_owned())]);
    }

    #[test]
    fn a_listed_person_with_no_field_is_refused() {
        let mut d = draft();
        d.people = vec![
            person(),
            PersonDraft {
                name: Some("  ".into()),
                temperature: Some(NumberOrText::Text(String::new())),
                ..Default::default()
            },
        ];
        let errors = ScreeningFields::parse(&d, TODAY_US).unwrap_err();
        assert_eq!(fields_of(&errors), [("people[1]", "empty")]);
    }

    #[test]
    fn every_bad_field_is_reported_with_its_path() {
        let d = ScreeningDraft {
            direction: Some("sideways".into()),
            plate: Some("X123".into()),
            vehicle_type: None,
            people_count: Some(NumberOrText::Number(3.0)),
            people: vec![
                person(),
                PersonDraft {
                    name: Some("李四".into()),
                    id_number: Some("110105194912310021".into()),
                    phone: Some("12345".into()),
                    temperature: Some(NumberOrText::Text("45".into())),
                    origin: Some("999999".into()),
                    destination: Some("411224".into()),
                    health_code: Some("purple".into()),
                },
            ],
            cargo: Some("gold".into()),
            pass_number: Some("P".repeat(33)),
            outcome: None,
            note: Some("备".repeat(201)),
        };
        let errors = ScreeningFields::parse(&d, TODAY_US).unwrap_err();
        assert_eq!(
            fields_of(&errors),
            [
                ("direction", "invalid_choice"),
                ("plate", "invalid_plate"),
                ("vehicle_type", "required"),
                ("people[1].id_number", "bad_check_digit"),
                ("people[1].phone", "invalid_phone"),
                ("people[1].temperature", "out_of_range"),
                ("people[1].origin", "unknown_region"),
                ("people[1].health_code", "invalid_choice"),
                ("cargo", "invalid_choice"),
                ("pass_number", "too_long"),
                ("outcome", "required"),
                ("note", "too_long"),
            ]
        );
    }

    #[test]
    fn drafts_deserialise_from_loose_json() {
        let json = r#"{
            "direction": "out", "plate": "none", "vehicle_type": "car", "people_count": "2",
            "people": [{"temperature": "37.6", "health_code": "red"}, {"temperature": 38.5}],
            "cargo": "none", "outcome": "quarantined"
        }"#;
        let d: ScreeningDraft = serde_json::from_str(json).unwrap();
        let f = ScreeningFields::parse(&d, TODAY_US).unwrap();
        assert_eq!(f.people().len(), 2);
        assert_eq!(f.people()[1].temperature().map(BodyTemperature::tenths), Some(385));
    }

    #[test]
    fn fever_and_red_code_raise_incidents() {
        let with = |temps: &[&str], codes: &[&str]| {
            let mut d = draft();
            d.people_count = Some(NumberOrText::Number(9.0));
            d.people = temps
                .iter()
                .map(|t| PersonDraft { temperature: Some(NumberOrText::Text((*t).into())), ..Default::default() })
                .chain(codes.iter().map(|c| PersonDraft { health_code: Some((*c).into()), ..Default::default() }))
                .collect();
            ScreeningFields::parse(&d, TODAY_US).unwrap().incidents()
        };
        let fever = |severity| RaisedIncident { kind: IncidentKind::Fever, severity };
        let red = RaisedIncident { kind: IncidentKind::RedCode, severity: IncidentSeverity::High };
        assert!(with(&["36.5", "37.2"], &["green", "yellow"]).is_empty());
        assert_eq!(with(&["36.5", "37.3"], &[]), [fever(IncidentSeverity::Medium)]);
        assert_eq!(with(&["38.4"], &[]), [fever(IncidentSeverity::Medium)]);
        assert_eq!(with(&["37.5", "38.5"], &[]), [fever(IncidentSeverity::High)]);
        assert_eq!(with(&[], &["green", "red", "red"]), [red]);
        assert_eq!(with(&["39.0"], &["red"]), [fever(IncidentSeverity::High), red]);
    }

    // ---- properties ----

    /// Birth dates from 1900-01-01 to 2024-12-31, as days since the epoch.
    fn birth_day() -> impl Strategy<Value = i64> {
        crate::calendar::days_from_civil(1900, 1, 1)..=crate::calendar::days_from_civil(2024, 12, 31)
    }

    fn valid_id(region: u32, day: i64, seq: u32) -> String {
        let (y, m, d) = crate::calendar::civil_from_days(day);
        let first17 = format!("{region:06}{y:04}{m:02}{d:02}{seq:03}");
        format!("{first17}{}", id_check_char(first17.as_bytes()) as char)
    }

    fn plate_chars() -> impl Strategy<Value = char> {
        prop::sample::select("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789".chars().collect::<Vec<_>>())
    }

    proptest! {
        #[test]
        fn any_id_with_its_check_character_parses(region in 100_000u32..=999_999, day in birth_day(), seq in 0u32..1000) {
            let raw = valid_id(region, day, seq);
            let parsed = id(&raw.to_lowercase()).unwrap();
            prop_assert_eq!(parsed.expose(), raw.as_str());
        }

        #[test]
        fn any_other_check_character_fails(region in 100_000u32..=999_999, day in birth_day(), seq in 0u32..1000) {
            let raw = valid_id(region, day, seq);
            for c in ID_CHECK.iter().map(|c| *c as char).filter(|c| !raw.ends_with(*c)) {
                let wrong = format!("{}{c}", &raw[..17]);
                prop_assert_eq!(id(&wrong).unwrap_err().code, "bad_check_digit");
            }
        }

        #[test]
        fn masking_an_id_keeps_length_region_and_last_four(region in 100_000u32..=999_999, day in birth_day(), seq in 0u32..1000) {
            let raw = valid_id(region, day, seq);
            let n = id(&raw).unwrap();
            let masked = n.masked();
            prop_assert_eq!(masked.len(), 18);
            prop_assert_eq!(&masked[..6], &raw[..6]);
            prop_assert_eq!(&masked[14..], &raw[14..]);
            prop_assert_eq!(&masked[6..14], "********");
            let debug = format!("{n:?}");
            prop_assert!(!debug.contains(&raw[6..14]));
        }

        #[test]
        fn valid_plates_survive_spaces_dots_and_lower_case(
            province in prop::sample::select(PLATE_PROVINCES.chars().collect::<Vec<_>>()),
            authority in prop::sample::select("ABCDEFGHJKLMNPQRSTUVWXYZ".chars().collect::<Vec<_>>()),
            body in prop::collection::vec(plate_chars(), 5),
            sep in prop::sample::select(vec!["", " ", "·", "•", " · "]),
        ) {
            let canonical: String = [province, authority].into_iter().chain(body.iter().copied()).collect();
            let typed = format!("{province}{}{sep}{}", authority.to_ascii_lowercase(), body.iter().collect::<String>().to_lowercase());
            let parsed = PlateNumber::parse("plate", &typed).unwrap();
            prop_assert_eq!(parsed.as_str(), canonical.as_str());
            prop_assert_eq!(parsed.province(), province);
            prop_assert!(!parsed.is_new_energy());
        }

        #[test]
        fn any_parsed_plate_reparses_to_itself(raw in "[京豫粤A-Za-z0-9 ·挂]{0,12}") {
            if let Ok(p) = PlateNumber::parse("plate", &raw) {
                prop_assert_eq!(PlateNumber::parse("plate", p.as_str()).unwrap(), p.clone());
                prop_assert!((7..=8).contains(&p.as_str().chars().count()));
            }
        }

        #[test]
        fn phones_survive_prefixes_and_separators(
            rest in "1[3-9][0-9]{9}",
            prefix in prop::sample::select(vec!["", "+86", "+86 ", "86", "0086-"]),
        ) {
            let typed = format!("{prefix}{} {}-{}", &rest[..3], &rest[3..7], &rest[7..]);
            let p = MobilePhone::parse("phone", &typed).unwrap();
            prop_assert_eq!(p.expose(), rest.as_str());
            // The middle four digits are masked. (Not "absent": in
            // 13006140614 they are also the last four, which stay.)
            prop_assert_eq!(format!("{p:?}"), format!("MobilePhone({}****{})", &rest[..3], &rest[7..]));
        }

        #[test]
        fn masking_a_name_keeps_its_length(raw in "\\PC{1,32}") {
            if let Ok(n) = PersonName::parse("name", &raw) {
                let masked = n.masked();
                prop_assert_eq!(masked.chars().count(), n.expose().chars().count());
                prop_assert!(masked.chars().count() < 2 || masked.ends_with('*'));
            }
        }

        #[test]
        fn temperatures_round_trip_through_text(tenths in 350i64..=420) {
            let t = BodyTemperature::from_tenths("t", tenths).unwrap();
            prop_assert_eq!(BodyTemperature::parse("t", &t.to_string()).unwrap(), t);
            prop_assert_eq!(BodyTemperature::from_celsius("t", t.celsius()).unwrap(), t);
        }
    }
}
