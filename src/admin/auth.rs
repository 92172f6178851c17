//! Who may call the management API: an admin client, with an access token from its own
//! `client_credentials` grant, holding the scope of the area it calls.

use crate::oauth::userinfo::{verify_access_token, UserinfoError};
use crate::Ctx;

/// The scope that grants every area.
pub const SCOPE_ALL: &str = "verity:admin";

/// The areas of the API, each with its own scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    UsersRead,
    UsersWrite,
    Clients,
    Keys,
    Audit,
    Support,
    Notices,
    /// Identity proofing: verifications, fraud flags, removal, statistics (personal data
    /// masked).
    Proofing,
    /// The personal data of proofing in full (names, birth date, address, phone, SSN's last 4,
    /// vendor transcripts). Only a token that names this scope has it: see [`Agent::may`].
    ProofingPii,
    /// Shared Signals streams of every relying party: list them with their backlog and
    /// delivery counts, pause, resume, disable, replay failed deliveries.
    Ssf,
    /// Verification with an agent (trusted referee): register agents, the queue and the
    /// scheduled calls, claim a case, see its evidence while it is open, record the call's
    /// checks and decide.
    Referee,
}

impl Area {
    /// Areas that show people's personal data: only a token that names them reaches them
    /// (`verity:admin` doesn't).
    pub fn shows_personal_data(self) -> bool {
        matches!(self, Area::ProofingPii | Area::Referee)
    }

    pub const ALL: [Area; 11] = [
        Area::UsersRead,
        Area::UsersWrite,
        Area::Clients,
        Area::Keys,
        Area::Audit,
        Area::Support,
        Area::Notices,
        Area::Proofing,
        Area::ProofingPii,
        Area::Ssf,
        Area::Referee,
    ];

    pub fn scope(self) -> &'static str {
        match self {
            Area::UsersRead => "verity:admin:users:read",
            Area::UsersWrite => "verity:admin:users:write",
            Area::Clients => "verity:admin:clients",
            Area::Keys => "verity:admin:keys",
            Area::Audit => "verity:admin:audit",
            Area::Support => "verity:admin:support",
            Area::Notices => "verity:admin:notices",
            Area::Proofing => "verity:admin:proofing",
            Area::ProofingPii => "verity:admin:proofing:pii",
            Area::Ssf => "verity:admin:ssf",
            Area::Referee => "verity:admin:referee",
        }
    }
}

/// An authenticated caller: the admin client (the "agent") and the scopes its token holds.
#[derive(Clone, Debug)]
pub struct Agent {
    pub client_id: String,
    pub scopes: Vec<String>,
}

impl Agent {
    /// `verity:admin` grants every area but two; users:write includes users:read (an agent who
    /// may change an account must be able to look at it), proofing:pii includes proofing.
    /// Personal data is the exception: only a token that names `verity:admin:proofing:pii` (or,
    /// for agents on a call, `verity:admin:referee`) sees it, so a general admin token (and every tool it is
    /// pasted into) gets masked data unless someone asked for more on purpose.
    pub fn may(&self, area: Area) -> bool {
        let has = |s: &str| self.scopes.iter().any(|x| x == s);
        // Personal data: only a token that names the area. The referee area shows the person's
        // full data and photos to the agent on a call.
        if area.shows_personal_data() {
            return has(area.scope());
        }
        has(SCOPE_ALL)
            || has(area.scope())
            || (area == Area::UsersRead && has(Area::UsersWrite.scope()))
            || (area == Area::Proofing && has(Area::ProofingPii.scope()))
    }
}

/// Why a caller is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 401: no bearer token at all.
    MissingToken,
    /// 401: a token we can't accept (malformed, expired, revoked, unknown key).
    InvalidToken(&'static str),
    /// 403: a valid token, but not one of an admin client acting for itself.
    NotAnAgent(&'static str),
}

/// Checks a bearer token: our own access token (signature, issuer, audience, expiry,
/// revocation), issued by `client_credentials` (no person behind it), to a client that is
/// still registered and still an admin client, with at least one admin scope.
pub async fn authenticate(
    ctx: &Ctx,
    token: Option<&str>,
) -> anyhow::Result<Result<Agent, Refusal>> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(Err(Refusal::MissingToken));
    };
    let claims = match verify_access_token(ctx, token).await? {
        Ok(c) => c,
        Err(UserinfoError::InvalidToken(why)) => return Ok(Err(Refusal::InvalidToken(why))),
        Err(_) => return Ok(Err(Refusal::InvalidToken("the token can't be used"))),
    };
    if claims.cnf.is_some() {
        // The API takes Bearer tokens only; a DPoP-bound token without its proof is void.
        return Ok(Err(Refusal::InvalidToken(
            "a DPoP-bound token can't be used as a bearer token",
        )));
    }
    if claims.gid.is_some() || claims.sub != claims.client_id {
        return Ok(Err(Refusal::NotAnAgent(
            "this token acts for a person; the management API needs a client_credentials token",
        )));
    }
    let Some(client) = ctx.clients.get(&claims.client_id).await? else {
        return Ok(Err(Refusal::InvalidToken("the client no longer exists")));
    };
    if !client.admin {
        return Ok(Err(Refusal::NotAnAgent(
            "this client is not an admin client",
        )));
    }
    let scopes: Vec<String> = claims
        .scope
        .split(' ')
        .filter(|s| crate::oauth::clients::is_admin_scope(s))
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return Ok(Err(Refusal::NotAnAgent(
            "the token holds no verity:admin scope",
        )));
    }
    Ok(Ok(Agent {
        client_id: client.client_id.clone(),
        scopes,
    }))
}
