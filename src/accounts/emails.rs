//! Email addresses: the primary one (`users.email`, also the sign-in name) and others in
//! `user_emails`. Adding one sends a confirmation link; every change is announced to every
//! confirmed address, and every change (not a pending addition) by a text to the default
//! phone; adding, making primary and removing are sensitive (step-up).
//!
//! Only a confirmed address belongs to anyone. An unconfirmed one reserves nothing: others may
//! add it or sign up with it, the first to confirm holds it and every other unconfirmed claim
//! on it is voided then, and it expires with its link (`email_confirmation_ttl_secs`). The
//! database enforces "one confirmed holder" with a unique index on confirmed rows only, and
//! every transaction that checks or takes an address first serialises on it
//! ([`lock_address`]), so a check and the write that follows can't race another one.
//!
//! Opening a confirmation link confirms nothing (mail scanners and link previews open links):
//! its page has a button, and only a signed-in session of the account that added the address
//! may press it. Adding is limited per account and per address
//! (`email_adds_per_account_per_day`, `email_adds_per_address_per_day`).

use diesel::prelude::*;

use crate::accounts::sessions::Session;
use crate::accounts::step_up::SteppedUp;
use crate::accounts::users::{email_is_plausible, normalize_email};
use crate::audit::{self, Actor};
use crate::crypto;
use crate::notify::notices::{self, Notice, Texts};
use crate::notify::Channel;
use crate::ssf::signals;
use crate::storage::db::DbConn;
use crate::storage::schema::{email_tokens, user_emails, users};
use crate::Ctx;

pub const PURPOSE_ADD_EMAIL: &str = "add_email";

pub struct EmailView {
    pub id: String,
    pub email: String,
    pub verified: bool,
    pub primary: bool,
}

pub fn list(conn: &mut DbConn, user_id: &str) -> anyhow::Result<Vec<EmailView>> {
    let primary: (String, bool) = users::table
        .find(user_id)
        .select((users::email, users::email_verified))
        .first(conn)?;
    let mut out = vec![EmailView {
        id: String::new(),
        email: primary.0,
        verified: primary.1,
        primary: true,
    }];
    let rows: Vec<(String, String, bool)> = user_emails::table
        .filter(user_emails::user_id.eq(user_id))
        .order(user_emails::created_at.asc())
        .select((user_emails::id, user_emails::email, user_emails::verified))
        .load(conn)?;
    out.extend(rows.into_iter().map(|(id, email, verified)| EmailView {
        id,
        email,
        verified,
        primary: false,
    }));
    Ok(out)
}

/// Every confirmed address of the person: where security notices go.
pub fn confirmed_addresses(conn: &mut DbConn, user_id: &str) -> anyhow::Result<Vec<String>> {
    Ok(list(conn, user_id)?
        .into_iter()
        .filter(|e| e.verified)
        .map(|e| e.email)
        .collect())
}

/// The account holding `email` as a confirmed extra address, if any.
pub fn confirmed_owner(conn: &mut DbConn, email: &str) -> anyhow::Result<Option<String>> {
    Ok(user_emails::table
        .filter(user_emails::email.eq(email))
        .filter(user_emails::verified.eq(true))
        .select(user_emails::user_id)
        .first(conn)
        .optional()?)
}

/// Inside a write transaction, before checking who holds `email` and writing on that: waits
/// for every other transaction doing the same for this address (a PostgreSQL advisory lock;
/// SQLite's `BEGIN IMMEDIATE` already serialises writers). `email` is the normalised address.
pub fn lock_address(conn: &mut DbConn, email: &str) -> diesel::QueryResult<()> {
    crate::storage::db::serialize_on(conn, &format!("email:{email}"))
}

/// Whether any account holds `email` confirmed (as its primary or an extra address).
pub fn confirmed_anywhere(conn: &mut DbConn, email: &str) -> anyhow::Result<bool> {
    let primary: bool = diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::email.eq(email))
            .filter(users::email_verified.eq(true)),
    ))
    .get_result(conn)?;
    Ok(primary || confirmed_owner(conn, email)?.is_some())
}

/// Called when `email` gets confirmed by someone: every other unconfirmed claim on it (extra
/// addresses waiting for confirmation, a sign-up never confirmed and its links) is void.
pub fn void_unconfirmed_claims(
    conn: &mut DbConn,
    now: chrono::NaiveDateTime,
    email: &str,
) -> anyhow::Result<()> {
    // A sign-up never confirmed has no password and no sessions; it becomes a tombstone that
    // frees the address (users.email is unique, and the holder may make it a primary later).
    let abandoned: Vec<String> = users::table
        .filter(users::email.eq(email))
        .filter(users::email_verified.eq(false))
        .select(users::id)
        .load(conn)?;
    for id in abandoned {
        diesel::update(users::table.find(&id))
            .set((
                users::email.eq(format!("voided+{id}@invalid")),
                users::disabled.eq(true),
                users::deleted_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    diesel::delete(
        user_emails::table
            .filter(user_emails::email.eq(email))
            .filter(user_emails::verified.eq(false)),
    )
    .execute(conn)?;
    diesel::update(
        email_tokens::table
            .filter(email_tokens::email.eq(email))
            .filter(
                email_tokens::purpose
                    .eq(PURPOSE_ADD_EMAIL)
                    .or(email_tokens::purpose.eq(crate::accounts::signup::PURPOSE_CONFIRM_EMAIL)),
            )
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Drops unconfirmed extra addresses whose link has expired: they can never be confirmed.
fn purge_expired(
    conn: &mut DbConn,
    now: chrono::NaiveDateTime,
    ttl: chrono::Duration,
) -> anyhow::Result<()> {
    diesel::delete(
        user_emails::table
            .filter(user_emails::verified.eq(false))
            .filter(user_emails::created_at.le(now - ttl)),
    )
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    Done,
    Refused(EmailRefusal),
    /// Over a daily limit on adding addresses; nothing was added or sent.
    TooMany,
}

/// Why an address change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailRefusal {
    /// Not shaped like an email address.
    NotAnAddress,
    /// Only a confirmed extra address can become the primary one.
    NotConfirmed,
    /// Not one of the person's extra addresses (the primary one always stays).
    NotRemovable,
}

impl EmailRefusal {
    /// The message key (`locales/*/console.ftl`).
    pub fn key(self) -> &'static str {
        match self {
            EmailRefusal::NotAnAddress => "console-email-not-an-address",
            EmailRefusal::NotConfirmed => "console-email-not-confirmed",
            EmailRefusal::NotRemovable => "console-email-not-removable",
        }
    }
}

/// Takes a slot under both daily limits before anything is mailed; None (and no slot kept)
/// when either is used up.
async fn reserve_add(ctx: &Ctx, user_id: &str, email: &str) -> anyhow::Result<bool> {
    let day = std::time::Duration::from_secs(86400);
    let security = &ctx.settings.security;
    let account_key = format!("email-add:account:{user_id}");
    let reserved = ctx
        .store
        .incr_below(
            &account_key,
            i64::from(security.email_adds_per_account_per_day),
            day,
        )
        .await?;
    if reserved.is_none() {
        return Ok(false);
    }
    // The address as a hash: the store needn't hold people's addresses.
    let address_key = format!("email-add:address:{}", crypto::token_hash(email));
    let reserved = ctx
        .store
        .incr_below(
            &address_key,
            i64::from(security.email_adds_per_address_per_day),
            day,
        )
        .await?;
    if reserved.is_none() {
        ctx.store.decr(&account_key).await?;
        return Ok(false);
    }
    Ok(true)
}

pub async fn add(
    ctx: &Ctx,
    current: &SteppedUp,
    raw: &str,
    actor: &Actor,
) -> anyhow::Result<Change> {
    let email = normalize_email(raw);
    if !email_is_plausible(&email) {
        return Ok(Change::Refused(EmailRefusal::NotAnAddress));
    }
    // Counted whether or not the address turns out to be free: the answer mustn't tell.
    if !reserve_add(ctx, &current.user_id, &email).await? {
        return Ok(Change::TooMany);
    }
    let token = crypto::random_token(32);
    let (uid, now, addr, hash, a) = (
        current.user_id.clone(),
        ctx.clock.now(),
        email.clone(),
        crypto::token_hash(&token),
        actor.clone(),
    );
    let ttl = chrono::Duration::seconds(ctx.settings.security.email_confirmation_ttl_secs as i64);
    let added = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                lock_address(c, &addr)?;
                purge_expired(c, now, ttl)?;
                // Only a confirmed address is taken; someone else's pending claim is not.
                let own_primary: bool = diesel::select(diesel::dsl::exists(
                    users::table.find(&uid).filter(users::email.eq(&addr)),
                ))
                .get_result(c)?;
                if own_primary || confirmed_anywhere(c, &addr)? {
                    return Ok(false);
                }
                // Adding it again replaces this person's own pending claim (a fresh link).
                diesel::delete(
                    user_emails::table
                        .filter(user_emails::user_id.eq(&uid))
                        .filter(user_emails::email.eq(&addr)),
                )
                .execute(c)?;
                diesel::insert_into(user_emails::table)
                    .values((
                        user_emails::id.eq(uuid::Uuid::new_v4().to_string()),
                        user_emails::user_id.eq(&uid),
                        user_emails::email.eq(&addr),
                        user_emails::verified.eq(false),
                        user_emails::created_at.eq(now),
                    ))
                    .execute(c)?;
                diesel::insert_into(email_tokens::table)
                    .values((
                        email_tokens::token_hash.eq(hash),
                        email_tokens::user_id.eq(&uid),
                        email_tokens::purpose.eq(PURPOSE_ADD_EMAIL),
                        email_tokens::email.eq(&addr),
                        email_tokens::created_at.eq(now),
                        email_tokens::expires_at.eq(now + ttl),
                    ))
                    .execute(c)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::EmailAdded,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({}),
                        actor: Some(&a),
                    },
                )?;
                Ok(true)
            })
        })
        .await?;
    if !added {
        // Already someone's (maybe this person's): the same outward answer, nothing sent.
        return Ok(Change::Done);
    }
    // The notices go out in a detached task: the answer doesn't wait on the relay, so it
    // doesn't show whether the address was free.
    let (task_ctx, uid) = (ctx.clone(), current.user_id.clone());
    crate::notify::spawn_detached("email added notices", async move {
        let ctx = &task_ctx;
        let lang = notices::lang_of_account(ctx, &uid).await?;
        let confirm = Notice::ConfirmAddedEmail {
            link: format!(
                "{}/account/emails/confirm?token={token}",
                ctx.settings.issuer
            ),
        };
        notices::send_best_effort(ctx, Channel::Email, &email, lang, &confirm).await;
        // Nothing has changed until it is confirmed: no text yet.
        let added = Notice::EmailAdded { address: email };
        notices::tell_account(ctx, &uid, None, Texts::None, &added).await
    });
    Ok(Change::Done)
}

/// What the page of an add-email link can offer.
#[derive(Debug, PartialEq, Eq)]
pub enum PendingConfirmation {
    /// Unknown, used or expired: one answer for all three.
    InvalidLink,
    /// Valid, and `viewer` is the account that added `email`: show the button.
    Yours { email: String },
    /// Valid, but only a session of the account that added it may confirm.
    SignInAsAdder { email: String },
}

/// The page an add-email link opens: it uses nothing up and confirms nothing.
pub async fn pending_confirmation(
    ctx: &Ctx,
    viewer: Option<&str>,
    token: &str,
) -> anyhow::Result<PendingConfirmation> {
    let (token, now) = (token.to_string(), ctx.clock.now());
    let found = ctx
        .db
        .run(move |c| {
            crate::accounts::email_tokens::peek_address(c, now, &token, PURPOSE_ADD_EMAIL)
        })
        .await?;
    Ok(match found {
        None => PendingConfirmation::InvalidLink,
        Some((uid, email)) if viewer == Some(uid.as_str()) => PendingConfirmation::Yours { email },
        Some((_, email)) => PendingConfirmation::SignInAsAdder { email },
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum Confirmation {
    Confirmed,
    /// Unknown, used, expired, or the address was confirmed by someone else meanwhile.
    InvalidLink,
    /// The link is valid but `current` isn't the account that added it; the link stays valid.
    NotYours,
}

/// Confirms an added address: the link's token, pressed by a signed-in session of the account
/// that added it.
pub async fn confirm(ctx: &Ctx, current: &Session, token: &str) -> anyhow::Result<Confirmation> {
    let (token, now, viewer) = (token.to_string(), ctx.clock.now(), current.user_id.clone());
    let ssf = ctx.settings.ssf.clone();
    let confirmed = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                // Another account's session leaves the link unused for its owner.
                let addr = match crate::accounts::email_tokens::peek_address(
                    c,
                    now,
                    &token,
                    PURPOSE_ADD_EMAIL,
                )? {
                    None => return Ok(Err(Confirmation::InvalidLink)),
                    Some((uid, _)) if uid != viewer => return Ok(Err(Confirmation::NotYours)),
                    Some((_, addr)) => addr,
                };
                // The address lock comes before any row lock (the token's included): voiding
                // the other claims below writes rows a sign-up confirmation also locks.
                lock_address(c, &addr)?;
                let Some((uid, addr)) =
                    crate::accounts::email_tokens::claim(c, now, &token, PURPOSE_ADD_EMAIL)?
                else {
                    return Ok(Err(Confirmation::InvalidLink));
                };
                // First to confirm holds the address; a later confirmation is refused here,
                // never by the unique index.
                if confirmed_anywhere(c, &addr)? {
                    return Ok(Err(Confirmation::InvalidLink));
                }
                // In a savepoint: should a concurrent confirmation win the unique index first,
                // this one is refused cleanly rather than failing the request.
                let n = match crate::storage::db::write_tx(c, |c| {
                    diesel::update(
                        user_emails::table
                            .filter(user_emails::user_id.eq(&uid))
                            .filter(user_emails::email.eq(&addr)),
                    )
                    .set(user_emails::verified.eq(true))
                    .execute(c)
                }) {
                    Ok(n) => n,
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => return Ok(Err(Confirmation::InvalidLink)),
                    Err(e) => return Err(e.into()),
                };
                if n != 1 {
                    return Ok(Err(Confirmation::InvalidLink));
                }
                // Everyone else's pending claim on it ends now.
                void_unconfirmed_claims(c, now, &addr)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::EmailConfirmed,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({}),
                        actor: None,
                    },
                )?;
                signals::email_address(c, &ssf, now, &uid, signals::By::Person)?;
                Ok(Ok((uid, addr)))
            })
        })
        .await?;
    let (uid, addr) = match confirmed {
        Ok(done) => done,
        Err(refused) => return Ok(refused),
    };
    let notice = Notice::EmailConfirmed { address: addr };
    notices::tell_account(ctx, &uid, None, Texts::DefaultPhone, &notice).await?;
    Ok(Confirmation::Confirmed)
}

pub async fn make_primary(
    ctx: &Ctx,
    current: &SteppedUp,
    id: &str,
    actor: &Actor,
) -> anyhow::Result<Change> {
    let (uid, rid, now, a) = (
        current.user_id.clone(),
        id.to_string(),
        ctx.clock.now(),
        actor.clone(),
    );
    let ssf = ctx.settings.ssf.clone();
    let swapped = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let row: Option<(String, bool)> = user_emails::table
                    .find(&rid)
                    .filter(user_emails::user_id.eq(&uid))
                    .select((user_emails::email, user_emails::verified))
                    .first(c)
                    .optional()?;
                let Some((new_primary, true)) = row else {
                    return Ok(None);
                };
                // Ordered with every other check-then-write on this address, then re-read.
                lock_address(c, &new_primary)?;
                let still: bool = diesel::select(diesel::dsl::exists(
                    user_emails::table
                        .find(&rid)
                        .filter(user_emails::user_id.eq(&uid))
                        .filter(user_emails::email.eq(&new_primary))
                        .filter(user_emails::verified.eq(true)),
                ))
                .get_result(c)?;
                if !still {
                    return Ok(None);
                }
                let old_primary: String = users::table.find(&uid).select(users::email).first(c)?;
                diesel::update(user_emails::table.find(&rid))
                    .set(user_emails::email.eq(format!("swap:{rid}")))
                    .execute(c)?;
                diesel::update(users::table.find(&uid))
                    .set((
                        users::email.eq(&new_primary),
                        users::email_verified.eq(true),
                        users::updated_at.eq(now),
                    ))
                    .execute(c)?;
                diesel::update(user_emails::table.find(&rid))
                    .set(user_emails::email.eq(&old_primary))
                    .execute(c)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::EmailMadePrimary,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({}),
                        actor: Some(&a),
                    },
                )?;
                signals::primary_email(
                    c,
                    &ssf,
                    now,
                    &uid,
                    signals::By::Person,
                    &old_primary,
                    &new_primary,
                )?;
                Ok(Some((old_primary, new_primary)))
            })
        })
        .await?;
    let Some((old, new)) = swapped else {
        return Ok(Change::Refused(EmailRefusal::NotConfirmed));
    };
    let notice = Notice::SignInEmailChanged { old, new };
    notices::tell_account(ctx, &current.user_id, None, Texts::DefaultPhone, &notice).await?;
    Ok(Change::Done)
}

pub async fn remove(
    ctx: &Ctx,
    current: &SteppedUp,
    id: &str,
    actor: &Actor,
) -> anyhow::Result<Change> {
    let (uid, rid, now, a) = (
        current.user_id.clone(),
        id.to_string(),
        ctx.clock.now(),
        actor.clone(),
    );
    let ssf = ctx.settings.ssf.clone();
    let removed = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let row: Option<(String, bool)> = user_emails::table
                    .find(&rid)
                    .filter(user_emails::user_id.eq(&uid))
                    .select((user_emails::email, user_emails::verified))
                    .first(c)
                    .optional()?;
                let Some((addr, confirmed)) = row else {
                    return Ok(None);
                };
                diesel::delete(user_emails::table.find(&rid)).execute(c)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::EmailRemoved,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({}),
                        actor: Some(&a),
                    },
                )?;
                // An address never confirmed was no way back into the account.
                if confirmed {
                    signals::email_address(c, &ssf, now, &uid, signals::By::Person)?;
                }
                Ok(Some(addr))
            })
        })
        .await?;
    let Some(addr) = removed else {
        return Ok(Change::Refused(EmailRefusal::NotRemovable));
    };
    let notice = Notice::EmailRemoved {
        address: addr.clone(),
    };
    notices::tell_account(
        ctx,
        &current.user_id,
        Some(&addr),
        Texts::DefaultPhone,
        &notice,
    )
    .await?;
    Ok(Change::Done)
}
