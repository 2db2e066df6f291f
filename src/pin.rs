//! The PIN key: from `PINBREV_PIN_KEY`, else from the file the setting `pin_key_file` names.
//! The codes and their digests are [`pinbrev_core::pin`].

use std::path::{Path, PathBuf};

use crate::settings::Settings;
pub use pinbrev_core::pin::*;

/// The environment variable holding the key itself.
pub const KEY_ENV: &str = "PINBREV_PIN_KEY";

/// Bytes a PIN key file may have: a key is tens of bytes, and a larger file (a wrong path, a
/// device) is refused after this many, not read whole.
pub const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Why there is no usable key. Commands that need one fail with this; there is no built-in key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no PIN key: set {KEY_ENV} or the setting pin_key_file (a file of at least {MIN_KEY_BYTES} random bytes, e.g. `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > pin.key; chmod 600 pin.key`)")]
    Missing,
    #[error("cannot read PIN key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the PIN key from {from} has {len} bytes; at least {MIN_KEY_BYTES} are needed")]
    TooShort { from: String, len: usize },
}

/// The key from `PINBREV_PIN_KEY`, else from the file named by `pin_key_file`. Surrounding
/// whitespace (a trailing newline) is not part of the key.
pub fn load_key(settings: &Settings) -> Result<PinKey, KeyError> {
    from_sources(
        std::env::var(KEY_ENV).ok(),
        settings.pin_key_file.as_deref(),
    )
}

fn from_sources(env: Option<String>, file: Option<&Path>) -> Result<PinKey, KeyError> {
    let (bytes, from) = match (env, file) {
        (Some(v), _) if !v.trim().is_empty() => (v.trim().as_bytes().to_vec(), KEY_ENV.to_string()),
        (_, Some(path)) => {
            let raw =
                crate::files::read_input_up_to(path, MAX_KEY_FILE_BYTES).map_err(|source| {
                    KeyError::Read {
                        path: path.to_path_buf(),
                        source,
                    }
                })?;
            let text_trimmed = raw.trim_ascii().to_vec();
            (text_trimmed, path.display().to_string())
        }
        _ => return Err(KeyError::Missing),
    };
    if bytes.len() < MIN_KEY_BYTES {
        return Err(KeyError::TooShort {
            from,
            len: bytes.len(),
        });
    }
    Ok(PinKey::new(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sources() {
        assert!(matches!(from_sources(None, None), Err(KeyError::Missing)));
        assert!(matches!(
            from_sources(Some("short".into()), None),
            Err(KeyError::TooShort { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k");
        std::fs::write(&f, format!("{}\n", "a".repeat(40))).unwrap();
        let same = |a: &PinKey, b: &PinKey| a.digest("L-1", 1, 1) == b.digest("L-1", 1, 1);
        let from_file = from_sources(None, Some(&f)).unwrap();
        assert!(same(&from_file, &PinKey::new("a".repeat(40).as_bytes())));
        let env_wins = from_sources(Some("b".repeat(33)), Some(&f)).unwrap();
        assert!(same(&env_wins, &PinKey::new(&[b'b'; 33])));
        assert_eq!(format!("{env_wins:?}"), "PinKey(..)");
        let missing = from_sources(None, Some(&dir.path().join("nope")))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope"), "{missing}");
        std::fs::write(&f, "a".repeat(MAX_KEY_FILE_BYTES as usize + 1)).unwrap();
        let huge = from_sources(None, Some(&f)).unwrap_err().to_string();
        assert!(huge.contains("larger than 4096 bytes"), "{huge}");
        std::fs::write(&f, "a".repeat(MAX_KEY_FILE_BYTES as usize)).unwrap();
        assert!(from_sources(None, Some(&f)).is_ok());
    }
}
