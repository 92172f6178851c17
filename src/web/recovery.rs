//! The account-reset links (see `recovery::account_reset`): each GET shows what will happen and
//! a button; only the POST acts, so a mail scanner opening the link changes nothing.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;

use crate::error::PageResult;
use crate::recovery::account_reset::{
    self, Completed, Confirmed, PURPOSE_COMPLETE, PURPOSE_REQUEST,
};
use crate::web::browser::Browser;
use crate::web::guards::CsrfForm;
use crate::web::page_parts::ACCOUNT_RESET_STEPS;
use crate::web::pages::*;
use crate::Ctx;

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

fn page(
    ctx: &Ctx,
    browser: &Browser,
    stage: &str,
    token: &str,
    ready_at: String,
) -> AccountResetPage {
    let step = match stage {
        "confirm_request" => Some(1),
        "requested" => Some(2),
        "complete" => Some(3),
        "completed" => Some(4),
        _ => None,
    };
    AccountResetPage {
        layout: browser.layout_for("account-reset-title"),
        stage: stage.to_string(),
        token: token.to_string(),
        ready_at,
        wait_hours: ctx.settings.security.account_reset_wait_secs.div_ceil(3600),
        steps: step.map(|n| Steps::new(browser.lang, &ACCOUNT_RESET_STEPS, n)),
    }
}

fn invalid(ctx: &Ctx, browser: &Browser) -> PageResult {
    render_status(
        &page(ctx, browser, "invalid", "", String::new()),
        StatusCode::BAD_REQUEST,
    )
}

pub async fn request_get(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<TokenQuery>,
) -> PageResult {
    if !account_reset::link_valid(&ctx, &q.token, PURPOSE_REQUEST).await? {
        return invalid(&ctx, &browser);
    }
    render(&page(
        &ctx,
        &browser,
        "confirm_request",
        &q.token,
        String::new(),
    ))
}

pub async fn request_post(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<TokenForm>,
) -> PageResult {
    match account_reset::confirm_request(&ctx, &form.token, &browser.actor).await? {
        Confirmed::Requested { ready_at } | Confirmed::AlreadyPending { ready_at } => {
            render(&page(
                &ctx,
                &browser,
                "requested",
                "",
                ready_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            ))
        }
        Confirmed::InvalidLink => invalid(&ctx, &browser),
    }
}

pub async fn complete_get(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<TokenQuery>,
) -> PageResult {
    if !account_reset::link_valid(&ctx, &q.token, PURPOSE_COMPLETE).await? {
        return invalid(&ctx, &browser);
    }
    render(&page(&ctx, &browser, "complete", &q.token, String::new()))
}

pub async fn complete_post(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<TokenForm>,
) -> PageResult {
    match account_reset::complete(&ctx, &form.token, &browser.actor).await? {
        Completed::Done { .. } => render(&page(&ctx, &browser, "completed", "", String::new())),
        Completed::InvalidLink => invalid(&ctx, &browser),
    }
}
