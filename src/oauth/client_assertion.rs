//! `private_key_jwt` client authentication (RFC 7523, OIDC Core §9): the client signs a
//! short JWT with a key whose public half it registered (inline JWKS or a JWKS URI).
//! Checked: signature, `iss` = `sub` = client_id, `aud` names us, `exp`, and `jti` replay
//! (each `jti` is remembered in the store until the assertion expires).

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::oauth::clients::Client;
use crate::Ctx;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: i64,
    #[serde(default)]
    jti: Option<String>,
}

/// The client id an assertion claims to come from (unverified; used to find its keys).
pub fn claimed_client(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = crate::crypto::b64url_decode(payload)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("sub").and_then(|s| s.as_str()).map(str::to_string)
}

async fn client_keys(ctx: &Ctx, client: &Client) -> anyhow::Result<Option<JwkSet>> {
    if let Some(inline) = &client.jwks {
        return Ok(serde_json::from_str(inline).ok());
    }
    let Some(uri) = &client.jwks_uri else {
        return Ok(None);
    };
    let cache_key = format!("client_jwks:{}", client.client_id);
    if let Some(cached) = ctx.store.get(&cache_key).await? {
        return Ok(serde_json::from_str(&cached).ok());
    }
    // The shared client: public https addresses only in production, a timeout, and at most
    // `jwks_max_bytes` read.
    let cap = ctx.settings.security.jwks_max_bytes;
    let body = match ctx.outbound.get_capped(uri, cap).await {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(client_id = %client.client_id, error = %e, "jwks_uri fetch failed");
            return Ok(None);
        }
    };
    let Ok(body) = String::from_utf8(body) else {
        return Ok(None);
    };
    let Ok(set) = serde_json::from_str::<JwkSet>(&body) else {
        return Ok(None);
    };
    ctx.store
        .put(&cache_key, &body, Duration::from_secs(300))
        .await?;
    Ok(Some(set))
}

/// Ok(true) when the assertion authenticates `client`.
pub async fn verify(ctx: &Ctx, client: &Client, assertion: &str) -> anyhow::Result<bool> {
    if client.token_endpoint_auth_method != "private_key_jwt" || assertion.len() > 8192 {
        return Ok(false);
    }
    let Ok(header) = jsonwebtoken::decode_header(assertion) else {
        return Ok(false);
    };
    if !matches!(
        header.alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::EdDSA
    ) {
        return Ok(false);
    }
    let Some(keys) = client_keys(ctx, client).await? else {
        return Ok(false);
    };
    let candidates: Vec<_> = keys
        .keys
        .iter()
        .filter(|k| header.kid.is_none() || k.common.key_id == header.kid)
        .collect();
    let issuer = &ctx.settings.issuer;
    let audiences = [
        issuer.clone(),
        format!("{issuer}/token"),
        format!("{issuer}/par"),
        format!("{issuer}/revoke"),
        format!("{issuer}/introspect"),
    ];
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&client.client_id]);
    validation.set_audience(&audiences);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp"]);
    // Expiry is checked against our (injectable) clock below.
    validation.validate_exp = false;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        let Ok(data) = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation) else {
            continue;
        };
        let claims = data.claims;
        let now = ctx.clock.unix_now();
        if claims.sub != client.client_id || claims.iss != client.client_id || claims.exp <= now {
            return Ok(false);
        }
        let Some(jti) = claims.jti.filter(|j| !j.is_empty() && j.len() <= 256) else {
            return Ok(false);
        };
        let ttl = Duration::from_secs((claims.exp - now).max(1) as u64 + 60);
        let fresh = ctx
            .store
            .put_if_absent(
                &format!("assertion_jti:{}:{jti}", client.client_id),
                "1",
                ttl,
            )
            .await?;
        return Ok(fresh);
    }
    Ok(false)
}
