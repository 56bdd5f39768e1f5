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

// Zip bombs: workbooks whose parts unpack to far more than their upload size. Each is built in
// memory the way an attacker would: a real workbook with one part replaced.

/// A real one-column workbook (`name` / `Ali`, the text in a shared-string table) with `parts`
/// added, replacing any part of the same name.
fn with_parts(parts: &[(&str, &[u8])]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "name")?;
    sheet.write_string(1, 0, "Ali")?;
    let mut archive = zip::ZipArchive::new(Cursor::new(workbook.save_to_buffer()?))?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for index in 0..archive.len() {
        let part = archive.by_index_raw(index)?;
        let name = part.name()?.into_owned();
        if !parts.iter().any(|(replaced, _)| *replaced == name) {
            out.raw_copy_file(part)?;
        }
    }
    for (name, content) in parts {
        out.start_file(*name, zip::write::SimpleFileOptions::default())?;
        out.write_all(content)?;
    }
    Ok(out.finish()?.into_inner())
}

/// A shared-string table of `count` copies of `text`.
fn shared_strings(count: usize, text: &str) -> Vec<u8> {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{count}" uniqueCount="{count}">"#
    );
    // The sheet refers to string 0 for its header and 1 for its value.
    xml.push_str("<si><t>name</t></si><si><t>Ali</t></si>");
    for _ in 2..count {
        xml.push_str("<si><t>");
        xml.push_str(text);
        xml.push_str("</t></si>");
    }
    xml.push_str("</sst>");
    xml.into_bytes()
}

/// A first worksheet whose cells are inline strings: a `name` header, then `rows` rows of
/// `text`.
fn inline_sheet(rows: usize, text: &str) -> Vec<u8> {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>"#,
    );
    for row in 2..rows + 2 {
        xml.push_str(&format!(
            r#"<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>{text}</t></is></c></row>"#
        ));
    }
    xml.push_str("</sheetData></worksheet>");
    xml.into_bytes()
}

/// Limits with the compression ratio out of the way, to reach the limits behind it.
fn any_ratio() -> ReadLimits {
    ReadLimits {
        max_compression_ratio: u64::MAX,
        ..ReadLimits::default()
    }
}

/// Rewrites the uncompressed size a part declares, in its local header and in the central
/// directory, the way a crafted archive lies about it.
fn declare_size(bytes: &mut [u8], part: &str, size: u32) {
    let mut patched = 0;
    for at in 0..bytes.len().saturating_sub(46) {
        let (name_len_at, name_at, size_at) = match &bytes[at..at + 4] {
            b"PK\x03\x04" => (at + 26, at + 30, at + 22),
            b"PK\x01\x02" => (at + 28, at + 46, at + 24),
            _ => continue,
        };
        let name_len = usize::from(u16::from_le_bytes([
            bytes[name_len_at],
            bytes[name_len_at + 1],
        ]));
        if bytes.get(name_at..name_at + name_len) == Some(part.as_bytes()) {
            bytes[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "the local header and the directory entry");
}

#[test]
fn a_shared_string_bomb_is_refused_before_it_is_unpacked() -> Result<(), Box<dyn std::error::Error>>
{
    // 80 MB of strings in under 1 MB: what calamine would load whole.
    let bomb = shared_strings(4_000_000, "bomb");
    let bytes = with_parts(&[("xl/sharedStrings.xml", &bomb)])?;
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    let error = read_xlsx(&bytes).unwrap_err();
    assert!(
        matches!(
            &error,
            TabularError::CompressionRatio { part, max: 100 } if part == "xl/sharedStrings.xml"
        ),
        "{error}"
    );
    assert_eq!(error.code(), "compression_ratio_too_high");

    let total = ReadLimits {
        max_unpacked_bytes: 16 << 20,
        ..any_ratio()
    };
    let error = read(&bytes, Format::Xlsx, &total).unwrap_err();
    assert!(
        matches!(error, TabularError::UnpackedTooLarge { max } if max == 16 << 20),
        "{error}"
    );
    Ok(())
}

#[test]
fn shared_strings_are_bounded_in_number_and_size() -> Result<(), Box<dyn std::error::Error>> {
    let bytes = with_parts(&[("xl/sharedStrings.xml", &shared_strings(1_001, "x"))])?;
    let count = ReadLimits {
        max_shared_strings: 1_000,
        ..ReadLimits::default()
    };
    let error = read(&bytes, Format::Xlsx, &count).unwrap_err();
    assert!(matches!(
        error,
        TabularError::TooManySharedStrings { max: 1_000 }
    ));
    assert_eq!(error.code(), "too_many_shared_strings");
    let fits = ReadLimits {
        max_shared_strings: 1_001,
        ..ReadLimits::default()
    };
    assert_eq!(cells(&read(&bytes, Format::Xlsx, &fits)?), [["Ali"]]);

    // calamine reserves room for the declared count before reading a string.
    let declared = String::from_utf8(shared_strings(2, ""))?
        .replace(r#"uniqueCount="2""#, r#"uniqueCount="4000000000000""#);
    let bytes = with_parts(&[("xl/sharedStrings.xml", declared.as_bytes())])?;
    let error = read_xlsx(&bytes).unwrap_err();
    assert!(matches!(
        error,
        TabularError::TooManySharedStrings { max: 2_000_000 }
    ));

    let text = "بمب".repeat(100);
    let bytes = with_parts(&[("xl/sharedStrings.xml", &shared_strings(10_000, &text))])?;
    let size = ReadLimits {
        max_shared_strings_bytes: 1 << 20,
        ..any_ratio()
    };
    let error = read(&bytes, Format::Xlsx, &size).unwrap_err();
    assert!(matches!(error, TabularError::SharedStringsTooLarge { max } if max == 1 << 20));
    assert_eq!(error.code(), "shared_strings_too_large");
    Ok(())
}

#[test]
fn an_inline_string_sheet_bomb_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    // 64 MiB of rows within the row and cell limits, in well under a megabyte.
    let text = "x".repeat(1_000);
    let bomb = inline_sheet(64_000, &text);
    let bytes = with_parts(&[("xl/worksheets/sheet1.xml", &bomb)])?;
    let error = read_xlsx(&bytes).unwrap_err();
    assert!(
        matches!(
            &error,
            TabularError::CompressionRatio { part, .. } if part == "xl/worksheets/sheet1.xml"
        ),
        "{error}"
    );

    // Past the ratio, the rows' memory is what stops it, before they are all held.
    let budget = ReadLimits {
        max_sheet_bytes: 8 << 20,
        ..any_ratio()
    };
    let error = read(&bytes, Format::Xlsx, &budget).unwrap_err();
    assert!(matches!(error, TabularError::SheetTooLarge { max } if max == 8 << 20));
    assert_eq!(error.code(), "sheet_too_large");
    let roomy = ReadLimits {
        max_sheet_bytes: 128 << 20,
        ..any_ratio()
    };
    assert_eq!(read(&bytes, Format::Xlsx, &roomy)?.rows.len(), 64_000);
    Ok(())
}

#[test]
fn one_huge_cell_is_refused_before_it_is_gathered() -> Result<(), Box<dyn std::error::Error>> {
    // One text event, and one text calamine would gather from many small events: both would be
    // held whole before the cell length limit could look at them.
    for text in ["x".repeat(3 << 20), "x&amp;".repeat(600_000)] {
        let bytes = with_parts(&[("xl/worksheets/sheet1.xml", &inline_sheet(1, &text))])?;
        let error = read(&bytes, Format::Xlsx, &any_ratio()).unwrap_err();
        assert!(
            matches!(
                &error,
                TabularError::XmlItemTooLarge { part, max } if part == "xl/worksheets/sheet1.xml" && *max == 1 << 20
            ),
            "{error}"
        );
        assert_eq!(error.code(), "xml_item_too_large");
    }
    // The same sheet with cells of an ordinary size reads.
    let bytes = with_parts(&[(
        "xl/worksheets/sheet1.xml",
        &inline_sheet(3, &"x&amp;".repeat(1_000)),
    )])?;
    assert_eq!(read_xlsx(&bytes)?.rows.len(), 3);
    Ok(())
}

#[test]
fn a_part_whose_declared_size_lies_is_stopped_while_unpacking(
) -> Result<(), Box<dyn std::error::Error>> {
    let mut bytes = with_parts(&[("xl/sharedStrings.xml", &shared_strings(4_000_000, "bomb"))])?;
    // Small enough for every check on declared sizes.
    declare_size(&mut bytes, "xl/sharedStrings.xml", 4_096);
    let error = read_xlsx(&bytes).unwrap_err();
    assert_eq!(error.code(), "unreadable", "{error}");
    assert!(
        error
            .to_string()
            .contains("xl/sharedStrings.xml is damaged"),
        "{error}"
    );
    Ok(())
}

#[test]
fn every_part_is_held_to_the_ratio() -> Result<(), Box<dyn std::error::Error>> {
    // Which parts calamine reads is up to the package's own relationships, so every part is
    // held to it, an image as much as a worksheet.
    let zeros = vec![0_u8; 8 << 20];
    let bytes = with_parts(&[("xl/media/image1.png", &zeros)])?;
    let error = read_xlsx(&bytes).unwrap_err();
    assert!(
        matches!(&error, TabularError::CompressionRatio { part, .. } if part == "xl/media/image1.png"),
        "{error}"
    );
    // Small parts compress as well as they like.
    let bytes = with_parts(&[("xl/media/image1.png", &zeros[..1 << 20])])?;
    assert_eq!(cells(&read_xlsx(&bytes)?), [["Ali"]]);
    Ok(())
}
