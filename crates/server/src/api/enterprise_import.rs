//! Import of enterprises from XLSX or CSV, and their export as XLSX, with the
//! rules of the checkpoint import (see [`super::import`]): the file is the
//! raw request body, the header row may name the columns in Chinese or
//! English in any order, an unknown column is refused, every row is checked
//! before anything is written and every bad cell is named with its
//! spreadsheet row (the header is row 1), column and reason (HTTP 422, the
//! one error shape with a `rows` array). A dry run stops after checking.
//!
//! # `POST /api/v1/enterprises/import?dry_run=true|false`
//! Needs the right to manage enterprises at the caller's scope.
//!
//! | Column | or | |
//! | --- | --- | --- |
//! | 统一社会信用代码 | `credit_code` | 18 characters with a valid check character; unique in the file and the database |
//! | 企业名称 | `name` | 1–60 characters |
//! | 行业门类 | `sector` | GB/T 4754 section letter `A`–`T`, or its name ([`SECTOR_LABELS`], e.g. 制造业) |
//! | 规模 | `size_class` | 大型/中型/小型/微型 or `large`/`medium`/`small`/`micro` |
//! | 所属乡镇代码 | `township_code` | the code of a township (or village) within the caller's scope |
//! | 职工人数 | `employees` | 1–100000 |
//! | 地址 | `address` | optional, up to 120 characters |
//! | 规上企业 | `above_designated` | optional: 是/否, yes/no, 1/0 |
//! | 重点企业 | `key_enterprise` | optional, likewise |
//! | 防疫物资生产 | `epidemic_supplies` | optional, likewise |
//! | 服务专员 | `service_officer` | optional: the login name of an enabled account |
//! | 服务部门代码 | `department_code` | optional: the code of a department |
//!
//! Each row is checked by [`EnterpriseIn::parse`], the rules of `POST
//! /api/v1/enterprises`, and the codes and names it points at are looked up
//! as `create_enterprise` does. A clean file is written by one
//! `ImportEnterprises` command: one transaction, all rows or none. Should the
//! store still refuse a row (someone entered the same credit code in
//! between), the refusal names that row of the file.
//!
//! # `GET /api/v1/enterprises/export.xlsx`
//! The enterprises the caller may see, in exactly the import's columns with
//! the Chinese headers, so an export imports again (into another deployment,
//! or here once the credit codes are changed). Needs the export right; the
//! export is recorded as an event.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::response::Response;
use shouwang_domain::enterprise::{CreditCode, Sector, SizeClass};
use shouwang_domain::policy::Action;
use shouwang_domain::{FieldError, OrgUnitKind, ScopePath};
use shouwang_store::writer::Command;
use shouwang_store::{EnterpriseDraft, OrgUnit, User, Viewer};

use super::enterprises::{EnterpriseIn, viewer};
use super::import::{
    Column, ImportQuery, Problem, Refusal, SheetOut, Table, Upload, column, late_refusal, or_note, read_grid,
    record_export, refused, summary,
};
use super::json::ApiQuery;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// The enterprise sheet's columns, in export order.
pub const ENTERPRISE_COLUMNS: [Column; 12] = [
    column("统一社会信用代码", "credit_code", true),
    column("企业名称", "name", true),
    column("行业门类", "sector", true),
    column("规模", "size_class", true),
    column("所属乡镇代码", "township_code", true),
    column("职工人数", "employees", true),
    column("地址", "address", false),
    column("规上企业", "above_designated", false),
    column("重点企业", "key_enterprise", false),
    column("防疫物资生产", "epidemic_supplies", false),
    column("服务专员", "service_officer", false),
    column("服务部门代码", "department_code", false),
];

mod en {
    pub const CODE: usize = 0;
    pub const NAME: usize = 1;
    pub const SECTOR: usize = 2;
    pub const SIZE: usize = 3;
    pub const TOWNSHIP: usize = 4;
    pub const EMPLOYEES: usize = 5;
    pub const ADDRESS: usize = 6;
    pub const ABOVE: usize = 7;
    pub const KEY: usize = 8;
    pub const SUPPLIES: usize = 9;
    pub const OFFICER: usize = 10;
    pub const DEPARTMENT: usize = 11;
}

/// The Chinese name of each GB/T 4754-2017 section, as the sheets write it.
/// On import the name or the letter (any case, full-width too) is accepted.
pub const SECTOR_LABELS: [(Sector, &str); 20] = [
    (Sector::Agriculture, "农、林、牧、渔业"),
    (Sector::Mining, "采矿业"),
    (Sector::Manufacturing, "制造业"),
    (Sector::Utilities, "电力、热力、燃气及水生产和供应业"),
    (Sector::Construction, "建筑业"),
    (Sector::Trade, "批发和零售业"),
    (Sector::Transport, "交通运输、仓储和邮政业"),
    (Sector::Hospitality, "住宿和餐饮业"),
    (Sector::InformationTech, "信息传输、软件和信息技术服务业"),
    (Sector::Finance, "金融业"),
    (Sector::RealEstate, "房地产业"),
    (Sector::BusinessServices, "租赁和商务服务业"),
    (Sector::Research, "科学研究和技术服务业"),
    (Sector::PublicFacilities, "水利、环境和公共设施管理业"),
    (Sector::ResidentServices, "居民服务、修理和其他服务业"),
    (Sector::Education, "教育"),
    (Sector::Health, "卫生和社会工作"),
    (Sector::Culture, "文化、体育和娱乐业"),
    (Sector::PublicAdministration, "公共管理、社会保障和社会组织"),
    (Sector::International, "国际组织"),
];

/// The Chinese label of each size class. On import the label (with or
/// without 企业) or the key (`small`, any case) is accepted.
pub const SIZE_LABELS: [(SizeClass, &str); 4] =
    [(SizeClass::Large, "大型"), (SizeClass::Medium, "中型"), (SizeClass::Small, "小型"), (SizeClass::Micro, "微型")];

/// A section name compared loosely: without spaces and enumeration commas.
fn sector_key(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace() && !matches!(c, '、' | ',' | '，')).collect()
}

/// The section a cell names, by letter or name.
pub fn sector_from_label(raw: &str) -> Option<Sector> {
    if let Ok(s) = Sector::parse_loose("sector", raw) {
        return Some(s);
    }
    let key = sector_key(raw);
    SECTOR_LABELS.iter().find(|(_, label)| sector_key(label) == key).map(|(s, _)| *s)
}

/// The Chinese name of a section.
pub fn sector_label(sector: Sector) -> &'static str {
    SECTOR_LABELS.iter().find(|(s, _)| *s == sector).map_or("", |(_, l)| l)
}

/// The size class a cell names, by label or key.
pub fn size_from_label(raw: &str) -> Option<SizeClass> {
    let raw = raw.trim();
    let short = raw.strip_suffix("企业").unwrap_or(raw).trim();
    SIZE_LABELS.iter().find(|(k, label)| *label == short || k.as_str().eq_ignore_ascii_case(raw)).map(|(k, _)| *k)
}

/// The Chinese label of a size class.
pub fn size_label(size: SizeClass) -> &'static str {
    SIZE_LABELS.iter().find(|(k, _)| *k == size).map_or("", |(_, l)| l)
}

/// The column of an [`EnterpriseIn`] field (as the API and the store name
/// it).
fn enterprise_column(field: &str) -> Option<usize> {
    Some(match field {
        "credit_code" => en::CODE,
        "name" => en::NAME,
        "sector" => en::SECTOR,
        "size_class" => en::SIZE,
        "org_unit_id" => en::TOWNSHIP,
        "employees" => en::EMPLOYEES,
        "address" => en::ADDRESS,
        "above_designated" => en::ABOVE,
        "key_enterprise" => en::KEY,
        "epidemic_supplies" => en::SUPPLIES,
        "service_officer_id" => en::OFFICER,
        "department_id" => en::DEPARTMENT,
        _ => return None,
    })
}

/// A credit code that parses, to stand in for a bad one.
fn placeholder_code() -> String {
    let first17 = "91411224000000000";
    format!("{first17}{}", CreditCode::check_char(first17).unwrap_or('0'))
}

/// Puts a value that parses into column `col` of `input`, so that parsing
/// again finds the next fault.
fn placehold(input: &mut EnterpriseIn, col: usize) {
    match col {
        en::CODE => input.credit_code = placeholder_code(),
        en::NAME => input.name = "-".into(),
        en::SECTOR => input.sector = "A".into(),
        en::SIZE => input.size_class = "small".into(),
        en::ADDRESS => input.address = String::new(),
        en::EMPLOYEES => input.employees = 1,
        _ => {}
    }
}

/// What the rows point at, looked up once.
struct Lookups {
    units: HashMap<String, OrgUnit>,
    users: HashMap<String, User>,
    taken: HashSet<String>,
}

impl Lookups {
    async fn load(state: &AppState, authed: &Authed) -> AppResult<Self> {
        let units = state.store.org_units().await?.into_iter().map(|u| (u.code.clone(), u)).collect();
        let users = state
            .store
            .users_within(&ScopePath::root())
            .await?
            .into_iter()
            .map(|u| (u.username.as_str().to_owned(), u))
            .collect();
        // Every stored credit code, whoever may see the enterprise.
        let everyone = Viewer { scope: &ScopePath::root(), user: authed.principal.user_id };
        let taken = state.store.enterprises_visible(&everyone).await?.into_iter().map(|e| e.credit_code).collect();
        Ok(Self { units, users, taken })
    }
}

/// Checks one row; the draft if it is good, else every fault in it.
fn check_row(
    authed: &Authed,
    table: &Table,
    look: &Lookups,
    seen: &mut HashMap<String, u32>,
    row: u32,
    cells: &[super::import::Cell],
) -> Result<EnterpriseDraft, Vec<(usize, FieldError)>> {
    let mut errors: Vec<(usize, FieldError)> = Vec::new();
    let township = table.required_text(cells, en::TOWNSHIP).and_then(|code| match look.units.get(&code) {
        None => Err(table.err(en::TOWNSHIP, "not_found")),
        Some(u) if !matches!(u.kind, OrgUnitKind::Township | OrgUnitKind::Village) => {
            Err(table.err(en::TOWNSHIP, "not_a_township"))
        }
        Some(u) => match authed.may(Action::ManageEnterprises, &u.path) {
            Ok(()) => Ok(u.id.0),
            Err(_) => Err(table.err(en::TOWNSHIP, "out_of_scope")),
        },
    });
    let sector = table.required_text(cells, en::SECTOR).and_then(|raw| {
        sector_from_label(&raw)
            .map(|s| s.as_str().to_owned())
            .ok_or_else(|| table.err(en::SECTOR, "invalid_choice").arg("choices", "A–T, 农、林、牧、渔业 … 国际组织"))
    });
    let size = table.required_text(cells, en::SIZE).and_then(|raw| {
        size_from_label(&raw).map(|s| s.as_str().to_owned()).ok_or_else(|| {
            let choices = SIZE_LABELS.iter().map(|(k, l)| format!("{l}/{}", k.as_str())).collect::<Vec<_>>();
            table.err(en::SIZE, "invalid_choice").arg("choices", choices.join(", "))
        })
    });
    let employees =
        table.whole(cells, en::EMPLOYEES).and_then(|n| n.ok_or_else(|| table.err(en::EMPLOYEES, "required")));
    let officer = Some(table.text(cells, en::OFFICER)).filter(|t| !t.is_empty()).map(|name| {
        look.users
            .get(&name.to_lowercase())
            .filter(|u| !u.disabled)
            .map(|u| u.id.0)
            .ok_or_else(|| table.err(en::OFFICER, "not_found"))
    });
    let department = Some(table.text(cells, en::DEPARTMENT)).filter(|t| !t.is_empty()).map(|code| {
        look.units
            .get(&code)
            .filter(|u| u.kind == OrgUnitKind::Department)
            .map(|u| u.id.0)
            .ok_or_else(|| table.err(en::DEPARTMENT, "not_found"))
    });
    let mut input = EnterpriseIn {
        credit_code: table.text(cells, en::CODE),
        name: table.text(cells, en::NAME),
        sector: or_note(sector, en::SECTOR, &mut errors, "A".into()),
        size_class: or_note(size, en::SIZE, &mut errors, "small".into()),
        org_unit_id: or_note(township, en::TOWNSHIP, &mut errors, 0),
        address: table.text(cells, en::ADDRESS),
        above_designated: or_note(table.yes_no(cells, en::ABOVE), en::ABOVE, &mut errors, false),
        key_enterprise: or_note(table.yes_no(cells, en::KEY), en::KEY, &mut errors, false),
        epidemic_supplies: or_note(table.yes_no(cells, en::SUPPLIES), en::SUPPLIES, &mut errors, false),
        employees: or_note(employees, en::EMPLOYEES, &mut errors, 1),
        service_officer_id: or_note(officer.transpose(), en::OFFICER, &mut errors, None),
        department_id: or_note(department.transpose(), en::DEPARTMENT, &mut errors, None),
    };
    // A credit code given twice in the file, or already entered.
    if let Ok(code) = CreditCode::parse("credit_code", &input.credit_code) {
        match seen.get(code.as_str()) {
            Some(first) => errors.push((en::CODE, table.err(en::CODE, "duplicate_in_file").arg("row", first))),
            None if look.taken.contains(code.as_str()) => errors.push((en::CODE, table.err(en::CODE, "taken"))),
            None => {}
        }
        seen.entry(code.as_str().to_owned()).or_insert(row);
    }
    // The API's own rules, one fault at a time until none is left.
    let mut draft = None;
    for _ in 0..=ENTERPRISE_COLUMNS.len() {
        match input.parse() {
            Ok(d) => {
                draft = Some(d);
                break;
            }
            Err(e) => {
                let col = enterprise_column(&e.field).unwrap_or(en::CODE);
                errors.push((col, table.about(col, e)));
                placehold(&mut input, col);
            }
        }
    }
    match draft {
        Some(d) if errors.is_empty() => Ok(d),
        _ => Err(errors),
    }
}

/// Checks every row; the drafts, in file order, if all are good.
async fn check_enterprises(state: &AppState, authed: &Authed, table: &Table) -> Result<Vec<EnterpriseDraft>, Refusal> {
    let look = Lookups::load(state, authed).await?;
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut problems = Vec::new();
    let mut drafts = Vec::with_capacity(table.rows.len());
    for (row, cells) in &table.rows {
        match check_row(authed, table, &look, &mut seen, *row, cells) {
            Ok(d) => drafts.push(d),
            Err(errors) => problems.extend(errors.into_iter().map(|(col, error)| Problem { row: *row, col, error })),
        }
    }
    if problems.is_empty() { Ok(drafts) } else { Err(Refusal::Rows(problems)) }
}

async fn import_enterprise_rows(
    state: &AppState,
    authed: &Authed,
    upload: &Upload,
    dry_run: bool,
) -> Result<usize, Refusal> {
    authed.may_here(Action::ManageEnterprises)?;
    let table = Table::read(read_grid(upload)?, &ENTERPRISE_COLUMNS)?;
    let drafts = check_enterprises(state, authed, &table).await?;
    if !dry_run {
        // Someone may have entered a credit code (or removed an officer)
        // since the check.
        let written = state.writer.submit(authed.actor(), Command::ImportEnterprises(drafts)).await;
        written.map_err(|e| late_refusal(&table, e, enterprise_column))?.outcome.into_enterprises()?;
    }
    Ok(table.rows.len())
}

/// Import enterprises from an XLSX or CSV file: every bad row is named and
/// nothing is written until the file is clean; then all rows are written in
/// one transaction. Columns: 统一社会信用代码, 企业名称, 行业门类, 规模,
/// 所属乡镇代码, 职工人数, 地址, 规上企业, 重点企业, 防疫物资生产, 服务专员,
/// 服务部门代码 (or `credit_code`, `name`, `sector`, `size_class`,
/// `township_code`, `employees`, `address`, `above_designated`,
/// `key_enterprise`, `epidemic_supplies`, `service_officer`,
/// `department_code`).
#[utoipa::path(post, path = "/api/v1/enterprises/import", tag = "enterprises", params(ImportQuery),
    request_body(description = "The file itself", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = super::import::ImportSummary, description = "dry run: the file is clean, nothing written"),
              (status = 201, body = super::import::ImportSummary, description = "every row written"),
              (status = 422, body = super::import::ImportRefusal, description = "bad rows; nothing written")))]
pub async fn import_enterprises(
    State(state): State<AppState>,
    authed: Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<ImportQuery>,
    upload: Result<Upload, AppError>,
) -> AppResult<Response> {
    // Rights first: a caller who may not import learns nothing about the file.
    authed.may_here(Action::ManageEnterprises)?;
    let upload = upload?;
    let dry_run = q.dry_run.unwrap_or(false);
    match import_enterprise_rows(&state, &authed, &upload, dry_run).await {
        Ok(rows) => Ok(summary(dry_run, rows, None)),
        Err(Refusal::Rows(problems)) => Ok(refused(&state, lang, problems, None)),
        Err(Refusal::Other(e)) => Err(e),
    }
}

/// The enterprises the caller may see as XLSX, in the import's shape
/// (Chinese headers). Needs the export right; the export is recorded as an
/// event.
#[utoipa::path(get, path = "/api/v1/enterprises/export.xlsx", tag = "enterprises",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn export_enterprises(State(state): State<AppState>, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::ReadEnterprises)?;
    authed.may_here(Action::Export)?;
    let all = state.store.enterprises_visible(&viewer(&authed)).await?;
    let units: HashMap<i64, String> = state.store.org_units().await?.into_iter().map(|u| (u.id.0, u.code)).collect();
    let mut users: HashMap<i64, String> = HashMap::new();
    for id in all.iter().filter_map(|e| e.service_officer_id) {
        if let std::collections::hash_map::Entry::Vacant(v) = users.entry(id.0) {
            v.insert(state.store.user(id).await?.username.as_str().to_owned());
        }
    }
    let yes = |b: bool| if b { "是" } else { "否" };
    let widths = [22.0, 28.0, 18.0, 8.0, 14.0, 9.0, 30.0, 9.0, 9.0, 12.0, 12.0, 14.0];
    let mut out = SheetOut::new("企业", &ENTERPRISE_COLUMNS, &widths)?;
    for (i, e) in all.iter().enumerate() {
        let r = i as u32 + 1;
        let code_of = |id: Option<i64>| id.and_then(|id| units.get(&id)).map_or("", String::as_str);
        out.text(r, en::CODE, &e.credit_code)?;
        out.text(r, en::NAME, &e.name)?;
        out.text(r, en::SECTOR, sector_label(e.sector))?;
        out.text(r, en::SIZE, size_label(e.size_class))?;
        out.text(r, en::TOWNSHIP, code_of(Some(e.org_unit_id.0)))?;
        out.number(r, en::EMPLOYEES, e.employees as f64)?;
        out.text(r, en::ADDRESS, &e.address)?;
        out.text(r, en::ABOVE, yes(e.above_designated))?;
        out.text(r, en::KEY, yes(e.key_enterprise))?;
        out.text(r, en::SUPPLIES, yes(e.epidemic_supplies))?;
        out.text(r, en::OFFICER, e.service_officer_id.and_then(|u| users.get(&u.0)).map_or("", String::as_str))?;
        out.text(r, en::DEPARTMENT, code_of(e.department_id.map(|d| d.0)))?;
    }
    record_export(&state, &authed, "enterprises", all.len()).await?;
    out.finish("enterprises.xlsx")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::import::row_problem;

    #[test]
    fn sectors_and_sizes_read_by_label_or_key() {
        assert_eq!(SECTOR_LABELS.len(), Sector::ALL.len());
        for (s, label) in SECTOR_LABELS {
            assert_eq!(sector_from_label(label), Some(s));
            assert_eq!(sector_from_label(s.as_str()), Some(s));
            assert_eq!(sector_from_label(&s.as_str().to_lowercase()), Some(s));
            assert_eq!(sector_label(s), label);
        }
        assert_eq!(sector_from_label("农林牧渔业"), Some(Sector::Agriculture));
        assert_eq!(sector_from_label("Ｃ"), Some(Sector::Manufacturing));
        assert_eq!(sector_from_label("U"), None);
        assert_eq!(sector_from_label("造船业"), None);
        for (k, label) in SIZE_LABELS {
            assert_eq!(size_from_label(label), Some(k));
            assert_eq!(size_from_label(&format!("{label}企业")), Some(k));
            assert_eq!(size_from_label(&k.as_str().to_uppercase()), Some(k));
            assert_eq!(size_label(k), label);
        }
        assert_eq!(size_from_label("巨型"), None);
        assert!(CreditCode::parse("c", &placeholder_code()).is_ok());
    }

    #[test]
    fn every_field_the_api_or_the_store_names_has_its_column() {
        for field in [
            "credit_code",
            "name",
            "sector",
            "size_class",
            "org_unit_id",
            "employees",
            "address",
            "above_designated",
            "key_enterprise",
            "epidemic_supplies",
            "service_officer_id",
            "department_id",
        ] {
            assert!(enterprise_column(field).is_some(), "{field}");
        }
    }

    #[test]
    fn a_refusal_of_the_store_names_the_files_row() {
        let csv = "credit_code,name\nA,甲\n\nB,乙\n";
        let grid = super::super::import::read_csv(csv.as_bytes()).unwrap();
        let Ok(table) = Table::read(grid, &ENTERPRISE_COLUMNS[..2]) else { panic!("a table") };
        let e = FieldError::new("rows[1].credit_code", "taken");
        let p = row_problem(&table, &e, enterprise_column).unwrap();
        assert_eq!((p.row, p.col, p.error.field.as_str(), p.error.code), (4, en::CODE, "credit_code", "taken"));
        assert!(row_problem(&table, &FieldError::new("rows[9].name", "taken"), enterprise_column).is_none());
    }

    #[test]
    fn the_openapi_document_describes_the_import_and_export() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(crate::api::ApiDoc::openapi()).unwrap();
        let paths = &doc["paths"];
        assert!(paths["/api/v1/enterprises/import"]["post"].is_object());
        assert!(paths["/api/v1/enterprises/export.xlsx"]["get"].is_object());
    }
}
