//! Second-factor pages: the challenge after the password, and enrolment of a first method.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::console;
use crate::accounts::login::{self, CodePhone, LoginFlow, LoginStage, PendingPhone};
use crate::accounts::sessions::{self, AMR_OTP};
use crate::error::{AppError, PageResult};
use crate::i18n::{FluentValue, Lang};
use crate::mfa::challenge::{self, CodeOutcome, PhoneTarget};
use crate::mfa::enrol::{self, PhoneConfirmed, PhoneStep, TotpConfirmed};
use crate::mfa::methods::{self, PhoneChannel};
use crate::mfa::{backup_codes, phone, totp};
use crate::web::auth::see_other;
use crate::web::browser::{
    cleared_login_cookie, remember_cookie, session_cookie, Browser, LOGIN_COOKIE,
};
use crate::web::common::{
    after_sign_in, code_problem_text, code_status, enc, send_problem, send_problem_text,
    whole_minutes,
};
use crate::web::guards::{safe_return_path, CsrfForm, SensitiveChange, SignedIn};
use crate::web::page_parts::Steps;
use crate::web::pages::*;
use crate::web::time_zone::local_time;
use crate::Ctx;

/// The steps of enrolment at the first sign-in: choose a method, set it up, add a backup one.
pub fn enrolment_steps(lang: Lang, current: usize) -> Steps {
    Steps::new(
        lang,
        &["mfa-step-choose", "mfa-step-set-up", "mfa-step-backup"],
        current,
    )
}

/// The steps of changing or adding a phone number: confirm it's you, the new number, its
/// code, check and confirm.
pub fn phone_change_steps(lang: Lang, current: usize) -> Steps {
    Steps::new(
        lang,
        &[
            "phone-step-confirm-you",
            "phone-step-number",
            "phone-step-code",
            "phone-step-review",
        ],
        current,
    )
}

/// Is this sign-in flow the step-up in front of a phone change?
fn is_phone_change_step_up(flow: &LoginFlow) -> bool {
    flow.step_up
        && flow.return_to.as_deref().is_some_and(|r| {
            r.split('?').next() == Some("/account/phones/start") || r == "/account/phones/change"
        })
}

/// How the second factor was just proven, which decides what the session records and where
/// the person goes next.
enum Proof<'a> {
    /// A challenge passed: its authentication method, "remember this browser", and the phone
    /// the code went to, if it was a phone.
    Challenge {
        amr: &'a str,
        remember: bool,
        phone_used: Option<&'a str>,
    },
    /// The first method was just enrolled (a phone, or an app when `phone_id` is None): a second
    /// one is recommended next (`/mfa/another`).
    FirstMethod {
        amr: &'a str,
        phone_id: Option<&'a str>,
    },
    /// Backup codes enrolled and saved: themselves the fallback kind, nothing recommended.
    BackupCodes,
    /// A security key or passkey answered (`amr`: hwk or swk); `user_verified`: with a PIN or
    /// biometric.
    Key { amr: &'a str, user_verified: bool },
}

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
    proof: Proof<'_>,
) -> PageResult {
    let how = match proof {
        Proof::Key { .. } => login::SecondFactor::KeyAssertion,
        _ => login::SecondFactor::Ordinary,
    };
    let (amr, remember, phone_used, recommend_another) = match proof {
        Proof::Challenge {
            amr,
            remember,
            phone_used,
        } => (vec![amr], remember, phone_used, false),
        Proof::FirstMethod { amr, phone_id } => (vec![amr], false, phone_id, true),
        Proof::BackupCodes => (Vec::new(), false, None, false),
        Proof::Key { amr, user_verified } => {
            let mut amr = vec![amr];
            if user_verified {
                amr.push(crate::mfa::webauthn::AMR_USER_VERIFIED);
            }
            (amr, false, None, false)
        }
    };
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
    let session = login::finish(ctx, flow_id, flow, &amr, how, &browser.actor).await?;
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
    if recommend_another {
        destination = format!("/mfa/another?next={}", enc(&destination));
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
    req: &HttpRequest,
    flow: &LoginFlow,
    q: &ChallengeQuery,
    error: Option<String>,
    status: StatusCode,
) -> PageResult {
    let all = login::enrolled(ctx, &flow.user_id).await?;
    let time = local_time(ctx, req, browser).await?;
    let cooldown = login::phones_in_cooldown(ctx, flow, &all)
        .into_iter()
        .map(|(masked, until)| CooldownPhone {
            masked,
            until: time.date_time(until),
        })
        .collect();
    let enrolled = login::usable_methods(ctx, flow, all);
    // Keys only where this deployment can use them (a host name, not an IP address).
    let keys_usable = ctx.webauthn.is_some() && !enrolled.keys.is_empty();
    let default_method = if keys_usable {
        // The strongest way first: it resists phishing.
        "key"
    } else if !enrolled.phones.is_empty() {
        "phone"
    } else if !enrolled.totp.is_empty() {
        "totp"
    } else {
        "backup"
    };
    let method = match q.method.as_str() {
        _ if !enrolled.any() || (flow.phishing_resistant && !keys_usable) => "none",
        "key" if keys_usable => "key",
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
    let lang = browser.lang;
    let mut others = Vec::new();
    for p in &enrolled.phones {
        if method != "phone" || phone.as_ref().is_some_and(|sel| sel.id != p.id) {
            others.push(MethodLink {
                href: format!("/mfa?method=phone&phone={}", enc(&p.id)),
                label: lang.t_args(
                    "mfa-other-phone",
                    &[("number", FluentValue::from(p.masked.as_str()))],
                ),
            });
        }
    }
    if method != "key" && keys_usable {
        others.push(MethodLink {
            href: "/mfa?method=key".into(),
            label: lang.t("mfa-other-key"),
        });
    }
    if method != "totp" && !enrolled.totp.is_empty() {
        others.push(MethodLink {
            href: "/mfa?method=totp".into(),
            label: lang.t("mfa-other-totp"),
        });
    }
    if method != "backup" && enrolled.backup_codes_left > 0 {
        others.push(MethodLink {
            href: "/mfa?method=backup".into(),
            label: lang.t_args(
                "mfa-other-backup",
                &[("count", FluentValue::from(enrolled.backup_codes_left))],
            ),
        });
    }
    let phone_change = is_phone_change_step_up(flow);
    let page = MfaChallengePage {
        layout: browser.layout_for("mfa-challenge-title"),
        method: method.to_string(),
        phone,
        sent: q.sent == "1",
        error,
        others,
        remember_days: i64::try_from(ctx.settings.security.remember_browser_days)
            .unwrap_or(i64::MAX),
        code_length: ctx.settings.security.backup_code_length,
        code_minutes: whole_minutes(ctx.settings.security.otp_ttl_secs),
        cooldown,
        is_reset: flow.reset_token.is_some(),
        steps: phone_change.then(|| phone_change_steps(lang, 1)),
        cancel_href: flow.step_up.then(|| "/account".to_string()),
        needs_key: flow.phishing_resistant && !keys_usable,
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
    challenge_page(&ctx, &browser, &req, &flow, &q, None, StatusCode::OK).await
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
    lost_phone_page(&ctx, &browser, &req, &flow, None, StatusCode::OK).await
}

async fn lost_phone_page(
    ctx: &Ctx,
    browser: &Browser,
    req: &HttpRequest,
    flow: &LoginFlow,
    notice: Option<String>,
    status: StatusCode,
) -> PageResult {
    let enrolled = login::usable_methods(ctx, flow, login::enrolled(ctx, &flow.user_id).await?);
    let time = local_time(ctx, req, browser).await?;
    let pending = crate::recovery::account_reset::pending(ctx, &flow.user_id)
        .await?
        .map(|r| time.date_time(r.ready_at));
    let page = LostPhonePage {
        layout: browser.layout_for("mfa-lost-phone-title"),
        totp: !enrolled.totp.is_empty(),
        backup_codes_left: enrolled.backup_codes_left,
        can_reset_account: crate::recovery::account_reset::may_request(flow),
        pending_until: pending,
        wait_hours: i64::try_from(ctx.settings.security.account_reset_wait_secs.div_ceil(3600))
            .unwrap_or(i64::MAX),
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
    let lang = browser.lang;
    let (notice, status) = match send_request_link(&ctx, &flow, &browser.actor).await? {
        RequestLink::Sent { email } => (
            lang.t_args(
                "mfa-lost-phone-reset-sent",
                &[("email", FluentValue::from(email.as_str()))],
            ),
            StatusCode::OK,
        ),
        RequestLink::AlreadyPending { ready_at } => (
            lang.t_args(
                "mfa-lost-phone-reset-pending",
                &[(
                    "date",
                    FluentValue::from(local_time(&ctx, &req, &browser).await?.date_time(ready_at)),
                )],
            ),
            StatusCode::OK,
        ),
        RequestLink::TooManyRequests => (
            lang.t("mfa-lost-phone-reset-too-many"),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        RequestLink::PasswordFirst => {
            return Err(AppError::refused("mfa-lost-phone-password-first"))
        }
    };
    lost_phone_page(&ctx, &browser, &req, &flow, Some(notice), status).await
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
            let message = browser.t("mfa-phone-cooling-down");
            return challenge_page(
                &ctx,
                &browser,
                &req,
                &flow,
                &q,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        CodePhone::Unknown => return Err(AppError::refused("mfa-choose-phone")),
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
            enc(&row.id)
        ))),
        Some((message, status)) => {
            let message = message.in_lang(browser.lang);
            challenge_page(&ctx, &browser, &req, &flow, &q, Some(message), status).await
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
        return Err(AppError::refused("mfa-code-too-long"));
    }
    if flow.phishing_resistant {
        // The relying party asked for a key: no code stands in for it.
        return Err(AppError::refused("mfa-key-required"));
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
        _ => return Err(AppError::refused("mfa-choose-method")),
    };
    if outcome == CodeOutcome::Accepted {
        let proof = Proof::Challenge {
            amr,
            remember: form.remember.is_some(),
            phone_used: phone_used.as_deref(),
        };
        return complete(&ctx, &browser, &flow_id, &flow, proof).await;
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
    let message = code_problem_text(&ctx, browser.lang, &outcome);
    challenge_page(
        &ctx,
        &browser,
        &req,
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
        layout: browser.layout_for("mfa-setup-title"),
        keys_available: ctx.webauthn.is_some(),
        steps: Some(enrolment_steps(browser.lang, 1)),
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
        layout: browser.layout_for("mfa-phone-title"),
        // The person typed this number a moment ago: in full, so a typo can be spotted.
        number_shown: pending.map(|p| phone::display(&p.e164)),
        channel: pending
            .map(|p| p.channel.as_str().to_string())
            .unwrap_or_else(|| "sms".into()),
        number,
        error,
        number_invalid: false,
        notice,
        steps: Some(enrolment_steps(browser.lang, 2)),
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
    let (message, status, number_invalid) =
        match enrol::submit_phone(&ctx, &flow_id, &mut flow, &form.phone, channel).await? {
            PhoneStep::CodeSent => return Ok(see_other("/mfa/setup/phone")),
            PhoneStep::Refused(why) => (
                why.message().in_lang(browser.lang),
                StatusCode::UNPROCESSABLE_ENTITY,
                true,
            ),
            PhoneStep::Send(outcome) => {
                let (message, status) = send_problem_text(browser.lang, &outcome);
                (message, status, false)
            }
        };
    let mut page = phone_page(&browser, None, form.phone, Some(message), None);
    page.channel = channel.as_str().to_string();
    page.number_invalid = number_invalid;
    render_status(&page, status)
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
            Some(browser.t("mfa-code-resent")),
        )),
        Some((message, status)) => render_status(
            &phone_page(
                &browser,
                pending,
                String::new(),
                Some(message.in_lang(browser.lang)),
                None,
            ),
            status,
        ),
    }
}

/// "Wrong number? Change it": back to the number form, showing the number to correct.
pub async fn setup_phone_change(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    _form: CsrfForm<CsrfOnly>,
) -> PageResult {
    let (flow_id, mut flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(r) => return Ok(r),
    };
    let Some(e164) = enrol::change_phone_number(&ctx, &flow_id, &mut flow).await? else {
        return Ok(see_other("/mfa/setup/phone"));
    };
    render(&phone_page(
        &browser,
        None,
        phone::display(&e164),
        None,
        None,
    ))
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
            let proof = Proof::FirstMethod {
                amr,
                phone_id: Some(&phone_id),
            };
            return complete(&ctx, &browser, &flow_id, &flow, proof).await;
        }
        PhoneConfirmed::NothingPending => return Ok(see_other("/mfa/setup/phone")),
        PhoneConfirmed::Problem(outcome) => (
            code_problem_text(&ctx, browser.lang, &outcome),
            code_status(&outcome),
        ),
        PhoneConfirmed::Refused(why) => (
            why.message().in_lang(browser.lang),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
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
    render(&enrol_totp_page(&ctx, &browser, &flow, &secret, None)?)
}

/// The authenticator-app page of enrolment: QR code and key for `secret`. Other places take it
/// with their own `form_action`, `back_href` and `steps`.
fn totp_page(
    ctx: &Ctx,
    browser: &Browser,
    email: &str,
    secret: &[u8],
    error: Option<String>,
) -> Result<MfaTotpPage, AppError> {
    Ok(MfaTotpPage {
        layout: browser.layout_for("mfa-totp-title"),
        // The otpauth label can't carry ':'; an email may.
        qr_svg_base64: totp::qr_svg_base64(
            secret,
            &ctx.settings.site_name.replace(':', " "),
            &email.replace(':', "."),
        )?,
        secret_text: totp::secret_grouped(secret),
        error,
        form_action: "/mfa/setup/totp".into(),
        back_href: "/mfa/setup".into(),
        steps: Some(enrolment_steps(browser.lang, 2)),
    })
}

fn enrol_totp_page(
    ctx: &Ctx,
    browser: &Browser,
    flow: &LoginFlow,
    secret: &[u8],
    error: Option<String>,
) -> Result<MfaTotpPage, AppError> {
    totp_page(ctx, browser, &flow.email, secret, error)
}

/// "You already have N authenticator apps, the most an account can have."
fn too_many_apps(ctx: &Ctx, lang: Lang) -> String {
    lang.t_args(
        "mfa-totp-too-many",
        &[(
            "count",
            FluentValue::from(i64::from(ctx.settings.security.max_authenticator_apps)),
        )],
    )
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
            let proof = Proof::FirstMethod {
                amr: AMR_OTP,
                phone_id: None,
            };
            return complete(&ctx, &browser, &flow_id, &flow, proof).await;
        }
        TotpConfirmed::NoSecret => return Ok(see_other("/mfa/setup/totp")),
        TotpConfirmed::TooMany => (
            too_many_apps(&ctx, browser.lang),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        TotpConfirmed::Problem(outcome) => (
            code_problem_text(&ctx, browser.lang, &outcome),
            code_status(&outcome),
        ),
    };
    render_status(
        &enrol_totp_page(&ctx, &browser, &flow, &secret, Some(message))?,
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
        layout: browser.layout_for("mfa-backup-codes-title"),
        codes: codes.iter().map(|c| backup_codes::display(c)).collect(),
        download_href: "/mfa/setup/backup-codes.txt".into(),
        done_action: "/mfa/setup/backup-codes/done".into(),
        done_is_form: true,
        steps: Some(enrolment_steps(browser.lang, 2)),
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
    Ok(codes_download(&ctx, browser.lang, &flow.email, codes))
}

fn codes_download(ctx: &Ctx, lang: Lang, email: &str, codes: &[String]) -> HttpResponse {
    let heading = lang.t_args(
        "mfa-backup-codes-file-heading",
        &[
            ("site", FluentValue::from(ctx.settings.site_name.as_str())),
            ("email", FluentValue::from(email)),
        ],
    );
    let mut text = format!("{heading}\n{}\n\n", lang.t("mfa-backup-codes-file-note"));
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

// Regenerating backup codes when signed in (prompted on the home page when few are left, and
// recommended right after the first method).

#[derive(Deserialize)]
pub struct NextForm {
    /// Where to go once the codes are saved (the recommendation page passes it on).
    next: Option<String>,
}

pub async fn regenerate_backup_codes(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<NextForm>,
) -> PageResult {
    console::regenerate_backup_codes(&ctx, &change.stepped_up).await?;
    Ok(see_other(&match &form.next {
        Some(next) => format!("/account/backup-codes?next={}", enc(&next_or_home(next))),
        None => "/account/backup-codes".to_string(),
    }))
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// A `next` target after a checked parse (`guards::safe_return_path`), else home.
fn next_or_home(raw: &str) -> String {
    safe_return_path(raw).unwrap_or_else(|| "/".to_string())
}

pub async fn regenerated_backup_codes(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    q: web::Query<NextQuery>,
) -> PageResult {
    let Some(codes) = console::shown_backup_codes(&ctx, &me.session).await? else {
        return Ok(see_other("/"));
    };
    let lang = me.browser.lang;
    render(&MfaBackupCodesPage {
        layout: me.browser.layout_for("mfa-backup-codes-new-title"),
        codes: codes.iter().map(|c| backup_codes::display(c)).collect(),
        download_href: "/account/backup-codes.txt".into(),
        done_action: q
            .next
            .as_deref()
            .map(next_or_home)
            .unwrap_or_else(|| "/".into()),
        done_is_form: false,
        // Reached from the recommendation after enrolment: its last step.
        steps: q.next.is_some().then(|| enrolment_steps(lang, 3)),
    })
}

pub async fn regenerated_backup_codes_download(ctx: web::Data<Ctx>, me: SignedIn) -> PageResult {
    let Some(codes) = console::shown_backup_codes(&ctx, &me.session).await? else {
        return Ok(see_other("/"));
    };
    Ok(codes_download(
        &ctx,
        me.browser.lang,
        &me.session.email,
        &codes,
    ))
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
    // Backup codes are themselves the fallback kind of method: no recommendation after them.
    complete(&ctx, &browser, &flow_id, &flow, Proof::BackupCodes).await
}

// Right after the first method: recommend a second one ("Skip for now" goes on).

/// The recommendation page: an authenticator app and/or backup codes, whichever the account
/// lacks; straight on when it already has two kinds of method.
pub async fn another_page(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    q: web::Query<NextQuery>,
) -> PageResult {
    let next = next_or_home(q.next.as_deref().unwrap_or(""));
    let enrolled = login::enrolled(&ctx, &me.session.user_id).await?;
    let Some(offer) = enrol::second_method_offer(&ctx.settings.security, &enrolled) else {
        return Ok(see_other(&next));
    };
    let lang = me.browser.lang;
    render(&MfaAnotherPage {
        layout: me.browser.layout_for("mfa-another-title"),
        first: if enrolled.phones.is_empty() {
            "totp".into()
        } else {
            "phone".into()
        },
        offer_totp: offer.authenticator_app,
        offer_backup_codes: offer.backup_codes,
        next_encoded: enc(&next),
        next,
        cooldown_hours: i64::try_from(ctx.settings.security.sim_swap_cooldown_hours)
            .unwrap_or(i64::MAX),
        steps: Some(enrolment_steps(lang, 3)),
    })
}

fn another_totp_page(
    ctx: &Ctx,
    change: &SensitiveChange,
    secret: &[u8],
    next: &str,
    error: Option<String>,
) -> Result<MfaTotpPage, AppError> {
    Ok(MfaTotpPage {
        form_action: format!("/mfa/another/totp?next={}", enc(next)),
        back_href: format!("/mfa/another?next={}", enc(next)),
        steps: Some(enrolment_steps(change.browser.lang, 3)),
        ..totp_page(ctx, &change.browser, &change.session().email, secret, error)?
    })
}

/// An authenticator app as the second method (the console's flow, then on to `next`).
pub async fn another_totp_page_get(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    q: web::Query<NextQuery>,
) -> PageResult {
    let next = next_or_home(q.next.as_deref().unwrap_or(""));
    match console::totp_add_secret(&ctx, &change.stepped_up).await? {
        Ok(secret) => render(&another_totp_page(&ctx, &change, &secret, &next, None)?),
        Err(console::TotpAddRefusal::TooMany) => Ok(see_other(&next)),
    }
}

pub async fn another_totp_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    q: web::Query<NextQuery>,
    form: CsrfForm<CodeForm>,
) -> PageResult {
    let next = next_or_home(q.next.as_deref().unwrap_or(""));
    let outcome =
        console::totp_add_confirm(&ctx, &change.stepped_up, &form.code, &change.browser.actor)
            .await?;
    match outcome {
        CodeOutcome::Accepted => Ok(see_other(&next)),
        CodeOutcome::NoCodeSent => Ok(see_other(&format!("/mfa/another/totp?next={}", enc(&next)))),
        other => {
            let why = code_problem_text(&ctx, change.browser.lang, &other);
            match console::totp_add_secret(&ctx, &change.stepped_up).await? {
                Ok(secret) => render_status(
                    &another_totp_page(&ctx, &change, &secret, &next, Some(why))?,
                    code_status(&other),
                ),
                Err(_) => Ok(see_other(&next)),
            }
        }
    }
}

#[derive(Deserialize)]
pub struct NotMeQuery {
    #[serde(default)]
    token: String,
}

pub async fn not_me_page(browser: Browser, q: web::Query<NotMeQuery>) -> PageResult {
    render(&NotMePage {
        layout: browser.layout_for("not-me-heading"),
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
        layout: browser.layout_for("not-me-heading"),
        token: String::new(),
        done: Some(ok),
    };
    if ok {
        render(&page)
    } else {
        render_status(&page, StatusCode::BAD_REQUEST)
    }
}

/// The answer a security key or passkey gave, from `static/webauthn.js`.
#[derive(Deserialize)]
pub struct KeyAnswer {
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

/// What the sign-in flow's key ceremonies are bound to.
fn key_ceremony_of(flow_id: &str) -> String {
    format!("login:{flow_id}")
}

/// A JSON refusal for `static/webauthn.js`, which shows `error` to the person.
pub fn key_refusal(status: StatusCode, message: String) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message }))
}

/// Request options for proving one of the account's keys in this sign-in (JSON).
pub async fn key_options(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    _form: CsrfForm<CsrfOnly>,
) -> PageResult {
    let (flow_id, flow) = match flow_of(&ctx, &browser, &req).await? {
        Ok(f) if f.1.stage == LoginStage::SecondFactor => f,
        _ => {
            return Ok(key_refusal(
                StatusCode::CONFLICT,
                browser.t("webauthn-sign-in-expired"),
            ))
        }
    };
    let usable = login::usable_methods(&ctx, &flow, login::enrolled(&ctx, &flow.user_id).await?);
    if usable.keys.is_empty() {
        return Ok(key_refusal(StatusCode::CONFLICT, browser.t("mfa-no-key")));
    }
    match crate::mfa::webauthn::begin_assertion(
        &ctx,
        &flow.user_id,
        &browser.id,
        &key_ceremony_of(&flow_id),
    )
    .await?
    {
        Some((ceremony, options)) => Ok(HttpResponse::Ok()
            .json(serde_json::json!({ "ceremony": ceremony, "options": options }))),
        None => Ok(key_refusal(StatusCode::CONFLICT, browser.t("mfa-no-key"))),
    }
}

/// The key's answer: the second factor is proven, or the page says what went wrong.
pub async fn key_verify(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<KeyAnswer>,
) -> PageResult {
    use crate::mfa::webauthn::AssertionOutcome;
    let (flow_id, flow) = match flow_of(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(redirect) => return Ok(redirect),
    };
    if flow.stage != LoginStage::SecondFactor {
        return Ok(see_other("/mfa/setup"));
    }
    let outcome = crate::mfa::webauthn::finish_assertion(
        &ctx,
        &flow.user_id,
        &browser.id,
        &key_ceremony_of(&flow_id),
        &form.ceremony,
        &form.credential,
        &browser.actor,
    )
    .await?;
    let why = match outcome {
        AssertionOutcome::Accepted { key, user_verified } => {
            let proof = Proof::Key {
                amr: key.amr(),
                user_verified,
            };
            return complete(&ctx, &browser, &flow_id, &flow, proof).await;
        }
        other => key_problem_text(&browser, &other),
    };
    let q = ChallengeQuery {
        method: "key".into(),
        ..ChallengeQuery::default()
    };
    challenge_page(
        &ctx,
        &browser,
        &req,
        &flow,
        &q,
        Some(why),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// What to tell the person when a key's answer was refused.
pub fn key_problem_text(
    browser: &Browser,
    outcome: &crate::mfa::webauthn::AssertionOutcome,
) -> String {
    use crate::mfa::webauthn::AssertionOutcome;
    browser.t(match outcome {
        AssertionOutcome::Expired => "webauthn-expired",
        AssertionOutcome::PossibleClone => "webauthn-possible-clone",
        AssertionOutcome::UnknownKey => "webauthn-unknown-key",
        AssertionOutcome::Disabled => "login-disabled",
        AssertionOutcome::Accepted { .. }
        | AssertionOutcome::Malformed
        | AssertionOutcome::Refused => "webauthn-refused",
    })
}

const ENROL_KEY_TARGETS: crate::web::keys::AddTargets = crate::web::keys::AddTargets {
    action: "/mfa/setup/key",
    options: "/mfa/setup/key/options",
    cancel: "/mfa/setup",
};

/// Enrolling a security key or passkey as the first way to confirm it's you.
pub async fn setup_key_page(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    q: web::Query<crate::web::keys::KindQuery>,
) -> PageResult {
    if let Err(redirect) = enrol_flow(&ctx, &browser, &req).await? {
        return Ok(redirect);
    }
    render(&crate::web::keys::add_page_for(
        &ctx,
        &browser,
        crate::web::keys::kind_of(&q.kind),
        &ENROL_KEY_TARGETS,
        Some(enrolment_steps(browser.lang, 2)),
        None,
    ))
}

pub async fn setup_key_options(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<crate::web::keys::KindForm>,
) -> PageResult {
    let Ok((flow_id, flow)) = enrol_flow(&ctx, &browser, &req).await? else {
        return Ok(key_refusal(
            StatusCode::CONFLICT,
            browser.t("webauthn-sign-in-expired"),
        ));
    };
    let begun = crate::mfa::webauthn::begin_registration(
        &ctx,
        &flow.user_id,
        &flow.email,
        crate::web::keys::kind_of(&form.kind),
        &browser.id,
        &key_ceremony_of(&flow_id),
    )
    .await?;
    Ok(crate::web::keys::options_response(&browser, begun))
}

pub async fn setup_key_submit(
    ctx: web::Data<Ctx>,
    browser: Browser,
    req: HttpRequest,
    form: CsrfForm<crate::web::keys::AddForm>,
) -> PageResult {
    let (flow_id, flow) = match enrol_flow(&ctx, &browser, &req).await? {
        Ok(f) => f,
        Err(redirect) => return Ok(redirect),
    };
    let added = crate::mfa::webauthn::finish_registration(
        &ctx,
        &flow.user_id,
        &browser.id,
        &key_ceremony_of(&flow_id),
        &form.ceremony,
        &form.credential,
        &form.name_or_default(&browser),
        &browser.actor,
    )
    .await?;
    match added {
        Ok(key) => {
            let proof = Proof::FirstMethod {
                amr: key.amr(),
                phone_id: None,
            };
            complete(&ctx, &browser, &flow_id, &flow, proof).await
        }
        Err(problem) => render_status(
            &crate::web::keys::add_page_for(
                &ctx,
                &browser,
                crate::web::keys::kind_of(&form.kind),
                &ENROL_KEY_TARGETS,
                Some(enrolment_steps(browser.lang, 2)),
                Some(crate::web::keys::register_problem_text(&browser, &problem)),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}
