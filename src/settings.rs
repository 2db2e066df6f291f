//! Settings: a TOML file (`--config FILE`, else `pinbrev.toml` in the working directory if
//! present), each key overridable from the environment as `PINBREV_` + the key in capitals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::letter::PartLayout;
use crate::letters::{Helpdesk, Window};

/// Settings of one print vendor (`[vendors.NAME]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VendorSettings {
    /// The envelope window, in mm from the page's top-left corner (`[vendors.NAME.window]`
    /// with `left_mm`, `top_mm`, `width_mm`, `height_mm`, `return_zone_mm`).
    pub window: Window,
    /// Letters abroad go to the post as a mail stream of their own: they start a part of their
    /// own, so that no PDF part holds both domestic and abroad letters (each part keeps the
    /// presort order).
    pub split_abroad: bool,
}

/// Effective settings of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Accept synthetic test numbers (month + 80). Off in production; the demo turns it on.
    pub allow_synthetic: bool,
    /// Minimum age in whole years for a PIN letter.
    pub min_age: u32,
    /// At most this many letters per person within 30 days.
    pub max_letters_per_30_days: u32,
    /// At most this many letters per PDF part of a drop.
    pub max_letters_per_file: u32,
    /// Parts rendered at once by `batch create`; 0 means one per CPU core.
    pub render_threads: u32,
    /// On PostgreSQL, seconds a render worker may hold a part before another may take it over.
    pub part_lease_seconds: u32,
    /// File holding the PIN HMAC key (`PINBREV_PIN_KEY` holds the key itself).
    pub pin_key_file: Option<PathBuf>,
    /// Days that letter PDFs and personal data of finished orders are kept.
    pub retention_days: u32,
    /// The sender's return address, printed on one line above the recipient's address. PIN
    /// letters go in a neutral envelope: a post box, no agency name.
    pub return_address: String,
    /// The helpdesk's web address in the letter's help paragraph.
    pub help_web: String,
    /// The helpdesk's number in letters to Norway.
    pub help_phone: String,
    /// The helpdesk's number in letters abroad: callable from outside Norway (`+47 …`).
    pub help_phone_abroad: String,
    /// Per-vendor settings. Once any vendor is listed, `batch create` refuses a vendor that is
    /// not (unless `allow_unknown_vendors`); with none listed, every vendor gets the defaults
    /// (DIN 5008 form B window).
    pub vendors: BTreeMap<String, VendorSettings>,
    /// Let a vendor not listed in `vendors` have the default window.
    pub allow_unknown_vendors: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allow_synthetic: false,
            min_age: 13,
            max_letters_per_30_days: 3,
            max_letters_per_file: 5000,
            render_threads: 0,
            part_lease_seconds: 120,
            pin_key_file: None,
            retention_days: 90,
            return_address: "Postboks 1382 Vika, 0114 OSLO".into(),
            help_web: Helpdesk::default().web,
            help_phone: Helpdesk::default().phone,
            help_phone_abroad: Helpdesk::default().phone_abroad,
            vendors: BTreeMap::new(),
            allow_unknown_vendors: false,
        }
    }
}

/// A settings file or environment value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("settings file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}={value:?}: {message}")]
    Env {
        var: String,
        value: String,
        message: String,
    },
}

/// Where a setting's value came from, for `config show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Nobody set it.
    Default,
    /// The settings file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Env(var) => write!(f, "environment {var}"),
        }
    }
}

/// Each top-level setting's origin, by key.
pub type Origins = BTreeMap<String, Origin>;

/// The default file looked for in the working directory.
pub const DEFAULT_FILE: &str = "pinbrev.toml";

impl Settings {
    /// Loads the settings: the given file (which must exist), else `pinbrev.toml` if present,
    /// else the defaults; then the `PINBREV_*` environment overrides.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        Ok(Self::load_with_origins(file)?.0)
    }

    /// [`Settings::load`], with where each top-level value came from.
    pub fn load_with_origins(file: Option<&Path>) -> Result<(Settings, Origins), SettingsError> {
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("PINBREV_"))
            .collect();
        Self::load_with_env(file, &env)
    }

    fn load_with_env(
        file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<(Settings, Origins), SettingsError> {
        let (path, text) = match file {
            Some(p) => (p.to_path_buf(), Some(read(p)?)),
            None if Path::new(DEFAULT_FILE).is_file() => {
                let p = PathBuf::from(DEFAULT_FILE);
                let t = read(&p)?;
                (p, Some(t))
            }
            None => (PathBuf::from(DEFAULT_FILE), None),
        };
        let mut table: toml::Table = match text {
            Some(t) => toml::from_str(&t).map_err(|e| SettingsError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?,
            None => toml::Table::new(),
        };
        let defaults = toml::Table::try_from(Settings::default()).expect("defaults serialize");
        let mut origins: Origins = defaults
            .keys()
            .chain(table.keys())
            .map(|k| {
                let origin = if table.contains_key(k) {
                    Origin::File(path.clone())
                } else {
                    Origin::Default
                };
                (k.clone(), origin)
            })
            .collect();
        for key in Self::keys() {
            let var = format!("PINBREV_{}", key.to_ascii_uppercase());
            let Some((_, value)) = env.iter().find(|(k, _)| *k == var) else {
                continue;
            };
            let parsed = match defaults.get(*key) {
                Some(toml::Value::Boolean(_)) => parse_bool(value).map(toml::Value::Boolean),
                Some(toml::Value::Integer(_)) => value
                    .trim()
                    .parse::<i64>()
                    .map(toml::Value::Integer)
                    .map_err(|_| "expected a whole number".to_string()),
                _ => Ok(toml::Value::String(value.clone())),
            };
            let parsed = parsed.map_err(|message| SettingsError::Env {
                var: var.clone(),
                value: value.clone(),
                message,
            })?;
            table.insert((*key).to_string(), parsed);
            origins.insert((*key).to_string(), Origin::Env(var.clone()));
        }
        let settings = Settings::deserialize(table).map_err(|e| SettingsError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        for (key, value) in [
            ("return_address", &settings.return_address),
            ("help_web", &settings.help_web),
            ("help_phone", &settings.help_phone),
            ("help_phone_abroad", &settings.help_phone_abroad),
        ] {
            if value.trim().is_empty() {
                let message = format!("{key} is empty; the letters need it");
                return Err(match origins.get(key) {
                    Some(Origin::Env(var)) => SettingsError::Env {
                        var: var.clone(),
                        value: value.clone(),
                        message,
                    },
                    _ => SettingsError::Parse {
                        path: path.clone(),
                        message,
                    },
                });
            }
        }
        for (name, vendor) in &settings.vendors {
            vendor
                .window
                .check()
                .map_err(|message| SettingsError::Parse {
                    path: path.clone(),
                    message: format!("vendors.{name}.window: {message}"),
                })?;
        }
        Ok((settings, origins))
    }

    /// How long a render worker's claim on a part lasts.
    pub fn part_lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.part_lease_seconds.max(1)))
    }

    /// Checks that a batch may be made for `vendor`: one listed in `vendors`, or any vendor
    /// when none is listed or `allow_unknown_vendors` is set. The error lists the vendors there
    /// are.
    pub fn check_vendor(&self, vendor: &str) -> Result<(), String> {
        if self.vendors.is_empty()
            || self.allow_unknown_vendors
            || self.vendors.contains_key(vendor)
        {
            return Ok(());
        }
        let known: Vec<&str> = self.vendors.keys().map(String::as_str).collect();
        Err(format!(
            "vendor {} is not in the settings; the configured vendors are: {} (set allow_unknown_vendors = true to give an unlisted vendor the default window)",
            crate::free_text::quote(vendor),
            known.join(", ")
        ))
    }

    /// Where the letters send their readers for help.
    pub fn helpdesk(&self) -> Helpdesk {
        Helpdesk {
            web: self.help_web.clone(),
            phone: self.help_phone.clone(),
            phone_abroad: self.help_phone_abroad.clone(),
        }
    }

    /// The envelope window of a vendor.
    pub fn window(&self, vendor: &str) -> Window {
        self.vendors
            .get(vendor)
            .map(|v| v.window)
            .unwrap_or_default()
    }

    /// Whether the vendor's letters abroad get parts of their own.
    pub fn split_abroad(&self, vendor: &str) -> bool {
        self.vendors.get(vendor).is_some_and(|v| v.split_abroad)
    }

    /// How a batch for `vendor` with `domestic` letters to Norway is cut into parts:
    /// `max_letters_per_file` to a part, and the letters abroad apart if the vendor splits.
    pub fn part_layout(&self, vendor: &str, domestic: i64) -> PartLayout {
        let per_file = i64::from(self.max_letters_per_file.max(1));
        match self.split_abroad(vendor) {
            true => PartLayout::split(per_file, domestic),
            false => PartLayout::new(per_file),
        }
    }

    /// How many parts `batch create` renders at once: `render_threads`, or one per CPU core.
    pub fn render_threads(&self) -> usize {
        match self.render_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        }
    }

    /// Every key that the environment can override.
    pub fn keys() -> &'static [&'static str] {
        &[
            "allow_synthetic",
            "min_age",
            "max_letters_per_30_days",
            "max_letters_per_file",
            "render_threads",
            "part_lease_seconds",
            "pin_key_file",
            "retention_days",
            "return_address",
            "help_web",
            "help_phone",
            "help_phone_abroad",
            "allow_unknown_vendors",
        ]
    }
}

/// Bytes a settings file may have: one is a few KiB, and a larger file (a wrong path) is refused
/// after this many, not read whole.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

fn read(path: &Path) -> Result<String, SettingsError> {
    let read_err = |source| SettingsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = crate::files::read_input_up_to(path, MAX_FILE_BYTES).map_err(read_err)?;
    String::from_utf8(bytes)
        .map_err(|e| read_err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.toml");
        assert!(matches!(
            Settings::load_with_env(Some(&missing), &[]),
            Err(SettingsError::Read { .. })
        ));
    }

    #[test]
    fn a_file_larger_than_a_settings_file_can_be_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        let mut text = "min_age = 15\n".to_string();
        text.push_str(&"# padding\n".repeat(MAX_FILE_BYTES as usize / 10));
        std::fs::write(&f, &text).unwrap();
        let e = Settings::load_with_env(Some(&f), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than 1048576 bytes"), "{e}");
        text.truncate(MAX_FILE_BYTES as usize - 100);
        std::fs::write(&f, &text).unwrap();
        assert_eq!(
            Settings::load_with_env(Some(&f), &[]).unwrap().0.min_age,
            15
        );
    }

    #[test]
    fn file_then_env_override() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, "min_age = 15\nallow_synthetic = false\n").unwrap();
        let (s, origins) = Settings::load_with_env(
            Some(&f),
            &env(&[
                ("PINBREV_ALLOW_SYNTHETIC", "true"),
                ("PINBREV_MAX_LETTERS_PER_FILE", "10"),
            ]),
        )
        .unwrap();
        assert_eq!(s.min_age, 15);
        assert!(s.allow_synthetic);
        assert_eq!(s.max_letters_per_file, 10);
        assert_eq!(s.retention_days, 90);
        assert_eq!(origins["min_age"], Origin::File(f.clone()));
        assert_eq!(
            origins["allow_synthetic"],
            Origin::Env("PINBREV_ALLOW_SYNTHETIC".into())
        );
        assert_eq!(origins["retention_days"], Origin::Default);
    }

    #[test]
    fn vendor_windows() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, "[vendors.printco.window]\nleft_mm = 22\ntop_mm = 50\nwidth_mm = 90\nheight_mm = 45\nreturn_zone_mm = 15\n").unwrap();
        let (s, _) = Settings::load_with_env(Some(&f), &[]).unwrap();
        assert_eq!(s.window("printco").left_mm, 22.0);
        assert_eq!(s.window("other"), Window::default());
        std::fs::write(&f, "[vendors.bad.window]\nleft_mm = 2\ntop_mm = 50\nwidth_mm = 90\nheight_mm = 45\nreturn_zone_mm = 15\n").unwrap();
        let e = Settings::load_with_env(Some(&f), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("vendors.bad.window"), "{e}");
    }

    #[test]
    fn the_letters_contact_details_are_settings_with_neutral_defaults() {
        let (s, _) = Settings::load_with_env(None, &[]).unwrap();
        assert_eq!(s.return_address, "Postboks 1382 Vika, 0114 OSLO");
        assert!(!s.return_address.to_lowercase().contains("direktorat"));
        assert_eq!(s.helpdesk(), Helpdesk::default());
        let (s, origins) = Settings::load_with_env(
            None,
            &env(&[
                ("PINBREV_HELP_PHONE", "22 00 00 00"),
                ("PINBREV_HELP_PHONE_ABROAD", "+47 22 00 00 00"),
                ("PINBREV_HELP_WEB", "example.no/help"),
            ]),
        )
        .unwrap();
        assert_eq!(s.helpdesk().phone_abroad, "+47 22 00 00 00");
        assert_eq!(s.helpdesk().web, "example.no/help");
        assert_eq!(
            origins["help_phone"],
            Origin::Env("PINBREV_HELP_PHONE".into())
        );
        let e = Settings::load_with_env(None, &env(&[("PINBREV_HELP_PHONE", " ")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("PINBREV_HELP_PHONE") && e.contains("empty"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_their_source() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(&f, "min_agee = 15\n").unwrap();
        let e = Settings::load_with_env(Some(&f), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.toml") && e.contains("min_agee"), "{e}");
        std::fs::write(&f, "").unwrap();
        let e = Settings::load_with_env(Some(&f), &env(&[("PINBREV_MIN_AGE", "old")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("PINBREV_MIN_AGE"), "{e}");
    }
}
