//! Second factors: pure primitives (no database, no HTTP) for phone numbers, authenticator
//! apps (TOTP), backup codes and one-time codes sent by SMS, voice or email. The flows that
//! store and check them live beside these modules.

pub mod backup_codes;
pub mod otp;
pub mod phone;
pub mod totp;

// Flows over the primitives: what is enrolled (database) and how a factor is proven.
pub mod challenge;
pub mod enrol;
pub mod methods;
/// Security keys and passkeys (WebAuthn).
pub mod webauthn;
