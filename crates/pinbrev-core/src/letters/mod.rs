//! The PIN letters as PDF: texts per language ([`texts`]), the built-in fonts ([`font`]) and the
//! layout and PDF writing ([`render`]), and the vendor's proof ([`proof`]).
//!
//! One A4 page per letter; a part holds many letters. The address block sits in the vendor's
//! envelope window ([`Window`]) with the return address above it and a DataMatrix carrying the
//! letter id; the 20 PIN codes exist in plain text only inside the PDF this module writes.

pub mod font;
mod pdf;
pub mod proof;
pub mod render;
pub mod texts;

pub use font::{missing_glyphs, text_width_mm};
pub use proof::render_proof;
pub use render::{
    address_fits, render_part, LetterInput, PartRenderer, RenderError, RenderedPart, Window,
};
pub use texts::Helpdesk;
