//! A tabular document on A4 pages: on every page the title and the header of labelled
//! values, then as many table rows as fit; totals and notes after the last row; a page
//! number in the footer. Everything is mirrored for right-to-left documents: the first
//! column and the labels sit on the right.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::Document;

use crate::text::{shape, wrap, Direction, Face, Line};
use crate::DocumentError;

const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 40.0;
const TITLE_SIZE: f32 = 18.0;
const TEXT_SIZE: f32 = 9.5;
const HEADER_LINE: f32 = 15.0;
/// One text line of a table row; with the cell padding a single-line row is 22 points,
/// so that a page holds about 25 of them under the header.
const ROW_LINE: f32 = 13.0;
const CELL_PADDING: f32 = 4.5;
const FOOTER_HEIGHT: f32 = 24.0;

/// How a column's cells sit in it. `Start` is the reading direction's start: left in
/// English, right in Persian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Start,
    End,
    Center,
}

/// A table column: its heading, its share of the table width and its alignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub heading: String,
    /// Relative width; the columns share the page width in proportion.
    pub weight: f32,
    pub align: Align,
}

/// What the document says, already in its language: numbers, dates and labels are the
/// caller's to format.
#[derive(Debug, Clone)]
pub struct TableDocument {
    pub direction: Direction,
    pub title: String,
    /// Label and value pairs under the title, repeated on every page.
    pub header: Vec<(String, String)>,
    pub columns: Vec<Column>,
    /// Cells per row, one per column.
    pub rows: Vec<Vec<String>>,
    /// Label and value pairs after the table, aligned under the last column.
    pub totals: Vec<(String, String)>,
    pub notes: Option<String>,
    /// The footer of page `n` of `count` (both from 1).
    pub page_label: fn(usize, usize) -> String,
}

/// A row laid out: its cells' lines and its height.
struct LaidRow {
    cells: Vec<Vec<Line>>,
    height: f32,
}

impl TableDocument {
    /// Lays the document out and writes the PDF.
    pub fn render(&self) -> Result<Vec<u8>, DocumentError> {
        let regular = Face::regular();
        let widths = self.column_widths();
        let heading = self.lay_row(
            &self
                .columns
                .iter()
                .map(|c| c.heading.clone())
                .collect::<Vec<_>>(),
            &widths,
            Face::bold(),
        );
        let rows: Vec<LaidRow> = self
            .rows
            .iter()
            .map(|cells| self.lay_row(cells, &widths, regular))
            .collect();
        let top = self.table_top();
        let bottom = PAGE_HEIGHT - MARGIN - FOOTER_HEIGHT;
        let totals_height = self.totals.len() as f32 * HEADER_LINE + CELL_PADDING * 2.0;
        let notes = self.notes.as_deref().map(|text| {
            wrap(
                regular,
                text,
                self.direction,
                TEXT_SIZE,
                self.content_width(),
            )
        });
        let notes_height = notes
            .as_ref()
            .map_or(0.0, |lines| (lines.len() + 1) as f32 * HEADER_LINE);

        // Rows per page, then whether the totals and notes need a page of their own.
        let mut pages: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        let mut y = top + heading.height;
        for (index, row) in rows.iter().enumerate() {
            if y + row.height > bottom && index > start {
                pages.push(start..index);
                start = index;
                y = top + heading.height;
            }
            y += row.height;
        }
        pages.push(start..rows.len());
        let trailer_on_new_page = y + totals_height + notes_height > bottom;
        let page_count = pages.len() + usize::from(trailer_on_new_page);

        let mut document = Document::new();
        for (number, range) in pages.iter().enumerate() {
            self.page(&mut document, number + 1, page_count, |surface| {
                let mut y = top;
                self.draw_row(surface, &heading, &widths, y, true);
                y += heading.height;
                for row in &rows[range.clone()] {
                    self.draw_row(surface, row, &widths, y, false);
                    y += row.height;
                }
                if number + 1 == pages.len() && !trailer_on_new_page {
                    self.draw_trailer(surface, y, notes.as_deref());
                }
            });
        }
        if trailer_on_new_page {
            self.page(&mut document, page_count, page_count, |surface| {
                self.draw_trailer(surface, top, notes.as_deref());
            });
        }
        document
            .finish()
            .map_err(|error| DocumentError::Pdf(format!("{error:?}")))
    }

    /// Page `number` of `count`: the header, what `body` draws, the footer.
    fn page(
        &self,
        document: &mut Document,
        number: usize,
        count: usize,
        body: impl FnOnce(&mut Surface),
    ) {
        let mut page = document.start_page_with(
            PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).expect("A4 is a valid size"),
        );
        let mut surface = page.surface();
        self.draw_header(&mut surface);
        body(&mut surface);
        self.draw_footer(&mut surface, number, count);
        surface.finish();
        page.finish();
    }

    fn content_width(&self) -> f32 {
        PAGE_WIDTH - 2.0 * MARGIN
    }

    fn column_widths(&self) -> Vec<f32> {
        let total: f32 = self.columns.iter().map(|c| c.weight).sum();
        self.columns
            .iter()
            .map(|c| self.content_width() * c.weight / total)
            .collect()
    }

    /// Where the table starts: under the title and the header pairs (two per line).
    fn table_top(&self) -> f32 {
        let header_lines = self.header.len().div_ceil(2) as f32;
        MARGIN + TITLE_SIZE * 1.6 + header_lines * HEADER_LINE + 10.0
    }

    fn lay_row(&self, cells: &[String], widths: &[f32], face: &Face) -> LaidRow {
        let cells: Vec<Vec<Line>> = cells
            .iter()
            .zip(widths)
            .map(|(text, width)| {
                wrap(
                    face,
                    text,
                    self.direction,
                    TEXT_SIZE,
                    width - 2.0 * CELL_PADDING,
                )
            })
            .collect();
        let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        LaidRow {
            cells,
            height: lines as f32 * ROW_LINE + 2.0 * CELL_PADDING,
        }
    }

    /// The x of the left edge of each column, mirrored for right-to-left documents.
    fn column_lefts(&self, widths: &[f32]) -> Vec<f32> {
        let mut x = MARGIN;
        let mut lefts: Vec<f32> = widths
            .iter()
            .map(|width| {
                let left = x;
                x += width;
                left
            })
            .collect();
        if self.direction == Direction::RightToLeft {
            for (left, width) in lefts.iter_mut().zip(widths) {
                *left = PAGE_WIDTH - *left - width;
            }
        }
        lefts
    }

    fn draw_header(&self, surface: &mut Surface) {
        let title = shape(Face::bold(), &self.title, self.direction);
        self.draw_line(
            surface,
            &title,
            Face::bold(),
            TITLE_SIZE,
            MARGIN,
            self.content_width(),
            Align::Start,
            MARGIN + TITLE_SIZE,
        );
        let half = self.content_width() / 2.0;
        let mut y = MARGIN + TITLE_SIZE * 1.6 + HEADER_LINE - 4.0;
        for pair in self.header.chunks(2) {
            for (index, (label, value)) in pair.iter().enumerate() {
                let start_side = index == 0;
                let left = match (self.direction, start_side) {
                    (Direction::LeftToRight, true) | (Direction::RightToLeft, false) => MARGIN,
                    _ => MARGIN + half,
                };
                let text = format!("{label}: {value}");
                let line = shape(Face::regular(), &text, self.direction);
                self.draw_line(
                    surface,
                    &line,
                    Face::regular(),
                    TEXT_SIZE,
                    left,
                    half,
                    Align::Start,
                    y,
                );
            }
            y += HEADER_LINE;
        }
    }

    fn draw_row(
        &self,
        surface: &mut Surface,
        row: &LaidRow,
        widths: &[f32],
        top: f32,
        heading: bool,
    ) {
        let face = if heading {
            Face::bold()
        } else {
            Face::regular()
        };
        if heading {
            surface.set_fill(Some(grey(235)));
            fill_rect(surface, MARGIN, top, self.content_width(), row.height);
        }
        surface.set_fill(None);
        surface.set_stroke(Some(hairline()));
        let mut rule = PathBuilder::new();
        rule.move_to(MARGIN, top + row.height);
        rule.line_to(PAGE_WIDTH - MARGIN, top + row.height);
        if let Some(path) = rule.finish() {
            surface.draw_path(&path);
        }
        surface.set_stroke(None);
        surface.set_fill(Some(grey(0)));
        let cells = row.cells.iter().zip(widths).zip(self.column_lefts(widths));
        for (column, ((lines, width), left)) in self.columns.iter().zip(cells) {
            let align = if heading { Align::Center } else { column.align };
            for (index, line) in lines.iter().enumerate() {
                let baseline = top + CELL_PADDING + (index as f32 + 1.0) * ROW_LINE - 3.0;
                self.draw_line(
                    surface,
                    line,
                    face,
                    TEXT_SIZE,
                    left + CELL_PADDING,
                    width - 2.0 * CELL_PADDING,
                    align,
                    baseline,
                );
            }
        }
    }

    fn draw_trailer(&self, surface: &mut Surface, top: f32, notes: Option<&[Line]>) {
        let widths = self.column_widths();
        let value_width = widths.last().copied().unwrap_or(0.0) * 1.6;
        let label_width = value_width * 1.4;
        let (label_left, value_left) = match self.direction {
            Direction::LeftToRight => {
                let value_left = PAGE_WIDTH - MARGIN - value_width;
                (value_left - label_width, value_left)
            }
            Direction::RightToLeft => (MARGIN + value_width, MARGIN),
        };
        let mut y = top + CELL_PADDING + HEADER_LINE - 3.0;
        for (label, value) in &self.totals {
            let label = shape(Face::regular(), label, self.direction);
            let value = shape(Face::bold(), value, self.direction);
            self.draw_line(
                surface,
                &label,
                Face::regular(),
                TEXT_SIZE,
                label_left,
                label_width,
                Align::End,
                y,
            );
            self.draw_line(
                surface,
                &value,
                Face::bold(),
                TEXT_SIZE,
                value_left + CELL_PADDING,
                value_width - 2.0 * CELL_PADDING,
                Align::End,
                y,
            );
            y += HEADER_LINE;
        }
        if let Some(lines) = notes {
            y += HEADER_LINE;
            for line in lines {
                self.draw_line(
                    surface,
                    line,
                    Face::regular(),
                    TEXT_SIZE,
                    MARGIN,
                    self.content_width(),
                    Align::Start,
                    y,
                );
                y += HEADER_LINE;
            }
        }
    }

    fn draw_footer(&self, surface: &mut Surface, page: usize, count: usize) {
        let label = (self.page_label)(page, count);
        let line = shape(Face::regular(), &label, self.direction);
        self.draw_line(
            surface,
            &line,
            Face::regular(),
            TEXT_SIZE,
            MARGIN,
            self.content_width(),
            Align::Center,
            PAGE_HEIGHT - MARGIN,
        );
    }

    /// Draws `line` with its baseline at `baseline` in the box from `left`, `width`
    /// wide, aligned as asked in the document's direction.
    #[allow(clippy::too_many_arguments)]
    fn draw_line(
        &self,
        surface: &mut Surface,
        line: &Line,
        face: &Face,
        size: f32,
        left: f32,
        width: f32,
        align: Align,
        baseline: f32,
    ) {
        let free = (width - line.width(size)).max(0.0);
        let offset = match (align, self.direction) {
            (Align::Center, _) => free / 2.0,
            (Align::Start, Direction::LeftToRight) | (Align::End, Direction::RightToLeft) => 0.0,
            (Align::End, Direction::LeftToRight) | (Align::Start, Direction::RightToLeft) => free,
        };
        let mut x = left + offset;
        for run in &line.runs {
            surface.draw_glyphs(
                Point::from_xy(x, baseline),
                &run.glyphs,
                face.font.clone(),
                &run.text,
                size,
                false,
            );
            x += run.glyphs.iter().map(|g| g.x_advance).sum::<f32>() * size;
        }
    }
}

fn grey(level: u8) -> Fill {
    Fill {
        paint: rgb::Color::new(level, level, level).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn hairline() -> Stroke {
    Stroke {
        paint: rgb::Color::new(160, 160, 160).into(),
        width: 0.5,
        ..Default::default()
    }
}

fn fill_rect(surface: &mut Surface, x: f32, y: f32, width: f32, height: f32) {
    let mut builder = PathBuilder::new();
    if let Some(rect) = Rect::from_xywh(x, y, width, height) {
        builder.push_rect(rect);
    }
    if let Some(path) = builder.finish() {
        surface.draw_path(&path);
    }
}
