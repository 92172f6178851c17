//! Deterministic stand-ins for the five vendor checks, after Login.gov's mock vendors: every
//! branch of the proofing flow can be walked in a browser with no vendor account. "Magic"
//! inputs choose the branch (the consts below; README, "Mock vendors"). Never in production:
//! `ProofingSettings::validate` refuses `mock` there, because a mock passes made-up people.
//!
//! - **Document** and **selfie**: upload a small text file (`text/plain`) instead of a photo,
//!   holding JSON or YAML (a [`DocumentFixture`] or [`SelfieFixture`]). A real photo passes.
//! - **Records**, **state ID**, **phone**: names, numbers and SSNs choose (the consts).

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::{
    identity_for_transcript, Answer, Checked, DocumentCheck, DocumentRequest, DocumentResult,
    PhoneCheck, PhoneRequest, PhoneResult, RecordsCheck, RecordsRequest, RecordsResult,
    SelfieCheck, SelfieRequest, SelfieResult, StateIdCheck, StateIdRequest, StateIdResult, Upload,
    VendorFailure,
};
use crate::proofing::document::{Address, DocumentFields, DocumentType};

/// Records: a given name containing this (any case) is not found.
pub const RECORDS_FAIL_NAME: &str = "fail";
/// Records: a given name containing this (any case) makes the check time out.
pub const RECORDS_TIMEOUT_NAME: &str = "timeout";
/// Records: a family name containing this (any case) belongs to a dead person.
pub const RECORDS_DECEASED_NAME: &str = "deceased";
/// Records: only SSNs starting with this match (no real SSN starts 900, so a real person
/// never passes a mock).
pub const RECORDS_MATCHING_SSN_PREFIX: &str = "900";
/// State ID: a document number containing this (any case) disagrees with the state's record.
pub const STATE_ID_FAIL_NUMBER: &str = "FAIL";
/// State ID: a document number containing this (any case) makes the check time out.
pub const STATE_ID_TIMEOUT_NUMBER: &str = "TIMEOUT";
/// State ID: a document issued by this jurisdiction can't be checked (not taking part).
pub const STATE_ID_UNSUPPORTED_ISSUER: &str = "ZZ";
/// Phone: a number ending in this is not associated with the person.
pub const PHONE_NOT_ASSOCIATED_SUFFIX: &str = "5555";
/// Phone: a number ending in this makes the check time out.
pub const PHONE_TIMEOUT_SUFFIX: &str = "5556";
/// A fixture larger than this is not parsed (it is meant to be a few lines).
pub const FIXTURE_MAX_BYTES: usize = 64 * 1024;

/// The sample person every fixture field defaults to (Login.gov's mock person).
pub const SAMPLE_GIVEN_NAME: &str = "FAKEY";
pub const SAMPLE_FAMILY_NAME: &str = "MCFAKERSON";
pub const SAMPLE_BIRTHDATE: NaiveDate = ymd(1938, 10, 6);
pub const SAMPLE_LICENSE_NUMBER: &str = "1111111111111";
pub const SAMPLE_PASSPORT_NUMBER: &str = "Z12345678";
/// Far in the future: the sample document never expires during a test.
pub const SAMPLE_EXPIRY: NaiveDate = ymd(2099, 12, 31);
pub const SAMPLE_ISSUED: NaiveDate = ymd(2019, 12, 31);
pub const SAMPLE_STREET: &str = "1 FAKE RD";
pub const SAMPLE_LOCALITY: &str = "GREAT FALLS";
pub const SAMPLE_REGION: &str = "MT";
pub const SAMPLE_POSTAL_CODE: &str = "59010";

/// The result code of a document or selfie fixture that is neither JSON nor YAML of the
/// right shape (a typo in a field name, a bad date).
pub const FIXTURE_UNPARSEABLE: &str = "fixture_unparseable";

/// For the consts: a bad date fails the build, not a request.
const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("not a date"),
    }
}

/// The sample address (a licence's or ID's).
pub fn sample_address() -> Address {
    Address {
        street_address: SAMPLE_STREET.into(),
        locality: SAMPLE_LOCALITY.into(),
        region: SAMPLE_REGION.into(),
        postal_code: SAMPLE_POSTAL_CODE.into(),
        country: "US".into(),
    }
}

/// What the mock reads from a document with no fixture overrides: the sample person on a
/// licence or ID issued by Montana, or on a US passport (no address).
pub fn sample_fields(document_type: DocumentType) -> DocumentFields {
    let passport = document_type == DocumentType::Passport;
    DocumentFields {
        document_type,
        given_name: SAMPLE_GIVEN_NAME.into(),
        middle_name: None,
        family_name: SAMPLE_FAMILY_NAME.into(),
        birthdate: SAMPLE_BIRTHDATE,
        document_number: if passport {
            SAMPLE_PASSPORT_NUMBER
        } else {
            SAMPLE_LICENSE_NUMBER
        }
        .into(),
        expiry: SAMPLE_EXPIRY,
        issued: Some(SAMPLE_ISSUED),
        issuer: if passport { "USA" } else { SAMPLE_REGION }.into(),
        address: (!passport).then(sample_address),
    }
}

/// A document fixture: every field optional, defaulting to [`sample_fields`].
///
/// ```yaml
/// given_name: Fail         # the records check will not find this person
/// document_number: D1234   # strings or numbers
/// birthdate: 1990-01-31
/// authentic: false         # the vendor says the document is not genuine
/// result_codes: [photo_tampered]
/// timeout: true            # the vendor does not answer
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentFixture {
    /// `driving_permit`, `idcard` or `passport`; defaults to the type the person chose.
    pub document_type: Option<DocumentType>,
    #[serde(deserialize_with = "stringish")]
    pub given_name: Option<String>,
    #[serde(deserialize_with = "stringish")]
    pub middle_name: Option<String>,
    #[serde(deserialize_with = "stringish")]
    pub family_name: Option<String>,
    pub birthdate: Option<NaiveDate>,
    #[serde(deserialize_with = "stringish")]
    pub document_number: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub issued: Option<NaiveDate>,
    #[serde(deserialize_with = "stringish")]
    pub issuer: Option<String>,
    pub address: Option<AddressFixture>,
    /// Defaults to true.
    pub authentic: Option<bool>,
    pub result_codes: Vec<String>,
    /// A passport's two MRZ lines; without it a passport fixture gets an MRZ made from its
    /// fields (with correct check digits).
    #[serde(deserialize_with = "stringish")]
    pub mrz: Option<String>,
    /// AAMVA text standing in for the photographed barcode (returned as `barcode_text`).
    #[serde(deserialize_with = "stringish")]
    pub barcode: Option<String>,
    /// The vendor does not answer: a [`VendorFailure`].
    pub timeout: bool,
}

/// An address in a fixture: each part defaults to the sample address's.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AddressFixture {
    #[serde(deserialize_with = "stringish")]
    pub street_address: Option<String>,
    #[serde(deserialize_with = "stringish")]
    pub locality: Option<String>,
    #[serde(deserialize_with = "stringish")]
    pub region: Option<String>,
    #[serde(deserialize_with = "stringish")]
    pub postal_code: Option<String>,
    #[serde(deserialize_with = "stringish")]
    pub country: Option<String>,
}

/// A selfie fixture, e.g. `{"face_match": false}`; every field defaults to a pass.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SelfieFixture {
    /// Defaults to true.
    pub face_match: Option<bool>,
    /// Defaults to true.
    pub liveness: Option<bool>,
    pub result_codes: Vec<String>,
    pub timeout: bool,
}

/// YAML reads `postal_code: 59010` as a number: a fixture may write any scalar unquoted.
fn stringish<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(Option::<Scalar>::deserialize(d)?.map(|s| match s {
        Scalar::Text(t) => t,
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Bool(b) => b.to_string(),
    }))
}

/// JSON, else YAML. An empty fixture is all defaults.
pub fn parse_fixture<T: serde::de::DeserializeOwned + Default>(bytes: &[u8]) -> Option<T> {
    if bytes.len() > FIXTURE_MAX_BYTES {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Some(T::default());
    }
    if let Ok(parsed) = serde_json::from_str(text) {
        return Some(parsed);
    }
    serde_yaml_ng::from_str(text).ok()
}

impl DocumentFixture {
    fn fields(&self, chosen: DocumentType) -> DocumentFields {
        let document_type = self.document_type.unwrap_or(chosen);
        let sample = sample_fields(document_type);
        let address = match &self.address {
            Some(a) => {
                let s = sample_address();
                Some(Address {
                    street_address: a.street_address.clone().unwrap_or(s.street_address),
                    locality: a.locality.clone().unwrap_or(s.locality),
                    region: a.region.clone().unwrap_or(s.region),
                    postal_code: a.postal_code.clone().unwrap_or(s.postal_code),
                    country: a.country.clone().unwrap_or(s.country),
                })
            }
            None => sample.address,
        };
        DocumentFields {
            document_type,
            given_name: self.given_name.clone().unwrap_or(sample.given_name),
            middle_name: self.middle_name.clone().or(sample.middle_name),
            family_name: self.family_name.clone().unwrap_or(sample.family_name),
            birthdate: self.birthdate.unwrap_or(sample.birthdate),
            document_number: self
                .document_number
                .clone()
                .unwrap_or(sample.document_number),
            expiry: self.expiry.unwrap_or(sample.expiry),
            issued: self.issued.or(sample.issued),
            issuer: self.issuer.clone().unwrap_or(sample.issuer),
            address,
        }
    }
}

/// ICAO 9303 check digit: weights 7, 3, 1; digits count as themselves, A–Z as 10–35, `<`
/// (and anything else) as 0.
pub fn mrz_check_digit(field: &str) -> char {
    let sum: u32 = field
        .chars()
        .zip([7u32, 3, 1].iter().cycle())
        .map(|(c, w)| {
            let value = match c {
                '0'..='9' => c as u32 - '0' as u32,
                'A'..='Z' => c as u32 - 'A' as u32 + 10,
                _ => 0,
            };
            value * w
        })
        .sum();
    char::from_digit(sum % 10, 10).unwrap_or('0')
}

/// Letters and digits as the MRZ writes them: upper case, anything else a filler `<`.
fn mrz_text(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_ascii_uppercase() {
            u @ ('A'..='Z' | '0'..='9') => u,
            _ => '<',
        })
        .collect()
}

fn pad(s: String, len: usize) -> String {
    let mut s: String = s.chars().take(len).collect();
    while s.chars().count() < len {
        s.push('<');
    }
    s
}

/// A passport's two 44-character MRZ lines (TD3) for these fields, nationality = issuer, sex
/// unspecified, no personal number, every check digit correct.
pub fn passport_mrz(fields: &DocumentFields) -> String {
    let issuer = pad(mrz_text(&fields.issuer), 3);
    let mut given = fields.given_name.clone();
    if let Some(middle) = &fields.middle_name {
        given = format!("{given} {middle}");
    }
    let name = format!("{}<<{}", mrz_text(&fields.family_name), mrz_text(&given));
    let line1 = pad(format!("P<{issuer}{name}"), 44);

    let number = pad(mrz_text(&fields.document_number), 9);
    let birth = fields.birthdate.format("%y%m%d").to_string();
    let expiry = fields.expiry.format("%y%m%d").to_string();
    let personal = pad(String::new(), 14);
    let number_part = format!("{number}{}", mrz_check_digit(&number));
    let birth_part = format!("{birth}{}", mrz_check_digit(&birth));
    let expiry_part = format!("{expiry}{}", mrz_check_digit(&expiry));
    let personal_part = format!("{personal}{}", mrz_check_digit(&personal));
    let composite = mrz_check_digit(&format!(
        "{number_part}{birth_part}{expiry_part}{personal_part}"
    ));
    let line2 =
        format!("{number_part}{issuer}{birth_part}<{expiry_part}{personal_part}{composite}");
    format!("{line1}\n{line2}")
}

/// What a mock transcript keeps: the request as asked (images by summary, SSN masked) and
/// the answer or the failure.
fn transcript(
    check: &str,
    request: serde_json::Value,
    outcome: Result<serde_json::Value, &str>,
) -> serde_json::Value {
    let mut t = json!({ "vendor": "mock", "check": check, "request": request });
    match outcome {
        Ok(result) => t["result"] = result,
        Err(reason) => t["error"] = reason.into(),
    }
    t
}

fn answer<T: serde::Serialize>(check: &str, request: serde_json::Value, result: T) -> Checked<T> {
    let result_json = serde_json::to_value(&result).unwrap_or(serde_json::Value::Null);
    Ok(Answer {
        result,
        transcript: transcript(check, request, Ok(result_json)),
    })
}

fn timeout<T>(check: &str, request: serde_json::Value) -> Checked<T> {
    Err(VendorFailure {
        reason: "timeout".into(),
        transcript: transcript(check, request, Err("timeout")),
    })
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack
        .to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

fn upload_summary(upload: Option<&Upload>) -> serde_json::Value {
    upload.map_or(serde_json::Value::Null, Upload::summary)
}

/// The five mock checks (one value serves them all).
#[derive(Debug, Clone, Copy, Default)]
pub struct MockVendor;

#[async_trait]
impl DocumentCheck for MockVendor {
    fn vendor(&self) -> &'static str {
        "mock"
    }

    async fn check_document(&self, request: &DocumentRequest) -> Checked<DocumentResult> {
        let asked = json!({
            "reference": request.reference,
            "document_type": request.document_type,
            "front": request.front.summary(),
            "back": upload_summary(request.back.as_ref()),
        });
        if !request.front.is_fixture() {
            // A real photo: genuine. A licence's fields then come from Verity's own barcode
            // read; a passport gets the sample passport page.
            let result = if request.document_type == DocumentType::Passport {
                let fields = sample_fields(DocumentType::Passport);
                DocumentResult {
                    authentic: true,
                    result_codes: vec![],
                    mrz: Some(passport_mrz(&fields)),
                    fields: Some(fields),
                    barcode_text: None,
                }
            } else {
                DocumentResult {
                    authentic: true,
                    ..Default::default()
                }
            };
            return answer("document", asked, result);
        }
        let Some(fixture) = parse_fixture::<DocumentFixture>(&request.front.bytes) else {
            let result = DocumentResult {
                authentic: false,
                result_codes: vec![FIXTURE_UNPARSEABLE.into()],
                ..Default::default()
            };
            return answer("document", asked, result);
        };
        if fixture.timeout {
            return timeout("document", asked);
        }
        let fields = fixture.fields(request.document_type);
        let mrz = match (&fixture.mrz, fields.document_type) {
            (Some(mrz), _) => Some(mrz.clone()),
            (None, DocumentType::Passport) => Some(passport_mrz(&fields)),
            (None, _) => None,
        };
        let result = DocumentResult {
            authentic: fixture.authentic.unwrap_or(true),
            result_codes: fixture.result_codes,
            fields: Some(fields),
            mrz,
            barcode_text: fixture.barcode,
        };
        answer("document", asked, result)
    }
}

#[async_trait]
impl SelfieCheck for MockVendor {
    fn vendor(&self) -> &'static str {
        "mock"
    }

    async fn check_selfie(&self, request: &SelfieRequest) -> Checked<SelfieResult> {
        let asked = json!({
            "reference": request.reference,
            "portrait": request.portrait.summary(),
            "selfie": request.selfie.summary(),
        });
        if !request.selfie.is_fixture() {
            let result = SelfieResult {
                face_match: true,
                liveness: true,
                result_codes: vec![],
            };
            return answer("selfie", asked, result);
        }
        let Some(fixture) = parse_fixture::<SelfieFixture>(&request.selfie.bytes) else {
            let result = SelfieResult {
                face_match: false,
                liveness: false,
                result_codes: vec![FIXTURE_UNPARSEABLE.into()],
            };
            return answer("selfie", asked, result);
        };
        if fixture.timeout {
            return timeout("selfie", asked);
        }
        let result = SelfieResult {
            face_match: fixture.face_match.unwrap_or(true),
            liveness: fixture.liveness.unwrap_or(true),
            result_codes: fixture.result_codes,
        };
        answer("selfie", asked, result)
    }
}

#[async_trait]
impl RecordsCheck for MockVendor {
    fn vendor(&self) -> &'static str {
        "mock"
    }

    async fn check_records(&self, request: &RecordsRequest) -> Checked<RecordsResult> {
        let identity = &request.identity;
        let asked = json!({
            "reference": request.reference,
            "identity": identity_for_transcript(identity),
        });
        if contains_ci(&identity.given_name, RECORDS_TIMEOUT_NAME) {
            return timeout("records", asked);
        }
        let mut reasons = Vec::new();
        if contains_ci(&identity.given_name, RECORDS_FAIL_NAME) {
            reasons.push("identity_not_found".to_string());
        } else {
            if contains_ci(&identity.family_name, RECORDS_DECEASED_NAME) {
                reasons.push("deceased".to_string());
            }
            if !identity.ssn.starts_with(RECORDS_MATCHING_SSN_PREFIX) {
                reasons.push("ssn_not_found".to_string());
            }
        }
        let result = RecordsResult {
            matched: reasons.is_empty(),
            reasons,
        };
        answer("records", asked, result)
    }
}

#[async_trait]
impl StateIdCheck for MockVendor {
    fn vendor(&self) -> &'static str {
        "mock"
    }

    async fn check_state_id(&self, request: &StateIdRequest) -> Checked<StateIdResult> {
        let document = &request.document;
        let asked = json!({
            "reference": request.reference,
            "document": document,
            "identity": identity_for_transcript(&request.identity),
        });
        if contains_ci(&document.document_number, STATE_ID_TIMEOUT_NUMBER) {
            return timeout("state_id", asked);
        }
        let result = if document
            .issuer
            .eq_ignore_ascii_case(STATE_ID_UNSUPPORTED_ISSUER)
        {
            StateIdResult {
                verified: false,
                jurisdiction_unsupported: true,
                mismatched: vec![],
            }
        } else if contains_ci(&document.document_number, STATE_ID_FAIL_NUMBER) {
            StateIdResult {
                verified: false,
                jurisdiction_unsupported: false,
                mismatched: vec!["document_number".into()],
            }
        } else {
            StateIdResult {
                verified: true,
                ..Default::default()
            }
        };
        answer("state_id", asked, result)
    }
}

#[async_trait]
impl PhoneCheck for MockVendor {
    fn vendor(&self) -> &'static str {
        "mock"
    }

    async fn check_phone(&self, request: &PhoneRequest) -> Checked<PhoneResult> {
        let asked = json!({
            "reference": request.reference,
            "phone": request.phone,
            "identity": identity_for_transcript(&request.identity),
        });
        if request.phone.ends_with(PHONE_TIMEOUT_SUFFIX) {
            return timeout("phone", asked);
        }
        let result = if request.phone.ends_with(PHONE_NOT_ASSOCIATED_SUFFIX) {
            PhoneResult {
                matched: false,
                reasons: vec!["not_associated".into()],
            }
        } else {
            PhoneResult {
                matched: true,
                reasons: vec![],
            }
        };
        answer("phone", asked, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proofing::vendors::IdentityClaim;

    fn photo() -> Upload {
        Upload {
            bytes: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
            content_type: "image/jpeg".into(),
        }
    }

    fn fixture(text: &str) -> Upload {
        Upload {
            bytes: text.as_bytes().to_vec(),
            content_type: "text/plain".into(),
        }
    }

    fn document(document_type: DocumentType, front: Upload) -> DocumentRequest {
        DocumentRequest {
            reference: "attempt-1".into(),
            document_type,
            front,
            back: document_type.has_back().then(photo),
        }
    }

    async fn check_document(document_type: DocumentType, front: Upload) -> DocumentResult {
        MockVendor
            .check_document(&document(document_type, front))
            .await
            .unwrap()
            .result
    }

    fn identity(given: &str, family: &str, ssn: &str) -> IdentityClaim {
        IdentityClaim {
            given_name: given.into(),
            middle_name: None,
            family_name: family.into(),
            birthdate: SAMPLE_BIRTHDATE,
            address: sample_address(),
            ssn: ssn.into(),
        }
    }

    async fn records(given: &str, family: &str, ssn: &str) -> Checked<RecordsResult> {
        MockVendor
            .check_records(&RecordsRequest {
                reference: "attempt-1".into(),
                identity: identity(given, family, ssn),
            })
            .await
    }

    async fn state_id(number: &str, issuer: &str) -> Checked<StateIdResult> {
        let mut document = sample_fields(DocumentType::DriversLicense);
        document.document_number = number.into();
        document.issuer = issuer.into();
        MockVendor
            .check_state_id(&StateIdRequest {
                reference: "attempt-1".into(),
                document,
                identity: identity("Ann", "Lee", "900123456"),
            })
            .await
    }

    async fn phone(number: &str) -> Checked<PhoneResult> {
        MockVendor
            .check_phone(&PhoneRequest {
                reference: "attempt-1".into(),
                phone: number.into(),
                identity: identity("Ann", "Lee", "900123456"),
            })
            .await
    }

    async fn selfie(selfie: Upload) -> Checked<SelfieResult> {
        MockVendor
            .check_selfie(&SelfieRequest {
                reference: "attempt-1".into(),
                portrait: photo(),
                selfie,
            })
            .await
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[actix_web::test]
    async fn a_one_line_json_fixture_changes_one_field_and_keeps_the_sample_person() {
        let result = check_document(
            DocumentType::DriversLicense,
            fixture(r#"{"given_name":"Fail"}"#),
        )
        .await;
        let mut expected = sample_fields(DocumentType::DriversLicense);
        expected.given_name = "Fail".into();
        assert!(result.authentic);
        assert!(result.result_codes.is_empty());
        assert_eq!(result.fields, Some(expected));
        assert_eq!(result.mrz, None, "a licence has no MRZ");
        assert_eq!(result.barcode_text, None);
    }

    #[actix_web::test]
    async fn a_yaml_fixture_sets_every_field_with_numbers_and_dates_unquoted() {
        let yaml = "\
document_type: idcard
given_name: Maria
middle_name: Luisa
family_name: Garcia
birthdate: 1990-01-31
document_number: 12345678
expiry: 2031-05-01
issued: 2023-05-01
issuer: VA
address:
  street_address: 12 Main St
  locality: Richmond
  region: VA
  postal_code: 23219
barcode: \"@\\nANSI 636000\"
result_codes: [ocr_low_confidence]
";
        let result = check_document(DocumentType::DriversLicense, fixture(yaml)).await;
        assert!(result.authentic);
        assert_eq!(result.result_codes, vec!["ocr_low_confidence".to_string()]);
        assert_eq!(result.barcode_text.as_deref(), Some("@\nANSI 636000"));
        assert_eq!(
            result.fields,
            Some(DocumentFields {
                document_type: DocumentType::StateId,
                given_name: "Maria".into(),
                middle_name: Some("Luisa".into()),
                family_name: "Garcia".into(),
                birthdate: ymd(1990, 1, 31),
                document_number: "12345678".into(),
                expiry: ymd(2031, 5, 1),
                issued: Some(ymd(2023, 5, 1)),
                issuer: "VA".into(),
                address: Some(Address {
                    street_address: "12 Main St".into(),
                    locality: "Richmond".into(),
                    region: "VA".into(),
                    postal_code: "23219".into(),
                    country: "US".into(),
                }),
            })
        );
    }

    #[actix_web::test]
    async fn an_empty_fixture_is_the_sample_person() {
        let result = check_document(DocumentType::DriversLicense, fixture("\n")).await;
        assert!(result.authentic);
        let fields = result.fields.unwrap();
        assert_eq!(fields.given_name, "FAKEY");
        assert_eq!(fields.family_name, "MCFAKERSON");
        assert_eq!(fields.birthdate, ymd(1938, 10, 6));
        assert_eq!(fields.expiry, ymd(2099, 12, 31));
        assert_eq!(
            fields.address.unwrap().formatted(),
            "1 FAKE RD\nGREAT FALLS MT 59010\nUS"
        );
    }

    #[actix_web::test]
    async fn a_fixture_can_make_the_document_not_authentic_with_result_codes() {
        for text in [
            r#"{"authentic": false, "result_codes": ["photo_tampered"]}"#,
            "authentic: false\nresult_codes:\n  - photo_tampered\n",
        ] {
            let result = check_document(DocumentType::DriversLicense, fixture(text)).await;
            assert!(!result.authentic, "{text}");
            assert_eq!(result.result_codes, vec!["photo_tampered".to_string()]);
        }
    }

    #[actix_web::test]
    async fn a_timeout_fixture_is_a_vendor_failure_with_a_transcript() {
        for text in [r#"{"timeout": true}"#, "timeout: true"] {
            let failure = MockVendor
                .check_document(&document(DocumentType::DriversLicense, fixture(text)))
                .await
                .unwrap_err();
            assert_eq!(failure.reason, "timeout");
            assert_eq!(failure.transcript["error"], "timeout");
            assert_eq!(failure.transcript["request"]["reference"], "attempt-1");
        }
    }

    #[actix_web::test]
    async fn a_fixture_with_a_typo_or_a_bad_date_fails_the_document_visibly() {
        for text in [
            r#"{"given_nam": "Ann"}"#,
            "birthdate: 1990-13-45",
            "{not json",
            "- a\n- list",
        ] {
            let result = check_document(DocumentType::DriversLicense, fixture(text)).await;
            assert!(!result.authentic, "{text}");
            assert_eq!(result.result_codes, vec![FIXTURE_UNPARSEABLE.to_string()]);
            assert_eq!(result.fields, None);
        }
        let huge = format!("given_name: {}", "A".repeat(FIXTURE_MAX_BYTES));
        let result = check_document(DocumentType::DriversLicense, fixture(&huge)).await;
        assert_eq!(result.result_codes, vec![FIXTURE_UNPARSEABLE.to_string()]);
    }

    #[actix_web::test]
    async fn a_real_licence_photo_is_authentic_and_leaves_the_fields_to_the_barcode() {
        for kind in [DocumentType::DriversLicense, DocumentType::StateId] {
            let result = check_document(kind, photo()).await;
            assert_eq!(
                result,
                DocumentResult {
                    authentic: true,
                    ..Default::default()
                }
            );
        }
    }

    #[actix_web::test]
    async fn a_real_passport_photo_reads_as_the_sample_passport_with_a_valid_mrz() {
        let result = check_document(DocumentType::Passport, photo()).await;
        assert!(result.authentic);
        let fields = result.fields.unwrap();
        assert_eq!(fields, sample_fields(DocumentType::Passport));
        assert_eq!(fields.issuer, "USA");
        assert_eq!(fields.address, None);
        assert_eq!(
            result.mrz.as_deref(),
            Some(
                "P<USAMCFAKERSON<<FAKEY<<<<<<<<<<<<<<<<<<<<<<\n\
                 Z123456789USA3810062<9912315<<<<<<<<<<<<<<00"
            )
        );
    }

    #[actix_web::test]
    async fn a_passport_fixture_gets_an_mrz_made_from_its_own_fields_unless_it_gives_one() {
        let result = check_document(
            DocumentType::Passport,
            fixture(r#"{"given_name":"Ann Marie","family_name":"O'Neil","document_number":"X1"}"#),
        )
        .await;
        let mrz = result.mrz.unwrap();
        let lines: Vec<&str> = mrz.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], "P<USAO<NEIL<<ANN<MARIE<<<<<<<<<<<<<<<<<<<<<<");
        assert_mrz_line2_checks(lines[1]);
        assert!(lines[1].starts_with("X1<<<<<<<"));

        let result = check_document(
            DocumentType::Passport,
            fixture("mrz: \"P<USA...\\nL898902C36...\""),
        )
        .await;
        assert_eq!(result.mrz.as_deref(), Some("P<USA...\nL898902C36..."));
    }

    /// Every check digit of a TD3 second line, by ICAO 9303's positions.
    fn assert_mrz_line2_checks(line: &str) {
        assert_eq!(line.len(), 44, "{line}");
        let c = |i: usize| line.chars().nth(i).unwrap();
        assert_eq!(mrz_check_digit(&line[0..9]), c(9), "number");
        assert_eq!(mrz_check_digit(&line[13..19]), c(19), "birth");
        assert_eq!(mrz_check_digit(&line[21..27]), c(27), "expiry");
        assert_eq!(mrz_check_digit(&line[28..42]), c(42), "personal number");
        let composite = format!("{}{}{}", &line[0..10], &line[13..20], &line[21..43]);
        assert_eq!(mrz_check_digit(&composite), c(43), "composite");
    }

    #[test]
    fn check_digits_match_the_icao_9303_specimen() {
        // ICAO Doc 9303 part 4, the specimen passport of Anna Maria Eriksson.
        assert_mrz_line2_checks("L898902C36UTO7408122F1204159ZE184226B<<<<<10");
        assert_eq!(mrz_check_digit("L898902C3"), '6');
        assert_eq!(mrz_check_digit("740812"), '2');
        assert_eq!(mrz_check_digit("120415"), '9');
    }

    #[actix_web::test]
    async fn the_document_transcript_names_images_by_hash_never_by_content() {
        let answer = MockVendor
            .check_document(&document(DocumentType::DriversLicense, photo()))
            .await
            .unwrap();
        let t = &answer.transcript;
        assert_eq!(t["vendor"], "mock");
        assert_eq!(t["request"]["front"]["bytes"], 7);
        assert_eq!(t["request"]["front"]["content_type"], "image/jpeg");
        assert_eq!(t["request"]["front"]["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(t["result"]["authentic"], true);
    }

    #[actix_web::test]
    async fn selfie_fixtures_choose_face_match_liveness_or_timeout_and_a_photo_passes() {
        let pass = selfie(photo()).await.unwrap().result;
        assert!(pass.face_match && pass.liveness);

        let no_match = selfie(fixture(r#"{"face_match": false}"#)).await.unwrap();
        assert!(!no_match.result.face_match && no_match.result.liveness);
        assert_eq!(no_match.transcript["result"]["face_match"], false);

        let not_live = selfie(fixture("liveness: false")).await.unwrap().result;
        assert!(not_live.face_match && !not_live.liveness);

        let failure = selfie(fixture(r#"{"timeout": true}"#)).await.unwrap_err();
        assert_eq!(failure.reason, "timeout");

        let typo = selfie(fixture(r#"{"face": false}"#)).await.unwrap().result;
        assert!(!typo.face_match && !typo.liveness);
        assert_eq!(typo.result_codes, vec![FIXTURE_UNPARSEABLE.to_string()]);
    }

    #[actix_web::test]
    async fn records_match_only_a_900_ssn_and_magic_names_choose_the_other_branches() {
        let matched = records("Ann", "Lee", "900123456").await.unwrap();
        assert_eq!(
            matched.result,
            RecordsResult {
                matched: true,
                reasons: vec![]
            }
        );

        let real_ssn = records("Ann", "Lee", "123456789").await.unwrap().result;
        assert!(!real_ssn.matched);
        assert_eq!(real_ssn.reasons, vec!["ssn_not_found".to_string()]);

        let not_found = records("Failing", "Lee", "900123456").await.unwrap().result;
        assert!(!not_found.matched);
        assert_eq!(not_found.reasons, vec!["identity_not_found".to_string()]);

        let dead = records("Ann", "DECEASED-Lee", "900123456")
            .await
            .unwrap()
            .result;
        assert!(!dead.matched);
        assert_eq!(dead.reasons, vec!["deceased".to_string()]);

        let failure = records("timeout", "Lee", "900123456").await.unwrap_err();
        assert_eq!(failure.reason, "timeout");
        assert_eq!(
            failure.transcript["request"]["identity"]["ssn"],
            "***-**-3456"
        );
    }

    #[actix_web::test]
    async fn the_records_transcript_keeps_only_the_last_four_ssn_digits() {
        let answer = records("Ann", "Lee", "900123456").await.unwrap();
        let text = answer.transcript.to_string();
        assert!(
            !text.contains("900123456") && !text.contains("90012"),
            "{text}"
        );
        assert_eq!(
            answer.transcript["request"]["identity"]["ssn"],
            "***-**-3456"
        );
        assert_eq!(
            answer.transcript["request"]["identity"]["given_name"],
            "Ann"
        );
    }

    #[actix_web::test]
    async fn state_id_magic_numbers_and_issuer_choose_the_branch() {
        let ok = state_id("D1234567", "VA").await.unwrap().result;
        assert_eq!(
            ok,
            StateIdResult {
                verified: true,
                jurisdiction_unsupported: false,
                mismatched: vec![]
            }
        );
        let mismatch = state_id("D12FAIL", "VA").await.unwrap().result;
        assert!(!mismatch.verified && !mismatch.jurisdiction_unsupported);
        assert_eq!(mismatch.mismatched, vec!["document_number".to_string()]);
        let unsupported = state_id("D1234567", "ZZ").await.unwrap().result;
        assert!(!unsupported.verified && unsupported.jurisdiction_unsupported);
        assert!(unsupported.mismatched.is_empty());
        let failure = state_id("TIMEOUT1", "VA").await.unwrap_err();
        assert_eq!(failure.reason, "timeout");
    }

    #[actix_web::test]
    async fn phone_endings_choose_not_associated_or_timeout() {
        let ok = phone("+12025550100").await.unwrap().result;
        assert_eq!(
            ok,
            PhoneResult {
                matched: true,
                reasons: vec![]
            }
        );
        let other = phone("+12025555555").await.unwrap().result;
        assert!(!other.matched);
        assert_eq!(other.reasons, vec!["not_associated".to_string()]);
        let failure = phone("+12025555556").await.unwrap_err();
        assert_eq!(failure.reason, "timeout");
        assert_eq!(failure.transcript["request"]["phone"], "+12025555556");
    }
}
