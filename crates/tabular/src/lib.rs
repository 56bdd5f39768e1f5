//! Spreadsheet interchange for imports and exports: reading CSV and XLSX into rows of text, and
//! writing rows to CSV, XLSX and JSON.
//!
//! Imports come from people's own spreadsheets, so [`read`] turns every cell into the text a
//! user would see and keeps the spreadsheet row number of each row: validation downstream can
//! then point at "row 7, column Phone" in words the user recognises. Exports can be a whole
//! customer base, so [`writer`] returns a [`RowSink`] that streams rows out instead of building
//! the file in memory.
//!
//! # Contracts callers rely on
//!
//! * **Row numbers** are the row a spreadsheet program shows: the header is normally row 1 and
//!   the first data row row 2. Blank rows still take up a number (they are visible rows in
//!   Excel), and a quoted CSV cell spanning several physical lines is still one row.
//! * **Empty rows** (every cell empty, including `,,,` in CSV) are skipped on reading, before the
//!   header as well as after it.
//! * **Trailing empty columns** are tolerated: empty header cells at the right end are dropped, and
//!   data cells beyond the header are accepted when they are empty. Excel writes such columns
//!   when a user clears a column instead of deleting it. A non-empty cell beyond the header is a
//!   [`TabularError::RaggedRow`].
//! * **XLSX cells as text** are what a user sees, whatever the number format: numbers in their
//!   shortest exact form with no `.0` and no exponent (`9121234567`, `12.5`), booleans as
//!   `true`/`false`, dates as ISO 8601 `YYYY-MM-DD`, date-times as `YYYY-MM-DDTHH:MM:SS`, times
//!   without a date as `HH:MM:SS`, elapsed times as ISO 8601 durations (`PT36H5M0S`). A cell
//!   holding an error such as `#DIV/0!` is a [`TabularError::ErrorCell`] naming the cell.
//! * **CSV formula injection**: text written to CSV that starts with `=`, `+`, `-`, `@`, tab or
//!   carriage return gets a leading `'`, unless the rest of the text is only digits, spaces,
//!   dashes, dots and parentheses (phone numbers such as `+98 912 123 4567`, amounts such as
//!   `-12.50`). Reading does not remove the quote: it cannot tell it from user data. XLSX output
//!   stores text as string cells, which spreadsheet programs never evaluate, so it is not
//!   prefixed. See [`neutralize_formula`].

mod error;
mod read;
mod write;

pub use error::TabularError;
pub use read::{read, InputRow, InputSheet, ReadLimits};
pub use write::{neutralize_formula, writer, Cell, RowSink, WriteOptions};

use std::fmt;

/// A file format for imports and exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values (`;` and tab are detected on reading).
    Csv,
    /// Office Open XML workbook, as written by Excel, LibreOffice and Google Sheets.
    Xlsx,
    /// A JSON array of objects; export only.
    Json,
}

impl Format {
    /// Every format, in the order they are offered to users.
    pub const ALL: [Format; 3] = [Format::Csv, Format::Xlsx, Format::Json];

    /// Parses a format name as it appears in a query string or file extension (`csv`, `xlsx`,
    /// `json`). ASCII case and surrounding whitespace are ignored, because names arrive from URLs
    /// and file names typed by people.
    pub fn from_name(name: &str) -> Option<Format> {
        let name = name.trim();
        Format::ALL
            .into_iter()
            .find(|format| format.extension().eq_ignore_ascii_case(name))
    }

    /// The file extension, without the dot; also the format's name.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
        }
    }

    /// The MIME type for a `Content-Type` header of a download in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in Format::ALL {
            assert_eq!(Format::from_name(format.extension()), Some(format));
            assert_eq!(format.to_string(), format.extension());
        }
        assert_eq!(Format::from_name(" XLSX "), Some(Format::Xlsx));
        assert_eq!(Format::from_name("xls"), None);
        assert_eq!(Format::from_name(""), None);
    }

    #[test]
    fn content_types() {
        assert_eq!(Format::Csv.content_type(), "text/csv; charset=utf-8");
        assert_eq!(
            Format::Xlsx.content_type(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert_eq!(Format::Json.content_type(), "application/json");
    }
}
