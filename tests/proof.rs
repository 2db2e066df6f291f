//! `pinbrev letter proof` through the real binary: the proof PDF read back with independent
//! readers (pdfinfo, qpdf, pdffonts, pdftotext, pdftoppm, dmtxread), the envelope window's
//! 3 mm margin checked on the rendered pixels, the helpdesk numbers taken from the settings,
//! and an unknown vendor refused.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{tool, Work};

/// The vendor's window in the settings the tests use: not the default one.
const SETTINGS: &str = "[vendors.printco.window]\nleft_mm = 22\ntop_mm = 40\nwidth_mm = 90\nheight_mm = 45\nreturn_zone_mm = 16\n";
const WINDOW: (f32, f32, f32, f32) = (22.0, 40.0, 90.0, 45.0);

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn ok_tool(program: &str, args: &[&str]) -> String {
    let out = tool(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn make_proof(w: &Work, args: &[&str], env: &[(&str, &str)]) -> common::Run {
    std::fs::write(w.path("pinbrev.toml"), SETTINGS).unwrap();
    let mut all = vec!["letter", "proof", "--vendor", "printco"];
    all.extend_from_slice(args);
    let r = w.run_with(&all, env);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    r
}

/// Pages of `pdftotext -layout`, split at form feeds.
fn pages(pdf: &Path) -> Vec<String> {
    let text = ok_tool("pdftotext", &["-layout", "-enc", "UTF-8", p(pdf), "-"]);
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.last().is_some_and(|l| l.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// A binary greyscale PGM (P5, 8 bits) as width, height and pixels.
fn read_pgm(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8(bytes[start..i].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P5");
    assert_eq!(fields[3], "255");
    let (width, height): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = bytes[i + 1..].to_vec();
    assert_eq!(pixels.len(), width * height);
    (width, height, pixels)
}

const DPI: f32 = 300.0;

fn px(mm: f32) -> usize {
    (mm / 25.4 * DPI).round() as usize
}

/// The window of `page` rendered at 300 dpi, greyscale.
fn window_image(pdf: &Path, page: usize, dir: &Path) -> (usize, usize, Vec<u8>) {
    let root = dir.join(format!("window-{page}"));
    let page = page.to_string();
    let (l, t, w, h) = WINDOW;
    let crop = [px(l), px(t), px(w), px(h)].map(|v| v.to_string());
    ok_tool(
        "pdftoppm",
        &[
            "-r",
            "300",
            "-f",
            &page,
            "-l",
            &page,
            "-x",
            &crop[0],
            "-y",
            &crop[1],
            "-W",
            &crop[2],
            "-H",
            &crop[3],
            "-gray",
            "-singlefile",
            p(pdf),
            p(&root),
        ],
    );
    read_pgm(&root.with_extension("pgm"))
}

#[test]
fn a_proof_has_placeholder_codes_sample_addresses_and_an_outlined_copy() {
    let w = Work::new();
    let r = make_proof(&w, &["--out", "proof.pdf"], &[]);
    let pdf = w.path("proof.pdf");
    assert!(r.stdout.contains("6 pages in proof.pdf"), "{}", r.stdout);
    assert_eq!(
        std::fs::metadata(&pdf).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let info = ok_tool("pdfinfo", &[p(&pdf)]);
    assert!(info.contains("Pages:           6"), "{info}");
    assert!(info.contains("(A4)"), "{info}");
    ok_tool("qpdf", &["--check", p(&pdf)]);
    let fonts = ok_tool("pdffonts", &[p(&pdf)]);
    for line in fonts.lines().skip(2) {
        assert!(
            line.contains(" yes yes yes "),
            "not embedded, subset and mapped: {line}"
        );
    }

    let pages = pages(&pdf);
    assert_eq!(pages.len(), 6);
    let re = regex::Regex::new(r"[0-9]{1,2}\.\s+[0-9]{5}").unwrap();
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(page.matches("XXXXX").count(), 20, "page {}", i + 1);
        // No code: no code's number is followed by five digits.
        assert!(!re.is_match(page), "page {}: a code-like number", i + 1);
        assert!(page.contains("Dine PIN-koder til MinID"));
        assert!(page.contains("Postboks 1382 Vika, 0114 OSLO"));
        // The copies are alike: page 4 repeats page 1 (plus the outline, which has no text).
        if i >= 3 {
            assert_eq!(page, &pages[i - 3]);
        }
    }
    assert!(pages[0].contains("ÅSHILD MARGRETHE"), "{}", pages[0]);
    assert!(
        pages[1].contains("Biret Máret Ŋuolja-Čuđiš"),
        "{}",
        pages[1]
    );
    assert!(pages[1].contains("c/o Ánde Ŧoađđi Žiellat"));
    assert!(pages[2].contains("TYSKLAND") && pages[2].contains("Hauptstraße 12"));
    // Letters abroad give the number callable from abroad.
    assert!(pages[2].contains("+47 800 30 300"), "{}", pages[2]);
    assert!(pages[0].contains("telefon 800 30 300") && !pages[0].contains("+47"));

    // The 3 mm inside every edge of the window is blank on the printed copy, the DataMatrix's
    // quiet zone and all; on the outlined copy the outline runs along the edge.
    let margin = px(3.0);
    for page in 1..=6 {
        let (width, height, pixels) = window_image(&pdf, page, &w.path(""));
        let dark_in_band = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let in_band =
                    x < margin || y < margin || x >= width - margin || y >= height - margin;
                // The outlines (0.5 pt) run along the edges and, for the return-address zone,
                // across the band at the zone's bottom: leave out their pixels.
                let on_outline =
                    x < 4 || y < 4 || x >= width - 4 || y >= height - 4 || y.abs_diff(px(16.0)) < 4;
                in_band && !(page > 3 && on_outline)
            })
            .filter(|&(x, y)| pixels[y * width + x] < 200)
            .count();
        assert_eq!(
            dark_in_band, 0,
            "page {page}: dark pixels within 3 mm of the window's edge"
        );
        let ink = pixels.iter().filter(|v| **v < 128).count();
        assert!(ink > 1000, "page {page}: the window is empty");
        if page > 3 {
            let edge_dark = (0..4)
                .map(|y| (0..width).filter(|x| pixels[y * width + x] < 160).count())
                .max()
                .unwrap_or(0);
            assert!(
                edge_dark > width / 2,
                "page {page}: no outline along the top edge"
            );
        }
    }
    // The DataMatrix in the window reads back as the longest letter id.
    let image = w.path("window-1.pgm");
    let out = tool("dmtxread", &["-N1", p(&image)]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "B20261124-999-999999",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_helpdesk_comes_from_the_settings_and_the_language_is_chosen() {
    let w = Work::new();
    make_proof(
        &w,
        &["--lang", "en"],
        &[
            ("PINBREV_HELP_PHONE", "22 33 44 55"),
            ("PINBREV_HELP_PHONE_ABROAD", "+47 22 33 44 55"),
            ("PINBREV_HELP_WEB", "example.no/help"),
        ],
    );
    // The default name: proof-VENDOR-LANG.pdf.
    let pdf = w.path("proof-printco-en.pdf");
    let pages = pages(&pdf);
    assert!(pages[0].contains("Your PIN codes for MinID"));
    assert!(pages[0].contains("example.no/help") && pages[0].contains("22 33 44 55"));
    assert!(!pages[0].contains("800 30 300") && !pages[0].contains("minid.no/hjelp"));
    assert!(pages[2].contains("+47 22 33 44 55"));
    let r = w.run(&["letter", "proof", "--vendor", "printco", "--lang", "se"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nb, nn, en"), "{}", r.stderr);
}

#[test]
fn a_vendor_not_in_the_settings_is_refused_with_the_configured_ones() {
    let w = Work::new();
    std::fs::write(w.path("pinbrev.toml"), SETTINGS).unwrap();
    let r = w.run(&["letter", "proof", "--vendor", "nosuch", "--out", "x.pdf"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("nosuch") && r.stderr.contains("printco"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!w.path("x.pdf").exists());
    // A window too small for the DataMatrix with its margin is refused when the settings load.
    std::fs::write(
        w.path("pinbrev.toml"),
        SETTINGS.replace("return_zone_mm = 16", "return_zone_mm = 9"),
    )
    .unwrap();
    let r = w.run(&["letter", "proof", "--vendor", "printco"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("vendors.printco.window") && r.stderr.contains("DataMatrix"),
        "{}",
        r.stderr
    );
}
