//! Security keys and passkeys in the console: add (after a step-up), rename, remove (after a
//! step-up; never the last way to confirm it's you). The same add page serves enrolment at
//! the first sign-in (`web::mfa::setup_key_*`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::error::{AppError, PageResult};
use crate::mfa::webauthn::{self, KeyKind, RegisterProblem, RegisterRefusal, RemoveKey};
use crate::web::auth::see_other;
use crate::web::browser::Browser;
use crate::web::guards::{CsrfForm, SensitiveChange, SignedIn};
use crate::web::mfa::key_refusal;
use crate::web::page_parts::Steps;
use crate::web::pages::*;
use crate::Ctx;

#[derive(Deserialize)]
pub struct KindQuery {
    #[serde(default)]
    pub kind: String,
}

/// "passkey" or "security_key"; a passkey unless it says otherwise.
pub fn kind_of(raw: &str) -> KeyKind {
    KeyKind::parse(raw).unwrap_or(KeyKind::Passkey)
}

/// The name a key gets when the person leaves the field empty, in their language.
pub fn default_name(browser: &Browser, kind: KeyKind) -> String {
    browser.t(match kind {
        KeyKind::Passkey => "key-default-name-passkey",
        KeyKind::SecurityKey => "key-default-name-security-key",
    })
}

/// Where an add page sends its requests.
pub struct AddTargets {
    pub action: &'static str,
    pub options: &'static str,
    pub cancel: &'static str,
}

pub const CONSOLE_TARGETS: AddTargets = AddTargets {
    action: "/account/keys/add",
    options: "/account/keys/options",
    cancel: "/account",
};

pub fn add_page_for(
    ctx: &Ctx,
    browser: &Browser,
    kind: KeyKind,
    targets: &AddTargets,
    steps: Option<Steps>,
    error: Option<String>,
) -> KeyAddPage {
    let passkey = kind == KeyKind::Passkey;
    KeyAddPage {
        layout: browser.layout_for(if passkey {
            "key-add-title-passkey"
        } else {
            "key-add-title-security-key"
        }),
        passkey,
        kind: kind.as_str(),
        action: targets.action,
        options: targets.options,
        name: default_name(browser, kind),
        error,
        steps,
        cancel_href: targets.cancel,
        available: ctx.webauthn.is_some(),
    }
}

/// What to tell the person when adding a key didn't work.
pub fn register_problem_text(browser: &Browser, problem: &RegisterProblem) -> String {
    match problem {
        RegisterProblem::TooMany { max } => browser.lang.t_args(
            "console-key-too-many",
            &[("count", crate::i18n::FluentValue::from(*max))],
        ),
        other => browser.t(match other {
            RegisterProblem::Expired => "webauthn-expired",
            RegisterProblem::ModelNotAllowed => "key-add-model-not-allowed",
            RegisterProblem::AlreadyRegistered => "key-add-already-registered",
            RegisterProblem::Malformed
            | RegisterProblem::Refused
            | RegisterProblem::TooMany { .. } => "key-add-refused",
        }),
    }
}

/// Creation options as JSON for `static/webauthn.js`, or its refusal.
pub fn options_response(
    browser: &Browser,
    begun: Result<(String, webauthn::Options), RegisterRefusal>,
) -> HttpResponse {
    match begun {
        Ok((ceremony, options)) => {
            HttpResponse::Ok().json(serde_json::json!({ "ceremony": ceremony, "options": options }))
        }
        Err(RegisterRefusal::TooMany { max }) => key_refusal(
            StatusCode::CONFLICT,
            browser.lang.t_args(
                "console-key-too-many",
                &[("count", crate::i18n::FluentValue::from(max))],
            ),
        ),
        Err(RegisterRefusal::Unavailable) => {
            key_refusal(StatusCode::NOT_FOUND, browser.t("webauthn-unavailable"))
        }
    }
}

/// What a console ceremony is bound to: the session that stepped up.
fn session_ceremony(change: &SensitiveChange) -> String {
    format!("session:{}", change.session().id)
}

pub async fn add_page(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    q: web::Query<KindQuery>,
) -> PageResult {
    render(&add_page_for(
        &ctx,
        &change.browser,
        kind_of(&q.kind),
        &CONSOLE_TARGETS,
        None,
        None,
    ))
}

#[derive(Deserialize)]
pub struct KindForm {
    #[serde(default)]
    pub kind: String,
}

pub async fn add_options(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<KindForm>,
) -> PageResult {
    let session = change.session();
    let begun = webauthn::begin_registration(
        &ctx,
        &session.user_id,
        &session.email,
        kind_of(&form.kind),
        &change.browser.id,
        &session_ceremony(&change),
    )
    .await?;
    Ok(options_response(&change.browser, begun))
}

/// The authenticator's answer to the creation options, and the name given.
#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ceremony: String,
    #[serde(default)]
    pub credential: String,
}

impl AddForm {
    /// The name to store: what was typed, or the kind's name in the person's language.
    pub fn name_or_default(&self, browser: &Browser) -> String {
        if self.name.trim().is_empty() {
            default_name(browser, kind_of(&self.kind))
        } else {
            self.name.clone()
        }
    }
}

pub async fn add_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<AddForm>,
) -> PageResult {
    let browser = &change.browser;
    let session = change.session();
    let added = webauthn::finish_registration(
        &ctx,
        &session.user_id,
        &browser.id,
        &session_ceremony(&change),
        &form.ceremony,
        &form.credential,
        &form.name_or_default(browser),
        &browser.actor,
    )
    .await?;
    match added {
        Ok(_) => Ok(see_other("/account#keys")),
        Err(problem) => render_status(
            &add_page_for(
                &ctx,
                browser,
                kind_of(&form.kind),
                &CONSOLE_TARGETS,
                None,
                Some(register_problem_text(browser, &problem)),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

pub async fn rename(ctx: web::Data<Ctx>, me: SignedIn, form: CsrfForm<KeyForm>) -> PageResult {
    let keys = webauthn::keys(&ctx, &me.session.user_id).await?;
    let Some(key) = keys.iter().find(|k| k.id == form.id) else {
        return Err(AppError::refused("console-key-unknown"));
    };
    let name = if form.name.trim().is_empty() {
        default_name(&me.browser, key.kind())
    } else {
        form.name.clone()
    };
    if webauthn::rename(&ctx, &me.session.user_id, &form.id, &name).await? {
        Ok(see_other("/account#keys"))
    } else {
        Err(AppError::refused("console-key-unknown"))
    }
}

pub async fn remove(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<KeyForm>,
) -> PageResult {
    let session = change.session();
    let by = webauthn::Remover::Person(change.browser.actor.clone());
    match webauthn::remove(&ctx, &session.user_id, &form.id, by).await? {
        RemoveKey::Removed => Ok(see_other("/account#keys")),
        RemoveKey::LastMethod => Err(AppError::refused("console-key-last-method")),
        RemoveKey::Unknown => Err(AppError::refused("console-key-unknown")),
    }
}
