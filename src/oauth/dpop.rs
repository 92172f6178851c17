//! DPoP (RFC 9449): proof-of-possession for access tokens. The token endpoint binds a token
//! to the key in the client's proof (`cnf.jkt`); userinfo then demands a fresh proof by the
//! same key for every request. Checked: `typ`, an asymmetric `alg`, the embedded public JWK
//! and signature, `htm`, `htu`, `iat` within `dpop_iat_window_secs`, `jti` replay, `ath` at
//! resources, and a server nonce when `dpop_require_nonce` is on.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::crypto;
use crate::Ctx;

#[derive(Debug, PartialEq, Eq)]
pub enum DpopError {
    /// `invalid_dpop_proof`, with a reason.
    Invalid(&'static str),
    /// `use_dpop_nonce`: retry with this nonce (sent in the `DPoP-Nonce` header).
    UseNonce(String),
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// RFC 7638 thumbprint of a public JWK (RSA, EC or OKP).
pub fn thumbprint(jwk: &serde_json::Value) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(|v| v.as_str());
    let canonical = match s("kty")? {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e")?, s("n")?),
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv")?,
            s("x")?,
            s("y")?
        ),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s("crv")?, s("x")?),
        _ => return None,
    };
    Some(crypto::b64url(&crypto::sha256(canonical.as_bytes())))
}

/// The nonce of the current time window (rotates every 5 minutes; the previous one still works).
fn nonce_for(ctx: &Ctx, window: i64) -> String {
    crypto::mac(
        &ctx.master.derive("verity/dpop-nonce/v1"),
        window.to_string().as_bytes(),
    )
}

pub fn current_nonce(ctx: &Ctx) -> String {
    nonce_for(ctx, ctx.clock.unix_now() / 300)
}

fn strip_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Verifies a proof for `method` `url` (and `access_token` at a resource); returns the key's
/// thumbprint.
pub async fn verify_proof(
    ctx: &Ctx,
    proof: &str,
    method: &str,
    url: &str,
    access_token: Option<&str>,
) -> anyhow::Result<Result<String, DpopError>> {
    let invalid = |why| Ok(Err(DpopError::Invalid(why)));
    if proof.len() > 8192 {
        return invalid("proof too large");
    }
    let Ok(header) = jsonwebtoken::decode_header(proof) else {
        return invalid("not a JWT");
    };
    if header.typ.as_deref() != Some("dpop+jwt") {
        return invalid("typ must be dpop+jwt");
    }
    if !matches!(
        header.alg,
        Algorithm::RS256
            | Algorithm::PS256
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::EdDSA
    ) {
        return invalid("unsupported alg");
    }
    let Some(jwk) = header.jwk.as_ref() else {
        return invalid("jwk header missing");
    };
    let jwk_json = serde_json::to_value(jwk)?;
    if jwk_json.get("d").is_some() {
        return invalid("the jwk must be a public key");
    }
    let Some(jkt) = thumbprint(&jwk_json) else {
        return invalid("unsupported key type");
    };
    let Ok(key) = DecodingKey::from_jwk(jwk) else {
        return invalid("unusable jwk");
    };
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    let Ok(data) = jsonwebtoken::decode::<ProofClaims>(proof, &key, &validation) else {
        return invalid("bad signature");
    };
    let c = data.claims;
    if c.htm.as_deref() != Some(method) {
        return invalid("htm does not match the request method");
    }
    if c.htu.as_deref().map(strip_query) != Some(strip_query(url)) {
        return invalid("htu does not match the request URL");
    }
    let now = ctx.clock.unix_now();
    let window = ctx.settings.security.dpop_iat_window_secs as i64;
    match c.iat {
        Some(iat) if (now - iat).abs() <= window => {}
        _ => return invalid("iat is missing or not recent"),
    }
    if let Some(token) = access_token {
        let expected = crypto::b64url(&crypto::sha256(token.as_bytes()));
        if c.ath.as_deref() != Some(expected.as_str()) {
            return invalid("ath does not match the access token");
        }
    }
    if ctx.settings.security.dpop_require_nonce {
        let w = now / 300;
        let ok = c
            .nonce
            .as_deref()
            .is_some_and(|n| n == nonce_for(ctx, w) || n == nonce_for(ctx, w - 1));
        if !ok {
            return Ok(Err(DpopError::UseNonce(current_nonce(ctx))));
        }
    }
    let Some(jti) = c.jti.filter(|j| !j.is_empty() && j.len() <= 256) else {
        return invalid("jti missing");
    };
    let fresh = ctx
        .store
        .put_if_absent(
            &format!("dpop_jti:{jkt}:{jti}"),
            "1",
            Duration::from_secs(2 * window as u64 + 60),
        )
        .await?;
    if !fresh {
        return invalid("jti was already used");
    }
    Ok(Ok(jkt))
}
