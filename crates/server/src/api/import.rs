//! Import of checkpoints and rosters from XLSX or CSV, and export of the same
//! shapes as XLSX.
//!
//! # The file
//! The file is the raw request body: `Content-Type: text/csv` (UTF-8, or GBK
//! as Excel saves it in China; comma, semicolon or tab separated) or
//! `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet` (the
//! first sheet is read; `.xls` and `.ods` are read too). Its first non-empty
//! row is the header; the columns may come in any order and be named in
//! Chinese or English (a trailing note in brackets, `签到半径（米）`, is
//! ignored). An unknown column is refused rather than silently dropped.
//! Empty rows are skipped. Rows are numbered as a spreadsheet numbers them:
//! the header is row 1.
//!
//! # Checkpoints: `POST /api/v1/checkpoints/import?dry_run=true|false`
//! | Column | or | |
//! | --- | --- | --- |
//! | 代码 | `code` | unique, 2–20 of `A–Z 0–9 -` |
//! | 名称 | `name` | |
//! | 所属乡镇代码 | `township_code` | the org unit's code, within the caller's scope |
//! | 类型 | `kind` | a label or key from [`KIND_LABELS`] |
//! | 纬度, 经度 | `lat`, `lon` | WGS-84 degrees |
//! | 地址 | `address` | optional |
//! | 每班人数 | `required_staff` | 1–50 |
//! | 签到半径 | `geofence_m` | optional, metres (default 300) |
//! | 班次 | `shift_pattern` | optional: `3x8` (default), `2x12`, `08:00+12,20:00+12` |
//!
//! # Rosters: `POST /api/v1/rosters/import?dry_run=true|false`
//! One row per person on a shift; the rows with the same post, date and start
//! form one shift.
//!
//! | Column | or | |
//! | --- | --- | --- |
//! | 卡点代码 | `checkpoint_code` | a post within the caller's scope |
//! | 日期 | `date` | `YYYY-MM-DD` (or a date cell) |
//! | 开始, 结束 | `start`, `end` | `HH:MM` in the display zone; an end at or before the start is the next day; 12 h at most |
//! | 人员 | `username` | the person's login name |
//! | 带班 | `leader` | optional: 是/yes/1 marks the shift leader (one per shift) |
//!
//! # All or nothing
//! Every row is checked before anything is written, and every bad row is
//! named with its number, column and reason (HTTP 422, the one error shape
//! with a `rows` array added). A dry run stops there. Checkpoints are then
//! written by one `ImportCheckpoints` command: one transaction. A roster is
//! written as one `PlanShift` command per shift, so it is not one
//! transaction; instead the check beforehand covers every rule `PlanShift`
//! applies — the post in scope, each person existing, enabled and in the
//! post's scope, no other shift at the post at that time, nobody booked twice
//! (against the stored shifts and among the file's own rows), the leader on
//! the shift, 12 hours at most — so the submits cannot fail unless someone
//! else changes the roster in between. Should that happen the answer names
//! the row where writing stopped and how many rows were written before it.
//!
//! # Export
//! `GET /api/v1/checkpoints/export.xlsx` and `GET
//! /api/v1/rosters/export.xlsx?from=&to=` write the same columns with the
//! Chinese headers, so an export imports again (after changing the codes, or
//! the dates). Both need the export right and are recorded as events.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Cursor;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use calamine::{Data, Reader};
use rust_xlsxwriter::{Workbook, Worksheet};
use serde::{Deserialize, Serialize};
use shouwang_domain::calendar::{checked_days, civil_from_days};
use shouwang_domain::checkpoint::{CheckpointCode, CheckpointKind};
use shouwang_domain::duty::Span;
use shouwang_domain::policy::Action;
use shouwang_domain::{CheckpointId, FieldError, ScopePath, UserId};
use shouwang_store::writer::{CheckpointDraft, Command};
use shouwang_store::{Checkpoint, OrgUnit, StoreError, User};
use utoipa::{IntoParams, ToSchema};

use super::checkpoints::{CheckpointInput, MAX_SHIFT_HOURS};
use super::json::ApiQuery;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// The content type of an XLSX workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The most data rows one file may hold.
pub const MAX_ROWS: usize = 5000;

/// The longest roster export, in days.
pub const MAX_EXPORT_DAYS: i64 = 366;

const MINUTE_US: i64 = 60_000_000;
const HOUR_US: i64 = 60 * MINUTE_US;
const DAY_US: i64 = 24 * HOUR_US;

/// The Chinese label of each checkpoint kind, as the sheets write it. On
/// import the label or the key (`county_border`, any case) is accepted.
pub const KIND_LABELS: [(CheckpointKind, &str); 7] = [
    (CheckpointKind::CountyBorder, "县界"),
    (CheckpointKind::ProvincialBorder, "省界"),
    (CheckpointKind::HighwayExit, "高速出口"),
    (CheckpointKind::TrunkRoad, "国省干道"),
    (CheckpointKind::VillageEntry, "村口"),
    (CheckpointKind::Station, "车站"),
    (CheckpointKind::Other, "其他"),
];

/// The kind a cell names, by label or key.
pub fn kind_from_label(raw: &str) -> Option<CheckpointKind> {
    let raw = raw.trim();
    KIND_LABELS.iter().find(|(k, label)| *label == raw || k.as_str().eq_ignore_ascii_case(raw)).map(|(k, _)| *k)
}

/// The Chinese label of a kind.
pub fn kind_label(kind: CheckpointKind) -> &'static str {
    KIND_LABELS.iter().find(|(k, _)| *k == kind).map_or("其他", |(_, l)| l)
}

/// One column of a sheet.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The Chinese header, as exports write it.
    pub zh: &'static str,
    /// The English header (also the API field name).
    pub en: &'static str,
    /// Whether the column must be present.
    pub required: bool,
}

pub(crate) const fn column(zh: &'static str, en: &'static str, required: bool) -> Column {
    Column { zh, en, required }
}

/// The checkpoint sheet's columns, in export order.
pub const CHECKPOINT_COLUMNS: [Column; 10] = [
    column("代码", "code", true),
    column("名称", "name", true),
    column("所属乡镇代码", "township_code", true),
    column("类型", "kind", true),
    column("纬度", "lat", true),
    column("经度", "lon", true),
    column("地址", "address", false),
    column("每班人数", "required_staff", true),
    column("签到半径", "geofence_m", false),
    column("班次", "shift_pattern", false),
];

mod cp {
    pub const CODE: usize = 0;
    pub const NAME: usize = 1;
    pub const TOWNSHIP: usize = 2;
    pub const KIND: usize = 3;
    pub const LAT: usize = 4;
    pub const LON: usize = 5;
    pub const ADDRESS: usize = 6;
    pub const STAFF: usize = 7;
    pub const GEOFENCE: usize = 8;
    pub const PATTERN: usize = 9;
}

/// The roster sheet's columns, in export order.
pub const ROSTER_COLUMNS: [Column; 6] = [
    column("卡点代码", "checkpoint_code", true),
    column("日期", "date", true),
    column("开始", "start", true),
    column("结束", "end", true),
    column("人员", "username", true),
    column("带班", "leader", false),
];

mod ro {
    pub const POST: usize = 0;
    pub const DATE: usize = 1;
    pub const START: usize = 2;
    pub const END: usize = 3;
    pub const USER: usize = 4;
    pub const LEADER: usize = 5;
}

// ------------------------------------------------------------------ cells

/// A cell as read from either kind of file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date or time cell: the Excel serial and the civil date it holds.
    When {
        serial: f64,
        ymd: (i64, i64, i64),
    },
}

static EMPTY: Cell = Cell::Empty;

impl Cell {
    fn text_of(raw: &str) -> Cell {
        let t = raw.trim();
        if t.is_empty() { Cell::Empty } else { Cell::Text(t.to_owned()) }
    }

    fn of(d: &Data) -> Cell {
        match d {
            Data::Empty => Cell::Empty,
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::text_of(s),
            Data::Float(f) => Cell::Number(*f),
            Data::Int(i) => Cell::Number(*i as f64),
            Data::Bool(b) => Cell::Bool(*b),
            Data::DateTime(dt) => {
                let (y, m, d, ..) = dt.to_ymd_hms_milli();
                Cell::When { serial: dt.as_f64(), ymd: (i64::from(y), i64::from(m), i64::from(d)) }
            }
            Data::Error(e) => Cell::Text(e.to_string()),
        }
    }

    /// The cell as text: numbers without a needless `.0`, dates as
    /// `YYYY-MM-DD`, times as `HH:MM`.
    fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Cell::Number(f) => f.to_string(),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
            Cell::When { serial, ymd: (y, m, d) } => {
                let minutes = serial_minutes(*serial);
                match (*serial >= 1.0, minutes) {
                    (true, 0) => format!("{y:04}-{m:02}-{d:02}"),
                    (true, t) => format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", t / 60, t % 60),
                    (false, t) => format!("{:02}:{:02}", t / 60, t % 60),
                }
            }
        }
    }
}

/// The minute of the day an Excel serial holds.
fn serial_minutes(serial: f64) -> i64 {
    ((serial.fract() * 1440.0).round() as i64).rem_euclid(1440)
}

/// A civil date, checked, as days since the epoch (years 2000–2100).
fn civil_days(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(2000..=2100).contains(&y) {
        return None;
    }
    checked_days(y, m, d)
}

/// `YYYY-MM-DD` (or with `/` or `.`, or `2025年1月20日`) as days since the
/// epoch.
pub fn parse_date(raw: &str) -> Option<i64> {
    let raw = raw.trim().trim_end_matches('日');
    let parts: Vec<&str> = raw.split(['-', '/', '.', '年', '月']).collect();
    let [y, m, d] = parts.as_slice() else { return None };
    civil_days(y.trim().parse().ok()?, m.trim().parse().ok()?, d.trim().parse().ok()?)
}

/// `HH:MM` (or `HH:MM:SS`) as minutes after midnight.
pub fn parse_clock(raw: &str) -> Option<i64> {
    let raw = raw.trim().replace('：', ":");
    let mut parts = raw.split(':');
    let h: i64 = parts.next()?.trim().parse().ok()?;
    let m: i64 = parts.next()?.trim().parse().ok()?;
    if let Some(s) = parts.next() {
        let s: i64 = s.trim().parse().ok()?;
        if !(0..60).contains(&s) {
            return None;
        }
    }
    if parts.next().is_some() {
        return None;
    }
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// The start of a local day (display zone `offset_hours`) as µs.
fn day_start(days: i64, offset_hours: i32) -> i64 {
    days * DAY_US - i64::from(offset_hours) * HOUR_US
}

/// A time as the local day and minute of the day.
fn local(us: i64, offset_hours: i32) -> (i64, i64) {
    let l = us + i64::from(offset_hours) * HOUR_US;
    (l.div_euclid(DAY_US), l.rem_euclid(DAY_US) / MINUTE_US)
}

fn date_text(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn clock_text(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

// ----------------------------------------------------------------- upload

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Csv,
    Workbook,
}

/// A spreadsheet sent as the raw request body.
#[derive(Debug)]
pub struct Upload {
    format: FileKind,
    bytes: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let declared = match ct.as_str() {
            "text/csv" | "application/csv" | "text/plain" | "text/tab-separated-values" => Some(FileKind::Csv),
            XLSX | "application/vnd.ms-excel" | "application/vnd.oasis.opendocument.spreadsheet" => {
                Some(FileKind::Workbook)
            }
            "" | "application/octet-stream" => None,
            _ => {
                return Err(AppError::Malformed(format!("expected Content-Type text/csv or {XLSX}, not {ct}")));
            }
        };
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::Malformed(e.body_text())
            }
        })?;
        // Without a telling type, a ZIP (XLSX, ODS) or OLE (XLS) header decides.
        let sniffed = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            FileKind::Workbook
        } else {
            FileKind::Csv
        };
        Ok(Upload { format: declared.unwrap_or(sniffed), bytes })
    }
}

fn unreadable() -> AppError {
    FieldError::new("file", "unreadable_file").into()
}

/// A row as a spreadsheet numbers it (from 1), with its cells.
pub(crate) type GridRow = (u32, Vec<Cell>);

/// The non-empty rows of the upload.
pub(crate) fn read_grid(upload: &Upload) -> AppResult<Vec<GridRow>> {
    let rows = match upload.format {
        FileKind::Csv => read_csv(&upload.bytes)?,
        FileKind::Workbook => read_workbook(&upload.bytes)?,
    };
    Ok(rows.into_iter().filter(|(_, cells)| cells.iter().any(|c| *c != Cell::Empty)).collect())
}

fn read_workbook(bytes: &[u8]) -> AppResult<Vec<GridRow>> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|_| unreadable())?;
    let range = book.worksheet_range_at(0).ok_or_else(unreadable)?.map_err(|_| unreadable())?;
    let Some((first, _)) = range.start() else { return Ok(Vec::new()) };
    Ok(range.rows().enumerate().map(|(i, row)| (first + i as u32 + 1, row.iter().map(Cell::of).collect())).collect())
}

pub(crate) fn read_csv(bytes: &[u8]) -> AppResult<Vec<GridRow>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text: Cow<'_, str> = match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        // Excel in China saves CSV as GBK; GB18030 reads that and more.
        Err(_) => {
            let (s, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                return Err(unreadable());
            }
            s
        }
    };
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter =
        [b',', b';', b'\t'].into_iter().max_by_key(|d| first_line.bytes().filter(|b| b == d).count()).unwrap_or(b',');
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // A record's line (counted from its byte offset), less the line breaks
    // inside quoted cells before it, is the row a spreadsheet shows it on.
    let bytes = text.as_bytes();
    let (mut line, mut counted, mut breaks) = (1u64, 0usize, 0u64);
    for record in reader.records() {
        let record = record.map_err(|_| unreadable())?;
        let at = record.position().map_or(counted, |p| usize::try_from(p.byte()).unwrap_or(counted));
        let mut at = at.clamp(counted, bytes.len());
        // The position is where the reader began: before any blank lines.
        while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
            at += 1;
        }
        line += bytes[counted..at].iter().filter(|b| **b == b'\n').count() as u64;
        counted = at;
        let row = u32::try_from(line - breaks).unwrap_or(u32::MAX);
        rows.push((row, record.iter().map(Cell::text_of).collect()));
        breaks += record.iter().map(|f| f.matches('\n').count() as u64).sum::<u64>();
    }
    Ok(rows)
}

// ------------------------------------------------------------------ table

/// A bad cell: its row, its column (for ordering), what is wrong. The
/// error's field is the column's name as the file has it.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) row: u32,
    pub(crate) col: usize,
    pub(crate) error: FieldError,
}

/// Why an import was refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Rows at fault.
    Rows(Vec<Problem>),
    /// Anything else (the file, the caller, the store).
    Other(AppError),
}

impl<E: Into<AppError>> From<E> for Refusal {
    fn from(e: E) -> Self {
        Refusal::Other(e.into())
    }
}

/// The header's name of a column, compared loosely: case, spaces and a
/// trailing note in brackets do not matter.
fn header_key(raw: &str) -> String {
    let mut s = raw.trim().to_lowercase();
    for open in ['（', '('] {
        if let Some(at) = s.find(open)
            && at > 0
        {
            s.truncate(at);
        }
    }
    s.trim().replace([' ', '-'], "_")
}

/// The data rows of a sheet under a known header.
pub(crate) struct Table {
    /// Where each column is in the file, by the column's index.
    at: Vec<Option<usize>>,
    /// Each column's name as the file has it.
    names: Vec<String>,
    pub(crate) rows: Vec<GridRow>,
}

impl Table {
    pub(crate) fn read(grid: Vec<GridRow>, columns: &[Column]) -> Result<Table, Refusal> {
        let mut grid = grid.into_iter();
        let Some((header_row, header)) = grid.next() else {
            return Err(AppError::from(FieldError::new("file", "no_rows")).into());
        };
        let mut problems = Vec::new();
        let mut at = vec![None; columns.len()];
        let mut names: Vec<String> = columns.iter().map(|c| c.zh.to_owned()).collect();
        let mut english = false;
        for (pos, cell) in header.iter().enumerate() {
            let raw = cell.text();
            if raw.is_empty() {
                continue;
            }
            let key = header_key(&raw);
            match columns.iter().position(|c| header_key(c.zh) == key || c.en == key) {
                None => {
                    problems.push(Problem { row: header_row, col: pos, error: FieldError::new(raw, "unknown_column") })
                }
                Some(i) if at[i].is_some() => {
                    problems.push(Problem { row: header_row, col: pos, error: FieldError::new(raw, "duplicate") })
                }
                Some(i) => {
                    english |= raw.is_ascii();
                    at[i] = Some(pos);
                    names[i] = raw;
                }
            }
        }
        for (i, c) in columns.iter().enumerate() {
            if at[i].is_none() {
                names[i] = if english { c.en } else { c.zh }.to_owned();
                if c.required {
                    let error = FieldError::new(names[i].clone(), "column_missing");
                    problems.push(Problem { row: header_row, col: header.len() + i, error });
                }
            }
        }
        if !problems.is_empty() {
            return Err(Refusal::Rows(problems));
        }
        let rows: Vec<GridRow> = grid.collect();
        if rows.is_empty() {
            return Err(AppError::from(FieldError::new("file", "no_rows")).into());
        }
        if rows.len() > MAX_ROWS {
            return Err(AppError::from(FieldError::new("file", "too_many_rows").arg("max", MAX_ROWS)).into());
        }
        Ok(Table { at, names, rows })
    }

    fn cell<'a>(&self, cells: &'a [Cell], i: usize) -> &'a Cell {
        self.at[i].and_then(|p| cells.get(p)).unwrap_or(&EMPTY)
    }

    /// An error about column `i`.
    pub(crate) fn err(&self, i: usize, code: &'static str) -> FieldError {
        FieldError::new(self.names[i].clone(), code)
    }

    /// The same error, about column `i`.
    pub(crate) fn about(&self, i: usize, e: FieldError) -> FieldError {
        FieldError { field: self.names[i].clone(), ..e }
    }

    pub(crate) fn text(&self, cells: &[Cell], i: usize) -> String {
        self.cell(cells, i).text()
    }

    pub(crate) fn required_text(&self, cells: &[Cell], i: usize) -> Result<String, FieldError> {
        let t = self.text(cells, i);
        if t.is_empty() { Err(self.err(i, "required")) } else { Ok(t) }
    }

    /// A number, if the cell holds one.
    fn number(&self, cells: &[Cell], i: usize) -> Result<Option<f64>, FieldError> {
        match self.cell(cells, i) {
            Cell::Empty => Ok(None),
            Cell::Number(f) => Ok(Some(*f)),
            // No thousands separators: `1,5` is not read as 15.
            Cell::Text(s) => {
                s.parse::<f64>().ok().filter(|f| f.is_finite()).map(Some).ok_or_else(|| self.err(i, "not_a_number"))
            }
            _ => Err(self.err(i, "not_a_number")),
        }
    }

    fn required_number(&self, cells: &[Cell], i: usize) -> Result<f64, FieldError> {
        self.number(cells, i)?.ok_or_else(|| self.err(i, "required"))
    }

    /// A whole number, if the cell holds one.
    pub(crate) fn whole(&self, cells: &[Cell], i: usize) -> Result<Option<i64>, FieldError> {
        match self.number(cells, i) {
            Ok(Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(Some(f as i64)),
            Ok(None) => Ok(None),
            _ => Err(self.err(i, "whole_number")),
        }
    }

    /// A date, as days since the epoch.
    pub(crate) fn date(&self, cells: &[Cell], i: usize) -> Result<i64, FieldError> {
        let days = match self.cell(cells, i) {
            Cell::Empty => return Err(self.err(i, "required")),
            Cell::When { serial, ymd: (y, m, d) } if *serial >= 1.0 => civil_days(*y, *m, *d),
            Cell::Text(s) => parse_date(s),
            _ => None,
        };
        days.ok_or_else(|| self.err(i, "invalid_date"))
    }

    /// A time of day, as minutes after midnight.
    fn clock(&self, cells: &[Cell], i: usize) -> Result<i64, FieldError> {
        let minutes = match self.cell(cells, i) {
            Cell::Empty => return Err(self.err(i, "required")),
            Cell::When { serial, .. } => Some(serial_minutes(*serial)),
            // A time cell without a time format is a fraction of a day.
            Cell::Number(f) if (0.0..1.0).contains(f) => Some(serial_minutes(*f)),
            Cell::Text(s) => parse_clock(s),
            _ => None,
        };
        minutes.ok_or_else(|| self.err(i, "invalid_time"))
    }

    /// 是/yes/1 (and the like) or empty/否/no/0.
    pub(crate) fn yes_no(&self, cells: &[Cell], i: usize) -> Result<bool, FieldError> {
        let t = self.text(cells, i).to_lowercase();
        match t.as_str() {
            "是" | "yes" | "y" | "1" | "true" | "√" | "✓" | "带班" => Ok(true),
            "" | "否" | "no" | "n" | "0" | "false" => Ok(false),
            _ => Err(self.err(i, "invalid_choice").arg("choices", "是, 否")),
        }
    }
}

/// Keeps `r`'s value, or notes its error against column `col` and gives
/// `placeholder`.
pub(crate) fn or_note<T>(
    r: Result<T, FieldError>,
    col: usize,
    errors: &mut Vec<(usize, FieldError)>,
    placeholder: T,
) -> T {
    r.unwrap_or_else(|e| {
        errors.push((col, e));
        placeholder
    })
}

// -------------------------------------------------------------- responses

/// Which import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Only check the file; write nothing (default false).
    pub dry_run: Option<bool>,
}

/// A clean file: checked, and written unless it was a dry run.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportSummary {
    /// Always true.
    pub ok: bool,
    /// Data rows in the file.
    pub rows: usize,
    /// Rows written: 0 for a dry run.
    pub written: usize,
    /// Shifts the roster's rows form (rosters only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shifts: Option<usize>,
}

/// One bad cell of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowProblem {
    /// The spreadsheet's row number; the header is row 1.
    pub row: u32,
    /// The column as the file names it (or `file`).
    pub field: String,
    /// Stable code, e.g. `out_of_range`.
    pub code: String,
    /// What is wrong, in the caller's language.
    pub message: String,
}

/// The one error object.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportError {
    /// `import_rows` (nothing written) or `import_stopped` (a roster stopped
    /// part-way; see `written`).
    pub code: String,
    /// Summary in the caller's language.
    pub message: String,
    /// Always null.
    pub field: Option<String>,
}

/// A refused import: the one error shape plus every bad row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRefusal {
    /// The error.
    pub error: ImportError,
    /// Every bad cell, by row.
    pub rows: Vec<RowProblem>,
    /// Rows written before the refusal (0 unless `import_stopped`).
    pub written: usize,
}

pub(crate) fn refused(
    state: &AppState,
    lang: Lang,
    mut problems: Vec<Problem>,
    stopped: Option<(u32, usize)>,
) -> Response {
    problems.sort_by_key(|p| (p.row, p.col));
    let bad_rows: BTreeSet<u32> = problems.iter().map(|p| p.row).collect();
    let (code, message, written) = match stopped {
        None => {
            ("import_rows", state.i18n.text(lang, "error-import-rows", &[("count", bad_rows.len().to_string())]), 0)
        }
        Some((row, written)) => (
            "import_stopped",
            state.i18n.text(
                lang,
                "error-import-stopped",
                &[("row", row.to_string()), ("written", written.to_string())],
            ),
            written,
        ),
    };
    let body = ImportRefusal {
        error: ImportError { code: code.into(), message, field: None },
        rows: problems
            .iter()
            .map(|p| RowProblem {
                row: p.row,
                field: p.error.field.clone(),
                code: p.error.code.into(),
                message: state.i18n.field_error(lang, &p.error),
            })
            .collect(),
        written,
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

pub(crate) fn summary(dry_run: bool, rows: usize, shifts: Option<usize>) -> Response {
    let status = if dry_run { StatusCode::OK } else { StatusCode::CREATED };
    let written = if dry_run { 0 } else { rows };
    (status, Json(ImportSummary { ok: true, rows, written, shifts })).into_response()
}

// ------------------------------------------------------------ checkpoints

/// The column of a [`CheckpointInput`] field.
fn checkpoint_column(field: &str) -> Option<usize> {
    Some(match field {
        "code" => cp::CODE,
        "name" => cp::NAME,
        "org_unit_id" => cp::TOWNSHIP,
        "kind" => cp::KIND,
        "lat" => cp::LAT,
        "lon" => cp::LON,
        "address" => cp::ADDRESS,
        "required_staff" => cp::STAFF,
        "geofence_m" => cp::GEOFENCE,
        "shift_pattern" => cp::PATTERN,
        _ => return None,
    })
}

/// Puts a value that parses into column `col` of `input`, so that parsing
/// again finds the next fault.
fn placehold(input: &mut CheckpointInput, col: usize) {
    match col {
        cp::CODE => input.code = "AA".into(),
        cp::NAME => input.name = "-".into(),
        cp::KIND => input.kind = "other".into(),
        cp::LAT => input.lat = 0.0,
        cp::LON => input.lon = 0.0,
        cp::ADDRESS => input.address = String::new(),
        cp::STAFF => input.required_staff = 1,
        cp::GEOFENCE => input.geofence_m = None,
        cp::PATTERN => input.shift_pattern = None,
        _ => {}
    }
}

/// Checks every row; the drafts if all are good.
async fn check_checkpoints(state: &AppState, authed: &Authed, table: &Table) -> Result<Vec<CheckpointDraft>, Refusal> {
    let units: HashMap<String, OrgUnit> =
        state.store.org_units().await?.into_iter().map(|u| (u.code.clone(), u)).collect();
    let taken: HashSet<String> =
        state.store.checkpoints_within(&ScopePath::root()).await?.into_iter().map(|c| c.code).collect();
    let choices = KIND_LABELS.iter().map(|(k, l)| format!("{l}/{}", k.as_str())).collect::<Vec<_>>().join(", ");
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut problems = Vec::new();
    let mut drafts = Vec::with_capacity(table.rows.len());
    for (row, cells) in &table.rows {
        let mut errors: Vec<(usize, FieldError)> = Vec::new();
        let township = table.required_text(cells, cp::TOWNSHIP).and_then(|code| match units.get(&code) {
            None => Err(table.err(cp::TOWNSHIP, "not_found")),
            Some(u) => match authed.may(Action::ManageCheckpoints, &u.path) {
                Ok(()) => Ok(u.id.0),
                Err(_) => Err(table.err(cp::TOWNSHIP, "out_of_scope")),
            },
        });
        let kind = table.required_text(cells, cp::KIND).and_then(|raw| {
            kind_from_label(&raw)
                .map(|k| k.as_str().to_owned())
                .ok_or_else(|| table.err(cp::KIND, "invalid_choice").arg("choices", &choices))
        });
        let mut input = CheckpointInput {
            org_unit_id: or_note(township, cp::TOWNSHIP, &mut errors, 0),
            code: table.text(cells, cp::CODE),
            name: table.text(cells, cp::NAME),
            kind: or_note(kind, cp::KIND, &mut errors, "other".into()),
            lat: or_note(table.required_number(cells, cp::LAT), cp::LAT, &mut errors, 0.0),
            lon: or_note(table.required_number(cells, cp::LON), cp::LON, &mut errors, 0.0),
            address: table.text(cells, cp::ADDRESS),
            required_staff: or_note(
                table.whole(cells, cp::STAFF).and_then(|n| n.ok_or_else(|| table.err(cp::STAFF, "required"))),
                cp::STAFF,
                &mut errors,
                1,
            ),
            geofence_m: or_note(table.whole(cells, cp::GEOFENCE), cp::GEOFENCE, &mut errors, None),
            shift_pattern: Some(table.text(cells, cp::PATTERN)).filter(|p| !p.is_empty()),
        };
        // A code given twice in the file, or already in use.
        if let Ok(code) = CheckpointCode::parse("code", &input.code) {
            match seen.get(code.as_str()) {
                Some(first) => errors.push((cp::CODE, table.err(cp::CODE, "duplicate_in_file").arg("row", first))),
                None if taken.contains(code.as_str()) => errors.push((cp::CODE, table.err(cp::CODE, "taken"))),
                None => {}
            }
            seen.entry(code.as_str().to_owned()).or_insert(*row);
        }
        // The domain's own rules, one fault at a time until none is left.
        let mut draft = None;
        for _ in 0..=CHECKPOINT_COLUMNS.len() {
            match input.parse() {
                Ok(d) => {
                    draft = Some(d);
                    break;
                }
                Err(e) => {
                    let col = checkpoint_column(&e.field).unwrap_or(cp::CODE);
                    errors.push((col, table.about(col, e)));
                    placehold(&mut input, col);
                }
            }
        }
        match draft {
            Some(d) if errors.is_empty() => drafts.push(d),
            _ => problems.extend(errors.into_iter().map(|(col, error)| Problem { row: *row, col, error })),
        }
    }
    if problems.is_empty() { Ok(drafts) } else { Err(Refusal::Rows(problems)) }
}

/// A refusal of the writer naming `rows[i].field`, as the file's row.
pub(crate) fn row_problem(table: &Table, e: &FieldError, column_of: fn(&str) -> Option<usize>) -> Option<Problem> {
    let rest = e.field.strip_prefix("rows[")?;
    let (i, field) = rest.split_once("].")?;
    let (row, _) = table.rows.get(i.parse::<usize>().ok()?)?;
    let col = column_of(field)?;
    Some(Problem { row: *row, col, error: table.about(col, e.clone()) })
}

/// What the writer's refusal of a checked file means for its sender: a
/// `rows[i].field` (someone changed the data between the check and the
/// write) becomes that row's problem; anything else stays as it is.
pub(crate) fn late_refusal(table: &Table, e: StoreError, column_of: fn(&str) -> Option<usize>) -> Refusal {
    match e {
        StoreError::Invalid(e) => match row_problem(table, &e, column_of) {
            Some(p) => Refusal::Rows(vec![p]),
            None => AppError::Field(e).into(),
        },
        other => AppError::from(other).into(),
    }
}

async fn import_checkpoint_rows(
    state: &AppState,
    authed: &Authed,
    upload: &Upload,
    dry_run: bool,
) -> Result<usize, Refusal> {
    authed.may_here(Action::ManageCheckpoints)?;
    let table = Table::read(read_grid(upload)?, &CHECKPOINT_COLUMNS)?;
    let drafts = check_checkpoints(state, authed, &table).await?;
    if !dry_run {
        // Someone may have taken a code since the check.
        let written = state.writer.submit(authed.actor(), Command::ImportCheckpoints(drafts)).await;
        written.map_err(|e| late_refusal(&table, e, checkpoint_column))?;
    }
    Ok(table.rows.len())
}

/// Import checkpoints from an XLSX or CSV file: every bad row is named and
/// nothing is written until the file is clean; then all rows are written in
/// one transaction. Columns: 代码, 名称, 所属乡镇代码, 类型, 纬度, 经度, 地址,
/// 每班人数, 签到半径, 班次 (or `code`, `name`, `township_code`, `kind`, `lat`,
/// `lon`, `address`, `required_staff`, `geofence_m`, `shift_pattern`).
#[utoipa::path(post, path = "/api/v1/checkpoints/import", tag = "checkpoints", params(ImportQuery),
    request_body(description = "The file itself", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportSummary, description = "dry run: the file is clean, nothing written"),
              (status = 201, body = ImportSummary, description = "every row written"),
              (status = 422, body = ImportRefusal, description = "bad rows; nothing written")))]
pub async fn import_checkpoints(
    State(state): State<AppState>,
    authed: Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<ImportQuery>,
    upload: Result<Upload, AppError>,
) -> AppResult<Response> {
    // Rights first: a caller who may not import learns nothing about the file.
    authed.may_here(Action::ManageCheckpoints)?;
    let upload = upload?;
    let dry_run = q.dry_run.unwrap_or(false);
    match import_checkpoint_rows(&state, &authed, &upload, dry_run).await {
        Ok(rows) => Ok(summary(dry_run, rows, None)),
        Err(Refusal::Rows(problems)) => Ok(refused(&state, lang, problems, None)),
        Err(Refusal::Other(e)) => Err(e),
    }
}

// ---------------------------------------------------------------- rosters

/// One good roster row.
struct Assignment {
    row: u32,
    checkpoint: CheckpointId,
    span: Span,
    user: UserId,
    leader: bool,
}

/// A shift the roster forms.
struct PlannedShift {
    checkpoint: CheckpointId,
    span: Span,
    /// The rows, in file order; `staff[i]` is on `rows[i]`.
    rows: Vec<u32>,
    staff: Vec<UserId>,
    leader: Option<(UserId, u32)>,
}

/// Whether a person of `user_scope` may work at a post of `post_scope`: one
/// holds the other (the writer's rule).
fn scopes_meet(user_scope: &ScopePath, post_scope: &ScopePath) -> bool {
    post_scope.as_str().starts_with(user_scope.as_str()) || user_scope.as_str().starts_with(post_scope.as_str())
}

/// Checks every row, and the shifts they form against each other and the
/// stored roster; the shifts if all is good.
async fn check_roster(state: &AppState, authed: &Authed, table: &Table) -> Result<Vec<PlannedShift>, Refusal> {
    let offset = state.config.display_utc_offset_hours;
    let posts: HashMap<String, Checkpoint> =
        state.store.checkpoints_within(&ScopePath::root()).await?.into_iter().map(|c| (c.code.clone(), c)).collect();
    let users: HashMap<String, User> = state
        .store
        .users_within(&ScopePath::root())
        .await?
        .into_iter()
        .map(|u| (u.username.as_str().to_owned(), u))
        .collect();
    let mut problems = Vec::new();
    let mut good = Vec::with_capacity(table.rows.len());
    for (row, cells) in &table.rows {
        let mut errors: Vec<(usize, FieldError)> = Vec::new();
        let post = table.required_text(cells, ro::POST).and_then(|code| {
            posts
                .get(&code.to_ascii_uppercase())
                .filter(|p| authed.may(Action::ManageCheckpoints, &p.scope).is_ok())
                .ok_or_else(|| table.err(ro::POST, "not_found"))
        });
        let post = or_note(post.map(Some), ro::POST, &mut errors, None);
        let day = or_note(table.date(cells, ro::DATE).map(Some), ro::DATE, &mut errors, None);
        let start = or_note(table.clock(cells, ro::START).map(Some), ro::START, &mut errors, None);
        let end = or_note(table.clock(cells, ro::END).map(Some), ro::END, &mut errors, None);
        let span = match (day, start, end) {
            (Some(day), Some(start), Some(end)) => {
                let midnight = day_start(day, offset);
                let ends = midnight + end * MINUTE_US + if end <= start { DAY_US } else { 0 };
                let span = Span::shift(midnight + start * MINUTE_US, ends, MAX_SHIFT_HOURS);
                or_note(span.map(Some).map_err(|e| table.about(ro::END, e)), ro::END, &mut errors, None)
            }
            _ => None,
        };
        let user = table.required_text(cells, ro::USER).and_then(|name| {
            users.get(&name.to_lowercase()).filter(|u| !u.disabled).ok_or_else(|| table.err(ro::USER, "not_found"))
        });
        let user = or_note(user.map(Some), ro::USER, &mut errors, None);
        if let (Some(p), Some(u)) = (post, user)
            && !scopes_meet(&u.scope, &p.scope)
        {
            errors.push((ro::USER, table.err(ro::USER, "out_of_scope")));
        }
        let leader = or_note(table.yes_no(cells, ro::LEADER), ro::LEADER, &mut errors, false);
        match (post, span, user) {
            (Some(p), Some(span), Some(u)) if errors.is_empty() => {
                good.push(Assignment { row: *row, checkpoint: p.id, span, user: u.id, leader })
            }
            _ => problems.extend(errors.into_iter().map(|(col, error)| Problem { row: *row, col, error })),
        }
    }

    // The rows with the same post, date and start form one shift.
    let mut shifts: Vec<PlannedShift> = Vec::new();
    let mut index: HashMap<(CheckpointId, i64), usize> = HashMap::new();
    let mut placed: Vec<(usize, &Assignment)> = Vec::with_capacity(good.len());
    for a in &good {
        let problem = |col: usize, e: FieldError| Problem { row: a.row, col, error: e };
        let Some(&g) = index.get(&(a.checkpoint, a.span.starts_us)) else {
            index.insert((a.checkpoint, a.span.starts_us), shifts.len());
            placed.push((shifts.len(), a));
            shifts.push(PlannedShift {
                checkpoint: a.checkpoint,
                span: a.span,
                rows: vec![a.row],
                staff: vec![a.user],
                leader: a.leader.then_some((a.user, a.row)),
            });
            continue;
        };
        let s = &mut shifts[g];
        let first = s.rows[0];
        if s.span.ends_us != a.span.ends_us {
            problems.push(problem(ro::END, table.err(ro::END, "shift_end_differs").arg("row", first)));
        } else if let Some(i) = s.staff.iter().position(|u| *u == a.user) {
            problems.push(problem(ro::USER, table.err(ro::USER, "duplicate_in_file").arg("row", s.rows[i])));
        } else if let (true, Some((_, row))) = (a.leader, s.leader) {
            problems.push(problem(ro::LEADER, table.err(ro::LEADER, "one_leader").arg("row", row)));
        } else {
            s.rows.push(a.row);
            s.staff.push(a.user);
            if a.leader {
                s.leader = Some((a.user, a.row));
            }
            placed.push((g, a));
        }
    }

    // No two shifts at one post at once: in the file, and with the stored ones.
    let mut stored_at: HashMap<CheckpointId, Vec<Span>> = HashMap::new();
    for (g, s) in shifts.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(e) = stored_at.entry(s.checkpoint) {
            let at_post = shifts.iter().filter(|o| o.checkpoint == s.checkpoint);
            let from = at_post.clone().map(|o| o.span.starts_us).min().unwrap_or(0);
            let to = at_post.map(|o| o.span.ends_us).max().unwrap_or(0);
            let stored = state.store.shifts(s.checkpoint, from, to).await?;
            e.insert(stored.iter().map(|x| x.span).collect());
        }
        let earlier = shifts[..g].iter().find(|o| o.checkpoint == s.checkpoint && o.span.overlaps(s.span));
        let error = match earlier {
            Some(o) => Some(table.err(ro::START, "overlaps_row").arg("row", o.rows[0])),
            None if stored_at[&s.checkpoint].iter().any(|x| x.overlaps(s.span)) => {
                Some(table.err(ro::START, "shift_exists"))
            }
            None => None,
        };
        if let Some(error) = error {
            problems.push(Problem { row: s.rows[0], col: ro::START, error });
        }
    }

    // Nobody on two shifts at once: in the file, and with the stored ones.
    let mut by_user: HashMap<UserId, Vec<(usize, &Assignment)>> = HashMap::new();
    for (g, a) in &placed {
        by_user.entry(a.user).or_default().push((*g, a));
    }
    let mut user_ids: Vec<UserId> = by_user.keys().copied().collect();
    user_ids.sort();
    for user in user_ids {
        let rows = &by_user[&user];
        let from = rows.iter().map(|(_, a)| a.span.starts_us).min().unwrap_or(0);
        let to = rows.iter().map(|(_, a)| a.span.ends_us).max().unwrap_or(0);
        let stored: Vec<Span> = state.store.shifts_of_user(user, from, to).await?.iter().map(|s| s.span).collect();
        for (k, (g, a)) in rows.iter().enumerate() {
            let earlier = rows[..k].iter().find(|(h, b)| h != g && b.span.overlaps(a.span));
            let error = match earlier {
                Some((_, b)) => Some(table.err(ro::USER, "overlaps_row").arg("row", b.row)),
                None if stored.iter().any(|x| x.overlaps(a.span)) => Some(table.err(ro::USER, "shift_overlaps")),
                None => None,
            };
            if let Some(error) = error {
                problems.push(Problem { row: a.row, col: ro::USER, error });
            }
        }
    }
    if problems.is_empty() { Ok(shifts) } else { Err(Refusal::Rows(problems)) }
}

/// Where the writer's refusal of a shift points in the file.
fn shift_problem(table: &Table, s: &PlannedShift, e: FieldError) -> Problem {
    let staff = e.field.strip_prefix("staff[").and_then(|r| r.strip_suffix(']')).and_then(|i| i.parse::<usize>().ok());
    let (row, col) = match (staff, e.field.as_str()) {
        (Some(i), _) => (s.rows.get(i).copied().unwrap_or(s.rows[0]), ro::USER),
        (None, "leader_id") => (s.leader.map_or(s.rows[0], |(_, r)| r), ro::LEADER),
        (None, "ends_us") => (s.rows[0], ro::END),
        _ => (s.rows[0], ro::START),
    };
    Problem { row, col, error: table.about(col, e) }
}

/// The outcome of a roster import: rows and shifts, or a refusal and how
/// many rows were written before it.
async fn import_roster_rows(
    state: &AppState,
    authed: &Authed,
    upload: &Upload,
    dry_run: bool,
) -> Result<(usize, usize), (Refusal, Option<(u32, usize)>)> {
    authed.may_here(Action::ManageCheckpoints).map_err(|e| (e.into(), None))?;
    let grid = read_grid(upload).map_err(|e| (e.into(), None))?;
    let table = Table::read(grid, &ROSTER_COLUMNS).map_err(|r| (r, None))?;
    let shifts = check_roster(state, authed, &table).await.map_err(|r| (r, None))?;
    if !dry_run {
        let mut written = 0;
        for s in &shifts {
            let command = Command::PlanShift {
                checkpoint: s.checkpoint,
                span: s.span,
                leader: s.leader.map(|(u, _)| u),
                staff: s.staff.clone(),
            };
            match state.writer.submit(authed.actor(), command).await.map_err(AppError::from) {
                Ok(_) => written += s.rows.len(),
                Err(AppError::Field(e)) => {
                    let p = shift_problem(&table, s, e);
                    let row = p.row;
                    return Err((Refusal::Rows(vec![p]), Some((row, written))));
                }
                Err(AppError::Conflict(field)) => {
                    let p = shift_problem(&table, s, FieldError::new(field, "taken"));
                    let row = p.row;
                    return Err((Refusal::Rows(vec![p]), Some((row, written))));
                }
                Err(e) => return Err((e.into(), Some((s.rows[0], written)))),
            }
        }
    }
    Ok((table.rows.len(), shifts.len()))
}

/// Import a roster from an XLSX or CSV file: one row per person on a shift
/// (卡点代码, 日期, 开始, 结束, 人员, 带班 — or `checkpoint_code`, `date`,
/// `start`, `end`, `username`, `leader`). Every bad row is named, double
/// bookings included, and nothing is written until the file is clean.
#[utoipa::path(post, path = "/api/v1/rosters/import", tag = "checkpoints", params(ImportQuery),
    request_body(description = "The file itself", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportSummary, description = "dry run: the file is clean, nothing written"),
              (status = 201, body = ImportSummary, description = "every shift written"),
              (status = 422, body = ImportRefusal, description = "bad rows; nothing written")))]
pub async fn import_roster(
    State(state): State<AppState>,
    authed: Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<ImportQuery>,
    upload: Result<Upload, AppError>,
) -> AppResult<Response> {
    authed.may_here(Action::ManageCheckpoints)?;
    let upload = upload?;
    let dry_run = q.dry_run.unwrap_or(false);
    match import_roster_rows(&state, &authed, &upload, dry_run).await {
        Ok((rows, shifts)) => Ok(summary(dry_run, rows, Some(shifts))),
        Err((Refusal::Rows(problems), stopped)) => Ok(refused(&state, lang, problems, stopped)),
        Err((Refusal::Other(e), Some((_, written)))) if written > 0 => {
            tracing::warn!(written, "roster import stopped part-way");
            Err(e)
        }
        Err((Refusal::Other(e), _)) => Err(e),
    }
}

// ----------------------------------------------------------------- export

fn xlsx_failed(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(anyhow::anyhow!("writing the workbook: {e}"))
}

/// A workbook of one sheet with a bold header row.
pub(crate) struct SheetOut {
    book: Workbook,
}

impl SheetOut {
    pub(crate) fn new(name: &str, columns: &[Column], widths: &[f64]) -> AppResult<Self> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(name).map_err(xlsx_failed)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (i, c) in columns.iter().enumerate() {
            sheet.write_string_with_format(0, i as u16, c.zh, &bold).map_err(xlsx_failed)?;
            sheet.set_column_width(i as u16, widths.get(i).copied().unwrap_or(12.0)).map_err(xlsx_failed)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_failed)?;
        Ok(Self { book })
    }

    fn sheet(&mut self) -> AppResult<&mut Worksheet> {
        self.book.worksheet_from_index(0).map_err(xlsx_failed)
    }

    pub(crate) fn text(&mut self, row: u32, col: usize, s: &str) -> AppResult<()> {
        if !s.is_empty() {
            self.sheet()?.write_string(row, col as u16, s).map_err(xlsx_failed)?;
        }
        Ok(())
    }

    pub(crate) fn number(&mut self, row: u32, col: usize, n: f64) -> AppResult<()> {
        self.sheet()?.write_number(row, col as u16, n).map_err(xlsx_failed)?;
        Ok(())
    }

    pub(crate) fn finish(mut self, filename: &str) -> AppResult<Response> {
        let bytes = self.book.save_to_buffer().map_err(xlsx_failed)?;
        Ok((
            [
                (header::CONTENT_TYPE, XLSX.to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            ],
            bytes,
        )
            .into_response())
    }
}

pub(crate) async fn record_export(state: &AppState, authed: &Authed, what: &str, count: usize) -> AppResult<()> {
    let command =
        Command::RecordExport { what: what.into(), count: count as i64, scope: authed.principal.scope.clone() };
    state.writer.submit(authed.actor(), command).await?;
    Ok(())
}

/// The caller's posts as XLSX, in the import's shape (Chinese headers). Needs
/// the export right; the export is recorded as an event.
#[utoipa::path(get, path = "/api/v1/checkpoints/export.xlsx", tag = "checkpoints",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn export_checkpoints(State(state): State<AppState>, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::ReadCheckpoints)?;
    authed.may_here(Action::Export)?;
    let posts = state.store.checkpoints_within(&authed.principal.scope).await?;
    let units: HashMap<i64, String> = state.store.org_units().await?.into_iter().map(|u| (u.id.0, u.code)).collect();
    let widths = [12.0, 24.0, 14.0, 10.0, 11.0, 11.0, 30.0, 9.0, 9.0, 20.0];
    let mut out = SheetOut::new("卡点", &CHECKPOINT_COLUMNS, &widths)?;
    for (i, c) in posts.iter().enumerate() {
        let r = i as u32 + 1;
        out.text(r, cp::CODE, &c.code)?;
        out.text(r, cp::NAME, &c.name)?;
        out.text(r, cp::TOWNSHIP, units.get(&c.org_unit_id.0).map_or("", String::as_str))?;
        out.text(r, cp::KIND, kind_label(c.kind))?;
        out.number(r, cp::LAT, c.location.lat)?;
        out.number(r, cp::LON, c.location.lon)?;
        out.text(r, cp::ADDRESS, &c.address)?;
        out.number(r, cp::STAFF, c.required_staff as f64)?;
        out.number(r, cp::GEOFENCE, c.geofence_m as f64)?;
        out.text(r, cp::PATTERN, &c.shift_pattern)?;
    }
    record_export(&state, &authed, "checkpoints", posts.len()).await?;
    out.finish("checkpoints.xlsx")
}

/// Which days of the roster.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RosterRange {
    /// First day, `YYYY-MM-DD` (display zone).
    pub from: String,
    /// Last day, included; at most 366 days after `from`.
    pub to: String,
}

/// The shifts starting within the days `from`–`to` at the caller's posts,
/// one row per person, in the roster import's shape (Chinese headers). Needs
/// the export right; the export is recorded as an event.
#[utoipa::path(get, path = "/api/v1/rosters/export.xlsx", tag = "checkpoints", params(RosterRange),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn export_roster(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<RosterRange>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadCheckpoints)?;
    authed.may_here(Action::Export)?;
    let from = parse_date(&q.from).ok_or_else(|| FieldError::new("from", "invalid_date"))?;
    let to = parse_date(&q.to).ok_or_else(|| FieldError::new("to", "invalid_date"))?;
    if to < from {
        return Err(FieldError::new("to", "ends_before_start").into());
    }
    if to - from + 1 > MAX_EXPORT_DAYS {
        return Err(FieldError::new("to", "range_too_long").arg("max", MAX_EXPORT_DAYS).into());
    }
    let offset = state.config.display_utc_offset_hours;
    let (start, end) = (day_start(from, offset), day_start(to + 1, offset));
    let mut rows = Vec::new();
    for post in state.store.checkpoints_within(&authed.principal.scope).await? {
        for s in state.store.shifts(post.id, start, end).await? {
            if (start..end).contains(&s.span.starts_us) {
                rows.push((post.code.clone(), s));
            }
        }
    }
    rows.sort_by(|a, b| (a.1.span.starts_us, &a.0).cmp(&(b.1.span.starts_us, &b.0)));
    let mut names: HashMap<UserId, String> = HashMap::new();
    let widths = [12.0, 12.0, 8.0, 8.0, 14.0, 6.0];
    let mut out = SheetOut::new("排班", &ROSTER_COLUMNS, &widths)?;
    let mut r = 0u32;
    for (code, s) in &rows {
        let (day, start_min) = local(s.span.starts_us, offset);
        let (_, end_min) = local(s.span.ends_us, offset);
        // The leader first, then the others as planned.
        let mut staff = s.staff.clone();
        staff.sort_by_key(|u| Some(*u) != s.leader_id);
        for u in staff {
            if let std::collections::hash_map::Entry::Vacant(e) = names.entry(u) {
                e.insert(state.store.user(u).await?.username.as_str().to_owned());
            }
            r += 1;
            out.text(r, ro::POST, code)?;
            out.text(r, ro::DATE, &date_text(day))?;
            out.text(r, ro::START, &clock_text(start_min))?;
            out.text(r, ro::END, &clock_text(end_min))?;
            out.text(r, ro::USER, &names[&u])?;
            out.text(r, ro::LEADER, if Some(u) == s.leader_id { "是" } else { "" })?;
        }
    }
    record_export(&state, &authed, "rosters", r as usize).await?;
    out.finish("roster.xlsx")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_clocks_parse_and_print() {
        let d = parse_date("2025-01-20").unwrap();
        assert_eq!(date_text(d), "2025-01-20");
        assert_eq!(parse_date("2025/1/20"), Some(d));
        assert_eq!(parse_date("2025年1月20日"), Some(d));
        assert_eq!(parse_date("2025-02-30"), None);
        assert_eq!(parse_date("20250120"), None);
        assert_eq!(parse_clock("08:00"), Some(480));
        assert_eq!(parse_clock("8:05:00"), Some(485));
        assert_eq!(parse_clock("24:00"), None);
        assert_eq!(local(day_start(d, 8) + 8 * HOUR_US, 8), (d, 480));
    }

    #[test]
    fn kinds_read_by_label_or_key() {
        for (k, label) in KIND_LABELS {
            assert_eq!(kind_from_label(label), Some(k));
            assert_eq!(kind_from_label(&k.as_str().to_uppercase()), Some(k));
            assert_eq!(kind_label(k), label);
        }
        assert_eq!(kind_from_label("bridge"), None);
        assert_eq!(CheckpointKind::ALL.len(), KIND_LABELS.len());
    }

    #[test]
    fn the_openapi_document_describes_the_imports_and_exports() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(crate::api::ApiDoc::openapi()).unwrap();
        let paths = &doc["paths"];
        for (path, method) in [
            ("/api/v1/checkpoints/import", "post"),
            ("/api/v1/rosters/import", "post"),
            ("/api/v1/checkpoints/export.xlsx", "get"),
            ("/api/v1/rosters/export.xlsx", "get"),
        ] {
            assert!(paths[path][method].is_object(), "{method} {path}");
        }
        let body = &paths["/api/v1/checkpoints/import"]["post"]["requestBody"]["content"];
        assert!(body["text/csv"].is_object() && body[XLSX].is_object(), "{body}");
    }

    #[test]
    fn headers_compare_loosely() {
        assert_eq!(header_key(" 签到半径（米） "), header_key("签到半径"));
        assert_eq!(header_key("Required Staff"), "required_staff");
    }

    #[test]
    fn csv_rows_are_numbered_as_a_spreadsheet_shows_them() {
        let csv = "a,b\n\"x\ny\",1\n\n2,3\n";
        let rows = read_csv(csv.as_bytes()).unwrap();
        let numbers: Vec<u32> = rows.iter().map(|r| r.0).collect();
        assert_eq!(numbers, [1, 2, 4]);
        let gbk = encoding_rs::GBK.encode("代码,名称\nA1,朱阳关\n").0;
        let rows = read_csv(&gbk).unwrap();
        assert_eq!(rows[1].1[1], Cell::Text("朱阳关".into()));
    }
}
