//! The pluggable checks of identity proofing: one trait per check (document, selfie, records,
//! state ID, phone), each with a deterministic `mock` and an `http` adapter to a vendor
//! gateway. `[proofing] *_vendor` picks the implementation per check; the AAMVA barcode is
//! always read by Verity itself and is not a vendor check.
//!
//! Every answer carries a `transcript` (what was asked and answered, images replaced by their
//! hash and size) that the flow keeps with the attempt for audit. A [`VendorFailure`] means
//! the vendor could not give an answer (timeout, network, garbage): the person is told to try
//! again later and the attempt is not charged.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::proofing::document::{Address, DocumentFields, DocumentType};

/// One uploaded file, after [`crate::proofing::images::sanitize`] (a re-encoded photo), or a
/// small text fixture that only the mock document and selfie checks accept.
#[derive(Clone)]
pub struct Upload {
    pub bytes: Vec<u8>,
    /// `image/jpeg`, `image/png`, or `text/plain` for a mock fixture.
    pub content_type: String,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Upload {
    pub fn is_fixture(&self) -> bool {
        self.content_type == "text/plain"
    }

    /// How a transcript names an image: never its bytes.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "content_type": self.content_type,
            "bytes": self.bytes.len(),
            "sha256": hex::encode(crate::crypto::sha256(&self.bytes)),
        })
    }
}

/// An answer, with what to keep of the exchange.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub result: T,
    pub transcript: serde_json::Value,
}

/// No usable answer: the check did not run. Not charged to the person.
#[derive(Debug, Clone)]
pub struct VendorFailure {
    /// For logs and operators ("timeout", "HTTP 502", "unparseable answer").
    pub reason: String,
    pub transcript: serde_json::Value,
}

pub type Checked<T> = Result<Answer<T>, VendorFailure>;

#[derive(Debug, Clone)]
pub struct DocumentRequest {
    /// The attempt id: the vendor echoes it in its logs.
    pub reference: String,
    pub document_type: DocumentType,
    /// A licence's or ID's front, or a passport's photo page.
    pub front: Upload,
    /// A licence's or ID's back (None for a passport).
    pub back: Option<Upload>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentResult {
    /// The vendor's overall verdict that the document is genuine and unaltered.
    pub authentic: bool,
    /// The vendor's alerts and result codes, kept for operators (e.g. `barcode_unreadable`,
    /// `photo_tampered`).
    #[serde(default)]
    pub result_codes: Vec<String>,
    /// What the vendor read from the front (OCR) or the passport page.
    #[serde(default)]
    pub fields: Option<DocumentFields>,
    /// The passport's machine-readable zone as the vendor read it (two lines).
    #[serde(default)]
    pub mrz: Option<String>,
    /// Mock fixtures only: AAMVA text standing in for a photographed barcode.
    #[serde(default)]
    pub barcode_text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SelfieRequest {
    pub reference: String,
    /// The document side with the portrait.
    pub portrait: Upload,
    pub selfie: Upload,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfieResult {
    pub face_match: bool,
    pub liveness: bool,
    #[serde(default)]
    pub result_codes: Vec<String>,
}

/// The identity the records, state ID and phone checks are asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityClaim {
    pub given_name: String,
    #[serde(default)]
    pub middle_name: Option<String>,
    pub family_name: String,
    pub birthdate: NaiveDate,
    pub address: Address,
    /// Nine digits, no dashes.
    pub ssn: String,
}

#[derive(Debug, Clone)]
pub struct RecordsRequest {
    pub reference: String,
    pub identity: IdentityClaim,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsResult {
    /// The identity exists and its attributes belong together.
    pub matched: bool,
    /// Why not (e.g. `ssn_not_found`, `birthdate_mismatch`, `deceased`).
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// Modelled on AAMVA's Driver's License Data Verification: does the issuing jurisdiction's
/// record agree with the document?
#[derive(Debug, Clone)]
pub struct StateIdRequest {
    pub reference: String,
    pub document: DocumentFields,
    pub identity: IdentityClaim,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateIdResult {
    pub verified: bool,
    /// The jurisdiction does not take part: the check could not say yes or no.
    #[serde(default)]
    pub jurisdiction_unsupported: bool,
    /// The fields the jurisdiction's record disagrees on (e.g. `document_number`, `expiry`).
    #[serde(default)]
    pub mismatched: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PhoneRequest {
    pub reference: String,
    /// E.164.
    pub phone: String,
    pub identity: IdentityClaim,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneResult {
    /// The number is associated with this person.
    pub matched: bool,
    #[serde(default)]
    pub reasons: Vec<String>,
}

#[async_trait]
pub trait DocumentCheck: Send + Sync {
    /// `mock` or `http`, recorded with each attempt.
    fn vendor(&self) -> &'static str;
    async fn check_document(&self, request: &DocumentRequest) -> Checked<DocumentResult>;
}

#[async_trait]
pub trait SelfieCheck: Send + Sync {
    fn vendor(&self) -> &'static str;
    async fn check_selfie(&self, request: &SelfieRequest) -> Checked<SelfieResult>;
}

#[async_trait]
pub trait RecordsCheck: Send + Sync {
    fn vendor(&self) -> &'static str;
    async fn check_records(&self, request: &RecordsRequest) -> Checked<RecordsResult>;
}

#[async_trait]
pub trait StateIdCheck: Send + Sync {
    fn vendor(&self) -> &'static str;
    async fn check_state_id(&self, request: &StateIdRequest) -> Checked<StateIdResult>;
}

#[async_trait]
pub trait PhoneCheck: Send + Sync {
    fn vendor(&self) -> &'static str;
    async fn check_phone(&self, request: &PhoneRequest) -> Checked<PhoneResult>;
}

/// The five checks as configured.
#[derive(Clone)]
pub struct Vendors {
    pub document: Arc<dyn DocumentCheck>,
    pub selfie: Arc<dyn SelfieCheck>,
    pub records: Arc<dyn RecordsCheck>,
    pub state_id: Arc<dyn StateIdCheck>,
    pub phone: Arc<dyn PhoneCheck>,
}

pub mod http;
pub mod mock;

/// The five checks as `[proofing] *_vendor` chooses them. `client` is the operator client
/// (`ctx.outbound.operator()`): no redirects, our TLS roots; the gateway calls set their own
/// whole-request timeout (`http_timeout_secs`).
pub fn build(
    settings: &crate::config::ProofingSettings,
    client: reqwest::Client,
) -> anyhow::Result<Vendors> {
    use crate::config::VendorKind;

    let mock = Arc::new(mock::MockVendor);
    let gateway = if settings.kinds().contains(&VendorKind::Http) {
        Some(Arc::new(http::HttpVendor::new(settings, client)?))
    } else {
        None
    };
    // `gateway` exists whenever any check is `http`, so this never falls back to the mock.
    let pick = |kind: VendorKind| -> anyhow::Result<Option<Arc<http::HttpVendor>>> {
        match (kind, &gateway) {
            (VendorKind::Mock, _) => Ok(None),
            (VendorKind::Http, Some(g)) => Ok(Some(g.clone())),
            (VendorKind::Http, None) => anyhow::bail!("an http proofing vendor has no gateway"),
        }
    };
    Ok(Vendors {
        document: match pick(settings.document_vendor)? {
            Some(g) => g,
            None => mock.clone(),
        },
        selfie: match pick(settings.selfie_vendor)? {
            Some(g) => g,
            None => mock.clone(),
        },
        records: match pick(settings.records_vendor)? {
            Some(g) => g,
            None => mock.clone(),
        },
        state_id: match pick(settings.state_id_vendor)? {
            Some(g) => g,
            None => mock.clone(),
        },
        phone: match pick(settings.phone_vendor)? {
            Some(g) => g,
            None => mock,
        },
    })
}

/// An SSN as a transcript or log may show it: the last four digits only.
pub(crate) fn masked_ssn(ssn: &str) -> String {
    let digits: Vec<char> = ssn.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return "***-**-****".into();
    }
    let last4: String = digits[digits.len() - 4..].iter().collect();
    format!("***-**-{last4}")
}

/// The identity as a transcript keeps it: everything but the SSN's first five digits.
pub(crate) fn identity_for_transcript(identity: &IdentityClaim) -> serde_json::Value {
    let mut value = serde_json::to_value(identity).unwrap_or(serde_json::Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("ssn".into(), masked_ssn(&identity.ssn).into());
    }
    value
}
