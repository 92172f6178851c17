//! Proving a second factor: codes sent to phones, authenticator-app codes, backup codes, with
//! the limits of DESIGN.md. Every kind of wrong code counts towards one per-user limit;
//! reaching it locks the second factor for `mfa_lock_secs` and tells the person (e-mail, and a
//! text to the default phone).
//!
//! Lock and expiry times are read from the injectable clock (stored as values), so tests can
//! move time forward; store TTLs only bound how long the entries linger.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::metrics::FactorMethod;
use crate::mfa::methods::{self, PhoneChannel};
use crate::mfa::{backup_codes, otp, totp};
use crate::notify::notices::{self, Notice, Texts};
use crate::notify::Channel;
use crate::Ctx;

// One hash tag (the person) for the keys a lock clears together (`Store::delete_if_equals`).
fn fail_key(user_id: &str) -> String {
    format!("mfa:fail:{{{user_id}}}")
}
fn refused_key(user_id: &str) -> String {
    format!("mfa:refused:{{{user_id}}}")
}
fn lock_key(user_id: &str) -> String {
    format!("mfa:lock:{{{user_id}}}")
}
fn otp_key(user_id: &str, purpose: &str) -> String {
    format!("otp:{user_id}:{purpose}")
}

/// Seconds until the second factor unlocks, if it is locked.
pub async fn locked_for(ctx: &Ctx, user_id: &str) -> anyhow::Result<Option<i64>> {
    // Twice at most: a request that saw an expired lock may find a newer one in its place.
    for _ in 0..2 {
        let Some(value) = ctx.store.get(&lock_key(user_id)).await? else {
            return Ok(None);
        };
        let until: i64 = value.parse().unwrap_or(0);
        let left = until - ctx.clock.unix_now();
        if left > 0 {
            return Ok(Some(left));
        }
        // The lock has passed: start counting afresh. Only while the lock is still the one
        // read, in one atomic step, so a late request can't wipe the count (or the lock) of
        // the next period.
        let (fail, refused) = (fail_key(user_id), refused_key(user_id));
        if ctx
            .store
            .delete_if_equals(&lock_key(user_id), &value, &[&fail, &refused])
            .await?
        {
            return Ok(None);
        }
    }
    Ok(ctx
        .store
        .get(&lock_key(user_id))
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .map(|until| until - ctx.clock.unix_now())
        .filter(|left| *left > 0))
}

/// Lifts a second-factor lock and forgets the wrong-code count (an operator's unlock).
pub async fn clear_lock(ctx: &Ctx, user_id: &str) -> anyhow::Result<()> {
    ctx.store.delete(&lock_key(user_id)).await?;
    ctx.store.delete(&refused_key(user_id)).await?;
    ctx.store.delete(&fail_key(user_id)).await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    Accepted,
    /// Wrong, replayed or unknown code; `remaining` tries before the lock.
    Wrong {
        remaining: u32,
    },
    /// The code sent to the phone is older than `otp_ttl_secs`.
    Expired,
    /// No code was sent (or it was already used).
    NoCodeSent,
    /// Too many wrong codes: locked for this many seconds.
    Locked {
        secs: i64,
    },
}

/// A code check that was let through: it holds attempt `number` of the allowance.
struct Attempt {
    number: i64,
    refused_before: i64,
}

/// Reserves one try of the wrong-code allowance before the code is checked, atomically in
/// the store: every try counts as wrong until it is accepted, so a burst of guesses sent at
/// once gets at most `mfa_max_failures` checked, on any number of nodes.
async fn reserve_attempt(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
) -> anyhow::Result<Result<Attempt, CodeOutcome>> {
    let sec = &ctx.settings.security;
    if let Some(secs) = locked_for(ctx, user_id).await? {
        ctx.store
            .incr(&refused_key(user_id), Duration::from_secs(86400))
            .await?;
        return Ok(Err(CodeOutcome::Locked { secs }));
    }
    let refused_before =
        crate::storage::store::get_count(&*ctx.store, &refused_key(user_id)).await?;
    let max = i64::from(sec.mfa_max_failures.max(1));
    match ctx
        .store
        .incr_below(&fail_key(user_id), max, Duration::from_secs(86400))
        .await?
    {
        Some(number) => Ok(Ok(Attempt {
            number,
            refused_before,
        })),
        None => {
            ctx.store
                .incr(&refused_key(user_id), Duration::from_secs(86400))
                .await?;
            // Every try of the allowance is taken: a burst crossed the limit. Lock now, even
            // if the last try was a right code refused for being inside the burst, so the
            // count never stays full without a lock that will lift it.
            Ok(Err(lock_second_factor(ctx, user_id, email).await?))
        }
    }
}

/// A right code inside a burst that crossed the limit is refused: it may be one guess of
/// many sent at once. Checked before the code is consumed, so the person can use it later.
async fn refuse_inside_burst(
    ctx: &Ctx,
    user_id: &str,
    attempt: &Attempt,
) -> anyhow::Result<Option<CodeOutcome>> {
    if let Some(secs) = locked_for(ctx, user_id).await? {
        return Ok(Some(CodeOutcome::Locked { secs }));
    }
    if crate::storage::store::get_count(&*ctx.store, &refused_key(user_id)).await?
        > attempt.refused_before
    {
        return Ok(Some(CodeOutcome::Locked {
            secs: ctx.settings.security.mfa_lock_secs as i64,
        }));
    }
    Ok(None)
}

/// The reserved try was a wrong code: it already counts; lock when it was the last one.
async fn record_failure(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    attempt: Attempt,
) -> anyhow::Result<CodeOutcome> {
    let sec = &ctx.settings.security;
    let failures = attempt.number;
    let now = ctx.clock.now();
    let uid = user_id.to_string();
    ctx.db
        .run(move |c| {
            crate::audit::record(
                c,
                now,
                crate::audit::Event {
                    kind: crate::audit::Kind::MfaCodeWrong,
                    user_id: Some(&uid),
                    client_id: None,
                    detail: serde_json::json!({ "failures": failures }),
                    actor: None,
                },
            )
        })
        .await?;
    if failures >= i64::from(sec.mfa_max_failures) {
        return lock_second_factor(ctx, user_id, email).await;
    }
    Ok(CodeOutcome::Wrong {
        remaining: (i64::from(sec.mfa_max_failures) - failures).max(0) as u32,
    })
}

/// Locks the second factor for `mfa_lock_secs`, once: whoever creates the lock records it and
/// emails the person; a lock already in force is kept as it is.
async fn lock_second_factor(ctx: &Ctx, user_id: &str, email: &str) -> anyhow::Result<CodeOutcome> {
    let sec = &ctx.settings.security;
    let until = ctx.clock.unix_now() + sec.mfa_lock_secs as i64;
    let created = ctx
        .store
        .put_if_absent(
            &lock_key(user_id),
            &until.to_string(),
            Duration::from_secs(sec.mfa_lock_secs + 86400),
        )
        .await?;
    if !created {
        let secs = locked_for(ctx, user_id)
            .await?
            .unwrap_or(sec.mfa_lock_secs as i64);
        return Ok(CodeOutcome::Locked { secs });
    }
    let notice = Notice::SecondFactorPaused {
        failures: sec.mfa_max_failures,
        minutes: sec.mfa_lock_secs.div_ceil(60),
    };
    notices::tell_account(ctx, user_id, Some(email), Texts::DefaultPhone, &notice).await?;
    let (uid, now) = (user_id.to_string(), ctx.clock.now());
    ctx.db
        .run(move |c| {
            crate::audit::record(
                c,
                now,
                crate::audit::Event {
                    kind: crate::audit::Kind::MfaLocked,
                    user_id: Some(&uid),
                    client_id: None,
                    detail: serde_json::json!({ "until": until }),
                    actor: None,
                },
            )
        })
        .await?;
    Ok(CodeOutcome::Locked {
        secs: sec.mfa_lock_secs as i64,
    })
}

async fn clear_failures(ctx: &Ctx, user_id: &str) -> anyhow::Result<()> {
    ctx.store.delete(&fail_key(user_id)).await
}

/// Where a phone code goes: an enrolled phone, or a number being enrolled.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhoneTarget {
    pub e164: String,
    pub masked: String,
    /// Set when the phone is already enrolled.
    pub phone_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OtpChallenge {
    pub id: String,
    pub code_hash: String,
    pub target: PhoneTarget,
    pub channel: PhoneChannel,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// Send limit reached (per user or per number): wait this long.
    TooManySends {
        wait_secs: u64,
    },
    /// The gateway failed; nothing was counted against the person.
    CouldNotSend,
    Locked {
        secs: i64,
    },
}

/// Sends a fresh code to `target`, replacing any earlier one for this purpose. The failure
/// count is not reset by resending.
pub async fn send_phone_code(
    ctx: &Ctx,
    user_id: &str,
    purpose: &str,
    target: PhoneTarget,
    channel: PhoneChannel,
) -> anyhow::Result<SendOutcome> {
    if let Some(secs) = locked_for(ctx, user_id).await? {
        return Ok(SendOutcome::Locked { secs });
    }
    let sec = &ctx.settings.security;
    let fingerprint = methods::phone_fingerprint(&ctx.master, &target.e164);
    let windows = [
        (
            "short",
            sec.otp_short_window_secs,
            sec.otp_sends_per_short_window,
        ),
        (
            "long",
            sec.otp_long_window_secs,
            sec.otp_sends_per_long_window,
        ),
    ];
    // Each window's slot is reserved before anything is sent, so a burst can't send more
    // than the limit; a refused or failed send gives its slots back.
    let mut reserved: Vec<String> = Vec::new();
    for subject in [format!("user:{user_id}"), format!("phone:{fingerprint}")] {
        for (name, window, limit) in windows {
            let key = format!("otp:sends:{name}:{subject}");
            let slot = ctx
                .store
                .incr_below(&key, i64::from(limit), Duration::from_secs(window))
                .await?;
            if slot.is_none() {
                release_send_slots(ctx, &reserved).await?;
                let wait = ctx
                    .store
                    .ttl(&key)
                    .await?
                    .map(|d| d.as_secs().max(1))
                    .unwrap_or(window);
                return Ok(SendOutcome::TooManySends { wait_secs: wait });
            }
            reserved.push(key);
        }
    }
    let code = otp::generate(sec.otp_digits);
    let id = crate::crypto::random_token(16);
    let notice = Notice::SecurityCode {
        code: code.clone(),
        minutes: sec.otp_ttl_secs.div_ceil(60),
    };
    let to_channel = match channel {
        PhoneChannel::Sms => Channel::Sms,
        PhoneChannel::Voice => Channel::Voice,
    };
    let lang = notices::lang_of_account(ctx, user_id).await?;
    if let Err(e) = notices::send(ctx, to_channel, &target.e164, lang, &notice).await {
        tracing::warn!(error = %format!("{e:#}"), channel = channel.as_str(), "could not send a security code");
        release_send_slots(ctx, &reserved).await?;
        return Ok(SendOutcome::CouldNotSend);
    }
    let (uid, now, masked) = (user_id.to_string(), ctx.clock.now(), target.masked.clone());
    ctx.db
        .run(move |c| {
            crate::audit::record(
                c,
                now,
                crate::audit::Event {
                    kind: crate::audit::Kind::MfaCodeSent,
                    user_id: Some(&uid),
                    client_id: None,
                    detail: serde_json::json!({ "to": masked, "channel": channel.as_str() }),
                    actor: None,
                },
            )
        })
        .await?;
    let challenge = OtpChallenge {
        code_hash: otp::hash(&otp_key_material(ctx), &id, &code),
        id,
        target,
        channel,
        expires_at: ctx.clock.unix_now() + sec.otp_ttl_secs as i64,
    };
    crate::storage::store::put_json(
        &*ctx.store,
        &otp_key(user_id, purpose),
        &challenge,
        Duration::from_secs(sec.otp_ttl_secs + 3600),
    )
    .await?;
    Ok(SendOutcome::Sent)
}

async fn release_send_slots(ctx: &Ctx, keys: &[String]) -> anyhow::Result<()> {
    for key in keys {
        ctx.store.decr(key).await?;
    }
    Ok(())
}

fn otp_key_material(ctx: &Ctx) -> aws_lc_rs::hmac::Key {
    ctx.master.derive("verity/otp/v1")
}

pub async fn pending_phone_challenge(
    ctx: &Ctx,
    user_id: &str,
    purpose: &str,
) -> anyhow::Result<Option<OtpChallenge>> {
    crate::storage::store::get_json(&*ctx.store, &otp_key(user_id, purpose)).await
}

/// Checks a code sent to a phone. On success the challenge is consumed and returned. Counted
/// under the channel the pending code went by (a code typed when none is pending is not).
pub async fn verify_phone_code(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    purpose: &str,
    code: &str,
) -> anyhow::Result<(CodeOutcome, Option<OtpChallenge>)> {
    let pending = pending_phone_challenge(ctx, user_id, purpose).await?;
    let method = pending.as_ref().map(|c| match c.channel {
        PhoneChannel::Sms => FactorMethod::Sms,
        PhoneChannel::Voice => FactorMethod::Voice,
    });
    let checked = check_phone_code(ctx, user_id, email, purpose, code, pending).await?;
    if let Some(method) = method {
        ctx.metrics.code_check(method, &checked.0);
    }
    Ok(checked)
}

async fn check_phone_code(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    purpose: &str,
    code: &str,
    pending: Option<OtpChallenge>,
) -> anyhow::Result<(CodeOutcome, Option<OtpChallenge>)> {
    if let Some(secs) = locked_for(ctx, user_id).await? {
        return Ok((CodeOutcome::Locked { secs }, None));
    }
    let Some(challenge) = pending else {
        return Ok((CodeOutcome::NoCodeSent, None));
    };
    if challenge.expires_at <= ctx.clock.unix_now() {
        ctx.store.delete(&otp_key(user_id, purpose)).await?;
        return Ok((CodeOutcome::Expired, None));
    }
    let attempt = match reserve_attempt(ctx, user_id, email).await? {
        Ok(attempt) => attempt,
        Err(refused) => return Ok((refused, None)),
    };
    let typed = otp::normalize(code, ctx.settings.security.otp_digits).unwrap_or_default();
    let presented = otp::hash(&otp_key_material(ctx), &challenge.id, &typed);
    if !crate::crypto::ct_eq(presented.as_bytes(), challenge.code_hash.as_bytes()) {
        return Ok((record_failure(ctx, user_id, email, attempt).await?, None));
    }
    if let Some(refused) = refuse_inside_burst(ctx, user_id, &attempt).await? {
        return Ok((refused, None));
    }
    // Single use: only the request that takes the challenge succeeds.
    let taken: Option<OtpChallenge> =
        crate::storage::store::take_json(&*ctx.store, &otp_key(user_id, purpose)).await?;
    match taken {
        Some(c) if c.id == challenge.id => {
            clear_failures(ctx, user_id).await?;
            Ok((CodeOutcome::Accepted, Some(c)))
        }
        _ => Ok((CodeOutcome::NoCodeSent, None)),
    }
}

/// Checks an authenticator-app code against every app the person enrolled. A time step is
/// accepted once: a replayed code counts as wrong.
pub async fn verify_totp(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    code: &str,
) -> anyhow::Result<CodeOutcome> {
    let outcome = check_totp(ctx, user_id, email, code).await?;
    ctx.metrics.code_check(FactorMethod::Totp, &outcome);
    Ok(outcome)
}

async fn check_totp(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    code: &str,
) -> anyhow::Result<CodeOutcome> {
    let attempt = match reserve_attempt(ctx, user_id, email).await? {
        Ok(attempt) => attempt,
        Err(refused) => return Ok(refused),
    };
    let uid = user_id.to_string();
    let apps = ctx
        .db
        .run(move |c| Ok(methods::enrolled(c, &uid)?.totp))
        .await?;
    let sec = &ctx.settings.security;
    let now = ctx.clock.unix_now().max(0) as u64;
    for app in apps {
        let secret = ctx
            .master
            .decrypt(&app.secret_enc, &format!("totp_credentials:{}", app.id))?;
        if let Some(step) = totp::verify(
            &secret,
            code.trim(),
            now,
            sec.totp_step_secs,
            sec.totp_skew_steps,
        ) {
            if let Some(refused) = refuse_inside_burst(ctx, user_id, &attempt).await? {
                return Ok(refused);
            }
            let id = app.id.clone();
            if ctx
                .db
                .run(move |c| methods::claim_totp_step(c, &id, step))
                .await?
            {
                clear_failures(ctx, user_id).await?;
                return Ok(CodeOutcome::Accepted);
            }
        }
    }
    record_failure(ctx, user_id, email, attempt).await
}

/// Checks and consumes a backup code.
pub async fn verify_backup_code(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    code: &str,
) -> anyhow::Result<CodeOutcome> {
    let outcome = check_backup_code(ctx, user_id, email, code).await?;
    ctx.metrics.code_check(FactorMethod::BackupCode, &outcome);
    Ok(outcome)
}

async fn check_backup_code(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    code: &str,
) -> anyhow::Result<CodeOutcome> {
    let attempt = match reserve_attempt(ctx, user_id, email).await? {
        Ok(attempt) => attempt,
        Err(refused) => return Ok(refused),
    };
    let length = ctx.settings.security.backup_code_length;
    let Some(canonical) = backup_codes::normalize(code, length) else {
        return record_failure(ctx, user_id, email, attempt).await;
    };
    // Judged before the code is used up, so a refused right code stays valid.
    if let Some(refused) = refuse_inside_burst(ctx, user_id, &attempt).await? {
        return Ok(refused);
    }
    let hash = backup_codes::hash(&backup_code_key(ctx), &canonical);
    let (uid, now) = (user_id.to_string(), ctx.clock.now());
    if ctx
        .db
        .run(move |c| methods::use_backup_code(c, now, &uid, &hash))
        .await?
    {
        clear_failures(ctx, user_id).await?;
        Ok(CodeOutcome::Accepted)
    } else {
        record_failure(ctx, user_id, email, attempt).await
    }
}

pub fn backup_code_key(ctx: &Ctx) -> aws_lc_rs::hmac::Key {
    ctx.master.derive("verity/backup-codes/v1")
}

/// Generates a fresh set of backup codes, voiding the old one; returns the codes to show once.
pub async fn regenerate_backup_codes(ctx: &Ctx, user_id: &str) -> anyhow::Result<Vec<String>> {
    let sec = &ctx.settings.security;
    let codes = backup_codes::generate(sec.backup_code_count, sec.backup_code_length);
    let key = backup_code_key(ctx);
    let hashes: Vec<String> = codes.iter().map(|c| backup_codes::hash(&key, c)).collect();
    let (uid, now) = (user_id.to_string(), ctx.clock.now());
    ctx.db
        .run(move |c| {
            methods::replace_backup_codes(c, now, &uid, &hashes)?;
            crate::audit::record(
                c,
                now,
                crate::audit::Event {
                    kind: crate::audit::Kind::BackupCodesGenerated,
                    user_id: Some(&uid),
                    client_id: None,
                    detail: serde_json::json!({}),
                    actor: None,
                },
            )
        })
        .await?;
    Ok(codes)
}

/// Checks the first code from an authenticator app being enrolled; returns the step it used.
pub async fn verify_new_totp(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    secret: &[u8],
    code: &str,
) -> anyhow::Result<(CodeOutcome, Option<u64>)> {
    let checked = check_new_totp(ctx, user_id, email, secret, code).await?;
    ctx.metrics.code_check(FactorMethod::Totp, &checked.0);
    Ok(checked)
}

async fn check_new_totp(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    secret: &[u8],
    code: &str,
) -> anyhow::Result<(CodeOutcome, Option<u64>)> {
    let attempt = match reserve_attempt(ctx, user_id, email).await? {
        Ok(attempt) => attempt,
        Err(refused) => return Ok((refused, None)),
    };
    let sec = &ctx.settings.security;
    let now = ctx.clock.unix_now().max(0) as u64;
    match totp::verify(
        secret,
        code.trim(),
        now,
        sec.totp_step_secs,
        sec.totp_skew_steps,
    ) {
        Some(step) => {
            if let Some(refused) = refuse_inside_burst(ctx, user_id, &attempt).await? {
                return Ok((refused, None));
            }
            clear_failures(ctx, user_id).await?;
            Ok((CodeOutcome::Accepted, Some(step)))
        }
        None => Ok((record_failure(ctx, user_id, email, attempt).await?, None)),
    }
}
