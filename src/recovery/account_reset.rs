//! Time-delayed account reset, for someone who knows the password but lost every second factor.
//!
//! 1. At the second-factor step, "I don't have my phone" → "reset my sign-in methods": a link
//!    goes to the primary address ([`send_request_link`]); opening it files the request
//!    ([`confirm_request`]) and tells every email address and phone on file.
//! 2. After `account_reset_wait_secs` the worker ([`send_due_links`]) mails a second link.
//! 3. That link ([`complete`]) removes every phone, authenticator app and backup code, signs out
//!    everywhere, and marks identity data for re-verification. The next sign-in (password) then
//!    enrols new methods.
//!
//! Signing in normally during the wait (password + second factor, or a remembered browser)
//! cancels the reset and says so on every channel ([`cancel_on_sign_in`]): whoever can still
//! sign in is the owner, and the request was not theirs or is no longer needed.
//!
//! State: `account_resets` rows (pending → cancelled | completed), links in `email_tokens`.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::email_tokens;
use crate::accounts::login::{LoginFlow, LoginStage};
use crate::audit::{self, Actor};
use crate::mfa::methods;
use crate::notify::notices::{self, Notice, Texts};
use crate::notify::Channel;
use crate::storage::db::DbConn;
use crate::storage::schema::{
    account_resets, backup_codes, grants, phones, totp_credentials, users, webauthn_credentials,
};
use crate::Ctx;

/// The link that confirms the request (proves the person reads the primary address).
pub const PURPOSE_REQUEST: &str = "account_reset_request";
/// The link sent when the wait is over.
pub const PURPOSE_COMPLETE: &str = "account_reset";

const PENDING: &str = "pending";
const CANCELLED: &str = "cancelled";
const COMPLETED: &str = "completed";

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = account_resets)]
pub struct AccountReset {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub requested_at: NaiveDateTime,
    pub ready_at: NaiveDateTime,
    pub link_sent_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
}

fn pending_for(conn: &mut DbConn, user_id: &str) -> anyhow::Result<Option<AccountReset>> {
    Ok(account_resets::table
        .filter(account_resets::user_id.eq(user_id))
        .filter(account_resets::status.eq(PENDING))
        .select(AccountReset::as_select())
        .first(conn)
        .optional()?)
}

/// The account's reset waiting to become possible, if any.
pub async fn pending(ctx: &Ctx, user_id: &str) -> anyhow::Result<Option<AccountReset>> {
    let uid = user_id.to_string();
    ctx.db.run(move |c| pending_for(c, &uid)).await
}

/// Whether a link is still usable, without using it (for the page that asks to confirm).
pub async fn link_valid(ctx: &Ctx, token: &str, purpose: &'static str) -> anyhow::Result<bool> {
    let (token, now) = (token.to_string(), ctx.clock.now());
    ctx.db
        .run(move |c| Ok(email_tokens::peek(c, now, &token, purpose)?.is_some()))
        .await
}

#[derive(Debug, PartialEq, Eq)]
pub enum RequestLink {
    /// The confirmation link went to this (primary) address.
    Sent {
        email: String,
    },
    /// A reset is already waiting; nothing new was sent.
    AlreadyPending {
        ready_at: NaiveDateTime,
    },
    TooManyRequests,
    /// Only a sign-in whose password was accepted may ask (not a password reset, where only
    /// the email link was shown).
    PasswordFirst,
}

/// Whether this sign-in may ask for an account reset: the password was given, and the
/// second factor is what's missing.
pub fn may_request(flow: &LoginFlow) -> bool {
    flow.reset_token.is_none() && flow.stage == LoginStage::SecondFactor
}

/// Step 1: the person (password already accepted in `flow`) asks for an account reset.
pub async fn send_request_link(
    ctx: &Ctx,
    flow: &LoginFlow,
    actor: &Actor,
) -> anyhow::Result<RequestLink> {
    if !may_request(flow) {
        return Ok(RequestLink::PasswordFirst);
    }
    let (user_id, email) = (flow.user_id.as_str(), flow.email.as_str());
    if let Some(existing) = pending(ctx, user_id).await? {
        return Ok(RequestLink::AlreadyPending {
            ready_at: existing.ready_at,
        });
    }
    let sends = ctx
        .store
        .incr(
            &format!("account_reset:req:{user_id}"),
            Duration::from_secs(3600),
        )
        .await?;
    if sends > i64::from(ctx.settings.security.password_resets_per_hour) {
        return Ok(RequestLink::TooManyRequests);
    }
    let sec = &ctx.settings.security;
    let (now, ttl) = (ctx.clock.now(), sec.account_reset_link_ttl_secs);
    let (uid, mail, a) = (user_id.to_string(), email.to_string(), actor.clone());
    let token = ctx
        .db
        .run(move |c| {
            let token = email_tokens::issue(c, now, secs(ttl), &uid, &mail, PURPOSE_REQUEST)?;
            audit::record(
                c,
                now,
                audit::Event {
                    kind: audit::Kind::AccountResetLinkSent,
                    user_id: Some(&uid),
                    client_id: None,
                    detail: serde_json::json!({}),
                    actor: Some(&a),
                },
            )?;
            Ok(token)
        })
        .await?;
    let notice = Notice::AccountResetConfirm {
        link: format!(
            "{}/account-reset/request?token={token}",
            ctx.settings.issuer
        ),
        wait_hours: sec.account_reset_wait_secs.div_ceil(3600),
    };
    let lang = notices::lang_of_account(ctx, user_id).await?;
    notices::send_best_effort(ctx, Channel::Email, email, lang, &notice).await;
    Ok(RequestLink::Sent {
        email: email.to_string(),
    })
}

fn secs(n: u64) -> chrono::Duration {
    chrono::Duration::seconds(n as i64)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// The reset is filed; the removal link comes at `ready_at`.
    Requested {
        ready_at: NaiveDateTime,
    },
    AlreadyPending {
        ready_at: NaiveDateTime,
    },
    InvalidLink,
}

/// Step 2: the confirmation link. Files the request and announces it on every channel.
pub async fn confirm_request(ctx: &Ctx, token: &str, actor: &Actor) -> anyhow::Result<Confirmed> {
    let now = ctx.clock.now();
    let ready_at =
        now + chrono::Duration::seconds(ctx.settings.security.account_reset_wait_secs as i64);
    let (token, a) = (token.to_string(), actor.clone());
    let outcome = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let Some((user_id, _)) = email_tokens::claim(c, now, &token, PURPOSE_REQUEST)?
                else {
                    return Ok((Confirmed::InvalidLink, None));
                };
                if let Some(existing) = pending_for(c, &user_id)? {
                    return Ok((
                        Confirmed::AlreadyPending {
                            ready_at: existing.ready_at,
                        },
                        None,
                    ));
                }
                diesel::insert_into(account_resets::table)
                    .values((
                        account_resets::id.eq(uuid::Uuid::new_v4().to_string()),
                        account_resets::user_id.eq(&user_id),
                        account_resets::status.eq(PENDING),
                        account_resets::requested_at.eq(now),
                        account_resets::ready_at.eq(ready_at),
                    ))
                    .execute(c)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::AccountResetRequested,
                        user_id: Some(&user_id),
                        client_id: None,
                        detail: serde_json::json!({ "ready_at": ready_at.and_utc().to_rfc3339() }),
                        actor: Some(&a),
                    },
                )?;
                Ok((Confirmed::Requested { ready_at }, Some(user_id)))
            })
        })
        .await?;
    if let (Confirmed::Requested { ready_at }, Some(user_id)) = &outcome {
        let notice = Notice::AccountResetRequested {
            at: now,
            ready_at: *ready_at,
        };
        notices::tell_account(ctx, user_id, None, Texts::EveryPhone, &notice).await?;
    }
    Ok(outcome.0)
}

/// Step 3 (the worker): mails the removal link for every reset whose wait is over. Each reset
/// is claimed by setting `link_sent_at`, so several nodes never send it twice.
pub async fn send_due_links(ctx: &Ctx) -> anyhow::Result<usize> {
    let now = ctx.clock.now();
    let ttl = ctx.settings.security.account_reset_link_ttl_secs;
    let due = ctx
        .db
        .run(move |c| {
            let due: Vec<AccountReset> = account_resets::table
                .filter(account_resets::status.eq(PENDING))
                .filter(account_resets::ready_at.le(now))
                .filter(account_resets::link_sent_at.is_null())
                .select(AccountReset::as_select())
                .limit(100)
                .load(c)?;
            let mut links = Vec::new();
            for reset in due {
                let sent = crate::storage::db::write_tx(c, |c| {
                    let claimed = diesel::update(
                        account_resets::table
                            .find(&reset.id)
                            .filter(account_resets::link_sent_at.is_null())
                            .filter(account_resets::status.eq(PENDING)),
                    )
                    .set(account_resets::link_sent_at.eq(now))
                    .execute(c)?;
                    if claimed != 1 {
                        return Ok::<_, anyhow::Error>(None);
                    }
                    // A disabled or deleted account gets no link (its reset just never ends).
                    let Some(user) = crate::accounts::users::by_id(c, &reset.user_id)?
                        .filter(|u| !u.disabled && u.deleted_at.is_none())
                    else {
                        return Ok(None);
                    };
                    let token = email_tokens::issue(
                        c,
                        now,
                        secs(ttl),
                        &user.id,
                        &user.email,
                        PURPOSE_COMPLETE,
                    )?;
                    Ok(Some((
                        user.email.clone(),
                        token,
                        crate::accounts::users::lang_of(&user),
                    )))
                })?;
                links.extend(sent);
            }
            Ok(links)
        })
        .await?;
    for (email, token, lang) in &due {
        let notice = Notice::AccountResetReady {
            link: format!("{}/account-reset?token={token}", ctx.settings.issuer),
            valid_hours: ttl.div_ceil(3600),
        };
        notices::send_best_effort(ctx, Channel::Email, email, *lang, &notice).await;
    }
    Ok(due.len())
}

/// Runs [`send_due_links`] every `account_reset_poll_ms` on this node.
pub fn spawn_worker(ctx: Ctx) {
    tokio::spawn(async move {
        let period = Duration::from_millis(ctx.settings.security.account_reset_poll_ms.max(100));
        loop {
            tokio::time::sleep(period).await;
            if let Err(e) = send_due_links(&ctx).await {
                tracing::warn!(error = %format!("{e:#}"), "account reset links");
            }
        }
    });
}

#[derive(Debug, PartialEq, Eq)]
pub enum Completed {
    /// Every second factor is gone; the person signs in with the password and enrols anew.
    Done { email: String },
    /// Unknown, used or expired link, or the reset was cancelled meanwhile.
    InvalidLink,
}

/// Step 4: the removal link. One transaction removes every method, completes the reset, ends
/// every session and token grant, and marks identity data for re-verification.
pub async fn complete(ctx: &Ctx, token: &str, actor: &Actor) -> anyhow::Result<Completed> {
    let now = ctx.clock.now();
    let (token, a) = (token.to_string(), actor.clone());
    let settings = ctx.settings.clone();
    let done = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let Some((user_id, _)) = email_tokens::claim(c, now, &token, PURPOSE_COMPLETE)?
                else {
                    return Ok(None);
                };
                let finished = diesel::update(
                    account_resets::table
                        .filter(account_resets::user_id.eq(&user_id))
                        .filter(account_resets::status.eq(PENDING))
                        .filter(account_resets::ready_at.le(now)),
                )
                .set((
                    account_resets::status.eq(COMPLETED),
                    account_resets::finished_at.eq(now),
                ))
                .execute(c)?;
                if finished != 1 {
                    return Ok(None);
                }
                // The old numbers hear about it too (they may be the person's, or an attacker's
                // who should know the account moved on).
                let before = methods::enrolled(c, &user_id)?;
                crate::ssf::signals::factors_removed(
                    c,
                    &settings.ssf,
                    now,
                    &user_id,
                    crate::ssf::signals::By::Person,
                    &before,
                )?;
                let was_verified = crate::ssf::signals::identity_verified(c, &user_id)?;
                let old_phones = before.phones;
                let removed_phones =
                    diesel::delete(phones::table.filter(phones::user_id.eq(&user_id)))
                        .execute(c)?;
                let removed_apps = diesel::delete(
                    totp_credentials::table.filter(totp_credentials::user_id.eq(&user_id)),
                )
                .execute(c)?;
                diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(&user_id)))
                    .execute(c)?;
                let removed_keys = diesel::delete(
                    webauthn_credentials::table.filter(webauthn_credentials::user_id.eq(&user_id)),
                )
                .execute(c)?;
                diesel::update(users::table.find(&user_id))
                    .set((
                        users::identity_reverify_at.eq(now),
                        users::updated_at.eq(now),
                    ))
                    .execute(c)?;
                crate::ssf::signals::identity_assurance_since(
                    c,
                    &settings.ssf,
                    now,
                    &user_id,
                    crate::ssf::signals::By::Person,
                    was_verified,
                )?;
                let sessions = crate::accounts::sessions::end_all_for_user(c, now, &user_id)?;
                crate::ssf::events::sessions_ended(c, &settings.ssf, now, &user_id, sessions)?;
                let revoked = diesel::update(
                    grants::table
                        .filter(grants::user_id.eq(&user_id))
                        .filter(grants::revoked_at.is_null()),
                )
                .set((
                    grants::revoked_at.eq(now),
                    grants::revoked_reason.eq("account reset"),
                ))
                .execute(c)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::AccountResetCompleted,
                        user_id: Some(&user_id),
                        client_id: None,
                        detail: serde_json::json!({
                            "phones_removed": removed_phones,
                            "authenticator_apps_removed": removed_apps,
                            "backup_codes_removed": true,
                            "keys_removed": removed_keys,
                            "sessions_ended": sessions,
                            "grants_revoked": revoked,
                            "identity_reverification_required": true,
                        }),
                        actor: Some(&a),
                    },
                )?;
                let email = crate::accounts::users::by_id(c, &user_id)?
                    .map(|u| u.email)
                    .unwrap_or_default();
                Ok(Some((user_id, email, old_phones)))
            })
        })
        .await?;
    let Some((user_id, email, old_phones)) = done else {
        return Ok(Completed::InvalidLink);
    };
    let old_numbers: Vec<String> = old_phones
        .iter()
        .filter_map(|p| methods::decrypt_phone(&ctx.master, p).ok())
        .collect();
    let notice = Notice::AccountResetDone { at: now };
    notices::tell_account(ctx, &user_id, None, Texts::None, &notice).await?;
    let lang = notices::lang_of_account(ctx, &user_id).await?;
    for number in old_numbers {
        notices::send_best_effort(
            ctx,
            Channel::Sms,
            &number,
            lang,
            &Notice::AccountResetNumberRemoved,
        )
        .await;
    }
    Ok(Completed::Done { email })
}

/// A normal sign-in cancels a waiting reset. Runs inside the sign-in's own transaction (no
/// extra round trip per sign-in); returns whether one was cancelled, so the caller can
/// [`announce_cancellation`] once it has committed.
pub fn cancel_on_sign_in(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: &str,
    actor: &Actor,
) -> anyhow::Result<bool> {
    let n = diesel::update(
        account_resets::table
            .filter(account_resets::user_id.eq(user_id))
            .filter(account_resets::status.eq(PENDING)),
    )
    .set((
        account_resets::status.eq(CANCELLED),
        account_resets::finished_at.eq(now),
    ))
    .execute(conn)?;
    if n > 0 {
        audit::record(
            conn,
            now,
            audit::Event {
                kind: audit::Kind::AccountResetCancelled,
                user_id: Some(user_id),
                client_id: None,
                detail: serde_json::json!({ "by": "sign-in" }),
                actor: Some(actor),
            },
        )?;
    }
    Ok(n > 0)
}

/// Tells every channel that a sign-in cancelled the waiting reset.
pub async fn announce_cancellation(ctx: &Ctx, user_id: &str) -> anyhow::Result<()> {
    let notice = Notice::AccountResetCancelled {
        at: ctx.clock.now(),
    };
    notices::tell_account(ctx, user_id, None, Texts::EveryPhone, &notice).await
}
