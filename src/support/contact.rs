//! "Contact support", for signed-in and signed-out people: checks the form, limits how often it
//! can be used, files a ticket and acknowledges it by email with the ticket number.

use std::time::Duration;

use crate::accounts::users::{email_is_plausible, normalize_email};
use crate::audit::{self, Actor};
use crate::crypto;
use crate::i18n::Lang;
use crate::notify::notices::{self, Notice};
use crate::notify::Channel;
use crate::support::tickets;
use crate::Ctx;

pub struct ContactRequest {
    pub category: String,
    pub contact_email: String,
    pub message: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Submitted {
    Filed {
        ticket_id: String,
        contact_email: String,
    },
    /// Some fields can't be used: every one of them, in the form's order, with why.
    Invalid(Vec<(&'static str, ContactProblem)>),
    TooManyRequests,
}

/// Why a field of the contact form can't be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactProblem {
    /// No category, or one that isn't configured.
    NoCategory,
    /// Not an email address we could reply to.
    BadEmail,
    NoMessage,
    /// Longer than `message_max_chars`.
    MessageTooLong {
        max: usize,
    },
}

/// Files a ticket. A signed-in person (`user_id`) may still give another contact address (their
/// account may be the problem), but the ticket is linked to the account. `lang`: the language
/// the person wrote in; the acknowledgement and later replies use it.
pub async fn submit(
    ctx: &Ctx,
    user_id: Option<&str>,
    request: ContactRequest,
    lang: Lang,
    actor: &Actor,
) -> anyhow::Result<Submitted> {
    let support = &ctx.settings.support;
    let category = request.category.trim();
    let email = normalize_email(&request.contact_email);
    let message = request.message.trim();
    let mut problems = Vec::new();
    if !support.ticket_categories.iter().any(|c| c == category) {
        problems.push(("category", ContactProblem::NoCategory));
    }
    if !email_is_plausible(&email) {
        problems.push(("contact_email", ContactProblem::BadEmail));
    }
    if message.is_empty() {
        problems.push(("message", ContactProblem::NoMessage));
    } else if message.chars().count() > support.message_max_chars {
        problems.push((
            "message",
            ContactProblem::MessageTooLong {
                max: support.message_max_chars,
            },
        ));
    }
    if !problems.is_empty() {
        return Ok(Submitted::Invalid(problems));
    }
    // Per IP and per contact address, so neither a script nor a target's inbox can be flooded.
    let hour = Duration::from_secs(3600);
    let per_ip = ctx
        .store
        .incr(&format!("support:ip:{}", actor.limit_key()), hour)
        .await?;
    let per_email = ctx
        .store
        .incr(
            &format!(
                "support:email:{}",
                hex::encode(&crypto::sha256(email.as_bytes())[..16])
            ),
            hour,
        )
        .await?;
    let limit = i64::from(ctx.settings.security.support_tickets_per_hour);
    if per_ip > limit || per_email > limit {
        return Ok(Submitted::TooManyRequests);
    }
    let ticket = tickets::create(ctx, user_id, &email, category, message, lang).await?;
    let (now, uid, tid, a) = (
        ctx.clock.now(),
        user_id.map(str::to_string),
        ticket.id.clone(),
        actor.clone(),
    );
    let cat = category.to_string();
    ctx.db
        .run(move |c| {
            audit::record(
                c,
                now,
                audit::Event {
                    kind: audit::Kind::SupportTicketCreated,
                    user_id: uid.as_deref(),
                    client_id: None,
                    detail: serde_json::json!({ "ticket": tid, "category": cat }),
                    actor: Some(&a),
                },
            )
        })
        .await?;
    let notice = Notice::SupportReceived {
        ticket: ticket.id.clone(),
    };
    notices::send_best_effort(ctx, Channel::Email, &email, lang, &notice).await;
    Ok(Submitted::Filed {
        ticket_id: ticket.id,
        contact_email: email,
    })
}
