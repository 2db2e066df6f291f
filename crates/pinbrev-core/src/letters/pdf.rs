//! Writing a part's PDF: the text that every letter of a language shares is drawn once, as a
//! Form XObject, and each letter's page draws that form and then only what is its own.
//!
//! printpdf embeds and subsets the fonts but cannot put text into a form (a form's content is
//! written before the subset's glyph ids exist, and its resources cannot name a font). So
//! printpdf writes a small document: one "carrier" page per static page (its content becomes the
//! form) and one "probe" page that shows every character the letters' own text uses, so that
//! those glyphs are in the subset too. The probe's content, as printpdf encoded it, tells which
//! glyph code each character has in the subset. Then, in lopdf, the carriers' content streams
//! become forms, the carrier and probe pages go, and the letters' pages are added with content
//! streams written and compressed here, their text encoded with the probe's codes.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use lopdf::{Dictionary, Object, ObjectId, Stream};
use printpdf::{
    Color, FontId, Greyscale, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Polygon, PolygonRing, Pt, TextItem, TextMatrix, WindingOrder,
};

use super::font::face;
use super::render::{
    BodyLayout, Frame, LetterLayout, Matrix, TextRun, CODE_SIZE, PAGE_HEIGHT_MM, PAGE_WIDTH_MM,
};

/// Points per millimetre, exactly as printpdf converts (`Mm` into `Pt`).
const PT: f32 = 2.834_646;

/// zlib level for the letters' content streams: level 1 (zlib-rs's quick strategy, fixed Huffman
/// codes) compresses a page about 35 % faster than level 2, for about 24 % more bytes; the pages
/// are short and dense (glyph codes as bytes, the codes' numbers in the form), so a letter stays
/// near 1,200 bytes.
const PAGE_COMPRESSION: i32 = 1;
/// zlib's memLevel for them: its symbol buffer, cleared for every stream, is 64 KiB at the
/// default 8; a page needs far less.
const PAGE_MEM_LEVEL: i32 = 5;

/// Resource names of the letter pages' fonts and forms.
const REGULAR: &[u8] = b"R";
const BOLD: &[u8] = b"B";

/// What is drawn the same on every letter of a language: the sender block, the return address,
/// the body texts, the footer and the code box's frame.
pub(crate) struct StaticPage<'a> {
    pub runs: Vec<&'a TextRun>,
    pub frames: &'a [Frame],
}

/// One letter's page: which static page it draws, and its own layout.
pub(crate) struct PlannedPage {
    /// Index of its static page (and body).
    pub body: usize,
    pub layout: LetterLayout,
    pub codes: [u32; 20],
}

/// The part's document information.
pub(crate) struct PartMeta {
    /// The part's date: the metadata's dates are its midnight (UTC), so that a part rendered
    /// again comes out with the same dates.
    pub date: NaiveDate,
}

/// Characters below this are kept in a table, the rest in a map.
const TABLE_LEN: usize = 0x0600;

/// A set of characters, in a table for the common ones.
struct CharSet {
    table: Vec<bool>,
    other: BTreeSet<char>,
}

impl CharSet {
    fn new() -> CharSet {
        CharSet {
            table: vec![false; TABLE_LEN],
            other: BTreeSet::new(),
        }
    }

    fn add(&mut self, text: &str) {
        for c in text.chars() {
            match self.table.get_mut(c as usize) {
                Some(seen) => *seen = true,
                None => {
                    self.other.insert(c);
                }
            }
        }
    }

    /// The characters, each once.
    fn chars(&self) -> Vec<char> {
        self.table
            .iter()
            .enumerate()
            .filter(|(_, seen)| **seen)
            .filter_map(|(i, _)| char::from_u32(i as u32))
            .chain(self.other.iter().copied())
            .collect()
    }
}

/// Each character's code in the part's font subset (Identity-H: two bytes, the subset's glyph
/// id), as printpdf encoded it on the probe page.
struct GlyphCodes {
    table: Vec<u16>,
    other: HashMap<char, u16>,
}

impl GlyphCodes {
    fn new(chars: &[char], codes: &[u8]) -> Result<GlyphCodes, String> {
        if codes.len() != 2 * chars.len() {
            return Err(format!(
                "the probe page encoded {} characters in {} bytes",
                chars.len(),
                codes.len()
            ));
        }
        let mut table = vec![0u16; TABLE_LEN];
        let mut other = HashMap::new();
        for (c, code) in chars.iter().zip(codes.chunks_exact(2)) {
            let code = u16::from_be_bytes([code[0], code[1]]);
            if code == 0 {
                return Err(format!("no glyph in the subset for U+{:04X}", *c as u32));
            }
            match table.get_mut(*c as usize) {
                Some(slot) => *slot = code,
                None => {
                    other.insert(*c, code);
                }
            }
        }
        Ok(GlyphCodes { table, other })
    }

    fn get(&self, c: char) -> Option<u16> {
        match self.table.get(c as usize) {
            Some(0) => None,
            Some(code) => Some(*code),
            None => self.other.get(&c).copied(),
        }
    }
}

/// Writes the part: the static pages as forms, then one page per planned letter.
pub(crate) fn write_part(
    statics: &[StaticPage<'_>],
    bodies: &[BodyLayout],
    planned: &[PlannedPage],
    meta: &PartMeta,
) -> Result<Vec<u8>, String> {
    // The characters the letter pages write themselves.
    let mut regular_chars = CharSet::new();
    for body in bodies {
        for slot in &body.codes {
            regular_chars.add(&slot.number.text);
        }
    }
    for page in planned {
        for run in page.layout.address.runs.iter().chain(&page.layout.info) {
            regular_chars.add(&run.text);
        }
    }
    let regular_chars = regular_chars.chars();
    let bold_chars: Vec<char> = ('0'..='9').collect();

    let mut doc = new_document("MinID PIN letters", meta);
    let regular = doc.add_font(&face(false).parsed);
    let bold = doc.add_font(&face(true).parsed);
    let mut pages: Vec<PdfPage> = statics
        .iter()
        .map(|s| {
            PdfPage::new(
                Mm(PAGE_WIDTH_MM),
                Mm(PAGE_HEIGHT_MM),
                static_ops(s, &regular, &bold),
            )
        })
        .collect();
    pages.push(PdfPage::new(
        Mm(PAGE_WIDTH_MM),
        Mm(PAGE_HEIGHT_MM),
        vec![
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::External(regular.clone()),
                size: Pt(10.0),
            },
            Op::ShowText {
                items: vec![TextItem::Text(regular_chars.iter().collect())],
            },
            Op::SetFont {
                font: PdfFontHandle::External(bold.clone()),
                size: Pt(10.0),
            },
            Op::ShowText {
                items: vec![TextItem::Text(bold_chars.iter().collect())],
            },
            Op::EndTextSection,
        ],
    ));
    doc.with_pages(pages);
    let mut lo = to_lopdf(doc);

    let shared = make_forms(&mut lo, statics.len(), &regular, &bold)?;
    let regular_codes = GlyphCodes::new(&regular_chars, &shared.probe[0])?;
    let bold_codes = GlyphCodes::new(&bold_chars, &shared.probe[1])?;
    // Only the fonts and forms are streams yet: compress them as printpdf would.
    lo.compress();

    let mut kids = Vec::with_capacity(planned.len());
    let mut writer = PageWriter {
        buf: Vec::with_capacity(8 * 1024),
        regular: &regular_codes,
        bold: &bold_codes,
        font: None,
    };
    let templates = bodies
        .iter()
        .map(|body| CodeTemplate::new(body, &regular_codes, &bold_codes))
        .collect::<Result<Vec<_>, _>>()?;
    let mut compressor = PageCompressor::new();
    for page in planned {
        writer.page(page, &templates[page.body])?;
        let compressed = compressor.compress(&writer.buf)?;
        let mut dict = Dictionary::new();
        dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        let content = lo.add_object(Stream::new(dict, compressed).with_compression(false));
        let page = Dictionary::from_iter(vec![
            ("Type", Object::Name(b"Page".to_vec())),
            ("Parent", Object::Reference(shared.pages)),
            ("Resources", Object::Reference(shared.resources)),
            ("MediaBox", shared.media_box.clone()),
            ("Contents", Object::Reference(content)),
        ]);
        kids.push(Object::Reference(lo.add_object(page)));
    }
    let count = kids.len() as i64;
    let pages = lo
        .get_object_mut(shared.pages)
        .and_then(Object::as_dict_mut)
        .map_err(|e| format!("the page tree: {e}"))?;
    pages.set("Kids", Object::Array(kids));
    pages.set("Count", Object::Integer(count));

    let mut pdf = Vec::new();
    lo.save_to(&mut pdf).map_err(|e| e.to_string())?;
    Ok(pdf)
}

/// A document titled `title`, its dates the part's midnight (UTC), so that a part rendered
/// again comes out the same.
fn new_document(title: &str, meta: &PartMeta) -> PdfDocument {
    let mut doc = PdfDocument::new(title);
    let midnight = meta
        .date
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0);
    if let Ok(t) = printpdf::OffsetDateTime::from_unix_timestamp(midnight) {
        doc.metadata.info.creation_date = t;
        doc.metadata.info.modification_date = t;
        doc.metadata.info.metadata_date = t;
    }
    doc.metadata.info.creator = "pinbrev".into();
    doc.metadata.info.producer = format!("pinbrev {}", env!("CARGO_PKG_VERSION"));
    doc
}

/// printpdf's document as lopdf's, marked PDF 1.7.
fn to_lopdf(doc: PdfDocument) -> lopdf::Document {
    let mut warnings = Vec::new();
    let mut lo = doc.to_lopdf_document(&PdfSaveOptions::default(), &mut warnings);
    // printpdf writes 1.3 into the header; the contract asks for PDF 1.7 (which the content is).
    lo.version = "1.7".to_string();
    lo
}

/// A page drawn whole by printpdf: its text, frames and DataMatrix. For proofs, a few pages
/// where speed does not matter.
pub(crate) struct WholePage<'a> {
    pub runs: Vec<&'a TextRun>,
    pub frames: Vec<Frame>,
    pub matrix: &'a Matrix,
}

/// Writes `pages` as one PDF, each page drawn whole.
pub(crate) fn write_whole_pages(
    title: &str,
    pages: &[WholePage<'_>],
    meta: &PartMeta,
) -> Result<Vec<u8>, String> {
    let mut doc = new_document(title, meta);
    let regular = doc.add_font(&face(false).parsed);
    let bold = doc.add_font(&face(true).parsed);
    let pages = pages
        .iter()
        .map(|page| {
            let mut ops = static_ops(
                &StaticPage {
                    runs: page.runs.clone(),
                    frames: &page.frames,
                },
                &regular,
                &bold,
            );
            ops.extend(matrix_ops(page.matrix));
            PdfPage::new(Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM), ops)
        })
        .collect();
    doc.with_pages(pages);
    let mut lo = to_lopdf(doc);
    lo.compress();
    let mut pdf = Vec::new();
    lo.save_to(&mut pdf).map_err(|e| e.to_string())?;
    Ok(pdf)
}

/// The DataMatrix as printpdf operations: a filled square per dark module.
fn matrix_ops(m: &Matrix) -> Vec<Op> {
    let mut ops = vec![Op::SaveGraphicsState, Op::SetFillColor { col: black() }];
    for row in 0..m.rows {
        for column in 0..m.columns {
            if !m.bits[row * m.columns + column] {
                continue;
            }
            let (l, t) = (m.x + column as f32 * m.module, m.y + row as f32 * m.module);
            ops.push(rectangle(
                (l, t, l + m.module, t + m.module),
                PaintMode::Fill,
            ));
        }
    }
    ops.push(Op::RestoreGraphicsState);
    ops
}

/// What the letter pages share, found or made in printpdf's document.
struct Shared {
    /// The page tree's root.
    pages: ObjectId,
    /// The letter pages' resources: the two fonts and the forms.
    resources: ObjectId,
    media_box: Object,
    /// The probe's encoded text: regular, then bold.
    probe: [Vec<u8>; 2],
}

/// Turns the carrier pages' content streams into forms and removes the carrier and probe pages.
fn make_forms(
    lo: &mut lopdf::Document,
    carriers: usize,
    regular: &FontId,
    bold: &FontId,
) -> Result<Shared, String> {
    let lo_err = |what: &str, e: lopdf::Error| format!("{what}: {e}");
    let pages_id = lo
        .catalog()
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
        .map_err(|e| lo_err("the catalog", e))?;
    let page_ids: Vec<ObjectId> = lo.get_pages().into_values().collect();
    if page_ids.len() != carriers + 1 {
        return Err(format!(
            "printpdf wrote {} pages, not {}",
            page_ids.len(),
            carriers + 1
        ));
    }

    let mut media_box = None;
    let mut font_dict = None;
    let mut forms = Dictionary::new();
    let mut probe = Vec::new();
    for (i, page_id) in page_ids.iter().enumerate() {
        let page = lo
            .get_dictionary(*page_id)
            .map_err(|e| lo_err("a carrier page", e))?;
        let content_id = page
            .get(b"Contents")
            .and_then(Object::as_reference)
            .map_err(|e| lo_err("a carrier page's content", e))?;
        let resources_id = page
            .get(b"Resources")
            .and_then(Object::as_reference)
            .map_err(|e| lo_err("a carrier page's resources", e))?;
        if media_box.is_none() {
            media_box = Some(
                page.get(b"MediaBox")
                    .map_err(|e| lo_err("a carrier page's media box", e))?
                    .clone(),
            );
        }
        let resources = lo
            .get_dictionary(resources_id)
            .map_err(|e| lo_err("a carrier page's resources", e))?;
        if font_dict.is_none() {
            font_dict = Some(
                resources
                    .get(b"Font")
                    .and_then(Object::as_reference)
                    .map_err(|e| lo_err("the font resources", e))?,
            );
        }
        // printpdf's (empty) XObject, ExtGState and Shading dictionaries go with the pages.
        let orphans: Vec<ObjectId> = [&b"XObject"[..], b"ExtGState", b"Shading"]
            .iter()
            .filter_map(|key| resources.get(key).and_then(Object::as_reference).ok())
            .collect();
        for id in orphans.into_iter().chain([resources_id, *page_id]) {
            lo.objects.remove(&id);
        }

        if i == carriers {
            let stream = lo
                .objects
                .remove(&content_id)
                .ok_or("the probe page has no content")?;
            let content = stream
                .as_stream()
                .and_then(Stream::get_plain_content)
                .map_err(|e| lo_err("the probe page's content", e))?;
            probe = hex_strings(&content)?;
            continue;
        }
        let font_dict = font_dict.ok_or("no font resources")?;
        let media_box = media_box.clone().ok_or("no media box")?;
        let stream = lo
            .get_object_mut(content_id)
            .and_then(Object::as_stream_mut)
            .map_err(|e| lo_err("a carrier page's content", e))?;
        stream.dict.set("Type", Object::Name(b"XObject".to_vec()));
        stream.dict.set("Subtype", Object::Name(b"Form".to_vec()));
        stream.dict.set("FormType", Object::Integer(1));
        stream.dict.set("BBox", media_box);
        stream.dict.set(
            "Resources",
            Dictionary::from_iter(vec![("Font", Object::Reference(font_dict))]),
        );
        forms.set(form_name(i), Object::Reference(content_id));
    }
    let [regular_codes, bold_codes]: [Vec<u8>; 2] = probe
        .try_into()
        .map_err(|p: Vec<Vec<u8>>| format!("the probe page shows {} strings, not 2", p.len()))?;

    // The letter pages name the fonts R and B, for short content streams.
    let font_dict = font_dict.ok_or("no font resources")?;
    let fonts = lo
        .get_dictionary(font_dict)
        .map_err(|e| lo_err("the font resources", e))?;
    let font_ref = |id: &FontId| {
        fonts
            .get(id.0.as_bytes())
            .cloned()
            .map_err(|e| lo_err("a font", e))
    };
    let letter_fonts =
        Dictionary::from_iter(vec![(REGULAR, font_ref(regular)?), (BOLD, font_ref(bold)?)]);
    let resources = lo.add_object(Dictionary::from_iter(vec![
        ("Font", Object::Dictionary(letter_fonts)),
        ("XObject", Object::Dictionary(forms)),
    ]));
    Ok(Shared {
        pages: pages_id,
        resources,
        media_box: media_box.ok_or("no media box")?,
        probe: [regular_codes, bold_codes],
    })
}

/// The resource name of static page `i`'s form.
fn form_name(i: usize) -> String {
    format!("P{i}")
}

/// The hex strings shown with `Tj` in a content stream, decoded, in order.
fn hex_strings(content: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut strings = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.iter().position(|b| *b == b'<') {
        let after = &rest[start + 1..];
        let end = after
            .iter()
            .position(|b| *b == b'>')
            .ok_or("an unterminated hex string")?;
        let digits: Vec<u8> = after[..end]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if !digits.len().is_multiple_of(2) {
            return Err("a hex string with an odd number of digits".into());
        }
        let bytes = digits
            .chunks_exact(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|s| u8::from_str_radix(s, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or("a hex string with a non-hex digit")?;
        strings.push(bytes);
        rest = &after[end + 1..];
    }
    Ok(strings)
}

/// Compresses the letters' content streams (zlib), reusing one compressor.
struct PageCompressor {
    deflate: zlib_rs::Deflate,
    out: Vec<u8>,
}

impl PageCompressor {
    fn new() -> PageCompressor {
        PageCompressor {
            deflate: zlib_rs::Deflate::new_with_config(zlib_rs::DeflateConfig {
                level: PAGE_COMPRESSION,
                mem_level: PAGE_MEM_LEVEL,
                ..zlib_rs::DeflateConfig::default()
            }),
            out: Vec::new(),
        }
    }

    fn compress(&mut self, input: &[u8]) -> Result<Vec<u8>, String> {
        self.deflate.reset();
        let bound = zlib_rs::compress_bound(input.len());
        if self.out.len() < bound {
            self.out.resize(bound, 0);
        }
        match self
            .deflate
            .compress(input, &mut self.out, zlib_rs::DeflateFlush::Finish)
        {
            Ok(zlib_rs::Status::StreamEnd) => {
                Ok(self.out[..self.deflate.total_out() as usize].to_vec())
            }
            Ok(_) => Err("compressing a page stopped short".into()),
            Err(e) => Err(format!("compressing a page: {}", e.as_str())),
        }
    }
}

/// Writes a letter page's content stream.
struct PageWriter<'a> {
    buf: Vec<u8>,
    regular: &'a GlyphCodes,
    bold: &'a GlyphCodes,
    /// The font (bold) and size set last in this stream.
    font: Option<(bool, u32)>,
}

impl PageWriter<'_> {
    fn page(&mut self, page: &PlannedPage, template: &CodeTemplate) -> Result<(), String> {
        self.buf.clear();
        self.font = None;
        self.buf.push(b'/');
        self.buf.extend_from_slice(form_name(page.body).as_bytes());
        self.buf.extend_from_slice(b" Do\nBT\n");
        let layout = &page.layout;
        // Relative moves (Td) after the first: shorter than a matrix (Tm) per line.
        let mut last = None;
        for run in layout.address.runs.iter().chain(&layout.info) {
            self.set_font(false, run.size);
            self.move_by(&mut last, run.x, run.baseline);
            self.show(&run.text, false)?;
        }
        for (before, index) in template.before.iter().zip(&template.index) {
            self.buf.extend_from_slice(before);
            let code = page.codes[*index];
            for place in [10_000, 1_000, 100, 10, 1] {
                glyph(&mut self.buf, template.digits[(code / place % 10) as usize]);
            }
        }
        self.buf.extend_from_slice(b") Tj\n");
        self.buf.extend_from_slice(b"ET\n");
        self.matrix(&layout.matrix);
        Ok(())
    }

    fn set_font(&mut self, bold: bool, size: f32) {
        if self.font == Some((bold, size.to_bits())) {
            return;
        }
        self.font = Some((bold, size.to_bits()));
        self.buf.push(b'/');
        self.buf
            .extend_from_slice(if bold { BOLD } else { REGULAR });
        self.buf.push(b' ');
        fixed(&mut self.buf, size, 3);
        self.buf.extend_from_slice(b" Tf\n");
    }

    /// Moves to (`x`, `baseline`) in mm from the top left, relative to `last` (the start of the
    /// line set last, in thousandths of a point) if there is one.
    fn move_by(&mut self, last: &mut Option<(i64, i64)>, x: f32, baseline: f32) {
        let to = (milli(x * PT), milli((PAGE_HEIGHT_MM - baseline) * PT));
        match *last {
            Some(from) => {
                thousandths(&mut self.buf, to.0 - from.0);
                self.buf.push(b' ');
                thousandths(&mut self.buf, to.1 - from.1);
                self.buf.extend_from_slice(b" Td\n");
            }
            None => {
                self.buf.extend_from_slice(b"1 0 0 1 ");
                thousandths(&mut self.buf, to.0);
                self.buf.push(b' ');
                thousandths(&mut self.buf, to.1);
                self.buf.extend_from_slice(b" Tm\n");
            }
        }
        *last = Some(to);
    }

    fn show(&mut self, text: &str, bold: bool) -> Result<(), String> {
        let codes = if bold { self.bold } else { self.regular };
        self.buf.push(b'(');
        for c in text.chars() {
            let code = codes
                .get(c)
                .ok_or_else(|| format!("no glyph code for U+{:04X}", c as u32))?;
            glyph(&mut self.buf, code);
        }
        self.buf.extend_from_slice(b") Tj\n");
        Ok(())
    }

    /// The DataMatrix: scaled so that a module is one unit (rows going down the page), then one
    /// rectangle per horizontal run of dark modules, filled at once.
    fn matrix(&mut self, m: &Matrix) {
        let module = m.module * PT;
        self.buf.extend_from_slice(b"q\n");
        fixed(&mut self.buf, module, 5);
        self.buf.extend_from_slice(b" 0 0 ");
        fixed(&mut self.buf, -module, 5);
        self.buf.push(b' ');
        fixed(&mut self.buf, m.x * PT, 4);
        self.buf.push(b' ');
        fixed(&mut self.buf, (PAGE_HEIGHT_MM - m.y) * PT, 4);
        self.buf.extend_from_slice(b" cm\n");
        // Runs of dark modules, each drawn once over all the rows below it that repeat it.
        let mut open: Vec<(usize, usize, usize)> = Vec::new();
        let mut next: Vec<(usize, usize, usize)> = Vec::new();
        for row in 0..=m.rows {
            next.clear();
            if row < m.rows {
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
                    let width = column - start;
                    let top = open
                        .iter()
                        .find(|(s, w, _)| *s == start && *w == width)
                        .map_or(row, |(_, _, top)| *top);
                    next.push((start, width, top));
                }
            }
            for &(start, width, top) in &open {
                if !next
                    .iter()
                    .any(|(s, w, t)| (*s, *w, *t) == (start, width, top))
                {
                    self.rectangle(start, top, width, row - top);
                }
            }
            std::mem::swap(&mut open, &mut next);
        }
        self.buf.extend_from_slice(b"f\nQ\n");
    }
}

impl PageWriter<'_> {
    fn rectangle(&mut self, x: usize, y: usize, width: usize, height: usize) {
        for (i, n) in [x, y, width, height].into_iter().enumerate() {
            if i > 0 {
                self.buf.push(b' ');
            }
            integer(&mut self.buf, n as u64);
        }
        self.buf.extend_from_slice(b" re\n");
    }
}

/// What a page writes for its codes, less the codes' own glyphs: the same on every page of a
/// static page, so written once.
struct CodeTemplate {
    /// Before each code's glyphs: the end of the previous code's string, the code's number, the
    /// moves and font changes, and the start of the code's string.
    before: Vec<Vec<u8>>,
    /// The code each slot shows (index into the page's codes).
    index: Vec<usize>,
    /// The bold digits' glyph codes.
    digits: [u16; 10],
}

impl CodeTemplate {
    fn new(
        body: &BodyLayout,
        regular: &GlyphCodes,
        bold: &GlyphCodes,
    ) -> Result<CodeTemplate, String> {
        let mut digits = [0u16; 10];
        for (d, code) in ('0'..='9').zip(digits.iter_mut()) {
            *code = bold.get(d).ok_or("no glyph code for a bold digit")?;
        }
        let mut writer = PageWriter {
            buf: Vec::new(),
            regular,
            bold,
            font: None,
        };
        let mut before = Vec::with_capacity(body.codes.len());
        // Positions in thousandths of a point; the codes' moves are relative (Td), which is
        // exact since they are differences of the rounded positions.
        let mut last: Option<(i64, i64)> = None;
        for (i, slot) in body.codes.iter().enumerate() {
            if i > 0 {
                writer.buf.extend_from_slice(b") Tj\n");
            }
            let number = &slot.number;
            writer.set_font(false, number.size);
            writer.move_by(&mut last, number.x, number.baseline);
            writer.show(&number.text, false)?;
            writer.set_font(true, CODE_SIZE);
            writer.move_by(&mut last, slot.x, slot.baseline);
            writer.buf.push(b'(');
            before.push(std::mem::take(&mut writer.buf));
        }
        Ok(CodeTemplate {
            before,
            index: body.codes.iter().map(|slot| slot.index).collect(),
            digits,
        })
    }
}

/// A glyph code (two bytes, big-endian, as Identity-H reads them) inside a literal string: half
/// the bytes of a hex string. The string's delimiters and escape, and CR (which a reader would
/// turn into LF), are escaped.
fn glyph(buf: &mut Vec<u8>, code: u16) {
    for byte in code.to_be_bytes() {
        match byte {
            b'(' | b')' | b'\\' => buf.extend_from_slice(&[b'\\', byte]),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(byte),
        }
    }
}

fn integer(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// `v` in thousandths, rounded.
fn milli(v: f32) -> i64 {
    (f64::from(v) * 1000.0).round() as i64
}

/// `n` thousandths as a decimal number, without trailing zeros.
fn thousandths(buf: &mut Vec<u8>, n: i64) {
    if n < 0 {
        buf.push(b'-');
    }
    write_scaled(buf, n.unsigned_abs(), 3);
}

/// `v` rounded to `decimals` places, without trailing zeros.
fn fixed(buf: &mut Vec<u8>, v: f32, decimals: u32) {
    let scale = 10u64.pow(decimals);
    let scaled = (f64::from(v) * scale as f64).round();
    if scaled < 0.0 {
        buf.push(b'-');
    }
    write_scaled(buf, scaled.abs() as u64, decimals);
}

/// `scaled` / 10^`decimals` as a decimal number, without trailing zeros.
fn write_scaled(buf: &mut Vec<u8>, scaled: u64, decimals: u32) {
    let scale = 10u64.pow(decimals);
    integer(buf, scaled / scale);
    let mut frac = scaled % scale;
    if frac == 0 {
        return;
    }
    let mut places = decimals;
    while frac.is_multiple_of(10) {
        frac /= 10;
        places -= 1;
    }
    buf.push(b'.');
    let start = buf.len();
    integer(buf, frac);
    let written = (buf.len() - start) as u32;
    for _ in written..places {
        buf.insert(start, b'0');
    }
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

/// The PDF operations of a static page (a form's content).
fn static_ops(page: &StaticPage<'_>, regular: &FontId, bold: &FontId) -> Vec<Op> {
    let mut ops = vec![
        Op::SaveGraphicsState,
        Op::SetFillColor { col: black() },
        Op::SetOutlineColor { col: black() },
        Op::StartTextSection,
    ];
    let mut current: Option<(bool, f32)> = None;
    for run in &page.runs {
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
    ops.push(Op::SetOutlineThickness { pt: Pt(0.5) });
    for frame in page.frames {
        ops.push(rectangle(*frame, PaintMode::Stroke));
    }
    ops.push(Op::RestoreGraphicsState);
    ops
}

/// A rectangle (left, top, right, bottom in mm from the top-left corner), stroked or filled.
fn rectangle((l, t, r, b): Frame, mode: PaintMode) -> Op {
    Op::DrawPolygon {
        polygon: Polygon {
            rings: vec![PolygonRing {
                points: vec![point(l, t), point(r, t), point(r, b), point(l, b)],
            }],
            mode,
            winding_order: WindingOrder::NonZero,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed_str(v: f32, decimals: u32) -> String {
        let mut buf = Vec::new();
        fixed(&mut buf, v, decimals);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn numbers_are_written_short_and_rounded() {
        assert_eq!(fixed_str(10.0, 3), "10");
        assert_eq!(fixed_str(9.5, 3), "9.5");
        assert_eq!(fixed_str(70.866_15, 3), "70.866");
        assert_eq!(fixed_str(0.0501, 3), "0.05");
        assert_eq!(fixed_str(0.0049, 3), "0.005");
        assert_eq!(fixed_str(0.0004, 3), "0");
        assert_eq!(fixed_str(-1.417_32, 5), "-1.41732");
        assert_eq!(fixed_str(841.889_8, 4), "841.8898");
        assert_eq!(fixed_str(1.000_01, 3), "1");
    }

    #[test]
    fn hex_strings_are_read_in_order() {
        let content = b"BT\n/F1 10 Tf\n<0012 00ab> Tj\n/F2 10 Tf\n<0001> Tj\nET";
        assert_eq!(
            hex_strings(content).unwrap(),
            vec![vec![0x00, 0x12, 0x00, 0xab], vec![0x00, 0x01]]
        );
        assert!(hex_strings(b"<123> Tj").is_err());
        assert!(hex_strings(b"<12").is_err());
    }

    #[test]
    fn glyph_codes_refuse_notdef_and_short_probes() {
        let codes = GlyphCodes::new(&['a', 'Ŧ', '王'], &[0, 5, 0, 6, 0, 7]).unwrap();
        assert_eq!(codes.get('a'), Some(5));
        assert_eq!(codes.get('Ŧ'), Some(6));
        assert_eq!(codes.get('王'), Some(7));
        assert_eq!(codes.get('b'), None);
        assert!(GlyphCodes::new(&['a'], &[0, 0]).is_err());
        assert!(GlyphCodes::new(&['a', 'b'], &[0, 1]).is_err());
    }

    #[test]
    fn compressed_pages_inflate_back() {
        let mut compressor = PageCompressor::new();
        let input: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
        for input in [&input[..], b"", b"/P0 Do\n"] {
            // Twice: the compressor is reused.
            for _ in 0..2 {
                let out = compressor.compress(input).unwrap();
                let mut back = vec![0u8; input.len() + 1];
                let (back, rc) =
                    zlib_rs::decompress_slice(&mut back, &out, zlib_rs::InflateConfig::default());
                assert_eq!(rc, zlib_rs::ReturnCode::Ok);
                assert_eq!(back, input);
            }
        }
    }

    #[test]
    fn glyph_codes_are_escaped_in_literal_strings() {
        let mut buf = Vec::new();
        for code in [0x0028, 0x2900, 0x005c, 0x000d, 0x0a41] {
            glyph(&mut buf, code);
        }
        let expected: &[u8] = &[
            0, b'\\', b'(', // 0x0028
            b'\\', b')', 0, // 0x2900
            0, b'\\', b'\\', // 0x005c
            0, b'\\', b'r', // 0x000d: a raw CR would be read as LF
            b'\n', b'A', // 0x0a41: a raw LF is read as itself
        ];
        assert_eq!(buf, expected);
    }
}
