//! Skatteetaten's published test vectors for fødselsnummer and d-numbers (the file
//! `src/dokumenter/foedselsnummer.csv` of the public repository
//! `Skatteetaten/folkeregisteret-api-dokumentasjon`: `fødselsnummer,erSyntetisk,erGyldig,beskrivelse`).
//!
//! The file is not shipped with pinbrev; run `make vectors VECTORS=path/to/foedselsnummer.csv`.

use pinbrev::national_id::NationalId;

#[test]
#[ignore = "needs Skatteetaten's foedselsnummer.csv: make vectors VECTORS=path/to/file"]
fn skatteetaten_vectors() {
    let path =
        std::env::var("PINBREV_FNR_VECTORS").expect("set PINBREV_FNR_VECTORS to the vectors file");
    let text = std::fs::read_to_string(&path).expect("vectors file");
    let mut checked = 0;
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let (number, synthetic, valid) = (f[0], f[1] == "true", f[2] == "true");
        let parsed = NationalId::parse(number, true);
        assert_eq!(parsed.is_ok(), valid, "{line}: {parsed:?}");
        if let Ok(id) = parsed {
            assert_eq!(id.info().synthetic, synthetic, "{line}");
        }
        checked += 1;
    }
    assert!(checked > 0, "no vectors in {path}");
    println!("{checked} Skatteetaten vectors agree");
}
