//! Verity's own network calls.

pub mod outbound;
