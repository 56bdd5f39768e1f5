//! XLSX imports: workbooks built with rust_xlsxwriter the way Excel would store them, read back
//! as the text a user sees.

use std::io::{Cursor, Read, Write};

use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Formula, Workbook, XlsxError};
use tabular::{read, Format, InputSheet, ReadLimits, TabularError};

fn read_xlsx(bytes: &[u8]) -> Result<InputSheet, TabularError> {
    read(bytes, Format::Xlsx, &ReadLimits::default())
}

fn cells(sheet: &InputSheet) -> Vec<Vec<&str>> {
    sheet
        .rows
        .iter()
        .map(|row| row.cells.iter().map(String::as_str).collect())
        .collect()
}

fn numbers(sheet: &InputSheet) -> Vec<usize> {
    sheet.rows.iter().map(|row| row.number).collect()
}

/// Rewrites the first worksheet's XML of a package, for cell shapes rust_xlsxwriter never writes.
fn edit_sheet(
    bytes: &[u8],
    edit: impl Fn(String) -> String,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for index in 0..archive.len() {
        let mut part = archive.by_index(index)?;
        let name = part.name()?.into_owned();
        let mut content = Vec::new();
        part.read_to_end(&mut content)?;
        if name == "xl/worksheets/sheet1.xml" {
            let edited = edit(String::from_utf8(content.clone())?).into_bytes();
            assert_ne!(edited, content, "the edit must change the sheet");
            content = edited;
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())?;
        out.write_all(&content)?;
    }
    Ok(out.finish()?.into_inner())
}

/// A customer list as a user might type it in Excel, with an empty row in the middle.
fn customers() -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let date = XlsxFormat::new().set_num_format("yyyy-mm-dd");
    let datetime = XlsxFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let time = XlsxFormat::new().set_num_format("hh:mm");
    let duration = XlsxFormat::new().set_num_format("[h]:mm:ss");
    let phone = XlsxFormat::new().set_num_format("0");
    let blank = XlsxFormat::new().set_bold();

    let headers = [
        "نام",
        "phone",
        "amount",
        "joined",
        "last_call",
        "call_at",
        "talk",
        "active",
        "note",
    ];
    for (column, name) in (0..).zip(headers) {
        sheet.write_string(0, column, name)?;
    }

    sheet.write_string(1, 0, "علی رضایی")?;
    sheet.write_number_with_format(1, 1, 9_121_234_567.0, &phone)?;
    sheet.write_number(1, 2, 12.5)?;
    sheet.write_datetime_with_format(1, 3, ExcelDateTime::from_ymd(2024, 3, 20)?, &date)?;
    sheet.write_datetime_with_format(
        1,
        4,
        ExcelDateTime::from_ymd(2024, 3, 20)?.and_hms(14, 30, 5)?,
        &datetime,
    )?;
    sheet.write_datetime_with_format(1, 5, ExcelDateTime::from_hms(9, 15, 0)?, &time)?;
    sheet.write_number_with_format(1, 6, 1.5 + 5.0 / 1440.0, &duration)?;
    sheet.write_boolean(1, 7, true)?;
    sheet.write_string(1, 8, "=1+1 is text")?;

    // Row 3 is empty but has formatted cells, as after a user clears it.
    sheet.write_blank(2, 0, &blank)?;
    sheet.write_blank(2, 4, &blank)?;

    sheet.write_string(3, 0, "سارا")?;
    sheet.write_number(3, 1, -3.0)?;
    sheet.write_number(3, 2, 0.1 + 0.2)?;
    sheet.write_boolean(3, 7, false)?;
    workbook.save_to_buffer()
}

#[test]
fn cells_read_as_the_user_sees_them() -> Result<(), Box<dyn std::error::Error>> {
    let sheet = read_xlsx(&customers()?)?;
    assert_eq!(
        sheet.headers,
        vec![
            "نام",
            "phone",
            "amount",
            "joined",
            "last_call",
            "call_at",
            "talk",
            "active",
            "note"
        ]
    );
    assert_eq!(
        cells(&sheet),
        vec![
            vec![
                "علی رضایی",
                "9121234567",
                "12.5",
                "2024-03-20",
                "2024-03-20T14:30:05",
                "09:15:00",
                "PT36H5M0S",
                "true",
                "=1+1 is text",
            ],
            vec![
                "سارا",
                "-3",
                "0.30000000000000004",
                "",
                "",
                "",
                "",
                "false",
                ""
            ],
        ]
    );
    assert_eq!(numbers(&sheet), vec![2, 4]);
    Ok(())
}

#[test]
fn header_is_the_first_non_empty_row() -> Result<(), Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(2, 0, "name")?;
    sheet.write_string(2, 1, "phone")?;
    sheet.write_string(3, 0, "Ali")?;
    sheet.write_number(5, 1, 912.0)?;
    let sheet = read_xlsx(&workbook.save_to_buffer()?)?;
    assert_eq!(sheet.headers, vec!["name", "phone"]);
    assert_eq!(cells(&sheet), vec![vec!["Ali", ""], vec!["", "912"]]);
    assert_eq!(numbers(&sheet), vec![4, 6]);
    Ok(())
}

#[test]
fn the_first_visible_worksheet_is_read() -> Result<(), Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    workbook
        .add_worksheet()
        .set_name("lists")?
        .set_hidden(true)
        .write_string(0, 0, "hidden")?;
    workbook
        .add_worksheet()
        .set_name("customers")?
        .write_string(0, 0, "visible")?;
    workbook.worksheet_from_index(1)?.set_active(true);
    let sheet = read_xlsx(&workbook.save_to_buffer()?)?;
    assert_eq!(sheet.headers, vec!["visible"]);
    Ok(())
}

#[test]
fn error_cells_are_errors_naming_the_cell() -> Result<(), Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_row(0, 0, ["a", "b", "c"])?;
    sheet.write_row(1, 0, ["1", "2", "3"])?;
    sheet.write_formula(6, 2, Formula::new("=1/0").set_result("#DIV/0!"))?;
    let error = read_xlsx(&workbook.save_to_buffer()?).unwrap_err();
    match &error {
        TabularError::ErrorCell {
            row,
            column,
            cell,
            value,
        } => {
            assert_eq!((*row, *column), (7, 3));
            assert_eq!(cell, "C7");
            assert_eq!(value, "#DIV/0!");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(error.code(), "error_cell");
    assert_eq!(error.row(), Some(7));
    assert_eq!(error.column(), Some(3));
    Ok(())
}

#[test]
fn values_right_of_the_header_are_ragged() -> Result<(), Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_row(0, 0, ["a", "b"])?;
    sheet.write_row(1, 0, ["1", "2"])?;
    sheet.write_string(2, 3, "stray")?;
    let error = read_xlsx(&workbook.save_to_buffer()?).unwrap_err();
    assert!(
        matches!(
            error,
            TabularError::RaggedRow {
                row: 3,
                expected: 2,
                found: 4
            }
        ),
        "{error:?}"
    );
    Ok(())
}

#[test]
fn blank_cells_right_of_the_header_are_ignored() -> Result<(), Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_row(0, 0, ["a", "b"])?;
    sheet.write_row(1, 0, ["1", "2"])?;
    sheet.write_blank(1, 5, &XlsxFormat::new().set_bold())?;
    // rust_xlsxwriter cannot store an empty string; Excel does for a formula returning "".
    let bytes = edit_sheet(&workbook.save_to_buffer()?, |xml| {
        xml.replace(
            "</row></sheetData>",
            r#"<c r="H2" t="str"><f>""</f><v></v></c></row></sheetData>"#,
        )
    })?;
    let sheet = read_xlsx(&bytes)?;
    assert_eq!(sheet.headers, vec!["a", "b"]);
    assert_eq!(cells(&sheet), vec![vec!["1", "2"]]);
    Ok(())
}

#[test]
fn rows_out_of_order_are_unreadable() -> Result<(), Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    workbook.add_worksheet().write_row(0, 0, ["a", "b"])?;
    let bytes = edit_sheet(&workbook.save_to_buffer()?, |xml| {
        xml.replace(
            "</sheetData>",
            r#"<row r="5"><c r="A5" t="inlineStr"><is><t>x</t></is></c></row><row r="3"><c r="A3" t="inlineStr"><is><t>y</t></is></c></row></sheetData>"#,
        )
    })?;
    let error = read_xlsx(&bytes).unwrap_err();
    assert_eq!(error.code(), "unreadable");
    assert!(
        error.to_string().contains("row 3 is stored after row 5"),
        "{error}"
    );
    Ok(())
}

#[test]
fn header_rules_apply_to_workbooks_too() -> Result<(), Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    workbook
        .add_worksheet()
        .write_row(0, 0, ["name", "phone", "name"])?;
    let error = read_xlsx(&workbook.save_to_buffer()?).unwrap_err();
    assert_eq!(error.code(), "duplicate_header");

    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "name")?;
    sheet.write_string(0, 2, "phone")?;
    let error = read_xlsx(&workbook.save_to_buffer()?).unwrap_err();
    assert!(matches!(error, TabularError::EmptyHeader { column: 2 }));
    Ok(())
}

#[test]
fn limits_apply_to_workbooks() -> Result<(), Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_row(0, 0, ["a", "b", "c"])?;
    for row in 1..=5 {
        sheet.write_row(row, 0, ["1", "22", "333"])?;
    }
    let bytes = workbook.save_to_buffer()?;

    let rows = ReadLimits {
        max_rows: 4,
        ..ReadLimits::default()
    };
    let error = read(&bytes, Format::Xlsx, &rows).unwrap_err();
    assert!(matches!(error, TabularError::TooManyRows { max: 4 }));

    let columns = ReadLimits {
        max_columns: 2,
        ..ReadLimits::default()
    };
    let error = read(&bytes, Format::Xlsx, &columns).unwrap_err();
    assert!(matches!(error, TabularError::TooManyColumns { max: 2 }));

    let length = ReadLimits {
        max_cell_chars: 2,
        ..ReadLimits::default()
    };
    let error = read(&bytes, Format::Xlsx, &length).unwrap_err();
    assert!(matches!(
        error,
        TabularError::CellTooLong {
            row: 2,
            column: 3,
            max: 2
        }
    ));
    Ok(())
}

#[test]
fn a_workbook_without_values_has_no_header() -> Result<(), Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    workbook.add_worksheet();
    let error = read_xlsx(&workbook.save_to_buffer()?).unwrap_err();
    assert_eq!(error.code(), "no_header");
    Ok(())
}

#[test]
fn other_files_are_unreadable() {
    for bytes in [
        &b"name,phone\n"[..],
        b"",
        // An old .xls (OLE compound document) signature.
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0",
    ] {
        let error = read_xlsx(bytes).unwrap_err();
        assert_eq!(error.code(), "unreadable", "{bytes:?}");
        assert!(
            error.to_string().contains("not an XLSX workbook"),
            "{error}"
        );
    }
}
