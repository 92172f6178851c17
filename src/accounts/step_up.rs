//! The one rule for sensitive changes (anything that touches a second factor, a recovery
//! channel, the password or other sessions): a full sign-in (password + second factor) within
//! `step_up_window_secs`, AND the second factor that confirmed it was not a phone the change
//! must not trust: a phone in its SIM-swap cooldown (added or replaced within
//! `sim_swap_cooldown_hours`), or the very phone being replaced or removed. Either only counts
//! when the account has nothing else to confirm with.
//!
//! Flows that make such a change take a [`SteppedUp`]; only [`check`] makes one, so a change
//! can't be reached without passing the rule.

use std::ops::Deref;

use crate::accounts::sessions::{self, Session};
use crate::mfa::methods::{self, Enrolled};
use crate::Ctx;

/// Proof that `session` passed [`check`] just now. Not constructible elsewhere.
#[derive(Clone, Debug)]
pub struct SteppedUp {
    session: Session,
    /// The phone that confirmed this session's second factor, if it was a phone.
    confirmed_with_phone: Option<String>,
}

impl SteppedUp {
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// May this session change or remove `phone_id`? Not when it was confirmed with that very
    /// phone and the account has another factor to confirm with instead.
    pub async fn may_touch_phone(&self, ctx: &Ctx, phone_id: &str) -> anyhow::Result<bool> {
        let Some(used) = &self.confirmed_with_phone else {
            return Ok(true);
        };
        if used != phone_id {
            return Ok(true);
        }
        let enrolled = enrolled(ctx, &self.session.user_id).await?;
        Ok(!has_trusted_factor_besides(ctx, &enrolled, &[phone_id]))
    }
}

impl Deref for SteppedUp {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

#[derive(Debug)]
// Made once per sensitive request and matched at once: the size doesn't matter here.
#[allow(clippy::large_enum_variant)]
pub enum Check {
    Allowed(SteppedUp),
    /// No full sign-in within the window: step up.
    NeedsStepUp,
    /// Confirmed with a phone that can't vouch for this change: step up with another method.
    NeedsOtherFactor,
}

pub async fn check(ctx: &Ctx, session: &Session) -> anyhow::Result<Check> {
    if !sessions::step_up_fresh(ctx, session) {
        return Ok(Check::NeedsStepUp);
    }
    let used = sessions::phone_factor(ctx, session).await?;
    if let Some(phone_id) = &used {
        let enrolled = enrolled(ctx, &session.user_id).await?;
        let cooling = enrolled
            .phones
            .iter()
            .any(|p| &p.id == phone_id && in_cooldown(ctx, p));
        if cooling && has_trusted_factor_besides(ctx, &enrolled, &[phone_id]) {
            return Ok(Check::NeedsOtherFactor);
        }
    }
    Ok(Check::Allowed(SteppedUp {
        session: session.clone(),
        confirmed_with_phone: used,
    }))
}

fn in_cooldown(ctx: &Ctx, phone: &methods::PhoneRow) -> bool {
    phone.recently_changed(
        ctx.clock.now(),
        ctx.settings.security.sim_swap_cooldown_hours,
    )
}

/// Is there a factor other than `excluded` phones that isn't a phone in its cooldown?
pub fn has_trusted_factor_besides(ctx: &Ctx, enrolled: &Enrolled, excluded: &[&str]) -> bool {
    !enrolled.totp.is_empty()
        || !enrolled.keys.is_empty()
        || enrolled.backup_codes_left > 0
        || enrolled
            .phones
            .iter()
            .any(|p| !excluded.contains(&p.id.as_str()) && !in_cooldown(ctx, p))
}

/// The phones a step-up may use: not the phone being replaced (`target`), and none in its
/// SIM-swap cooldown, as long as something else is left to confirm with.
pub fn step_up_methods(ctx: &Ctx, mut enrolled: Enrolled, target: Option<&str>) -> Enrolled {
    let excluded: Vec<&str> = target.into_iter().collect();
    if has_trusted_factor_besides(ctx, &enrolled, &excluded) {
        enrolled
            .phones
            .retain(|p| !excluded.contains(&p.id.as_str()) && !in_cooldown(ctx, p));
    }
    enrolled
}

async fn enrolled(ctx: &Ctx, user_id: &str) -> anyhow::Result<Enrolled> {
    let uid = user_id.to_string();
    ctx.db.run(move |c| methods::enrolled(c, &uid)).await
}
