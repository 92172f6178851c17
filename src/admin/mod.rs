//! The management API's rules (`/admin/api/v1`), as plain flows over `&Ctx`. The HTTP layer
//! is `web::admin`; nothing here knows actix. Every flow returns [`Outcome`]: its result, or a
//! [`Problem`] the web layer turns into a JSON error with the matching status.

pub mod audit;
pub mod auth;
pub mod clients;
pub mod idempotency;
pub mod keys;
pub mod pagination;
pub mod phone_change;
pub mod proofing;
pub mod referee;
pub mod sort_keys;
pub mod ssf;
pub mod users;

/// Why an admin request can't be done, in terms an operator can act on.
#[derive(Debug)]
pub enum Problem {
    /// The request is malformed or a value is out of range; `field` names the culprit.
    Invalid {
        field: Option<String>,
        message: String,
    },
    /// A one-time code didn't match; `remaining` tries are left before the lock.
    WrongCode {
        message: String,
        remaining: u32,
    },
    /// No such resource (or it's gone).
    NotFound(&'static str),
    /// The caller's token may use this area, but not for this (e.g. touching an admin client
    /// without `verity:admin`).
    Forbidden(String),
    /// The request conflicts with the current state (or with an earlier use of an
    /// idempotency key).
    Conflict {
        field: Option<String>,
        message: String,
    },
    /// A limit was hit; try again later.
    TooMany {
        message: String,
        retry_after_secs: Option<u64>,
    },
    /// A service we depend on failed (e.g. the SMS gateway); nothing was done.
    Unavailable(String),
    Internal(anyhow::Error),
}

impl Problem {
    pub fn invalid(field: &str, message: impl Into<String>) -> Problem {
        Problem::Invalid {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    pub fn conflict(field: Option<&str>, message: impl Into<String>) -> Problem {
        Problem::Conflict {
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

impl From<anyhow::Error> for Problem {
    fn from(e: anyhow::Error) -> Problem {
        Problem::Internal(e)
    }
}

pub type Outcome<T> = Result<T, Problem>;

/// Whether a path id could name a row: ids are UUIDs or random tokens. Anything else (too
/// long, control characters — which PostgreSQL refuses in text) can't exist: 404, no query.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A free-text filter or field that will reach the database: no control characters (a NUL
/// would be refused by PostgreSQL).
pub fn no_control_chars(field: &str, value: &str) -> Outcome<()> {
    if value.chars().any(char::is_control) {
        return Err(Problem::invalid(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}
