//! Writing a part's PDF: what every letter shares once, what each letter has on its own page.
//!
//! printpdf builds the document: the two embedded font subsets (with their widths and Unicode
//! maps) and, on "carrier" pages, every piece of text that many letters share (the return
//! address, the sender, the body of each language) — printpdf encodes that text itself. A
//! "palette" page shows every character the letters' own text uses, so that the subsets hold
//! those glyphs and printpdf tells, through its own encoding of the palette, the code of each.
//!
//! Then, in the lopdf document printpdf hands over, each carrier page becomes a Form XObject,
//! the carrier and palette pages go, and one page per letter is added whose content stream
//! draws the shared forms and writes the letter's own text (address, date, reference, codes)
//! and its DataMatrix directly, with the codes learnt from the palette. Streams are compressed
//! here with one reused deflate state at a fast level.
//!
//! The order of the content keeps reading order as before: a text extractor that follows the
//! content stream (`pdftotext -raw`) reads each code right after its number.

use std::borrow::Cow;
use std::collections::HashMap;

use flate2::{Compress, Compression, FlushCompress, Status};
use lopdf::{dictionary, Dictionary, Object, ObjectId, Stream};
use printpdf::{
    Color, FontId, Greyscale, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Polygon, PolygonRing, Pt, TextItem, TextMatrix, WindingOrder,
};

use super::font::{face, PT_PER_MM};
use super::render::{Frame, Matrix, TextRun, PAGE_HEIGHT_MM, PAGE_WIDTH_MM};

/// Deflate level of the letters' content streams: nearly the size of the default level at a
/// fraction of its time on text this repetitive.
const CONTENT_LEVEL: u32 = 6;
/// Deflate level of the streams a part has once (fonts, forms).
const SHARED_LEVEL: u32 = 6;

/// A piece of a page that many letters share, drawn as a Form XObject.
pub(crate) struct Shared<'a> {
    pub runs: Vec<&'a TextRun>,
    pub frames: &'a [Frame],
}

/// What goes on one letter's page, in content order.
pub(crate) enum Piece<'a> {
    /// A shared piece (index into the part's list).
    Shared(usize),
    /// Text of this letter only.
    Text(Vec<Cow<'a, TextRun>>),
    /// The DataMatrix.
    Matrix(&'a Matrix),
}

/// Why the PDF could not be written (turned into `RenderError::Pdf` by the caller).
pub(crate) type PdfResult<T> = Result<T, String>;

/// Writes a part: `shared` pieces once, then one page per entry of `pages`.
pub(crate) fn write_part(
    shared: &[Shared<'_>],
    pages: &[Vec<Piece<'_>>],
    title: &str,
    created: Option<printpdf::OffsetDateTime>,
) -> PdfResult<Vec<u8>> {
    let mut doc = PdfDocument::new(title);
    let regular = doc.add_font(&face(false).parsed);
    let bold = doc.add_font(&face(true).parsed);
    for id in [&regular, &bold] {
        if id.0.is_empty() || !id.0.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("unusable font resource name {:?}", id.0));
        }
    }

    // The characters the letters' own text uses, per face.
    let mut palette = [String::new(), String::new()];
    let mut seen = [CharMap::default(), CharMap::default()];
    for page in pages {
        for piece in page {
            let mut add = |run: &TextRun| {
                let f = usize::from(run.bold);
                for c in run.text.chars() {
                    if seen[f].get(c).is_none() {
                        seen[f].insert(c, [0, 0]);
                        palette[f].push(c);
                    }
                }
            };
            if let Piece::Text(runs) = piece {
                runs.iter().for_each(|r| add(r));
            }
        }
    }

    let mut carriers: Vec<PdfPage> = shared
        .iter()
        .map(|s| {
            PdfPage::new(
                Mm(PAGE_WIDTH_MM),
                Mm(PAGE_HEIGHT_MM),
                shared_ops(s, &regular, &bold),
            )
        })
        .collect();
    let mut palette_ops = vec![Op::StartTextSection];
    for (f, font) in [(0, &regular), (1, &bold)] {
        if palette[f].is_empty() {
            continue;
        }
        palette_ops.push(Op::SetFont {
            font: PdfFontHandle::External(font.clone()),
            size: Pt(10.0),
        });
        palette_ops.push(Op::SetTextMatrix {
            matrix: TextMatrix::Translate(Pt(0.0), Pt(0.0)),
        });
        palette_ops.push(Op::ShowText {
            items: vec![TextItem::Text(palette[f].clone())],
        });
    }
    palette_ops.push(Op::EndTextSection);
    carriers.push(PdfPage::new(
        Mm(PAGE_WIDTH_MM),
        Mm(PAGE_HEIGHT_MM),
        palette_ops,
    ));
    doc.with_pages(carriers);
    if let Some(t) = created {
        doc.metadata.info.creation_date = t;
        doc.metadata.info.modification_date = t;
        doc.metadata.info.metadata_date = t;
    }
    doc.metadata.info.creator = "pinbrev".into();
    doc.metadata.info.producer = format!("pinbrev {}", env!("CARGO_PKG_VERSION"));

    let mut warnings = Vec::new();
    let options = PdfSaveOptions {
        optimize: false,
        ..PdfSaveOptions::default()
    };
    let mut lo = doc.to_lopdf_document(&options, &mut warnings);
    drop(doc);
    assemble(&mut lo, shared.len(), &palette, [&regular, &bold], pages)?;
    // printpdf writes 1.3 into the header; the contract asks for PDF 1.7 (which the content is).
    lo.version = "1.7".to_string();
    let mut pdf = Vec::new();
    lo.save_to(&mut pdf).map_err(|e| e.to_string())?;
    Ok(pdf)
}

fn lo_err(what: &'static str) -> impl Fn(lopdf::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// Turns printpdf's carrier pages into forms, learns the palette's codes, and puts the letters'
/// pages in place of the carriers.
fn assemble(
    lo: &mut lopdf::Document,
    forms: usize,
    palette: &[String; 2],
    fonts: [&FontId; 2],
    pages: &[Vec<Piece<'_>>],
) -> PdfResult<()> {
    let printed: Vec<ObjectId> = lo.get_pages().into_values().collect();
    if printed.len() != forms + 1 {
        return Err(format!(
            "printpdf wrote {} pages for {} forms and the palette",
            printed.len(),
            forms
        ));
    }
    let first = lo
        .get_object(printed[0])
        .and_then(Object::as_dict)
        .map_err(lo_err("the first page"))?;
    let media_box = first
        .get(b"MediaBox")
        .map_err(lo_err("the page's MediaBox"))?
        .clone();
    let resources_id = first
        .get(b"Resources")
        .and_then(Object::as_reference)
        .map_err(lo_err("the page's resources"))?;
    let font_dict = lo
        .get_object(resources_id)
        .and_then(Object::as_dict)
        .and_then(|r| r.get(b"Font"))
        .map_err(lo_err("the page's fonts"))?
        .clone();

    let codes = palette_codes(lo, printed[forms], palette)?;

    let mut deflate = Deflate::new();
    let mut xobjects = Dictionary::new();
    let mut form_names = Vec::with_capacity(forms);
    for (i, page) in printed[..forms].iter().enumerate() {
        let content = lo.get_page_content(*page);
        let form = Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Form",
                "FormType" => 1,
                "BBox" => media_box.clone(),
                "Resources" => dictionary! { "Font" => font_dict.clone() },
            },
            Vec::new(),
        );
        let id = lo.add_object(deflate.stream(form, &content, SHARED_LEVEL)?);
        let name = format!("Fm{i}");
        xobjects.set(name.clone(), Object::Reference(id));
        form_names.push(name);
    }
    let resources = lo.add_object(dictionary! {
        "Font" => font_dict,
        "XObject" => xobjects,
    });
    let pages_id = lo
        .catalog()
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
        .map_err(lo_err("the page tree"))?;

    let font_names = [fonts[0].0.as_str(), fonts[1].0.as_str()];
    let mut writer = ContentWriter {
        out: Vec::with_capacity(4096),
        codes: &codes,
        font_names,
    };
    let mut kids = Vec::with_capacity(pages.len());
    for page in pages {
        writer.out.clear();
        for piece in page {
            match piece {
                Piece::Shared(i) => {
                    let name = form_names
                        .get(*i)
                        .ok_or_else(|| format!("no shared piece {i}"))?;
                    writer.form(name);
                }
                Piece::Text(runs) => writer.text(runs.iter().map(|r| r.as_ref()))?,
                Piece::Matrix(m) => writer.matrix(m),
            }
        }
        let stream = deflate.stream(
            Stream::new(Dictionary::new(), Vec::new()),
            &writer.out,
            CONTENT_LEVEL,
        )?;
        let contents = lo.add_object(stream);
        let page = lo.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => Object::Reference(pages_id),
            "MediaBox" => media_box.clone(),
            "Resources" => Object::Reference(resources),
            "Contents" => Object::Reference(contents),
        });
        kids.push(Object::Reference(page));
    }
    let count = kids.len() as i64;
    let tree = lo
        .get_object_mut(pages_id)
        .and_then(Object::as_dict_mut)
        .map_err(lo_err("the page tree"))?;
    tree.set("Kids", kids);
    tree.set("Count", count);
    // The carrier and palette pages go, with their resources and contents.
    for page in printed {
        if let Some(Object::Dictionary(d)) = lo.objects.remove(&page) {
            for key in [&b"Resources"[..], b"Contents"] {
                if let Ok(id) = d.get(key).and_then(Object::as_reference) {
                    lo.objects.remove(&id);
                }
            }
        }
    }
    // What printpdf left uncompressed (the font programs, their maps) is compressed once.
    let ids: Vec<ObjectId> = lo
        .objects
        .iter()
        .filter(|(_, o)| matches!(o, Object::Stream(s) if !s.dict.has(b"Filter")))
        .map(|(id, _)| *id)
        .collect();
    for id in ids {
        if let Some(Object::Stream(s)) = lo.objects.remove(&id) {
            let content = s.content.clone();
            let stream = Stream::new(s.dict, Vec::new());
            lo.objects.insert(
                id,
                Object::Stream(deflate.stream(stream, &content, SHARED_LEVEL)?),
            );
        }
    }
    Ok(())
}

/// The two-byte code of every palette character, per face, read back from printpdf's encoding
/// of the palette page.
fn palette_codes(
    lo: &lopdf::Document,
    page: ObjectId,
    palette: &[String; 2],
) -> PdfResult<[CharMap; 2]> {
    let content = lo.get_page_content(page);
    let ops = lopdf::content::Content::decode(&content).map_err(lo_err("the palette page"))?;
    let mut shown = ops
        .operations
        .iter()
        .filter(|op| op.operator == "Tj")
        .map(|op| op.operands.first().and_then(|o| o.as_str().ok()));
    let mut codes = [CharMap::default(), CharMap::default()];
    for f in 0..2 {
        if palette[f].is_empty() {
            continue;
        }
        let bytes = shown
            .next()
            .flatten()
            .ok_or("the palette page has too few strings")?;
        let chars: Vec<char> = palette[f].chars().collect();
        if bytes.len() != 2 * chars.len() {
            return Err(format!(
                "the palette's {} characters came out as {} bytes",
                chars.len(),
                bytes.len()
            ));
        }
        for (c, code) in chars.iter().zip(bytes.chunks_exact(2)) {
            codes[f].insert(*c, [code[0], code[1]]);
        }
    }
    Ok(codes)
}

/// The operations of a shared piece, as printpdf writes them.
fn shared_ops(shared: &Shared<'_>, regular: &FontId, bold: &FontId) -> Vec<Op> {
    let mut ops = vec![
        Op::SaveGraphicsState,
        Op::SetFillColor { col: black() },
        Op::SetOutlineColor { col: black() },
    ];
    if !shared.runs.is_empty() {
        ops.push(Op::StartTextSection);
        let mut current: Option<(bool, f32)> = None;
        for run in &shared.runs {
            if current != Some((run.bold, run.size)) {
                let font = if run.bold { bold } else { regular };
                ops.push(Op::SetFont {
                    font: PdfFontHandle::External(font.clone()),
                    size: Pt(run.size),
                });
                current = Some((run.bold, run.size));
            }
            ops.push(Op::SetTextMatrix {
                matrix: TextMatrix::Translate(mm_x(run.x), mm_y(run.baseline)),
            });
            ops.push(Op::ShowText {
                items: vec![TextItem::Text(run.text.clone())],
            });
        }
        ops.push(Op::EndTextSection);
    }
    if !shared.frames.is_empty() {
        ops.push(Op::SetOutlineThickness { pt: Pt(0.5) });
        for &(l, t, r, b) in shared.frames {
            ops.push(Op::DrawPolygon {
                polygon: Polygon {
                    rings: vec![PolygonRing {
                        points: vec![point(l, t), point(r, t), point(r, b), point(l, b)],
                    }],
                    mode: PaintMode::Stroke,
                    winding_order: WindingOrder::NonZero,
                },
            });
        }
    }
    ops.push(Op::RestoreGraphicsState);
    ops
}

fn mm_x(x: f32) -> Pt {
    Mm(x).into()
}
fn mm_y(y_from_top: f32) -> Pt {
    Mm(PAGE_HEIGHT_MM - y_from_top).into()
}
fn point(x: f32, y_from_top: f32) -> LinePoint {
    LinePoint {
        p: Point {
            x: mm_x(x),
            y: mm_y(y_from_top),
        },
        bezier: false,
    }
}
fn black() -> Color {
    Color::Greyscale(Greyscale {
        percent: 0.0,
        icc_profile: None,
    })
}

/// A two-byte glyph code per character: a table for the alphabets of the register, a map for
/// the rest.
#[derive(Default)]
struct CharMap {
    table: Vec<Option<[u8; 2]>>,
    rest: HashMap<char, [u8; 2]>,
}

const CHAR_TABLE_LEN: usize = 0x0600;

impl CharMap {
    fn get(&self, c: char) -> Option<[u8; 2]> {
        match self.table.get(c as usize) {
            Some(code) => *code,
            None if (c as usize) < CHAR_TABLE_LEN => None,
            None => self.rest.get(&c).copied(),
        }
    }

    fn insert(&mut self, c: char, code: [u8; 2]) {
        if (c as usize) < CHAR_TABLE_LEN {
            if self.table.is_empty() {
                self.table = vec![None; CHAR_TABLE_LEN];
            }
            self.table[c as usize] = Some(code);
        } else {
            self.rest.insert(c, code);
        }
    }
}

/// Writes a letter page's content stream.
struct ContentWriter<'a> {
    out: Vec<u8>,
    codes: &'a [CharMap; 2],
    font_names: [&'a str; 2],
}

impl ContentWriter<'_> {
    fn form(&mut self, name: &str) {
        self.out.extend_from_slice(b"q /");
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b" Do Q\n");
    }

    /// A text object: each run placed with `Td` from the one before (in hundredths of a point,
    /// rounded once, so that the steps add up exactly).
    fn text<'r>(&mut self, runs: impl Iterator<Item = &'r TextRun>) -> PdfResult<()> {
        self.out.extend_from_slice(b"BT\n");
        let mut font: Option<(bool, f32)> = None;
        let mut at = (0i64, 0i64);
        for run in runs {
            if font != Some((run.bold, run.size)) {
                self.out.push(b'/');
                self.out
                    .extend_from_slice(self.font_names[usize::from(run.bold)].as_bytes());
                self.out.push(b' ');
                number(
                    &mut self.out,
                    i64::from((run.size * 100.0).round() as i32),
                    2,
                );
                self.out.extend_from_slice(b" Tf\n");
                font = Some((run.bold, run.size));
            }
            let x = hundredths(run.x * PT_PER_MM);
            let y = hundredths((PAGE_HEIGHT_MM - run.baseline) * PT_PER_MM);
            number(&mut self.out, x - at.0, 2);
            self.out.push(b' ');
            number(&mut self.out, y - at.1, 2);
            self.out.extend_from_slice(b" Td <");
            at = (x, y);
            let codes = &self.codes[usize::from(run.bold)];
            for c in run.text.chars() {
                let code = codes
                    .get(c)
                    .ok_or_else(|| format!("U+{:04X} is not in the part's palette", c as u32))?;
                hex(&mut self.out, &code);
            }
            self.out.extend_from_slice(b"> Tj\n");
        }
        self.out.extend_from_slice(b"ET\n");
        Ok(())
    }

    /// The DataMatrix: one scaling to modules (y down from its top-left corner), then a
    /// rectangle per horizontal run of dark modules, filled at once.
    fn matrix(&mut self, m: &Matrix) {
        let module = f64::from(m.module) * f64::from(PT_PER_MM);
        let x = f64::from(m.x) * f64::from(PT_PER_MM);
        let y = f64::from(PAGE_HEIGHT_MM - m.y) * f64::from(PT_PER_MM);
        self.out.extend_from_slice(b"q ");
        let scale = (module * 10_000.0).round() as i64;
        number(&mut self.out, scale, 4);
        self.out.extend_from_slice(b" 0 0 ");
        number(&mut self.out, -scale, 4);
        self.out.push(b' ');
        number(&mut self.out, (x * 10_000.0).round() as i64, 4);
        self.out.push(b' ');
        number(&mut self.out, (y * 10_000.0).round() as i64, 4);
        self.out.extend_from_slice(b" cm\n");
        let mut digits = itoa::Buffer::new();
        for row in 0..m.rows {
            let bits = &m.bits[row * m.columns..(row + 1) * m.columns];
            let mut column = 0;
            while column < m.columns {
                if !bits[column] {
                    column += 1;
                    continue;
                }
                let start = column;
                while column < m.columns && bits[column] {
                    column += 1;
                }
                for v in [start, row, column - start] {
                    self.out.extend_from_slice(digits.format(v).as_bytes());
                    self.out.push(b' ');
                }
                self.out.extend_from_slice(b"1 re\n");
            }
        }
        self.out.extend_from_slice(b"f Q\n");
    }
}

fn hundredths(pt: f32) -> i64 {
    (f64::from(pt) * 100.0).round() as i64
}

/// Writes `value / 10^decimals` in the shortest exact decimal form.
fn number(out: &mut Vec<u8>, value: i64, decimals: u32) {
    let scale = 10i64.pow(decimals);
    if value < 0 {
        out.push(b'-');
    }
    let value = value.unsigned_abs();
    let scale = scale.unsigned_abs();
    out.extend_from_slice(itoa::Buffer::new().format(value / scale).as_bytes());
    let mut fraction = value % scale;
    if fraction == 0 {
        return;
    }
    let mut width = decimals as usize;
    while fraction.is_multiple_of(10) {
        fraction /= 10;
        width -= 1;
    }
    out.push(b'.');
    let mut digits = [b'0'; 8];
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

/// One deflate state, reset for each stream rather than made anew.
struct Deflate {
    states: HashMap<u32, Compress>,
}

impl Deflate {
    fn new() -> Deflate {
        Deflate {
            states: HashMap::new(),
        }
    }

    /// `stream` with `content` deflated into it (`/Filter /FlateDecode`).
    fn stream(&mut self, mut stream: Stream, content: &[u8], level: u32) -> PdfResult<Stream> {
        let state = self
            .states
            .entry(level)
            // A letter's content is a few kilobytes: a 4 KiB window sees all of it and keeps the
            // state small to reset.
            .or_insert_with(|| Compress::new_with_window_bits(Compression::new(level), true, 12));
        state.reset();
        let mut out = Vec::with_capacity(content.len() / 2 + 64);
        loop {
            let consumed = state.total_in() as usize;
            let status = state
                .compress_vec(&content[consumed..], &mut out, FlushCompress::Finish)
                .map_err(|e| format!("deflate: {e}"))?;
            match status {
                Status::StreamEnd => break,
                Status::Ok | Status::BufError => out.reserve(out.capacity().max(64)),
            }
        }
        stream.dict.set("Filter", "FlateDecode");
        stream.set_content(out);
        stream.allows_compression = false;
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_exact_and_short() {
        let cases = [
            (0, 2, "0"),
            (100, 2, "1"),
            (150, 2, "1.5"),
            (105, 2, "1.05"),
            (-250, 2, "-2.5"),
            (-5, 2, "-0.05"),
            (14173, 4, "1.4173"),
            (12000, 4, "1.2"),
        ];
        for (value, decimals, text) in cases {
            let mut out = Vec::new();
            number(&mut out, value, decimals);
            assert_eq!(String::from_utf8(out).unwrap(), text, "{value}/{decimals}");
        }
    }

    #[test]
    fn deflated_streams_inflate_to_their_content() {
        let mut d = Deflate::new();
        let content: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i % 251).to_be_bytes())
            .collect();
        for _ in 0..2 {
            let s = d
                .stream(Stream::new(Dictionary::new(), Vec::new()), &content, 6)
                .unwrap();
            assert!(s.content.len() < content.len());
            let mut inflated = Vec::new();
            use std::io::Read;
            flate2::read::ZlibDecoder::new(s.content.as_slice())
                .read_to_end(&mut inflated)
                .unwrap();
            assert_eq!(inflated, content);
            assert_eq!(
                s.dict.get(b"Filter").unwrap().as_name().unwrap(),
                b"FlateDecode"
            );
        }
    }
}
