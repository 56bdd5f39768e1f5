//! CSV exports for Excel first: BOM, `\r\n`, minimal RFC 4180 quoting, formulas neutralized.

use std::io::Write;

use csv::{ByteRecord, QuoteStyle, Terminator, WriterBuilder};

use super::{check_width, neutralize_formula, Cell, RowSink};
use crate::TabularError;

/// The UTF-8 byte-order mark: Excel reads a CSV without it in the machine's legacy code page.
const BOM: &[u8] = b"\xEF\xBB\xBF";

pub(super) struct CsvSink<W: Write> {
    out: csv::Writer<W>,
    width: usize,
    /// Reused for every row so that writing does not allocate per row.
    record: ByteRecord,
}

impl<W: Write> CsvSink<W> {
    pub(super) fn new(mut out: W, headers: &[String]) -> Result<Self, TabularError> {
        out.write_all(BOM)?;
        let mut out = WriterBuilder::new()
            .quote_style(QuoteStyle::Necessary)
            .terminator(Terminator::CRLF)
            .from_writer(out);
        out.write_record(
            headers
                .iter()
                .map(|name| neutralize_formula(name).into_owned()),
        )?;
        Ok(CsvSink {
            out,
            width: headers.len(),
            record: ByteRecord::new(),
        })
    }
}

impl<W: Write> RowSink for CsvSink<W> {
    fn write_row(&mut self, cells: &[Cell]) -> Result<(), TabularError> {
        check_width(self.width, cells)?;
        self.record.clear();
        for cell in cells {
            match cell {
                Cell::Null => self.record.push_field(b""),
                Cell::Text(text) => self.record.push_field(neutralize_formula(text).as_bytes()),
                Cell::Integer(number) => self.record.push_field(number.to_string().as_bytes()),
                Cell::Bool(flag) => self
                    .record
                    .push_field(if *flag { b"true" } else { b"false" }),
            }
        }
        self.out.write_byte_record(&self.record)?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), TabularError> {
        self.out.flush()?;
        Ok(())
    }
}
