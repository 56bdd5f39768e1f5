//! Printable documents as PDF. A document is described by what it says — a title, a
//! header of labelled values, a table, totals, notes — in the reading direction of its
//! language; this crate lays it out on A4 pages and writes the PDF, with the text shaped
//! (Persian letters joined, marks placed) and ordered by the Unicode bidirectional
//! algorithm, and the font embedded so that any reader shows the same page and text
//! extraction gives the words back in reading order.
//!
//! It knows nothing of quotes or languages: the caller formats numbers, dates and
//! labels (`application::sales::quote_document` for quotes).

mod table;
mod text;

pub use table::{Align, Column, TableDocument};
pub use text::Direction;

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the PDF writer failed: {0}")]
    Pdf(String),
}
