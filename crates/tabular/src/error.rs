use thiserror::Error;

use crate::Format;

/// Everything that can go wrong reading or writing a sheet.
///
/// Import errors carry the 1-based spreadsheet `row` and `column` where they apply (see
/// [`TabularError::row`] and [`TabularError::column`]) so an API can report them as a problem
/// on a particular cell, and every variant has a stable [`TabularError::code`] that clients can
/// translate without parsing the English message.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TabularError {
    /// The format cannot be used this way: JSON is written for exports but never read.
    #[error("{format} files cannot be imported; use CSV or XLSX")]
    UnsupportedFormat { format: Format },
    /// The bytes are not a file of the stated format at all (for example a `.xls` or a PDF
    /// uploaded as XLSX), or the workbook is damaged or password-protected.
    #[error("the file could not be read: {reason}")]
    Unreadable { reason: String },
    /// The file has no non-empty row, so there is no header to name the columns.
    #[error("the file has no header row")]
    NoHeader,
    /// A CSV cell is not UTF-8, which almost always means the file was saved in a legacy code
    /// page (Windows-1256 for Persian) instead of "CSV UTF-8".
    #[error("row {row}, column {column} is not UTF-8 text; save the file as \"CSV UTF-8\"")]
    NotUtf8 { row: usize, column: usize },
    /// A header cell is blank although columns to its right have names.
    #[error("header column {column} has no name")]
    EmptyHeader { column: usize },
    /// Two header cells have the same name, so values could not be told apart by name.
    #[error("header column {column} (\"{name}\") has the same name as column {first}")]
    DuplicateHeader {
        column: usize,
        first: usize,
        name: String,
    },
    /// A data row has a non-empty cell to the right of the last header column. `found` counts
    /// the row's cells up to its last non-empty one.
    #[error("row {row} has {found} cells but the header has only {expected} columns")]
    RaggedRow {
        row: usize,
        expected: usize,
        found: usize,
    },
    /// More data rows than [`crate::ReadLimits::max_rows`] on import, or than an XLSX sheet can
    /// hold on export.
    #[error("the file has more than {max} data rows")]
    TooManyRows { max: usize },
    /// More header columns than [`crate::ReadLimits::max_columns`] on import, or than an XLSX
    /// sheet can hold on export.
    #[error("the file has more than {max} columns")]
    TooManyColumns { max: usize },
    /// A cell holds more than [`crate::ReadLimits::max_cell_chars`] characters.
    #[error("row {row}, column {column} is longer than {max} characters")]
    CellTooLong {
        row: usize,
        column: usize,
        max: usize,
    },
    /// The rows read so far take more memory than [`crate::ReadLimits::max_sheet_bytes`]: many
    /// long cells, or many columns that every row pads with empty cells.
    #[error("the sheet needs more than {max} bytes of memory; split it into smaller files")]
    SheetTooLarge { max: usize },
    /// The parts of an XLSX workbook unpack to more than
    /// [`crate::ReadLimits::max_unpacked_bytes`], by their declared sizes or while unpacking.
    #[error("the workbook unpacks to more than {max} bytes")]
    UnpackedTooLarge { max: u64 },
    /// A part of an XLSX workbook is compressed more than
    /// [`crate::ReadLimits::max_compression_ratio`] to one, as zip bombs are and spreadsheets
    /// are not.
    #[error("the workbook part {part} is compressed more than {max} to 1, like a zip bomb")]
    CompressionRatio { part: String, max: u64 },
    /// The shared-string table of an XLSX workbook declares or holds more strings than
    /// [`crate::ReadLimits::max_shared_strings`].
    #[error("the workbook has more than {max} shared strings")]
    TooManySharedStrings { max: usize },
    /// The shared-string table of an XLSX workbook unpacks to more than
    /// [`crate::ReadLimits::max_shared_strings_bytes`].
    #[error("the workbook's shared strings unpack to more than {max} bytes")]
    SharedStringsTooLarge { max: u64 },
    /// A part of an XLSX workbook holds one XML item (a tag, a text, or the text of one string
    /// or cell value) longer than any spreadsheet program writes.
    #[error("the workbook part {part} holds a single XML item longer than {max} bytes")]
    XmlItemTooLarge { part: String, max: u64 },
    /// An XLSX cell holds a spreadsheet error such as `#DIV/0!` or `#REF!` instead of a value;
    /// `cell` is its A1 reference.
    #[error("cell {cell} holds the spreadsheet error {value} instead of a value")]
    ErrorCell {
        row: usize,
        column: usize,
        cell: String,
        value: String,
    },
    /// A row given to a [`crate::RowSink`] does not have one cell per header: a programming
    /// error in the exporter, reported rather than writing a misaligned file.
    #[error("an exported row has {found} cells but there are {expected} headers")]
    RowWidth { expected: usize, found: usize },
    /// Writing the output failed (disk full, client gone, temp directory not writable, ...).
    #[error("could not write the file: {0}")]
    Io(#[from] std::io::Error),
    /// The XLSX library refused the workbook, for example an invalid sheet name or a text cell
    /// longer than Excel's 32,767 characters.
    #[error("could not build the XLSX file: {reason}")]
    XlsxWrite { reason: String },
}

impl TabularError {
    /// A stable snake_case identifier of the kind of problem, for API clients and translations.
    pub fn code(&self) -> &'static str {
        match self {
            TabularError::UnsupportedFormat { .. } => "unsupported_format",
            TabularError::Unreadable { .. } => "unreadable",
            TabularError::NoHeader => "no_header",
            TabularError::NotUtf8 { .. } => "not_utf8",
            TabularError::EmptyHeader { .. } => "empty_header",
            TabularError::DuplicateHeader { .. } => "duplicate_header",
            TabularError::RaggedRow { .. } => "ragged_row",
            TabularError::TooManyRows { .. } => "too_many_rows",
            TabularError::TooManyColumns { .. } => "too_many_columns",
            TabularError::CellTooLong { .. } => "cell_too_long",
            TabularError::SheetTooLarge { .. } => "sheet_too_large",
            TabularError::UnpackedTooLarge { .. } => "unpacked_too_large",
            TabularError::CompressionRatio { .. } => "compression_ratio_too_high",
            TabularError::TooManySharedStrings { .. } => "too_many_shared_strings",
            TabularError::SharedStringsTooLarge { .. } => "shared_strings_too_large",
            TabularError::XmlItemTooLarge { .. } => "xml_item_too_large",
            TabularError::ErrorCell { .. } => "error_cell",
            TabularError::RowWidth { .. } => "row_width",
            TabularError::Io(_) => "io",
            TabularError::XlsxWrite { .. } => "xlsx_write",
        }
    }

    /// The 1-based spreadsheet row the problem is on, when it is about one row.
    pub fn row(&self) -> Option<usize> {
        match self {
            TabularError::NotUtf8 { row, .. }
            | TabularError::RaggedRow { row, .. }
            | TabularError::CellTooLong { row, .. }
            | TabularError::ErrorCell { row, .. } => Some(*row),
            _ => None,
        }
    }

    /// The 1-based column the problem is in, when it is about one column.
    pub fn column(&self) -> Option<usize> {
        match self {
            TabularError::NotUtf8 { column, .. }
            | TabularError::EmptyHeader { column }
            | TabularError::DuplicateHeader { column, .. }
            | TabularError::CellTooLong { column, .. }
            | TabularError::ErrorCell { column, .. } => Some(*column),
            _ => None,
        }
    }
}

impl From<csv::Error> for TabularError {
    /// The CSV writer fails only through its output; the reader never reaches this because it
    /// reads bytes from memory in flexible mode.
    fn from(error: csv::Error) -> Self {
        match error.into_kind() {
            csv::ErrorKind::Io(io) => TabularError::Io(io),
            other => TabularError::Io(std::io::Error::other(format!("{other:?}"))),
        }
    }
}

impl From<rust_xlsxwriter::XlsxError> for TabularError {
    /// Keeps rust_xlsxwriter out of the public API, so upgrading it is not a breaking change.
    fn from(error: rust_xlsxwriter::XlsxError) -> Self {
        match error {
            rust_xlsxwriter::XlsxError::IoError(io) => TabularError::Io(io),
            rust_xlsxwriter::XlsxError::TempFileError(dir, io) => TabularError::Io(
                std::io::Error::new(io.kind(), format!("temp file in {}: {io}", dir.display())),
            ),
            other => TabularError::XlsxWrite {
                reason: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_positions() {
        let error = TabularError::CellTooLong {
            row: 4,
            column: 2,
            max: 10,
        };
        assert_eq!(error.code(), "cell_too_long");
        assert_eq!(error.row(), Some(4));
        assert_eq!(error.column(), Some(2));
        assert_eq!(
            error.to_string(),
            "row 4, column 2 is longer than 10 characters"
        );

        let error = TabularError::TooManyRows { max: 3 };
        assert_eq!(error.code(), "too_many_rows");
        assert_eq!(error.row(), None);
        assert_eq!(error.column(), None);
    }

    #[test]
    fn xlsx_io_errors_stay_io() {
        let io = std::io::Error::other("disk full");
        let error = TabularError::from(rust_xlsxwriter::XlsxError::IoError(io));
        assert_eq!(error.code(), "io");
    }
}
