//! The account console (so far: overview, step-up, phone numbers). Where a phone change
//! happens: the rules are in `accounts/phone_change.rs`; these handlers only map outcomes.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::activity;
use crate::accounts::console::{self, Overview};
use crate::accounts::login;
use crate::accounts::phone_change::{self, Begin, CodeStep, Confirm, NumberStep, Remove, Stage};
use crate::accounts::signin::{self, SignInOutcome};
use crate::error::{AppError, PageResult};
use crate::i18n::Message;
use crate::local_time::LocalTime;
use crate::mfa::methods::PhoneChannel;
use crate::mfa::phone;
use crate::web::auth::{locked_out, see_other};
use crate::web::browser::{login_cookie, Browser};
use crate::web::common::{code_problem_text, code_status, enc, send_problem_text};
use crate::web::guards::{safe_return_path, step_up_redirect, CsrfForm, SensitiveChange, SignedIn};
use crate::web::pages::*;
use crate::web::time_zone::local_time;
use crate::Ctx;

fn event_line(e: activity::Entry, time: &LocalTime) -> AccountEvent {
    AccountEvent {
        what: e.what.sentence(time.lang),
        at: time.date_time(e.at),
        ip: e.ip,
        device: e.device.map(|d| d.words(time.lang)).unwrap_or_default(),
        can_disown: e.can_disown,
    }
}

pub async fn overview(ctx: web::Data<Ctx>, me: SignedIn, req: HttpRequest) -> PageResult {
    let time = local_time(&ctx, &req, &me.browser).await?;
    let (mut identity_letters, mut identity_letter_allowed) = (Vec::new(), false);
    let mut identity_personal_key = true;
    let (identity, identity_verified_on) = if ctx.settings.proofing.enabled {
        use crate::proofing::flow::Standing;
        match crate::proofing::flow::standing(&ctx, &me.session.user_id).await? {
            Standing::None => (Some("none"), String::new()),
            Standing::InProgress {
                step: crate::proofing::records::Step::Letter,
            } => {
                let view = crate::proofing::flow::letters(&ctx, &me.session.user_id).await?;
                identity_letters = crate::web::verify::letter_lines(
                    &ctx,
                    time.lang,
                    (
                        "console-identity-letter-sent-on",
                        "console-identity-letter-requested-on",
                    ),
                    &view,
                );
                identity_letter_allowed = view.next_allowed_at.is_none();
                (Some("letter"), String::new())
            }
            Standing::InProgress { .. } => (Some("in_progress"), String::new()),
            Standing::Verified { at } => {
                identity_personal_key =
                    crate::proofing::vault::has_personal_key(&ctx, &me.session.user_id).await?;
                (Some("verified"), time.date(at))
            }
            Standing::Held | Standing::UnderReview => (Some("held"), String::new()),
            Standing::Redo => (Some("redo"), String::new()),
            Standing::Suspended => (Some("suspended"), String::new()),
        }
    } else {
        (None, String::new())
    };
    let identity_removed = req.query_string() == "identity=removed";
    let lang = time.lang;
    let overview = console::overview(&ctx, &me.session).await?;
    let (can_remove, needs_another_method) = (
        overview.can_remove_a_method(),
        overview.needs_another_method(),
    );
    let Overview {
        name,
        emails,
        sessions,
        apps,
        phones,
        authenticator_apps,
        keys,
        backup_codes_left,
        backup_codes_made,
        events,
        ..
    } = overview;
    render(&AccountPage {
        name,
        emails,
        layout: me.browser.layout_for("console-title"),
        phones: phones
            .into_iter()
            .map(|p| AccountPhone {
                id: p.id,
                masked: p.masked,
                voice: p.voice,
                is_default: p.is_default,
                recently_changed: p.recently_changed,
            })
            .collect(),
        authenticator_apps: authenticator_apps
            .into_iter()
            .map(|t| AccountTotp {
                id: t.id,
                added: time.date(t.added),
            })
            .collect(),
        keys: keys
            .into_iter()
            .map(|k| AccountKey {
                id: k.id,
                name: k.name,
                passkey: k.passkey,
                added: time.date(k.added),
                last_used: k.last_used.map(|at| time.date(at)),
            })
            .collect(),
        keys_available: ctx.webauthn.is_some(),
        backup_codes_left,
        backup_codes_made,
        can_remove,
        needs_another_method,
        events: events.into_iter().map(|e| event_line(e, &time)).collect(),
        sessions: sessions
            .into_iter()
            .map(|s| AccountSession {
                id: s.id,
                device: s
                    .device
                    .map(|d| d.words(lang))
                    .unwrap_or_else(|| lang.t("activity-device-unknown")),
                ip: s.ip,
                last_seen: time.date_time(s.last_seen),
                current: s.current,
            })
            .collect(),
        apps: apps
            .into_iter()
            .map(|a| AccountApp {
                can: activity::scope_descriptions(lang, &a.scopes),
                client_id: a.client_id,
                name: a.name,
                since: time.date(a.since),
            })
            .collect(),
        time_zone: time.zone_name().to_string(),
        identity,
        identity_verified_on,
        identity_letters,
        identity_letter_allowed,
        identity_personal_key,
        identity_removed,
    })
}

#[derive(Deserialize)]
pub struct StepUpQuery {
    #[serde(default)]
    return_to: String,
}

/// Where a step-up returns to: a checked path, the account overview otherwise.
fn step_up_target(raw: &str) -> String {
    safe_return_path(raw).unwrap_or_else(|| "/account".into())
}

pub async fn step_up_page(me: SignedIn, q: web::Query<StepUpQuery>) -> PageResult {
    render(&StepUpPage {
        layout: me.browser.layout_for("step-up-heading"),
        email: me.session.email.clone(),
        return_to: step_up_target(&q.return_to),
        error: None,
    })
}

fn step_up_link(return_to: &str) -> String {
    format!("/step-up?return_to={}", enc(return_to))
}

/// No field says which phone must not count: the server derives it from the return path
/// (`login::start_step_up`) and from the phones' cooldowns.
#[derive(Deserialize)]
pub struct StepUpForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    return_to: String,
}

pub async fn step_up_submit(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    form: CsrfForm<StepUpForm>,
) -> PageResult {
    let form = form.into_inner();
    let (browser, session) = (&me.browser, &me.session);
    let return_to = step_up_target(&form.return_to);
    if crate::accounts::password::too_long_to_check(&ctx.settings.security, &form.password) {
        return Err(AppError::refused("password-far-too-long"));
    }
    let password = zeroize::Zeroizing::new(form.password.clone());
    // The same throttling as signing in.
    match signin::sign_in(&ctx, &session.email, form.password, &browser.actor).await? {
        SignInOutcome::PasswordAccepted { user_id, email } if user_id == session.user_id => {
            let unlocked =
                crate::proofing::vault::unlock_at_sign_in(&ctx, &user_id, password).await?;
            let flow_id =
                login::start_step_up(&ctx, &user_id, &email, &browser.id, &return_to).await?;
            crate::proofing::vault::carry_for_login(&ctx, &flow_id, &unlocked).await?;
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/mfa"))
                .cookie(login_cookie(&ctx.settings, &flow_id))
                .finish())
        }
        // The same lock pages as signing in, with the same way out; back here afterwards.
        outcome @ (SignInOutcome::TryAgainLater { .. }
        | SignInOutcome::AccountLocked { .. }
        | SignInOutcome::LockedUntilRecovered) => {
            locked_out(browser, &outcome, step_up_link(&return_to))
        }
        _ => render_status(
            &StepUpPage {
                layout: browser.layout_for("step-up-heading"),
                email: session.email.clone(),
                return_to,
                error: Some(browser.t("step-up-wrong-password")),
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
    change: SensitiveChange,
    q: web::Query<StartQuery>,
) -> PageResult {
    let replacing = Some(q.phone.clone()).filter(|p| !p.is_empty());
    match phone_change::begin(&ctx, &change.stepped_up, replacing.clone()).await? {
        Begin::Started => Ok(see_other("/account/phones/change")),
        Begin::NeedsOtherFactor => {
            let here = match &replacing {
                Some(p) => format!("/account/phones/start?phone={}", enc(p)),
                None => "/account/phones/start".to_string(),
            };
            Ok(step_up_redirect(&here))
        }
        Begin::UnknownPhone => Err(AppError::refused("phone-not-on-account")),
    }
}

/// The page of a phone change in progress. The new number is shown in full (the person just
/// typed it: a typo must be visible); the number it replaces stays masked.
fn change_page(
    browser: &Browser,
    flow: &phone_change::PhoneChange,
    error: Option<String>,
    notice: Option<String>,
) -> PhoneChangePage {
    let (stage, step, new_number, channel) = match &flow.stage {
        Stage::EnterNumber => ("number", 2, String::new(), "sms".to_string()),
        Stage::CodeSent { e164, channel } => (
            "code",
            3,
            phone::display(e164),
            channel.as_str().to_string(),
        ),
        Stage::Review { e164, channel } => (
            "review",
            4,
            phone::display(e164),
            channel.as_str().to_string(),
        ),
    };
    PhoneChangePage {
        layout: browser.layout_for(if flow.replacing.is_some() {
            "phone-change-title"
        } else {
            "phone-add-title"
        }),
        stage: stage.into(),
        replacing_masked: flow.replacing_masked.clone(),
        new_number,
        channel,
        typed: String::new(),
        error,
        number_invalid: false,
        notice,
        receipt: None,
        steps: Some(crate::web::mfa::phone_change_steps(browser.lang, step)),
    }
}

pub async fn phone_change_page(ctx: web::Data<Ctx>, me: SignedIn) -> PageResult {
    match phone_change::current(&ctx, &me.session).await? {
        Some(flow) => render(&change_page(&me.browser, &flow, None, None)),
        None => Ok(see_other("/account")),
    }
}

#[derive(Deserialize)]
pub struct NumberForm {
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
    change: &SensitiveChange,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> PageResult {
    match phone_change::current(ctx, change.session()).await? {
        Some(flow) => render_status(&change_page(&change.browser, &flow, error, notice), status),
        None => Ok(see_other("/account")),
    }
}

/// The number form again, holding what was typed (to correct it), with why it was refused
/// (`number_invalid`: the number itself, so the field is marked).
async fn number_form_again(
    ctx: &Ctx,
    change: &SensitiveChange,
    form: &NumberForm,
    error: String,
    number_invalid: bool,
    status: StatusCode,
) -> PageResult {
    match phone_change::current(ctx, change.session()).await? {
        Some(flow) => {
            let mut page = change_page(&change.browser, &flow, Some(error), None);
            page.number_invalid = number_invalid;
            page.typed = form.phone.clone();
            page.channel = channel_of(&form.channel).as_str().to_string();
            render_status(&page, status)
        }
        None => Ok(see_other("/account")),
    }
}

pub async fn phone_number_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<NumberForm>,
) -> PageResult {
    let session = &change.stepped_up;
    let lang = change.browser.lang;
    match phone_change::submit_number(&ctx, session, &form.phone, channel_of(&form.channel)).await?
    {
        NumberStep::CodeSent => Ok(see_other("/account/phones/change")),
        NumberStep::Refused(why) => {
            let why = why.message().in_lang(lang);
            number_form_again(
                &ctx,
                &change,
                &form,
                why,
                true,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        NumberStep::Send(outcome) => {
            let (why, status) = send_problem_text(lang, &outcome);
            number_form_again(&ctx, &change, &form, why, false, status).await
        }
        NumberStep::NoFlow => Ok(see_other("/account")),
    }
}

pub async fn phone_resend(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<NumberForm>,
) -> PageResult {
    let session = &change.stepped_up;
    let lang = change.browser.lang;
    match phone_change::resend(&ctx, session, channel_of(&form.channel)).await? {
        Some(crate::mfa::challenge::SendOutcome::Sent) => {
            let notice = lang.t("phone-code-resent");
            rerender(&ctx, &change, None, Some(notice), StatusCode::OK).await
        }
        Some(outcome) => {
            let (why, status) = send_problem_text(lang, &outcome);
            rerender(&ctx, &change, Some(why), None, status).await
        }
        None => Err(AppError::refused("phone-no-code-to-resend")),
    }
}

/// "Wrong number? Change it": back to the number form (the change itself goes on), with the
/// number that was typed, to correct.
pub async fn phone_number_change(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    _form: CsrfForm<CsrfOnly>,
) -> PageResult {
    let Some(e164) = phone_change::change_number(&ctx, &change.stepped_up).await? else {
        return Ok(see_other("/account/phones/change"));
    };
    match phone_change::current(&ctx, change.session()).await? {
        Some(flow) => {
            let mut page = change_page(&change.browser, &flow, None, None);
            page.typed = phone::display(&e164);
            render(&page)
        }
        None => Ok(see_other("/account")),
    }
}

pub async fn phone_code_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<NumberForm>,
) -> PageResult {
    let session = &change.stepped_up;
    match phone_change::submit_code(&ctx, session, &form.code).await? {
        CodeStep::Review => Ok(see_other("/account/phones/change")),
        CodeStep::Problem(outcome) => {
            let why = code_problem_text(&ctx, change.browser.lang, &outcome);
            rerender(&ctx, &change, Some(why), None, code_status(&outcome)).await
        }
        CodeStep::OutOfOrder => Err(AppError::refused("phone-no-code-waiting")),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
}

pub async fn phone_decision(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    req: HttpRequest,
    form: CsrfForm<DecisionForm>,
) -> PageResult {
    let (browser, session) = (&change.browser, &change.stepped_up);
    if form.decision != "confirm" {
        phone_change::cancel(&ctx, session).await?;
        return Ok(see_other("/account"));
    }
    match phone_change::confirm(&ctx, session, &browser.actor).await? {
        Confirm::Done(receipt) => render(&PhoneChangePage {
            layout: browser.layout_for("phone-updated-title"),
            stage: "done".into(),
            replacing_masked: receipt.old_masked.clone(),
            // The person typed it minutes ago in this session: the receipt shows it whole.
            new_number: phone::display(&receipt.new_number),
            channel: String::new(),
            typed: String::new(),
            error: None,
            number_invalid: false,
            notice: None,
            receipt: Some(
                local_time(&ctx, &req, browser)
                    .await?
                    .date_time(receipt.changed_at),
            ),
            steps: None,
        }),
        Confirm::OutOfOrder => Err(AppError::refused("phone-not-confirmed-yet")),
        Confirm::NeedsOtherFactor => Ok(step_up_redirect("/account")),
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    phone: String,
}

pub async fn phone_remove(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<RemoveForm>,
) -> PageResult {
    let (browser, session) = (&change.browser, &change.stepped_up);
    match phone_change::remove(&ctx, session, &form.phone, &browser.actor).await? {
        Remove::Removed(receipt) => render(&PhoneChangePage {
            layout: browser.layout_for("phone-removed-title"),
            stage: "removed".into(),
            replacing_masked: receipt.old_masked,
            new_number: String::new(),
            channel: String::new(),
            typed: String::new(),
            error: None,
            number_invalid: false,
            notice: None,
            receipt: Some(receipt.at),
            steps: None,
        }),
        Remove::LastMethod => Err(AppError::refused("phone-remove-last-method")),
        Remove::NeedsOtherFactor => Ok(step_up_redirect("/account")),
        Remove::Unknown => Err(AppError::refused("phone-not-on-account")),
    }
}

#[derive(Deserialize)]
pub struct SessionForm {
    #[serde(default)]
    session: String,
}

/// Signs out one session of one's own.
pub async fn end_session(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    form: CsrfForm<SessionForm>,
) -> PageResult {
    let (browser, session) = (&me.browser, &me.session);
    if !crate::accounts::console::end_session(&ctx, session, &form.session, &browser.actor).await? {
        return Err(AppError::refused("console-session-not-yours"));
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
    change: SensitiveChange,
    _form: CsrfForm<SessionForm>,
) -> PageResult {
    let (browser, session) = (&change.browser, &change.stepped_up);
    crate::accounts::console::end_other_sessions(&ctx, session, &browser.actor).await?;
    Ok(see_other("/account"))
}

#[derive(Deserialize)]
pub struct AppForm {
    #[serde(default)]
    client: String,
}

/// Disconnects an app: consent removed, its tokens revoked.
pub async fn revoke_app(ctx: web::Data<Ctx>, me: SignedIn, form: CsrfForm<AppForm>) -> PageResult {
    let (browser, session) = (&me.browser, &me.session);
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

/// Where to continue after the review: a checked path (`guards::safe_return_path`), else home.
fn local_path(next: &str) -> String {
    safe_return_path(next).unwrap_or_else(|| "/".to_string())
}

/// The periodic-review interstitial.
pub async fn phone_review_page(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    q: web::Query<ReviewQuery>,
) -> PageResult {
    let Some(phone) = phone_change::phone_for_review(&ctx, &me.session, &q.phone).await? else {
        return Ok(see_other(&local_path(&q.next)));
    };
    render(&PhoneReviewPage {
        layout: me.browser.layout_for("phone-review-title"),
        phone_id: phone.id,
        masked: phone.masked,
        next: local_path(&q.next),
    })
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    next: String,
}

pub async fn phone_review_submit(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    form: CsrfForm<ReviewForm>,
) -> PageResult {
    let (browser, session) = (&me.browser, &me.session);
    phone_change::mark_reviewed(&ctx, session, &form.phone, &browser.actor).await?;
    Ok(see_other(&local_path(&form.next)))
}

fn password_page(
    ctx: &Ctx,
    browser: &Browser,
    problems: Vec<FieldProblem>,
    done: bool,
) -> ChangePasswordPage {
    ChangePasswordPage {
        layout: browser.layout_for(if done {
            "console-password-changed-title"
        } else {
            "console-password-title"
        }),
        min_length: ctx.settings.security.password_min_length,
        problems,
        done,
    }
}

pub async fn password_page_get(ctx: web::Data<Ctx>, me: SignedIn) -> PageResult {
    render(&password_page(&ctx, &me.browser, Vec::new(), false))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

pub async fn password_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<PasswordForm>,
) -> PageResult {
    let form = form.into_inner();
    let (browser, session) = (&change.browser, &change.stepped_up);
    let security = &ctx.settings.security;
    if crate::accounts::password::too_long_to_check(security, &form.password)
        || crate::accounts::password::too_long_to_check(security, &form.current_password)
    {
        return Err(AppError::refused("console-password-far-too-long"));
    }
    use crate::accounts::console::{PasswordChange, PasswordProblem};
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
        PasswordChange::Done => render(&password_page(&ctx, browser, Vec::new(), true)),
        PasswordChange::Refused(problems) => {
            let status = if problems.contains(&PasswordProblem::CurrentWrong) {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let problems = problems
                .iter()
                .map(|p| FieldProblem {
                    field: p.field(),
                    message: match p {
                        PasswordProblem::CurrentWrong => {
                            browser.t("console-password-current-wrong")
                        }
                        PasswordProblem::New(refusal) => refusal.in_lang(browser.lang),
                        PasswordProblem::Mismatch => browser.t("console-password-mismatch"),
                    },
                })
                .collect();
            render_status(&password_page(&ctx, browser, problems, false), status)
        }
    }
}

/// The name form: as stored, or as just typed (`typed`) when it was refused.
async fn profile_page(
    ctx: &Ctx,
    me: &SignedIn,
    typed: Option<(String, String)>,
    problems: Vec<FieldProblem>,
    saved: bool,
) -> PageResult {
    let browser = &me.browser;
    let Some(user) = console::profile(ctx, &me.session).await? else {
        return Ok(see_other("/login"));
    };
    let (given_name, family_name) = typed.unwrap_or((
        user.given_name.unwrap_or_default(),
        user.family_name.unwrap_or_default(),
    ));
    let failed = !problems.is_empty();
    let page = ProfilePage {
        layout: browser.layout_for("console-profile-title"),
        given_name,
        family_name,
        problems,
        saved,
    };
    if failed {
        render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        render(&page)
    }
}

pub async fn profile_get(ctx: web::Data<Ctx>, me: SignedIn) -> PageResult {
    profile_page(&ctx, &me, None, Vec::new(), false).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
}

pub async fn profile_submit(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    form: CsrfForm<ProfileForm>,
) -> PageResult {
    let (browser, session) = (&me.browser, &me.session);
    match crate::accounts::console::update_profile(
        &ctx,
        session,
        &form.given_name,
        &form.family_name,
        &browser.actor,
    )
    .await?
    {
        Ok(()) => profile_page(&ctx, &me, None, Vec::new(), true).await,
        Err(problems) => {
            let problems = problems
                .into_iter()
                .map(|(field, problem)| FieldProblem {
                    field,
                    message: match problem {
                        console::NameProblem::TooLongOrBroken => {
                            browser.t("console-profile-name-invalid")
                        }
                    },
                })
                .collect();
            let typed = (form.given_name.clone(), form.family_name.clone());
            profile_page(&ctx, &me, Some(typed), problems, false).await
        }
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
        layout: browser.layout_for("console-totp-add-title"),
        qr_svg_base64: crate::mfa::totp::qr_svg_base64(
            secret,
            &ctx.settings.site_name.replace(':', " "),
            &email.replace(':', "."),
        )?,
        secret_text: crate::mfa::totp::secret_grouped(secret),
        error,
        form_action: "/account/totp/add".into(),
        back_href: "/account".into(),
        steps: None,
    })
}

pub async fn totp_add_get(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    let session = &change.stepped_up;
    use crate::accounts::console::TotpAddRefusal;
    match crate::accounts::console::totp_add_secret(&ctx, session).await? {
        Ok(secret) => render(&totp_add_page(
            &ctx,
            &change.browser,
            &session.email,
            &secret,
            None,
        )?),
        Err(TotpAddRefusal::TooMany) => Err(AppError::Refused(
            Message::new("console-totp-too-many")
                .arg("count", ctx.settings.security.max_authenticator_apps),
        )),
    }
}

#[derive(Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    id: String,
}

pub async fn totp_add_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<TotpForm>,
) -> PageResult {
    let (browser, session) = (&change.browser, &change.stepped_up);
    use crate::mfa::challenge::CodeOutcome;
    match crate::accounts::console::totp_add_confirm(&ctx, session, &form.code, &browser.actor)
        .await?
    {
        CodeOutcome::Accepted => Ok(see_other("/account")),
        CodeOutcome::NoCodeSent => Ok(see_other("/account/totp/add")),
        other => {
            let why = match other {
                CodeOutcome::Locked { .. } => browser.t("console-totp-locked"),
                _ => browser.t("console-totp-code-wrong"),
            };
            match crate::accounts::console::totp_add_secret(&ctx, session).await? {
                Ok(secret) => render_status(
                    &totp_add_page(&ctx, browser, &session.email, &secret, Some(why))?,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Err(_) => Ok(see_other("/account")),
            }
        }
    }
}

pub async fn totp_remove(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<TotpForm>,
) -> PageResult {
    let (browser, session) = (&change.browser, &change.stepped_up);
    use crate::accounts::console::RemoveApp;
    match crate::accounts::console::totp_remove(&ctx, session, &form.id, &browser.actor).await? {
        RemoveApp::Removed => Ok(see_other("/account")),
        RemoveApp::LastMethod => Err(AppError::refused("console-totp-last-method")),
        RemoveApp::Unknown => Err(AppError::refused("console-totp-unknown")),
    }
}

#[derive(Deserialize)]
pub struct ActivityQuery {
    /// Cursor: "<unix seconds>.<nanos>~<event id>" of the last event shown.
    #[serde(default)]
    before: String,
}

const ACTIVITY_PAGE: usize = 20;

fn parse_cursor(raw: &str) -> Option<(chrono::NaiveDateTime, String)> {
    let (ts, id) = raw.split_once('~')?;
    let (secs, nanos) = ts.split_once('.')?;
    let at = chrono::DateTime::from_timestamp(secs.parse().ok()?, nanos.parse().ok()?)?.naive_utc();
    Some((at, id.to_string())).filter(|(_, id)| id.len() <= 64)
}

pub async fn activity(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    q: web::Query<ActivityQuery>,
    req: HttpRequest,
) -> PageResult {
    let time = local_time(&ctx, &req, &me.browser).await?;
    let (shown, more) =
        console::activity(&ctx, &me.session, parse_cursor(&q.before), ACTIVITY_PAGE).await?;
    let browser = &me.browser;
    let next = if more {
        shown.last().map(|e| {
            let (at, id) = &e.cursor;
            let t = at.and_utc();
            format!(
                "/account/activity?before={}",
                enc(&format!(
                    "{}.{}~{}",
                    t.timestamp(),
                    t.timestamp_subsec_nanos(),
                    id
                ))
            )
        })
    } else {
        None
    };
    render(&ActivityPage {
        layout: browser.layout_for("console-activity-title"),
        events: shown.into_iter().map(|e| event_line(e, &time)).collect(),
        next,
        time_zone: time.zone_name().to_string(),
    })
}

#[derive(Deserialize)]
pub struct CsrfOnly {}

pub async fn activity_not_me(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    _form: CsrfForm<CsrfOnly>,
) -> PageResult {
    let (browser, session) = (&me.browser, &me.session);
    crate::accounts::console::disown_activity(&ctx, session, &browser.actor).await?;
    let page = NotMePage {
        layout: crate::web::pages::Layout {
            signed_in: None,
            ..browser.layout_for("console-not-me-title")
        },
        token: String::new(),
        done: Some(true),
    };
    let body = askama::Template::render(&page).map_err(|e| AppError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .cookie(crate::web::browser::cleared_session_cookie(&ctx.settings))
        .cookie(crate::web::browser::cleared_restart_cookie(&ctx.settings))
        .body(body))
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    id: String,
}

fn email_outcome(
    browser: &Browser,
    change: crate::accounts::emails::Change,
    done_notice: bool,
) -> PageResult {
    use crate::accounts::emails::Change;
    match change {
        Change::Done if done_notice => Ok(see_other("/account?email_added=1")),
        Change::Done => Ok(see_other("/account")),
        Change::Refused(why) => Err(AppError::refused(why.key())),
        Change::TooMany => render_status(
            &ErrorPage {
                layout: browser.layout_for("console-email-too-many-title"),
                heading: browser.t("console-email-too-many-title"),
                message: browser.t("console-email-too-many"),
            },
            StatusCode::TOO_MANY_REQUESTS,
        ),
    }
}

pub async fn email_add(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<EmailForm>,
) -> PageResult {
    let (browser, stepped_up) = (&change.browser, &change.stepped_up);
    email_outcome(
        browser,
        crate::accounts::emails::add(&ctx, stepped_up, &form.email, &browser.actor).await?,
        true,
    )
}

pub async fn email_primary(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<EmailForm>,
) -> PageResult {
    let (browser, stepped_up) = (&change.browser, &change.stepped_up);
    email_outcome(
        browser,
        crate::accounts::emails::make_primary(&ctx, stepped_up, &form.id, &browser.actor).await?,
        false,
    )
}

pub async fn email_remove(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<EmailForm>,
) -> PageResult {
    let (browser, stepped_up) = (&change.browser, &change.stepped_up);
    email_outcome(
        browser,
        crate::accounts::emails::remove(&ctx, stepped_up, &form.id, &browser.actor).await?,
        false,
    )
}

#[derive(Deserialize)]
pub struct EmailConfirmQuery {
    #[serde(default)]
    token: String,
}

fn confirm_added_page(browser: &Browser, state: &str, email: String, token: &str) -> PageResult {
    let title = match state {
        "confirm" => "console-email-confirm-title",
        "sign_in" | "not_yours" => "console-email-sign-in-title",
        "confirmed" => "console-email-confirmed-title",
        _ => "console-email-link-invalid-title",
    };
    let page = ConfirmAddedEmailPage {
        layout: browser.layout_for(title),
        state: state.into(),
        email,
        token: token.into(),
    };
    match state {
        "confirm" | "confirmed" | "sign_in" => render(&page),
        "not_yours" => render_status(&page, StatusCode::FORBIDDEN),
        _ => render_status(&page, StatusCode::BAD_REQUEST),
    }
}

/// The emailed link: a page with a button; opening it confirms nothing (mail scanners and
/// link previews open links too).
pub async fn email_confirm(
    ctx: web::Data<Ctx>,
    browser: Browser,
    q: web::Query<EmailConfirmQuery>,
) -> PageResult {
    use crate::accounts::emails::PendingConfirmation;
    let viewer = browser.session.as_ref().map(|s| s.user_id.as_str());
    match crate::accounts::emails::pending_confirmation(&ctx, viewer, &q.token).await? {
        PendingConfirmation::Yours { email } => {
            confirm_added_page(&browser, "confirm", email, &q.token)
        }
        PendingConfirmation::SignInAsAdder { email } => {
            confirm_added_page(&browser, "sign_in", email, "")
        }
        PendingConfirmation::InvalidLink => {
            confirm_added_page(&browser, "invalid", String::new(), "")
        }
    }
}

#[derive(Deserialize)]
pub struct EmailConfirmForm {
    #[serde(default)]
    token: String,
}

/// The button on the link's page: only a session of the account that added the address.
pub async fn email_confirm_submit(
    ctx: web::Data<Ctx>,
    signed_in: SignedIn,
    form: CsrfForm<EmailConfirmForm>,
) -> PageResult {
    use crate::accounts::emails::{Confirmation, PendingConfirmation};
    let browser = &signed_in.browser;
    let viewer = Some(signed_in.session.user_id.as_str());
    // The address, for the page (the link is used up once confirmed).
    let email =
        match crate::accounts::emails::pending_confirmation(&ctx, viewer, &form.token).await? {
            PendingConfirmation::Yours { email } | PendingConfirmation::SignInAsAdder { email } => {
                email
            }
            PendingConfirmation::InvalidLink => String::new(),
        };
    match crate::accounts::emails::confirm(&ctx, &signed_in.session, &form.token).await? {
        Confirmation::Confirmed => confirm_added_page(browser, "confirmed", email, ""),
        Confirmation::NotYours => confirm_added_page(browser, "not_yours", email, ""),
        Confirmation::InvalidLink => confirm_added_page(browser, "invalid", String::new(), ""),
    }
}
