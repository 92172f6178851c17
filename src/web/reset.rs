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
use crate::web::pages::*;
use crate::Ctx;

fn forgot_page(
    browser: &Browser,
    sent: bool,
    email: String,
    error: Option<String>,
) -> ForgotPasswordPage {
    ForgotPasswordPage {
        layout: browser.layout_for("forgot-title"),
        sent,
        email,
        error,
    }
}

pub async fn forgot_page_get(browser: Browser) -> PageResult {
    render(&forgot_page(&browser, false, String::new(), None))
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
        RequestOutcome::CheckYourEmail => render(&forgot_page(&browser, true, form.email, None)),
        RequestOutcome::Invalid(errors) => render_status(
            &forgot_page(
                &browser,
                false,
                form.email,
                errors.first().map(|e| e.problem.in_lang(browser.lang)),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        RequestOutcome::TooManyRequests => render_status(
            &forgot_page(
                &browser,
                false,
                form.email,
                Some(browser.t("forgot-too-many")),
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
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

fn new_password_page(ctx: &Ctx, browser: &Browser, error: Option<String>) -> NewPasswordPage {
    NewPasswordPage {
        layout: browser.layout_for("new-password-title"),
        min_length: ctx.settings.security.password_min_length,
        error,
        done: false,
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
    render(&new_password_page(&ctx, &browser, None))
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
            let mut page = new_password_page(&ctx, &browser, None);
            page.done = true;
            let body = askama::Template::render(&page).map_err(|e| AppError::Internal(e.into()))?;
            Ok(HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .cookie(cleared_login_cookie(&ctx.settings))
                .body(body))
        }
        ResetOutcome::Refused(errors) => {
            let reasons: Vec<String> = errors.iter().map(|e| e.problem.in_lang(browser.lang)).collect();
            render_status(
                &new_password_page(&ctx, &browser, Some(reasons.join(" "))),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        ResetOutcome::InvalidLink => Err(AppError::refused("reset-link-used")),
    }
}
