//! One error type for pages. OAuth endpoints answer with their own JSON errors
//! (`oauth::token::TokenError`, `oauth::userinfo::UserinfoError`), mapped in `web::oidc`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::web::pages::{ErrorPage, Layout};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request can't be used as sent; the message says why in plain words.
    #[error("{0}")]
    BadRequest(String),
    /// The form's CSRF token is missing or doesn't match this browser's session.
    #[error("form expired")]
    Csrf,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (heading, message) = match self {
            AppError::BadRequest(m) => ("We couldn't use that request".to_string(), m.clone()),
            AppError::Csrf => (
                "This form has expired".to_string(),
                "For your security, forms only work for a while and only in the browser that opened them. Go back, reload the page, and try again.".to_string(),
            ),
            AppError::NotFound => ("Page not found".to_string(), "There's nothing at this address.".to_string()),
            AppError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                (
                    "Something went wrong on our side".to_string(),
                    "Nothing you did caused this, and nothing was changed. Please try again in a moment.".to_string(),
                )
            }
        };
        let page = ErrorPage {
            layout: Layout::anonymous(&heading),
            heading,
            message,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| "Something went wrong. Please try again.".to_string());
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

pub type PageResult = Result<HttpResponse, AppError>;
