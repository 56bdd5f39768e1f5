//! CSV (and `;`- or tab-separated) imports.
//!
//! Row numbering follows what Excel shows when it opens the file: every record is one row even
//! when a quoted cell spans several lines, and every blank line is a (skipped) row of its own.
//! The csv crate drops blank lines without reporting them, so [`RowCounter`] recovers them from
//! the bytes between records.

use csv::{ByteRecord, ReaderBuilder};

use super::{Assembler, InputSheet, ReadLimits};
use crate::TabularError;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Delimiters tried on the header, in order of preference when they split it equally.
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

pub(super) fn read(bytes: &[u8], limits: &ReadLimits) -> Result<InputSheet, TabularError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut reader = reader(bytes, detect_delimiter(bytes));
    let mut assembler = Assembler::new(limits);
    let mut record = ByteRecord::new();
    let mut rows = RowCounter::default();
    while reader.read_byte_record(&mut record).map_err(unreadable)? {
        let end = usize::try_from(reader.position().byte()).unwrap_or(bytes.len());
        let number = rows.next(bytes, end);
        let width = assembler.width();
        if let Some(index) = record
            .iter()
            .skip(width)
            .position(|field| !field.is_empty())
        {
            return Err(assembler.overflow(number, width + index));
        }
        let cells = record
            .iter()
            .take(width)
            .enumerate()
            .map(|(index, field)| {
                String::from_utf8(field.to_vec()).map_err(|_| TabularError::NotUtf8 {
                    row: number,
                    column: index + 1,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        assembler.push(number, cells)?;
    }
    assembler.finish()
}

/// A reader that accepts rows of any length (the [`Assembler`] judges them) and treats `\r`,
/// `\n` and `\r\n` alike as line ends, so no stray `\r` is left at the end of a last cell.
fn reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes)
}

/// Picks the delimiter that splits the header (the first non-empty record) into the most
/// columns; `,` when none splits it.
///
/// Each candidate really parses the header, so a delimiter inside a quoted name does not count.
/// A single-column file whose header contains an unquoted `;` or tab is, unavoidably, split.
fn detect_delimiter(bytes: &[u8]) -> u8 {
    let mut best = (DELIMITERS[0], 0);
    for delimiter in DELIMITERS {
        let columns = header_columns(bytes, delimiter);
        if columns > best.1 {
            best = (delimiter, columns);
        }
    }
    best.0
}

/// How many columns the header has when split by `delimiter`, ignoring trailing empty ones.
///
/// A field made only of candidate delimiters counts as empty, so that a row of empty cells such
/// as `,,` is skipped by every candidate instead of passing as a one-column `;` header.
fn header_columns(bytes: &[u8], delimiter: u8) -> usize {
    let blank = |field: &[u8]| field.iter().all(|byte| DELIMITERS.contains(byte));
    let mut reader = reader(bytes, delimiter);
    let mut record = ByteRecord::new();
    while let Ok(true) = reader.read_byte_record(&mut record) {
        if let Some(last) = record.iter().rposition(|field| !blank(field)) {
            return last + 1;
        }
    }
    0
}

fn unreadable(error: csv::Error) -> TabularError {
    TabularError::Unreadable {
        reason: error.to_string(),
    }
}

/// Turns record positions into the row numbers a spreadsheet shows, counting the blank lines
/// the csv crate skips silently.
///
/// The csv reader stops right after the first byte of a record's line end, so the bytes from the
/// end of one record to the end of the next are: the rest of the previous line end (the `\n` of a
/// `\r\n`), any blank lines, then the record itself. Only that leading run of line-end bytes is
/// scanned, so counting costs nothing per ordinary record.
#[derive(Debug)]
struct RowCounter {
    /// The row number of the next record if no blank line comes before it.
    next_row: usize,
    /// Byte offset where the previous record ended.
    end: usize,
    /// The previous record ended on a `\r`, so a `\n` right after it belongs to that line end.
    after_cr: bool,
}

impl Default for RowCounter {
    fn default() -> Self {
        RowCounter {
            next_row: 1,
            end: 0,
            after_cr: false,
        }
    }
}

impl RowCounter {
    /// The row number of the record that the reader just finished at byte offset `end`.
    fn next(&mut self, bytes: &[u8], end: usize) -> usize {
        let span = bytes.get(self.end..end).unwrap_or_default();
        let mut rest = span;
        if self.after_cr {
            rest = rest.strip_prefix(b"\n").unwrap_or(rest);
        }
        let mut blank = 0_usize;
        loop {
            rest = match rest {
                [b'\r', b'\n', tail @ ..] | [b'\r' | b'\n', tail @ ..] => tail,
                _ => break,
            };
            blank += 1;
        }
        self.after_cr = span.last() == Some(&b'\r');
        self.end = end;
        let row = self.next_row.saturating_add(blank);
        self.next_row = row.saturating_add(1);
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(text: &str) -> InputSheet {
        read(text.as_bytes(), &ReadLimits::default()).unwrap()
    }

    fn numbers(sheet: &InputSheet) -> Vec<usize> {
        sheet.rows.iter().map(|row| row.number).collect()
    }

    #[test]
    fn row_numbers_count_blank_lines_but_not_embedded_line_breaks() {
        let sheet = sheet("a,b\r\n1,\"x\r\ny\r\nz\"\r\n\r\n\r\n2,w\r\n3,v\n");
        assert_eq!(numbers(&sheet), vec![2, 5, 6]);
        assert_eq!(sheet.rows[0].cells, vec!["1", "x\r\ny\r\nz"]);
    }

    #[test]
    fn blank_lines_before_the_header_count_too() {
        let sheet = sheet("\n\nname\nAli\n");
        assert_eq!(sheet.headers, vec!["name"]);
        assert_eq!(numbers(&sheet), vec![4]);
    }

    #[test]
    fn delimiter_inside_quotes_does_not_count() {
        assert_eq!(detect_delimiter(b"\"a;b;c\",d\n"), b',');
        assert_eq!(detect_delimiter(b"a;b;c,d\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(detect_delimiter(b"single\n"), b',');
        assert_eq!(detect_delimiter(b""), b',');
        assert_eq!(detect_delimiter(b",,\n;;\na;b\n"), b';');
    }

    #[test]
    fn lone_carriage_returns_end_lines() {
        let sheet = sheet("a,b\r1,2\r\r3,4");
        assert_eq!(numbers(&sheet), vec![2, 4]);
        assert_eq!(sheet.rows[0].cells, vec!["1", "2"]);
        assert_eq!(sheet.rows[1].cells, vec!["3", "4"]);
    }
}
