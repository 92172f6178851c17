//! "Contact support" (`/support`), signed in or not.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;

use crate::error::PageResult;
use crate::support::contact::{self, ContactRequest, Submitted};
use crate::web::browser::Browser;
use crate::web::guards::CsrfForm;
use crate::web::pages::*;
use crate::Ctx;

fn page(ctx: &Ctx, browser: &Browser, form: ContactRequest) -> SupportPage {
    SupportPage {
        layout: browser.layout("Contact support"),
        categories: ctx
            .settings
            .support
            .ticket_categories
            .iter()
            .map(|c| (c.clone(), category_label(c)))
            .collect(),
        category: form.category,
        contact_email: form.contact_email,
        message: form.message,
        max_chars: ctx.settings.support.message_max_chars,
        error_field: String::new(),
        error: None,
        filed: None,
    }
}

/// Words for the configured category codes (unknown codes are shown as they are).
fn category_label(code: &str) -> String {
    match code {
        "sign_in" => "I can't sign in".into(),
        "lost_phone" => "I lost my phone or can't get codes".into(),
        "account_security" => "Something happened on my account that wasn't me".into(),
        "other" => "Something else".into(),
        other => other.replace('_', " "),
    }
}

pub async fn form(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    let email = browser
        .session
        .as_ref()
        .map(|s| s.email.clone())
        .unwrap_or_default();
    render(&page(
        &ctx,
        &browser,
        ContactRequest {
            category: String::new(),
            contact_email: email,
            message: String::new(),
        },
    ))
}

#[derive(Deserialize)]
pub struct SupportForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    message: String,
}

pub async fn submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<SupportForm>,
) -> PageResult {
    let form = form.into_inner();
    let request = ContactRequest {
        category: form.category.clone(),
        contact_email: form.contact_email.clone(),
        message: form.message.clone(),
    };
    let user_id = browser.session.as_ref().map(|s| s.user_id.as_str());
    let outcome = contact::submit(&ctx, user_id, request, browser.lang, &browser.actor).await?;
    let mut p = page(
        &ctx,
        &browser,
        ContactRequest {
            category: form.category,
            contact_email: form.contact_email,
            message: form.message,
        },
    );
    match outcome {
        Submitted::Filed {
            ticket_id,
            contact_email,
        } => {
            p.filed = Some(ticket_id);
            p.contact_email = contact_email;
            render(&p)
        }
        Submitted::Invalid { field, message } => {
            p.error_field = field.to_string();
            p.error = Some(message);
            render_status(&p, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Submitted::TooManyRequests => {
            p.error = Some(
                "You've sent several messages in the last hour. Please wait a while before sending another; we'll answer the ones we have.".into(),
            );
            render_status(&p, StatusCode::TOO_MANY_REQUESTS)
        }
    }
}
