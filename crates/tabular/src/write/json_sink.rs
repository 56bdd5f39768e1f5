//! JSON exports: one array of objects, written object by object.

use std::io::{BufWriter, Write};

use super::{check_width, Cell, RowSink};
use crate::TabularError;

pub(super) struct JsonSink<W: Write> {
    out: BufWriter<W>,
    /// Header names already encoded as JSON strings, with the `:` that follows them.
    keys: Vec<Vec<u8>>,
    first: bool,
}

impl<W: Write> JsonSink<W> {
    pub(super) fn new(out: W, headers: &[String]) -> Result<Self, TabularError> {
        let keys = headers
            .iter()
            .map(|name| {
                let mut key = serde_json::to_vec(name).map_err(std::io::Error::from)?;
                key.push(b':');
                Ok(key)
            })
            .collect::<Result<Vec<_>, TabularError>>()?;
        let mut out = BufWriter::new(out);
        out.write_all(b"[")?;
        Ok(JsonSink {
            out,
            keys,
            first: true,
        })
    }
}

impl<W: Write> RowSink for JsonSink<W> {
    fn write_row(&mut self, cells: &[Cell]) -> Result<(), TabularError> {
        check_width(self.keys.len(), cells)?;
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.out.write_all(b"{")?;
        for (index, (key, cell)) in self.keys.iter().zip(cells).enumerate() {
            if index > 0 {
                self.out.write_all(b",")?;
            }
            self.out.write_all(key)?;
            match cell {
                Cell::Null => self.out.write_all(b"null")?,
                Cell::Text(text) => {
                    serde_json::to_writer(&mut self.out, text).map_err(std::io::Error::from)?;
                }
                Cell::Integer(number) => write!(self.out, "{number}")?,
                Cell::Bool(flag) => write!(self.out, "{flag}")?,
            }
        }
        self.out.write_all(b"}")?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), TabularError> {
        self.out.write_all(b"]")?;
        self.out.flush()?;
        Ok(())
    }
}
