//! `/verify`: identity verification pages, one per step. The rules and the state are in
//! `proofing::flow`; these handlers map its outcomes to pages. Every step (and the start) needs
//! a fresh full sign-in (`SensitiveChange`); the start page itself only needs a session.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::error::PageResult;
use crate::i18n::Lang;
use crate::mfa::methods::PhoneChannel;
use crate::proofing::document::DocumentType;
use crate::proofing::flow::ProtectOutcome;
use crate::proofing::flow::{
    self, AddressForm, AddressOutcome, Blocked, DocumentOutcome, DocumentProblem, FinishOutcome,
    LetterCodeOutcome, LetterOutcome, Person, PhoneOutcome, PhonePick, PhoneProblem, SelfieOutcome,
    SelfieProblem, SsnOutcome, SsnProblem, Standing, VerifyInfoOutcome,
};
use crate::proofing::images::ImageError;
use crate::proofing::records::Step;
use crate::proofing::vault::{self, PasswordCheck, RestoreOutcome, UnlockOutcome};
use crate::web::auth::see_other;
use crate::web::browser::Browser;
use crate::web::common::{code_problem_text, code_status, enc, send_problem_text};
use crate::web::guards::{CsrfForm, CsrfUpload, SensitiveChange, SignedIn};
use crate::web::page_parts::Steps;
use crate::web::pages::{render, render_status, VerifyPage};
use crate::Ctx;

/// The steps the indicator shows (the phone code is part of the phone step).
const STEP_KEYS: [&str; 5] = [
    "verify-step-document",
    "verify-step-selfie",
    "verify-step-ssn",
    "verify-step-review",
    "verify-step-phone",
];

fn step_number(step: Step) -> usize {
    match step {
        Step::Document => 1,
        Step::Selfie => 2,
        Step::Ssn => 3,
        Step::Review | Step::Referee => 4,
        Step::Phone | Step::PhoneCode | Step::Letter | Step::Protect | Step::Done => 5,
    }
}

fn step_path(step: Step) -> &'static str {
    match step {
        Step::Document => "/verify/document",
        Step::Selfie => "/verify/selfie",
        Step::Ssn => "/verify/ssn",
        Step::Review => "/verify/review",
        Step::Phone => "/verify/phone",
        Step::PhoneCode => "/verify/phone-code",
        Step::Letter => "/verify/letter",
        Step::Referee => "/verify/agent",
        Step::Protect => "/verify/protect",
        Step::Done => "/verify/done",
    }
}

fn page(browser: &Browser, stage: &'static str, title_key: &str, step: Option<Step>) -> VerifyPage {
    VerifyPage {
        layout: browser.layout_for(title_key),
        stage,
        steps: step.map(|s| Steps::new(browser.lang, &STEP_KEYS, step_number(s))),
        error: None,
        error_fields: Vec::new(),
        authz: String::new(),
        doc_type: "driving_permit".into(),
        review: None,
        address: AddressForm::default(),
        show_address_form: false,
        phones: Vec::new(),
        typed_phone: String::new(),
        masked_phone: String::new(),
        when: String::new(),
        continue_to: None,
        fixtures_allowed: false,
        letters: Vec::new(),
        letter_allowed: false,
        letter_next: String::new(),
        suggest_letter: false,
        personal_key: String::new(),
        personal_key_download: String::new(),
        suspended: false,
        agent_offer: false,
        agent_slots: Vec::new(),
        agent_lines: Vec::new(),
        agent_code: String::new(),
        agent_link: String::new(),
    }
}

fn person<'a>(change: &'a SensitiveChange) -> Person<'a> {
    Person {
        user_id: &change.session().user_id,
        email: &change.session().email,
        actor: &change.browser.actor,
    }
}

/// Where a step that could not run sends the person.
fn blocked(ctx: &Ctx, browser: &Browser, b: Blocked) -> PageResult {
    match b {
        Blocked::NotStarted => Ok(see_other("/verify")),
        Blocked::OnStep(step) => Ok(see_other(step_path(step))),
        Blocked::Busy => Ok(see_other("/verify")),
        Blocked::OutOfAttempts { retry_at } => {
            let mut p = page(
                browser,
                "out_of_attempts",
                "verify-out-of-attempts-title",
                None,
            );
            p.when = when(ctx, browser.lang, retry_at);
            p.agent_offer = agent_path_on(ctx);
            render_status(&p, StatusCode::TOO_MANY_REQUESTS)
        }
        Blocked::TryLater => {
            let p = page(browser, "try_later", "verify-try-later-title", None);
            render_status(&p, StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

/// Whether failure pages offer verification with an agent (`/verify/agent` checks that the
/// person's online check really failed).
fn agent_path_on(ctx: &Ctx) -> bool {
    ctx.settings.referee.enabled
}

fn when(ctx: &Ctx, lang: Lang, at: chrono::NaiveDateTime) -> String {
    crate::local_time::LocalTime::new(crate::local_time::site_default(&ctx.settings), lang)
        .date_time(at)
}

// ---- the start page ----------------------------------------------------------------------

fn return_key(user_id: &str) -> String {
    format!("proofing:return:{user_id}")
}

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    authz: String,
}

/// Where the person stands: the start page, the step they're on, or the result.
pub async fn start_page(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    q: web::Query<StartQuery>,
) -> PageResult {
    if !ctx.settings.proofing.enabled {
        return Err(crate::error::AppError::NotFound);
    }
    let browser = &me.browser;
    let standing = flow::standing(&ctx, &me.session.user_id).await?;
    let authz = q.into_inner().authz;
    if !authz.is_empty() && authz.len() <= 100 {
        ctx.store
            .put(
                &return_key(&me.session.user_id),
                &authz,
                Duration::from_secs(ctx.settings.security.authorization_request_ttl_secs),
            )
            .await?;
    }
    match standing {
        Standing::InProgress { step } => Ok(see_other(step_path(step))),
        Standing::Verified { at } => {
            let mut p = page(browser, "verified", "verify-verified-title", None);
            p.when = when(&ctx, browser.lang, at);
            p.continue_to = continue_to(&ctx, browser, &me.session.user_id).await?;
            render(&p)
        }
        Standing::Held => render(&page(browser, "held", "verify-held-title", None)),
        Standing::UnderReview => render(&page(browser, "under_review", "verify-held-title", None)),
        Standing::None | Standing::Redo | Standing::Suspended => {
            let mut p = page(browser, "start", "verify-start-title", None);
            p.authz = authz;
            p.suspended = matches!(standing, Standing::Suspended);
            render(&p)
        }
    }
}

/// The relying party's sign-in to go back to, if it is still waiting for this browser.
async fn continue_to(
    ctx: &Ctx,
    browser: &Browser,
    user_id: &str,
) -> anyhow::Result<Option<String>> {
    let Some(authz) = ctx.store.get(&return_key(user_id)).await? else {
        return Ok(None);
    };
    Ok(
        crate::oauth::authorize::load_pending(ctx, &authz, &browser.id)
            .await?
            .map(|_| format!("/authorize/continue?authz={}", enc(&authz))),
    )
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    consent: String,
    #[serde(default)]
    authz: String,
}

pub async fn start_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<StartForm>,
) -> PageResult {
    if !ctx.settings.proofing.enabled {
        return Err(crate::error::AppError::NotFound);
    }
    let browser = &change.browser;
    if form.consent != "yes" {
        let mut p = page(browser, "start", "verify-start-title", None);
        p.error = Some(browser.t("verify-consent-required"));
        p.error_fields = vec!["consent"];
        p.authz = form.authz.clone();
        return render_status(&p, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // The relying party whose IAL2 request led here, if its request is still waiting.
    let origin = match crate::oauth::authorize::load_pending(&ctx, &form.authz, &browser.id).await?
    {
        Some(pending) => Some(pending.client_id),
        None => None,
    };
    let step = flow::start(&ctx, &person(&change), origin).await?;
    Ok(see_other(step_path(step)))
}

pub async fn cancel(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    _form: CsrfForm<Empty>,
) -> PageResult {
    flow::cancel(&ctx, &person(&change)).await?;
    Ok(see_other("/verify"))
}

#[derive(Deserialize)]
pub struct Empty {}

/// Each step's page is shown only while the verification is on that step.
async fn on_step_page(
    ctx: &Ctx,
    browser: &Browser,
    user_id: &str,
    step: Step,
) -> anyhow::Result<Result<(), HttpResponse>> {
    match flow::standing(ctx, user_id).await? {
        Standing::InProgress { step: s } if s == step => Ok(Ok(())),
        Standing::InProgress { step: s } => Ok(Err(see_other(step_path(s)))),
        _ => {
            let _ = browser;
            Ok(Err(see_other("/verify")))
        }
    }
}

// ---- document ------------------------------------------------------------------------------

fn document_page(ctx: &Ctx, browser: &Browser) -> VerifyPage {
    let mut p = page(
        browser,
        "document",
        "verify-document-title",
        Some(Step::Document),
    );
    p.fixtures_allowed = ctx.vendors.document.vendor() == "mock";
    p
}

pub async fn document_page_get(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    if let Err(r) = on_step_page(
        &ctx,
        &change.browser,
        &change.session().user_id,
        Step::Document,
    )
    .await?
    {
        return Ok(r);
    }
    render(&document_page(&ctx, &change.browser))
}

fn image_problem_key(e: &ImageError) -> &'static str {
    match e {
        ImageError::TooLarge => "verify-image-too-large",
        ImageError::DimensionsTooLarge => "verify-image-too-many-pixels",
        ImageError::TooSmall => "verify-image-too-small",
        ImageError::NotJpegOrPng => "verify-image-not-photo",
        ImageError::Unreadable => "verify-image-unreadable",
    }
}

pub async fn document_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    mut upload: CsrfUpload,
) -> PageResult {
    let browser = &change.browser;
    let chosen = upload.field("document_type").to_string();
    let doc_type = DocumentType::from_ida_name(&chosen);
    let front = upload.take_file("front");
    let back = upload.take_file("back");
    let again = |key: &str, fields: Vec<&'static str>, status: StatusCode| {
        let mut p = document_page(&ctx, browser);
        p.error = Some(browser.t(key));
        p.error_fields = fields;
        p.doc_type = chosen.clone();
        render_status(&p, status)
    };
    if let Some(field) = upload.too_large.clone() {
        let which = if field == "back" { "back" } else { "front" };
        return again(
            "verify-image-too-large",
            vec![which],
            StatusCode::PAYLOAD_TOO_LARGE,
        );
    }
    let Some(document_type) = doc_type else {
        return again(
            "verify-document-type-missing",
            vec!["document_type"],
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let Some(front) = front else {
        return again(
            "verify-front-missing",
            vec!["front"],
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let outcome = flow::submit_document(
        &ctx,
        &person(&change),
        flow::DocumentUpload {
            document_type,
            front,
            back,
        },
    )
    .await?;
    let bad = StatusCode::UNPROCESSABLE_ENTITY;
    let refused = |key: &str, fields: Vec<&'static str>, status: StatusCode| {
        let mut p = document_page(&ctx, browser);
        p.error = Some(browser.t(key));
        p.error_fields = fields;
        p.doc_type = chosen.clone();
        p.agent_offer = agent_path_on(&ctx);
        render_status(&p, status)
    };
    match outcome {
        DocumentOutcome::Passed => Ok(see_other("/verify/selfie")),
        DocumentOutcome::Blocked(b) => blocked(&ctx, browser, b),
        DocumentOutcome::Refused(problem) => match problem {
            DocumentProblem::Image(side, e) => {
                let field = match side {
                    flow::Side::Front => "front",
                    flow::Side::Back => "back",
                };
                refused(image_problem_key(&e), vec![field], bad)
            }
            DocumentProblem::BackMissing => refused("verify-back-missing", vec!["back"], bad),
            DocumentProblem::BarcodeUnreadable => {
                refused("verify-barcode-unreadable", vec!["back"], bad)
            }
            DocumentProblem::BarcodeInvalid => refused("verify-barcode-invalid", vec!["back"], bad),
            DocumentProblem::MrzInvalid => refused("verify-mrz-invalid", vec!["front"], bad),
            DocumentProblem::Mismatch(_) => refused("verify-document-mismatch", vec!["front"], bad),
            DocumentProblem::Expired => refused("verify-document-expired", vec!["front"], bad),
            DocumentProblem::NotAuthentic => {
                refused("verify-document-not-authentic", vec!["front"], bad)
            }
            DocumentProblem::WrongType => {
                refused("verify-document-wrong-type", vec!["document_type"], bad)
            }
        },
    }
}

// ---- selfie --------------------------------------------------------------------------------

pub async fn selfie_page(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    if let Err(r) = on_step_page(
        &ctx,
        &change.browser,
        &change.session().user_id,
        Step::Selfie,
    )
    .await?
    {
        return Ok(r);
    }
    let mut p = page(
        &change.browser,
        "selfie",
        "verify-selfie-title",
        Some(Step::Selfie),
    );
    p.fixtures_allowed = ctx.vendors.selfie.vendor() == "mock";
    render(&p)
}

pub async fn selfie_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    mut upload: CsrfUpload,
) -> PageResult {
    let browser = &change.browser;
    let again = |key: &str, status: StatusCode| {
        let mut p = page(browser, "selfie", "verify-selfie-title", Some(Step::Selfie));
        p.fixtures_allowed = ctx.vendors.selfie.vendor() == "mock";
        p.error = Some(browser.t(key));
        p.error_fields = vec!["selfie"];
        render_status(&p, status)
    };
    if upload.too_large.is_some() {
        return again("verify-image-too-large", StatusCode::PAYLOAD_TOO_LARGE);
    }
    let Some(selfie) = upload.take_file("selfie") else {
        return again("verify-selfie-missing", StatusCode::UNPROCESSABLE_ENTITY);
    };
    let bad = StatusCode::UNPROCESSABLE_ENTITY;
    let refused = |key: &str| {
        let mut p = page(browser, "selfie", "verify-selfie-title", Some(Step::Selfie));
        p.fixtures_allowed = ctx.vendors.selfie.vendor() == "mock";
        p.error = Some(browser.t(key));
        p.error_fields = vec!["selfie"];
        p.agent_offer = agent_path_on(&ctx);
        render_status(&p, bad)
    };
    match flow::submit_selfie(&ctx, &person(&change), selfie).await? {
        SelfieOutcome::Passed => Ok(see_other("/verify/ssn")),
        SelfieOutcome::Blocked(b) => blocked(&ctx, browser, b),
        SelfieOutcome::Refused(SelfieProblem::Image(e)) => again(image_problem_key(&e), bad),
        SelfieOutcome::Refused(SelfieProblem::NoMatch) => refused("verify-selfie-no-match"),
        SelfieOutcome::Refused(SelfieProblem::NotLive) => refused("verify-selfie-not-live"),
        SelfieOutcome::Refused(SelfieProblem::DocumentAgain) => Ok(see_other("/verify/document")),
    }
}

// ---- SSN -------------------------------------------------------------------------------------

pub async fn ssn_page(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    if let Err(r) =
        on_step_page(&ctx, &change.browser, &change.session().user_id, Step::Ssn).await?
    {
        return Ok(r);
    }
    render(&page(
        &change.browser,
        "ssn",
        "verify-ssn-title",
        Some(Step::Ssn),
    ))
}

#[derive(Deserialize)]
pub struct SsnForm {
    #[serde(default)]
    ssn: String,
}

pub async fn ssn_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<SsnForm>,
) -> PageResult {
    let browser = &change.browser;
    match flow::submit_ssn(&ctx, &person(&change), &form.ssn).await? {
        SsnOutcome::Saved => Ok(see_other("/verify/review")),
        SsnOutcome::Blocked(b) => blocked(&ctx, browser, b),
        SsnOutcome::Refused(problem) => {
            let mut p = page(browser, "ssn", "verify-ssn-title", Some(Step::Ssn));
            p.error = Some(browser.t(match problem {
                SsnProblem::Format => "verify-ssn-format",
                SsnProblem::Impossible => "verify-ssn-impossible",
            }));
            p.error_fields = vec!["ssn"];
            render_status(&p, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

// ---- check your information ------------------------------------------------------------------

async fn review_page(
    ctx: &Ctx,
    change: &SensitiveChange,
) -> anyhow::Result<Result<VerifyPage, HttpResponse>> {
    let browser = &change.browser;
    let view = match flow::review(ctx, &change.session().user_id).await? {
        Ok(v) => v,
        Err(b) => {
            return Ok(Err(match b {
                Blocked::OnStep(s) => see_other(step_path(s)),
                _ => see_other("/verify"),
            }))
        }
    };
    let mut p = page(browser, "review", "verify-review-title", Some(Step::Review));
    let a = &view.address;
    let mut street = a.street_address.lines();
    p.address = AddressForm {
        street1: street.next().unwrap_or("").to_string(),
        street2: street.collect::<Vec<_>>().join(" "),
        city: a.locality.clone(),
        state: a.region.clone(),
        zip: a.postal_code.clone(),
    };
    // A passport has no address: the residence must be entered.
    p.show_address_form = a.street_address.is_empty();
    p.review = Some(crate::web::pages::ReviewRows {
        name: [
            Some(view.given_name.as_str()),
            view.middle_name.as_deref(),
            Some(view.family_name.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" "),
        birthdate: crate::local_time::LocalTime::new(chrono_tz::Tz::UTC, browser.lang)
            .date(view.birthdate.and_time(chrono::NaiveTime::MIN)),
        address: a.formatted(),
        ssn: view.ssn_masked.clone(),
        document: browser.t(match view.document_type {
            DocumentType::DriversLicense => "verify-doc-drivers-license",
            DocumentType::StateId => "verify-doc-state-id",
            DocumentType::Passport => "verify-doc-passport",
        }),
    });
    Ok(Ok(p))
}

pub async fn review_get(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    match review_page(&ctx, &change).await? {
        Ok(p) => render(&p),
        Err(r) => Ok(r),
    }
}

#[derive(Deserialize)]
pub struct AddressFormIn {
    #[serde(default)]
    street1: String,
    #[serde(default)]
    street2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    zip: String,
}

pub async fn address_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<AddressFormIn>,
) -> PageResult {
    let form = form.into_inner();
    let typed = AddressForm {
        street1: form.street1,
        street2: form.street2,
        city: form.city,
        state: form.state,
        zip: form.zip,
    };
    match flow::update_address(&ctx, &person(&change), &typed).await? {
        AddressOutcome::Saved => Ok(see_other("/verify/review")),
        AddressOutcome::Blocked(b) => blocked(&ctx, &change.browser, b),
        AddressOutcome::Refused(fields) => match review_page(&ctx, &change).await? {
            Ok(mut p) => {
                p.error = Some(change.browser.t("verify-address-problems"));
                p.error_fields = fields;
                p.address = typed;
                p.show_address_form = true;
                render_status(&p, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(r) => Ok(r),
        },
    }
}

pub async fn review_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    _form: CsrfForm<Empty>,
) -> PageResult {
    let key = match flow::verify_info(&ctx, &person(&change)).await? {
        VerifyInfoOutcome::Passed => return Ok(see_other("/verify/phone")),
        VerifyInfoOutcome::Blocked(b) => return blocked(&ctx, &change.browser, b),
        VerifyInfoOutcome::RecordsFailed => "verify-records-failed",
        VerifyInfoOutcome::StateIdFailed => "verify-state-id-failed",
        VerifyInfoOutcome::AddressNeeded => "verify-address-needed",
    };
    match review_page(&ctx, &change).await? {
        Ok(mut p) => {
            p.error = Some(change.browser.t(key));
            if key == "verify-address-needed" {
                p.show_address_form = true;
            } else {
                p.agent_offer = agent_path_on(&ctx);
            }
            render_status(&p, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(r) => Ok(r),
    }
}

// ---- phone -------------------------------------------------------------------------------------

async fn phone_page(ctx: &Ctx, change: &SensitiveChange) -> anyhow::Result<VerifyPage> {
    let mut p = page(
        &change.browser,
        "phone",
        "verify-phone-title",
        Some(Step::Phone),
    );
    p.phones = flow::phone_choices(ctx, &change.session().user_id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.masked))
        .collect();
    with_letters(ctx, &change.browser, &change.session().user_id, &mut p).await?;
    Ok(p)
}

/// "Letter requested on …" / "Letter sent on …", one sentence per letter, newest first
/// (`keys`: the sentences for sent and for requested, which take `$when`).
pub(crate) fn letter_lines(
    ctx: &Ctx,
    lang: Lang,
    keys: (&'static str, &'static str),
    view: &flow::LetterView,
) -> Vec<String> {
    view.letters
        .iter()
        .map(|(requested, sent)| match sent {
            Some(at) => crate::i18n::Message::new(keys.0)
                .arg("when", day(ctx, lang, *at))
                .in_lang(lang),
            None => crate::i18n::Message::new(keys.1)
                .arg("when", day(ctx, lang, *requested))
                .in_lang(lang),
        })
        .collect()
}

pub(crate) fn day(ctx: &Ctx, lang: Lang, at: chrono::NaiveDateTime) -> String {
    crate::local_time::LocalTime::new(crate::local_time::site_default(&ctx.settings), lang).date(at)
}

/// The letters part of the phone and letter pages.
async fn with_letters(
    ctx: &Ctx,
    browser: &Browser,
    user_id: &str,
    p: &mut VerifyPage,
) -> anyhow::Result<()> {
    let view = flow::letters(ctx, user_id).await?;
    p.letters = letter_lines(
        ctx,
        browser.lang,
        ("verify-letter-sent-on", "verify-letter-requested-on"),
        &view,
    );
    p.letter_allowed = view.next_allowed_at.is_none();
    p.letter_next = view
        .next_allowed_at
        .map(|at| day(ctx, browser.lang, at))
        .unwrap_or_default();
    Ok(())
}

pub async fn phone_get(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    if let Err(r) = on_step_page(
        &ctx,
        &change.browser,
        &change.session().user_id,
        Step::Phone,
    )
    .await?
    {
        return Ok(r);
    }
    render(&phone_page(&ctx, &change).await?)
}

#[derive(Deserialize)]
pub struct PhoneForm {
    /// An enrolled phone's id, or "other" with `phone` typed.
    #[serde(default)]
    choice: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    channel: String,
}

pub async fn phone_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<PhoneForm>,
) -> PageResult {
    let browser = &change.browser;
    let pick = if form.choice.is_empty() || form.choice == "other" {
        PhonePick::Typed(&form.phone)
    } else {
        PhonePick::OnAccount(&form.choice)
    };
    let channel = PhoneChannel::parse(&form.channel).unwrap_or(PhoneChannel::Sms);
    let outcome = flow::submit_phone(&ctx, &person(&change), pick, channel).await?;
    let suggest_letter =
        matches!(&outcome, PhoneOutcome::Refused(problem) if problem.suggests_letter());
    let (message, status) = match outcome {
        PhoneOutcome::CodeSent { .. } => return Ok(see_other("/verify/phone-code")),
        PhoneOutcome::Blocked(b) => return blocked(&ctx, browser, b),
        PhoneOutcome::Refused(PhoneProblem::Unusable(e)) => {
            (e.message(), StatusCode::UNPROCESSABLE_ENTITY)
        }
        PhoneOutcome::Refused(PhoneProblem::UnknownPhone) => (
            browser.t("verify-phone-unknown"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        PhoneOutcome::Refused(PhoneProblem::NotAssociated) => (
            browser.t("verify-phone-not-associated"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        PhoneOutcome::Refused(PhoneProblem::Cooldown { until }) => (
            crate::i18n::Message::new("verify-phone-cooldown")
                .arg("when", when(&ctx, browser.lang, until))
                .in_lang(browser.lang),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        PhoneOutcome::Refused(PhoneProblem::Send(outcome)) => {
            send_problem_text(browser.lang, &outcome)
        }
    };
    let mut p = phone_page(&ctx, &change).await?;
    p.suggest_letter = suggest_letter;
    p.error = Some(message);
    p.error_fields = vec!["phone"];
    p.typed_phone = form.phone.clone();
    render_status(&p, status)
}

pub async fn code_get(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    match flow::pending_phone(&ctx, &change.session().user_id).await? {
        Ok(masked) => {
            let mut p = page(
                &change.browser,
                "code",
                "verify-code-title",
                Some(Step::PhoneCode),
            );
            p.masked_phone = masked;
            render(&p)
        }
        Err(b) => blocked(&ctx, &change.browser, b),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn code_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<CodeForm>,
) -> PageResult {
    let browser = &change.browser;
    match flow::submit_phone_code(&ctx, &person(&change), &form.code).await? {
        FinishOutcome::Protect | FinishOutcome::Verified | FinishOutcome::Held => {
            Ok(see_other("/verify/protect"))
        }
        FinishOutcome::Blocked(b) => blocked(&ctx, browser, b),
        FinishOutcome::Code(outcome) => {
            let mut p = page(browser, "code", "verify-code-title", Some(Step::PhoneCode));
            p.masked_phone = flow::pending_phone(&ctx, &change.session().user_id)
                .await?
                .unwrap_or_default();
            p.error = Some(code_problem_text(&ctx, browser.lang, &outcome));
            p.error_fields = vec!["code"];
            render_status(&p, code_status(&outcome))
        }
    }
}

#[derive(Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    channel: String,
}

pub async fn code_resend(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<ResendForm>,
) -> PageResult {
    let browser = &change.browser;
    let channel = PhoneChannel::parse(&form.channel).unwrap_or(PhoneChannel::Sms);
    match flow::resend_code(&ctx, &person(&change), channel).await? {
        Err(b) => blocked(&ctx, browser, b),
        Ok(crate::mfa::challenge::SendOutcome::Sent) => Ok(see_other("/verify/phone-code")),
        Ok(outcome) => {
            let (message, status) = send_problem_text(browser.lang, &outcome);
            let mut p = page(browser, "code", "verify-code-title", Some(Step::PhoneCode));
            p.masked_phone = flow::pending_phone(&ctx, &change.session().user_id)
                .await?
                .unwrap_or_default();
            p.error = Some(message);
            render_status(&p, status)
        }
    }
}

pub async fn other_number(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    _form: CsrfForm<Empty>,
) -> PageResult {
    flow::other_number(&ctx, &person(&change)).await?;
    Ok(see_other("/verify/phone"))
}

// ---- verify by mail ----------------------------------------------------------------------------

async fn letter_page(ctx: &Ctx, change: &SensitiveChange) -> anyhow::Result<VerifyPage> {
    let mut p = page(
        &change.browser,
        "letter",
        "verify-letter-title",
        Some(Step::Letter),
    );
    with_letters(ctx, &change.browser, &change.session().user_id, &mut p).await?;
    Ok(p)
}

pub async fn letter_get(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    if let Err(r) = on_step_page(
        &ctx,
        &change.browser,
        &change.session().user_id,
        Step::Letter,
    )
    .await?
    {
        return Ok(r);
    }
    render(&letter_page(&ctx, &change).await?)
}

/// "Send me a letter instead" (the phone page) and "Send another letter" (the letter page).
pub async fn letter_request(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    _form: CsrfForm<Empty>,
) -> PageResult {
    let browser = &change.browser;
    match flow::request_letter(&ctx, &person(&change)).await? {
        LetterOutcome::Queued => Ok(see_other("/verify/letter")),
        LetterOutcome::Blocked(b) => blocked(&ctx, browser, b),
        LetterOutcome::TooMany { retry_at } => {
            let on_letter = matches!(
                flow::standing(&ctx, &change.session().user_id).await?,
                Standing::InProgress { step: Step::Letter }
            );
            let mut p = if on_letter {
                letter_page(&ctx, &change).await?
            } else {
                phone_page(&ctx, &change).await?
            };
            p.error = Some(
                crate::i18n::Message::new("verify-letter-too-many")
                    .arg("when", day(&ctx, browser.lang, retry_at))
                    .in_lang(browser.lang),
            );
            render_status(&p, StatusCode::TOO_MANY_REQUESTS)
        }
    }
}

pub async fn letter_code(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<CodeForm>,
) -> PageResult {
    let browser = &change.browser;
    let (message, status) =
        match flow::submit_letter_code(&ctx, &person(&change), &form.code).await? {
            LetterCodeOutcome::Accepted => return Ok(see_other("/verify/protect")),
            LetterCodeOutcome::Blocked(b) => return blocked(&ctx, browser, b),
            LetterCodeOutcome::Malformed => (
                browser.t("verify-letter-code-format"),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            LetterCodeOutcome::Wrong { tries_left } => (
                crate::i18n::Message::new("verify-letter-code-wrong")
                    .arg("tries", tries_left)
                    .in_lang(browser.lang),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            LetterCodeOutcome::NeedNewLetter => (
                browser.t("verify-letter-code-void"),
                StatusCode::TOO_MANY_REQUESTS,
            ),
        };
    let mut p = letter_page(&ctx, &change).await?;
    p.error = Some(message);
    p.error_fields = vec!["code"];
    render_status(&p, status)
}

pub async fn letter_phone_instead(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    _form: CsrfForm<Empty>,
) -> PageResult {
    flow::phone_instead(&ctx, &person(&change)).await?;
    Ok(see_other("/verify/phone"))
}

// ---- done ---------------------------------------------------------------------------------------

pub async fn done(ctx: web::Data<Ctx>, me: SignedIn) -> PageResult {
    let browser = &me.browser;
    if let Some(page) = unsaved_personal_key(&ctx, browser, &me.session).await? {
        return page;
    }
    match flow::standing(&ctx, &me.session.user_id).await? {
        Standing::Verified { at } => {
            let mut p = page(browser, "done", "verify-done-title", None);
            p.when = when(&ctx, browser.lang, at);
            p.continue_to = continue_to(&ctx, browser, &me.session.user_id).await?;
            render(&p)
        }
        Standing::Held => render(&page(browser, "held", "verify-held-title", None)),
        Standing::UnderReview => render(&page(browser, "under_review", "verify-held-title", None)),
        Standing::InProgress { step } => Ok(see_other(step_path(step))),
        Standing::None | Standing::Redo | Standing::Suspended => Ok(see_other("/verify")),
    }
}

// ---- the person's vault: password, personal key, unlock, restore ------------------------------

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

pub async fn protect_get(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    if let Err(r) = on_step_page(
        &ctx,
        &change.browser,
        &change.session().user_id,
        Step::Protect,
    )
    .await?
    {
        return Ok(r);
    }
    render(&page(
        &change.browser,
        "protect",
        "verify-protect-title",
        Some(Step::Protect),
    ))
}

/// The personal key, shown once: in this response only (never stored to show again), with a
/// text file to download and a page that prints cleanly.
fn personal_key_page(browser: &Browser, key: &str, next: String) -> PageResult {
    let shown = vault::display_personal_key(key);
    let mut p = page(browser, "personal_key", "verify-personal-key-title", None);
    p.personal_key_download = format!(
        "data:text/plain;charset=utf-8,{}",
        enc(&crate::i18n::Message::new("verify-personal-key-file")
            .arg("key", shown.clone())
            .in_lang(browser.lang))
    );
    p.personal_key = shown;
    p.continue_to = Some(next);
    render(&p)
}

/// The personal key this session made and hasn't confirmed saving (a double submit, a reload,
/// coming back later in the session), if any.
async fn unsaved_personal_key(
    ctx: &Ctx,
    browser: &Browser,
    session: &crate::accounts::sessions::Session,
) -> anyhow::Result<Option<PageResult>> {
    Ok(vault::shown(ctx, session)
        .await?
        .map(|(key, next)| personal_key_page(browser, &key, next)))
}

pub async fn personal_key_get(ctx: web::Data<Ctx>, me: SignedIn) -> PageResult {
    match unsaved_personal_key(&ctx, &me.browser, &me.session).await? {
        Some(page) => page,
        None => Ok(see_other("/account")),
    }
}

/// "I saved my personal key": it is forgotten, and the person goes on.
pub async fn personal_key_saved(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    _form: CsrfForm<Empty>,
) -> PageResult {
    let next = vault::saved(&ctx, &me.session).await?;
    Ok(see_other(next.as_deref().unwrap_or("/account")))
}

fn password_problem(browser: &Browser, check: PasswordCheck, retry: &str) -> Option<PageResult> {
    match check {
        PasswordCheck::Locked(outcome) => Some(crate::web::auth::locked_out(
            browser,
            &outcome,
            retry.to_string(),
        )),
        _ => None,
    }
}

pub async fn protect_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<PasswordForm>,
) -> PageResult {
    let browser = &change.browser;
    let password = zeroize::Zeroizing::new(form.into_inner().password);
    match flow::submit_password(&ctx, &person(&change), change.session(), password).await? {
        ProtectOutcome::Protected { personal_key, .. } => {
            personal_key_page(browser, &personal_key, "/verify/done".into())
        }
        ProtectOutcome::Blocked(b) => {
            // A double submit: the first one made the key; show it here too.
            if let Some(page) = unsaved_personal_key(&ctx, browser, change.session()).await? {
                return page;
            }
            blocked(&ctx, browser, b)
        }
        ProtectOutcome::Password(check) => {
            if let Some(locked) = password_problem(browser, check, "/verify/protect") {
                return locked;
            }
            let mut p = page(
                browser,
                "protect",
                "verify-protect-title",
                Some(Step::Protect),
            );
            p.error = Some(browser.t("verify-password-wrong"));
            p.error_fields = vec!["password"];
            render_status(&p, StatusCode::UNAUTHORIZED)
        }
    }
}

/// A relying party asked for verified data and this session signed in without the password
/// (a passkey): the password opens it, then the sign-in continues.
pub async fn unlock_get(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    q: web::Query<StartQuery>,
) -> PageResult {
    if !ctx.settings.proofing.enabled {
        return Err(crate::error::AppError::NotFound);
    }
    let mut p = page(&me.browser, "unlock", "verify-unlock-title", None);
    p.authz = q.into_inner().authz.chars().take(100).collect();
    render(&p)
}

#[derive(Deserialize)]
pub struct UnlockForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    authz: String,
}

pub async fn unlock_submit(
    ctx: web::Data<Ctx>,
    me: SignedIn,
    form: CsrfForm<UnlockForm>,
) -> PageResult {
    if !ctx.settings.proofing.enabled {
        return Err(crate::error::AppError::NotFound);
    }
    let browser = &me.browser;
    let form = form.into_inner();
    let authz: String = form.authz.chars().take(100).collect();
    let next = if authz.is_empty() {
        "/account".to_string()
    } else {
        format!("/authorize/continue?authz={}", enc(&authz))
    };
    let password = zeroize::Zeroizing::new(form.password);
    match vault::unlock_session(&ctx, &me.session, password, &browser.actor).await? {
        UnlockOutcome::Unlocked => Ok(see_other(&next)),
        // Say so, instead of sending the app's request back here.
        UnlockOutcome::CantOpen => {
            let mut p = page(browser, "unlock", "verify-unlock-title", None);
            p.authz = authz;
            p.error = Some(browser.t("verify-unlock-cant-open"));
            render_status(&p, StatusCode::CONFLICT)
        }
        UnlockOutcome::NothingLocked => Ok(see_other(&next)),
        UnlockOutcome::Password(check) => {
            let retry = format!("/verify/unlock?authz={}", enc(&authz));
            if let Some(locked) = password_problem(browser, check, &retry) {
                return locked;
            }
            let mut p = page(browser, "unlock", "verify-unlock-title", None);
            p.authz = authz;
            p.error = Some(browser.t("verify-password-wrong"));
            p.error_fields = vec!["password"];
            render_status(&p, StatusCode::UNAUTHORIZED)
        }
    }
}

pub async fn restore_get(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    if !vault::suspended(&ctx, &change.session().user_id).await? {
        return Ok(see_other("/verify"));
    }
    render(&page(
        &change.browser,
        "restore",
        "verify-restore-title",
        None,
    ))
}

#[derive(Deserialize)]
pub struct RestoreForm {
    #[serde(default)]
    personal_key: String,
    #[serde(default)]
    password: String,
}

pub async fn restore_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<RestoreForm>,
) -> PageResult {
    let browser = &change.browser;
    let form = form.into_inner();
    let password = zeroize::Zeroizing::new(form.password);
    let outcome = vault::restore_with_personal_key(
        &ctx,
        change.session(),
        &form.personal_key,
        password,
        &browser.actor,
    )
    .await?;
    let (key, field, status) = match outcome {
        RestoreOutcome::Restored { personal_key } => {
            return personal_key_page(browser, &personal_key, "/account".into())
        }
        RestoreOutcome::NothingSuspended | RestoreOutcome::Busy => {
            if let Some(page) = unsaved_personal_key(&ctx, browser, change.session()).await? {
                return page;
            }
            return Ok(see_other("/verify"));
        }
        RestoreOutcome::Password(check) => {
            if let Some(locked) = password_problem(browser, check, "/verify/restore") {
                return locked;
            }
            (
                "verify-password-wrong",
                "password",
                StatusCode::UNAUTHORIZED,
            )
        }
        RestoreOutcome::Malformed => (
            "verify-personal-key-format",
            "personal_key",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        RestoreOutcome::WrongPersonalKey => (
            "verify-personal-key-wrong",
            "personal_key",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        RestoreOutcome::TooManyTries => (
            "verify-personal-key-too-many",
            "personal_key",
            StatusCode::TOO_MANY_REQUESTS,
        ),
    };
    let mut p = page(browser, "restore", "verify-restore-title", None);
    p.error = Some(browser.t(key));
    p.error_fields = vec![field];
    render_status(&p, status)
}

/// "Make a new personal key" (the console): from what this session unlocked; a session that
/// hasn't unlocked anything enters the password first.
pub async fn new_personal_key(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    _form: CsrfForm<Empty>,
) -> PageResult {
    match vault::replace_personal_key(&ctx, change.session(), &change.browser.actor).await? {
        Some(key) => personal_key_page(&change.browser, &key, "/account".into()),
        None => Ok(see_other("/verify/unlock")),
    }
}

// ---- the console's "Remove my verified data" -------------------------------------------------

pub async fn remove(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    _form: CsrfForm<Empty>,
) -> PageResult {
    flow::remove(
        &ctx,
        &change.session().user_id,
        None,
        None,
        Some(&change.browser.actor),
    )
    .await?;
    Ok(see_other("/account?identity=removed"))
}

// ---- verification with an agent (trusted referee) ----------------------------------------------

/// The agent page: the offer (notice about video, consent, a slot or the queue) or the open
/// case (when, the place in the queue and the expected wait, the meeting link).
async fn agent_page(
    ctx: &Ctx,
    browser: &Browser,
    user_id: &str,
) -> anyhow::Result<Option<VerifyPage>> {
    use crate::proofing::referee::{self, Offer};
    Ok(match referee::offer(ctx, user_id).await? {
        Offer::NotOffered => None,
        Offer::Available { slots } => {
            let mut p = page(browser, "agent", "verify-agent-title", None);
            p.agent_slots = slots
                .into_iter()
                .map(|s| {
                    (
                        s.format("%Y-%m-%dT%H:%M").to_string(),
                        when(ctx, browser.lang, s),
                    )
                })
                .collect();
            Some(p)
        }
        Offer::Open(view) => Some(case_page(ctx, browser, &view)),
    })
}

fn case_page(
    ctx: &Ctx,
    browser: &Browser,
    view: &crate::proofing::referee::CaseView,
) -> VerifyPage {
    use fluent_bundle::FluentValue;
    let mut p = page(browser, "agent_case", "verify-agent-title", None);
    let lang = browser.lang;
    let line = match (view.status.as_str(), view.slot_start, view.queue_position) {
        ("claimed", _, _) => lang.t("verify-agent-claimed"),
        (_, Some(at), _) => lang.t_args(
            "verify-agent-scheduled",
            &[("when", FluentValue::from(when(ctx, lang, at)))],
        ),
        (_, None, Some(place)) => lang.t_args(
            "verify-agent-queued",
            &[
                ("place", FluentValue::from(place as i64)),
                (
                    "minutes",
                    FluentValue::from(view.expected_wait_minutes.unwrap_or(0) as i64),
                ),
            ],
        ),
        _ => lang.t("verify-agent-claimed"),
    };
    p.agent_lines = vec![line, lang.t("verify-agent-reminder")];
    p.agent_link = view.meeting_link.clone();
    p
}

pub async fn agent_get(ctx: web::Data<Ctx>, change: SensitiveChange) -> PageResult {
    match agent_page(&ctx, &change.browser, &change.session().user_id).await? {
        Some(p) => render(&p),
        None => Ok(see_other("/verify")),
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

/// "I lost my code": a new continuation code, shown once.
pub async fn agent_new_code(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    _form: CsrfForm<NoFields>,
) -> PageResult {
    use crate::proofing::referee::{self, NewCode};
    let browser = &change.browser;
    match referee::replace_code(&ctx, &person(&change)).await? {
        NewCode::Issued { code, view } => {
            let mut p = case_page(&ctx, browser, &view);
            p.agent_code = crate::admin::proofing::grouped(&code);
            render(&p)
        }
        NewCode::CallBegan => match agent_page(&ctx, browser, &change.session().user_id).await? {
            Some(mut p) => {
                p.error = Some(browser.t("verify-agent-code-call-began"));
                render_status(&p, StatusCode::CONFLICT)
            }
            None => Ok(see_other("/verify")),
        },
        NewCode::NoCase => Ok(see_other("/verify")),
    }
}

#[derive(Deserialize)]
pub struct AgentForm {
    #[serde(default)]
    consent: String,
    /// A slot's start (`YYYY-MM-DDTHH:MM`, UTC) or `queue`.
    #[serde(default)]
    slot: String,
}

pub async fn agent_submit(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    form: CsrfForm<AgentForm>,
) -> PageResult {
    use crate::proofing::referee::{self, Choice, RequestOutcome};
    let browser = &change.browser;
    let uid = change.session().user_id.clone();
    let choice = if form.slot == "queue" {
        Some(Choice::Queue)
    } else {
        chrono::NaiveDateTime::parse_from_str(&form.slot, "%Y-%m-%dT%H:%M")
            .ok()
            .map(Choice::Slot)
    };
    let again = |p: Option<VerifyPage>, key: &str, field: &'static str| match p {
        Some(mut p) => {
            p.error = Some(browser.t(key));
            p.error_fields = vec![field];
            render_status(&p, StatusCode::UNPROCESSABLE_ENTITY)
        }
        None => Ok(see_other("/verify")),
    };
    let Some(choice) = choice else {
        let p = agent_page(&ctx, browser, &uid).await?;
        return again(p, "verify-agent-slot-unknown", "slot");
    };
    let consent = form.consent == "yes";
    match referee::request(&ctx, &person(&change), consent, choice).await? {
        RequestOutcome::Opened { code, view } => {
            let mut p = case_page(&ctx, browser, &view);
            p.agent_code = crate::admin::proofing::grouped(&code);
            render(&p)
        }
        RequestOutcome::NeedConsent => {
            let p = agent_page(&ctx, browser, &uid).await?;
            again(p, "verify-agent-consent-required", "consent")
        }
        RequestOutcome::UnknownSlot => {
            let p = agent_page(&ctx, browser, &uid).await?;
            again(p, "verify-agent-slot-unknown", "slot")
        }
        RequestOutcome::SlotFull => {
            let p = agent_page(&ctx, browser, &uid).await?;
            again(p, "verify-agent-slot-full", "slot")
        }
        RequestOutcome::AlreadyOpen => Ok(see_other("/verify/agent")),
        RequestOutcome::NotOffered => Ok(see_other("/verify")),
    }
}
