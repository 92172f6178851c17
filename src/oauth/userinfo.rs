//! `/userinfo`: a Bearer access token in, the claims its scopes allow out.

use serde_json::{json, Map, Value};

use crate::oauth::clients::Client;
use crate::oauth::grants;
use crate::oauth::token::AccessTokenClaims;
use crate::proofing::claims::{self, Remembered, Requested};
use crate::proofing::records::VerifiedIdentity;
use crate::Ctx;

/// Where the vault keys that open the verified data come from.
pub enum VaultKeys<'a> {
    /// Already at hand (an authorization code's).
    Given(&'a crate::proofing::vault::Unlocked),
    /// Kept for this grant after its sign-in (`proofing::vault::keep_for_grant`).
    OfGrant(&'a str),
}

/// Where verified values come from for one grant.
pub struct VerifiedSource {
    /// The grant is IAL2 (its `acr` is an IAL2 value): the name claims come from the
    /// verification only, never from the profile.
    pub ial2: bool,
    /// A verification counts now (read only when something needs it), unlocked or not.
    pub counts: bool,
    /// The person's verification if one counts now and `unlocked` opens its vault.
    pub identity: Option<VerifiedIdentity>,
    /// What may be released: the names the person allowed for the grant, within what the
    /// client is permitted now (and nothing while proofing is off).
    pub names: Vec<String>,
}

impl VerifiedSource {
    pub async fn load(
        ctx: &Ctx,
        client: &Client,
        user_id: &str,
        acr: &str,
        remembered: &Remembered,
        keys: VaultKeys<'_>,
    ) -> anyhow::Result<VerifiedSource> {
        let permitted = client.verified_claims_allowed(ctx.settings.proofing.enabled);
        let names: Vec<String> = remembered
            .names
            .iter()
            .filter(|n| permitted.contains(n))
            .cloned()
            .collect();
        let ial2 = crate::oauth::authorize::is_ial2(acr);
        let verified = if ial2 || !names.is_empty() {
            // Read only when verified data may be released: the grant's keys cost a store read.
            let unlocked = match keys {
                VaultKeys::Given(u) => u.clone(),
                VaultKeys::OfGrant(id) => crate::proofing::vault::grant_unlocked(ctx, id).await?,
            };
            let (uid, master) = (user_id.to_string(), ctx.master.clone());
            ctx.db
                .run(move |c| {
                    crate::proofing::records::current_verified(c, &master, &uid, &unlocked)
                })
                .await?
        } else {
            crate::proofing::records::Verified::None
        };
        Ok(VerifiedSource {
            ial2,
            counts: verified.counts(),
            identity: verified.identity(),
            names,
        })
    }

    /// A verified value, if it may be released.
    fn value(&self, name: &str) -> Option<Value> {
        if !self.names.iter().any(|n| n == name) {
            return None;
        }
        claims::claim_value(self.identity.as_ref()?, name)
    }

    /// The answer to a `verified_claims` request (None: nothing to release).
    pub fn verified_claims(&self, req: &Requested, now: chrono::NaiveDateTime) -> Option<Value> {
        claims::answer(req, self.identity.as_ref()?, &self.names, now)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum UserinfoError {
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    InvalidToken(&'static str),
    /// 401 with a bare `WWW-Authenticate: Bearer` (no token sent).
    MissingToken,
    /// 401 with `WWW-Authenticate: DPoP error="invalid_dpop_proof"`.
    InvalidDpopProof(&'static str),
    /// 401 with `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a `DPoP-Nonce` header.
    UseDpopNonce(String),
}

/// How the access token was presented.
pub struct Presented<'a> {
    pub token: &'a str,
    /// `Authorization: DPoP …` rather than `Bearer …`.
    pub dpop_scheme: bool,
    /// The `DPoP` proof header, if any.
    pub proof: Option<&'a str>,
    pub method: &'a str,
}

/// Checks an access token we issued: signature by a published key, `typ`, issuer, audience,
/// expiry, and that its grant has not been revoked.
pub async fn verify_access_token(
    ctx: &Ctx,
    token: &str,
) -> anyhow::Result<Result<AccessTokenClaims, UserinfoError>> {
    Ok(verify_with_grant(ctx, token)
        .await?
        .map(|(claims, _)| claims))
}

/// As [`verify_access_token`], also returning the grant row it checked (None for
/// client_credentials tokens), so callers don't read it again.
async fn verify_with_grant(
    ctx: &Ctx,
    token: &str,
) -> anyhow::Result<Result<(AccessTokenClaims, Option<grants::Grant>), UserinfoError>> {
    let invalid = |why| Ok(Err(UserinfoError::InvalidToken(why)));
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return invalid("malformed token");
    };
    if header.typ.as_deref().map(|t| t.to_ascii_lowercase()) != Some("at+jwt".into()) {
        return invalid("not an access token");
    }
    let Some(key) = header
        .kid
        .as_deref()
        .and_then(|kid| ctx.keys.ring().verifier(kid))
    else {
        return invalid("unknown signing key");
    };
    let mut validation = jsonwebtoken::Validation::new(key.jwt_alg());
    validation.set_issuer(&[&ctx.settings.issuer]);
    validation.set_audience(&[format!("{}/userinfo", ctx.settings.issuer)]);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Our clock may be moved in tests; validate exp against it, not the system clock.
    validation.validate_exp = false;
    let Ok(data) =
        jsonwebtoken::decode::<AccessTokenClaims>(token, key.decoding_key(), &validation)
    else {
        return invalid("bad signature or claims");
    };
    if data.claims.exp <= ctx.clock.unix_now() {
        return invalid("token expired");
    }
    if ctx
        .store
        .get(&revoked_access_token_key(&data.claims.jti))
        .await?
        .is_some()
    {
        return invalid("token revoked");
    }
    let Some(gid) = data.claims.gid.clone() else {
        // client_credentials: no grant row, the token stands alone until it expires.
        return Ok(Ok((data.claims, None)));
    };
    let grant = ctx.db.run(move |c| grants::get(c, &gid)).await?;
    match grant {
        Some(g) if g.revoked_at.is_none() => Ok(Ok((data.claims, Some(g)))),
        _ => invalid("token revoked"),
    }
}

/// An access token revoked on its own (RFC 7009) is remembered by `jti` until it expires.
pub fn revoked_access_token_key(jti: &str) -> String {
    format!("revoked_at:{jti}")
}

pub async fn userinfo(
    ctx: &Ctx,
    presented: Option<Presented<'_>>,
) -> anyhow::Result<Result<Value, UserinfoError>> {
    let Some(presented) = presented else {
        return Ok(Err(UserinfoError::MissingToken));
    };
    let token = presented.token;
    let (claims, grant) = match verify_with_grant(ctx, token).await? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    // A DPoP-bound token works only with a fresh proof by the same key (RFC 9449 §7).
    match (&claims.cnf, presented.dpop_scheme) {
        (Some(cnf), true) => {
            let Some(proof) = presented.proof else {
                return Ok(Err(UserinfoError::InvalidDpopProof(
                    "a DPoP proof is required",
                )));
            };
            let url = format!("{}/userinfo", ctx.settings.issuer);
            match crate::oauth::dpop::verify_proof(ctx, proof, presented.method, &url, Some(token))
                .await?
            {
                Ok(jkt) if jkt == cnf.jkt => {}
                Ok(_) => {
                    return Ok(Err(UserinfoError::InvalidDpopProof(
                        "the proof is signed by another key",
                    )))
                }
                Err(crate::oauth::dpop::DpopError::Invalid(why)) => {
                    return Ok(Err(UserinfoError::InvalidDpopProof(why)))
                }
                Err(crate::oauth::dpop::DpopError::UseNonce(n)) => {
                    return Ok(Err(UserinfoError::UseDpopNonce(n)))
                }
            }
        }
        (Some(_), false) => {
            return Ok(Err(UserinfoError::InvalidToken(
                "a DPoP-bound token must be sent with the DPoP scheme and a proof",
            )))
        }
        (None, true) => {
            return Ok(Err(UserinfoError::InvalidToken(
                "this token is not DPoP-bound; use the Bearer scheme",
            )))
        }
        (None, false) => {}
    }
    let Some(grant) = grant else {
        return Ok(Err(UserinfoError::InvalidToken(
            "this token was issued to a client, not for a person",
        )));
    };
    // The person comes from the grant; `sub` is the one the token carries (minted from the
    // client's [`crate::oauth::subject::Subject`]).
    let uid = grant.user_id.clone();
    let user = ctx
        .db
        .run(move |c| crate::accounts::users::by_id(c, &uid))
        .await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Ok(Err(UserinfoError::InvalidToken("account no longer active")));
    };
    let Some(client) = ctx.clients.get(&claims.client_id).await? else {
        return Ok(Err(UserinfoError::InvalidToken(
            "the client no longer exists",
        )));
    };
    let granted = crate::oauth::scopes::parse(&claims.scope);
    let released = crate::oauth::scopes::releasable_claims(
        &client.effective_scopes(ctx.settings.proofing.enabled),
        &granted,
        &crate::oauth::scopes::all_person_claims(),
    );
    let remembered = grant.remembered();
    let source = VerifiedSource::load(
        ctx,
        &client,
        &user.id,
        &grant.acr,
        &remembered,
        VaultKeys::OfGrant(&grant.id),
    )
    .await?;
    let mut out = person_claims(ctx, &user, &released, &source).await?;
    // The request in the `claims` parameter; otherwise the `verified_claims` scope asks for
    // everything the client may receive.
    let request = remembered.userinfo.clone().or_else(|| {
        granted
            .iter()
            .any(|s| s == "verified_claims")
            .then(claims::scope_request)
    });
    if let Some(v) = request.and_then(|r| source.verified_claims(&r, ctx.clock.now())) {
        out.insert("verified_claims".into(), v);
    }
    out.insert("sub".into(), json!(claims.sub));
    Ok(Ok(Value::Object(out)))
}

/// The values of the `released` claims about `user` (decided by
/// [`crate::oauth::scopes::releasable_claims`]; nothing else is read). `address` comes only
/// from the verification; under IAL2 the name claims and `birthdate` do too (Login.gov's
/// behaviour), and are left out rather than taken from the profile when it can't give them.
pub async fn person_claims(
    ctx: &Ctx,
    user: &crate::accounts::users::User,
    released: &[&str],
    verified: &VerifiedSource,
) -> anyhow::Result<Map<String, Value>> {
    let wants = |c: &str| released.contains(&c);
    let mut out = Map::new();
    if verified.ial2 {
        let given = verified
            .value("given_name")
            .filter(|_| wants("given_name") || wants("name"));
        let family = verified
            .value("family_name")
            .filter(|_| wants("family_name") || wants("name"));
        if wants("name") {
            if let (Some(Value::String(g)), Some(Value::String(f))) = (&given, &family) {
                out.insert("name".into(), json!(format!("{g} {f}")));
            }
        }
        for (claim, value) in [("given_name", given), ("family_name", family)] {
            if let Some(v) = value.filter(|_| wants(claim)) {
                out.insert(claim.into(), v);
            }
        }
    } else {
        if wants("name") {
            if let Some(name) = user.display_name() {
                out.insert("name".into(), json!(name));
            }
        }
        if let Some(g) = user.given_name.as_ref().filter(|_| wants("given_name")) {
            out.insert("given_name".into(), json!(g));
        }
        if let Some(f) = user.family_name.as_ref().filter(|_| wants("family_name")) {
            out.insert("family_name".into(), json!(f));
        }
    }
    for claim in ["birthdate", "address"] {
        if claim == "birthdate" && !verified.ial2 {
            continue;
        }
        if let Some(v) = verified.value(claim).filter(|_| wants(claim)) {
            out.insert(claim.into(), v);
        }
    }
    if wants("updated_at") {
        out.insert(
            "updated_at".into(),
            json!(user.updated_at.and_utc().timestamp()),
        );
    }
    if wants("email") {
        out.insert("email".into(), json!(user.email));
    }
    if wants("email_verified") {
        out.insert("email_verified".into(), json!(user.email_verified));
    }
    if wants("phone_number") || wants("phone_number_verified") {
        // The default phone: only confirmed numbers are ever stored.
        let uid = user.id.clone();
        let phones = ctx
            .db
            .run(move |c| Ok(crate::mfa::methods::enrolled(c, &uid)?.phones))
            .await?;
        if let Some(phone) = phones.iter().find(|p| p.is_default).or(phones.first()) {
            if wants("phone_number") {
                out.insert(
                    "phone_number".into(),
                    json!(crate::mfa::methods::decrypt_phone(&ctx.master, phone)?),
                );
            }
            if wants("phone_number_verified") {
                out.insert("phone_number_verified".into(), json!(true));
            }
        }
    }
    Ok(out)
}
