//! Phone numbers as people type them: parse, validate and normalise to E.164 with the
//! `phonenumber` crate (Google's libphonenumber metadata), and mask them for display.

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, Type};

/// Why a typed phone number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneError {
    /// Not a number that exists in the numbering plan (too short, too long, unknown area
    /// code, letters, an extension, ...).
    Invalid,
    /// A premium-rate line: sending codes there would cost money or feed a fraud scheme.
    PremiumRate,
    /// A shared-cost line (the caller pays part of the call).
    SharedCost,
    /// A real number of a kind that can't receive a text or a call from us: pager,
    /// universal access (company) number, voicemail access, emergency, short code.
    NotAPhone,
}

impl PhoneError {
    /// The locale key of the sentence shown to the person who typed the number
    /// (`locales/*/phone.ftl`).
    pub fn key(&self) -> &'static str {
        match self {
            PhoneError::Invalid => "phone-error-invalid",
            PhoneError::PremiumRate => "phone-error-premium-rate",
            PhoneError::SharedCost => "phone-error-shared-cost",
            PhoneError::NotAPhone => "phone-error-not-a-phone",
        }
    }

    /// The sentence in English (the management API and logs; pages use [`PhoneError::key`]).
    pub fn message(&self) -> String {
        crate::i18n::Lang::En.t(self.key())
    }
}

impl std::fmt::Display for PhoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for PhoneError {}

/// Longest input we hand to the parser. E.164 allows 15 digits; the rest is room for
/// spaces, dashes, parentheses and an international prefix.
const MAX_INPUT_LEN: usize = 40;

/// Parses what a person typed (spaces, dashes, dots, parentheses, a leading `+` or an
/// international dialling prefix, or a national number in `default_region`, e.g. "US"), and
/// returns it in E.164 ("+15551234567").
///
/// Refuses invalid numbers, numbers with an extension, premium-rate and shared-cost numbers,
/// and kinds of number that can't receive a text or a call (pager, UAN, voicemail access,
/// emergency, short codes) as [`PhoneError::NotAPhone`]. An unknown `default_region` is
/// ignored: only numbers typed with `+` and a country code can then be parsed.
pub fn normalize(raw: &str, default_region: &str) -> Result<String, PhoneError> {
    let raw = raw.trim();
    // Only what a person types into a phone field reaches the parser: digits and the usual
    // separators. Letters (vanity numbers, "ext.", "tel:") and long inputs stop here.
    if raw.is_empty()
        || raw.len() > MAX_INPUT_LEN
        || !raw
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+' | '/'))
        || raw.chars().filter(|c| *c == '+').count() > 1
        || (raw.contains('+') && !raw.starts_with('+'))
    {
        return Err(PhoneError::Invalid);
    }
    let plus = raw.starts_with('+');
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let region = default_region
        .trim()
        .to_ascii_uppercase()
        .parse::<phonenumber::country::Id>()
        .ok();
    let number = parse(&digits, plus, region).ok_or(PhoneError::Invalid)?;
    if number.extension().is_some() || !number.is_valid() {
        return Err(PhoneError::Invalid);
    }
    match number.number_type(&DATABASE) {
        Type::PremiumRate => Err(PhoneError::PremiumRate),
        Type::SharedCost => Err(PhoneError::SharedCost),
        Type::Pager
        | Type::Uan
        | Type::Voicemail
        | Type::Emergency
        | Type::ShortCode
        | Type::Carrier
        | Type::NoInternational => Err(PhoneError::NotAPhone),
        Type::Unknown => Err(PhoneError::Invalid),
        Type::FixedLine
        | Type::Mobile
        | Type::FixedLineOrMobile
        | Type::TollFree
        | Type::PersonalNumber
        | Type::Voip
        | Type::StandardRate => Ok(e164(&number)),
    }
}

/// Parses the digits of a typed number. `phonenumber` applies the *default region's*
/// national-prefix rules even to a number with another country code (with region US,
/// "+49 1801 2345" loses its leading 1 and becomes "+49 8012345"). So a region is passed
/// only for a national number; an international one (a `+`, or the region's international
/// dialling prefix such as 011 from the US or 00 from most of the world) is parsed as
/// "+<country code>..." with no region.
fn parse(
    digits: &str,
    plus: bool,
    region: Option<phonenumber::country::Id>,
) -> Option<PhoneNumber> {
    if plus {
        return phonenumber::parse(None, format!("+{digits}")).ok();
    }
    let region = region?;
    // A region without metadata would make the parser panic (it unwraps the lookup).
    let meta = DATABASE.by_id(region.as_ref())?;
    let idd_end = meta
        .international_prefix()
        .and_then(|idd| idd.find(digits))
        .filter(|m| m.start() == 0 && m.end() > 0)
        .map(|m| m.end());
    match idd_end {
        // As libphonenumber does: a 0 right after the prefix means it wasn't one.
        Some(end) if !digits[end..].starts_with('0') => {
            phonenumber::parse(None, format!("+{}", &digits[end..])).ok()
        }
        _ => phonenumber::parse(Some(region), digits).ok(),
    }
}

fn e164(number: &PhoneNumber) -> String {
    number.format().mode(Mode::E164).to_string()
}

/// A number in full, as people read it: international format with the country code,
/// "+1 201-555-0123", "+44 7400 123456". Only for the person who just typed it (so a typo can
/// be spotted); every other number on a page is [`mask`]ed. Input that doesn't parse is
/// returned as it is.
pub fn display(e164: &str) -> String {
    match phonenumber::parse(None, e164) {
        Ok(n) => n.format().mode(Mode::International).to_string(),
        Err(_) => e164.to_string(),
    }
}

/// Masks an E.164 number for display: the country code and the last 4 digits stay visible,
/// the rest become bullets in groups: "+1 ••• ••• 1234", "+44 •••• ••• 3456".
///
/// Meant for numbers that came out of [`normalize`]. Anything else is still masked (never
/// shown whole): all but its last 4 digits become bullets.
pub fn mask(e164: &str) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    let parsed = if e164.starts_with('+') {
        phonenumber::parse(None, e164).ok()
    } else {
        None
    };
    let split = parsed.and_then(|n| {
        let code = n.code().value().to_string();
        // The national significant number is everything after the country code.
        let national: String = digits.iter().collect();
        national
            .strip_prefix(code.as_str())
            .filter(|rest| rest.len() > 4)
            .map(|rest| (code.clone(), rest.chars().count()))
    });
    match split {
        Some((code, national_len)) => {
            let hidden = national_len - 4;
            let last4: String = digits[digits.len() - 4..].iter().collect();
            let groups = if code == "1" && hidden == 6 {
                vec![3, 3]
            } else {
                bullet_groups(hidden)
            };
            let mut out = format!("+{code}");
            for g in groups {
                out.push(' ');
                out.push_str(&"•".repeat(g));
            }
            out.push(' ');
            out.push_str(&last4);
            out
        }
        None => {
            // Not a number we can parse: hide every digit but the last 4 (or all of them
            // when there are 4 or fewer).
            let keep = if digits.len() > 4 { 4 } else { 0 };
            let hidden = digits.len() - keep;
            let last: String = digits[hidden..].iter().collect();
            format!("{}{}", "•".repeat(hidden.max(1)), last)
        }
    }
}

/// Splits `n` hidden digits into display groups of 3 from the right, with a leading group of
/// 4 rather than a lone bullet: 6 → [3, 3], 7 → [4, 3], 8 → [2, 3, 3].
fn bullet_groups(n: usize) -> Vec<usize> {
    if n <= 4 {
        return vec![n];
    }
    let mut groups = vec![3; n / 3];
    match n % 3 {
        0 => {}
        1 => groups[0] = 4,
        r => groups.insert(0, r),
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_number_in_several_typed_forms() {
        for typed in [
            "(201) 555-0123",
            "201-555-0123",
            "201.555.0123",
            "2015550123",
            " 201 555 0123 ",
            "+1 201 555 0123",
            "+1 (201) 555-0123",
            "1-201-555-0123",
            "+12015550123",
        ] {
            assert_eq!(
                normalize(typed, "US").as_deref(),
                Ok("+12015550123"),
                "typed {typed:?}"
            );
        }
    }

    #[test]
    fn region_is_case_insensitive_and_plus_numbers_ignore_it() {
        assert_eq!(normalize("2015550123", "us").as_deref(), Ok("+12015550123"));
        assert_eq!(
            normalize("+1 201 555 0123", "GB").as_deref(),
            Ok("+12015550123")
        );
        // An unknown region: only international numbers parse.
        assert_eq!(
            normalize("+1 201 555 0123", "ZZ").as_deref(),
            Ok("+12015550123")
        );
        assert_eq!(normalize("2015550123", "ZZ"), Err(PhoneError::Invalid));
    }

    #[test]
    fn uk_numbers() {
        assert_eq!(
            normalize("+44 7400 123456", "US").as_deref(),
            Ok("+447400123456")
        );
        assert_eq!(
            normalize("+44 (0)7400 123456", "US").as_deref(),
            Ok("+447400123456")
        );
        assert_eq!(
            normalize("07400 123456", "GB").as_deref(),
            Ok("+447400123456")
        );
        // International prefix from the US.
        assert_eq!(
            normalize("011 44 7400 123456", "US").as_deref(),
            Ok("+447400123456")
        );
        // A UK national number isn't a US number.
        assert_eq!(normalize("07400 123456", "US"), Err(PhoneError::Invalid));
    }

    #[test]
    fn foreign_numbers_keep_their_digits_whatever_the_region() {
        // phonenumber would strip the US national prefix "1" from these when parsed with
        // region US; they must come out whole.
        for region in ["US", "GB", "DE", ""] {
            assert_eq!(
                normalize("+44 121 496 0000", region).as_deref(),
                Ok("+441214960000"),
                "region {region:?}"
            );
            assert_eq!(
                normalize("+49 151 23456789", region).as_deref(),
                Ok("+4915123456789"),
                "region {region:?}"
            );
        }
        // International dialling prefixes: 011 from the US, 00 from Europe.
        assert_eq!(
            normalize("011 44 121 496 0000", "US").as_deref(),
            Ok("+441214960000")
        );
        assert_eq!(
            normalize("011 49 151 23456789", "US").as_deref(),
            Ok("+4915123456789")
        );
        assert_eq!(
            normalize("00 44 121 496 0000", "DE").as_deref(),
            Ok("+441214960000")
        );
        assert_eq!(
            normalize("00 1 201 555 0123", "GB").as_deref(),
            Ok("+12015550123")
        );
        // A national number with no region can't be placed.
        assert_eq!(normalize("2015550123", ""), Err(PhoneError::Invalid));
    }

    #[test]
    fn invalid_numbers_refused() {
        for typed in [
            "",
            "   ",
            "12",
            "555-0123",
            "555 1234",
            "123456",
            "+1 201 555 012",
            "+1 201 555 01234",
            "201 555 0123 ext 45",
            "201-555-0123 x45",
            "1-800-FLOWERS",
            "tel:+12015550123",
            "+1 201 555+0123",
            "++12015550123",
            "+999 1234567",
            "0",
            "+",
            "abc",
            "2015550123456789012345678901234567890123456789",
        ] {
            assert_eq!(
                normalize(typed, "US"),
                Err(PhoneError::Invalid),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn premium_rate_refused() {
        assert_eq!(
            normalize("1-900-234-5678", "US"),
            Err(PhoneError::PremiumRate)
        );
        assert_eq!(
            normalize("+1 900 234 5678", "GB"),
            Err(PhoneError::PremiumRate)
        );
        assert_eq!(
            normalize("09012 345678", "GB"),
            Err(PhoneError::PremiumRate)
        );
    }

    #[test]
    fn uk_0845_refused() {
        // Ofcom reclassified 084x as "service numbers"; libphonenumber's metadata (and so
        // the `phonenumber` crate) lists them under premium rate, not shared cost. Either
        // way they are refused.
        assert_eq!(
            normalize("0845 464 0000", "GB"),
            Err(PhoneError::PremiumRate)
        );
        assert_eq!(
            normalize("+44 845 464 0000", "US"),
            Err(PhoneError::PremiumRate)
        );
    }

    #[test]
    fn shared_cost_refused() {
        // France 0884 and Germany 0180 are shared-cost in the metadata.
        assert_eq!(
            normalize("08 84 01 23 45", "FR"),
            Err(PhoneError::SharedCost)
        );
        assert_eq!(
            normalize("+33 884 01 23 45", "US"),
            Err(PhoneError::SharedCost)
        );
        assert_eq!(
            normalize("+49 1801 2345", "US"),
            Err(PhoneError::SharedCost)
        );
    }

    #[test]
    fn kinds_that_cannot_receive_codes_refused() {
        // UK pager (076 except 07624) and UAN (055); German voicemail access (0177 99…).
        assert_eq!(
            normalize("+44 7640 123456", "US"),
            Err(PhoneError::NotAPhone)
        );
        assert_eq!(
            normalize("+44 55 1234 5678", "US"),
            Err(PhoneError::NotAPhone)
        );
        assert_eq!(
            normalize("+49 177 991234567", "US"),
            Err(PhoneError::NotAPhone)
        );
    }

    #[test]
    fn ordinary_kinds_accepted() {
        // Landline, mobile, toll-free, VoIP.
        assert_eq!(normalize("030 123456", "DE").as_deref(), Ok("+4930123456"));
        assert_eq!(
            normalize("06 12 34 56 78", "FR").as_deref(),
            Ok("+33612345678")
        );
        assert_eq!(
            normalize("(800) 234-5678", "US").as_deref(),
            Ok("+18002345678")
        );
        assert_eq!(
            normalize("+44 56 1234 5678", "US").as_deref(),
            Ok("+445612345678")
        );
    }

    #[test]
    fn messages_are_distinct_sentences_in_both_languages() {
        let all = [
            PhoneError::Invalid,
            PhoneError::PremiumRate,
            PhoneError::SharedCost,
            PhoneError::NotAPhone,
        ];
        for lang in crate::i18n::Lang::ALL {
            for (i, a) in all.iter().enumerate() {
                let text = lang.t(a.key());
                assert_ne!(
                    text,
                    a.key(),
                    "{} has no message in {}",
                    a.key(),
                    lang.tag()
                );
                assert!(text.ends_with('.'), "{text}");
                for b in &all[i + 1..] {
                    assert_ne!(text, lang.t(b.key()));
                }
            }
        }
        assert_eq!(
            PhoneError::Invalid.to_string(),
            PhoneError::Invalid.message()
        );
        assert!(PhoneError::Invalid.message().contains("area code"));
        assert!(PhoneError::PremiumRate.message().contains("premium-rate"));
        assert!(PhoneError::SharedCost.message().contains("shared-cost"));
    }

    #[test]
    fn display_shows_the_whole_number_readably() {
        assert_eq!(display("+12015550123"), "+1 201-555-0123");
        assert_eq!(display("+447400123456"), "+44 7400 123456");
        assert_eq!(display("not a number"), "not a number");
    }

    #[test]
    fn mask_keeps_country_code_and_last_four() {
        assert_eq!(mask("+12015550123"), "+1 ••• ••• 0123");
        assert_eq!(mask("+447400123456"), "+44 ••• ••• 3456");
        assert_eq!(mask("+4930123456"), "+49 •••• 3456");
        assert_eq!(mask("+33612345678"), "+33 •• ••• 5678");
        assert_eq!(mask("+8613812345678"), "+86 •••• ••• 5678");
        for n in [
            "+12015550123",
            "+447400123456",
            "+4930123456",
            "+33612345678",
        ] {
            let m = mask(n);
            assert!(m.ends_with(&n[n.len() - 4..]), "{m}");
            // Nothing of the middle leaks.
            let shown: String = m.chars().filter(char::is_ascii_digit).collect();
            let code_len = m[1..].find(' ').unwrap_or(0);
            assert_eq!(shown.len(), code_len + 4, "{m}");
        }
    }

    #[test]
    fn mask_of_round_trip() {
        let e = normalize("(201) 555-0123", "US").unwrap();
        assert_eq!(mask(&e), "+1 ••• ••• 0123");
    }

    #[test]
    fn mask_never_shows_unparseable_input_whole() {
        assert_eq!(mask("5550123456"), "••••••3456");
        assert_eq!(mask("+999123456789"), "••••••••6789");
        assert_eq!(mask("123"), "•••");
        assert_eq!(mask(""), "•");
    }

    #[test]
    fn bullet_grouping() {
        assert_eq!(bullet_groups(3), vec![3]);
        assert_eq!(bullet_groups(4), vec![4]);
        assert_eq!(bullet_groups(5), vec![2, 3]);
        assert_eq!(bullet_groups(6), vec![3, 3]);
        assert_eq!(bullet_groups(7), vec![4, 3]);
        assert_eq!(bullet_groups(8), vec![2, 3, 3]);
        assert_eq!(bullet_groups(11), vec![2, 3, 3, 3]);
    }
}
