//! One error type for pages. OAuth endpoints answer with their own JSON errors
//! (`oauth::token::TokenError`, `oauth::userinfo::UserinfoError`), mapped in `web::oidc`.
//!
//! `error_response` knows nothing of the request, so the page is written in the person's
//! language by the `localise_error_pages` middleware (`web/mod.rs`), which calls
//! [`AppError::page_text`]; the body below is only what a response would carry without it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::i18n::{Lang, Message};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request can't be used as sent; the message (a locale key) says why.
    #[error("refused: {}", .0.key)]
    Refused(Message),
    /// The form's CSRF token is missing or doesn't match this browser's session.
    #[error("form expired")]
    Csrf,
    #[error("not found")]
    NotFound,
    /// The database or the store is unavailable (an outage): 503, try again shortly.
    #[error("temporarily unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A refusal with this message key.
    pub fn refused(key: &'static str) -> AppError {
        AppError::Refused(Message::new(key))
    }

    /// The error page's heading and explanation in `lang`.
    pub fn page_text(&self, lang: Lang) -> (String, String) {
        match self {
            AppError::Refused(m) => (lang.t("error-bad-request-heading"), m.in_lang(lang)),
            AppError::Csrf => (lang.t("error-csrf-heading"), lang.t("error-csrf-body")),
            AppError::NotFound => (
                lang.t("error-not-found-heading"),
                lang.t("error-not-found-body"),
            ),
            AppError::Unavailable => (
                lang.t("error-unavailable-heading"),
                lang.t("error-unavailable-body"),
            ),
            AppError::Internal(e) if crate::storage::outage::is_outage(e) => (
                lang.t("error-unavailable-heading"),
                lang.t("error-unavailable-body"),
            ),
            AppError::Internal(_) => (
                lang.t("error-internal-heading"),
                lang.t("error-internal-body"),
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Refused(_) => StatusCode::BAD_REQUEST,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(e) if crate::storage::outage::is_outage(e) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(e) if crate::storage::outage::is_outage(e) => {
                tracing::warn!(error = %format!("{e:#}"), "dependency unavailable");
            }
            AppError::Internal(e) => tracing::error!(error = %format!("{e:#}"), "internal error"),
            _ => {}
        }
        let (heading, message) = self.page_text(Lang::En);
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(format!(
                "<!doctype html><html lang=\"en\"><title>{0}</title><h1>{0}</h1><p>{1}</p></html>",
                escape_html(&heading),
                escape_html(&message),
            ))
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub type PageResult = Result<HttpResponse, AppError>;
