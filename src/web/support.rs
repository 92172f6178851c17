//! "Contact support" (`/support`), signed in or not.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;

use crate::error::PageResult;
use crate::i18n::{FluentValue, Lang};
use crate::support::contact::{self, ContactProblem, ContactRequest, Submitted};
use crate::web::browser::Browser;
use crate::web::guards::CsrfForm;
use crate::web::pages::*;
use crate::Ctx;

fn page(ctx: &Ctx, browser: &Browser, form: ContactRequest) -> SupportPage {
    SupportPage {
        layout: browser.layout_for("support-form-title"),
        categories: ctx
            .settings
            .support
            .ticket_categories
            .iter()
            .map(|c| (c.clone(), category_label(browser.lang, c)))
            .collect(),
        category: form.category,
        contact_email: form.contact_email,
        message: form.message,
        max_chars: ctx.settings.support.message_max_chars,
        problems: Vec::new(),
        error: None,
        filed: None,
    }
}

/// Words for the configured category codes (an operator's own codes are shown as they are).
fn category_label(lang: Lang, code: &str) -> String {
    match code {
        "sign_in" => lang.t("support-form-category-sign-in"),
        "lost_phone" => lang.t("support-form-category-lost-phone"),
        "account_security" => lang.t("support-form-category-account-security"),
        "other" => lang.t("support-form-category-other"),
        other => other.replace('_', " "),
    }
}

fn problem_words(lang: Lang, problem: ContactProblem) -> String {
    match problem {
        ContactProblem::NoCategory => lang.t("support-form-category-missing"),
        ContactProblem::BadEmail => lang.t("support-form-email-invalid"),
        ContactProblem::NoMessage => lang.t("support-form-message-missing"),
        ContactProblem::MessageTooLong { max } => lang.t_args(
            "support-form-message-too-long",
            &[("count", FluentValue::from(max))],
        ),
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
        Submitted::Invalid(problems) => {
            p.problems = problems
                .into_iter()
                .map(|(field, problem)| FieldProblem {
                    field,
                    message: problem_words(browser.lang, problem),
                })
                .collect();
            render_status(&p, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Submitted::TooManyRequests => {
            p.error = Some(browser.t("support-form-too-many"));
            render_status(&p, StatusCode::TOO_MANY_REQUESTS)
        }
    }
}
