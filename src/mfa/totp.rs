//! Authenticator apps (TOTP, RFC 6238) with `totp-rs`: secrets, the `otpauth://` enrolment
//! URI and its QR code, and code checks with a skew window that report which time step
//! matched, so the caller can refuse a step that was already used.
//!
//! Parameters are the ones every authenticator app understands: HMAC-SHA-1, 6 digits, and
//! (in the enrolment URI) a 30-second step.

use base64::Engine;
use qrcode::render::svg;
use qrcode::QrCode;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::crypto;

/// Digits in a code.
pub const DIGITS: usize = 6;
/// Length of a new secret in bytes (160 bits, RFC 4226 §4).
pub const SECRET_LEN: usize = 20;
/// The step advertised in the enrolment URI and QR code. Apps assume 30 s anyway.
pub const STEP_SECS: u64 = 30;

/// 20 random bytes from the system RNG, wiped from memory when dropped.
pub fn new_secret() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(crypto::random_bytes(SECRET_LEN))
}

/// RFC 4648 base32 without padding: what a person types into an app that can't scan the QR
/// code.
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The key as shown for typing it in: base32 in groups of four, "ABCD EFGH IJKL ...".
/// Authenticator apps ignore the spaces.
pub fn secret_grouped(secret: &[u8]) -> String {
    secret_base32(secret)
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn enrolment(secret: &[u8], issuer: &str, account: &str) -> anyhow::Result<Totp> {
    Ok(Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_step_duration(STEP_SECS)
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()?)
}

/// The `otpauth://totp/Issuer:account?secret=...&issuer=Issuer` URI an app enrols from.
/// Fails if the secret is shorter than 128 bits, or the issuer or account contains a `:`
/// (the key URI format can't carry one) or the account is empty.
pub fn provisioning_uri(secret: &[u8], issuer: &str, account: &str) -> anyhow::Result<String> {
    Ok(enrolment(secret, issuer, account)?.to_url()?)
}

/// The enrolment URI as a QR code: an SVG document, base64-encoded (standard alphabet,
/// padded), with no `data:` prefix; the page shows it as `data:image/svg+xml;base64,...`.
pub fn qr_svg_base64(secret: &[u8], issuer: &str, account: &str) -> anyhow::Result<String> {
    let uri = Zeroizing::new(provisioning_uri(secret, issuer, account)?);
    let code = QrCode::new(uri.as_bytes())?;
    let image = Zeroizing::new(
        code.render::<svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    );
    Ok(base64::engine::general_purpose::STANDARD.encode(image.as_bytes()))
}

/// A generator for codes at `step_secs`. Skew is handled here, not by totp-rs.
fn generator(secret: &[u8], step_secs: u64) -> Builder {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_step_duration(step_secs)
        .with_skew(0)
        .with_secret(secret.to_vec())
}

/// Checks a 6-digit code against every time step within ±`skew` of `unix_time` (HMAC-SHA-1,
/// `step_secs` period). Returns the matched step (`unix_time / step_secs` for a code of the
/// current step), the earliest one should two steps match.
///
/// Every step in the window is computed and compared in constant time, whether or not an
/// earlier one matched. Returns `None` for anything but exactly 6 ASCII digits, for a zero
/// step, and for a secret shorter than 128 bits (a corrupt or empty secret must never make
/// codes predictable).
pub fn verify(secret: &[u8], code: &str, unix_time: u64, step_secs: u64, skew: u8) -> Option<u64> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) || step_secs == 0 {
        return None;
    }
    let totp = generator(secret, step_secs).build().ok()?;
    let origin = unix_time / step_secs;
    let first = origin.saturating_sub(u64::from(skew));
    let last = origin.saturating_add(u64::from(skew));
    let mut matched = None;
    for step in first..=last {
        let Some(time) = step.checked_mul(step_secs) else {
            break;
        };
        let candidate = totp.generate(time).to_string();
        if crypto::ct_eq(candidate.as_bytes(), code.as_bytes()) && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// The code for the step containing `unix_time`. For tests, examples and the dev tools; a
/// zero `step_secs` is treated as 1 rather than panicking.
pub fn code_at(secret: &[u8], unix_time: u64, step_secs: u64) -> String {
    generator(secret, step_secs.max(1))
        .build_noncompliant()
        .generate(unix_time)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    /// RFC 6238 Appendix B, SHA-1: the last 6 digits of the 8-digit values.
    const RFC_VECTORS: [(u64, &str); 6] = [
        (59, "287082"),
        (1111111109, "081804"),
        (1111111111, "050471"),
        (1234567890, "005924"),
        (2000000000, "279037"),
        (20000000000, "353130"),
    ];

    #[test]
    fn the_key_is_shown_in_groups_of_four() {
        let shown = secret_grouped(RFC_SECRET);
        assert_eq!(shown.replace(' ', ""), secret_base32(RFC_SECRET));
        assert!(shown.split(' ').all(|g| g.len() == 4), "{shown}");
        assert_eq!(&shown[..10], "GEZD GNBV ");
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        for (time, code) in RFC_VECTORS {
            assert_eq!(code_at(RFC_SECRET, time, 30), code, "T = {time}");
            assert_eq!(
                verify(RFC_SECRET, code, time, 30, 0),
                Some(time / 30),
                "T = {time}"
            );
            assert_eq!(verify(RFC_SECRET, code, time, 30, 1), Some(time / 30));
        }
    }

    #[test]
    fn skew_one_step_either_side_accepted_two_refused() {
        let t = 1234567890;
        let step = t / 30;
        let code = code_at(RFC_SECRET, t, 30);
        // The person's clock is a step behind or ahead of ours.
        assert_eq!(verify(RFC_SECRET, &code, t + 30, 30, 1), Some(step));
        assert_eq!(verify(RFC_SECRET, &code, t - 30, 30, 1), Some(step));
        assert_eq!(verify(RFC_SECRET, &code, t + 60, 30, 1), None);
        assert_eq!(verify(RFC_SECRET, &code, t - 60, 30, 1), None);
        // Wider skew reaches further; zero skew only the current step.
        assert_eq!(verify(RFC_SECRET, &code, t + 60, 30, 2), Some(step));
        assert_eq!(verify(RFC_SECRET, &code, t + 30, 30, 0), None);
        // Codes of the neighbouring steps, checked at t, report their own step.
        let before = code_at(RFC_SECRET, t - 30, 30);
        let after = code_at(RFC_SECRET, t + 30, 30);
        assert_eq!(verify(RFC_SECRET, &before, t, 30, 1), Some(step - 1));
        assert_eq!(verify(RFC_SECRET, &after, t, 30, 1), Some(step + 1));
    }

    #[test]
    fn step_boundaries() {
        // 59 is the last second of step 1; 60 starts step 2.
        assert_eq!(verify(RFC_SECRET, "287082", 59, 30, 0), Some(1));
        assert_eq!(verify(RFC_SECRET, "287082", 30, 30, 0), Some(1));
        assert_eq!(verify(RFC_SECRET, "287082", 60, 30, 0), None);
        assert_eq!(verify(RFC_SECRET, "287082", 60, 30, 1), Some(1));
        // Near time zero the window is clipped, not wrapped.
        let code = code_at(RFC_SECRET, 0, 30);
        assert_eq!(verify(RFC_SECRET, &code, 0, 30, 1), Some(0));
        assert_eq!(verify(RFC_SECRET, &code, 10, 30, 5), Some(0));
        // No overflow at the end of time.
        assert_eq!(verify(RFC_SECRET, "000000", u64::MAX, 30, 3), None);
    }

    #[test]
    fn other_step_lengths() {
        let t = 1_700_000_000;
        let code = code_at(RFC_SECRET, t, 60);
        assert_eq!(verify(RFC_SECRET, &code, t, 60, 0), Some(t / 60));
        assert_eq!(verify(RFC_SECRET, &code, t, 0, 1), None);
        assert_eq!(code_at(RFC_SECRET, 59, 0).len(), 6);
    }

    #[test]
    fn malformed_codes_refused() {
        let t = 59;
        for bad in [
            "",
            "28708",
            "2870820",
            " 287082",
            "287082 ",
            "287 082",
            "+28708",
            "28708a",
            "２８７０８２",
            "-87082",
        ] {
            assert_eq!(verify(RFC_SECRET, bad, t, 30, 1), None, "{bad:?}");
        }
        assert_eq!(verify(RFC_SECRET, "287083", t, 30, 1), None);
    }

    #[test]
    fn wrong_or_short_secret_refused() {
        let other = b"01234567890123456789";
        assert_eq!(verify(other, "287082", 59, 30, 1), None);
        let short = &RFC_SECRET[..15];
        let code = code_at(short, 59, 30);
        assert_eq!(verify(short, &code, 59, 30, 1), None);
        assert_eq!(verify(&[], &code_at(&[], 59, 30), 59, 30, 1), None);
    }

    #[test]
    fn new_secrets_are_20_random_bytes() {
        let a = new_secret();
        let b = new_secret();
        assert_eq!(a.len(), 20);
        assert_eq!(b.len(), 20);
        assert_ne!(a, b);
        let t = 1_700_000_000;
        assert_eq!(verify(&a, &code_at(&a, t, 30), t, 30, 1), Some(t / 30));
    }

    #[test]
    fn base32_for_manual_entry() {
        assert_eq!(
            secret_base32(RFC_SECRET),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        // No padding.
        assert_eq!(secret_base32(b"12345"), "GEZDGNBV");
        assert_eq!(secret_base32(b"1"), "GE");
    }

    #[test]
    fn provisioning_uri_format() {
        let uri = provisioning_uri(RFC_SECRET, "Verity", "ann@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/Verity:ann"), "{uri}");
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert!(uri.contains("issuer=Verity"), "{uri}");
        // Defaults the apps assume are left out rather than contradicted.
        assert!(!uri.contains("algorithm=") || uri.contains("algorithm=SHA1"));
        assert!(!uri.contains("digits=") || uri.contains("digits=6"));
        assert!(!uri.contains("period=") || uri.contains("period=30"));

        // Spaces and other characters are percent-encoded.
        let uri = provisioning_uri(RFC_SECRET, "Tax Portal", "ann smith").unwrap();
        assert!(!uri.contains(' '), "{uri}");
        assert!(uri.contains("Tax%20Portal"), "{uri}");

        let refused = |secret: &[u8], issuer: &str, account: &str| {
            format!(
                "{:#}",
                provisioning_uri(secret, issuer, account).unwrap_err()
            )
        };
        assert_eq!(
            refused(RFC_SECRET, "Veri:ty", "ann"),
            "Issuer cannot contain ':', found in \"Veri:ty\""
        );
        assert_eq!(
            refused(RFC_SECRET, "Verity", "a:b"),
            "Account name cannot contain ':', found in \"a:b\""
        );
        assert_eq!(
            refused(&RFC_SECRET[..10], "Verity", "ann"),
            "The length of the shared secret MUST be at least 128 bits, got 80 bits"
        );
    }

    #[test]
    fn qr_code_is_a_base64_svg() {
        let b64 = qr_svg_base64(RFC_SECRET, "Verity", "ann@example.com").unwrap();
        assert!(!b64.starts_with("data:"));
        let svg = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(&b64)
                .unwrap(),
        )
        .unwrap();
        assert!(
            svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(svg.contains("<path"), "modules drawn: {svg}");
        assert_eq!(
            format!(
                "{:#}",
                qr_svg_base64(RFC_SECRET, "Veri:ty", "ann").unwrap_err()
            ),
            "Issuer cannot contain ':', found in \"Veri:ty\""
        );
    }
}
