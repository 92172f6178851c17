//! Sign-up, email confirmation, sign-in, sign-out, and the home and terms pages.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::login::{self, AfterPassword};
use crate::accounts::sessions;
use crate::accounts::signin::{self, SignInOutcome};
use crate::accounts::signup::{self, ConfirmOutcome, SignupForm, SignupOutcome};
use crate::error::{AppError, PageResult};
use crate::oauth::authorize;
use crate::proofing::vault;
use crate::web::browser::{
    cleared_session_cookie, login_cookie, session_cookie, Browser, REMEMBER_COOKIE, RESTART_COOKIE,
};
use crate::web::common::after_sign_in;
use crate::web::guards::safe_return_path;
use crate::web::guards::CsrfForm;
use crate::web::page_parts::SIGNUP_STEPS;
use crate::web::pages::*;
use crate::Ctx;

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

#[derive(Deserialize, Default)]
pub struct AuthzQuery {
    #[serde(default)]
    pub authz: String,
}

pub async fn home(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    let mut backup_codes_low = None;
    if let Some(session) = &browser.session {
        let uid = session.user_id.clone();
        let (total, left) = ctx
            .db
            .run(move |c| crate::mfa::methods::backup_code_status(c, &uid))
            .await?;
        if total > 0 && left <= 3 {
            backup_codes_low = Some(left);
        }
    }
    render(&HomePage {
        layout: browser.layout_for(if browser.session.is_some() {
            "home-title"
        } else {
            "home-welcome-title"
        }),
        backup_codes_low,
    })
}

pub async fn terms(browser: Browser) -> PageResult {
    render(&TermsPage {
        layout: browser.layout_for("terms-title"),
    })
}

fn signup_page_for(browser: &Browser, email: String, authz: String) -> SignupPage {
    SignupPage {
        layout: browser.layout_for("signup-title"),
        email,
        authz,
        errors: FieldErrors::default(),
        form_error: None,
        steps: Steps::new(browser.lang, &SIGNUP_STEPS, 1),
    }
}

pub async fn signup_page(browser: Browser, q: web::Query<AuthzQuery>) -> PageResult {
    render(&signup_page_for(
        &browser,
        String::new(),
        q.into_inner().authz,
    ))
}

#[derive(Deserialize)]
pub struct SignupSubmit {
    #[serde(default)]
    email: String,
    terms: Option<String>,
    #[serde(default)]
    authz: String,
}

pub async fn signup_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<SignupSubmit>,
) -> PageResult {
    let form = form.into_inner();
    let continue_to = Some(form.authz.clone()).filter(|a| !a.is_empty());
    let outcome = signup::sign_up(
        &ctx,
        SignupForm {
            email: form.email.clone(),
            accepted_terms: form.terms.is_some(),
        },
        continue_to,
        browser.lang,
        &browser.actor,
    )
    .await?;
    match outcome {
        SignupOutcome::CheckYourEmail { email } => render(&CheckEmailPage {
            layout: browser.layout_for("check-email-title"),
            email,
            authz: form.authz,
            steps: Steps::new(browser.lang, &SIGNUP_STEPS, 2),
        }),
        SignupOutcome::Invalid(errors) => {
            let mut page = signup_page_for(&browser, form.email, form.authz);
            page.errors = FieldErrors::new(&errors, browser.lang);
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        SignupOutcome::TooManyAttempts => {
            let mut page = signup_page_for(&browser, form.email, form.authz);
            page.form_error = Some(browser.t("signup-too-many"));
            render_status(&page, StatusCode::TOO_MANY_REQUESTS)
        }
    }
}

#[derive(Deserialize)]
pub struct ConfirmQuery {
    #[serde(default)]
    token: String,
    #[serde(default)]
    authz: String,
}

fn invalid_confirmation_link(browser: &Browser, authz: &str) -> PageResult {
    let page = ConfirmEmailPage {
        layout: browser.layout_for("confirm-email-invalid-title"),
        confirmed: false,
        sign_in_link: sign_in_link(authz),
    };
    render_status(&page, StatusCode::BAD_REQUEST)
}

fn choose_password_page(
    ctx: &Ctx,
    browser: &Browser,
    email: String,
    token: String,
    authz: String,
) -> ChoosePasswordPage {
    ChoosePasswordPage {
        layout: browser.layout_for("choose-password-title"),
        email,
        token,
        authz,
        min_length: ctx.settings.security.password_min_length,
        max_length: ctx.settings.security.password_max_length,
        errors: FieldErrors::default(),
        steps: Steps::new(browser.lang, &SIGNUP_STEPS, 3),
    }
}

/// The emailed link: shows the "choose your password" form (opening it confirms nothing).
pub async fn confirm_email(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<ConfirmQuery>,
) -> PageResult {
    let q = q.into_inner();
    match signup::confirmation_address(&ctx, &q.token).await? {
        Some(email) => render(&choose_password_page(
            &ctx, &browser, email, q.token, q.authz,
        )),
        None => invalid_confirmation_link(&browser, &q.authz),
    }
}

#[derive(Deserialize)]
pub struct ConfirmSubmit {
    #[serde(default)]
    token: String,
    #[serde(default)]
    authz: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

/// Confirms the address and sets the chosen password.
pub async fn confirm_email_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<ConfirmSubmit>,
) -> PageResult {
    let form = form.into_inner();
    if crate::accounts::password::too_long_to_check(&ctx.settings.security, &form.password) {
        return Err(AppError::refused("password-far-too-long"));
    }
    match signup::confirm_email(
        &ctx,
        &form.token,
        form.password,
        &form.password_confirmation,
        browser.stated_lang,
        &browser.actor,
    )
    .await?
    {
        ConfirmOutcome::Confirmed => render(&ConfirmEmailPage {
            layout: browser.layout_for("confirm-email-title"),
            confirmed: true,
            sign_in_link: sign_in_link(&form.authz),
        }),
        ConfirmOutcome::InvalidLink => invalid_confirmation_link(&browser, &form.authz),
        ConfirmOutcome::Refused(errors) => {
            let email = signup::confirmation_address(&ctx, &form.token)
                .await?
                .unwrap_or_default();
            let mut page = choose_password_page(&ctx, &browser, email, form.token, form.authz);
            page.errors = FieldErrors::new(&errors, browser.lang);
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// The sign-in page, coming back to `next` afterwards when it is a page people may be sent to.
async fn login_page_returning(
    ctx: &Ctx,
    browser: &Browser,
    authz: String,
    next: &str,
) -> anyhow::Result<LoginPage> {
    let pending = if authz.is_empty() {
        None
    } else {
        authorize::load_pending(ctx, &authz, &browser.id).await?
    };
    Ok(LoginPage {
        layout: browser.layout_for("login-title"),
        passkeys: ctx.webauthn.is_some(),
        email: pending
            .as_ref()
            .and_then(|p| p.login_hint.clone())
            .unwrap_or_default(),
        client_name: pending.map(|p| p.client_name),
        authz,
        next: safe_return_path(next).unwrap_or_default(),
        error: None,
        notice: None,
    })
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    pub authz: String,
    /// Where to come back to (see `guards::SignedIn`).
    #[serde(default)]
    pub next: String,
    /// A sign-in in progress was lost (its state expired or the store lost it).
    #[serde(default)]
    pub expired: Option<String>,
}

pub async fn login_page(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    q: web::Query<LoginQuery>,
) -> PageResult {
    let LoginQuery {
        authz,
        next,
        expired,
    } = q.into_inner();
    if expired.is_some() {
        // The way back to the app the lost sign-in was for, when the browser still has it.
        if let Some(cookie) = req.cookie(RESTART_COOKIE) {
            if let Some(lost) =
                crate::oauth::restart::open(&ctx, &browser.id, cookie.value()).await?
            {
                return render(&InterruptedPage {
                    layout: browser.layout_for("interrupted-title"),
                    client_name: lost.client_name,
                    restart: lost.restart,
                });
            }
        }
    }
    if authz.is_empty() && browser.session.is_some() {
        return Ok(see_other(
            &safe_return_path(&next).unwrap_or_else(|| "/".into()),
        ));
    }
    let mut page = login_page_returning(&ctx, &browser, authz, &next).await?;
    if expired.is_some() {
        page.notice = Some(browser.t("login-interrupted"));
    }
    render(&page)
}

#[derive(Deserialize)]
pub struct LoginSubmit {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    authz: String,
    #[serde(default)]
    next: String,
}

pub async fn login_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<LoginSubmit>,
) -> PageResult {
    let form = form.into_inner();
    if crate::accounts::password::too_long_to_check(&ctx.settings.security, &form.password) {
        return Err(AppError::refused("password-far-too-long"));
    }
    let password = zeroize::Zeroizing::new(form.password.clone());
    let outcome = signin::sign_in(&ctx, &form.email, form.password, &browser.actor).await?;
    let retry_link = sign_in_link(&form.authz);
    match outcome {
        SignInOutcome::PasswordAccepted { user_id, email } => {
            // The password opens the person's verified data for this sign-in's session.
            let unlocked = vault::unlock_at_sign_in(&ctx, &user_id, password).await?;
            let remembered = req.cookie(REMEMBER_COOKIE).is_some_and(|c| {
                login::remember_cookie_valid(&ctx, c.value(), &user_id, &browser.id)
            });
            // A relying party's request comes first; otherwise back to the page that asked.
            let next = safe_return_path(&form.next).filter(|_| form.authz.is_empty());
            match login::after_password_returning(
                &ctx,
                &user_id,
                &email,
                &browser.id,
                &form.authz,
                remembered,
                next.clone(),
                &browser.actor,
            )
            .await?
            {
                AfterPassword::SignedIn(session) => {
                    vault::keep_for_session(
                        &ctx,
                        &session.id,
                        &vault::BearerSecret::of_session_token(&session.token),
                        &unlocked,
                    )
                    .await?;
                    if let Some(old) = &browser.session {
                        // A fresh sign-in replaces the old session: no fixation, no stale amr.
                        sessions::revoke(&ctx, &old.id, &browser.actor).await?;
                    }
                    Ok(HttpResponse::SeeOther()
                        .insert_header((
                            header::LOCATION,
                            next.unwrap_or_else(|| after_sign_in(&form.authz)),
                        ))
                        .cookie(session_cookie(&ctx.settings, &session.token))
                        .finish())
                }
                AfterPassword::SecondFactor { flow_id } => {
                    vault::carry_for_login(&ctx, &flow_id, &unlocked).await?;
                    Ok(HttpResponse::SeeOther()
                        .insert_header((header::LOCATION, "/mfa"))
                        .cookie(login_cookie(&ctx.settings, &flow_id))
                        .finish())
                }
                AfterPassword::Enrol { flow_id } => {
                    vault::carry_for_login(&ctx, &flow_id, &unlocked).await?;
                    Ok(HttpResponse::SeeOther()
                        .insert_header((header::LOCATION, "/mfa/setup"))
                        .cookie(login_cookie(&ctx.settings, &flow_id))
                        .finish())
                }
            }
        }
        SignInOutcome::InvalidCredentials => {
            let mut page = login_page_returning(&ctx, &browser, form.authz, &form.next).await?;
            page.email = form.email;
            page.error = Some(browser.t("login-wrong"));
            render_status(&page, StatusCode::UNAUTHORIZED)
        }
        SignInOutcome::EmailNotConfirmed => {
            let mut page = login_page_returning(&ctx, &browser, form.authz, &form.next).await?;
            page.email = form.email;
            page.notice = Some(browser.t("login-confirm-first"));
            render_status(&page, StatusCode::FORBIDDEN)
        }
        SignInOutcome::TryAgainLater { .. }
        | SignInOutcome::AccountLocked { .. }
        | SignInOutcome::LockedUntilRecovered => locked_out(&browser, &outcome, retry_link),
        SignInOutcome::Disabled => Err(AppError::refused("login-disabled")),
    }
}

/// The lock page (429) for a password refused by a lock: signing in and step-up show the same
/// one, with the same way out. Any other outcome is not a lock: an internal error.
pub fn locked_out(browser: &Browser, outcome: &SignInOutcome, retry_link: String) -> PageResult {
    let lock = match *outcome {
        SignInOutcome::TryAgainLater { wait_secs } => Lock::Tries { wait_secs },
        SignInOutcome::AccountLocked { wait_secs } => Lock::Paused { wait_secs },
        SignInOutcome::LockedUntilRecovered => Lock::UntilReset,
        _ => return Err(AppError::Internal(anyhow::anyhow!("not a lock"))),
    };
    render_status(
        &lock_page(browser, lock, retry_link),
        StatusCode::TOO_MANY_REQUESTS,
    )
}

/// Why sign-in is refused for a while. Each lock page says what the e-mail about it says (if
/// one is sent), and links the way out.
#[derive(Clone, Copy, Debug)]
pub enum Lock {
    /// Wrong passwords from this network (no e-mail): wait, or reset the password (a reset
    /// made from this network lifts the wait).
    Tries { wait_secs: u64 },
    /// The account's temporary lock (e-mailed): wait, or reset the password (a reset lifts it).
    Paused { wait_secs: u64 },
    /// The hard lock (e-mailed): only a password reset, or support, lifts it.
    UntilReset,
    /// Too many wrong second-factor codes (e-mailed): wait, or ask support.
    SecondFactor { wait_secs: u64 },
}

/// The lock page for `lock`; `retry_link` is the sign-in page to go back to.
pub fn lock_page(browser: &Browser, lock: Lock, retry_link: String) -> LockedPage {
    let (kind, wait_secs) = match lock {
        Lock::Tries { wait_secs } => ("tries", wait_secs),
        Lock::Paused { wait_secs } => ("paused", wait_secs),
        Lock::UntilReset => ("locked", 0),
        Lock::SecondFactor { wait_secs } => ("mfa", wait_secs),
    };
    LockedPage {
        layout: browser.layout_for(match lock {
            Lock::Tries { .. } => "lock-tries-title",
            Lock::Paused { .. } => "lock-paused-title",
            Lock::UntilReset => "lock-locked-title",
            Lock::SecondFactor { .. } => "lock-mfa-title",
        }),
        kind,
        minutes: wait_secs.max(1).div_ceil(60) as i64,
        retry_link,
    }
}

#[derive(Deserialize)]
pub struct LogoutSubmit {}

pub async fn logout(
    ctx: web::Data<Ctx>,
    browser: Browser,
    _form: CsrfForm<LogoutSubmit>,
) -> PageResult {
    if let Some(session) = &browser.session {
        sessions::revoke(&ctx, &session.id, &browser.actor).await?;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .cookie(cleared_session_cookie(&ctx.settings))
        .cookie(crate::web::browser::cleared_restart_cookie(&ctx.settings))
        .finish())
}

#[derive(Deserialize)]
pub struct PasskeyOptionsForm {
    /// "1": for the browser's autofill on the email field (conditional mediation).
    #[serde(default)]
    autofill: String,
}

/// Options for "Sign in with a passkey" (JSON for `static/webauthn.js`): no account named; the
/// browser offers the passkeys it holds for this site.
pub async fn passkey_options(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<PasskeyOptionsForm>,
) -> PageResult {
    use crate::mfa::webauthn::SignInRefusal;
    match crate::mfa::webauthn::begin_passkey_sign_in(
        &ctx,
        &browser.id,
        form.autofill == "1",
        &browser.actor,
    )
    .await?
    {
        Ok((ceremony, options)) => Ok(HttpResponse::Ok()
            .json(serde_json::json!({ "ceremony": ceremony, "options": options }))),
        Err(SignInRefusal::TooMany { wait_secs }) => {
            let mut res = crate::web::mfa::key_refusal(
                StatusCode::TOO_MANY_REQUESTS,
                browser.lang.t_args(
                    "webauthn-too-many",
                    &[(
                        "minutes",
                        crate::i18n::FluentValue::from(crate::web::common::whole_minutes(
                            wait_secs,
                        )),
                    )],
                ),
            );
            if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&wait_secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(res)
        }
        Err(SignInRefusal::Unavailable) => Ok(crate::web::mfa::key_refusal(
            StatusCode::NOT_FOUND,
            browser.t("webauthn-unavailable"),
        )),
    }
}

#[derive(Deserialize)]
pub struct PasskeySignInForm {
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    authz: String,
    #[serde(default)]
    next: String,
}

/// A passkey's answer: signed in at AAL2 (phishing-resistant), back to the app or the page
/// that asked; or the sign-in page again, saying what went wrong.
pub async fn passkey_sign_in(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<PasskeySignInForm>,
) -> PageResult {
    use crate::mfa::webauthn::AssertionOutcome;
    let form = form.into_inner();
    let (outcome, holder) = crate::mfa::webauthn::finish_passkey_sign_in(
        &ctx,
        &browser.id,
        &form.ceremony,
        &form.credential,
        &browser.actor,
    )
    .await?;
    let (AssertionOutcome::Accepted { key, .. }, Some(holder)) = (&outcome, holder) else {
        let mut page = login_page_returning(&ctx, &browser, form.authz, &form.next).await?;
        page.error = Some(crate::web::mfa::key_problem_text(&browser, &outcome));
        let status = match outcome {
            AssertionOutcome::Disabled => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        };
        return render_status(&page, status);
    };
    if let Some(old) = &browser.session {
        // A fresh sign-in replaces the old session: no fixation, no stale amr.
        sessions::revoke(&ctx, &old.id, &browser.actor).await?;
    }
    let session = login::sign_in_with_passkey(
        &ctx,
        &holder.user_id,
        &holder.email,
        &browser.id,
        key.amr(),
        &browser.actor,
    )
    .await?;
    let next = safe_return_path(&form.next).filter(|_| form.authz.is_empty());
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            next.unwrap_or_else(|| after_sign_in(&form.authz)),
        ))
        .cookie(session_cookie(&ctx.settings, &session.token))
        .finish())
}
