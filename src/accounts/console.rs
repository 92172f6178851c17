//! The account console's reads (the overview, profile, activity) and the actions that aren't
//! phone changes: browser sessions, connected apps, password, authenticator apps, backup codes.
//! Every change to a factor, a recovery channel, the password or other sessions takes a
//! [`SteppedUp`] (see `accounts::step_up`).

use diesel::prelude::*;

use crate::accounts::activity::{self, Device};
use crate::accounts::password::PasswordRefusal;
use crate::accounts::sessions::{self, Session};
use crate::accounts::step_up::SteppedUp;
use crate::audit::{self, Actor};
use crate::notify::notices::{self, AppChange, Notice, Texts};
use crate::ssf::signals;
use crate::storage::schema::{browser_sessions, clients, consents, grants};
use crate::Ctx;

pub struct SessionView {
    pub id: String,
    /// The browser it was opened in; None when no user agent was sent.
    pub device: Option<Device>,
    pub ip: String,
    pub last_seen: chrono::NaiveDateTime,
    pub current: bool,
}

/// Live sessions (not revoked, inside the idle and absolute windows), newest first.
pub async fn sessions(ctx: &Ctx, current: &Session) -> anyhow::Result<Vec<SessionView>> {
    let (uid, now, cur) = (current.user_id.clone(), ctx.clock.now(), current.id.clone());
    let idle = chrono::Duration::seconds(ctx.settings.security.session_idle_secs as i64);
    let absolute = chrono::Duration::seconds(ctx.settings.security.session_absolute_secs as i64);
    ctx.db
        .run(move |c| {
            let rows: Vec<sessions::SessionRow> = browser_sessions::table
                .filter(browser_sessions::user_id.eq(&uid))
                .filter(browser_sessions::revoked_at.is_null())
                .order(browser_sessions::last_seen_at.desc())
                .select(sessions::SessionRow::as_select())
                .load(c)?;
            Ok(rows
                .into_iter()
                .filter(|r| now - r.last_seen_at <= idle && now - r.created_at <= absolute)
                .map(|r| SessionView {
                    current: r.id == cur,
                    id: r.id,
                    device: Device::from_user_agent(&r.user_agent),
                    ip: r.ip,
                    last_seen: r.last_seen_at,
                })
                .collect())
        })
        .await
}

/// Ends one of the person's own sessions (with back-channel logout and token families).
pub async fn end_session(
    ctx: &Ctx,
    current: &Session,
    session_id: &str,
    actor: &Actor,
) -> anyhow::Result<bool> {
    let (uid, sid) = (current.user_id.clone(), session_id.to_string());
    let mine: bool = ctx
        .db
        .run(move |c| {
            Ok(diesel::select(diesel::dsl::exists(
                browser_sessions::table
                    .filter(browser_sessions::id.eq(&sid))
                    .filter(browser_sessions::user_id.eq(&uid)),
            ))
            .get_result(c)?)
        })
        .await?;
    if mine {
        sessions::revoke(ctx, session_id, actor).await?;
    }
    Ok(mine)
}

/// "Sign out other sessions": every session but this one.
pub async fn end_other_sessions(
    ctx: &Ctx,
    current: &Session,
    actor: &Actor,
) -> anyhow::Result<usize> {
    let others: Vec<String> = sessions(ctx, current)
        .await?
        .into_iter()
        .filter(|s| !s.current)
        .map(|s| s.id)
        .collect();
    for id in &others {
        sessions::revoke(ctx, id, actor).await?;
    }
    Ok(others.len())
}

pub struct AppView {
    pub client_id: String,
    pub name: String,
    /// The scopes the person allowed, as granted.
    pub scopes: Vec<String>,
    pub since: chrono::NaiveDateTime,
}

pub async fn connected_apps(ctx: &Ctx, user_id: &str) -> anyhow::Result<Vec<AppView>> {
    let uid = user_id.to_string();
    ctx.db
        .run(move |c| {
            let rows: Vec<(String, String, String, chrono::NaiveDateTime)> = consents::table
                .inner_join(clients::table)
                .filter(consents::user_id.eq(&uid))
                .order(consents::created_at.desc())
                .select((
                    consents::client_id,
                    clients::name,
                    consents::scopes,
                    consents::created_at,
                ))
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(client_id, name, scopes, since)| AppView {
                    client_id,
                    name,
                    scopes: crate::oauth::scopes::parse(&scopes),
                    since,
                })
                .collect())
        })
        .await
}

/// Revokes an app: the consent goes, and every grant (refresh-token family and the access
/// tokens carrying its id) issued to it for this person is revoked.
pub async fn revoke_app(
    ctx: &Ctx,
    user_id: &str,
    client_id: &str,
    actor: &Actor,
) -> anyhow::Result<bool> {
    let (uid, cid, now, a) = (
        user_id.to_string(),
        client_id.to_string(),
        ctx.clock.now(),
        actor.clone(),
    );
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let removed = diesel::delete(
                    consents::table
                        .filter(consents::user_id.eq(&uid))
                        .filter(consents::client_id.eq(&cid)),
                )
                .execute(c)?;
                let revoked = diesel::update(
                    grants::table
                        .filter(grants::user_id.eq(&uid))
                        .filter(grants::client_id.eq(&cid))
                        .filter(grants::revoked_at.is_null()),
                )
                .set((
                    grants::revoked_at.eq(now),
                    grants::revoked_reason.eq("app disconnected by the person"),
                ))
                .execute(c)?;
                if removed + revoked > 0 {
                    audit::record(
                        c,
                        now,
                        audit::Event {
                            kind: audit::Kind::AppRevoked,
                            user_id: Some(&uid),
                            client_id: Some(&cid),
                            detail: serde_json::json!({ "grants": revoked }),
                            actor: Some(&a),
                        },
                    )?;
                }
                Ok(removed + revoked > 0)
            })
        })
        .await
}

#[derive(Debug, PartialEq)]
pub enum PasswordChange {
    Done,
    /// Nothing changed; every problem with the form, each with its field.
    Refused(Vec<PasswordProblem>),
}

/// One problem with the change-password form.
#[derive(Debug, PartialEq)]
pub enum PasswordProblem {
    /// The current password is wrong (or sign-in throttling refused to check it).
    CurrentWrong,
    /// The new password can't be used.
    New(PasswordRefusal),
    /// The confirmation differs from the new password.
    Mismatch,
}

impl PasswordProblem {
    /// The form field it is about.
    pub fn field(&self) -> &'static str {
        match self {
            PasswordProblem::CurrentWrong => "current_password",
            PasswordProblem::New(_) => "password",
            PasswordProblem::Mismatch => "password_confirmation",
        }
    }
}

/// Changing the password: needs the current one (and a recent full sign-in). Every other
/// session ends, and the person is told by e-mail and by a text to the default phone. Every
/// field is checked, so the person sees every problem at once.
pub async fn change_password(
    ctx: &Ctx,
    current: &SteppedUp,
    old_password: String,
    new_password: String,
    confirmation: &str,
    actor: &Actor,
) -> anyhow::Result<PasswordChange> {
    let mut problems = Vec::new();
    let old_copy = zeroize::Zeroizing::new(old_password.clone());
    // The same throttling as signing in.
    match crate::accounts::signin::sign_in(ctx, &current.email, old_password, actor).await? {
        crate::accounts::signin::SignInOutcome::PasswordAccepted { user_id, .. }
            if user_id == current.user_id => {}
        _ => problems.push(PasswordProblem::CurrentWrong),
    }
    if let Some(refusal) =
        crate::accounts::password::refusal(&ctx.settings.security, &new_password, &[&current.email])
    {
        problems.push(PasswordProblem::New(refusal));
    }
    if new_password != confirmation {
        problems.push(PasswordProblem::Mismatch);
    }
    if !problems.is_empty() {
        return Ok(PasswordChange::Refused(problems));
    }
    // The verified data's vault follows the password (the old one opens it now).
    let rewraps = crate::proofing::vault::rewraps_for_password_change(
        ctx,
        &current.user_id,
        old_copy,
        zeroize::Zeroizing::new(new_password.clone()),
    )
    .await?;
    let hash = ctx.passwords.hash(new_password).await?;
    let (uid, now, a) = (current.user_id.clone(), ctx.clock.now(), actor.clone());
    let settings = ctx.settings.clone();
    let changed = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                use crate::storage::schema::users;
                // Serialised with the vault's other writers (verifying, a reset, a restore).
                crate::proofing::records::lock_person(c, &uid)?;
                diesel::update(users::table.find(&uid))
                    .set((users::password_hash.eq(&hash), users::updated_at.eq(now)))
                    .execute(c)?;
                if !crate::proofing::vault::apply_rewraps(c, &rewraps)? {
                    // Another change got there first: the current password isn't the one
                    // checked any more. Nothing is written.
                    return Err(anyhow::Error::new(crate::proofing::vault::Moved));
                }
                let signal =
                    crate::ssf::events::password_changed(now, crate::ssf::events::Initiator::User);
                crate::ssf::events::enqueue(c, &settings.ssf, now, &uid, &signal)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::PasswordChanged,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({}),
                        actor: Some(&a),
                    },
                )
            })
        })
        .await;
    match changed {
        Ok(()) => {}
        Err(e) if e.is::<crate::proofing::vault::Moved>() => {
            return Ok(PasswordChange::Refused(vec![PasswordProblem::CurrentWrong]))
        }
        Err(e) => return Err(e),
    }
    end_other_sessions(ctx, current, actor).await?;
    let notice = Notice::PasswordChanged {
        at: now,
        not_me_link: crate::accounts::login::not_me_link(ctx, &current.user_id, &current.email)
            .await?,
    };
    notices::tell_account(ctx, &current.user_id, None, Texts::DefaultPhone, &notice).await?;
    Ok(PasswordChange::Done)
}

/// Why a name field was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameProblem {
    /// Over 100 characters, or with line breaks or other control characters.
    TooLongOrBroken,
}

/// The form's problems, each with its field (`given_name`, `family_name`).
pub type ProfileProblems = Vec<(&'static str, NameProblem)>;

/// Given and family name: plain text, trimmed, at most 100 characters each. Both fields are
/// checked, so the person sees every problem at once.
pub async fn update_profile(
    ctx: &Ctx,
    current: &Session,
    given: &str,
    family: &str,
    actor: &Actor,
) -> anyhow::Result<Result<(), ProfileProblems>> {
    let clean = |s: &str| -> Result<Option<String>, NameProblem> {
        let t = s.trim();
        if t.chars().count() > 100 || t.chars().any(char::is_control) {
            return Err(NameProblem::TooLongOrBroken);
        }
        Ok((!t.is_empty()).then(|| t.to_string()))
    };
    let (given, family) = match (clean(given), clean(family)) {
        (Ok(g), Ok(f)) => (g, f),
        (g, f) => {
            let mut problems = Vec::new();
            if let Err(p) = g {
                problems.push(("given_name", p));
            }
            if let Err(p) = f {
                problems.push(("family_name", p));
            }
            return Ok(Err(problems));
        }
    };
    let (uid, now, a) = (current.user_id.clone(), ctx.clock.now(), actor.clone());
    ctx.db
        .run(move |c| {
            use crate::storage::schema::users;
            diesel::update(users::table.find(&uid))
                .set((
                    users::given_name.eq(given),
                    users::family_name.eq(family),
                    users::updated_at.eq(now),
                ))
                .execute(c)?;
            audit::record(
                c,
                now,
                audit::Event {
                    kind: audit::Kind::ProfileUpdated,
                    user_id: Some(&uid),
                    client_id: None,
                    detail: serde_json::json!({}),
                    actor: Some(&a),
                },
            )
        })
        .await?;
    Ok(Ok(()))
}

fn totp_add_key(session: &Session) -> String {
    format!("totp_add:{}", session.id)
}

/// Adding an authenticator app from the console: a secret kept for this session until the
/// first code confirms it; refused when the limit is reached.
pub async fn totp_add_secret(
    ctx: &Ctx,
    current: &SteppedUp,
) -> anyhow::Result<Result<zeroize::Zeroizing<Vec<u8>>, TotpAddRefusal>> {
    let uid = current.user_id.clone();
    let apps = ctx
        .db
        .run(move |c| Ok(crate::mfa::methods::enrolled(c, &uid)?.totp.len()))
        .await?;
    if apps as u32 >= ctx.settings.security.max_authenticator_apps {
        return Ok(Err(TotpAddRefusal::TooMany));
    }
    if let Some(existing) = crate::storage::store::get_json::<zeroize::Zeroizing<Vec<u8>>>(
        &*ctx.store,
        &totp_add_key(current),
    )
    .await?
    {
        return Ok(Ok(existing));
    }
    let secret = crate::mfa::totp::new_secret();
    crate::storage::store::put_json(
        &*ctx.store,
        &totp_add_key(current),
        &secret,
        std::time::Duration::from_secs(900),
    )
    .await?;
    Ok(Ok(secret))
}

#[derive(Debug, PartialEq, Eq)]
pub enum TotpAddRefusal {
    TooMany,
}

/// Confirms the new app with its first code, stores it, and tells the person by email.
pub async fn totp_add_confirm(
    ctx: &Ctx,
    current: &SteppedUp,
    code: &str,
    actor: &Actor,
) -> anyhow::Result<crate::mfa::challenge::CodeOutcome> {
    use crate::mfa::challenge::CodeOutcome;
    let Some(secret) = crate::storage::store::get_json::<zeroize::Zeroizing<Vec<u8>>>(
        &*ctx.store,
        &totp_add_key(current),
    )
    .await?
    else {
        return Ok(CodeOutcome::NoCodeSent);
    };
    let (outcome, step) = crate::mfa::challenge::verify_new_totp(
        ctx,
        &current.user_id,
        &current.email,
        &secret,
        code,
    )
    .await?;
    let Some(step) = step.filter(|_| outcome == CodeOutcome::Accepted) else {
        return Ok(outcome);
    };
    ctx.store.delete(&totp_add_key(current)).await?;
    let (master, now, uid, a) = (
        ctx.master.clone(),
        ctx.clock.now(),
        current.user_id.clone(),
        actor.clone(),
    );
    let max = ctx.settings.security.max_authenticator_apps;
    let ssf = ctx.settings.ssf.clone();
    let added = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let added = crate::mfa::methods::add_totp(
                    c,
                    &master,
                    now,
                    &uid,
                    "Authenticator app",
                    &secret,
                    step,
                    max,
                )?;
                if added.is_some() {
                    audit::record(
                        c,
                        now,
                        audit::Event {
                            kind: audit::Kind::MfaTotpAdded,
                            user_id: Some(&uid),
                            client_id: None,
                            detail: serde_json::json!({}),
                            actor: Some(&a),
                        },
                    )?;
                    signals::second_factor(
                        c,
                        &ssf,
                        now,
                        &uid,
                        signals::By::Person,
                        signals::FactorChange {
                            credential: signals::Credential::App,
                            change: signals::ChangeType::Create,
                            aaguid: None,
                        },
                    )?;
                }
                anyhow::Ok(added.is_some())
            })
        })
        .await?;
    if !added {
        // Another request added the last app allowed meanwhile: nothing to confirm any more.
        return Ok(CodeOutcome::NoCodeSent);
    }
    notify_methods_changed(ctx, current, AppChange::Added).await?;
    Ok(CodeOutcome::Accepted)
}

#[derive(Debug, PartialEq, Eq)]
pub enum RemoveApp {
    Removed,
    LastMethod,
    Unknown,
}

/// Removes an authenticator app; never the last second factor.
pub async fn totp_remove(
    ctx: &Ctx,
    current: &SteppedUp,
    id: &str,
    actor: &Actor,
) -> anyhow::Result<RemoveApp> {
    let (uid, tid, now, a) = (
        current.user_id.clone(),
        id.to_string(),
        ctx.clock.now(),
        actor.clone(),
    );
    let ssf = ctx.settings.ssf.clone();
    let outcome = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                use crate::storage::schema::totp_credentials;
                crate::mfa::webauthn::hold_factors(c, &uid)?;
                let enrolled = crate::mfa::methods::enrolled(c, &uid)?;
                if !enrolled.totp.iter().any(|t| t.id == tid) {
                    return Ok(RemoveApp::Unknown);
                }
                if enrolled.count() <= 1 {
                    return Ok(RemoveApp::LastMethod);
                }
                diesel::delete(
                    totp_credentials::table
                        .find(&tid)
                        .filter(totp_credentials::user_id.eq(&uid)),
                )
                .execute(c)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::MfaTotpRemoved,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({}),
                        actor: Some(&a),
                    },
                )?;
                signals::second_factor(
                    c,
                    &ssf,
                    now,
                    &uid,
                    signals::By::Person,
                    signals::FactorChange {
                        credential: signals::Credential::App,
                        change: signals::ChangeType::Delete,
                        aaguid: None,
                    },
                )?;
                Ok(RemoveApp::Removed)
            })
        })
        .await?;
    if outcome == RemoveApp::Removed {
        notify_methods_changed(ctx, current, AppChange::Removed).await?;
    }
    Ok(outcome)
}

async fn notify_methods_changed(
    ctx: &Ctx,
    current: &Session,
    change: AppChange,
) -> anyhow::Result<()> {
    let notice = Notice::AuthenticatorApp {
        change,
        at: ctx.clock.now(),
        not_me_link: crate::accounts::login::not_me_link(ctx, &current.user_id, &current.email)
            .await?,
    };
    notices::tell_account(ctx, &current.user_id, None, Texts::None, &notice).await
}

/// "This wasn't me" on an activity entry: sign out everywhere (this browser too) and email a
/// password-reset link.
pub async fn disown_activity(ctx: &Ctx, current: &Session, actor: &Actor) -> anyhow::Result<()> {
    let (uid, now, a) = (current.user_id.clone(), ctx.clock.now(), actor.clone());
    let settings = ctx.settings.clone();
    let user = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let ended = sessions::end_all_for_user(c, now, &uid)?;
                crate::ssf::events::sessions_ended(c, &settings.ssf, now, &uid, ended)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::NotMeFromActivity,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({ "sessions": ended }),
                        actor: Some(&a),
                    },
                )?;
                crate::accounts::users::by_id(c, &uid)
            })
        })
        .await?;
    if let Some(user) = user {
        crate::accounts::reset::send_link(ctx, &user).await?;
    }
    Ok(())
}

/// Regenerates the backup codes (voiding the old set) and keeps the new ones for this session
/// for ten minutes, to be shown once and downloaded.
pub async fn regenerate_backup_codes(ctx: &Ctx, current: &SteppedUp) -> anyhow::Result<()> {
    let codes = crate::mfa::challenge::regenerate_backup_codes(ctx, &current.user_id).await?;
    crate::storage::store::put_json(
        &*ctx.store,
        &shown_codes_key(&current.id),
        &codes,
        std::time::Duration::from_secs(600),
    )
    .await
}

fn shown_codes_key(session_id: &str) -> String {
    format!("backup_shown:{session_id}")
}

/// The codes [`regenerate_backup_codes`] made for this session, while they may be shown.
pub async fn shown_backup_codes(
    ctx: &Ctx,
    current: &Session,
) -> anyhow::Result<Option<Vec<String>>> {
    crate::storage::store::get_json(&*ctx.store, &shown_codes_key(&current.id)).await
}

/// Everything the overview page shows.
pub struct Overview {
    pub name: Option<String>,
    pub emails: Vec<crate::accounts::emails::EmailView>,
    pub sessions: Vec<SessionView>,
    pub apps: Vec<AppView>,
    pub phones: Vec<PhoneView>,
    pub authenticator_apps: Vec<TotpView>,
    /// Security keys and passkeys.
    pub keys: Vec<KeyView>,
    pub backup_codes_left: i64,
    /// A set of backup codes was ever made (even if every code is used).
    pub backup_codes_made: bool,
    /// Second-factor methods: each phone, each app, and backup codes while any are left.
    pub methods: usize,
    pub events: Vec<activity::Entry>,
}

impl Overview {
    /// A method can be removed only while another remains (the flows refuse the last one).
    pub fn can_remove_a_method(&self) -> bool {
        self.methods > 1
    }

    /// Only one way (or none) to confirm it's you: losing it locks the person out.
    pub fn needs_another_method(&self) -> bool {
        self.methods <= 1
    }
}

pub struct PhoneView {
    pub id: String,
    pub masked: String,
    pub voice: bool,
    pub is_default: bool,
    /// Added or replaced by a phone change within `sim_swap_cooldown_hours` (a phone enrolled
    /// at sign-up isn't a change).
    pub recently_changed: bool,
}

pub struct KeyView {
    pub id: String,
    pub name: String,
    pub passkey: bool,
    pub added: chrono::NaiveDateTime,
    pub last_used: Option<chrono::NaiveDateTime>,
}

pub struct TotpView {
    pub id: String,
    pub added: chrono::NaiveDateTime,
}

/// Recent activity shown on the overview.
const OVERVIEW_EVENTS: usize = 10;

pub async fn overview(ctx: &Ctx, current: &Session) -> anyhow::Result<Overview> {
    let uid = current.user_id.clone();
    let (now, cooldown) = (
        ctx.clock.now(),
        ctx.settings.security.sim_swap_cooldown_hours,
    );
    let since = now - chrono::Duration::hours(cooldown as i64);
    let (enrolled, backup_status, changes, events, emails, user) = ctx
        .db
        .run(move |c| {
            use crate::storage::schema::audit_events;
            // When each phone change happened: a phone whose `changed_at` is one of these
            // came from a change, not from enrolment.
            let changes: Vec<chrono::NaiveDateTime> = audit_events::table
                .filter(audit_events::user_id.eq(&uid))
                .filter(audit_events::kind.eq_any(["phone_added", "phone_changed"]))
                .filter(audit_events::created_at.ge(since))
                .select(audit_events::created_at)
                .load(c)?;
            Ok((
                crate::mfa::methods::enrolled(c, &uid)?,
                crate::mfa::methods::backup_code_status(c, &uid)?,
                changes,
                activity::page(c, &uid, None, OVERVIEW_EVENTS)?.0,
                crate::accounts::emails::list(c, &uid)?,
                crate::accounts::users::by_id(c, &uid)?,
            ))
        })
        .await?;
    let methods = enrolled.count();
    Ok(Overview {
        name: user.and_then(|u| u.display_name()),
        emails,
        sessions: sessions(ctx, current).await?,
        apps: connected_apps(ctx, &current.user_id).await?,
        phones: enrolled
            .phones
            .iter()
            .map(|p| PhoneView {
                id: p.id.clone(),
                masked: p.masked.clone(),
                voice: p.channel == "voice",
                is_default: p.is_default,
                recently_changed: p.recently_changed(now, cooldown)
                    && p.changed_at.is_some_and(|at| changes.contains(&at)),
            })
            .collect(),
        authenticator_apps: enrolled
            .totp
            .iter()
            .map(|t| TotpView {
                id: t.id.clone(),
                added: t.created_at,
            })
            .collect(),
        keys: enrolled
            .keys
            .iter()
            .map(|k| KeyView {
                id: k.id.clone(),
                name: k.name.clone(),
                passkey: k.kind() == crate::mfa::webauthn::KeyKind::Passkey,
                added: k.created_at,
                last_used: k.last_used_at,
            })
            .collect(),
        backup_codes_left: enrolled.backup_codes_left,
        backup_codes_made: backup_status.0 > 0,
        methods,
        events,
    })
}

/// One page of the person's activity, newest first, after `before` (timestamp, event id);
/// and whether there is more.
pub async fn activity(
    ctx: &Ctx,
    current: &Session,
    before: Option<(chrono::NaiveDateTime, String)>,
    page: usize,
) -> anyhow::Result<(Vec<activity::Entry>, bool)> {
    let uid = current.user_id.clone();
    ctx.db
        .run(move |c| activity::page(c, &uid, before, page))
        .await
}

/// The time zone to show this person's times in: the one their browser reports (remembered
/// on the account when it differs), else the one remembered, else the site's default.
pub async fn time_zone(
    ctx: &Ctx,
    user_id: Option<&str>,
    reported: Option<chrono_tz::Tz>,
) -> anyhow::Result<chrono_tz::Tz> {
    use crate::storage::schema::users;
    let default = crate::local_time::site_default(&ctx.settings);
    let Some(uid) = user_id.map(str::to_string) else {
        return Ok(reported.unwrap_or(default));
    };
    let remembered = ctx
        .db
        .run(move |c| {
            let stored: Option<String> = users::table
                .find(&uid)
                .select(users::time_zone)
                .first::<Option<String>>(c)
                .optional()?
                .flatten();
            // Written only when it changes: most page views only read.
            if let Some(zone) = reported.filter(|z| stored.as_deref() != Some(z.name())) {
                diesel::update(users::table.find(&uid))
                    .set(users::time_zone.eq(zone.name()))
                    .execute(c)?;
            }
            Ok(stored)
        })
        .await?;
    Ok(reported
        .or_else(|| {
            remembered
                .as_deref()
                .and_then(crate::local_time::parse_zone)
        })
        .unwrap_or(default))
}

/// The person's own record (for the profile page); None if it is gone.
pub async fn profile(
    ctx: &Ctx,
    current: &Session,
) -> anyhow::Result<Option<crate::accounts::users::User>> {
    let uid = current.user_id.clone();
    ctx.db
        .run(move |c| crate::accounts::users::by_id(c, &uid))
        .await
}
