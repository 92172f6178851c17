//! The AAMVA DL/ID card design standard: the text in the PDF417 barcode on the back of a US
//! driver's licence or state ID (and of Canadian ones, which follow the same standard).
//!
//! The layout: a header (`@`, data element separator LF, record separator RS, segment
//! terminator CR, the file type `ANSI `, the issuer's IIN, the standard's version, the
//! jurisdiction's version, the number of subfiles, then one designator per subfile: type,
//! offset, length), then the subfiles. A `DL` or `ID` subfile is a list of elements, each a
//! three-letter element ID and its value, separated by LF and ended by CR.
//!
//! Real cards bend every one of those rules (missing or doubled separators, CR and LF
//! swapped, wrong subfile offsets, `AAMVA` as the file type, padded values), so the parser
//! trusts the header only where it checks out and otherwise searches for the subfile, and
//! splits elements on any of the separators. It never panics, whatever the input.

use chrono::{Datelike, NaiveDate};
use thiserror::Error;

use super::document::{Address, DocumentFields, DocumentType};

/// A parsed AAMVA barcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aamva {
    pub fields: DocumentFields,
    /// The standard's version the card claims (1 = AAMVA 2000 … 10 = AAMVA 2020).
    pub aamva_version: u8,
    /// The jurisdiction's own version (0 where the header has none, as in version 1).
    pub jurisdiction_version: u8,
    /// The issuer identification number (six digits, e.g. "636000" for Virginia).
    pub iin: String,
}

/// Why a barcode's text was refused. Errors name element IDs and what they hold, never
/// values, so they can be logged without the holder's data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AamvaError {
    #[error("not an AAMVA barcode: no \"ANSI\" or \"AAMVA\" header")]
    NotAamva,
    #[error("the AAMVA header has no valid {0}")]
    BadHeader(&'static str),
    #[error("the barcode has no driver's licence (DL) or ID card (ID) subfile")]
    NoSubfile,
    #[error("the barcode lacks {element} ({name})")]
    MissingField {
        element: &'static str,
        name: &'static str,
    },
    #[error("{element} ({name}) is not a valid date")]
    InvalidDate {
        element: &'static str,
        name: &'static str,
    },
}

const LF: u8 = b'\n';
const RS: u8 = 0x1e;
const CR: u8 = b'\r';

/// Parses the text a PDF417 reader decoded from a licence or ID card's back.
pub fn parse(text: &str) -> Result<Aamva, AamvaError> {
    let bytes = text.as_bytes();
    let header = parse_header(bytes)?;
    let (document_type, body) = locate_subfile(bytes, &header).ok_or(AamvaError::NoSubfile)?;
    let elements = Elements::split(body);
    build(&header, document_type, &elements)
}

struct Designator {
    kind: [u8; 2],
    offset: usize,
    length: usize,
}

struct Header {
    iin: String,
    version: u8,
    jurisdiction_version: u8,
    designators: Vec<Designator>,
    /// Where the designator table ends: subfiles start at or after it.
    end: usize,
    /// Where offsets may count from: the `@`, or where it should have been.
    bases: Vec<usize>,
}

fn parse_header(bytes: &[u8]) -> Result<Header, AamvaError> {
    let ansi = find(bytes, b"ANSI", 0).map(|p| (p, 4));
    let aamva = find(bytes, b"AAMVA", 0).map(|p| (p, 5));
    let (marker, marker_len) = match (ansi, aamva) {
        (Some(a), Some(b)) => {
            if a.0 <= b.0 {
                a
            } else {
                b
            }
        }
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => return Err(AamvaError::NotAamva),
    };

    let mut pos = marker + marker_len;
    while bytes.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let iin = digits(bytes, pos, 6).ok_or(AamvaError::BadHeader("issuer number (IIN)"))?;
    pos += 6;
    let version = digits(bytes, pos, 2)
        .and_then(|v| v.parse::<u8>().ok())
        .ok_or(AamvaError::BadHeader("version number"))?;
    pos += 2;

    // Version 1 has no jurisdiction version; later ones do. Some cards get this wrong, so
    // take whichever layout is followed by a well-formed designator.
    let with_jurisdiction = (
        digits(bytes, pos, 2).and_then(|v| v.parse::<u8>().ok()),
        pos + 4,
    );
    let without_jurisdiction = (Some(0u8), pos + 2);
    let layouts = if version >= 2 {
        [with_jurisdiction, without_jurisdiction]
    } else {
        [without_jurisdiction, with_jurisdiction]
    };
    let (jurisdiction_version, table) = layouts
        .iter()
        .find_map(|(jv, table)| match (jv, designator_at(bytes, *table)) {
            (Some(jv), Some(_)) => Some((*jv, *table)),
            _ => None,
        })
        // No table at all: the subfile will be searched for.
        .unwrap_or((layouts[0].0.unwrap_or(0), layouts[0].1.min(bytes.len())));

    let mut designators = Vec::new();
    let mut end = table;
    while designators.len() < 32 {
        match designator_at(bytes, end) {
            Some(d) => {
                designators.push(d);
                end += 10;
            }
            None => break,
        }
    }

    let mut bases = Vec::new();
    // The `@` is normally four bytes before the file type; look a little further for it
    // in case the separators are doubled.
    if let Some(at) = bytes
        .get(marker.saturating_sub(8)..marker)
        .and_then(|window| window.iter().rposition(|b| *b == b'@'))
    {
        bases.push(marker.saturating_sub(8) + at);
    }
    bases.push(marker.saturating_sub(4));
    bases.push(marker);
    bases.push(0);

    Ok(Header {
        iin,
        version,
        jurisdiction_version,
        designators,
        end,
        bases,
    })
}

fn designator_at(bytes: &[u8], pos: usize) -> Option<Designator> {
    let kind = bytes.get(pos..pos + 2)?;
    if !kind.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    let offset = digits(bytes, pos + 2, 4)?.parse().ok()?;
    let length = digits(bytes, pos + 6, 4)?.parse().ok()?;
    Some(Designator {
        kind: [kind[0], kind[1]],
        offset,
        length,
    })
}

fn document_type_of(kind: &[u8]) -> Option<DocumentType> {
    match kind {
        b"DL" => Some(DocumentType::DriversLicense),
        b"ID" => Some(DocumentType::StateId),
        _ => None,
    }
}

/// The DL or ID subfile's elements (after its two-letter type), up to the next subfile.
fn locate_subfile<'a>(bytes: &'a [u8], header: &Header) -> Option<(DocumentType, &'a [u8])> {
    // Where the header says it is, if the type is really there.
    for (i, d) in header.designators.iter().enumerate() {
        let Some(document_type) = document_type_of(&d.kind) else {
            continue;
        };
        for base in &header.bases {
            let start = base + d.offset;
            if start < header.end || bytes.get(start..start + 2) != Some(&d.kind[..]) {
                continue;
            }
            // Trust the next designator's offset over this one's length: lengths are the
            // field most often wrong, and a short one would cut elements off.
            let end = header
                .designators
                .get(i + 1)
                .map(|next| base + next.offset)
                .filter(|next| {
                    *next > start
                        && bytes.get(*next..*next + 2) == Some(&header_kind(header, i + 1))
                })
                .unwrap_or(bytes.len());
            return Some((document_type, bytes.get(start + 2..end)?));
        }
    }

    // Otherwise search for "DL" or "ID" followed by an element ID, the kinds the table
    // names first.
    let mut kinds: Vec<[u8; 2]> = header
        .designators
        .iter()
        .filter(|d| document_type_of(&d.kind).is_some())
        .map(|d| d.kind)
        .collect();
    kinds.extend([*b"DL", *b"ID"]);
    for kind in kinds {
        let mut from = header.end;
        while let Some(at) = find(bytes, &kind, from) {
            let mut element = at + 2;
            while matches!(bytes.get(element), Some(&LF) | Some(&CR) | Some(&RS)) {
                element += 1;
            }
            let looks_like_element = bytes
                .get(element..element + 3)
                .is_some_and(|id| id[0] == b'D' && id[1..].iter().all(u8::is_ascii_uppercase));
            if looks_like_element {
                let document_type = document_type_of(&kind)?;
                return Some((document_type, bytes.get(at + 2..)?));
            }
            from = at + 1;
        }
    }
    None
}

fn header_kind(header: &Header, i: usize) -> [u8; 2] {
    header
        .designators
        .get(i)
        .map(|d| d.kind)
        .unwrap_or(*b"\0\0")
}

/// A subfile's elements in order. The first occurrence of an ID wins, so a jurisdiction
/// subfile that follows can't override the standard one.
struct Elements(Vec<(String, String)>);

impl Elements {
    fn split(body: &[u8]) -> Elements {
        let mut out = Vec::new();
        for piece in body.split(|b| matches!(*b, LF | CR | RS)) {
            let piece = trim_padding(piece);
            let Some(id) = piece.get(..3) else {
                continue;
            };
            if !id
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                continue;
            }
            let value = trim_padding(piece.get(3..).unwrap_or_default());
            out.push((
                String::from_utf8_lossy(id).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            ));
        }
        Elements(out)
    }

    /// An element's value, `None` when absent or blank.
    fn get(&self, id: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

fn trim_padding(bytes: &[u8]) -> &[u8] {
    let pad = |b: &u8| matches!(*b, b' ' | 0 | b'\t');
    let start = bytes.iter().position(|b| !pad(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !pad(b)).map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or_default()
}

#[derive(Clone, Copy)]
enum DateOrder {
    /// MMDDCCYY.
    Us,
    /// CCYYMMDD.
    Canada,
    /// Version 1 cards and cards without a country: whichever reads as a real date.
    Either,
}

fn build(
    header: &Header,
    document_type: DocumentType,
    elements: &Elements,
) -> Result<Aamva, AamvaError> {
    let missing =
        |element: &'static str, name: &'static str| AamvaError::MissingField { element, name };

    let country_code = elements.get("DCG").map(|c| c.to_ascii_uppercase());
    let date_order = match (header.version, country_code.as_deref()) {
        (0 | 1, _) => DateOrder::Either,
        (_, Some("CAN")) => DateOrder::Canada,
        (_, Some("USA")) => DateOrder::Us,
        _ => DateOrder::Either,
    };
    let date = |element: &'static str, name: &'static str| -> Result<NaiveDate, AamvaError> {
        let value = elements.get(element).ok_or(missing(element, name))?;
        parse_date(value, date_order).ok_or(AamvaError::InvalidDate { element, name })
    };

    let (family_name, given_name, middle_name) = names(elements)?;
    let document_number = elements
        .get("DAQ")
        .map(clean_name)
        .filter(|n| !n.is_empty())
        .ok_or(missing("DAQ", "document number"))?;
    let birthdate = date("DBB", "date of birth")?;
    let expiry = date("DBA", "expiry date")?;
    // An unreadable issue date costs nothing the flow checks, so it is dropped, not refused.
    let issued = elements.get("DBD").and_then(|v| parse_date(v, date_order));
    let issuer = elements
        .get("DAJ")
        .map(|v| v.trim().to_ascii_uppercase())
        .ok_or(missing("DAJ", "jurisdiction code"))?;

    let postal_code = elements.get("DAK").map(normalize_postal_code);
    let country = match country_code.as_deref() {
        Some("USA") => "US".to_string(),
        Some("CAN") => "CA".to_string(),
        Some(_) => String::new(),
        None => match &postal_code {
            Some(p) if p.starts_with(|c: char| c.is_ascii_digit()) => "US".to_string(),
            Some(p) if p.starts_with(|c: char| c.is_ascii_alphabetic()) => "CA".to_string(),
            _ => String::new(),
        },
    };
    let address = match (elements.get("DAG"), elements.get("DAI")) {
        (Some(street), Some(city)) => {
            let mut street_address = street.to_string();
            if let Some(line2) = elements.get("DAH") {
                street_address.push('\n');
                street_address.push_str(line2);
            }
            Some(Address {
                street_address,
                locality: city.to_string(),
                region: issuer.clone(),
                postal_code: postal_code.unwrap_or_default(),
                country,
            })
        }
        _ => None,
    };

    Ok(Aamva {
        fields: DocumentFields {
            document_type,
            given_name,
            middle_name,
            family_name,
            birthdate,
            document_number,
            expiry,
            issued,
            issuer,
            address,
        },
        aamva_version: header.version,
        jurisdiction_version: header.jurisdiction_version,
        iin: header.iin.clone(),
    })
}

/// (family, given, middle) from whichever name elements the card's version uses:
/// DCS/DAC/DAD (version 4 on), DCS/DCT (versions 2 and 3), DAB/DAC/DAD or DAA (version 1).
fn names(elements: &Elements) -> Result<(String, String, Option<String>), AamvaError> {
    let split_list = |v: &str| -> Vec<String> {
        let parts: Vec<&str> = if v.contains(',') {
            v.split(',').collect()
        } else {
            v.split_whitespace().collect()
        };
        parts
            .into_iter()
            .map(clean_name)
            .filter(|p| !p.is_empty())
            .collect()
    };
    let full = elements.get("DAA").map(split_list).unwrap_or_default();
    let given_names = elements.get("DCT").map(split_list).unwrap_or_default();

    let family = elements
        .get("DCS")
        .or_else(|| elements.get("DAB"))
        .map(clean_name)
        .filter(|n| !n.is_empty())
        .or_else(|| full.first().cloned())
        .ok_or(AamvaError::MissingField {
            element: "DCS",
            name: "family name",
        })?;
    let given = elements
        .get("DAC")
        .map(clean_name)
        .filter(|n| !n.is_empty())
        .or_else(|| given_names.first().cloned())
        .or_else(|| full.get(1).cloned())
        .ok_or(AamvaError::MissingField {
            element: "DAC",
            name: "first name",
        })?;
    let middle = elements
        .get("DAD")
        .map(clean_name)
        .or_else(|| (given_names.len() > 1).then(|| given_names[1..].join(" ")))
        .or_else(|| (full.len() > 2).then(|| full[2..].join(" ")))
        .filter(|m| !m.is_empty() && !is_no_middle_name(m));
    Ok((family, given, middle))
}

fn is_no_middle_name(value: &str) -> bool {
    matches!(
        value.to_ascii_uppercase().as_str(),
        "NONE" | "NMN" | "UNAVL" | "UNAVAILABLE"
    )
}

/// Trimmed, with runs of padding inside collapsed to one space.
fn clean_name(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_date(value: &str, order: DateOrder) -> Option<NaiveDate> {
    let v = value.trim();
    if v.len() != 8 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| v.get(range)?.parse::<u32>().ok();
    let us = || {
        let year = i32::try_from(num(4..8)?).ok()?;
        NaiveDate::from_ymd_opt(year, num(0..2)?, num(2..4)?)
    };
    let canada = || {
        let year = i32::try_from(num(0..4)?).ok()?;
        NaiveDate::from_ymd_opt(year, num(4..6)?, num(6..8)?)
    };
    // No card bears a date outside this range; it also keeps "either" unambiguous,
    // since MMDD read as a year falls before it.
    let plausible = |d: &NaiveDate| (1850..=2200).contains(&d.year());
    match order {
        DateOrder::Us => us().filter(plausible),
        DateOrder::Canada => canada().filter(plausible),
        DateOrder::Either => us()
            .filter(plausible)
            .or_else(|| canada().filter(plausible)),
    }
}

/// "12345", "12345-6789" (ZIP+4 when the +4 is not zero padding), or a Canadian
/// "A1A 1A1"; anything else trimmed as it came.
fn normalize_postal_code(raw: &str) -> String {
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    let all_digits = !compact.is_empty() && compact.bytes().all(|b| b.is_ascii_digit());
    match (all_digits, compact.len()) {
        (true, 5) => compact,
        (true, 9) => {
            let (zip, plus4) = compact.split_at(5);
            if plus4 == "0000" {
                zip.to_string()
            } else {
                format!("{zip}-{plus4}")
            }
        }
        (false, 6) if is_canadian_postal_code(&compact) => {
            let (fsa, ldu) = compact.split_at(3);
            format!("{fsa} {ldu}")
        }
        _ => raw.trim().to_string(),
    }
}

fn is_canadian_postal_code(compact: &str) -> bool {
    compact.bytes().enumerate().all(|(i, b)| {
        if i % 2 == 0 {
            b.is_ascii_uppercase()
        } else {
            b.is_ascii_digit()
        }
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn digits(bytes: &[u8], pos: usize, len: usize) -> Option<String> {
    let field = bytes.get(pos..pos + len)?;
    field
        .iter()
        .all(u8::is_ascii_digit)
        .then(|| String::from_utf8_lossy(field).into_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const VA_V10: &str = include_str!("../../tests/fixtures/aamva/va_v10_dl.txt");
    const MD_V8_ID: &str = include_str!("../../tests/fixtures/aamva/md_v8_id.txt");
    const TX_V1: &str = include_str!("../../tests/fixtures/aamva/tx_v1_dl.txt");
    const ID_V1_SPACES: &str = include_str!("../../tests/fixtures/aamva/id_v1_spaces_dl.txt");
    const MA_V3: &str = include_str!("../../tests/fixtures/aamva/ma_v3_dl.txt");
    const ON_V6: &str = include_str!("../../tests/fixtures/aamva/on_v6_dl.txt");
    const QUIRK_NO_RS: &str = include_str!("../../tests/fixtures/aamva/quirk_no_rs.txt");
    const QUIRK_CRLF: &str = include_str!("../../tests/fixtures/aamva/quirk_crlf.txt");
    const QUIRK_CR_LF_SWAPPED: &str =
        include_str!("../../tests/fixtures/aamva/quirk_cr_lf_swapped.txt");
    const QUIRK_BAD_OFFSET: &str = include_str!("../../tests/fixtures/aamva/quirk_bad_offset.txt");
    const QUIRK_AAMVA_HEADER: &str =
        include_str!("../../tests/fixtures/aamva/quirk_aamva_header.txt");

    pub(crate) const ALL_FIXTURES: [&str; 11] = [
        VA_V10,
        MD_V8_ID,
        TX_V1,
        ID_V1_SPACES,
        MA_V3,
        ON_V6,
        QUIRK_NO_RS,
        QUIRK_CRLF,
        QUIRK_CR_LF_SWAPPED,
        QUIRK_BAD_OFFSET,
        QUIRK_AAMVA_HEADER,
    ];

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn virginia_fields() -> DocumentFields {
        DocumentFields {
            document_type: DocumentType::DriversLicense,
            given_name: "MICHAEL".into(),
            middle_name: Some("JOHN".into()),
            family_name: "SAMPLE".into(),
            birthdate: date(1986, 6, 6),
            document_number: "T64235789".into(),
            expiry: date(2024, 12, 10),
            issued: Some(date(2019, 6, 6)),
            issuer: "VA".into(),
            address: Some(Address {
                street_address: "2300 WEST BROAD STREET".into(),
                locality: "RICHMOND".into(),
                region: "VA".into(),
                postal_code: "23269".into(),
                country: "US".into(),
            }),
        }
    }

    #[test]
    fn a_version_10_licence_reads_every_field() {
        let card = parse(VA_V10).unwrap();
        assert_eq!(card.fields, virginia_fields());
        assert_eq!(card.aamva_version, 10);
        assert_eq!(card.jurisdiction_version, 0);
        assert_eq!(card.iin, "636000");
    }

    #[test]
    fn a_version_8_state_id_is_an_id_with_padding_trimmed_and_zip_plus_4_kept() {
        let card = parse(MD_V8_ID).unwrap();
        assert_eq!(card.fields.document_type, DocumentType::StateId);
        assert_eq!(card.fields.family_name, "GARCIA-LOPEZ");
        assert_eq!(card.fields.given_name, "MARIA");
        assert_eq!(card.fields.middle_name.as_deref(), Some("ELENA"));
        assert_eq!(card.fields.birthdate, date(1990, 11, 30));
        assert_eq!(card.fields.expiry, date(2029, 11, 30));
        assert_eq!(card.fields.issuer, "MD");
        let address = card.fields.address.unwrap();
        assert_eq!(address.street_address, "123 MAIN ST\nAPT 4B");
        assert_eq!(address.postal_code, "21201-1234");
        assert_eq!((card.aamva_version, card.jurisdiction_version), (8, 1));
    }

    #[test]
    fn a_version_1_card_splits_the_full_name_and_reads_ccyymmdd_dates() {
        let card = parse(TX_V1).unwrap();
        assert_eq!(card.fields.family_name, "PUBLIC");
        assert_eq!(card.fields.given_name, "JOHN");
        assert_eq!(card.fields.middle_name.as_deref(), Some("QUINCY"));
        assert_eq!(card.fields.birthdate, date(1975, 7, 4));
        assert_eq!(card.fields.expiry, date(2026, 1, 31));
        assert_eq!(card.fields.issued, Some(date(2018, 1, 25)));
        assert_eq!(card.fields.issuer, "TX");
        let address = card.fields.address.unwrap();
        assert_eq!(address.postal_code, "78701-1234");
        assert_eq!(
            address.country, "US",
            "inferred from the ZIP: v1 has no DCG"
        );
        assert_eq!((card.aamva_version, card.jurisdiction_version), (1, 0));
        assert_eq!(card.iin, "636015");
    }

    #[test]
    fn a_version_1_card_with_a_space_separated_name_and_mmddccyy_dates() {
        let card = parse(ID_V1_SPACES).unwrap();
        assert_eq!(card.fields.family_name, "DOE");
        assert_eq!(card.fields.given_name, "JANE");
        assert_eq!(card.fields.middle_name.as_deref(), Some("ANN"));
        assert_eq!(card.fields.birthdate, date(1992, 2, 29));
        assert_eq!(card.fields.expiry, date(2027, 8, 15));
        assert_eq!(card.fields.address.unwrap().postal_code, "83702");
    }

    #[test]
    fn a_version_3_card_splits_dct_into_first_and_middle() {
        let card = parse(MA_V3).unwrap();
        assert_eq!(card.fields.family_name, "ADAMS");
        assert_eq!(card.fields.given_name, "JOHN");
        assert_eq!(card.fields.middle_name.as_deref(), Some("QUINCY"));
        assert_eq!(card.fields.birthdate, date(1967, 7, 11));
        assert_eq!(card.fields.address.unwrap().postal_code, "02108");
    }

    #[test]
    fn a_canadian_card_reads_ccyymmdd_dates_and_a_postal_code() {
        let card = parse(ON_V6).unwrap();
        assert_eq!(card.fields.family_name, "TREMBLAY");
        assert_eq!(card.fields.birthdate, date(1988, 2, 29));
        assert_eq!(card.fields.expiry, date(2029, 2, 28));
        assert_eq!(card.fields.issued, Some(date(2020, 1, 5)));
        assert_eq!(card.fields.issuer, "ON");
        assert_eq!(card.fields.document_number, "A1234-56789-01234");
        let address = card.fields.address.unwrap();
        assert_eq!(address.postal_code, "M5V 3L9");
        assert_eq!(address.country, "CA");
    }

    #[test]
    fn every_quirk_variant_reads_the_same_as_the_clean_card() {
        for (name, text) in [
            ("no RS", QUIRK_NO_RS),
            ("CRLF", QUIRK_CRLF),
            ("CR/LF swapped, trailing NULs", QUIRK_CR_LF_SWAPPED),
            ("wrong subfile offset", QUIRK_BAD_OFFSET),
            ("AAMVA file type, doubled separators", QUIRK_AAMVA_HEADER),
        ] {
            let card = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(card.fields, virginia_fields(), "{name}");
            assert_eq!(card.aamva_version, 10, "{name}");
            assert_eq!(card.iin, "636000", "{name}");
        }
    }

    #[test]
    fn a_card_without_any_compliance_prefix_or_designator_table_is_found_by_search() {
        let stripped = VA_V10.trim_start_matches(['@', '\n', '\x1e', '\r']);
        assert_eq!(parse(stripped).unwrap().fields, virginia_fields());
        // Header numbers, then straight into the subfile: no table at all.
        let no_table = VA_V10.replace("DL00410278ZV03190008", "");
        assert_eq!(parse(&no_table).unwrap().fields, virginia_fields());
    }

    #[test]
    fn a_missing_required_field_is_named() {
        for (element, name) in [
            ("DAQ", "document number"),
            ("DBB", "date of birth"),
            ("DBA", "expiry date"),
            ("DAJ", "jurisdiction code"),
            ("DCS", "family name"),
            ("DAC", "first name"),
        ] {
            // Renaming the element keeps every offset in the header right.
            let text = VA_V10.replacen(&format!("\n{element}"), "\nZZZ", 1);
            assert_eq!(
                parse(&text),
                Err(AamvaError::MissingField { element, name }),
                "{element}"
            );
        }
    }

    #[test]
    fn an_impossible_date_is_refused_by_name() {
        let text = VA_V10.replace("DBB06061986", "DBB13401986");
        assert_eq!(
            parse(&text),
            Err(AamvaError::InvalidDate {
                element: "DBB",
                name: "date of birth"
            })
        );
    }

    #[test]
    fn text_that_is_not_aamva_is_refused() {
        assert_eq!(parse(""), Err(AamvaError::NotAamva));
        assert_eq!(parse("{\"hello\": 1}"), Err(AamvaError::NotAamva));
        assert_eq!(
            parse("@\n\x1e\rANSI 63X"),
            Err(AamvaError::BadHeader("issuer number (IIN)"))
        );
        assert_eq!(
            parse("@\n\x1e\rANSI 636000100002ZV00310008ZVZVA01\r"),
            Err(AamvaError::NoSubfile)
        );
    }

    #[test]
    fn the_middle_name_placeholder_none_is_no_middle_name() {
        let text = VA_V10.replace("DADJOHN", "DADNONE");
        assert_eq!(parse(&text).unwrap().fields.middle_name, None);
    }

    #[test]
    fn zip_codes_are_normalised() {
        assert_eq!(normalize_postal_code("223010000"), "22301");
        assert_eq!(normalize_postal_code("223011234  "), "22301-1234");
        assert_eq!(normalize_postal_code("22301-1234"), "22301-1234");
        assert_eq!(normalize_postal_code("22301"), "22301");
        assert_eq!(normalize_postal_code("k1a0b1"), "K1A 0B1");
    }

    /// A tiny deterministic generator: the property test needs no new dependency.
    pub(crate) struct XorShift(pub u64);
    impl XorShift {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn no_truncation_mutation_or_random_input_panics() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for fixture in ALL_FIXTURES {
            let bytes = fixture.as_bytes();
            for cut in 0..=bytes.len() {
                let _ = parse(&String::from_utf8_lossy(&bytes[..cut]));
                let _ = parse(&String::from_utf8_lossy(&bytes[cut..]));
            }
            for _ in 0..2000 {
                let mut mutated = bytes.to_vec();
                for _ in 0..(rng.next() % 6 + 1) {
                    let at = (rng.next() as usize) % mutated.len();
                    match rng.next() % 4 {
                        0 => mutated[at] = rng.next() as u8,
                        1 => {
                            mutated.remove(at);
                        }
                        2 => mutated.insert(at, b"\n\r\x1e0@D"[(rng.next() % 6) as usize]),
                        _ => mutated[at] = b'9',
                    }
                }
                let _ = parse(&String::from_utf8_lossy(&mutated));
            }
        }
        for _ in 0..2000 {
            let len = (rng.next() % 400) as usize;
            let random: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let _ = parse(&String::from_utf8_lossy(&random));
            // Random bytes behind a valid-looking header reach the deeper code.
            let mut headed = b"@\n\x1e\rANSI 636000100001DL00310200DL".to_vec();
            headed.extend_from_slice(&random);
            let _ = parse(&String::from_utf8_lossy(&headed));
        }
    }
}
