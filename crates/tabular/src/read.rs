//! Reading imports: both formats feed their rows, already turned into text, through one
//! [`Assembler`] so that header rules, empty-row skipping and limits behave identically for CSV
//! and XLSX.

mod delimited;
mod workbook;

use std::collections::HashMap;

use crate::{Format, TabularError};

/// One data row of an input sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRow {
    /// The 1-based row number a spreadsheet program shows for this row: the header is normally
    /// row 1 and the first data row row 2. Blank rows count, so numbers can have gaps.
    pub number: usize,
    /// Exactly one cell per header, in header order; missing cells are empty strings. Cells are
    /// not trimmed: whitespace may be meaningful and is the validator's call.
    pub cells: Vec<String>,
}

/// An import as text: the header names and the non-empty data rows below them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSheet {
    /// Column names from the first non-empty row, trimmed, non-empty and distinct.
    pub headers: Vec<String>,
    /// Data rows in file order, empty rows left out.
    pub rows: Vec<InputRow>,
}

/// Bounds on what an import may contain, so one upload cannot exhaust memory or hold a worker
/// for long. Exceeding one is an error, never a silent truncation: a partial import would look
/// like success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Most data rows (the header does not count).
    pub max_rows: usize,
    /// Most header columns.
    pub max_columns: usize,
    /// Most characters (Unicode scalar values, not bytes) in one cell, header cells included.
    pub max_cell_chars: usize,
    /// Most bytes of memory the rows may take: their text plus the bookkeeping of every cell,
    /// empty ones included (each row has one cell per header). The row, column and cell limits
    /// multiply to far more than a server has.
    pub max_sheet_bytes: usize,
    /// XLSX: most bytes all parts of the workbook together may unpack to. Checked against the
    /// sizes the archive declares before unpacking anything, and again while unpacking, since
    /// declared sizes can lie.
    pub max_unpacked_bytes: u64,
    /// XLSX: most times a part may unpack to its compressed size. Spreadsheet XML compresses
    /// about ten to one; zip bombs a thousand to one. Parts that unpack to at most 1 MiB are
    /// exempt.
    pub max_compression_ratio: u64,
    /// XLSX: most strings in the shared-string table, declared or actual. calamine keeps the
    /// whole table in memory, about 50 bytes per string on top of its text.
    pub max_shared_strings: usize,
    /// XLSX: most bytes the shared-string table may unpack to; a bound on the text it holds.
    pub max_shared_strings_bytes: u64,
}

impl ReadLimits {
    /// The defaults: generous for a workstation-sized import, each a bound on memory or time.
    pub const DEFAULT: ReadLimits = ReadLimits {
        max_rows: 1_000_000,
        max_columns: 200,
        max_cell_chars: 10_000,
        max_sheet_bytes: 1 << 30,
        max_unpacked_bytes: 1 << 30,
        max_compression_ratio: 100,
        max_shared_strings: 2_000_000,
        max_shared_strings_bytes: 128 << 20,
    };
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits::DEFAULT
    }
}

/// Reads an uploaded CSV or XLSX file into text rows.
///
/// CSV must be UTF-8 (a byte-order mark is allowed); its delimiter is detected from the header
/// among `,`, `;` and tab. XLSX is read from its first visible worksheet, with every cell turned
/// into the text a user sees for it (see the crate documentation for numbers and dates).
///
/// # Errors
///
/// [`TabularError::UnsupportedFormat`] for [`Format::Json`]; otherwise any reading error, each
/// naming the row and column where it has one.
pub fn read(bytes: &[u8], format: Format, limits: &ReadLimits) -> Result<InputSheet, TabularError> {
    match format {
        Format::Csv => delimited::read(bytes, limits),
        Format::Xlsx => workbook::read(bytes, limits),
        Format::Json => Err(TabularError::UnsupportedFormat { format }),
    }
}

/// Builds an [`InputSheet`] from rows of text, applying the rules shared by every format.
struct Assembler<'a> {
    limits: &'a ReadLimits,
    /// `None` until the first non-empty row has been taken as the header.
    headers: Option<Vec<String>>,
    rows: Vec<InputRow>,
    /// Memory the header and rows take, as counted by [`Assembler::charge`].
    bytes: usize,
}

impl<'a> Assembler<'a> {
    fn new(limits: &'a ReadLimits) -> Self {
        Assembler {
            limits,
            headers: None,
            rows: Vec::new(),
            bytes: 0,
        }
    }

    /// How many cells of a row are kept: readers may ignore empty cells at or beyond this index
    /// without building them, and must call [`Assembler::overflow`] for a non-empty one.
    fn width(&self) -> usize {
        self.headers
            .as_ref()
            .map_or(self.limits.max_columns, Vec::len)
    }

    /// The error for a non-empty cell at 0-based `index` ≥ [`Assembler::width`] on row `number`.
    fn overflow(&self, number: usize, index: usize) -> TabularError {
        match &self.headers {
            Some(headers) => TabularError::RaggedRow {
                row: number,
                expected: headers.len(),
                found: index + 1,
            },
            None => TabularError::TooManyColumns {
                max: self.limits.max_columns,
            },
        }
    }

    /// Adds the row shown as row `number`; the first non-empty row becomes the header.
    fn push(&mut self, number: usize, mut cells: Vec<String>) -> Result<(), TabularError> {
        let Some(last) = cells.iter().rposition(|cell| !cell.is_empty()) else {
            return Ok(());
        };
        cells.truncate(last + 1);
        let width = self.width();
        if cells.len() > width {
            return Err(self.overflow(number, cells.len() - 1));
        }
        self.check_lengths(number, &cells)?;
        match &self.headers {
            None => {
                let headers = header_names(cells)?;
                self.charge(&headers, 0)?;
                self.headers = Some(headers);
            }
            Some(_) => {
                if self.rows.len() == self.limits.max_rows {
                    return Err(TabularError::TooManyRows {
                        max: self.limits.max_rows,
                    });
                }
                // Charged before padding, so a row that would not fit is never widened.
                self.charge(&cells, width - cells.len())?;
                cells.resize(width, String::new());
                self.rows.push(InputRow { number, cells });
            }
        }
        Ok(())
    }

    /// Counts a row of `cells` followed by `padding` empty cells against
    /// [`ReadLimits::max_sheet_bytes`]: each cell's text plus the `String` holding it, and the
    /// row's own entry in the list.
    fn charge(&mut self, cells: &[String], padding: usize) -> Result<(), TabularError> {
        let text: usize = cells.iter().map(String::len).sum();
        let row = size_of::<InputRow>()
            .saturating_add((cells.len() + padding).saturating_mul(size_of::<String>()))
            .saturating_add(text);
        self.bytes = self.bytes.saturating_add(row);
        if self.bytes > self.limits.max_sheet_bytes {
            return Err(TabularError::SheetTooLarge {
                max: self.limits.max_sheet_bytes,
            });
        }
        Ok(())
    }

    fn check_lengths(&self, number: usize, cells: &[String]) -> Result<(), TabularError> {
        let max = self.limits.max_cell_chars;
        // A string of at most `max` bytes has at most `max` characters: skip the count for the
        // common short cell.
        match cells
            .iter()
            .position(|cell| cell.len() > max && cell.chars().count() > max)
        {
            Some(index) => Err(TabularError::CellTooLong {
                row: number,
                column: index + 1,
                max,
            }),
            None => Ok(()),
        }
    }

    fn finish(self) -> Result<InputSheet, TabularError> {
        let headers = self.headers.ok_or(TabularError::NoHeader)?;
        Ok(InputSheet {
            headers,
            rows: self.rows,
        })
    }
}

/// Trims header names and rejects blank or repeated ones, which would make columns impossible to
/// map by name. `cells` has no trailing empty cell.
fn header_names(cells: Vec<String>) -> Result<Vec<String>, TabularError> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(cells.len());
    let mut names = Vec::with_capacity(cells.len());
    for (index, cell) in cells.into_iter().enumerate() {
        let column = index + 1;
        let name = cell.trim();
        if name.is_empty() {
            return Err(TabularError::EmptyHeader { column });
        }
        if let Some(&first) = seen.get(name) {
            return Err(TabularError::DuplicateHeader {
                column,
                first,
                name: name.to_owned(),
            });
        }
        seen.insert(name.to_owned(), column);
        names.push(name.to_owned());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|cell| (*cell).to_owned()).collect()
    }

    #[test]
    fn first_non_empty_row_is_the_header_and_trailing_empties_are_dropped() {
        let limits = ReadLimits::default();
        let mut assembler = Assembler::new(&limits);
        assembler.push(1, texts(&["", ""])).unwrap();
        assembler.push(2, texts(&[" name ", "phone", ""])).unwrap();
        assembler.push(3, texts(&["a", "", "", ""])).unwrap();
        let sheet = assembler.finish().unwrap();
        assert_eq!(sheet.headers, texts(&["name", "phone"]));
        assert_eq!(
            sheet.rows,
            vec![InputRow {
                number: 3,
                cells: texts(&["a", ""])
            }]
        );
    }

    #[test]
    fn header_errors_name_the_column() {
        let error = header_names(texts(&["a", " ", "b"])).unwrap_err();
        assert_eq!(error.code(), "empty_header");
        assert_eq!(error.column(), Some(2));

        let error = header_names(texts(&["a", "b", " a"])).unwrap_err();
        assert!(matches!(
            error,
            TabularError::DuplicateHeader { column: 3, first: 1, ref name } if name == "a"
        ));
    }

    #[test]
    fn nothing_but_empty_rows_has_no_header() {
        let limits = ReadLimits::default();
        let mut assembler = Assembler::new(&limits);
        assembler.push(1, texts(&["", ""])).unwrap();
        assert_eq!(assembler.finish().unwrap_err().code(), "no_header");
    }

    #[test]
    fn character_limit_counts_characters_not_bytes() {
        let limits = ReadLimits {
            max_cell_chars: 3,
            ..ReadLimits::default()
        };
        let mut assembler = Assembler::new(&limits);
        assembler.push(1, texts(&["نام"])).unwrap();
        let error = assembler.push(2, texts(&["abcd"])).unwrap_err();
        assert!(matches!(
            error,
            TabularError::CellTooLong {
                row: 2,
                column: 1,
                max: 3
            }
        ));
    }
}
