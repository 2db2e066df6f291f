//! Laying out and writing the PIN letters: one A4 page per letter, many letters per PDF part.
//!
//! The layout is computed first, in millimetres from the page's top-left corner, and only then
//! turned into PDF operations, so that it can be checked without a PDF reader. What all letters
//! of a language share (sender, body texts, footer, return address, code box) is laid out once
//! per part (`LanguageLayout`, `BodyLayout`) and drawn as one form (see `pdf`); each letter
//! adds only its address, date, reference, order id, codes and DataMatrix (`LetterLayout`).

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::font::{face, missing_glyphs, text_width_mm, PT_PER_MM};
use super::pdf;
use super::texts::{texts, Helpdesk, Texts};
use crate::address::{AddressBlock, PostalZone, MAX_LINES};
use crate::order::Language;

/// A4 width in mm.
pub const PAGE_WIDTH_MM: f32 = 210.0;
/// A4 height in mm.
pub const PAGE_HEIGHT_MM: f32 = 297.0;
/// No mark is placed closer than this to the page's left edge.
pub const MIN_LEFT_MARGIN_MM: f32 = 18.0;
/// Left edge of the letter's body text.
pub const BODY_LEFT_MM: f32 = 25.0;
/// Right edge of the letter's body text (20 mm right margin).
pub const BODY_RIGHT_MM: f32 = PAGE_WIDTH_MM - 20.0;
/// The body starts no higher than this.
pub const BODY_TOP_MM: f32 = 100.0;
/// Nothing of the body goes below this (the footer sits beneath it).
pub const BODY_BOTTOM_MM: f32 = 280.0;
/// Baseline of the footer line.
const FOOTER_BASELINE_MM: f32 = 287.0;
/// Left edge of the column to the right of the window (DIN 5008's information block).
const INFO_LEFT_MM: f32 = 125.0;

/// Nothing printed comes closer than this to any edge of the envelope window: the sheet may
/// shift in the envelope, and what moves under the envelope's edge is lost to the post office's
/// reader (the DataMatrix with its quiet zone included).
pub const WINDOW_MARGIN_MM: f32 = 3.0;
/// Address text starts this far in from the window's left edge...
pub const ADDRESS_INSET_MM: f32 = 5.0;
/// ...and keeps this far from its right edge.
pub const ADDRESS_RIGHT_PAD_MM: f32 = WINDOW_MARGIN_MM;
/// Clearance above the first address line (below the return-address zone) and below the last
/// (the window's bottom edge) inside the address zone.
const ADDRESS_PAD_TOP_MM: f32 = 1.0;
const ADDRESS_PAD_BOTTOM_MM: f32 = WINDOW_MARGIN_MM;
/// The address font size: the largest of these at which the block fits.
pub const ADDRESS_SIZES_PT: [f32; 5] = [10.0, 9.5, 9.0, 8.5, 8.0];
/// Line pitch of the address block, in ems.
const ADDRESS_LEADING_EM: f32 = 1.2;
/// The return-address font size: the largest of these at which it fits on one line.
const RETURN_SIZES_PT: [f32; 3] = [7.0, 6.5, 6.0];
/// Clearance between the return-address line and the address zone.
const RETURN_GAP_MM: f32 = 0.8;

/// DataMatrix module size: this, or smaller down to the minimum when the symbol must shrink.
const MODULE_MM: f32 = 0.5;
const MIN_MODULE_MM: f32 = 0.33;
/// Light modules kept free around the symbol (the standard asks for at least one).
const QUIET_MODULES: f32 = 1.0;
/// Clearance of the DataMatrix (with its quiet zone) from the window's top and right edges.
const MATRIX_EDGE_MM: f32 = WINDOW_MARGIN_MM;
/// A letter id of the longest form the drop makes (batch id and a six-digit sequence): a window
/// must have room for its DataMatrix.
pub const LONGEST_LETTER_ID: &str = "B20261124-999-999999";
/// The return address a window's check measures the return zone with: its height, not its
/// width, matters there (the width is checked against the configured return address).
const RETURN_PROBE: &str = "Postboks 1382 Vika, 0114 OSLO";

/// The envelope window (per vendor), in mm from the page's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(serialize_with = "as_written")]
    pub left_mm: f32,
    #[serde(serialize_with = "as_written")]
    pub top_mm: f32,
    #[serde(serialize_with = "as_written")]
    pub width_mm: f32,
    #[serde(serialize_with = "as_written")]
    pub height_mm: f32,
    /// Height of the return-address zone at the window's top.
    #[serde(serialize_with = "as_written")]
    pub return_zone_mm: f32,
}

/// Writes a length as the shortest decimal that reads back as it (`17.7`), not as the wider
/// number the 32-bit value is exactly (`17.700000762939453`), so that `config show` prints what
/// was written.
fn as_written<S: serde::Serializer>(mm: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(mm.to_string().parse().unwrap_or(f64::from(*mm)))
}

impl Default for Window {
    /// DIN 5008 form B: 20 mm from the left, 45 mm from the top, 85 × 45 mm, return-address
    /// zone 17.7 mm.
    fn default() -> Self {
        Window {
            left_mm: 20.0,
            top_mm: 45.0,
            width_mm: 85.0,
            height_mm: 45.0,
            return_zone_mm: 17.7,
        }
    }
}

impl Window {
    pub fn right_mm(&self) -> f32 {
        self.left_mm + self.width_mm
    }
    pub fn bottom_mm(&self) -> f32 {
        self.top_mm + self.height_mm
    }
    /// Top of the address zone (the bottom of the return-address zone).
    pub fn address_top_mm(&self) -> f32 {
        self.top_mm + self.return_zone_mm
    }
    /// Room for a line of the address block.
    fn text_width_mm(&self) -> f32 {
        self.width_mm - ADDRESS_INSET_MM - ADDRESS_RIGHT_PAD_MM
    }
    fn text_left_mm(&self) -> f32 {
        self.left_mm + ADDRESS_INSET_MM
    }
    /// The left edge of the column right of the window (date and reference).
    fn info_left_mm(&self) -> f32 {
        INFO_LEFT_MM.max(self.right_mm() + 8.0)
    }

    /// Checks that the window can carry a letter: on the page, the address text at least
    /// [`MIN_LEFT_MARGIN_MM`] from the page's edge, room for the return address and DataMatrix
    /// above the address zone, and room for the date column to its right.
    pub fn check(&self) -> Result<(), String> {
        let values = [
            self.left_mm,
            self.top_mm,
            self.width_mm,
            self.height_mm,
            self.return_zone_mm,
        ];
        if values.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err("has a negative or non-finite measure".into());
        }
        if self.text_left_mm() < MIN_LEFT_MARGIN_MM {
            return Err(format!(
                "starts {} mm from the page's left edge; the address would start closer than {MIN_LEFT_MARGIN_MM} mm",
                self.left_mm
            ));
        }
        if self.top_mm < 15.0 || self.bottom_mm() > BODY_TOP_MM + 20.0 {
            return Err(format!(
                "spans {}–{} mm from the top; it must lie between 15 and {} mm",
                self.top_mm,
                self.bottom_mm(),
                BODY_TOP_MM + 20.0
            ));
        }
        if self.width_mm < 60.0 {
            return Err(format!(
                "is {} mm wide; at least 60 mm needed",
                self.width_mm
            ));
        }
        if self.return_zone_mm < 8.0 || self.height_mm - self.return_zone_mm < 15.0 {
            return Err(format!(
                "has a {} mm return-address zone and a {} mm address zone; at least 8 and 15 mm needed",
                self.return_zone_mm,
                self.height_mm - self.return_zone_mm
            ));
        }
        let return_run = layout_return_address(RETURN_PROBE, self)?;
        layout_matrix(LONGEST_LETTER_ID, self, return_run.bbox().1).map_err(|detail| {
            format!("has no room for the DataMatrix with {WINDOW_MARGIN_MM} mm of margin: {detail}")
        })?;
        if self.info_left_mm() > 135.0 {
            return Err(format!(
                "ends {} mm from the left; the date column needs the page right of 127 mm",
                self.right_mm()
            ));
        }
        Ok(())
    }
}

/// One letter of a part.
#[derive(Clone, Copy)]
pub struct LetterInput<'a> {
    pub letter_id: &'a str,
    pub order_id: &'a str,
    pub language: Language,
    pub address: &'a AddressBlock,
    /// PIN codes 1–20 (index 0 is code number 1); each at most 5 digits, all different.
    pub codes: &'a [u32; 20],
    pub date: chrono::NaiveDate,
}

/// Never shows the PIN codes.
impl std::fmt::Debug for LetterInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LetterInput")
            .field("letter_id", &self.letter_id)
            .field("order_id", &self.order_id)
            .field("language", &self.language)
            .field("address", &self.address)
            .field("codes", &"<20 PIN codes>")
            .field("date", &self.date)
            .finish()
    }
}

/// A rendered PDF part. It holds PIN codes: keep it out of logs (its `Debug` shows only sizes).
#[derive(Clone)]
pub struct RenderedPart {
    pub pdf: Vec<u8>,
    pub pages: u32,
}

impl std::fmt::Debug for RenderedPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedPart")
            .field("pages", &self.pages)
            .field("bytes", &self.pdf.len())
            .finish()
    }
}

/// Why a letter or part cannot be rendered. Never holds a PIN code or a national id.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("letter {letter_id}: the address block does not fit the envelope window: {detail}")]
    AddressDoesNotFit { letter_id: String, detail: String },
    #[error("letter {letter_id}: the letter's font has no glyph for {chars} in the {field}")]
    MissingGlyph {
        letter_id: String,
        field: String,
        /// The characters as code points (`U+738B`).
        chars: String,
    },
    #[error(
        "letter {letter_id}: the return address does not fit on one line of the window: {detail}"
    )]
    ReturnAddress { letter_id: String, detail: String },
    #[error("letter {letter_id}: the letter id cannot be printed as a DataMatrix in the window: {detail}")]
    DataMatrix { letter_id: String, detail: String },
    #[error("letter {letter_id}: the PIN codes are unusable: {detail}")]
    Codes { letter_id: String, detail: String },
    #[error("letter {letter_id}: the letter does not fit on one page ({detail})")]
    PageOverflow { letter_id: String, detail: String },
    #[error("the envelope window {0}")]
    Window(String),
    #[error("the setting {setting}: {detail}")]
    Setting { setting: String, detail: String },
    #[error("a part needs at least one letter")]
    NoLetters,
    #[error("letters {first}…{last}: PDF serialisation failed: {detail}")]
    Pdf {
        first: String,
        last: String,
        detail: String,
    },
}

/// NFC, so that a decomposed accent is one glyph and not a base letter plus a loose mark.
fn nfc(s: &str) -> String {
    // Most text is already composed (all ASCII text is): the quick check spares a rebuild.
    match unicode_normalization::is_nfc_quick(s.chars()) {
        unicode_normalization::IsNormalized::Yes => s.to_string(),
        _ => s.nfc().collect(),
    }
}

/// True if the address lines fit the window's address zone at the smallest allowed font size
/// ([`ADDRESS_SIZES_PT`]): at most [`MAX_LINES`] lines, every line within the window's width,
/// the whole block within the zone's height. Use this, not a character count, to decide
/// `address_too_long`. (Characters the font lacks are a separate check: [`missing_glyphs`].)
pub fn address_fits(lines: &[String], window: &Window) -> bool {
    let lines: Vec<String> = lines.iter().map(|l| nfc(l)).collect();
    layout_address(&lines, window).is_ok()
}

/// A line of text on the page; `x` and `baseline` in mm from the top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextRun {
    pub x: f32,
    pub baseline: f32,
    pub size: f32,
    pub bold: bool,
    pub text: String,
}

impl TextRun {
    fn width(&self) -> f32 {
        text_width_mm(&self.text, self.size, self.bold)
    }
    /// The run's box (left, top, right, bottom) in mm, descenders and accents included.
    pub fn bbox(&self) -> (f32, f32, f32, f32) {
        let f = face(self.bold);
        (
            self.x,
            self.baseline - f.ascent_mm(&self.text, self.size),
            self.x + self.width(),
            self.baseline + f.descent_mm(&self.text, self.size),
        )
    }
}

/// The placed address block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AddressLayout {
    pub size: f32,
    pub runs: Vec<TextRun>,
}

/// Places the address lines (already NFC) in the window's address zone, at the largest size that
/// fits; the error says why none does (without the address itself).
pub(crate) fn layout_address(lines: &[String], window: &Window) -> Result<AddressLayout, String> {
    if lines.is_empty() {
        return Err("the address block is empty".into());
    }
    if lines.len() > MAX_LINES {
        return Err(format!(
            "{} lines; the window holds {MAX_LINES}",
            lines.len()
        ));
    }
    let zone_top = window.address_top_mm() + ADDRESS_PAD_TOP_MM;
    let zone_bottom = window.bottom_mm() - ADDRESS_PAD_BOTTOM_MM;
    let room = window.text_width_mm();
    let mut why = String::new();
    for size in ADDRESS_SIZES_PT {
        let f = face(false);
        if let Some((i, w)) = lines
            .iter()
            .map(|l| text_width_mm(l, size, false))
            .enumerate()
            .find(|(_, w)| *w > room)
        {
            why = format!(
                "line {} is {w:.1} mm wide at {size} pt; the window has room for {room:.1} mm",
                i + 1
            );
            continue;
        }
        let pitch = size * ADDRESS_LEADING_EM / PT_PER_MM;
        let first = zone_top + f.ascent_mm(&lines[0], size);
        let runs: Vec<TextRun> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| TextRun {
                x: window.text_left_mm(),
                baseline: first + i as f32 * pitch,
                size,
                bold: false,
                text: l.clone(),
            })
            .collect();
        let top = runs.iter().map(|r| r.bbox().1).fold(f32::MAX, f32::min);
        let bottom = runs.iter().map(|r| r.bbox().3).fold(f32::MIN, f32::max);
        if top < zone_top - 1e-4 || bottom > zone_bottom {
            why = format!(
                "{} lines need {:.1} mm at {size} pt; the address zone has {:.1} mm",
                lines.len(),
                bottom - top,
                zone_bottom - zone_top
            );
            continue;
        }
        return Ok(AddressLayout { size, runs });
    }
    Err(why)
}

/// The return address on one line at the bottom of the return-address zone.
pub(crate) fn layout_return_address(text: &str, window: &Window) -> Result<TextRun, String> {
    let room = window.text_width_mm();
    for size in RETURN_SIZES_PT {
        let f = face(false);
        let width = text_width_mm(text, size, false);
        if width > room {
            continue;
        }
        let baseline = window.address_top_mm() - RETURN_GAP_MM - f.descent_mm(text, size);
        return Ok(TextRun {
            x: window.text_left_mm(),
            baseline,
            size,
            bold: false,
            text: text.to_string(),
        });
    }
    let smallest = RETURN_SIZES_PT[RETURN_SIZES_PT.len() - 1];
    Err(format!(
        "{:.1} mm wide at {smallest} pt; the window has room for {room:.1} mm",
        text_width_mm(text, smallest, false)
    ))
}

/// A DataMatrix placed on the page: `x`, `y` of its top-left module in mm from the page's
/// top-left corner; `bits` row-major, row 0 at the top.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Matrix {
    pub x: f32,
    pub y: f32,
    pub module: f32,
    pub columns: usize,
    pub rows: usize,
    pub bits: Vec<bool>,
}

impl Matrix {
    #[cfg(test)]
    /// The symbol's box with its quiet zone (left, top, right, bottom), in mm.
    pub fn bbox_with_quiet_zone(&self) -> (f32, f32, f32, f32) {
        let q = QUIET_MODULES * self.module;
        (
            self.x - q,
            self.y - q,
            self.x + self.columns as f32 * self.module + q,
            self.y + self.rows as f32 * self.module + q,
        )
    }
}

/// The letter id as a square DataMatrix in the upper-right part of the return-address zone,
/// above `return_top` (the top of the return-address line).
fn layout_matrix(letter_id: &str, window: &Window, return_top: f32) -> Result<Matrix, String> {
    use datamatrix::data::EncodationType;
    use datamatrix::{DataMatrixBuilder, SymbolList};
    let builder = DataMatrixBuilder::new().with_symbol_list(SymbolList::default().enforce_square());
    // Searching all six encodations for the shortest is most of the cost of a symbol. When ASCII
    // alone already gives the smallest symbol any encodation could, it is used as it is.
    let ascii = builder
        .clone()
        .with_encodation_types(EncodationType::Ascii)
        .encode(letter_id.as_bytes())
        .ok()
        .map(|symbol| symbol.bitmap())
        .filter(|bitmap| Some(bitmap.width()) == smallest_square_for(letter_id));
    let bitmap = match ascii {
        Some(bitmap) => bitmap,
        None => builder
            .encode(letter_id.as_bytes())
            .map_err(|e| format!("{e:?}"))?
            .bitmap(),
    };
    place_matrix(&bitmap, window, return_top)
}

/// The side of the smallest square ECC200 symbol that any encodation of `data` could need: each
/// byte costs at least half a codeword (a digit of an ASCII digit pair), two thirds (C40, Text
/// and X12 values), three quarters (EDIFACT) or one. `None` for data the ECC200 macros could
/// shorten (control characters) or too long for a square symbol.
fn smallest_square_for(data: &str) -> Option<usize> {
    /// (side, data codewords) of the square ECC200 symbols.
    const SQUARES: [(usize, usize); 24] = [
        (10, 3),
        (12, 5),
        (14, 8),
        (16, 12),
        (18, 18),
        (20, 22),
        (22, 30),
        (24, 36),
        (26, 44),
        (32, 62),
        (36, 86),
        (40, 114),
        (44, 144),
        (48, 174),
        (52, 204),
        (64, 280),
        (72, 368),
        (80, 456),
        (88, 576),
        (96, 696),
        (104, 816),
        (120, 1050),
        (132, 1304),
        (144, 1558),
    ];
    // In twelfths of a codeword, to stay in integers.
    let mut twelfths = 0usize;
    for b in data.bytes() {
        twelfths += match b {
            0..=31 | 127 => return None,
            b'0'..=b'9' => 6,
            b'A'..=b'Z' | b'a'..=b'z' | b' ' | b'*' | b'>' => 8,
            32..=94 => 9,
            _ => 12,
        };
    }
    let least = twelfths.div_ceil(12);
    SQUARES
        .iter()
        .find(|(_, capacity)| *capacity >= least)
        .map(|(side, _)| *side)
}

fn place_matrix(
    bitmap: &datamatrix::placement::Bitmap<bool>,
    window: &Window,
    return_top: f32,
) -> Result<Matrix, String> {
    let (columns, rows) = (bitmap.width(), bitmap.height());
    let top = window.top_mm + MATRIX_EDGE_MM;
    let bottom = return_top - 0.3;
    let span = columns.max(rows) as f32 + 2.0 * QUIET_MODULES;
    let module = MODULE_MM.min((bottom - top) / span);
    if module < MIN_MODULE_MM {
        return Err(format!(
            "a {columns}×{rows} symbol needs {:.1} mm; the return-address zone has {:.1} mm above the return address",
            span * MIN_MODULE_MM,
            bottom - top
        ));
    }
    let q = QUIET_MODULES * module;
    Ok(Matrix {
        x: window.right_mm() - MATRIX_EDGE_MM - q - columns as f32 * module,
        y: top + q,
        module,
        columns,
        rows,
        bits: bitmap.bits().to_vec(),
    })
}

/// Greedy word wrap to `width` mm; a word longer than a line is broken between characters.
pub(crate) fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    // Widths add up (no kerning), so a line's width is kept as a running sum; the small margin
    // absorbs the rounding of summing in another order.
    let width = width - 1e-3;
    let space = text_width_mm(" ", size, bold);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0.0;
    for word in text.split_whitespace() {
        let word_width = text_width_mm(word, size, bold);
        if line.is_empty() && word_width <= width {
            line.push_str(word);
            line_width = word_width;
            continue;
        }
        if !line.is_empty() && line_width + space + word_width <= width {
            line.push(' ');
            line.push_str(word);
            line_width += space + word_width;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        line_width = 0.0;
        // The word alone is too long for a line: break it between characters.
        if word_width > width {
            for c in word.chars() {
                let mut buf = [0u8; 4];
                let w = text_width_mm(c.encode_utf8(&mut buf), size, bold);
                if !line.is_empty() && line_width + w > width {
                    lines.push(std::mem::take(&mut line));
                    line_width = 0.0;
                }
                line.push(c);
                line_width += w;
            }
        } else {
            line.push_str(word);
            line_width = word_width;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A framed rectangle (left, top, right, bottom) in mm, stroked thinly in black.
pub(crate) type Frame = (f32, f32, f32, f32);

/// Everything on one letter's page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub return_address: TextRun,
    pub address: AddressLayout,
    pub matrix: Matrix,
    /// Every other line of text.
    pub runs: Vec<TextRun>,
    pub frames: Vec<Frame>,
    /// Lowest point of the body, in mm from the top.
    pub body_bottom: f32,
}

/// Lays out text lines top-down in a column.
struct Column<'a> {
    runs: &'a mut Vec<TextRun>,
    x: f32,
    width: f32,
    /// Baseline of the next line.
    y: f32,
    /// The lowest ink placed by this column so far (mm from the top).
    bottom: f32,
}

impl Column<'_> {
    fn paragraph(&mut self, text: &str, size: f32, bold: bool, leading: f32) {
        for line in wrap(text, size, bold, self.width) {
            self.push(TextRun {
                x: self.x,
                baseline: self.y,
                size,
                bold,
                text: line,
            });
            self.y += leading;
        }
    }

    /// Lines already wrapped to the column.
    fn lines(&mut self, lines: &[String], size: f32, bold: bool, leading: f32) {
        for line in lines {
            self.push(TextRun {
                x: self.x,
                baseline: self.y,
                size,
                bold,
                text: line.clone(),
            });
            self.y += leading;
        }
    }

    /// A numbered item with a hanging indent.
    fn item(&mut self, number: &str, text: &str, size: f32, leading: f32, indent: f32) {
        self.push(TextRun {
            x: self.x,
            baseline: self.y,
            size,
            bold: true,
            text: number.to_string(),
        });
        for line in wrap(text, size, false, self.width - indent) {
            self.push(TextRun {
                x: self.x + indent,
                baseline: self.y,
                size,
                bold: false,
                text: line,
            });
            self.y += leading;
        }
    }

    fn gap(&mut self, mm: f32) {
        self.y += mm;
    }

    fn push(&mut self, run: TextRun) {
        self.bottom = self.bottom.max(run.bbox().3);
        self.runs.push(run);
    }

    /// The lowest ink of the column so far.
    fn bottom(&self) -> f32 {
        self.bottom
    }
}

const BODY_SIZE: f32 = 10.0;
const BODY_LEADING: f32 = 4.7;
const SIDE_SIZE: f32 = 9.5;
const SIDE_LEADING: f32 = 4.4;
pub(crate) const CODE_SIZE: f32 = 12.0;
const CODE_PITCH: f32 = 5.6;
const CODES_BOX_WIDTH: f32 = 78.0;

/// The parts of a page that depend only on the language and the window: the sender block at the
/// top right and the info column's labels, wrapped once.
pub(crate) struct LanguageLayout {
    pub header: Vec<TextRun>,
    /// The lowest ink of the sender block.
    header_bottom: f32,
    /// The date, reference and order labels, wrapped.
    labels: [Vec<String>; 3],
}

impl LanguageLayout {
    pub(crate) fn new(language: Language, window: &Window) -> LanguageLayout {
        let t = texts(language);
        let info_x = window.info_left_mm();
        let info_width = BODY_RIGHT_MM - info_x;
        let mut header = Vec::new();
        let mut info = Column {
            runs: &mut header,
            x: info_x,
            width: info_width,
            y: 20.0,
            bottom: f32::MIN,
        };
        info.paragraph(&t.sender_service, 16.0, true, 6.0);
        info.paragraph(&t.sender, 8.0, false, 3.6);
        let header_bottom = info.bottom();
        let labels = [&t.date_label, &t.reference_label, &t.order_label]
            .map(|label| wrap(label, 8.0, false, info_width));
        LanguageLayout {
            header,
            header_bottom,
            labels,
        }
    }

    /// Lays out the date, reference and order id with their labels right of the window and
    /// returns the lowest ink of the column (the sender block included).
    fn info(
        &self,
        window: &Window,
        date: &str,
        letter_id: &str,
        order_id: &str,
        runs: &mut Vec<TextRun>,
    ) -> f32 {
        let info_x = window.info_left_mm();
        let info_width = BODY_RIGHT_MM - info_x;
        let mut info = Column {
            runs,
            x: info_x,
            width: info_width,
            y: (self.header_bottom + 10.0).max(window.top_mm + 4.0),
            bottom: self.header_bottom,
        };
        for (label, value) in self.labels.iter().zip([date, letter_id, order_id]) {
            info.lines(label, 8.0, false, 4.2);
            let size = [10.0, 9.0, 8.0, 7.5]
                .into_iter()
                .find(|s| text_width_mm(value, *s, false) <= info_width)
                .unwrap_or(7.5);
            info.paragraph(value, size, false, size * 1.25 / PT_PER_MM);
            info.gap(2.5);
        }
        info.bottom()
    }
}

/// The top of the body below an info column that ends at `info_bottom`.
fn body_top(window: &Window, info_bottom: f32) -> f32 {
    BODY_TOP_MM
        .max(window.bottom_mm() + 8.0)
        .max(info_bottom + 8.0)
}

/// A code's place: its number ("7.") and where the code itself is set.
pub(crate) struct CodeSlot {
    pub number: TextRun,
    /// The code's index in [`LetterInput::codes`].
    pub index: usize,
    pub x: f32,
    pub baseline: f32,
}

/// The body of a page for one language and body top: every text that is the same on every such
/// letter, and where the 20 codes go.
pub(crate) struct BodyLayout {
    pub language: Language,
    /// For letters abroad (the help text gives the number callable from abroad).
    pub abroad: bool,
    /// The body's top, as bits (the key of a cache).
    pub top_bits: u32,
    /// Headings, texts and footer.
    pub runs: Vec<TextRun>,
    /// Where the 20 codes go, in reading order (1, 11, 2, 12, …).
    pub codes: Vec<CodeSlot>,
    pub frames: Vec<Frame>,
    /// Lowest point of the body, in mm from the top.
    pub body_bottom: f32,
}

pub(crate) fn layout_body(
    language: Language,
    abroad: bool,
    help_text: &str,
    top: f32,
) -> BodyLayout {
    let t: &Texts = texts(language);
    let mut runs = Vec::new();
    let mut frames = Vec::new();
    let mut codes = Vec::with_capacity(20);

    let mut body = Column {
        runs: &mut runs,
        x: BODY_LEFT_MM,
        width: BODY_RIGHT_MM - BODY_LEFT_MM,
        y: top + face(true).ascent_mm(&t.heading, 16.0),
        bottom: f32::MIN,
    };
    body.paragraph(&t.heading, 16.0, true, 9.0);
    body.paragraph(&t.intro, BODY_SIZE, false, BODY_LEADING);
    body.gap(3.0);

    // Codes, left, framed: 1–10 in the first column, 11–20 in the second.
    let heading_y = body.y;
    body.paragraph(&t.codes_heading, 11.0, true, 0.0);
    let box_top = heading_y + 2.5;
    let first = box_top + 2.5 + face(true).ascent_mm("0123456789", CODE_SIZE);
    let column_width = (CODES_BOX_WIDTH - 4.0) / 2.0;
    for row in 0..10 {
        let y = first + row as f32 * CODE_PITCH;
        for column in 0..2 {
            let n = column * 10 + row + 1;
            let x0 = BODY_LEFT_MM + 2.0 + column as f32 * column_width;
            let number = format!("{n}.");
            let number_right = x0 + 9.0;
            codes.push(CodeSlot {
                number: TextRun {
                    x: number_right - text_width_mm(&number, BODY_SIZE, false),
                    baseline: y,
                    size: BODY_SIZE,
                    bold: false,
                    text: number,
                },
                index: n - 1,
                x: x0 + 12.0,
                baseline: y,
            });
        }
    }
    let box_bottom = first + 9.0 * CODE_PITCH + face(true).descent_mm("0", CODE_SIZE) + 2.0;
    frames.push((
        BODY_LEFT_MM,
        box_top,
        BODY_LEFT_MM + CODES_BOX_WIDTH,
        box_bottom,
    ));

    // How to use them, right of the codes.
    let side_x = BODY_LEFT_MM + CODES_BOX_WIDTH + 7.0;
    let mut side = Column {
        runs: body.runs,
        x: side_x,
        width: BODY_RIGHT_MM - side_x,
        y: heading_y,
        bottom: f32::MIN,
    };
    side.paragraph(&t.use_heading, 11.0, true, 5.2);
    side.paragraph(&t.use_text, SIDE_SIZE, false, SIDE_LEADING);
    side.gap(2.5);
    side.paragraph(&t.create_heading, 11.0, true, 5.2);
    for (i, step) in t.create_steps.iter().enumerate() {
        side.item(&format!("{}.", i + 1), step, SIDE_SIZE, SIDE_LEADING, 5.0);
    }
    let side_bottom = side.bottom();

    let mut body = Column {
        runs: side.runs,
        x: BODY_LEFT_MM,
        width: BODY_RIGHT_MM - BODY_LEFT_MM,
        y: box_bottom.max(side_bottom) + 8.0,
        bottom: f32::MIN,
    };
    body.paragraph(&t.safety_heading, 11.0, true, 5.2);
    body.paragraph(&t.safety_text, BODY_SIZE, false, BODY_LEADING);
    body.gap(1.5);
    body.paragraph(&t.new_letter_text, BODY_SIZE, false, BODY_LEADING);
    body.gap(3.0);
    body.paragraph(&t.help_heading, 11.0, true, 5.2);
    body.paragraph(help_text, BODY_SIZE, false, BODY_LEADING);
    let body_bottom = body.bottom();

    runs.push(TextRun {
        x: BODY_LEFT_MM,
        baseline: FOOTER_BASELINE_MM,
        size: 7.5,
        bold: false,
        text: t.footer.clone(),
    });
    BodyLayout {
        language,
        abroad,
        top_bits: top.to_bits(),
        runs,
        codes,
        frames,
        body_bottom,
    }
}

/// The body ends too low: the letter does not fit on one page.
fn overflow(letter_id: &str, body_bottom: f32) -> RenderError {
    RenderError::PageOverflow {
        letter_id: letter_id.to_string(),
        detail: format!(
            "the body ends {body_bottom:.1} mm from the top; at most {BODY_BOTTOM_MM} mm"
        ),
    }
}

/// What one letter adds to the static page of its language.
pub(crate) struct LetterLayout {
    pub address: AddressLayout,
    pub matrix: Matrix,
    /// The date, reference and order id with their labels.
    pub info: Vec<TextRun>,
    /// The top of the body below the info column.
    pub body_top: f32,
}

/// Lays out what is particular to one letter, with the errors in the order the letter's checks
/// have always come: return address, address, DataMatrix.
fn layout_letter_parts(
    letter: &PreparedLetter,
    language: &LanguageLayout,
    window: &Window,
    return_run: &Result<TextRun, String>,
    date: &str,
) -> Result<LetterLayout, RenderError> {
    let id = || letter.letter_id.clone();
    let return_run = return_run
        .as_ref()
        .map_err(|detail| RenderError::ReturnAddress {
            letter_id: id(),
            detail: detail.clone(),
        })?;
    let address = layout_address(&letter.address_lines, window).map_err(|detail| {
        RenderError::AddressDoesNotFit {
            letter_id: id(),
            detail,
        }
    })?;
    let matrix =
        layout_matrix(&letter.letter_id, window, return_run.bbox().1).map_err(|detail| {
            RenderError::DataMatrix {
                letter_id: id(),
                detail,
            }
        })?;
    let mut info = Vec::with_capacity(8);
    let info_bottom = language.info(window, date, &letter.letter_id, &letter.order_id, &mut info);
    Ok(LetterLayout {
        address,
        matrix,
        info,
        body_top: body_top(window, info_bottom),
    })
}

/// What a page's 20 code places show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeText {
    /// The letter's PIN codes. (The drop's parts write them themselves, in `pdf`.)
    #[cfg_attr(not(test), allow(dead_code))]
    Pins,
    /// `XXXXX` in every place: a proof.
    Placeholder,
}

/// Lays out one whole letter page (the drop's parts lay out only what differs per letter; this
/// is for proofs and checks). The inputs are already NFC and checked for glyphs.
pub(crate) fn layout_letter(
    letter: &PreparedLetter,
    window: &Window,
    return_address: &str,
    helpdesk: &Helpdesk,
    shown: CodeText,
) -> Result<Layout, RenderError> {
    let language = LanguageLayout::new(letter.language, window);
    let return_run = layout_return_address(return_address, window);
    let date = texts(letter.language).format_date(letter.date);
    let parts = layout_letter_parts(letter, &language, window, &return_run, &date)?;
    let help = texts(letter.language).help_text(helpdesk, letter.abroad);
    let body = layout_body(letter.language, letter.abroad, &help, parts.body_top);
    if body.body_bottom > BODY_BOTTOM_MM {
        return Err(overflow(&letter.letter_id, body.body_bottom));
    }
    let mut runs = language.header.clone();
    runs.extend(parts.info);
    runs.extend(body.runs);
    for slot in &body.codes {
        runs.push(slot.number.clone());
        runs.push(TextRun {
            x: slot.x,
            baseline: slot.baseline,
            size: CODE_SIZE,
            bold: true,
            text: match shown {
                CodeText::Pins => format!("{:05}", letter.codes[slot.index]),
                CodeText::Placeholder => "XXXXX".to_string(),
            },
        });
    }
    Ok(Layout {
        return_address: return_run.expect("checked by layout_letter_parts"),
        address: parts.address,
        matrix: parts.matrix,
        runs,
        frames: body.frames,
        body_bottom: body.body_bottom,
    })
}

/// A letter's printed strings, NFC and checked. (No `Debug`: it holds the PIN codes.)
#[derive(Clone)]
pub(crate) struct PreparedLetter {
    pub letter_id: String,
    pub order_id: String,
    pub language: Language,
    /// The address is abroad.
    pub abroad: bool,
    pub address_lines: Vec<String>,
    pub codes: [u32; 20],
    pub date: chrono::NaiveDate,
}

fn glyph_check(letter_id: &str, field: &str, text: &str) -> Result<(), RenderError> {
    let missing = missing_glyphs(text);
    if missing.is_empty() {
        return Ok(());
    }
    Err(RenderError::MissingGlyph {
        letter_id: letter_id.to_string(),
        field: field.to_string(),
        chars: missing
            .iter()
            .map(|c| format!("U+{:04X}", *c as u32))
            .collect::<Vec<_>>()
            .join(" "),
    })
}

pub(crate) fn prepare(letter: &LetterInput<'_>) -> Result<PreparedLetter, RenderError> {
    // The letter id is named in errors, so it is checked before anything else is said about it.
    let letter_id = nfc(letter.letter_id);
    glyph_check(&letter_id, "letter id", &letter_id)?;
    let order_id = nfc(letter.order_id);
    glyph_check(&letter_id, "order id", &order_id)?;
    let address_lines: Vec<String> = letter.address.lines.iter().map(|l| nfc(l)).collect();
    for (i, line) in address_lines.iter().enumerate() {
        glyph_check(&letter_id, &format!("address line {}", i + 1), line)?;
    }
    let codes = *letter.codes;
    if let Some(i) = codes.iter().position(|c| *c > 99_999) {
        return Err(RenderError::Codes {
            letter_id,
            detail: format!("code number {} has more than 5 digits", i + 1),
        });
    }
    for i in 0..codes.len() {
        if let Some(j) = (i + 1..codes.len()).find(|j| codes[*j] == codes[i]) {
            return Err(RenderError::Codes {
                letter_id,
                detail: format!("codes number {} and {} are the same", i + 1, j + 1),
            });
        }
    }
    Ok(PreparedLetter {
        letter_id,
        order_id,
        language: letter.language,
        abroad: letter.address.zone == PostalZone::Abroad,
        address_lines,
        codes,
        date: letter.date,
    })
}

fn language_index(language: Language) -> usize {
    Language::ALL
        .iter()
        .position(|l| *l == language)
        .unwrap_or(0)
}

/// Renders `letters` into one PDF part, one A4 page per letter, in the given order.
///
/// To render many parts for the same window and return address, build a [`PartRenderer`] once.
pub fn render_part(
    letters: &[LetterInput<'_>],
    window: &Window,
    return_address: &str,
) -> Result<RenderedPart, RenderError> {
    PartRenderer::new(window, return_address)?.render(letters)
}

/// Renders parts for one envelope window and return address. Build it once and share it: it is
/// `Send + Sync`, and [`PartRenderer::render`] may run on several threads at once.
pub struct PartRenderer {
    window: Window,
    /// NFC, trimmed.
    return_address: String,
    /// The return address's characters the font lacks, as [`RenderError::MissingGlyph`] names
    /// them; empty if none.
    return_missing: String,
    return_run: Result<TextRun, String>,
    /// Per language, in the order of [`Language::ALL`].
    languages: Vec<LanguageLayout>,
    /// Per language (as `languages`): the help paragraph for letters in Norway and abroad.
    help_texts: Vec<[String; 2]>,
}

impl std::fmt::Debug for PartRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartRenderer")
            .field("window", &self.window)
            .field("return_address", &self.return_address)
            .finish_non_exhaustive()
    }
}

impl PartRenderer {
    /// Checks the window and lays out what every letter for it shares, with the default
    /// helpdesk.
    pub fn new(window: &Window, return_address: &str) -> Result<PartRenderer, RenderError> {
        Self::with_helpdesk(window, return_address, &Helpdesk::default())
    }

    /// [`PartRenderer::new`] with the helpdesk's web address and numbers from the settings.
    pub fn with_helpdesk(
        window: &Window,
        return_address: &str,
        helpdesk: &Helpdesk,
    ) -> Result<PartRenderer, RenderError> {
        window.check().map_err(RenderError::Window)?;
        for (setting, value) in [
            ("help_web", &helpdesk.web),
            ("help_phone", &helpdesk.phone),
            ("help_phone_abroad", &helpdesk.phone_abroad),
        ] {
            let detail = if value.trim().is_empty() {
                "is empty".to_string()
            } else {
                let missing = missing_glyphs(value);
                if missing.is_empty() {
                    continue;
                }
                format!(
                    "the letter's font has no glyph for {}",
                    missing
                        .iter()
                        .map(|c| format!("U+{:04X}", *c as u32))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            };
            return Err(RenderError::Setting {
                setting: setting.into(),
                detail,
            });
        }
        let helpdesk = Helpdesk {
            web: nfc(helpdesk.web.trim()),
            phone: nfc(helpdesk.phone.trim()),
            phone_abroad: nfc(helpdesk.phone_abroad.trim()),
        };
        let return_address = nfc(return_address.trim());
        let return_missing = missing_glyphs(&return_address)
            .iter()
            .map(|c| format!("U+{:04X}", *c as u32))
            .collect::<Vec<_>>()
            .join(" ");
        let return_run = if return_missing.is_empty() {
            layout_return_address(&return_address, window)
        } else {
            Err(String::new())
        };
        Ok(PartRenderer {
            window: *window,
            return_address,
            return_missing,
            return_run,
            languages: Language::ALL
                .iter()
                .map(|l| LanguageLayout::new(*l, window))
                .collect(),
            help_texts: Language::ALL
                .iter()
                .map(|l| [false, true].map(|abroad| texts(*l).help_text(&helpdesk, abroad)))
                .collect(),
        })
    }

    fn language(&self, language: Language) -> &LanguageLayout {
        &self.languages[language_index(language)]
    }

    fn help_text(&self, language: Language, abroad: bool) -> &str {
        &self.help_texts[language_index(language)][usize::from(abroad)]
    }

    /// Renders `letters` into one PDF part, one A4 page per letter, in the given order.
    pub fn render(&self, letters: &[LetterInput<'_>]) -> Result<RenderedPart, RenderError> {
        let (Some(first), Some(last)) = (letters.first(), letters.last()) else {
            return Err(RenderError::NoLetters);
        };
        let mut bodies: Vec<BodyLayout> = Vec::new();
        let mut dates: Vec<(Language, chrono::NaiveDate, String)> = Vec::new();
        let mut planned = Vec::with_capacity(letters.len());
        for letter in letters {
            let prepared = prepare(letter)?;
            if !self.return_missing.is_empty() {
                return Err(RenderError::MissingGlyph {
                    letter_id: prepared.letter_id,
                    field: "return address".into(),
                    chars: self.return_missing.clone(),
                });
            }
            let date = match dates
                .iter()
                .position(|(l, d, _)| *l == prepared.language && *d == prepared.date)
            {
                Some(i) => i,
                None => {
                    let text = texts(prepared.language).format_date(prepared.date);
                    dates.push((prepared.language, prepared.date, text));
                    dates.len() - 1
                }
            };
            let layout = layout_letter_parts(
                &prepared,
                self.language(prepared.language),
                &self.window,
                &self.return_run,
                &dates[date].2,
            )?;
            let top_bits = layout.body_top.to_bits();
            let body = match bodies.iter().position(|b| {
                b.language == prepared.language
                    && b.abroad == prepared.abroad
                    && b.top_bits == top_bits
            }) {
                Some(i) => i,
                None => {
                    bodies.push(layout_body(
                        prepared.language,
                        prepared.abroad,
                        self.help_text(prepared.language, prepared.abroad),
                        layout.body_top,
                    ));
                    bodies.len() - 1
                }
            };
            if bodies[body].body_bottom > BODY_BOTTOM_MM {
                return Err(overflow(&prepared.letter_id, bodies[body].body_bottom));
            }
            planned.push(pdf::PlannedPage {
                body,
                layout,
                codes: prepared.codes,
            });
        }
        let return_run = match &self.return_run {
            Ok(run) => run,
            // The first letter has failed on it above already.
            Err(detail) => {
                return Err(RenderError::ReturnAddress {
                    letter_id: first.letter_id.to_string(),
                    detail: detail.clone(),
                })
            }
        };
        let statics: Vec<pdf::StaticPage<'_>> = bodies
            .iter()
            .map(|body| pdf::StaticPage {
                runs: self
                    .language(body.language)
                    .header
                    .iter()
                    .chain(std::iter::once(return_run))
                    .chain(&body.runs)
                    .collect(),
                frames: &body.frames,
            })
            .collect();
        let meta = pdf::PartMeta { date: first.date };
        let pdf = pdf::write_part(&statics, &bodies, &planned, &meta).map_err(|detail| {
            RenderError::Pdf {
                first: first.letter_id.to_string(),
                last: last.letter_id.to_string(),
                detail,
            }
        })?;
        Ok(RenderedPart {
            pdf,
            pages: planned.len() as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::PostalZone;

    const RETURN: &str = "Postboks 1382 Vika, 0114 OSLO";

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn block(v: &[&str]) -> AddressBlock {
        AddressBlock {
            lines: lines(v),
            zone: PostalZone::Domestic,
            postcode: Some("9008".into()),
            country: "NO".into(),
        }
    }

    fn codes() -> [u32; 20] {
        std::array::from_fn(|i| 10_101 * (i as u32 + 1) % 100_000)
    }

    fn date() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn prepared(
        language: Language,
        letter_id: &str,
        order_id: &str,
        address: &[&str],
    ) -> PreparedLetter {
        let address = block(address);
        let codes = codes();
        prepare(&LetterInput {
            letter_id,
            order_id,
            language,
            address: &address,
            codes: &codes,
            date: date(),
        })
        .unwrap()
    }

    fn inside(inner: (f32, f32, f32, f32), outer: (f32, f32, f32, f32)) -> bool {
        let e = 1e-3;
        inner.0 >= outer.0 - e
            && inner.1 >= outer.1 - e
            && inner.2 <= outer.2 + e
            && inner.3 <= outer.3 + e
    }

    fn overlap(a: (f32, f32, f32, f32), b: (f32, f32, f32, f32)) -> bool {
        a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
    }

    #[test]
    fn default_window_is_din_5008_form_b() {
        let w = Window::default();
        assert_eq!(
            (
                w.left_mm,
                w.top_mm,
                w.width_mm,
                w.height_mm,
                w.return_zone_mm
            ),
            (20.0, 45.0, 85.0, 45.0, 17.7)
        );
        assert_eq!(w.check(), Ok(()));
        let parsed: Window = toml::from_str(
            "left_mm = 20\ntop_mm = 27\nwidth_mm = 85\nheight_mm = 45\nreturn_zone_mm = 17.7\n",
        )
        .unwrap();
        assert_eq!(parsed.top_mm, 27.0);
        assert_eq!(parsed.check(), Ok(()));
    }

    #[test]
    fn bad_windows_are_refused() {
        let d = Window::default();
        for w in [
            Window { left_mm: 10.0, ..d },
            Window {
                width_mm: f32::NAN,
                ..d
            },
            Window {
                left_mm: 100.0,
                ..d
            },
            Window {
                return_zone_mm: 40.0,
                ..d
            },
            Window { top_mm: 200.0, ..d },
        ] {
            assert!(w.check().is_err(), "{w:?}");
        }
        let address = block(&["A B", "9008 TROMSØ"]);
        let codes = codes();
        let input = LetterInput {
            letter_id: "L1",
            order_id: "o1",
            language: Language::Nb,
            address: &address,
            codes: &codes,
            date: date(),
        };
        let bad = Window { left_mm: 5.0, ..d };
        assert!(matches!(
            render_part(&[input], &bad, RETURN),
            Err(RenderError::Window(_))
        ));
        assert_eq!(
            render_part(&[], &d, RETURN).unwrap_err(),
            RenderError::NoLetters
        );
    }

    #[test]
    fn a_short_address_is_set_at_10_pt_inside_the_window() {
        let w = Window::default();
        let a = layout_address(
            &lines(&["Áŋŋá Čuđe", "Storgata 12B H0101", "9008 TROMSØ"]),
            &w,
        )
        .unwrap();
        assert_eq!(a.size, 10.0);
        let zone = (w.left_mm, w.address_top_mm(), w.right_mm(), w.bottom_mm());
        for r in &a.runs {
            assert_eq!(r.x, 25.0);
            assert!(inside(r.bbox(), zone), "{r:?}");
            assert!(r.bbox().2 <= w.right_mm() - ADDRESS_RIGHT_PAD_MM + 1e-3);
        }
        // Lines go down the page at a constant pitch, first at the top of the zone.
        assert!(a.runs[1].baseline > a.runs[0].baseline);
        assert!((a.runs[0].bbox().1 - (w.address_top_mm() + ADDRESS_PAD_TOP_MM)).abs() < 0.2);
    }

    #[test]
    fn a_wide_line_gets_a_smaller_size_and_too_wide_does_not_fit() {
        let w = Window::default();
        let wide = "MWMWMWMWMWMWMWMWMWMWMWMWMW";
        let at10 = text_width_mm(wide, 10.0, false);
        assert!(at10 > w.text_width_mm(), "{at10}");
        assert!(text_width_mm(wide, 8.0, false) <= w.text_width_mm());
        let a = layout_address(&lines(&[wide, "9008 TROMSØ"]), &w).unwrap();
        assert!(a.size < 10.0 && a.size >= 8.0, "{}", a.size);
        assert!(a
            .runs
            .iter()
            .all(|r| r.bbox().2 <= w.right_mm() - ADDRESS_RIGHT_PAD_MM + 1e-3));
        // Character counts do not decide: 40 narrow letters fit, 34 wide ones do not.
        assert!(address_fits(&lines(&[&"il".repeat(20), "9008 TROMSØ"]), &w));
        let too_wide = "W".repeat(34);
        assert!(!address_fits(&lines(&[&too_wide, "9008 TROMSØ"]), &w));
        let err = layout_address(&lines(&[&too_wide]), &w).unwrap_err();
        assert!(err.starts_with("line 1 is "), "{err}");
        assert!(!err.contains('W'), "the error repeats the address: {err}");
    }

    #[test]
    fn six_lines_fit_and_seven_do_not() {
        let w = Window::default();
        let six = [
            "Þórður Ðorri",
            "c/o Řeřicha Ěmil",
            "Gjøvikgården",
            "Fjellvegen 99B",
            "Inngang bakside",
            "2815 GJØVIK",
        ];
        let a = layout_address(&lines(&six), &w).unwrap();
        assert_eq!(a.runs.len(), 6);
        let zone = (w.left_mm, w.address_top_mm(), w.right_mm(), w.bottom_mm());
        assert!(a.runs.iter().all(|r| inside(r.bbox(), zone)));
        let mut seven = six.to_vec();
        seven.insert(1, "Ekstra linje");
        assert!(!address_fits(&lines(&seven), &w));
        assert!(!address_fits(&[], &w));
        // A lower window: six lines no longer fit at any size.
        let low = Window {
            height_mm: 38.0,
            ..w
        };
        assert!(!address_fits(&lines(&six), &low));
        assert!(address_fits(&lines(&six[..4]), &low));
    }

    #[test]
    fn decomposed_accents_are_composed_before_measuring() {
        let w = Window::default();
        assert!(address_fits(
            &lines(&["Ju\u{308}rgen Groß", "9008 TROMSØ"]),
            &w
        ));
        let p = prepared(
            Language::Nb,
            "L1",
            "o1",
            &["Ju\u{308}rgen Groß", "9008 TROMSØ"],
        );
        assert_eq!(p.address_lines[0], "Jürgen Groß");
    }

    #[test]
    fn wrapping_keeps_every_word_within_the_width() {
        let text = "Oppbevar brevet på et trygt sted, og gi aldri en PIN-kode til noen andre. Ingen fra det offentlige vil noen gang be deg om en PIN-kode.";
        for width in [40.0, 78.0, 165.0] {
            let wrapped = wrap(text, 10.0, false, width);
            assert!(wrapped
                .iter()
                .all(|l| text_width_mm(l, 10.0, false) <= width));
            assert_eq!(wrapped.join(" "), text);
            if width < 100.0 {
                assert!(wrapped.len() > 1);
            }
        }
        let long = "Donaudampfschifffahrtsgesellschaftskapitänswitwe";
        let broken = wrap(long, 10.0, false, 30.0);
        assert!(broken.len() > 1);
        assert_eq!(broken.concat(), long);
        assert!(broken.iter().all(|l| text_width_mm(l, 10.0, false) <= 30.0));
        assert!(wrap("   ", 10.0, false, 30.0).is_empty());
    }

    #[test]
    fn every_language_fits_one_page_without_overlaps() {
        let long_id = "3f2b8c1e-9a4d-4c6b-8e2f-7d1a5b9c0e44";
        let long_order = "o".repeat(64);
        for window in [
            Window::default(),
            Window {
                top_mm: 27.0,
                ..Window::default()
            },
        ] {
            for language in Language::ALL {
                let p = prepared(
                    *language,
                    long_id,
                    &long_order,
                    &[
                        "Máret Ŧorbmá Sárá",
                        "c/o Őrsi Ű",
                        "Gjøvikgården",
                        "Fjellvegen 99B H0304",
                        "Inngang bakside",
                        "2815 GJØVIK",
                    ],
                );
                let l = layout_letter(&p, &window, RETURN, &Helpdesk::default(), CodeText::Pins)
                    .unwrap();
                assert!(
                    l.body_bottom <= BODY_BOTTOM_MM,
                    "{language}: {}",
                    l.body_bottom
                );
                let page = (
                    MIN_LEFT_MARGIN_MM,
                    10.0,
                    BODY_RIGHT_MM,
                    PAGE_HEIGHT_MM - 8.0,
                );
                let window_box = (
                    window.left_mm,
                    window.top_mm,
                    window.right_mm(),
                    window.bottom_mm(),
                );
                let all: Vec<&TextRun> = std::iter::once(&l.return_address)
                    .chain(&l.address.runs)
                    .chain(&l.runs)
                    .collect();
                for (i, a) in all.iter().enumerate() {
                    assert!(
                        inside(a.bbox(), page),
                        "{language}: {a:?} leaves the page's margins"
                    );
                    for b in &all[i + 1..] {
                        assert!(
                            !overlap(a.bbox(), b.bbox()),
                            "{language}: {a:?} overlaps {b:?}"
                        );
                    }
                    assert!(
                        !overlap(a.bbox(), l.matrix.bbox_with_quiet_zone()),
                        "{a:?} on the DataMatrix"
                    );
                }
                // Only the return address and the address block are in the window.
                for r in &l.runs {
                    assert!(
                        !overlap(r.bbox(), window_box),
                        "{language}: {r:?} is in the window"
                    );
                }
                assert!(inside(
                    l.return_address.bbox(),
                    (
                        window.left_mm,
                        window.top_mm,
                        window.right_mm(),
                        window.address_top_mm()
                    )
                ));
                for f in &l.frames {
                    assert!(inside(*f, page) && !overlap(*f, window_box));
                }
                // The DataMatrix, with its quiet zone, in the return zone above the return address.
                let m = l.matrix.bbox_with_quiet_zone();
                assert!(inside(
                    m,
                    (
                        window.left_mm,
                        window.top_mm,
                        window.right_mm(),
                        l.return_address.bbox().1
                    )
                ));
                assert!(l.matrix.module >= MIN_MODULE_MM && l.matrix.module <= MODULE_MM);
                assert_eq!(l.matrix.columns, l.matrix.rows, "square symbol");
                // The codes: numbered 1–20, five digits each, bold.
                for (i, code) in p.codes.iter().enumerate() {
                    assert!(l.runs.iter().any(|r| r.text == format!("{}.", i + 1)));
                    assert!(l
                        .runs
                        .iter()
                        .any(|r| r.bold && r.text == format!("{code:05}")));
                }
            }
        }
    }

    #[test]
    fn letter_ids_get_the_same_datamatrix_as_with_every_encodation() {
        use datamatrix::{DataMatrix, SymbolList};
        let w = Window::default();
        let return_top = layout_return_address(RETURN, &w).unwrap().bbox().1;
        for id in [
            "L20261124-000001",
            "L20261124-123456",
            "L-7",
            "3f2b8c1e-9a4d-4c6b-8e2f-7d1a5b9c0e44",
        ] {
            let full = DataMatrix::encode(id.as_bytes(), SymbolList::default().enforce_square())
                .unwrap()
                .bitmap();
            let m = layout_matrix(id, &w, return_top).unwrap();
            assert_eq!((m.columns, m.rows), (full.width(), full.height()), "{id}");
            let decoded = DataMatrix::decode(&m.bits, m.columns).unwrap();
            assert_eq!(decoded, id.as_bytes());
        }
    }

    #[test]
    fn the_return_address_is_one_line_at_7_pt() {
        let w = Window::default();
        let r = layout_return_address(RETURN, &w).unwrap();
        assert_eq!(r.size, 7.0);
        assert!(r.bbox().3 <= w.address_top_mm() - RETURN_GAP_MM + 1e-3);
        assert!(layout_return_address(&RETURN.repeat(3), &w).is_err());
    }

    #[test]
    fn a_missing_glyph_is_an_error_naming_the_letter() {
        let address = block(&["王秀英", "9008 TROMSØ"]);
        let codes = codes();
        let input = LetterInput {
            letter_id: "L-42",
            order_id: "o-42",
            language: Language::En,
            address: &address,
            codes: &codes,
            date: date(),
        };
        let err = render_part(&[input], &Window::default(), RETURN).unwrap_err();
        assert_eq!(
            err,
            RenderError::MissingGlyph {
                letter_id: "L-42".into(),
                field: "address line 1".into(),
                chars: "U+738B U+79C0 U+82F1".into(),
            }
        );
        assert!(err.to_string().contains("L-42"));
        let address = block(&["Wang Xiuying", "9008 TROMSØ"]);
        let input = LetterInput {
            address: &address,
            ..input
        };
        let err = render_part(&[input], &Window::default(), "Digdir 王").unwrap_err();
        assert!(
            matches!(err, RenderError::MissingGlyph { ref field, .. } if field == "return address")
        );
    }

    #[test]
    fn bad_codes_are_refused_without_showing_them() {
        let address = block(&["Ola Nordmann", "9008 TROMSØ"]);
        let mut codes = codes();
        codes[7] = codes[3];
        let input = LetterInput {
            letter_id: "L-7",
            order_id: "o-7",
            language: Language::Nb,
            address: &address,
            codes: &codes,
            date: date(),
        };
        let err = render_part(&[input], &Window::default(), RETURN).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("L-7") && text.contains("4 and 8"), "{text}");
        assert!(!text.contains(&format!("{:05}", codes[3])));
        let mut long = codes;
        long[7] = 123_456;
        let input = LetterInput {
            letter_id: "L-7",
            order_id: "o-7",
            language: Language::Nb,
            address: &address,
            codes: &long,
            date: date(),
        };
        let text = render_part(&[input], &Window::default(), RETURN)
            .unwrap_err()
            .to_string();
        assert!(
            !text.contains("123456") && text.contains("number 8"),
            "{text}"
        );
    }

    #[test]
    fn a_part_has_a_page_per_letter() {
        let address = block(&["Ola Nordmann", "Storgata 1", "9008 TROMSØ"]);
        let codes = codes();
        let ids: Vec<String> = (1..=3).map(|i| format!("L-{i}")).collect();
        let inputs: Vec<LetterInput<'_>> = ids
            .iter()
            .map(|id| LetterInput {
                letter_id: id,
                order_id: "o-1",
                language: Language::Nn,
                address: &address,
                codes: &codes,
                date: date(),
            })
            .collect();
        let part = render_part(&inputs, &Window::default(), RETURN).unwrap();
        assert_eq!(part.pages, 3);
        assert!(part.pdf.starts_with(b"%PDF-1.7"));
        assert!(part.pdf.ends_with(b"%%EOF") || part.pdf.ends_with(b"%%EOF\n"));
    }

    /// Letters in every language, some twice, with distinct ids and codes.
    fn mixed_part(renderer: &PartRenderer, count: usize) -> RenderedPart {
        let address = block(&["Máret Ŧorbmá Sárá", "Storgata 1", "9008 TROMSØ"]);
        let ids: Vec<String> = (0..count).map(|i| format!("L-{i}")).collect();
        let all_codes: Vec<[u32; 20]> = (0..count)
            .map(|i| std::array::from_fn(|j| (i as u32 * 20 + j as u32) * 37 % 100_000))
            .collect();
        let inputs: Vec<LetterInput<'_>> = (0..count)
            .map(|i| LetterInput {
                letter_id: &ids[i],
                order_id: "o-1",
                language: Language::ALL[i % Language::ALL.len()],
                address: &address,
                codes: &all_codes[i],
                date: date(),
            })
            .collect();
        renderer.render(&inputs).unwrap()
    }

    #[test]
    fn a_part_draws_one_form_per_language_and_no_carrier_page_is_left() {
        let renderer = PartRenderer::new(&Window::default(), RETURN).unwrap();
        let part = mixed_part(&renderer, 5);
        assert_eq!(part.pages, 5);
        let doc = lopdf::Document::load_mem(&part.pdf).unwrap();
        let pages = doc.get_pages();
        assert_eq!(
            pages.len(),
            5,
            "one page per letter, no carrier or probe page"
        );
        let tree = doc
            .catalog()
            .and_then(|c| c.get(b"Pages"))
            .and_then(lopdf::Object::as_reference)
            .and_then(|id| doc.get_dictionary(id))
            .unwrap();
        assert_eq!(tree.get(b"Count").unwrap().as_i64().unwrap(), 5);

        let mut forms_drawn = Vec::new();
        for id in pages.values() {
            let content = doc.get_page_content(*id);
            let text = String::from_utf8_lossy(&content).into_owned();
            let (form, _) = text.split_once(" Do\n").expect("the page draws its form");
            forms_drawn.push(form.trim_start_matches('/').to_string());
            assert_eq!(text.matches(" Do").count(), 1);
            // The codes are the page's own, the sender's texts are the form's.
            assert!(text.contains("/B 12 Tf"), "{text}");
        }
        // nb, nn, en, nb, nn: the same language draws the same form.
        assert_eq!(forms_drawn[0], forms_drawn[3]);
        assert_eq!(forms_drawn[1], forms_drawn[4]);
        assert_ne!(forms_drawn[0], forms_drawn[1]);
        assert_ne!(forms_drawn[1], forms_drawn[2]);

        let first = pages.values().next().unwrap();
        let resources = doc
            .get_dictionary(*first)
            .and_then(|page| page.get(b"Resources"))
            .and_then(lopdf::Object::as_reference)
            .and_then(|id| doc.get_dictionary(id))
            .unwrap();
        let xobjects = resources.get(b"XObject").unwrap().as_dict().unwrap();
        assert_eq!(xobjects.len(), 3, "a form per language");
        for (_, form) in xobjects.iter() {
            let form = doc
                .get_object(form.as_reference().unwrap())
                .and_then(lopdf::Object::as_stream)
                .unwrap();
            let name = |key: &[u8]| form.dict.get(key).and_then(lopdf::Object::as_name).unwrap();
            assert_eq!(name(b"Type"), b"XObject");
            assert_eq!(name(b"Subtype"), b"Form");
            assert_eq!(form.dict.get(b"FormType").unwrap().as_i64().unwrap(), 1);
            let bbox = form.dict.get(b"BBox").unwrap().as_array().unwrap();
            assert_eq!(bbox.len(), 4);
            let fonts = form.dict.get(b"Resources").unwrap().as_dict().unwrap();
            assert!(fonts.get(b"Font").is_ok());
            let content = String::from_utf8(form.decompressed_content().unwrap()).unwrap();
            assert!(content.contains(" Tj"), "the form carries the static text");
        }
    }

    #[test]
    fn parts_render_on_several_threads_at_once() {
        fn shareable<T: Send + Sync>(_: &T) {}
        let renderer = PartRenderer::new(&Window::default(), RETURN).unwrap();
        shareable(&renderer);
        let parts: Vec<RenderedPart> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| scope.spawn(|| mixed_part(&renderer, 7)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for part in parts {
            assert_eq!(part.pages, 7);
            let doc = lopdf::Document::load_mem(&part.pdf).unwrap();
            assert_eq!(doc.get_pages().len(), 7);
        }
    }

    #[test]
    fn a_letter_whose_info_column_pushes_the_body_down_gets_its_own_form() {
        // A deeper return-address zone leaves room for the DataMatrix of a very long id, whose
        // reference then wraps over so many lines that the body must start lower.
        let window = Window {
            return_zone_mm: 25.0,
            ..Window::default()
        };
        let renderer = PartRenderer::new(&window, RETURN).unwrap();
        let long_id: String = (0..300)
            .map(|i| char::from(b'0' + (i % 10) as u8))
            .collect();
        let address = block(&["Ola Nordmann", "9008 TROMSØ"]);
        let codes = codes();
        let letter = |letter_id| LetterInput {
            letter_id,
            order_id: "o-1",
            language: Language::Nb,
            address: &address,
            codes: &codes,
            date: date(),
        };
        let part = renderer
            .render(&[letter("L-1"), letter(&long_id), letter("L-3")])
            .unwrap();
        let doc = lopdf::Document::load_mem(&part.pdf).unwrap();
        let forms: Vec<String> = doc
            .get_pages()
            .values()
            .map(|id| {
                let content = doc.get_page_content(*id);
                let text = String::from_utf8_lossy(&content).into_owned();
                text.split_once(" Do").unwrap().0.to_string()
            })
            .collect();
        assert_eq!(forms[0], forms[2]);
        assert_ne!(forms[0], forms[1], "the lower body is another form");
    }
}
