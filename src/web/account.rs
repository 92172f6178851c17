//! The account console (so far: overview, step-up, phone numbers). Where a phone change
//! happens: the rules are in `accounts/phone_change.rs`; these handlers only map outcomes.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::accounts::login;
use crate::accounts::phone_change::{self, Begin, CodeStep, Confirm, NumberStep, Remove, Stage};
use crate::accounts::signin::{self, SignInOutcome};
use crate::error::{AppError, PageResult};
use crate::mfa::methods::{self, PhoneChannel};
use crate::mfa::phone;
use crate::web::auth::see_other;
use crate::web::browser::{login_cookie, Browser};
use crate::web::common::{code_problem, code_status, enc, send_problem};
use crate::web::pages::*;
use crate::Ctx;

fn step_up_redirect(return_to: &str, exclude_phone: Option<&str>) -> HttpResponse {
    let mut url = format!("/step-up?return_to={}", enc(return_to));
    if let Some(p) = exclude_phone {
        url.push_str(&format!("&exclude_phone={}", enc(p)));
    }
    see_other(&url)
}

pub async fn overview(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let uid = session.user_id.clone();
    let (enrolled, events) = ctx
        .db
        .run(move |c| {
            Ok((
                methods::enrolled(c, &uid)?,
                crate::audit::for_user(c, &uid, 10)?,
            ))
        })
        .await?;
    let now = ctx.clock.now();
    let cooldown = ctx.settings.security.sim_swap_cooldown_hours;
    let sessions = crate::accounts::console::sessions(&ctx, session).await?;
    let uid = session.user_id.clone();
    let (emails, user) = ctx
        .db
        .run(move |c| {
            Ok((
                crate::accounts::emails::list(c, &uid)?,
                crate::accounts::users::by_id(c, &uid)?,
            ))
        })
        .await?;
    let name = user.and_then(|u| u.display_name());
    let apps = crate::accounts::console::connected_apps(&ctx, &session.user_id).await?;
    render(&AccountPage {
        name,
        emails,
        sessions,
        apps,
        layout: browser.layout("Your account"),
        phones: enrolled
            .phones
            .iter()
            .map(|p| AccountPhone {
                id: p.id.clone(),
                masked: p.masked.clone(),
                channel: if p.channel == "voice" {
                    "phone call".into()
                } else {
                    "text message".into()
                },
                is_default: p.is_default,
                recently_changed: p.recently_changed(now, cooldown),
            })
            .collect(),
        authenticator_apps: enrolled
            .totp
            .iter()
            .map(|t| AccountTotp {
                id: t.id.clone(),
                added: t.created_at.format("%Y-%m-%d").to_string(),
            })
            .collect(),
        backup_codes_left: enrolled.backup_codes_left,
        events: events
            .into_iter()
            .map(|e| AccountEvent {
                kind: e.kind.replace('_', " "),
                at: e.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                ip: e.ip.unwrap_or_default(),
                device: e.user_agent.unwrap_or_default(),
            })
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct StepUpQuery {
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    exclude_phone: String,
}

pub async fn step_up_page(browser: Browser, q: web::Query<StepUpQuery>) -> PageResult {
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let q = q.into_inner();
    render(&StepUpPage {
        layout: browser.layout("Confirm it's you"),
        email: session.email.clone(),
        return_to: login::safe_return_to(&q.return_to).unwrap_or_else(|| "/account".into()),
        exclude_phone: q.exclude_phone,
        error: None,
    })
}

#[derive(Deserialize)]
pub struct StepUpForm {
    csrf: Option<String>,
    #[serde(default)]
    password: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    exclude_phone: String,
}

pub async fn step_up_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<StepUpForm>,
) -> PageResult {
    let form = form.into_inner();
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let return_to = login::safe_return_to(&form.return_to).unwrap_or_else(|| "/account".into());
    if crate::accounts::password::too_long_to_check(&ctx.settings.security, &form.password) {
        return Err(AppError::BadRequest(
            "That password is far longer than any we accept.".into(),
        ));
    }
    // The same throttling as signing in.
    match signin::sign_in(&ctx, &session.email, form.password, &browser.actor).await? {
        SignInOutcome::PasswordAccepted { user_id, email } if user_id == session.user_id => {
            let exclude = Some(form.exclude_phone).filter(|p| !p.is_empty());
            let flow_id =
                login::start_step_up(&ctx, &user_id, &email, &browser.id, &return_to, exclude)
                    .await?;
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/mfa"))
                .cookie(login_cookie(&ctx.settings, &flow_id))
                .finish())
        }
        SignInOutcome::TryAgainLater { .. }
        | SignInOutcome::AccountLocked { .. }
        | SignInOutcome::LockedUntilRecovered => Err(AppError::BadRequest(
            "Too many wrong passwords. Wait a while, then try again.".into(),
        )),
        _ => render_status(
            &StepUpPage {
                layout: browser.layout("Confirm it's you"),
                email: session.email.clone(),
                return_to,
                exclude_phone: form.exclude_phone,
                error: Some("That password isn't right.".into()),
            },
            StatusCode::UNAUTHORIZED,
        ),
    }
}

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    phone: String,
}

/// Starts changing (`?phone=ID`) or adding (no phone) a number; step-up first if needed.
pub async fn phone_start(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<StartQuery>,
) -> PageResult {
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let replacing = Some(q.phone.clone()).filter(|p| !p.is_empty());
    match phone_change::begin(&ctx, session, replacing.clone()).await? {
        Begin::Started => Ok(see_other("/account/phones/change")),
        Begin::NeedsStepUp => {
            let here = match &replacing {
                Some(p) => format!("/account/phones/start?phone={}", enc(p)),
                None => "/account/phones/start".to_string(),
            };
            Ok(step_up_redirect(&here, replacing.as_deref()))
        }
        Begin::UnknownPhone => Err(AppError::BadRequest(
            "That phone number isn't on your account.".into(),
        )),
    }
}

fn change_page(
    browser: &Browser,
    flow: &phone_change::PhoneChange,
    error: Option<String>,
    notice: Option<String>,
) -> PhoneChangePage {
    let (stage, new_masked, channel) = match &flow.stage {
        Stage::EnterNumber => ("number", String::new(), "sms".to_string()),
        Stage::CodeSent { e164, channel } => {
            ("code", phone::mask(e164), channel.as_str().to_string())
        }
        Stage::Review { e164, channel } => {
            ("review", phone::mask(e164), channel.as_str().to_string())
        }
    };
    PhoneChangePage {
        layout: browser.layout(if flow.replacing.is_some() {
            "Change your phone number"
        } else {
            "Add a phone number"
        }),
        stage: stage.into(),
        replacing_masked: flow.replacing_masked.clone(),
        new_masked,
        channel,
        error,
        notice,
        receipt: None,
    }
}

pub async fn phone_change_page(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    match phone_change::current(&ctx, session).await? {
        Some(flow) => render(&change_page(&browser, &flow, None, None)),
        None => Ok(see_other("/account")),
    }
}

#[derive(Deserialize)]
pub struct NumberForm {
    csrf: Option<String>,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    code: String,
}

fn channel_of(s: &str) -> PhoneChannel {
    PhoneChannel::parse(s).unwrap_or(PhoneChannel::Sms)
}

async fn rerender(
    ctx: &Ctx,
    browser: &Browser,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> PageResult {
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    match phone_change::current(ctx, session).await? {
        Some(flow) => render_status(&change_page(browser, &flow, error, notice), status),
        None => Ok(see_other("/account")),
    }
}

pub async fn phone_number_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<NumberForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    match phone_change::submit_number(&ctx, session, &form.phone, channel_of(&form.channel)).await?
    {
        NumberStep::CodeSent => Ok(see_other("/account/phones/change")),
        NumberStep::Refused(why) => {
            rerender(
                &ctx,
                &browser,
                Some(why),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        NumberStep::Send(outcome) => {
            let (why, status) = send_problem(&outcome).unwrap_or((String::new(), StatusCode::OK));
            rerender(&ctx, &browser, Some(why), None, status).await
        }
        NumberStep::NoFlow => Ok(see_other("/account")),
    }
}

pub async fn phone_resend(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<NumberForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    match phone_change::resend(&ctx, session, channel_of(&form.channel)).await? {
        Some(crate::mfa::challenge::SendOutcome::Sent) => {
            rerender(
                &ctx,
                &browser,
                None,
                Some("We've sent a new code.".into()),
                StatusCode::OK,
            )
            .await
        }
        Some(outcome) => {
            let (why, status) = send_problem(&outcome).unwrap_or((String::new(), StatusCode::OK));
            rerender(&ctx, &browser, Some(why), None, status).await
        }
        None => Err(AppError::BadRequest(
            "There's no code waiting to be resent.".into(),
        )),
    }
}

pub async fn phone_code_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<NumberForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    match phone_change::submit_code(&ctx, session, &form.code).await? {
        CodeStep::Review => Ok(see_other("/account/phones/change")),
        CodeStep::Problem(outcome) => {
            let why = code_problem(&ctx, &outcome);
            rerender(&ctx, &browser, Some(why), None, code_status(&outcome)).await
        }
        CodeStep::OutOfOrder => Err(AppError::BadRequest(
            "There's no code waiting for this step. Start the change again from your account."
                .into(),
        )),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    csrf: Option<String>,
    #[serde(default)]
    decision: String,
}

pub async fn phone_decision(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<DecisionForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    if form.decision != "confirm" {
        phone_change::cancel(&ctx, session).await?;
        return Ok(see_other("/account"));
    }
    match phone_change::confirm(&ctx, session, &browser.actor).await? {
        Confirm::Done(receipt) => render(&PhoneChangePage {
            layout: browser.layout("Phone number updated"),
            stage: "done".into(),
            replacing_masked: receipt.old_masked.clone(),
            new_masked: receipt.new_masked.clone(),
            channel: String::new(),
            error: None,
            notice: None,
            receipt: Some(receipt.at),
        }),
        Confirm::OutOfOrder => Err(AppError::BadRequest(
            "This change hasn't been confirmed with a code yet. Start again from your account."
                .into(),
        )),
        Confirm::NeedsStepUp => Ok(step_up_redirect("/account/phones/change", None)),
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    csrf: Option<String>,
    #[serde(default)]
    phone: String,
}

pub async fn phone_remove(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<RemoveForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    match phone_change::remove(&ctx, session, &form.phone, &browser.actor).await? {
        Remove::Removed(receipt) => render(&PhoneChangePage {
            layout: browser.layout("Phone number removed"),
            stage: "removed".into(),
            replacing_masked: receipt.old_masked,
            new_masked: String::new(),
            channel: String::new(),
            error: None,
            notice: None,
            receipt: Some(receipt.at),
        }),
        Remove::LastMethod => Err(AppError::BadRequest(
            "This phone is your only way to confirm it's you, so it can't be removed. Add another method first.".into(),
        )),
        Remove::NeedsStepUp => Ok(step_up_redirect("/account", Some(&form.phone))),
        Remove::NeedsOtherFactor(cooling) => Ok(step_up_redirect("/account", Some(&cooling))),
        Remove::Unknown => Err(AppError::BadRequest("That phone number isn't on your account.".into())),
    }
}

#[derive(Deserialize)]
pub struct SessionForm {
    csrf: Option<String>,
    #[serde(default)]
    session: String,
}

/// Signs out one session of one's own.
pub async fn end_session(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<SessionForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    if !crate::accounts::console::end_session(&ctx, session, &form.session, &browser.actor).await? {
        return Err(AppError::BadRequest(
            "That session isn't one of yours.".into(),
        ));
    }
    Ok(see_other(if form.session == session.id {
        "/"
    } else {
        "/account"
    }))
}

/// "Sign out other sessions": a sensitive change, behind step-up.
pub async fn end_other_sessions(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<SessionForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    if !crate::accounts::sessions::step_up_fresh(&ctx, session) {
        return Ok(step_up_redirect("/account", None));
    }
    crate::accounts::console::end_other_sessions(&ctx, session, &browser.actor).await?;
    Ok(see_other("/account"))
}

#[derive(Deserialize)]
pub struct AppForm {
    csrf: Option<String>,
    #[serde(default)]
    client: String,
}

/// Disconnects an app: consent removed, its tokens revoked.
pub async fn revoke_app(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<AppForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    crate::accounts::console::revoke_app(&ctx, &session.user_id, &form.client, &browser.actor)
        .await?;
    ctx.clients.invalidate(&form.client);
    Ok(see_other("/account"))
}

#[derive(Deserialize)]
pub struct ReviewQuery {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    next: String,
}

/// Only local paths (no scheme, no `//`) are valid places to continue to.
fn local_path(next: &str) -> String {
    if next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 2048
    {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// The periodic-review interstitial.
pub async fn phone_review_page(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<ReviewQuery>,
) -> PageResult {
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let uid = session.user_id.clone();
    let phones = ctx
        .db
        .run(move |c| Ok(methods::enrolled(c, &uid)?.phones))
        .await?;
    let Some(phone) = phones.into_iter().find(|p| p.id == q.phone) else {
        return Ok(see_other(&local_path(&q.next)));
    };
    render(&PhoneReviewPage {
        layout: browser.layout("Is this still your number?"),
        phone_id: phone.id,
        masked: phone.masked,
        next: local_path(&q.next),
    })
}

#[derive(Deserialize)]
pub struct ReviewForm {
    csrf: Option<String>,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    next: String,
}

pub async fn phone_review_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<ReviewForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    phone_change::mark_reviewed(&ctx, session, &form.phone, &browser.actor).await?;
    Ok(see_other(&local_path(&form.next)))
}

fn password_page(
    ctx: &Ctx,
    browser: &Browser,
    error: Option<String>,
    done: bool,
) -> ChangePasswordPage {
    ChangePasswordPage {
        layout: browser.layout("Change your password"),
        min_length: ctx.settings.security.password_min_length,
        error,
        done,
    }
}

pub async fn password_page_get(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    if browser.session.is_none() {
        return Ok(see_other("/login"));
    }
    render(&password_page(&ctx, &browser, None, false))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

pub async fn password_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<PasswordForm>,
) -> PageResult {
    let form = form.into_inner();
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let security = &ctx.settings.security;
    if crate::accounts::password::too_long_to_check(security, &form.password)
        || crate::accounts::password::too_long_to_check(security, &form.current_password)
    {
        return Err(AppError::BadRequest(
            "That password is far longer than any we accept.".into(),
        ));
    }
    use crate::accounts::console::PasswordChange;
    match crate::accounts::console::change_password(
        &ctx,
        session,
        form.current_password,
        form.password,
        &form.password_confirmation,
        &browser.actor,
    )
    .await?
    {
        PasswordChange::Done => render(&password_page(&ctx, &browser, None, true)),
        PasswordChange::WrongCurrent => render_status(
            &password_page(
                &ctx,
                &browser,
                Some("Your current password isn't right.".into()),
                false,
            ),
            StatusCode::UNAUTHORIZED,
        ),
        PasswordChange::Refused(why) => render_status(
            &password_page(&ctx, &browser, Some(why), false),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        PasswordChange::NeedsStepUp => Ok(step_up_redirect("/account/password", None)),
    }
}

async fn profile_page(
    ctx: &Ctx,
    browser: &Browser,
    error: Option<String>,
    saved: bool,
) -> PageResult {
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let uid = session.user_id.clone();
    let user = ctx
        .db
        .run(move |c| crate::accounts::users::by_id(c, &uid))
        .await?;
    let Some(user) = user else {
        return Ok(see_other("/login"));
    };
    let page = ProfilePage {
        layout: browser.layout("Your name"),
        given_name: user.given_name.unwrap_or_default(),
        family_name: user.family_name.unwrap_or_default(),
        error: error.clone(),
        saved,
    };
    if error.is_some() {
        render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        render(&page)
    }
}

pub async fn profile_get(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    profile_page(&ctx, &browser, None, false).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    csrf: Option<String>,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
}

pub async fn profile_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<ProfileForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    match crate::accounts::console::update_profile(
        &ctx,
        session,
        &form.given_name,
        &form.family_name,
        &browser.actor,
    )
    .await?
    {
        Ok(()) => profile_page(&ctx, &browser, None, true).await,
        Err(why) => profile_page(&ctx, &browser, Some(why), false).await,
    }
}

fn totp_add_page(
    ctx: &Ctx,
    browser: &Browser,
    email: &str,
    secret: &[u8],
    error: Option<String>,
) -> Result<MfaTotpPage, AppError> {
    Ok(MfaTotpPage {
        layout: browser.layout("Add an authenticator app"),
        qr_svg_base64: crate::mfa::totp::qr_svg_base64(
            secret,
            &ctx.settings.site_name.replace(':', " "),
            &email.replace(':', "."),
        )?,
        secret_text: crate::mfa::totp::secret_base32(secret),
        error,
        form_action: "/account/totp/add".into(),
        back_href: "/account".into(),
    })
}

pub async fn totp_add_get(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    use crate::accounts::console::TotpAddRefusal;
    match crate::accounts::console::totp_add_secret(&ctx, session).await? {
        Ok(secret) => render(&totp_add_page(
            &ctx,
            &browser,
            &session.email,
            &secret,
            None,
        )?),
        Err(TotpAddRefusal::NeedsStepUp) => Ok(step_up_redirect("/account/totp/add", None)),
        Err(TotpAddRefusal::TooMany) => Err(AppError::BadRequest(format!(
            "You already have {} authenticator apps, the most an account can have.",
            ctx.settings.security.max_authenticator_apps
        ))),
    }
}

#[derive(Deserialize)]
pub struct TotpForm {
    csrf: Option<String>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    id: String,
}

pub async fn totp_add_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<TotpForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    use crate::mfa::challenge::CodeOutcome;
    match crate::accounts::console::totp_add_confirm(&ctx, session, &form.code, &browser.actor)
        .await?
    {
        CodeOutcome::Accepted => Ok(see_other("/account")),
        CodeOutcome::NoCodeSent => Ok(see_other("/account/totp/add")),
        other => {
            let why = match other {
                CodeOutcome::Locked { .. } => {
                    "Too many wrong codes. For your security, this step is locked for a while."
                        .to_string()
                }
                _ => "That code didn't work. Check the app and try again.".to_string(),
            };
            match crate::accounts::console::totp_add_secret(&ctx, session).await? {
                Ok(secret) => render_status(
                    &totp_add_page(&ctx, &browser, &session.email, &secret, Some(why))?,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Err(_) => Ok(see_other("/account")),
            }
        }
    }
}

pub async fn totp_remove(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<TotpForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    use crate::accounts::console::RemoveApp;
    match crate::accounts::console::totp_remove(&ctx, session, &form.id, &browser.actor).await? {
        RemoveApp::Removed => Ok(see_other("/account")),
        RemoveApp::LastMethod => Err(AppError::BadRequest(
            "This app is your only way to confirm it's you, so it can't be removed. Add another method first.".into(),
        )),
        RemoveApp::NeedsStepUp => Ok(step_up_redirect("/account", None)),
        RemoveApp::NeedsOtherFactor(cooling) => Ok(step_up_redirect("/account", Some(&cooling))),
        RemoveApp::Unknown => Err(AppError::BadRequest("That app isn't on your account.".into())),
    }
}

#[derive(Deserialize)]
pub struct ActivityQuery {
    /// Cursor: "<unix seconds>.<nanos>~<event id>" of the last event shown.
    #[serde(default)]
    before: String,
}

const ACTIVITY_PAGE: i64 = 20;

fn parse_cursor(raw: &str) -> Option<(chrono::NaiveDateTime, String)> {
    let (ts, id) = raw.split_once('~')?;
    let (secs, nanos) = ts.split_once('.')?;
    let at = chrono::DateTime::from_timestamp(secs.parse().ok()?, nanos.parse().ok()?)?.naive_utc();
    Some((at, id.to_string())).filter(|(_, id)| id.len() <= 64)
}

pub async fn activity(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<ActivityQuery>,
) -> PageResult {
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    let cursor = parse_cursor(&q.before);
    let uid = session.user_id.clone();
    let events = ctx
        .db
        .run(move |c| crate::audit::page_for_user(c, &uid, cursor, ACTIVITY_PAGE + 1))
        .await?;
    let more = events.len() as i64 > ACTIVITY_PAGE;
    let shown: Vec<_> = events.into_iter().take(ACTIVITY_PAGE as usize).collect();
    let next = if more {
        shown.last().map(|e| {
            let t = e.created_at.and_utc();
            format!(
                "/account/activity?before={}",
                enc(&format!(
                    "{}.{}~{}",
                    t.timestamp(),
                    t.timestamp_subsec_nanos(),
                    e.id
                ))
            )
        })
    } else {
        None
    };
    render(&ActivityPage {
        layout: browser.layout("Activity"),
        events: shown
            .into_iter()
            .map(|e| AccountEvent {
                kind: e.kind.replace('_', " "),
                at: e.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                ip: e.ip.unwrap_or_default(),
                device: e.user_agent.unwrap_or_default(),
            })
            .collect(),
        next,
    })
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

pub async fn activity_not_me(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<CsrfOnly>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    crate::accounts::console::disown_activity(&ctx, session, &browser.actor).await?;
    let page = NotMePage {
        layout: crate::web::pages::Layout {
            signed_in: None,
            ..browser.layout("This wasn't me")
        },
        token: String::new(),
        done: Some(true),
    };
    let body = askama::Template::render(&page).map_err(|e| AppError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .cookie(crate::web::browser::cleared_session_cookie(&ctx.settings))
        .body(body))
}

#[derive(Deserialize)]
pub struct EmailForm {
    csrf: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    id: String,
}

fn email_outcome(change: crate::accounts::emails::Change, done_notice: bool) -> PageResult {
    use crate::accounts::emails::Change;
    match change {
        Change::Done if done_notice => Ok(see_other("/account?email_added=1")),
        Change::Done => Ok(see_other("/account")),
        Change::NeedsStepUp => Ok(step_up_redirect("/account", None)),
        Change::Refused(why) => Err(AppError::BadRequest(why)),
    }
}

pub async fn email_add(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<EmailForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    email_outcome(
        crate::accounts::emails::add(&ctx, session, &form.email, &browser.actor).await?,
        true,
    )
}

pub async fn email_primary(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<EmailForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    email_outcome(
        crate::accounts::emails::make_primary(&ctx, session, &form.id, &browser.actor).await?,
        false,
    )
}

pub async fn email_remove(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<EmailForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    email_outcome(
        crate::accounts::emails::remove(&ctx, session, &form.id, &browser.actor).await?,
        false,
    )
}

#[derive(Deserialize)]
pub struct EmailConfirmQuery {
    #[serde(default)]
    token: String,
}

pub async fn email_confirm(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<EmailConfirmQuery>,
) -> PageResult {
    let confirmed = crate::accounts::emails::confirm(&ctx, &q.token).await?;
    let page = ConfirmEmailPage {
        layout: browser.layout(if confirmed {
            "Email confirmed"
        } else {
            "Link not valid"
        }),
        confirmed,
        sign_in_link: "/account".into(),
    };
    if confirmed {
        render(&page)
    } else {
        render_status(&page, StatusCode::BAD_REQUEST)
    }
}
