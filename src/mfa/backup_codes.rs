//! Backup codes: single-use codes a person prints or saves when enrolling, for when their
//! phone or app is gone. Crockford base32 (no I, L, O, U) so they read aloud and type
//! cleanly; typing O for 0 or I/L for 1 still works. Stored as keyed hashes.

use aws_lc_rs::hmac;

use crate::crypto;

/// Crockford's base32 alphabet: digits and capitals without I, L, O and U.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `count` codes of `length` Crockford base32 characters each, from the system RNG. Each
/// character takes 5 bits of a random byte; 256 is a multiple of 32, so there is no bias.
pub fn generate(count: usize, length: usize) -> Vec<String> {
    let bytes = crypto::random_bytes(count.saturating_mul(length));
    if length == 0 {
        return vec![String::new(); count];
    }
    bytes
        .chunks(length)
        .map(|chunk| {
            chunk
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b & 0x1f)]))
                .collect()
        })
        .collect()
}

/// What a person typed, in canonical form: uppercase, whitespace and hyphens (or dashes)
/// removed, O read as 0, I and L read as 1. `None` unless the result is exactly `length`
/// Crockford characters.
pub fn normalize(input: &str, length: usize) -> Option<String> {
    // Far longer than any code with separators: refuse without doing work.
    if input.len() > length.saturating_mul(4).saturating_add(16) {
        return None;
    }
    let mut out = String::with_capacity(length);
    for c in input.chars() {
        if c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}') {
            continue;
        }
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == length).then_some(out)
}

/// The keyed hash stored for a code: HMAC-SHA256 under `key` of the canonical code, as hex.
/// Codes carry 60 bits of entropy; the key keeps a stolen table from being brute-forced
/// offline.
pub fn hash(key: &hmac::Key, canonical: &str) -> String {
    hex::encode(hmac::sign(key, canonical.as_bytes()).as_ref())
}

/// Groups of 4 joined by hyphens for display: "ABCD-EFGH-JKMN".
pub fn display(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    chars
        .chunks(4)
        .map(|g| g.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn key(bytes: &[u8]) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, bytes)
    }

    #[test]
    fn generates_count_codes_of_length_from_the_alphabet() {
        let codes = generate(10, 12);
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 12);
            assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['I', 'L', 'O', 'U']));
            // A generated code is already canonical.
            assert_eq!(normalize(code, 12).as_deref(), Some(code.as_str()));
        }
        let unique: HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        assert_eq!(generate(0, 12).len(), 0);
        assert_eq!(generate(3, 0), vec![String::new(); 3]);
        assert_eq!(generate(1, 5)[0].len(), 5);
    }

    #[test]
    fn every_symbol_appears() {
        let seen: HashSet<u8> = generate(100, 12).concat().bytes().collect();
        assert_eq!(seen.len(), 32);
    }

    #[test]
    fn alphabet_is_crockford() {
        assert_eq!(ALPHABET.len(), 32);
        let set: HashSet<_> = ALPHABET.iter().collect();
        assert_eq!(set.len(), 32);
        for b in b"ILOU" {
            assert!(!ALPHABET.contains(b));
        }
    }

    #[test]
    fn normalize_reads_what_people_type() {
        assert_eq!(
            normalize("ABCD-EFGH-JKMN", 12).as_deref(),
            Some("ABCDEFGHJKMN")
        );
        assert_eq!(
            normalize("abcd efgh jkmn", 12).as_deref(),
            Some("ABCDEFGHJKMN")
        );
        assert_eq!(
            normalize("  abcd-efgh-jkmn\n", 12).as_deref(),
            Some("ABCDEFGHJKMN")
        );
        assert_eq!(
            normalize("ABCD–EFGH—JKMN", 12).as_deref(),
            Some("ABCDEFGHJKMN")
        );
        // O → 0, I and L → 1, either case.
        assert_eq!(
            normalize("oOiI-lL00-1111", 12).as_deref(),
            Some("001111001111")
        );
    }

    #[test]
    fn normalize_refuses_wrong_length_and_foreign_characters() {
        assert_eq!(normalize("ABCD-EFGH-JKM", 12), None);
        assert_eq!(normalize("ABCD-EFGH-JKMNP", 12), None);
        assert_eq!(normalize("", 12), None);
        assert_eq!(normalize("----", 0).as_deref(), Some(""));
        assert_eq!(normalize("ABCD-EFGH-JKMU", 12), None);
        assert_eq!(normalize("ABCD_EFGH_JKMN", 12), None);
        assert_eq!(normalize("ABCD.EFGH.JKMN", 12), None);
        assert_eq!(normalize("ABCDÉFGHJKMN", 12), None);
        assert_eq!(normalize("ıbcd-efgh-jkmn", 12), None);
        assert_eq!(normalize(&"-".repeat(10_000), 12), None);
    }

    #[test]
    fn hash_is_stable_hex_hmac_and_key_dependent() {
        let k = key(b"verity-test-key");
        // HMAC-SHA256("verity-test-key", "0123456789AB"), computed independently.
        assert_eq!(
            hash(&k, "0123456789AB"),
            "a92f478cfe8f27d34a6bfc06a7aa81194a3c0d803bb03e8a8c7e1d6ca7eaf601"
        );
        assert_eq!(hash(&k, "0123456789AB"), hash(&k, "0123456789AB"));
        assert_ne!(hash(&k, "0123456789AB"), hash(&k, "0123456789AC"));
        assert_ne!(
            hash(&k, "0123456789AB"),
            hash(&key(b"another-key"), "0123456789AB")
        );
        // What a person types hashes like the stored code once normalised.
        let typed = normalize("o123-4567-89ab", 12).unwrap();
        assert_eq!(hash(&k, &typed), hash(&k, "0123456789AB"));
    }

    #[test]
    fn display_groups_of_four() {
        assert_eq!(display("ABCDEFGHJKMN"), "ABCD-EFGH-JKMN");
        assert_eq!(display("ABCDEFGHJK"), "ABCD-EFGH-JK");
        assert_eq!(display("ABCD"), "ABCD");
        assert_eq!(display(""), "");
        let code = &generate(1, 12)[0];
        assert_eq!(
            normalize(&display(code), 12).as_deref(),
            Some(code.as_str())
        );
    }
}
