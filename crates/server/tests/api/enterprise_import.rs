//! Import of enterprises from XLSX and CSV, and their export: the rules of
//! the checkpoint import — every bad row is named, nothing is written until
//! the file is clean, a dry run writes nothing, a clean file is written in
//! one go — and an export that reads back in the import's shape.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app;
use crate::helpers::{Session, credit_code};
use crate::import::{C, XLSX, download, events_of, named, read_back, t, upload, xlsx};

const IMPORT: &str = "/api/v1/enterprises/import";
const EXPORT: &str = "/api/v1/enterprises/export.xlsx";

const HEADER: [&str; 12] = [
    "统一社会信用代码",
    "企业名称",
    "行业门类",
    "规模",
    "所属乡镇代码",
    "职工人数",
    "地址",
    "规上企业",
    "重点企业",
    "防疫物资生产",
    "服务专员",
    "服务部门代码",
];

/// The same code with a wrong check character.
fn miskeyed(code: &str) -> String {
    let (head, last) = code.split_at(17);
    format!("{head}{}", if last == "0" { '1' } else { '0' })
}

fn cell(row: i64, field: &str, code: &str) -> (i64, String, String) {
    (row, field.to_owned(), code.to_owned())
}

/// The enterprises the commander (county scope) sees.
async fn listed(commander: &Session) -> Vec<Value> {
    let (status, list) = commander.get("/api/v1/enterprises").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

fn by_code<'a>(list: &'a [Value], code: &str) -> &'a Value {
    list.iter().find(|e| e["credit_code"] == code).unwrap_or_else(|| panic!("{code} is stored"))
}

/// Data row `i` of the 500-enterprise sheet, varied as real files are.
fn enterprise_row(i: usize) -> Vec<C> {
    let sectors = ["C", "制造业", "f", "批发和零售业", "农、林、牧、渔业", "Ｅ"];
    let sizes = ["小型", "micro", "中型企业", "Large", "微型"];
    let townships = [C::N(411_224_104.0), t("411224107"), t("411224104202")];
    vec![
        t(credit_code(&format!("{i:09}"))),
        t(format!("卢氏县第{i}号企业有限公司")),
        t(sectors[i % sectors.len()]),
        t(sizes[i % sizes.len()]),
        townships[i % townships.len()].clone(),
        C::N(10.0 + i as f64),
        t(if i.is_multiple_of(4) { "" } else { "卢氏县产业集聚区" }),
        t(["是", "", "否", "1", "no"][i % 5]),
        t(if i.is_multiple_of(7) { "yes" } else { "" }),
        t(if i.is_multiple_of(2) { "0" } else { "是" }),
        t(if i.is_multiple_of(3) { "service" } else { "" }),
        t(if i.is_multiple_of(3) { "D-INDUSTRY" } else { "" }),
    ]
}

#[tokio::test]
async fn an_xlsx_of_500_enterprises_with_bad_rows_is_handled_like_the_checkpoint_import() {
    let app = app!();
    let commander = app.login("commander").await;
    let header: Vec<C> = HEADER.iter().map(|h| t(*h)).collect();
    let sheet = |rows: &[Vec<C>]| xlsx(&[vec![header.clone()], rows.to_vec()].concat());
    let good: Vec<Vec<C>> = (0..500).map(enterprise_row).collect();
    let mut bad = good.clone();
    // Data row i sits on spreadsheet row i + 2 (the header is row 1).
    bad[3][0] = t(miskeyed(&credit_code("000000003")));
    bad[100][0] = t(credit_code("000000020"));
    bad[222][4] = t("411224999");
    bad[333][5] = C::N(0.0);
    bad[444][2] = t("造船业");

    for dry_run in ["?dry_run=true", "?dry_run=false", ""] {
        let (status, body) = upload(&commander, &format!("{IMPORT}{dry_run}"), XLSX, sheet(&bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "import_rows", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains('5'), "{body}");
        assert_eq!(
            named(&body),
            [
                cell(5, "统一社会信用代码", "credit_code_check"),
                cell(102, "统一社会信用代码", "duplicate_in_file"),
                cell(224, "所属乡镇代码", "not_found"),
                cell(335, "职工人数", "out_of_range"),
                cell(446, "行业门类", "invalid_choice"),
            ]
        );
        assert!(body["rows"][1]["message"].as_str().unwrap().contains("22"), "names the first row: {body}");
        assert_eq!(body["written"], 0);
    }
    assert!(listed(&commander).await.is_empty(), "nothing written");

    let (status, body) = upload(&commander, &format!("{IMPORT}?dry_run=true"), XLSX, sheet(&good)).await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({ "ok": true, "rows": 500, "written": 0 })));
    assert!(listed(&commander).await.is_empty(), "a dry run writes nothing");

    let (status, body) = upload(&commander, IMPORT, XLSX, sheet(&good)).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 500, "written": 500 })));
    let list = listed(&commander).await;
    assert_eq!(list.len(), 500);
    assert_eq!(events_of(&app, "enterprise.created").await, 500);

    // The cells were read as the API reads its fields.
    let e0 = by_code(&list, &credit_code("000000000"));
    assert_eq!(
        (&e0["sector"], &e0["size_class"], &e0["org_unit_id"], &e0["employees"]),
        (&json!("C"), &json!("small"), &json!(app.units["411224104"].id.0), &json!(10))
    );
    assert_eq!(
        (&e0["above_designated"], &e0["key_enterprise"], &e0["epidemic_supplies"], &e0["address"]),
        (&json!(true), &json!(true), &json!(false), &json!(""))
    );
    assert_eq!(
        (&e0["service_officer_id"], &e0["department_id"]),
        (&json!(app.users["service"].id.0), &json!(app.units["D-INDUSTRY"].id.0))
    );
    let e5 = by_code(&list, &credit_code("000000005"));
    assert_eq!(
        (&e5["sector"], &e5["size_class"], &e5["org_unit_id"], &e5["service_officer_id"]),
        (&json!("E"), &json!("small"), &json!(app.units["411224104202"].id.0), &Value::Null)
    );
    let e4 = by_code(&list, &credit_code("000000004"));
    assert_eq!((&e4["sector"], &e4["size_class"]), (&json!("A"), &json!("micro")));
}

#[tokio::test]
async fn a_gbk_csv_with_chinese_headers_imports_and_what_rows_point_at_is_checked() {
    let app = app!();
    let admin = app.login("admin").await;
    let commander = app.login("commander").await;
    let (a, b) = (credit_code("MA0000001"), credit_code("MA0000002"));
    // Excel in China saves CSV as GBK; the columns in another order, the
    // optional ones left out.
    let csv = format!(
        "企业名称,统一社会信用代码,所属乡镇代码,行业门类,规模,职工人数,防疫物资生产\n\
         卢氏县宏达防护用品有限公司,{a},411224107,制造业,小型,80,是\n\
         卢氏县朱阳关建材有限公司,{b},411224104,建筑业,微型企业,12,否\n"
    );
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&csv);
    assert!(!unmappable);
    let (status, body) = upload(&admin, IMPORT, "text/csv", gbk.to_vec()).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 2, "written": 2 })));
    let list = listed(&commander).await;
    let hongda = by_code(&list, &a);
    assert_eq!(
        (&hongda["name"], &hongda["sector"], &hongda["size_class"], &hongda["epidemic_supplies"]),
        (&json!("卢氏县宏达防护用品有限公司"), &json!("C"), &json!("small"), &json!(true))
    );
    assert_eq!(by_code(&list, &b)["org_unit_id"], json!(app.units["411224104"].id.0));
    // The same file again: both codes are taken now.
    let (status, body) = upload(&admin, IMPORT, "text/csv", gbk.to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(named(&body), [cell(2, "统一社会信用代码", "taken"), cell(3, "统一社会信用代码", "taken")]);

    // English headers; a county, a department and nothing are no township; a
    // stranger as the officer, a township as the department, no name, an
    // unknown size, a flag that is neither yes nor no.
    let (c, d) = (credit_code("MA0000003"), credit_code("MA0000004"));
    let csv = format!(
        "credit_code,name,sector,size_class,township_code,employees,service_officer,department_code,key_enterprise\n\
         {c},甲,C,small,411224,5,nobody,411224104,maybe\n\
         {d},,c,huge,D-INDUSTRY,5,,,\n\
         {c},乙,C,small,,5,,,\n"
    );
    let (status, body) = upload(&admin, &format!("{IMPORT}?dry_run=true"), "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        named(&body),
        [
            cell(2, "township_code", "not_a_township"),
            cell(2, "key_enterprise", "invalid_choice"),
            cell(2, "service_officer", "not_found"),
            cell(2, "department_code", "not_found"),
            cell(3, "name", "required"),
            cell(3, "size_class", "invalid_choice"),
            cell(3, "township_code", "not_a_township"),
            cell(4, "credit_code", "duplicate_in_file"),
            cell(4, "township_code", "required"),
        ]
    );

    // A missing column, an unknown one.
    let csv = format!("credit_code,name,sector,size_class,employees,remark\n{c},甲,C,small,5,x\n");
    let (status, body) = upload(&admin, IMPORT, "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(named(&body), [cell(1, "remark", "unknown_column"), cell(1, "township_code", "column_missing")]);

    // The service officer may manage enterprises, but no township is within
    // the department's scope.
    let csv = format!("credit_code,name,sector,size_class,township_code,employees\n{c},甲,C,small,411224104,5\n");
    let service = app.login("service").await;
    let (status, body) = upload(&service, IMPORT, "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(named(&body), [cell(2, "township_code", "out_of_scope")]);
    assert_eq!(listed(&commander).await.len(), 2, "nothing more written");
}

#[tokio::test]
async fn the_export_reads_back_in_the_import_shape_and_only_those_with_the_rights_use_either() {
    let app = app!();
    let commander = app.login("commander").await;
    let codes: Vec<String> = (1..=3).map(|i| credit_code(&format!("MA000000{i}"))).collect();
    let csv = format!(
        "credit_code,name,sector,size_class,township_code,employees,address,above_designated,key_enterprise,\
         epidemic_supplies,service_officer,department_code\n\
         {},卢氏县宏达防护用品有限公司,C,small,411224107,80,东明镇工业园,no,yes,yes,service,D-INDUSTRY\n\
         {},卢氏县朱阳关建材有限公司,E,micro,411224104,12,,0,0,0,,\n\
         {},岭东村香菇合作社,A,micro,411224104202,30,岭东村,1,0,0,,\n",
        codes[0], codes[1], codes[2]
    );
    assert_eq!(upload(&commander, IMPORT, "text/csv", csv.into_bytes()).await.0, StatusCode::CREATED);

    let exports = events_of(&app, "data.exported").await;
    let (status, ct, bytes) = download(&commander, EXPORT).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, XLSX));
    assert_eq!(events_of(&app, "data.exported").await, exports + 1, "the export is recorded");
    let rows = read_back(&bytes);
    assert_eq!(rows[0], HEADER, "exactly the import's columns");
    assert_eq!(rows.len(), 4);
    let hongda = rows.iter().find(|r| r[0] == codes[0]).unwrap();
    assert_eq!(
        hongda,
        &[
            codes[0].as_str(),
            "卢氏县宏达防护用品有限公司",
            "制造业",
            "小型",
            "411224107",
            "80",
            "东明镇工业园",
            "否",
            "是",
            "是",
            "service",
            "D-INDUSTRY"
        ]
    );
    let lingdong = rows.iter().find(|r| r[0] == codes[2]).unwrap();
    assert_eq!(
        (lingdong[2].as_str(), lingdong[4].as_str(), lingdong[7].as_str()),
        ("农、林、牧、渔业", "411224104202", "是")
    );

    // The export sent back unchanged: every row's credit code is taken.
    let (status, body) = upload(&commander, &format!("{IMPORT}?dry_run=true"), XLSX, bytes.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        named(&body),
        [
            cell(2, "统一社会信用代码", "taken"),
            cell(3, "统一社会信用代码", "taken"),
            cell(4, "统一社会信用代码", "taken"),
        ]
    );
    // With new credit codes it imports again, the same in every other way.
    let renamed: Vec<Vec<C>> = rows
        .iter()
        .map(|r| {
            let fresh = |code: &str| code.replacen("91411224MA", "91411224MB", 1);
            let code = if r[0] == HEADER[0] { r[0].clone() } else { credit_code(&fresh(&r[0])[8..17]) };
            std::iter::once(t(code)).chain(r[1..].iter().map(|v| t(v.clone()))).collect()
        })
        .collect();
    let (status, body) = upload(&commander, IMPORT, XLSX, xlsx(&renamed)).await;
    assert_eq!((status, &body), (StatusCode::CREATED, &json!({ "ok": true, "rows": 3, "written": 3 })));
    let list = listed(&commander).await;
    assert_eq!(list.len(), 6);
    let (copy, original) = (by_code(&list, &credit_code("MB0000001")), by_code(&list, &codes[0]));
    for f in [
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
        assert_eq!(copy[f], original[f], "{f}");
    }

    // No export right, no manage right.
    let (status, _, _) = download(&app.login("viewer").await, EXPORT).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer exports");
    let duty = app.login("duty").await;
    for query in ["?dry_run=true", ""] {
        let (status, _) = upload(&duty, &format!("{IMPORT}{query}"), XLSX, bytes.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the duty officer imports");
    }
    assert_eq!(events_of(&app, "data.exported").await, exports + 1);
    assert_eq!(listed(&commander).await.len(), 6);
}
