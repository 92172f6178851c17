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
use crate::web::browser::{
    cleared_session_cookie, login_cookie, session_cookie, Browser, REMEMBER_COOKIE,
};
use crate::web::common::{after_sign_in, enc, minutes};
use crate::web::guards::safe_return_path;
use crate::web::guards::CsrfForm;
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
        layout: browser.layout("Your account"),
        backup_codes_low,
    })
}

pub async fn terms(browser: Browser) -> PageResult {
    render(&TermsPage {
        layout: browser.layout("Terms of service"),
    })
}

fn signup_page_for(browser: &Browser, email: String, authz: String) -> SignupPage {
    SignupPage {
        layout: browser.layout("Create an account"),
        email,
        authz,
        email_error: None,
        terms_error: None,
        form_error: None,
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
            layout: browser.layout("Check your email"),
            email,
        }),
        SignupOutcome::Invalid(errors) => {
            let mut page = signup_page_for(&browser, form.email, form.authz);
            for e in errors {
                let slot = match e.field {
                    "email" => &mut page.email_error,
                    _ => &mut page.terms_error,
                };
                *slot = Some(e.message);
            }
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        SignupOutcome::TooManyAttempts => {
            let mut page = signup_page_for(&browser, form.email, form.authz);
            page.form_error = Some(
                "Too many sign-ups from your network in the last hour. Please try again later."
                    .into(),
            );
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

fn sign_in_link(authz: &str) -> String {
    if authz.is_empty() {
        "/login".to_string()
    } else {
        format!("/login?authz={}", enc(authz))
    }
}

fn invalid_confirmation_link(browser: &Browser, authz: &str) -> PageResult {
    let page = ConfirmEmailPage {
        layout: browser.layout("Link not valid"),
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
        layout: browser.layout("Choose your password"),
        email,
        token,
        authz,
        min_length: ctx.settings.security.password_min_length,
        max_length: ctx.settings.security.password_max_length,
        password_error: None,
        confirmation_error: None,
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
        return Err(AppError::BadRequest(
            "That password is far longer than any we accept.".into(),
        ));
    }
    match signup::confirm_email(
        &ctx,
        &form.token,
        form.password,
        &form.password_confirmation,
        &browser.actor,
    )
    .await?
    {
        ConfirmOutcome::Confirmed => render(&ConfirmEmailPage {
            layout: browser.layout("Email confirmed"),
            confirmed: true,
            sign_in_link: sign_in_link(&form.authz),
        }),
        ConfirmOutcome::InvalidLink => invalid_confirmation_link(&browser, &form.authz),
        ConfirmOutcome::Refused(errors) => {
            let email = signup::confirmation_address(&ctx, &form.token)
                .await?
                .unwrap_or_default();
            let mut page = choose_password_page(&ctx, &browser, email, form.token, form.authz);
            for e in errors {
                let slot = match e.field {
                    "password_confirmation" => &mut page.confirmation_error,
                    _ => &mut page.password_error,
                };
                *slot = Some(e.message);
            }
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
        layout: browser.layout("Sign in"),
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
}

pub async fn login_page(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<LoginQuery>,
) -> PageResult {
    let LoginQuery { authz, next } = q.into_inner();
    if authz.is_empty() && browser.session.is_some() {
        return Ok(see_other(
            &safe_return_path(&next).unwrap_or_else(|| "/".into()),
        ));
    }
    render(&login_page_returning(&ctx, &browser, authz, &next).await?)
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
        return Err(AppError::BadRequest(
            "That password is far longer than any we accept.".into(),
        ));
    }
    let outcome = signin::sign_in(&ctx, &form.email, form.password, &browser.actor).await?;
    let retry_link = if form.authz.is_empty() {
        "/login".to_string()
    } else {
        format!("/login?authz={}", enc(&form.authz))
    };
    let locked = |heading: &str, message: String, what_to_do: &str| LockedPage {
        layout: browser.layout(heading),
        heading: heading.to_string(),
        message,
        what_to_do: what_to_do.to_string(),
        retry_link: retry_link.clone(),
    };
    match outcome {
        SignInOutcome::PasswordAccepted { user_id, email } => {
            let remembered = req
                .cookie(REMEMBER_COOKIE)
                .is_some_and(|c| login::remember_cookie_valid(&ctx, c.value(), &user_id, &browser.id));
            // A relying party's request comes first; otherwise back to the page that asked.
            let next = safe_return_path(&form.next).filter(|_| form.authz.is_empty());
            match login::after_password_returning(&ctx, &user_id, &email, &browser.id, &form.authz, remembered, next.clone(), &browser.actor).await? {
                AfterPassword::SignedIn(session) => {
                    if let Some(old) = &browser.session {
                        // A fresh sign-in replaces the old session: no fixation, no stale amr.
                        sessions::revoke(&ctx, &old.id, &browser.actor).await?;
                    }
                    Ok(HttpResponse::SeeOther()
                        .insert_header((header::LOCATION, next.unwrap_or_else(|| after_sign_in(&form.authz))))
                        .cookie(session_cookie(&ctx.settings, &session.token))
                        .finish())
                }
                AfterPassword::SecondFactor { flow_id } => Ok(HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/mfa"))
                    .cookie(login_cookie(&ctx.settings, &flow_id))
                    .finish()),
                AfterPassword::Enrol { flow_id } => Ok(HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/mfa/setup"))
                    .cookie(login_cookie(&ctx.settings, &flow_id))
                    .finish()),
            }
        }
        SignInOutcome::InvalidCredentials => {
            let mut page = login_page_returning(&ctx, &browser, form.authz, &form.next).await?;
            page.email = form.email;
            page.error = Some("That email and password don't match an account. Check them and try again.".into());
            render_status(&page, StatusCode::UNAUTHORIZED)
        }
        SignInOutcome::EmailNotConfirmed => {
            let mut page = login_page_returning(&ctx, &browser, form.authz, &form.next).await?;
            page.email = form.email;
            page.notice = Some("Please confirm your email address first. We've sent you a new confirmation link; open it, then sign in.".into());
            render_status(&page, StatusCode::FORBIDDEN)
        }
        SignInOutcome::TryAgainLater { wait_secs } => render_status(
            &locked(
                "Too many attempts",
                format!("There have been several wrong passwords for this account from your network. For your security, please wait {} before trying again.", minutes(wait_secs)),
                "If you've forgotten your password, wait and then try again carefully; each further wrong attempt makes the wait longer.",
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        SignInOutcome::AccountLocked { wait_secs } => render_status(
            &locked(
                "Sign-in paused",
                format!("There have been too many wrong passwords for this account. Sign-in is paused for {}. If the account exists, we've emailed its owner.", minutes(wait_secs)),
                "Wait, then sign in with the right password. If you didn't cause this, someone may be guessing your password: choose a new, unique one once you're in.",
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        SignInOutcome::LockedUntilRecovered => render_status(
            &locked(
                "Account locked",
                "There have been too many wrong passwords for this account, so sign-in is locked until the account is recovered. If the account exists, we've emailed its owner.".into(),
                "Reset your password with \"Forgot your password?\" on the sign-in page (you'll need your second factor too), or contact support.",
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        SignInOutcome::Disabled => Err(AppError::BadRequest(
            "This account has been disabled. Contact support if you think this is a mistake.".into(),
        )),
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
        .finish())
}
