//! Adding second factors.
//!
//! [`number_refusal`] holds the rules for a phone number that is about to be added or to replace
//! another: not already on the account, at most `max_phones_per_account` when adding, and on at
//! most `max_accounts_per_phone` other accounts. Both ways a phone is added (first-sign-in
//! enrolment here, the console and support in `accounts::phone_change`) check it when the number
//! is entered (before any code is sent) and again in the transaction that stores the number
//! ([`add_phone`]), so neither can skip it and a race can't pass it.
//!
//! The first-sign-in enrolment steps (phone, authenticator app, backup codes) live here too; the
//! state is the sign-in flow (`accounts::login::LoginFlow`).

use chrono::NaiveDateTime;

use crate::accounts::login::{self, LoginFlow, PendingPhone};
use crate::config::Security;
use crate::crypto::MasterKey;
use crate::i18n::Message;
use crate::mfa::challenge::{self, CodeOutcome, PhoneTarget, SendOutcome};
use crate::mfa::methods::{self, PhoneChannel, PhoneRow};
use crate::mfa::phone;
use crate::ssf::signals;
use crate::storage::db::DbConn;
use crate::Ctx;

const PURPOSE_ENROL: &str = "enrol";

/// Why a number can't go on this account. The web layer picks the words
/// ([`NumberRefusal::message`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberRefusal {
    /// Not a number we can send codes to (see [`phone::normalize`]).
    Unusable(phone::PhoneError),
    AlreadyOnAccount,
    /// Adding would go past `max_phones_per_account`.
    TooManyPhones {
        max: u32,
    },
    /// Already on `max_accounts_per_phone` other accounts.
    UsedByOtherAccounts,
}

impl NumberRefusal {
    /// What to tell the person who typed the number (a locale key with its variables).
    pub fn message(self) -> Message {
        match self {
            NumberRefusal::Unusable(e) => Message::new(e.key()),
            NumberRefusal::AlreadyOnAccount => Message::new("phone-already-on-account"),
            NumberRefusal::TooManyPhones { max } => {
                Message::new("phone-too-many-on-account").arg("count", max)
            }
            NumberRefusal::UsedByOtherAccounts => Message::new("phone-used-by-other-accounts"),
        }
    }
}

/// Why `e164` can't go on this account; None when it can.
pub fn number_refusal(
    c: &mut DbConn,
    master: &MasterKey,
    sec: &Security,
    user_id: &str,
    e164: &str,
    adding: bool,
) -> anyhow::Result<Option<NumberRefusal>> {
    let phones = methods::enrolled(c, user_id)?.phones;
    if phones
        .iter()
        .any(|p| methods::decrypt_phone(master, p).is_ok_and(|n| n == e164))
    {
        return Ok(Some(NumberRefusal::AlreadyOnAccount));
    }
    if adding && phones.len() as u32 >= sec.max_phones_per_account {
        return Ok(Some(NumberRefusal::TooManyPhones {
            max: sec.max_phones_per_account,
        }));
    }
    if methods::accounts_using_number(c, master, e164, user_id)?
        >= i64::from(sec.max_accounts_per_phone)
    {
        return Ok(Some(NumberRefusal::UsedByOtherAccounts));
    }
    Ok(None)
}

/// Inside a write transaction, before [`number_refusal`] decides: holds the account's phones
/// and the number itself until the transaction ends, so two concurrent additions (on any
/// node) can't both count one slot free. Always the account first, then the number.
pub fn hold_number_rules(
    c: &mut DbConn,
    master: &MasterKey,
    user_id: &str,
    e164: &str,
) -> anyhow::Result<()> {
    crate::storage::db::serialize_on(c, &format!("phones-of:{user_id}"))?;
    let fingerprint = methods::phone_fingerprint(master, e164);
    crate::storage::db::serialize_on(c, &format!("phone-number:{fingerprint}"))?;
    Ok(())
}

/// The one way a phone is added: the rules once more, then the row. Call inside a transaction.
pub fn add_phone(
    c: &mut DbConn,
    master: &MasterKey,
    sec: &Security,
    now: NaiveDateTime,
    user_id: &str,
    e164: &str,
    channel: PhoneChannel,
) -> anyhow::Result<Result<PhoneRow, NumberRefusal>> {
    hold_number_rules(c, master, user_id, e164)?;
    if let Some(why) = number_refusal(c, master, sec, user_id, e164, true)? {
        return Ok(Err(why));
    }
    Ok(Ok(methods::add_phone(
        c, master, now, user_id, e164, channel,
    )?))
}

/// [`number_refusal`] on its own, before a code is sent.
pub async fn check_number(
    ctx: &Ctx,
    user_id: &str,
    e164: &str,
    adding: bool,
) -> anyhow::Result<Option<NumberRefusal>> {
    let (uid, master, sec, number) = (
        user_id.to_string(),
        ctx.master.clone(),
        ctx.settings.security.clone(),
        e164.to_string(),
    );
    ctx.db
        .run(move |c| number_refusal(c, &master, &sec, &uid, &number, adding))
        .await
}

#[derive(Debug, PartialEq, Eq)]
pub enum PhoneStep {
    CodeSent,
    Refused(NumberRefusal),
    Send(SendOutcome),
}

async fn send_code(
    ctx: &Ctx,
    flow: &LoginFlow,
    pending: &PendingPhone,
) -> anyhow::Result<SendOutcome> {
    let target = PhoneTarget {
        e164: pending.e164.clone(),
        masked: phone::mask(&pending.e164),
        phone_id: None,
    };
    challenge::send_phone_code(ctx, &flow.user_id, PURPOSE_ENROL, target, pending.channel).await
}

/// The number typed at enrolment: checked against the rules, then a code is sent to it.
pub async fn submit_phone(
    ctx: &Ctx,
    flow_id: &str,
    flow: &mut LoginFlow,
    raw: &str,
    channel: PhoneChannel,
) -> anyhow::Result<PhoneStep> {
    let e164 = match phone::normalize(raw, &ctx.settings.default_phone_region) {
        Ok(n) => n,
        Err(e) => return Ok(PhoneStep::Refused(NumberRefusal::Unusable(e))),
    };
    if let Some(why) = check_number(ctx, &flow.user_id, &e164, true).await? {
        return Ok(PhoneStep::Refused(why));
    }
    let pending = PendingPhone { e164, channel };
    let outcome = send_code(ctx, flow, &pending).await?;
    if outcome != SendOutcome::Sent {
        return Ok(PhoneStep::Send(outcome));
    }
    flow.pending_phone = Some(pending);
    login::save(ctx, flow_id, flow).await?;
    Ok(PhoneStep::CodeSent)
}

/// "Send a new code" (optionally by another channel) for the number waiting for its code.
/// None when no number is waiting.
pub async fn resend_phone(
    ctx: &Ctx,
    flow_id: &str,
    flow: &mut LoginFlow,
    channel: Option<PhoneChannel>,
) -> anyhow::Result<Option<SendOutcome>> {
    let Some(mut pending) = flow.pending_phone.clone() else {
        return Ok(None);
    };
    pending.channel = channel.unwrap_or(pending.channel);
    let outcome = send_code(ctx, flow, &pending).await?;
    flow.pending_phone = Some(pending);
    login::save(ctx, flow_id, flow).await?;
    Ok(Some(outcome))
}

/// "Wrong number? Change it": forgets the number waiting for its code (its code can no longer
/// confirm anything here) and returns it, so the form can show it again for correcting.
pub async fn change_phone_number(
    ctx: &Ctx,
    flow_id: &str,
    flow: &mut LoginFlow,
) -> anyhow::Result<Option<String>> {
    let Some(pending) = flow.pending_phone.take() else {
        return Ok(None);
    };
    login::save(ctx, flow_id, flow).await?;
    Ok(Some(pending.e164))
}

#[derive(Debug, PartialEq, Eq)]
pub enum PhoneConfirmed {
    /// Stored; the channel's authentication-method reference for the session.
    Added {
        amr: &'static str,
        /// The new phone: it confirmed this session (the SIM-swap cooldown rule reads it).
        phone_id: String,
    },
    Problem(CodeOutcome),
    /// The number broke a rule meanwhile (say, another account took the last place).
    Refused(NumberRefusal),
    NothingPending,
}

pub async fn confirm_phone(
    ctx: &Ctx,
    flow: &LoginFlow,
    code: &str,
) -> anyhow::Result<PhoneConfirmed> {
    if flow.pending_phone.is_none() {
        return Ok(PhoneConfirmed::NothingPending);
    }
    let (outcome, used) =
        challenge::verify_phone_code(ctx, &flow.user_id, &flow.email, PURPOSE_ENROL, code).await?;
    let Some(used) = used.filter(|_| outcome == CodeOutcome::Accepted) else {
        return Ok(PhoneConfirmed::Problem(outcome));
    };
    let (master, sec, now, uid, e164, channel) = (
        ctx.master.clone(),
        ctx.settings.security.clone(),
        ctx.clock.now(),
        flow.user_id.clone(),
        used.target.e164.clone(),
        used.channel,
    );
    let ssf = ctx.settings.ssf.clone();
    let added = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let row = match add_phone(c, &master, &sec, now, &uid, &e164, channel)? {
                    Ok(row) => row,
                    Err(why) => return Ok(Err(why)),
                };
                crate::audit::record(
                    c,
                    now,
                    crate::audit::Event {
                        kind: crate::audit::Kind::MfaPhoneAdded,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({ "phone": row.masked, "channel": row.channel }),
                        actor: None,
                    },
                )?;
                signals::phone(
                    c,
                    &ssf,
                    now,
                    &uid,
                    signals::By::Person,
                    channel,
                    signals::ChangeType::Create,
                )?;
                Ok(Ok(row.id))
            })
        })
        .await?;
    Ok(match added {
        Ok(phone_id) => PhoneConfirmed::Added {
            amr: used.channel.amr(),
            phone_id,
        },
        Err(why) => PhoneConfirmed::Refused(why),
    })
}

/// The second method recommended right after the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondMethod {
    pub authenticator_app: bool,
    pub backup_codes: bool,
}

/// What to recommend adding while the account has only one kind of second factor: an
/// authenticator app unless it has one, backup codes unless it has some left. None once it has
/// two kinds (or none at all: enrolment comes first).
pub fn second_method_offer(sec: &Security, enrolled: &methods::Enrolled) -> Option<SecondMethod> {
    let kinds = usize::from(!enrolled.phones.is_empty())
        + usize::from(!enrolled.totp.is_empty())
        + usize::from(!enrolled.keys.is_empty())
        + usize::from(enrolled.backup_codes_left > 0);
    if kinds != 1 {
        return None;
    }
    let offer = SecondMethod {
        authenticator_app: enrolled.totp.is_empty() && sec.max_authenticator_apps > 0,
        backup_codes: enrolled.backup_codes_left == 0,
    };
    (offer.authenticator_app || offer.backup_codes).then_some(offer)
}

/// The secret shown for enrolling an authenticator app, made once per flow.
pub async fn totp_secret(
    ctx: &Ctx,
    flow_id: &str,
    flow: &mut LoginFlow,
) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    if let Some(s) = &flow.pending_totp {
        return Ok(s.clone());
    }
    let secret = crate::mfa::totp::new_secret();
    flow.pending_totp = Some(secret.clone());
    login::save(ctx, flow_id, flow).await?;
    Ok(secret)
}

#[derive(Debug, PartialEq, Eq)]
pub enum TotpConfirmed {
    Added,
    TooMany,
    Problem(CodeOutcome),
    NoSecret,
}

pub async fn confirm_totp(
    ctx: &Ctx,
    flow: &LoginFlow,
    code: &str,
) -> anyhow::Result<TotpConfirmed> {
    let Some(secret) = flow.pending_totp.clone() else {
        return Ok(TotpConfirmed::NoSecret);
    };
    let enrolled = login::enrolled(ctx, &flow.user_id).await?;
    if enrolled.totp.len() as u32 >= ctx.settings.security.max_authenticator_apps {
        return Ok(TotpConfirmed::TooMany);
    }
    let (outcome, step) =
        challenge::verify_new_totp(ctx, &flow.user_id, &flow.email, &secret, code).await?;
    let Some(step) = step.filter(|_| outcome == CodeOutcome::Accepted) else {
        return Ok(TotpConfirmed::Problem(outcome));
    };
    let (master, now, uid) = (ctx.master.clone(), ctx.clock.now(), flow.user_id.clone());
    let max = ctx.settings.security.max_authenticator_apps;
    let ssf = ctx.settings.ssf.clone();
    let added = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let added = methods::add_totp(
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
                    crate::audit::record(
                        c,
                        now,
                        crate::audit::Event {
                            kind: crate::audit::Kind::MfaTotpAdded,
                            user_id: Some(&uid),
                            client_id: None,
                            detail: serde_json::json!({}),
                            actor: None,
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
    Ok(if added {
        TotpConfirmed::Added
    } else {
        TotpConfirmed::TooMany
    })
}

/// Backup codes as the first method: generated, and kept in the flow until the person has
/// seen them and continues.
pub async fn generate_backup_codes(
    ctx: &Ctx,
    flow_id: &str,
    flow: &mut LoginFlow,
) -> anyhow::Result<()> {
    let codes = challenge::regenerate_backup_codes(ctx, &flow.user_id).await?;
    flow.backup_codes_shown = Some(codes);
    login::save(ctx, flow_id, flow).await
}
