//! Sign-up and email confirmation, in Login.gov's order: sign-up asks for the email address
//! only and mails a link; the password is chosen on the page that link opens. An account whose
//! address isn't confirmed has no usable password, so nobody can pre-register someone else's
//! address with a password of their own and wait for the owner to confirm it.
//!
//! The outward answer never says whether an email is already registered: the request checks
//! its input and its limit, and everything that depends on the address (lookups, writes, the
//! email) happens in a detached task.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::password::{refusal as password_refusal, PasswordRefusal};
use crate::accounts::users::{self, email_is_plausible, normalize_email, User};
use crate::accounts::{email_tokens, emails};
use crate::audit::{self, Actor};
use crate::i18n::Lang;
use crate::notify::notices::{self, Notice};
use crate::notify::Channel;
use crate::storage::db::DbConn;
use crate::storage::schema::{email_tokens as email_tokens_t, users as users_t};
use crate::Ctx;

pub const PURPOSE_CONFIRM_EMAIL: &str = "confirm_email";

pub struct SignupForm {
    pub email: String,
    pub accepted_terms: bool,
}

/// A field the person must fix, and why (words chosen by the page, in its language).
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: &'static str,
    pub problem: Problem,
}

#[derive(Debug, Clone)]
pub enum Problem {
    /// A message from the locale files.
    Message(crate::i18n::Message),
    Password(PasswordRefusal),
}

impl Problem {
    pub fn in_lang(&self, lang: Lang) -> String {
        match self {
            Problem::Message(m) => m.in_lang(lang),
            Problem::Password(p) => p.in_lang(lang),
        }
    }
}

impl FieldError {
    pub fn new(field: &'static str, key: &'static str) -> FieldError {
        FieldError {
            field,
            problem: Problem::Message(crate::i18n::Message::new(key)),
        }
    }
}

/// Every problem with a new password and its confirmation at once: the password's own, and
/// a confirmation that doesn't match (flagged on the confirmation field).
pub fn new_password_errors(
    security: &crate::config::Security,
    password: &str,
    confirmation: &str,
    user_inputs: &[&str],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(p) = password_refusal(security, password, user_inputs) {
        errors.push(FieldError {
            field: "password",
            problem: Problem::Password(p),
        });
    }
    if password != confirmation {
        errors.push(FieldError::new(
            "password_confirmation",
            "password-confirmation-mismatch",
        ));
    }
    errors
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

/// `lang`: the language of the request; the e-mails it causes are written in it (unless the
/// address's account chose another).
pub async fn sign_up(
    ctx: &Ctx,
    form: SignupForm,
    continue_to: Option<String>,
    lang: Lang,
    actor: &Actor,
) -> anyhow::Result<SignupOutcome> {
    let email = normalize_email(&form.email);
    let mut errors = Vec::new();
    if !email_is_plausible(&email) {
        errors.push(FieldError::new("email", "signup-email-invalid"));
    }
    if !form.accepted_terms {
        errors.push(FieldError::new("terms", "signup-terms-required"));
    }
    if !errors.is_empty() {
        return Ok(SignupOutcome::Invalid(errors));
    }

    let attempts = ctx
        .store
        .incr(
            &format!("signup:ip:{}", actor.limit_key()),
            Duration::from_secs(3600),
        )
        .await?;
    if attempts > i64::from(ctx.settings.security.signups_per_ip_per_hour) {
        return Ok(SignupOutcome::TooManyAttempts);
    }

    let (task_ctx, address, task_actor) = (ctx.clone(), email.clone(), actor.clone());
    crate::notify::spawn_detached("sign-up", async move {
        register(
            &task_ctx,
            &address,
            continue_to.as_deref(),
            lang,
            &task_actor,
        )
        .await
    });
    Ok(SignupOutcome::CheckYourEmail { email })
}

/// Who holds an address a sign-up asks for.
enum Holder {
    /// A confirmed account (its primary address, or a confirmed extra address): its owner is
    /// told someone tried to sign up; nothing is created.
    Confirmed {
        user_id: String,
    },
    /// An account whose address was never confirmed: the mailbox gets a fresh link.
    Unconfirmed(User),
    Nobody,
}

fn holder(conn: &mut DbConn, email: &str) -> anyhow::Result<Holder> {
    let user = users::by_email(conn, email)?;
    if let Some(user) = &user {
        if user.email_verified {
            return Ok(Holder::Confirmed {
                user_id: user.id.clone(),
            });
        }
    }
    if let Some(user_id) = emails::confirmed_owner(conn, email)? {
        return Ok(Holder::Confirmed { user_id });
    }
    Ok(user.map_or(Holder::Nobody, Holder::Unconfirmed))
}

/// The part of a sign-up that depends on the address; runs detached from the request.
async fn register(
    ctx: &Ctx,
    email: &str,
    continue_to: Option<&str>,
    lang: Lang,
    actor: &Actor,
) -> anyhow::Result<()> {
    let lookup = email.to_string();
    let found = ctx.db.run(move |c| holder(c, &lookup)).await?;
    let user = match found {
        Holder::Confirmed { user_id } => {
            return tell_owner(ctx, email, &user_id, continue_to, lang, actor).await;
        }
        Holder::Unconfirmed(user) => user,
        Holder::Nobody => match create_unconfirmed(ctx, email, actor).await? {
            Some(user) => user,
            None => {
                // Another sign-up for this address won the race: link its account instead.
                let lookup = email.to_string();
                match ctx.db.run(move |c| holder(c, &lookup)).await? {
                    Holder::Unconfirmed(user) => user,
                    Holder::Confirmed { user_id } => {
                        return tell_owner(ctx, email, &user_id, continue_to, lang, actor).await;
                    }
                    Holder::Nobody => return Ok(()),
                }
            }
        },
    };
    // An unconfirmed account's stored language (if any) was never chosen by the mailbox
    // owner: the link goes out in the language of the request that asked for it.
    let lang = if user.email_verified {
        user.locale.as_deref().and_then(Lang::parse).unwrap_or(lang)
    } else {
        lang
    };
    send_confirmation(ctx, &user, continue_to, lang).await
}

/// Inserts an account with no usable password: the one hash made at startup from random bytes
/// nobody kept, so a sign-up costs no Argon2 run (a flood of them can't starve sign-ins).
/// Returns None when another account took or holds the address meanwhile.
async fn create_unconfirmed(ctx: &Ctx, email: &str, actor: &Actor) -> anyhow::Result<Option<User>> {
    let unusable_hash = ctx.passwords.unusable_hash();
    let now = ctx.clock.now();
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        email: email.to_string(),
        email_verified: false,
        password_hash: unusable_hash,
        given_name: None,
        family_name: None,
        disabled: false,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        identity_reverify_at: None,
        // Not stored before the mailbox owner confirms: whoever typed the address doesn't
        // get to choose the owner's language.
        locale: None,
        time_zone: None,
    };
    let (row, actor) = (user.clone(), actor.clone());
    let inserted = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                // Ordered with confirmations of this address, then re-checked: the holder
                // looked up before may have changed.
                emails::lock_address(c, &row.email)?;
                if emails::confirmed_anywhere(c, &row.email)?
                    || users::by_email(c, &row.email)?.is_some()
                {
                    return Ok(false);
                }
                // The unique index stays the last word.
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
                    audit::Event {
                        kind: audit::Kind::SignedUp,
                        user_id: Some(&row.id),
                        client_id: None,
                        detail: serde_json::json!({}),
                        actor: Some(&actor),
                    },
                )?;
                Ok(true)
            })
        })
        .await?;
    Ok(inserted.then_some(user))
}

async fn tell_owner(
    ctx: &Ctx,
    address: &str,
    user_id: &str,
    continue_to: Option<&str>,
    lang: Lang,
    actor: &Actor,
) -> anyhow::Result<()> {
    let lang = notices::lang_of_account_or(ctx, user_id, lang).await?;
    let notice = Notice::SignUpExisting {
        sign_in_link: sign_in_link(ctx, continue_to),
    };
    notices::send_best_effort(ctx, Channel::Email, address, lang, &notice).await;
    let (uid, actor, now) = (user_id.to_string(), actor.clone(), ctx.clock.now());
    ctx.db
        .run(move |c| {
            audit::record(
                c,
                now,
                audit::Event {
                    kind: audit::Kind::SignupExistingEmail,
                    user_id: Some(&uid),
                    client_id: None,
                    detail: serde_json::json!({}),
                    actor: Some(&actor),
                },
            )
        })
        .await
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

/// Creates a single-use confirmation link for an unconfirmed account and mails it in `lang`.
/// Whoever opens it (the mailbox's owner) chooses the account's password.
pub async fn send_confirmation(
    ctx: &Ctx,
    user: &User,
    continue_to: Option<&str>,
    lang: Lang,
) -> anyhow::Result<()> {
    let now = ctx.clock.now();
    let ttl = ctx.settings.security.email_confirmation_ttl_secs;
    let (uid, address) = (user.id.clone(), user.email.clone());
    let token = ctx
        .db
        .run(move |c| {
            email_tokens::issue(
                c,
                now,
                chrono::Duration::seconds(ttl as i64),
                &uid,
                &address,
                PURPOSE_CONFIRM_EMAIL,
            )
        })
        .await?;
    let mut link = format!("{}/confirm-email?token={}", ctx.settings.issuer, token);
    if let Some(flow) = continue_to {
        link.push_str("&authz=");
        link.push_str(&urlencode(flow));
    }
    let notice = Notice::ConfirmEmail {
        link,
        valid_hours: ttl.div_ceil(3600),
    };
    // If it can't go out now, signing up again sends a fresh link.
    notices::send_best_effort(ctx, Channel::Email, &user.email, lang, &notice).await;
    Ok(())
}

/// The address a still-valid confirmation link is for, without using the link up: the
/// "choose your password" page. (Opening the link must not confirm anything by itself:
/// mail scanners open links too.)
pub async fn confirmation_address(ctx: &Ctx, token: &str) -> anyhow::Result<Option<String>> {
    let (token, now) = (token.to_string(), ctx.clock.now());
    ctx.db
        .run(move |c| {
            Ok(
                email_tokens::peek_address(c, now, &token, PURPOSE_CONFIRM_EMAIL)?
                    .map(|(_, email)| email),
            )
        })
        .await
}

#[derive(Debug)]
pub enum ConfirmOutcome {
    Confirmed,
    /// Unknown, used or expired: one answer for all three.
    InvalidLink,
    /// The chosen password can't be used; the link stays valid.
    Refused(Vec<FieldError>),
}

/// Confirms the address of a link and sets the password chosen on its page. Uses up every
/// confirmation link of the account, and voids other accounts' unconfirmed claims on the
/// address. `stated_lang`, the language the mailbox's owner chose their password in (if their
/// request states one), becomes the account's: whoever started the sign-up may not be the
/// owner.
pub async fn confirm_email(
    ctx: &Ctx,
    token: &str,
    password: String,
    confirmation: &str,
    stated_lang: Option<Lang>,
    actor: &Actor,
) -> anyhow::Result<ConfirmOutcome> {
    let Some(address) = confirmation_address(ctx, token).await? else {
        return Ok(ConfirmOutcome::InvalidLink);
    };
    let errors = new_password_errors(&ctx.settings.security, &password, confirmation, &[&address]);
    if !errors.is_empty() {
        return Ok(ConfirmOutcome::Refused(errors));
    }
    let hash = ctx.passwords.hash(password).await?;
    let (token, now, actor) = (token.to_string(), ctx.clock.now(), actor.clone());
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                confirm_in_tx(c, &token, &hash, stated_lang, now, &actor)
            })
        })
        .await
}

fn confirm_in_tx(
    c: &mut DbConn,
    token: &str,
    password_hash: &str,
    stated_lang: Option<Lang>,
    now: NaiveDateTime,
    actor: &Actor,
) -> anyhow::Result<ConfirmOutcome> {
    // The address lock comes before any row lock (the token's included), in the same order as
    // an add-email confirmation, which writes this sign-up's rows when it wins.
    let Some((_, address)) = email_tokens::peek_address(c, now, token, PURPOSE_CONFIRM_EMAIL)?
    else {
        return Ok(ConfirmOutcome::InvalidLink);
    };
    emails::lock_address(c, &address)?;
    // Claiming the token is the single-use gate: only one request can use it.
    let Some((user_id, email)) = email_tokens::claim(c, now, token, PURPOSE_CONFIRM_EMAIL)? else {
        return Ok(ConfirmOutcome::InvalidLink);
    };
    if emails::confirmed_anywhere(c, &email)? {
        // Confirmed meanwhile as another account's address: that account holds it.
        return Ok(ConfirmOutcome::InvalidLink);
    }
    // Only an account that was never confirmed: a confirmation link must never be a way to
    // replace a confirmed account's password.
    let updated = diesel::update(
        users_t::table
            .find(&user_id)
            .filter(users_t::email.eq(&email))
            .filter(users_t::email_verified.eq(false))
            .filter(users_t::deleted_at.is_null()),
    )
    .set((
        users_t::email_verified.eq(true),
        users_t::password_hash.eq(password_hash),
        users_t::updated_at.eq(now),
    ))
    .execute(c)?;
    if updated != 1 {
        return Ok(ConfirmOutcome::InvalidLink);
    }
    if let Some(lang) = stated_lang {
        diesel::update(users_t::table.find(&user_id))
            .set(users_t::locale.eq(lang.tag()))
            .execute(c)?;
    }
    // Every other link of this sign-up (earlier sign-ups for the same address) is void.
    diesel::update(
        email_tokens_t::table
            .filter(email_tokens_t::user_id.eq(&user_id))
            .filter(email_tokens_t::purpose.eq(PURPOSE_CONFIRM_EMAIL))
            .filter(email_tokens_t::used_at.is_null()),
    )
    .set(email_tokens_t::used_at.eq(now))
    .execute(c)?;
    emails::void_unconfirmed_claims(c, now, &email)?;
    audit::record(
        c,
        now,
        audit::Event {
            kind: audit::Kind::EmailConfirmed,
            user_id: Some(&user_id),
            client_id: None,
            detail: serde_json::json!({}),
            actor: Some(actor),
        },
    )?;
    Ok(ConfirmOutcome::Confirmed)
}
