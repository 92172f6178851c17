//! Audit events: every flow outcome that matters to a person or an operator is recorded.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::db::DbConn;
use crate::storage::schema::audit_events;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub kind: String,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Who did it and from where.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub ip: String,
    pub user_agent: String,
}

impl Actor {
    /// What per-IP limits are keyed by: the address itself for IPv4, its /64 network for IPv6
    /// (one subscriber usually holds a whole /64, so per-address limits would be free to dodge).
    pub fn limit_key(&self) -> String {
        match self.ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => v6
                .to_ipv4_mapped()
                .map(|v4| v4.to_string())
                .unwrap_or_default(),
            Ok(std::net::IpAddr::V6(v6)) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Ok(ip) => ip.to_string(),
            Err(_) => self.ip.clone(),
        }
    }
}

/// Every kind of audit event, in one place. Stored (and shown by the management API) as its
/// snake_case name; the console words each kind in the person's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An account was created (its address not yet confirmed).
    SignedUp,
    /// Someone tried to sign up with an address this account already holds.
    SignupExistingEmail,
    /// An email address was confirmed.
    EmailConfirmed,
    /// The person signed in (detail: amr, acr, new_device).
    SignedIn,
    /// A wrong password for this account.
    SigninFailed,
    /// The person signed out.
    SignedOut,
    /// Sessions were ended (by the person, an operator or a recovery).
    SessionsEnded,
    /// From a 'this wasn't me' link: every session ended.
    NotMeSessionsEnded,
    /// The person reported an activity row as not theirs.
    NotMeFromActivity,
    /// A one-time code was sent to a phone.
    MfaCodeSent,
    /// A wrong second-factor code.
    MfaCodeWrong,
    /// Too many wrong codes: the second factor is locked for a while.
    MfaLocked,
    /// A phone was enrolled as a second factor.
    MfaPhoneAdded,
    /// An authenticator app was added.
    MfaTotpAdded,
    /// An authenticator app was removed.
    MfaTotpRemoved,
    /// A security key or passkey was added (detail: key id, kind).
    MfaKeyAdded,
    /// A security key or passkey was removed.
    MfaKeyRemoved,
    /// A key's signature counter went backwards (a possible clone); the answer was refused.
    MfaKeyPossibleClone,
    /// An operator removed every second factor.
    MfaReset,
    /// A new set of backup codes was made (the old set stops working).
    BackupCodesGenerated,
    /// A phone number was added through the phone-change flow.
    PhoneAdded,
    /// A phone number was replaced by a new one.
    PhoneChanged,
    /// A phone number was removed.
    PhoneRemoved,
    /// The person confirmed a recently changed phone was theirs.
    PhoneReviewed,
    /// A support agent started a phone change after checking identity.
    SupportPhoneChangeStarted,
    /// The password was changed from the console.
    PasswordChanged,
    /// A password-reset link was asked for.
    PasswordResetRequested,
    /// The password was reset with a link.
    PasswordReset,
    /// The name on the account changed.
    ProfileUpdated,
    /// An extra email address was added (unconfirmed).
    EmailAdded,
    /// Another confirmed address became the primary one.
    EmailMadePrimary,
    /// An extra email address was removed.
    EmailRemoved,
    /// An account reset was asked for (the waiting period starts).
    AccountResetRequested,
    /// The waiting period ended: the account-reset link was sent.
    AccountResetLinkSent,
    /// The account was reset: factors removed, a new one set.
    AccountResetCompleted,
    /// A pending account reset was cancelled.
    AccountResetCancelled,
    /// The person allowed an app to see some of their details.
    ConsentGranted,
    /// The person refused an app.
    ConsentDenied,
    /// The person removed an app's access.
    AppRevoked,
    /// Tokens were issued to an app for this person.
    TokensIssued,
    /// A refresh token was revoked.
    RefreshTokenRevoked,
    /// A used refresh token came back: its whole family was revoked.
    RefreshTokenReuseRevokedFamily,
    /// An authorization code was used twice: its grant was revoked.
    CodeReplayRevokedGrant,
    /// An operator revoked every app's access.
    GrantsRevoked,
    /// The person wrote to support.
    SupportTicketCreated,
    /// Support replied to a ticket.
    SupportTicketReplied,
    /// A support ticket was closed.
    SupportTicketClosed,
    /// An operator sent a service notice.
    ServiceNoticeCreated,
    /// An operator disabled the account.
    UserDisabled,
    /// An operator enabled the account again.
    UserEnabled,
    /// An operator lifted the account's sign-in lock.
    UserUnlocked,
    /// An operator deleted the account.
    UserDeleted,
    /// A relying party registered itself (dynamic registration).
    ClientRegistered,
    /// An operator added a relying party.
    ClientCreated,
    /// An operator changed a relying party.
    ClientUpdated,
    /// A relying party's secret was replaced.
    ClientSecretRotated,
    /// An operator removed a relying party.
    ClientDeleted,
    /// The token-signing key was rotated.
    SigningKeyRotated,
    /// Identity verification started (consent recorded with its text version).
    IdentityVerificationStarted,
    /// A proofing step's check passed (detail: check, vendor).
    IdentityCheckPassed,
    /// A proofing step's check refused (detail: check, reason).
    IdentityCheckFailed,
    /// A proofing vendor gave no usable answer; the attempt was not charged.
    IdentityVendorUnavailable,
    /// The identity verification finished: the account holds IAL2.
    IdentityVerified,
    /// The verification finished but a fraud flag holds it for review.
    IdentityVerificationHeld,
    /// The verified identity data was removed (by the person or an operator).
    IdentityVerificationRemoved,
    /// The person asked for a verify-by-mail letter (detail: verification, letter, expires).
    IdentityLetterRequested,
    /// An operator marked a letter as handed to the printer (detail: verification, letter).
    IdentityLetterSent,
    /// A letter's code was accepted (detail: verification, letter).
    IdentityLetterCodeAccepted,
    /// An operator registered a trusted-referee agent (detail: agent, certified until).
    RefereeAgentRegistered,
    /// An operator disabled an agent (detail: agent, how many claimed cases went back).
    RefereeAgentDisabled,
    /// An agent gave a claimed case back before the call began (detail: case, agent).
    RefereeCaseReleased,
    /// The person asked for verification with an agent by video and consented (detail: case,
    /// verification, slot or queue, consent version).
    RefereeCaseOpened,
    /// The person asked for a new continuation code before the call began; the old one stops
    /// working (detail: case).
    RefereeCodeReplaced,
    /// An agent claimed a case (detail: case, agent).
    RefereeCaseClaimed,
    /// An agent looked at a claimed case's evidence (detail: case, agent, what was shown).
    RefereeEvidenceViewed,
    /// An agent recorded the checks done in the call, and whether the continuation code the
    /// person read out matched (detail: case, agent, checks, code).
    RefereeChecksRecorded,
    /// An agent decided a case: verified, not_verified or fraud_suspected (detail: case,
    /// agent, decision).
    RefereeDecided,
    /// A case expired: a no-show, or past `referee.case_ttl_days` (detail: case).
    RefereeCaseExpired,
    /// A password reset suspended the verified identity: only the personal key restores it
    /// (detail: vaults suspended).
    IdentitySuspended,
    /// The personal key restored a suspended verified identity (detail: verification).
    IdentityRestored,
    /// The person made a new personal key (detail: verification).
    PersonalKeyReplaced,
    /// A fraud signal was recorded on a verification.
    ProofingFlagRaised,
    /// An operator cleared or confirmed a fraud flag.
    ProofingFlagResolved,
    /// An operator read a verification's personal data in full (the management API's
    /// `verity:admin:proofing:pii` scope).
    ProofingPersonalDataRead,
    /// An operator paused, resumed or disabled a relying party's Shared Signals stream
    /// (detail: stream, its client, status, reason, agent).
    SsfStreamStatusChanged,
    /// An operator made a stream's refused and retrying events due again (detail: stream,
    /// its client, how many, agent).
    SsfStreamReplayed,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::SignedUp,
        Kind::SignupExistingEmail,
        Kind::EmailConfirmed,
        Kind::SignedIn,
        Kind::SigninFailed,
        Kind::SignedOut,
        Kind::SessionsEnded,
        Kind::NotMeSessionsEnded,
        Kind::NotMeFromActivity,
        Kind::MfaCodeSent,
        Kind::MfaCodeWrong,
        Kind::MfaLocked,
        Kind::MfaPhoneAdded,
        Kind::MfaTotpAdded,
        Kind::MfaTotpRemoved,
        Kind::MfaKeyAdded,
        Kind::MfaKeyRemoved,
        Kind::MfaKeyPossibleClone,
        Kind::MfaReset,
        Kind::BackupCodesGenerated,
        Kind::PhoneAdded,
        Kind::PhoneChanged,
        Kind::PhoneRemoved,
        Kind::PhoneReviewed,
        Kind::SupportPhoneChangeStarted,
        Kind::PasswordChanged,
        Kind::PasswordResetRequested,
        Kind::PasswordReset,
        Kind::ProfileUpdated,
        Kind::EmailAdded,
        Kind::EmailMadePrimary,
        Kind::EmailRemoved,
        Kind::AccountResetRequested,
        Kind::AccountResetLinkSent,
        Kind::AccountResetCompleted,
        Kind::AccountResetCancelled,
        Kind::ConsentGranted,
        Kind::ConsentDenied,
        Kind::AppRevoked,
        Kind::TokensIssued,
        Kind::RefreshTokenRevoked,
        Kind::RefreshTokenReuseRevokedFamily,
        Kind::CodeReplayRevokedGrant,
        Kind::GrantsRevoked,
        Kind::SupportTicketCreated,
        Kind::SupportTicketReplied,
        Kind::SupportTicketClosed,
        Kind::ServiceNoticeCreated,
        Kind::UserDisabled,
        Kind::UserEnabled,
        Kind::UserUnlocked,
        Kind::UserDeleted,
        Kind::ClientRegistered,
        Kind::ClientCreated,
        Kind::ClientUpdated,
        Kind::ClientSecretRotated,
        Kind::ClientDeleted,
        Kind::SigningKeyRotated,
        Kind::IdentityVerificationStarted,
        Kind::IdentityCheckPassed,
        Kind::IdentityCheckFailed,
        Kind::IdentityVendorUnavailable,
        Kind::IdentityVerified,
        Kind::IdentityVerificationHeld,
        Kind::IdentityVerificationRemoved,
        Kind::IdentityLetterRequested,
        Kind::IdentityLetterSent,
        Kind::IdentityLetterCodeAccepted,
        Kind::RefereeAgentRegistered,
        Kind::RefereeAgentDisabled,
        Kind::RefereeCaseReleased,
        Kind::RefereeCaseOpened,
        Kind::RefereeCodeReplaced,
        Kind::RefereeCaseClaimed,
        Kind::RefereeEvidenceViewed,
        Kind::RefereeChecksRecorded,
        Kind::RefereeDecided,
        Kind::RefereeCaseExpired,
        Kind::IdentitySuspended,
        Kind::IdentityRestored,
        Kind::PersonalKeyReplaced,
        Kind::ProofingFlagRaised,
        Kind::ProofingFlagResolved,
        Kind::ProofingPersonalDataRead,
        Kind::SsfStreamStatusChanged,
        Kind::SsfStreamReplayed,
    ];

    /// The name stored in `audit_events.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignedUp => "signed_up",
            Kind::SignupExistingEmail => "signup_existing_email",
            Kind::EmailConfirmed => "email_confirmed",
            Kind::SignedIn => "signed_in",
            Kind::SigninFailed => "signin_failed",
            Kind::SignedOut => "signed_out",
            Kind::SessionsEnded => "sessions_ended",
            Kind::NotMeSessionsEnded => "not_me_sessions_ended",
            Kind::NotMeFromActivity => "not_me_from_activity",
            Kind::MfaCodeSent => "mfa_code_sent",
            Kind::MfaCodeWrong => "mfa_code_wrong",
            Kind::MfaLocked => "mfa_locked",
            Kind::MfaPhoneAdded => "mfa_phone_added",
            Kind::MfaTotpAdded => "mfa_totp_added",
            Kind::MfaTotpRemoved => "mfa_totp_removed",
            Kind::MfaKeyAdded => "mfa_key_added",
            Kind::MfaKeyRemoved => "mfa_key_removed",
            Kind::MfaKeyPossibleClone => "mfa_key_possible_clone",
            Kind::MfaReset => "mfa_reset",
            Kind::BackupCodesGenerated => "backup_codes_generated",
            Kind::PhoneAdded => "phone_added",
            Kind::PhoneChanged => "phone_changed",
            Kind::PhoneRemoved => "phone_removed",
            Kind::PhoneReviewed => "phone_reviewed",
            Kind::SupportPhoneChangeStarted => "support_phone_change_started",
            Kind::PasswordChanged => "password_changed",
            Kind::PasswordResetRequested => "password_reset_requested",
            Kind::PasswordReset => "password_reset",
            Kind::ProfileUpdated => "profile_updated",
            Kind::EmailAdded => "email_added",
            Kind::EmailMadePrimary => "email_made_primary",
            Kind::EmailRemoved => "email_removed",
            Kind::AccountResetRequested => "account_reset_requested",
            Kind::AccountResetLinkSent => "account_reset_link_sent",
            Kind::AccountResetCompleted => "account_reset_completed",
            Kind::AccountResetCancelled => "account_reset_cancelled",
            Kind::ConsentGranted => "consent_granted",
            Kind::ConsentDenied => "consent_denied",
            Kind::AppRevoked => "app_revoked",
            Kind::TokensIssued => "tokens_issued",
            Kind::RefreshTokenRevoked => "refresh_token_revoked",
            Kind::RefreshTokenReuseRevokedFamily => "refresh_token_reuse_revoked_family",
            Kind::CodeReplayRevokedGrant => "code_replay_revoked_grant",
            Kind::GrantsRevoked => "grants_revoked",
            Kind::SupportTicketCreated => "support_ticket_created",
            Kind::SupportTicketReplied => "support_ticket_replied",
            Kind::SupportTicketClosed => "support_ticket_closed",
            Kind::ServiceNoticeCreated => "service_notice_created",
            Kind::UserDisabled => "user_disabled",
            Kind::UserEnabled => "user_enabled",
            Kind::UserUnlocked => "user_unlocked",
            Kind::UserDeleted => "user_deleted",
            Kind::ClientRegistered => "client_registered",
            Kind::ClientCreated => "client_created",
            Kind::ClientUpdated => "client_updated",
            Kind::ClientSecretRotated => "client_secret_rotated",
            Kind::ClientDeleted => "client_deleted",
            Kind::SigningKeyRotated => "signing_key_rotated",
            Kind::IdentityVerificationStarted => "identity_verification_started",
            Kind::IdentityCheckPassed => "identity_check_passed",
            Kind::IdentityCheckFailed => "identity_check_failed",
            Kind::IdentityVendorUnavailable => "identity_vendor_unavailable",
            Kind::IdentityVerified => "identity_verified",
            Kind::IdentityVerificationHeld => "identity_verification_held",
            Kind::IdentityVerificationRemoved => "identity_verification_removed",
            Kind::IdentityLetterRequested => "identity_letter_requested",
            Kind::IdentityLetterSent => "identity_letter_sent",
            Kind::IdentityLetterCodeAccepted => "identity_letter_code_accepted",
            Kind::RefereeAgentRegistered => "referee_agent_registered",
            Kind::RefereeAgentDisabled => "referee_agent_disabled",
            Kind::RefereeCaseReleased => "referee_case_released",
            Kind::RefereeCaseOpened => "referee_case_opened",
            Kind::RefereeCodeReplaced => "referee_code_replaced",
            Kind::RefereeCaseClaimed => "referee_case_claimed",
            Kind::RefereeEvidenceViewed => "referee_evidence_viewed",
            Kind::RefereeChecksRecorded => "referee_checks_recorded",
            Kind::RefereeDecided => "referee_decided",
            Kind::RefereeCaseExpired => "referee_case_expired",
            Kind::IdentitySuspended => "identity_suspended",
            Kind::IdentityRestored => "identity_restored",
            Kind::PersonalKeyReplaced => "personal_key_replaced",
            Kind::ProofingFlagRaised => "proofing_flag_raised",
            Kind::ProofingFlagResolved => "proofing_flag_resolved",
            Kind::ProofingPersonalDataRead => "proofing_personal_data_read",
            Kind::SsfStreamStatusChanged => "ssf_stream_status_changed",
            Kind::SsfStreamReplayed => "ssf_stream_replayed",
        }
    }

    /// The kind of a stored event; None for a name this version doesn't know.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

/// One event to record: what happened, to whom, through which client (or operator), with what
/// detail, and from where.
pub struct Event<'a> {
    pub kind: Kind,
    pub user_id: Option<&'a str>,
    /// The relying party involved, or for operator actions the management-API client.
    pub client_id: Option<&'a str>,
    pub detail: serde_json::Value,
    pub actor: Option<&'a Actor>,
}

pub fn record(conn: &mut DbConn, now: NaiveDateTime, event: Event<'_>) -> anyhow::Result<()> {
    let event = AuditEvent {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: event.user_id.map(str::to_string),
        client_id: event.client_id.map(str::to_string),
        kind: event.kind.as_str().to_string(),
        detail: event.detail.to_string(),
        ip: event.actor.map(|a| a.ip.clone()),
        user_agent: event.actor.map(|a| a.user_agent.clone()),
        created_at: now,
    };
    diesel::insert_into(audit_events::table)
        .values(&event)
        .execute(conn)?;
    Ok(())
}

pub fn for_user(conn: &mut DbConn, user_id: &str, limit: i64) -> anyhow::Result<Vec<AuditEvent>> {
    Ok(audit_events::table
        .filter(audit_events::user_id.eq(user_id))
        .order(audit_events::created_at.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)?)
}

/// One page of a person's events, newest first, strictly older than `before` (a cursor: the
/// `created_at` of the last event of the previous page, with its id to break ties).
pub fn page_for_user(
    conn: &mut DbConn,
    user_id: &str,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> anyhow::Result<Vec<AuditEvent>> {
    let mut q = audit_events::table
        .filter(audit_events::user_id.eq(user_id))
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditEvent::as_select())
        .into_boxed();
    if let Some((at, id)) = before {
        q = q.filter(
            audit_events::created_at
                .lt(at)
                .or(audit_events::created_at.eq(at).and(audit_events::id.lt(id))),
        );
    }
    Ok(q.load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::Actor;

    fn key(ip: &str) -> String {
        Actor {
            ip: ip.into(),
            user_agent: String::new(),
        }
        .limit_key()
    }

    #[test]
    fn every_kind_has_its_own_name_and_reads_back() {
        let mut names = std::collections::HashSet::new();
        for kind in super::Kind::ALL {
            assert!(names.insert(kind.as_str()), "{kind:?} shares its name");
            assert_eq!(super::Kind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(super::Kind::parse("no_such_kind"), None);
    }

    #[test]
    fn ipv6_limits_are_keyed_by_the_64_network() {
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
