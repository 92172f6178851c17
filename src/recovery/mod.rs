//! Account recovery when the phone (or every second factor) is gone.
//!
//! - Forgot password (email link + a second factor; a phone in its SIM-swap cooldown doesn't
//!   count): [`crate::accounts::reset`], with the cooldown rule in
//!   [`crate::accounts::login::usable_methods`].
//! - "I don't have my phone" at the challenge: sign in with an authenticator app or a backup code,
//!   then the console leads to replacing the phone (`web::mfa::lost_phone`).
//! - Nothing else left: the time-delayed [`account_reset`].
//!
//! Notices on every channel go through [`crate::notify::notices::tell_account`].

pub mod account_reset;
