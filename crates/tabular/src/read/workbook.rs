//! XLSX imports.
//!
//! The package is first checked for zip bombs (see [`archive`]): calamine loads the shared-string
//! table and the styles whole when it opens a workbook, so their size must be known to be safe
//! before it does. The worksheet is then streamed cell by cell instead of loaded as a whole
//! range, so the row, column and memory limits stop an oversized sheet before its cells are all
//! in memory.

mod archive;

use std::io::Cursor;

use calamine::{DataRef, ExcelDateTime, Reader, SheetType, SheetVisible, Xlsx, XlsxError};
use zip::ZipArchive;

use super::{Assembler, InputSheet, ReadLimits};
use crate::TabularError;

pub(super) fn read(bytes: &[u8], limits: &ReadLimits) -> Result<InputSheet, TabularError> {
    let mut package = match ZipArchive::new(Cursor::new(bytes)) {
        Ok(package) => package,
        // Not a ZIP archive, so calamine, which opens it the same way, fails too; its error tells
        // a password-protected workbook (an OLE file) from other files.
        Err(error) => {
            let error = Xlsx::new(Cursor::new(bytes))
                .err()
                .unwrap_or(XlsxError::Zip(error));
            return Err(unreadable(error));
        }
    };
    archive::check(&mut package, limits)?;
    // Before calamine builds its own copy of the directory.
    drop(package);
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let sheet = first_worksheet(&workbook)?;
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(unreadable)?;
    let mut assembler = Assembler::new(limits);
    // The 0-based index of the row being gathered, and its cells so far.
    let mut gathering: Option<u32> = None;
    let mut values: Vec<String> = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, column) = cell.get_position();
        if gathering != Some(row) {
            if let Some(done) = gathering {
                if row < done {
                    return Err(TabularError::Unreadable {
                        reason: format!("row {} is stored after row {}", row + 1, done + 1),
                    });
                }
                assembler.push(row_number(done), std::mem::take(&mut values))?;
            }
            gathering = Some(row);
        }
        // Blank cells (styled, or formulas returning "") are skipped before the width check:
        // they may lie anywhere, and are what "trailing empty columns" consist of.
        let text = cell_text(cell.get_value(), row, column)?;
        if text.is_empty() {
            continue;
        }
        // Checked before growing `values`, so a value far to the right is refused without
        // allocating up to its column.
        let index = column as usize;
        if index >= assembler.width() {
            return Err(assembler.overflow(row_number(row), index));
        }
        if values.len() <= index {
            values.resize(index + 1, String::new());
        }
        values[index] = text;
    }
    if let Some(done) = gathering {
        assembler.push(row_number(done), values)?;
    }
    assembler.finish()
}

/// The first visible worksheet, as a user opening the file would see it; hidden sheets usually
/// hold lookup lists. A workbook whose worksheets are all hidden falls back to the first one.
fn first_worksheet(workbook: &Xlsx<Cursor<&[u8]>>) -> Result<String, TabularError> {
    let worksheets = || {
        workbook
            .sheets_metadata()
            .iter()
            .filter(|sheet| sheet.typ == SheetType::WorkSheet)
    };
    worksheets()
        .find(|sheet| sheet.visible == SheetVisible::Visible)
        .or_else(|| worksheets().next())
        .map(|sheet| sheet.name.clone())
        .ok_or_else(|| TabularError::Unreadable {
            reason: "the workbook has no worksheet".to_owned(),
        })
}

fn row_number(index: u32) -> usize {
    index as usize + 1
}

/// The text a user sees for a cell, independent of its number format: phone numbers stored as
/// numbers must not come back as `9.12E+09` or `9121234567.0`.
fn cell_text(value: &DataRef<'_>, row: u32, column: u32) -> Result<String, TabularError> {
    Ok(match value {
        DataRef::String(text) | DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => {
            text.clone()
        }
        DataRef::SharedString(text) => (*text).to_owned(),
        DataRef::Int(number) => number.to_string(),
        DataRef::Float(number) => float_text(*number),
        DataRef::Bool(flag) => flag.to_string(),
        DataRef::DateTime(datetime) => datetime_text(datetime),
        DataRef::Error(error) => {
            return Err(TabularError::ErrorCell {
                row: row_number(row),
                column: column as usize + 1,
                cell: format!("{}{}", column_letters(column), row_number(row)),
                value: error.to_string(),
            })
        }
        DataRef::Empty => String::new(),
    })
}

/// Shortest text that parses back to the same number, with no `.0` on whole numbers and no
/// exponent (Rust's `Display` for `f64` does both); `-0` is shown as `0` as Excel does.
fn float_text(number: f64) -> String {
    if number == 0.0 {
        "0".to_owned()
    } else {
        number.to_string()
    }
}

/// ISO 8601 text for a date-formatted cell: `YYYY-MM-DD` for a whole day, `YYYY-MM-DDTHH:MM:SS`
/// (with `.mmm` only when there are milliseconds) when it has a time, `HH:MM:SS` for a time with
/// no date (a serial value below 1, which Excel shows as a time of its day 0), and a duration such as `PT36H5M0S` for elapsed-time formats like
/// `[h]:mm:ss` (the same form calamine gives for durations in other formats).
fn datetime_text(datetime: &ExcelDateTime) -> String {
    if datetime.is_duration() {
        return duration_text(datetime.as_f64());
    }
    let (year, month, day, hour, minute, second, milli) = datetime.to_ymd_hms_milli();
    let mut time = format!("{hour:02}:{minute:02}:{second:02}");
    if milli != 0 {
        time.push_str(&format!(".{milli:03}"));
    }
    if (0.0..1.0).contains(&datetime.as_f64()) {
        time
    } else if (hour, minute, second, milli) == (0, 0, 0, 0) {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{time}")
    }
}

/// An ISO 8601 duration from a number of days, to whole seconds.
fn duration_text(days: f64) -> String {
    let total = (days * 86_400.0).round();
    let sign = if total < 0.0 { "-" } else { "" };
    // Saturates on absurd values instead of wrapping; a float-to-int `as` cast never panics.
    let seconds = total.abs() as u64;
    format!(
        "{sign}PT{}H{}M{}S",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Excel's column letters for a 0-based column index: 0 is `A`, 25 `Z`, 26 `AA`.
fn column_letters(column: u32) -> String {
    let mut letters = Vec::new();
    let mut rest = column as u64 + 1;
    while rest > 0 {
        let digit = (rest - 1) % 26;
        letters.push(char::from(b'A' + digit as u8));
        rest = (rest - 1) / 26;
    }
    letters.iter().rev().collect()
}

fn unreadable(error: XlsxError) -> TabularError {
    let reason = match error {
        XlsxError::Zip(_) => {
            "it is not an XLSX workbook (not a ZIP archive); old .xls files must be saved as .xlsx"
                .to_owned()
        }
        XlsxError::Password => "the workbook is password-protected".to_owned(),
        other => format!("the workbook is damaged or not an XLSX file ({other})"),
    };
    TabularError::Unreadable { reason }
}

#[cfg(test)]
mod tests {
    use calamine::ExcelDateTimeType;

    use super::*;

    fn date(value: f64) -> String {
        datetime_text(&ExcelDateTime::new(
            value,
            ExcelDateTimeType::DateTime,
            false,
        ))
    }

    #[test]
    fn column_letters_follow_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(2), "C");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(column_letters(16_383), "XFD");
    }

    #[test]
    fn floats_read_as_users_see_them() {
        assert_eq!(float_text(9_121_234_567.0), "9121234567");
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float_text(12.5), "12.5");
        assert_eq!(float_text(-0.0), "0");
        assert_eq!(float_text(-3.0), "-3");
    }

    #[test]
    fn dates_times_and_durations() {
        assert_eq!(date(45_943.0), "2025-10-13");
        assert_eq!(date(45_943.5), "2025-10-13T12:00:00");
        assert_eq!(date(45_943.541), "2025-10-13T12:59:02.400");
        assert_eq!(date(0.75), "18:00:00");
        let duration = ExcelDateTime::new(1.5 + 5.0 / 1440.0, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(datetime_text(&duration), "PT36H5M0S");
        assert_eq!(duration_text(-0.5), "-PT12H0M0S");
    }
}
