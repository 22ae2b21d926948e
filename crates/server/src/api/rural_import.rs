//! Import of registered households, labour-pool workers and labour demand
//! from XLSX or CSV, and their export as XLSX, with the rules of the other
//! imports (see [`super::import`]): the file is the raw request body, the
//! header row may name the columns in Chinese or English in any order, an
//! unknown column is refused, every row is checked before anything is
//! written and every bad cell is named with its spreadsheet row (the header
//! is row 1), column and reason (HTTP 422, the one error shape with a `rows`
//! array). `?dry_run=true` stops after checking. A clean file is written by
//! one command (`ImportHouseholds`, `ImportWorkers`, `ImportDemand`): one
//! transaction, all rows or none; should the writer still refuse a row
//! (someone entered the same number in between), the refusal names that row
//! of the file.
//!
//! Choices are written with the Chinese labels of the pages and read by
//! label or by the stored name (`未脱贫` or `in_poverty`); lists (income
//! sources, skills, regions) are separated by `、`, `,`, `，`, `;` or `；`.
//! A village is named by its township and its own name (or code), and must
//! lie within the caller's scope.
//!
//! # Households: `POST /api/v1/households/import`
//! Needs the right to manage households. One row per household:
//!
//! | Column | or | |
//! | --- | --- | --- |
//! | 户编号 | `registry_no` | 6–24 digits or capitals; unique in the file and the database |
//! | 乡镇 | `township` | the township's name or code |
//! | 村 | `village` | the village's name or code, in that township, within the caller's scope |
//! | 户主姓名 | `head_name` | |
//! | 户主年龄 | `head_age` | 0–120 |
//! | 户主劳动能力 | `head_ability` | 有劳动力/弱劳动力/无劳动力 or `full`/`partial`/`none` |
//! | 户主健康 | `head_health` | 健康/慢性病/大病/残疾 or `healthy`/`chronic`/`serious`/`disabled` |
//! | 其他成员 | `other_members` | optional: `姓名:关系:年龄:劳动能力:健康`, members separated by `;` |
//! | 联系电话 | `phone` | optional: a mobile number |
//! | 状态 | `status` | 未脱贫/今年脱贫/已脱贫（监测） or the stored names |
//! | 收入来源 | `income_sources` | at least one of 务工/种植/养殖/经营/政策补贴/其他 |
//! | 帮扶责任人 | `helper` | optional: the login name of an enabled account |
//! | 备注 | `note` | optional, up to 500 characters |
//!
//! # Workers: `POST /api/v1/workers/import`
//! Needs the right to manage labour. A worker with the same name and phone
//! in the same village as one in the file or the pool is refused
//! (`duplicate_in_file`, `taken`): importing a file twice adds nobody twice.
//!
//! | Column | or | |
//! | --- | --- | --- |
//! | 姓名 | `name` | |
//! | 联系电话 | `phone` | optional |
//! | 乡镇, 村 | `township`, `village` | as for households |
//! | 户编号 | `registry_no` | optional: the registered household, of that village |
//! | 年龄 | `age` | 16–65 |
//! | 技能 | `skills` | at least one of 建筑/制造/电工/焊工/驾驶/缝纫/厨师/护理家政/农业/普工 |
//! | 健康状况 | `health` | 健康/医学观察/身体不适 |
//! | 最近体检 | `last_check` | a date, not after today |
//! | 可出发日期 | `available_from` | a date |
//! | 意向地区 | `destinations` | at least one of 县内/省内/省外 |
//! | 备注 | `note` | optional, up to 200 characters |
//!
//! # Demand: `POST /api/v1/labour-demand/import`
//! Needs the right to manage labour. A demand with the same employer,
//! location and first day as one in the file or stored is refused likewise.
//!
//! | Column | or | |
//! | --- | --- | --- |
//! | 企业信用代码 | `credit_code` | optional: a local enterprise within the caller's scope (its name is the employer's) |
//! | 用工单位 | `employer` | an outside employer's name (required without a credit code) |
//! | 工作地点 | `location` | |
//! | 地区 | `region` | 县内/省内/省外 |
//! | 岗位数 | `positions` | 1–500 |
//! | 技能要求 | `skills` | optional (none: anyone) |
//! | 月薪 | `pay_yuan_month` | yuan, 0–100000 |
//! | 开始日期 | `start` | a date |
//! | 结束日期 | `end` | optional, not before the start |
//! | 提供住宿 | `accommodation` | optional: 是/否 |
//! | 备注 | `note` | optional, up to 500 characters |
//!
//! # Export
//! `GET /api/v1/households/export.xlsx`, `/api/v1/workers/export.xlsx` and
//! `/api/v1/labour-demand/export.xlsx` write exactly the import's columns
//! with the Chinese headers, so an export imports again (once the household
//! numbers are changed, or into another deployment). Names and phones are
//! masked unless the caller may see personal data (or, for a household,
//! helps it): only then is the round trip exact. Each needs the export right
//! and reading; the export is recorded as an event.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::response::Response;
use shouwang_domain::household::{Health, IncomeSource, Member, MemberDraft, PovertyStatus, Relation, WorkAbility};
use shouwang_domain::labour::{DemandDraft, DemandFields, HealthStatus, Region, Skill, WorkerDraft, WorkerFields};
use shouwang_domain::policy::{Action, Right};
use shouwang_domain::screening::PersonName;
use shouwang_domain::{FieldError, OrgUnitKind, ScopePath};
use shouwang_store::writer::Command;
use shouwang_store::{Household, HouseholdDraft, OrgUnit, User, Viewer};

use super::enterprises::{format_day, today, viewer};
use super::households::{HouseholdIn, unmasked};
use super::import::{
    Cell, Column, ImportQuery, Problem, Refusal, SheetOut, Table, Upload, column, late_refusal, or_note, read_grid,
    record_export, refused, summary,
};
use super::json::ApiQuery;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

// ----------------------------------------------------------------- labels

/// Each choice with its Chinese labels; the first is the one exports write.
type Labels<T> = [(T, &'static [&'static str])];

const STATUS_LABELS: [(PovertyStatus, &[&str]); 3] = [
    (PovertyStatus::InPoverty, &["未脱贫"]),
    (PovertyStatus::LiftedThisYear, &["今年脱贫"]),
    (PovertyStatus::LiftedMonitored, &["已脱贫（监测）", "已脱贫"]),
];

const RELATION_LABELS: [(Relation, &[&str]); 7] = [
    (Relation::Head, &["户主"]),
    (Relation::Spouse, &["配偶"]),
    (Relation::Child, &["子女", "儿子", "女儿"]),
    (Relation::Parent, &["父母", "父亲", "母亲"]),
    (Relation::Grandchild, &["孙辈", "孙子", "孙女"]),
    (Relation::Sibling, &["兄弟姐妹"]),
    (Relation::Other, &["其他"]),
];

const ABILITY_LABELS: [(WorkAbility, &[&str]); 3] = [
    (WorkAbility::Full, &["有劳动力"]),
    (WorkAbility::Partial, &["弱劳动力", "半劳动力", "弱劳动力或半劳动力"]),
    (WorkAbility::None, &["无劳动力"]),
];

const HEALTH_LABELS: [(Health, &[&str]); 4] = [
    (Health::Healthy, &["健康"]),
    (Health::Chronic, &["慢性病", "长期慢性病"]),
    (Health::Serious, &["大病", "患有大病"]),
    (Health::Disabled, &["残疾"]),
];

const INCOME_LABELS: [(IncomeSource, &[&str]); 6] = [
    (IncomeSource::Wages, &["务工", "务工收入"]),
    (IncomeSource::Farming, &["种植"]),
    (IncomeSource::Livestock, &["养殖"]),
    (IncomeSource::Business, &["经营"]),
    (IncomeSource::Subsidy, &["政策补贴", "政策性补贴", "补贴"]),
    (IncomeSource::Other, &["其他"]),
];

const SKILL_LABELS: [(Skill, &[&str]); 10] = [
    (Skill::Construction, &["建筑"]),
    (Skill::Manufacturing, &["制造", "流水线"]),
    (Skill::Electrician, &["电工"]),
    (Skill::Welding, &["焊工"]),
    (Skill::Driving, &["驾驶"]),
    (Skill::Sewing, &["缝纫"]),
    (Skill::Cooking, &["厨师", "餐饮"]),
    (Skill::Caregiving, &["护理家政", "护理", "家政"]),
    (Skill::Farming, &["农业"]),
    (Skill::General, &["普工"]),
];

const WORKER_HEALTH_LABELS: [(HealthStatus, &[&str]); 3] = [
    (HealthStatus::Healthy, &["健康"]),
    (HealthStatus::Observation, &["医学观察", "观察"]),
    (HealthStatus::Unwell, &["身体不适", "不适"]),
];

const REGION_LABELS: [(Region, &[&str]); 3] =
    [(Region::County, &["县内"]), (Region::Province, &["省内"]), (Region::Outside, &["省外"])];

/// A label compared loosely: no spaces, brackets half-width.
fn label_key(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c,
        })
        .collect()
}

/// The choice a cell names, by label or stored name (any case).
fn choice<T: Copy>(labels: &Labels<T>, name: fn(T) -> &'static str, raw: &str) -> Option<T> {
    let (raw, key) = (raw.trim(), label_key(raw));
    labels
        .iter()
        .find(|(v, names)| name(*v).eq_ignore_ascii_case(raw) || names.iter().any(|n| label_key(n) == key))
        .map(|(v, _)| *v)
}

/// The label exports write.
fn label<T: Copy + PartialEq>(labels: &Labels<T>, v: T) -> &'static str {
    labels.iter().find(|(x, _)| *x == v).map_or("", |(_, names)| names[0])
}

/// The accepted choices, for an `invalid_choice`.
fn choices<T: Copy>(labels: &Labels<T>, name: fn(T) -> &'static str) -> String {
    labels.iter().map(|(v, names)| format!("{}/{}", names[0], name(*v))).collect::<Vec<_>>().join(", ")
}

/// The items of a list cell.
fn items(raw: &str) -> impl Iterator<Item = &str> {
    raw.split([',', '，', '、', ';', '；']).map(str::trim).filter(|s| !s.is_empty())
}

/// A required choice in column `col`: its stored name, or an empty one for
/// an empty cell (the parse names it `required`).
fn choice_cell<T: Copy>(
    table: &Table,
    cells: &[Cell],
    col: usize,
    labels: &Labels<T>,
    name: fn(T) -> &'static str,
) -> Result<String, FieldError> {
    let raw = table.text(cells, col);
    if raw.is_empty() {
        return Ok(raw);
    }
    choice(labels, name, &raw)
        .map(|v| name(v).to_owned())
        .ok_or_else(|| table.err(col, "invalid_choice").arg("choices", choices(labels, name)))
}

/// A list of choices in column `col`, as stored names.
fn choice_list<T: Copy>(
    table: &Table,
    cells: &[Cell],
    col: usize,
    labels: &Labels<T>,
    name: fn(T) -> &'static str,
) -> Result<Vec<String>, FieldError> {
    let raw = table.text(cells, col);
    items(&raw)
        .map(|item| {
            choice(labels, name, item)
                .map(|v| name(v).to_owned())
                .ok_or_else(|| table.err(col, "invalid_choice").arg("choices", choices(labels, name)))
        })
        .collect()
}

fn list_labels<T: Copy + PartialEq>(labels: &Labels<T>, values: &[T]) -> String {
    values.iter().map(|v| label(labels, *v)).collect::<Vec<_>>().join("、")
}

// ------------------------------------------------------------ the places

/// Villages by township, the users by login name: what rows point at.
struct Places {
    units: Vec<OrgUnit>,
    users: HashMap<String, User>,
}

impl Places {
    async fn load(state: &AppState) -> AppResult<Self> {
        let units = state.store.org_units().await?;
        let users = state
            .store
            .users_within(&ScopePath::root())
            .await?
            .into_iter()
            .map(|u| (u.username.as_str().to_owned(), u))
            .collect();
        Ok(Self { units, users })
    }

    /// The village the township and village columns name, if the caller
    /// may `action` there.
    fn village(
        &self,
        authed: &Authed,
        action: Action,
        table: &Table,
        cells: &[Cell],
        (township_col, village_col): (usize, usize),
    ) -> Result<&OrgUnit, (usize, FieldError)> {
        let township = table.required_text(cells, township_col).map_err(|e| (township_col, e))?;
        let village = table.required_text(cells, village_col).map_err(|e| (village_col, e))?;
        let named = |u: &&OrgUnit, raw: &str| u.name == raw || u.code.eq_ignore_ascii_case(raw);
        let townships: Vec<&OrgUnit> =
            self.units.iter().filter(|u| u.kind == OrgUnitKind::Township && named(u, &township)).collect();
        if townships.is_empty() {
            return Err((township_col, table.err(township_col, "not_found")));
        }
        let villages: Vec<&OrgUnit> = self
            .units
            .iter()
            .filter(|u| u.kind == OrgUnitKind::Village && named(u, &village))
            .filter(|u| townships.iter().any(|t| Some(t.id) == u.parent_id))
            .collect();
        if villages.is_empty() {
            return Err((village_col, table.err(village_col, "not_found")));
        }
        villages
            .into_iter()
            .find(|v| authed.may(action, &v.path).is_ok())
            .ok_or_else(|| (village_col, table.err(village_col, "out_of_scope")))
    }

    /// An enabled account by login name.
    fn user(&self, table: &Table, col: usize, name: &str) -> Result<i64, FieldError> {
        self.users
            .get(&name.to_lowercase())
            .filter(|u| !u.disabled)
            .map(|u| u.id.0)
            .ok_or_else(|| table.err(col, "not_found"))
    }

    /// The name of the township above `village`.
    fn township_of(&self, village: i64) -> &str {
        let parent = self.units.iter().find(|u| u.id.0 == village).and_then(|v| v.parent_id);
        self.units.iter().find(|u| Some(u.id) == parent).map_or("", |t| t.name.as_str())
    }
}

/// Every household, whoever may see it: numbers are unique county-wide.
async fn all_households(state: &AppState, authed: &Authed) -> AppResult<Vec<Household>> {
    let everyone = Viewer { scope: &ScopePath::root(), user: authed.principal.user_id };
    Ok(state.store.households_visible(&everyone, None).await?)
}

/// The problems of one row.
type RowFaults = Vec<(usize, FieldError)>;

/// Each row checked by `check`: the drafts, in file order, if all are good.
fn every_row<D>(table: &Table, mut check: impl FnMut(u32, &[Cell]) -> Result<D, RowFaults>) -> Result<Vec<D>, Refusal> {
    let mut problems = Vec::new();
    let mut drafts = Vec::with_capacity(table.rows.len());
    for (row, cells) in &table.rows {
        match check(*row, cells) {
            Ok(d) => drafts.push(d),
            Err(errors) => problems.extend(errors.into_iter().map(|(col, error)| Problem { row: *row, col, error })),
        }
    }
    if problems.is_empty() { Ok(drafts) } else { Err(Refusal::Rows(problems)) }
}

/// A key first seen on row `row`: `duplicate_in_file` on a later row,
/// `taken` when stored already.
fn first_seen<K: std::hash::Hash + Eq>(
    seen: &mut HashMap<K, u32>,
    stored: &HashSet<K>,
    key: K,
    row: u32,
    error: impl Fn(&'static str) -> FieldError,
) -> Option<FieldError> {
    let fault = match seen.get(&key) {
        Some(first) => Some(error("duplicate_in_file").arg("row", first)),
        None if stored.contains(&key) => Some(error("taken")),
        None => None,
    };
    seen.entry(key).or_insert(row);
    fault
}

// ------------------------------------------------------------- households

/// The household sheet's columns, in export order.
pub const HOUSEHOLD_COLUMNS: [Column; 13] = [
    column("户编号", "registry_no", true),
    column("乡镇", "township", true),
    column("村", "village", true),
    column("户主姓名", "head_name", true),
    column("户主年龄", "head_age", true),
    column("户主劳动能力", "head_ability", true),
    column("户主健康", "head_health", true),
    column("其他成员", "other_members", false),
    column("联系电话", "phone", false),
    column("状态", "status", true),
    column("收入来源", "income_sources", true),
    column("帮扶责任人", "helper", false),
    column("备注", "note", false),
];

mod hh {
    pub const REGISTRY: usize = 0;
    pub const TOWNSHIP: usize = 1;
    pub const VILLAGE: usize = 2;
    pub const HEAD_NAME: usize = 3;
    pub const HEAD_AGE: usize = 4;
    pub const HEAD_ABILITY: usize = 5;
    pub const HEAD_HEALTH: usize = 6;
    pub const OTHERS: usize = 7;
    pub const PHONE: usize = 8;
    pub const STATUS: usize = 9;
    pub const INCOME: usize = 10;
    pub const HELPER: usize = 11;
    pub const NOTE: usize = 12;
}

/// The column of a [`HouseholdIn`] field (as the API and the store name
/// it). The head is always `members[0]`.
fn household_column(field: &str) -> Option<usize> {
    if let Some(rest) = field.strip_prefix("members[") {
        let (i, f) = rest.split_once("].")?;
        return Some(match (i, f) {
            ("0", "name" | "relation") => hh::HEAD_NAME,
            ("0", "age") => hh::HEAD_AGE,
            ("0", "ability") => hh::HEAD_ABILITY,
            ("0", "health") => hh::HEAD_HEALTH,
            _ => hh::OTHERS,
        });
    }
    if field.starts_with("income_sources") {
        return Some(hh::INCOME);
    }
    Some(match field {
        "registry_no" => hh::REGISTRY,
        "village_id" => hh::VILLAGE,
        "members" => hh::OTHERS,
        "phone" => hh::PHONE,
        "status" => hh::STATUS,
        "helper_id" => hh::HELPER,
        "note" => hh::NOTE,
        _ => return None,
    })
}

/// Puts a value that parses into column `col` of `input`, so that parsing
/// again finds the next fault.
fn placehold_household(input: &mut HouseholdIn, col: usize) {
    let head = &mut input.members[0];
    match col {
        hh::REGISTRY => input.registry_no = "AAAAAA".into(),
        hh::HEAD_NAME => head.name = "某".into(),
        hh::HEAD_AGE => head.age = Some(30),
        hh::HEAD_ABILITY => head.ability = WorkAbility::Full.as_str().into(),
        hh::HEAD_HEALTH => head.health = Health::Healthy.as_str().into(),
        hh::OTHERS => input.members.truncate(1),
        hh::PHONE => input.phone = String::new(),
        hh::STATUS => input.status = PovertyStatus::InPoverty.as_str().into(),
        hh::INCOME => input.income_sources = vec![IncomeSource::Other.as_str().into()],
        hh::NOTE => input.note = String::new(),
        _ => {}
    }
}

/// The column of the other members (a constant, so that the scan for error
/// codes does not take it for one).
const OTHER_MEMBERS: &str = "other_members";

/// The other members as a cell writes them: `姓名:关系:年龄:劳动能力:健康`,
/// separated by `;` (full-width colons and semicolons too). The stored
/// names are read as well as the labels; the checks of the members
/// themselves (name, age range, one head) are the API's.
fn parse_others(raw: &str) -> Result<Vec<MemberDraft>, FieldError> {
    let fault = |code: &'static str, n: usize| FieldError::new(OTHER_MEMBERS, code).arg("member", n);
    let mut out = Vec::new();
    for (n, part) in raw.split([';', '；', '\n']).map(str::trim).filter(|p| !p.is_empty()).enumerate() {
        let parts: Vec<&str> = part.split([':', '：']).map(str::trim).collect();
        let [name, relation, age, ability, health] = parts.as_slice() else {
            return Err(fault("invalid_format", n + 1));
        };
        let relation = choice(&RELATION_LABELS, Relation::as_str, relation).ok_or_else(|| {
            fault("invalid_choice", n + 1).arg("choices", choices(&RELATION_LABELS, Relation::as_str))
        })?;
        let ability = choice(&ABILITY_LABELS, WorkAbility::as_str, ability).ok_or_else(|| {
            fault("invalid_choice", n + 1).arg("choices", choices(&ABILITY_LABELS, WorkAbility::as_str))
        })?;
        let health = choice(&HEALTH_LABELS, Health::as_str, health)
            .ok_or_else(|| fault("invalid_choice", n + 1).arg("choices", choices(&HEALTH_LABELS, Health::as_str)))?;
        let age = age.parse::<i64>().map_err(|_| fault("whole_number", n + 1))?;
        out.push(MemberDraft {
            name: (*name).to_owned(),
            relation: relation.as_str().to_owned(),
            age: Some(age),
            ability: ability.as_str().to_owned(),
            health: health.as_str().to_owned(),
        });
    }
    Ok(out)
}

/// The other members as [`parse_others`] reads them, names masked unless
/// `whole`.
fn others_text(members: &[Member], head: usize, whole: bool) -> String {
    members
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != head)
        .map(|(_, m)| {
            format!(
                "{}:{}:{}:{}:{}",
                person(&m.name, whole),
                label(&RELATION_LABELS, m.relation),
                m.age,
                label(&ABILITY_LABELS, m.ability),
                label(&HEALTH_LABELS, m.health)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn person(name: &PersonName, whole: bool) -> String {
    if whole { name.expose().to_owned() } else { name.masked() }
}

/// What household rows are checked against, looked up once.
struct HouseholdLookups {
    places: Places,
    taken: HashSet<String>,
}

/// Checks one household row; the draft if it is good, else every fault.
fn check_household(
    authed: &Authed,
    table: &Table,
    look: &HouseholdLookups,
    seen: &mut HashMap<String, u32>,
    row: u32,
    cells: &[Cell],
) -> Result<HouseholdDraft, RowFaults> {
    let mut errors: RowFaults = Vec::new();
    let village = look.places.village(authed, Action::ManageHouseholds, table, cells, (hh::TOWNSHIP, hh::VILLAGE));
    let village = match village.map(|v| v.id.0) {
        Ok(v) => v,
        Err(fault) => {
            errors.push(fault);
            0
        }
    };
    let head_age = table.whole(cells, hh::HEAD_AGE);
    let head = MemberDraft {
        name: table.text(cells, hh::HEAD_NAME),
        relation: Relation::Head.as_str().into(),
        age: or_note(head_age, hh::HEAD_AGE, &mut errors, Some(30)),
        ability: or_note(
            choice_cell(table, cells, hh::HEAD_ABILITY, &ABILITY_LABELS, WorkAbility::as_str),
            hh::HEAD_ABILITY,
            &mut errors,
            WorkAbility::Full.as_str().into(),
        ),
        health: or_note(
            choice_cell(table, cells, hh::HEAD_HEALTH, &HEALTH_LABELS, Health::as_str),
            hh::HEAD_HEALTH,
            &mut errors,
            Health::Healthy.as_str().into(),
        ),
    };
    let others = parse_others(&table.text(cells, hh::OTHERS)).map_err(|e| table.about(hh::OTHERS, e));
    let others = or_note(others, hh::OTHERS, &mut errors, Vec::new());
    let helper = Some(table.text(cells, hh::HELPER))
        .filter(|t| !t.is_empty())
        .map(|name| look.places.user(table, hh::HELPER, &name))
        .transpose();
    let mut input = HouseholdIn {
        registry_no: table.text(cells, hh::REGISTRY),
        village_id: village,
        phone: table.text(cells, hh::PHONE),
        members: std::iter::once(head).chain(others).collect(),
        status: or_note(
            choice_cell(table, cells, hh::STATUS, &STATUS_LABELS, PovertyStatus::as_str),
            hh::STATUS,
            &mut errors,
            PovertyStatus::InPoverty.as_str().into(),
        ),
        income_sources: or_note(
            choice_list(table, cells, hh::INCOME, &INCOME_LABELS, IncomeSource::as_str),
            hh::INCOME,
            &mut errors,
            vec![IncomeSource::Other.as_str().into()],
        ),
        helper_id: or_note(helper, hh::HELPER, &mut errors, None),
        note: table.text(cells, hh::NOTE),
    };
    // A number given twice in the file, or already registered.
    if let Ok(no) = shouwang_domain::household::RegistryNo::parse("registry_no", &input.registry_no) {
        let error = |code| table.err(hh::REGISTRY, code);
        if let Some(e) = first_seen(seen, &look.taken, no.as_str().to_owned(), row, error) {
            errors.push((hh::REGISTRY, e));
        }
    }
    // The API's own rules, one fault at a time until none is left.
    let mut faulted = HashSet::new();
    let draft = loop {
        match input.parse() {
            Ok(d) => break Some(d),
            Err(e) => {
                let col = household_column(&e.field).unwrap_or(hh::REGISTRY);
                errors.push((col, table.about(col, e)));
                if !faulted.insert(col) {
                    break None;
                }
                placehold_household(&mut input, col);
            }
        }
    };
    match draft {
        Some(d) if errors.is_empty() => Ok(d),
        _ => Err(errors),
    }
}

async fn import_household_rows(
    state: &AppState,
    authed: &Authed,
    upload: &Upload,
    dry_run: bool,
) -> Result<usize, Refusal> {
    authed.may_here(Action::ManageHouseholds)?;
    let table = Table::read(read_grid(upload)?, &HOUSEHOLD_COLUMNS)?;
    let taken = all_households(state, authed).await?.into_iter().map(|h| h.registry_no).collect();
    let look = HouseholdLookups { places: Places::load(state).await?, taken };
    let mut seen = HashMap::new();
    let drafts = every_row(&table, |row, cells| check_household(authed, &table, &look, &mut seen, row, cells))?;
    if !dry_run {
        // Someone may have registered a number since the check.
        let written = state.writer.submit(authed.actor(), Command::ImportHouseholds(drafts)).await;
        written.map_err(|e| late_refusal(&table, e, household_column))?.outcome.into_households()?;
    }
    Ok(table.rows.len())
}

/// Import registered households from an XLSX or CSV file, one row per
/// household: every bad row is named and nothing is written until the file
/// is clean; then all rows are written in one transaction. Columns: 户编号,
/// 乡镇, 村, 户主姓名, 户主年龄, 户主劳动能力, 户主健康, 其他成员
/// (`姓名:关系:年龄:劳动能力:健康; …`), 联系电话, 状态, 收入来源, 帮扶责任人,
/// 备注 (or `registry_no`, `township`, `village`, `head_name`, `head_age`,
/// `head_ability`, `head_health`, `other_members`, `phone`, `status`,
/// `income_sources`, `helper`, `note`).
#[utoipa::path(post, path = "/api/v1/households/import", tag = "households", params(ImportQuery),
    request_body(description = "The file itself", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = super::import::ImportSummary, description = "dry run: the file is clean, nothing written"),
              (status = 201, body = super::import::ImportSummary, description = "every row written"),
              (status = 422, body = super::import::ImportRefusal, description = "bad rows; nothing written")))]
pub async fn import_households(
    State(state): State<AppState>,
    authed: Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<ImportQuery>,
    upload: Result<Upload, AppError>,
) -> AppResult<Response> {
    // Rights first: a caller who may not import learns nothing about the file.
    authed.may_here(Action::ManageHouseholds)?;
    let upload = upload?;
    let dry_run = q.dry_run.unwrap_or(false);
    answer(&state, lang, dry_run, import_household_rows(&state, &authed, &upload, dry_run).await)
}

fn answer(state: &AppState, lang: Lang, dry_run: bool, outcome: Result<usize, Refusal>) -> AppResult<Response> {
    match outcome {
        Ok(rows) => Ok(summary(dry_run, rows, None)),
        Err(Refusal::Rows(problems)) => Ok(refused(state, lang, problems, None)),
        Err(Refusal::Other(e)) => Err(e),
    }
}

/// The households the caller may see as XLSX, in the import's shape
/// (Chinese headers); names and phones masked unless the caller may see
/// personal data or helps the household. Needs the export right; the export
/// is recorded as an event.
#[utoipa::path(get, path = "/api/v1/households/export.xlsx", tag = "households",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 403)))]
pub async fn export_households(State(state): State<AppState>, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::ReadRural)?;
    authed.may_here(Action::Export)?;
    let all = state.store.households_visible(&viewer(&authed), None).await?;
    let mut helpers: HashMap<i64, String> = HashMap::new();
    for id in all.iter().filter_map(|h| h.helper_id) {
        if let std::collections::hash_map::Entry::Vacant(v) = helpers.entry(id.0) {
            v.insert(state.store.user(id).await?.username.as_str().to_owned());
        }
    }
    let widths = [16.0, 12.0, 12.0, 10.0, 8.0, 12.0, 10.0, 48.0, 14.0, 14.0, 20.0, 12.0, 24.0];
    let mut out = SheetOut::new("建档立卡户", &HOUSEHOLD_COLUMNS, &widths)?;
    for (i, h) in all.iter().enumerate() {
        let r = i as u32 + 1;
        let whole = unmasked(&authed, h);
        let head = h.head();
        out.text(r, hh::REGISTRY, &h.registry_no)?;
        out.text(r, hh::TOWNSHIP, &h.township_name)?;
        out.text(r, hh::VILLAGE, &h.village_name)?;
        out.text(r, hh::HEAD_NAME, &person(&head.name, whole))?;
        out.number(r, hh::HEAD_AGE, f64::from(head.age))?;
        out.text(r, hh::HEAD_ABILITY, label(&ABILITY_LABELS, head.ability))?;
        out.text(r, hh::HEAD_HEALTH, label(&HEALTH_LABELS, head.health))?;
        out.text(r, hh::OTHERS, &others_text(&h.members, h.head, whole))?;
        let phone = h.phone.as_ref().map(|p| if whole { p.expose().to_owned() } else { p.masked() });
        out.text(r, hh::PHONE, phone.as_deref().unwrap_or(""))?;
        out.text(r, hh::STATUS, label(&STATUS_LABELS, h.status))?;
        out.text(r, hh::INCOME, &list_labels(&INCOME_LABELS, &h.income_sources))?;
        out.text(r, hh::HELPER, h.helper_id.and_then(|u| helpers.get(&u.0)).map_or("", String::as_str))?;
        out.text(r, hh::NOTE, &h.note)?;
    }
    record_export(&state, &authed, "households", all.len()).await?;
    out.finish("households.xlsx")
}

// ---------------------------------------------------------------- workers

/// The worker sheet's columns, in export order.
pub const WORKER_COLUMNS: [Column; 12] = [
    column("姓名", "name", true),
    column("联系电话", "phone", false),
    column("乡镇", "township", true),
    column("村", "village", true),
    column("户编号", "registry_no", false),
    column("年龄", "age", true),
    column("技能", "skills", true),
    column("健康状况", "health", true),
    column("最近体检", "last_check", true),
    column("可出发日期", "available_from", true),
    column("意向地区", "destinations", true),
    column("备注", "note", false),
];

mod wk {
    pub const NAME: usize = 0;
    pub const PHONE: usize = 1;
    pub const TOWNSHIP: usize = 2;
    pub const VILLAGE: usize = 3;
    pub const REGISTRY: usize = 4;
    pub const AGE: usize = 5;
    pub const SKILLS: usize = 6;
    pub const HEALTH: usize = 7;
    pub const CHECK: usize = 8;
    pub const AVAILABLE: usize = 9;
    pub const DESTINATIONS: usize = 10;
    pub const NOTE: usize = 11;
}

/// The column of a [`WorkerDraft`] field.
fn worker_column(field: &str) -> Option<usize> {
    if field.starts_with("skills") {
        return Some(wk::SKILLS);
    }
    if field.starts_with("destinations") {
        return Some(wk::DESTINATIONS);
    }
    Some(match field {
        "name" => wk::NAME,
        "phone" => wk::PHONE,
        "village_id" => wk::VILLAGE,
        "household_id" => wk::REGISTRY,
        "age" => wk::AGE,
        "health" => wk::HEALTH,
        "last_check" => wk::CHECK,
        "available_from" => wk::AVAILABLE,
        "note" => wk::NOTE,
        _ => return None,
    })
}

/// Who a worker is, to find them twice: village, name, phone.
type WorkerKey = (i64, String, String);

fn worker_key(f: &WorkerFields) -> WorkerKey {
    (f.village.0, f.name.expose().to_owned(), f.phone.as_ref().map_or("", |p| p.expose()).to_owned())
}

/// What worker rows are checked against, looked up once.
struct WorkerLookups {
    places: Places,
    /// Households by number: id and village.
    households: HashMap<String, (i64, i64)>,
    taken: HashSet<WorkerKey>,
    today: i64,
}

/// A date cell as `YYYY-MM-DD`, or a fault noted and today's date.
fn date_cell(table: &Table, cells: &[Cell], col: usize, errors: &mut RowFaults, today: i64) -> String {
    format_day(or_note(table.date(cells, col), col, errors, today))
}

fn check_worker(
    authed: &Authed,
    table: &Table,
    look: &WorkerLookups,
    seen: &mut HashMap<WorkerKey, u32>,
    row: u32,
    cells: &[Cell],
) -> Result<WorkerFields, RowFaults> {
    let mut errors: RowFaults = Vec::new();
    let village = look.places.village(authed, Action::ManageLabour, table, cells, (wk::TOWNSHIP, wk::VILLAGE));
    let village = match village {
        Ok(v) => Some(v.id.0),
        Err(fault) => {
            errors.push(fault);
            None
        }
    };
    let registry = table.text(cells, wk::REGISTRY).to_ascii_uppercase();
    let household = match (registry.is_empty(), look.households.get(&registry), village) {
        (true, ..) => None,
        (false, None, _) => {
            errors.push((wk::REGISTRY, table.err(wk::REGISTRY, "not_found")));
            None
        }
        (false, Some((id, at)), Some(v)) if *at != v => {
            errors.push((wk::REGISTRY, table.err(wk::REGISTRY, "not_in_village")));
            Some(*id)
        }
        (false, Some((id, _)), _) => Some(*id),
    };
    let draft = WorkerDraft {
        name: table.text(cells, wk::NAME),
        phone: table.text(cells, wk::PHONE),
        // A village that is not found is noted already; any id stands in.
        village_id: Some(village.unwrap_or(0)),
        household_id: household,
        age: or_note(table.whole(cells, wk::AGE), wk::AGE, &mut errors, Some(WorkerFields::MIN_AGE)),
        skills: or_note(
            choice_list(table, cells, wk::SKILLS, &SKILL_LABELS, Skill::as_str),
            wk::SKILLS,
            &mut errors,
            vec![Skill::General.as_str().into()],
        ),
        health: or_note(
            choice_cell(table, cells, wk::HEALTH, &WORKER_HEALTH_LABELS, HealthStatus::as_str),
            wk::HEALTH,
            &mut errors,
            HealthStatus::Healthy.as_str().into(),
        ),
        last_check: date_cell(table, cells, wk::CHECK, &mut errors, look.today),
        available_from: date_cell(table, cells, wk::AVAILABLE, &mut errors, look.today),
        destinations: or_note(
            choice_list(table, cells, wk::DESTINATIONS, &REGION_LABELS, Region::as_str),
            wk::DESTINATIONS,
            &mut errors,
            vec![Region::County.as_str().into()],
        ),
        note: table.text(cells, wk::NOTE),
    };
    match draft.parse(look.today) {
        Ok(fields) => {
            let key = worker_key(&fields);
            if let Some(e) = first_seen(seen, &look.taken, key, row, |code| table.err(wk::NAME, code)) {
                errors.push((wk::NAME, e));
            }
            if errors.is_empty() { Ok(fields) } else { Err(errors) }
        }
        Err(faults) => {
            for e in faults {
                let col = worker_column(&e.field).unwrap_or(wk::NAME);
                errors.push((col, table.about(col, e)));
            }
            Err(errors)
        }
    }
}

async fn import_worker_rows(
    state: &AppState,
    authed: &Authed,
    upload: &Upload,
    dry_run: bool,
) -> Result<usize, Refusal> {
    authed.may_here(Action::ManageLabour)?;
    let table = Table::read(read_grid(upload)?, &WORKER_COLUMNS)?;
    let households =
        all_households(state, authed).await?.into_iter().map(|h| (h.registry_no, (h.id.0, h.village_id.0))).collect();
    let taken = state
        .store
        .workers_within(&ScopePath::root())
        .await?
        .into_iter()
        .map(|w| {
            (w.village_id.0, w.name.expose().to_owned(), w.phone.map(|p| p.expose().to_owned()).unwrap_or_default())
        })
        .collect();
    let look = WorkerLookups { places: Places::load(state).await?, households, taken, today: today(state) };
    let mut seen = HashMap::new();
    let rows = every_row(&table, |row, cells| check_worker(authed, &table, &look, &mut seen, row, cells))?;
    if !dry_run {
        let written = state.writer.submit(authed.actor(), Command::ImportWorkers(rows)).await;
        written.map_err(|e| late_refusal(&table, e, worker_column))?.outcome.into_count()?;
    }
    Ok(table.rows.len())
}

/// Import workers into the labour pool from an XLSX or CSV file: every bad
/// row is named and nothing is written until the file is clean; then all
/// rows are written in one transaction. Columns: 姓名, 联系电话, 乡镇, 村,
/// 户编号, 年龄, 技能, 健康状况, 最近体检, 可出发日期, 意向地区, 备注 (or
/// `name`, `phone`, `township`, `village`, `registry_no`, `age`, `skills`,
/// `health`, `last_check`, `available_from`, `destinations`, `note`).
#[utoipa::path(post, path = "/api/v1/workers/import", tag = "labour", params(ImportQuery),
    request_body(description = "The file itself", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = super::import::ImportSummary, description = "dry run: the file is clean, nothing written"),
              (status = 201, body = super::import::ImportSummary, description = "every row written"),
              (status = 422, body = super::import::ImportRefusal, description = "bad rows; nothing written")))]
pub async fn import_workers(
    State(state): State<AppState>,
    authed: Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<ImportQuery>,
    upload: Result<Upload, AppError>,
) -> AppResult<Response> {
    authed.may_here(Action::ManageLabour)?;
    let upload = upload?;
    let dry_run = q.dry_run.unwrap_or(false);
    answer(&state, lang, dry_run, import_worker_rows(&state, &authed, &upload, dry_run).await)
}

/// The workers within the caller's scope as XLSX, in the import's shape
/// (Chinese headers); names and phones masked unless the caller may see
/// personal data. Needs the export right; the export is recorded as an
/// event.
#[utoipa::path(get, path = "/api/v1/workers/export.xlsx", tag = "labour",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 403)))]
pub async fn export_workers(State(state): State<AppState>, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::ReadRural)?;
    authed.may_here(Action::Export)?;
    let whole = authed.principal.rights.has(Right::SeePersonal);
    let all = state.store.workers_within(&authed.principal.scope).await?;
    let numbers: HashMap<i64, String> =
        all_households(&state, &authed).await?.into_iter().map(|h| (h.id.0, h.registry_no)).collect();
    let places = Places::load(&state).await?;
    let widths = [10.0, 14.0, 12.0, 12.0, 16.0, 6.0, 20.0, 10.0, 12.0, 12.0, 14.0, 24.0];
    let mut out = SheetOut::new("劳动力", &WORKER_COLUMNS, &widths)?;
    for (i, w) in all.iter().enumerate() {
        let r = i as u32 + 1;
        out.text(r, wk::NAME, &person(&w.name, whole))?;
        let phone = w.phone.as_ref().map(|p| if whole { p.expose().to_owned() } else { p.masked() });
        out.text(r, wk::PHONE, phone.as_deref().unwrap_or(""))?;
        out.text(r, wk::TOWNSHIP, places.township_of(w.village_id.0))?;
        out.text(r, wk::VILLAGE, &w.village_name)?;
        out.text(r, wk::REGISTRY, w.household_id.and_then(|h| numbers.get(&h.0)).map_or("", String::as_str))?;
        out.number(r, wk::AGE, w.age as f64)?;
        out.text(r, wk::SKILLS, &list_labels(&SKILL_LABELS, &w.skills))?;
        out.text(r, wk::HEALTH, label(&WORKER_HEALTH_LABELS, w.health))?;
        out.text(r, wk::CHECK, &format_day(w.last_check_day))?;
        out.text(r, wk::AVAILABLE, &format_day(w.available_day))?;
        out.text(r, wk::DESTINATIONS, &list_labels(&REGION_LABELS, &w.destinations))?;
        out.text(r, wk::NOTE, &w.note)?;
    }
    record_export(&state, &authed, "workers", all.len()).await?;
    out.finish("workers.xlsx")
}

// ----------------------------------------------------------------- demand

/// The demand sheet's columns, in export order.
pub const DEMAND_COLUMNS: [Column; 11] = [
    column("企业信用代码", "credit_code", false),
    column("用工单位", "employer", true),
    column("工作地点", "location", true),
    column("地区", "region", true),
    column("岗位数", "positions", true),
    column("技能要求", "skills", false),
    column("月薪", "pay_yuan_month", true),
    column("开始日期", "start", true),
    column("结束日期", "end", false),
    column("提供住宿", "accommodation", false),
    column("备注", "note", false),
];

mod dm {
    pub const CREDIT: usize = 0;
    pub const EMPLOYER: usize = 1;
    pub const LOCATION: usize = 2;
    pub const REGION: usize = 3;
    pub const POSITIONS: usize = 4;
    pub const SKILLS: usize = 5;
    pub const PAY: usize = 6;
    pub const START: usize = 7;
    pub const END: usize = 8;
    pub const ROOM: usize = 9;
    pub const NOTE: usize = 10;
}

/// The column of a [`DemandDraft`] field.
fn demand_column(field: &str) -> Option<usize> {
    if field.starts_with("skills") {
        return Some(dm::SKILLS);
    }
    Some(match field {
        "enterprise_id" => dm::CREDIT,
        "employer" => dm::EMPLOYER,
        "location" => dm::LOCATION,
        "region" => dm::REGION,
        "positions" => dm::POSITIONS,
        "pay_yuan_month" => dm::PAY,
        "start" => dm::START,
        "end" => dm::END,
        "accommodation" => dm::ROOM,
        "note" => dm::NOTE,
        _ => return None,
    })
}

/// A demand, to find it twice: employer, location, first day.
type DemandKey = (String, String, i64);

/// What demand rows are checked against, looked up once.
struct DemandLookups {
    /// Enterprises by credit code: id, name, scope.
    enterprises: HashMap<String, (i64, String, ScopePath)>,
    taken: HashSet<DemandKey>,
    today: i64,
}

fn check_demand(
    authed: &Authed,
    table: &Table,
    look: &DemandLookups,
    seen: &mut HashMap<DemandKey, u32>,
    row: u32,
    cells: &[Cell],
) -> Result<DemandFields, RowFaults> {
    let mut errors: RowFaults = Vec::new();
    let code = table.text(cells, dm::CREDIT).to_ascii_uppercase();
    let enterprise = (!code.is_empty()).then(|| match look.enterprises.get(&code) {
        None => Err(table.err(dm::CREDIT, "not_found")),
        Some((_, _, scope)) if authed.may(Action::ManageLabour, scope).is_err() => {
            Err(table.err(dm::CREDIT, "out_of_scope"))
        }
        Some((id, name, _)) => Ok((*id, name.clone())),
    });
    // A code that names no enterprise is noted; any id stands in, so that
    // the employer's name is not asked for too.
    let enterprise = or_note(enterprise.transpose(), dm::CREDIT, &mut errors, Some((0, String::new())));
    let start = table.date(cells, dm::START);
    let end = match table.text(cells, dm::END).is_empty() {
        true => Ok(None),
        false => table.date(cells, dm::END).map(Some),
    };
    let draft = DemandDraft {
        enterprise_id: enterprise.as_ref().map(|(id, _)| *id),
        // A local enterprise's name is the employer's.
        employer: if enterprise.is_some() { String::new() } else { table.text(cells, dm::EMPLOYER) },
        location: table.text(cells, dm::LOCATION),
        region: or_note(
            choice_cell(table, cells, dm::REGION, &REGION_LABELS, Region::as_str),
            dm::REGION,
            &mut errors,
            Region::County.as_str().into(),
        ),
        positions: or_note(table.whole(cells, dm::POSITIONS), dm::POSITIONS, &mut errors, Some(1)),
        skills: or_note(
            choice_list(table, cells, dm::SKILLS, &SKILL_LABELS, Skill::as_str),
            dm::SKILLS,
            &mut errors,
            Vec::new(),
        ),
        pay_yuan_month: or_note(table.whole(cells, dm::PAY), dm::PAY, &mut errors, Some(0)),
        start: or_note(start.map(format_day), dm::START, &mut errors, format_day(look.today)),
        end: or_note(end, dm::END, &mut errors, None).map(format_day).unwrap_or_default(),
        accommodation: or_note(table.yes_no(cells, dm::ROOM), dm::ROOM, &mut errors, false),
        note: table.text(cells, dm::NOTE),
    };
    match draft.parse() {
        Ok(fields) => {
            let (employer, col) = match &enterprise {
                Some((_, name)) => (name.clone(), dm::CREDIT),
                None => (fields.employer.clone(), dm::EMPLOYER),
            };
            let key = (employer, fields.location.clone(), fields.start_day);
            if let Some(e) = first_seen(seen, &look.taken, key, row, |code| table.err(col, code)) {
                errors.push((col, e));
            }
            if errors.is_empty() { Ok(fields) } else { Err(errors) }
        }
        Err(faults) => {
            for e in faults {
                let col = demand_column(&e.field).unwrap_or(dm::EMPLOYER);
                errors.push((col, table.about(col, e)));
            }
            Err(errors)
        }
    }
}

async fn import_demand_rows(
    state: &AppState,
    authed: &Authed,
    upload: &Upload,
    dry_run: bool,
) -> Result<usize, Refusal> {
    authed.may_here(Action::ManageLabour)?;
    let table = Table::read(read_grid(upload)?, &DEMAND_COLUMNS)?;
    let everyone = Viewer { scope: &ScopePath::root(), user: authed.principal.user_id };
    let enterprises = state
        .store
        .enterprises_visible(&everyone)
        .await?
        .into_iter()
        .map(|e| (e.credit_code, (e.id.0, e.name, e.scope)))
        .collect();
    let taken = state
        .store
        .demands(today(state), false)
        .await?
        .into_iter()
        .map(|d| (d.employer, d.location, d.start_day))
        .collect();
    let look = DemandLookups { enterprises, taken, today: today(state) };
    let mut seen = HashMap::new();
    let rows = every_row(&table, |row, cells| check_demand(authed, &table, &look, &mut seen, row, cells))?;
    if !dry_run {
        let command = Command::ImportDemand { rows, scope: authed.principal.scope.clone() };
        let written = state.writer.submit(authed.actor(), command).await;
        written.map_err(|e| late_refusal(&table, e, demand_column))?.outcome.into_count()?;
    }
    Ok(table.rows.len())
}

/// Import labour demand from an XLSX or CSV file: every bad row is named
/// and nothing is written until the file is clean; then all rows are
/// written in one transaction. Columns: 企业信用代码, 用工单位, 工作地点, 地区,
/// 岗位数, 技能要求, 月薪, 开始日期, 结束日期, 提供住宿, 备注 (or
/// `credit_code`, `employer`, `location`, `region`, `positions`, `skills`,
/// `pay_yuan_month`, `start`, `end`, `accommodation`, `note`).
#[utoipa::path(post, path = "/api/v1/labour-demand/import", tag = "labour", params(ImportQuery),
    request_body(description = "The file itself", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = super::import::ImportSummary, description = "dry run: the file is clean, nothing written"),
              (status = 201, body = super::import::ImportSummary, description = "every row written"),
              (status = 422, body = super::import::ImportRefusal, description = "bad rows; nothing written")))]
pub async fn import_demand(
    State(state): State<AppState>,
    authed: Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<ImportQuery>,
    upload: Result<Upload, AppError>,
) -> AppResult<Response> {
    authed.may_here(Action::ManageLabour)?;
    let upload = upload?;
    let dry_run = q.dry_run.unwrap_or(false);
    answer(&state, lang, dry_run, import_demand_rows(&state, &authed, &upload, dry_run).await)
}

/// Every demand (openings are public county-wide) as XLSX, in the import's
/// shape (Chinese headers). Needs the export right; the export is recorded
/// as an event.
#[utoipa::path(get, path = "/api/v1/labour-demand/export.xlsx", tag = "labour",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 403)))]
pub async fn export_demand(State(state): State<AppState>, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::ReadRural)?;
    authed.may_here(Action::Export)?;
    let all = state.store.demands(today(&state), false).await?;
    let everyone = Viewer { scope: &ScopePath::root(), user: authed.principal.user_id };
    let codes: HashMap<i64, String> =
        state.store.enterprises_visible(&everyone).await?.into_iter().map(|e| (e.id.0, e.credit_code)).collect();
    let widths = [22.0, 24.0, 22.0, 8.0, 8.0, 20.0, 8.0, 12.0, 12.0, 9.0, 24.0];
    let mut out = SheetOut::new("用工需求", &DEMAND_COLUMNS, &widths)?;
    for (i, d) in all.iter().enumerate() {
        let r = i as u32 + 1;
        out.text(r, dm::CREDIT, d.enterprise_id.and_then(|e| codes.get(&e.0)).map_or("", String::as_str))?;
        out.text(r, dm::EMPLOYER, &d.employer)?;
        out.text(r, dm::LOCATION, &d.location)?;
        out.text(r, dm::REGION, label(&REGION_LABELS, d.region))?;
        out.number(r, dm::POSITIONS, d.positions as f64)?;
        out.text(r, dm::SKILLS, &list_labels(&SKILL_LABELS, &d.skills))?;
        out.number(r, dm::PAY, d.pay_yuan_month as f64)?;
        out.text(r, dm::START, &format_day(d.start_day))?;
        out.text(r, dm::END, &d.end_day.map(format_day).unwrap_or_default())?;
        out.text(r, dm::ROOM, if d.accommodation { "是" } else { "否" })?;
        out.text(r, dm::NOTE, &d.note)?;
    }
    record_export(&state, &authed, "labour_demand", all.len()).await?;
    out.finish("labour-demand.xlsx")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_has_a_label_that_reads_back() {
        fn round_trip<T: Copy + PartialEq + std::fmt::Debug>(
            labels: &Labels<T>,
            all: &[T],
            name: fn(T) -> &'static str,
        ) {
            assert_eq!(labels.len(), all.len());
            for v in all {
                assert_eq!(choice(labels, name, label(labels, *v)), Some(*v));
                assert_eq!(choice(labels, name, &name(*v).to_uppercase()), Some(*v));
            }
            assert_eq!(choice(labels, name, "不存在"), None);
        }
        round_trip(&STATUS_LABELS, PovertyStatus::ALL, PovertyStatus::as_str);
        round_trip(&RELATION_LABELS, Relation::ALL, Relation::as_str);
        round_trip(&ABILITY_LABELS, WorkAbility::ALL, WorkAbility::as_str);
        round_trip(&HEALTH_LABELS, Health::ALL, Health::as_str);
        round_trip(&INCOME_LABELS, IncomeSource::ALL, IncomeSource::as_str);
        round_trip(&SKILL_LABELS, Skill::ALL, Skill::as_str);
        round_trip(&WORKER_HEALTH_LABELS, HealthStatus::ALL, HealthStatus::as_str);
        round_trip(&REGION_LABELS, Region::ALL, Region::as_str);
        assert_eq!(choice(&STATUS_LABELS, PovertyStatus::as_str, "已脱贫(监测)"), Some(PovertyStatus::LiftedMonitored));
    }

    #[test]
    fn other_members_read_as_they_are_written() {
        let drafts = parse_others("李秀英:配偶:55:有劳动力:健康；张小华：子女：12：无劳动力：healthy; ").unwrap();
        assert_eq!(drafts.len(), 2);
        assert_eq!(
            (drafts[1].name.as_str(), drafts[1].relation.as_str(), drafts[1].age, drafts[1].health.as_str()),
            ("张小华", "child", Some(12), "healthy")
        );
        let head =
            MemberDraft { name: "张德山".into(), relation: "head".into(), age: Some(58), ..drafts[0].clone() };
        let all: Vec<MemberDraft> = std::iter::once(head).chain(drafts).collect();
        let (members, head) = shouwang_domain::household::parse_members(&all).unwrap();
        let text = others_text(&members, head, true);
        assert_eq!(text, "李秀英:配偶:55:有劳动力:健康; 张小华:子女:12:无劳动力:健康");
        assert_eq!(parse_others(&text).unwrap(), all[1..]);
        assert_eq!(parse_others("").unwrap(), []);
        assert_eq!(parse_others("李秀英:配偶:55").unwrap_err().code, "invalid_format");
        assert_eq!(parse_others("李秀英:表亲:55:有劳动力:健康").unwrap_err().code, "invalid_choice");
        assert_eq!(parse_others("李秀英:配偶:五十:有劳动力:健康").unwrap_err().code, "whole_number");
    }

    #[test]
    fn every_field_the_api_or_the_store_names_has_its_column() {
        for field in [
            "registry_no",
            "village_id",
            "members",
            "members[0].name",
            "members[0].age",
            "members[3].health",
            "phone",
            "status",
            "income_sources[1]",
            "helper_id",
            "note",
        ] {
            assert!(household_column(field).is_some(), "{field}");
        }
        assert_eq!(household_column("members[0].ability"), Some(hh::HEAD_ABILITY));
        assert_eq!(household_column("members[2].ability"), Some(hh::OTHERS));
        for field in [
            "name",
            "phone",
            "village_id",
            "household_id",
            "age",
            "skills[0]",
            "health",
            "last_check",
            "available_from",
            "destinations",
            "note",
        ] {
            assert!(worker_column(field).is_some(), "{field}");
        }
        for field in ["enterprise_id", "employer", "location", "region", "positions", "skills", "pay_yuan_month"] {
            assert!(demand_column(field).is_some(), "{field}");
        }
        for field in ["start", "end", "note"] {
            assert!(demand_column(field).is_some(), "{field}");
        }
    }

    #[test]
    fn the_openapi_document_describes_the_imports_and_exports() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(crate::api::ApiDoc::openapi()).unwrap();
        let paths = &doc["paths"];
        for base in ["households", "workers", "labour-demand"] {
            assert!(paths[format!("/api/v1/{base}/import")]["post"].is_object(), "{base}");
            assert!(paths[format!("/api/v1/{base}/export.xlsx")]["get"].is_object(), "{base}");
        }
    }
}
