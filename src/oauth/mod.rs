//! The OpenID Connect provider: clients, the authorization request, consent, codes, the
//! token endpoint, userinfo and discovery. Plain Rust over [`crate::Ctx`].

pub mod authorize;
pub mod client_assertion;
pub mod clients;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod grants;
pub mod logout;
pub mod refresh;
pub mod registration;
pub mod restart;
pub mod revocation;
pub mod scopes;
pub mod subject;
pub mod token;
pub mod userinfo;
