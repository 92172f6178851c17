//! The machine-readable zone of a passport's photo page: ICAO Doc 9303 part 4, format TD3
//! (two lines of 44 characters from the OCR-B set `A`–`Z`, `0`–`9` and the filler `<`).
//!
//! Line 1: `P`, a type letter or `<`, the issuing state, then `SURNAME<<GIVEN<NAMES`.
//! Line 2: document number and its check digit, nationality, birth date (YYMMDD) and check,
//! sex, expiry (YYMMDD) and check, personal number and check, and a composite check over the
//! number, dates and personal number. Every check digit is verified.

use chrono::NaiveDate;
use thiserror::Error;

use super::document::{DocumentFields, DocumentType};

/// A parsed TD3 machine-readable zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Td3 {
    pub fields: DocumentFields,
    /// The holder's nationality as the ICAO code, fillers dropped ("USA"; Germany's "D<<"
    /// is "D").
    pub nationality: String,
    /// `M`, `F` or `X`; `None` where the zone has the filler.
    pub sex: Option<char>,
}

/// Which check digit failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckDigit {
    DocumentNumber,
    BirthDate,
    Expiry,
    PersonalNumber,
    Composite,
}

impl std::fmt::Display for CheckDigit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CheckDigit::DocumentNumber => "document number",
            CheckDigit::BirthDate => "date of birth",
            CheckDigit::Expiry => "expiry date",
            CheckDigit::PersonalNumber => "personal number",
            CheckDigit::Composite => "composite",
        })
    }
}

/// Why a zone was refused. No variant carries the zone's text, so errors can be logged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MrzError {
    #[error("a passport MRZ is two lines of 44 characters")]
    WrongShape,
    #[error("the MRZ has a character outside A-Z, 0-9 and '<'")]
    BadCharacter,
    #[error("the MRZ is not a passport's (its first letter is not P)")]
    NotPassport,
    #[error("the {0} check digit does not match")]
    CheckDigit(CheckDigit),
    #[error("the MRZ's {0} is not a valid date")]
    InvalidDate(&'static str),
    #[error("the MRZ has no {0}")]
    MissingField(&'static str),
}

pub const LINE_LEN: usize = 44;

/// Parses exactly two TD3 lines (surrounding whitespace and a CRLF tolerated, nothing else).
/// `today` settles the birth year's century: the latest year that is not in the future.
pub fn parse_td3(text: &str, today: NaiveDate) -> Result<Td3, MrzError> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.as_slice() {
        [line1, line2] => parse_lines(line1.as_bytes(), line2.as_bytes(), today),
        _ => Err(MrzError::WrongShape),
    }
}

/// Finds a TD3 zone in arbitrary OCR text: lines may carry spaces, lower case, `«` for `<<`
/// and junk before or after. Uses the first two consecutive candidate lines that parse with
/// every check digit right, so a misread is never taken for a zone.
pub fn find_td3(text: &str, today: NaiveDate) -> Option<Td3> {
    let lines: Vec<Vec<u8>> = text
        .lines()
        .map(normalize_ocr_line)
        .filter(|l| l.len() >= LINE_LEN)
        // A photo of a page is a few thousand characters at most; a longer line is junk.
        .filter(|l| l.len() <= 4 * LINE_LEN)
        .collect();
    for pair in lines.windows(2) {
        let [first, second] = pair else { continue };
        for line1 in windows_starting_with_p(first) {
            for line2 in second.windows(LINE_LEN) {
                let line2 = fix_numeric_fields(line2);
                if let Ok(td3) = parse_lines(line1, &line2, today) {
                    return Some(td3);
                }
            }
        }
    }
    // OCR sometimes runs both lines together.
    for line in &lines {
        for start in 0..line.len().saturating_sub(2 * LINE_LEN - 1) {
            let (Some(line1), Some(line2)) = (
                line.get(start..start + LINE_LEN),
                line.get(start + LINE_LEN..start + 2 * LINE_LEN),
            ) else {
                continue;
            };
            if line1.first() != Some(&b'P') {
                continue;
            }
            if let Ok(td3) = parse_lines(line1, &fix_numeric_fields(line2), today) {
                return Some(td3);
            }
        }
    }
    None
}

fn normalize_ocr_line(line: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '«' => out.extend_from_slice(b"<<"),
            c if c.is_whitespace() => {}
            c if c.is_ascii_alphanumeric() || c == '<' => out.push(c.to_ascii_uppercase() as u8),
            // Anything else is junk OCR saw; keep the line's length so columns stay aligned.
            _ => out.push(b'?'),
        }
    }
    out
}

fn windows_starting_with_p(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.windows(LINE_LEN).filter(|w| w.first() == Some(&b'P'))
}

/// OCR reads `0` as `O` and `1` as `I` often; in the fields that can only hold digits
/// (dates, check digits, sex excluded) the letter is certainly wrong.
fn fix_numeric_fields(line2: &[u8]) -> Vec<u8> {
    let mut fixed = line2.to_vec();
    for i in [
        9usize, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 24, 25, 26, 27, 43,
    ] {
        if let Some(c) = fixed.get_mut(i) {
            *c = match *c {
                b'O' | b'Q' | b'D' => b'0',
                b'I' | b'L' => b'1',
                b'Z' => b'2',
                b'S' => b'5',
                b'B' => b'8',
                other => other,
            };
        }
    }
    fixed
}

fn parse_lines(line1: &[u8], line2: &[u8], today: NaiveDate) -> Result<Td3, MrzError> {
    if line1.len() != LINE_LEN || line2.len() != LINE_LEN {
        return Err(MrzError::WrongShape);
    }
    let valid = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'<';
    if !line1.iter().chain(line2).all(valid) {
        return Err(MrzError::BadCharacter);
    }
    if line1.first() != Some(&b'P') {
        return Err(MrzError::NotPassport);
    }
    // Every slice below is inside 44 ASCII bytes checked above.
    let field = |line: &[u8], range: std::ops::Range<usize>| -> String {
        String::from_utf8_lossy(line.get(range).unwrap_or_default()).into_owned()
    };
    let at = |line: &[u8], i: usize| line.get(i).copied().unwrap_or(b'<');

    let check = |data: &[u8], digit: u8, which: CheckDigit| -> Result<(), MrzError> {
        if check_digit(data) == Some(digit) {
            Ok(())
        } else {
            Err(MrzError::CheckDigit(which))
        }
    };
    check(
        line2.get(0..9).unwrap_or_default(),
        at(line2, 9),
        CheckDigit::DocumentNumber,
    )?;
    check(
        line2.get(13..19).unwrap_or_default(),
        at(line2, 19),
        CheckDigit::BirthDate,
    )?;
    check(
        line2.get(21..27).unwrap_or_default(),
        at(line2, 27),
        CheckDigit::Expiry,
    )?;
    let personal = line2.get(28..42).unwrap_or_default();
    // An empty personal number may have '<' as its check digit instead of 0 (9303-4 §4.2.2).
    if !(personal.iter().all(|b| *b == b'<') && at(line2, 42) == b'<') {
        check(personal, at(line2, 42), CheckDigit::PersonalNumber)?;
    }
    let composite: Vec<u8> = [
        line2.get(0..10).unwrap_or_default(),
        line2.get(13..20).unwrap_or_default(),
        line2.get(21..43).unwrap_or_default(),
    ]
    .concat();
    check(&composite, at(line2, 43), CheckDigit::Composite)?;

    let document_number = field(line2, 0..9).trim_end_matches('<').replace('<', "");
    if document_number.is_empty() {
        return Err(MrzError::MissingField("document number"));
    }
    let issuer = field(line1, 2..5).trim_end_matches('<').to_string();
    if issuer.is_empty() {
        return Err(MrzError::MissingField("issuing state"));
    }
    let nationality = field(line2, 10..13).trim_end_matches('<').to_string();

    let yymmdd = |range: std::ops::Range<usize>| -> Option<(i32, u32, u32)> {
        let s = field(line2, range);
        let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
        Some((i32::try_from(num(0..2)?).ok()?, num(2..4)?, num(4..6)?))
    };
    let (by, bm, bd) = yymmdd(13..19).ok_or(MrzError::InvalidDate("date of birth"))?;
    let birthdate = NaiveDate::from_ymd_opt(2000 + by, bm, bd)
        .filter(|d| *d <= today)
        .or_else(|| NaiveDate::from_ymd_opt(1900 + by, bm, bd))
        .filter(|d| *d <= today)
        .ok_or(MrzError::InvalidDate("date of birth"))?;
    let (ey, em, ed) = yymmdd(21..27).ok_or(MrzError::InvalidDate("expiry date"))?;
    let expiry =
        NaiveDate::from_ymd_opt(2000 + ey, em, ed).ok_or(MrzError::InvalidDate("expiry date"))?;

    let sex = match at(line2, 20) {
        c @ (b'M' | b'F' | b'X') => Some(c as char),
        _ => None,
    };

    let names = field(line1, 5..44);
    let (surname, given) = match names.split_once("<<") {
        Some((surname, given)) => (surname, given),
        None => (names.as_str(), ""),
    };
    let family_name = surname.trim_end_matches('<').replace('<', " ");
    if family_name.trim().is_empty() {
        return Err(MrzError::MissingField("surname"));
    }
    // Given names are split by one '<'; a truncated zone may leave stray fillers between.
    let given_names: Vec<&str> = given.split('<').filter(|n| !n.is_empty()).collect();
    let given_name = given_names
        .first()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let middle_name = given_names
        .get(1..)
        .filter(|rest| !rest.is_empty())
        .map(|rest| rest.join(" "));

    Ok(Td3 {
        fields: DocumentFields {
            document_type: DocumentType::Passport,
            given_name,
            middle_name,
            family_name: family_name.trim().to_string(),
            birthdate,
            document_number,
            expiry,
            issued: None,
            issuer,
            address: None,
        },
        nationality,
        sex,
    })
}

/// ICAO 9303-3 §4.9: weights 7, 3, 1 repeating; `<` counts 0, `A`–`Z` count 10–35.
/// Returns the ASCII digit, `None` on a character outside the set.
pub fn check_digit(data: &[u8]) -> Option<u8> {
    let mut sum: u32 = 0;
    for (i, c) in data.iter().enumerate() {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            b'<' => 0,
            _ => return None,
        };
        sum += value * [7, 3, 1][i % 3];
    }
    Some(b'0' + (sum % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECIMEN_1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
    const SPECIMEN_2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A US passport zone built field by field, with its check digits computed here, so the
    /// test also shows how the zone is laid out.
    fn us_sample(birth: &str, expiry: &str, personal: &str) -> (String, String) {
        let line1 = format!("{:<<44}", "P<USAHAPPY<<JOHN<QUINCY<ADAMS");
        let number = "C03005988";
        let personal = format!("{personal:<<14}");
        let d = |s: &str| check_digit(s.as_bytes()).unwrap() as char;
        let personal_check = if personal.bytes().all(|b| b == b'<') {
            '<'
        } else {
            d(&personal)
        };
        let mut line2 = format!(
            "{number}{}USA{birth}{}M{expiry}{}{personal}{personal_check}",
            d(number),
            d(birth),
            d(expiry)
        );
        let composite = format!("{}{}{}", &line2[0..10], &line2[13..20], &line2[21..43]);
        line2.push(d(&composite));
        assert_eq!((line1.len(), line2.len()), (44, 44));
        (line1, line2)
    }

    #[test]
    fn the_icao_specimen_parses_with_every_field() {
        let td3 = parse_td3(&format!("{SPECIMEN_1}\n{SPECIMEN_2}"), today()).unwrap();
        assert_eq!(
            td3.fields,
            DocumentFields {
                document_type: DocumentType::Passport,
                given_name: "ANNA".into(),
                middle_name: Some("MARIA".into()),
                family_name: "ERIKSSON".into(),
                birthdate: date(1974, 8, 12),
                document_number: "L898902C3".into(),
                expiry: date(2012, 4, 15),
                issued: None,
                issuer: "UTO".into(),
                address: None,
            }
        );
        assert_eq!(td3.nationality, "UTO");
        assert_eq!(td3.sex, Some('F'));
    }

    #[test]
    fn a_us_passport_with_an_empty_personal_number_parses() {
        let (l1, l2) = us_sample("050228", "340301", "");
        let td3 = parse_td3(&format!("{l1}\r\n{l2}\r\n"), today()).unwrap();
        assert_eq!(td3.fields.family_name, "HAPPY");
        assert_eq!(td3.fields.given_name, "JOHN");
        assert_eq!(td3.fields.middle_name.as_deref(), Some("QUINCY ADAMS"));
        assert_eq!(td3.fields.document_number, "C03005988");
        assert_eq!(td3.fields.issuer, "USA");
        assert_eq!(td3.fields.birthdate, date(2005, 2, 28));
        assert_eq!(td3.fields.expiry, date(2034, 3, 1));
        assert_eq!(td3.sex, Some('M'));
    }

    #[test]
    fn the_birth_century_is_the_latest_not_in_the_future() {
        // Born 1 May 26 is today (2026) at the earliest; 2 May 26 would be tomorrow: 1926.
        let (l1, l2) = us_sample("260501", "340301", "");
        let td3 = parse_td3(&format!("{l1}\n{l2}"), today()).unwrap();
        assert_eq!(td3.fields.birthdate, date(2026, 5, 1));
        let (l1, l2) = us_sample("260502", "340301", "");
        let td3 = parse_td3(&format!("{l1}\n{l2}"), today()).unwrap();
        assert_eq!(td3.fields.birthdate, date(1926, 5, 2));
    }

    #[test]
    fn each_broken_check_digit_is_named() {
        let (l1, l2) = us_sample("850228", "340301", "123456789");
        assert!(parse_td3(&format!("{l1}\n{l2}"), today()).is_ok());
        for (at, which) in [
            (9, CheckDigit::DocumentNumber),
            (19, CheckDigit::BirthDate),
            (27, CheckDigit::Expiry),
            (42, CheckDigit::PersonalNumber),
            (43, CheckDigit::Composite),
        ] {
            let mut broken = l2.clone().into_bytes();
            broken[at] = if broken[at] == b'0' { b'1' } else { b'0' };
            let broken = String::from_utf8(broken).unwrap();
            assert_eq!(
                parse_td3(&format!("{l1}\n{broken}"), today()),
                Err(MrzError::CheckDigit(which)),
                "{which}"
            );
        }
        // The specimen's too.
        for (at, which) in [
            (9, CheckDigit::DocumentNumber),
            (19, CheckDigit::BirthDate),
            (27, CheckDigit::Expiry),
            (42, CheckDigit::PersonalNumber),
            (43, CheckDigit::Composite),
        ] {
            let mut broken = SPECIMEN_2.as_bytes().to_vec();
            broken[at] = b'5';
            let broken = String::from_utf8(broken).unwrap();
            assert_eq!(
                parse_td3(&format!("{SPECIMEN_1}\n{broken}"), today()),
                Err(MrzError::CheckDigit(which)),
                "specimen {which}"
            );
        }
    }

    #[test]
    fn a_changed_data_character_fails_its_check_digit() {
        // The document number read with one character wrong, check digit intact.
        let broken = SPECIMEN_2.replacen("L898902C3", "L898902C8", 1);
        assert_eq!(
            parse_td3(&format!("{SPECIMEN_1}\n{broken}"), today()),
            Err(MrzError::CheckDigit(CheckDigit::DocumentNumber))
        );
    }

    #[test]
    fn malformed_zones_are_refused_by_kind() {
        assert_eq!(parse_td3("", today()), Err(MrzError::WrongShape));
        assert_eq!(parse_td3(SPECIMEN_1, today()), Err(MrzError::WrongShape));
        assert_eq!(
            parse_td3(&format!("{SPECIMEN_1}\n{}", &SPECIMEN_2[..43]), today()),
            Err(MrzError::WrongShape)
        );
        assert_eq!(
            parse_td3(
                &format!("{}\n{SPECIMEN_2}", SPECIMEN_1.replacen('P', "I", 1)),
                today()
            ),
            Err(MrzError::NotPassport)
        );
        assert_eq!(
            parse_td3(
                &format!("{}\n{SPECIMEN_2}", SPECIMEN_1.to_lowercase()),
                today()
            ),
            Err(MrzError::BadCharacter)
        );
        // A 31st of February with correct check digits.
        let (l1, l2) = us_sample("850231", "340301", "");
        assert_eq!(
            parse_td3(&format!("{l1}\n{l2}"), today()),
            Err(MrzError::InvalidDate("date of birth"))
        );
    }

    #[test]
    fn find_td3_reads_a_zone_out_of_messy_ocr_text() {
        let spaced: String = SPECIMEN_2
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 5 == 4 { vec![c, ' '] } else { vec![c] })
            .collect();
        let ocr = format!(
            "PASSPORT  PASSEPORT\nUtopia\nSurname / Nom\nERIKSSON\n\n  {}  \n{spaced} ~|\ntrailing words\n",
            SPECIMEN_1.to_lowercase().replace("<<<<<<<<", "««««")
        );
        let td3 = find_td3(&ocr, today()).unwrap();
        assert_eq!(td3.fields.family_name, "ERIKSSON");
        assert_eq!(td3.fields.document_number, "L898902C3");
        assert_eq!(td3.fields.birthdate, date(1974, 8, 12));
    }

    #[test]
    fn find_td3_fixes_o_for_zero_in_digit_only_fields_and_junk_before_the_lines() {
        let misread = SPECIMEN_2.replace("1204159", "12O4I59");
        let ocr = format!("xx{SPECIMEN_1}\n..{misread}\n");
        assert_eq!(
            find_td3(&ocr, today()).unwrap().fields.expiry,
            date(2012, 4, 15)
        );
    }

    #[test]
    fn find_td3_reads_both_lines_run_together() {
        let ocr = format!("photo page {SPECIMEN_1}{SPECIMEN_2}");
        assert!(find_td3(&ocr, today()).is_some());
    }

    #[test]
    fn find_td3_finds_nothing_when_a_check_digit_is_wrong() {
        let broken = SPECIMEN_2.replacen("L898902C36", "L898902C37", 1);
        assert_eq!(find_td3(&format!("{SPECIMEN_1}\n{broken}"), today()), None);
        assert_eq!(find_td3("nothing here\n", today()), None);
    }

    #[test]
    fn no_mutation_panics() {
        let mut rng = crate::proofing::aamva::tests::XorShift(0x1234_5678_9abc_def1);
        let text = format!("{SPECIMEN_1}\n{SPECIMEN_2}");
        for _ in 0..5000 {
            let mut bytes = text.clone().into_bytes();
            for _ in 0..(rng.next() % 4 + 1) {
                let at = (rng.next() as usize) % bytes.len();
                bytes[at] = rng.next() as u8;
            }
            let s = String::from_utf8_lossy(&bytes);
            let _ = parse_td3(&s, today());
            let _ = find_td3(&s, today());
        }
    }
}
