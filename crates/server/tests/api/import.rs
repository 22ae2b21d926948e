//! Import of checkpoints and rosters from XLSX and CSV, and their export:
//! every bad row is named, nothing is written until the file is clean.

use std::collections::BTreeSet;
use std::io::Cursor;

use calamine::{Data, Reader};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shouwang_domain::ScopePath;

use crate::app;
use crate::helpers::{PASSWORD, Session, TestApp};

pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const HOUR_US: i64 = 3_600_000_000;

/// A cell of a sheet a test builds.
#[derive(Clone, Debug)]
pub(crate) enum C {
    T(String),
    N(f64),
}

pub(crate) fn t(s: impl Into<String>) -> C {
    C::T(s.into())
}

/// A workbook of one sheet holding `rows`.
pub(crate) fn xlsx(rows: &[Vec<C>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell {
                C::T(s) => sheet.write_string(r as u32, c as u16, s).unwrap(),
                C::N(n) => sheet.write_number(r as u32, c as u16, *n).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

/// The first sheet of a workbook, as text.
pub(crate) fn read_back(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut book = calamine::Xlsx::new(Cursor::new(bytes)).expect("an XLSX workbook");
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|d| match d {
                    Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

pub(crate) async fn upload(s: &Session, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let res = s.request(Method::POST, path).header("content-type", content_type).body(body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn download(s: &Session, path: &str) -> (StatusCode, String, Vec<u8>) {
    let res = s.request(Method::GET, path).send().await.unwrap();
    let status = res.status();
    let ct = res.headers().get("content-type").map_or(String::new(), |v| v.to_str().unwrap().to_owned());
    (status, ct, res.bytes().await.unwrap().to_vec())
}

/// `(row, field, code)` of each bad cell a refusal names.
pub(crate) fn named(body: &Value) -> Vec<(i64, String, String)> {
    body["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("a refusal with rows: {body}"))
        .iter()
        .map(|r| {
            assert!(!r["message"].as_str().unwrap().is_empty(), "{r}");
            (
                r["row"].as_i64().unwrap(),
                r["field"].as_str().unwrap().to_owned(),
                r["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn checkpoints_stored(app: &TestApp) -> usize {
    app.store.checkpoints_within(&ScopePath::root()).await.unwrap().len()
}

pub(crate) async fn events_of(app: &TestApp, kind: &str) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM events WHERE kind = $1")
        .bind(kind)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
        .get("n")
}

const HEADER: [&str; 10] =
    ["代码", "名称", "所属乡镇代码", "类型", "纬度", "经度", "地址", "每班人数", "签到半径", "班次"];

/// Data row `i` of the 200-post sheet.
fn post_row(i: usize) -> Vec<C> {
    let kinds = ["县界", "省界", "高速出口", "国省干道", "村口", "车站", "其他", "county_border"];
    vec![
        t(format!("IMP-{i:03}")),
        t(format!("检测点{i}")),
        // A code typed as a number, as spreadsheets keep it.
        if i.is_multiple_of(2) { C::N(411_224_104.0) } else { t("411224107") },
        t(kinds[i % kinds.len()]),
        C::N(33.5 + i as f64 * 0.001),
        C::N(110.9 + i as f64 * 0.001),
        t(if i.is_multiple_of(3) { "" } else { "209国道" }),
        C::N(3.0),
        if i.is_multiple_of(4) { t("") } else { C::N(500.0) },
        t(if i.is_multiple_of(5) { "2x12" } else { "" }),
    ]
}

#[tokio::test]
async fn two_hundred_posts_with_three_bad_rows_are_refused_naming_them_then_imported_when_fixed() {
    let app = app!();
    let commander = app.login("commander").await;
    let header: Vec<C> = HEADER.iter().map(|h| t(*h)).collect();
    let good: Vec<Vec<C>> = (0..200).map(post_row).collect();
    let mut bad = good.clone();
    // Data row i sits on spreadsheet row i + 2 (the header is row 1).
    bad[10][4] = C::N(95.0);
    bad[57][3] = t("bridge");
    bad[150][7] = t("two");
    let sheet = |rows: &[Vec<C>]| xlsx(&[vec![header.clone()], rows.to_vec()].concat());

    for dry_run in ["?dry_run=true", "?dry_run=false", ""] {
        let (status, body) =
            upload(&commander, &format!("/api/v1/checkpoints/import{dry_run}"), XLSX, sheet(&bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "import_rows", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains('3'), "{body}");
        assert_eq!(
            named(&body),
            [
                (12, "纬度".into(), "out_of_range".into()),
                (59, "类型".into(), "invalid_choice".into()),
                (152, "每班人数".into(), "whole_number".into()),
            ]
        );
        assert!(body["rows"][0]["message"].as_str().unwrap().starts_with("纬度"), "{body}");
    }
    assert_eq!(checkpoints_stored(&app).await, 0, "nothing written");

    let (status, body) = upload(&commander, "/api/v1/checkpoints/import?dry_run=true", XLSX, sheet(&good)).await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({ "ok": true, "rows": 200, "written": 0 })));
    assert_eq!(checkpoints_stored(&app).await, 0, "a dry run writes nothing");

    let (status, body) = upload(&commander, "/api/v1/checkpoints/import?dry_run=false", XLSX, sheet(&good)).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 200, "written": 200 })));
    assert_eq!(checkpoints_stored(&app).await, 200);
    assert_eq!(events_of(&app, "checkpoint.created").await, 200);
    let posts = app.store.checkpoints_within(&ScopePath::root()).await.unwrap();
    let p0 = posts.iter().find(|p| p.code == "IMP-000").unwrap();
    assert_eq!((p0.org_unit_id, p0.kind.as_str(), p0.geofence_m), (app.units["411224104"].id, "county_border", 300));
    assert_eq!(p0.shift_pattern, "08:00+12,20:00+12");
    let p7 = posts.iter().find(|p| p.code == "IMP-007").unwrap();
    assert_eq!((p7.org_unit_id, p7.kind.as_str(), p7.geofence_m), (app.units["411224107"].id, "county_border", 500));

    // The same file again: every code is taken now.
    let (status, body) = upload(&commander, "/api/v1/checkpoints/import", XLSX, sheet(&good[..2])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(named(&body), [(2, "代码".into(), "taken".into()), (3, "代码".into(), "taken".into())]);
}

const CSV_HEADER: &str = "code,name,township_code,kind,lat,lon,required_staff\n";

#[tokio::test]
async fn a_csv_with_a_code_twice_names_the_second_row_and_english_headers_read_alike() {
    let app = app!();
    let admin = app.login("admin").await;
    let csv = format!(
        "{CSV_HEADER}A-01,甲,411224104,village_entry,33.7,110.9,2\nA-02,乙,411224104,村口,33.7,110.9,2\n\
         a-01,丙,411224107,station,33.7,110.9,2\n"
    );
    let (status, body) = upload(&admin, "/api/v1/checkpoints/import", "text/csv", csv.clone().into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(named(&body), [(4, "code".into(), "duplicate_in_file".into())]);
    assert!(body["rows"][0]["message"].as_str().unwrap().contains('2'), "names the first row: {body}");
    let res = admin
        .request(Method::POST, "/api/v1/checkpoints/import")
        .header("content-type", "text/csv")
        .header("accept-language", "en")
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["message"], "1 rows have errors; nothing was imported");
    assert_eq!(body["rows"][0]["message"], "Code: same as row 2");

    // A missing column, an unknown one, a header in English.
    let csv = "code,name,kind,lat,lon,required_staff,remark\nA-01,甲,station,33.7,110.9,2,x\n";
    let (status, body) = upload(&admin, "/api/v1/checkpoints/import", "text/csv", csv.into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        named(&body),
        [(1, "remark".into(), "unknown_column".into()), (1, "township_code".into(), "column_missing".into())]
    );

    // Numbers that are not, and several faults in one row, each named.
    let csv = format!("{CSV_HEADER}A-01,,411224104,station,north,110.9,2.5\n");
    let (status, body) = upload(&admin, "/api/v1/checkpoints/import", "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        named(&body),
        [
            (2, "name".into(), "required".into()),
            (2, "lat".into(), "not_a_number".into()),
            (2, "required_staff".into(), "whole_number".into())
        ]
    );
    assert_eq!(checkpoints_stored(&app).await, 0);

    // Not a spreadsheet at all; an empty one.
    let (status, body) = upload(&admin, "/api/v1/checkpoints/import", XLSX, b"PK\x03\x04 not really".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unreadable_file")));
    let (status, body) = upload(&admin, "/api/v1/checkpoints/import", "text/csv", CSV_HEADER.into()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("no_rows")));
    let (status, _) = upload(&admin, "/api/v1/checkpoints/import", "application/pdf", b"%PDF".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // GBK, as Excel saves CSV in China, with a code already in use.
    let csv = format!("{CSV_HEADER}A-01,朱阳关,411224104,县界,33.7,110.9,2\n");
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let (status, body) = upload(&admin, "/api/v1/checkpoints/import", "text/csv", gbk.to_vec()).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 1, "written": 1 })));
    let stored = app.store.checkpoint_by_code("A-01").await.unwrap();
    assert_eq!((stored.name.as_str(), stored.kind.as_str()), ("朱阳关", "county_border"));
    let (status, body) = upload(&admin, "/api/v1/checkpoints/import", "text/csv", gbk.to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(named(&body), [(2, "code".into(), "taken".into())]);
}

#[tokio::test]
async fn a_township_outside_the_callers_scope_is_named_and_only_commanders_import() {
    let app = app!();
    let admin = app.login("admin").await;
    let body = json!({ "username": "dmcmd", "display_name": "东明指挥", "password": PASSWORD, "role": "commander",
                       "org_unit_id": app.units["411224107"].id.0 });
    assert_eq!(admin.post("/api/v1/users", body).await.0, StatusCode::CREATED);
    let dongming = app.login("dmcmd").await;
    let csv = format!(
        "{CSV_HEADER}DM-01,东明,411224107,station,34.1,111.0,2\nZYG-01,朱阳关,411224104,station,33.7,110.9,2\n\
         XX-01,无,999999,station,33.7,110.9,2\n"
    );
    let (status, body) = upload(&dongming, "/api/v1/checkpoints/import", "text/csv", csv.clone().into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        named(&body),
        [(3, "township_code".into(), "out_of_scope".into()), (4, "township_code".into(), "not_found".into())]
    );
    assert_eq!(checkpoints_stored(&app).await, 0);

    for user in ["duty", "cadre", "viewer", "enterprise"] {
        let s = app.login(user).await;
        let (status, _) = upload(&s, "/api/v1/checkpoints/import?dry_run=true", "text/csv", csv.clone().into()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user} imports posts");
        let (status, _) = upload(&s, "/api/v1/rosters/import?dry_run=true", "text/csv", csv.clone().into()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user} imports rosters");
    }
    for user in ["duty", "viewer"] {
        let (status, _, _) = download(&app.login(user).await, "/api/v1/checkpoints/export.xlsx").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user} exports");
    }
    assert_eq!(checkpoints_stored(&app).await, 0);
}

#[tokio::test]
async fn the_checkpoint_export_reads_back_and_imports_again_with_new_codes() {
    let app = app!();
    let commander = app.login("commander").await;
    let csv = format!(
        "{CSV_HEADER}EX-01,甲,411224104,county_border,33.716,110.983,3\nEX-02,乙,411224107,高速出口,34.05,111.02,2\n\
         EX-03,丙,411224104,other,33.7,110.9,1\n"
    );
    assert_eq!(upload(&commander, "/api/v1/checkpoints/import", "text/csv", csv.into()).await.0, StatusCode::CREATED);
    let exports = events_of(&app, "data.exported").await;
    let (status, ct, bytes) = download(&commander, "/api/v1/checkpoints/export.xlsx").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, XLSX));
    assert_eq!(events_of(&app, "data.exported").await, exports + 1, "the export is recorded");
    let rows = read_back(&bytes);
    assert_eq!(rows[0], HEADER);
    let codes: BTreeSet<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(codes, BTreeSet::from(["EX-01", "EX-02", "EX-03"]));
    let ex2 = rows.iter().find(|r| r[0] == "EX-02").unwrap();
    assert_eq!((ex2[2].as_str(), ex2[3].as_str(), ex2[4].as_str()), ("411224107", "高速出口", "34.05"));

    // Change the codes and send it back.
    let renamed: Vec<Vec<C>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.iter().enumerate().map(|(j, v)| if i > 0 && j == 0 { t(format!("N{v}")) } else { t(v.clone()) }).collect()
        })
        .collect();
    let (status, body) = upload(&commander, "/api/v1/checkpoints/import", XLSX, xlsx(&renamed)).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 3, "written": 3 })));
    let copy = app.store.checkpoint_by_code("NEX-02").await.unwrap();
    let original = app.store.checkpoint_by_code("EX-02").await.unwrap();
    assert_eq!(
        (copy.name, copy.kind, copy.location, copy.org_unit_id, copy.required_staff, copy.shift_pattern),
        (
            original.name,
            original.kind,
            original.location,
            original.org_unit_id,
            original.required_staff,
            original.shift_pattern
        )
    );
}

/// 2030-01-10 00:00 in the display zone (UTC+8), µs.
const JAN_10: i64 = 1_894_233_600_000_000 - 8 * HOUR_US;

#[tokio::test]
async fn a_clean_roster_imports_and_double_bookings_are_named() {
    let app = app!();
    let commander = app.login("commander").await;
    let csv =
        format!("{CSV_HEADER}ZYG-01,甲,411224104,county_border,33.7,110.9,2\nZYG-02,乙,411224104,other,33.7,110.9,2\n");
    assert_eq!(upload(&commander, "/api/v1/checkpoints/import", "text/csv", csv.into()).await.0, StatusCode::CREATED);
    let zyg1 = app.store.checkpoint_by_code("ZYG-01").await.unwrap();

    let roster = "卡点代码,日期,开始,结束,人员,带班\n\
                  ZYG-01,2030-01-10,08:00,20:00,duty,是\n\
                  zyg-01,2030/1/10,8:00,20:00,cadre,\n\
                  ZYG-01,2030-01-10,20:00,08:00,commander,是\n";
    let (status, body) = upload(&commander, "/api/v1/rosters/import?dry_run=true", "text/csv", roster.into()).await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({ "ok": true, "rows": 3, "shifts": 2, "written": 0 })));
    assert!(app.store.shifts(zyg1.id, JAN_10, JAN_10 + 48 * HOUR_US).await.unwrap().is_empty());
    let (status, body) = upload(&commander, "/api/v1/rosters/import", "text/csv", roster.into()).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 3, "shifts": 2, "written": 3 })));
    let shifts = app.store.shifts(zyg1.id, JAN_10, JAN_10 + 48 * HOUR_US).await.unwrap();
    assert_eq!(shifts.len(), 2);
    let (duty, cadre, cmd) = (app.users["duty"].id, app.users["cadre"].id, app.users["commander"].id);
    assert_eq!(
        (shifts[0].span.starts_us, shifts[0].span.ends_us, shifts[0].leader_id),
        (JAN_10 + 8 * HOUR_US, JAN_10 + 20 * HOUR_US, Some(duty))
    );
    assert_eq!(BTreeSet::from_iter(shifts[0].staff.iter().copied()), BTreeSet::from([duty, cadre]));
    assert_eq!((shifts[1].span.ends_us, shifts[1].staff.as_slice()), (JAN_10 + 32 * HOUR_US, &[cmd][..]));
    assert_eq!(events_of(&app, "shift.planned").await, 2);

    // In an XLSX: a double booking inside the file, a shift at a post that
    // has one then, a person already on a shift, one over 12 hours, a
    // stranger, a post nobody has.
    let header: Vec<C> = ["卡点代码", "日期", "开始", "结束", "人员", "带班"].iter().map(|h| t(*h)).collect();
    let row = |post: &str, date: &str, start: &str, end: &str, who: &str, leader: &str| {
        vec![t(post), t(date), t(start), t(end), t(who), t(leader)]
    };
    let sheet = xlsx(&[
        header,
        row("ZYG-02", "2030-01-11", "08:00", "16:00", "duty", "是"),
        row("ZYG-01", "2030-01-11", "12:00", "20:00", "duty", ""),
        row("ZYG-01", "2030-01-10", "10:00", "12:00", "viewer", ""),
        row("ZYG-02", "2030-01-10", "10:00", "12:00", "cadre", ""),
        row("ZYG-02", "2030-01-12", "08:00", "21:00", "duty", ""),
        row("ZYG-02", "2030-01-13", "08:00", "16:00", "nobody", ""),
        row("NO-SUCH", "2030-01-13", "08:00", "16:00", "duty", "maybe"),
    ]);
    let (status, body) = upload(&commander, "/api/v1/rosters/import?dry_run=true", XLSX, sheet.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        named(&body),
        [
            (3, "人员".into(), "overlaps_row".into()),
            (4, "开始".into(), "shift_exists".into()),
            (5, "人员".into(), "shift_overlaps".into()),
            (6, "结束".into(), "shift_too_long".into()),
            (7, "人员".into(), "not_found".into()),
            (8, "卡点代码".into(), "not_found".into()),
            (8, "带班".into(), "invalid_choice".into()),
        ]
    );
    assert!(body["rows"][0]["message"].as_str().unwrap().contains('2'), "names the other row: {body}");
    let (status, _) = upload(&commander, "/api/v1/rosters/import", XLSX, sheet).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(events_of(&app, "shift.planned").await, 2, "nothing written");

    // The roster export reads back in the import's shape.
    let (status, ct, bytes) = download(&commander, "/api/v1/rosters/export.xlsx?from=2030-01-10&to=2030-01-10").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, XLSX));
    assert_eq!(
        read_back(&bytes),
        [
            ["卡点代码", "日期", "开始", "结束", "人员", "带班"],
            ["ZYG-01", "2030-01-10", "08:00", "20:00", "duty", "是"],
            ["ZYG-01", "2030-01-10", "08:00", "20:00", "cadre", ""],
            ["ZYG-01", "2030-01-10", "20:00", "08:00", "commander", "是"],
        ]
    );
    let (status, body) = commander.get("/api/v1/rosters/export.xlsx?from=2030-01-10&to=2029-01-10").await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("to")));
}
