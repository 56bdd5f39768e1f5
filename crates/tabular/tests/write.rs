//! Exports: exact CSV and JSON output, XLSX layout, and write-then-read round trips.

use std::io::{Cursor, Read};

use proptest::prelude::*;
use tabular::{
    neutralize_formula, read, writer, Cell, Format, InputSheet, ReadLimits, TabularError,
    WriteOptions,
};

fn headers(names: &[&str]) -> Vec<String> {
    names.iter().map(|&name| name.to_owned()).collect()
}

fn text(value: &str) -> Cell {
    Cell::Text(value.to_owned())
}

/// Writes `rows` under `names` and returns the bytes.
fn export(
    format: Format,
    names: &[&str],
    rows: &[Vec<Cell>],
    options: &WriteOptions,
) -> Result<Vec<u8>, TabularError> {
    let mut out = Cursor::new(Vec::new());
    let mut sink = writer(format, &mut out, &headers(names), options)?;
    for row in rows {
        sink.write_row(row)?;
    }
    sink.finish()?;
    Ok(out.into_inner())
}

/// The text an import gives back for an exported cell.
fn expected_text(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Text(text) => text.clone(),
        Cell::Integer(number) => number.to_string(),
        Cell::Bool(flag) => flag.to_string(),
    }
}

fn texts(sheet: &InputSheet) -> Vec<Vec<String>> {
    sheet.rows.iter().map(|row| row.cells.clone()).collect()
}

fn sample_rows() -> Vec<Vec<Cell>> {
    vec![
        vec![
            text("علی رضایی"),
            text("+989121234567"),
            Cell::Integer(1_250_000),
            Cell::Bool(true),
            text("line 1\nline 2, \"quoted\""),
        ],
        vec![
            text("Sara"),
            Cell::Null,
            Cell::Integer(-7),
            Cell::Bool(false),
            text("  spaced  "),
        ],
        vec![
            text("big"),
            text("0912 123 4567"),
            Cell::Integer(i64::MAX),
            Cell::Null,
            text(""),
        ],
    ]
}

const SAMPLE_HEADERS: [&str; 5] = ["نام", "phone", "balance", "active", "note"];

#[test]
fn csv_output_is_excel_friendly_rfc_4180() -> Result<(), TabularError> {
    let rows = vec![
        vec![text("علی"), text("a,b"), Cell::Integer(-12)],
        vec![Cell::Null, text("say \"hi\"\nbye"), Cell::Bool(true)],
        vec![text("=HYPERLINK(\"x\")"), text("+989121234567"), Cell::Null],
    ];
    let bytes = export(
        Format::Csv,
        &["name", "note", "n"],
        &rows,
        &WriteOptions::default(),
    )?;
    let expected = "\u{feff}name,note,n\r\n\
                    علی,\"a,b\",-12\r\n\
                    ,\"say \"\"hi\"\"\nbye\",true\r\n\
                    \"'=HYPERLINK(\"\"x\"\")\",+989121234567,\r\n";
    assert_eq!(String::from_utf8(bytes).expect("UTF-8"), expected);
    Ok(())
}

#[test]
fn csv_header_names_are_neutralized_too() -> Result<(), TabularError> {
    let bytes = export(Format::Csv, &["@cmd", "-1"], &[], &WriteOptions::default())?;
    assert_eq!(bytes, "\u{feff}'@cmd,-1\r\n".as_bytes());
    Ok(())
}

#[test]
fn csv_round_trip() -> Result<(), TabularError> {
    let rows = sample_rows();
    let bytes = export(
        Format::Csv,
        &SAMPLE_HEADERS,
        &rows,
        &WriteOptions::default(),
    )?;
    let sheet = read(&bytes, Format::Csv, &ReadLimits::default())?;
    assert_eq!(sheet.headers, headers(&SAMPLE_HEADERS));
    let expected: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(expected_text).collect())
        .collect();
    assert_eq!(texts(&sheet), expected);
    let numbers: Vec<usize> = sheet.rows.iter().map(|row| row.number).collect();
    assert_eq!(numbers, vec![2, 3, 4]);
    Ok(())
}

#[test]
fn xlsx_round_trip() -> Result<(), TabularError> {
    let rows = sample_rows();
    let options = WriteOptions {
        right_to_left: true,
        sheet_name: "مشتریان".to_owned(),
    };
    let bytes = export(Format::Xlsx, &SAMPLE_HEADERS, &rows, &options)?;
    let sheet = read(&bytes, Format::Xlsx, &ReadLimits::default())?;
    assert_eq!(sheet.headers, headers(&SAMPLE_HEADERS));
    let expected: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(expected_text).collect())
        .collect();
    // i64::MAX is beyond 2^53 and so was written as text: every digit survives.
    assert_eq!(texts(&sheet), expected);
    Ok(())
}

/// The text of one part of an XLSX package.
fn package_part(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("an XLSX is a ZIP");
    let mut part = archive.by_name(name).expect("part present");
    let mut xml = String::new();
    part.read_to_string(&mut xml).expect("UTF-8 XML");
    xml
}

#[test]
fn xlsx_layout() -> Result<(), TabularError> {
    let rtl = WriteOptions {
        right_to_left: true,
        sheet_name: "مشتریان".to_owned(),
    };
    let bytes = export(Format::Xlsx, &["name"], &[vec![text("علی")]], &rtl)?;
    let sheet = package_part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"rightToLeft="1""#), "{sheet}");
    // The header row is frozen.
    assert!(sheet.contains(r#"ySplit="1""#), "{sheet}");
    assert!(sheet.contains(r#"state="frozen""#), "{sheet}");
    let workbook = package_part(&bytes, "xl/workbook.xml");
    assert!(workbook.contains(r#"name="مشتریان""#), "{workbook}");
    // The header is bold: a bold font exists for its cell style.
    let styles = package_part(&bytes, "xl/styles.xml");
    assert!(styles.contains("<b/>"), "{styles}");

    let ltr = export(Format::Xlsx, &["name"], &[], &WriteOptions::default())?;
    let sheet = package_part(&ltr, "xl/worksheets/sheet1.xml");
    assert!(!sheet.contains("rightToLeft"), "{sheet}");
    let workbook = package_part(&ltr, "xl/workbook.xml");
    assert!(workbook.contains(r#"name="Sheet1""#), "{workbook}");
    Ok(())
}

#[test]
fn xlsx_text_is_never_a_formula() -> Result<(), TabularError> {
    let bytes = export(
        Format::Xlsx,
        &["note"],
        &[vec![text("=1+1")]],
        &WriteOptions::default(),
    )?;
    let sheet = package_part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(!sheet.contains("<f>"), "{sheet}");
    let read_back = read(&bytes, Format::Xlsx, &ReadLimits::default())?;
    assert_eq!(texts(&read_back), vec![vec!["=1+1".to_owned()]]);
    Ok(())
}

#[test]
fn invalid_sheet_name_is_refused() {
    let options = WriteOptions {
        right_to_left: false,
        sheet_name: "a/b".to_owned(),
    };
    let error = export(Format::Xlsx, &["name"], &[], &options).unwrap_err();
    assert_eq!(error.code(), "xlsx_write");
}

#[test]
fn json_is_an_array_of_objects() -> Result<(), TabularError> {
    let bytes = export(
        Format::Json,
        &SAMPLE_HEADERS,
        &sample_rows(),
        &WriteOptions::default(),
    )?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
    let expected = serde_json::json!([
        {
            "نام": "علی رضایی",
            "phone": "+989121234567",
            "balance": 1_250_000,
            "active": true,
            "note": "line 1\nline 2, \"quoted\""
        },
        {
            "نام": "Sara",
            "phone": null,
            "balance": -7,
            "active": false,
            "note": "  spaced  "
        },
        {
            "نام": "big",
            "phone": "0912 123 4567",
            "balance": i64::MAX,
            "active": null,
            "note": ""
        }
    ]);
    assert_eq!(value, expected);
    // Keys keep header order, so a reader sees columns as exported.
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(
        text.starts_with("[{\"نام\":\"علی رضایی\",\"phone\""),
        "{text}"
    );

    let empty = export(Format::Json, &["a"], &[], &WriteOptions::default())?;
    assert_eq!(empty, b"[]");
    Ok(())
}

#[test]
fn rows_must_match_the_header() {
    for format in Format::ALL {
        let mut out = Cursor::new(Vec::new());
        let mut sink = writer(
            format,
            &mut out,
            &headers(&["a", "b"]),
            &WriteOptions::default(),
        )
        .expect("sink");
        let error = sink.write_row(&[Cell::Null]).unwrap_err();
        assert!(
            matches!(
                error,
                TabularError::RowWidth {
                    expected: 2,
                    found: 1
                }
            ),
            "{format}: {error:?}"
        );
        assert_eq!(error.code(), "row_width");
    }
}

#[test]
fn headers_must_be_importable() {
    for format in Format::ALL {
        let mut out = Cursor::new(Vec::new());
        let error = writer(
            format,
            &mut out,
            &headers(&["a", "b", "a"]),
            &WriteOptions::default(),
        )
        .err()
        .expect("duplicate header refused");
        assert_eq!(error.code(), "duplicate_header", "{format}");
    }
}

#[test]
fn a_hundred_thousand_rows_stream_through_csv() -> Result<(), TabularError> {
    const ROWS: i64 = 100_000;
    let mut out = Cursor::new(Vec::new());
    let mut sink = writer(
        Format::Csv,
        &mut out,
        &headers(&["id", "name", "phone", "vip"]),
        &WriteOptions::default(),
    )?;
    for id in 0..ROWS {
        sink.write_row(&[
            Cell::Integer(id),
            Cell::Text(format!("مشتری {id}")),
            Cell::Text(format!("+98912{id:07}")),
            Cell::Bool(id % 7 == 0),
        ])?;
    }
    sink.finish()?;
    let sheet = read(&out.into_inner(), Format::Csv, &ReadLimits::default())?;
    assert_eq!(sheet.rows.len(), 100_000);
    let last = &sheet.rows[99_999];
    assert_eq!(last.number, 100_001);
    assert_eq!(
        last.cells,
        vec!["99999", "مشتری 99999", "+989120099999", "false"]
    );
    Ok(())
}

/// Text with everything CSV must quote or escape, Persian, and formula starters.
fn cell_text() -> impl Strategy<Value = String> {
    prop_oneof!["[\"',;\t\r\n =+@ a-zA-Z0-9آ-ی۰-۹-]{0,16}", any::<String>(),]
}

proptest! {
    #[test]
    fn any_text_survives_a_csv_round_trip(
        rows in prop::collection::vec(prop::collection::vec(cell_text(), 3), 0..8)
    ) {
        let cells: Vec<Vec<Cell>> = rows
            .iter()
            .map(|row| row.iter().map(|value| Cell::Text(value.clone())).collect())
            .collect();
        let bytes = export(Format::Csv, &["a", "b", "c"], &cells, &WriteOptions::default())
            .expect("export");
        let sheet = read(&bytes, Format::Csv, &ReadLimits::default()).expect("import");
        // What comes back is the neutralized text; rows with no text at all are skipped.
        let expected: Vec<Vec<String>> = rows
            .iter()
            .map(|row| row.iter().map(|value| neutralize_formula(value).into_owned()).collect())
            .filter(|row: &Vec<String>| row.iter().any(|value| !value.is_empty()))
            .collect();
        prop_assert_eq!(&sheet.headers, &headers(&["a", "b", "c"]));
        prop_assert_eq!(texts(&sheet), expected);
    }
}
