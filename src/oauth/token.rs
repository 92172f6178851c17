//! The token endpoint: client authentication and the `authorization_code` grant, minting the
//! ID token (openidconnect types, signed through aws-lc-rs) and the JWT access token
//! (RFC 9068, jsonwebtoken). Errors are RFC 6749 §5.2.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use openidconnect::core::{CoreGenderClaim, CoreJweContentEncryptionAlgorithm};
use openidconnect::{
    AccessToken, AdditionalClaims, Audience, AuthenticationContextClass,
    AuthenticationMethodReference, AuthorizationCode, IdToken, IdTokenClaims, IssuerUrl, Nonce,
    StandardClaims, SubjectIdentifier,
};
use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::keys::SigningKey;

use crate::oauth::authorize::{code_key, replayed_code_key, used_code_key, IssuedCode};
use crate::oauth::clients::{Client, GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS};
use crate::oauth::error::ErrorDescription;
use crate::oauth::grants::{self, Grant};
use crate::oauth::subject::Subject;
use crate::oauth::userinfo::VerifiedSource;
use crate::storage::store::take_json;
use crate::Ctx;

/// Claims we add to the ID token beyond the standard set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerityIdClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// OpenID Connect for Identity Assurance 1.0, as the `claims` parameter asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_claims: Option<serde_json::Value>,
}
impl AdditionalClaims for VerityIdClaims {}

pub type VerityIdToken = IdToken<
    VerityIdClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJwsSigningAlgorithm,
>;

/// An RFC 6749 §5.2 error.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenError {
    pub error: &'static str,
    /// Only RFC 6749's characters (see [`ErrorDescription`]).
    pub description: ErrorDescription,
    /// `invalid_client` after HTTP Basic gets 401 with `WWW-Authenticate: Basic`.
    pub status: u16,
    pub basic_challenge: bool,
}

impl TokenError {
    pub fn new(error: &'static str, description: impl AsRef<str>) -> TokenError {
        TokenError {
            error,
            description: ErrorDescription::new(description),
            status: 400,
            basic_challenge: false,
        }
    }
    fn invalid_client(used_basic: bool) -> TokenError {
        TokenError {
            error: "invalid_client",
            description: "client authentication failed".into(),
            status: 401,
            basic_challenge: used_basic,
        }
    }
}

/// How the client presented itself.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    Basic {
        client_id: String,
        secret: String,
    },
    Post {
        client_id: String,
        secret: String,
    },
    /// `private_key_jwt`: a signed assertion.
    Assertion {
        client_id: String,
        assertion: String,
    },
    /// A public client: `client_id` only.
    None {
        client_id: String,
    },
    Missing,
}

/// Decodes an `Authorization: Basic` value; id and secret are form-urlencoded (RFC 6749 §2.3.1).
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let b64 = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

#[derive(Debug, Default)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
    /// Thumbprint of the key of a verified DPoP proof sent with the request (set by the
    /// HTTP layer after checking the `DPoP` header, never read from the form).
    pub dpop_jkt: Option<String>,
    /// Revocation and introspection.
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
    pub repeated: Vec<String>,
}

impl TokenForm {
    pub fn from_pairs<I, K, V>(pairs: I) -> TokenForm
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut f = TokenForm::default();
        for (k, v) in pairs {
            let k = k.as_ref();
            let slot = match k {
                "grant_type" => &mut f.grant_type,
                "code" => &mut f.code,
                "redirect_uri" => &mut f.redirect_uri,
                "code_verifier" => &mut f.code_verifier,
                "client_id" => &mut f.client_id,
                "client_secret" => &mut f.client_secret,
                "refresh_token" => &mut f.refresh_token,
                "scope" => &mut f.scope,
                "token" => &mut f.token,
                "client_assertion_type" => &mut f.client_assertion_type,
                "client_assertion" => &mut f.client_assertion,
                "token_type_hint" => &mut f.token_type_hint,
                _ => continue,
            };
            if slot.is_some() {
                f.repeated.push(k.to_string());
            }
            *slot = Some(v.into());
        }
        f
    }
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// The access token's claims (RFC 9068).
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The grant this token came from; revoking the grant revokes the token. Absent for
    /// client_credentials tokens, which stand for the client itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// DPoP binding (RFC 9449): the thumbprint of the key every use must prove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Confirmation {
    pub jkt: String,
}

/// What a set of tokens says: for a person (code and refresh grants) or for a client.
pub struct Issue {
    pub client_id: String,
    /// The person; None for client_credentials (the subject is the client).
    pub user_id: Option<String>,
    /// The `sub` this client sees (pairwise or public), or the client id for client_credentials.
    pub subject: Subject,
    pub scopes: Vec<String>,
    pub session_id: Option<String>,
    pub auth_time: Option<i64>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub nonce: Option<String>,
    pub grant_id: Option<String>,
    /// DPoP key thumbprint to bind the access token to.
    pub jkt: Option<String>,
    /// Claims for the ID token, with their values: only what
    /// [`crate::oauth::scopes::releasable_claims`] let through.
    pub id_token_claims: serde_json::Map<String, serde_json::Value>,
}

pub async fn authenticate_client(
    ctx: &Ctx,
    auth: &ClientAuth,
) -> Result<std::sync::Arc<Client>, TokenError> {
    if let ClientAuth::Assertion {
        client_id,
        assertion,
    } = auth
    {
        let client = ctx
            .clients
            .get(client_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| TokenError::invalid_client(false))?;
        return match crate::oauth::client_assertion::verify(ctx, &client, assertion).await {
            Ok(true) => Ok(client),
            Ok(false) => Err(TokenError::invalid_client(false)),
            Err(e) => Err(internal(e)),
        };
    }
    let (client_id, secret, basic) = match auth {
        ClientAuth::Basic { client_id, secret } => (client_id, Some(secret), true),
        ClientAuth::Post { client_id, secret } => (client_id, Some(secret), false),
        ClientAuth::None { client_id } => (client_id, None, false),
        ClientAuth::Missing | ClientAuth::Assertion { .. } => {
            return Err(TokenError::invalid_client(false))
        }
    };
    let client = ctx
        .clients
        .get(client_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| TokenError::invalid_client(basic))?;
    if client.token_endpoint_auth_method == "private_key_jwt" {
        // A client registered for private_key_jwt never authenticates with a secret.
        return Err(TokenError::invalid_client(basic));
    }
    match (client.public, secret) {
        (true, None) => Ok(client),
        (false, Some(s)) if client.secret_matches(s) => Ok(client),
        _ => Err(TokenError::invalid_client(basic)),
    }
}

pub fn internal(e: anyhow::Error) -> TokenError {
    tracing::error!(error = %format!("{e:#}"), "token endpoint failure");
    TokenError {
        error: "server_error",
        description: "the server could not complete the request; try again".into(),
        status: 500,
        basic_challenge: false,
    }
}

/// Revokes the grant a replayed authorization code produced; audited once, by whoever revokes
/// it (the replay, or the exchange that notices a replay overlapped it).
async fn revoke_for_replay(ctx: &Ctx, grant_id: String) -> Result<(), TokenError> {
    ctx.metrics.authorization_code_replayed();
    let now = ctx.clock.now();
    let revoked = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let done = grants::revoke(c, now, &grant_id, "authorization code replayed")?;
                if done {
                    crate::audit::record(
                        c,
                        now,
                        crate::audit::Event {
                            kind: crate::audit::Kind::CodeReplayRevokedGrant,
                            user_id: None,
                            client_id: None,
                            detail: serde_json::json!({ "grant": grant_id }),
                            actor: None,
                        },
                    )?;
                }
                Ok::<_, anyhow::Error>(done)
            })
        })
        .await
        .map_err(internal)?;
    tracing::warn!(
        revoked,
        "authorization code replayed; tokens from it revoked"
    );
    Ok(())
}

pub async fn exchange(
    ctx: &Ctx,
    auth: ClientAuth,
    form: TokenForm,
) -> Result<TokenResponse, TokenError> {
    if let Some(p) = form.repeated.first() {
        return Err(TokenError::new(
            "invalid_request",
            format!("parameter {p} was sent more than once"),
        ));
    }
    let client = authenticate_client(ctx, &auth).await?;
    let grant_type = form
        .grant_type
        .clone()
        .ok_or_else(|| TokenError::new("invalid_request", "grant_type is required"))?;
    if !crate::oauth::clients::GRANT_TYPES.contains(&grant_type.as_str()) {
        return Err(TokenError::new(
            "unsupported_grant_type",
            "this grant_type is not supported",
        ));
    }
    if !client.allows_grant(&grant_type) {
        return Err(TokenError::new(
            "unauthorized_client",
            format!("this client may not use {grant_type}"),
        ));
    }
    match grant_type.as_str() {
        "refresh_token" => return crate::oauth::refresh::refresh(ctx, &client, &form).await,
        "client_credentials" => return client_credentials(ctx, &client, &form).await,
        _ => {}
    }
    let code = form
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 128)
        .ok_or_else(|| TokenError::new("invalid_request", "code is required"))?;
    let issued: Option<IssuedCode> = take_json(&*ctx.store, &code_key(code))
        .await
        .map_err(internal)?;
    let Some(issued) = issued else {
        // A second use of a code: revoke what the first use produced (RFC 6749 §4.1.2). The
        // first use may still be running, its grant not stored yet: the mark (set before
        // looking) tells it to revoke that grant itself. Either way, it ends up revoked.
        ctx.store
            .put(
                &replayed_code_key(code),
                "1",
                Duration::from_secs(ctx.settings.security.auth_code_ttl_secs),
            )
            .await
            .map_err(internal)?;
        if let Some(grant_id) = ctx
            .store
            .get(&used_code_key(code))
            .await
            .map_err(internal)?
        {
            revoke_for_replay(ctx, grant_id).await?;
            return Err(TokenError::new(
                "invalid_grant",
                "authorization code was already used",
            ));
        }
        return Err(TokenError::new(
            "invalid_grant",
            "authorization code is invalid or expired",
        ));
    };
    if issued.client_id != client.client_id {
        return Err(TokenError::new(
            "invalid_grant",
            "authorization code was issued to another client",
        ));
    }
    if form.redirect_uri.as_deref() != Some(issued.redirect_uri.as_str()) {
        return Err(TokenError::new(
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&issued.code_challenge, form.code_verifier.as_deref()) {
        (Some(challenge), Some(verifier)) => {
            let computed = crypto::b64url(&crypto::sha256(verifier.as_bytes()));
            let well_formed = (43..=128).contains(&verifier.len());
            if !well_formed || !crypto::ct_eq(computed.as_bytes(), challenge.as_bytes()) {
                return Err(TokenError::new("invalid_grant", "PKCE verification failed"));
            }
        }
        (Some(_), None) => {
            return Err(TokenError::new(
                "invalid_grant",
                "code_verifier is required",
            ))
        }
        (None, Some(_)) => {
            return Err(TokenError::new(
                "invalid_grant",
                "code_verifier sent but no code_challenge was used",
            ))
        }
        (None, None) => {}
    }

    // IAL2 stands only while the verification counts (it may have been removed since).
    let unlocked = crate::proofing::vault::open_for_code(code, issued.released_keys.as_deref());
    let verified = VerifiedSource::load(
        ctx,
        &client,
        &issued.user_id,
        &issued.acr,
        &issued.verified,
        crate::oauth::userinfo::VaultKeys::Given(&unlocked),
    )
    .await
    .map_err(internal)?;
    if verified.ial2 && !verified.counts {
        return Err(TokenError::new(
            "invalid_grant",
            "the identity verification behind this code no longer counts",
        ));
    }
    let claims_request = if issued.verified.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&issued.verified).map_err(|e| internal(e.into()))?)
    };

    let now = ctx.clock.now();
    let offline = issued.scopes.iter().any(|s| s == "offline_access");
    let wants_refresh = offline || client.allows_grant(crate::oauth::clients::GRANT_REFRESH_TOKEN);
    let grant = Grant {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: issued.user_id.clone(),
        client_id: client.client_id.clone(),
        session_id: Some(issued.session_id.clone()),
        scopes: issued.scopes.join(" "),
        created_at: now,
        revoked_at: None,
        revoked_reason: None,
        offline_access: offline,
        auth_time: chrono::DateTime::from_timestamp(issued.auth_time, 0).map(|t| t.naive_utc()),
        acr: issued.acr.clone(),
        amr: issued.amr.join(" "),
        claims_request,
    };
    let sec = &ctx.settings.security;
    // Remember the code as used for as long as tokens from it can live.
    let remember = Duration::from_secs(
        sec.access_token_ttl_secs
            .max(sec.id_token_ttl_secs)
            .max(sec.refresh_token_ttl_days * 86400)
            + 60,
    );
    ctx.store
        .put(&used_code_key(code), &grant.id, remember)
        .await
        .map_err(internal)?;
    // `/userinfo` and refreshes read the verified data for a while after the sign-in (only
    // when this grant may receive it).
    if verified.ial2 || !verified.names.is_empty() {
        crate::proofing::vault::keep_for_grant(ctx, &grant.id, &unlocked)
            .await
            .map_err(internal)?;
    }
    let row = grant.clone();
    let refresh_ttl = chrono::Duration::days(sec.refresh_token_ttl_days as i64);
    let stored = ctx
        .db
        .run(move |c| {
            let user = crate::accounts::users::by_id(c, &row.user_id)?;
            if user.as_ref().is_none_or(|u| u.disabled) {
                return Ok(None);
            }
            crate::storage::db::write_tx(c, |c| {
                grants::insert(c, &row)?;
                let refresh = if wants_refresh {
                    Some(grants::issue_refresh_token(c, now, &row.id, &row.scopes, refresh_ttl)?)
                } else {
                    None
                };
                crate::audit::record(
                    c,
                    now,
                    crate::audit::Event {
                        kind: crate::audit::Kind::TokensIssued,
                        user_id: Some(&row.user_id),
                        client_id: Some(&row.client_id),
                        detail: serde_json::json!({ "grant": row.id, "scopes": row.scopes, "refresh_token": refresh.is_some() }),
                        actor: None,
                    },
                )?;
                Ok(Some(refresh))
            })
        })
        .await
        .map_err(internal)?;
    let Some(refresh_token) = stored else {
        return Err(TokenError::new(
            "invalid_grant",
            "the account is no longer active",
        ));
    };
    // Presented again while this exchange ran (before its grant existed to be revoked): the
    // grant goes now, and no tokens leave. An ID token can't be revoked, so none is handed out
    // for a code known to be used twice; only a replay that comes after this answer is too late.
    if ctx
        .store
        .get(&replayed_code_key(code))
        .await
        .map_err(internal)?
        .is_some()
    {
        revoke_for_replay(ctx, grant.id.clone()).await?;
        return Err(TokenError::new(
            "invalid_grant",
            "authorization code was used more than once",
        ));
    }
    let issue = Issue {
        client_id: client.client_id.clone(),
        subject: crate::oauth::subject::for_client(ctx, &client, &issued.user_id),
        user_id: Some(issued.user_id.clone()),
        scopes: issued.scopes.clone(),
        session_id: Some(issued.session_id.clone()),
        auth_time: Some(issued.auth_time),
        acr: Some(issued.acr.clone()),
        amr: issued.amr.clone(),
        nonce: issued.nonce.clone(),
        grant_id: Some(grant.id.clone()),
        jkt: form.dpop_jkt.clone(),
        id_token_claims: Default::default(),
    };
    let mut issue = issue;
    let released = crate::oauth::scopes::releasable_claims(
        &client.effective_scopes(ctx.settings.proofing.enabled),
        &issued.scopes,
        &issued.id_token_claims,
    );
    if !released.is_empty() {
        let uid = issued.user_id.clone();
        let user = ctx
            .db
            .run(move |c| crate::accounts::users::by_id(c, &uid))
            .await
            .map_err(internal)?
            .ok_or_else(|| TokenError::new("invalid_grant", "the account is no longer active"))?;
        issue.id_token_claims =
            crate::oauth::userinfo::person_claims(ctx, &user, &released, &verified)
                .await
                .map_err(internal)?;
    }
    if let Some(v) = issued
        .verified
        .id_token
        .as_ref()
        .and_then(|r| verified.verified_claims(r, now))
    {
        issue.id_token_claims.insert("verified_claims".into(), v);
    }
    respond(ctx, GRANT_AUTHORIZATION_CODE, &issue, refresh_token)
}

/// For a refresh (after the token rotated): an IAL2 grant whose verification no longer counts
/// is revoked and refused; otherwise the new ID token's `verified_claims`, as the original
/// request asked for them.
pub async fn refresh_verified(
    ctx: &Ctx,
    client: &Client,
    grant: &Grant,
) -> Result<serde_json::Map<String, serde_json::Value>, TokenError> {
    let remembered = grant.remembered();
    let mut out = serde_json::Map::new();
    if !is_ial2(&grant.acr) && remembered.id_token.is_none() {
        return Ok(out);
    }
    let verified = VerifiedSource::load(
        ctx,
        client,
        &grant.user_id,
        &grant.acr,
        &remembered,
        crate::oauth::userinfo::VaultKeys::OfGrant(&grant.id),
    )
    .await
    .map_err(internal)?;
    if verified.ial2 && !verified.counts {
        let (now, id) = (ctx.clock.now(), grant.id.clone());
        ctx.db
            .run(move |c| grants::revoke(c, now, &id, "identity verification no longer counts"))
            .await
            .map_err(internal)?;
        return Err(TokenError::new(
            "invalid_grant",
            "the identity verification behind this grant no longer counts; sign in again",
        ));
    }
    if let Some(v) = remembered
        .id_token
        .as_ref()
        .and_then(|r| verified.verified_claims(r, ctx.clock.now()))
    {
        out.insert("verified_claims".into(), v);
    }
    Ok(out)
}

fn is_ial2(acr: &str) -> bool {
    crate::oauth::authorize::is_ial2(acr)
}

/// Mints the access token, and the ID token when `openid` was granted to a person; counted
/// by `grant_type` (the `/token` grant that led here) and the signing algorithm.
pub fn respond(
    ctx: &Ctx,
    grant_type: &'static str,
    issue: &Issue,
    refresh_token: Option<String>,
) -> Result<TokenResponse, TokenError> {
    let signer = ctx
        .keys
        .ring()
        .signer(ctx.clock.now())
        .ok_or_else(|| internal(anyhow::anyhow!("no active signing key")))?;
    let access_token = mint_access_token(ctx, &signer, issue).map_err(internal)?;
    let id_token = if issue.user_id.is_some() && issue.scopes.iter().any(|s| s == "openid") {
        Some(mint_id_token(ctx, &signer, issue, &access_token).map_err(internal)?)
    } else {
        None
    };
    ctx.metrics.tokens_issued(grant_type, signer.alg.as_str());
    Ok(TokenResponse {
        access_token,
        token_type: if issue.jkt.is_some() {
            "DPoP"
        } else {
            "Bearer"
        },
        expires_in: ctx.settings.security.access_token_ttl_secs,
        id_token,
        refresh_token,
        scope: issue.scopes.join(" "),
    })
}

/// client_credentials: a token for the client itself. Nothing is written to the database.
async fn client_credentials(
    ctx: &Ctx,
    client: &Client,
    form: &TokenForm,
) -> Result<TokenResponse, TokenError> {
    if client.public {
        return Err(TokenError::new(
            "unauthorized_client",
            "public clients can't use client_credentials",
        ));
    }
    let requested = match form.scope.as_deref() {
        Some(s) => crate::oauth::scopes::parse(s),
        // No scope asked: everything the client may have, except OIDC's person scopes.
        None => client
            .scopes
            .iter()
            .filter(|s| !crate::oauth::scopes::is_person_scope(s))
            .cloned()
            .collect(),
    };
    // An admin client allowed `verity:admin` may narrow it to any per-area admin scope.
    let allowed = |s: &String| {
        client.scopes.contains(s)
            || (crate::oauth::clients::is_admin_scope(s)
                && client.scopes.iter().any(|c| c == "verity:admin"))
    };
    if let Some(bad) = requested
        .iter()
        .find(|s| !allowed(s) || crate::oauth::scopes::is_person_scope(s))
    {
        return Err(TokenError::new(
            "invalid_scope",
            format!("this client may not request scope {bad}"),
        ));
    }
    if requested
        .iter()
        .any(|s| crate::oauth::clients::is_admin_scope(s))
        && !client.admin
    {
        return Err(TokenError::new(
            "invalid_scope",
            "verity:admin scopes are for admin clients only",
        ));
    }
    let issue = Issue {
        client_id: client.client_id.clone(),
        subject: Subject::client_itself(client),
        user_id: None,
        scopes: requested,
        session_id: None,
        auth_time: None,
        acr: None,
        amr: vec![],
        nonce: None,
        grant_id: None,
        jkt: form.dpop_jkt.clone(),
        id_token_claims: Default::default(),
    };
    respond(ctx, GRANT_CLIENT_CREDENTIALS, &issue, None)
}

fn mint_access_token(ctx: &Ctx, key: &SigningKey, issue: &Issue) -> anyhow::Result<String> {
    let now = ctx.clock.unix_now();
    let claims = AccessTokenClaims {
        iss: ctx.settings.issuer.clone(),
        sub: issue.subject.to_string(),
        // The resource is our own userinfo endpoint (and, for clients, our APIs).
        aud: format!("{}/userinfo", ctx.settings.issuer),
        client_id: issue.client_id.clone(),
        exp: now + ctx.settings.security.access_token_ttl_secs as i64,
        iat: now,
        jti: crypto::random_token(16),
        scope: issue.scopes.join(" "),
        auth_time: issue.auth_time,
        acr: issue.acr.clone(),
        amr: issue.amr.clone(),
        gid: issue.grant_id.clone(),
        cnf: issue.jkt.clone().map(|jkt| Confirmation { jkt }),
    };
    key.sign_jwt("at+jwt", &claims)
}

fn mint_id_token(
    ctx: &Ctx,
    key: &SigningKey,
    issue: &Issue,
    access_token: &str,
) -> anyhow::Result<String> {
    let now = ctx.clock.now().and_utc();
    let exp = now + chrono::Duration::seconds(ctx.settings.security.id_token_ttl_secs as i64);
    if issue.user_id.is_none() {
        anyhow::bail!("ID token without a person");
    }
    let mut standard = StandardClaims::new(SubjectIdentifier::new(issue.subject.to_string()));
    let text = |k: &str| {
        issue
            .id_token_claims
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let flag = |k: &str| issue.id_token_claims.get(k).and_then(|v| v.as_bool());
    if let Some(v) = text("email") {
        standard = standard.set_email(Some(openidconnect::EndUserEmail::new(v)));
    }
    standard = standard.set_email_verified(flag("email_verified"));
    if let Some(v) = text("phone_number") {
        standard = standard.set_phone_number(Some(openidconnect::EndUserPhoneNumber::new(v)));
    }
    standard = standard.set_phone_number_verified(flag("phone_number_verified"));
    if let Some(v) = text("name") {
        let mut l = openidconnect::LocalizedClaim::new();
        l.insert(None, openidconnect::EndUserName::new(v));
        standard = standard.set_name(Some(l));
    }
    if let Some(v) = text("given_name") {
        let mut l = openidconnect::LocalizedClaim::new();
        l.insert(None, openidconnect::EndUserGivenName::new(v));
        standard = standard.set_given_name(Some(l));
    }
    if let Some(t) = issue
        .id_token_claims
        .get("updated_at")
        .and_then(|v| v.as_i64())
        .and_then(|t| Utc.timestamp_opt(t, 0).single())
    {
        standard = standard.set_updated_at(Some(t));
    }
    if let Some(v) = text("family_name") {
        let mut l = openidconnect::LocalizedClaim::new();
        l.insert(None, openidconnect::EndUserFamilyName::new(v));
        standard = standard.set_family_name(Some(l));
    }
    if let Some(v) = text("birthdate") {
        standard = standard.set_birthdate(Some(openidconnect::EndUserBirthday::new(v)));
    }
    if let Some(a) = issue.id_token_claims.get("address") {
        standard = standard.set_address(Some(
            serde_json::from_value::<openidconnect::AddressClaim>(a.clone())?,
        ));
    }
    let mut claims = IdTokenClaims::new(
        IssuerUrl::new(ctx.settings.issuer.clone())?,
        vec![Audience::new(issue.client_id.clone())],
        exp,
        now,
        standard,
        VerityIdClaims {
            sid: issue.session_id.clone(),
            verified_claims: issue.id_token_claims.get("verified_claims").cloned(),
        },
    )
    .set_auth_method_refs(Some(
        issue
            .amr
            .iter()
            .map(|a| AuthenticationMethodReference::new(a.clone()))
            .collect(),
    ));
    if let Some(t) = issue
        .auth_time
        .and_then(|t| Utc.timestamp_opt(t, 0).single())
    {
        claims = claims.set_auth_time(Some(t));
    }
    if let Some(acr) = &issue.acr {
        claims = claims.set_auth_context_ref(Some(AuthenticationContextClass::new(acr.clone())));
    }
    if let Some(nonce) = &issue.nonce {
        claims = claims.set_nonce(Some(Nonce::new(nonce.clone())));
    }
    let token = VerityIdToken::new(
        claims,
        key,
        key.jws_alg(),
        Some(&AccessToken::new(access_token.to_string())),
        None::<&AuthorizationCode>,
    )?;
    Ok(token.to_string())
}
