//! Sign-in with email and password, with the throttling of DESIGN.md:
//! - per (account, IP): `password_failures_per_ip` free failures, then a wait that starts at
//!   `password_backoff_base_secs` and doubles with each further failure;
//! - per account: every `password_failures_account_lock` consecutive failures lock it for
//!   `account_lock_secs` and email the owner; at `password_failures_hard_limit` it stays
//!   locked until recovered.
//!
//! Counters are keyed by the normalised email, not the user id, so an unknown email is
//! throttled exactly like a real one and the answers can't be used to enumerate accounts.

use std::time::Duration;

use crate::accounts::signup::send_confirmation;
use crate::accounts::users::{self, normalize_email};
use crate::audit::{self, Actor};
use crate::crypto;
use crate::notify::{AccountLockedText, Message};
use crate::Ctx;

#[derive(Debug)]
pub enum SignInOutcome {
    /// The password is right; the second-factor step ([`crate::accounts::login`]) comes next.
    PasswordAccepted { user_id: String, email: String },
    /// Unknown email or wrong password: one message for both.
    InvalidCredentials,
    /// Too many failures from this IP for this account: wait.
    TryAgainLater { wait_secs: u64 },
    /// Too many failures on the account from anywhere.
    AccountLocked { wait_secs: u64 },
    /// Past the hard limit: only recovery or an operator unlocks it.
    LockedUntilRecovered,
    /// Right password, email never confirmed: a new link has been sent.
    EmailNotConfirmed,
    /// Right password, account disabled by an operator.
    Disabled,
}

struct Keys {
    per_ip_failures: String,
    per_ip_wait: String,
    account_failures: String,
    account_lock: String,
    hard_lock: String,
}

fn keys(email: &str, ip: &str) -> Keys {
    let account = hex::encode(&crypto::sha256(email.as_bytes())[..16]);
    Keys {
        per_ip_failures: format!("pw:fail:{account}:{ip}"),
        per_ip_wait: format!("pw:wait:{account}:{ip}"),
        account_failures: format!("pw:fail:{account}"),
        account_lock: format!("pw:lock:{account}"),
        hard_lock: format!("pw:hardlock:{account}"),
    }
}

async fn remaining(ctx: &Ctx, key: &str) -> anyhow::Result<Option<u64>> {
    Ok(ctx.store.ttl(key).await?.map(|d| d.as_secs().max(1)))
}

pub async fn sign_in(
    ctx: &Ctx,
    email: &str,
    password: String,
    actor: &Actor,
) -> anyhow::Result<SignInOutcome> {
    let sec = &ctx.settings.security;
    let email = normalize_email(email);
    let k = keys(&email, &actor.ip);

    if ctx.store.get(&k.hard_lock).await?.is_some() {
        return Ok(SignInOutcome::LockedUntilRecovered);
    }
    if let Some(wait_secs) = remaining(ctx, &k.account_lock).await? {
        return Ok(SignInOutcome::AccountLocked { wait_secs });
    }
    if let Some(wait_secs) = remaining(ctx, &k.per_ip_wait).await? {
        return Ok(SignInOutcome::TryAgainLater { wait_secs });
    }

    let lookup = email.clone();
    let user = ctx.db.run(move |c| users::by_email(c, &lookup)).await?;
    let ok = ctx
        .passwords
        .verify(user.as_ref().map(|u| u.password_hash.clone()), password)
        .await?;
    let now = ctx.clock.now();

    let user = match (ok, user) {
        (true, Some(user)) => user,
        (_, user) => {
            let memory = Duration::from_secs(sec.password_failure_memory_secs);
            let per_ip = ctx.store.incr(&k.per_ip_failures, memory).await?;
            let account = ctx.store.incr(&k.account_failures, memory).await?;
            let user_id = user.as_ref().map(|u| u.id.clone());
            let a = actor.clone();
            ctx.db
                .run(move |c| {
                    audit::record(
                        c,
                        now,
                        user_id.as_deref(),
                        None,
                        "signin_failed",
                        serde_json::json!({}),
                        Some(&a),
                    )
                })
                .await?;

            if account >= i64::from(sec.password_failures_hard_limit) {
                ctx.store
                    .put(&k.hard_lock, "1", Duration::from_secs(365 * 86400))
                    .await?;
                notify_locked(ctx, user.as_ref().map(|u| u.email.as_str()), 0, true, actor).await?;
                return Ok(SignInOutcome::LockedUntilRecovered);
            }
            if account % i64::from(sec.password_failures_account_lock) == 0 {
                ctx.store
                    .put(
                        &k.account_lock,
                        "1",
                        Duration::from_secs(sec.account_lock_secs),
                    )
                    .await?;
                notify_locked(
                    ctx,
                    user.as_ref().map(|u| u.email.as_str()),
                    sec.account_lock_secs,
                    false,
                    actor,
                )
                .await?;
                return Ok(SignInOutcome::AccountLocked {
                    wait_secs: sec.account_lock_secs,
                });
            }
            let over = per_ip - i64::from(sec.password_failures_per_ip);
            if over >= 0 {
                let wait = backoff_secs(
                    sec.password_backoff_base_secs,
                    sec.password_backoff_max_secs,
                    over as u32,
                );
                ctx.store
                    .put(&k.per_ip_wait, "1", Duration::from_secs(wait))
                    .await?;
                return Ok(SignInOutcome::TryAgainLater { wait_secs: wait });
            }
            return Ok(SignInOutcome::InvalidCredentials);
        }
    };

    if user.disabled {
        return Ok(SignInOutcome::Disabled);
    }
    ctx.store.delete(&k.per_ip_failures).await?;
    ctx.store.delete(&k.account_failures).await?;
    if !user.email_verified {
        send_confirmation(ctx, &user, None).await?;
        return Ok(SignInOutcome::EmailNotConfirmed);
    }
    Ok(SignInOutcome::PasswordAccepted {
        user_id: user.id,
        email: user.email,
    })
}

/// Forgets every failure counter and lock for an account (after a password reset).
pub async fn clear_failures(ctx: &Ctx, email: &str) -> anyhow::Result<()> {
    let k = keys(&normalize_email(email), "");
    for key in [&k.account_failures, &k.account_lock, &k.hard_lock] {
        ctx.store.delete(key).await?;
    }
    Ok(())
}

/// `base · 2^over`, capped.
pub fn backoff_secs(base: u64, max: u64, over: u32) -> u64 {
    base.saturating_mul(1u64 << over.min(32)).min(max)
}

async fn notify_locked(
    ctx: &Ctx,
    email: Option<&str>,
    lock_secs: u64,
    until_reset: bool,
    actor: &Actor,
) -> anyhow::Result<()> {
    let Some(email) = email else {
        return Ok(());
    };
    let site = ctx.settings.site_name.clone();
    let text = AccountLockedText {
        site_name: &site,
        minutes: lock_secs.div_ceil(60),
        until_reset,
        ip: &actor.ip,
    };
    let message = Message::email(
        email,
        &format!("Sign-in to your {site} account is paused"),
        text,
    )?;
    crate::notify::send_best_effort(&*ctx.notifier, message).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        assert_eq!(backoff_secs(60, 3600, 0), 60);
        assert_eq!(backoff_secs(60, 3600, 1), 120);
        assert_eq!(backoff_secs(60, 3600, 3), 480);
        assert_eq!(backoff_secs(60, 3600, 10), 3600);
        assert_eq!(backoff_secs(60, 3600, 200), 3600);
    }
}
