//! Second-factor pages: the challenge after the password, and enrolment of a first method.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::login::{self, CodePhone, LoginFlow, LoginStage, PendingPhone};
use crate::accounts::sessions::{self, AMR_OTP};
use crate::error::{AppError, PageResult};
use crate::mfa::challenge::{self, CodeOutcome, PhoneTarget, SendOutcome};
use crate::mfa::methods::{self, PhoneChannel};
use crate::mfa::{backup_codes, phone, totp};
use crate::web::auth::see_other;
use crate::web::browser::{
    cleared_login_cookie, remember_cookie, session_cookie, Browser, LOGIN_COOKIE,
};
use crate::web::common::{after_sign_in, code_problem, code_status, send_problem};
use crate::web::pages::*;
use crate::Ctx;

const PURPOSE_ENROL: &str = "enrol";

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
pub struct CsrfOnly {
    csrf: Option<String>,
}

/// Asks for an account reset (the password was given in this flow): a confirmation link by email.
pub async fn lost_phone_account_reset(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: web::Form<CsrfOnly>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
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
    csrf: Option<String>,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    channel: String,
}

pub async fn send(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: web::Form<SendForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
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
    csrf: Option<String>,
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
    form: web::Form<VerifyForm>,
) -> PageResult {
    let form = form.into_inner();
    browser.check_csrf(form.csrf.as_deref())?;
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
    csrf: Option<String>,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    channel: String,
}

async fn send_enrol_code(
    ctx: &Ctx,
    flow: &LoginFlow,
    pending: &PendingPhone,
) -> anyhow::Result<SendOutcome> {
    let target = PhoneTarget {
        e164: pending.e164.clone(),
        masked: phone::mask(&pending.e164),
        phone_id: None,
    };
    challenge::send_phone_code(ctx, &flow.user_id, PURPOSE_ENROL, target, pending.channel).await
}

pub async fn setup_phone_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: web::Form<PhoneForm>,
) -> PageResult {
    let form = form.into_inner();
    browser.check_csrf(form.csrf.as_deref())?;
    let (flow_id, mut flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let channel = PhoneChannel::parse(&form.channel).unwrap_or(PhoneChannel::Sms);
    let e164 = match phone::normalize(&form.phone, &ctx.settings.default_phone_region) {
        Ok(n) => n,
        Err(e) => {
            let page = phone_page(
                &browser,
                None,
                form.phone,
                Some(e.message().to_string()),
                None,
            );
            return render_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let uid = flow.user_id.clone();
    let count = ctx.db.run(move |c| methods::phone_count(c, &uid)).await?;
    if count >= i64::from(ctx.settings.security.max_phones_per_account) {
        let message = format!(
            "You already have {} phone numbers, the most an account can have.",
            ctx.settings.security.max_phones_per_account
        );
        return render_status(
            &phone_page(&browser, None, form.phone, Some(message), None),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let pending = PendingPhone { e164, channel };
    let outcome = send_enrol_code(&ctx, &flow, &pending).await?;
    if let Some((message, status)) = send_problem(&outcome) {
        return render_status(
            &phone_page(&browser, None, form.phone, Some(message), None),
            status,
        );
    }
    flow.pending_phone = Some(pending);
    login::save(&ctx, &flow_id, &flow).await?;
    Ok(see_other("/mfa/setup/phone"))
}

pub async fn setup_phone_resend(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: web::Form<PhoneForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let (flow_id, mut flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let Some(mut pending) = flow.pending_phone.clone() else {
        return Ok(see_other("/mfa/setup/phone"));
    };
    pending.channel = PhoneChannel::parse(&form.channel).unwrap_or(pending.channel);
    let outcome = send_enrol_code(&ctx, &flow, &pending).await?;
    flow.pending_phone = Some(pending.clone());
    login::save(&ctx, &flow_id, &flow).await?;
    match send_problem(&outcome) {
        None => render(&phone_page(
            &browser,
            Some(&pending),
            String::new(),
            None,
            Some("We've sent a new code.".into()),
        )),
        Some((message, status)) => render_status(
            &phone_page(&browser, Some(&pending), String::new(), Some(message), None),
            status,
        ),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: Option<String>,
    #[serde(default)]
    code: String,
}

pub async fn setup_phone_confirm(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let (flow_id, flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let Some(pending) = flow.pending_phone.clone() else {
        return Ok(see_other("/mfa/setup/phone"));
    };
    let (outcome, used) =
        challenge::verify_phone_code(&ctx, &flow.user_id, &flow.email, PURPOSE_ENROL, &form.code)
            .await?;
    let Some(used) = used.filter(|_| outcome == CodeOutcome::Accepted) else {
        let message = code_problem(&ctx, &outcome);
        return render_status(
            &phone_page(&browser, Some(&pending), String::new(), Some(message), None),
            code_status(&outcome),
        );
    };
    let (master, now, uid, e164, channel) = (
        ctx.master.clone(),
        ctx.clock.now(),
        flow.user_id.clone(),
        used.target.e164.clone(),
        used.channel,
    );
    ctx.db
        .run(move |c| {
            let row = methods::add_phone(c, &master, now, &uid, &e164, channel)?;
            crate::audit::record(
                c,
                now,
                Some(&uid),
                None,
                "mfa_phone_added",
                serde_json::json!({ "phone": row.masked, "channel": row.channel }),
                None,
            )
        })
        .await?;
    complete(
        &ctx,
        &browser,
        &flow_id,
        &flow,
        &[used.channel.amr()],
        false,
        None,
    )
    .await
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
    let secret = match &flow.pending_totp {
        Some(s) => s.clone(),
        None => {
            let s = totp::new_secret();
            flow.pending_totp = Some(s.clone());
            login::save(&ctx, &flow_id, &flow).await?;
            s
        }
    };
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
    form: web::Form<CodeForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let (flow_id, flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let Some(secret) = flow.pending_totp.clone() else {
        return Ok(see_other("/mfa/setup/totp"));
    };
    let enrolled = login::enrolled(&ctx, &flow.user_id).await?;
    if enrolled.totp.len() as u32 >= ctx.settings.security.max_authenticator_apps {
        let message = format!(
            "You already have {} authenticator apps, the most an account can have.",
            ctx.settings.security.max_authenticator_apps
        );
        return render_status(
            &totp_page(&ctx, &browser, &flow, &secret, Some(message))?,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let (outcome, step) =
        challenge::verify_new_totp(&ctx, &flow.user_id, &flow.email, &secret, &form.code).await?;
    let Some(step) = step.filter(|_| outcome == CodeOutcome::Accepted) else {
        let message = code_problem(&ctx, &outcome);
        return render_status(
            &totp_page(&ctx, &browser, &flow, &secret, Some(message))?,
            code_status(&outcome),
        );
    };
    let (master, now, uid) = (ctx.master.clone(), ctx.clock.now(), flow.user_id.clone());
    ctx.db
        .run(move |c| {
            methods::add_totp(c, &master, now, &uid, "Authenticator app", &secret, step)?;
            crate::audit::record(
                c,
                now,
                Some(&uid),
                None,
                "mfa_totp_added",
                serde_json::json!({}),
                None,
            )
        })
        .await?;
    complete(&ctx, &browser, &flow_id, &flow, &[AMR_OTP], false, None).await
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn setup_backup_generate(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let (flow_id, mut flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let codes = challenge::regenerate_backup_codes(&ctx, &flow.user_id).await?;
    flow.backup_codes_shown = Some(codes);
    login::save(&ctx, &flow_id, &flow).await?;
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

fn shown_codes_key(session_id: &str) -> String {
    format!("backup_shown:{session_id}")
}

pub async fn regenerate_backup_codes(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<CsrfForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    // A sensitive change: needs a recent full sign-in (password + second factor).
    if !crate::accounts::sessions::step_up_fresh(&ctx, session) {
        return Err(AppError::BadRequest(
            "For your security, sign out and sign in again with your second factor, then make new backup codes.".into(),
        ));
    }
    let codes = challenge::regenerate_backup_codes(&ctx, &session.user_id).await?;
    crate::storage::store::put_json(
        &*ctx.store,
        &shown_codes_key(&session.id),
        &codes,
        std::time::Duration::from_secs(600),
    )
    .await?;
    Ok(see_other("/account/backup-codes"))
}

async fn shown_codes(
    ctx: &Ctx,
    browser: &Browser,
) -> Result<Option<(String, Vec<String>)>, AppError> {
    let Some(session) = &browser.session else {
        return Ok(None);
    };
    let codes: Option<Vec<String>> =
        crate::storage::store::get_json(&*ctx.store, &shown_codes_key(&session.id)).await?;
    Ok(codes.map(|c| (session.email.clone(), c)))
}

pub async fn regenerated_backup_codes(ctx: web::Data<Ctx>, browser: Browser) -> PageResult {
    let Some((_, codes)) = shown_codes(&ctx, &browser).await? else {
        return Ok(see_other("/"));
    };
    render(&MfaBackupCodesPage {
        layout: browser.layout("Your new backup codes"),
        codes: codes.iter().map(|c| backup_codes::display(c)).collect(),
        download_href: "/account/backup-codes.txt".into(),
        done_action: "/".into(),
        done_is_form: false,
    })
}

pub async fn regenerated_backup_codes_download(
    ctx: web::Data<Ctx>,
    browser: Browser,
) -> PageResult {
    let Some((email, codes)) = shown_codes(&ctx, &browser).await? else {
        return Ok(see_other("/"));
    };
    Ok(codes_download(&ctx, &email, &codes))
}

pub async fn setup_backup_done(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
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
    csrf: Option<String>,
    #[serde(default)]
    token: String,
}

pub async fn not_me_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    form: web::Form<NotMeForm>,
) -> PageResult {
    browser.check_csrf(form.csrf.as_deref())?;
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
