//! Second-factor pages: the challenge after the password, and enrolment of a first method.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::console;
use crate::accounts::login::{self, CodePhone, LoginFlow, LoginStage, PendingPhone};
use crate::accounts::sessions::{self, AMR_OTP};
use crate::error::{AppError, PageResult};
use crate::mfa::challenge::{self, CodeOutcome, PhoneTarget};
use crate::mfa::enrol::{self, PhoneConfirmed, PhoneStep, TotpConfirmed};
use crate::mfa::methods::{self, PhoneChannel};
use crate::mfa::{backup_codes, phone, totp};
use crate::web::auth::see_other;
use crate::web::browser::{
    cleared_login_cookie, remember_cookie, session_cookie, Browser, LOGIN_COOKIE,
};
use crate::web::common::{after_sign_in, code_problem, code_status, send_problem};
use crate::web::guards::{CsrfForm, SensitiveChange, SignedIn};
use crate::web::pages::*;
use crate::Ctx;

/// The sign-in in progress for this browser, or a redirect back to the password page.
async fn flow_of(
    ctx: &Ctx,
    browser: &Browser,
    req: &HttpRequest,
) -> Result<Result<(String, LoginFlow), HttpResponse>, AppError> {
    let id = req
        .cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    match login::load(ctx, &id, &browser.id).await? {
        Some(flow) => Ok(Ok((id, flow))),
        None => Ok(Err(see_other("/login?expired=1"))),
    }
}

/// Second factor proven: session cookie in, login cookie out, back to where the person was.
async fn complete(
    ctx: &Ctx,
    browser: &Browser,
    flow_id: &str,
    flow: &LoginFlow,
    amr: &[&str],
    remember: bool,
    phone_used: Option<&str>,
) -> PageResult {
    if flow.reset_token.is_some() {
        // A password reset: the second factor unlocks choosing a new password, not a session.
        let mut flow = flow.clone();
        flow.reset_ready = true;
        login::save(ctx, flow_id, &flow).await?;
        return Ok(see_other("/reset-password/new"));
    }
    if let Some(old) = &browser.session {
        sessions::revoke(ctx, &old.id, &browser.actor).await?;
    }
    let session = login::finish(ctx, flow_id, flow, amr, &browser.actor).await?;
    if let Some(phone_id) = phone_used {
        sessions::record_phone_factor(ctx, &session.id, phone_id).await?;
    }
    let mut destination = match login::lost_phone_destination(ctx, flow).await? {
        Some(replace_phone) => replace_phone,
        None => flow
            .return_to
            .clone()
            .unwrap_or_else(|| after_sign_in(&flow.authz)),
    };
    // Periodic review: "is this still your number?" before going on.
    if let Some(phone_id) =
        crate::accounts::phone_change::phone_due_for_review(ctx, &flow.user_id).await?
    {
        destination = format!(
            "/account/phones/review?phone={}&next={}",
            url::form_urlencoded::byte_serialize(phone_id.as_bytes()).collect::<String>(),
            url::form_urlencoded::byte_serialize(destination.as_bytes()).collect::<String>()
        );
    }
    let mut res = HttpResponse::SeeOther();
    res.insert_header((header::LOCATION, destination))
        .cookie(session_cookie(&ctx.settings, &session.token))
        .cookie(cleared_login_cookie(&ctx.settings));
    if remember {
        res.cookie(remember_cookie(
            &ctx.settings,
            &login::remember_cookie_value(ctx, &flow.user_id, &flow.browser_id),
        ));
    }
    Ok(res.finish())
}

#[derive(Deserialize, Default)]
pub struct ChallengeQuery {
    #[serde(default)]
    method: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    sent: String,
}

async fn challenge_page(
    ctx: &Ctx,
    browser: &Browser,
    flow: &LoginFlow,
    q: &ChallengeQuery,
    error: Option<String>,
    status: StatusCode,
) -> PageResult {
    let all = login::enrolled(ctx, &flow.user_id).await?;
    let cooldown = login::phones_in_cooldown(ctx, flow, &all)
        .into_iter()
        .map(|(masked, until)| CooldownPhone {
            masked,
            until: until.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect();
    let enrolled = login::usable_methods(ctx, flow, all);
    let default_method = if !enrolled.phones.is_empty() {
        "phone"
    } else if !enrolled.totp.is_empty() {
        "totp"
    } else {
        "backup"
    };
    let method = match q.method.as_str() {
        _ if !enrolled.any() => "none",
        "phone" if !enrolled.phones.is_empty() => "phone",
        "totp" if !enrolled.totp.is_empty() => "totp",
        "backup" if enrolled.backup_codes_left > 0 => "backup",
        _ => default_method,
    };
    let phone = enrolled
        .phones
        .iter()
        .find(|p| p.id == q.phone)
        .or_else(|| enrolled.phones.first())
        .map(|p| PhoneOption {
            id: p.id.clone(),
            masked: p.masked.clone(),
            channel: p.channel.clone(),
        });
    let mut others = Vec::new();
    for p in &enrolled.phones {
        if method != "phone" || phone.as_ref().is_some_and(|sel| sel.id != p.id) {
            others.push(MethodLink {
                href: format!("/mfa?method=phone&phone={}", p.id),
                label: format!("Text or call {}", p.masked),
            });
        }
    }
    if method != "totp" && !enrolled.totp.is_empty() {
        others.push(MethodLink {
            href: "/mfa?method=totp".into(),
            label: "Use your authenticator app".into(),
        });
    }
    if method != "backup" && enrolled.backup_codes_left > 0 {
        others.push(MethodLink {
            href: "/mfa?method=backup".into(),
            label: format!("Use a backup code ({} left)", enrolled.backup_codes_left),
        });
    }
    let page = MfaChallengePage {
        layout: browser.layout("Confirm it's you"),
        method: method.to_string(),
        phone,
        sent: q.sent == "1",
        error,
        others,
        remember_days: ctx.settings.security.remember_browser_days,
        code_length: ctx.settings.security.backup_code_length,
        cooldown,
        is_reset: flow.reset_token.is_some(),
    };
    render_status(&page, status)
}

pub async fn challenge(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    q: web::Query<ChallengeQuery>,
) -> PageResult {
    let (_, flow) = match flow_of(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(redirect) => return Ok(redirect),
    };
    if flow.stage == LoginStage::Enrol {
        return Ok(see_other("/mfa/setup"));
    }
    challenge_page(&ctx, &browser, &flow, &q, None, StatusCode::OK).await
}

/// "I don't have my phone": the other ways in (authenticator app, backup code), and the
/// time-delayed account reset when none is left.
pub async fn lost_phone(ctx: web::Data<Ctx>, browser: Browser, req: HttpRequest) -> PageResult {
    let (flow_id, mut flow) = match flow_of(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(redirect) => return Ok(redirect),
    };
    if flow.stage == LoginStage::Enrol {
        return Ok(see_other("/mfa/setup"));
    }
    if !flow.lost_phone {
        flow.lost_phone = true;
        login::save(&ctx, &flow_id, &flow).await?;
    }
    lost_phone_page(&ctx, &browser, &flow, None, StatusCode::OK).await
}

async fn lost_phone_page(
    ctx: &Ctx,
    browser: &Browser,
    flow: &LoginFlow,
    notice: Option<String>,
    status: StatusCode,
) -> PageResult {
    let enrolled = login::usable_methods(ctx, flow, login::enrolled(ctx, &flow.user_id).await?);
    let pending = crate::recovery::account_reset::pending(ctx, &flow.user_id)
        .await?
        .map(|r| r.ready_at.format("%Y-%m-%d %H:%M UTC").to_string());
    let page = LostPhonePage {
        layout: browser.layout("Don't have your phone?"),
        totp: !enrolled.totp.is_empty(),
        backup_codes_left: enrolled.backup_codes_left,
        can_reset_account: crate::recovery::account_reset::may_request(flow),
        pending_until: pending,
        wait_hours: ctx.settings.security.account_reset_wait_secs.div_ceil(3600),
        notice,
    };
    render_status(&page, status)
}

#[derive(Deserialize)]
pub struct CsrfOnly {}

/// Asks for an account reset (the password was given in this flow): a confirmation link by email.
pub async fn lost_phone_account_reset(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    _form: CsrfForm<CsrfOnly>,
) -> PageResult {
    let (_, flow) = match flow_of(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(redirect) => return Ok(redirect),
    };
    use crate::recovery::account_reset::{send_request_link, RequestLink};
    let (notice, status) = match send_request_link(&ctx, &flow, &browser.actor).await? {
        RequestLink::Sent { email } => (
            format!("We've emailed a link to {email}. Open it to confirm the account reset."),
            StatusCode::OK,
        ),
        RequestLink::AlreadyPending { ready_at } => (
            format!(
                "An account reset is already waiting. We'll email you a link on {}.",
                ready_at.format("%Y-%m-%d %H:%M UTC")
            ),
            StatusCode::OK,
        ),
        RequestLink::TooManyRequests => (
            "Too many requests in the last hour. Please try again later.".into(),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        RequestLink::PasswordFirst => {
            return Err(AppError::BadRequest(
                "Sign in with your password first, then ask for an account reset.".into(),
            ))
        }
    };
    lost_phone_page(&ctx, &browser, &flow, Some(notice), status).await
}

#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    channel: String,
}

pub async fn send(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<SendForm>,
) -> PageResult {
    let (_, flow) = match flow_of(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(redirect) => return Ok(redirect),
    };
    let row = match login::phone_for_code(&ctx, &flow, &form.phone).await? {
        CodePhone::Usable(row) => row,
        CodePhone::CoolingDown => {
            let q = ChallengeQuery::default();
            let message = "That phone number was added or changed recently, so it can't be used to reset your password yet. Choose another way to confirm it's you.".to_string();
            return challenge_page(
                &ctx,
                &browser,
                &flow,
                &q,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        CodePhone::Unknown => {
            return Err(AppError::BadRequest(
                "Choose one of your phone numbers.".into(),
            ))
        }
    };
    let channel = PhoneChannel::parse(&form.channel).unwrap_or(PhoneChannel::Sms);
    let target = PhoneTarget {
        e164: methods::decrypt_phone(&ctx.master, &row)?,
        masked: row.masked.clone(),
        phone_id: Some(row.id.clone()),
    };
    let outcome = challenge::send_phone_code(
        &ctx,
        &flow.user_id,
        login::code_purpose(&flow),
        target,
        channel,
    )
    .await?;
    let q = ChallengeQuery {
        method: "phone".into(),
        phone: row.id.clone(),
        sent: String::new(),
    };
    match send_problem(&outcome) {
        None => Ok(see_other(&format!(
            "/mfa?method=phone&phone={}&sent=1",
            row.id
        ))),
        Some((message, status)) => {
            challenge_page(&ctx, &browser, &flow, &q, Some(message), status).await
        }
    }
}

#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    remember: Option<String>,
}

pub async fn verify(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<VerifyForm>,
) -> PageResult {
    let form = form.into_inner();
    let (flow_id, flow) = match flow_of(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(redirect) => return Ok(redirect),
    };
    if flow.stage != LoginStage::SecondFactor {
        return Ok(see_other("/mfa/setup"));
    }
    if form.code.len() > 64 {
        return Err(AppError::BadRequest("That code is far too long.".into()));
    }
    let (outcome, amr, phone_used) = match form.method.as_str() {
        "phone" => {
            let (outcome, used) = challenge::verify_phone_code(
                &ctx,
                &flow.user_id,
                &flow.email,
                login::code_purpose(&flow),
                &form.code,
            )
            .await?;
            let amr = used.as_ref().map(|c| c.channel.amr()).unwrap_or(AMR_OTP);
            (outcome, amr, used.and_then(|c| c.target.phone_id))
        }
        "totp" => (
            challenge::verify_totp(&ctx, &flow.user_id, &flow.email, &form.code).await?,
            AMR_OTP,
            None,
        ),
        "backup" => (
            challenge::verify_backup_code(&ctx, &flow.user_id, &flow.email, &form.code).await?,
            AMR_OTP,
            None,
        ),
        _ => {
            return Err(AppError::BadRequest(
                "Choose a way to confirm it's you.".into(),
            ))
        }
    };
    if outcome == CodeOutcome::Accepted {
        return complete(
            &ctx,
            &browser,
            &flow_id,
            &flow,
            &[amr],
            form.remember.is_some(),
            phone_used.as_deref(),
        )
        .await;
    }
    let q = ChallengeQuery {
        method: form.method.clone(),
        phone: form.phone.clone(),
        sent: if form.method == "phone" {
            "1".into()
        } else {
            String::new()
        },
    };
    let message = code_problem(&ctx, &outcome);
    challenge_page(
        &ctx,
        &browser,
        &flow,
        &q,
        Some(message),
        code_status(&outcome),
    )
    .await
}

// Enrolment of a first method (sign-up is not complete until one exists).

async fn enrol_flow(
    ctx: &Ctx,
    browser: &Browser,
    req: &HttpRequest,
) -> Result<Result<(String, LoginFlow), HttpResponse>, AppError> {
    match flow_of(ctx, browser, req).await? {
        Ok((id, flow)) if flow.stage == LoginStage::Enrol => Ok(Ok((id, flow))),
        Ok(_) => Ok(Err(see_other("/mfa"))),
        Err(r) => Ok(Err(r)),
    }
}

pub async fn setup(ctx: web::Data<Ctx>, browser: Browser, req: HttpRequest) -> PageResult {
    if let Err(redirect) = enrol_flow(&ctx, &browser, &req).await? {
        return Ok(redirect);
    }
    render(&MfaSetupPage {
        layout: browser.layout("Add a second way to sign in"),
    })
}

fn phone_page(
    browser: &Browser,
    pending: Option<&PendingPhone>,
    number: String,
    error: Option<String>,
    notice: Option<String>,
) -> MfaPhonePage {
    MfaPhonePage {
        layout: browser.layout("Add a phone number"),
        masked: pending.map(|p| phone::mask(&p.e164)),
        channel: pending
            .map(|p| p.channel.as_str().to_string())
            .unwrap_or_else(|| "sms".into()),
        number,
        error,
        notice,
    }
}

pub async fn setup_phone_page(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
) -> PageResult {
    let (_, flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    render(&phone_page(
        &browser,
        flow.pending_phone.as_ref(),
        String::new(),
        None,
        None,
    ))
}

#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    channel: String,
}

pub async fn setup_phone_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<PhoneForm>,
) -> PageResult {
    let form = form.into_inner();
    let (flow_id, mut flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let channel = PhoneChannel::parse(&form.channel).unwrap_or(PhoneChannel::Sms);
    let (message, status) =
        match enrol::submit_phone(&ctx, &flow_id, &mut flow, &form.phone, channel).await? {
            PhoneStep::CodeSent => return Ok(see_other("/mfa/setup/phone")),
            PhoneStep::Refused(why) => (why, StatusCode::UNPROCESSABLE_ENTITY),
            PhoneStep::Send(outcome) => {
                send_problem(&outcome).unwrap_or((String::new(), StatusCode::OK))
            }
        };
    render_status(
        &phone_page(&browser, None, form.phone, Some(message), None),
        status,
    )
}

pub async fn setup_phone_resend(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<PhoneForm>,
) -> PageResult {
    let (flow_id, mut flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let channel = PhoneChannel::parse(&form.channel);
    let Some(outcome) = enrol::resend_phone(&ctx, &flow_id, &mut flow, channel).await? else {
        return Ok(see_other("/mfa/setup/phone"));
    };
    let pending = flow.pending_phone.as_ref();
    match send_problem(&outcome) {
        None => render(&phone_page(
            &browser,
            pending,
            String::new(),
            None,
            Some("We've sent a new code.".into()),
        )),
        Some((message, status)) => render_status(
            &phone_page(&browser, pending, String::new(), Some(message), None),
            status,
        ),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn setup_phone_confirm(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<CodeForm>,
) -> PageResult {
    let (flow_id, flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let pending = flow.pending_phone.as_ref();
    let (message, status) = match enrol::confirm_phone(&ctx, &flow, &form.code).await? {
        PhoneConfirmed::Added { amr, phone_id } => {
            return complete(
                &ctx,
                &browser,
                &flow_id,
                &flow,
                &[amr],
                false,
                Some(&phone_id),
            )
            .await
        }
        PhoneConfirmed::NothingPending => return Ok(see_other("/mfa/setup/phone")),
        PhoneConfirmed::Problem(outcome) => (code_problem(&ctx, &outcome), code_status(&outcome)),
        PhoneConfirmed::Refused(why) => (why, StatusCode::UNPROCESSABLE_ENTITY),
    };
    render_status(
        &phone_page(&browser, pending, String::new(), Some(message), None),
        status,
    )
}

pub async fn setup_totp_page(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
) -> PageResult {
    let (flow_id, mut flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let secret = enrol::totp_secret(&ctx, &flow_id, &mut flow).await?;
    render(&totp_page(&ctx, &browser, &flow, &secret, None)?)
}

fn totp_page(
    ctx: &Ctx,
    browser: &Browser,
    flow: &LoginFlow,
    secret: &[u8],
    error: Option<String>,
) -> Result<MfaTotpPage, AppError> {
    Ok(MfaTotpPage {
        layout: browser.layout("Add an authenticator app"),
        // The otpauth label can't carry ':'; an email may.
        qr_svg_base64: totp::qr_svg_base64(
            secret,
            &ctx.settings.site_name.replace(':', " "),
            &flow.email.replace(':', "."),
        )?,
        secret_text: totp::secret_base32(secret),
        error,
        form_action: "/mfa/setup/totp".into(),
        back_href: "/mfa/setup".into(),
    })
}

pub async fn setup_totp_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<CodeForm>,
) -> PageResult {
    let (flow_id, flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let Some(secret) = flow.pending_totp.clone() else {
        return Ok(see_other("/mfa/setup/totp"));
    };
    let (message, status) = match enrol::confirm_totp(&ctx, &flow, &form.code).await? {
        TotpConfirmed::Added => {
            return complete(&ctx, &browser, &flow_id, &flow, &[AMR_OTP], false, None).await
        }
        TotpConfirmed::NoSecret => return Ok(see_other("/mfa/setup/totp")),
        TotpConfirmed::TooMany => (
            format!(
                "You already have {} authenticator apps, the most an account can have.",
                ctx.settings.security.max_authenticator_apps
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        TotpConfirmed::Problem(outcome) => (code_problem(&ctx, &outcome), code_status(&outcome)),
    };
    render_status(
        &totp_page(&ctx, &browser, &flow, &secret, Some(message))?,
        status,
    )
}

pub async fn setup_backup_generate(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    _form: CsrfForm<CsrfOnly>,
) -> PageResult {
    let (flow_id, mut flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    enrol::generate_backup_codes(&ctx, &flow_id, &mut flow).await?;
    Ok(see_other("/mfa/setup/backup-codes"))
}

pub async fn setup_backup_page(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
) -> PageResult {
    let (_, flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let Some(codes) = &flow.backup_codes_shown else {
        return Ok(see_other("/mfa/setup"));
    };
    render(&MfaBackupCodesPage {
        layout: browser.layout("Your backup codes"),
        codes: codes.iter().map(|c| backup_codes::display(c)).collect(),
        download_href: "/mfa/setup/backup-codes.txt".into(),
        done_action: "/mfa/setup/backup-codes/done".into(),
        done_is_form: true,
    })
}

pub async fn setup_backup_download(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
) -> PageResult {
    let (_, flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let Some(codes) = &flow.backup_codes_shown else {
        return Ok(see_other("/mfa/setup"));
    };
    Ok(codes_download(&ctx, &flow.email, codes))
}

fn codes_download(ctx: &Ctx, email: &str, codes: &[String]) -> HttpResponse {
    let mut text = format!(
        "{} backup codes for {}\nEach code works once. Keep them somewhere safe.\n\n",
        ctx.settings.site_name, email
    );
    for c in codes {
        text.push_str(&backup_codes::display(c));
        text.push('\n');
    }
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"backup-codes.txt\"",
        ))
        .body(text)
}

// Regenerating backup codes when signed in (prompted on the home page when few are left).

pub async fn regenerate_backup_codes(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    _form: CsrfForm<CsrfOnly>,
) -> PageResult {
    console::regenerate_backup_codes(&ctx, &change.stepped_up).await?;
    Ok(see_other("/account/backup-codes"))
}

pub async fn regenerated_backup_codes(ctx: web::Data<Ctx>, me: SignedIn) -> PageResult {
    let Some(codes) = console::shown_backup_codes(&ctx, &me.session).await? else {
        return Ok(see_other("/"));
    };
    render(&MfaBackupCodesPage {
        layout: me.browser.layout("Your new backup codes"),
        codes: codes.iter().map(|c| backup_codes::display(c)).collect(),
        download_href: "/account/backup-codes.txt".into(),
        done_action: "/".into(),
        done_is_form: false,
    })
}

pub async fn regenerated_backup_codes_download(ctx: web::Data<Ctx>, me: SignedIn) -> PageResult {
    let Some(codes) = console::shown_backup_codes(&ctx, &me.session).await? else {
        return Ok(see_other("/"));
    };
    Ok(codes_download(&ctx, &me.session.email, &codes))
}

pub async fn setup_backup_done(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    _form: CsrfForm<CsrfOnly>,
) -> PageResult {
    let (flow_id, flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    if flow.backup_codes_shown.is_none() {
        return Ok(see_other("/mfa/setup"));
    }
    complete(&ctx, &browser, &flow_id, &flow, &[], false, None).await
}

#[derive(Deserialize)]
pub struct NotMeQuery {
    #[serde(default)]
    token: String,
}

pub async fn not_me_page(browser: Browser, q: web::Query<NotMeQuery>) -> PageResult {
    render(&NotMePage {
        layout: browser.layout("This wasn't me"),
        token: q.into_inner().token,
        done: None,
    })
}

#[derive(Deserialize)]
pub struct NotMeForm {
    #[serde(default)]
    token: String,
}

pub async fn not_me_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: CsrfForm<NotMeForm>,
) -> PageResult {
    let ok = form.token.len() <= 100 && login::not_me(&ctx, &form.token, &browser.actor).await?;
    let page = NotMePage {
        layout: browser.layout("This wasn't me"),
        token: String::new(),
        done: Some(ok),
    };
    if ok {
        render(&page)
    } else {
        render_status(&page, StatusCode::BAD_REQUEST)
    }
}
