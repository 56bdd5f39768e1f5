//! CSV imports: encodings, delimiters, quoting, row numbering, header rules and limits.

use tabular::{read, Format, InputRow, InputSheet, ReadLimits, TabularError};

fn read_csv(bytes: &[u8]) -> Result<InputSheet, TabularError> {
    read(bytes, Format::Csv, &ReadLimits::default())
}

fn sheet(text: &str) -> InputSheet {
    read_csv(text.as_bytes()).expect("valid CSV")
}

fn cells(sheet: &InputSheet) -> Vec<Vec<&str>> {
    sheet
        .rows
        .iter()
        .map(|row| row.cells.iter().map(String::as_str).collect())
        .collect()
}

#[test]
fn byte_order_mark_is_not_part_of_the_first_header() {
    let sheet = sheet("\u{feff}name,phone\r\nAli,09121234567\r\n");
    assert_eq!(sheet.headers, vec!["name", "phone"]);
    assert_eq!(
        sheet.rows,
        vec![InputRow {
            number: 2,
            cells: vec!["Ali".into(), "09121234567".into()],
        }]
    );
}

#[test]
fn semicolon_and_tab_delimiters_are_detected() {
    let semicolon = sheet("name;city;note\nAli;Tehran;a,b\n");
    assert_eq!(semicolon.headers, vec!["name", "city", "note"]);
    assert_eq!(cells(&semicolon), vec![vec!["Ali", "Tehran", "a,b"]]);

    let tab = sheet("name\tcity\nAli\tShiraz; Fars\n");
    assert_eq!(tab.headers, vec!["name", "city"]);
    assert_eq!(cells(&tab), vec![vec!["Ali", "Shiraz; Fars"]]);
}

#[test]
fn quoted_fields_keep_newlines_quotes_and_delimiters() {
    let sheet = sheet("name,note\r\n\"Ali\",\"line 1\r\nline 2, \"\"quoted\"\"\"\r\nSara,x\r\n");
    assert_eq!(
        cells(&sheet),
        vec![
            vec!["Ali", "line 1\r\nline 2, \"quoted\""],
            vec!["Sara", "x"]
        ]
    );
    // The multi-line record is one spreadsheet row.
    let numbers: Vec<usize> = sheet.rows.iter().map(|row| row.number).collect();
    assert_eq!(numbers, vec![2, 3]);
}

#[test]
fn empty_lines_are_skipped_but_keep_their_row_number() {
    let sheet = sheet("name,phone\n\nAli,1\n,\n\r\nSara,2\n\n");
    assert_eq!(cells(&sheet), vec![vec!["Ali", "1"], vec!["Sara", "2"]]);
    let numbers: Vec<usize> = sheet.rows.iter().map(|row| row.number).collect();
    assert_eq!(numbers, vec![3, 6]);
}

#[test]
fn short_rows_are_padded() {
    let sheet = sheet("a,b,c\n1\n1,2\n");
    assert_eq!(cells(&sheet), vec![vec!["1", "", ""], vec!["1", "2", ""]]);
}

#[test]
fn cells_are_not_trimmed_but_headers_are() {
    let sheet = sheet(" name , phone\n  Ali ,\t1\n");
    assert_eq!(sheet.headers, vec!["name", "phone"]);
    assert_eq!(cells(&sheet), vec![vec!["  Ali ", "\t1"]]);
}

#[test]
fn long_rows_are_errors_naming_the_row() {
    let error = read_csv(b"a,b\n1,2\n\n1,2,3\n").unwrap_err();
    assert!(
        matches!(
            error,
            TabularError::RaggedRow {
                row: 4,
                expected: 2,
                found: 3
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.code(), "ragged_row");
    assert_eq!(error.row(), Some(4));
    assert_eq!(
        error.to_string(),
        "row 4 has 3 cells but the header has only 2 columns"
    );
}

#[test]
fn trailing_empty_columns_from_excel_are_tolerated() {
    let sheet = sheet("a,b,,\n1,2,,\n3,,,\n");
    assert_eq!(sheet.headers, vec!["a", "b"]);
    assert_eq!(cells(&sheet), vec![vec!["1", "2"], vec!["3", ""]]);
}

#[test]
fn empty_header_is_an_error_naming_the_column() {
    let error = read_csv(b"name,,phone\n").unwrap_err();
    assert!(matches!(error, TabularError::EmptyHeader { column: 2 }));
    assert_eq!(error.code(), "empty_header");
    assert_eq!(error.column(), Some(2));
}

#[test]
fn duplicate_header_is_an_error_naming_column_and_name() {
    let error = read_csv("نام,phone, نام \n".as_bytes()).unwrap_err();
    match &error {
        TabularError::DuplicateHeader {
            column,
            first,
            name,
        } => {
            assert_eq!((*column, *first, name.as_str()), (3, 1, "نام"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(error.code(), "duplicate_header");
    assert!(error.to_string().contains("\"نام\""));
}

#[test]
fn persian_text_is_kept() {
    let text = "نام,شهر\nعلی رضایی,تهران\nسارا,\"اصفهان، ایران\"\n";
    let sheet = sheet(text);
    assert_eq!(sheet.headers, vec!["نام", "شهر"]);
    assert_eq!(
        cells(&sheet),
        vec![vec!["علی رضایی", "تهران"], vec!["سارا", "اصفهان، ایران"]]
    );
}

#[test]
fn legacy_code_page_is_an_error_naming_row_and_column() {
    // "علی" in Windows-1256, as Excel saves a plain "CSV" on a Persian Windows.
    let bytes = b"name,city\nAli,Tehran\nx,\xda\xe1\xed\n";
    let error = read_csv(bytes).unwrap_err();
    assert!(matches!(error, TabularError::NotUtf8 { row: 3, column: 2 }));
    assert_eq!(error.code(), "not_utf8");

    let error = read_csv(b"\xda\xe1\xed,b\n").unwrap_err();
    assert!(matches!(error, TabularError::NotUtf8 { row: 1, column: 1 }));
}

#[test]
fn json_cannot_be_read() {
    let error = read(b"[]", Format::Json, &ReadLimits::default()).unwrap_err();
    assert!(matches!(
        error,
        TabularError::UnsupportedFormat {
            format: Format::Json
        }
    ));
    assert_eq!(error.code(), "unsupported_format");
}

#[test]
fn a_file_without_rows_has_no_header() {
    for input in [&b""[..], b"\xEF\xBB\xBF", b"\r\n\r\n", b",,\n"] {
        let error = read_csv(input).unwrap_err();
        assert_eq!(error.code(), "no_header", "{input:?}");
    }
}

#[test]
fn header_only_file_has_no_rows() {
    let sheet = sheet("name,phone\r\n");
    assert_eq!(sheet.headers, vec!["name", "phone"]);
    assert!(sheet.rows.is_empty());
}

#[test]
fn row_limit() {
    let limits = ReadLimits {
        max_rows: 2,
        ..ReadLimits::default()
    };
    assert_eq!(
        read(b"a\n1\n\n2\n", Format::Csv, &limits)
            .unwrap()
            .rows
            .len(),
        2
    );
    let error = read(b"a\n1\n2\n3\n", Format::Csv, &limits).unwrap_err();
    assert!(matches!(error, TabularError::TooManyRows { max: 2 }));
    assert_eq!(error.code(), "too_many_rows");
}

#[test]
fn column_limit() {
    let limits = ReadLimits {
        max_columns: 2,
        ..ReadLimits::default()
    };
    assert!(read(b"a,b,\n1,2\n", Format::Csv, &limits).is_ok());
    let error = read(b"a,b,c\n", Format::Csv, &limits).unwrap_err();
    assert!(matches!(error, TabularError::TooManyColumns { max: 2 }));
    assert_eq!(error.code(), "too_many_columns");
}

#[test]
fn cell_length_limit_counts_characters() {
    let limits = ReadLimits {
        max_cell_chars: 4,
        ..ReadLimits::default()
    };
    // Four Persian letters are eight bytes but only four characters.
    assert!(read("a,b\nعلیم,x\n".as_bytes(), Format::Csv, &limits).is_ok());
    let error = read(b"a,b\n1,2\nx,12345\n", Format::Csv, &limits).unwrap_err();
    assert!(matches!(
        error,
        TabularError::CellTooLong {
            row: 3,
            column: 2,
            max: 4
        }
    ));
    assert_eq!(error.code(), "cell_too_long");
}
