//! Forgot password and the reset link.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::login;
use crate::accounts::reset::{self, RequestOutcome, ResetOutcome, StartOutcome};
use crate::error::{AppError, PageResult};
use crate::web::auth::see_other;
use crate::web::browser::{cleared_login_cookie, login_cookie, Browser, LOGIN_COOKIE};
use crate::web::guards::CsrfForm;
use crate::web::page_parts::RESET_STEPS;
use crate::web::pages::*;
use crate::Ctx;

/// The "forgot password" page: step 1 (asking) or step 2 (sent).
fn forgot_page(ctx: &Ctx, browser: &Browser, sent: bool, email: String) -> ForgotPasswordPage {
    ForgotPasswordPage {
        layout: browser.layout_for("forgot-title"),
        sent,
        email,
        errors: FieldErrors::default(),
        error: None,
        valid_minutes: ctx.settings.security.password_reset_ttl_secs.div_ceil(60) as i64,
        steps: Steps::new(browser.lang, &RESET_STEPS, if sent { 2 } else { 1 }),
    }
}

pub async fn forgot_page_get(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    render(&forgot_page(&ctx, &browser, false, String::new()))
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<ForgotForm>,
) -> PageResult {
    let form = form.into_inner();
    match reset::request(&ctx, &form.email, &browser.actor).await? {
        RequestOutcome::CheckYourEmail => render(&forgot_page(&ctx, &browser, true, form.email)),
        RequestOutcome::Invalid(errors) => {
            let mut page = forgot_page(&ctx, &browser, false, form.email);
            page.errors = FieldErrors::new(&errors, browser.lang);
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        RequestOutcome::TooManyRequests => {
            let mut page = forgot_page(&ctx, &browser, false, form.email);
            page.error = Some(browser.t("forgot-too-many"));
            render_status(&page, StatusCode::TOO_MANY_REQUESTS)
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The emailed link: a second factor first when the account has one.
pub async fn open_link(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<TokenQuery>,
) -> PageResult {
    match reset::start(&ctx, &q.token, &browser.id).await? {
        StartOutcome::SecondFactor { flow_id } => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/mfa"))
            .cookie(login_cookie(&ctx.settings, &flow_id))
            .finish()),
        StartOutcome::ChoosePassword { flow_id } => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/reset-password/new"))
            .cookie(login_cookie(&ctx.settings, &flow_id))
            .finish()),
        StartOutcome::InvalidLink => Err(AppError::refused("reset-link-invalid")),
    }
}

async fn ready_flow(
    ctx: &Ctx,
    browser: &Browser,
    req: &HttpRequest,
) -> Result<Option<login::LoginFlow>, AppError> {
    let id = req
        .cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    Ok(login::load(ctx, &id, &browser.id)
        .await?
        .filter(|f| f.reset_token.is_some() && f.reset_ready))
}

fn new_password_page(ctx: &Ctx, browser: &Browser) -> NewPasswordPage {
    NewPasswordPage {
        layout: browser.layout_for("new-password-title"),
        min_length: ctx.settings.security.password_min_length,
        errors: FieldErrors::default(),
        done: false,
        steps: Steps::new(browser.lang, &RESET_STEPS, 4),
    }
}

pub async fn new_password_get(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
) -> PageResult {
    if ready_flow(&ctx, &browser, &req).await?.is_none() {
        return Ok(see_other("/forgot-password"));
    }
    render(&new_password_page(&ctx, &browser))
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

pub async fn new_password_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<NewPasswordForm>,
) -> PageResult {
    let form = form.into_inner();
    let Some(flow) = ready_flow(&ctx, &browser, &req).await? else {
        return Ok(see_other("/forgot-password"));
    };
    if crate::accounts::password::too_long_to_check(&ctx.settings.security, &form.password) {
        return Err(AppError::refused("password-far-too-long"));
    }
    match reset::complete(
        &ctx,
        &flow,
        form.password,
        &form.password_confirmation,
        &browser.actor,
    )
    .await?
    {
        ResetOutcome::Done => {
            let mut page = new_password_page(&ctx, &browser);
            page.layout = browser.layout_for("new-password-done-title");
            page.done = true;
            let body = askama::Template::render(&page).map_err(|e| AppError::Internal(e.into()))?;
            Ok(HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .cookie(cleared_login_cookie(&ctx.settings))
                .body(body))
        }
        ResetOutcome::Refused(errors) => {
            let mut page = new_password_page(&ctx, &browser);
            page.errors = FieldErrors::new(&errors, browser.lang);
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        ResetOutcome::InvalidLink => Err(AppError::refused("reset-link-used")),
    }
}
