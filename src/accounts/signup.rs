//! Sign-up and email confirmation. The outward answer never says whether an email is
//! already registered.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::password::refusal_reason;
use crate::accounts::users::{self, email_is_plausible, normalize_email, User};
use crate::audit::{self, Actor};
use crate::crypto;
use crate::notify::{ConfirmEmailText, Message, SignupExistingText};
use crate::storage::db::DbConn;
use crate::storage::schema::{email_tokens, users as users_t};
use crate::Ctx;

pub const PURPOSE_CONFIRM_EMAIL: &str = "confirm_email";

pub struct SignupForm {
    pub email: String,
    pub password: String,
    pub password_confirmation: String,
    pub accepted_terms: bool,
}

/// A field the person must fix, with the reason in plain words.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Debug)]
pub enum SignupOutcome {
    /// Shown for new and already-registered emails alike.
    CheckYourEmail {
        email: String,
    },
    Invalid(Vec<FieldError>),
    TooManyAttempts,
}

pub async fn sign_up(
    ctx: &Ctx,
    form: SignupForm,
    continue_to: Option<String>,
    actor: &Actor,
) -> anyhow::Result<SignupOutcome> {
    let email = normalize_email(&form.email);
    let mut errors = Vec::new();
    if !email_is_plausible(&email) {
        errors.push(FieldError {
            field: "email",
            message: "Enter an email address like name@example.com.".into(),
        });
    }
    if let Some(reason) = refusal_reason(&ctx.settings.security, &form.password, &[&email]) {
        errors.push(FieldError {
            field: "password",
            message: reason,
        });
    } else if form.password != form.password_confirmation {
        errors.push(FieldError {
            field: "password_confirmation",
            message: "The two passwords don't match.".into(),
        });
    }
    if !form.accepted_terms {
        errors.push(FieldError {
            field: "terms",
            message: "You need to accept the terms of service to create an account.".into(),
        });
    }
    if !errors.is_empty() {
        return Ok(SignupOutcome::Invalid(errors));
    }

    let attempts = ctx
        .store
        .incr(
            &format!("signup:ip:{}", actor.ip),
            Duration::from_secs(3600),
        )
        .await?;
    if attempts > i64::from(ctx.settings.security.signups_per_ip_per_hour) {
        return Ok(SignupOutcome::TooManyAttempts);
    }

    // Hash in both branches so a known email answers as slowly as a new one.
    let password_hash = ctx.passwords.hash(form.password).await?;
    let now = ctx.clock.now();
    let lookup_email = email.clone();
    let (existing, secondary) = ctx
        .db
        .run(move |c| {
            use crate::storage::schema::user_emails;
            let secondary: bool = diesel::select(diesel::dsl::exists(
                user_emails::table.filter(user_emails::email.eq(&lookup_email)),
            ))
            .get_result(c)?;
            Ok((users::by_email(c, &lookup_email)?, secondary))
        })
        .await?;
    if secondary && existing.is_none() {
        // Another account's extra address: the same outward answer, no account created.
        return Ok(SignupOutcome::CheckYourEmail { email });
    }
    let site = ctx.settings.site_name.clone();
    match existing {
        Some(user) if user.email_verified => {
            let link = sign_in_link(ctx, continue_to.as_deref());
            let text = SignupExistingText {
                site_name: &site,
                sign_in_link: &link,
            };
            let message = Message::email(
                &user.email,
                &format!("Someone tried to sign up to {site} with your email"),
                text,
            )?;
            crate::notify::send_best_effort(&*ctx.notifier, message).await;
            let actor = actor.clone();
            ctx.db
                .run(move |c| {
                    audit::record(
                        c,
                        now,
                        Some(&user.id),
                        None,
                        "signup_existing_email",
                        serde_json::json!({}),
                        Some(&actor),
                    )
                })
                .await?;
        }
        Some(user) => {
            // Registered but never confirmed: send a fresh link rather than a second account.
            send_confirmation(ctx, &user, continue_to.as_deref()).await?;
        }
        None => {
            let user = User {
                id: uuid::Uuid::new_v4().to_string(),
                email: email.clone(),
                email_verified: false,
                password_hash,
                given_name: None,
                family_name: None,
                disabled: false,
                created_at: now,
                updated_at: now,
                deleted_at: None,
                identity_reverify_at: None,
            };
            let row = user.clone();
            let actor = actor.clone();
            let inserted = ctx
                .db
                .run(move |c| {
                    crate::storage::db::write_tx(c, |c| {
                        // Two sign-ups racing for one email: the unique index decides.
                        match diesel::insert_into(users_t::table).values(&row).execute(c) {
                            Ok(_) => {}
                            Err(diesel::result::Error::DatabaseError(
                                diesel::result::DatabaseErrorKind::UniqueViolation,
                                _,
                            )) => return Ok(false),
                            Err(e) => return Err(e.into()),
                        }
                        audit::record(
                            c,
                            now,
                            Some(&row.id),
                            None,
                            "signed_up",
                            serde_json::json!({}),
                            Some(&actor),
                        )?;
                        Ok(true)
                    })
                })
                .await?;
            if inserted {
                send_confirmation(ctx, &user, continue_to.as_deref()).await?;
            }
        }
    }
    Ok(SignupOutcome::CheckYourEmail { email })
}

fn sign_in_link(ctx: &Ctx, continue_to: Option<&str>) -> String {
    match continue_to {
        Some(flow) => format!("{}/login?authz={}", ctx.settings.issuer, urlencode(flow)),
        None => format!("{}/login", ctx.settings.issuer),
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Creates a single-use confirmation token and mails the link.
pub async fn send_confirmation(
    ctx: &Ctx,
    user: &User,
    continue_to: Option<&str>,
) -> anyhow::Result<()> {
    let token = crypto::random_token(32);
    let now = ctx.clock.now();
    let ttl = ctx.settings.security.email_confirmation_ttl_secs;
    let row = (
        email_tokens::token_hash.eq(crypto::token_hash(&token)),
        email_tokens::user_id.eq(user.id.clone()),
        email_tokens::purpose.eq(PURPOSE_CONFIRM_EMAIL),
        email_tokens::email.eq(user.email.clone()),
        email_tokens::created_at.eq(now),
        email_tokens::expires_at.eq(now + chrono::Duration::seconds(ttl as i64)),
    );
    ctx.db
        .run(move |c| {
            diesel::insert_into(email_tokens::table)
                .values(row)
                .execute(c)?;
            Ok(())
        })
        .await?;
    let mut link = format!("{}/confirm-email?token={}", ctx.settings.issuer, token);
    if let Some(flow) = continue_to {
        link.push_str("&authz=");
        link.push_str(&urlencode(flow));
    }
    let site = ctx.settings.site_name.clone();
    let text = ConfirmEmailText {
        site_name: &site,
        link: &link,
        valid_hours: ttl.div_ceil(3600),
    };
    // If it can't go out now, signing in sends a fresh link; the sign-up itself stands.
    let message = Message::email(&user.email, &format!("Confirm your email for {site}"), text)?;
    crate::notify::send_best_effort(&*ctx.notifier, message).await;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Confirmed,
    /// Unknown, used or expired: one answer for all three.
    InvalidLink,
}

pub async fn confirm_email(
    ctx: &Ctx,
    token: &str,
    actor: &Actor,
) -> anyhow::Result<ConfirmOutcome> {
    let hash = crypto::token_hash(token);
    let now = ctx.clock.now();
    let actor = actor.clone();
    ctx.db
        .run(move |c| crate::storage::db::write_tx(c, |c| confirm_in_tx(c, &hash, now, &actor)))
        .await
}

fn confirm_in_tx(
    c: &mut DbConn,
    hash: &str,
    now: NaiveDateTime,
    actor: &Actor,
) -> anyhow::Result<ConfirmOutcome> {
    // Marking the token used is the single-use gate: only one request can flip it.
    let claimed = diesel::update(
        email_tokens::table
            .filter(email_tokens::token_hash.eq(hash))
            .filter(email_tokens::purpose.eq(PURPOSE_CONFIRM_EMAIL))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now)),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(c)?;
    if claimed != 1 {
        return Ok(ConfirmOutcome::InvalidLink);
    }
    let (user_id, email): (String, String) = email_tokens::table
        .find(hash)
        .select((email_tokens::user_id, email_tokens::email))
        .first(c)?;
    diesel::update(
        users_t::table
            .find(&user_id)
            .filter(users_t::email.eq(&email)),
    )
    .set((
        users_t::email_verified.eq(true),
        users_t::updated_at.eq(now),
    ))
    .execute(c)?;
    audit::record(
        c,
        now,
        Some(&user_id),
        None,
        "email_confirmed",
        serde_json::json!({}),
        Some(actor),
    )?;
    Ok(ConfirmOutcome::Confirmed)
}
