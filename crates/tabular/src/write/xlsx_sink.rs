//! XLSX exports in rust_xlsxwriter's constant-memory mode: each row goes to a temporary file as
//! soon as the next one starts, and the ZIP package is assembled into the output at the end.

use std::io::{BufWriter, Write};

use rust_xlsxwriter::{ColNum, Format as XlsxFormat, RowNum, Workbook, Worksheet};

use super::{check_width, Cell, RowSink, WriteOptions};
use crate::TabularError;

/// The last row index Excel has (1,048,576 rows); row 0 is the header.
const LAST_ROW: RowNum = 1_048_575;
/// Excel's column count.
const MAX_COLUMNS: usize = 16_384;
/// Integers within ±2^53 are exact in Excel's IEEE doubles; larger ones are written as text.
const EXACT_INTEGER: i64 = 1 << 53;
/// Column widths, in Excel's character units, fitted to the header name within these bounds.
const MIN_WIDTH: usize = 10;
const MAX_WIDTH: usize = 50;

pub(super) struct XlsxSink<W: Write + Send> {
    workbook: Workbook,
    out: W,
    width: usize,
    next_row: RowNum,
}

impl<W: Write + Send> XlsxSink<W> {
    pub(super) fn new(
        out: W,
        headers: &[String],
        options: &WriteOptions,
    ) -> Result<Self, TabularError> {
        if headers.len() > MAX_COLUMNS {
            return Err(TabularError::TooManyColumns { max: MAX_COLUMNS });
        }
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(&options.sheet_name)?;
        sheet.set_right_to_left(options.right_to_left);
        // Freeze everything above row 1 (0-based), i.e. the header.
        sheet.set_freeze_panes(1, 0)?;
        let bold = XlsxFormat::new().set_bold();
        for (index, name) in headers.iter().enumerate() {
            let column = column_number(index)?;
            let width = name
                .chars()
                .count()
                .saturating_add(2)
                .clamp(MIN_WIDTH, MAX_WIDTH);
            sheet.set_column_width(column, width as f64)?;
            sheet.write_string_with_format(0, column, name, &bold)?;
        }
        Ok(XlsxSink {
            workbook,
            out,
            width: headers.len(),
            next_row: 1,
        })
    }
}

impl<W: Write + Send> RowSink for XlsxSink<W> {
    fn write_row(&mut self, cells: &[Cell]) -> Result<(), TabularError> {
        check_width(self.width, cells)?;
        if self.next_row > LAST_ROW {
            return Err(TabularError::TooManyRows {
                max: LAST_ROW as usize,
            });
        }
        let row = self.next_row;
        let sheet = self.workbook.worksheet_from_index(0)?;
        for (index, cell) in cells.iter().enumerate() {
            write_cell(sheet, row, column_number(index)?, cell)?;
        }
        self.next_row += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), TabularError> {
        let mut out = BufWriter::new(&mut self.out);
        self.workbook.save_to_writer(&mut out)?;
        out.flush()?;
        Ok(())
    }
}

/// Text is stored as a string cell, which Excel never evaluates, so unlike CSV it needs no
/// formula prefix. Empty values are left as absent cells, which read back as empty.
fn write_cell(
    sheet: &mut Worksheet,
    row: RowNum,
    column: ColNum,
    cell: &Cell,
) -> Result<(), TabularError> {
    match cell {
        Cell::Null => {}
        Cell::Text(text) if text.is_empty() => {}
        Cell::Text(text) => {
            sheet.write_string(row, column, text)?;
        }
        Cell::Integer(number) if (-EXACT_INTEGER..=EXACT_INTEGER).contains(number) => {
            // Exact: the range check above keeps the value within f64's integer precision.
            sheet.write_number(row, column, *number as f64)?;
        }
        Cell::Integer(number) => {
            sheet.write_string(row, column, number.to_string())?;
        }
        Cell::Bool(flag) => {
            sheet.write_boolean(row, column, *flag)?;
        }
    }
    Ok(())
}

fn column_number(index: usize) -> Result<ColNum, TabularError> {
    ColNum::try_from(index).map_err(|_| TabularError::TooManyColumns { max: MAX_COLUMNS })
}
