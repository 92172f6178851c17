//! People's accounts: sign-up, email confirmation, sign-in with its throttling, and browser
//! sessions. Plain Rust over [`crate::Ctx`]; nothing here knows HTTP.

pub mod activity;
pub mod console;
pub mod email_tokens;
pub mod emails;
pub mod login;
pub mod networks;
pub mod password;
pub mod phone_change;
pub mod reset;
pub mod seed;
pub mod sessions;
pub mod signin;
pub mod signup;
pub mod step_up;
pub mod users;
