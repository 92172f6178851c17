//! The sign-in state machine after the password: a second factor, or enrolling a first one.
//!
//! State: [`LoginFlow`] in the store under `login:{id}` for `authorization_request_ttl_secs`;
//! the id travels in the `verity_login` cookie and the flow is bound to the browser id. Who may
//! advance it: only that browser, and only through the stage it is in. Completing it creates
//! the browser session and consumes the flow.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::accounts::email_tokens;
use crate::accounts::sessions::{
    self, NewSession, ACR_AAL1, ACR_AAL2, ACR_AAL2_PHISHING_RESISTANT, AMR_MFA, AMR_PASSWORD,
};
use crate::audit::{self, Actor};
use crate::crypto;
use crate::mfa::methods::{self, Enrolled, PhoneChannel};
use crate::mfa::webauthn::AMR_USER_VERIFIED;
use crate::notify::notices::{self, NewSignInReason, Notice, Texts};
use crate::storage::store::{get_json, put_json};
use crate::Ctx;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum LoginStage {
    /// Password accepted; a second factor is due.
    SecondFactor,
    /// Password accepted and nothing enrolled yet: set up a method before going on.
    Enrol,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingPhone {
    pub e164: String,
    pub channel: PhoneChannel,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginFlow {
    pub user_id: String,
    pub email: String,
    pub browser_id: String,
    /// The relying party's pending authorization request, or "".
    pub authz: String,
    pub stage: LoginStage,
    /// A TOTP secret shown for enrolment, until confirmed.
    pub pending_totp: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// A phone number being enrolled, until its code is entered.
    pub pending_phone: Option<PendingPhone>,
    /// Backup codes generated during enrolment, kept only until the person continues.
    pub backup_codes_shown: Option<Vec<String>>,
    /// Set when this flow is a password reset: the second factor leads to choosing a new
    /// password instead of a session.
    #[serde(default)]
    pub reset_token: Option<String>,
    /// The reset's second factor has been passed (or the account has none).
    #[serde(default)]
    pub reset_ready: bool,
    /// Where to go once signed in (a path the web layer checked): the page that asked for a
    /// sign-in, or the change a step-up is for.
    #[serde(default)]
    pub return_to: Option<String>,
    /// The phone a step-up's change is about (replacing it): derived on the server from
    /// `return_to`, never taken from a form. See `accounts::step_up::step_up_methods`.
    #[serde(default)]
    pub exclude_phone: Option<String>,
    /// A step-up for a sensitive change: phones in their SIM-swap cooldown don't count.
    #[serde(default)]
    pub step_up: bool,
    /// The person said "I don't have my phone": after signing in another way, the console
    /// leads straight to replacing it.
    #[serde(default)]
    pub lost_phone: bool,
    /// The relying party asked for a phishing-resistant sign-in: only a security key or
    /// passkey may be the second factor.
    #[serde(default)]
    pub phishing_resistant: bool,
}

fn flow_key(id: &str) -> String {
    format!("login:{id}")
}

fn ttl(ctx: &Ctx) -> Duration {
    Duration::from_secs(ctx.settings.security.authorization_request_ttl_secs)
}

pub async fn load(ctx: &Ctx, id: &str, browser_id: &str) -> anyhow::Result<Option<LoginFlow>> {
    if id.is_empty() || id.len() > 100 {
        return Ok(None);
    }
    let flow: Option<LoginFlow> = get_json(&*ctx.store, &flow_key(id)).await?;
    Ok(flow.filter(|f| crypto::ct_eq(f.browser_id.as_bytes(), browser_id.as_bytes())))
}

pub async fn save(ctx: &Ctx, id: &str, flow: &LoginFlow) -> anyhow::Result<()> {
    put_json(&*ctx.store, &flow_key(id), flow, ttl(ctx)).await
}

pub async fn enrolled(ctx: &Ctx, user_id: &str) -> anyhow::Result<Enrolled> {
    let uid = user_id.to_string();
    ctx.db.run(move |c| methods::enrolled(c, &uid)).await
}

/// What happens after the password was accepted.
pub enum AfterPassword {
    /// A valid "remember this browser" cookie stood in for the second factor (AAL1 only).
    SignedIn(NewSession),
    /// Go to the second-factor page (`flow_id` goes in the login cookie).
    SecondFactor { flow_id: String },
    /// Go to enrolment.
    Enrol { flow_id: String },
}

pub async fn after_password(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    browser_id: &str,
    authz: &str,
    remembered: bool,
    actor: &Actor,
) -> anyhow::Result<AfterPassword> {
    after_password_returning(
        ctx, user_id, email, browser_id, authz, remembered, None, actor,
    )
    .await
}

/// [`after_password`], coming back to `return_to` (a checked local path) once signed in.
#[allow(clippy::too_many_arguments)]
pub async fn after_password_returning(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    browser_id: &str,
    authz: &str,
    remembered: bool,
    return_to: Option<String>,
    actor: &Actor,
) -> anyhow::Result<AfterPassword> {
    let methods = enrolled(ctx, user_id).await?;
    let pending = if authz.is_empty() {
        None
    } else {
        crate::oauth::authorize::load_pending(ctx, authz, browser_id).await?
    };
    let needs_aal2 = pending.as_ref().is_some_and(|p| p.requires_aal2);
    let phishing_resistant = pending
        .as_ref()
        .is_some_and(|p| p.phishing_resistant.is_some());
    if methods.any() && remembered && !needs_aal2 {
        let session = complete_session(
            ctx,
            user_id,
            email,
            browser_id,
            &[AMR_PASSWORD],
            ACR_AAL1,
            actor,
        )
        .await?;
        return Ok(AfterPassword::SignedIn(session));
    }
    let flow = LoginFlow {
        user_id: user_id.to_string(),
        email: email.to_string(),
        browser_id: browser_id.to_string(),
        authz: authz.to_string(),
        stage: if methods.any() {
            LoginStage::SecondFactor
        } else {
            LoginStage::Enrol
        },
        pending_totp: None,
        pending_phone: None,
        backup_codes_shown: None,
        reset_token: None,
        reset_ready: false,
        return_to,
        exclude_phone: None,
        step_up: false,
        lost_phone: false,
        phishing_resistant,
    };
    let flow_id = crypto::random_token(24);
    save(ctx, &flow_id, &flow).await?;
    Ok(if methods.any() {
        AfterPassword::SecondFactor { flow_id }
    } else {
        AfterPassword::Enrol { flow_id }
    })
}

/// How the second factor of a sign-in was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// A code, or a method just enrolled (registering a key proves nothing a phisher couldn't
    /// do with the password alone: it is their key then).
    Ordinary,
    /// A security key or passkey answered a challenge bound to this site: phishing-resistant.
    KeyAssertion,
}

/// The final step: consumes the flow and creates the session at the level reached.
pub async fn finish(
    ctx: &Ctx,
    flow_id: &str,
    flow: &LoginFlow,
    method_amr: &[&str],
    how: SecondFactor,
    actor: &Actor,
) -> anyhow::Result<NewSession> {
    ctx.store.delete(&flow_key(flow_id)).await?;
    let mut amr = vec![AMR_PASSWORD];
    amr.extend_from_slice(method_amr);
    amr.push(AMR_MFA);
    let session = complete_session(
        ctx,
        &flow.user_id,
        &flow.email,
        &flow.browser_id,
        &amr,
        match how {
            SecondFactor::KeyAssertion => ACR_AAL2_PHISHING_RESISTANT,
            SecondFactor::Ordinary => ACR_AAL2,
        },
        actor,
    )
    .await?;
    // What the password unlocked of the verified data moves to the session.
    crate::proofing::vault::carry_to_session(ctx, flow_id, &session.id, &session.token).await?;
    Ok(session)
}

/// A passkey sign-in (no password): the passkey with user verification is two factors in
/// one, phishing-resistant. `key_amr` is `hwk` or `swk`.
pub async fn sign_in_with_passkey(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    browser_id: &str,
    key_amr: &str,
    actor: &Actor,
) -> anyhow::Result<NewSession> {
    complete_session(
        ctx,
        user_id,
        email,
        browser_id,
        &[key_amr, AMR_USER_VERIFIED, AMR_MFA],
        ACR_AAL2_PHISHING_RESISTANT,
        actor,
    )
    .await
}

async fn complete_session(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    device_id: &str,
    amr: &[&str],
    acr: &str,
    actor: &Actor,
) -> anyhow::Result<NewSession> {
    let now = ctx.clock.now();
    let (uid, device, a) = (user_id.to_string(), device_id.to_string(), actor.clone());
    let amr_owned: Vec<String> = amr.iter().map(|s| s.to_string()).collect();
    let acr_owned = acr.to_string();
    let sec = &ctx.settings.security;
    let network = crate::accounts::networks::network_of(
        &actor.ip,
        sec.new_network_ipv4_prefix,
        sec.new_network_ipv6_prefix,
    );
    let window = chrono::Duration::days(sec.new_network_days as i64);
    let (session, alert, reset_cancelled) = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                // The very first sign-in after sign-up is not a "new device".
                let had_session = sessions::has_any_session(c, &uid)?;
                let new_device = had_session && !sessions::device_known(c, &uid, &device)?;
                let network_seen = match &network {
                    Some(n) => crate::accounts::networks::record(c, now, &uid, n, window)?,
                    None => crate::accounts::networks::Seen::Recently,
                };
                let new_network = had_session && network_seen == crate::accounts::networks::Seen::NotRecently;
                let amr_refs: Vec<&str> = amr_owned.iter().map(String::as_str).collect();
                let s = sessions::create(c, now, &uid, &a, &device, &amr_refs, &acr_owned)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::SignedIn,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({ "session": s.id, "amr": amr_owned, "acr": acr_owned, "new_device": new_device }),
                        actor: Some(&a),
                    },
                )?;
                // Whoever can sign in normally owns the account: a waiting account reset is void.
                let reset_cancelled = crate::recovery::account_reset::cancel_on_sign_in(c, now, &uid, &a)?;
                let alert = if new_device {
                    Some(NewSignInReason::NewDevice)
                } else if new_network {
                    Some(NewSignInReason::NewNetwork)
                } else {
                    None
                };
                Ok((s, alert, reset_cancelled))
            })
        })
        .await?;
    if let Some(reason) = alert {
        new_sign_in_alert(ctx, user_id, email, actor, reason).await?;
    }
    if reset_cancelled {
        crate::recovery::account_reset::announce_cancellation(ctx, user_id).await?;
    }
    Ok(session)
}

/// A "this wasn't me" link for the account (7 days, single use).
pub async fn not_me_link(ctx: &Ctx, user_id: &str, email: &str) -> anyhow::Result<String> {
    let (uid, mail, now) = (user_id.to_string(), email.to_string(), ctx.clock.now());
    let token = ctx
        .db
        .run(move |c| email_tokens::issue(c, now, not_me_ttl(), &uid, &mail, NOT_ME_PURPOSE))
        .await?;
    Ok(format!("{}/not-me?token={}", ctx.settings.issuer, token))
}

/// "This wasn't me" links stay valid for a week: alerts are often read late.
fn not_me_ttl() -> chrono::Duration {
    chrono::Duration::days(7)
}

/// E-mail (every confirmed address) and a text to the default phone about a sign-in from a
/// new device or a new network, with a "this wasn't me" link. An alert that can't go out must
/// not block the person signing in: sending is best effort.
async fn new_sign_in_alert(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    actor: &Actor,
    reason: NewSignInReason,
) -> anyhow::Result<()> {
    let notice = Notice::NewSignIn {
        reason,
        at: ctx.clock.now(),
        browser: actor.user_agent.clone(),
        ip: actor.ip.clone(),
        not_me_link: not_me_link(ctx, user_id, email).await?,
    };
    notices::tell_account(ctx, user_id, Some(email), Texts::DefaultPhone, &notice).await
}

pub const NOT_ME_PURPOSE: &str = "not_me";

/// "This wasn't me": ends every session of the account the link was sent for and starts a
/// password reset (a link by email). Returns whether the link was valid.
pub async fn not_me(ctx: &Ctx, token: &str, actor: &Actor) -> anyhow::Result<bool> {
    let (token, now, a) = (token.to_string(), ctx.clock.now(), actor.clone());
    let settings = ctx.settings.clone();
    let user = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let Some((user_id, _)) = email_tokens::claim(c, now, &token, NOT_ME_PURPOSE)?
                else {
                    return Ok(None);
                };
                let ended = crate::accounts::sessions::end_all_for_user(c, now, &user_id)?;
                crate::ssf::events::sessions_ended(c, &settings.ssf, now, &user_id, ended)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::NotMeSessionsEnded,
                        user_id: Some(&user_id),
                        client_id: None,
                        detail: serde_json::json!({ "sessions": ended }),
                        actor: Some(&a),
                    },
                )?;
                crate::accounts::users::by_id(c, &user_id)
            })
        })
        .await?;
    match user {
        Some(user) => {
            crate::accounts::reset::send_link(ctx, &user).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// "Remember this browser": a cookie signed with a master-derived key, bound to the user and
/// the browser id, valid `remember_browser_days`. It never satisfies an AAL2 request.
pub fn remember_cookie_value(ctx: &Ctx, user_id: &str, device_id: &str) -> String {
    let exp = ctx.clock.unix_now() + ctx.settings.security.remember_browser_days as i64 * 86400;
    let payload = format!("{user_id}|{device_id}|{exp}");
    let tag = crypto::mac(&ctx.master.derive("verity/remember/v1"), payload.as_bytes());
    format!("{}.{}", crypto::b64url(payload.as_bytes()), tag)
}

pub fn remember_cookie_valid(ctx: &Ctx, value: &str, user_id: &str, device_id: &str) -> bool {
    let Some((payload_b64, tag)) = value.split_once('.') else {
        return false;
    };
    let Some(payload) = crypto::b64url_decode(payload_b64) else {
        return false;
    };
    if !crypto::mac_verify(&ctx.master.derive("verity/remember/v1"), &payload, tag) {
        return false;
    }
    let Ok(text) = String::from_utf8(payload) else {
        return false;
    };
    let mut parts = text.split('|');
    match (
        parts.next(),
        parts.next(),
        parts.next().and_then(|e| e.parse::<i64>().ok()),
    ) {
        (Some(u), Some(d), Some(exp)) => {
            u == user_id && d == device_id && exp > ctx.clock.unix_now()
        }
        _ => false,
    }
}

/// Step-up (reauthentication) for a sensitive change: after the password, a second-factor
/// flow that returns to `return_to` (a path the web layer checked). "Remember this browser"
/// never stands in here. Which phone must not count is derived here, from what the step-up is
/// for: the phone a phone change at `return_to` would replace.
pub async fn start_step_up(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    browser_id: &str,
    return_to: &str,
) -> anyhow::Result<String> {
    let exclude_phone = phone_targeted_by(return_to);
    let flow = LoginFlow {
        user_id: user_id.to_string(),
        email: email.to_string(),
        browser_id: browser_id.to_string(),
        authz: String::new(),
        stage: LoginStage::SecondFactor,
        pending_totp: None,
        pending_phone: None,
        backup_codes_shown: None,
        reset_token: None,
        reset_ready: false,
        return_to: Some(return_to.to_string()),
        exclude_phone,
        step_up: true,
        lost_phone: false,
        phishing_resistant: false,
    };
    let flow_id = crypto::random_token(24);
    save(ctx, &flow_id, &flow).await?;
    Ok(flow_id)
}

/// After "I don't have my phone" and a sign-in by another method: straight to replacing the
/// default phone, unless a relying party is waiting (its sign-in comes first; the console still
/// lists the phone to change).
pub async fn lost_phone_destination(ctx: &Ctx, flow: &LoginFlow) -> anyhow::Result<Option<String>> {
    if !flow.lost_phone || !flow.authz.is_empty() || flow.return_to.is_some() {
        return Ok(None);
    }
    let phones = enrolled(ctx, &flow.user_id).await?.phones;
    let phone = phones.iter().find(|p| p.is_default).or(phones.first());
    Ok(phone.map(|p| format!("/account/phones/start?phone={}", p.id)))
}

/// The phone a return path to "change this phone" is about.
fn phone_targeted_by(return_to: &str) -> Option<String> {
    let (path, query) = return_to.split_once('?')?;
    if path != "/account/phones/start" {
        return None;
    }
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "phone")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// The methods this flow may use: in a step-up, neither the phone being replaced nor a phone in
/// its SIM-swap cooldown counts unless nothing else is enrolled (`step_up::step_up_methods`);
/// in a password reset, a phone in its cooldown doesn't count at all (an email link plus a
/// possibly hijacked number is not two factors).
pub fn usable_methods(ctx: &Ctx, flow: &LoginFlow, mut enrolled: Enrolled) -> Enrolled {
    if flow.phishing_resistant {
        // The relying party asked for a key: codes of any kind don't count.
        enrolled.phones.clear();
        enrolled.totp.clear();
        enrolled.backup_codes_left = 0;
        return enrolled;
    }
    if flow.step_up || flow.exclude_phone.is_some() {
        enrolled =
            crate::accounts::step_up::step_up_methods(ctx, enrolled, flow.exclude_phone.as_deref());
    }
    if flow.reset_token.is_some() {
        let (now, hours) = (
            ctx.clock.now(),
            ctx.settings.security.sim_swap_cooldown_hours,
        );
        enrolled.phones.retain(|p| !p.recently_changed(now, hours));
    }
    enrolled
}

/// Where a code for this flow may be sent.
pub enum CodePhone {
    Usable(methods::PhoneRow),
    /// The person's phone, but in its SIM-swap cooldown and this flow is a password reset.
    CoolingDown,
    /// Not one of the person's phones, or not one this flow may use.
    Unknown,
}

pub async fn phone_for_code(
    ctx: &Ctx,
    flow: &LoginFlow,
    phone_id: &str,
) -> anyhow::Result<CodePhone> {
    let all = enrolled(ctx, &flow.user_id).await?;
    let known = all.phones.iter().any(|p| p.id == phone_id);
    let usable = usable_methods(ctx, flow, all);
    Ok(match usable.phones.into_iter().find(|p| p.id == phone_id) {
        Some(row) => CodePhone::Usable(row),
        None if known && flow.reset_token.is_some() => CodePhone::CoolingDown,
        None => CodePhone::Unknown,
    })
}

/// Phones a password reset may not use yet (SIM-swap cooldown): masked number and the time it
/// becomes usable.
pub fn phones_in_cooldown(
    ctx: &Ctx,
    flow: &LoginFlow,
    enrolled: &Enrolled,
) -> Vec<(String, chrono::NaiveDateTime)> {
    if flow.reset_token.is_none() {
        return Vec::new();
    }
    let (now, hours) = (
        ctx.clock.now(),
        ctx.settings.security.sim_swap_cooldown_hours,
    );
    enrolled
        .phones
        .iter()
        .filter(|p| p.recently_changed(now, hours))
        .map(|p| {
            let since = p.changed_at.unwrap_or(p.created_at);
            (
                p.masked.clone(),
                since + chrono::Duration::hours(hours as i64),
            )
        })
        .collect()
}

/// The purpose phone codes of this flow are stored under: a password reset's codes are kept
/// apart from sign-in codes so one can't be redeemed in the other.
pub fn code_purpose(flow: &LoginFlow) -> &'static str {
    if flow.reset_token.is_some() {
        "reset"
    } else {
        "signin"
    }
}
