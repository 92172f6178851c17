//! Changing, adding and removing a phone number: the centre of the product.
//!
//! State: [`PhoneChange`] in the store under `phonechange:{session id}` (30 minutes), so only
//! the browser session that started it can advance it. Stages run in order —
//! EnterNumber → CodeSent → Review — and each step checks it is in the stage it expects, so a
//! step can't be skipped or replayed. Every step takes a [`SteppedUp`] (see
//! `accounts::step_up`): a fresh full sign-in not confirmed by a phone in its SIM-swap cooldown,
//! and never by the phone being replaced or removed while another factor could confirm instead.
//! The commit is one transaction, so a crash leaves the old number intact. Notices go to the old number, every
//! confirmed email address and the new number.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::accounts::sessions::Session;
use crate::accounts::step_up::SteppedUp;
use crate::audit::{self, Actor};
use crate::mfa::challenge::{self, CodeOutcome, PhoneTarget, SendOutcome};
use crate::mfa::enrol::{add_phone, number_refusal, NumberRefusal};
use crate::mfa::methods::{self, PhoneChannel};
use crate::mfa::phone;
use crate::notify::notices::{self, Notice, Texts};
use crate::notify::Channel;
use crate::ssf::signals;
use crate::storage::store::{get_json, put_json};
use crate::Ctx;

const PURPOSE: &str = "phonechange";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Stage {
    EnterNumber,
    CodeSent { e164: String, channel: PhoneChannel },
    Review { e164: String, channel: PhoneChannel },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhoneChange {
    pub user_id: String,
    /// The phone being replaced; None when adding one.
    pub replacing: Option<String>,
    pub replacing_masked: Option<String>,
    pub stage: Stage,
}

fn key(session: &Session) -> String {
    format!("phonechange:{}", session.id)
}

pub async fn current(ctx: &Ctx, session: &Session) -> anyhow::Result<Option<PhoneChange>> {
    let flow: Option<PhoneChange> = get_json(&*ctx.store, &key(session)).await?;
    Ok(flow.filter(|f| f.user_id == session.user_id))
}

async fn save(ctx: &Ctx, session: &Session, flow: &PhoneChange) -> anyhow::Result<()> {
    put_json(&*ctx.store, &key(session), flow, Duration::from_secs(1800)).await
}

#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    Started,
    /// This session was confirmed with the phone to be replaced, and another factor exists.
    NeedsOtherFactor,
    UnknownPhone,
}

pub async fn begin(
    ctx: &Ctx,
    session: &SteppedUp,
    replacing: Option<String>,
) -> anyhow::Result<Begin> {
    let uid = session.user_id.clone();
    let phones = ctx
        .db
        .run(move |c| Ok(methods::enrolled(c, &uid)?.phones))
        .await?;
    let replacing_masked = match &replacing {
        Some(id) => match phones.iter().find(|p| &p.id == id) {
            Some(_) if !session.may_touch_phone(ctx, id).await? => {
                return Ok(Begin::NeedsOtherFactor)
            }
            Some(p) => Some(p.masked.clone()),
            None => return Ok(Begin::UnknownPhone),
        },
        None => None,
    };
    let flow = PhoneChange {
        user_id: session.user_id.clone(),
        replacing,
        replacing_masked,
        stage: Stage::EnterNumber,
    };
    save(ctx, session, &flow).await?;
    Ok(Begin::Started)
}

#[derive(Debug, PartialEq, Eq)]
pub enum NumberStep {
    CodeSent,
    Refused(NumberRefusal),
    Send(SendOutcome),
    NoFlow,
}

pub async fn submit_number(
    ctx: &Ctx,
    session: &SteppedUp,
    raw: &str,
    channel: PhoneChannel,
) -> anyhow::Result<NumberStep> {
    let Some(mut flow) = current(ctx, session).await? else {
        return Ok(NumberStep::NoFlow);
    };
    let e164 = match phone::normalize(raw, &ctx.settings.default_phone_region) {
        Ok(n) => n,
        Err(e) => return Ok(NumberStep::Refused(NumberRefusal::Unusable(e))),
    };
    if let Some(refusal) =
        check_new_number(ctx, &session.user_id, &e164, flow.replacing.is_none()).await?
    {
        return Ok(NumberStep::Refused(refusal));
    }
    let target = PhoneTarget {
        e164: e164.clone(),
        masked: phone::mask(&e164),
        phone_id: None,
    };
    let sent = challenge::send_phone_code(ctx, &session.user_id, PURPOSE, target, channel).await?;
    if sent != SendOutcome::Sent {
        return Ok(NumberStep::Send(sent));
    }
    flow.stage = Stage::CodeSent { e164, channel };
    save(ctx, session, &flow).await?;
    Ok(NumberStep::CodeSent)
}

/// The rules for a new number, shared by self-service, support-assisted changes and
/// first-sign-in enrolment (`mfa::enrol::number_refusal`). Returns why it's refused.
pub async fn check_new_number(
    ctx: &Ctx,
    user_id: &str,
    e164: &str,
    adding: bool,
) -> anyhow::Result<Option<NumberRefusal>> {
    crate::mfa::enrol::check_number(ctx, user_id, e164, adding).await
}

/// "Send a new code" / "call me instead" for the number waiting for its code.
pub async fn resend(
    ctx: &Ctx,
    session: &SteppedUp,
    channel: PhoneChannel,
) -> anyhow::Result<Option<SendOutcome>> {
    let Some(mut flow) = current(ctx, session).await? else {
        return Ok(None);
    };
    let Stage::CodeSent { e164, .. } = flow.stage.clone() else {
        return Ok(None);
    };
    let target = PhoneTarget {
        e164: e164.clone(),
        masked: phone::mask(&e164),
        phone_id: None,
    };
    let sent = challenge::send_phone_code(ctx, &session.user_id, PURPOSE, target, channel).await?;
    if sent == SendOutcome::Sent {
        flow.stage = Stage::CodeSent { e164, channel };
        save(ctx, session, &flow).await?;
    }
    Ok(Some(sent))
}

/// "Wrong number? Change it" on the code step: back to the number form, the rest of the change
/// kept (which phone is replaced). The code already sent can no longer advance the change.
/// Returns the number that was waiting, so the form can show it again for correcting; None
/// when no code was waiting.
pub async fn change_number(ctx: &Ctx, session: &SteppedUp) -> anyhow::Result<Option<String>> {
    let Some(mut flow) = current(ctx, session).await? else {
        return Ok(None);
    };
    let Stage::CodeSent { e164, .. } = flow.stage.clone() else {
        return Ok(None);
    };
    flow.stage = Stage::EnterNumber;
    save(ctx, session, &flow).await?;
    Ok(Some(e164))
}

#[derive(Debug, PartialEq, Eq)]
pub enum CodeStep {
    Review,
    Problem(CodeOutcome),
    /// Not in the stage where a code is expected.
    OutOfOrder,
}

pub async fn submit_code(ctx: &Ctx, session: &SteppedUp, code: &str) -> anyhow::Result<CodeStep> {
    let Some(mut flow) = current(ctx, session).await? else {
        return Ok(CodeStep::OutOfOrder);
    };
    let Stage::CodeSent { e164, channel } = flow.stage.clone() else {
        return Ok(CodeStep::OutOfOrder);
    };
    let (outcome, used) =
        challenge::verify_phone_code(ctx, &session.user_id, &session.email, PURPOSE, code).await?;
    match used {
        // The code must have been sent to the very number under review.
        Some(c) if outcome == CodeOutcome::Accepted && c.target.e164 == e164 => {
            flow.stage = Stage::Review { e164, channel };
            save(ctx, session, &flow).await?;
            Ok(CodeStep::Review)
        }
        _ => Ok(CodeStep::Problem(outcome)),
    }
}

/// What the receipt page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub old_masked: Option<String>,
    pub new_masked: String,
    /// The new number in E.164 ("" when one was removed): shown in full only to the person
    /// who just typed it.
    pub new_number: String,
    /// When, for notices (UTC, written out).
    pub at: String,
    /// When, for the page (written in the person's zone).
    pub changed_at: chrono::NaiveDateTime,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Confirm {
    Done(Receipt),
    OutOfOrder,
    /// This session was confirmed with the phone being replaced, and another factor exists.
    NeedsOtherFactor,
}

pub async fn confirm(ctx: &Ctx, session: &SteppedUp, actor: &Actor) -> anyhow::Result<Confirm> {
    let Some(flow) = current(ctx, session).await? else {
        return Ok(Confirm::OutOfOrder);
    };
    let Stage::Review { e164, channel } = flow.stage.clone() else {
        return Ok(Confirm::OutOfOrder);
    };
    if let Some(replacing) = &flow.replacing {
        if !session.may_touch_phone(ctx, replacing).await? {
            return Ok(Confirm::NeedsOtherFactor);
        }
    }
    // Consume the flow first: a double submit can't apply the change twice.
    if ctx.store.take(&key(session)).await?.is_none() {
        return Ok(Confirm::OutOfOrder);
    }
    let receipt = commit(
        ctx,
        &session.user_id,
        &session.email,
        flow.replacing.clone(),
        &e164,
        channel,
        ChangedBy::Person(actor),
    )
    .await?;
    // None: the phone being replaced was removed meanwhile; nothing changed.
    Ok(receipt.map_or(Confirm::OutOfOrder, Confirm::Done))
}

/// Who changes a phone: the person in their browser, or a support agent (an admin client)
/// through the management API, with how the person's identity was checked.
pub enum ChangedBy<'a> {
    Person(&'a Actor),
    Agent {
        client_id: &'a str,
        identity_check: &'a str,
        note: &'a str,
    },
}

/// Applies a confirmed change (one transaction: replace or add, plus the audit event), then
/// sends the notices: SMS to the old number, email to every confirmed address with a "this
/// wasn't me" link, SMS to the new number. None when the phone being replaced is no longer
/// there or the number now breaks a rule (`mfa::enrol::number_refusal`): nothing is changed
/// and nobody is told.
pub async fn commit(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    replacing: Option<String>,
    e164: &str,
    channel: PhoneChannel,
    by: ChangedBy<'_>,
) -> anyhow::Result<Option<Receipt>> {
    let now = ctx.clock.now();
    let (master, sec, uid, number) = (
        ctx.master.clone(),
        ctx.settings.security.clone(),
        user_id.to_string(),
        e164.to_string(),
    );
    let ssf = ctx.settings.ssf.clone();
    let signal_by = match by {
        ChangedBy::Person(_) => signals::By::Person,
        ChangedBy::Agent { .. } => signals::By::Operator("phone number changed by support"),
    };
    let (actor, client_id, extra) = match by {
        ChangedBy::Person(a) => (Some(a.clone()), None, serde_json::json!({})),
        ChangedBy::Agent {
            client_id,
            identity_check,
            note,
        } => (
            None,
            Some(client_id.to_string()),
            serde_json::json!({ "support_assisted": true, "identity_check": identity_check, "note": note }),
        ),
    };
    let old_number = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                // The number rules hold at write time too (a race between two accounts).
                let old = match &replacing {
                    Some(id) => {
                        let row = methods::enrolled(c, &uid)?.phones.into_iter().find(|p| &p.id == id);
                        let Some(row) = row else { return Ok(Err(())) };
                        crate::mfa::enrol::hold_number_rules(c, &master, &uid, &number)?;
                        if number_refusal(c, &master, &sec, &uid, &number, false)?.is_some() {
                            return Ok(Err(()));
                        }
                        let old = methods::decrypt_phone(&master, &row)?;
                        methods::replace_phone(c, &master, now, id, &number, channel)?;
                        Some(old)
                    }
                    None => {
                        if add_phone(c, &master, &sec, now, &uid, &number, channel)?.is_err() {
                            return Ok(Err(()));
                        }
                        None
                    }
                };
                let mut detail = serde_json::json!({ "old": old.as_deref().map(phone::mask), "new": phone::mask(&number), "channel": channel.as_str() });
                if let (Some(d), Some(e)) = (detail.as_object_mut(), extra.as_object()) {
                    d.extend(e.clone());
                }
                let (kind, change) = if replacing.is_some() {
                    (audit::Kind::PhoneChanged, signals::ChangeType::Update)
                } else {
                    (audit::Kind::PhoneAdded, signals::ChangeType::Create)
                };
                signals::phone(c, &ssf, now, &uid, signal_by, channel, change)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind,
                        user_id: Some(&uid),
                        client_id: client_id.as_deref(),
                        detail,
                        actor: actor.as_ref(),
                    },
                )?;
                Ok(Ok(old))
            })
        })
        .await?;
    let Ok(old_number) = old_number else {
        return Ok(None);
    };
    let receipt = Receipt {
        old_masked: old_number.as_deref().map(phone::mask),
        new_masked: phone::mask(e164),
        new_number: e164.to_string(),
        at: now.format("%Y-%m-%d %H:%M UTC").to_string(),
        changed_at: now,
    };
    notify_change(ctx, user_id, email, old_number.as_deref(), Some(e164), now).await?;
    Ok(Some(receipt))
}

pub async fn cancel(ctx: &Ctx, session: &Session) -> anyhow::Result<()> {
    ctx.store.delete(&key(session)).await
}

#[derive(Debug, PartialEq, Eq)]
pub enum Remove {
    Removed(Receipt),
    /// The only second factor left: never removed.
    LastMethod,
    /// This session was confirmed with the phone to be removed, and another factor exists.
    NeedsOtherFactor,
    Unknown,
}

pub async fn remove(
    ctx: &Ctx,
    session: &SteppedUp,
    phone_id: &str,
    actor: &Actor,
) -> anyhow::Result<Remove> {
    if !session.may_touch_phone(ctx, phone_id).await? {
        return Ok(Remove::NeedsOtherFactor);
    }
    let (uid, pid, master, now, a) = (
        session.user_id.clone(),
        phone_id.to_string(),
        ctx.master.clone(),
        ctx.clock.now(),
        actor.clone(),
    );
    let ssf = ctx.settings.ssf.clone();
    let outcome = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                crate::mfa::webauthn::hold_factors(c, &uid)?;
                let enrolled = methods::enrolled(c, &uid)?;
                if !enrolled.phones.iter().any(|p| p.id == pid) {
                    return Ok(Err(Remove::Unknown));
                }
                if enrolled.count() <= 1 {
                    return Ok(Err(Remove::LastMethod));
                }
                let Some(row) = methods::remove_phone(c, &uid, &pid)? else {
                    return Ok(Err(Remove::Unknown));
                };
                let number = methods::decrypt_phone(&master, &row)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: audit::Kind::PhoneRemoved,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: serde_json::json!({ "phone": row.masked }),
                        actor: Some(&a),
                    },
                )?;
                signals::phone(
                    c,
                    &ssf,
                    now,
                    &uid,
                    signals::By::Person,
                    PhoneChannel::parse(&row.channel).unwrap_or(PhoneChannel::Sms),
                    signals::ChangeType::Delete,
                )?;
                Ok(Ok(number))
            })
        })
        .await?;
    match outcome {
        Ok(number) => {
            let receipt = Receipt {
                old_masked: Some(phone::mask(&number)),
                new_masked: String::new(),
                new_number: String::new(),
                at: now.format("%Y-%m-%d %H:%M UTC").to_string(),
                changed_at: now,
            };
            notify_change(
                ctx,
                &session.user_id,
                &session.email,
                Some(&number),
                None,
                now,
            )
            .await?;
            Ok(Remove::Removed(receipt))
        }
        Err(r) => Ok(r),
    }
}

/// SMS to the old number, email to every confirmed address (with "this wasn't me"), SMS to
/// the new number.
async fn notify_change(
    ctx: &Ctx,
    user_id: &str,
    email: &str,
    old: Option<&str>,
    new: Option<&str>,
    at: chrono::NaiveDateTime,
) -> anyhow::Result<()> {
    let link = crate::accounts::login::not_me_link(ctx, user_id, email).await?;
    let lang = notices::lang_of_account(ctx, user_id).await?;
    if let Some(o) = old {
        let notice = Notice::PhoneOldNumber {
            at,
            not_me_link: link.clone(),
        };
        notices::send_best_effort(ctx, Channel::Sms, o, lang, &notice).await;
    }
    let notice = Notice::PhonesChanged {
        old_masked: old.map(phone::mask),
        new_masked: new.map(phone::mask),
        at,
        not_me_link: link,
    };
    notices::tell_account(ctx, user_id, None, Texts::None, &notice).await?;
    if let Some(n) = new {
        notices::send_best_effort(ctx, Channel::Sms, n, lang, &Notice::PhoneNewNumber { at }).await;
    }
    Ok(())
}

/// A phone not confirmed or reviewed for `phone_review_days`, if any: sign-in asks about it.
pub async fn phone_due_for_review(ctx: &Ctx, user_id: &str) -> anyhow::Result<Option<String>> {
    let uid = user_id.to_string();
    let phones = ctx
        .db
        .run(move |c| Ok(methods::enrolled(c, &uid)?.phones))
        .await?;
    let cutoff =
        ctx.clock.now() - chrono::Duration::days(ctx.settings.security.phone_review_days as i64);
    Ok(phones
        .into_iter()
        .find(|p| p.reviewed_at.unwrap_or(p.confirmed_at).max(p.confirmed_at) < cutoff)
        .map(|p| p.id))
}

/// One of the person's phones, for the "is this still your number?" page.
pub async fn phone_for_review(
    ctx: &Ctx,
    session: &Session,
    phone_id: &str,
) -> anyhow::Result<Option<methods::PhoneRow>> {
    let (uid, pid) = (session.user_id.clone(), phone_id.to_string());
    Ok(ctx
        .db
        .run(move |c| Ok(methods::enrolled(c, &uid)?.phones))
        .await?
        .into_iter()
        .find(|p| p.id == pid))
}

/// "Yes, this is still my number."
pub async fn mark_reviewed(
    ctx: &Ctx,
    session: &Session,
    phone_id: &str,
    actor: &Actor,
) -> anyhow::Result<()> {
    let (uid, pid, now, a) = (
        session.user_id.clone(),
        phone_id.to_string(),
        ctx.clock.now(),
        actor.clone(),
    );
    ctx.db
        .run(move |c| {
            methods::mark_phone_reviewed(c, now, &uid, &pid)?;
            audit::record(
                c,
                now,
                audit::Event {
                    kind: audit::Kind::PhoneReviewed,
                    user_id: Some(&uid),
                    client_id: None,
                    detail: serde_json::json!({}),
                    actor: Some(&a),
                },
            )
        })
        .await
}
