//! A person's activity in their own words. How every audit [`Kind`] reads on the console is
//! decided here, once ([`reading`]): the sentence it becomes (a key in
//! `locales/*/console.ftl`), whether "This wasn't me" makes sense on it, and what the sentence
//! names. A kind this version doesn't know gets a generic sentence. Stored events are not
//! changed: this is only how they read.
//!
//! Two stored events read as one: a step-up (or any sign-in while already signed in) ends the
//! old session and starts a new one in the same request, which would otherwise show as
//! "signed out" then "signed in".

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, AuditEvent, Kind};
use crate::i18n::{FluentValue, Lang};
use crate::storage::db::DbConn;
use crate::storage::schema::{browser_sessions, clients};

/// What a sentence names besides the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Names {
    Nothing,
    /// The app (`client_id` of the event): `{ $app }`.
    App,
    /// The masked phone number in the event's detail, under this field: `{ $phone }`.
    Phone(&'static str),
    /// The app and what it may see (the `scopes` of the detail).
    AppAndScopes,
}

/// How one kind of row reads.
#[derive(Clone, Copy, Debug)]
struct Reading {
    key: &'static str,
    /// "This wasn't me" is offered: a sign-in, or a change to how the person signs in or is
    /// reached. Not on what the person does to protect themselves, nor on support's answers.
    disownable: bool,
    names: Names,
}

use Names::*;

const fn says(key: &'static str, disownable: bool, names: Names) -> Reading {
    Reading {
        key,
        disownable,
        names,
    }
}

/// Rows of the activity list: a stored kind (None: one this version doesn't know), or a
/// step-up read from two stored events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Row {
    Stored(Option<Kind>),
    Reauthenticated,
}

/// How each row reads. Kinds only operators cause (clients, keys, notices) never carry a
/// person's id, so they never reach a console; they read as the generic sentence.
fn reading(row: Row) -> Reading {
    let kind = match row {
        Row::Reauthenticated => return says("activity-reauthenticated", true, Nothing),
        Row::Stored(None) => return says("activity-other", true, Nothing),
        Row::Stored(Some(kind)) => kind,
    };
    match kind {
        Kind::SignedUp => says("activity-signed-up", false, Nothing),
        Kind::SignupExistingEmail => says("activity-signup-existing-email", false, Nothing),
        Kind::EmailConfirmed => says("activity-email-confirmed", true, Nothing),
        Kind::SignedIn => says("activity-signed-in", true, Nothing),
        Kind::SigninFailed => says("activity-signin-failed", true, Nothing),
        Kind::SignedOut => says("activity-signed-out", false, Nothing),
        Kind::SessionsEnded => says("activity-sessions-ended", false, Nothing),
        Kind::NotMeSessionsEnded | Kind::NotMeFromActivity => {
            says("activity-not-me", false, Nothing)
        }
        Kind::MfaCodeSent => says("activity-mfa-code-sent", true, Phone("to")),
        Kind::MfaCodeWrong => says("activity-mfa-code-wrong", true, Nothing),
        Kind::MfaLocked => says("activity-mfa-locked", true, Nothing),
        Kind::MfaPhoneAdded | Kind::PhoneAdded => says("activity-phone-added", true, Nothing),
        Kind::MfaTotpAdded => says("activity-totp-added", true, Nothing),
        Kind::MfaTotpRemoved => says("activity-totp-removed", true, Nothing),
        Kind::MfaKeyAdded => says("activity-key-added", true, Nothing),
        Kind::MfaKeyRemoved => says("activity-key-removed", true, Nothing),
        Kind::MfaKeyPossibleClone => says("activity-key-possible-clone", true, Nothing),
        Kind::MfaReset => says("activity-methods-reset-by-support", true, Nothing),
        Kind::BackupCodesGenerated => says("activity-backup-codes-made", true, Nothing),
        Kind::PhoneChanged => says("activity-phone-changed", true, Nothing),
        Kind::PhoneRemoved => says("activity-phone-removed", true, Nothing),
        Kind::PhoneReviewed => says("activity-phone-reviewed", false, Nothing),
        Kind::SupportPhoneChangeStarted => says("activity-support-phone-change", true, Nothing),
        Kind::PasswordChanged => says("activity-password-changed", true, Nothing),
        Kind::PasswordResetRequested => says("activity-password-reset-requested", true, Nothing),
        Kind::PasswordReset => says("activity-password-reset", true, Nothing),
        Kind::ProfileUpdated => says("activity-profile-updated", true, Nothing),
        Kind::EmailAdded => says("activity-email-added", true, Nothing),
        Kind::EmailMadePrimary => says("activity-email-made-primary", true, Nothing),
        Kind::EmailRemoved => says("activity-email-removed", true, Nothing),
        Kind::AccountResetRequested => says("activity-account-reset-requested", true, Nothing),
        Kind::AccountResetLinkSent => says("activity-account-reset-link-sent", true, Nothing),
        Kind::AccountResetCompleted => says("activity-account-reset-completed", true, Nothing),
        Kind::AccountResetCancelled => says("activity-account-reset-cancelled", false, Nothing),
        Kind::ConsentGranted => says("activity-consent-granted", true, AppAndScopes),
        Kind::ConsentDenied => says("activity-consent-denied", false, App),
        Kind::AppRevoked => says("activity-app-revoked", false, App),
        Kind::TokensIssued => says("activity-tokens-issued", true, App),
        Kind::RefreshTokenRevoked => says("activity-app-signed-out", false, App),
        Kind::RefreshTokenReuseRevokedFamily | Kind::CodeReplayRevokedGrant => {
            says("activity-app-access-ended", false, App)
        }
        Kind::GrantsRevoked => says("activity-apps-disconnected-by-support", false, Nothing),
        Kind::SupportTicketCreated => says("activity-support-ticket-created", false, Nothing),
        Kind::SupportTicketReplied => says("activity-support-ticket-replied", false, Nothing),
        Kind::SupportTicketClosed => says("activity-support-ticket-closed", false, Nothing),
        Kind::UserDisabled => says("activity-account-disabled", false, Nothing),
        Kind::UserEnabled => says("activity-account-enabled", false, Nothing),
        Kind::UserUnlocked => says("activity-account-unlocked", false, Nothing),
        Kind::IdentityVerificationStarted => {
            says("activity-identity-verification-started", true, Nothing)
        }
        Kind::IdentityVerified => says("activity-identity-verified", true, Nothing),
        Kind::IdentityVerificationHeld => says("activity-identity-held", false, Nothing),
        Kind::IdentityVerificationRemoved => says("activity-identity-removed", true, Nothing),
        Kind::IdentityLetterRequested => says("activity-identity-letter-requested", true, Nothing),
        Kind::IdentityLetterSent => says("activity-identity-letter-sent", false, Nothing),
        Kind::RefereeCaseOpened => says("activity-referee-case-opened", true, Nothing),
        Kind::RefereeCodeReplaced => says("activity-referee-code-replaced", true, Nothing),
        Kind::RefereeDecided => says("activity-referee-decided", false, Nothing),
        Kind::RefereeCaseExpired => says("activity-referee-case-expired", false, Nothing),
        Kind::IdentitySuspended => says("activity-identity-suspended", false, Nothing),
        Kind::IdentityRestored => says("activity-identity-restored", true, Nothing),
        Kind::PersonalKeyReplaced => says("activity-personal-key-replaced", true, Nothing),
        Kind::UserDeleted
        | Kind::IdentityCheckPassed
        | Kind::IdentityCheckFailed
        | Kind::IdentityVendorUnavailable
        | Kind::IdentityLetterCodeAccepted
        | Kind::RefereeAgentRegistered
        | Kind::RefereeAgentDisabled
        | Kind::RefereeCaseReleased
        | Kind::RefereeCaseClaimed
        | Kind::RefereeEvidenceViewed
        | Kind::RefereeChecksRecorded
        | Kind::ProofingFlagRaised
        | Kind::ProofingFlagResolved
        | Kind::ProofingPersonalDataRead
        | Kind::ServiceNoticeCreated
        | Kind::ClientRegistered
        | Kind::ClientCreated
        | Kind::ClientUpdated
        | Kind::ClientSecretRotated
        | Kind::ClientDeleted
        | Kind::SigningKeyRotated
        | Kind::SsfStreamStatusChanged
        | Kind::SsfStreamReplayed => says("activity-other", true, Nothing),
    }
}

/// Scopes as the things an app may see, in the order a person reads them; `openid` and
/// `offline_access` release nothing about the person themselves.
const SCOPE_WORDS: &[(&str, &str)] = &[
    ("profile", "activity-sees-name"),
    ("email", "activity-sees-email"),
    ("phone", "activity-sees-phone"),
];

/// What a connected app may do, one plain sentence per scope, in the order a person reads
/// them ("Can see your email address"); scopes Verity doesn't know are left out. Consent to
/// verified data (`verified:<claim>`, see `proofing::claims::consent_scope`) reads as what
/// was checked ("Can see your legal name, as checked against your ID"); the legal name is one
/// line for its two claims.
pub fn scope_descriptions(lang: Lang, scopes: &[String]) -> Vec<String> {
    const WORDS: &[(&[&str], &str)] = &[
        (&["openid"], "console-app-can-recognise"),
        (&["profile"], "console-app-can-see-name"),
        (&["email"], "console-app-can-see-email"),
        (&["phone"], "console-app-can-see-phone"),
        (
            &["verified:given_name", "verified:family_name"],
            "console-app-can-see-verified-name",
        ),
        (
            &["verified:birthdate"],
            "console-app-can-see-verified-birthdate",
        ),
        (
            &["verified:address"],
            "console-app-can-see-verified-address",
        ),
        (
            &["verified:social_security_number"],
            "console-app-can-see-verified-ssn",
        ),
        (&["offline_access"], "console-app-can-stay-connected"),
    ];
    WORDS
        .iter()
        .filter(|(names, _)| scopes.iter().any(|s| names.contains(&s.as_str())))
        .map(|(_, key)| lang.t(key))
        .collect()
}

/// What happened, ready to be put into words in any language.
#[derive(Clone, Debug)]
pub struct What {
    key: &'static str,
    names: Names,
    app: Option<String>,
    phone: Option<String>,
    scopes: Vec<String>,
}

impl What {
    /// The sentence in `lang`: "You changed your phone number", "Tax Portal can see your
    /// email address".
    pub fn sentence(&self, lang: Lang) -> String {
        let app = self
            .app
            .clone()
            .unwrap_or_else(|| lang.t("activity-unknown-app"));
        match self.names {
            Nothing => lang.t(self.key),
            App => lang.t_args(self.key, &[("app", FluentValue::from(app))]),
            Phone(_) => lang.t_args(
                self.key,
                &[(
                    "phone",
                    FluentValue::from(self.phone.clone().unwrap_or_default()),
                )],
            ),
            AppAndScopes => {
                let seen: Vec<String> = SCOPE_WORDS
                    .iter()
                    .filter(|(scope, _)| self.scopes.iter().any(|s| s == scope))
                    .map(|(_, key)| lang.t(key))
                    .collect();
                if seen.is_empty() {
                    lang.t_args(
                        "activity-consent-sign-in-only",
                        &[("app", FluentValue::from(app))],
                    )
                } else {
                    lang.t_args(
                        self.key,
                        &[
                            ("app", FluentValue::from(app)),
                            ("what", FluentValue::from(list(lang, &seen))),
                        ],
                    )
                }
            }
        }
    }
}

/// "a, b and c" in `lang`.
pub fn list(lang: Lang, items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => lang.t_args(
            "activity-list-last",
            &[
                ("first", FluentValue::from(rest.join(", "))),
                ("last", FluentValue::from(last.as_str())),
            ],
        ),
    }
}

/// The browser and system an event came from, as a person names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub browser: Option<String>,
    pub system: Option<String>,
}

impl Device {
    /// From a user-agent string; None when nothing was recorded.
    pub fn from_user_agent(user_agent: &str) -> Option<Device> {
        if user_agent.trim().is_empty() {
            return None;
        }
        let known = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty() && s != "UNKNOWN");
        let parsed = woothee::parser::Parser::new().parse(user_agent);
        let (browser, system) = match parsed {
            // Browsers on computers, phones and devices; not crawlers or HTTP libraries.
            Some(r) if ["pc", "smartphone", "mobilephone", "appliance"].contains(&r.category) => {
                (known(r.name), known(r.os).map(|os| system_name(&os)))
            }
            _ => (None, None),
        };
        Some(Device { browser, system })
    }

    /// "Chrome on Windows", "Firefox", "A browser on Android", "An unknown browser".
    pub fn words(&self, lang: Lang) -> String {
        match (&self.browser, &self.system) {
            (Some(b), Some(s)) => lang.t_args(
                "activity-device",
                &[
                    ("browser", FluentValue::from(b.as_str())),
                    ("system", FluentValue::from(s.as_str())),
                ],
            ),
            (Some(b), None) => b.clone(),
            (None, Some(s)) => lang.t_args(
                "activity-device-system-only",
                &[("system", FluentValue::from(s.as_str()))],
            ),
            (None, None) => lang.t("activity-device-unknown"),
        }
    }
}

/// The family name people know a system by ("Windows 10" and "Windows 11" send the same
/// user agent; woothee says "Mac OSX").
fn system_name(os: &str) -> String {
    if os.starts_with("Windows") {
        "Windows".into()
    } else if os == "Mac OSX" || os == "Mac OS Classic" {
        "macOS".into()
    } else {
        os.to_string()
    }
}

/// One row of the activity list.
#[derive(Clone, Debug)]
pub struct Entry {
    pub at: NaiveDateTime,
    /// The oldest stored event this row stands for: where the next page starts.
    pub cursor: (NaiveDateTime, String),
    pub what: What,
    pub ip: String,
    pub device: Option<Device>,
    /// Whether "This wasn't me" belongs on this row.
    pub can_disown: bool,
}

const SIGNED_IN: Row = Row::Stored(Some(Kind::SignedIn));
const SIGNED_OUT: Row = Row::Stored(Some(Kind::SignedOut));

/// Within this long after the old session ended, a new session in the same browser is the
/// same sign-in (both are written in one request; the margin covers a slow database).
const REAUTH_WINDOW_SECS: i64 = 5;

fn session_of(e: &AuditEvent) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&e.detail)
        .ok()?
        .get("session")?
        .as_str()
        .map(str::to_string)
}

/// `a` and `b` (adjacent, either order) are a step-up: the end of a session and, moments
/// later, a new one in the same browser.
fn is_reauthentication(a: &AuditEvent, b: &AuditEvent, devices: &HashMap<String, String>) -> bool {
    let (signed_in, signed_out) = match (row_of(a), row_of(b)) {
        (SIGNED_IN, SIGNED_OUT) => (a, b),
        (SIGNED_OUT, SIGNED_IN) => (b, a),
        _ => return false,
    };
    let gap = signed_in.created_at - signed_out.created_at;
    if gap < chrono::Duration::zero() || gap > chrono::Duration::seconds(REAUTH_WINDOW_SECS) {
        return false;
    }
    let device = |e: &AuditEvent| session_of(e).and_then(|s| devices.get(&s).cloned());
    matches!((device(signed_in), device(signed_out)), (Some(x), Some(y)) if x == y)
}

fn row_of(e: &AuditEvent) -> Row {
    Row::Stored(Kind::parse(&e.kind))
}

/// Steps an agent takes on the person's case: the person sees that they happened, never the
/// agent's address or browser, and can't disown them (ending their own sessions wouldn't
/// undo an agent's work).
fn by_an_agent(row: Row) -> bool {
    matches!(
        row,
        Row::Stored(Some(
            Kind::RefereeCaseClaimed
                | Kind::RefereeEvidenceViewed
                | Kind::RefereeChecksRecorded
                | Kind::RefereeCaseReleased
                | Kind::RefereeDecided
        ))
    )
}

fn entry(e: &AuditEvent, row: Row, cursor: &AuditEvent, apps: &HashMap<String, String>) -> Entry {
    let k = reading(row);
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
    let app = match k.names {
        App | AppAndScopes => e.client_id.as_ref().and_then(|c| apps.get(c).cloned()),
        _ => None,
    };
    let phone = match k.names {
        Phone(field) => detail
            .get(field)
            .and_then(|v| v.as_str())
            .map(str::to_string),
        _ => None,
    };
    let scopes = match detail.get("scopes") {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    };
    // A sign-in from a browser never seen before says so.
    let key = if row == Row::Stored(Some(Kind::SignedIn))
        && detail.get("new_device") == Some(&serde_json::Value::Bool(true))
    {
        "activity-signed-in-new-device"
    } else {
        k.key
    };
    Entry {
        at: e.created_at,
        cursor: (cursor.created_at, cursor.id.clone()),
        what: What {
            key,
            names: k.names,
            app,
            phone,
            scopes,
        },
        ip: if by_an_agent(row) {
            String::new()
        } else {
            e.ip.clone().unwrap_or_default()
        },
        device: e
            .user_agent
            .as_deref()
            .filter(|_| !by_an_agent(row))
            .and_then(Device::from_user_agent),
        can_disown: k.disownable && !by_an_agent(row),
    }
}

/// Up to `limit` rows of a person's activity, newest first, older than `before` (a cursor
/// from [`Entry::cursor`]); and whether there are more.
pub fn page(
    conn: &mut DbConn,
    user_id: &str,
    before: Option<(NaiveDateTime, String)>,
    limit: usize,
) -> anyhow::Result<(Vec<Entry>, bool)> {
    // Two more than shown: one says whether there are more, one completes a step-up pair
    // that would otherwise be split across pages.
    let events = audit::page_for_user(conn, user_id, before, limit as i64 + 2)?;
    let app_ids: HashSet<String> = events
        .iter()
        .filter(|e| matches!(reading(row_of(e)).names, App | AppAndScopes))
        .filter_map(|e| e.client_id.clone())
        .collect();
    let apps: HashMap<String, String> = if app_ids.is_empty() {
        HashMap::new()
    } else {
        clients::table
            .filter(clients::id.eq_any(app_ids))
            .select((clients::id, clients::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    let session_ids: HashSet<String> = events
        .iter()
        .filter(|e| matches!(row_of(e), SIGNED_IN | SIGNED_OUT))
        .filter_map(session_of)
        .collect();
    let devices: HashMap<String, String> = if session_ids.is_empty() {
        HashMap::new()
    } else {
        browser_sessions::table
            .filter(browser_sessions::id.eq_any(session_ids))
            .select((browser_sessions::id, browser_sessions::device_id))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    let mut shown = Vec::new();
    let mut i = 0;
    while i < events.len() && shown.len() < limit {
        let e = &events[i];
        match events.get(i + 1) {
            Some(next) if is_reauthentication(e, next, &devices) => {
                let signed_in = if row_of(e) == SIGNED_IN { e } else { next };
                shown.push(entry(signed_in, Row::Reauthenticated, next, &apps));
                i += 2;
            }
            _ => {
                shown.push(entry(e, row_of(e), e, &apps));
                i += 1;
            }
        }
    }
    Ok((shown, i < events.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verified_claim_a_consent_can_name_reads_as_a_line() {
        for name in crate::proofing::claims::CLAIM_NAMES {
            let scope = crate::proofing::claims::consent_scope(name);
            for lang in Lang::ALL {
                let lines = scope_descriptions(lang, std::slice::from_ref(&scope));
                assert_eq!(lines.len(), 1, "{scope} in {lang:?}");
                assert!(!lines[0].starts_with("console-"), "{scope} in {lang:?}");
            }
        }
        let both = ["verified:given_name", "verified:family_name"].map(String::from);
        assert_eq!(scope_descriptions(Lang::En, &both).len(), 1);
    }

    #[test]
    fn every_kind_reads_as_a_sentence_in_both_languages() {
        let rows = Kind::ALL
            .iter()
            .map(|k| Row::Stored(Some(*k)))
            .chain([Row::Stored(None), Row::Reauthenticated]);
        for row in rows {
            let k = reading(row);
            for lang in Lang::ALL {
                let what = What {
                    key: k.key,
                    names: k.names,
                    app: Some("Tax Portal".into()),
                    phone: Some("+1 •••••••12".into()),
                    scopes: vec!["openid".into(), "email".into(), "profile".into()],
                };
                let words = what.sentence(lang);
                assert!(
                    !words.starts_with("activity-"),
                    "{} has no words in {lang:?}",
                    k.key
                );
                if matches!(k.names, App | AppAndScopes) {
                    assert!(words.contains("Tax Portal"), "{words}");
                }
            }
        }
    }

    #[test]
    fn consent_names_the_app_and_what_it_sees() {
        let what = |scopes: &[&str]| What {
            key: "activity-consent-granted",
            names: AppAndScopes,
            app: Some("Tax Portal".into()),
            phone: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(
            what(&["openid", "email"]).sentence(Lang::En),
            "Tax Portal can see your email address"
        );
        assert_eq!(
            what(&["openid", "phone", "email", "profile"]).sentence(Lang::En),
            "Tax Portal can see your name, your email address and your phone number"
        );
        assert_eq!(
            what(&["openid", "email", "phone"]).sentence(Lang::Es),
            "Tax Portal puede ver su correo electrónico y su número de teléfono"
        );
        assert_eq!(
            what(&["openid"]).sentence(Lang::En),
            "You allowed Tax Portal to sign you in"
        );
    }

    #[test]
    fn scopes_read_as_what_the_app_can_do() {
        let scopes: Vec<String> = ["openid", "email", "offline_access", "unheard_of"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            scope_descriptions(Lang::En, &scopes),
            [
                "Can tell it's you when you sign in",
                "Can see your email address",
                "Can keep using this while you're away, until you disconnect it",
            ]
        );
        assert_eq!(
            scope_descriptions(Lang::Es, &scopes)[1],
            "Puede ver su correo electrónico"
        );
    }

    #[test]
    fn devices_read_as_browser_on_system() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        let mac =
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0";
        let device = |ua: &str| Device::from_user_agent(ua).unwrap();
        assert_eq!(device(chrome).words(Lang::En), "Chrome on Windows");
        assert_eq!(device(chrome).words(Lang::Es), "Chrome en Windows");
        assert_eq!(device(iphone).words(Lang::En), "Safari on iPhone");
        assert_eq!(device(mac).words(Lang::En), "Firefox on macOS");
        assert_eq!(device("curl/8.0").words(Lang::En), "An unknown browser");
        assert_eq!(Device::from_user_agent(""), None);
    }
}
