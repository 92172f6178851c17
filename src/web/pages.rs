//! Askama page structs. One per template in `templates/`; each carries the shared [`Layout`].

use askama::Template;

use crate::error::AppError;
use crate::i18n::{FluentValue, Lang};
pub use crate::web::page_parts::{FieldErrors, Steps};

/// What `base.html` needs on every page.
pub struct Layout {
    pub site_name: String,
    pub title: String,
    /// The signed-in person's email, for the header and the sign-out button.
    pub signed_in: Option<String>,
    pub csrf: String,
    /// The operator's logo (`site_logo`), beside the site name in the header.
    pub logo_url: Option<String>,
    /// The "official website of the United States government" banner (`official_banner`).
    pub official_banner: bool,
    /// The language of this page; `t`, `t1` and `tn` look messages up in it.
    pub lang: Lang,
    /// This page's path and query, so the language switcher comes back here.
    pub here: String,
    /// How to reach support, in this page's language (operator settings).
    pub support: SupportContact,
}

/// Support's phone number, hours and current status message, as configured; empty when not.
#[derive(Clone, Debug, Default)]
pub struct SupportContact {
    pub phone: String,
    pub hours: String,
    pub status: String,
}

impl SupportContact {
    pub fn from_settings(settings: &crate::config::SupportSettings, lang: Lang) -> SupportContact {
        let pick = |m: &std::collections::BTreeMap<String, String>| {
            m.get(lang.tag())
                .or_else(|| m.get(Lang::En.tag()))
                .cloned()
                .unwrap_or_default()
        };
        SupportContact {
            phone: settings.phone.clone(),
            hours: pick(&settings.hours),
            status: pick(&settings.status_message),
        }
    }

    pub fn has_phone(&self) -> bool {
        !self.phone.is_empty()
    }
}

impl Layout {
    /// The frame of a page in `lang` for this deployment (site name, logo, banner, support).
    pub fn new(ctx: &crate::Ctx, lang: Lang, title: &str, here: String, csrf: String) -> Layout {
        Layout {
            site_name: ctx.settings.site_name.clone(),
            title: title.to_string(),
            signed_in: None,
            csrf,
            logo_url: ctx.site_logo.as_ref().map(|logo| logo.url()),
            official_banner: ctx.settings.official_banner,
            lang,
            here,
            support: SupportContact::from_settings(&ctx.settings.support, lang),
        }
    }

    /// The message `key` in this page's language.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// The message `key` with one `{ $name }` filled in.
    pub fn t1(&self, key: &str, name: &'static str, value: &str) -> String {
        self.lang.t_args(key, &[(name, FluentValue::from(value))])
    }

    /// The message `key` with `{ $count }` (plural rules apply).
    pub fn tn(&self, key: &str, count: i64) -> String {
        self.lang
            .t_args(key, &[("count", FluentValue::from(count))])
    }

    /// The language the switcher offers: the other one.
    pub fn other_lang(&self) -> Lang {
        match self.lang {
            Lang::En => Lang::Es,
            Lang::Es => Lang::En,
        }
    }

    /// The other language's own name ("Español" on an English page).
    pub fn other_lang_name(&self) -> String {
        self.other_lang().t("language-name")
    }

    /// The cacheable URL of a file under `static/`: templates never write `/static/…`.
    pub fn asset(&self, path: &str) -> String {
        crate::assets::url(path)
    }
}

pub fn render(page: &impl Template) -> Result<actix_web::HttpResponse, AppError> {
    let body = page.render().map_err(|e| AppError::Internal(e.into()))?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

pub fn render_status(
    page: &impl Template,
    status: actix_web::http::StatusCode,
) -> Result<actix_web::HttpResponse, AppError> {
    let body = page.render().map_err(|e| AppError::Internal(e.into()))?;
    Ok(actix_web::HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
}

/// A sign-in whose state was lost, with the way back to the app it was for.
#[derive(Template)]
#[template(path = "interrupted.html")]
pub struct InterruptedPage {
    pub layout: Layout,
    pub client_name: String,
    /// `/authorize?…`: the app's request again.
    pub restart: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    /// Unused backup codes, when the person has a set and few are left.
    pub backup_codes_low: Option<i64>,
}

impl HomePage {
    pub fn backup_codes_left(&self) -> Option<i64> {
        self.backup_codes_low
    }
}

#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage {
    pub layout: Layout,
    pub email: String,
    pub authz: String,
    /// Every field's problem at once (email, terms).
    pub errors: FieldErrors,
    /// A problem with the whole form (too many sign-ups).
    pub form_error: Option<String>,
    pub steps: Steps,
}

impl SignupPage {
    /// Cancel: back to signing in (for the same app, if one sent the person).
    pub fn sign_in_link(&self) -> String {
        sign_in_link(&self.authz)
    }
}

/// The sign-in page, continuing the authorization request `authz` if there is one.
pub fn sign_in_link(authz: &str) -> String {
    if authz.is_empty() {
        "/login".to_string()
    } else {
        format!("/login?authz={}", crate::web::common::enc(authz))
    }
}

#[derive(Template)]
#[template(path = "check_email.html")]
pub struct CheckEmailPage {
    pub layout: Layout,
    pub email: String,
    pub authz: String,
    pub steps: Steps,
}

/// Where a sign-up's confirmation link lands: the person chooses their password.
#[derive(Template)]
#[template(path = "choose_password.html")]
pub struct ChoosePasswordPage {
    pub layout: Layout,
    pub email: String,
    pub token: String,
    pub authz: String,
    pub min_length: usize,
    pub max_length: usize,
    /// Every field's problem at once (password, password_confirmation).
    pub errors: FieldErrors,
    pub steps: Steps,
}

impl ChoosePasswordPage {
    pub fn hint(&self) -> String {
        self.layout.lang.t_args(
            "choose-password-hint",
            &[
                ("min", FluentValue::from(self.min_length as i64)),
                ("max", FluentValue::from(self.max_length as i64)),
            ],
        )
    }
}

#[derive(Template)]
#[template(path = "confirm_email.html")]
pub struct ConfirmEmailPage {
    pub layout: Layout,
    pub confirmed: bool,
    pub sign_in_link: String,
}

/// The page of an add-email link: `state` is "confirm" (the button), "sign_in" (only the
/// account that added it may confirm; "not_yours" after another account pressed the button),
/// "confirmed" or "invalid".
#[derive(Template)]
#[template(path = "confirm_added_email.html")]
pub struct ConfirmAddedEmailPage {
    pub layout: Layout,
    pub state: String,
    pub email: String,
    pub token: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    /// "Sign in with a passkey" is offered (WebAuthn works on this deployment).
    pub passkeys: bool,
    pub email: String,
    pub authz: String,
    /// Where to come back to once signed in (a checked local path), or "".
    pub next: String,
    pub client_name: Option<String>,
    pub error: Option<String>,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "locked.html")]
pub struct LockedPage {
    pub layout: Layout,
    /// "tries", "paused", "locked" or "mfa" (see `web::auth::Lock`).
    pub kind: &'static str,
    /// How long the wait is, rounded up to whole minutes.
    pub minutes: i64,
    pub retry_link: String,
}

impl LockedPage {
    pub fn wait_minutes(&self) -> i64 {
        self.minutes
    }
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub layout: Layout,
    pub client_name: String,
    /// What the app will receive, one plain sentence per scope, in the page's language.
    pub items: Vec<String>,
    /// Verified data it will receive (from the identity verification), one line per kind.
    pub verified_items: Vec<String>,
    /// The Social Security number is shared: called out on its own.
    pub shares_ssn: bool,
    pub authz: String,
    pub email: String,
}

impl ConsentPage {
    pub fn heading(&self) -> String {
        self.layout.lang.t_args(
            "consent-heading",
            &[
                ("client", FluentValue::from(self.client_name.as_str())),
                ("site", FluentValue::from(self.layout.site_name.as_str())),
            ],
        )
    }
}

#[derive(Template)]
#[template(path = "terms.html")]
pub struct TermsPage {
    pub layout: Layout,
}

pub struct OutboxItem {
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: String,
    /// Links found in the body, so a newcomer can click through a flow.
    pub links: Vec<String>,
}

#[derive(Template)]
#[template(path = "outbox.html")]
pub struct OutboxPage {
    pub layout: Layout,
    pub messages: Vec<OutboxItem>,
}

pub struct PhoneOption {
    pub id: String,
    pub masked: String,
    pub channel: String,
}

pub struct MethodLink {
    pub href: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "mfa_challenge.html")]
pub struct MfaChallengePage {
    pub layout: Layout,
    /// "phone", "totp" or "backup".
    pub method: String,
    pub phone: Option<PhoneOption>,
    /// A code was just sent to `phone`.
    pub sent: bool,
    pub error: Option<String>,
    pub others: Vec<MethodLink>,
    pub remember_days: i64,
    pub code_length: usize,
    /// How long a sent code works, in minutes.
    pub code_minutes: i64,
    /// Phones a password reset can't use yet (SIM-swap cooldown).
    pub cooldown: Vec<CooldownPhone>,
    /// This challenge is a password reset's second factor.
    pub is_reset: bool,
    /// The first step of a phone change (a step-up for it).
    pub steps: Option<crate::web::page_parts::Steps>,
    /// Where "Cancel" leads (a step-up: back to the account), if anywhere.
    pub cancel_href: Option<String>,
    /// The relying party asked for a security key or passkey and the account has none.
    pub needs_key: bool,
}

impl MfaChallengePage {
    fn cooldown_notice(&self, c: &CooldownPhone) -> String {
        self.layout.lang.t_args(
            "mfa-cooldown-notice",
            &[
                ("number", FluentValue::from(c.masked.as_str())),
                ("date", FluentValue::from(c.until.as_str())),
            ],
        )
    }

    fn code_sent(&self, p: &PhoneOption) -> String {
        self.layout.lang.t_args(
            "mfa-code-sent",
            &[
                ("number", FluentValue::from(p.masked.as_str())),
                ("minutes", FluentValue::from(self.code_minutes)),
            ],
        )
    }
}

pub struct CooldownPhone {
    pub masked: String,
    pub until: String,
}

#[derive(Template)]
#[template(path = "mfa_setup.html")]
pub struct MfaSetupPage {
    pub layout: Layout,
    /// Security keys and passkeys can be offered (a host name, not an IP address).
    pub keys_available: bool,
    pub steps: Option<crate::web::page_parts::Steps>,
}

/// Adding a security key or passkey: from the console, or as the first method at sign-in.
#[derive(Template)]
#[template(path = "key_add.html")]
pub struct KeyAddPage {
    pub layout: Layout,
    pub passkey: bool,
    /// "passkey" or "security_key".
    pub kind: &'static str,
    /// Where the answer goes, and where the options come from.
    pub action: &'static str,
    pub options: &'static str,
    /// The name field's starting value.
    pub name: String,
    pub error: Option<String>,
    pub steps: Option<crate::web::page_parts::Steps>,
    pub cancel_href: &'static str,
    /// WebAuthn works on this deployment (a host name, not an IP address).
    pub available: bool,
}

#[derive(Template)]
#[template(path = "mfa_phone.html")]
pub struct MfaPhonePage {
    pub layout: Layout,
    /// The number waiting for its code, in full (the person just typed it); None while
    /// asking for a number.
    pub number_shown: Option<String>,
    pub channel: String,
    /// What the number field holds (what was typed, or the number being corrected).
    pub number: String,
    pub error: Option<String>,
    /// `error` is about the number typed (the field is marked).
    pub number_invalid: bool,
    pub notice: Option<String>,
    pub steps: Option<crate::web::page_parts::Steps>,
}

#[derive(Template)]
#[template(path = "mfa_totp.html")]
pub struct MfaTotpPage {
    pub layout: Layout,
    pub qr_svg_base64: String,
    /// The key in groups of four ("ABCD EFGH ..."), for typing it in.
    pub secret_text: String,
    pub error: Option<String>,
    /// Where the code is posted: enrolment at sign-in, or adding one from the console.
    pub form_action: String,
    /// Where "Cancel" leads.
    pub back_href: String,
    pub steps: Option<crate::web::page_parts::Steps>,
}

#[derive(Template)]
#[template(path = "mfa_backup_codes.html")]
pub struct MfaBackupCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    pub download_href: String,
    /// Where "I've saved my codes" goes: a POST during enrolment, a link afterwards.
    pub done_action: String,
    pub done_is_form: bool,
    pub steps: Option<crate::web::page_parts::Steps>,
}

/// Right after the first second factor: a second one is recommended, or "Skip for now".
#[derive(Template)]
#[template(path = "mfa_another.html")]
pub struct MfaAnotherPage {
    pub layout: Layout,
    /// The method just added: "phone" or "totp".
    pub first: String,
    pub offer_totp: bool,
    pub offer_backup_codes: bool,
    /// Where to go on (a checked local path), and the same URL-encoded for links.
    pub next: String,
    pub next_encoded: String,
    /// How long a new or changed phone can't reset a password on its own.
    pub cooldown_hours: i64,
    pub steps: Option<crate::web::page_parts::Steps>,
}

#[derive(Template)]
#[template(path = "not_me.html")]
pub struct NotMePage {
    pub layout: Layout,
    pub token: String,
    /// None: asking; Some(true): sessions ended; Some(false): link not valid.
    pub done: Option<bool>,
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
pub struct ForgotPasswordPage {
    pub layout: Layout,
    pub sent: bool,
    pub email: String,
    /// The email field's problem.
    pub errors: FieldErrors,
    /// A problem with the whole form (too many requests).
    pub error: Option<String>,
    /// How long the emailed link works.
    pub valid_minutes: i64,
    pub steps: Steps,
}

impl ForgotPasswordPage {
    pub fn link_minutes(&self) -> i64 {
        self.valid_minutes
    }
}

#[derive(Template)]
#[template(path = "new_password.html")]
pub struct NewPasswordPage {
    pub layout: Layout,
    pub min_length: usize,
    /// Every field's problem at once (password, password_confirmation).
    pub errors: FieldErrors,
    pub done: bool,
    pub steps: Steps,
}

impl NewPasswordPage {
    pub fn min_length_count(&self) -> i64 {
        self.min_length as i64
    }
}

#[derive(Template)]
#[template(path = "end_session.html")]
pub struct EndSessionPage {
    pub layout: Layout,
    pub done: bool,
    pub client_name: Option<String>,
    pub client_id: String,
    pub post_logout_redirect_uri: String,
    pub state: String,
}

impl EndSessionPage {
    /// Who asked to sign the person out.
    pub fn asked_by(&self) -> String {
        let site = FluentValue::from(self.layout.site_name.as_str());
        match &self.client_name {
            Some(client) => self.layout.lang.t_args(
                "end-session-asked-by",
                &[
                    ("client", FluentValue::from(client.as_str())),
                    ("site", site),
                ],
            ),
            None => self
                .layout
                .lang
                .t_args("end-session-asked-by-unknown", &[("site", site)]),
        }
    }
}

pub struct AccountPhone {
    pub id: String,
    pub masked: String,
    /// Codes come by phone call (else by text message).
    pub voice: bool,
    pub is_default: bool,
    /// Added or replaced by a phone change within the SIM-swap cooldown.
    pub recently_changed: bool,
}

pub struct AccountKey {
    pub id: String,
    pub name: String,
    pub passkey: bool,
    /// The day it was added, and last used, in the person's words.
    pub added: String,
    pub last_used: Option<String>,
}

pub struct AccountTotp {
    pub id: String,
    /// The day it was added, in the person's words.
    pub added: String,
}

/// One activity row, in the page's language and the person's time zone.
pub struct AccountEvent {
    pub what: String,
    pub at: String,
    pub ip: String,
    /// "Chrome on Windows"; empty when nothing was recorded.
    pub device: String,
    /// "This wasn't me" belongs on this row.
    pub can_disown: bool,
}

/// A browser session, in words.
pub struct AccountSession {
    pub id: String,
    pub device: String,
    pub ip: String,
    pub last_seen: String,
    pub current: bool,
}

/// A connected app: what it may see, in plain words.
pub struct AccountApp {
    pub client_id: String,
    pub name: String,
    pub can: Vec<String>,
    pub since: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub name: Option<String>,
    pub emails: Vec<crate::accounts::emails::EmailView>,
    pub phones: Vec<AccountPhone>,
    pub authenticator_apps: Vec<AccountTotp>,
    /// Security keys and passkeys; `keys_available`: this deployment can use them.
    pub keys: Vec<AccountKey>,
    pub keys_available: bool,
    pub backup_codes_left: i64,
    /// A set of backup codes exists (so the button makes *new* ones).
    pub backup_codes_made: bool,
    /// More than one second-factor method: "Remove" is offered.
    pub can_remove: bool,
    /// One method or none: warn, and link to adding another.
    pub needs_another_method: bool,
    pub events: Vec<AccountEvent>,
    pub sessions: Vec<AccountSession>,
    pub apps: Vec<AccountApp>,
    /// The IANA zone the times are in.
    pub time_zone: String,
    /// Identity verification: None when it isn't offered; else "none", "in_progress",
    /// "letter" (waiting for a letter's code), "verified", "held" or "redo".
    pub identity: Option<&'static str>,
    /// For "letter": "requested on …" / "sent on …", newest first, and whether another
    /// letter may be requested now.
    pub identity_letters: Vec<String>,
    pub identity_letter_allowed: bool,
    /// The verified identity's vault has a personal key (one moved in from before vaults has
    /// none until the person makes one).
    pub identity_personal_key: bool,
    /// When the identity was verified (for "verified").
    pub identity_verified_on: String,
    /// "Your verified information was removed" after the console's remove button.
    pub identity_removed: bool,
}

impl AccountPage {
    fn identity_is(&self, state: &str) -> bool {
        self.identity == Some(state)
    }
}

/// One problem of a form: the field's id (the summary links to `#id`) and what to do.
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

/// The message for `field` among `problems`, for the line under that field.
pub fn problem_for<'a>(problems: &'a [FieldProblem], field: &str) -> Option<&'a str> {
    problems
        .iter()
        .find(|p| p.field == field)
        .map(|p| p.message.as_str())
}

#[derive(Template)]
#[template(path = "step_up.html")]
pub struct StepUpPage {
    pub layout: Layout,
    pub email: String,
    pub return_to: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "phone_change.html")]
pub struct PhoneChangePage {
    pub layout: Layout,
    /// "number", "code", "review", "done" or "removed".
    pub stage: String,
    /// The number being replaced (or removed), masked: the person didn't just type it.
    pub replacing_masked: Option<String>,
    /// The new number in full ("+1 201-555-0146"): the person just typed it and must be able
    /// to spot a typo.
    pub new_number: String,
    pub channel: String,
    /// What the number field holds: what was typed, or the number being corrected after
    /// "Wrong number?".
    pub typed: String,
    pub error: Option<String>,
    /// `error` is about the number typed (the field is marked).
    pub number_invalid: bool,
    pub notice: Option<String>,
    /// When the change was made (the receipt).
    pub receipt: Option<String>,
    pub steps: Option<crate::web::page_parts::Steps>,
}

impl PhoneChangePage {
    /// The receipt's sentence: what was replaced, added or removed, and when.
    fn receipt_line(&self) -> String {
        let at = self.receipt.as_deref().unwrap_or("");
        let old = self.replacing_masked.as_deref().unwrap_or("");
        let (key, args) = match (self.stage.as_str(), self.replacing_masked.is_some()) {
            ("removed", _) => ("phone-removed-notice", vec![("number", old)]),
            (_, true) => (
                "phone-updated-replaced",
                vec![("old", old), ("new", self.new_number.as_str())],
            ),
            (_, false) => (
                "phone-updated-added",
                vec![("new", self.new_number.as_str())],
            ),
        };
        let mut args: Vec<(&'static str, FluentValue<'_>)> = args
            .into_iter()
            .map(|(k, v)| (k, FluentValue::from(v)))
            .collect();
        args.push(("date", FluentValue::from(at)));
        self.layout.lang.t_args(key, &args)
    }
}

#[derive(Template)]
#[template(path = "phone_review.html")]
pub struct PhoneReviewPage {
    pub layout: Layout,
    pub phone_id: String,
    pub masked: String,
    pub next: String,
}

#[derive(Template)]
#[template(path = "change_password.html")]
pub struct ChangePasswordPage {
    pub layout: Layout,
    pub min_length: usize,
    /// Every problem with the form, in field order (the error summary).
    pub problems: Vec<FieldProblem>,
    pub done: bool,
}

impl ChangePasswordPage {
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_for(&self.problems, field)
    }
}

#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    pub layout: Layout,
    pub given_name: String,
    pub family_name: String,
    /// Every problem with the form, in field order (the error summary).
    pub problems: Vec<FieldProblem>,
    pub saved: bool,
}

impl ProfilePage {
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_for(&self.problems, field)
    }
}

#[derive(Template)]
#[template(path = "activity.html")]
pub struct ActivityPage {
    pub layout: Layout,
    pub events: Vec<AccountEvent>,
    /// Link to the next (older) page, if any.
    pub next: Option<String>,
    /// The IANA zone the times are in.
    pub time_zone: String,
}

#[derive(Template)]
#[template(path = "lost_phone.html")]
pub struct LostPhonePage {
    pub layout: Layout,
    pub totp: bool,
    pub backup_codes_left: i64,
    pub can_reset_account: bool,
    /// A reset is already waiting: when its link comes.
    pub pending_until: Option<String>,
    pub wait_hours: i64,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "account_reset.html")]
pub struct AccountResetPage {
    pub layout: Layout,
    /// "confirm_request", "requested", "complete", "completed" or "invalid".
    pub stage: String,
    pub token: String,
    pub ready_at: String,
    pub wait_hours: u64,
    /// Where this stage sits in the account reset (none on the "link not valid" page).
    pub steps: Option<Steps>,
}

impl AccountResetPage {
    pub fn wait_hours_count(&self) -> i64 {
        self.wait_hours as i64
    }
}

#[derive(Template)]
#[template(path = "support.html")]
pub struct SupportPage {
    pub layout: Layout,
    /// (code, words) of each configured category.
    pub categories: Vec<(String, String)>,
    pub category: String,
    pub contact_email: String,
    pub message: String,
    pub max_chars: usize,
    /// Every problem with a field, in field order (the error summary).
    pub problems: Vec<FieldProblem>,
    /// A problem with the whole form (too many messages).
    pub error: Option<String>,
    /// The ticket number, once filed.
    pub filed: Option<String>,
}

impl SupportPage {
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_for(&self.problems, field)
    }
}

/// The rows of "Check your information" (already written for the page's language).
pub struct ReviewRows {
    pub name: String,
    pub birthdate: String,
    pub address: String,
    pub ssn: String,
    pub document: String,
}

#[derive(Template)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    pub layout: Layout,
    /// start, document, selfie, ssn, review, phone, code, letter, agent, agent_case, done,
    /// verified, held, out_of_attempts, try_later.
    pub stage: &'static str,
    pub steps: Option<crate::web::page_parts::Steps>,
    pub error: Option<String>,
    /// The fields `error` is about (marked on the page).
    pub error_fields: Vec<&'static str>,
    /// The relying party's waiting sign-in, carried through the start page.
    pub authz: String,
    /// The chosen document type (`driving_permit`, `idcard`, `passport`).
    pub doc_type: String,
    pub review: Option<ReviewRows>,
    pub address: crate::proofing::flow::AddressForm,
    pub show_address_form: bool,
    /// (id, masked number) of the account's phones.
    pub phones: Vec<(String, String)>,
    pub typed_phone: String,
    pub masked_phone: String,
    /// A time the page names (verified on…, try again after…).
    pub when: String,
    /// Back to the relying party's sign-in.
    pub continue_to: Option<String>,
    /// The mock checks accept a small text fixture instead of a photo (dev only).
    pub fixtures_allowed: bool,
    /// "Letter requested on …" / "Letter sent on …", newest first.
    pub letters: Vec<String>,
    /// Another letter may be requested now.
    pub letter_allowed: bool,
    /// When another letter may be requested (when not now).
    pub letter_next: String,
    /// The phone could not vouch for the person: offer the letter first.
    pub suggest_letter: bool,
    /// The personal key as shown (grouped), on the one page that shows it.
    pub personal_key: String,
    /// A `data:` URL of a text file holding it (the download link).
    pub personal_key_download: String,
    /// A password reset suspended the verified identity: the personal key restores it.
    pub suspended: bool,
    /// The online check failed: offer verification with an agent by video.
    pub agent_offer: bool,
    /// (value, label) of the free slots on the agent page.
    pub agent_slots: Vec<(String, String)>,
    /// The open case's lines (booked for…, your place in the queue…).
    pub agent_lines: Vec<String>,
    /// The continuation code, on the one page that shows it.
    pub agent_code: String,
    /// The meeting link of the operator's video tool.
    pub agent_link: String,
}

impl VerifyPage {
    fn has_error(&self, field: &str) -> bool {
        self.error_fields.contains(&field)
    }
}

/// One open case on the agent desk (no personal data).
pub struct DeskRow {
    pub id: String,
    pub status: String,
    /// The booked slot, or the place in the queue.
    pub when: String,
    pub from_step: String,
    pub waited: String,
    /// Claimed by the agent looking.
    pub mine: bool,
    pub claimable: bool,
}

#[derive(Template)]
#[template(path = "referee_desk.html")]
pub struct DeskPage {
    pub layout: Layout,
    pub agent_name: String,
    pub certified_until: String,
    /// Queue length, waits, scheduled and claimed calls, as sentences.
    pub figures: Vec<String>,
    pub rows: Vec<DeskRow>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "referee_case.html")]
pub struct RefereeCasePage {
    pub layout: Layout,
    pub case_id: String,
    pub status: String,
    pub when: String,
    pub from_step: String,
    pub meeting_link: String,
    /// The person read out the continuation code: the call began.
    pub on_call: bool,
    /// (label, value) of the person as read online: masked until `on_call`.
    pub person: Vec<(String, String)>,
    pub document: Vec<(String, String)>,
    /// The checks that passed online.
    pub passed: Vec<String>,
    pub last_failure: Option<String>,
    pub attempts: Vec<String>,
    pub flags: Vec<String>,
    /// (label, data URL) of each kept image, only on the call.
    pub images: Vec<(String, String)>,
    pub needs_document: bool,
    pub needs_ssn: bool,
    pub rationale_max: usize,
    /// The checks saved as done, ticked again.
    pub ticked: Vec<&'static str>,
    pub notes: String,
    pub form: crate::web::referee::DecisionForm,
    pub problems: Vec<FieldProblem>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl RefereeCasePage {
    pub fn problem(&self, field: &str) -> Option<&str> {
        problem_for(&self.problems, field)
    }

    pub fn is_ticked(&self, check: &str) -> bool {
        self.ticked.contains(&check)
    }

    /// (field, label key, value typed) of the identity read from the ID on the call.
    pub fn identity_fields(&self) -> Vec<(&'static str, &'static str, &str)> {
        let f = &self.form;
        vec![
            ("given_name", "referee-person-given-name", &f.given_name),
            ("middle_name", "referee-person-middle-name", &f.middle_name),
            ("family_name", "referee-person-family-name", &f.family_name),
            ("birthdate", "referee-person-birthdate", &f.birthdate),
            (
                "document_number",
                "referee-person-document-number",
                &f.document_number,
            ),
            (
                "document_expiry",
                "referee-document-expiry",
                &f.document_expiry,
            ),
            ("issuer", "referee-document-issuer", &f.issuer),
            ("street1", "verify-address-street1", &f.street1),
            ("street2", "verify-address-street2", &f.street2),
            ("city", "verify-address-city", &f.city),
            ("state", "verify-address-state", &f.state),
            ("zip", "verify-address-zip", &f.zip),
        ]
    }
}
