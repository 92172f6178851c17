//! What an identity document says about its holder, whichever source read it: the AAMVA
//! barcode on a licence's back, a passport's MRZ, or a document vendor's OCR. The flow
//! cross-checks sources field by field, so they all speak this one shape.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The documents Verity accepts. The serde names are the OpenID Connect for Identity
/// Assurance 1.0 document types (`driving_permit`, `idcard`, `passport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocumentType {
    #[serde(rename = "driving_permit")]
    DriversLicense,
    #[serde(rename = "idcard")]
    StateId,
    #[serde(rename = "passport")]
    Passport,
}

impl DocumentType {
    /// The OIDC4IDA name (`document_details.type`).
    pub fn ida_name(self) -> &'static str {
        match self {
            DocumentType::DriversLicense => "driving_permit",
            DocumentType::StateId => "idcard",
            DocumentType::Passport => "passport",
        }
    }

    pub fn from_ida_name(name: &str) -> Option<DocumentType> {
        match name {
            "driving_permit" => Some(DocumentType::DriversLicense),
            "idcard" => Some(DocumentType::StateId),
            "passport" => Some(DocumentType::Passport),
            _ => None,
        }
    }

    /// A licence or state ID has a back with a barcode; a passport has only its photo page.
    pub fn has_back(self) -> bool {
        !matches!(self, DocumentType::Passport)
    }
}

/// A postal address, shaped as OIDC Core §5.1.1's structured `address` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Street lines, joined with "\n".
    pub street_address: String,
    pub locality: String,
    /// State or province code ("VA").
    pub region: String,
    /// ZIP (5 digits, or ZIP+4 as "12345-6789").
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 ("US").
    pub country: String,
}

impl Address {
    /// OIDC Core's `formatted` member: lines as a person writes them on an envelope.
    pub fn formatted(&self) -> String {
        let mut lines: Vec<String> = self
            .street_address
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .collect();
        lines.push(
            format!("{} {} {}", self.locality, self.region, self.postal_code)
                .trim()
                .to_string(),
        );
        if !self.country.is_empty() {
            lines.push(self.country.clone());
        }
        lines.join("\n")
    }
}

/// The holder and the document, as one source read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentFields {
    pub document_type: DocumentType,
    pub given_name: String,
    #[serde(default)]
    pub middle_name: Option<String>,
    pub family_name: String,
    pub birthdate: NaiveDate,
    pub document_number: String,
    pub expiry: NaiveDate,
    #[serde(default)]
    pub issued: Option<NaiveDate>,
    /// Who issued it: a US state code ("VA") for a licence or state ID, the ICAO issuing
    /// state ("USA") for a passport.
    pub issuer: String,
    /// Passports and some cards carry no address.
    #[serde(default)]
    pub address: Option<Address>,
}
