//! Pieces several pages show: where a person is in a multi-step flow (USWDS step indicator,
//! `templates/steps.html`) and every problem of a submitted form at once (USWDS error
//! summary, `templates/auth_error_summary.html`).

use crate::accounts::signup::FieldError;
use crate::i18n::Lang;

/// Sign-up: email → check your email → choose a password → second factor (the enrolment
/// pages are step 4).
pub const SIGNUP_STEPS: [&str; 4] = [
    "signup-step-email",
    "signup-step-check-email",
    "signup-step-password",
    "signup-step-second-factor",
];

/// Password reset: email → check your email → confirm it's you (the second-factor page) →
/// new password.
pub const RESET_STEPS: [&str; 4] = [
    "reset-step-email",
    "reset-step-check-email",
    "reset-step-confirm",
    "reset-step-new-password",
];

/// Account reset: confirm the request → wait → remove the old methods → set up new ones.
pub const ACCOUNT_RESET_STEPS: [&str; 4] = [
    "account-reset-step-confirm",
    "account-reset-step-wait",
    "account-reset-step-remove",
    "account-reset-step-set-up",
];

/// One step's name and whether it is done, this page, or still to come.
pub struct Step {
    pub label: String,
    /// "complete", "current" or "upcoming".
    pub state: &'static str,
}

/// Where a person is in a flow: "Step 2 of 4", with every step's name.
pub struct Steps {
    /// 1-based.
    pub current: usize,
    pub items: Vec<Step>,
}

impl Steps {
    /// `keys` name the steps in order; `current` (1-based) is this page's.
    pub fn new(lang: Lang, keys: &[&str], current: usize) -> Steps {
        let items = keys
            .iter()
            .enumerate()
            .map(|(i, key)| Step {
                label: lang.t(key),
                state: match (i + 1).cmp(&current) {
                    std::cmp::Ordering::Less => "complete",
                    std::cmp::Ordering::Equal => "current",
                    std::cmp::Ordering::Greater => "upcoming",
                },
            })
            .collect();
        Steps { current, items }
    }

    pub fn total(&self) -> i64 {
        self.items.len() as i64
    }

    pub fn current_label(&self) -> &str {
        self.items
            .get(self.current.saturating_sub(1))
            .map(|s| s.label.as_str())
            .unwrap_or("")
    }
}

/// A problem the person must fix, next to the field with this id.
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

/// Every problem of a submitted form, in the order of its fields.
#[derive(Default)]
pub struct FieldErrors {
    pub items: Vec<FieldProblem>,
}

impl FieldErrors {
    pub fn new(errors: &[FieldError], lang: Lang) -> FieldErrors {
        FieldErrors {
            items: errors
                .iter()
                .map(|e| FieldProblem {
                    field: e.field,
                    message: e.problem.in_lang(lang),
                })
                .collect(),
        }
    }

    /// The message for `field`, if it has a problem.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.message.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn count(&self) -> i64 {
        self.items.len() as i64
    }
}
