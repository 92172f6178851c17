//! Accounts as operators and support agents see and manage them: search, details, disable
//! and enable, unlock, MFA reset, and deletion (a tombstone that keeps the audit trail).
//! Every change records an audit event naming the agent client.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::accounts::users::{self, normalize_email, User};
use crate::admin::auth::Agent;
use crate::admin::keys::utc;
use crate::admin::pagination::{self, page_request};
use crate::admin::{no_control_chars, plausible_id, Outcome, Problem};
use crate::mfa::methods;
use crate::ssf::signals;
use crate::storage::db::DbConn;
use crate::storage::schema::{
    backup_codes, browser_sessions, consents, email_tokens, grants, phones, totp_credentials,
    user_emails, users as users_t, webauthn_credentials,
};
use crate::Ctx;

/// One account in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummary {
    pub id: String,
    /// The primary address (the sign-in name); `deleted+{id}@invalid` once deleted.
    pub email: String,
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub disabled: bool,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailEntry {
    pub email: String,
    pub verified: bool,
    pub primary: bool,
}

/// A phone, masked: agents never see full numbers.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneEntry {
    /// Use as `replace_phone_id` in a support-assisted phone change.
    pub id: String,
    pub masked: String,
    /// `sms` or `voice`.
    pub channel: String,
    pub is_default: bool,
    pub confirmed_at: DateTime<Utc>,
    pub changed_at: Option<DateTime<Utc>>,
}

/// A security key or passkey, as an agent may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyEntry {
    /// Use to remove it (`DELETE /users/{id}/keys/{key_id}`).
    pub id: String,
    /// The name the person gave it.
    pub name: String,
    /// `security_key` or `passkey`.
    pub kind: String,
    pub added_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MfaSummary {
    pub phones: u32,
    pub authenticator_apps: u32,
    /// Security keys and passkeys.
    pub keys: u32,
    pub backup_codes_left: u32,
    /// Seconds until the second factor unlocks after too many wrong codes.
    pub locked_for_secs: Option<u32>,
}

/// Everything an agent needs to help a person, without secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetail {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub disabled: bool,
    pub deleted: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub emails: Vec<EmailEntry>,
    pub phones: Vec<PhoneEntry>,
    /// Security keys and passkeys: names, kinds and dates only, never key material.
    pub keys: Vec<KeyEntry>,
    pub mfa: MfaSummary,
    /// Browser sessions still live (not ended, not timed out).
    pub active_sessions: u32,
}

/// `GET /users` filters. Give at most one of `email` and `phone`; neither lists everyone.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Exact address, primary or additional (case-insensitive).
    #[param(max_length = 320)]
    pub email: Option<String>,
    /// A phone number in any usual notation; matched through the number's fingerprint.
    #[param(max_length = 64)]
    pub phone: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (default and maximum from the configuration).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
}

/// Body of `POST /users/{id}/sign-out`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignOutRequest {
    /// Why, for the audit trail (e.g. the ticket number).
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
}

/// Body of `POST /users/{id}/reset-mfa`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetMfaRequest {
    /// Why, for the audit trail (e.g. the ticket number and how identity was checked).
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
}

fn summary(u: &User) -> UserSummary {
    UserSummary {
        id: u.id.clone(),
        email: u.email.clone(),
        email_verified: u.email_verified,
        given_name: u.given_name.clone(),
        family_name: u.family_name.clone(),
        disabled: u.disabled,
        deleted: u.deleted_at.is_some(),
        created_at: utc(u.created_at),
    }
}

/// Lists accounts in id order, optionally filtered by one email address or phone number.
pub async fn search(ctx: &Ctx, q: &UserQuery) -> Outcome<UserPage> {
    let page = page_request(&ctx.settings, q.cursor.as_deref(), q.limit.as_deref())?;
    let email = match q.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw)
            if raw.len() > 320 || !raw.contains('@') || no_control_chars("email", raw).is_err() =>
        {
            return Err(Problem::invalid("email", "email must be an email address"))
        }
        Some(raw) => Some(normalize_email(raw)),
    };
    let fingerprint = match q.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => {
            let e164 = crate::mfa::phone::normalize(raw, &ctx.settings.default_phone_region)
                .map_err(|e| Problem::invalid("phone", e.message()))?;
            Some(methods::phone_fingerprint(&ctx.master, &e164))
        }
    };
    if email.is_some() && fingerprint.is_some() {
        return Err(Problem::invalid(
            "phone",
            "search by email or by phone, not both",
        ));
    }
    let after = page.after.as_ref().and_then(|k| k.first().cloned());
    let limit = page.limit;
    let rows = ctx
        .db
        .run(move |c| {
            let mut query = users_t::table
                .select(User::as_select())
                .order(users_t::id.asc())
                .limit(limit + 1)
                .into_boxed();
            if let Some(e) = email {
                let extra = user_emails::table
                    .filter(user_emails::email.eq(e.clone()))
                    .select(user_emails::user_id);
                query = query.filter(users_t::email.eq(e).or(users_t::id.eq_any(extra)));
            }
            if let Some(f) = fingerprint {
                let owners = phones::table
                    .filter(phones::fingerprint.eq(f))
                    .select(phones::user_id);
                query = query.filter(users_t::id.eq_any(owners));
            }
            if let Some(after) = after {
                query = query.filter(users_t::id.gt(after));
            }
            Ok(query.load(c)?)
        })
        .await?;
    let page = pagination::page(rows, limit, |u: &User| vec![u.id.clone()]);
    Ok(UserPage {
        items: page.items.iter().map(summary).collect(),
        next_cursor: page.next_cursor,
    })
}

fn load_user(conn: &mut DbConn, id: &str) -> Outcome<User> {
    if !plausible_id(id) {
        return Err(Problem::NotFound("user"));
    }
    users::by_id(conn, id)?.ok_or(Problem::NotFound("user"))
}

/// The user, refusing deleted accounts: a tombstone can't be changed.
fn live_user(conn: &mut DbConn, id: &str) -> Outcome<User> {
    let user = load_user(conn, id)?;
    if user.deleted_at.is_some() {
        return Err(Problem::conflict(None, "This account was deleted."));
    }
    Ok(user)
}

pub async fn detail(ctx: &Ctx, id: &str) -> Outcome<UserDetail> {
    if !plausible_id(id) {
        return Err(Problem::NotFound("user"));
    }
    let (uid, now) = (id.to_string(), ctx.clock.now());
    let sec = ctx.settings.security.clone();
    let (user, emails, enrolled, sessions) = ctx
        .db
        .run(move |c| -> anyhow::Result<_> {
            let Some(user) = users::by_id(c, &uid)? else {
                return Ok(None);
            };
            let emails = crate::accounts::emails::list(c, &uid)?;
            let enrolled = methods::enrolled(c, &uid)?;
            let idle = now - chrono::Duration::seconds(sec.session_idle_secs as i64);
            let born = now - chrono::Duration::seconds(sec.session_absolute_secs as i64);
            let sessions: i64 = browser_sessions::table
                .filter(browser_sessions::user_id.eq(&uid))
                .filter(browser_sessions::revoked_at.is_null())
                .filter(browser_sessions::last_seen_at.gt(idle))
                .filter(browser_sessions::created_at.gt(born))
                .count()
                .get_result(c)?;
            Ok(Some((user, emails, enrolled, sessions)))
        })
        .await?
        .ok_or(Problem::NotFound("user"))?;
    let locked = crate::mfa::challenge::locked_for(ctx, id).await?;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(UserDetail {
        id: user.id.clone(),
        email: user.email.clone(),
        email_verified: user.email_verified,
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        disabled: user.disabled,
        deleted: user.deleted_at.is_some(),
        deleted_at: user.deleted_at.map(utc),
        created_at: utc(user.created_at),
        updated_at: utc(user.updated_at),
        emails: emails
            .into_iter()
            .map(|e| EmailEntry {
                email: e.email,
                verified: e.verified,
                primary: e.primary,
            })
            .collect(),
        phones: enrolled
            .phones
            .iter()
            .map(|p| PhoneEntry {
                id: p.id.clone(),
                masked: p.masked.clone(),
                channel: p.channel.clone(),
                is_default: p.is_default,
                confirmed_at: utc(p.confirmed_at),
                changed_at: p.changed_at.map(utc),
            })
            .collect(),
        keys: enrolled
            .keys
            .iter()
            .map(|k| KeyEntry {
                id: k.id.clone(),
                name: k.name.clone(),
                kind: k.kind.clone(),
                added_at: utc(k.created_at),
                last_used_at: k.last_used_at.map(utc),
            })
            .collect(),
        mfa: MfaSummary {
            phones: count(enrolled.phones.len()),
            authenticator_apps: count(enrolled.totp.len()),
            keys: count(enrolled.keys.len()),
            backup_codes_left: u32::try_from(enrolled.backup_codes_left).unwrap_or(0),
            locked_for_secs: locked.map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
        },
        active_sessions: u32::try_from(sessions).unwrap_or(u32::MAX),
    })
}

/// Whether relying parties hear `session-revoked` when [`end_everything`] ends nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tell {
    /// Only when a session or grant ended (disabling twice says nothing new).
    IfAnyEnded,
    /// Always: an operator asked for the person to be signed out everywhere, and relying
    /// parties may hold sessions of their own that Verity no longer knows of.
    Always,
}

/// Ends every browser session (with back-channel logout) and revokes every grant, so
/// refresh tokens and access tokens die too, offline ones included; relying parties hear
/// `session-revoked` from the operator.
fn end_everything(
    conn: &mut DbConn,
    ssf: &crate::config::SsfSettings,
    now: NaiveDateTime,
    user_id: &str,
    why: &str,
    tell: Tell,
) -> anyhow::Result<(usize, usize)> {
    let sessions = crate::accounts::sessions::end_all_for_user(conn, now, user_id)?;
    let live: Vec<String> = grants::table
        .filter(grants::user_id.eq(user_id))
        .filter(grants::revoked_at.is_null())
        .select(grants::id)
        .load(conn)?;
    for g in &live {
        crate::oauth::grants::revoke(conn, now, g, why)?;
    }
    if tell == Tell::Always || sessions > 0 || !live.is_empty() {
        let signal = crate::ssf::events::session_revoked(
            now,
            crate::ssf::events::Initiator::Admin,
            Some(why),
        );
        crate::ssf::events::enqueue(conn, ssf, now, user_id, &signal)?;
    }
    Ok((sessions, live.len()))
}

fn record(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: &str,
    agent: &str,
    kind: crate::audit::Kind,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    crate::audit::record(
        conn,
        now,
        crate::audit::Event {
            kind,
            user_id: Some(user_id),
            client_id: Some(agent),
            detail,
            actor: None,
        },
    )
}

/// Runs `f` in one transaction; its `Problem` rolls the transaction back.
async fn in_transaction<T: Send + 'static>(
    ctx: &Ctx,
    f: impl FnOnce(&mut DbConn) -> Outcome<T> + Send + 'static,
) -> Outcome<T> {
    ctx.db
        .run(move |c| {
            let mut outcome = None;
            let result = crate::storage::db::write_tx::<_, anyhow::Error, _>(c, |c| match f(c) {
                Ok(v) => Ok(v),
                Err(p) => {
                    outcome = Some(p);
                    Err(anyhow::anyhow!("rolled back"))
                }
            });
            Ok(match (result, outcome) {
                (Ok(v), _) => Ok(v),
                (Err(_), Some(p)) => Err(p),
                (Err(e), None) => Err(Problem::Internal(e)),
            })
        })
        .await?
}

pub async fn disable(ctx: &Ctx, agent: &Agent, id: &str) -> Outcome<UserDetail> {
    let (uid, now, who) = (id.to_string(), ctx.clock.now(), agent.client_id.clone());
    let settings = ctx.settings.clone();
    in_transaction(ctx, move |c| {
        let user = live_user(c, &uid)?;
        diesel::update(users_t::table.find(&uid))
            .set((users_t::disabled.eq(true), users_t::updated_at.eq(now)))
            .execute(c)
            .map_err(anyhow::Error::from)?;
        let (sessions, grants) = end_everything(
            c,
            &settings.ssf,
            now,
            &uid,
            "account disabled",
            Tell::IfAnyEnded,
        )?;
        if !user.disabled {
            signals::account(
                c,
                &settings.ssf,
                now,
                &uid,
                signals::AccountChange::Disabled,
                "account disabled by an operator",
            )?;
        }
        record(
            c,
            now,
            &uid,
            &who,
            crate::audit::Kind::UserDisabled,
            serde_json::json!({ "sessions_ended": sessions, "grants_revoked": grants }),
        )?;
        Ok(())
    })
    .await?;
    detail(ctx, id).await
}

pub async fn enable(ctx: &Ctx, agent: &Agent, id: &str) -> Outcome<UserDetail> {
    let (uid, now, who) = (id.to_string(), ctx.clock.now(), agent.client_id.clone());
    let ssf = ctx.settings.ssf.clone();
    in_transaction(ctx, move |c| {
        let user = live_user(c, &uid)?;
        diesel::update(users_t::table.find(&uid))
            .set((users_t::disabled.eq(false), users_t::updated_at.eq(now)))
            .execute(c)
            .map_err(anyhow::Error::from)?;
        // Only a change is an event: enabling an enabled account tells no one anything.
        if user.disabled {
            signals::account(
                c,
                &ssf,
                now,
                &uid,
                signals::AccountChange::Enabled,
                "account enabled by an operator",
            )?;
        }
        record(
            c,
            now,
            &uid,
            &who,
            crate::audit::Kind::UserEnabled,
            serde_json::json!({}),
        )?;
        Ok(())
    })
    .await?;
    detail(ctx, id).await
}

/// Signs the person out everywhere: every session ends (with back-channel logout), every
/// grant is revoked, and relying parties hear `session-revoked` from an operator, even when
/// Verity held no session (their own sessions may outlive Verity's). The reason is audited.
pub async fn sign_out(
    ctx: &Ctx,
    agent: &Agent,
    id: &str,
    req: SignOutRequest,
) -> Outcome<UserDetail> {
    let reason = checked_text(
        "reason",
        &req.reason,
        ctx.settings.support.message_max_chars,
    )?;
    let (uid, now, who) = (id.to_string(), ctx.clock.now(), agent.client_id.clone());
    let ssf = ctx.settings.ssf.clone();
    in_transaction(ctx, move |c| {
        live_user(c, &uid)?;
        let (sessions, grants) = end_everything(
            c,
            &ssf,
            now,
            &uid,
            "signed out everywhere by support",
            Tell::Always,
        )?;
        record(
            c,
            now,
            &uid,
            &who,
            crate::audit::Kind::SessionsEnded,
            serde_json::json!({
                "reason": reason,
                "sessions_ended": sessions,
                "grants_revoked": grants,
            }),
        )?;
        Ok(())
    })
    .await?;
    detail(ctx, id).await
}

/// Clears the sign-in failure counters and locks of the account, and the second-factor lock.
/// (Per-IP backoff waits are keyed by IP and simply run out.)
pub async fn unlock(ctx: &Ctx, agent: &Agent, id: &str) -> Outcome<UserDetail> {
    let uid = id.to_string();
    let user = ctx.db.run(move |c| Ok(live_user(c, &uid))).await??;
    crate::accounts::signin::clear_failures(ctx, &user.email).await?;
    crate::mfa::challenge::clear_lock(ctx, &user.id).await?;
    let (uid, now, who) = (id.to_string(), ctx.clock.now(), agent.client_id.clone());
    ctx.db
        .run(move |c| {
            record(
                c,
                now,
                &uid,
                &who,
                crate::audit::Kind::UserUnlocked,
                serde_json::json!({}),
            )
        })
        .await?;
    detail(ctx, id).await
}

fn checked_text(field: &str, text: &str, max: usize) -> Outcome<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if text.chars().count() > max {
        return Err(Problem::invalid(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(text.to_string())
}

/// Removes one security key or passkey (audited with the agent; the person is told by email
/// and text). Unlike the person in the console, an agent may remove the last way to confirm
/// it's them, as resetting the second factors does.
pub async fn remove_key(ctx: &Ctx, agent: &Agent, id: &str, key_id: &str) -> Outcome<UserDetail> {
    if !plausible_id(id) || !plausible_id(key_id) {
        return Err(Problem::NotFound("key"));
    }
    let uid = id.to_string();
    ctx.db
        .run(move |c| Ok(live_user(c, &uid).map(|_| ())))
        .await??;
    let by = crate::mfa::webauthn::Remover::Operator(agent.client_id.clone());
    match crate::mfa::webauthn::remove(ctx, id, key_id, by).await? {
        crate::mfa::webauthn::RemoveKey::Removed => detail(ctx, id).await,
        _ => Err(Problem::NotFound("key")),
    }
}

/// Removes every second factor (phones, authenticator apps, backup codes), ends the
/// sessions, and tells every confirmed address. The next sign-in enrols new ones.
pub async fn reset_mfa(
    ctx: &Ctx,
    agent: &Agent,
    id: &str,
    req: ResetMfaRequest,
) -> Outcome<UserDetail> {
    let reason = checked_text(
        "reason",
        &req.reason,
        ctx.settings.support.message_max_chars,
    )?;
    let (uid, now, who) = (id.to_string(), ctx.clock.now(), agent.client_id.clone());
    let why = reason.clone();
    let settings = ctx.settings.clone();
    in_transaction(ctx, move |c| {
        live_user(c, &uid)?;
        let before = crate::mfa::methods::enrolled(c, &uid)?;
        let by = signals::By::Operator("second factors reset by support");
        signals::factors_removed(c, &settings.ssf, now, &uid, by, &before)?;
        let removed_phones = diesel::delete(phones::table.filter(phones::user_id.eq(&uid)))
            .execute(c)
            .map_err(anyhow::Error::from)?;
        let removed_apps =
            diesel::delete(totp_credentials::table.filter(totp_credentials::user_id.eq(&uid)))
                .execute(c)
                .map_err(anyhow::Error::from)?;
        let removed_codes =
            diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(&uid)))
                .execute(c)
                .map_err(anyhow::Error::from)?;
        let removed_keys = diesel::delete(
            webauthn_credentials::table.filter(webauthn_credentials::user_id.eq(&uid)),
        )
        .execute(c)
        .map_err(anyhow::Error::from)?;
        let sessions = crate::accounts::sessions::end_all_for_user(c, now, &uid)?;
        if sessions > 0 {
            let signal = crate::ssf::events::session_revoked(
                now,
                crate::ssf::events::Initiator::Admin,
                Some("second factors reset by support"),
            );
            crate::ssf::events::enqueue(c, &settings.ssf, now, &uid, &signal)?;
        }
        record(
            c,
            now,
            &uid,
            &who,
            crate::audit::Kind::MfaReset,
            serde_json::json!({
                "reason": why,
                "phones_removed": removed_phones,
                "authenticator_apps_removed": removed_apps,
                "backup_codes_removed": removed_codes,
                "keys_removed": removed_keys,
                "sessions_ended": sessions,
            }),
        )?;
        Ok(())
    })
    .await?;
    crate::mfa::challenge::clear_lock(ctx, id).await?;
    crate::notify::notices::tell_account(
        ctx,
        id,
        None,
        crate::notify::notices::Texts::None,
        &crate::notify::notices::Notice::FactorsRemovedBySupport,
    )
    .await?;
    detail(ctx, id).await
}

/// Deletes an account, keeping a tombstone: the row stays (so audit events still point
/// somewhere), with personal data scrubbed, every method, email, consent and session gone.
pub async fn delete(ctx: &Ctx, agent: &Agent, id: &str) -> Outcome<UserDetail> {
    let uid = id.to_string();
    // Where to tell the person, and in which language, read while the account still exists.
    let (addresses, lang) = ctx
        .db
        .run(move |c| {
            Ok(match live_user(c, &uid) {
                Ok(user) => Ok((
                    crate::accounts::emails::confirmed_addresses(c, &uid)?,
                    crate::accounts::users::lang_of(&user),
                )),
                Err(p) => Err(p),
            })
        })
        .await??;
    // Computed before the transaction: a fresh random password's hash, so the column keeps a
    // well-formed value that no password matches.
    let scrubbed_hash = ctx.passwords.hash(crate::crypto::random_token(32)).await?;
    let (uid, now, who) = (id.to_string(), ctx.clock.now(), agent.client_id.clone());
    let settings = ctx.settings.clone();
    in_transaction(ctx, move |c| {
        live_user(c, &uid)?;
        let (sessions, grants_revoked) = end_everything(
            c,
            &settings.ssf,
            now,
            &uid,
            "account deleted",
            Tell::IfAnyEnded,
        )?;
        // Before the consents go: they decide which relying parties hear of it.
        signals::account(
            c,
            &settings.ssf,
            now,
            &uid,
            signals::AccountChange::Purged,
            "account deleted by an operator",
        )?;
        let run = |r: QueryResult<usize>| r.map_err(anyhow::Error::from);
        run(diesel::delete(phones::table.filter(phones::user_id.eq(&uid))).execute(c))?;
        run(
            diesel::delete(totp_credentials::table.filter(totp_credentials::user_id.eq(&uid)))
                .execute(c),
        )?;
        run(diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(&uid))).execute(c))?;
        run(diesel::delete(
            webauthn_credentials::table.filter(webauthn_credentials::user_id.eq(&uid)),
        )
        .execute(c))?;
        run(diesel::delete(user_emails::table.filter(user_emails::user_id.eq(&uid))).execute(c))?;
        run(diesel::delete(consents::table.filter(consents::user_id.eq(&uid))).execute(c))?;
        run(crate::accounts::networks::forget(c, &uid))?;
        run(diesel::delete(email_tokens::table.filter(email_tokens::user_id.eq(&uid))).execute(c))?;
        // A waiting account reset dies with the account.
        run(diesel::delete(
            crate::storage::schema::account_resets::table
                .filter(crate::storage::schema::account_resets::user_id.eq(&uid)),
        )
        .execute(c))?;
        run(diesel::update(users_t::table.find(&uid))
            .set((
                users_t::email.eq(format!("deleted+{uid}@invalid")),
                users_t::email_verified.eq(false),
                users_t::password_hash.eq(scrubbed_hash),
                users_t::given_name.eq(None::<String>),
                users_t::family_name.eq(None::<String>),
                users_t::locale.eq(None::<String>),
                users_t::time_zone.eq(None::<String>),
                users_t::disabled.eq(true),
                users_t::deleted_at.eq(Some(now)),
                users_t::updated_at.eq(now),
            ))
            .execute(c))?;
        record(
            c,
            now,
            &uid,
            &who,
            crate::audit::Kind::UserDeleted,
            serde_json::json!({ "sessions_ended": sessions, "grants_revoked": grants_revoked }),
        )?;
        Ok(())
    })
    .await?;
    for to in &addresses {
        crate::notify::notices::send_best_effort(
            ctx,
            crate::notify::Channel::Email,
            to,
            lang,
            &crate::notify::notices::Notice::AccountDeleted,
        )
        .await;
    }
    detail(ctx, id).await
}
