//! The `refresh_token` grant: rotation on every use, and reuse detection. A family is one
//! grant; presenting an already-rotated token revokes the whole family (OAuth 2.0 Security
//! BCP §4.14) and is audited. A refresh never widens the scope.

use crate::oauth::clients::Client;
use crate::oauth::grants;
use crate::oauth::scopes;
use crate::oauth::token::{internal, respond, Issue, TokenError, TokenForm, TokenResponse};
use crate::Ctx;

enum Outcome {
    Rotated(String),
    Reused,
    Invalid(&'static str),
}

pub async fn refresh(
    ctx: &Ctx,
    client: &Client,
    form: &TokenForm,
) -> Result<TokenResponse, TokenError> {
    let token = form
        .refresh_token
        .clone()
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .ok_or_else(|| TokenError::new("invalid_request", "refresh_token is required"))?;
    let lookup = token.clone();
    let found = ctx
        .db
        .run(move |c| grants::find_refresh_token(c, &lookup))
        .await
        .map_err(internal)?;
    let Some((rt, grant)) = found else {
        return Err(TokenError::new("invalid_grant", "refresh token is invalid"));
    };
    if grant.client_id != client.client_id {
        return Err(TokenError::new(
            "invalid_grant",
            "refresh token was issued to another client",
        ));
    }
    let granted = scopes::parse(&rt.scopes);
    let requested = match form.scope.as_deref() {
        Some(s) => scopes::parse(s),
        None => granted.clone(),
    };
    if !scopes::covers(&granted, &requested) {
        return Err(TokenError::new(
            "invalid_scope",
            "a refresh can't add scopes that weren't granted",
        ));
    }
    let now = ctx.clock.now();
    let ttl = chrono::Duration::days(ctx.settings.security.refresh_token_ttl_days as i64);
    let (rt_id, grant_row) = (rt.id.clone(), grant.clone());
    let already_used = rt.used_at.is_some();
    let expired = rt.expires_at <= now;
    let outcome = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let user = crate::accounts::users::by_id(c, &grant_row.user_id)?;
                if grant_row.revoked_at.is_some() {
                    return Ok(Outcome::Invalid("refresh token was revoked"));
                }
                if already_used || !grants::use_refresh_token(c, now, &rt_id)? {
                    // Audited by the request that revoked the family: one event per family,
                    // however many reuses raced to it.
                    if grants::revoke(c, now, &grant_row.id, "refresh token reused")? {
                        crate::audit::record(
                            c,
                            now,
                            crate::audit::Event {
                                kind: crate::audit::Kind::RefreshTokenReuseRevokedFamily,
                                user_id: Some(&grant_row.user_id),
                                client_id: Some(&grant_row.client_id),
                                detail: serde_json::json!({ "grant": grant_row.id }),
                                actor: None,
                            },
                        )?;
                    }
                    return Ok(Outcome::Reused);
                }
                if expired {
                    return Ok(Outcome::Invalid("refresh token has expired"));
                }
                if user.is_none_or(|u| u.disabled) {
                    return Ok(Outcome::Invalid("the account is no longer active"));
                }
                let next =
                    grants::issue_refresh_token(c, now, &grant_row.id, &grant_row.scopes, ttl)?;
                Ok(Outcome::Rotated(next))
            })
        })
        .await
        .map_err(internal)?;
    let next = match outcome {
        Outcome::Rotated(next) => next,
        Outcome::Reused => {
            ctx.metrics.refresh_token_reused();
            tracing::warn!(grant = %grant.id, "refresh token reused: family revoked");
            return Err(TokenError::new(
                "invalid_grant",
                "refresh token was already used",
            ));
        }
        Outcome::Invalid(why) => return Err(TokenError::new("invalid_grant", why)),
    };
    let id_token_claims = crate::oauth::token::refresh_verified(ctx, client, &grant).await?;
    let issue = Issue {
        client_id: client.client_id.clone(),
        subject: crate::oauth::subject::for_client(ctx, client, &grant.user_id),
        user_id: Some(grant.user_id.clone()),
        scopes: requested,
        session_id: grant.session_id.clone(),
        auth_time: grant.auth_time.map(|t| t.and_utc().timestamp()),
        acr: Some(grant.acr.clone()).filter(|a| !a.is_empty()),
        amr: grant.amr.split_whitespace().map(str::to_string).collect(),
        nonce: None,
        grant_id: Some(grant.id.clone()),
        jkt: form.dpop_jkt.clone(),
        id_token_claims,
    };
    respond(
        ctx,
        crate::oauth::clients::GRANT_REFRESH_TOKEN,
        &issue,
        Some(next),
    )
}
