//! A proof of the letter, for a print vendor's approval and for the helpdesk: the letter as the
//! drop prints it for the vendor's envelope window, with `XXXXX` in place of every PIN code and
//! sample addresses (the widest block the window takes, a Sámi name, an address abroad); then
//! the same pages again with the window and its return-address zone outlined.

use chrono::NaiveDate;

use super::font::text_width_mm;
use super::pdf::{self, WholePage};
use super::render::{
    layout_address, layout_letter, prepare, CodeText, Frame, Layout, LetterInput, RenderError,
    RenderedPart, Window, ADDRESS_INSET_MM, ADDRESS_RIGHT_PAD_MM, ADDRESS_SIZES_PT,
    LONGEST_LETTER_ID,
};
use super::texts::Helpdesk;
use crate::address::{AddressBlock, PostalZone, MAX_LINES};
use crate::order::Language;

/// The order id the proof's letters show.
pub const PROOF_ORDER_ID: &str = "PROOF-0001";

/// Long lines to cut down to the widest that fits, one per address line: tall capitals (Å, Ø)
/// first and descenders (g, j, p, y) last, so that the block is also as high as it gets.
const WIDE_LINES: [&str; MAX_LINES] = [
    "ÅSHILD MARGRETHE LØVENSKIOLD-WEDEL-JARLSBERG ØSTENSJØ AMUNDSEN",
    "c/o Bjørnstjerne Kristoffersen Haugland-Tveitereid Andersen",
    "Kronprinsesse Märthas plass 100B, leilighet H0304, oppgang C",
    "Inngang fra bakgården ved siden av sykkelparkeringen",
    "Sørbyhaugen gjestegård og nyttehage, Gjøvik kommune",
    "2815 GJØVIK KOMMUNE POSTTERMINAL PÅ JERNBANEGATA",
];

/// The proof's sample addresses, in page order: the widest six-line block the window takes
/// (each line cut to the widest that fits at the smallest address size), a Sámi name, and an
/// address abroad.
pub fn sample_addresses(window: &Window) -> Vec<(&'static str, AddressBlock)> {
    let room = window.width_mm - ADDRESS_INSET_MM - ADDRESS_RIGHT_PAD_MM;
    let smallest = ADDRESS_SIZES_PT[ADDRESS_SIZES_PT.len() - 1];
    let mut widest: Vec<String> = WIDE_LINES
        .iter()
        .map(|line| widest_prefix(line, room, smallest))
        .collect();
    // A low window takes fewer lines: the name and the town stay.
    while widest.len() > 2 && layout_address(&widest, window).is_err() {
        widest.remove(widest.len() - 2);
    }
    vec![
        (
            "the widest address the window takes",
            AddressBlock {
                lines: widest,
                zone: PostalZone::Domestic,
                postcode: Some("2815".into()),
                country: "NO".into(),
            },
        ),
        (
            "a Sámi name",
            AddressBlock {
                lines: vec![
                    "Biret Máret Ŋuolja-Čuđiš".into(),
                    "c/o Ánde Ŧoađđi Žiellat".into(),
                    "Ávjovárgeaidnu 23".into(),
                    "9730 KARASJOK".into(),
                ],
                zone: PostalZone::Domestic,
                postcode: Some("9730".into()),
                country: "NO".into(),
            },
        ),
        (
            "an address abroad",
            AddressBlock {
                lines: vec![
                    "Ingrid Nordmann Schmidt".into(),
                    "Hauptstraße 12".into(),
                    "10115 Berlin".into(),
                    "TYSKLAND".into(),
                ],
                zone: PostalZone::Abroad,
                postcode: Some("10115".into()),
                country: "DE".into(),
            },
        ),
    ]
}

/// The longest prefix of `line` that is at most `room` mm wide at `size` (cut between
/// characters: the worst case is the point).
fn widest_prefix(line: &str, room: f32, size: f32) -> String {
    let mut cut = String::new();
    for c in line.chars() {
        cut.push(c);
        if text_width_mm(&cut, size, false) > room {
            cut.pop();
            break;
        }
    }
    cut.trim_end().to_string()
}

/// The proof's pages laid out: one letter per sample address, in `language`.
pub(crate) fn proof_layouts(
    window: &Window,
    return_address: &str,
    helpdesk: &Helpdesk,
    language: Language,
    date: NaiveDate,
) -> Result<Vec<Layout>, RenderError> {
    window.check().map_err(RenderError::Window)?;
    // Codes are never shown; the letter's checks still want twenty different ones.
    let codes: [u32; 20] = std::array::from_fn(|i| i as u32);
    sample_addresses(window)
        .iter()
        .map(|(_, address)| {
            let letter = prepare(&LetterInput {
                letter_id: LONGEST_LETTER_ID,
                order_id: PROOF_ORDER_ID,
                language,
                address,
                codes: &codes,
                date,
            })?;
            layout_letter(
                &letter,
                window,
                return_address.trim(),
                helpdesk,
                CodeText::Placeholder,
            )
        })
        .collect()
}

/// The proof PDF: the sample letters as printed, then the same letters with the window and the
/// return-address zone outlined.
pub fn render_proof(
    window: &Window,
    return_address: &str,
    helpdesk: &Helpdesk,
    language: Language,
    date: NaiveDate,
) -> Result<RenderedPart, RenderError> {
    let layouts = proof_layouts(window, return_address, helpdesk, language, date)?;
    let outline: [Frame; 2] = [
        (
            window.left_mm,
            window.top_mm,
            window.right_mm(),
            window.bottom_mm(),
        ),
        (
            window.left_mm,
            window.top_mm,
            window.right_mm(),
            window.address_top_mm(),
        ),
    ];
    let pages: Vec<WholePage<'_>> = [false, true]
        .iter()
        .flat_map(|outlined| {
            layouts.iter().map(move |l| WholePage {
                runs: std::iter::once(&l.return_address)
                    .chain(&l.address.runs)
                    .chain(&l.runs)
                    .collect(),
                frames: l
                    .frames
                    .iter()
                    .chain(if *outlined { &outline[..] } else { &[] })
                    .copied()
                    .collect(),
                matrix: &l.matrix,
            })
        })
        .collect();
    let pdf = pdf::write_whole_pages("MinID PIN letter: proof", &pages, &pdf::PartMeta { date })
        .map_err(|detail| RenderError::Pdf {
            first: LONGEST_LETTER_ID.into(),
            last: LONGEST_LETTER_ID.into(),
            detail,
        })?;
    Ok(RenderedPart {
        pdf,
        pages: pages.len() as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::letters::render::{TextRun, WINDOW_MARGIN_MM};

    const RETURN: &str = "Postboks 1382 Vika, 0114 OSLO";

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    /// The windows a vendor may have: the default (DIN 5008 form B, and form A's position),
    /// a narrow one and a low one.
    fn windows() -> Vec<Window> {
        let d = Window::default();
        vec![
            d,
            Window { top_mm: 27.0, ..d },
            Window {
                width_mm: 70.0,
                ..d
            },
            Window {
                height_mm: 40.0,
                return_zone_mm: 14.0,
                ..d
            },
        ]
    }

    #[test]
    fn the_widest_sample_fills_the_window_at_the_smallest_size() {
        let w = Window::default();
        let samples = sample_addresses(&w);
        let (_, widest) = &samples[0];
        assert_eq!(widest.lines.len(), MAX_LINES);
        let layout = layout_address(&widest.lines, &w).unwrap();
        assert_eq!(layout.size, ADDRESS_SIZES_PT[ADDRESS_SIZES_PT.len() - 1]);
        let room = w.width_mm - ADDRESS_INSET_MM - ADDRESS_RIGHT_PAD_MM;
        for line in &widest.lines {
            let width = text_width_mm(line, 8.0, false);
            assert!(width <= room, "{line}: {width}");
            // One more character would not fit.
            let next = WIDE_LINES
                .iter()
                .find_map(|l| l.strip_prefix(line.as_str()))
                .and_then(|rest| rest.chars().next())
                .unwrap();
            let next = if next == ' ' {
                " x".to_string()
            } else {
                next.to_string()
            };
            assert!(
                text_width_mm(&format!("{line}{next}"), 8.0, false) > room,
                "{line} is not the widest"
            );
        }
        assert!(samples[1].1.lines[0].contains('Ŋ'));
        assert_eq!(samples[2].1.zone, PostalZone::Abroad);
    }

    /// The worst case for every window: each printed element in the window keeps
    /// [`WINDOW_MARGIN_MM`] from every edge of it (the DataMatrix with its quiet zone), and
    /// nothing else on the page reaches into the window.
    #[test]
    fn everything_in_the_window_keeps_3_mm_from_its_edges() {
        for w in windows() {
            let layouts = proof_layouts(&w, RETURN, &Helpdesk::default(), Language::Nb, date())
                .unwrap_or_else(|e| panic!("{w:?}: {e}"));
            let m = WINDOW_MARGIN_MM - 1e-3;
            let inner = (
                w.left_mm + m,
                w.top_mm + m,
                w.right_mm() - m,
                w.bottom_mm() - m,
            );
            let window = (w.left_mm, w.top_mm, w.right_mm(), w.bottom_mm());
            for l in &layouts {
                let in_window: Vec<&TextRun> = std::iter::once(&l.return_address)
                    .chain(&l.address.runs)
                    .collect();
                for r in in_window {
                    let b = r.bbox();
                    assert!(
                        b.0 >= inner.0 && b.1 >= inner.1 && b.2 <= inner.2 && b.3 <= inner.3,
                        "{w:?}: {:?} at {b:?} is within {WINDOW_MARGIN_MM} mm of the window's edge",
                        r.text
                    );
                }
                let q = l.matrix.bbox_with_quiet_zone();
                assert!(
                    q.0 >= inner.0 && q.1 >= inner.1 && q.2 <= inner.2 && q.3 <= inner.3,
                    "{w:?}: the DataMatrix at {q:?}"
                );
                for r in &l.runs {
                    let b = r.bbox();
                    let apart =
                        b.2 <= window.0 || b.0 >= window.2 || b.3 <= window.1 || b.1 >= window.3;
                    assert!(apart, "{w:?}: {:?} reaches into the window", r.text);
                }
            }
        }
    }

    #[test]
    fn the_proof_shows_placeholders_and_both_copies() {
        let w = Window::default();
        let proof = render_proof(&w, RETURN, &Helpdesk::default(), Language::En, date()).unwrap();
        assert_eq!(proof.pages, 6);
        assert!(proof.pdf.starts_with(b"%PDF-1.7"));
        let layouts =
            proof_layouts(&w, RETURN, &Helpdesk::default(), Language::En, date()).unwrap();
        for l in &layouts {
            let codes: Vec<&TextRun> = l.runs.iter().filter(|r| r.text == "XXXXX").collect();
            assert_eq!(codes.len(), 20);
            assert!(!l
                .runs
                .iter()
                .any(|r| r.text.chars().all(|c| c.is_ascii_digit()) && r.text.len() == 5));
        }
        // The abroad letter gives the number callable from abroad.
        let help = |l: &Layout| {
            l.runs
                .iter()
                .map(|r| r.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(help(&layouts[2]).contains("+47 800 30 300"));
        assert!(!help(&layouts[0]).contains("+47"));
    }

    #[test]
    fn a_window_too_small_for_the_sample_is_an_error() {
        let w = Window {
            return_zone_mm: 8.0,
            ..Window::default()
        };
        let err = render_proof(&w, RETURN, &Helpdesk::default(), Language::Nb, date()).unwrap_err();
        assert!(matches!(err, RenderError::Window(_)), "{err}");
    }
}
