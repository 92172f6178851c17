//! One-time codes sent by SMS, voice or email: uniformly random digits, stored as a keyed
//! hash bound to the challenge they were issued for.

use aws_lc_rs::hmac;

use crate::crypto;

/// A numeric code of `digits` digits, each uniformly random: random bytes of 250 or more
/// are discarded (rejection sampling), so `byte % 10` has no modulo bias. Leading zeros are
/// kept.
pub fn generate(digits: u32) -> String {
    let want = digits as usize;
    let mut out = String::with_capacity(want);
    while out.len() < want {
        // 250/256 of bytes are kept; ask for a little more than needed.
        for b in crypto::random_bytes(want - out.len() + 4) {
            if b < 250 && out.len() < want {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    out
}

/// The storage hash of a code bound to its challenge: HMAC-SHA256 under `key` of
/// `challenge_id || ":" || code`, as hex. The same code under another challenge hashes
/// differently, so a code can't be replayed against a different challenge.
pub fn hash(key: &hmac::Key, challenge_id: &str, code: &str) -> String {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(challenge_id.as_bytes());
    ctx.update(b":");
    ctx.update(code.as_bytes());
    hex::encode(ctx.sign().as_ref())
}

/// What a person typed as a numeric code, cleaned: whitespace and hyphens removed. `None`
/// unless exactly `digits` ASCII digits remain. For SMS, voice and email codes, and for
/// authenticator codes typed as apps show them ("123 456").
pub fn normalize(input: &str, digits: u32) -> Option<String> {
    if input.len() > 4 * digits as usize + 16 {
        return None;
    }
    let out: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (out.len() == digits as usize && out.bytes().all(|b| b.is_ascii_digit())).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_digits_only() {
        for n in [0, 1, 4, 6, 8, 12] {
            for _ in 0..50 {
                let code = generate(n);
                assert_eq!(code.len(), n as usize);
                assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
            }
        }
    }

    #[test]
    fn distribution_sanity() {
        let mut first = [0u32; 10];
        let mut all = [0u32; 10];
        for _ in 0..2000 {
            let code = generate(6);
            first[usize::from(code.as_bytes()[0] - b'0')] += 1;
            for b in code.bytes() {
                all[usize::from(b - b'0')] += 1;
            }
        }
        // Leading zeros are kept, and nines are reachable.
        assert!(first[0] > 0, "{first:?}");
        assert!(first[9] > 0, "{first:?}");
        assert!(first.iter().all(|&n| n > 0), "{first:?}");
        // 12000 digits, 1200 expected per digit: a biased or broken generator lands far
        // outside this band (the standard deviation is about 33).
        for (d, &n) in all.iter().enumerate() {
            assert!(
                (1000..=1400).contains(&n),
                "digit {d}: {n} of 12000 ({all:?})"
            );
        }
    }

    #[test]
    fn codes_differ() {
        let codes: std::collections::HashSet<String> = (0..100).map(|_| generate(12)).collect();
        assert!(codes.len() > 95);
    }

    #[test]
    fn hash_binds_code_to_challenge() {
        let k = hmac::Key::new(hmac::HMAC_SHA256, b"verity-test-key");
        // HMAC-SHA256("verity-test-key", "challenge-1:123456"), computed independently.
        assert_eq!(
            hash(&k, "challenge-1", "123456"),
            "f070c21a8962f7a3b5ccd5ce49a5d1866b53c5fabc879d2969c41a49754678be"
        );
        assert_eq!(
            hash(&k, "challenge-1", "123456"),
            hash(&k, "challenge-1", "123456")
        );
        assert_ne!(
            hash(&k, "challenge-1", "123456"),
            hash(&k, "challenge-2", "123456")
        );
        assert_ne!(
            hash(&k, "challenge-1", "123456"),
            hash(&k, "challenge-1", "123457")
        );
        let other = hmac::Key::new(hmac::HMAC_SHA256, b"other-key");
        assert_ne!(
            hash(&k, "challenge-1", "123456"),
            hash(&other, "challenge-1", "123456")
        );
    }

    #[test]
    fn normalize_typed_codes() {
        assert_eq!(normalize("123456", 6).as_deref(), Some("123456"));
        assert_eq!(normalize(" 123 456 ", 6).as_deref(), Some("123456"));
        assert_eq!(normalize("123-456", 6).as_deref(), Some("123456"));
        assert_eq!(normalize("012345", 6).as_deref(), Some("012345"));
        assert_eq!(normalize("12345", 6), None);
        assert_eq!(normalize("1234567", 6), None);
        assert_eq!(normalize("12345a", 6), None);
        assert_eq!(normalize("+12345", 6), None);
        assert_eq!(normalize("１２３４５６", 6), None);
        assert_eq!(normalize("", 6), None);
        assert_eq!(normalize(&" ".repeat(10_000), 6), None);
    }
}
