//! Lines of text as positioned glyphs: bidirectional reordering into visual runs, each
//! run shaped in its own direction with the embedded Vazirmatn faces.

use std::ops::Range;
use std::sync::OnceLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use unicode_bidi::{Level, ParagraphBidiInfo};

static REGULAR: &[u8] = include_bytes!("../fonts/Vazirmatn-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/Vazirmatn-Bold.ttf");

/// The reading direction of a document: where lines start and which side the first
/// table column is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    LeftToRight,
    RightToLeft,
}

impl Direction {
    fn paragraph_level(self) -> Level {
        match self {
            Direction::LeftToRight => Level::ltr(),
            Direction::RightToLeft => Level::rtl(),
        }
    }
}

/// A weight of the embedded typeface: the shaping face and the PDF font of the same
/// file, parsed once per process.
pub(crate) struct Face {
    shaping: rustybuzz::Face<'static>,
    pub(crate) font: Font,
}

impl Face {
    pub(crate) fn regular() -> &'static Face {
        static FACE: OnceLock<Face> = OnceLock::new();
        FACE.get_or_init(|| Face::load(REGULAR))
    }

    pub(crate) fn bold() -> &'static Face {
        static FACE: OnceLock<Face> = OnceLock::new();
        FACE.get_or_init(|| Face::load(BOLD))
    }

    /// The files are compiled in and known to parse; a failure here is a broken build.
    fn load(data: &'static [u8]) -> Face {
        Face {
            shaping: rustybuzz::Face::from_slice(data, 0).expect("embedded font parses"),
            font: Font::new(data.into(), 0).expect("embedded font parses"),
        }
    }

    fn units_per_em(&self) -> f32 {
        self.shaping.units_per_em() as f32
    }
}

/// A run of one direction: its own text (glyph clusters index into it) and its glyphs
/// in visual order, advances in ems.
pub(crate) struct Run {
    pub(crate) text: String,
    pub(crate) glyphs: Vec<KrillaGlyph>,
}

/// One line in visual order, left to right.
pub(crate) struct Line {
    pub(crate) runs: Vec<Run>,
    /// Width in ems.
    width: f32,
}

impl Line {
    /// Width in points at `size`.
    pub(crate) fn width(&self, size: f32) -> f32 {
        self.width * size
    }
}

/// Shapes `text` as one line of a paragraph read in `direction`.
pub(crate) fn shape(face: &Face, text: &str, direction: Direction) -> Line {
    let bidi = ParagraphBidiInfo::new(text, Some(direction.paragraph_level()));
    let (levels, runs) = bidi.visual_runs(0..text.len());
    let mut line = Line {
        runs: Vec::with_capacity(runs.len()),
        width: 0.0,
    };
    for range in runs {
        let rtl = levels[range.start].is_rtl();
        let run = shape_run(face, &text[range], rtl);
        line.width += run.glyphs.iter().map(|g| g.x_advance).sum::<f32>();
        line.runs.push(run);
    }
    line
}

fn shape_run(face: &Face, text: &str, rtl: bool) -> Run {
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    buffer.set_direction(if rtl {
        rustybuzz::Direction::RightToLeft
    } else {
        rustybuzz::Direction::LeftToRight
    });
    let output = rustybuzz::shape(&face.shaping, &[], buffer);
    let em = face.units_per_em();
    let infos = output.glyph_infos();
    let clusters: Vec<usize> = infos.iter().map(|info| info.cluster as usize).collect();
    let glyphs = infos
        .iter()
        .zip(output.glyph_positions())
        .enumerate()
        .map(|(index, (info, position))| {
            KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                position.x_advance as f32 / em,
                position.x_offset as f32 / em,
                position.y_offset as f32 / em,
                position.y_advance as f32 / em,
                cluster_range(&clusters, index, text.len()),
                None,
            )
        })
        .collect();
    Run {
        text: text.to_owned(),
        glyphs,
    }
}

/// The bytes of the text the glyph at `index` stands for: from its cluster to the next
/// larger cluster start. Visual order runs clusters backwards in a right-to-left run, so
/// the end is looked up by value, not by position.
fn cluster_range(clusters: &[usize], index: usize, text_len: usize) -> Range<usize> {
    let start = clusters[index];
    let end = clusters
        .iter()
        .copied()
        .filter(|&cluster| cluster > start)
        .min()
        .unwrap_or(text_len);
    start..end
}

/// Splits `text` into lines no wider than `width` points at `size`, at spaces; a word
/// wider than a line is split between characters rather than drawn over its
/// neighbours.
pub(crate) fn wrap(
    face: &Face,
    text: &str,
    direction: Direction,
    size: f32,
    width: f32,
) -> Vec<Line> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut current = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if current.is_empty() {
                word.to_owned()
            } else {
                format!("{current} {word}")
            };
            if shape(face, &candidate, direction).width(size) <= width {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(shape(face, &current, direction));
            }
            current = split_long_word(face, word, direction, size, width, &mut lines);
        }
        if !current.is_empty() || lines.is_empty() {
            lines.push(shape(face, &current, direction));
        }
    }
    lines
}

/// Pushes the full-width pieces of `word` and returns its remainder.
fn split_long_word(
    face: &Face,
    word: &str,
    direction: Direction,
    size: f32,
    width: f32,
    lines: &mut Vec<Line>,
) -> String {
    let mut piece = String::new();
    for c in word.chars() {
        piece.push(c);
        if piece.chars().count() > 1 && shape(face, &piece, direction).width(size) > width {
            piece.pop();
            lines.push(shape(face, &piece, direction));
            piece = c.to_string();
        }
    }
    piece
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persian_letters_take_their_joining_forms_and_lam_alef_its_ligature() {
        let face = Face::regular();
        let glyph_ids = |text: &str| -> Vec<u32> {
            shape(face, text, Direction::RightToLeft).runs[0]
                .glyphs
                .iter()
                .map(|g| g.glyph_id.to_u32())
                .collect()
        };
        // «کیف»: three letters, three glyphs in visual order (last letter first), each
        // in its joined form rather than the isolated one.
        let joined = glyph_ids("کیف");
        let mut isolated: Vec<u32> = "کیف"
            .chars()
            .map(|c| glyph_ids(&c.to_string())[0])
            .collect();
        isolated.reverse();
        assert_eq!(joined.len(), 3);
        assert!(joined.iter().zip(&isolated).all(|(a, b)| a != b));
        // «لا» is one ligature glyph covering both letters.
        let line = shape(face, "لا", Direction::RightToLeft);
        assert_eq!(line.runs[0].glyphs.len(), 1);
        assert_eq!(line.runs[0].glyphs[0].text_range, 0.."لا".len());
    }

    #[test]
    fn a_persian_line_with_a_latin_code_makes_three_runs_in_visual_order() {
        let line = shape(Face::regular(), "کالای SKU-12 خوب", Direction::RightToLeft);
        let texts: Vec<&str> = line.runs.iter().map(|run| run.text.as_str()).collect();
        // Visual order, left to right: the last Persian word, the code, the first word.
        assert_eq!(texts, vec![" خوب", "SKU-12", "کالای "]);
    }

    #[test]
    fn clusters_cover_the_run_text_in_a_right_to_left_run() {
        let line = shape(Face::regular(), "پیش‌فاکتور", Direction::RightToLeft);
        let run = &line.runs[0];
        let mut covered: Vec<_> = run.glyphs.iter().map(|g| g.text_range.clone()).collect();
        covered.sort_by_key(|range| range.start);
        covered.dedup();
        assert_eq!(covered.first().map(|r| r.start), Some(0));
        assert_eq!(covered.last().map(|r| r.end), Some(run.text.len()));
        assert!(covered.windows(2).all(|w| w[0].end == w[1].start));
    }

    #[test]
    fn wrapping_keeps_each_line_within_the_width() {
        let face = Face::regular();
        let text = "یک نام بسیار طولانی برای کالایی که در یک ستون باریک جا نمی‌شود";
        let lines = wrap(face, text, Direction::RightToLeft, 10.0, 80.0);
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|line| line.width(10.0) <= 80.0));
        let words: usize = lines
            .iter()
            .map(|line| {
                line.runs
                    .iter()
                    .map(|r| r.text.split_whitespace().count())
                    .sum::<usize>()
            })
            .sum();
        assert_eq!(words, text.split_whitespace().count());
    }
}
