//! Browser sessions: stored in the database (hashed token, device, IP, auth_time, amr), with
//! idle and absolute timeouts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::Actor;
use crate::crypto;
use crate::storage::db::DbConn;
use crate::storage::schema::{browser_sessions, users};
use crate::Ctx;

/// Authentication-method references (RFC 8176) and the assurance level reached.
pub const AMR_PASSWORD: &str = "pwd";
pub const ACR_AAL1: &str = "urn:verity:aal1";
pub const ACR_AAL2: &str = "urn:verity:aal2";
/// AAL2 with a phishing-resistant authenticator (a security key or passkey).
pub const ACR_AAL2_PHISHING_RESISTANT: &str = "urn:verity:aal2:phishing-resistant";

/// Two factors took part (either AAL2 value).
pub fn is_aal2(acr: &str) -> bool {
    acr == ACR_AAL2 || acr == ACR_AAL2_PHISHING_RESISTANT
}
pub const AMR_SMS: &str = "sms";
pub const AMR_VOICE: &str = "tel";
pub const AMR_OTP: &str = "otp";
pub const AMR_MFA: &str = "mfa";

/// Has this user signed in from this device (browser-id cookie) before?
pub fn device_known(conn: &mut DbConn, user_id: &str, device_id: &str) -> anyhow::Result<bool> {
    use diesel::dsl::count_star;
    let n: i64 = browser_sessions::table
        .filter(browser_sessions::user_id.eq(user_id))
        .filter(browser_sessions::device_id.eq(device_id))
        .select(count_star())
        .first(conn)?;
    Ok(n > 0)
}

/// Has this user ever had a session (the very first sign-in is not a "new device")?
pub fn has_any_session(conn: &mut DbConn, user_id: &str) -> anyhow::Result<bool> {
    use diesel::dsl::count_star;
    let n: i64 = browser_sessions::table
        .filter(browser_sessions::user_id.eq(user_id))
        .select(count_star())
        .first(conn)?;
    Ok(n > 0)
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = browser_sessions)]
pub struct SessionRow {
    pub id: String,
    pub token_hash: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub auth_time: NaiveDateTime,
    pub ip: String,
    pub user_agent: String,
    pub amr: String,
    pub acr: String,
    pub revoked_at: Option<NaiveDateTime>,
    pub device_id: String,
}

/// A live session as the rest of the code sees it.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub email: String,
    /// The account's chosen language, if any (`users.locale`).
    pub locale: Option<String>,
    pub auth_time: NaiveDateTime,
    pub amr: Vec<String>,
    pub acr: String,
    /// Derived from the cookie value (never stored): seals what this session unlocked of the
    /// person's verified data (`proofing::vault`).
    pub vault_secret: crate::proofing::vault::BearerSecret,
}

/// A freshly created session: the cookie value is only ever in this struct and the cookie.
pub struct NewSession {
    pub id: String,
    pub token: String,
}

pub fn create(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: &str,
    actor: &Actor,
    device_id: &str,
    amr: &[&str],
    acr: &str,
) -> anyhow::Result<NewSession> {
    let token = crypto::random_token(32);
    let row = SessionRow {
        id: uuid::Uuid::new_v4().to_string(),
        token_hash: crypto::token_hash(&token),
        user_id: user_id.to_string(),
        created_at: now,
        last_seen_at: now,
        auth_time: now,
        ip: actor.ip.chars().take(64).collect(),
        user_agent: actor.user_agent.chars().take(512).collect(),
        amr: amr.join(" "),
        acr: acr.to_string(),
        revoked_at: None,
        device_id: device_id.to_string(),
    };
    diesel::insert_into(browser_sessions::table)
        .values(&row)
        .execute(conn)?;
    Ok(NewSession { id: row.id, token })
}

/// Finds the live session for a cookie value: one indexed lookup. Idle and absolute
/// timeouts are enforced here; `last_seen_at` is written at most once a minute.
pub async fn lookup(ctx: &Ctx, token: &str) -> anyhow::Result<Option<Session>> {
    let hash = crypto::token_hash(token);
    let vault_secret = crate::proofing::vault::BearerSecret::of_session_token(token);
    let now = ctx.clock.now();
    let idle = chrono::Duration::seconds(ctx.settings.security.session_idle_secs as i64);
    let absolute = chrono::Duration::seconds(ctx.settings.security.session_absolute_secs as i64);
    ctx.db
        .run(move |c| {
            let found: Option<(SessionRow, String, bool, Option<String>)> = browser_sessions::table
                .inner_join(users::table)
                .filter(browser_sessions::token_hash.eq(&hash))
                .select((
                    SessionRow::as_select(),
                    users::email,
                    users::disabled,
                    users::locale,
                ))
                .first(c)
                .optional()?;
            let Some((row, email, disabled, locale)) = found else {
                return Ok(None);
            };
            if row.revoked_at.is_some()
                || disabled
                || now - row.last_seen_at > idle
                || now - row.created_at > absolute
            {
                return Ok(None);
            }
            if now - row.last_seen_at > chrono::Duration::seconds(60) {
                diesel::update(browser_sessions::table.find(&row.id))
                    .set(browser_sessions::last_seen_at.eq(now))
                    .execute(c)?;
            }
            Ok(Some(Session {
                id: row.id,
                user_id: row.user_id,
                email,
                locale,
                auth_time: row.auth_time,
                amr: row.amr.split_whitespace().map(str::to_string).collect(),
                acr: row.acr,
                vault_secret,
            }))
        })
        .await
}

pub async fn revoke(ctx: &Ctx, session_id: &str, actor: &Actor) -> anyhow::Result<()> {
    let now = ctx.clock.now();
    let id = session_id.to_string();
    let actor = actor.clone();
    ctx.db
        .run(move |c| {
            let user: Option<String> = browser_sessions::table
                .find(&id)
                .select(browser_sessions::user_id)
                .first(c)
                .optional()?;
            diesel::update(browser_sessions::table.find(&id))
                .filter(browser_sessions::revoked_at.is_null())
                .set(browser_sessions::revoked_at.eq(now))
                .execute(c)?;
            // RPs that took part hear about it; token families issued in this session end
            // with it, except offline_access ones.
            crate::oauth::logout::queue_backchannel(c, now, &id)?;
            crate::oauth::grants::revoke_for_session(c, now, &id)?;
            crate::audit::record(
                c,
                now,
                crate::audit::Event {
                    kind: crate::audit::Kind::SignedOut,
                    user_id: user.as_deref(),
                    client_id: None,
                    detail: serde_json::json!({ "session": id }),
                    actor: Some(&actor),
                },
            )?;
            Ok(())
        })
        .await?;
    // What this session unlocked of the verified data goes with it.
    crate::proofing::vault::forget_session(ctx, session_id).await
}

/// Ends every live session of a person (this wasn't me, password reset), with the same
/// consequences as signing out of each.
pub fn end_all_for_user(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: &str,
) -> anyhow::Result<usize> {
    let ids: Vec<String> = browser_sessions::table
        .filter(browser_sessions::user_id.eq(user_id))
        .filter(browser_sessions::revoked_at.is_null())
        .select(browser_sessions::id)
        .load(conn)?;
    for id in &ids {
        diesel::update(browser_sessions::table.find(id))
            .set(browser_sessions::revoked_at.eq(now))
            .execute(conn)?;
        crate::oauth::logout::queue_backchannel(conn, now, id)?;
        crate::oauth::grants::revoke_for_session(conn, now, id)?;
    }
    Ok(ids.len())
}

fn phone_factor_key(session_id: &str) -> String {
    format!("session_phone:{session_id}")
}

/// Remembers which phone passed this session's second factor: a phone in its SIM-swap cooldown
/// may not confirm a change to another factor (see `accounts::step_up`).
pub async fn record_phone_factor(
    ctx: &Ctx,
    session_id: &str,
    phone_id: &str,
) -> anyhow::Result<()> {
    let ttl = std::time::Duration::from_secs(ctx.settings.security.session_absolute_secs);
    ctx.store
        .put(&phone_factor_key(session_id), phone_id, ttl)
        .await
}

/// The phone this session's second factor was passed with, if it was a phone.
pub async fn phone_factor(ctx: &Ctx, session: &Session) -> anyhow::Result<Option<String>> {
    ctx.store.get(&phone_factor_key(&session.id)).await
}

/// A full sign-in (password + second factor) recent enough for a sensitive change.
/// "Remember this browser" sessions are AAL1 and never count.
/// Part of the rule in `accounts::step_up::check`, which sensitive changes go through.
pub fn step_up_fresh(ctx: &Ctx, session: &Session) -> bool {
    let age = (ctx.clock.now() - session.auth_time).num_seconds();
    is_aal2(&session.acr) && age <= ctx.settings.security.step_up_window_secs as i64
}
