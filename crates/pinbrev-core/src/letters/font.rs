//! The letter's fonts: DejaVu Sans and DejaVu Sans Bold, built into the binary and parsed once.
//!
//! Widths are computed exactly as a PDF viewer computes them from what printpdf writes: printpdf
//! neither kerns nor shapes, and stores each glyph's advance in the `/W` array truncated to
//! thousandths of an em. Measuring the same way keeps the layout and the printed page identical.

use std::sync::LazyLock;

use printpdf::ParsedFont;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`).
const REGULAR_TTF: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold.
const BOLD_TTF: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Points per millimetre.
pub const PT_PER_MM: f32 = 72.0 / 25.4;

/// A parsed face with the metrics the layout needs.
pub struct Face {
    pub parsed: ParsedFont,
    units_per_em: f32,
    /// hhea ascender, in ems (positive).
    ascent_em: f32,
    /// hhea descender, in ems (positive: distance below the baseline).
    descent_em: f32,
    /// Ink top and bottom (ems, bottom positive below the baseline) of the characters below
    /// [`EXTENT_TABLE_LEN`], decoded once.
    extents: Vec<(f32, f32)>,
    /// [`Face::advance_milli_em`] of the characters below [`EXTENT_TABLE_LEN`]; negative where
    /// the font has no glyph.
    advances: Vec<f32>,
}

/// Code points whose glyph extents are kept in a table (Latin, Greek, Cyrillic and more); the
/// rest are decoded when asked for.
const EXTENT_TABLE_LEN: u32 = 0x0600;

impl Face {
    fn load(bytes: &[u8], name: &str) -> Face {
        let mut warnings = Vec::new();
        let parsed = ParsedFont::from_bytes(bytes, 0, &mut warnings)
            .unwrap_or_else(|| panic!("the built-in font {name} does not parse: {warnings:?}"));
        let m = parsed.pdf_font_metrics;
        let units_per_em = f32::from(m.units_per_em);
        let mut face = Face {
            ascent_em: f32::from(m.ascender) / units_per_em,
            descent_em: -f32::from(m.descender) / units_per_em,
            units_per_em,
            parsed,
            extents: Vec::new(),
            advances: Vec::new(),
        };
        face.extents = (0..EXTENT_TABLE_LEN)
            .map(|cp| char::from_u32(cp).map_or((0.0, 0.0), |c| face.decode_extent_em(c)))
            .collect();
        face.advances = (0..EXTENT_TABLE_LEN)
            .map(|cp| {
                char::from_u32(cp)
                    .and_then(|c| face.decode_advance_milli_em(c))
                    .unwrap_or(-1.0)
            })
            .collect();
        face
    }

    /// Whether the font has a glyph for `c`.
    fn has_glyph(&self, c: char) -> bool {
        match self.advances.get(c as usize) {
            Some(a) => *a >= 0.0,
            None => self.parsed.lookup_glyph_index(c as u32).is_some(),
        }
    }

    /// Ink top and bottom of `c`'s glyph in ems (zero for a blank or missing glyph).
    fn decode_extent_em(&self, c: char) -> (f32, f32) {
        let Some(glyph) = self
            .parsed
            .lookup_glyph_index(c as u32)
            .and_then(|gid| self.parsed.get_or_decode_glyph(gid))
        else {
            return (0.0, 0.0);
        };
        let b = glyph.bounding_box;
        if b.max_y > b.min_y {
            (
                f32::from(b.max_y) / self.units_per_em,
                -f32::from(b.min_y) / self.units_per_em,
            )
        } else {
            (0.0, 0.0)
        }
    }

    /// The advance of `c` in thousandths of an em as written to the PDF's `/W` array, or `None`
    /// when the font has no glyph for it.
    fn advance_milli_em(&self, c: char) -> Option<f32> {
        match self.advances.get(c as usize) {
            Some(a) if *a < 0.0 => None,
            Some(a) => Some(*a),
            None => self.decode_advance_milli_em(c),
        }
    }

    fn decode_advance_milli_em(&self, c: char) -> Option<f32> {
        let gid = self.parsed.lookup_glyph_index(c as u32)?;
        let advance = f32::from(self.parsed.get_horizontal_advance(gid));
        Some((advance * 1000.0 / self.units_per_em).trunc())
    }

    /// Width of `text` in mm at `size_pt`; characters the font lacks count as zero (check them
    /// with [`missing_glyphs`] first).
    pub fn width_mm(&self, text: &str, size_pt: f32) -> f32 {
        // Summed in the same order as ever, so that widths come out bit for bit the same.
        let milli: f32 = text.chars().filter_map(|c| self.advance_milli_em(c)).sum();
        milli / 1000.0 * size_pt / PT_PER_MM
    }

    /// The height above the baseline that `text` may reach, in mm: the font's ascender or, if a
    /// glyph (e.g. a capital with a double accent) rises higher, that glyph's top.
    pub fn ascent_mm(&self, text: &str, size_pt: f32) -> f32 {
        let (top, _) = self.ink_extent_em(text);
        top.max(self.ascent_em) * size_pt / PT_PER_MM
    }

    /// The depth below the baseline that `text` may reach, in mm (positive).
    pub fn descent_mm(&self, text: &str, size_pt: f32) -> f32 {
        let (_, bottom) = self.ink_extent_em(text);
        bottom.max(self.descent_em) * size_pt / PT_PER_MM
    }

    /// Highest top and lowest bottom (positive below the baseline) of the glyphs of `text`, in ems.
    fn ink_extent_em(&self, text: &str) -> (f32, f32) {
        text.chars()
            .map(|c| match self.extents.get(c as usize) {
                Some(e) => *e,
                None => self.decode_extent_em(c),
            })
            .fold((0.0f32, 0.0f32), |(t, b), (ct, cb)| (t.max(ct), b.max(cb)))
    }

    /// The font's line box (ascender + descender) in mm.
    pub fn line_box_mm(&self, size_pt: f32) -> f32 {
        (self.ascent_em + self.descent_em) * size_pt / PT_PER_MM
    }
}

/// DejaVu Sans.
pub static REGULAR: LazyLock<Face> = LazyLock::new(|| Face::load(REGULAR_TTF, "DejaVu Sans"));
/// DejaVu Sans Bold.
pub static BOLD: LazyLock<Face> = LazyLock::new(|| Face::load(BOLD_TTF, "DejaVu Sans Bold"));

/// The face for `bold`.
pub fn face(bold: bool) -> &'static Face {
    if bold {
        &BOLD
    } else {
        &REGULAR
    }
}

/// Width of `text` in millimetres at `size_pt`, as a PDF viewer lays it out.
pub fn text_width_mm(text: &str, size_pt: f32, bold: bool) -> f32 {
    face(bold).width_mm(text, size_pt)
}

/// The characters of `text` that the letter's fonts (regular or bold) cannot show, each once, in
/// order of appearance. Control characters count as missing.
pub fn missing_glyphs(text: &str) -> Vec<char> {
    let mut missing = Vec::new();
    for c in text.chars() {
        let lacks = c.is_control() || !REGULAR.has_glyph(c) || !BOLD.has_glyph(c);
        if lacks && !missing.contains(&c) {
            missing.push(c);
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_pdf_widths_array() {
        // DejaVu Sans: 2048 units/em; "M" advances 1767 units = 862/1000 em after truncation.
        let m = text_width_mm("M", 10.0, false);
        assert!((m - 0.862 * 10.0 / PT_PER_MM).abs() < 1e-4, "{m}");
        // Widths add up, bold is wider, size scales linearly.
        let ab = text_width_mm("AB", 10.0, false);
        assert!(
            (ab - text_width_mm("A", 10.0, false) - text_width_mm("B", 10.0, false)).abs() < 1e-5
        );
        assert!(
            text_width_mm("Storgata 12B", 10.0, true) > text_width_mm("Storgata 12B", 10.0, false)
        );
        let w10 = text_width_mm("Tromsø", 10.0, false);
        assert!((text_width_mm("Tromsø", 5.0, false) * 2.0 - w10).abs() < 1e-4);
        // Digits are tabular: every code is equally wide.
        assert_eq!(
            text_width_mm("00000", 10.0, true),
            text_width_mm("98765", 10.0, true)
        );
        assert_eq!(text_width_mm("", 10.0, false), 0.0);
    }

    #[test]
    fn the_register_alphabets_are_covered() {
        let names =
            "Áŋŋá Čuđe Máret Ŧorbmá Sárá Łukasz Wójcik-Żółć Žydrūnė Šimkūnaitė Jürgen Groß \
                     Őrsi Ű Þórður Ðorri Řeřicha Ěmil Ærø Øyvind Åse ę ą ș ț ğ ı İ ñ ç ÿ – « » ·";
        assert_eq!(missing_glyphs(names), Vec::<char>::new());
    }

    #[test]
    fn missing_glyphs_are_reported_once() {
        assert_eq!(missing_glyphs("王王 Ola 李"), vec!['王', '李']);
        assert_eq!(missing_glyphs("a\u{7}b"), vec!['\u{7}']);
    }

    #[test]
    fn extents_cover_accents_and_descenders() {
        let f = face(false);
        assert!(f.ascent_mm("Ő", 10.0) >= f.ascent_mm("O", 10.0));
        assert!(f.descent_mm("gjpq", 10.0) > 0.0);
        let box_mm = f.line_box_mm(10.0);
        assert!(box_mm > 3.5 && box_mm < 4.5, "{box_mm}");
    }
}
