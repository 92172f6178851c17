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
use crate::notify::notices::{self, Notice, Texts};
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
    /// Attempts from this IP on this account since the last success (each reserved before
    /// the password is checked, so it counts as a failure until it succeeds).
    per_ip_failures: String,
    /// The backoff gate: held by the attempt that reached the allowance, then the wait.
    per_ip_wait: String,
    /// Attempts refused from this IP, to tell a burst that crossed the limit.
    per_ip_refused: String,
    account_failures: String,
    account_lock: String,
    /// The highest lock period (failures / `password_failures_account_lock`) whose lock was
    /// taken: attempts past a period boundary wait until that period's lock was taken and
    /// has passed.
    account_locked_through: String,
    hard_lock: String,
}

fn keys(email: &str, ip_key: &str) -> Keys {
    let account = hex::encode(&crypto::sha256(email.as_bytes())[..16]);
    Keys {
        per_ip_failures: format!("pw:fail:{account}:{ip_key}"),
        per_ip_wait: format!("pw:wait:{account}:{ip_key}"),
        per_ip_refused: format!("pw:refused:{account}:{ip_key}"),
        account_failures: format!("pw:fail:{account}"),
        // One hash tag: taken together (`Store::put_if_absent_with_mark`).
        account_lock: format!("pw:lock:{{{account}}}"),
        account_locked_through: format!("pw:locked-through:{{{account}}}"),
        hard_lock: format!("pw:hardlock:{account}"),
    }
}

async fn remaining(ctx: &Ctx, key: &str) -> anyhow::Result<Option<u64>> {
    Ok(ctx.store.ttl(key).await?.map(|d| d.as_secs().max(1)))
}

/// A password check that was let through: which slots it holds.
struct Admitted {
    account_attempt: i64,
    /// It took the per-IP backoff gate (it is the attempt that reached the allowance).
    holds_ip_gate: bool,
    ip_wait_secs: u64,
    /// It took the account lock (its attempt number ends a lock period).
    holds_account_lock: bool,
    refused_before: i64,
}

/// Reserves this attempt before Argon2 runs, atomically in the store, so the limits hold for
/// concurrent requests on any number of nodes: every attempt counts as a failure until it
/// succeeds; the attempt that reaches the per-IP allowance or ends an account lock period
/// takes the wait or the lock up front, and any other attempt that finds it taken is refused
/// without its password being checked.
async fn admit(ctx: &Ctx, k: &Keys) -> anyhow::Result<Result<Admitted, SignInOutcome>> {
    let sec = &ctx.settings.security;
    let memory = Duration::from_secs(sec.password_failure_memory_secs);
    let refused_before = crate::storage::store::get_count(&*ctx.store, &k.per_ip_refused).await?;

    let ip_attempt = ctx.store.incr(&k.per_ip_failures, memory).await?;
    let free = i64::from(sec.password_failures_per_ip.max(1));
    let mut holds_ip_gate = false;
    let mut ip_wait_secs = 0;
    if ip_attempt >= free {
        ip_wait_secs = backoff_secs(
            sec.password_backoff_base_secs,
            sec.password_backoff_max_secs,
            (ip_attempt - free) as u32,
        );
        holds_ip_gate = ctx
            .store
            .put_if_absent(
                &k.per_ip_wait,
                "1",
                Duration::from_secs(ip_wait_secs + sec.password_check_in_flight_secs),
            )
            .await?;
        if !holds_ip_gate {
            ctx.store.decr(&k.per_ip_failures).await?;
            ctx.store.incr(&k.per_ip_refused, memory).await?;
            let wait_secs = remaining(ctx, &k.per_ip_wait).await?.unwrap_or(1);
            return Ok(Err(SignInOutcome::TryAgainLater { wait_secs }));
        }
    }

    let release_ip = |ctx: &Ctx| {
        let (failures, wait, refused) = (
            k.per_ip_failures.clone(),
            k.per_ip_wait.clone(),
            k.per_ip_refused.clone(),
        );
        let ctx = ctx.clone();
        async move {
            ctx.store.decr(&failures).await?;
            if holds_ip_gate {
                ctx.store.delete(&wait).await?;
            }
            ctx.store.incr(&refused, memory).await?;
            anyhow::Ok(())
        }
    };

    let account_attempt = ctx.store.incr(&k.account_failures, memory).await?;
    let period = i64::from(sec.password_failures_account_lock.max(1));
    let hard = i64::from(sec.password_failures_hard_limit.max(1));
    if account_attempt > hard {
        ctx.store.decr(&k.account_failures).await?;
        release_ip(ctx).await?;
        return Ok(Err(SignInOutcome::LockedUntilRecovered));
    }
    // Past a period boundary: that period's lock must have been taken, and have passed.
    let period_index = (account_attempt - 1) / period;
    if period_index > 0 {
        let locked_through =
            crate::storage::store::get_count(&*ctx.store, &k.account_locked_through).await?;
        let lock_left = remaining(ctx, &k.account_lock).await?;
        if locked_through < period_index || lock_left.is_some() {
            ctx.store.decr(&k.account_failures).await?;
            release_ip(ctx).await?;
            return Ok(Err(SignInOutcome::AccountLocked {
                wait_secs: lock_left.unwrap_or(sec.account_lock_secs),
            }));
        }
    }
    let mut holds_account_lock = false;
    if account_attempt % period == 0 || account_attempt == hard {
        // The lock and the mark of the period it ends, in one atomic step: whoever sees the
        // mark also sees the lock (or its end), and a request that dies can't leave one alone.
        let period_done = (account_attempt / period).to_string();
        holds_account_lock = ctx
            .store
            .put_if_absent_with_mark(
                &k.account_lock,
                "1",
                Duration::from_secs(sec.account_lock_secs + sec.password_check_in_flight_secs),
                (&k.account_locked_through, &period_done, memory),
            )
            .await?;
        if !holds_account_lock {
            ctx.store.decr(&k.account_failures).await?;
            release_ip(ctx).await?;
            let wait_secs = remaining(ctx, &k.account_lock)
                .await?
                .unwrap_or(sec.account_lock_secs);
            return Ok(Err(SignInOutcome::AccountLocked { wait_secs }));
        }
    }
    Ok(Ok(Admitted {
        account_attempt,
        holds_ip_gate,
        ip_wait_secs,
        holds_account_lock,
        refused_before,
    }))
}

/// The locks and waits already in force: no password is checked while one holds.
async fn refused_before_counting(ctx: &Ctx, k: &Keys) -> anyhow::Result<Option<SignInOutcome>> {
    if ctx.store.get(&k.hard_lock).await?.is_some() {
        return Ok(Some(SignInOutcome::LockedUntilRecovered));
    }
    if let Some(wait_secs) = remaining(ctx, &k.account_lock).await? {
        return Ok(Some(SignInOutcome::AccountLocked { wait_secs }));
    }
    if let Some(wait_secs) = remaining(ctx, &k.per_ip_wait).await? {
        return Ok(Some(SignInOutcome::TryAgainLater { wait_secs }));
    }
    Ok(None)
}

/// The password step of a sign-in: the throttles, then the password (counted in
/// `verity_sign_ins_total` by outcome).
pub async fn sign_in(
    ctx: &Ctx,
    email: &str,
    password: String,
    actor: &Actor,
) -> anyhow::Result<SignInOutcome> {
    let outcome = check_password(ctx, email, password, actor).await?;
    ctx.metrics.sign_in(&outcome);
    Ok(outcome)
}

async fn check_password(
    ctx: &Ctx,
    email: &str,
    password: String,
    actor: &Actor,
) -> anyhow::Result<SignInOutcome> {
    let sec = &ctx.settings.security;
    let email = normalize_email(email);
    let k = keys(&email, &actor.limit_key());

    if let Some(refused) = refused_before_counting(ctx, &k).await? {
        // Counted, so a right password being checked meanwhile knows it is inside a burst.
        ctx.store
            .incr(
                &k.per_ip_refused,
                Duration::from_secs(sec.password_failure_memory_secs),
            )
            .await?;
        return Ok(refused);
    }
    let admitted = match admit(ctx, &k).await? {
        Ok(admitted) => admitted,
        Err(refused) => return Ok(refused),
    };

    let lookup = email.clone();
    let user = ctx.db.run(move |c| users::by_email(c, &lookup)).await?;
    let ok = ctx
        .passwords
        .verify(
            user.as_ref().map(|u| u.password_hash.clone()),
            password.clone(),
        )
        .await?;
    let now = ctx.clock.now();

    let user = match (ok, user) {
        (true, Some(user)) => user,
        (_, user) => {
            let user_id = user.as_ref().map(|u| u.id.clone());
            let a = actor.clone();
            ctx.db
                .run(move |c| {
                    audit::record(
                        c,
                        now,
                        audit::Event {
                            kind: audit::Kind::SigninFailed,
                            user_id: user_id.as_deref(),
                            client_id: None,
                            detail: serde_json::json!({}),
                            actor: Some(&a),
                        },
                    )
                })
                .await?;

            if admitted.account_attempt >= i64::from(sec.password_failures_hard_limit) {
                ctx.store
                    .put(&k.hard_lock, "1", Duration::from_secs(365 * 86400))
                    .await?;
                notify_locked(ctx, user.as_ref(), 0, true, actor).await?;
                return Ok(SignInOutcome::LockedUntilRecovered);
            }
            if admitted.holds_account_lock {
                // The lock was taken before Argon2 ran; it lasts its full time from the verdict,
                // however long the queue for Argon2 was.
                ctx.store
                    .put(
                        &k.account_lock,
                        "1",
                        Duration::from_secs(sec.account_lock_secs),
                    )
                    .await?;
                notify_locked(ctx, user.as_ref(), sec.account_lock_secs, false, actor).await?;
                return Ok(SignInOutcome::AccountLocked {
                    wait_secs: sec.account_lock_secs,
                });
            }
            if admitted.holds_ip_gate {
                ctx.store
                    .put(
                        &k.per_ip_wait,
                        "1",
                        Duration::from_secs(admitted.ip_wait_secs),
                    )
                    .await?;
                return Ok(SignInOutcome::TryAgainLater {
                    wait_secs: admitted.ip_wait_secs,
                });
            }
            return Ok(SignInOutcome::InvalidCredentials);
        }
    };

    // A right password inside a burst that crossed a limit doesn't count: it may be one of
    // many guesses sent at once. The person tries again once the wait has passed.
    let refused_now = crate::storage::store::get_count(&*ctx.store, &k.per_ip_refused).await?;
    let foreign_lock =
        !admitted.holds_account_lock && ctx.store.get(&k.account_lock).await?.is_some();
    if refused_now > admitted.refused_before || foreign_lock {
        // What this attempt took up front now lasts its own length from here.
        if admitted.holds_ip_gate {
            ctx.store
                .put(
                    &k.per_ip_wait,
                    "1",
                    Duration::from_secs(admitted.ip_wait_secs),
                )
                .await?;
        }
        if admitted.holds_account_lock {
            ctx.store
                .put(
                    &k.account_lock,
                    "1",
                    Duration::from_secs(sec.account_lock_secs),
                )
                .await?;
        }
        if let Some(wait_secs) = remaining(ctx, &k.account_lock).await? {
            return Ok(SignInOutcome::AccountLocked { wait_secs });
        }
        let wait_secs = remaining(ctx, &k.per_ip_wait)
            .await?
            .unwrap_or(sec.password_backoff_base_secs);
        return Ok(SignInOutcome::TryAgainLater { wait_secs });
    }

    if user.disabled {
        return Ok(SignInOutcome::Disabled);
    }
    for key in [
        &k.per_ip_failures,
        &k.per_ip_wait,
        &k.per_ip_refused,
        &k.account_failures,
        &k.account_lock,
        &k.account_locked_through,
    ] {
        ctx.store.delete(key).await?;
    }
    upgrade_hash_if_outdated(ctx, &user, password).await?;
    if !user.email_verified {
        send_confirmation(ctx, &user, None, users::lang_of(&user)).await?;
        return Ok(SignInOutcome::EmailNotConfirmed);
    }
    Ok(SignInOutcome::PasswordAccepted {
        user_id: user.id,
        email: user.email,
    })
}

/// Stores a fresh hash when the stored one was made with older Argon2 parameters. Compare
/// and swap: a password changed meanwhile is left alone.
async fn upgrade_hash_if_outdated(
    ctx: &Ctx,
    user: &users::User,
    password: String,
) -> anyhow::Result<()> {
    if !ctx.passwords.is_outdated(&user.password_hash) {
        return Ok(());
    }
    let fresh = ctx.passwords.hash(password).await?;
    let (id, old) = (user.id.clone(), user.password_hash.clone());
    ctx.db
        .run(move |c| {
            use crate::storage::schema::users as u;
            use diesel::prelude::*;
            diesel::update(
                u::table
                    .filter(u::id.eq(&id))
                    .filter(u::password_hash.eq(&old)),
            )
            .set(u::password_hash.eq(&fresh))
            .execute(c)?;
            Ok(())
        })
        .await
}

/// Forgets every failure counter and lock for an account (after a password reset).
pub async fn clear_failures(ctx: &Ctx, email: &str) -> anyhow::Result<()> {
    let k = keys(&normalize_email(email), "");
    for key in [
        &k.account_failures,
        &k.account_lock,
        &k.account_locked_through,
        &k.hard_lock,
    ] {
        ctx.store.delete(key).await?;
    }
    Ok(())
}

/// Forgets the wrong-password wait of the network `actor` is on, for this account (after a
/// password reset made from it).
pub async fn clear_network_failures(ctx: &Ctx, email: &str, actor: &Actor) -> anyhow::Result<()> {
    let k = keys(&normalize_email(email), &actor.limit_key());
    for key in [&k.per_ip_failures, &k.per_ip_wait, &k.per_ip_refused] {
        ctx.store.delete(key).await?;
    }
    Ok(())
}

/// `base · 2^over`, capped.
pub fn backoff_secs(base: u64, max: u64, over: u32) -> u64 {
    base.saturating_mul(1u64 << over.min(32)).min(max)
}

/// Tells the owner (every confirmed address, and a text to the default phone) that sign-in is
/// paused, and what lifts it: waiting or a password reset for a lock, only a password reset (or
/// support) past the hard limit. Unknown emails get nothing.
async fn notify_locked(
    ctx: &Ctx,
    user: Option<&users::User>,
    lock_secs: u64,
    until_reset: bool,
    actor: &Actor,
) -> anyhow::Result<()> {
    let Some(user) = user else {
        return Ok(());
    };
    let ip = actor.ip.clone();
    let notice = if until_reset {
        Notice::SignInLocked { ip }
    } else {
        Notice::SignInPaused {
            minutes: lock_secs.div_ceil(60),
            ip,
        }
    };
    notices::tell_account(ctx, &user.id, None, Texts::DefaultPhone, &notice).await
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
