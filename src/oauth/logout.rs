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
/// `sub` here is the account id: it is turned into the client's subject when signing.
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
    // The client knows the person by its own `sub` (pairwise or not); no client, no token.
    let Some(client) = ctx.clients.get(client_id).await? else {
        anyhow::bail!("the client is no longer registered");
    };
    let sub = crate::oauth::subject::for_client(ctx, &client, &claims.sub);
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
/// Deliveries go through [`crate::net::outbound`]: in production only to public https
/// addresses, checked again after DNS resolution.
pub async fn deliver_due(ctx: &Ctx) -> anyhow::Result<usize> {
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
    let lease = chrono::Duration::seconds(ctx.settings.security.backchannel_lease_secs as i64);
    for d in due {
        // Claim it first: every node sees the same due rows, and only the one whose
        // compare-and-set on the attempt count lands sends it. The claim counts the attempt
        // and moves the next one past the lease, so a node that dies mid-send leaves it to
        // be tried again then.
        let (id, attempts) = (d.id.clone(), d.attempts + 1);
        let (seen, claimed_at) = (d.attempts, ctx.clock.now());
        let claimed = ctx
            .db
            .run(move |c| {
                Ok(diesel::update(
                    logout_deliveries::table
                        .find(&id)
                        .filter(logout_deliveries::attempts.eq(seen))
                        .filter(logout_deliveries::delivered_at.is_null()),
                )
                .set((
                    logout_deliveries::attempts.eq(attempts),
                    logout_deliveries::next_attempt_at.eq(claimed_at + lease),
                ))
                .execute(c)?
                    == 1)
            })
            .await?;
        if !claimed {
            continue;
        }
        let result = match serde_json::from_str::<LogoutClaims>(&d.logout_token) {
            Ok(claims) => match sign_logout_token(ctx, &d.client_id, &claims).await {
                Ok(jwt) => ctx
                    .outbound
                    .post_form(&d.uri, &[("logout_token", jwt.as_str())])
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("signing failed: {e}")),
            },
            Err(_) => Err("unreadable queue entry".to_string()),
        };
        let now = ctx.clock.now();
        let base = ctx.settings.security.backchannel_retry_base_secs as i64;
        let id = d.id.clone();
        match result {
            Ok(()) => {
                delivered += 1;
                ctx.db
                    .run(move |c| {
                        diesel::update(logout_deliveries::table.find(&id))
                            .set(logout_deliveries::delivered_at.eq(now))
                            .execute(c)?;
                        Ok(())
                    })
                    .await?;
            }
            Err(why) => {
                ctx.metrics.backchannel_logout_failed();
                tracing::warn!(client_id = %d.client_id, attempts, error = %why, "back-channel logout delivery failed; will retry");
                let wait = base.saturating_mul(1 << attempts.min(20)).min(3600);
                ctx.db
                    .run(move |c| {
                        diesel::update(logout_deliveries::table.find(&id))
                            .set((
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

/// The delivery queue for `/metrics`: what waits (with its oldest and how many are retrying),
/// and how many were given up after `max_attempts`.
pub fn queue_state(
    conn: &mut DbConn,
    max_attempts: i32,
) -> anyhow::Result<(crate::metrics::scrape::QueueState, i64)> {
    use diesel::dsl::{count_star, min};
    let waiting = || {
        logout_deliveries::table
            .filter(logout_deliveries::delivered_at.is_null())
            .filter(logout_deliveries::attempts.lt(max_attempts))
    };
    let (depth, oldest): (i64, Option<NaiveDateTime>) = waiting()
        .select((count_star(), min(logout_deliveries::created_at)))
        .first(conn)?;
    let retrying: i64 = waiting()
        .filter(logout_deliveries::attempts.gt(0))
        .count()
        .get_result(conn)?;
    let abandoned: i64 = logout_deliveries::table
        .filter(logout_deliveries::delivered_at.is_null())
        .filter(logout_deliveries::attempts.ge(max_attempts))
        .count()
        .get_result(conn)?;
    Ok((
        crate::metrics::scrape::QueueState {
            depth,
            oldest,
            retrying,
        },
        abandoned,
    ))
}

/// Runs [`deliver_due`] forever at `backchannel_poll_ms`.
pub fn spawn_delivery_worker(ctx: Ctx) {
    actix_web::rt::spawn(async move {
        let period =
            std::time::Duration::from_millis(ctx.settings.security.backchannel_poll_ms.max(50));
        loop {
            if let Err(e) = deliver_due(&ctx).await {
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
    /// Show an error page (this locale key in `oauth.ftl` says why); never redirect.
    Refused(&'static str),
}

/// What Verity reads from an `id_token_hint` it accepted.
struct Hint {
    /// The client the ID token was issued to (`aud`, or `azp` with several audiences).
    client_id: String,
    sub: String,
    sid: Option<String>,
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
    let refused_hint = || EndSessionCheck::Refused("end-session-hint-unverified");
    let hint = match id_token_hint.filter(|h| !h.is_empty()) {
        Some(h) => match verify_hint(ctx, h) {
            Some(claims) => Some(claims),
            None => return Ok(refused_hint()),
        },
        None => None,
    };
    let hint_aud = hint.as_ref().map(|h| h.client_id.clone());
    if let (Some(c), Some(a)) = (client_id, hint_aud.as_deref()) {
        if c != a {
            return Ok(EndSessionCheck::Refused("end-session-two-apps"));
        }
    }
    let client: Option<std::sync::Arc<Client>> = match client_id.or(hint_aud.as_deref()) {
        Some(id) => ctx.clients.get(id).await?,
        None => None,
    };
    // An ID token is issued to a client: one that isn't registered (any more) proves nothing.
    if hint.is_some() && client.is_none() {
        return Ok(refused_hint());
    }
    let redirect = match post_logout_redirect_uri.filter(|u| !u.is_empty()) {
        None => None,
        Some(uri) => {
            let Some(client) = &client else {
                return Ok(EndSessionCheck::Refused("end-session-no-client"));
            };
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Ok(EndSessionCheck::Refused("end-session-redirect-mismatch"));
            }
            let mut url = url::Url::parse(uri)?;
            if let Some(s) = state {
                url.query_pairs_mut().append_pair("state", s);
            }
            Some(url.to_string())
        }
    };
    let hint_matches_session = match (&hint, session, &client) {
        (Some(h), Some(s), Some(c)) => {
            h.sid.as_deref() == Some(s.id.as_str())
                || (h.sid.is_none()
                    && h.sub == crate::oauth::subject::for_client(ctx, c, &s.user_id).as_str())
        }
        _ => false,
    };
    Ok(EndSessionCheck::Ok {
        redirect,
        hint_matches_session,
        client_name: client.map(|c| c.name.clone()),
    })
}

/// Claims that only other kinds of token Verity signs carry: access tokens (RFC 9068:
/// `client_id`, `scope`; ours also `gid`, `cnf`) and logout tokens (`events`).
const NOT_ID_TOKEN_CLAIMS: &[&str] = &["events", "client_id", "scope", "gid", "cnf"];

/// An ID token Verity issued (our key, our issuer), expired or not (RP-Initiated Logout §2
/// allows an expired one): no `typ` other than JWT, none of the claims that mark access and
/// logout tokens, and the client it was issued to.
fn verify_hint(ctx: &Ctx, token: &str) -> Option<Hint> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if let Some(typ) = header.typ.as_deref() {
        let typ = typ.to_ascii_lowercase();
        if typ != "jwt" && typ != "application/jwt" {
            return None;
        }
    }
    let key = ctx.keys.ring().verifier(header.kid.as_deref()?)?;
    let mut validation = jsonwebtoken::Validation::new(key.jwt_alg());
    validation.set_issuer(&[&ctx.settings.issuer]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp"]);
    let claims = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
        token,
        key.decoding_key(),
        &validation,
    )
    .ok()?
    .claims;
    if NOT_ID_TOKEN_CLAIMS.iter().any(|c| claims.contains_key(*c)) || !claims.contains_key("iat") {
        return None;
    }
    let audiences: Vec<&str> = match claims.get("aud")? {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
        _ => return None,
    };
    let azp = claims.get("azp").and_then(|v| v.as_str());
    // OIDC Core §2: with several audiences `azp` names the client; if present it must be one.
    let client_id = match (audiences.as_slice(), azp) {
        ([one], None) => *one,
        (many, Some(azp)) if many.contains(&azp) => azp,
        _ => return None,
    };
    Some(Hint {
        client_id: client_id.to_string(),
        sub: claims.get("sub")?.as_str()?.to_string(),
        sid: claims
            .get("sid")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    })
}
