//! Shared Signals: Verity as an OpenID Shared Signals Framework 1.0 transmitter.
//!
//! A relying party manages its own event streams ([`streams`]) with an access token from its
//! `client_credentials` grant holding `ssf.manage` (or `ssf.read` for reads and polling). When
//! something happens to a person's account, the flow that did it calls [`events::enqueue`]
//! inside its own database transaction: one queued event per stream of each relying party the
//! person consented to. Events are signed into Security Event Tokens (RFC 8417, `typ`
//! `secevent+jwt`, one event per SET, a top-level `sub_id` per RFC 9493) when delivered, and
//! delivered by poll (RFC 8936, [`events::poll`], with long polling) or push (RFC 8935,
//! [`push`]); [`delivery`] holds what both share (outcome counts, expiry, long-poll waits).
//! Operators list, pause, resume, disable and replay streams through [`operations`] (the
//! management API and `verity ssf`); their status changes reach the receiver as stream-updated
//! events. Nothing here knows HTTP.

pub mod delivery;
pub mod events;
pub mod operations;
pub mod push;
pub mod signals;
pub mod streams;

use std::sync::Arc;

use serde_json::{json, Value};

use crate::oauth::clients::Client;
use crate::oauth::userinfo::{verify_access_token, UserinfoError};
use crate::Ctx;

/// Push delivery (RFC 8935).
pub const DELIVERY_PUSH: &str = "urn:ietf:rfc:8935";
/// Poll delivery (RFC 8936).
pub const DELIVERY_POLL: &str = "urn:ietf:rfc:8936";

/// SSF §8.1.4: sent on request, whatever the stream asked for.
pub const EVENT_VERIFICATION: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// CAEP §3.1.
pub const EVENT_SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP §3.3.
pub const EVENT_CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";

/// SSF §8.1.5: the transmitter changed a stream's status on its own (an operator's action).
/// Sent whatever the stream asked for.
pub const EVENT_STREAM_UPDATED: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/stream-updated";
/// CAEP §3.4.
pub const EVENT_ASSURANCE_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change";
/// RISC §2.3.
pub const EVENT_ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
/// RISC §2.4.
pub const EVENT_ACCOUNT_ENABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-enabled";
/// RISC §2.2.
pub const EVENT_ACCOUNT_PURGED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-purged";
/// RISC §2.5.
pub const EVENT_IDENTIFIER_CHANGED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/identifier-changed";
/// RISC §2.10.
pub const EVENT_RECOVERY_INFORMATION_CHANGED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/recovery-information-changed";

/// The events a stream may ask for.
pub const EVENTS_SUPPORTED: &[&str] = &[
    EVENT_SESSION_REVOKED,
    EVENT_CREDENTIAL_CHANGE,
    EVENT_ASSURANCE_LEVEL_CHANGE,
    EVENT_ACCOUNT_DISABLED,
    EVENT_ACCOUNT_ENABLED,
    EVENT_ACCOUNT_PURGED,
    EVENT_IDENTIFIER_CHANGED,
    EVENT_RECOVERY_INFORMATION_CHANGED,
];

/// Manage (create, change, delete) streams, and everything `ssf.read` allows.
pub const SCOPE_MANAGE: &str = "ssf.manage";
/// Read streams and their status, and poll.
pub const SCOPE_READ: &str = "ssf.read";

/// Paths of the endpoints, below the issuer.
pub const PATH_CONFIGURATION: &str = "/ssf/streams";
pub const PATH_STATUS: &str = "/ssf/status";
pub const PATH_ADD_SUBJECT: &str = "/ssf/subjects/add";
pub const PATH_REMOVE_SUBJECT: &str = "/ssf/subjects/remove";
pub const PATH_VERIFICATION: &str = "/ssf/verify";
/// Followed by `/{stream_id}`.
pub const PATH_POLL: &str = "/ssf/poll";

/// The transmitter configuration metadata (SSF §7.1), served at
/// `/.well-known/ssf-configuration`.
pub fn metadata(ctx: &Ctx) -> Value {
    let iss = &ctx.settings.issuer;
    json!({
        "spec_version": "1_0",
        "issuer": iss,
        "jwks_uri": format!("{iss}/jwks.json"),
        "delivery_methods_supported": [DELIVERY_PUSH, DELIVERY_POLL],
        "configuration_endpoint": format!("{iss}{PATH_CONFIGURATION}"),
        "status_endpoint": format!("{iss}{PATH_STATUS}"),
        "add_subject_endpoint": format!("{iss}{PATH_ADD_SUBJECT}"),
        "remove_subject_endpoint": format!("{iss}{PATH_REMOVE_SUBJECT}"),
        "verification_endpoint": format!("{iss}{PATH_VERIFICATION}"),
        "authorization_schemes": [{ "spec_urn": "urn:ietf:rfc:6749" }],
        "default_subjects": match ctx.settings.ssf.default_subjects {
            crate::config::DefaultSubjects::All => "ALL",
            crate::config::DefaultSubjects::None => "NONE",
        },
        "events_supported": EVENTS_SUPPORTED,
    })
}

/// What a call needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// `ssf.read` or `ssf.manage`.
    Read,
    /// `ssf.manage`.
    Manage,
}

/// An authenticated receiver: the relying party acting for itself.
#[derive(Clone, Debug)]
pub struct Receiver {
    pub client: Arc<Client>,
}

/// Why a caller is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 401: no bearer token.
    MissingToken,
    /// 401: a token we can't accept (malformed, expired, revoked, unknown key).
    InvalidToken(&'static str),
    /// 403: a valid token without the right to do this.
    Forbidden(&'static str),
}

/// Checks a bearer token: one of our access tokens (signature, issuer, audience, expiry,
/// revocation) from `client_credentials` (no person behind it), of a client still registered,
/// holding the scope the call needs.
pub async fn authenticate(
    ctx: &Ctx,
    token: Option<&str>,
    need: Need,
) -> anyhow::Result<Result<Receiver, Refusal>> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(Err(Refusal::MissingToken));
    };
    let claims = match verify_access_token(ctx, token).await? {
        Ok(c) => c,
        Err(UserinfoError::InvalidToken(why)) => return Ok(Err(Refusal::InvalidToken(why))),
        Err(_) => return Ok(Err(Refusal::InvalidToken("the token can't be used"))),
    };
    if claims.cnf.is_some() {
        return Ok(Err(Refusal::InvalidToken(
            "a DPoP-bound token can't be used as a bearer token",
        )));
    }
    if claims.gid.is_some() || claims.sub != claims.client_id {
        return Ok(Err(Refusal::Forbidden(
            "this token acts for a person; stream management needs a client_credentials token",
        )));
    }
    let Some(client) = ctx.clients.get(&claims.client_id).await? else {
        return Ok(Err(Refusal::InvalidToken("the client no longer exists")));
    };
    let has = |s: &str| claims.scope.split(' ').any(|x| x == s);
    let allowed = match need {
        Need::Manage => has(SCOPE_MANAGE),
        Need::Read => has(SCOPE_MANAGE) || has(SCOPE_READ),
    };
    if !allowed {
        return Ok(Err(Refusal::Forbidden(match need {
            Need::Manage => "the token lacks the ssf.manage scope",
            Need::Read => "the token lacks the ssf.read or ssf.manage scope",
        })));
    }
    Ok(Ok(Receiver { client }))
}
