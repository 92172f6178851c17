//! The authorization request (`/authorize`, response_type=code), the sign-in and consent
//! detours, and code issuance.
//!
//! A request is validated once, then parked in the store as a [`PendingAuthorization`] under
//! a random id (TTL `authorization_request_ttl_secs`), bound to the browser that started it.
//! Sign-in and consent pages carry that id; each return to [`resume`] re-checks everything
//! and only the final step *takes* the pending state, so a request completes at most once.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::accounts::sessions::{is_aal2, Session, ACR_AAL2_PHISHING_RESISTANT};
use crate::crypto;
use crate::oauth::{grants, scopes};
use crate::proofing::claims;
use crate::storage::store::{get_json, put_json, take_json};
use crate::Ctx;

/// Raw parameters as sent. Every field is optional so that a bad request gets a precise error.
#[derive(Debug, Default, Clone)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub response_mode: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    pub login_hint: Option<String>,
    pub acr_values: Option<String>,
    /// OIDC Core §5.5 `claims` request (JSON).
    pub claims: Option<String>,
    /// OIDC Core §3.1.2.1: the languages the relying party wants the pages in.
    pub ui_locales: Option<String>,
    /// Parameters sent more than once (RFC 6749 §3.1 forbids it).
    pub repeated: Vec<String>,
}

impl AuthorizeParams {
    pub fn from_pairs<I, K, V>(pairs: I) -> AuthorizeParams
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut p = AuthorizeParams::default();
        for (k, v) in pairs {
            let k = k.as_ref();
            let slot = match k {
                "client_id" => &mut p.client_id,
                "redirect_uri" => &mut p.redirect_uri,
                "response_type" => &mut p.response_type,
                "scope" => &mut p.scope,
                "state" => &mut p.state,
                "nonce" => &mut p.nonce,
                "code_challenge" => &mut p.code_challenge,
                "code_challenge_method" => &mut p.code_challenge_method,
                "prompt" => &mut p.prompt,
                "max_age" => &mut p.max_age,
                "response_mode" => &mut p.response_mode,
                "request" => &mut p.request,
                "request_uri" => &mut p.request_uri,
                "login_hint" => &mut p.login_hint,
                "acr_values" => &mut p.acr_values,
                "claims" => &mut p.claims,
                "ui_locales" => &mut p.ui_locales,
                _ => continue,
            };
            if slot.is_some() {
                p.repeated.push(k.to_string());
            }
            *slot = Some(v.into());
        }
        p
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated request waiting for the person to sign in and consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// Unix seconds when the RP sent the request.
    pub created_at: i64,
    /// The session the browser had when the request arrived. `prompt=login` is satisfied
    /// only by a different (newer) session: every sign-in creates a new one.
    pub session_at_start: Option<String>,
    /// The browser that started it; no other browser can continue it.
    pub browser_id: String,
    pub consent_given: bool,
    /// The RP asked for AAL2: a fresh second factor is needed, "remember this browser" doesn't count.
    #[serde(default)]
    pub requires_aal2: bool,
    /// Claims the RP asked to find in the ID token (`claims` request parameter).
    #[serde(default)]
    pub id_token_claims: Vec<String>,
    /// The first language of `ui_locales` that Verity speaks: this sign-in's pages use it.
    #[serde(default)]
    pub ui_lang: Option<crate::i18n::Lang>,
    /// IAL2 was asked (`acr_values`, or an essential `acr` claim): the value the RP used,
    /// which the tokens' `acr` echo. The person needs a counting identity verification.
    #[serde(default)]
    pub ial2: Option<String>,
    /// A security key or passkey was asked for: the value the RP used, which the tokens'
    /// `acr` echo.
    #[serde(default)]
    pub phishing_resistant: Option<String>,
    /// `verified_claims` asked for in the `claims` parameter, per target.
    #[serde(default)]
    pub verified_id_token: Option<claims::Requested>,
    #[serde(default)]
    pub verified_userinfo: Option<claims::Requested>,
    /// The verified claims this request could release (the client's permission applied, in
    /// `claims::CLAIM_NAMES` order). Each needs consent that names it.
    #[serde(default)]
    pub verified_names: Vec<String>,
    /// What the consent page asks about: those of `verified_names` the person's current
    /// verification can release (set when the request is parked for consent).
    #[serde(default)]
    pub verified_to_consent: Vec<String>,
}

/// Assurance levels an RP may ask for in `acr_values`, with Login.gov's names as aliases.
pub const ACR_AAL2_ALIASES: &[&str] = &[
    "urn:verity:aal2",
    "http://idmanagement.gov/ns/assurance/aal/2",
];
pub const ACR_AAL1_ALIASES: &[&str] = &[
    "urn:verity:aal1",
    "http://idmanagement.gov/ns/assurance/ial/1",
];
/// AAL2 with a phishing-resistant authenticator: a security key or passkey, never a code.
pub const ACR_PHISHING_RESISTANT_ALIASES: &[&str] = &[
    crate::accounts::sessions::ACR_AAL2_PHISHING_RESISTANT,
    "http://idmanagement.gov/ns/assurance/aal/2?phishing_resistant=true",
];
/// Identity-verified levels: with `proofing.enabled`, for clients allowed IAL2.
pub const ACR_IAL2_ALIASES: &[&str] = &[
    "urn:verity:ial2",
    "http://idmanagement.gov/ns/assurance/ial/2",
];

/// What an authorization code stands for; kept in the store for `auth_code_ttl_secs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuedCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub session_id: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub acr: String,
    #[serde(default)]
    pub id_token_claims: Vec<String>,
    /// Verified data: what the person allowed and what was asked, for the grant.
    #[serde(default)]
    pub verified: claims::Remembered,
    /// The vault keys the session had unlocked, sealed under a key only the code itself
    /// derives (`proofing::vault::seal_for_code`): the store alone can't open them.
    #[serde(default)]
    pub released_keys: Option<String>,
}

/// The assurance a request asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AcrWanted {
    /// IAL2, with the value the RP used (echoed as `acr`).
    pub ial2: Option<String>,
    /// A fresh second factor (IAL2 implies it).
    pub aal2: bool,
    /// A security key or passkey, with the value the RP used (echoed as `acr`).
    pub phishing_resistant: Option<String>,
}

/// The session's level as the RP will read it: an RP that asked for AAL2 gets the AAL2 value
/// it knows even when a key made the session phishing-resistant (it may compare exactly).
fn echoed_acr(pending: &PendingAuthorization, session_acr: &str) -> String {
    if pending.requires_aal2 && is_aal2(session_acr) {
        crate::accounts::sessions::ACR_AAL2.to_string()
    } else {
        session_acr.to_string()
    }
}

pub fn is_phishing_resistant(acr: &str) -> bool {
    ACR_PHISHING_RESISTANT_ALIASES.contains(&acr)
}

pub fn is_ial2(acr: &str) -> bool {
    ACR_IAL2_ALIASES.contains(&acr)
}

/// Reads `acr_values` (preferences) and the values of an essential `acr` claim. IAL2 counts
/// only when `ial2_available` (proofing on and the client allowed); without it, a request that
/// offers nothing else is refused (`unmet_authentication_requirements`), and IAL2 values beside
/// others in `acr_values` are passed over. An essential `acr` is met by the weakest level it
/// accepts.
pub fn acr_wanted(
    acr_values: &[String],
    essential: Option<&[String]>,
    ial2_available: bool,
) -> Result<AcrWanted, &'static str> {
    let aal2 = |a: &str| ACR_AAL2_ALIASES.contains(&a) || is_phishing_resistant(a);
    let aal1 = |a: &str| ACR_AAL1_ALIASES.contains(&a);
    let mut out = AcrWanted {
        phishing_resistant: acr_values
            .iter()
            .find(|a| is_phishing_resistant(a))
            .cloned(),
        ..AcrWanted::default()
    };
    if let Some(first) = acr_values.iter().find(|a| is_ial2(a)) {
        if ial2_available {
            out.ial2 = Some(first.clone());
        } else if acr_values.iter().all(|a| is_ial2(a)) {
            return Err("identity-verified assurance (ial2) is not available to this client");
        }
    }
    out.aal2 |= acr_values.iter().any(|a| aal2(a));
    if let Some(values) = essential.filter(|v| !v.is_empty()) {
        let reachable: Vec<&String> = values
            .iter()
            .filter(|v| aal2(v) || aal1(v) || (ial2_available && is_ial2(v)))
            .collect();
        match reachable.first() {
            None => return Err("the essential acr values asked for can't be met"),
            Some(first) if reachable.iter().all(|v| is_ial2(v)) => {
                out.ial2 = Some((*first).clone());
            }
            Some(first) if reachable.iter().all(|v| is_phishing_resistant(v)) => {
                out.phishing_resistant = Some((*first).clone());
            }
            Some(_) if !reachable.iter().any(|v| aal1(v)) => out.aal2 = true,
            Some(_) => {}
        }
    }
    if out.ial2.is_some() || out.phishing_resistant.is_some() {
        out.aal2 = true;
    }
    Ok(out)
}

#[derive(Debug, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// The client or redirect URI can't be trusted: show a page, never redirect.
    /// `message_key` names the explanation in `locales/*/oauth.ftl`.
    ErrorPage { message_key: &'static str },
    /// Back to the relying party: with a code, or with an RFC 6749 §4.1.2.1 error.
    Redirect(String),
    /// The parked request is gone (it expired, was completed, or the store lost it): the
    /// person is told so, with a way to start again at the app when one is known
    /// ([`crate::oauth::restart`]).
    Expired,
    /// Sign in first, then continue with this pending request.
    SignIn {
        pending_id: String,
        login_hint: Option<String>,
        ui_lang: Option<crate::i18n::Lang>,
    },
    /// Ask the person to allow the app.
    Consent {
        pending_id: String,
        ui_lang: Option<crate::i18n::Lang>,
    },
    /// IAL2 (or `verified_claims` the client may receive) was asked and the person has no
    /// counting identity verification: verify first (`/verify?authz=…`), then continue this
    /// pending request (`/authorize/continue`).
    VerifyIdentity {
        pending_id: String,
        ui_lang: Option<crate::i18n::Lang>,
    },
    /// Verified data was asked and the person's verification counts, but this session has not
    /// unlocked it (it signed in without the password): the password first
    /// (`/verify/unlock?authz=…`), then continue this pending request.
    UnlockIdentity {
        pending_id: String,
        ui_lang: Option<crate::i18n::Lang>,
    },
}

pub fn pending_key(id: &str) -> String {
    format!("authz:{id}")
}

pub fn code_key(code: &str) -> String {
    format!("code:{}", crypto::token_hash(code))
}

pub fn used_code_key(code: &str) -> String {
    format!("code_used:{}", crypto::token_hash(code))
}

/// Set by every presentation of a code that is no longer there to take: the exchange that did
/// take it checks for this once its grant is stored (a replay that overlapped it may have come
/// before there was a grant to revoke).
pub fn replayed_code_key(code: &str) -> String {
    format!("code_replayed:{}", crypto::token_hash(code))
}

/// Builds the redirect back to the relying party, adding `iss` (RFC 9207) and `state`.
pub fn rp_redirect(
    issuer: &str,
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
                if let Some(s) = state {
                    q.append_pair("state", s);
                }
                q.append_pair("iss", issuer);
            }
            url.to_string()
        }
        // Registered URIs are validated when the client is added, so this can't happen.
        Err(_) => redirect_uri.to_string(),
    }
}

fn error_redirect(
    ctx: &Ctx,
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> AuthorizeOutcome {
    let description = crate::oauth::error::ErrorDescription::new(description);
    AuthorizeOutcome::Redirect(rp_redirect(
        &ctx.settings.issuer,
        redirect_uri,
        &[
            ("error", error),
            ("error_description", description.as_str()),
        ],
        state,
    ))
}

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Step 1: validate a fresh request and decide where the browser goes.
/// RFC 9126: the `request_uri` form of a pushed authorization request.
pub const PAR_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

fn par_key(id: &str) -> String {
    format!("par:{id}")
}

/// Pushed authorization request (RFC 9126): the authenticated client's parameters are kept
/// for `par_ttl_secs` under a single-use `request_uri`. Returns (request_uri, expires_in), or
/// an RFC 6749 error code and description.
pub async fn push(
    ctx: &Ctx,
    client: &crate::oauth::clients::Client,
    pairs: Vec<(String, String)>,
) -> anyhow::Result<Result<(String, u64), (&'static str, String)>> {
    let params = AuthorizeParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.clone())));
    if let Some(p) = params.repeated.first() {
        return Ok(Err((
            "invalid_request",
            format!("parameter {p} was sent more than once"),
        )));
    }
    if params.request_uri.is_some() {
        return Ok(Err((
            "invalid_request",
            "request_uri can't be pushed".into(),
        )));
    }
    if params
        .client_id
        .as_deref()
        .is_some_and(|c| c != client.client_id)
    {
        return Ok(Err((
            "invalid_request",
            "client_id differs from the authenticated client".into(),
        )));
    }
    match params.redirect_uri.as_deref() {
        Some(uri) if client.redirect_uris.iter().any(|u| u == uri) => {}
        _ => {
            return Ok(Err((
                "invalid_request",
                "redirect_uri is missing or not registered".into(),
            )))
        }
    }
    if params.response_type.as_deref() != Some("code") {
        return Ok(Err((
            "unsupported_response_type",
            "only response_type=code is supported".into(),
        )));
    }
    let mut stored: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| k != "client_id")
        .collect();
    stored.push(("client_id".into(), client.client_id.clone()));
    let id = crypto::random_token(24);
    let ttl = ctx.settings.security.par_ttl_secs;
    put_json(
        &*ctx.store,
        &par_key(&id),
        &stored,
        Duration::from_secs(ttl),
    )
    .await?;
    Ok(Ok((format!("{PAR_PREFIX}{id}"), ttl)))
}

/// Step 1: resolve a pushed request if there is one, then validate.
pub async fn start(
    ctx: &Ctx,
    params: AuthorizeParams,
    browser_id: &str,
    session: Option<&Session>,
) -> anyhow::Result<AuthorizeOutcome> {
    let Some(request_uri) = params.request_uri.clone() else {
        return start_validated(ctx, params, false, browser_id, session).await;
    };
    let Some(id) = request_uri
        .strip_prefix(PAR_PREFIX)
        .filter(|i| !i.is_empty() && i.len() <= 100)
    else {
        return Ok(AuthorizeOutcome::ErrorPage {
            message_key: "authorize-request-uri-unknown",
        });
    };
    // Single use: taking it means a second visit with the same request_uri finds nothing.
    let Some(pushed) = take_json::<Vec<(String, String)>>(&*ctx.store, &par_key(id)).await? else {
        return Ok(AuthorizeOutcome::ErrorPage {
            message_key: "authorize-request-uri-expired",
        });
    };
    let pushed = AuthorizeParams::from_pairs(pushed);
    if params.client_id.is_some() && params.client_id != pushed.client_id {
        return Ok(AuthorizeOutcome::ErrorPage {
            message_key: "authorize-request-uri-other-app",
        });
    }
    start_validated(ctx, pushed, true, browser_id, session).await
}

async fn start_validated(
    ctx: &Ctx,
    params: AuthorizeParams,
    from_par: bool,
    browser_id: &str,
    session: Option<&Session>,
) -> anyhow::Result<AuthorizeOutcome> {
    let Some(client_id) = params.client_id.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(AuthorizeOutcome::ErrorPage {
            message_key: "authorize-client-id-missing",
        });
    };
    let Some(client) = ctx.clients.get(client_id).await? else {
        return Ok(AuthorizeOutcome::ErrorPage {
            message_key: "authorize-client-unknown",
        });
    };
    if params
        .repeated
        .iter()
        .any(|p| p == "client_id" || p == "redirect_uri")
    {
        return Ok(AuthorizeOutcome::ErrorPage {
            message_key: "authorize-repeated",
        });
    }
    let Some(redirect_uri) = params.redirect_uri.clone() else {
        return Ok(AuthorizeOutcome::ErrorPage {
            message_key: "authorize-redirect-uri-missing",
        });
    };
    if !client.redirect_uris.contains(&redirect_uri) {
        return Ok(AuthorizeOutcome::ErrorPage {
            message_key: "authorize-redirect-uri-mismatch",
        });
    }
    // From here on the redirect URI is trusted: errors go back to the app.
    let state = params.state.as_deref();
    let fail = |error: &str, description: &str| {
        error_redirect(ctx, &redirect_uri, error, description, state)
    };

    if let Some(p) = params.repeated.first() {
        return Ok(fail(
            "invalid_request",
            &format!("parameter {p} was sent more than once"),
        ));
    }
    if params.request.is_some() {
        return Ok(fail(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if !from_par && (client.require_par || ctx.settings.security.require_par) {
        return Ok(fail(
            "invalid_request",
            "this client must use a pushed authorization request (PAR)",
        ));
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        None => return Ok(fail("invalid_request", "response_type is required")),
        Some(_) => {
            return Ok(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if let Some(mode) = params.response_mode.as_deref() {
        if mode != "query" {
            return Ok(fail(
                "invalid_request",
                "only response_mode=query is supported",
            ));
        }
    }
    let proofing = ctx.settings.proofing.enabled;
    let supported = scopes::supported(proofing);
    let allowed_scopes = client.effective_scopes(proofing);
    let mut requested = scopes::parse(params.scope.as_deref().unwrap_or(""));
    if !requested.iter().any(|s| s == "openid") {
        return Ok(fail("invalid_scope", "scope must include openid"));
    }
    if let Some(bad) = requested.iter().find(|s| !supported.contains(&s.as_str())) {
        return Ok(fail("invalid_scope", &format!("unsupported scope {bad}")));
    }
    if let Some(bad) = requested.iter().find(|s| !allowed_scopes.contains(s)) {
        return Ok(fail(
            "invalid_scope",
            &format!("this client may not request scope {bad}"),
        ));
    }
    match (
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    ) {
        (None, Some(_)) => {
            return Ok(fail(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ))
        }
        (None, None) if client.public => {
            return Ok(fail(
                "invalid_request",
                "PKCE (code_challenge with S256) is required for public clients",
            ))
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Ok(fail(
                "invalid_request",
                "only code_challenge_method=S256 is supported",
            ))
        }
        (Some(_), None) => {
            return Ok(fail(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not supported)",
            ))
        }
        (Some(c), _) if !is_pkce_value(c) => {
            return Ok(fail("invalid_request", "code_challenge is malformed"))
        }
        _ => {}
    }
    let mut prompt = Prompt::default();
    for value in params
        .prompt
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // One account per browser: nothing to select.
            "select_account" => {}
            _ => {
                return Ok(fail(
                    "invalid_request",
                    "prompt holds a value that is not supported",
                ))
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Ok(fail(
            "invalid_request",
            "prompt=none can't be combined with other values",
        ));
    }
    let max_age = match params.max_age.as_deref() {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Ok(fail(
                    "invalid_request",
                    "max_age must be a non-negative integer",
                ))
            }
        },
    };
    if params.nonce.as_deref().is_some_and(|n| n.len() > 512)
        || params.state.as_deref().is_some_and(|s| s.len() > 2048)
    {
        return Ok(fail("invalid_request", "nonce or state is too long"));
    }

    let claims_request = match params.claims.as_deref().map(ClaimsRequest::parse) {
        None => ClaimsRequest::default(),
        Some(Ok(c)) => c,
        Some(Err(why)) => return Ok(fail("invalid_request", why)),
    };
    let acr_values = scopes::parse(params.acr_values.as_deref().unwrap_or(""));
    let acr = match acr_wanted(
        &acr_values,
        claims_request.essential_acr.as_deref(),
        client.may_use_ial2(proofing),
    ) {
        Ok(acr) => acr,
        Err(why) => return Ok(fail("unmet_authentication_requirements", why)),
    };
    // Asking for a claim is asking for what its scope releases: consent covers it the same way.
    for s in claims_request.implied_scopes() {
        if allowed_scopes.iter().any(|c| c == s) && !requested.iter().any(|r| r == s) {
            requested.push(s.to_string());
        }
    }
    // Names the ID token can never carry for this request aren't kept (the token endpoint
    // applies the same rule again).
    let id_token_claims =
        scopes::releasable_claims(&allowed_scopes, &requested, &claims_request.id_token)
            .into_iter()
            .map(str::to_string)
            .collect();
    let verified_names = verified_names(
        client.verified_claims_allowed(proofing),
        &allowed_scopes,
        &requested,
        acr.ial2.is_some(),
        &claims_request,
    );

    let pending = PendingAuthorization {
        client_id: client.client_id.clone(),
        client_name: client.name.clone(),
        redirect_uri,
        scopes: requested,
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_challenge: params.code_challenge.clone(),
        prompt,
        max_age,
        login_hint: params.login_hint.clone(),
        created_at: ctx.clock.unix_now(),
        session_at_start: session.map(|s| s.id.clone()),
        browser_id: browser_id.to_string(),
        consent_given: false,
        requires_aal2: acr.aal2,
        id_token_claims,
        ui_lang: params
            .ui_locales
            .as_deref()
            .and_then(crate::i18n::Lang::from_ui_locales),
        ial2: acr.ial2,
        phishing_resistant: acr.phishing_resistant,
        verified_id_token: claims_request.verified_id_token,
        verified_userinfo: claims_request.verified_userinfo,
        verified_names,
        verified_to_consent: Vec::new(),
    };
    decide(ctx, pending, None, session).await
}

/// The verified claims a request could release, in `claims::CLAIM_NAMES` order: those the
/// plain claims carry (the name and `birthdate` under IAL2, `address` always), those its
/// `verified_claims` requests name, and with the `verified_claims` scope every permitted one;
/// all within the client's permission.
fn verified_names(
    permitted: &[String],
    allowed_scopes: &[String],
    requested: &[String],
    ial2: bool,
    claims_request: &ClaimsRequest,
) -> Vec<String> {
    let plain = scopes::releasable_claims(allowed_scopes, requested, &scopes::all_person_claims());
    let mut wanted = scopes::verified_sources(&plain, ial2);
    for r in [
        &claims_request.verified_id_token,
        &claims_request.verified_userinfo,
    ]
    .into_iter()
    .flatten()
    {
        wanted.extend(r.names());
    }
    let by_scope = requested.iter().any(|s| s == "verified_claims");
    claims::CLAIM_NAMES
        .iter()
        .filter(|n| permitted.iter().any(|p| p == *n))
        .filter(|n| by_scope || wanted.iter().any(|w| w == *n))
        .map(|n| n.to_string())
        .collect()
}

/// Back from sign-in or consent: re-check the parked request and carry on.
pub async fn resume(
    ctx: &Ctx,
    pending_id: &str,
    browser_id: &str,
    session: Option<&Session>,
) -> anyhow::Result<AuthorizeOutcome> {
    match load_pending(ctx, pending_id, browser_id).await? {
        Some(pending) => decide(ctx, pending, Some(pending_id.to_string()), session).await,
        None => Ok(expired_request()),
    }
}

fn expired_request() -> AuthorizeOutcome {
    AuthorizeOutcome::Expired
}

pub async fn load_pending(
    ctx: &Ctx,
    pending_id: &str,
    browser_id: &str,
) -> anyhow::Result<Option<PendingAuthorization>> {
    if pending_id.is_empty() || pending_id.len() > 100 {
        return Ok(None);
    }
    let pending: Option<PendingAuthorization> =
        get_json(&*ctx.store, &pending_key(pending_id)).await?;
    Ok(pending.filter(|p| crypto::ct_eq(p.browser_id.as_bytes(), browser_id.as_bytes())))
}

/// What the consent page lists (locale keys).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ConsentItems {
    /// One line per scope that releases something.
    pub scopes: Vec<&'static str>,
    /// One line per kind of verified data (name, birth date, address).
    pub verified: Vec<&'static str>,
    /// The Social Security number would be released: said apart, prominently.
    pub ssn: bool,
}

/// What the consent page lists for this request: exactly what granting it can release
/// (see [`scopes::releasable_claims`]), including claims asked for by name, and the verified
/// data it would release.
pub async fn consent_items(
    ctx: &Ctx,
    pending: &PendingAuthorization,
) -> anyhow::Result<ConsentItems> {
    let allowed = match ctx.clients.get(&pending.client_id).await? {
        Some(client) => client.effective_scopes(ctx.settings.proofing.enabled),
        None => Vec::new(),
    };
    let (verified, ssn) = claims::consent_lines(&pending.verified_to_consent);
    Ok(ConsentItems {
        scopes: scopes::consent_items(&allowed, &pending.scopes, pending.ial2.is_some()),
        verified,
        ssn,
    })
}

/// The consent page's answer.
pub async fn consent_decision(
    ctx: &Ctx,
    pending_id: &str,
    browser_id: &str,
    session: Option<&Session>,
    allow: bool,
) -> anyhow::Result<AuthorizeOutcome> {
    let Some(mut pending) = load_pending(ctx, pending_id, browser_id).await? else {
        return Ok(expired_request());
    };
    let Some(session) = session else {
        return decide(ctx, pending, Some(pending_id.to_string()), None).await;
    };
    if !allow {
        if take_json::<PendingAuthorization>(&*ctx.store, &pending_key(pending_id))
            .await?
            .is_none()
        {
            return Ok(expired_request());
        }
        let now = ctx.clock.now();
        let (user, client) = (session.user_id.clone(), pending.client_id.clone());
        ctx.db
            .run(move |c| {
                crate::audit::record(
                    c,
                    now,
                    crate::audit::Event {
                        kind: crate::audit::Kind::ConsentDenied,
                        user_id: Some(&user),
                        client_id: Some(&client),
                        detail: serde_json::json!({}),
                        actor: None,
                    },
                )
            })
            .await?;
        return Ok(error_redirect(
            ctx,
            &pending.redirect_uri,
            "access_denied",
            "the user declined to share their information",
            pending.state.as_deref(),
        ));
    }
    let now = ctx.clock.now();
    // The verified data shown on the page is consented to by name, beside the scopes.
    let mut granted = pending.scopes.clone();
    granted.extend(claims::consent_scopes(&pending.verified_to_consent));
    let (user, client) = (session.user_id.clone(), pending.client_id.clone());
    ctx.db
        .run(move |c| {
            grants::record_consent(c, now, &user, &client, &granted)?;
            crate::audit::record(
                c,
                now,
                crate::audit::Event {
                    kind: crate::audit::Kind::ConsentGranted,
                    user_id: Some(&user),
                    client_id: Some(&client),
                    detail: serde_json::json!({ "scopes": granted }),
                    actor: None,
                },
            )
        })
        .await?;
    pending.consent_given = true;
    decide(ctx, pending, Some(pending_id.to_string()), Some(session)).await
}

async fn park(
    ctx: &Ctx,
    pending: &PendingAuthorization,
    pending_id: Option<String>,
) -> anyhow::Result<String> {
    let id = pending_id.unwrap_or_else(|| crypto::random_token(24));
    put_json(
        &*ctx.store,
        &pending_key(&id),
        pending,
        Duration::from_secs(ctx.settings.security.authorization_request_ttl_secs),
    )
    .await?;
    Ok(id)
}

/// The `claims` parameter asks for `verified_claims` (ID token or userinfo) naming a claim
/// this client may receive: like IAL2, that sends a person without a counting verification to
/// verify first. Anything else it can't have is left out of the answer, without an error.
fn asks_verified_claims(pending: &PendingAuthorization) -> bool {
    [&pending.verified_id_token, &pending.verified_userinfo]
        .into_iter()
        .flatten()
        .flat_map(claims::Requested::names)
        .any(|n| pending.verified_names.contains(&n))
}

async fn decide(
    ctx: &Ctx,
    mut pending: PendingAuthorization,
    pending_id: Option<String>,
    session: Option<&Session>,
) -> anyhow::Result<AuthorizeOutcome> {
    let now = ctx.clock.unix_now();
    let fail = |error: &str, description: &str| {
        error_redirect(
            ctx,
            &pending.redirect_uri,
            error,
            description,
            pending.state.as_deref(),
        )
    };
    let session = session.filter(|s| {
        let auth_time = s.auth_time.and_utc().timestamp();
        let fresh_enough = pending.max_age.is_none_or(|max| now - auth_time <= max);
        let after_prompt_login =
            !pending.prompt.login || pending.session_at_start.as_deref() != Some(s.id.as_str());
        let strong_enough = if pending.phishing_resistant.is_some() {
            s.acr == ACR_AAL2_PHISHING_RESISTANT
        } else {
            !pending.requires_aal2 || is_aal2(&s.acr)
        };
        fresh_enough && after_prompt_login && strong_enough
    });
    let Some(session) = session else {
        if pending.prompt.none {
            return Ok(fail("login_required", "the user is not signed in"));
        }
        let login_hint = pending.login_hint.clone();
        let pending_id = park(ctx, &pending, pending_id).await?;
        return Ok(AuthorizeOutcome::SignIn {
            pending_id,
            login_hint,
            ui_lang: pending.ui_lang,
        });
    };

    // Verified data needs a verification that counts now; IAL2, or `verified_claims` asked
    // by name, sends a person without one to verify first.
    let counting = if pending.ial2.is_some() || !pending.verified_names.is_empty() {
        let user = session.user_id.clone();
        ctx.db
            .run(move |c| crate::proofing::records::counting_verification(c, &user))
            .await?
            .map(|(v, _)| v.id)
    } else {
        None
    };
    let verified_now = counting.is_some();
    if (pending.ial2.is_some() || asks_verified_claims(&pending)) && !verified_now {
        if pending.prompt.none {
            return Ok(fail(
                "interaction_required",
                "the user must verify their identity first",
            ));
        }
        let pending_id = park(ctx, &pending, pending_id).await?;
        return Ok(AuthorizeOutcome::VerifyIdentity {
            pending_id,
            ui_lang: pending.ui_lang,
        });
    }
    // The verified data is in the person's vault: only a session that unlocked it (with the
    // password) can release it.
    if verified_now && !crate::proofing::vault::session_can_open(ctx, session).await? {
        if pending.prompt.none {
            return Ok(fail(
                "interaction_required",
                "the user must enter their password to share verified data",
            ));
        }
        let pending_id = park(ctx, &pending, pending_id).await?;
        return Ok(AuthorizeOutcome::UnlockIdentity {
            pending_id,
            ui_lang: pending.ui_lang,
        });
    }
    let verified_names = if verified_now {
        pending.verified_names.clone()
    } else {
        Vec::new()
    };

    let (user, client) = (session.user_id.clone(), pending.client_id.clone());
    let consented = ctx
        .db
        .run(move |c| grants::consented_scopes(c, &user, &client))
        .await?;
    let needs_consent = !pending.consent_given
        && (pending.prompt.consent
            || !scopes::covers(&consented, &pending.scopes)
            || !scopes::covers(&consented, &claims::consent_scopes(&verified_names)));
    if needs_consent {
        if pending.prompt.none {
            return Ok(fail(
                "consent_required",
                "the user has not allowed this app yet",
            ));
        }
        pending.verified_to_consent = verified_names;
        let pending_id = park(ctx, &pending, pending_id).await?;
        return Ok(AuthorizeOutcome::Consent {
            pending_id,
            ui_lang: pending.ui_lang,
        });
    }

    // Final step: the parked request is taken, so it can't complete twice.
    if let Some(id) = &pending_id {
        if take_json::<PendingAuthorization>(&*ctx.store, &pending_key(id))
            .await?
            .is_none()
        {
            return Ok(expired_request());
        }
    }
    // Released only what a consent named (a standing one, or the one just given).
    let names: Vec<String> = verified_names
        .into_iter()
        .filter(|n| consented.contains(&claims::consent_scope(n)))
        .collect();
    let code = crypto::random_token(32);
    // Only the counting verification's key goes with the code.
    let released_keys = match &counting {
        Some(vid) => {
            let unlocked =
                crate::proofing::vault::session_unlocked(ctx, &session.id, &session.vault_secret)
                    .await?;
            crate::proofing::vault::seal_for_code(&code, &unlocked.only(vid))?
        }
        None => None,
    };
    let issued = IssuedCode {
        client_id: pending.client_id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        user_id: session.user_id.clone(),
        session_id: session.id.clone(),
        scopes: pending.scopes.clone(),
        nonce: pending.nonce.clone(),
        code_challenge: pending.code_challenge.clone(),
        auth_time: session.auth_time.and_utc().timestamp(),
        amr: session.amr.clone(),
        // IAL2 echoes the value the RP asked for (its own or Login.gov's name).
        acr: pending
            .ial2
            .clone()
            .or_else(|| pending.phishing_resistant.clone())
            .unwrap_or_else(|| echoed_acr(&pending, &session.acr)),
        id_token_claims: pending.id_token_claims.clone(),
        verified: claims::Remembered {
            names,
            id_token: pending.verified_id_token.clone(),
            userinfo: pending.verified_userinfo.clone(),
        },
        released_keys,
    };
    put_json(
        &*ctx.store,
        &code_key(&code),
        &issued,
        Duration::from_secs(ctx.settings.security.auth_code_ttl_secs),
    )
    .await?;
    Ok(AuthorizeOutcome::Redirect(rp_redirect(
        &ctx.settings.issuer,
        &pending.redirect_uri,
        &[("code", &code)],
        pending.state.as_deref(),
    )))
}

/// The `claims` request parameter (OIDC Core §5.5), reduced to what Verity acts on.
#[derive(Debug, Default, Clone)]
pub struct ClaimsRequest {
    pub userinfo: Vec<String>,
    pub id_token: Vec<String>,
    /// The values of an essential `acr` in `id_token` (None: not essential, or no values).
    pub essential_acr: Option<Vec<String>>,
    /// `verified_claims` (OpenID Connect for Identity Assurance 1.0), per target.
    pub verified_id_token: Option<claims::Requested>,
    pub verified_userinfo: Option<claims::Requested>,
}

impl ClaimsRequest {
    pub fn parse(raw: &str) -> Result<ClaimsRequest, &'static str> {
        if raw.len() > 8192 {
            return Err("claims is too long");
        }
        let value: serde_json::Value =
            serde_json::from_str(raw).map_err(|_| "claims is not valid JSON")?;
        let Some(top) = value.as_object() else {
            return Err("claims must be a JSON object");
        };
        let mut out = ClaimsRequest::default();
        for (member, target, verified) in [
            ("userinfo", &mut out.userinfo, &mut out.verified_userinfo),
            ("id_token", &mut out.id_token, &mut out.verified_id_token),
        ] {
            match top.get(member) {
                None | Some(serde_json::Value::Null) => {}
                Some(serde_json::Value::Object(m)) => {
                    for (name, spec) in m {
                        if name == "verified_claims" {
                            *verified = Some(claims::parse(spec)?);
                            continue;
                        }
                        if !(spec.is_null() || spec.is_object()) {
                            return Err("each requested claim must be null or an object");
                        }
                        target.push(name.clone());
                    }
                }
                Some(_) => return Err("claims.userinfo and claims.id_token must be objects"),
            }
        }
        if let Some(acr) = top.get("id_token").and_then(|t| t.get("acr")) {
            let essential = acr
                .get("essential")
                .and_then(|e| e.as_bool())
                .unwrap_or(false);
            let mut values: Vec<String> = acr
                .get("values")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(v) = acr.get("value").and_then(|v| v.as_str()) {
                values.push(v.to_string());
            }
            if essential && !values.is_empty() {
                out.essential_acr = Some(values);
            }
        }
        Ok(out)
    }

    /// Scopes whose claims were asked for by name.
    pub fn implied_scopes(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for name in self.userinfo.iter().chain(self.id_token.iter()) {
            let Some(scope) = scopes::scope_of_claim(name) else {
                continue;
            };
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ial2_is_asked_by_either_name_and_echoed_as_asked() {
        for alias in ACR_IAL2_ALIASES {
            let got = acr_wanted(&v(&[alias]), None, true).unwrap();
            assert_eq!(got.ial2.as_deref(), Some(*alias));
            assert!(got.aal2, "IAL2 implies AAL2");
            let got = acr_wanted(&[], Some(&v(&[alias])), true).unwrap();
            assert_eq!(got.ial2.as_deref(), Some(*alias));
        }
    }

    #[test]
    fn ial2_without_permission_is_refused_unless_something_else_is_offered() {
        assert!(acr_wanted(&v(&["urn:verity:ial2"]), None, false).is_err());
        assert!(acr_wanted(&[], Some(&v(&["urn:verity:ial2"])), false).is_err());
        let got = acr_wanted(&v(&["urn:verity:ial2", "urn:verity:aal2"]), None, false).unwrap();
        assert_eq!(
            got,
            AcrWanted {
                ial2: None,
                aal2: true,
                phishing_resistant: None,
            }
        );
        let got = acr_wanted(
            &[],
            Some(&v(&["urn:verity:ial2", "urn:verity:aal1"])),
            false,
        )
        .unwrap();
        assert_eq!(got, AcrWanted::default());
    }

    #[test]
    fn a_phishing_resistant_acr_is_kept_as_asked_and_implies_aal2() {
        for alias in ACR_PHISHING_RESISTANT_ALIASES {
            let got = acr_wanted(&v(&[alias]), None, false).unwrap();
            assert_eq!(got.phishing_resistant.as_deref(), Some(*alias));
            assert!(got.aal2);
            let got = acr_wanted(&[], Some(&v(&[alias])), false).unwrap();
            assert_eq!(got.phishing_resistant.as_deref(), Some(*alias));
        }
        // An essential acr that plain AAL2 also meets doesn't demand a key.
        let got = acr_wanted(
            &[],
            Some(&v(&[
                "urn:verity:aal2:phishing-resistant",
                "urn:verity:aal2",
            ])),
            false,
        )
        .unwrap();
        assert_eq!(got.phishing_resistant, None);
        assert!(got.aal2);
    }

    #[test]
    fn an_essential_acr_is_met_by_the_weakest_level_it_accepts() {
        let got = acr_wanted(&[], Some(&v(&["urn:verity:ial2", "urn:verity:aal2"])), true).unwrap();
        assert_eq!(
            got,
            AcrWanted {
                ial2: None,
                aal2: true,
                phishing_resistant: None,
            }
        );
        let got = acr_wanted(&[], Some(&v(&["urn:verity:aal1", "urn:verity:aal2"])), true).unwrap();
        assert_eq!(got, AcrWanted::default());
        assert!(acr_wanted(&[], Some(&v(&["urn:other:loa3"])), true).is_err());
    }

    #[test]
    fn verified_claims_in_the_claims_parameter_are_read_per_target() {
        let raw = serde_json::json!({
            "id_token": { "verified_claims": { "verification": { "trust_framework": null },
                                               "claims": { "given_name": null } } },
            "userinfo": { "email": null, "verified_claims": [
                { "verification": {}, "claims": { "address": null } } ] }
        })
        .to_string();
        let c = ClaimsRequest::parse(&raw).unwrap();
        assert_eq!(
            c.userinfo,
            vec!["email"],
            "verified_claims is not a plain claim"
        );
        assert_eq!(c.verified_id_token.unwrap().names(), vec!["given_name"]);
        let ui = c.verified_userinfo.unwrap();
        assert!(ui.array);
        assert_eq!(ui.names(), vec!["address"]);
        let bad = r#"{"userinfo":{"verified_claims":{"claims":{}}}}"#;
        assert!(ClaimsRequest::parse(bad).is_err());
    }
}
