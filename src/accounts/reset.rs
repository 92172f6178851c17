//! Password reset by emailed link, plus a second factor when the account has one (NIST 63B
//! §4.2: an email link alone doesn't recover a multi-factor account).
//!
//! The link is a single-use token (hashed in `email_tokens`, `password_reset_ttl_secs`). The
//! second factor is passed through the ordinary [`crate::accounts::login`] flow, marked as a
//! reset, so its limits and lock apply unchanged.

use std::time::Duration;

use diesel::prelude::*;

use crate::accounts::email_tokens;
use crate::accounts::login::{self, LoginFlow, LoginStage};
use crate::accounts::signup::{new_password_errors, FieldError};
use crate::accounts::users::{self, normalize_email, User};
use crate::audit::{self, Actor};
use crate::crypto;
use crate::notify::notices::{self, Notice, Texts};
use crate::notify::Channel;
use crate::storage::schema::{grants, users as users_t};
use crate::Ctx;

pub const PURPOSE_PASSWORD_RESET: &str = "password_reset";

#[derive(Debug)]
pub enum RequestOutcome {
    /// One answer whether or not the email has an account.
    CheckYourEmail,
    /// The address can't be one (nothing was counted or sent).
    Invalid(Vec<FieldError>),
    TooManyRequests,
}

/// "Forgot password": mails a reset link if the email belongs to a confirmed account. The
/// answer is the same, and comes as fast, whether or not it does.
pub async fn request(ctx: &Ctx, email: &str, actor: &Actor) -> anyhow::Result<RequestOutcome> {
    let email = normalize_email(email);
    if !users::email_is_plausible(&email) {
        return Ok(RequestOutcome::Invalid(vec![FieldError::new(
            "email",
            "forgot-email-invalid",
        )]));
    }
    let sec = &ctx.settings.security;
    let hour = Duration::from_secs(3600);
    let account_key = format!(
        "reset:acct:{}",
        hex::encode(&crypto::sha256(email.as_bytes())[..16])
    );
    let per_ip = ctx
        .store
        .incr(&format!("reset:ip:{}", actor.limit_key()), hour)
        .await?;
    let per_account = ctx.store.incr(&account_key, hour).await?;
    let limit = i64::from(sec.password_resets_per_hour);
    if per_ip > limit || per_account > limit {
        return Ok(RequestOutcome::TooManyRequests);
    }
    // Whether the account exists is decided in a detached task, so the answer takes the same
    // work and time either way and never waits on the mail relay.
    let task_ctx = ctx.clone();
    crate::notify::spawn_detached("password reset link", async move {
        let lookup = email.clone();
        let user = task_ctx
            .db
            .run(move |c| users::by_email(c, &lookup))
            .await?;
        if let Some(user) = user.filter(|u| u.email_verified && !u.disabled) {
            send_link(&task_ctx, &user).await?;
        }
        Ok(())
    });
    Ok(RequestOutcome::CheckYourEmail)
}

/// Creates a reset token and mails the link.
pub async fn send_link(ctx: &Ctx, user: &User) -> anyhow::Result<()> {
    let now = ctx.clock.now();
    let ttl = ctx.settings.security.password_reset_ttl_secs;
    let (uid, email) = (user.id.clone(), user.email.clone());
    let token = ctx
        .db
        .run(move |c| {
            let token = email_tokens::issue(
                c,
                now,
                chrono::Duration::seconds(ttl as i64),
                &uid,
                &email,
                PURPOSE_PASSWORD_RESET,
            )?;
            audit::record(
                c,
                now,
                audit::Event {
                    kind: audit::Kind::PasswordResetRequested,
                    user_id: Some(&uid),
                    client_id: None,
                    detail: serde_json::json!({}),
                    actor: None,
                },
            )?;
            Ok(token)
        })
        .await?;
    let notice = Notice::PasswordResetLink {
        link: format!("{}/reset-password?token={token}", ctx.settings.issuer),
        minutes: ttl.div_ceil(60),
    };
    let lang = crate::accounts::users::lang_of(user);
    notices::send_best_effort(ctx, Channel::Email, &user.email, lang, &notice).await;
    Ok(())
}

/// The account a still-valid (unused, unexpired) reset token belongs to.
async fn token_user(ctx: &Ctx, token: &str) -> anyhow::Result<Option<User>> {
    let (token, now) = (token.to_string(), ctx.clock.now());
    ctx.db
        .run(
            move |c| match email_tokens::peek(c, now, &token, PURPOSE_PASSWORD_RESET)? {
                Some(id) => users::by_id(c, &id),
                None => Ok(None),
            },
        )
        .await
}

pub enum StartOutcome {
    /// Go to the second-factor page with this login-flow id.
    SecondFactor {
        flow_id: String,
    },
    /// No second factor enrolled: straight to choosing a password.
    ChoosePassword {
        flow_id: String,
    },
    InvalidLink,
}

/// Opening the emailed link: checks it (without using it up) and starts the flow.
pub async fn start(ctx: &Ctx, token: &str, browser_id: &str) -> anyhow::Result<StartOutcome> {
    let Some(user) = token_user(ctx, token).await? else {
        return Ok(StartOutcome::InvalidLink);
    };
    let has_mfa = login::enrolled(ctx, &user.id).await?.any();
    let flow = LoginFlow {
        user_id: user.id.clone(),
        email: user.email.clone(),
        browser_id: browser_id.to_string(),
        authz: String::new(),
        stage: LoginStage::SecondFactor,
        pending_totp: None,
        pending_phone: None,
        backup_codes_shown: None,
        reset_token: Some(token.to_string()),
        reset_ready: !has_mfa,
        return_to: None,
        exclude_phone: None,
        step_up: false,
        lost_phone: false,
        phishing_resistant: false,
    };
    let flow_id = crypto::random_token(24);
    login::save(ctx, &flow_id, &flow).await?;
    Ok(if has_mfa {
        StartOutcome::SecondFactor { flow_id }
    } else {
        StartOutcome::ChoosePassword { flow_id }
    })
}

#[derive(Debug)]
pub enum ResetOutcome {
    Done,
    InvalidLink,
    /// Every problem with the new password and its confirmation.
    Refused(Vec<FieldError>),
}

/// Sets the new password. Uses up the token, ends every session and token grant, clears the
/// sign-in locks, and tells the person on every channel.
pub async fn complete(
    ctx: &Ctx,
    flow: &LoginFlow,
    password: String,
    confirmation: &str,
    actor: &Actor,
) -> anyhow::Result<ResetOutcome> {
    let (Some(token), true) = (flow.reset_token.clone(), flow.reset_ready) else {
        return Ok(ResetOutcome::InvalidLink);
    };
    let errors = new_password_errors(
        &ctx.settings.security,
        &password,
        confirmation,
        &[&flow.email],
    );
    if !errors.is_empty() {
        return Ok(ResetOutcome::Refused(errors));
    }
    let hash = ctx.passwords.hash(password).await?;
    let (now, uid, a) = (ctx.clock.now(), flow.user_id.clone(), actor.clone());
    let settings = ctx.settings.clone();
    let done = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                // The link must still be valid and this account's.
                match email_tokens::claim(c, now, &token, PURPOSE_PASSWORD_RESET)? {
                    Some((owner, _)) if owner == uid => {}
                    _ => return Ok(false),
                }
                diesel::update(users_t::table.find(&uid))
                    .set((users_t::password_hash.eq(&hash), users_t::updated_at.eq(now)))
                    .execute(c)?;
                // The new password can't open the verified data: it is suspended until the
                // personal key restores it. One from before vaults (no personal key) must be
                // redone: a reset is how a takeover looks too.
                crate::proofing::records::lock_person(c, &uid)?;
                let was_verified = crate::ssf::signals::identity_verified(c, &uid)?;
                if let Some((v, _)) = crate::proofing::records::counting_verification(c, &uid)? {
                    if crate::proofing::vault::vault_of(c, &v.id)?.is_none() {
                        diesel::update(users_t::table.find(&uid))
                            .set(users_t::identity_reverify_at.eq(now))
                            .execute(c)?;
                    }
                }
                let suspended = crate::proofing::vault::suspend_all(c, &uid, now)?;
                if suspended > 0 || was_verified {
                    audit::record(
                        c,
                        now,
                        audit::Event {
                            kind: audit::Kind::IdentitySuspended,
                            user_id: Some(&uid),
                            client_id: None,
                            detail: serde_json::json!({ "vaults": suspended }),
                            actor: Some(&a),
                        },
                    )?;
                    crate::ssf::signals::identity_assurance_since(
                        c,
                        &settings.ssf,
                        now,
                        &uid,
                        crate::ssf::signals::By::Person,
                        was_verified,
                    )?;
                }
                let signal = crate::ssf::events::password_changed(
                    now,
                    crate::ssf::events::Initiator::User,
                );
                crate::ssf::events::enqueue(c, &settings.ssf, now, &uid, &signal)?;
                let sessions = crate::accounts::sessions::end_all_for_user(c, now, &uid)?;
                crate::ssf::events::sessions_ended(c, &settings.ssf, now, &uid, sessions)?;
                let revoked_grants = diesel::update(grants::table.filter(grants::user_id.eq(&uid)).filter(grants::revoked_at.is_null()))
                    .set((grants::revoked_at.eq(now), grants::revoked_reason.eq("password reset")))
                    .execute(c)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::PasswordReset,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({ "sessions_ended": sessions, "grants_revoked": revoked_grants }),
                        actor: Some(&a),
                    },
                )?;
                Ok(true)
            })
        })
        .await?;
    if !done {
        return Ok(ResetOutcome::InvalidLink);
    }
    crate::accounts::signin::clear_failures(ctx, &flow.email).await?;
    // The wait this network earned with wrong passwords goes too: the lock pages promise that
    // a reset is a way out.
    crate::accounts::signin::clear_network_failures(ctx, &flow.email, actor).await?;
    notify_reset(ctx, flow).await?;
    Ok(ResetOutcome::Done)
}

/// Every confirmed address and every phone hear of it: a reset is how a takeover looks too.
async fn notify_reset(ctx: &Ctx, flow: &LoginFlow) -> anyhow::Result<()> {
    let notice = Notice::PasswordReset {
        at: ctx.clock.now(),
    };
    notices::tell_account(ctx, &flow.user_id, None, Texts::EveryPhone, &notice).await
}
