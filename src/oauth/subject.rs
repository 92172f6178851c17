//! The `sub` a relying party sees: the account id, or for pairwise clients (OIDC Core §8.1) a
//! per-sector identifier that two unrelated RPs can't correlate.
//!
//! Everything that tells a client who the person is (ID token, access token, userinfo,
//! introspection, logout tokens) takes a [`Subject`], and only [`for_client`] (or
//! [`Subject::client_itself`] for client_credentials) makes one: a raw account id can't be
//! emitted where a subject belongs.

use serde::Serialize;

use crate::oauth::clients::Client;
use crate::Ctx;

/// The subject identifier as one client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Subject(String);

impl Subject {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// client_credentials: the token stands for the client, so the subject is its id.
    pub fn client_itself(client: &Client) -> Subject {
        Subject(client.client_id.clone())
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn for_client(ctx: &Ctx, client: &Client, user_id: &str) -> Subject {
    if !client.pairwise() {
        return Subject(user_id.to_string());
    }
    let key = ctx.master.derive("verity/pairwise-subject/v1");
    Subject(crate::crypto::mac(
        &key,
        format!("{}|{}", client.sector(), user_id).as_bytes(),
    ))
}
