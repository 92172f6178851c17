//! The management API's one error shape: `{error, message, field?}` with the right status.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::auth::Refusal;
use crate::admin::Problem;

/// Every error answer of the API.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `invalid_request`, `validation_failed`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `payload_too_large`, `unsupported_media_type`,
    /// `too_many_requests`, `unavailable` or `internal_error`.
    pub error: String,
    /// What went wrong, in plain words.
    pub message: String,
    /// The input at fault: a body field, query parameter or header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Wrong one-time code: how many more tries before the second-factor lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_tries: Option<u32>,
    /// Rate limited: seconds until a retry may work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: error.to_string(),
                message: message.into(),
                field: None,
                remaining_tries: None,
                retry_after_secs: None,
            },
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> ApiError {
        self.body.field = Some(field.into());
        self
    }

    /// 400 naming the input at fault.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", message).field(field)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No such {what}."),
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn internal(e: anyhow::Error) -> ApiError {
        tracing::error!(error = %format!("{e:#}"), "management API internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "The server could not complete the request; nothing was changed that the answer doesn't show. Try again.",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.body.error, self.body.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"verity-admin\""));
        }
        if let Some(secs) = self.body.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.json(&self.body)
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> ApiError {
        match p {
            Problem::Invalid { field, message } => {
                let e = ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", message);
                match field {
                    Some(f) => e.field(f),
                    None => e,
                }
            }
            Problem::WrongCode { message, remaining } => {
                let mut e = ApiError::invalid("code", message);
                e.body.remaining_tries = Some(remaining);
                e
            }
            Problem::NotFound(what) => ApiError::not_found(what),
            Problem::Forbidden(message) => ApiError::forbidden(message),
            Problem::Conflict { field, message } => {
                let e = ApiError::new(StatusCode::CONFLICT, "conflict", message);
                match field {
                    Some(f) => e.field(f),
                    None => e,
                }
            }
            Problem::TooMany {
                message,
                retry_after_secs,
            } => {
                let mut e =
                    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message);
                e.body.retry_after_secs = retry_after_secs;
                e
            }
            Problem::Unavailable(message) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            Problem::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        match r {
            Refusal::MissingToken => ApiError::unauthorized(
                "Send an access token from the client_credentials grant: Authorization: Bearer <token>.",
            ),
            Refusal::InvalidToken(why) => {
                ApiError::unauthorized(format!("The access token can't be used: {why}."))
            }
            Refusal::NotAnAgent(why) => ApiError::forbidden(format!("{why}.")),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
