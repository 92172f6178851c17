//! Support-assisted phone change: an agent changes a person's phone after checking who they
//! are. The same rules as self-service (`accounts::phone_change`): the number is normalised
//! and checked, a code goes to the new number (same send limits and lock), the agent relays
//! the code the person received, then the same commit, notices and audit event — which also
//! names the agent client, how identity was checked, and the agent's note.
//!
//! State: [`PendingChange`] in the store under `adminphonechange:{id}` for `otp_ttl_secs`
//! (the code's own lifetime); confirming takes it, so a change applies at most once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::phone_change::{self, ChangedBy};
use crate::admin::auth::Agent;
use crate::admin::{plausible_id, Outcome, Problem};
use crate::mfa::challenge::{self, CodeOutcome, PhoneTarget, SendOutcome};
use crate::mfa::methods::{self, PhoneChannel};
use crate::mfa::phone;
use crate::storage::store::{get_json, put_json};
use crate::Ctx;

/// The one-time-code purpose: separate from the person's own phone-change codes.
const PURPOSE: &str = "adminphonechange";

#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChannelChoice {
    Sms,
    Voice,
}

impl From<ChannelChoice> for PhoneChannel {
    fn from(c: ChannelChoice) -> PhoneChannel {
        match c {
            ChannelChoice::Sms => PhoneChannel::Sms,
            ChannelChoice::Voice => PhoneChannel::Voice,
        }
    }
}

/// Body of `POST /users/{id}/phone-changes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartPhoneChange {
    /// The new number as the person gave it (any usual notation, or E.164).
    #[schema(min_length = 1, max_length = 40, pattern = r"^[0-9 ()+./-]+$")]
    pub new_number: String,
    /// How the code reaches the new number.
    pub channel: ChannelChoice,
    /// How the person's identity was checked: one of the configured
    /// `support.identity_checks` (by default `knowledge_questions`, `document_video_call`,
    /// `in_person`).
    #[schema(min_length = 1, max_length = 64)]
    pub identity_check: String,
    /// The agent's note for the audit trail (ticket number, what was checked).
    #[schema(min_length = 1, max_length = 5000)]
    pub note: String,
    /// The phone being replaced (an id from `GET /users/{id}`); absent to add a number.
    #[schema(max_length = 64)]
    pub replace_phone_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPhoneChange {
    /// The code the person received on the new number, as they read it out.
    #[schema(min_length = 1, max_length = 32)]
    pub code: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PhoneChangeStarted {
    /// The pending change, for `/confirm`.
    pub id: String,
    /// `code_sent`.
    pub status: String,
    pub masked_new_number: String,
    /// When the code (and this pending change) expires.
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneChangeDone {
    pub id: String,
    /// `completed`.
    pub status: String,
    /// The replaced number, masked (null when a number was added).
    pub masked_old_number: Option<String>,
    pub masked_new_number: String,
    pub completed_at: DateTime<Utc>,
}

/// A support-assisted change waiting for its code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingChange {
    pub id: String,
    pub user_id: String,
    pub agent: String,
    pub replacing: Option<String>,
    pub e164: String,
    pub channel: PhoneChannel,
    pub identity_check: String,
    pub note: String,
    pub expires_at: i64,
}

fn key(id: &str) -> String {
    format!("adminphonechange:{id}")
}

fn send_problem(outcome: SendOutcome) -> Problem {
    match outcome {
        SendOutcome::Sent => Problem::Internal(anyhow::anyhow!("sent is not a problem")),
        SendOutcome::TooManySends { wait_secs } => Problem::TooMany {
            message: format!("Too many codes were sent to this person or number; try again in {wait_secs} seconds."),
            retry_after_secs: Some(wait_secs),
        },
        SendOutcome::Locked { secs } => locked(secs),
        SendOutcome::CouldNotSend => Problem::Unavailable(
            "The code could not be sent (the SMS/voice gateway failed); nothing was counted. Try again.".into(),
        ),
    }
}

fn locked(secs: i64) -> Problem {
    let secs = u64::try_from(secs).unwrap_or(1).max(1);
    Problem::TooMany {
        message: format!("Too many wrong codes: this person's second factor is locked for {secs} more seconds (an unlock lifts it)."),
        retry_after_secs: Some(secs),
    }
}

pub async fn start(
    ctx: &Ctx,
    agent: &Agent,
    user_id: &str,
    req: StartPhoneChange,
) -> Outcome<PhoneChangeStarted> {
    let support = &ctx.settings.support;
    let identity_check = req.identity_check.trim().to_string();
    if !support.identity_checks.contains(&identity_check) {
        return Err(Problem::invalid(
            "identity_check",
            format!(
                "identity_check must be one of: {}",
                support.identity_checks.join(", ")
            ),
        ));
    }
    let note = req.note.trim().to_string();
    if note.is_empty() || note.chars().count() > support.message_max_chars {
        return Err(Problem::invalid(
            "note",
            format!(
                "note must be 1 to {} characters: say what was checked",
                support.message_max_chars
            ),
        ));
    }
    if !plausible_id(user_id) {
        return Err(Problem::NotFound("user"));
    }
    let uid = user_id.to_string();
    let (user, phones) = ctx
        .db
        .run(move |c| {
            let user = crate::accounts::users::by_id(c, &uid)?;
            let phones = methods::enrolled(c, &uid)?.phones;
            Ok((user, phones))
        })
        .await?;
    let user = user.ok_or(Problem::NotFound("user"))?;
    if user.deleted_at.is_some() {
        return Err(Problem::conflict(None, "This account was deleted."));
    }
    let replacing = match req.replace_phone_id.as_deref().filter(|p| !p.is_empty()) {
        Some(pid) => {
            if !phones.iter().any(|p| p.id == pid) {
                return Err(Problem::invalid(
                    "replace_phone_id",
                    "replace_phone_id is not one of this account's phones",
                ));
            }
            Some(pid.to_string())
        }
        None => None,
    };
    let e164 = phone::normalize(&req.new_number, &ctx.settings.default_phone_region)
        .map_err(|e| Problem::invalid("new_number", e.message()))?;
    if let Some(refusal) =
        phone_change::check_new_number(ctx, user_id, &e164, replacing.is_none()).await?
    {
        // Worded for the person; the agent relays it.
        return Err(Problem::invalid(
            "new_number",
            refusal.message().in_lang(crate::i18n::Lang::En),
        ));
    }
    let channel: PhoneChannel = req.channel.into();
    let target = PhoneTarget {
        e164: e164.clone(),
        masked: phone::mask(&e164),
        phone_id: None,
    };
    let sent = challenge::send_phone_code(ctx, user_id, PURPOSE, target, channel).await?;
    if sent != SendOutcome::Sent {
        return Err(send_problem(sent));
    }
    let ttl = ctx.settings.security.otp_ttl_secs;
    let pending = PendingChange {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_string(),
        agent: agent.client_id.clone(),
        replacing,
        e164: e164.clone(),
        channel,
        identity_check: identity_check.clone(),
        note: note.clone(),
        expires_at: ctx.clock.unix_now() + ttl as i64,
    };
    put_json(
        &*ctx.store,
        &key(&pending.id),
        &pending,
        Duration::from_secs(ttl),
    )
    .await?;
    let (uid, now, who, masked, change) = (
        user_id.to_string(),
        ctx.clock.now(),
        agent.client_id.clone(),
        phone::mask(&e164),
        pending.id.clone(),
    );
    ctx.db
        .run(move |c| {
            crate::audit::record(
                c,
                now,
                crate::audit::Event {
                    kind: crate::audit::Kind::SupportPhoneChangeStarted,
                    user_id: Some(&uid),
                    client_id: Some(&who),
                    detail: serde_json::json!({ "change": change, "new": masked, "identity_check": identity_check, "note": note }),
                    actor: None,
                },
            )
        })
        .await?;
    Ok(PhoneChangeStarted {
        id: pending.id,
        status: "code_sent".into(),
        masked_new_number: phone::mask(&e164),
        expires_at: DateTime::from_timestamp(pending.expires_at, 0).unwrap_or_default(),
    })
}

pub async fn confirm(
    ctx: &Ctx,
    agent: &Agent,
    user_id: &str,
    change_id: &str,
    req: ConfirmPhoneChange,
) -> Outcome<PhoneChangeDone> {
    let pending: Option<PendingChange> = if !plausible_id(change_id) {
        None
    } else {
        get_json(&*ctx.store, &key(change_id)).await?
    };
    let Some(pending) =
        pending.filter(|p| p.user_id == user_id && p.expires_at > ctx.clock.unix_now())
    else {
        return Err(Problem::NotFound(
            "pending phone change (it may have expired or been completed)",
        ));
    };
    let uid = user_id.to_string();
    let user = ctx
        .db
        .run(move |c| crate::accounts::users::by_id(c, &uid))
        .await?
        .ok_or(Problem::NotFound("user"))?;
    if user.deleted_at.is_some() {
        return Err(Problem::conflict(None, "This account was deleted."));
    }
    let (outcome, used) =
        challenge::verify_phone_code(ctx, user_id, &user.email, PURPOSE, &req.code).await?;
    match (outcome, used) {
        // The code must have been sent to the very number of this change.
        (CodeOutcome::Accepted, Some(c)) if c.target.e164 == pending.e164 => {}
        (CodeOutcome::Accepted, _) | (CodeOutcome::NoCodeSent, _) => {
            return Err(Problem::conflict(
                Some("code"),
                "No code is waiting for this change (a newer change may have replaced it); start again.",
            ))
        }
        (CodeOutcome::Wrong { remaining }, _) => {
            return Err(Problem::WrongCode {
                message: format!("That code is wrong; {remaining} tries left before the second factor locks."),
                remaining,
            })
        }
        (CodeOutcome::Expired, _) => {
            return Err(Problem::invalid("code", "The code expired; start the change again."))
        }
        (CodeOutcome::Locked { secs }, _) => return Err(locked(secs)),
    }
    // Single use: of two confirmations, only the one that takes the state applies it.
    if ctx.store.take(&key(change_id)).await?.is_none() {
        return Err(Problem::NotFound(
            "pending phone change (it may have expired or been completed)",
        ));
    }
    let receipt = phone_change::commit(
        ctx,
        user_id,
        &user.email,
        pending.replacing.clone(),
        &pending.e164,
        pending.channel,
        ChangedBy::Agent {
            client_id: &agent.client_id,
            identity_check: &pending.identity_check,
            note: &pending.note,
        },
    )
    .await?
    .ok_or_else(|| {
        Problem::conflict(
            Some("replace_phone_id"),
            "The phone being replaced was removed meanwhile; nothing changed. Start again.",
        )
    })?;
    Ok(PhoneChangeDone {
        id: pending.id,
        status: "completed".into(),
        masked_old_number: receipt.old_masked,
        masked_new_number: receipt.new_masked,
        completed_at: ctx.clock.now().and_utc(),
    })
}
