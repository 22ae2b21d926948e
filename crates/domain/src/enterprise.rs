//! Resumption of work (复工复产): enterprises restarting after a lockdown.
//!
//! An enterprise is known by its [`CreditCode`], files an application with a
//! [`PreventionPlan`] and its [`Workforce`], and moves through
//! [`ResumptionStatus`] as reviewers decide. Once running it files daily
//! figures ([`DailyReportDraft`] → [`DailyFigures`]), raises tickets for
//! what blocks it ([`TicketCategory`], [`TicketStatus`]), and key projects
//! track their [`MilestonePlan`]s.
//!
//! Drafts arrive loose, as JSON or a form sends them; their `parse` reports
//! every bad field at once, named as the client knows it (`plan.canteen`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::checkpoint::{choice_enum, int_in};
use crate::screening::{MobilePhone, PersonName};
use crate::text::BoundedText;

/// Maps full-width ASCII (from Chinese input methods) to its ASCII form.
pub(crate) fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// The value, or `None` with its error recorded.
fn keep<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// A required whole number in `min..=max`, as the target type.
fn ranged<T: TryFrom<i64>>(field: &str, raw: Option<i64>, min: i64, max: i64) -> Result<T, FieldError> {
    let n = raw.ok_or_else(|| FieldError::new(field, "required"))?;
    let n = int_in(field, n, min, max)?;
    T::try_from(n).map_err(|_| FieldError::new(field, "out_of_range").arg("min", min).arg("max", max))
}

/// Optional text of at most `MAX` characters, trimmed; blank is `""`.
fn optional_text<const MAX: usize>(field: &str, raw: &str) -> Result<String, FieldError> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    BoundedText::<MAX>::parse(field, raw).map(BoundedText::into_string)
}

/// The 31 characters of a credit code: digits and capitals without I, O, Z,
/// S, V (they read as 1, 0, 2, 5, U).
const CREDIT_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of the first 17 characters: 3^i mod 31.
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// A character's value: its place in [`CREDIT_ALPHABET`].
fn credit_value(c: char) -> Option<u32> {
    // The alphabet is ASCII, so the byte index is the place.
    CREDIT_ALPHABET.find(c).and_then(|i| u32::try_from(i).ok())
}

/// A unified social credit code (统一社会信用代码, GB 32100-2015): 18
/// characters of registering authority, kind, six-digit region code,
/// organisation code and a check character. Not personal data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CreditCode(String);

impl CreditCode {
    /// Characters in a code.
    pub const LEN: usize = 18;

    /// Normalises (full-width to ASCII, spaces dropped, upper-cased) and
    /// checks a code: length, alphabet, digits in places 3–8, check character.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s: String =
            raw.trim().chars().map(half_width).filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if s.chars().count() != Self::LEN {
            return Err(FieldError::new(field, "length").arg("min", Self::LEN).arg("max", Self::LEN));
        }
        // All in the (ASCII) alphabet, so byte slicing below is safe.
        if !s.chars().all(|c| credit_value(c).is_some()) || !s[2..8].bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(field, "credit_code_chars"));
        }
        let expected = Self::check_char(&s[..17]).ok_or_else(|| FieldError::new(field, "credit_code_chars"))?;
        if !s.ends_with(expected) {
            return Err(FieldError::new(field, "credit_code_check").arg("expected", expected));
        }
        Ok(Self(s))
    }

    /// The check character for the first 17 characters: 31 − (Σ value ·
    /// weight mod 31), with 31 read as 0. `None` unless exactly 17 characters
    /// of the alphabet (upper case) are given.
    pub fn check_char(first17: &str) -> Option<char> {
        if first17.chars().count() != 17 {
            return None;
        }
        let mut sum = 0;
        for (c, w) in first17.chars().zip(CREDIT_WEIGHTS) {
            sum += credit_value(c)? * w;
        }
        CREDIT_ALPHABET.chars().nth(((31 - sum % 31) % 31) as usize)
    }

    /// The code as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

choice_enum! {
    /// An industry section of GB/T 4754-2017 (国民经济行业分类), stored as
    /// its capital letter.
    Sector {
        /// 农、林、牧、渔业.
        #[serde(rename = "A")] Agriculture = "A",
        /// 采矿业.
        #[serde(rename = "B")] Mining = "B",
        /// 制造业.
        #[serde(rename = "C")] Manufacturing = "C",
        /// 电力、热力、燃气及水生产和供应业.
        #[serde(rename = "D")] Utilities = "D",
        /// 建筑业.
        #[serde(rename = "E")] Construction = "E",
        /// 批发和零售业.
        #[serde(rename = "F")] Trade = "F",
        /// 交通运输、仓储和邮政业.
        #[serde(rename = "G")] Transport = "G",
        /// 住宿和餐饮业.
        #[serde(rename = "H")] Hospitality = "H",
        /// 信息传输、软件和信息技术服务业.
        #[serde(rename = "I")] InformationTech = "I",
        /// 金融业.
        #[serde(rename = "J")] Finance = "J",
        /// 房地产业.
        #[serde(rename = "K")] RealEstate = "K",
        /// 租赁和商务服务业.
        #[serde(rename = "L")] BusinessServices = "L",
        /// 科学研究和技术服务业.
        #[serde(rename = "M")] Research = "M",
        /// 水利、环境和公共设施管理业.
        #[serde(rename = "N")] PublicFacilities = "N",
        /// 居民服务、修理和其他服务业.
        #[serde(rename = "O")] ResidentServices = "O",
        /// 教育.
        #[serde(rename = "P")] Education = "P",
        /// 卫生和社会工作.
        #[serde(rename = "Q")] Health = "Q",
        /// 文化、体育和娱乐业.
        #[serde(rename = "R")] Culture = "R",
        /// 公共管理、社会保障和社会组织.
        #[serde(rename = "S")] PublicAdministration = "S",
        /// 国际组织.
        #[serde(rename = "T")] International = "T",
    }
}

impl Sector {
    /// Like `parse`, but also takes lower-case and full-width letters, as
    /// imported spreadsheets have them.
    pub fn parse_loose(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s: String = raw.trim().chars().map(half_width).map(|c| c.to_ascii_uppercase()).collect();
        Self::parse(field, &s)
    }
}

choice_enum! {
    /// Enterprise size (大型、中型、小型、微型), as the statistics bureau
    /// classifies it.
    SizeClass {
        /// 大型企业.
        Large = "large",
        /// 中型企业.
        Medium = "medium",
        /// 小型企业.
        Small = "small",
        /// 微型企业.
        Micro = "micro",
    }
}

choice_enum! {
    /// Where an enterprise's resumption stands.
    ResumptionStatus {
        /// Closed, nothing filed.
        NotStarted = "not_started",
        /// Application filed, awaiting review.
        Applied = "applied",
        /// Sent back for changes; may file again.
        Returned = "returned",
        /// Refused; may file again.
        Refused = "refused",
        /// Approved, not yet running.
        Approved = "approved",
        /// Running with part of its staff or capacity.
        PartlyResumed = "partly_resumed",
        /// Running fully.
        FullyResumed = "fully_resumed",
        /// Ordered to stop (a case, a failed inspection).
        Suspended = "suspended",
    }
}

impl ResumptionStatus {
    /// Checks a change of status. Filing: not started, returned or refused →
    /// applied. Review: applied → approved, returned or refused. Running:
    /// approved, partly resumed or suspended → partly or fully resumed (a
    /// change), fully → partly resumed. Stopping: approved or resumed →
    /// suspended. Nothing else, and never to itself.
    pub fn step(self, to: ResumptionStatus) -> Result<ResumptionStatus, FieldError> {
        use ResumptionStatus::*;
        match (self, to) {
            (NotStarted | Returned | Refused, Applied)
            | (Applied, Approved | Returned | Refused)
            | (FullyResumed, PartlyResumed)
            | (Approved | PartlyResumed | FullyResumed, Suspended) => Ok(to),
            (Approved | PartlyResumed | Suspended, PartlyResumed | FullyResumed) if self != to => Ok(to),
            _ => Err(FieldError::new("status", "invalid_transition").arg("from", self.as_str()).arg("to", to.as_str())),
        }
    }

    /// Whether the enterprise is running (partly or fully).
    pub fn is_resumed(self) -> bool {
        matches!(self, Self::PartlyResumed | Self::FullyResumed)
    }

    /// Whether moving to this status needs a written reason (returning,
    /// refusing, suspending).
    pub fn needs_reason(self) -> bool {
        matches!(self, Self::Returned | Self::Refused | Self::Suspended)
    }
}

/// The prevention checklist (防控方案) filed with an application.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PreventionPlan {
    /// Days of masks in stock for all staff, 0–365.
    pub mask_stock_days: u16,
    /// The disinfection routine, e.g. "twice a day".
    pub disinfection: String,
    /// Whether temperatures are taken at the gate.
    pub gate_temperature_checks: bool,
    /// How meals are served (staggered, boxed); may be empty.
    pub canteen: String,
    /// How dormitories are arranged; may be empty.
    pub dormitory: String,
    /// Whether a room is set aside to isolate someone with a fever.
    pub isolation_room: bool,
    /// Who to call in an emergency.
    pub emergency_contact_name: String,
    /// Their mobile number, normalised to eleven digits.
    pub emergency_contact_phone: String,
}

impl PreventionPlan {
    /// Masks for fewer days than this is a warning to the reviewer.
    pub const MIN_MASK_DAYS: u16 = 7;

    /// Checklist items below the minimum for approval, for the reviewer to
    /// see as warnings: `mask_stock_days` (under a week),
    /// `gate_temperature_checks`, `isolation_room`.
    pub fn is_complete_for_approval(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.mask_stock_days < Self::MIN_MASK_DAYS {
            missing.push("mask_stock_days");
        }
        if !self.gate_temperature_checks {
            missing.push("gate_temperature_checks");
        }
        if !self.isolation_room {
            missing.push("isolation_room");
        }
        missing
    }
}

/// Personal data: the contact's name and number are not shown.
impl fmt::Debug for PreventionPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreventionPlan")
            .field("mask_stock_days", &self.mask_stock_days)
            .field("disinfection", &self.disinfection)
            .field("gate_temperature_checks", &self.gate_temperature_checks)
            .field("canteen", &self.canteen)
            .field("dormitory", &self.dormitory)
            .field("isolation_room", &self.isolation_room)
            .field("emergency_contact_name", &format_args!("<redacted>"))
            .field("emergency_contact_phone", &format_args!("<redacted>"))
            .finish()
    }
}

/// A [`PreventionPlan`] as submitted, before any check.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct PreventionPlanDraft {
    /// Days of masks in stock.
    pub mask_stock_days: Option<i64>,
    /// The disinfection routine.
    pub disinfection: String,
    /// Temperatures taken at the gate.
    pub gate_temperature_checks: bool,
    /// Canteen arrangement.
    pub canteen: String,
    /// Dormitory arrangement.
    pub dormitory: String,
    /// An isolation room is set aside.
    pub isolation_room: bool,
    /// Emergency contact's name.
    pub emergency_contact_name: String,
    /// Emergency contact's mobile number.
    pub emergency_contact_phone: String,
}

/// Personal data: the contact's name and number are not shown.
impl fmt::Debug for PreventionPlanDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreventionPlanDraft")
            .field("mask_stock_days", &self.mask_stock_days)
            .field("disinfection", &self.disinfection)
            .field("gate_temperature_checks", &self.gate_temperature_checks)
            .field("canteen", &self.canteen)
            .field("dormitory", &self.dormitory)
            .field("isolation_room", &self.isolation_room)
            .field("emergency_contact_name", &format_args!("<redacted>"))
            .field("emergency_contact_phone", &format_args!("<redacted>"))
            .finish()
    }
}

impl PreventionPlanDraft {
    /// Checks every field, reporting all bad ones under `plan.`: masks for
    /// 0–365 days; a disinfection routine of up to 200 characters; canteen
    /// and dormitory up to 200 (may be blank); the contact's name (up to 32)
    /// and mobile number.
    pub fn parse(self) -> Result<PreventionPlan, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let mask_stock_days = keep(e, ranged("plan.mask_stock_days", self.mask_stock_days, 0, 365));
        let disinfection =
            keep(e, BoundedText::<200>::parse("plan.disinfection", &self.disinfection).map(BoundedText::into_string));
        let canteen = keep(e, optional_text::<200>("plan.canteen", &self.canteen));
        let dormitory = keep(e, optional_text::<200>("plan.dormitory", &self.dormitory));
        let name = keep(e, PersonName::parse("plan.emergency_contact_name", &self.emergency_contact_name));
        let phone = keep(e, MobilePhone::parse("plan.emergency_contact_phone", &self.emergency_contact_phone));
        match (mask_stock_days, disinfection, canteen, dormitory, name, phone) {
            (Some(mask_stock_days), Some(disinfection), Some(canteen), Some(dormitory), Some(name), Some(phone)) => {
                Ok(PreventionPlan {
                    mask_stock_days,
                    disinfection,
                    gate_temperature_checks: self.gate_temperature_checks,
                    canteen,
                    dormitory,
                    isolation_room: self.isolation_room,
                    emergency_contact_name: name.expose().to_owned(),
                    emergency_contact_phone: phone.expose().to_owned(),
                })
            }
            _ => Err(errors),
        }
    }
}

/// Who will work: employees living locally, returning from elsewhere (with
/// where from), and still away.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Workforce {
    /// Living locally.
    pub local: u32,
    /// Returning from other provinces or cities.
    pub returning: u32,
    /// Where the returning come from (province name or region code) and how
    /// many from each.
    pub returning_origins: Vec<(String, u32)>,
    /// Not yet able to return.
    pub still_away: u32,
}

impl Workforce {
    /// The longest origin name, in characters.
    pub const MAX_ORIGIN: usize = 40;

    /// Everyone counted: local, returning and still away.
    pub fn total(&self) -> u32 {
        self.local.saturating_add(self.returning).saturating_add(self.still_away)
    }

    /// Checks the counts against the enterprise's `employees`: no more in
    /// total (`above_employees`), origins adding up to `returning`
    /// (`origins_sum`), and every origin named in 1–40 characters.
    pub fn check(&self, employees: u32) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.total() > employees {
            errors.push(FieldError::new("workforce.local", "above_employees").arg("max", employees));
        }
        let from_origins: u64 = self.returning_origins.iter().map(|(_, n)| u64::from(*n)).sum();
        if from_origins != u64::from(self.returning) {
            errors.push(FieldError::new("workforce.returning_origins", "origins_sum").arg("expected", self.returning));
        }
        for (i, (origin, _)) in self.returning_origins.iter().enumerate() {
            let field = format!("workforce.returning_origins[{i}].origin");
            keep(&mut errors, BoundedText::<{ Workforce::MAX_ORIGIN }>::parse(&field, origin));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// A day's report from a running enterprise, as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DailyReportDraft {
    /// Staff at work today.
    pub on_site: Option<i64>,
    /// Capacity in use, percent.
    pub capacity_pct: Option<i64>,
    /// Output value today, yuan.
    pub output_value_yuan: Option<i64>,
    /// Days of protective equipment in stock.
    pub ppe_stock_days: Option<i64>,
    /// Days of raw materials in stock.
    pub raw_material_days: Option<i64>,
    /// Orders on hand, yuan.
    pub orders_on_hand_yuan: Option<i64>,
    /// Masks in stock.
    pub masks: Option<i64>,
    /// Disinfectant in stock, kg.
    pub disinfectant_kg: Option<i64>,
    /// Protective suits in stock.
    pub suits: Option<i64>,
    /// Problems to raise, free text.
    pub problems: String,
}

/// A checked daily report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyFigures {
    /// Staff at work, at most the employees.
    pub on_site: u32,
    /// Capacity in use, 0–100 %.
    pub capacity_pct: u8,
    /// Output value, yuan.
    pub output_value_yuan: i64,
    /// Days of protective equipment.
    pub ppe_stock_days: u16,
    /// Days of raw materials.
    pub raw_material_days: u16,
    /// Orders on hand, yuan.
    pub orders_on_hand_yuan: i64,
    /// Masks.
    pub masks: i64,
    /// Disinfectant, kg.
    pub disinfectant_kg: i64,
    /// Protective suits.
    pub suits: i64,
    /// Problems raised, trimmed (may be empty).
    pub problems: String,
}

impl DailyReportDraft {
    /// The largest amount of money accepted, yuan (10^12).
    pub const MAX_YUAN: i64 = 1_000_000_000_000;
    /// The largest stock count accepted (10^9).
    pub const MAX_STOCK: i64 = 1_000_000_000;
    /// The longest problem text, in characters.
    pub const MAX_PROBLEMS: usize = 500;

    /// Checks every field against the enterprise's `employees`, reporting all
    /// bad ones: staff on site, capacity and days of stock are required;
    /// money and stock counts default to 0.
    pub fn parse(self, employees: u32) -> Result<DailyFigures, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let on_site = keep(
            e,
            match self.on_site {
                None => Err(FieldError::new("on_site", "required")),
                Some(n) if n < 0 => Err(FieldError::new("on_site", "out_of_range").arg("min", 0).arg("max", employees)),
                Some(n) => u32::try_from(n)
                    .ok()
                    .filter(|n| *n <= employees)
                    .ok_or_else(|| FieldError::new("on_site", "above_employees").arg("max", employees)),
            },
        );
        let capacity_pct = keep(e, ranged("capacity_pct", self.capacity_pct, 0, 100));
        let yuan = |field: &str, raw: Option<i64>| ranged::<i64>(field, raw.or(Some(0)), 0, Self::MAX_YUAN);
        let output_value_yuan = keep(e, yuan("output_value_yuan", self.output_value_yuan));
        let ppe_stock_days = keep(e, ranged("ppe_stock_days", self.ppe_stock_days, 0, 365));
        let raw_material_days = keep(e, ranged("raw_material_days", self.raw_material_days, 0, 365));
        let orders_on_hand_yuan = keep(e, yuan("orders_on_hand_yuan", self.orders_on_hand_yuan));
        let stock = |field: &str, raw: Option<i64>| ranged::<i64>(field, raw.or(Some(0)), 0, Self::MAX_STOCK);
        let masks = keep(e, stock("masks", self.masks));
        let disinfectant_kg = keep(e, stock("disinfectant_kg", self.disinfectant_kg));
        let suits = keep(e, stock("suits", self.suits));
        let problems = keep(e, optional_text::<{ DailyReportDraft::MAX_PROBLEMS }>("problems", &self.problems));
        match (on_site, capacity_pct, ppe_stock_days, raw_material_days, problems) {
            (Some(on_site), Some(capacity_pct), Some(ppe_stock_days), Some(raw_material_days), Some(problems))
                if errors.is_empty() =>
            {
                Ok(DailyFigures {
                    on_site,
                    capacity_pct,
                    output_value_yuan: output_value_yuan.unwrap_or_default(),
                    ppe_stock_days,
                    raw_material_days,
                    orders_on_hand_yuan: orders_on_hand_yuan.unwrap_or_default(),
                    masks: masks.unwrap_or_default(),
                    disinfectant_kg: disinfectant_kg.unwrap_or_default(),
                    suits: suits.unwrap_or_default(),
                    problems,
                })
            }
            _ => Err(errors),
        }
    }
}

choice_enum! {
    /// What an enterprise needs help with (诉求类别).
    TicketCategory {
        /// 证照审批.
        Permits = "permits",
        /// 融资信贷.
        Finance = "finance",
        /// 用工与返岗.
        Labour = "labour",
        /// 原材料.
        RawMaterials = "raw_materials",
        /// 物流与通行证.
        Logistics = "logistics",
        /// 水电气.
        Utilities = "utilities",
        /// 政策咨询.
        Policy = "policy",
        /// 销路受阻 (a household's produce cannot be sold).
        Sales = "sales",
        /// 农资短缺 (seed, fertiliser, feed missing).
        FarmInputs = "farm_inputs",
        /// 其他.
        Other = "other",
    }
}

impl TicketCategory {
    /// Hours a department has to settle a ticket of this kind: a day for
    /// logistics and utilities, two for raw materials, five for finance,
    /// three otherwise.
    pub fn default_deadline_hours(self) -> i64 {
        match self {
            Self::Logistics | Self::Utilities => 24,
            Self::RawMaterials | Self::FarmInputs => 48,
            Self::Finance => 120,
            Self::Permits | Self::Labour | Self::Policy | Self::Sales | Self::Other => 72,
        }
    }

    /// The code of the org unit a new ticket goes to: market regulation for
    /// permits, commerce for finance, human resources for labour, transport
    /// for logistics, commerce for blocked sales, agriculture for farm
    /// inputs, industry for the rest.
    pub fn default_department(self) -> &'static str {
        match self {
            Self::Permits => "D-MARKET",
            Self::Finance | Self::Sales => "D-COMMERCE",
            Self::FarmInputs => "D-AGRI",
            Self::Labour => "D-HRSS",
            Self::Logistics => "D-TRANSPORT",
            Self::RawMaterials | Self::Utilities | Self::Policy | Self::Other => "D-INDUSTRY",
        }
    }
}

choice_enum! {
    /// Where a ticket's handling stands.
    TicketStatus {
        /// Raised, not yet taken up.
        Open = "open",
        /// A department took it.
        Accepted = "accepted",
        /// Being worked on.
        InProgress = "in_progress",
        /// The department says it is done.
        Resolved = "resolved",
        /// The enterprise agrees it is done.
        Confirmed = "confirmed",
        /// The enterprise says it is not done.
        Reopened = "reopened",
    }
}

impl TicketStatus {
    /// Checks a change of status: open or reopened → accepted → in progress;
    /// any of those → resolved; resolved → confirmed or reopened.
    pub fn step(self, to: TicketStatus) -> Result<TicketStatus, FieldError> {
        use TicketStatus::*;
        match (self, to) {
            (Open | Reopened, Accepted)
            | (Accepted, InProgress)
            | (Open | Reopened | Accepted | InProgress, Resolved)
            | (Resolved, Confirmed | Reopened) => Ok(to),
            _ => Err(FieldError::new("status", "invalid_transition").arg("from", self.as_str()).arg("to", to.as_str())),
        }
    }

    /// Whether the ticket is closed for good (confirmed).
    pub fn is_closed(self) -> bool {
        self == Self::Confirmed
    }

    /// Whether the deadline clock has stopped (resolved or confirmed).
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Resolved | Self::Confirmed)
    }
}

/// How satisfied an enterprise is with a ticket's handling, 1–5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Satisfaction(u8);

impl Satisfaction {
    /// Checks a rating of 1–5.
    pub fn parse(field: &str, raw: i64) -> Result<Self, FieldError> {
        ranged(field, Some(raw), 1, 5).map(Self)
    }

    /// The rating.
    pub fn get(self) -> u8 {
        self.0
    }
}

choice_enum! {
    /// A step of a key project, in the order they happen.
    MilestoneKind {
        /// 手续办理.
        Permits = "permits",
        /// 设备订购.
        EquipmentOrdered = "equipment_ordered",
        /// 设备到货.
        EquipmentDelivered = "equipment_delivered",
        /// 安装调试.
        Installed = "installed",
        /// 试生产.
        TrialProduction = "trial_production",
        /// 正式投产.
        FullProduction = "full_production",
    }
}

/// A milestone's planned day and, once done, its actual day (days since
/// 1970-01-01, see [`crate::calendar::days_from_civil`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MilestonePlan {
    /// Which step.
    pub kind: MilestoneKind,
    /// When it is planned.
    pub planned_day: i64,
    /// When it was done, if it was.
    pub actual_day: Option<i64>,
}

/// Checks a project's milestones, sorted by the caller: each kind at most
/// once (`taken`), in [`MilestoneKind`] order, planned days not going back,
/// and actual days (where given) not going back (`milestone_order`).
pub fn check_milestones(ms: &[MilestonePlan]) -> Result<(), FieldError> {
    let mut last_actual: Option<i64> = None;
    for (i, m) in ms.iter().enumerate() {
        let field = |name: &str| format!("milestones[{i}].{name}");
        if ms[..i].iter().any(|p| p.kind == m.kind) {
            return Err(FieldError::new(field("kind"), "taken"));
        }
        if let Some(prev) = i.checked_sub(1).map(|p| ms[p]) {
            if (m.kind as usize) < (prev.kind as usize) {
                return Err(FieldError::new(field("kind"), "milestone_order"));
            }
            if m.planned_day < prev.planned_day {
                return Err(FieldError::new(field("planned_day"), "milestone_order"));
            }
        }
        if let Some(actual) = m.actual_day {
            if last_actual.is_some_and(|last| actual < last) {
                return Err(FieldError::new(field("actual_day"), "milestone_order"));
            }
            last_actual = Some(actual);
        }
    }
    Ok(())
}

/// Days a milestone is late: for a done one, how much after plan it was done;
/// for an open one, how far `today` is past plan. Never negative.
pub fn slip_days(m: &MilestonePlan, today: i64) -> i64 {
    m.actual_day.unwrap_or(today).saturating_sub(m.planned_day).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(raw: &str) -> Result<CreditCode, FieldError> {
        CreditCode::parse("credit_code", raw)
    }

    fn with_check(first17: &str) -> String {
        format!("{first17}{}", CreditCode::check_char(first17).unwrap())
    }

    #[test]
    fn real_credit_codes_parse() {
        for raw in ["91350100M000100Y43", "91110000600037341L"] {
            let c = code(raw).unwrap();
            assert_eq!(c.as_str(), raw);
            assert_eq!(c.to_string(), raw);
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{raw}\""));
            assert_eq!(CreditCode::check_char(&raw[..17]), raw.chars().last());
        }
    }

    #[test]
    fn full_width_spaced_lower_case_codes_normalise() {
        let full_width: String =
            "91350100m000100y43".chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
        assert!(full_width.starts_with("９１３５"));
        let (head, tail): (String, String) =
            (full_width.chars().take(6).collect(), full_width.chars().skip(6).collect());
        let typed = format!("\u{3000}{head}　{tail} ");
        assert_eq!(code(&typed).unwrap().as_str(), "91350100M000100Y43");
        assert_eq!(code(" 9111 0000 6000 3734 1l").unwrap().as_str(), "91110000600037341L");
    }

    #[test]
    fn bad_credit_codes_are_refused_with_the_reason() {
        assert_eq!(code("  ").unwrap_err().code, "required");
        let short = code("91350100M000100Y4").unwrap_err();
        assert_eq!((short.code, short.args), ("length", vec![("min", "18".into()), ("max", "18".into())]));
        assert_eq!(code("91350100M000100Y43X").unwrap_err().code, "length");
        let wrong = code("91350100M000100Y44").unwrap_err();
        assert_eq!((wrong.field.as_str(), wrong.code), ("credit_code", "credit_code_check"));
        assert_eq!(wrong.args, [("expected", "3".to_owned())]);
        assert_eq!(code("91350100I000100Y43").unwrap_err().code, "credit_code_chars");
        assert_eq!(code("91350100O000100Y43").unwrap_err().code, "credit_code_chars");
        assert_eq!(code("9135010ＺM000100Y43").unwrap_err().code, "credit_code_chars");
        assert_eq!(code("91350100M000100Y4中").unwrap_err().code, "credit_code_chars");
        // Letters in the region code fail even with the right check character.
        assert_eq!(code(&with_check("9135A100M000100Y4")).unwrap_err().code, "credit_code_chars");
        assert_eq!(code(&with_check("91H50100M000100Y4")).unwrap_err().code, "credit_code_chars");
    }

    #[test]
    fn check_char_needs_17_alphabet_characters() {
        assert_eq!(CreditCode::check_char("91350100M000100Y"), None);
        assert_eq!(CreditCode::check_char("91350100M000100Y43"), None);
        assert_eq!(CreditCode::check_char("91350100m000100Y4"), None);
        assert_eq!(CreditCode::check_char("91350100S000100Y4"), None);
        // Σ = 0 gives c = 31, read as 0.
        assert_eq!(CreditCode::check_char("00000000000000000"), Some('0'));
    }

    /// Every choice serialises as its stored name and back.
    fn wire_names_match<T>(all: &[T], name: fn(T) -> &'static str)
    where
        T: Copy + PartialEq + fmt::Debug + Serialize + serde::de::DeserializeOwned,
    {
        for v in all {
            let json = format!("\"{}\"", name(*v));
            assert_eq!(serde_json::to_string(v).unwrap(), json);
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *v);
        }
    }

    #[test]
    fn choices_use_their_stored_names_on_the_wire() {
        wire_names_match(Sector::ALL, Sector::as_str);
        wire_names_match(SizeClass::ALL, SizeClass::as_str);
        wire_names_match(ResumptionStatus::ALL, ResumptionStatus::as_str);
        wire_names_match(TicketCategory::ALL, TicketCategory::as_str);
        wire_names_match(TicketStatus::ALL, TicketStatus::as_str);
        wire_names_match(MilestoneKind::ALL, MilestoneKind::as_str);
    }

    #[test]
    fn sectors_are_the_letters_a_to_t() {
        let letters: String = Sector::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(letters, "ABCDEFGHIJKLMNOPQRST");
        assert_eq!(Sector::parse("sector", "C").unwrap(), Sector::Manufacturing);
        assert_eq!(Sector::parse("sector", "c").unwrap_err().code, "invalid_choice");
        assert_eq!(Sector::parse_loose("sector", " c ").unwrap(), Sector::Manufacturing);
        assert_eq!(Sector::parse_loose("sector", "ｆ").unwrap(), Sector::Trade);
        assert_eq!(Sector::parse_loose("sector", "U").unwrap_err().code, "invalid_choice");
    }

    #[test]
    fn resumption_transitions_are_exactly_the_table() {
        use ResumptionStatus::*;
        let allowed = [
            (NotStarted, Applied),
            (Returned, Applied),
            (Refused, Applied),
            (Applied, Approved),
            (Applied, Returned),
            (Applied, Refused),
            (Approved, PartlyResumed),
            (Approved, FullyResumed),
            (PartlyResumed, FullyResumed),
            (Suspended, PartlyResumed),
            (Suspended, FullyResumed),
            (FullyResumed, PartlyResumed),
            (Approved, Suspended),
            (PartlyResumed, Suspended),
            (FullyResumed, Suspended),
        ];
        for &from in ResumptionStatus::ALL {
            for &to in ResumptionStatus::ALL {
                match from.step(to) {
                    Ok(next) => assert!(allowed.contains(&(from, to)) && next == to, "{from:?} → {to:?}"),
                    Err(e) => {
                        assert!(!allowed.contains(&(from, to)), "{from:?} → {to:?} refused");
                        assert_eq!((e.field.as_str(), e.code), ("status", "invalid_transition"));
                        assert_eq!(e.args, [("from", from.as_str().to_owned()), ("to", to.as_str().to_owned())]);
                    }
                }
            }
        }
        let resumed: Vec<_> = ResumptionStatus::ALL.iter().filter(|s| s.is_resumed()).collect();
        assert_eq!(resumed, [&PartlyResumed, &FullyResumed]);
        let reasoned: Vec<_> = ResumptionStatus::ALL.iter().filter(|s| s.needs_reason()).collect();
        assert_eq!(reasoned, [&Returned, &Refused, &Suspended]);
    }

    fn plan_draft() -> PreventionPlanDraft {
        PreventionPlanDraft {
            mask_stock_days: Some(14),
            disinfection: " twice a day ".into(),
            gate_temperature_checks: true,
            canteen: "staggered meals, boxed".into(),
            dormitory: String::new(),
            isolation_room: true,
            emergency_contact_name: "王建国".into(),
            emergency_contact_phone: "+86 138-0013-8000".into(),
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<(&str, &'static str)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn a_good_plan_parses_normalised() {
        let plan = plan_draft().parse().unwrap();
        assert_eq!(plan.disinfection, "twice a day");
        assert_eq!(plan.dormitory, "");
        assert_eq!(plan.emergency_contact_phone, "13800138000");
        assert!(plan.is_complete_for_approval().is_empty());
        let debug = format!("{plan:?} {:?}", plan_draft());
        assert!(!debug.contains("王建国") && !debug.contains("0013"), "{debug}");
    }

    #[test]
    fn a_bad_plan_reports_every_field() {
        let draft = PreventionPlanDraft {
            mask_stock_days: None,
            disinfection: "  ".into(),
            canteen: "x".repeat(201),
            dormitory: "六人一间".repeat(51),
            emergency_contact_name: String::new(),
            emergency_contact_phone: "12345".into(),
            ..plan_draft()
        };
        assert_eq!(
            fields(&draft.parse().unwrap_err()),
            [
                ("plan.mask_stock_days", "required"),
                ("plan.disinfection", "required"),
                ("plan.canteen", "too_long"),
                ("plan.dormitory", "too_long"),
                ("plan.emergency_contact_name", "required"),
                ("plan.emergency_contact_phone", "invalid_phone"),
            ]
        );
        let too_many = PreventionPlanDraft { mask_stock_days: Some(366), ..plan_draft() }.parse().unwrap_err();
        assert_eq!(fields(&too_many), [("plan.mask_stock_days", "out_of_range")]);
    }

    #[test]
    fn a_thin_plan_warns_the_reviewer() {
        let draft = PreventionPlanDraft {
            mask_stock_days: Some(6),
            gate_temperature_checks: false,
            isolation_room: false,
            ..plan_draft()
        };
        let plan = draft.parse().unwrap();
        assert_eq!(plan.is_complete_for_approval(), ["mask_stock_days", "gate_temperature_checks", "isolation_room"]);
        let week = PreventionPlan { mask_stock_days: 7, gate_temperature_checks: true, ..plan };
        assert_eq!(week.is_complete_for_approval(), ["isolation_room"]);
    }

    #[test]
    fn workforce_counts_must_add_up() {
        let w = Workforce {
            local: 80,
            returning: 15,
            returning_origins: vec![("湖北省".into(), 10), ("420100".into(), 5)],
            still_away: 5,
        };
        assert_eq!(w.total(), 100);
        assert_eq!(w.check(100), Ok(()));
        assert_eq!(Workforce::default().check(0), Ok(()));
        let over = w.check(99).unwrap_err();
        assert_eq!(fields(&over), [("workforce.local", "above_employees")]);
        assert_eq!(over[0].args, [("max", "99".to_owned())]);

        let bad = Workforce {
            returning: 16,
            returning_origins: vec![("湖北省".into(), 10), (" ".into(), 3), ("x".repeat(41), 2)],
            ..w
        };
        let errors = bad.check(10).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                ("workforce.local", "above_employees"),
                ("workforce.returning_origins", "origins_sum"),
                ("workforce.returning_origins[1].origin", "required"),
                ("workforce.returning_origins[2].origin", "too_long"),
            ]
        );
        assert_eq!(errors[1].args, [("expected", "16".to_owned())]);
    }

    fn report() -> DailyReportDraft {
        DailyReportDraft {
            on_site: Some(40),
            capacity_pct: Some(60),
            ppe_stock_days: Some(10),
            raw_material_days: Some(20),
            ..Default::default()
        }
    }

    #[test]
    fn a_daily_report_defaults_money_and_stock_to_zero() {
        let figures = DailyReportDraft { problems: " 缺少包装材料 ".into(), ..report() }.parse(50).unwrap();
        assert_eq!((figures.on_site, figures.capacity_pct), (40, 60));
        assert_eq!(
            (figures.output_value_yuan, figures.orders_on_hand_yuan, figures.masks, figures.suits),
            (0, 0, 0, 0)
        );
        assert_eq!(figures.problems, "缺少包装材料");
        let all_in = DailyReportDraft { on_site: Some(50), capacity_pct: Some(100), ..report() }.parse(50);
        assert_eq!(all_in.unwrap().on_site, 50);
    }

    #[test]
    fn a_bad_daily_report_names_every_field() {
        let draft = DailyReportDraft {
            on_site: Some(51),
            capacity_pct: Some(101),
            output_value_yuan: Some(-1),
            ppe_stock_days: None,
            raw_material_days: Some(366),
            orders_on_hand_yuan: Some(DailyReportDraft::MAX_YUAN + 1),
            masks: Some(-5),
            disinfectant_kg: Some(DailyReportDraft::MAX_STOCK),
            suits: Some(DailyReportDraft::MAX_STOCK + 1),
            problems: "问".repeat(501),
        };
        let errors = draft.parse(50).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                ("on_site", "above_employees"),
                ("capacity_pct", "out_of_range"),
                ("output_value_yuan", "out_of_range"),
                ("ppe_stock_days", "required"),
                ("raw_material_days", "out_of_range"),
                ("orders_on_hand_yuan", "out_of_range"),
                ("masks", "out_of_range"),
                ("suits", "out_of_range"),
                ("problems", "too_long"),
            ]
        );
        assert_eq!(errors[0].args, [("max", "50".to_owned())]);
        assert_eq!(errors[8].args, [("max", "500".to_owned())]);
        let negative = DailyReportDraft { on_site: Some(-1), ..report() }.parse(50).unwrap_err();
        assert_eq!(fields(&negative), [("on_site", "out_of_range")]);
        let missing = DailyReportDraft::default().parse(50).unwrap_err();
        let missing: Vec<_> = missing.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(missing, ["on_site", "capacity_pct", "ppe_stock_days", "raw_material_days"]);
    }

    #[test]
    fn ticket_categories_route_and_time() {
        let table: Vec<_> = TicketCategory::ALL
            .iter()
            .map(|c| (c.as_str(), c.default_deadline_hours(), c.default_department()))
            .collect();
        assert_eq!(
            table,
            [
                ("permits", 72, "D-MARKET"),
                ("finance", 120, "D-COMMERCE"),
                ("labour", 72, "D-HRSS"),
                ("raw_materials", 48, "D-INDUSTRY"),
                ("logistics", 24, "D-TRANSPORT"),
                ("utilities", 24, "D-INDUSTRY"),
                ("policy", 72, "D-INDUSTRY"),
                ("sales", 72, "D-COMMERCE"),
                ("farm_inputs", 48, "D-AGRI"),
                ("other", 72, "D-INDUSTRY"),
            ]
        );
    }

    #[test]
    fn ticket_transitions_are_exactly_the_table() {
        use TicketStatus::*;
        let allowed = [
            (Open, Accepted),
            (Reopened, Accepted),
            (Accepted, InProgress),
            (Open, Resolved),
            (Reopened, Resolved),
            (Accepted, Resolved),
            (InProgress, Resolved),
            (Resolved, Confirmed),
            (Resolved, Reopened),
        ];
        for &from in TicketStatus::ALL {
            for &to in TicketStatus::ALL {
                match from.step(to) {
                    Ok(next) => assert!(allowed.contains(&(from, to)) && next == to, "{from:?} → {to:?}"),
                    Err(e) => {
                        assert!(!allowed.contains(&(from, to)), "{from:?} → {to:?} refused");
                        assert_eq!((e.field.as_str(), e.code), ("status", "invalid_transition"));
                        assert_eq!(e.args, [("from", from.as_str().to_owned()), ("to", to.as_str().to_owned())]);
                    }
                }
            }
        }
        let closed: Vec<_> = TicketStatus::ALL.iter().filter(|s| s.is_closed()).collect();
        assert_eq!(closed, [&Confirmed]);
        let settled: Vec<_> = TicketStatus::ALL.iter().filter(|s| s.is_settled()).collect();
        assert_eq!(settled, [&Resolved, &Confirmed]);
    }

    #[test]
    fn satisfaction_is_one_to_five() {
        for n in 1..=5 {
            assert_eq!(Satisfaction::parse("satisfaction", n).unwrap().get(), n as u8);
        }
        for n in [0, 6, -1, 256, i64::MAX] {
            let e = Satisfaction::parse("satisfaction", n).unwrap_err();
            assert_eq!((e.code, e.args), ("out_of_range", vec![("min", "1".into()), ("max", "5".into())]));
        }
        assert_eq!(serde_json::to_string(&Satisfaction::parse("s", 4).unwrap()).unwrap(), "4");
    }

    fn ms(kind: MilestoneKind, planned_day: i64, actual_day: Option<i64>) -> MilestonePlan {
        MilestonePlan { kind, planned_day, actual_day }
    }

    fn milestone_error(list: &[MilestonePlan]) -> (String, &'static str) {
        let e = check_milestones(list).unwrap_err();
        (e.field, e.code)
    }

    #[test]
    fn milestones_go_in_order() {
        use MilestoneKind::*;
        let day = crate::calendar::days_from_civil(2020, 3, 1);
        let good = [
            ms(Permits, day, Some(day + 2)),
            ms(EquipmentOrdered, day + 10, None),
            ms(Installed, day + 10, Some(day + 2)),
            ms(FullProduction, day + 60, None),
        ];
        assert_eq!(check_milestones(&good), Ok(()));
        assert_eq!(check_milestones(&[]), Ok(()));

        let twice = [ms(Permits, day, None), ms(Installed, day, None), ms(Permits, day, None)];
        assert_eq!(milestone_error(&twice), ("milestones[2].kind".into(), "taken"));
        let swapped = [ms(Installed, day, None), ms(Permits, day, None)];
        assert_eq!(milestone_error(&swapped), ("milestones[1].kind".into(), "milestone_order"));
        let planned_back = [ms(Permits, day, None), ms(EquipmentOrdered, day - 1, None)];
        assert_eq!(milestone_error(&planned_back), ("milestones[1].planned_day".into(), "milestone_order"));
        let actual_back =
            [ms(Permits, day, Some(day + 5)), ms(Installed, day, None), ms(FullProduction, day, Some(day))];
        assert_eq!(milestone_error(&actual_back), ("milestones[2].actual_day".into(), "milestone_order"));
    }

    #[test]
    fn slip_counts_late_days_only() {
        let m = ms(MilestoneKind::Installed, 100, None);
        assert_eq!(slip_days(&m, 90), 0);
        assert_eq!(slip_days(&m, 107), 7);
        assert_eq!(slip_days(&MilestonePlan { actual_day: Some(103), ..m }, 200), 3);
        assert_eq!(slip_days(&MilestonePlan { actual_day: Some(95), ..m }, 200), 0);
    }

    fn alphabet() -> impl Strategy<Value = char> {
        prop::sample::select(CREDIT_ALPHABET.chars().collect::<Vec<_>>())
    }

    /// 17 characters of the alphabet with digits in places 3–8.
    fn first17() -> impl Strategy<Value = String> {
        (prop::collection::vec(alphabet(), 2), "[0-9]{6}", prop::collection::vec(alphabet(), 9))
            .prop_map(|(head, region, tail)| format!("{}{region}{}", String::from_iter(head), String::from_iter(tail)))
    }

    proptest! {
        #[test]
        fn any_code_with_its_check_character_parses(first in first17()) {
            let raw = with_check(&first);
            prop_assert_eq!(code(&raw).unwrap().to_string(), raw.clone());
            prop_assert_eq!(code(&raw.to_lowercase()).unwrap().to_string(), raw);
        }

        #[test]
        fn any_other_check_character_fails(first in first17()) {
            let right = CreditCode::check_char(&first).unwrap();
            for c in CREDIT_ALPHABET.chars().filter(|c| *c != right) {
                let e = code(&format!("{first}{c}")).unwrap_err();
                prop_assert_eq!(e.code, "credit_code_check");
                prop_assert_eq!(e.args, vec![("expected", right.to_string())]);
            }
        }

        #[test]
        fn sorted_milestones_with_growing_days_pass(
            picks in prop::collection::vec(any::<bool>(), 6),
            steps in prop::collection::vec((0i64..30, prop::option::of(0i64..30)), 6),
            today in 0i64..400,
        ) {
            let mut planned = 18_000;
            let mut actual = 18_000;
            let mut list = Vec::new();
            for ((kind, pick), (step, done)) in MilestoneKind::ALL.iter().zip(picks).zip(steps) {
                planned += step;
                let actual_day = done.map(|d| { actual += d; actual });
                if pick {
                    list.push(ms(*kind, planned, actual_day));
                }
            }
            prop_assert_eq!(check_milestones(&list), Ok(()));
            for m in &list {
                prop_assert!(slip_days(m, 18_000 + today) >= 0);
            }
        }
    }
}
