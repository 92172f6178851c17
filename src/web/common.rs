//! Small pieces several handler files share: URL encoding, where to go after signing in, and
//! the wording (and status) for second-factor outcomes.

use actix_web::http::StatusCode;

use crate::mfa::challenge::{CodeOutcome, SendOutcome};
use crate::Ctx;

pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Where to go after signing in: back into the authorization request, or home.
pub fn after_sign_in(authz: &str) -> String {
    if authz.is_empty() {
        "/".to_string()
    } else {
        format!("/authorize/continue?authz={}", enc(authz))
    }
}

pub fn minutes(secs: u64) -> String {
    match secs.max(1).div_ceil(60) {
        1 => "1 minute".to_string(),
        n => format!("{n} minutes"),
    }
}

/// The message for a code that wasn't accepted, with the remaining-tries warning.
pub fn code_problem(ctx: &Ctx, outcome: &CodeOutcome) -> String {
    match outcome {
        CodeOutcome::Accepted => String::new(),
        CodeOutcome::Wrong { remaining } if *remaining <= ctx.settings.security.mfa_warn_remaining => format!(
            "That code didn't work. You have {remaining} {} left before this step is locked for {}.",
            if *remaining == 1 { "try" } else { "tries" },
            minutes(ctx.settings.security.mfa_lock_secs)
        ),
        CodeOutcome::Wrong { .. } => "That code didn't work. Check it and try again.".into(),
        CodeOutcome::Expired => "That code has expired. Send a new one.".into(),
        CodeOutcome::NoCodeSent => "There's no code waiting for this step. Send a new one.".into(),
        CodeOutcome::Locked { secs } => format!(
            "Too many wrong codes. For your security, this step is locked for {}. We've emailed you about it.",
            minutes(*secs as u64)
        ),
    }
}

pub fn code_status(outcome: &CodeOutcome) -> StatusCode {
    match outcome {
        CodeOutcome::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The message and status when a code could not be sent; None when it was.
pub fn send_problem(outcome: &SendOutcome) -> Option<(String, StatusCode)> {
    match outcome {
        SendOutcome::Sent => None,
        SendOutcome::TooManySends { wait_secs } => Some((
            format!(
                "We've sent several codes in a short time. Please wait {} before asking for another, or use a code you already received.",
                minutes(*wait_secs)
            ),
            StatusCode::TOO_MANY_REQUESTS,
        )),
        SendOutcome::CouldNotSend => Some((
            "We couldn't send the code just now. Try a voice call instead, or choose another method.".into(),
            StatusCode::SERVICE_UNAVAILABLE,
        )),
        SendOutcome::Locked { secs } => Some((
            format!("Too many wrong codes. For your security, this step is locked for {}.", minutes(*secs as u64)),
            StatusCode::TOO_MANY_REQUESTS,
        )),
    }
}
