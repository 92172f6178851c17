//! Identity proofing (IAL2): the verification record and its steps, the document parsers,
//! the pluggable vendor checks, and the verified claims relying parties receive.

pub mod aamva;
pub mod claims;
pub mod document;
pub mod flow;
pub mod images;
pub mod letter_pdf;
pub mod mrz;
pub mod records;
pub mod referee;
pub mod vault;
pub mod vendors;
