//! What each account change is, said as Shared Signals: one function per kind of change, each
//! queueing the CAEP and RISC events that change means (see the README's event table). Every
//! function runs inside the caller's transaction, next to the change and its audit event, so
//! the events exist exactly when the change does.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::config::SsfSettings;
use crate::mfa::methods::PhoneChannel;
use crate::ssf::events::{common, enqueue, ClaimSubject, Initiator, Signal};
use crate::storage::db::DbConn;

/// Who made a change: the person themselves, or an operator (with the reason the operator
/// gave, sent as `reason_admin`).
#[derive(Clone, Copy, Debug)]
pub enum By<'a> {
    Person,
    Operator(&'a str),
}

fn members(at: NaiveDateTime, by: By<'_>) -> serde_json::Map<String, serde_json::Value> {
    match by {
        By::Person => common(at, Initiator::User, None),
        By::Operator(reason) => common(at, Initiator::Admin, Some(reason)),
    }
}

/// CAEP §3.3 `credential_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    PhoneSms,
    PhoneVoice,
    /// An authenticator app (TOTP).
    App,
    /// A passkey held by the device (platform authenticator).
    Fido2Platform,
    /// A security key (roaming authenticator).
    Fido2Roaming,
}

impl Credential {
    fn as_str(self) -> &'static str {
        match self {
            Credential::PhoneSms => "phone-sms",
            Credential::PhoneVoice => "phone-voice",
            Credential::App => "app",
            Credential::Fido2Platform => "fido2-platform",
            Credential::Fido2Roaming => "fido2-roaming",
        }
    }

    /// A passkey counts as the device's own authenticator, a security key as a roaming one.
    pub fn of_key(kind: crate::mfa::webauthn::KeyKind) -> Credential {
        match kind {
            crate::mfa::webauthn::KeyKind::Passkey => Credential::Fido2Platform,
            crate::mfa::webauthn::KeyKind::SecurityKey => Credential::Fido2Roaming,
        }
    }

    pub fn of_phone(channel: PhoneChannel) -> Credential {
        match channel {
            PhoneChannel::Sms => Credential::PhoneSms,
            PhoneChannel::Voice => Credential::PhoneVoice,
        }
    }
}

/// CAEP §3.3 `change_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    Create,
    Update,
    Delete,
}

impl ChangeType {
    fn as_str(self) -> &'static str {
        match self {
            ChangeType::Create => "create",
            ChangeType::Update => "update",
            ChangeType::Delete => "delete",
        }
    }
}

fn credential_change(
    at: NaiveDateTime,
    by: By<'_>,
    credential: Credential,
    change: ChangeType,
    aaguid: Option<&str>,
) -> Signal {
    let mut m = members(at, by);
    m.insert("credential_type".into(), json!(credential.as_str()));
    m.insert("change_type".into(), json!(change.as_str()));
    if let Some(aaguid) = aaguid.filter(|a| !a.is_empty()) {
        m.insert("fido2_aaguid".into(), json!(aaguid));
    }
    Signal::new(crate::ssf::EVENT_CREDENTIAL_CHANGE, m)
}

fn recovery_information_changed(at: NaiveDateTime, by: By<'_>) -> Signal {
    Signal::new(
        crate::ssf::EVENT_RECOVERY_INFORMATION_CHANGED,
        members(at, by),
    )
}

/// A phone was added (`Create`), its number or channel replaced (`Update`) or removed
/// (`Delete`): CAEP `credential-change` for the phone's channel, and RISC
/// `recovery-information-changed` (a phone is also a way back into the account).
pub fn phone(
    conn: &mut DbConn,
    ssf: &SsfSettings,
    now: NaiveDateTime,
    user_id: &str,
    by: By<'_>,
    channel: PhoneChannel,
    change: ChangeType,
) -> anyhow::Result<()> {
    let credential = Credential::of_phone(channel);
    enqueue(
        conn,
        ssf,
        now,
        user_id,
        &credential_change(now, by, credential, change, None),
    )?;
    enqueue(
        conn,
        ssf,
        now,
        user_id,
        &recovery_information_changed(now, by),
    )?;
    Ok(())
}

/// One second factor added or removed.
#[derive(Clone, Copy, Debug)]
pub struct FactorChange<'a> {
    pub credential: Credential,
    pub change: ChangeType,
    /// A key's authenticator model, when it gave one.
    pub aaguid: Option<&'a str>,
}

/// An authenticator app, security key or passkey was added or removed: CAEP
/// `credential-change` (with the authenticator's AAGUID when known).
pub fn second_factor(
    conn: &mut DbConn,
    ssf: &SsfSettings,
    now: NaiveDateTime,
    user_id: &str,
    by: By<'_>,
    factor: FactorChange<'_>,
) -> anyhow::Result<()> {
    let signal = credential_change(now, by, factor.credential, factor.change, factor.aaguid);
    enqueue(conn, ssf, now, user_id, &signal)?;
    Ok(())
}

/// Every second factor went at once (a reset by support, or the person's account reset): a
/// `credential-change` (delete) per phone, app and key in `before`, and
/// `recovery-information-changed` with each phone.
pub fn factors_removed(
    conn: &mut DbConn,
    ssf: &SsfSettings,
    now: NaiveDateTime,
    user_id: &str,
    by: By<'_>,
    before: &crate::mfa::methods::Enrolled,
) -> anyhow::Result<()> {
    for p in &before.phones {
        let channel = PhoneChannel::parse(&p.channel).unwrap_or(PhoneChannel::Sms);
        phone(conn, ssf, now, user_id, by, channel, ChangeType::Delete)?;
    }
    for _ in &before.totp {
        let signal = credential_change(now, by, Credential::App, ChangeType::Delete, None);
        enqueue(conn, ssf, now, user_id, &signal)?;
    }
    for k in &before.keys {
        let credential = Credential::of_key(k.kind());
        let signal =
            credential_change(now, by, credential, ChangeType::Delete, k.aaguid.as_deref());
        enqueue(conn, ssf, now, user_id, &signal)?;
    }
    Ok(())
}

/// A confirmed email address was added or removed: RISC `recovery-information-changed`.
pub fn email_address(
    conn: &mut DbConn,
    ssf: &SsfSettings,
    now: NaiveDateTime,
    user_id: &str,
    by: By<'_>,
) -> anyhow::Result<()> {
    enqueue(
        conn,
        ssf,
        now,
        user_id,
        &recovery_information_changed(now, by),
    )?;
    Ok(())
}

/// Another address became the primary one (the one Verity releases as `email`): RISC
/// `identifier-changed`, which names the person by the old address (RISC §2.5) and carries the
/// new one, so only relying parties granted `email` get it; and `recovery-information-changed`
/// for every relying party.
pub fn primary_email(
    conn: &mut DbConn,
    ssf: &SsfSettings,
    now: NaiveDateTime,
    user_id: &str,
    by: By<'_>,
    old: &str,
    new: &str,
) -> anyhow::Result<()> {
    let mut m = members(now, by);
    m.insert("new-value".into(), json!(new));
    let mut changed = Signal::new(crate::ssf::EVENT_IDENTIFIER_CHANGED, m);
    changed.by_claim = Some(ClaimSubject {
        scope: "email",
        sub_id: json!({ "format": "email", "email": old }),
    });
    enqueue(conn, ssf, now, user_id, &changed)?;
    enqueue(
        conn,
        ssf,
        now,
        user_id,
        &recovery_information_changed(now, by),
    )?;
    Ok(())
}

/// What an operator did to the account as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountChange {
    /// RISC `account-disabled`.
    Disabled,
    /// RISC `account-enabled`.
    Enabled,
    /// RISC `account-purged`. Queue it before the consents go: they decide who hears of it.
    Purged,
}

/// An operator disabled, enabled or deleted the account: the matching RISC event, with the
/// operator's reason.
pub fn account(
    conn: &mut DbConn,
    ssf: &SsfSettings,
    now: NaiveDateTime,
    user_id: &str,
    change: AccountChange,
    reason_admin: &str,
) -> anyhow::Result<()> {
    let event_type = match change {
        AccountChange::Disabled => crate::ssf::EVENT_ACCOUNT_DISABLED,
        AccountChange::Enabled => crate::ssf::EVENT_ACCOUNT_ENABLED,
        AccountChange::Purged => crate::ssf::EVENT_ACCOUNT_PURGED,
    };
    let signal = Signal::new(event_type, members(now, By::Operator(reason_admin)));
    enqueue(conn, ssf, now, user_id, &signal)?;
    Ok(())
}

/// Whether the person's identity counts as verified now (IAL2). Read it before a change that
/// may alter it, and pass it to [`identity_assurance_since`] after.
pub fn identity_verified(conn: &mut DbConn, user_id: &str) -> anyhow::Result<bool> {
    Ok(crate::proofing::records::counting_verification(conn, user_id)?.is_some())
}

/// If the person's identity assurance differs from `was_verified` (read before the change, in
/// the same transaction): CAEP `assurance-level-change` in the `NIST-IAL` namespace,
/// `nist-ial2` once identity is verified, `nist-ial1` when it no longer is.
pub fn identity_assurance_since(
    conn: &mut DbConn,
    ssf: &SsfSettings,
    now: NaiveDateTime,
    user_id: &str,
    by: By<'_>,
    was_verified: bool,
) -> anyhow::Result<()> {
    let verified = identity_verified(conn, user_id)?;
    if verified == was_verified {
        return Ok(());
    }
    let (current, previous, direction) = if verified {
        ("nist-ial2", "nist-ial1", "increase")
    } else {
        ("nist-ial1", "nist-ial2", "decrease")
    };
    let mut m = members(now, by);
    m.insert("namespace".into(), json!("NIST-IAL"));
    m.insert("current_level".into(), json!(current));
    m.insert("previous_level".into(), json!(previous));
    m.insert("change_direction".into(), json!(direction));
    let signal = Signal::new(crate::ssf::EVENT_ASSURANCE_LEVEL_CHANGE, m);
    enqueue(conn, ssf, now, user_id, &signal)?;
    Ok(())
}
