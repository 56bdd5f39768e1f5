//! Streaming exports: a [`RowSink`] per format, handed out by [`writer`].

mod csv_sink;
mod json_sink;
mod xlsx_sink;

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Write;

use crate::{Format, TabularError};

/// One exported value. Kept to what CSV, XLSX and JSON can all represent faithfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// No value: an empty CSV field, a blank XLSX cell, JSON `null`.
    Null,
    /// Text, written as a string in every format.
    Text(String),
    /// A whole number: a JSON number and, where exact, an XLSX number (see [`writer`]).
    Integer(i64),
    /// Written as `true`/`false` in CSV and JSON and as a boolean cell in XLSX.
    Bool(bool),
}

/// Presentation choices for an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Lay the XLSX sheet out right to left, as Persian users expect. CSV and JSON have no layout.
    pub right_to_left: bool,
    /// The XLSX worksheet's name: at most 31 characters, none of `[ ] : * ? / \`.
    pub sheet_name: String,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            right_to_left: false,
            sheet_name: "Sheet1".to_owned(),
        }
    }
}

/// Receives an export one row at a time, so a million-row export never sits in memory.
pub trait RowSink {
    /// Writes one data row with exactly one cell per header.
    ///
    /// # Errors
    ///
    /// [`TabularError::RowWidth`] when the row has the wrong number of cells, and output errors.
    fn write_row(&mut self, cells: &[Cell]) -> Result<(), TabularError>;

    /// Completes the file: closes the JSON array, assembles the XLSX package, flushes buffers.
    /// Dropping a sink without calling this leaves the output truncated or empty.
    ///
    /// # Errors
    ///
    /// Output errors, and for XLSX anything the workbook library rejects.
    fn finish(self: Box<Self>) -> Result<(), TabularError>;
}

/// Starts an export in `format` to `out`, writing the header row straight away (for XLSX, into
/// the temporary sheet file).
///
/// * CSV: UTF-8 with a byte-order mark (without it Excel shows Persian as mojibake), `,`
///   separated, RFC 4180 quoting, `\r\n` line ends. Text is passed through
///   [`neutralize_formula`]; header names too, since custom field names come from users.
/// * JSON: one array of objects keyed by header name, written as rows arrive.
/// * XLSX: one worksheet with a bold, frozen header row. It is built in rust_xlsxwriter's
///   constant-memory mode, which streams rows to a file in the system temporary directory;
///   the package is compressed into `out` only in [`RowSink::finish`]. Integers beyond ±2^53,
///   which Excel's floating-point numbers cannot hold exactly, are written as text so no digit
///   is lost.
///
/// `out` needs no `Seek`: every format writes front to back, so an HTTP body works as well as a
/// file. An unbuffered `out` needs no `BufWriter`: every sink buffers internally.
///
/// # Errors
///
/// [`TabularError::EmptyHeader`] or [`TabularError::DuplicateHeader`] for headers that would make
/// JSON keys or import mappings ambiguous, [`TabularError::TooManyColumns`] beyond XLSX's
/// 16,384 columns, [`TabularError::XlsxWrite`] for an invalid sheet name, and output errors.
pub fn writer<'a, W: Write + Send + 'a>(
    format: Format,
    out: W,
    headers: &[String],
    options: &WriteOptions,
) -> Result<Box<dyn RowSink + Send + 'a>, TabularError> {
    check_headers(headers)?;
    Ok(match format {
        Format::Csv => Box::new(csv_sink::CsvSink::new(out, headers)?),
        Format::Json => Box::new(json_sink::JsonSink::new(out, headers)?),
        Format::Xlsx => Box::new(xlsx_sink::XlsxSink::new(out, headers, options)?),
    })
}

/// The same rules an import applies to its header, so an export can always be imported back.
fn check_headers(headers: &[String]) -> Result<(), TabularError> {
    let mut seen = HashSet::with_capacity(headers.len());
    for (index, name) in headers.iter().enumerate() {
        let column = index + 1;
        if name.trim().is_empty() {
            return Err(TabularError::EmptyHeader { column });
        }
        if !seen.insert(name.trim()) {
            let first = headers
                .iter()
                .position(|other| other.trim() == name.trim())
                .map_or(column, |position| position + 1);
            return Err(TabularError::DuplicateHeader {
                column,
                first,
                name: name.clone(),
            });
        }
    }
    Ok(())
}

/// Rejects a row that would not line up with the header.
fn check_width(expected: usize, cells: &[Cell]) -> Result<(), TabularError> {
    if cells.len() == expected {
        Ok(())
    } else {
        Err(TabularError::RowWidth {
            expected,
            found: cells.len(),
        })
    }
}

/// Makes text safe to open in a spreadsheet program from CSV, where a cell starting with `=`,
/// `+`, `-` or `@` (or a tab or carriage return before one) is taken as a formula that can run
/// commands or leak data ("CSV injection").
///
/// Such text gets a leading `'`, which spreadsheets show as text. Text whose remainder after the
/// first character is only digits (any script, so Persian digits too), spaces, `-`, `.`, `(` and
/// `)` is left alone: it cannot name a cell or call a function, and it covers phone numbers
/// (`+989121234567`, `+98 (912) 123-4567`) and negative amounts (`-12`, `-12.50`), which must
/// stay clean for re-import.
pub fn neutralize_formula(text: &str) -> Cow<'_, str> {
    let mut chars = text.chars();
    let risky = matches!(chars.next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'));
    let numeric_rest = chars.all(|c| c.is_numeric() || matches!(c, ' ' | '-' | '.' | '(' | ')'));
    if risky && !numeric_rest {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized() {
        for text in [
            "=1+1",
            "=HYPERLINK(\"http://x\")",
            "+A1",
            "-2+3+cmd|' /C calc'!A0",
            "@SUM(A1:A2)",
            "\t=1",
            "\r=1",
            "-1e5",
        ] {
            assert_eq!(neutralize_formula(text), format!("'{text}"), "{text:?}");
        }
    }

    #[test]
    fn numbers_phones_and_plain_text_are_left_alone() {
        for text in [
            "+989121234567",
            "+98 (912) 123-4567",
            "-12",
            "-12.50",
            "+۹۸۹۱۲۱۲۳۴۵۶۷",
            "-",
            "=",
            "",
            "علی",
            "a=b",
            "0912-123-4567",
        ] {
            assert_eq!(neutralize_formula(text), text, "{text:?}");
        }
    }

    #[test]
    fn headers_must_be_named_and_distinct() {
        let headers = |names: &[&str]| names.iter().map(|&n| n.to_owned()).collect::<Vec<_>>();
        assert!(check_headers(&headers(&["a", "b"])).is_ok());
        assert_eq!(
            check_headers(&headers(&["a", " "])).unwrap_err().code(),
            "empty_header"
        );
        assert!(matches!(
            check_headers(&headers(&["a", "b", "a "])).unwrap_err(),
            TabularError::DuplicateHeader {
                column: 3,
                first: 1,
                ..
            }
        ));
    }
}
