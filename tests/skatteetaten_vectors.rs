//! Skatteetaten's published test vectors for fødselsnummer and d-numbers
//! (`tests/data/skatteetaten/foedselsnummer.csv`, copied with its attribution from the public
//! repository `Skatteetaten/folkeregisteret-api-dokumentasjon`:
//! `fødselsnummer,erSyntetisk,erGyldig,beskrivelse`), checked through the library and through
//! the real binary's `id check`. `PINBREV_FNR_VECTORS` names another vectors file of the same
//! form (`make vectors VECTORS=...`).

mod common;

use common::Work;
use pinbrev::national_id::NationalId;

struct Vector {
    number: String,
    synthetic: bool,
    valid: bool,
    line: String,
}

fn vectors() -> Vec<Vector> {
    let path = std::env::var("PINBREV_FNR_VECTORS").unwrap_or_else(|_| {
        format!(
            "{}/tests/data/skatteetaten/foedselsnummer.csv",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().map(str::trim),
        Some("fødselsnummer,erSyntetisk,erGyldig,beskrivelse"),
        "{path}: not Skatteetaten's vectors file"
    );
    let vectors: Vec<Vector> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert!(f.len() >= 3, "{path}: {line}");
            Vector {
                number: f[0].trim().to_string(),
                synthetic: f[1].trim() == "true",
                valid: f[2].trim() == "true",
                line: line.to_string(),
            }
        })
        .collect();
    assert!(
        vectors.len() >= 10,
        "{path}: only {} vectors",
        vectors.len()
    );
    vectors
}

#[test]
fn every_vector_agrees_in_the_library() {
    for v in vectors() {
        let parsed = NationalId::parse(&v.number, true);
        assert_eq!(parsed.is_ok(), v.valid, "{}: {parsed:?}", v.line);
        if let Ok(id) = parsed {
            assert_eq!(id.info().synthetic, v.synthetic, "{}", v.line);
        }
    }
}

#[test]
fn every_vector_agrees_in_id_check() {
    let work = Work::new();
    let vectors = vectors();
    let mut args = vec!["id", "check", "--format", "json"];
    args.extend(vectors.iter().map(|v| v.number.as_str()));
    let run = work.run(&args);
    // Two of the vectors are invalid on purpose, so the whole check exits 1.
    assert_eq!(run.code, 1, "{}", run.stderr);
    let results: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(results.len(), vectors.len());
    for (v, r) in vectors.iter().zip(&results) {
        assert_eq!(r["valid"], v.valid, "{}: {r}", v.line);
        assert_eq!(
            r["number"],
            format!("{}*****", &v.number[..6]),
            "{}",
            v.line
        );
        if v.valid {
            assert_eq!(r["synthetic"], v.synthetic, "{}: {r}", v.line);
            let base = if v.number.as_bytes()[0] >= b'4' {
                "dnr"
            } else {
                "fnr"
            };
            assert_eq!(r["base_kind"], base, "{}: {r}", v.line);
        }
    }
}

/// A d-number whose month also carries the H-number offset (+40) is not a number any scheme
/// issues: Skatteetaten's validator refuses it, and so does pinbrev.
#[test]
fn a_d_number_with_an_h_month_is_invalid() {
    // 41 (d-number day 1), 41 (month 1 + 40), 90: check digits computed for the nine digits.
    let number = common::with_check_digits("414190123");
    let work = Work::new();
    let run = work.run(&["id", "check", "--format", "json", &number]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let r: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(r[0]["valid"], false, "{r}");
    assert_eq!(
        r[0]["problem"], "the date part is not a calendar date",
        "{r}"
    );
}
