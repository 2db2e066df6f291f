//! PIN codes: 20 five-digit codes per letter from the operating system's CSPRNG, and their keyed
//! HMAC-SHA256, which is all the database ever keeps of them.
//!
//! A code exists in plain text only while its letter is rendered; nothing here logs, formats or
//! stores one.

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::Rng;
use sha2::Sha256;

/// Codes per letter.
pub const CODES_PER_LETTER: usize = 20;
/// Shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// The secret key of the PIN HMACs. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct PinKey {
    /// The HMAC state after the key, cloned for each digest rather than keyed again.
    keyed: HmacSha256,
}

impl std::fmt::Debug for PinKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinKey(..)")
    }
}

impl PinKey {
    /// The key of these bytes (the caller checks there are at least [`MIN_KEY_BYTES`]).
    pub fn new(bytes: &[u8]) -> PinKey {
        let keyed = HmacSha256::new_from_slice(bytes).expect("HMAC takes any key length");
        PinKey { keyed }
    }

    #[cfg(test)]
    pub fn for_tests() -> PinKey {
        PinKey::new(&[7; MIN_KEY_BYTES])
    }

    /// HMAC-SHA256 of (letter, number, code), hex-encoded.
    pub fn digest(&self, letter_id: &str, number: usize, code: u32) -> String {
        hex::encode(self.mac(letter_id, number, code).finalize().into_bytes())
    }

    /// Whether `code` is the letter's code number `number`, compared in constant time.
    pub fn matches(&self, letter_id: &str, number: usize, code: u32, stored_hex: &str) -> bool {
        let Ok(stored) = hex::decode(stored_hex) else {
            return false;
        };
        self.mac(letter_id, number, code)
            .verify_slice(&stored)
            .is_ok()
    }

    fn mac(&self, letter_id: &str, number: usize, code: u32) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        let mut number_text = itoa::Buffer::new();
        let code_text = five_digits(code);
        // Length-prefixed fields, so that no two (letter, number, code) give the same message.
        for part in [
            letter_id.as_bytes(),
            number_text.format(number).as_bytes(),
            &code_text,
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }
}

/// A code as its five ASCII digits, leading zeros kept.
fn five_digits(code: u32) -> [u8; 5] {
    let mut out = [b'0'; 5];
    let mut rest = code;
    for d in out.iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out
}

/// The largest multiple of 100,000 that fits in a `u32`: random words at or above it are drawn
/// again, so that every code is equally likely.
const UNBIASED_LIMIT: u32 = u32::MAX / 100_000 * 100_000;

/// Twenty distinct five-digit codes (00000–99999) from the OS CSPRNG.
pub fn generate_codes() -> [u32; CODES_PER_LETTER] {
    let mut codes = [0u32; CODES_PER_LETTER];
    let mut filled = 0;
    // One read of the OS generator gives enough words for a letter nearly always (a word is
    // only drawn again when it is out of range or repeats a code).
    let mut words = [0u32; CODES_PER_LETTER + 12];
    while filled < CODES_PER_LETTER {
        OsRng.fill(&mut words[..]);
        for word in words {
            if filled == CODES_PER_LETTER {
                break;
            }
            if word >= UNBIASED_LIMIT {
                continue;
            }
            let code = word % 100_000;
            if !codes[..filled].contains(&code) {
                codes[filled] = code;
                filled += 1;
            }
        }
    }
    codes
}

/// The stored form of a letter's codes: their HMACs in number order, comma-separated.
pub fn digests(key: &PinKey, letter_id: &str, codes: &[u32; CODES_PER_LETTER]) -> String {
    let mut out = String::with_capacity(CODES_PER_LETTER * 65);
    let mut hex_digest = [0u8; 64];
    for (i, code) in codes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mac = key.mac(letter_id, i + 1, *code).finalize().into_bytes();
        hex::encode_to_slice(mac, &mut hex_digest).expect("64 hex digits for 32 bytes");
        out.push_str(std::str::from_utf8(&hex_digest).expect("hex is ASCII"));
    }
    out
}

/// Parses a code as typed: exactly five digits.
pub fn parse_code(s: &str) -> Option<u32> {
    let s = s.trim();
    (s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().expect("digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_twenty_distinct_five_digit_numbers() {
        for _ in 0..200 {
            let codes = generate_codes();
            let mut sorted = codes.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), CODES_PER_LETTER);
            assert!(codes.iter().all(|c| *c < 100_000));
        }
    }

    #[test]
    fn digests_verify_only_the_right_code_number_and_letter() {
        let key = PinKey::for_tests();
        let d = key.digest("L-1", 3, 4711);
        assert!(key.matches("L-1", 3, 4711, &d));
        assert!(!key.matches("L-1", 3, 4712, &d));
        assert!(!key.matches("L-1", 4, 4711, &d));
        assert!(!key.matches("L-2", 3, 4711, &d));
        assert!(!key.matches("L-1", 3, 4711, "zz"));
        let other = PinKey::new(&[8; MIN_KEY_BYTES]);
        assert!(!other.matches("L-1", 3, 4711, &d));
        assert!(!d.contains("04711"));
    }

    #[test]
    fn digests_keep_the_stored_form() {
        // Digests stored by earlier versions must still verify: the message is the
        // length-prefixed letter id, code number and five-digit code.
        let key = PinKey::for_tests();
        let codes: [u32; CODES_PER_LETTER] = std::array::from_fn(|i| i as u32 * 4_999);
        let expected: Vec<String> = codes
            .iter()
            .enumerate()
            .map(|(i, code)| {
                let mut mac = HmacSha256::new_from_slice(&[7; MIN_KEY_BYTES]).unwrap();
                for part in [
                    "B20261124-001-000001".to_string(),
                    (i + 1).to_string(),
                    format!("{code:05}"),
                ] {
                    mac.update(&(part.len() as u64).to_be_bytes());
                    mac.update(part.as_bytes());
                }
                hex::encode(mac.finalize().into_bytes())
            })
            .collect();
        assert_eq!(
            digests(&key, "B20261124-001-000001", &codes),
            expected.join(",")
        );
        assert_eq!(&five_digits(4711), b"04711");
        assert_eq!(&five_digits(0), b"00000");
        assert_eq!(&five_digits(99_999), b"99999");
    }

    #[test]
    fn typed_codes() {
        assert_eq!(parse_code("04711"), Some(4711));
        assert_eq!(parse_code("4711"), None);
        assert_eq!(parse_code("0471a"), None);
    }
}
