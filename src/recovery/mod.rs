//! Account recovery when the phone (or every second factor) is gone.
//!
//! - Forgot password (email link + a second factor; a phone in its SIM-swap cooldown doesn't
//!   count): [`crate::accounts::reset`], with the cooldown rule in
//!   [`crate::accounts::login::usable_methods`].
//! - "I don't have my phone" at the challenge: sign in with an authenticator app or a backup code,
//!   then the console leads to replacing the phone (`web::mfa::lost_phone`).
//! - Nothing else left: the time-delayed [`account_reset`].

pub mod account_reset;

use crate::mfa::methods;
use crate::notify::{send_best_effort, Channel, Message};
use crate::Ctx;

/// One notice on every channel on file: every confirmed email address, and an SMS to every
/// phone. Sending is best effort (a failed send is logged); the change it announces stands.
pub async fn notify_every_channel(
    ctx: &Ctx,
    user_id: &str,
    subject: &str,
    email_body: &str,
    sms_body: &str,
) -> anyhow::Result<()> {
    crate::accounts::emails::notify_all(ctx, user_id, None, subject, email_body).await?;
    let uid = user_id.to_string();
    let phones = ctx
        .db
        .run(move |c| Ok(methods::enrolled(c, &uid)?.phones))
        .await?;
    for phone in phones {
        if let Ok(number) = methods::decrypt_phone(&ctx.master, &phone) {
            send_best_effort(
                &*ctx.notifier,
                Message {
                    channel: Channel::Sms,
                    to: number,
                    subject: subject.to_string(),
                    body: sms_body.to_string(),
                },
            )
            .await;
        }
    }
    Ok(())
}
