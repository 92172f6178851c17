//! Logout for relying parties.
//!
//! - RP-initiated logout (OIDC RP-Initiated Logout 1.0): [`check_end_session`] validates the
//!   request; the browser session ends through the ordinary sign-out.
//! - Back-channel logout (OIDC Back-Channel Logout 1.0): when a session ends,
//!   [`queue_backchannel`] records one delivery per RP that took part in it and registered a
//!   `backchannel_logout_uri`. The queue is a database table, so it survives restarts;
//!   [`deliver_due`] signs a logout token at each attempt and retries with backoff.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::oauth::clients::Client;
use crate::storage::db::DbConn;
use crate::storage::schema::{clients, grants, logout_deliveries};
use crate::Ctx;

pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What a queued delivery says; the JWT is signed at each attempt so it is always fresh.
#[derive(Serialize, Deserialize)]
struct LogoutClaims {
    sub: String,
    sid: String,
    jti: String,
}

/// Queues back-channel logout for every RP that holds grants from this session.
pub fn queue_backchannel(
    conn: &mut DbConn,
    now: NaiveDateTime,
    session_id: &str,
) -> anyhow::Result<usize> {
    let targets: Vec<(String, String, Option<String>)> = grants::table
        .inner_join(clients::table)
        .filter(grants::session_id.eq(session_id))
        .filter(clients::backchannel_logout_uri.is_not_null())
        .select((
            grants::client_id,
            grants::user_id,
            clients::backchannel_logout_uri,
        ))
        .distinct()
        .load(conn)?;
    let mut queued = 0;
    for (client_id, user_id, uri) in targets {
        let Some(uri) = uri else { continue };
        let claims = LogoutClaims {
            sub: user_id,
            sid: session_id.to_string(),
            jti: crate::crypto::random_token(16),
        };
        diesel::insert_into(logout_deliveries::table)
            .values((
                logout_deliveries::id.eq(uuid::Uuid::new_v4().to_string()),
                logout_deliveries::client_id.eq(&client_id),
                logout_deliveries::uri.eq(&uri),
                logout_deliveries::logout_token.eq(serde_json::to_string(&claims)?),
                logout_deliveries::attempts.eq(0),
                logout_deliveries::next_attempt_at.eq(now),
                logout_deliveries::created_at.eq(now),
            ))
            .execute(conn)?;
        queued += 1;
    }
    Ok(queued)
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = logout_deliveries)]
struct Delivery {
    id: String,
    client_id: String,
    uri: String,
    logout_token: String,
    attempts: i32,
}

async fn sign_logout_token(
    ctx: &Ctx,
    client_id: &str,
    claims: &LogoutClaims,
) -> anyhow::Result<String> {
    let key = ctx
        .keys
        .ring()
        .signer(ctx.clock.now())
        .ok_or_else(|| anyhow::anyhow!("no active signing key"))?;
    let now = ctx.clock.unix_now();
    // Pairwise clients know the person by their own `sub`.
    let sub = match ctx.clients.get(client_id).await? {
        Some(client) => crate::oauth::subject::for_client(ctx, &client, &claims.sub),
        None => claims.sub.clone(),
    };
    let body = json!({
        "iss": ctx.settings.issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + 120,
        "jti": claims.jti,
        "sub": sub,
        "sid": claims.sid,
        "events": { BACKCHANNEL_EVENT: {} },
    });
    key.sign_jwt("logout+jwt", &body)
}

/// Sends every delivery that is due; returns how many succeeded. Failures are retried after
/// `backchannel_retry_base_secs · 2^attempts` (capped at an hour), up to
/// `backchannel_max_attempts`.
pub async fn deliver_due(ctx: &Ctx, http: &reqwest::Client) -> anyhow::Result<usize> {
    let now = ctx.clock.now();
    let max_attempts = ctx.settings.security.backchannel_max_attempts as i32;
    let due: Vec<Delivery> = ctx
        .db
        .run(move |c| {
            Ok(logout_deliveries::table
                .filter(logout_deliveries::delivered_at.is_null())
                .filter(logout_deliveries::next_attempt_at.le(now))
                .filter(logout_deliveries::attempts.lt(max_attempts))
                .order(logout_deliveries::next_attempt_at.asc())
                .limit(50)
                .select(Delivery::as_select())
                .load(c)?)
        })
        .await?;
    let mut delivered = 0;
    for d in due {
        let result = match serde_json::from_str::<LogoutClaims>(&d.logout_token) {
            Ok(claims) => match sign_logout_token(ctx, &d.client_id, &claims).await {
                Ok(jwt) => match http
                    .post(&d.uri)
                    .form(&[("logout_token", jwt.as_str())])
                    .send()
                    .await
                {
                    Ok(res) if res.status().is_success() => Ok(()),
                    Ok(res) => Err(format!("HTTP {}", res.status().as_u16())),
                    Err(e) => Err(if e.is_timeout() {
                        "timed out".to_string()
                    } else {
                        "connection failed".to_string()
                    }),
                },
                Err(e) => Err(format!("signing failed: {e}")),
            },
            Err(_) => Err("unreadable queue entry".to_string()),
        };
        let now = ctx.clock.now();
        let base = ctx.settings.security.backchannel_retry_base_secs as i64;
        let (id, attempts) = (d.id.clone(), d.attempts + 1);
        match result {
            Ok(()) => {
                delivered += 1;
                ctx.db
                    .run(move |c| {
                        diesel::update(logout_deliveries::table.find(&id))
                            .set((
                                logout_deliveries::delivered_at.eq(now),
                                logout_deliveries::attempts.eq(attempts),
                            ))
                            .execute(c)?;
                        Ok(())
                    })
                    .await?;
            }
            Err(why) => {
                tracing::warn!(client_id = %d.client_id, attempts, error = %why, "back-channel logout delivery failed; will retry");
                let wait = base.saturating_mul(1 << attempts.min(20)).min(3600);
                ctx.db
                    .run(move |c| {
                        diesel::update(logout_deliveries::table.find(&id))
                            .set((
                                logout_deliveries::attempts.eq(attempts),
                                logout_deliveries::next_attempt_at
                                    .eq(now + chrono::Duration::seconds(wait)),
                                logout_deliveries::last_error.eq(why),
                            ))
                            .execute(c)?;
                        Ok(())
                    })
                    .await?;
            }
        }
    }
    Ok(delivered)
}

/// Runs [`deliver_due`] forever at `backchannel_poll_ms`.
pub fn spawn_delivery_worker(ctx: Ctx) {
    actix_web::rt::spawn(async move {
        let http = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
        {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "back-channel logout worker could not start");
                return;
            }
        };
        let period =
            std::time::Duration::from_millis(ctx.settings.security.backchannel_poll_ms.max(50));
        loop {
            if let Err(e) = deliver_due(&ctx, &http).await {
                tracing::error!(error = %format!("{e:#}"), "back-channel logout delivery round failed");
            }
            tokio::time::sleep(period).await;
        }
    });
}

#[derive(Debug, PartialEq, Eq)]
pub enum EndSessionCheck {
    /// Where to send the browser afterwards (with `state`), if the RP asked and may.
    Ok {
        redirect: Option<String>,
        hint_matches_session: bool,
        client_name: Option<String>,
    },
    /// Show an error page; never redirect.
    Refused(String),
}

#[derive(Deserialize)]
struct HintClaims {
    #[serde(default)]
    sub: String,
    #[serde(default)]
    sid: Option<String>,
    aud: serde_json::Value,
}

/// Validates an RP-initiated logout request.
pub async fn check_end_session(
    ctx: &Ctx,
    id_token_hint: Option<&str>,
    client_id: Option<&str>,
    post_logout_redirect_uri: Option<&str>,
    state: Option<&str>,
    session: Option<&crate::accounts::sessions::Session>,
) -> anyhow::Result<EndSessionCheck> {
    let hint = match id_token_hint.filter(|h| !h.is_empty()) {
        Some(h) => match verify_hint(ctx, h) {
            Some(claims) => Some(claims),
            None => {
                return Ok(EndSessionCheck::Refused(
                    "The app sent a sign-out request we couldn't verify (id_token_hint).".into(),
                ))
            }
        },
        None => None,
    };
    let hint_aud: Option<String> = hint.as_ref().and_then(|h| match &h.aud {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_string),
        _ => None,
    });
    if let (Some(c), Some(a)) = (client_id, hint_aud.as_deref()) {
        if c != a {
            return Ok(EndSessionCheck::Refused(
                "The sign-out request names two different apps.".into(),
            ));
        }
    }
    let client: Option<std::sync::Arc<Client>> = match client_id.or(hint_aud.as_deref()) {
        Some(id) => ctx.clients.get(id).await?,
        None => None,
    };
    let redirect = match post_logout_redirect_uri.filter(|u| !u.is_empty()) {
        None => None,
        Some(uri) => {
            let Some(client) = &client else {
                return Ok(EndSessionCheck::Refused(
                    "The app didn't say who it is, so we won't send you back to it.".into(),
                ));
            };
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Ok(EndSessionCheck::Refused(
                    "The app asked to send you to an address it hasn't registered (post_logout_redirect_uri). We stopped here to protect you.".into(),
                ));
            }
            let mut url = url::Url::parse(uri)?;
            if let Some(s) = state {
                url.query_pairs_mut().append_pair("state", s);
            }
            Some(url.to_string())
        }
    };
    let hint_matches_session = match (&hint, session) {
        (Some(h), Some(s)) => {
            h.sid.as_deref() == Some(s.id.as_str()) || (h.sid.is_none() && h.sub == s.user_id)
        }
        _ => false,
    };
    Ok(EndSessionCheck::Ok {
        redirect,
        hint_matches_session,
        client_name: client.map(|c| c.name.clone()),
    })
}

/// An ID token we issued (signature and issuer), expired or not.
fn verify_hint(ctx: &Ctx, token: &str) -> Option<HintClaims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    let key = ctx.keys.ring().verifier(header.kid.as_deref()?)?;
    let mut validation = jsonwebtoken::Validation::new(key.jwt_alg());
    validation.set_issuer(&[&ctx.settings.issuer]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["iss", "sub"]);
    jsonwebtoken::decode::<HintClaims>(token, key.decoding_key(), &validation)
        .ok()
        .map(|d| d.claims)
}
