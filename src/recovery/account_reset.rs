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
use crate::notify::{send_best_effort, Channel, Message};
use crate::storage::db::DbConn;
use crate::storage::schema::{
    account_resets, backup_codes, grants, phones, totp_credentials, users,
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

fn when(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
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
    let site = &ctx.settings.site_name;
    let wait = hours(sec.account_reset_wait_secs);
    send_best_effort(
        &*ctx.notifier,
        Message {
            channel: Channel::Email,
            to: email.to_string(),
            subject: format!("Confirm your {site} account reset"),
            body: format!(
                "Someone who knows your password asked to reset the sign-in methods of your {site} account because they no longer have their phone or other second factor.\n\nTo confirm the request, open this link:\n\n{}/account-reset/request?token={token}\n\nAfter you confirm, there is a wait of {wait} for your security. Then we'll email you a link that removes your phone numbers, authenticator apps and backup codes, so you can set up new ones.\n\nIf you didn't ask for this, ignore this email and change your password: someone knows it.\n",
                ctx.settings.issuer
            ),
        },
    )
    .await;
    Ok(RequestLink::Sent {
        email: email.to_string(),
    })
}

fn secs(n: u64) -> chrono::Duration {
    chrono::Duration::seconds(n as i64)
}

fn hours(secs: u64) -> String {
    match secs.div_ceil(3600) {
        1 => "1 hour".to_string(),
        n => format!("{n} hours"),
    }
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
        let site = &ctx.settings.site_name;
        crate::recovery::notify_every_channel(
            ctx,
            user_id,
            &format!("Account reset requested for your {site} account"),
            &format!(
                "Someone asked to remove every sign-in method (phone numbers, authenticator apps, backup codes) from your {site} account on {}.\n\nIt becomes possible on {}. If this was you, there's nothing to do: we'll email you a link then.\n\nIf this wasn't you, sign in to {site} as usual (password and your phone or app) before then: that cancels the reset. Then change your password, because whoever asked knows it.\n",
                when(now),
                when(*ready_at)
            ),
            &format!(
                "{site}: someone asked to reset your account's sign-in methods. Not you? Sign in before {} to cancel it.",
                when(*ready_at)
            ),
        )
        .await?;
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
                    Ok(Some((user.email, token)))
                })?;
                links.extend(sent);
            }
            Ok(links)
        })
        .await?;
    let site = &ctx.settings.site_name;
    for (email, token) in &due {
        send_best_effort(
            &*ctx.notifier,
            Message {
                channel: Channel::Email,
                to: email.clone(),
                subject: format!("You can now reset your {site} account"),
                body: format!(
                    "The waiting period of your account reset is over. Open this link to remove every phone number, authenticator app and backup code from your {site} account:\n\n{}/account-reset?token={token}\n\nThen sign in with your password and set up new sign-in methods. The link works once and expires in {}.\n\nIf you no longer need the reset, ignore this email.\n",
                    ctx.settings.issuer,
                    hours(ttl)
                ),
            },
        )
        .await;
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
                let old_phones = methods::enrolled(c, &user_id)?.phones;
                let removed_phones =
                    diesel::delete(phones::table.filter(phones::user_id.eq(&user_id)))
                        .execute(c)?;
                let removed_apps = diesel::delete(
                    totp_credentials::table.filter(totp_credentials::user_id.eq(&user_id)),
                )
                .execute(c)?;
                diesel::delete(backup_codes::table.filter(backup_codes::user_id.eq(&user_id)))
                    .execute(c)?;
                diesel::update(users::table.find(&user_id))
                    .set((
                        users::identity_reverify_at.eq(now),
                        users::updated_at.eq(now),
                    ))
                    .execute(c)?;
                let sessions = crate::accounts::sessions::end_all_for_user(c, now, &user_id)?;
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
    let site = &ctx.settings.site_name;
    crate::accounts::emails::notify_all(
        ctx,
        &user_id,
        None,
        &format!("Your {site} sign-in methods were removed"),
        &format!(
            "As requested, every phone number, authenticator app and backup code was removed from your {site} account on {}, and every device was signed out. Sign in with your password to set up new ones.\n\nIf this wasn't you, contact support right away.\n",
            when(now)
        ),
    )
    .await?;
    for number in old_numbers {
        send_best_effort(
            &*ctx.notifier,
            Message {
                channel: Channel::Sms,
                to: number,
                subject: format!("{site} account reset"),
                body: format!(
                    "{site}: this number was removed from an account by an account reset. Not you? Contact support."
                ),
            },
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
    let site = &ctx.settings.site_name;
    crate::recovery::notify_every_channel(
        ctx,
        user_id,
        &format!("Your {site} account reset was cancelled"),
        &format!(
            "Your {site} account was signed in to on {} with its password and second factor, so the account reset that was waiting has been cancelled. Your sign-in methods stay as they are.\n\nIf you still need a reset, ask for it again. If you didn't ask for one, change your password: whoever asked knows it.\n",
            when(ctx.clock.now())
        ),
        &format!("{site}: the account reset that was waiting was cancelled because you signed in."),
    )
    .await
}
