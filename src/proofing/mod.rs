//! Identity proofing (IAL2): the verification record and its steps, the document parsers,
//! the pluggable vendor checks, and the verified claims relying parties receive.

pub mod document;
pub mod vendors;
pub mod records;
