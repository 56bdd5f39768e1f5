//! Zip-bomb checks, run on an XLSX package before calamine opens it.
//!
//! calamine loads the shared-string table and the styles whole when it opens a workbook, and
//! gathers each cell's text before handing it over, so a small upload that unpacks to gigabytes
//! would be in memory before any row limit applies. Every part of the package is therefore
//! unpacked once here, as a stream into nothing, while counting what it unpacks to:
//!
//! 1. the sizes declared in the central directory are checked first, so an honest bomb is
//!    refused without unpacking a byte;
//! 2. the parts are then unpacked through a counting reader that stops at the limits, so a part
//!    whose declared size lies is stopped as soon as it passes them (the zip crate also refuses
//!    output beyond a declared size, but these bounds do not depend on that);
//! 3. every part is tokenised with the XML reader calamine uses, configured as calamine
//!    configures it, so that no single XML event and no text calamine would gather into one
//!    string is longer than [`MAX_XML_ITEM_BYTES`], and the shared-string table is counted.
//!
//! Memory stays constant while checking: the parts are never held, only buffered 8 KiB at a
//! time, plus at most one XML item.

use std::io::{self, BufRead, BufReader, Cursor, Read};

use quick_xml::events::Event;
use quick_xml::Reader as XmlReader;
use zip::ZipArchive;

use crate::read::ReadLimits;
use crate::TabularError;

/// The longest single XML item (a tag, a text, or the text of one string or cell value, markup
/// included) a part may hold. Excel caps a cell at 32,767 characters; even written as numeric
/// character references that is under 1 MiB, so no spreadsheet program writes a longer one.
pub(crate) const MAX_XML_ITEM_BYTES: u64 = 1 << 20;

/// Parts that unpack to no more than this are exempt from the compression-ratio limit: small XML
/// parts (a sheet of empty styled cells, a short shared-string table) can compress far better
/// than big ones and cannot hurt.
pub(crate) const RATIO_EXEMPT_BYTES: u64 = 1 << 20;

/// The elements whose text calamine gathers into one string (shared strings, inline strings,
/// their text runs, and cell values), from their start to the first end tag of the same name.
const GATHERING_ELEMENTS: [&str; 4] = ["si", "is", "t", "v"];

/// Legitimate parts nest at most three of [`GATHERING_ELEMENTS`] (`si` > `r` > `t`); more open
/// at once is not a spreadsheet.
const MAX_OPEN_GATHERINGS: usize = 8;

/// Part names are put in error messages; a crafted name may be up to 64 KiB long.
const MAX_NAME_CHARS: usize = 120;

/// Checks every part of the package in `archive` against `limits`.
pub(super) fn check(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    limits: &ReadLimits,
) -> Result<(), TabularError> {
    check_declared(archive, limits)?;
    let mut unpacked = 0_u64;
    for index in 0..archive.len() {
        // A part the zip crate cannot open (encrypted, an unknown compression method) unpacks
        // to nothing here, and calamine, which opens parts the same way, fails on it if it
        // needs it.
        let Ok(entry) = archive.by_index(index) else {
            continue;
        };
        let part = part_name(entry.name_raw());
        let budget = Budget {
            total_left: limits.max_unpacked_bytes.saturating_sub(unpacked),
            ratio_cap: ratio_cap(entry.compressed_size(), limits),
        };
        unpacked += scan_part(entry, &part, budget, limits)?;
    }
    Ok(())
}

/// The declared sizes: refuses an archive that says it is a bomb before unpacking anything.
fn check_declared(
    archive: &ZipArchive<Cursor<&[u8]>>,
    limits: &ReadLimits,
) -> Result<(), TabularError> {
    let mut declared = 0_u64;
    for index in 0..archive.len() {
        let entry = archive.by_index_data(index).map_err(damaged)?;
        declared = declared.saturating_add(entry.size());
        if declared > limits.max_unpacked_bytes {
            return Err(TabularError::UnpackedTooLarge {
                max: limits.max_unpacked_bytes,
            });
        }
        if entry.size() > ratio_cap(entry.compressed_size(), limits) {
            return Err(TabularError::CompressionRatio {
                part: part_name(entry.name_raw()),
                max: limits.max_compression_ratio,
            });
        }
    }
    Ok(())
}

/// The most a part of `compressed` bytes may unpack to under the ratio limit.
fn ratio_cap(compressed: u64, limits: &ReadLimits) -> u64 {
    compressed
        .saturating_mul(limits.max_compression_ratio)
        .max(RATIO_EXEMPT_BYTES)
}

fn part_name(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .take(MAX_NAME_CHARS)
        .collect()
}

fn damaged(error: zip::result::ZipError) -> TabularError {
    TabularError::Unreadable {
        reason: format!("the workbook is damaged ({error})"),
    }
}

/// How much one part may still unpack to.
#[derive(Debug, Clone, Copy)]
struct Budget {
    /// What is left of [`ReadLimits::max_unpacked_bytes`] for the whole package.
    total_left: u64,
    /// The part's own bound from the compression ratio.
    ratio_cap: u64,
}

/// Which limit stopped unpacking, recorded by [`Metered`] because an `io::Error` passed through
/// the XML reader cannot carry it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Total,
    Ratio,
}

/// Counts the bytes a part unpacks to and fails once they pass its [`Budget`].
struct Metered<R> {
    inner: R,
    unpacked: u64,
    budget: Budget,
    stopped: Option<Stop>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let cap = self.budget.total_left.min(self.budget.ratio_cap);
        // One byte past the cap is enough to know it was passed.
        let room = cap.saturating_sub(self.unpacked).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..want])?;
        self.unpacked += read as u64;
        if self.unpacked > cap {
            self.stopped = Some(if self.unpacked > self.budget.total_left {
                Stop::Total
            } else {
                Stop::Ratio
            });
            return Err(io::Error::other("unpack limit reached"));
        }
        Ok(read)
    }
}

/// Hands the XML reader at most [`MAX_XML_ITEM_BYTES`] before it returns an event, so the buffer
/// it gathers one event into stays bounded.
struct ItemBounded<R> {
    inner: R,
    since_event: u64,
    stopped: bool,
}

impl<R: BufRead> Read for ItemBounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let read = available.len().min(buf.len());
        buf[..read].copy_from_slice(&available[..read]);
        self.consume(read);
        Ok(read)
    }
}

impl<R: BufRead> BufRead for ItemBounded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.since_event > MAX_XML_ITEM_BYTES {
            self.stopped = true;
            return Err(io::Error::other("XML item limit reached"));
        }
        let room = MAX_XML_ITEM_BYTES + 1 - self.since_event;
        let available = self.inner.fill_buf()?;
        let shown = available
            .len()
            .min(usize::try_from(room).unwrap_or(usize::MAX));
        Ok(&available[..shown])
    }

    fn consume(&mut self, amount: usize) {
        self.since_event += amount as u64;
        self.inner.consume(amount);
    }
}

type PartReader<R> = XmlReader<ItemBounded<BufReader<Metered<R>>>>;

/// Unpacks one part into nothing, checking it as it goes; returns what it unpacked to.
fn scan_part<R: Read>(
    part: R,
    name: &str,
    budget: Budget,
    limits: &ReadLimits,
) -> Result<u64, TabularError> {
    let metered = Metered {
        inner: part,
        unpacked: 0,
        budget,
        stopped: None,
    };
    let mut xml = XmlReader::from_reader(ItemBounded {
        inner: BufReader::new(metered),
        since_event: 0,
        stopped: false,
    });
    // As calamine configures its reader, so that both split the part into the same events.
    let config = xml.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;

    let outcome = scan_xml(&mut xml, name, limits);
    let item_stopped = xml.get_ref().stopped;
    let mut rest = xml.into_inner().inner;
    let outcome = match outcome {
        Ok(()) => Ok(()),
        Err(_) if item_stopped => Err(TabularError::XmlItemTooLarge {
            part: name.to_owned(),
            max: MAX_XML_ITEM_BYTES,
        }),
        Err(ScanError::Limit(error)) => Err(error),
        // Not XML, or XML calamine would stop reading at the same place (it splits the part
        // the same way): the rest of the part only needs counting.
        Err(ScanError::Xml) => io::copy(&mut rest, &mut io::sink())
            .map(drop)
            .map_err(|error| TabularError::Unreadable {
                reason: format!("the workbook part {name} is damaged ({error})"),
            }),
    };
    let metered = rest.into_inner();
    match (outcome, metered.stopped) {
        (_, Some(Stop::Total)) => Err(TabularError::UnpackedTooLarge {
            max: limits.max_unpacked_bytes,
        }),
        (_, Some(Stop::Ratio)) => Err(TabularError::CompressionRatio {
            part: name.to_owned(),
            max: limits.max_compression_ratio,
        }),
        (Ok(()), _) => Ok(metered.unpacked),
        (Err(error), _) => Err(error),
    }
}

enum ScanError {
    /// A limit was passed; the error says which.
    Limit(TabularError),
    /// The XML reader failed: bad markup, damaged compressed data, or a reader's limit (told
    /// apart by the caller from the readers' `stopped` fields).
    Xml,
}

impl From<quick_xml::Error> for ScanError {
    fn from(_: quick_xml::Error) -> Self {
        ScanError::Xml
    }
}

/// Reads the events of one part, enforcing the item, gathering and shared-string limits.
fn scan_xml<R: Read>(
    xml: &mut PartReader<R>,
    name: &str,
    limits: &ReadLimits,
) -> Result<(), ScanError> {
    let mut buf = Vec::new();
    // Where each open gathering element began (in bytes from the start of the part), by its
    // qualified name: calamine ends a gathering at the first end tag with the same name.
    let mut gathering: Vec<(String, u64)> = Vec::new();
    let mut shared_strings = 0_usize;
    let mut is_shared_string_table = false;
    loop {
        buf.clear();
        let began = xml.buffer_position();
        let event = xml.read_event_into(&mut buf)?;
        let position = xml.buffer_position();
        xml.get_mut().since_event = 0;
        match &event {
            Event::Start(start) => {
                let local = start.local_name();
                if local.as_ref() == "sst" {
                    is_shared_string_table = true;
                    if declared_count_exceeds(start.attributes_raw(), limits.max_shared_strings) {
                        return Err(too_many_shared_strings(limits));
                    }
                }
                if local.as_ref() == "si" {
                    shared_strings += 1;
                    if shared_strings > limits.max_shared_strings {
                        return Err(too_many_shared_strings(limits));
                    }
                }
                let qualified = start.name();
                if GATHERING_ELEMENTS.contains(&local.as_ref())
                    && !gathering.iter().any(|(open, _)| open == qualified.as_ref())
                {
                    if gathering.len() == MAX_OPEN_GATHERINGS {
                        return Err(item_too_large(name));
                    }
                    gathering.push((qualified.as_ref().to_owned(), began));
                }
            }
            Event::End(end) => {
                gathering.retain(|(open, _)| open != end.name().as_ref());
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        if gathering
            .iter()
            .any(|(_, began)| position - began > MAX_XML_ITEM_BYTES)
        {
            return Err(item_too_large(name));
        }
        if is_shared_string_table && position > limits.max_shared_strings_bytes {
            return Err(ScanError::Limit(TabularError::SharedStringsTooLarge {
                max: limits.max_shared_strings_bytes,
            }));
        }
    }
}

fn too_many_shared_strings(limits: &ReadLimits) -> ScanError {
    ScanError::Limit(TabularError::TooManySharedStrings {
        max: limits.max_shared_strings,
    })
}

fn item_too_large(name: &str) -> ScanError {
    ScanError::Limit(TabularError::XmlItemTooLarge {
        part: name.to_owned(),
        max: MAX_XML_ITEM_BYTES,
    })
}

/// Whether any `uniqueCount="…"` among a table's attributes is a number above `max`: calamine
/// reserves room for that many strings before reading one. Scanned in the raw text, so that no
/// difference between attribute parsers can hide it.
fn declared_count_exceeds(attributes: &str, max: usize) -> bool {
    attributes.match_indices("uniqueCount").any(|(at, key)| {
        let value = attributes[at + key.len()..]
            .trim_start()
            .strip_prefix('=')
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix(['"', '\'']))
            .unwrap_or("");
        let digits = value.bytes().take_while(u8::is_ascii_digit);
        let mut count = 0_usize;
        for digit in digits {
            count = count
                .saturating_mul(10)
                .saturating_add(usize::from(digit - b'0'));
        }
        count > max
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scans `part` as it would come out of the archive, under `budget`.
    fn scan(part: &[u8], budget: Budget) -> Result<u64, TabularError> {
        scan_part(part, "xl/part.xml", budget, &ReadLimits::default())
    }

    #[test]
    fn unpacking_stops_at_the_budget_whatever_sizes_were_declared() {
        // Small events, so only the byte count can stop it.
        let part = b"<a/>".repeat(1 << 18);
        let unlimited = Budget {
            total_left: u64::MAX,
            ratio_cap: u64::MAX,
        };
        assert_eq!(scan(&part, unlimited).unwrap(), 1 << 20);
        let total = Budget {
            total_left: 64 << 10,
            ..unlimited
        };
        assert!(matches!(
            scan(&part, total).unwrap_err(),
            TabularError::UnpackedTooLarge { .. }
        ));
        let ratio = Budget {
            ratio_cap: 64 << 10,
            ..unlimited
        };
        assert!(matches!(
            scan(&part, ratio).unwrap_err(),
            TabularError::CompressionRatio { part, max: 100 } if part == "xl/part.xml"
        ));
        // Bad markup ends the XML checks but not the counting.
        let mut broken = b"<!x>".to_vec();
        broken.extend_from_slice(&part);
        assert!(matches!(
            scan(&broken, total).unwrap_err(),
            TabularError::UnpackedTooLarge { .. }
        ));
    }

    #[test]
    fn declared_counts_are_found_however_they_are_written() {
        assert!(!declared_count_exceeds(r#" count="5" uniqueCount="5""#, 5));
        assert!(declared_count_exceeds(r#" uniqueCount="6""#, 5));
        assert!(declared_count_exceeds(" uniqueCount = '6'", 5));
        assert!(declared_count_exceeds(
            r#" uniqueCount="1" uniqueCount="99999999999999999999999""#,
            5
        ));
        assert!(!declared_count_exceeds(r#" uniqueCount="x6""#, 5));
    }
}
