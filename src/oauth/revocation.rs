//! Token revocation (RFC 7009) and introspection (RFC 7662). Both need client
//! authentication; a client only sees and revokes its own tokens (admin clients may
//! introspect any).

use std::time::Duration;

use serde_json::{json, Value};

use crate::oauth::clients::Client;
use crate::oauth::grants;
use crate::oauth::token::{internal, TokenError};
use crate::oauth::userinfo::{revoked_access_token_key, verify_access_token};
use crate::Ctx;

pub async fn revoke(ctx: &Ctx, client: &Client, token: &str) -> Result<(), TokenError> {
    if token.is_empty() || token.len() > 4096 {
        return Err(TokenError::new("invalid_request", "token is required"));
    }
    let lookup = token.to_string();
    let refresh = ctx
        .db
        .run(move |c| grants::find_refresh_token(c, &lookup))
        .await
        .map_err(internal)?;
    if let Some((_, grant)) = refresh {
        if grant.client_id != client.client_id {
            return Err(TokenError::new(
                "invalid_request",
                "this token was not issued to this client",
            ));
        }
        let now = ctx.clock.now();
        ctx.db
            .run(move |c| {
                if grants::revoke(c, now, &grant.id, "revoked by the client")? {
                    crate::audit::record(
                        c,
                        now,
                        crate::audit::Event {
                            kind: crate::audit::Kind::RefreshTokenRevoked,
                            user_id: Some(&grant.user_id),
                            client_id: Some(&grant.client_id),
                            detail: json!({ "grant": grant.id }),
                            actor: None,
                        },
                    )?;
                }
                Ok(())
            })
            .await
            .map_err(internal)?;
        return Ok(());
    }
    if let Ok(claims) = verify_access_token(ctx, token).await.map_err(internal)? {
        if claims.client_id != client.client_id {
            return Err(TokenError::new(
                "invalid_request",
                "this token was not issued to this client",
            ));
        }
        let left = (claims.exp - ctx.clock.unix_now()).max(1) as u64;
        ctx.store
            .put(
                &revoked_access_token_key(&claims.jti),
                "1",
                Duration::from_secs(left + 60),
            )
            .await
            .map_err(internal)?;
    }
    // Unknown, expired or already revoked tokens: nothing to do, and nothing to reveal.
    Ok(())
}

pub async fn introspect(ctx: &Ctx, client: &Client, token: &str) -> Result<Value, TokenError> {
    let inactive = json!({ "active": false });
    if token.is_empty() || token.len() > 4096 {
        return Ok(inactive);
    }
    let visible = |owner: &str| owner == client.client_id || client.admin;
    let lookup = token.to_string();
    let refresh = ctx
        .db
        .run(move |c| grants::find_refresh_token(c, &lookup))
        .await
        .map_err(internal)?;
    if let Some((rt, grant)) = refresh {
        let now = ctx.clock.now();
        let active = rt.used_at.is_none() && rt.expires_at > now && grant.revoked_at.is_none();
        if !active || !visible(&grant.client_id) {
            return Ok(inactive);
        }
        // The subject the token's client knows the person by (pairwise or not).
        let Some(owner) = ctx.clients.get(&grant.client_id).await.map_err(internal)? else {
            return Ok(inactive);
        };
        let subject = crate::oauth::subject::for_client(ctx, &owner, &grant.user_id);
        return Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": rt.scopes,
            "client_id": grant.client_id,
            "sub": subject,
            "iss": ctx.settings.issuer,
            "iat": rt.created_at.and_utc().timestamp(),
            "exp": rt.expires_at.and_utc().timestamp(),
        }));
    }
    match verify_access_token(ctx, token).await.map_err(internal)? {
        Ok(claims) if visible(&claims.client_id) => Ok(json!({
            "active": true,
            "token_type": "Bearer",
            "scope": claims.scope,
            "client_id": claims.client_id,
            "sub": claims.sub,
            "iss": claims.iss,
            "aud": claims.aud,
            "iat": claims.iat,
            "exp": claims.exp,
            "jti": claims.jti,
        })),
        _ => Ok(inactive),
    }
}
