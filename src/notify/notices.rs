//! Every notice Verity sends, in one place: [`Notice`] says what happened (with the values the
//! text needs), and [`Notice::render`] writes it for a channel in the recipient's language from
//! `locales/<lang>/notices.ftl`. Flows decide *that* and *to whom* a notice goes; the words live
//! here and in the locale files.
//!
//! Whose language: the account's (`users.locale`, see [`crate::accounts::users::lang_of`]),
//! English when it never chose one; a sign-up before the account has a language uses the
//! language of the request that caused it; a support ticket's the language it was written in.

use chrono::NaiveDateTime;
use fluent_bundle::FluentValue;

use super::{Channel, Message};
use crate::config::Settings;
use crate::i18n::Lang;
use crate::Ctx;

/// Why a sign-in is worth an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewSignInReason {
    /// A browser that never had a session on the account.
    NewDevice,
    /// A browser the account knows, from a network it hasn't signed in from lately.
    NewNetwork,
}

/// An authenticator app added or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppChange {
    Added,
    Removed,
}

#[derive(Clone, Debug)]
pub enum Notice {
    // Sign-up.
    /// The link that confirms a new account's address and leads to choosing its password.
    ConfirmEmail {
        link: String,
        valid_hours: u64,
    },
    /// Someone signed up with an address that already has an account.
    SignUpExisting {
        sign_in_link: String,
    },

    // Sign-in.
    /// Too many wrong passwords: sign-in waits `minutes` (a password reset lifts it sooner).
    SignInPaused {
        minutes: u64,
        ip: String,
    },
    /// Past the hard limit: only a password reset (or support) lifts it.
    SignInLocked {
        ip: String,
    },
    /// Too many wrong second-factor codes: paused for `minutes`.
    SecondFactorPaused {
        failures: u32,
        minutes: u64,
    },
    /// A one-time code by text or voice call.
    SecurityCode {
        code: String,
        minutes: u64,
    },
    /// A sign-in from a new device or a new network, with a "this wasn't me" link.
    NewSignIn {
        reason: NewSignInReason,
        at: NaiveDateTime,
        /// The browser's user agent; empty when it sent none.
        browser: String,
        ip: String,
        not_me_link: String,
    },

    // Password.
    PasswordResetLink {
        link: String,
        minutes: u64,
    },
    /// A password reset by link (every session ended).
    PasswordReset {
        at: NaiveDateTime,
    },
    /// A password change from the console.
    PasswordChanged {
        at: NaiveDateTime,
        not_me_link: String,
    },

    // Second factors.
    AuthenticatorApp {
        change: AppChange,
        at: NaiveDateTime,
        not_me_link: String,
    },
    /// A security key or passkey was added or removed.
    SecurityKey {
        change: crate::mfa::webauthn::KeyChange,
        kind: crate::mfa::webauthn::KeyKind,
        name: String,
        at: NaiveDateTime,
        not_me_link: String,
    },
    /// A key's signature counter went backwards: it may have been copied.
    KeyPossiblyCloned {
        name: String,
        at: NaiveDateTime,
    },
    /// The e-mail about a phone change; masked numbers, either may be absent.
    PhonesChanged {
        old_masked: Option<String>,
        new_masked: Option<String>,
        at: NaiveDateTime,
        not_me_link: String,
    },
    /// The text to a number that was replaced or removed.
    PhoneOldNumber {
        at: NaiveDateTime,
        not_me_link: String,
    },
    /// The text to a number that was just added.
    PhoneNewNumber {
        at: NaiveDateTime,
    },
    /// Support removed every second factor.
    FactorsRemovedBySupport,

    // E-mail addresses.
    /// To an address being added: the confirmation link.
    ConfirmAddedEmail {
        link: String,
    },
    EmailAdded {
        address: String,
    },
    EmailConfirmed {
        address: String,
    },
    SignInEmailChanged {
        old: String,
        new: String,
    },
    EmailRemoved {
        address: String,
    },

    // Account reset.
    AccountResetConfirm {
        link: String,
        wait_hours: u64,
    },
    AccountResetRequested {
        at: NaiveDateTime,
        ready_at: NaiveDateTime,
    },
    AccountResetReady {
        link: String,
        valid_hours: u64,
    },
    AccountResetDone {
        at: NaiveDateTime,
    },
    /// The text to each number an account reset removed.
    AccountResetNumberRemoved,
    AccountResetCancelled {
        at: NaiveDateTime,
    },

    // Support.
    SupportReceived {
        ticket: String,
    },
    SupportReply {
        ticket: String,
        reply: String,
    },
    /// An operator's broadcast: their subject and body, with our footer.
    Service {
        subject: String,
        body: String,
    },
    AccountDeleted,

    // Identity verification.
    /// The account now holds a verified identity.
    IdentityVerified {
        at: NaiveDateTime,
        not_me_link: String,
    },
    /// The verified identity data was removed, by the person or by support.
    IdentityRemoved {
        at: NaiveDateTime,
        by_support: bool,
        not_me_link: String,
    },
    /// Verify by mail: an operator marked the letter with the code sent.
    LetterSent {
        sent_at: NaiveDateTime,
        /// The code works until then.
        expires_at: NaiveDateTime,
        /// The code page, `{issuer}/verify/letter`.
        link: String,
    },
    /// Verify by mail: the code is still unused `proofing.letter_reminder_days` after the
    /// letter was sent.
    LetterReminder {
        sent_at: NaiveDateTime,
        expires_at: NaiveDateTime,
        link: String,
    },
    /// Verification with an agent: the call is coming (a booked slot soon, or an agent took
    /// the person's place in the queue), with the meeting link of the operator's video tool.
    RefereeReminder {
        /// None: the next-available queue.
        slot_start: Option<NaiveDateTime>,
        meeting_link: String,
        /// `{issuer}/verify/agent`.
        link: String,
    },
    /// Verification with an agent: the agent decided. Verified: the person finishes with their
    /// password at `link`; otherwise the verification ended.
    RefereeDecided {
        verified: bool,
        link: String,
    },
}

/// A notice written out for one channel: `subject` is the e-mail's subject (for texts and
/// calls, a short title the dev outbox shows); `body` the e-mail, the text or the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// The message keys of one notice: its subject, and its text for each channel it has.
struct Keys {
    subject: &'static str,
    email: Option<&'static str>,
    sms: Option<&'static str>,
    voice: Option<&'static str>,
}

const fn email(subject: &'static str, body: &'static str) -> Keys {
    Keys {
        subject,
        email: Some(body),
        sms: None,
        voice: None,
    }
}

const fn email_and_sms(subject: &'static str, body: &'static str, sms: &'static str) -> Keys {
    Keys {
        subject,
        email: Some(body),
        sms: Some(sms),
        voice: None,
    }
}

const fn sms(subject: &'static str, text: &'static str) -> Keys {
    Keys {
        subject,
        email: None,
        sms: Some(text),
        voice: None,
    }
}

/// Days in notices (a letter's dates): the same unambiguous form in every language, as the
/// printed letter and the print vendor's file have them.
fn day(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// Times in notices: the same unambiguous form in every language.
fn when(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn number(n: u64) -> FluentValue<'static> {
    FluentValue::from(i64::try_from(n).unwrap_or(i64::MAX))
}

fn text(s: &str) -> FluentValue<'static> {
    FluentValue::from(s.to_string())
}

impl Notice {
    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::ConfirmEmail { .. } => "confirm_email",
            Notice::SignUpExisting { .. } => "sign_up_existing",
            Notice::SignInPaused { .. } => "sign_in_paused",
            Notice::SignInLocked { .. } => "sign_in_locked",
            Notice::SecondFactorPaused { .. } => "second_factor_paused",
            Notice::SecurityCode { .. } => "security_code",
            Notice::NewSignIn { .. } => "new_sign_in",
            Notice::PasswordResetLink { .. } => "password_reset_link",
            Notice::PasswordReset { .. } => "password_reset",
            Notice::PasswordChanged { .. } => "password_changed",
            Notice::AuthenticatorApp { .. } => "authenticator_app",
            Notice::SecurityKey { .. } => "security_key",
            Notice::KeyPossiblyCloned { .. } => "key_possibly_cloned",
            Notice::PhonesChanged { .. } => "phones_changed",
            Notice::PhoneOldNumber { .. } => "phone_old_number",
            Notice::PhoneNewNumber { .. } => "phone_new_number",
            Notice::FactorsRemovedBySupport => "factors_removed_by_support",
            Notice::ConfirmAddedEmail { .. } => "confirm_added_email",
            Notice::EmailAdded { .. } => "email_added",
            Notice::EmailConfirmed { .. } => "email_confirmed",
            Notice::SignInEmailChanged { .. } => "sign_in_email_changed",
            Notice::EmailRemoved { .. } => "email_removed",
            Notice::AccountResetConfirm { .. } => "account_reset_confirm",
            Notice::AccountResetRequested { .. } => "account_reset_requested",
            Notice::AccountResetReady { .. } => "account_reset_ready",
            Notice::AccountResetDone { .. } => "account_reset_done",
            Notice::AccountResetNumberRemoved => "account_reset_number_removed",
            Notice::AccountResetCancelled { .. } => "account_reset_cancelled",
            Notice::SupportReceived { .. } => "support_received",
            Notice::SupportReply { .. } => "support_reply",
            Notice::Service { .. } => "service",
            Notice::AccountDeleted => "account_deleted",
            Notice::IdentityVerified { .. } => "identity_verified",
            Notice::IdentityRemoved { .. } => "identity_removed",
            Notice::LetterSent { .. } => "letter_sent",
            Notice::LetterReminder { .. } => "letter_reminder",
            Notice::RefereeReminder { .. } => "referee_reminder",
            Notice::RefereeDecided { .. } => "referee_decided",
        }
    }

    fn keys(&self) -> Keys {
        match self {
            Notice::ConfirmEmail { .. } => {
                email("notice-confirm-email-subject", "notice-confirm-email-body")
            }
            Notice::SignUpExisting { .. } => email(
                "notice-sign-up-existing-subject",
                "notice-sign-up-existing-body",
            ),
            Notice::SignInPaused { .. } => email_and_sms(
                "notice-sign-in-paused-subject",
                "notice-sign-in-paused-body",
                "notice-sign-in-paused-sms",
            ),
            Notice::SignInLocked { .. } => email_and_sms(
                "notice-sign-in-locked-subject",
                "notice-sign-in-locked-body",
                "notice-sign-in-locked-sms",
            ),
            Notice::SecondFactorPaused { .. } => email_and_sms(
                "notice-second-factor-paused-subject",
                "notice-second-factor-paused-body",
                "notice-second-factor-paused-sms",
            ),
            Notice::SecurityCode { .. } => Keys {
                subject: "notice-security-code-subject",
                email: None,
                sms: Some("notice-security-code-sms"),
                voice: Some("notice-security-code-voice"),
            },
            Notice::NewSignIn { .. } => email_and_sms(
                "notice-new-sign-in-subject",
                "notice-new-sign-in-body",
                "notice-new-sign-in-sms",
            ),
            Notice::PasswordResetLink { .. } => email(
                "notice-password-reset-link-subject",
                "notice-password-reset-link-body",
            ),
            Notice::PasswordReset { .. } => email_and_sms(
                "notice-password-reset-subject",
                "notice-password-reset-body",
                "notice-password-reset-sms",
            ),
            Notice::PasswordChanged { .. } => email_and_sms(
                "notice-password-changed-subject",
                "notice-password-changed-body",
                "notice-password-changed-sms",
            ),
            Notice::AuthenticatorApp { .. } => email(
                "notice-methods-changed-subject",
                "notice-methods-changed-body",
            ),
            Notice::SecurityKey { .. } => email_and_sms(
                "notice-key-changed-subject",
                "notice-key-changed-body",
                "notice-key-changed-sms",
            ),
            Notice::KeyPossiblyCloned { .. } => {
                email("notice-key-cloned-subject", "notice-key-cloned-body")
            }
            Notice::PhonesChanged { .. } => email(
                "notice-phones-changed-subject",
                "notice-phones-changed-body",
            ),
            Notice::PhoneOldNumber { .. } => sms(
                "notice-phone-old-number-subject",
                "notice-phone-old-number-sms",
            ),
            Notice::PhoneNewNumber { .. } => sms(
                "notice-phone-new-number-subject",
                "notice-phone-new-number-sms",
            ),
            Notice::FactorsRemovedBySupport => email(
                "notice-factors-removed-by-support-subject",
                "notice-factors-removed-by-support-body",
            ),
            Notice::ConfirmAddedEmail { .. } => email(
                "notice-confirm-added-email-subject",
                "notice-confirm-added-email-body",
            ),
            Notice::EmailAdded { .. } => {
                email("notice-email-added-subject", "notice-email-added-body")
            }
            Notice::EmailConfirmed { .. } => email_and_sms(
                "notice-email-confirmed-subject",
                "notice-email-confirmed-body",
                "notice-email-confirmed-sms",
            ),
            Notice::SignInEmailChanged { .. } => email_and_sms(
                "notice-sign-in-email-changed-subject",
                "notice-sign-in-email-changed-body",
                "notice-sign-in-email-changed-sms",
            ),
            Notice::EmailRemoved { .. } => email_and_sms(
                "notice-email-removed-subject",
                "notice-email-removed-body",
                "notice-email-removed-sms",
            ),
            Notice::AccountResetConfirm { .. } => email(
                "notice-account-reset-confirm-subject",
                "notice-account-reset-confirm-body",
            ),
            Notice::AccountResetRequested { .. } => email_and_sms(
                "notice-account-reset-requested-subject",
                "notice-account-reset-requested-body",
                "notice-account-reset-requested-sms",
            ),
            Notice::AccountResetReady { .. } => email(
                "notice-account-reset-ready-subject",
                "notice-account-reset-ready-body",
            ),
            Notice::AccountResetDone { .. } => email(
                "notice-account-reset-done-subject",
                "notice-account-reset-done-body",
            ),
            Notice::AccountResetNumberRemoved => sms(
                "notice-account-reset-number-removed-subject",
                "notice-account-reset-number-removed-sms",
            ),
            Notice::AccountResetCancelled { .. } => email_and_sms(
                "notice-account-reset-cancelled-subject",
                "notice-account-reset-cancelled-body",
                "notice-account-reset-cancelled-sms",
            ),
            Notice::SupportReceived { .. } => email(
                "notice-support-received-subject",
                "notice-support-received-body",
            ),
            Notice::SupportReply { .. } => {
                email("notice-support-reply-subject", "notice-support-reply-body")
            }
            Notice::Service { .. } => email("notice-service-subject", "notice-service-body"),
            Notice::AccountDeleted => email(
                "notice-account-deleted-subject",
                "notice-account-deleted-body",
            ),
            Notice::IdentityVerified { .. } => email_and_sms(
                "notice-identity-verified-subject",
                "notice-identity-verified-body",
                "notice-identity-verified-sms",
            ),
            Notice::IdentityRemoved { .. } => email_and_sms(
                "notice-identity-removed-subject",
                "notice-identity-removed-body",
                "notice-identity-removed-sms",
            ),
            Notice::LetterSent { .. } => {
                email("notice-letter-sent-subject", "notice-letter-sent-body")
            }
            Notice::LetterReminder { .. } => email(
                "notice-letter-reminder-subject",
                "notice-letter-reminder-body",
            ),
            Notice::RefereeReminder { .. } => email_and_sms(
                "notice-referee-reminder-subject",
                "notice-referee-reminder-body",
                "notice-referee-reminder-sms",
            ),
            Notice::RefereeDecided { .. } => email(
                "notice-referee-decided-subject",
                "notice-referee-decided-body",
            ),
        }
    }

    /// The values the notice's messages use, besides `site`, `help` and `reset`.
    fn args(&self, lang: Lang) -> Vec<(&'static str, FluentValue<'static>)> {
        match self {
            Notice::ConfirmEmail { link, valid_hours } => {
                vec![("link", text(link)), ("hours", number(*valid_hours))]
            }
            Notice::SignUpExisting { sign_in_link } => vec![("link", text(sign_in_link))],
            Notice::SignInPaused { minutes, ip } => {
                vec![("minutes", number(*minutes)), ("ip", text(ip))]
            }
            Notice::SignInLocked { ip } => vec![("ip", text(ip))],
            Notice::SecondFactorPaused { failures, minutes } => vec![
                ("failures", number(u64::from(*failures))),
                ("minutes", number(*minutes)),
            ],
            Notice::SecurityCode { code, minutes } => {
                // Read out digit by digit: "1, 2, 3".
                let spoken: Vec<String> = code.chars().map(String::from).collect();
                vec![
                    ("code", text(code)),
                    ("spoken", text(&spoken.join(", "))),
                    ("minutes", number(*minutes)),
                ]
            }
            Notice::NewSignIn {
                reason,
                at,
                browser,
                ip,
                not_me_link,
            } => {
                // The parsed summary ("Chrome on Windows"), never the raw user agent: that is
                // whatever the signer-in chose to send, and an alert mustn't quote it.
                let browser = crate::accounts::activity::Device::from_user_agent(browser)
                    .map(|d| d.words(lang))
                    .unwrap_or_else(|| lang.t("notice-unknown-browser"));
                let why = match reason {
                    NewSignInReason::NewDevice => "device",
                    NewSignInReason::NewNetwork => "network",
                };
                vec![
                    ("why", text(why)),
                    ("when", text(&when(at))),
                    ("browser", text(&browser)),
                    ("ip", text(ip)),
                    ("link", text(not_me_link)),
                ]
            }
            Notice::PasswordResetLink { link, minutes } => {
                vec![("link", text(link)), ("minutes", number(*minutes))]
            }
            Notice::PasswordReset { at } => vec![("when", text(&when(at)))],
            Notice::PasswordChanged { at, not_me_link } => {
                vec![("when", text(&when(at))), ("link", text(not_me_link))]
            }
            Notice::AuthenticatorApp {
                change,
                at,
                not_me_link,
            } => {
                let change = match change {
                    AppChange::Added => "app-added",
                    AppChange::Removed => "app-removed",
                };
                vec![
                    ("change", text(change)),
                    ("when", text(&when(at))),
                    ("link", text(not_me_link)),
                ]
            }
            Notice::SecurityKey {
                change,
                kind,
                name,
                at,
                not_me_link,
            } => {
                use crate::mfa::webauthn::{KeyChange, KeyKind};
                let change = match (change, kind) {
                    (KeyChange::Added, KeyKind::SecurityKey) => "key-added",
                    (KeyChange::Removed, KeyKind::SecurityKey) => "key-removed",
                    (KeyChange::Added, KeyKind::Passkey) => "passkey-added",
                    (KeyChange::Removed, KeyKind::Passkey) => "passkey-removed",
                };
                vec![
                    ("change", text(change)),
                    ("name", text(name)),
                    ("when", text(&when(at))),
                    ("link", text(not_me_link)),
                ]
            }
            Notice::KeyPossiblyCloned { name, at } => {
                vec![("name", text(name)), ("when", text(&when(at)))]
            }
            Notice::PhonesChanged {
                old_masked,
                new_masked,
                at,
                not_me_link,
            } => {
                let change = match (old_masked, new_masked) {
                    (Some(_), Some(_)) => "replaced",
                    (None, Some(_)) => "added",
                    (Some(_), None) => "removed",
                    (None, None) => "other",
                };
                vec![
                    ("change", text(change)),
                    ("old", text(old_masked.as_deref().unwrap_or_default())),
                    ("new", text(new_masked.as_deref().unwrap_or_default())),
                    ("when", text(&when(at))),
                    ("link", text(not_me_link)),
                ]
            }
            Notice::PhoneOldNumber { at, not_me_link } => {
                vec![("when", text(&when(at))), ("link", text(not_me_link))]
            }
            Notice::PhoneNewNumber { at } => vec![("when", text(&when(at)))],
            Notice::FactorsRemovedBySupport
            | Notice::AccountResetNumberRemoved
            | Notice::AccountDeleted => vec![],
            Notice::ConfirmAddedEmail { link } => vec![("link", text(link))],
            Notice::EmailAdded { address }
            | Notice::EmailConfirmed { address }
            | Notice::EmailRemoved { address } => vec![("address", text(address))],
            Notice::SignInEmailChanged { old, new } => {
                vec![("old", text(old)), ("new", text(new))]
            }
            Notice::AccountResetConfirm { link, wait_hours } => {
                vec![("link", text(link)), ("hours", number(*wait_hours))]
            }
            Notice::AccountResetRequested { at, ready_at } => {
                vec![("when", text(&when(at))), ("ready", text(&when(ready_at)))]
            }
            Notice::AccountResetReady { link, valid_hours } => {
                vec![("link", text(link)), ("hours", number(*valid_hours))]
            }
            Notice::AccountResetDone { at } | Notice::AccountResetCancelled { at } => {
                vec![("when", text(&when(at)))]
            }
            Notice::SupportReceived { ticket } => vec![("ticket", text(ticket))],
            Notice::SupportReply { ticket, reply } => {
                vec![("ticket", text(ticket)), ("reply", text(reply))]
            }
            Notice::Service { subject, body } => {
                vec![("subject", text(subject)), ("body", text(body))]
            }
            Notice::IdentityVerified { at, not_me_link } => {
                vec![("when", text(&when(at))), ("link", text(not_me_link))]
            }
            Notice::IdentityRemoved {
                at,
                by_support,
                not_me_link,
            } => vec![
                ("when", text(&when(at))),
                ("by", text(if *by_support { "support" } else { "you" })),
                ("link", text(not_me_link)),
            ],
            Notice::LetterSent {
                sent_at,
                expires_at,
                link,
            }
            | Notice::LetterReminder {
                sent_at,
                expires_at,
                link,
            } => vec![
                ("sent", text(&day(sent_at))),
                ("until", text(&day(expires_at))),
                ("link", text(link)),
            ],
            Notice::RefereeReminder {
                slot_start,
                meeting_link,
                link,
            } => vec![
                (
                    "when",
                    text(&slot_start.as_ref().map(when).unwrap_or_default()),
                ),
                (
                    "queue",
                    text(if slot_start.is_some() { "no" } else { "yes" }),
                ),
                ("meeting", text(meeting_link)),
                ("link", text(link)),
            ],
            Notice::RefereeDecided { verified, link } => vec![
                (
                    "outcome",
                    text(if *verified {
                        "verified"
                    } else {
                        "not_verified"
                    }),
                ),
                ("link", text(link)),
            ],
        }
    }

    /// The channels this notice is written for.
    pub fn channels(&self) -> Vec<Channel> {
        let keys = self.keys();
        [
            (Channel::Email, keys.email),
            (Channel::Sms, keys.sms),
            (Channel::Voice, keys.voice),
        ]
        .into_iter()
        .filter_map(|(channel, key)| key.map(|_| channel))
        .collect()
    }

    /// The notice in `lang` for `channel`; None when it has no text for that channel.
    pub fn render(&self, channel: Channel, lang: Lang, settings: &Settings) -> Option<Rendered> {
        let keys = self.keys();
        let body_key = match channel {
            Channel::Email => keys.email,
            Channel::Sms => keys.sms,
            Channel::Voice => keys.voice,
        }?;
        let mut args = vec![
            ("site", text(&settings.site_name)),
            ("help", text(&format!("{}/help", settings.issuer))),
            (
                "reset",
                text(&format!("{}/forgot-password", settings.issuer)),
            ),
        ];
        args.extend(self.args(lang));
        let mut body = lang.t_args(body_key, &args);
        if channel == Channel::Email {
            body.push('\n');
        }
        Some(Rendered {
            subject: lang.t_args(keys.subject, &args),
            body,
        })
    }

    /// The message to hand to the notifier; None when the notice has no text for `channel`.
    pub fn message(
        &self,
        channel: Channel,
        to: &str,
        lang: Lang,
        settings: &Settings,
    ) -> Option<Message> {
        let rendered = self.render(channel, lang, settings)?;
        Some(Message {
            channel,
            to: to.to_string(),
            subject: rendered.subject,
            body: rendered.body,
            lang,
        })
    }
}

/// Sends `notice` to `to` on `channel` in `lang`. A failed send is returned (the router has
/// logged it), so the flow decides what the person sees.
pub async fn send(
    ctx: &Ctx,
    channel: Channel,
    to: &str,
    lang: Lang,
    notice: &Notice,
) -> anyhow::Result<()> {
    let Some(message) = written(ctx, channel, lang, to, notice) else {
        anyhow::bail!(
            "the {} notice has no {} text",
            notice.kind(),
            channel.as_str()
        );
    };
    deliver(ctx, notice.kind(), message).await
}

/// [`send`] for a notice that must not fail the person's request (alerts, links that can be
/// asked for again): a failure is logged (by the sender), not returned.
pub async fn send_best_effort(ctx: &Ctx, channel: Channel, to: &str, lang: Lang, notice: &Notice) {
    if let Some(message) = written(ctx, channel, lang, to, notice) {
        let _ = deliver(ctx, notice.kind(), message).await;
    }
}

/// Hands a written notice to the notifier, counting it as sent or failed.
async fn deliver(ctx: &Ctx, kind: &'static str, message: super::Message) -> anyhow::Result<()> {
    let channel = message.channel;
    let result = ctx.notifier.send(message).await;
    ctx.metrics.notice(channel, kind, result.is_ok());
    result
}

fn written(ctx: &Ctx, channel: Channel, lang: Lang, to: &str, notice: &Notice) -> Option<Message> {
    let message = notice.message(channel, to, lang, &ctx.settings);
    if message.is_none() {
        // A flow asked for a channel the notice isn't written for: a bug the unit tests of
        // this file are there to catch.
        tracing::error!(
            kind = notice.kind(),
            channel = channel.as_str(),
            "notice has no text for this channel"
        );
    }
    message
}

/// Where an account's notices go, and in which language.
pub struct AccountContacts {
    pub lang: Lang,
    /// Every confirmed address, the primary first.
    pub emails: Vec<String>,
    /// Every phone number, the default first.
    pub phones: Vec<String>,
    pub default_phone: Option<String>,
}

/// The account's language, confirmed addresses and phone numbers (decrypted). An account that
/// is gone has none.
pub async fn contacts(ctx: &Ctx, user_id: &str) -> anyhow::Result<AccountContacts> {
    let uid = user_id.to_string();
    let (user, emails, phones) = ctx
        .db
        .run(move |c| {
            let Some(user) = crate::accounts::users::by_id(c, &uid)? else {
                return Ok((None, Vec::new(), Vec::new()));
            };
            let emails = crate::accounts::emails::confirmed_addresses(c, &uid)?;
            let phones = crate::mfa::methods::enrolled(c, &uid)?.phones;
            Ok((Some(user), emails, phones))
        })
        .await?;
    let lang = user
        .as_ref()
        .map(crate::accounts::users::lang_of)
        .unwrap_or_default();
    let mut numbers = Vec::new();
    let mut default_phone = None;
    for phone in &phones {
        // A number that can't be decrypted can't be texted; the rest still are.
        if let Ok(number) = crate::mfa::methods::decrypt_phone(&ctx.master, phone) {
            if phone.is_default && default_phone.is_none() {
                default_phone = Some(number.clone());
            }
            numbers.push(number);
        }
    }
    Ok(AccountContacts {
        lang,
        emails,
        phones: numbers,
        default_phone,
    })
}

/// The language of the account's notices (English for an account that is gone).
pub async fn lang_of_account(ctx: &Ctx, user_id: &str) -> anyhow::Result<Lang> {
    let uid = user_id.to_string();
    let user = ctx
        .db
        .run(move |c| crate::accounts::users::by_id(c, &uid))
        .await?;
    Ok(user
        .as_ref()
        .map(crate::accounts::users::lang_of)
        .unwrap_or_default())
}

/// The language the account chose, else `fallback` (the language of the request at hand: a
/// sign-up before the person ever chose one).
pub async fn lang_of_account_or(ctx: &Ctx, user_id: &str, fallback: Lang) -> anyhow::Result<Lang> {
    let uid = user_id.to_string();
    let user = ctx
        .db
        .run(move |c| crate::accounts::users::by_id(c, &uid))
        .await?;
    Ok(user
        .and_then(|u| u.locale)
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(fallback))
}

/// Which of the account's phones also get a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Texts {
    None,
    DefaultPhone,
    EveryPhone,
}

/// E-mails `notice` to every confirmed address of the account (and `extra`, e.g. an address
/// just removed), and texts it to the phones `texts` names, in the account's language. Best
/// effort: the change it announces stands whatever the relay says.
pub async fn tell_account(
    ctx: &Ctx,
    user_id: &str,
    extra: Option<&str>,
    texts: Texts,
    notice: &Notice,
) -> anyhow::Result<()> {
    let contacts = contacts(ctx, user_id).await?;
    let mut emails = contacts.emails;
    if let Some(e) = extra {
        if !emails.iter().any(|a| a == e) {
            emails.push(e.to_string());
        }
    }
    for address in &emails {
        send_best_effort(ctx, Channel::Email, address, contacts.lang, notice).await;
    }
    let numbers = match texts {
        Texts::None => Vec::new(),
        Texts::DefaultPhone => contacts.default_phone.into_iter().collect(),
        Texts::EveryPhone => contacts.phones,
    };
    for number in &numbers {
        send_best_effort(ctx, Channel::Sms, number, contacts.lang, notice).await;
    }
    Ok(())
}

/// How [`email_account`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Emailed {
    /// The account's confirmed addresses.
    pub addresses: usize,
    /// Those the notifier took.
    pub delivered: usize,
}

impl Emailed {
    /// There was somewhere to send it, and nowhere took it: worth trying again later.
    pub fn all_failed(&self) -> bool {
        self.addresses > 0 && self.delivered == 0
    }
}

/// E-mails `notice` to every confirmed address of the account, in its language, and says how
/// many took it: for a notice whose delivery is claimed in the database and given back when
/// every send failed. A failed send is logged (by the sender), not returned.
pub async fn email_account(ctx: &Ctx, user_id: &str, notice: &Notice) -> anyhow::Result<Emailed> {
    let contacts = contacts(ctx, user_id).await?;
    let mut delivered = 0;
    for address in &contacts.emails {
        if send(ctx, Channel::Email, address, contacts.lang, notice)
            .await
            .is_ok()
        {
            delivered += 1;
        }
    }
    Ok(Emailed {
        addresses: contacts.emails.len(),
        delivered,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_790_000_000, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    /// One of each notice, with plausible values.
    pub(crate) fn examples() -> Vec<Notice> {
        let link = "https://id.example/x?token=abc".to_string();
        let all = vec![
            Notice::ConfirmEmail {
                link: link.clone(),
                valid_hours: 24,
            },
            Notice::SignUpExisting {
                sign_in_link: link.clone(),
            },
            Notice::SignInPaused {
                minutes: 15,
                ip: "203.0.113.9".into(),
            },
            Notice::SignInLocked {
                ip: "203.0.113.9".into(),
            },
            Notice::SecondFactorPaused {
                failures: 10,
                minutes: 10,
            },
            Notice::SecurityCode {
                code: "012345".into(),
                minutes: 10,
            },
            Notice::NewSignIn {
                reason: NewSignInReason::NewDevice,
                at: at(),
                browser: String::new(),
                ip: "203.0.113.9".into(),
                not_me_link: link.clone(),
            },
            Notice::NewSignIn {
                reason: NewSignInReason::NewNetwork,
                at: at(),
                browser: "Firefox".into(),
                ip: "2001:db8::1".into(),
                not_me_link: link.clone(),
            },
            Notice::PasswordResetLink {
                link: link.clone(),
                minutes: 30,
            },
            Notice::PasswordReset { at: at() },
            Notice::PasswordChanged {
                at: at(),
                not_me_link: link.clone(),
            },
            Notice::AuthenticatorApp {
                change: AppChange::Added,
                at: at(),
                not_me_link: link.clone(),
            },
            Notice::AuthenticatorApp {
                change: AppChange::Removed,
                at: at(),
                not_me_link: link.clone(),
            },
            Notice::SecurityKey {
                change: crate::mfa::webauthn::KeyChange::Added,
                kind: crate::mfa::webauthn::KeyKind::Passkey,
                name: "Laptop".into(),
                at: at(),
                not_me_link: link.clone(),
            },
            Notice::SecurityKey {
                change: crate::mfa::webauthn::KeyChange::Removed,
                kind: crate::mfa::webauthn::KeyKind::SecurityKey,
                name: "Blue key".into(),
                at: at(),
                not_me_link: link.clone(),
            },
            Notice::KeyPossiblyCloned {
                name: "Blue key".into(),
                at: at(),
            },
            Notice::PhonesChanged {
                old_masked: Some("•••-•••-1234".into()),
                new_masked: Some("•••-•••-9876".into()),
                at: at(),
                not_me_link: link.clone(),
            },
            Notice::PhonesChanged {
                old_masked: None,
                new_masked: Some("•••-•••-9876".into()),
                at: at(),
                not_me_link: link.clone(),
            },
            Notice::PhonesChanged {
                old_masked: Some("•••-•••-1234".into()),
                new_masked: None,
                at: at(),
                not_me_link: link.clone(),
            },
            Notice::PhoneOldNumber {
                at: at(),
                not_me_link: link.clone(),
            },
            Notice::PhoneNewNumber { at: at() },
            Notice::FactorsRemovedBySupport,
            Notice::ConfirmAddedEmail { link: link.clone() },
            Notice::EmailAdded {
                address: "new@example.com".into(),
            },
            Notice::EmailConfirmed {
                address: "new@example.com".into(),
            },
            Notice::SignInEmailChanged {
                old: "old@example.com".into(),
                new: "new@example.com".into(),
            },
            Notice::EmailRemoved {
                address: "old@example.com".into(),
            },
            Notice::AccountResetConfirm {
                link: link.clone(),
                wait_hours: 1,
            },
            Notice::AccountResetRequested {
                at: at(),
                ready_at: at(),
            },
            Notice::AccountResetReady {
                link: link.clone(),
                valid_hours: 24,
            },
            Notice::AccountResetDone { at: at() },
            Notice::AccountResetNumberRemoved,
            Notice::AccountResetCancelled { at: at() },
            Notice::SupportReceived {
                ticket: "VT-12345678".into(),
            },
            Notice::SupportReply {
                ticket: "VT-12345678".into(),
                reply: "Hello,\nwe fixed it.".into(),
            },
            Notice::Service {
                subject: "Maintenance".into(),
                body: "Tonight.".into(),
            },
            Notice::AccountDeleted,
            Notice::IdentityVerified {
                at: at(),
                not_me_link: link.clone(),
            },
            Notice::IdentityRemoved {
                at: at(),
                by_support: true,
                not_me_link: link.clone(),
            },
            Notice::LetterSent {
                sent_at: at(),
                expires_at: at(),
                link: link.clone(),
            },
            Notice::LetterReminder {
                sent_at: at(),
                expires_at: at(),
                link: link.clone(),
            },
            Notice::RefereeReminder {
                slot_start: Some(at()),
                meeting_link: link.clone(),
                link: link.clone(),
            },
            Notice::RefereeDecided {
                verified: true,
                link: link.clone(),
            },
        ];
        // A new variant must be added to the list above: this match reminds whoever adds one.
        for n in &all {
            match n {
                Notice::ConfirmEmail { .. }
                | Notice::SignUpExisting { .. }
                | Notice::SignInPaused { .. }
                | Notice::SignInLocked { .. }
                | Notice::SecondFactorPaused { .. }
                | Notice::SecurityCode { .. }
                | Notice::NewSignIn { .. }
                | Notice::PasswordResetLink { .. }
                | Notice::PasswordReset { .. }
                | Notice::PasswordChanged { .. }
                | Notice::AuthenticatorApp { .. }
                | Notice::SecurityKey { .. }
                | Notice::KeyPossiblyCloned { .. }
                | Notice::PhonesChanged { .. }
                | Notice::PhoneOldNumber { .. }
                | Notice::PhoneNewNumber { .. }
                | Notice::FactorsRemovedBySupport
                | Notice::ConfirmAddedEmail { .. }
                | Notice::EmailAdded { .. }
                | Notice::EmailConfirmed { .. }
                | Notice::SignInEmailChanged { .. }
                | Notice::EmailRemoved { .. }
                | Notice::AccountResetConfirm { .. }
                | Notice::AccountResetRequested { .. }
                | Notice::AccountResetReady { .. }
                | Notice::AccountResetDone { .. }
                | Notice::AccountResetNumberRemoved
                | Notice::AccountResetCancelled { .. }
                | Notice::SupportReceived { .. }
                | Notice::SupportReply { .. }
                | Notice::Service { .. }
                | Notice::AccountDeleted
                | Notice::IdentityVerified { .. }
                | Notice::IdentityRemoved { .. }
                | Notice::LetterSent { .. }
                | Notice::LetterReminder { .. }
                | Notice::RefereeReminder { .. }
                | Notice::RefereeDecided { .. } => {}
            }
        }
        all
    }

    const KINDS: usize = 38;

    #[test]
    fn every_notice_renders_nonempty_text_in_both_languages_on_each_of_its_channels() {
        let settings = Settings::default();
        let examples = examples();
        let kinds: std::collections::BTreeSet<&str> = examples.iter().map(Notice::kind).collect();
        assert_eq!(kinds.len(), KINDS, "one example of each kind");
        for notice in &examples {
            let channels = notice.channels();
            assert!(!channels.is_empty(), "{} goes nowhere", notice.kind());
            for channel in [Channel::Email, Channel::Sms, Channel::Voice] {
                for lang in Lang::ALL {
                    let rendered = notice.render(channel, lang, &settings);
                    let Some(r) = rendered else {
                        assert!(!channels.contains(&channel));
                        continue;
                    };
                    let what = format!("{} {} {}", notice.kind(), channel.as_str(), lang.tag());
                    assert!(!r.subject.trim().is_empty(), "{what}: empty subject");
                    assert!(!r.body.trim().is_empty(), "{what}: empty body");
                    // A lookup that failed leaves the key; a variable without a value, `{$x}`.
                    for t in [&r.subject, &r.body] {
                        assert!(!t.contains("notice-"), "{what}: a message is missing: {t}");
                        assert!(!t.contains("{$"), "{what}: a value is missing: {t}");
                        assert!(!t.contains("\u{2068}"), "{what}: isolation marks: {t}");
                    }
                    assert!(
                        r.subject.contains("Verity")
                            || matches!(
                                notice,
                                Notice::SupportReceived { .. } | Notice::Service { .. }
                            ),
                        "{what}: {}",
                        r.subject
                    );
                    if channel != Channel::Email {
                        assert!(
                            r.body.chars().count() <= 320,
                            "{what}: a text of {} characters",
                            r.body.chars().count()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn spanish_and_english_texts_differ_and_keep_their_values() {
        let settings = Settings::default();
        for notice in examples() {
            for channel in notice.channels() {
                let en = notice
                    .render(channel, Lang::En, &settings)
                    .unwrap_or_else(|| panic!("{}", notice.kind()));
                let es = notice
                    .render(channel, Lang::Es, &settings)
                    .unwrap_or_else(|| panic!("{}", notice.kind()));
                if !matches!(notice, Notice::Service { .. }) {
                    assert_ne!(
                        en.body,
                        es.body,
                        "{} {} is not translated",
                        notice.kind(),
                        channel.as_str()
                    );
                }
                // Links, addresses and codes survive translation.
                for value in [
                    "https://id.example/x?token=abc",
                    "new@example.com",
                    "VT-12345678",
                    "203.0.113.9",
                ] {
                    assert_eq!(
                        en.body.contains(value),
                        es.body.contains(value),
                        "{} {} {value}",
                        notice.kind(),
                        channel.as_str()
                    );
                }
            }
        }
    }

    #[test]
    fn a_security_code_comes_first_in_a_text_and_digit_by_digit_in_a_call() {
        let settings = Settings::default();
        let code = Notice::SecurityCode {
            code: "012345".into(),
            minutes: 10,
        };
        for lang in Lang::ALL {
            let sms = code
                .render(Channel::Sms, lang, &settings)
                .unwrap_or_else(|| panic!("sms"));
            assert!(sms.body.starts_with("012345 "), "{}", sms.body);
            let voice = code
                .render(Channel::Voice, lang, &settings)
                .unwrap_or_else(|| panic!("voice"));
            let digits: String = voice.body.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(digits, "012345012345", "{}", voice.body);
            assert!(voice.body.contains("0, 1, 2, 3, 4, 5"), "{}", voice.body);
            assert!(code.render(Channel::Email, lang, &settings).is_none());
        }
    }

    #[test]
    fn plurals_follow_the_number() {
        let settings = Settings::default();
        let one = Notice::AccountResetConfirm {
            link: "x".into(),
            wait_hours: 1,
        };
        let many = Notice::AccountResetConfirm {
            link: "x".into(),
            wait_hours: 24,
        };
        let body = |n: &Notice, lang| {
            n.render(Channel::Email, lang, &settings)
                .map(|r| r.body)
                .unwrap_or_default()
        };
        assert!(body(&one, Lang::En).contains("a wait of 1 hour for"));
        assert!(body(&many, Lang::En).contains("a wait of 24 hours for"));
        assert!(body(&one, Lang::Es).contains("esperar 1 hora."));
        assert!(body(&many, Lang::Es).contains("esperar 24 horas."));
    }

    #[test]
    fn email_bodies_keep_their_paragraphs() {
        let settings = Settings::default();
        let n = Notice::PasswordResetLink {
            link: "https://id.example/r".into(),
            minutes: 30,
        };
        let body = n
            .render(Channel::Email, Lang::En, &settings)
            .map(|r| r.body)
            .unwrap_or_default();
        assert!(body.contains("account.\n\nTo choose"), "{body:?}");
        assert!(body.contains("\n\nhttps://id.example/r\n\n"), "{body:?}");
        assert!(body.ends_with("as it is.\n"), "{body:?}");
    }
}
