//! The agent desk (`/referee`): verification with an agent (trusted referee) for operators
//! without their own tooling. An agent is a Verity account an operator linked to a registered
//! agent; every page needs that account signed in with its second factor and stepped up
//! recently ([`SensitiveChange`]). The rules are the management API's
//! ([`crate::admin::referee`], with [`Worker::Desk`]); these handlers only map them to pages.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;

use crate::admin::proofing::PersonView;
use crate::admin::referee::{self, CaseSummary, Decision, Evidence, IdentityFromCall, Worker};
use crate::admin::Problem;
use crate::error::{AppError, PageResult};
use crate::i18n::{FluentValue, Lang};
use crate::local_time::{site_default, LocalTime};
use crate::web::auth::see_other;
use crate::web::browser::Browser;
use crate::web::guards::{CsrfForm, SensitiveChange};
use crate::web::pages::*;
use crate::Ctx;

fn worker(change: &SensitiveChange) -> Worker {
    Worker::Desk {
        user_id: change.session().user_id.clone(),
        actor: change.browser.actor.clone(),
    }
}

fn times(ctx: &Ctx, lang: Lang) -> LocalTime {
    LocalTime::new(site_default(&ctx.settings), lang)
}

/// A refusal that isn't about one form: the page for it.
fn refused(browser: &Browser, problem: Problem) -> PageResult {
    match problem {
        Problem::NotFound(_) => Err(AppError::NotFound),
        Problem::Forbidden(_) => render_status(
            &ErrorPage {
                layout: browser.layout_for("referee-forbidden-heading"),
                heading: browser.t("referee-forbidden-heading"),
                message: browser.t("referee-forbidden"),
            },
            StatusCode::FORBIDDEN,
        ),
        Problem::Unavailable(_) => Err(AppError::Unavailable),
        Problem::Internal(e) => Err(AppError::Internal(e)),
        // Any other refusal: the case can't be worked as asked (never a 500).
        _ => render_status(
            &ErrorPage {
                layout: browser.layout_for("referee-case-title"),
                heading: browser.t("referee-case-title"),
                message: browser.t("referee-case-closed"),
            },
            StatusCode::CONFLICT,
        ),
    }
}

// ---- the desk ----------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct DeskQuery {
    /// What was just done (a decision, a release), for the notice.
    #[serde(default)]
    done: String,
}

fn status_words(lang: Lang, status: &str) -> String {
    match status {
        "scheduled" => lang.t("referee-status-scheduled"),
        "queued" => lang.t("referee-status-queued"),
        "claimed" => lang.t("referee-status-claimed"),
        other => other.replace('_', " "),
    }
}

fn from_step_words(lang: Lang, step: &str) -> String {
    match step {
        "document" => lang.t("referee-from-document"),
        "selfie" => lang.t("referee-from-selfie"),
        "ssn" => lang.t("referee-from-ssn"),
        "review" => lang.t("referee-from-review"),
        other => other.to_string(),
    }
}

/// A vendor check's name (`document`, `records`, …) in words; an unknown one as it is.
fn check_words(lang: Lang, check: &str) -> String {
    match check {
        "document" => lang.t("referee-check-name-document"),
        "selfie" => lang.t("referee-check-name-selfie"),
        "records" => lang.t("referee-check-name-records"),
        "state_id" => lang.t("referee-check-name-state-id"),
        "phone" => lang.t("referee-check-name-phone"),
        "letter" => lang.t("referee-check-name-letter"),
        "referee" => lang.t("referee-check-name-referee"),
        other => other.to_string(),
    }
}

fn outcome_words(lang: Lang, outcome: &str) -> String {
    match outcome {
        "passed" => lang.t("referee-outcome-passed"),
        "failed" => lang.t("referee-outcome-failed"),
        "unavailable" => lang.t("referee-outcome-unavailable"),
        "running" => lang.t("referee-outcome-running"),
        other => other.to_string(),
    }
}

fn flag_words(lang: Lang, kind: &str, status: &str) -> String {
    let kind = match kind {
        "duplicate_ssn" => lang.t("referee-flag-duplicate-ssn"),
        "duplicate_document" => lang.t("referee-flag-duplicate-document"),
        "many_identities" => lang.t("referee-flag-many-identities"),
        "sim_swap_phone" => lang.t("referee-flag-sim-swap"),
        "referee_fraud" => lang.t("referee-flag-referee-fraud"),
        other => other.to_string(),
    };
    let status = match status {
        "open" => lang.t("referee-flag-open"),
        "cleared" => lang.t("referee-flag-cleared"),
        "confirmed" => lang.t("referee-flag-confirmed"),
        other => other.to_string(),
    };
    format!("{kind} ({status})")
}

fn when_words(ctx: &Ctx, lang: Lang, case: &CaseSummary) -> String {
    match (case.slot_start, case.queue_position) {
        (Some(at), _) => times(ctx, lang).date_time(at.naive_utc()),
        (None, Some(place)) => lang.t_args(
            "referee-queue-place",
            &[("place", FluentValue::from(place as i64))],
        ),
        (None, None) => lang.t("referee-queue-next"),
    }
}

async fn desk_page(
    ctx: &Ctx,
    change: &SensitiveChange,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Result<DeskPage, Problem>, AppError> {
    let browser = &change.browser;
    let lang = browser.lang;
    let desk = match referee::desk(ctx, &worker(change)).await {
        Ok(d) => d,
        Err(p) => return Ok(Err(p)),
    };
    let mine = desk.agent.id.clone();
    let rows = desk
        .list
        .cases
        .iter()
        .map(|case| DeskRow {
            id: case.id.clone(),
            status: status_words(lang, &case.status),
            when: when_words(ctx, lang, case),
            from_step: from_step_words(lang, &case.from_step),
            waited: lang.t_args(
                "referee-waited",
                &[("minutes", FluentValue::from(case.waited_minutes))],
            ),
            mine: case.claimed_by.as_deref() == Some(mine.as_str()),
            claimable: case.claimed_by.is_none(),
        })
        .collect();
    let list = &desk.list;
    Ok(Ok(DeskPage {
        layout: browser.layout_for("referee-desk-title"),
        agent_name: desk.agent.name.clone(),
        certified_until: times(ctx, lang).date(desk.agent.certified_until.naive_utc()),
        figures: vec![
            lang.t_args(
                "referee-figure-queue",
                &[("count", FluentValue::from(list.queue_length as i64))],
            ),
            lang.t_args(
                "referee-figure-wait",
                &[
                    (
                        "minutes",
                        FluentValue::from(list.expected_wait_minutes as i64),
                    ),
                    ("longest", FluentValue::from(list.longest_wait_minutes)),
                ],
            ),
            lang.t_args(
                "referee-figure-scheduled",
                &[
                    ("scheduled", FluentValue::from(list.scheduled as i64)),
                    ("claimed", FluentValue::from(list.claimed as i64)),
                ],
            ),
        ],
        rows,
        notice,
        error,
    }))
}

fn done_notice(lang: Lang, done: &str) -> Option<String> {
    let key = match done {
        "verified" => "referee-done-verified",
        "not_verified" => "referee-done-not-verified",
        "fraud_suspected" => "referee-done-fraud",
        "released" => "referee-done-released",
        _ => return None,
    };
    Some(lang.t(key))
}

pub async fn desk(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    q: web::Query<DeskQuery>,
) -> PageResult {
    let notice = done_notice(change.browser.lang, &q.done);
    match desk_page(&ctx, &change, notice, None).await? {
        Ok(p) => render(&p),
        Err(p) => refused(&change.browser, p),
    }
}

/// The desk again, with what went wrong with a case (409).
async fn desk_with_error(ctx: &Ctx, change: &SensitiveChange, key: &str) -> PageResult {
    let message = change.browser.t(key);
    match desk_page(ctx, change, None, Some(message)).await? {
        Ok(p) => render_status(&p, StatusCode::CONFLICT),
        Err(p) => refused(&change.browser, p),
    }
}

/// A case the agent can't work now: why, on the desk.
async fn case_conflict(ctx: &Ctx, change: &SensitiveChange, field: Option<&str>) -> PageResult {
    let key = match field {
        Some("agent_id") => "referee-case-taken",
        Some("case") => "referee-case-changed",
        _ => "referee-case-closed",
    };
    desk_with_error(ctx, change, key).await
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn claim(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    id: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> PageResult {
    match referee::claim_as(&ctx, &worker(&change), &id).await {
        Ok(case) => Ok(see_other(&format!("/referee/cases/{}", case.id))),
        Err(Problem::Conflict { field, .. }) => {
            let key = match field.as_deref() {
                Some("agent_id") => "referee-case-taken",
                Some("claims") => "referee-too-many-claims",
                _ => "referee-claim-too-late",
            };
            desk_with_error(&ctx, &change, key).await
        }
        Err(p) => refused(&change.browser, p),
    }
}

pub async fn release(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    id: web::Path<String>,
    _form: CsrfForm<Empty>,
) -> PageResult {
    match referee::release_as(&ctx, &worker(&change), &id).await {
        Ok(_) => Ok(see_other("/referee?done=released")),
        Err(Problem::Conflict { field: Some(f), .. }) if f == "continuation_code" => {
            case_again(
                &ctx,
                &change,
                &id,
                CaseForm::default(),
                "referee-release-too-late",
            )
            .await
        }
        Err(Problem::Conflict { field, .. }) => {
            case_conflict(&ctx, &change, field.as_deref()).await
        }
        Err(p) => refused(&change.browser, p),
    }
}

// ---- one case -----------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct CaseQuery {
    #[serde(default)]
    saved: String,
}

/// What the agent typed, shown again after a refusal, with what was wrong.
#[derive(Default)]
struct CaseForm {
    decision: DecisionForm,
    problems: Vec<FieldProblem>,
}

fn person_rows(lang: Lang, person: &PersonView) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut add = |key: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            rows.push((lang.t(key), v));
        }
    };
    add("referee-person-given-name", person.given_name.clone());
    add("referee-person-middle-name", person.middle_name.clone());
    add("referee-person-family-name", person.family_name.clone());
    match person.birthdate {
        Some(d) => add(
            "referee-person-birthdate",
            Some(d.format("%Y-%m-%d").to_string()),
        ),
        None => add(
            "referee-person-birth-year",
            person.birth_year.map(|y| y.to_string()),
        ),
    }
    add(
        "referee-person-ssn-last4",
        person.ssn_last4.as_ref().map(|l| format!("•••-••-{l}")),
    );
    add(
        "referee-person-document-number",
        person.document_number.clone(),
    );
    if let Some(a) = &person.address {
        let parts: Vec<String> = [
            a.street_address.clone(),
            a.locality.clone(),
            Some(a.region.clone()),
            a.postal_code.clone(),
            Some(a.country.clone()),
        ]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .map(|p| p.replace('\n', ", "))
        .collect();
        add("referee-person-address", Some(parts.join(", ")));
    }
    add("referee-person-phone", person.phone.clone());
    rows
}

fn case_page(
    ctx: &Ctx,
    browser: &Browser,
    ev: &Evidence,
    form: CaseForm,
    notice: Option<String>,
    error: Option<String>,
) -> RefereeCasePage {
    let lang = browser.lang;
    let case = &ev.case;
    let mut document = Vec::new();
    if let Some(t) = &ev.document_type {
        let words = match t.as_str() {
            "driving_permit" => lang.t("referee-document-driving-permit"),
            "idcard" => lang.t("referee-document-idcard"),
            "passport" => lang.t("referee-document-passport"),
            other => other.to_string(),
        };
        document.push((lang.t("referee-document-type"), words));
    }
    if let Some(i) = &ev.document_issuer {
        document.push((lang.t("referee-document-issuer"), i.clone()));
    }
    if let Some(e) = &ev.document_expiry {
        document.push((lang.t("referee-document-expiry"), e.clone()));
    }
    let passed = ev
        .passed_checks
        .as_object()
        .map(|m| m.keys().map(|k| check_words(lang, k)).collect())
        .unwrap_or_default();
    let image_label = |kind: &str| match kind {
        "front" => lang.t("referee-image-front"),
        "back" => lang.t("referee-image-back"),
        _ => lang.t("referee-image-selfie"),
    };
    let person = ev.person.as_ref();
    let recorded = |name: &str| ev.checks.get(name) == Some(&serde_json::Value::Bool(true));
    RefereeCasePage {
        layout: browser.layout_for("referee-case-title"),
        case_id: case.id.clone(),
        status: status_words(lang, &case.status),
        when: when_words(ctx, lang, case),
        from_step: from_step_words(lang, &case.from_step),
        meeting_link: case.meeting_link.clone(),
        on_call: case.code_confirmed,
        person: person.map(|p| person_rows(lang, p)).unwrap_or_default(),
        document,
        passed,
        // `check:reason`: the reason stays the vendor's code.
        last_failure: ev.last_failure.as_deref().map(|f| match f.split_once(':') {
            Some((check, reason)) => format!("{}: {reason}", check_words(lang, check)),
            None => f.to_string(),
        }),
        attempts: ev
            .attempts
            .iter()
            .map(|a| {
                lang.t_args(
                    "referee-attempt",
                    &[
                        ("check", FluentValue::from(check_words(lang, &a.check))),
                        (
                            "outcome",
                            FluentValue::from(outcome_words(lang, &a.outcome)),
                        ),
                        ("vendor", FluentValue::from(a.vendor.clone())),
                    ],
                )
            })
            .collect(),
        flags: ev
            .flags
            .iter()
            .map(|f| flag_words(lang, &f.kind, &f.status))
            .collect(),
        images: ev
            .images
            .iter()
            .map(|i| {
                (
                    image_label(&i.kind),
                    format!("data:{};base64,{}", i.content_type, i.data),
                )
            })
            .collect(),
        // What the online steps never read, the agent reads from the ID on the call.
        needs_document: ev.document_type.is_none(),
        needs_ssn: !ev.ssn_read,
        rationale_max: ctx.settings.support.message_max_chars,
        // What was saved shows again, so a later save doesn't undo it.
        ticked: ["document_shown", "face_matches", "details_match"]
            .into_iter()
            .filter(|name| recorded(name))
            .collect(),
        notes: ev
            .checks
            .get("notes")
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_string(),
        form: form.decision,
        problems: form.problems,
        notice,
        error,
    }
}

/// The case page again (a fresh, audited read of the evidence), with a message or field
/// problems; 422 when something the agent typed was refused, 409 otherwise.
async fn case_again(
    ctx: &Ctx,
    change: &SensitiveChange,
    case_id: &str,
    form: CaseForm,
    error_key: &str,
) -> PageResult {
    let browser = &change.browser;
    match referee::evidence_as(ctx, &worker(change), case_id).await {
        Ok(ev) => {
            let status = if form.problems.is_empty() {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let error = (!error_key.is_empty()).then(|| browser.t(error_key));
            render_status(&case_page(ctx, browser, &ev, form, None, error), status)
        }
        Err(Problem::Conflict { field, .. }) => case_conflict(ctx, change, field.as_deref()).await,
        Err(p) => refused(browser, p),
    }
}

pub async fn case(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    id: web::Path<String>,
    q: web::Query<CaseQuery>,
) -> PageResult {
    let browser = &change.browser;
    match referee::evidence_as(&ctx, &worker(&change), &id).await {
        Ok(ev) => {
            let notice = (q.saved == "1").then(|| browser.t("referee-checks-saved"));
            render(&case_page(
                &ctx,
                browser,
                &ev,
                CaseForm::default(),
                notice,
                None,
            ))
        }
        Err(Problem::Conflict { field, .. }) => {
            case_conflict(&ctx, &change, field.as_deref()).await
        }
        Err(p) => refused(browser, p),
    }
}

#[derive(Deserialize)]
pub struct ChecksForm {
    #[serde(default)]
    continuation_code: String,
    #[serde(default)]
    document_shown: String,
    #[serde(default)]
    face_matches: String,
    #[serde(default)]
    details_match: String,
    #[serde(default)]
    notes: String,
}

pub async fn checks(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    id: web::Path<String>,
    form: CsrfForm<ChecksForm>,
) -> PageResult {
    let form = form.into_inner();
    let mut done = serde_json::Map::new();
    for (name, ticked) in [
        ("document_shown", &form.document_shown),
        ("face_matches", &form.face_matches),
        ("details_match", &form.details_match),
    ] {
        done.insert(name.into(), serde_json::json!(ticked == "yes"));
    }
    let notes = form.notes.trim();
    if !notes.is_empty() {
        done.insert("notes".into(), serde_json::json!(notes));
    }
    let code = Some(form.continuation_code.trim().to_string()).filter(|c| !c.is_empty());
    match referee::record_checks_as(&ctx, &worker(&change), &id, code, done).await {
        Ok(_) => Ok(see_other(&format!("/referee/cases/{id}?saved=1"))),
        Err(Problem::Invalid { field, .. }) => {
            let (field, key) = match field.as_deref() {
                Some("continuation_code") => ("continuation_code", "referee-code-wrong"),
                _ => ("notes", "referee-checks-too-long"),
            };
            let problems = vec![FieldProblem {
                field,
                message: change.browser.t(key),
            }];
            let form = CaseForm {
                problems,
                ..CaseForm::default()
            };
            case_again(&ctx, &change, &id, form, "").await
        }
        Err(Problem::Conflict { field: Some(f), .. }) if f == "continuation_code" => {
            case_again(&ctx, &change, &id, CaseForm::default(), "referee-code-used").await
        }
        Err(Problem::Conflict { field, .. }) => {
            case_conflict(&ctx, &change, field.as_deref()).await
        }
        Err(p) => refused(&change.browser, p),
    }
}

/// The decision form (the identity fields only matter when the online steps never read them).
#[derive(Deserialize, Default, Clone)]
pub struct DecisionForm {
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub rationale: String,
    #[serde(default)]
    pub document_type: String,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub middle_name: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default)]
    pub birthdate: String,
    #[serde(default)]
    pub document_number: String,
    #[serde(default)]
    pub document_expiry: String,
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub street1: String,
    #[serde(default)]
    pub street2: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub zip: String,
    /// Never shown again on the page.
    #[serde(default)]
    pub ssn: String,
}

fn identity_of(f: &DecisionForm) -> Option<IdentityFromCall> {
    let given = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let any_document = !(f.document_type.is_empty()
        && f.given_name.trim().is_empty()
        && f.family_name.trim().is_empty()
        && f.document_number.trim().is_empty());
    let any_address = !(f.street1.trim().is_empty() && f.city.trim().is_empty());
    if !any_document && f.ssn.trim().is_empty() {
        return None;
    }
    Some(IdentityFromCall {
        document_type: given(&f.document_type),
        given_name: given(&f.given_name),
        middle_name: given(&f.middle_name),
        family_name: given(&f.family_name),
        birthdate: given(&f.birthdate),
        document_number: given(&f.document_number),
        document_expiry: given(&f.document_expiry),
        issuer: given(&f.issuer),
        address: any_address.then(|| {
            let mut street = f.street1.trim().to_string();
            if !f.street2.trim().is_empty() {
                street.push('\n');
                street.push_str(f.street2.trim());
            }
            crate::proofing::document::Address {
                street_address: street,
                locality: f.city.trim().to_string(),
                region: f.state.trim().to_ascii_uppercase(),
                postal_code: f.zip.trim().to_string(),
                country: "US".into(),
            }
        }),
        ssn: given(&f.ssn),
    })
}

/// The form field a refusal of the decision is about, and its words.
fn decision_problem(field: Option<&str>) -> (&'static str, &'static str) {
    match field {
        Some("decision") => ("decision", "referee-decision-missing"),
        Some("rationale") => ("rationale", "referee-rationale-invalid"),
        Some("identity") | Some("document_type") => {
            ("document_type", "referee-identity-document-type")
        }
        Some("given_name") => ("given_name", "referee-identity-name"),
        Some("middle_name") => ("middle_name", "referee-identity-name"),
        Some("family_name") => ("family_name", "referee-identity-name"),
        Some("birthdate") => ("birthdate", "referee-identity-date"),
        Some("document_expiry") => ("document_expiry", "referee-identity-expiry"),
        Some("document_number") => ("document_number", "referee-identity-document-number"),
        Some("issuer") => ("issuer", "referee-identity-issuer"),
        Some("address") => ("street1", "referee-identity-address"),
        Some("ssn") => ("ssn", "referee-identity-ssn"),
        _ => ("rationale", "referee-rationale-invalid"),
    }
}

pub async fn decide(
    ctx: web::Data<Ctx>,
    change: SensitiveChange,
    id: web::Path<String>,
    form: CsrfForm<DecisionForm>,
) -> PageResult {
    let mut form = form.into_inner();
    let decision = Decision {
        decision: form.decision.clone(),
        rationale: form.rationale.clone(),
        identity: if form.decision == "verified" {
            identity_of(&form)
        } else {
            None
        },
    };
    // The SSN is never put back into a page.
    form.ssn.clear();
    match referee::decide_as(&ctx, &worker(&change), &id, decision).await {
        Ok(decided) => {
            let done = decided.case.decision.unwrap_or_default();
            Ok(see_other(&format!("/referee?done={done}")))
        }
        Err(Problem::Invalid { field, .. }) => {
            let (field, key) = decision_problem(field.as_deref());
            let problems = vec![FieldProblem {
                field,
                message: change.browser.t(key),
            }];
            case_again(
                &ctx,
                &change,
                &id,
                CaseForm {
                    decision: form,
                    problems,
                },
                "",
            )
            .await
        }
        Err(Problem::Conflict { field: Some(f), .. }) if f == "continuation_code" => {
            let form = CaseForm {
                decision: form,
                problems: Vec::new(),
            };
            case_again(&ctx, &change, &id, form, "referee-code-first").await
        }
        Err(Problem::Conflict { field, .. }) => {
            case_conflict(&ctx, &change, field.as_deref()).await
        }
        Err(p) => refused(&change.browser, p),
    }
}
