//! Small pieces several handler files share: URL encoding, where to go after signing in, and
//! the wording (and status) for second-factor outcomes.

use actix_web::http::StatusCode;

use crate::i18n::{Lang, Message};
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

/// English "N minutes", for messages not yet in the locale files (`web::auth`). Converted
/// messages take [`whole_minutes`] as a `$minutes` variable and let Fluent's plural rules
/// choose the words.
pub fn minutes(secs: u64) -> String {
    match whole_minutes(secs) {
        1 => "1 minute".to_string(),
        n => format!("{n} minutes"),
    }
}

/// A wait in seconds as whole minutes, rounded up (at least 1).
pub fn whole_minutes(secs: u64) -> i64 {
    i64::try_from(secs.max(1).div_ceil(60)).unwrap_or(i64::MAX)
}

fn whole_minutes_signed(secs: i64) -> i64 {
    whole_minutes(u64::try_from(secs).unwrap_or(1))
}

/// Why a code wasn't accepted, with the remaining-tries warning; None when it was.
pub fn code_problem(ctx: &Ctx, outcome: &CodeOutcome) -> Option<Message> {
    let security = &ctx.settings.security;
    Some(match outcome {
        CodeOutcome::Accepted => return None,
        CodeOutcome::Wrong { remaining } if *remaining <= security.mfa_warn_remaining => {
            Message::new("mfa-code-wrong-tries-left")
                .arg("count", remaining)
                .arg("minutes", whole_minutes(security.mfa_lock_secs))
        }
        CodeOutcome::Wrong { .. } => Message::new("mfa-code-wrong"),
        CodeOutcome::Expired => Message::new("mfa-code-expired"),
        CodeOutcome::NoCodeSent => Message::new("mfa-code-none-waiting"),
        CodeOutcome::Locked { secs } => {
            Message::new("mfa-code-locked").arg("minutes", whole_minutes_signed(*secs))
        }
    })
}

/// [`code_problem`] in words, for a page's error line ("" when the code was accepted).
pub fn code_problem_text(ctx: &Ctx, lang: Lang, outcome: &CodeOutcome) -> String {
    code_problem(ctx, outcome)
        .map(|m| m.in_lang(lang))
        .unwrap_or_default()
}

pub fn code_status(outcome: &CodeOutcome) -> StatusCode {
    match outcome {
        CodeOutcome::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// Why a code could not be sent, and the status to answer with; None when it was sent.
pub fn send_problem(outcome: &SendOutcome) -> Option<(Message, StatusCode)> {
    match outcome {
        SendOutcome::Sent => None,
        SendOutcome::TooManySends { wait_secs } => Some((
            Message::new("mfa-send-too-many").arg("minutes", whole_minutes(*wait_secs)),
            StatusCode::TOO_MANY_REQUESTS,
        )),
        SendOutcome::CouldNotSend => Some((
            Message::new("mfa-send-failed"),
            StatusCode::SERVICE_UNAVAILABLE,
        )),
        SendOutcome::Locked { secs } => Some((
            Message::new("mfa-send-locked").arg("minutes", whole_minutes_signed(*secs)),
            StatusCode::TOO_MANY_REQUESTS,
        )),
    }
}

/// [`send_problem`] in words: (message, status); ("", 200) when the code was sent.
pub fn send_problem_text(lang: Lang, outcome: &SendOutcome) -> (String, StatusCode) {
    match send_problem(outcome) {
        Some((m, status)) => (m.in_lang(lang), status),
        None => (String::new(), StatusCode::OK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_left_and_minutes_follow_each_languages_plural_rules() {
        let one = Message::new("mfa-code-wrong-tries-left")
            .arg("count", 1)
            .arg("minutes", whole_minutes(600));
        let two = Message::new("mfa-code-wrong-tries-left")
            .arg("count", 2)
            .arg("minutes", whole_minutes(60));
        assert_eq!(
            one.in_lang(Lang::En),
            "That code didn't work. You have 1 try left before this step is locked for 10 minutes."
        );
        assert_eq!(
            two.in_lang(Lang::En),
            "That code didn't work. You have 2 tries left before this step is locked for 1 minute."
        );
        assert!(one.in_lang(Lang::Es).contains("Le queda 1 intento antes"));
        assert!(two.in_lang(Lang::Es).contains("Le quedan 2 intentos antes"));
        assert!(two.in_lang(Lang::Es).ends_with("durante 1 minuto."));
    }

    #[test]
    fn waits_round_up_to_whole_minutes() {
        assert_eq!(whole_minutes(0), 1);
        assert_eq!(whole_minutes(60), 1);
        assert_eq!(whole_minutes(61), 2);
        assert_eq!(minutes(600), "10 minutes");
    }
}
