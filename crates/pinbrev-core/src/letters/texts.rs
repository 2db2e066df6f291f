//! The letter's texts, one template file per language (`templates/letter.<code>.toml`).

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use crate::order::Language;

/// Every text of a letter in one language. Every key is required; the templates are checked by
/// a unit test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    pub sender: String,
    pub sender_service: String,
    pub date_label: String,
    pub reference_label: String,
    pub order_label: String,
    /// With `{day}`, `{month}` and `{year}`.
    pub date_format: String,
    pub months: [String; 12],
    pub heading: String,
    pub intro: String,
    pub codes_heading: String,
    pub use_heading: String,
    pub use_text: String,
    pub create_heading: String,
    pub create_steps: Vec<String>,
    pub safety_heading: String,
    pub safety_text: String,
    pub new_letter_text: String,
    pub help_heading: String,
    /// With `{web}` and `{phone}`: the helpdesk's address and number come from the settings
    /// ([`Helpdesk`]).
    pub help_text: String,
    pub footer: String,
}

const NB: &str = include_str!("../../../../templates/letter.nb.toml");
const NN: &str = include_str!("../../../../templates/letter.nn.toml");
const EN: &str = include_str!("../../../../templates/letter.en.toml");

fn parse(source: &str, name: &str) -> Texts {
    toml::from_str(source).unwrap_or_else(|e| panic!("templates/letter.{name}.toml: {e}"))
}

static TEXTS_NB: LazyLock<Texts> = LazyLock::new(|| parse(NB, "nb"));
static TEXTS_NN: LazyLock<Texts> = LazyLock::new(|| parse(NN, "nn"));
static TEXTS_EN: LazyLock<Texts> = LazyLock::new(|| parse(EN, "en"));

/// The texts of `language`.
pub fn texts(language: Language) -> &'static Texts {
    match language {
        Language::Nb => &TEXTS_NB,
        Language::Nn => &TEXTS_NN,
        Language::En => &TEXTS_EN,
    }
}

/// Where a letter sends its reader for help. From the settings (`help_web`, `help_phone`,
/// `help_phone_abroad`), so that changing them needs no rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helpdesk {
    /// The helpdesk's web address.
    pub web: String,
    /// The number for letters to Norway.
    pub phone: String,
    /// The number for letters abroad: callable from outside Norway (`+47 …`).
    pub phone_abroad: String,
}

impl Default for Helpdesk {
    fn default() -> Self {
        Helpdesk {
            web: "minid.no/hjelp".into(),
            phone: "800 30 300".into(),
            phone_abroad: "+47 800 30 300".into(),
        }
    }
}

impl Texts {
    /// The help paragraph with the helpdesk's web address and the number for a letter in Norway
    /// or abroad.
    pub fn help_text(&self, help: &Helpdesk, abroad: bool) -> String {
        let phone = if abroad {
            &help.phone_abroad
        } else {
            &help.phone
        };
        self.help_text
            .replace("{web}", &help.web)
            .replace("{phone}", phone)
    }

    /// The date as written in the letter ("24. november 2026", "24 November 2026").
    pub fn format_date(&self, date: NaiveDate) -> String {
        self.date_format
            .replace("{day}", &date.day().to_string())
            .replace("{month}", &self.months[date.month0() as usize])
            .replace("{year}", &date.year().to_string())
    }

    /// Every text, for checks over all of them.
    pub fn all(&self) -> Vec<&str> {
        let mut all = vec![
            self.sender.as_str(),
            &self.sender_service,
            &self.date_label,
            &self.reference_label,
            &self.order_label,
            &self.date_format,
            &self.heading,
            &self.intro,
            &self.codes_heading,
            &self.use_heading,
            &self.use_text,
            &self.create_heading,
            &self.safety_heading,
            &self.safety_text,
            &self.new_letter_text,
            &self.help_heading,
            &self.help_text,
            &self.footer,
        ];
        all.extend(self.months.iter().map(String::as_str));
        all.extend(self.create_steps.iter().map(String::as_str));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::letters::font::missing_glyphs;

    #[test]
    fn every_template_has_every_key_and_no_empty_value() {
        for (source, name) in [(NB, "nb"), (NN, "nn"), (EN, "en")] {
            // Parsing fails on a missing or unknown key.
            let t: Texts = toml::from_str(source).unwrap_or_else(|e| panic!("{name}: {e}"));
            for text in t.all() {
                assert!(!text.trim().is_empty(), "{name}: an empty value");
                assert_eq!(missing_glyphs(text), Vec::<char>::new(), "{name}: {text}");
            }
            assert!(!t.create_steps.is_empty(), "{name}: no steps");
            for key in ["{day}", "{month}", "{year}"] {
                assert!(
                    t.date_format.contains(key),
                    "{name}: date_format lacks {key}"
                );
            }
            // The facts every language must state.
            let body = t.all().join(" ");
            for fact in ["minid.no", "ID-porten", "MinID"] {
                assert!(body.contains(fact), "{name}: does not mention {fact}");
            }
            for key in ["{web}", "{phone}"] {
                assert!(t.help_text.contains(key), "{name}: help_text lacks {key}");
            }
            let help = Helpdesk::default();
            assert!(t.help_text(&help, false).contains("minid.no/hjelp og") || name == "en");
            assert!(t.help_text(&help, false).contains(" 800 30 300"));
            assert!(t.help_text(&help, true).contains("+47 800 30 300"));
            assert!(!t.help_text(&help, true).contains('{'));
        }
        assert_eq!(texts(Language::Nn).heading, "PIN-kodane dine til MinID");
        assert_eq!(texts(Language::En).heading, "Your PIN codes for MinID");
        assert_eq!(texts(Language::Nb).heading, "Dine PIN-koder til MinID");
    }

    #[test]
    fn dates_per_language() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(texts(Language::Nb).format_date(d), "24. november 2026");
        assert_eq!(texts(Language::Nn).format_date(d), "24. november 2026");
        assert_eq!(texts(Language::En).format_date(d), "24 November 2026");
        let d = NaiveDate::from_ymd_opt(2027, 1, 3).unwrap();
        assert_eq!(texts(Language::En).format_date(d), "3 January 2027");
    }
}
