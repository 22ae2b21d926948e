//! Import of registered households, labour-pool workers and labour demand
//! from XLSX and CSV, and their export: the rules of the other imports —
//! every bad row is named with its column, nothing is written until the file
//! is clean, a dry run writes nothing, a clean file is written in one go —
//! and exports that read back in the import's shape, exactly for those who
//! may see personal data.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app;
use crate::helpers::{Session, TestApp, credit_code};
use crate::import::{C, XLSX, download, named, read_back, t, upload, xlsx};

const HOUSEHOLDS: &str = "/api/v1/households/import";
const HOUSEHOLDS_OUT: &str = "/api/v1/households/export.xlsx";
const WORKERS: &str = "/api/v1/workers/import";
const WORKERS_OUT: &str = "/api/v1/workers/export.xlsx";
const DEMAND: &str = "/api/v1/labour-demand/import";
const DEMAND_OUT: &str = "/api/v1/labour-demand/export.xlsx";

const HOUSEHOLD_HEADER: [&str; 13] = [
    "户编号",
    "乡镇",
    "村",
    "户主姓名",
    "户主年龄",
    "户主劳动能力",
    "户主健康",
    "其他成员",
    "联系电话",
    "状态",
    "收入来源",
    "帮扶责任人",
    "备注",
];

const WORKER_HEADER: [&str; 12] = [
    "姓名",
    "联系电话",
    "乡镇",
    "村",
    "户编号",
    "年龄",
    "技能",
    "健康状况",
    "最近体检",
    "可出发日期",
    "意向地区",
    "备注",
];

const DEMAND_HEADER: [&str; 11] = [
    "企业信用代码",
    "用工单位",
    "工作地点",
    "地区",
    "岗位数",
    "技能要求",
    "月薪",
    "开始日期",
    "结束日期",
    "提供住宿",
    "备注",
];

fn cell(row: i64, field: &str, code: &str) -> (i64, String, String) {
    (row, field.to_owned(), code.to_owned())
}

fn header(names: &[&str]) -> Vec<C> {
    names.iter().map(|h| t(*h)).collect()
}

/// `YYYY-MM-DD` of today (Asia/Shanghai) plus `days`.
fn date(days: i64) -> String {
    let today = (shouwang_store::now_us() + 8 * 3_600_000_000).div_euclid(86_400_000_000);
    let (y, m, d) = shouwang_domain::calendar::civil_from_days(today + days);
    format!("{y:04}-{m:02}-{d:02}")
}

async fn list(s: &Session, path: &str) -> Vec<Value> {
    let (status, list) = s.get(path).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

/// Data row `i` of a household sheet, varied as real files are.
fn household_row(i: usize) -> Vec<C> {
    let others = [
        "",
        "李秀英:配偶:55:有劳动力:健康; 张小华:子女:12:无劳动力:健康",
        "王桂兰：母亲：81：无劳动力：慢性病",
        "赵强:child:19:full:healthy",
    ];
    vec![
        t(format!("41122410420{i:04}")),
        t(if i.is_multiple_of(2) { "朱阳关镇" } else { "411224104" }),
        t("岭东村"),
        t(format!("张德{i}")),
        C::N(40.0 + i as f64),
        t(["有劳动力", "partial", "弱劳动力", "无劳动力"][i % 4]),
        t(["健康", "慢性病", "disabled", "大病"][i % 4]),
        t(others[i % others.len()]),
        t(if i.is_multiple_of(3) { String::new() } else { format!("1390000{i:04}") }),
        t(["未脱贫", "今年脱贫", "已脱贫（监测）", "in_poverty"][i % 4]),
        t(["种植、养殖", "务工", "政策补贴,其他", "wages; farming"][i % 4]),
        t(if i.is_multiple_of(2) { "cadre" } else { "" }),
        t(if i.is_multiple_of(5) { "五保户" } else { "" }),
    ]
}

fn by_no<'a>(list: &'a [Value], no: &str) -> &'a Value {
    list.iter().find(|h| h["registry_no"] == no).unwrap_or_else(|| panic!("{no} is stored"))
}

#[tokio::test]
async fn a_household_sheet_with_bad_rows_names_each_and_writes_nothing_until_clean() {
    let app = app!();
    let commander = app.login("commander").await;
    let sheet = |rows: &[Vec<C>]| xlsx(&[vec![header(&HOUSEHOLD_HEADER)], rows.to_vec()].concat());
    let good: Vec<Vec<C>> = (0..40).map(household_row).collect();
    let mut bad = good.clone();
    // Data row i sits on spreadsheet row i + 2 (the header is row 1).
    bad[2][0] = t("4112-2410");
    bad[5][0] = t("411224104200000");
    bad[7][2] = t("不存在村");
    bad[9][4] = C::N(121.0);
    bad[11][5] = t("能干");
    bad[13][7] = t("李秀英:户主:55:有劳动力:健康");
    bad[15][7] = t("李秀英:配偶:55");
    bad[17][8] = t("12345");
    bad[19][9] = t("返贫");
    bad[19][10] = t("");
    bad[21][11] = t("nobody");
    bad[23][1] = t("东明镇");

    for query in ["?dry_run=true", ""] {
        let (status, body) = upload(&commander, &format!("{HOUSEHOLDS}{query}"), XLSX, sheet(&bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "import_rows", "{body}");
        assert_eq!(
            named(&body),
            [
                cell(4, "户编号", "registry_chars"),
                cell(7, "户编号", "duplicate_in_file"),
                cell(9, "村", "not_found"),
                cell(11, "户主年龄", "out_of_range"),
                cell(13, "户主劳动能力", "invalid_choice"),
                cell(15, "其他成员", "one_head"),
                cell(17, "其他成员", "invalid_format"),
                cell(19, "联系电话", "invalid_phone"),
                cell(21, "状态", "invalid_choice"),
                cell(21, "收入来源", "required"),
                cell(23, "帮扶责任人", "not_found"),
                cell(25, "村", "not_found"),
            ]
        );
        assert_eq!(body["written"], 0);
    }
    assert!(list(&commander, "/api/v1/households").await.is_empty(), "nothing written");

    let (status, body) = upload(&commander, &format!("{HOUSEHOLDS}?dry_run=true"), XLSX, sheet(&good)).await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({ "ok": true, "rows": 40, "written": 0 })));
    assert!(list(&commander, "/api/v1/households").await.is_empty(), "a dry run writes nothing");

    let (status, body) = upload(&commander, HOUSEHOLDS, XLSX, sheet(&good)).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 40, "written": 40 })));
    let stored = list(&commander, "/api/v1/households").await;
    assert_eq!(stored.len(), 40);
    // The cells were read as the API reads its fields.
    let h1 = by_no(&stored, "411224104200001");
    assert_eq!(
        (&h1["village_id"], &h1["head_name"], &h1["status"], &h1["income_sources"], &h1["phone"]),
        (
            &json!(app.units["411224104202"].id.0),
            &json!("张德1"),
            &json!("lifted_this_year"),
            &json!(["wages"]),
            &json!("13900000001")
        )
    );
    let members: Vec<(&str, &str, i64, &str, &str)> = h1["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |f: &str| m[f].as_str().unwrap();
            (s("name"), s("relation"), m["age"].as_i64().unwrap(), s("ability"), s("health"))
        })
        .collect();
    assert_eq!(
        members,
        [
            ("张德1", "head", 41, "partial", "chronic"),
            ("李秀英", "spouse", 55, "full", "healthy"),
            ("张小华", "child", 12, "none", "healthy"),
        ]
    );
    let h2 = by_no(&stored, "411224104200002");
    assert_eq!(
        (&h2["helper_id"], &h2["status"], &h2["income_sources"], &h2["note"]),
        (&json!(app.users["cadre"].id.0), &json!("lifted_monitored"), &json!(["subsidy", "other"]), &json!(""))
    );

    // The same file again: every number is taken.
    let (status, body) = upload(&commander, HOUSEHOLDS, XLSX, sheet(&good[..2])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(named(&body), [cell(2, "户编号", "taken"), cell(3, "户编号", "taken")]);
}

#[tokio::test]
async fn a_gbk_csv_with_english_headers_imports_and_a_village_out_of_scope_is_named() {
    let app = app!();
    let admin = app.login("admin").await;
    let dongming = app.units["411224107"].id.0;
    let (status, unit) = admin
        .post(
            "/api/v1/org-units",
            json!({ "parent_id": dongming, "kind": "village", "code": "411224107201", "name": "东明村" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{unit}");
    let csv = "registry_no,township,village,head_name,head_age,head_ability,head_health,status,income_sources\n\
               411224104201001,朱阳关镇,岭东村,刘大山,61,无劳动力,大病,未脱贫,政策补贴\n\
               411224107201001,东明镇,东明村,孙二妹,45,有劳动力,健康,未脱贫,务工\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(csv);
    assert!(!unmappable);
    // The township cadre of 朱阳关镇 may not register in 东明镇.
    let cadre = app.login("cadre").await;
    let (status, body) = upload(&cadre, HOUSEHOLDS, "text/csv", gbk.to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(named(&body), [cell(3, "village", "out_of_scope")]);
    assert!(list(&admin, "/api/v1/households").await.is_empty(), "a bad row in a commit writes nothing");
    // The county may.
    let (status, body) = upload(&admin, HOUSEHOLDS, "text/csv", gbk.to_vec()).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 2, "written": 2 })));
    assert_eq!(list(&admin, "/api/v1/households").await.len(), 2);

    // A missing column, an unknown one; a viewer may not import at all.
    let csv = "registry_no,township,village,head_name,head_age,head_ability,head_health,status,remark\nx\n";
    let (status, body) = upload(&admin, HOUSEHOLDS, "text/csv", csv.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(named(&body), [cell(1, "remark", "unknown_column"), cell(1, "income_sources", "column_missing")]);
    let viewer = app.login("viewer").await;
    let (status, _) = upload(&viewer, &format!("{HOUSEHOLDS}?dry_run=true"), "text/csv", gbk.to_vec()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_household_export_imports_again_exactly_for_a_commander_and_masked_for_others() {
    let app = app!();
    let commander = app.login("commander").await;
    let rows: Vec<Vec<C>> = (0..4).map(household_row).collect();
    let sheet = xlsx(&[vec![header(&HOUSEHOLD_HEADER)], rows].concat());
    assert_eq!(upload(&commander, HOUSEHOLDS, XLSX, sheet).await.0, StatusCode::CREATED);

    let (status, ct, bytes) = download(&commander, HOUSEHOLDS_OUT).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, XLSX));
    let sheet = read_back(&bytes);
    assert_eq!(sheet[0], HOUSEHOLD_HEADER, "exactly the import's columns");
    assert_eq!(sheet.len(), 5);
    let one = sheet.iter().find(|r| r[0] == "411224104200001").unwrap();
    assert_eq!(
        one,
        &[
            "411224104200001",
            "朱阳关镇",
            "岭东村",
            "张德1",
            "41",
            "弱劳动力",
            "慢性病",
            "李秀英:配偶:55:有劳动力:健康; 张小华:子女:12:无劳动力:健康",
            "13900000001",
            "今年脱贫",
            "务工",
            "",
            ""
        ]
    );

    // Sent back unchanged: every number is taken.
    let (status, body) = upload(&commander, &format!("{HOUSEHOLDS}?dry_run=true"), XLSX, bytes.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(named(&body).len(), 4);
    assert!(named(&body).iter().all(|(_, f, c)| f == "户编号" && c == "taken"), "{body}");
    // With new numbers it imports again, the same in every other way.
    let renamed: Vec<Vec<C>> = sheet
        .iter()
        .map(|r| {
            let no =
                if r[0] == HOUSEHOLD_HEADER[0] { r[0].clone() } else { r[0].replacen("4112241042", "4112241043", 1) };
            std::iter::once(t(no)).chain(r[1..].iter().map(|v| t(v.clone()))).collect()
        })
        .collect();
    let (status, body) = upload(&commander, HOUSEHOLDS, XLSX, xlsx(&renamed)).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 4, "written": 4 })));
    let stored = list(&commander, "/api/v1/households").await;
    assert_eq!(stored.len(), 8);
    for i in 0..4 {
        let original = by_no(&stored, &format!("41122410420000{i}"));
        let copy = by_no(&stored, &format!("41122410430000{i}"));
        for f in ["village_id", "head_name", "phone", "members", "status", "income_sources", "helper_id", "note"] {
            assert_eq!(copy[f], original[f], "{f} of row {i}");
        }
    }

    // The township cadre may export, masked; the duty officer may not.
    let (status, _, masked) = download(&app.login("cadre").await, HOUSEHOLDS_OUT).await;
    assert_eq!(status, StatusCode::OK);
    let masked = read_back(&masked);
    let one = masked.iter().find(|r| r[0] == "411224104200001").unwrap();
    assert_eq!((one[3].as_str(), one[8].as_str()), ("张**", "139****0001"));
    assert!(one[7].starts_with("李**:配偶:55"), "{one:?}");
    let (status, _, _) = download(&app.login("duty").await, HOUSEHOLDS_OUT).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no export right");
}

fn worker_row(i: usize, registry_no: &str) -> Vec<C> {
    vec![
        t(format!("王建{i}")),
        t(format!("1380013{i:04}")),
        t("朱阳关镇"),
        t("岭东村"),
        t(if i == 0 { registry_no } else { "" }),
        C::N(20.0 + i as f64),
        t(["建筑、焊工", "manufacturing", "普工,驾驶"][i % 3]),
        t(["健康", "医学观察", "healthy"][i % 3]),
        t(date(-3)),
        t(date(i as i64)),
        t(["省内", "县内、省外", "outside"][i % 3]),
        t(""),
    ]
}

/// A household of 岭东村, registered through the API.
async fn household(s: &Session, app: &TestApp, no: &str) {
    let body = json!({ "registry_no": no, "village_id": app.units["411224104202"].id.0,
                       "members": [{ "name": "王大", "relation": "head", "age": 50, "ability": "full", "health": "healthy" }],
                       "status": "in_poverty", "income_sources": ["wages"] });
    let (status, h) = s.post("/api/v1/households", body).await;
    assert_eq!(status, StatusCode::CREATED, "{h}");
}

#[tokio::test]
async fn workers_import_from_csv_and_xlsx_and_the_export_reads_back() {
    let app = app!();
    let commander = app.login("commander").await;
    household(&commander, &app, "411224104209001").await;
    let sheet = |rows: &[Vec<C>]| xlsx(&[vec![header(&WORKER_HEADER)], rows.to_vec()].concat());
    let good: Vec<Vec<C>> = (0..6).map(|i| worker_row(i, "411224104209001")).collect();
    let mut bad = good.clone();
    bad[1][5] = C::N(15.0);
    bad[2][6] = t("杂技");
    bad[3][8] = t(date(1));
    bad[4][4] = t("999999999");
    bad[5] = good[0].clone();
    bad[5][4] = t("");

    for query in ["?dry_run=true", ""] {
        let (status, body) = upload(&commander, &format!("{WORKERS}{query}"), XLSX, sheet(&bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            named(&body),
            [
                cell(3, "年龄", "out_of_range"),
                cell(4, "技能", "invalid_choice"),
                cell(5, "最近体检", "in_future"),
                cell(6, "户编号", "not_found"),
                cell(7, "姓名", "duplicate_in_file"),
            ]
        );
    }
    assert!(list(&commander, "/api/v1/workers").await.is_empty(), "nothing written");
    let (status, body) = upload(&commander, &format!("{WORKERS}?dry_run=true"), XLSX, sheet(&good)).await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({ "ok": true, "rows": 6, "written": 0 })));
    let (status, body) = upload(&commander, WORKERS, XLSX, sheet(&good)).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 6, "written": 6 })));
    let stored = list(&commander, "/api/v1/workers").await;
    assert_eq!(stored.len(), 6);
    let w0 = stored.iter().find(|w| w["name"] == "王建0").unwrap();
    assert_eq!(
        (&w0["skills"], &w0["health"], &w0["destinations"], &w0["age"], &w0["last_check"]),
        (&json!(["construction", "welding"]), &json!("healthy"), &json!(["province"]), &json!(20), &json!(date(-3)))
    );
    assert!(w0["household_id"].is_i64(), "{w0}");

    // A CSV in English, the optional columns left out.
    let csv = format!(
        "name,township,village,age,skills,health,last_check,available_from,destinations\n\
         李四,411224104,411224104202,30,电工,身体不适,{},{},省外\n",
        date(0),
        date(5)
    );
    let (status, body) = upload(&commander, WORKERS, "text/csv", csv.into_bytes()).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 1, "written": 1 })));

    // The export reads back in the import's shape; unchanged, everyone is
    // in the pool already.
    let (status, _, bytes) = download(&commander, WORKERS_OUT).await;
    assert_eq!(status, StatusCode::OK);
    let rows = read_back(&bytes);
    assert_eq!(rows[0], WORKER_HEADER);
    assert_eq!(rows.len(), 8);
    let w0 = rows.iter().find(|r| r[0] == "王建0").unwrap();
    assert_eq!(
        w0,
        &[
            "王建0",
            "13800130000",
            "朱阳关镇",
            "岭东村",
            "411224104209001",
            "20",
            "建筑、焊工",
            "健康",
            date(-3).as_str(),
            date(0).as_str(),
            "省内",
            ""
        ]
    );
    let (status, body) = upload(&commander, &format!("{WORKERS}?dry_run=true"), XLSX, bytes).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(named(&body).len(), 7);
    assert!(named(&body).iter().all(|(_, f, c)| f == "姓名" && c == "taken"), "{body}");

    let (status, _, _) = download(&app.login("duty").await, WORKERS_OUT).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no export right");
    let (status, _) = upload(&app.login("viewer").await, WORKERS, XLSX, sheet(&good)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no right to manage labour");
}

#[tokio::test]
async fn demand_imports_for_local_and_outside_employers_and_the_export_reads_back() {
    let app = app!();
    let commander = app.login("commander").await;
    let code = credit_code("MA0000007");
    let firm = json!({ "credit_code": code, "name": "卢氏县东明服装有限公司", "sector": "C", "size_class": "small",
                       "org_unit_id": app.units["411224107"].id.0, "employees": 120 });
    let (status, e) = commander.post("/api/v1/enterprises", firm).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let sheet = |rows: &[Vec<C>]| xlsx(&[vec![header(&DEMAND_HEADER)], rows.to_vec()].concat());
    let row = |credit: &str, employer: &str, location: &str| {
        vec![
            t(credit),
            t(employer),
            t(location),
            t("省内"),
            C::N(30.0),
            t("制造、缝纫"),
            C::N(4800.0),
            t(date(10)),
            t(date(200)),
            t("是"),
            t(""),
        ]
    };
    let good = vec![row(&code, "", "卢氏县东明镇"), row("", "郑州富士康", "郑州市航空港区")];
    let mut bad = good.clone();
    bad.push(row("91411224MA000000XX", "", "卢氏县"));
    bad.push(row("", "", "郑州"));
    bad.push(row("", "郑州富士康", "郑州市航空港区"));
    bad[1][8] = t(date(1));
    bad[1][3] = t("国外");

    let (status, body) = upload(&commander, DEMAND, XLSX, sheet(&bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        named(&body),
        [
            cell(3, "地区", "invalid_choice"),
            cell(3, "结束日期", "before_start"),
            cell(4, "企业信用代码", "not_found"),
            cell(5, "用工单位", "required"),
        ]
    );
    assert!(list(&commander, "/api/v1/labour-demand").await.is_empty(), "nothing written");
    let (status, body) = upload(&commander, DEMAND, XLSX, sheet(&good)).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 2, "written": 2 })));
    let stored = list(&commander, "/api/v1/labour-demand").await;
    let local = stored.iter().find(|d| d["enterprise_id"].is_i64()).unwrap();
    assert_eq!(
        (&local["employer"], &local["skills"], &local["accommodation"], &local["start"]),
        (&json!("卢氏县东明服装有限公司"), &json!(["manufacturing", "sewing"]), &json!(true), &json!(date(10)))
    );

    let (status, _, bytes) = download(&commander, DEMAND_OUT).await;
    assert_eq!(status, StatusCode::OK);
    let rows = read_back(&bytes);
    assert_eq!(rows[0], DEMAND_HEADER);
    let outside = rows.iter().find(|r| r[1] == "郑州富士康").unwrap();
    assert_eq!(
        outside,
        &[
            "",
            "郑州富士康",
            "郑州市航空港区",
            "省内",
            "30",
            "制造、缝纫",
            "4800",
            date(10).as_str(),
            date(200).as_str(),
            "是",
            ""
        ]
    );
    // Sent back unchanged, both are posted already.
    let (status, body) = upload(&commander, &format!("{DEMAND}?dry_run=true"), XLSX, bytes).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(named(&body).iter().all(|(_, _, c)| c == "taken") && named(&body).len() == 2, "{body}");
    let (status, _, _) = download(&app.login("duty").await, DEMAND_OUT).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no export right");
}
