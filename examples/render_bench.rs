//! Renders one part of N letters (default 5000) in the three languages, R times (default 5), on T
//! threads at once (default 1, each thread its own part), and prints letters/s (all threads
//! together) and bytes/letter per run and their medians.
//!
//! `cargo run --release --example render_bench -- [N] [R] [T]`

use std::time::Instant;

use chrono::NaiveDate;
use pinbrev::address::{AddressBlock, PostalZone};
use pinbrev::letters::{LetterInput, PartRenderer, Window};
use pinbrev::orders::Language;

const RETURN_ADDRESS: &str = "Postboks 1382 Vika, 0114 OSLO";

fn domestic(lines: &[&str], postcode: &str) -> AddressBlock {
    AddressBlock {
        lines: lines.iter().map(|l| l.to_string()).collect(),
        zone: PostalZone::Domestic,
        postcode: Some(postcode.into()),
        country: "NO".into(),
    }
}

/// Distinct 5-digit codes, different for every letter.
fn codes(seed: u32) -> [u32; 20] {
    let mut c = [0u32; 20];
    for (i, code) in c.iter_mut().enumerate() {
        *code = (seed.wrapping_mul(7919) + i as u32 * 4999 + 17) % 100_000;
    }
    c
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);

    let addresses = [
        (
            Language::Nb,
            domestic(&["Áŋŋá Čuđe", "Storgata 12B H0101", "9008 TROMSØ"], "9008"),
        ),
        (
            Language::Nn,
            domestic(
                &[
                    "Máret Ŧorbmá Sárá",
                    "c/o Jürgen Groß",
                    "Postboks 221",
                    "0101 OSLO",
                ],
                "0101",
            ),
        ),
        (
            Language::En,
            domestic(&["Łukasz Wójcik-Żółć", "Kirkeveien 5", "0368 OSLO"], "0368"),
        ),
        (
            Language::Nb,
            domestic(
                &[
                    "Þórður Ðorri",
                    "c/o Řeřicha Ěmil",
                    "Gjøvikgården",
                    "Fjellvegen 99B H0304",
                    "Inngang bakside",
                    "2815 GJØVIK",
                ],
                "2815",
            ),
        ),
    ];
    let ids: Vec<String> = (0..n).map(|i| format!("L20261124-{i:06}")).collect();
    let orders: Vec<String> = (0..n).map(|i| format!("web-2026-11-24.{i:04}")).collect();
    let all_codes: Vec<[u32; 20]> = (0..n).map(|i| codes(i as u32 + 100)).collect();
    let date = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let inputs: Vec<LetterInput<'_>> = (0..n)
        .map(|i| {
            let (language, address) = &addresses[i % addresses.len()];
            LetterInput {
                letter_id: &ids[i],
                order_id: &orders[i],
                language: *language,
                address,
                codes: &all_codes[i],
                date,
            }
        })
        .collect();

    let renderer = PartRenderer::new(&Window::default(), RETURN_ADDRESS).expect("a renderer");
    let mut rates = Vec::new();
    let mut bytes = 0;
    for run in 0..runs {
        let start = Instant::now();
        let parts = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| scope.spawn(|| renderer.render(&inputs).expect("renders")))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a rendering thread"))
                .collect::<Vec<_>>()
        });
        let secs = start.elapsed().as_secs_f64();
        let part = &parts[0];
        assert_eq!(part.pages as usize, n);
        bytes = part.pdf.len();
        let rate = (n * threads) as f64 / secs;
        println!(
            "run {run}: {secs:.3} s, {rate:.0} letters/s, {} bytes/letter",
            bytes / n
        );
        rates.push(rate);
        if let Some(path) = std::env::var_os("RENDER_BENCH_PDF") {
            std::fs::write(path, &part.pdf).expect("writes the PDF");
        }
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "median: {:.0} letters/s, {} bytes/letter ({n} letters, {runs} runs, {threads} threads)",
        rates[rates.len() / 2],
        bytes / n
    );
}
