//! The `/verify` flow, one function per step: start (consent) → document → selfie → SSN →
//! check your information (records and state ID checks) → phone (check, then a code) → done.
//!
//! The state is the verification record in the database (`records`). Each step loads the
//! person's unfinished verification, refuses unless it is on that step, and writes its result
//! only if nobody moved the record meanwhile (`records::save_if_unchanged`), so a double submit
//! advances once. Vendor calls are reserved first (`records::reserve_attempt`, under the
//! person's lock), so `proofing.max_attempts` holds for concurrent requests on every node; a
//! vendor that gives no answer gives the attempt back.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use crate::audit::{self, Actor, Kind};
use crate::crypto::MasterKey;
use crate::mfa::challenge::{self, CodeOutcome, PhoneTarget, SendOutcome};
use crate::mfa::methods::PhoneChannel;
use crate::mfa::phone;
use crate::notify::notices::{self, Notice, Texts};
use crate::proofing::document::{Address, DocumentFields, DocumentType};
use crate::proofing::records::{
    self, AttemptOutcome, CheckKind, FlagKind, ImageKind, Pii, Refusal, Status, Step, Verification,
};
use crate::proofing::vendors::{
    Checked, DocumentRequest, IdentityClaim, PhoneRequest, RecordsRequest, SelfieRequest,
    StateIdRequest, Upload, VendorFailure,
};
use crate::proofing::{aamva, images, mrz};
use crate::ssf::signals;
use crate::Ctx;

/// The OTP purpose of the phone step (its own challenge, apart from sign-in's).
const OTP_PURPOSE: &str = "proofing";
/// A mock fixture is a few lines of JSON or YAML, never a photo.
const FIXTURE_MAX_BYTES: usize = 16 * 1024;
/// A vendor call that never came back stops blocking a retry after this long.
const RUNNING_AT_MOST_SECS: i64 = 300;

/// Who is acting: the signed-in person, freshly stepped up (the web layer only calls these
/// with a `SteppedUp` session).
pub struct Person<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub actor: &'a Actor,
}

/// Why a step did not run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// No verification under way: back to the start page.
    NotStarted,
    /// The verification is on another step (a stale page, a double submit).
    OnStep(Step),
    /// `proofing.max_attempts` of this check used; retry after this time.
    OutOfAttempts { retry_at: NaiveDateTime },
    /// The vendor gave no answer (nothing was charged): try again later.
    TryLater,
    /// The same check is running right now (a double submit).
    Busy,
}

// ---- where the person stands -------------------------------------------------------------

/// What `/verify` and the console show.
#[derive(Debug, Clone)]
pub enum Standing {
    /// Never verified, nothing under way.
    None,
    InProgress {
        step: Step,
    },
    Verified {
        at: NaiveDateTime,
    },
    /// Finished, waiting for an operator (a duplicate SSN or document).
    Held,
    /// An agent suspected fraud on the video call: nothing more until an operator decides.
    UnderReview,
    /// An account reset asked for verification again.
    Redo,
    /// A password reset suspended it: the personal key restores it, or the person verifies
    /// again.
    Suspended,
}

pub async fn standing(ctx: &Ctx, user_id: &str) -> anyhow::Result<Standing> {
    let (uid, now) = (user_id.to_string(), ctx.clock.now());
    ctx.db
        .run(move |c| {
            if let Some(v) = records::unfinished_for(c, &uid, now)? {
                return Ok(Standing::InProgress {
                    step: v.step().unwrap_or(Step::Document),
                });
            }
            if records::held_for_fraud(c, &uid)? {
                return Ok(Standing::UnderReview);
            }
            if records::latest_for(c, &uid)?.and_then(|v| v.status()) == Some(Status::Held) {
                return Ok(Standing::Held);
            }
            // The same verification `records::counting_verification` would pick.
            let Some(v) = records::newest_verified(c, &uid)? else {
                return Ok(Standing::None);
            };
            let reverify: Option<NaiveDateTime> = {
                use diesel::prelude::*;
                crate::storage::schema::users::table
                    .find(&uid)
                    .select(crate::storage::schema::users::identity_reverify_at)
                    .first::<Option<NaiveDateTime>>(c)
                    .optional()?
                    .flatten()
            };
            let suspended = crate::proofing::vault::vault_of(c, &v.id)?
                .is_some_and(|row| row.suspended_at.is_some());
            Ok(match v.verified_at {
                Some(at) if reverify.is_none_or(|r| r < at) && suspended => Standing::Suspended,
                Some(at) if reverify.is_none_or(|r| r < at) => Standing::Verified { at },
                _ => Standing::Redo,
            })
        })
        .await
}

// ---- start ---------------------------------------------------------------------------------

/// The start page's "I agree, continue": records consent (time and text version) and opens a
/// verification, or returns the one already under way. `origin_client_id`: the relying party
/// whose IAL2 request led here.
pub async fn start(
    ctx: &Ctx,
    who: &Person<'_>,
    origin_client_id: Option<String>,
) -> anyhow::Result<Step> {
    let settings = &ctx.settings.proofing;
    let (uid, now) = (who.user_id.to_string(), ctx.clock.now());
    let version = settings.consent_version.clone();
    let ttl = chrono::Duration::days(settings.unfinished_ttl_days as i64);
    let actor = who.actor.clone();
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| -> anyhow::Result<Step> {
                // An agent's fraud suspicion waits for an operator: no new start meanwhile (the
                // done page then says it is being reviewed). Checked under the person's lock, which
                // an agent's decision takes too.
                records::lock_person(c, &uid)?;
                if records::held_for_fraud(c, &uid)? {
                    return Ok(Step::Done);
                }
                let v = records::start(c, &uid, origin_client_id.as_deref(), &version, now, ttl)?;
                if v.created_at == now && v.version == 0 {
                    audit::record(
                        c,
                        now,
                        audit::Event {
                            kind: Kind::IdentityVerificationStarted,
                            user_id: Some(&uid),
                            client_id: v.origin_client_id.as_deref(),
                            detail: json!({ "verification": v.id, "consent_version": version }),
                            actor: Some(&actor),
                        },
                    )?;
                }
                Ok(v.step().unwrap_or(Step::Document))
            })
        })
        .await
}

/// "Start over": the unfinished verification is abandoned (its images and data dropped).
pub async fn cancel(ctx: &Ctx, who: &Person<'_>) -> anyhow::Result<()> {
    let (uid, now) = (who.user_id.to_string(), ctx.clock.now());
    ctx.db
        .run(move |c| {
            // All of it or nothing, under the person's lock: a case can't be cancelled while
            // its verification stays waiting for it.
            crate::storage::db::write_tx(c, |c| -> anyhow::Result<()> {
                records::lock_person(c, &uid)?;
                if let Some(mut v) = records::unfinished_for(c, &uid, now)? {
                    v.status = Status::Abandoned.as_str().into();
                    v.pii = None;
                    records::retire_images(c, &v.id, 0, now)?;
                    records::cancel_letters(c, std::slice::from_ref(&v.id))?;
                    crate::proofing::referee::cancel_cases(c, std::slice::from_ref(&v.id))?;
                    if !records::save_if_unchanged(c, &v, now)? {
                        anyhow::bail!("the verification moved under the person's lock");
                    }
                }
                Ok(())
            })
        })
        .await
}

/// The unfinished verification on `step` with its personal data, or why not.
struct OnStep {
    v: Verification,
    key: Arc<MasterKey>,
    pii: Pii,
}

async fn on_step(ctx: &Ctx, user_id: &str, step: Step) -> anyhow::Result<Result<OnStep, Blocked>> {
    on_any_step(ctx, user_id, &[step]).await
}

/// [`on_step`] for a submission several steps accept.
async fn on_any_step(
    ctx: &Ctx,
    user_id: &str,
    steps: &[Step],
) -> anyhow::Result<Result<OnStep, Blocked>> {
    let (uid, now) = (user_id.to_string(), ctx.clock.now());
    let steps = steps.to_vec();
    let master = ctx.master.clone();
    ctx.db
        .run(move |c| {
            let Some(v) = records::unfinished_for(c, &uid, now)? else {
                return Ok(Err(Blocked::NotStarted));
            };
            let current = v.step().unwrap_or(Step::Document);
            if !steps.contains(&current) {
                return Ok(Err(Blocked::OnStep(current)));
            }
            let key = records::data_key_or_create(c, &master, &uid, now)?;
            let pii = records::open_pii(&key, &v)?;
            Ok(Ok(OnStep {
                v,
                key: Arc::new(key),
                pii,
            }))
        })
        .await
}

/// Writes the step's result if the record is still as it was read. False: another request
/// moved it first.
async fn advance(
    ctx: &Ctx,
    mut v: Verification,
    key: &MasterKey,
    pii: &Pii,
    next: Step,
) -> anyhow::Result<bool> {
    v.pii = Some(records::seal_pii(key, &v.id, pii)?);
    v.step = next.as_str().into();
    v.last_failure = None;
    let now = ctx.clock.now();
    ctx.db
        .run(move |c| records::save_if_unchanged(c, &v, now))
        .await
}

fn add_check(v: &mut Verification, check: &str, vendor: &str) {
    let mut checks = v.passed_checks();
    checks.insert(check.into(), json!(vendor));
    v.checks = serde_json::Value::Object(checks).to_string();
}

// ---- vendor attempts -----------------------------------------------------------------------

/// A vendor's answer: its attempt stays open until the step has judged the whole answer, and
/// [`conclude`] closes it, once, with its outcome and sealed transcript.
struct Answered {
    attempt_id: String,
    transcript: serde_json::Value,
}

/// Runs one vendor check: reserve a charged attempt, call. A [`VendorFailure`] is closed at
/// once and given back (not charged); an answer comes back with its [`Answered`] handle.
async fn attempt<T, F>(
    ctx: &Ctx,
    who: &Person<'_>,
    on: &OnStep,
    check: CheckKind,
    vendor: &'static str,
    identity_hash: Option<String>,
    call: F,
) -> anyhow::Result<Result<(T, Answered), Blocked>>
where
    F: std::future::Future<Output = Checked<T>>,
    T: Send + 'static,
{
    let p = &ctx.settings.proofing;
    let (vid, uid, ip) = (
        on.v.id.clone(),
        who.user_id.to_string(),
        who.actor.limit_key(),
    );
    let (max, window) = (
        p.max_attempts,
        chrono::Duration::hours(p.attempt_window_hours as i64),
    );
    let now = ctx.clock.now();
    let hash = identity_hash.clone();
    let reserved = ctx
        .db
        .run(move |c| {
            records::reserve_attempt(
                c,
                &vid,
                &uid,
                Some(&ip),
                check,
                vendor,
                hash.as_deref(),
                max,
                window,
                chrono::Duration::seconds(RUNNING_AT_MOST_SECS),
                now,
            )
        })
        .await?;
    let attempt_id = match reserved {
        Ok(id) => id,
        Err(Refusal::OutOfAttempts { retry_at }) => {
            return Ok(Err(Blocked::OutOfAttempts { retry_at }))
        }
        Err(Refusal::AlreadyRunning) => return Ok(Err(Blocked::Busy)),
    };
    if identity_hash.is_some() {
        many_identities_signal(ctx, who, &on.v).await?;
    }
    let (reason, transcript) = match call.await {
        Ok(a) => {
            let answered = Answered {
                attempt_id,
                transcript: a.transcript,
            };
            return Ok(Ok((a.result, answered)));
        }
        Err(VendorFailure { reason, transcript }) => (reason, transcript),
    };
    tracing::warn!(check = check.as_str(), vendor, reason = %reason, "proofing vendor gave no answer");
    let (key, now) = (on.key.clone(), ctx.clock.now());
    let (uid, vid, actor) = (who.user_id.to_string(), on.v.id.clone(), who.actor.clone());
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                records::finish_attempt(
                    c,
                    &key,
                    &attempt_id,
                    AttemptOutcome::Unavailable,
                    &transcript,
                    now,
                )?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::IdentityVendorUnavailable,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: json!({ "verification": vid, "check": check.as_str(), "vendor": vendor, "reason": reason }),
                        actor: Some(&actor),
                    },
                )
            })
        })
        .await?;
    Ok(Err(Blocked::TryLater))
}

/// How a step's check ended.
enum Verdict<'a> {
    /// Passed, by this vendor.
    Passed(&'a str),
    /// Refused, for this reason.
    Refused(&'a str),
    /// Neither (a state that doesn't take part in the state ID check): the attempt is closed,
    /// nothing is audited, and the step's other checks stand.
    Inconclusive,
}

/// How a check ended, written once and in one transaction: the vendor attempt (when there was
/// one) closed with its outcome and sealed transcript, a refusal's reason kept on the record
/// for operators, and the audit event.
async fn conclude(
    ctx: &Ctx,
    who: &Person<'_>,
    on: &OnStep,
    answered: Option<Answered>,
    check: &str,
    verdict: Verdict<'_>,
) -> anyhow::Result<()> {
    let (key, vid, uid, actor, now) = (
        on.key.clone(),
        on.v.id.clone(),
        who.user_id.to_string(),
        who.actor.clone(),
        ctx.clock.now(),
    );
    let (outcome, failure, event) = match verdict {
        Verdict::Passed(vendor) => (
            AttemptOutcome::Passed,
            None,
            Some((
                Kind::IdentityCheckPassed,
                json!({ "verification": vid, "check": check, "vendor": vendor }),
            )),
        ),
        Verdict::Refused(reason) => (
            AttemptOutcome::Failed,
            Some(format!("{check}:{reason}")),
            Some((
                Kind::IdentityCheckFailed,
                json!({ "verification": vid, "check": check, "reason": reason }),
            )),
        ),
        Verdict::Inconclusive => (AttemptOutcome::Failed, None, None),
    };
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                if let Some(a) = &answered {
                    records::finish_attempt(c, &key, &a.attempt_id, outcome, &a.transcript, now)?;
                }
                if let Some(failure) = &failure {
                    records::note_failure(c, &vid, failure, now)?;
                }
                if let Some((kind, detail)) = event {
                    audit::record(
                        c,
                        now,
                        audit::Event {
                            kind,
                            user_id: Some(&uid),
                            client_id: None,
                            detail,
                            actor: Some(&actor),
                        },
                    )?;
                }
                Ok(())
            })
        })
        .await
}

/// Many different identities tried from one account or one IP: a signal for operators.
async fn many_identities_signal(
    ctx: &Ctx,
    who: &Person<'_>,
    v: &Verification,
) -> anyhow::Result<()> {
    let p = &ctx.settings.proofing;
    let since = ctx.clock.now() - chrono::Duration::hours(p.attempt_window_hours as i64);
    let limit = p.identities_per_window as usize;
    let (uid, ip, vid, now) = (
        who.user_id.to_string(),
        who.actor.limit_key(),
        v.id.clone(),
        ctx.clock.now(),
    );
    ctx.db
        .run(move |c| {
            let (by_user, by_ip) = records::identities_tried(c, &uid, Some(&ip), since)?;
            if by_user > limit || by_ip > limit {
                raise(
                    c,
                    &vid,
                    &uid,
                    FlagKind::ManyIdentities,
                    json!({ "from_account": by_user, "from_ip": by_ip }),
                    now,
                )?;
            }
            Ok(())
        })
        .await
}

fn raise(
    c: &mut crate::storage::db::DbConn,
    verification_id: &str,
    user_id: &str,
    kind: FlagKind,
    detail: serde_json::Value,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    if records::raise_flag(c, verification_id, user_id, kind, detail.clone(), now)? {
        audit::record(
            c,
            now,
            audit::Event {
                kind: Kind::ProofingFlagRaised,
                user_id: Some(user_id),
                client_id: None,
                detail: json!({ "verification": verification_id, "flag": kind.as_str(), "detail": detail }),
                actor: None,
            },
        )?;
    }
    Ok(())
}

// ---- document --------------------------------------------------------------------------------

/// What the document page sends: the document type and the raw files.
pub struct DocumentUpload {
    pub document_type: DocumentType,
    pub front: Vec<u8>,
    pub back: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Front,
    Back,
}

/// Why a document was refused, each with plain advice on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentProblem {
    /// The file itself (too big, not a photo, unreadable…).
    Image(Side, images::ImageError),
    /// A licence or ID needs its back.
    BackMissing,
    /// No barcode could be read from the back.
    BarcodeUnreadable,
    /// The barcode was read but does not hold valid licence data.
    BarcodeInvalid,
    /// The passport's machine-readable zone is missing or its check digits are wrong.
    MrzInvalid,
    /// The sides disagree (fields named).
    Mismatch(Vec<&'static str>),
    Expired,
    /// The vendor judged it not genuine.
    NotAuthentic,
    /// The document says it is another type than the one chosen.
    WrongType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentOutcome {
    Passed,
    Refused(DocumentProblem),
    Blocked(Blocked),
}

fn image_limits(ctx: &Ctx) -> images::ImageLimits {
    let p = &ctx.settings.proofing;
    images::ImageLimits {
        max_bytes: p.image_max_bytes,
        max_width: p.image_max_pixels_side,
        max_height: p.image_max_pixels_side,
        min_width: p.image_min_pixels_side,
        min_height: p.image_min_pixels_side,
    }
}

/// A photo made safe (decoded within limits, re-encoded without metadata), or a mock fixture
/// when the check is the mock and the file is short text.
async fn clean_upload(
    ctx: &Ctx,
    bytes: Vec<u8>,
    fixtures_allowed: bool,
) -> anyhow::Result<Result<(Upload, Option<image::DynamicImage>), images::ImageError>> {
    if fixtures_allowed && bytes.len() <= FIXTURE_MAX_BYTES && images::is_probably_text(&bytes) {
        return Ok(Ok((
            Upload {
                bytes,
                content_type: "text/plain".into(),
            },
            None,
        )));
    }
    let limits = image_limits(ctx);
    let _permit = image_permit().await?;
    let cleaned = tokio::task::spawn_blocking(move || images::sanitize(&bytes, &limits)).await?;
    Ok(cleaned.map(|clean| {
        (
            Upload {
                bytes: clean.bytes,
                content_type: clean.content_type.to_string(),
            },
            Some(clean.image),
        )
    }))
}

/// Decoding photos and searching them for a barcode is the heaviest work Verity does: one
/// at a time per core, so a burst of uploads queues instead of starving sign-ins.
async fn image_permit() -> anyhow::Result<tokio::sync::SemaphorePermit<'static>> {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        )
    });
    Ok(permits.acquire().await?)
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// The fields both readings must agree on.
fn disagreements(a: &DocumentFields, b: &DocumentFields) -> Vec<&'static str> {
    let mut out = Vec::new();
    // First names: compare the first word (one side may carry the middle name).
    let first = |s: &str| norm(s.split_whitespace().next().unwrap_or(""));
    if first(&a.given_name) != first(&b.given_name) {
        out.push("given_name");
    }
    if norm(&a.family_name) != norm(&b.family_name) {
        out.push("family_name");
    }
    if a.birthdate != b.birthdate {
        out.push("birthdate");
    }
    if norm(&a.document_number) != norm(&b.document_number) {
        out.push("document_number");
    }
    if a.expiry != b.expiry {
        out.push("expiry");
    }
    out
}

pub async fn submit_document(
    ctx: &Ctx,
    who: &Person<'_>,
    upload: DocumentUpload,
) -> anyhow::Result<DocumentOutcome> {
    let on = match on_step(ctx, who.user_id, Step::Document).await? {
        Ok(on) => on,
        Err(b) => return Ok(DocumentOutcome::Blocked(b)),
    };
    let vendor = ctx.vendors.document.clone();
    let fixtures = vendor.vendor() == "mock";
    let document_type = upload.document_type;
    let (front, _) = match clean_upload(ctx, upload.front, fixtures).await? {
        Ok(u) => u,
        Err(e) => {
            return Ok(DocumentOutcome::Refused(DocumentProblem::Image(
                Side::Front,
                e,
            )))
        }
    };
    // The back is read by Verity itself: its barcode, decoded here, never by the vendor alone.
    let mut back: Option<Upload> = None;
    let mut barcode: Option<Result<DocumentFields, DocumentProblem>> = None;
    if document_type.has_back() {
        let Some(raw_back) = upload.back.filter(|b| !b.is_empty()) else {
            return Ok(DocumentOutcome::Refused(DocumentProblem::BackMissing));
        };
        let (cleaned, pixels) = match clean_upload(ctx, raw_back, fixtures).await? {
            Ok(u) => u,
            Err(e) => {
                return Ok(DocumentOutcome::Refused(DocumentProblem::Image(
                    Side::Back,
                    e,
                )))
            }
        };
        if let Some(pixels) = pixels {
            let _permit = image_permit().await?;
            let text = tokio::task::spawn_blocking(move || images::read_pdf417(&pixels)).await?;
            barcode = Some(match text {
                None => Err(DocumentProblem::BarcodeUnreadable),
                Some(t) => aamva::parse(&t)
                    .map(|a| a.fields)
                    .map_err(|_| DocumentProblem::BarcodeInvalid),
            });
        }
        back = Some(cleaned);
    }
    let request = DocumentRequest {
        reference: on.v.id.clone(),
        document_type,
        front: front.clone(),
        back,
    };
    let vendor_name = vendor.vendor();
    let call = async move { vendor.check_document(&request).await };
    let (result, answered) =
        match attempt(ctx, who, &on, CheckKind::Document, vendor_name, None, call).await? {
            Ok(r) => r,
            Err(b) => return Ok(DocumentOutcome::Blocked(b)),
        };
    // A mock fixture stands in for the photographed barcode with its own text.
    if barcode.is_none() && document_type.has_back() {
        barcode = Some(match result.barcode_text.as_deref() {
            None => Err(DocumentProblem::BarcodeUnreadable),
            Some(t) => aamva::parse(t)
                .map(|a| a.fields)
                .map_err(|_| DocumentProblem::BarcodeInvalid),
        });
    }
    let today = ctx.clock.now().date();
    let problem = |p: DocumentProblem| Ok(DocumentOutcome::Refused(p));
    if !result.authentic {
        conclude(
            ctx,
            who,
            &on,
            Some(answered),
            "document",
            Verdict::Refused("not_authentic"),
        )
        .await?;
        return problem(DocumentProblem::NotAuthentic);
    }
    // The reading everything is checked against: the barcode (licence, ID) or the MRZ
    // (passport), whichever side supplied its text.
    let reference: DocumentFields = if document_type.has_back() {
        match barcode.unwrap_or(Err(DocumentProblem::BarcodeUnreadable)) {
            Ok(f) => f,
            Err(p) => {
                conclude(
                    ctx,
                    who,
                    &on,
                    Some(answered),
                    "barcode",
                    Verdict::Refused(&format!("{p:?}")),
                )
                .await?;
                return problem(p);
            }
        }
    } else {
        let mrz_text = result.mrz.clone().unwrap_or_default();
        match mrz::find_td3(&mrz_text, today) {
            Some(td3) => td3.fields,
            None => {
                conclude(
                    ctx,
                    who,
                    &on,
                    Some(answered),
                    "mrz",
                    Verdict::Refused("invalid"),
                )
                .await?;
                return problem(DocumentProblem::MrzInvalid);
            }
        }
    };
    let type_matches = match document_type {
        DocumentType::Passport => reference.document_type == DocumentType::Passport,
        _ => reference.document_type != DocumentType::Passport,
    };
    if !type_matches {
        conclude(
            ctx,
            who,
            &on,
            Some(answered),
            "document",
            Verdict::Refused("wrong_type"),
        )
        .await?;
        return problem(DocumentProblem::WrongType);
    }
    if let Some(ocr) = &result.fields {
        let differ = disagreements(&reference, ocr);
        if !differ.is_empty() {
            conclude(
                ctx,
                who,
                &on,
                Some(answered),
                "document",
                Verdict::Refused(&format!("mismatch:{}", differ.join(","))),
            )
            .await?;
            return problem(DocumentProblem::Mismatch(differ));
        }
    }
    if reference.expiry < today {
        conclude(
            ctx,
            who,
            &on,
            Some(answered),
            "document",
            Verdict::Refused("expired"),
        )
        .await?;
        return problem(DocumentProblem::Expired);
    }
    let attempt_id = answered.attempt_id.clone();
    let passed = Verdict::Passed(vendor_name);
    conclude(ctx, who, &on, Some(answered), "document", passed).await?;
    let mut v = on.v.clone();
    let mut pii = on.pii.clone();
    let doc_hash = records::document_number_hash(&ctx.master, &reference);
    v.document_type = Some(reference.document_type.ida_name().into());
    v.document_issuer = Some(reference.issuer.clone());
    v.document_expiry = Some(reference.expiry.format("%Y-%m-%d").to_string());
    v.document_number_hash = Some(doc_hash.clone());
    add_check(&mut v, "document", vendor_name);
    add_check(
        &mut v,
        if document_type.has_back() {
            "barcode"
        } else {
            "mrz"
        },
        "verity",
    );
    pii.address = reference.address.clone();
    pii.document = Some(reference);
    // The portrait side is kept (sealed) for the selfie's face match; the back is not kept.
    let (key, vid, now) = (on.key.clone(), v.id.clone(), ctx.clock.now());
    let front_bytes = front.bytes.clone();
    let content_type = front.content_type.clone();
    ctx.db
        .run(move |c| {
            records::store_image(
                c,
                &key,
                &vid,
                ImageKind::Front,
                &content_type,
                &front_bytes,
                now,
            )
        })
        .await?;
    // The document number tried counts towards "many identities".
    let (aid, hash) = (attempt_id.clone(), doc_hash);
    ctx.db
        .run(move |c| {
            use diesel::prelude::*;
            diesel::update(crate::storage::schema::proofing_attempts::table.find(&aid))
                .set(crate::storage::schema::proofing_attempts::identity_hash.eq(hash))
                .execute(c)?;
            Ok(())
        })
        .await?;
    many_identities_signal(ctx, who, &v).await?;
    if !advance(ctx, v.clone(), &on.key, &pii, Step::Selfie).await? {
        return Ok(DocumentOutcome::Blocked(Blocked::Busy));
    }
    Ok(DocumentOutcome::Passed)
}

// ---- selfie ----------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfieProblem {
    Image(images::ImageError),
    /// The face does not match the document's portrait.
    NoMatch,
    /// Not a live person (a photo of a photo, a screen).
    NotLive,
    /// The document photo is gone (retention ran out): the document step again.
    DocumentAgain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfieOutcome {
    Passed,
    Refused(SelfieProblem),
    Blocked(Blocked),
}

pub async fn submit_selfie(
    ctx: &Ctx,
    who: &Person<'_>,
    selfie: Vec<u8>,
) -> anyhow::Result<SelfieOutcome> {
    let on = match on_step(ctx, who.user_id, Step::Selfie).await? {
        Ok(on) => on,
        Err(b) => return Ok(SelfieOutcome::Blocked(b)),
    };
    let vendor = ctx.vendors.selfie.clone();
    let (selfie, _) = match clean_upload(ctx, selfie, vendor.vendor() == "mock").await? {
        Ok(u) => u,
        Err(e) => return Ok(SelfieOutcome::Refused(SelfieProblem::Image(e))),
    };
    let (key, vid) = (on.key.clone(), on.v.id.clone());
    let portrait = ctx
        .db
        .run(move |c| records::load_image(c, &key, &vid, ImageKind::Front))
        .await?;
    let Some((content_type, bytes)) = portrait else {
        // Back to the document step: the portrait must be photographed again.
        let mut v = on.v.clone();
        v.step = Step::Document.as_str().into();
        let now = ctx.clock.now();
        ctx.db
            .run(move |c| records::save_if_unchanged(c, &v, now))
            .await?;
        return Ok(SelfieOutcome::Refused(SelfieProblem::DocumentAgain));
    };
    let request = SelfieRequest {
        reference: on.v.id.clone(),
        portrait: Upload {
            bytes: bytes.to_vec(),
            content_type,
        },
        selfie,
    };
    let vendor_name = vendor.vendor();
    let call = async move { vendor.check_selfie(&request).await };
    let (result, answered) =
        match attempt(ctx, who, &on, CheckKind::Selfie, vendor_name, None, call).await? {
            Ok(r) => r,
            Err(b) => return Ok(SelfieOutcome::Blocked(b)),
        };
    if !result.liveness {
        conclude(
            ctx,
            who,
            &on,
            Some(answered),
            "selfie",
            Verdict::Refused("not_live"),
        )
        .await?;
        return Ok(SelfieOutcome::Refused(SelfieProblem::NotLive));
    }
    if !result.face_match {
        conclude(
            ctx,
            who,
            &on,
            Some(answered),
            "selfie",
            Verdict::Refused("no_match"),
        )
        .await?;
        return Ok(SelfieOutcome::Refused(SelfieProblem::NoMatch));
    }
    let passed = Verdict::Passed(vendor_name);
    conclude(ctx, who, &on, Some(answered), "selfie", passed).await?;
    let mut v = on.v.clone();
    add_check(&mut v, "selfie", vendor_name);
    // Both photos have done their job.
    let (vid, days, now) = (
        v.id.clone(),
        ctx.settings.proofing.image_retention_days,
        ctx.clock.now(),
    );
    ctx.db
        .run(move |c| records::retire_images(c, &vid, days, now))
        .await?;
    if !advance(ctx, v.clone(), &on.key, &on.pii, Step::Ssn).await? {
        return Ok(SelfieOutcome::Blocked(Blocked::Busy));
    }
    Ok(SelfieOutcome::Passed)
}

// ---- SSN ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsnProblem {
    /// Not nine digits.
    Format,
    /// A number the SSA never issues (area 000, 666 or 900–999, group 00, serial 0000).
    Impossible,
}

/// Nine digits (dashes and spaces allowed in between), and a number that can exist. With the
/// mock records check, the test range starting 900 is accepted, as Login.gov's sandbox does.
pub fn parse_ssn(raw: &str, allow_test_range: bool) -> Result<String, SsnProblem> {
    let digits: String = raw.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if digits.len() != 9 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(SsnProblem::Format);
    }
    let (area, group, serial) = (&digits[0..3], &digits[3..5], &digits[5..9]);
    let test_range = allow_test_range && area == "900";
    if (area == "000" || area == "666" || area.starts_with('9')) && !test_range {
        return Err(SsnProblem::Impossible);
    }
    if group == "00" || serial == "0000" {
        return Err(SsnProblem::Impossible);
    }
    Ok(digits)
}

/// `•••-••-6789`.
pub fn mask_ssn(ssn: &str) -> String {
    let last: String = ssn.chars().skip(5).collect();
    format!("•••-••-{last}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsnOutcome {
    Saved,
    Refused(SsnProblem),
    Blocked(Blocked),
}

pub async fn submit_ssn(ctx: &Ctx, who: &Person<'_>, raw: &str) -> anyhow::Result<SsnOutcome> {
    let on = match on_step(ctx, who.user_id, Step::Ssn).await? {
        Ok(on) => on,
        Err(b) => return Ok(SsnOutcome::Blocked(b)),
    };
    let allow_test = ctx.vendors.records.vendor() == "mock";
    let ssn = match parse_ssn(raw, allow_test) {
        Ok(s) => s,
        Err(p) => return Ok(SsnOutcome::Refused(p)),
    };
    let mut v = on.v.clone();
    let mut pii = on.pii.clone();
    v.ssn_hash = Some(records::ssn_hash(&ctx.master, &ssn));
    pii.ssn = Some(ssn);
    if !advance(ctx, v, &on.key, &pii, Step::Review).await? {
        return Ok(SsnOutcome::Blocked(Blocked::Busy));
    }
    Ok(SsnOutcome::Saved)
}

// ---- check your information ----------------------------------------------------------------

/// What the review page shows.
#[derive(Debug, Clone)]
pub struct ReviewView {
    pub given_name: String,
    pub middle_name: Option<String>,
    pub family_name: String,
    pub birthdate: NaiveDate,
    pub address: Address,
    pub ssn_masked: String,
    pub document_type: DocumentType,
}

pub async fn review(ctx: &Ctx, user_id: &str) -> anyhow::Result<Result<ReviewView, Blocked>> {
    let on = match on_step(ctx, user_id, Step::Review).await? {
        Ok(on) => on,
        Err(b) => return Ok(Err(b)),
    };
    let Some(doc) = on.pii.document.clone() else {
        return Ok(Err(Blocked::OnStep(Step::Document)));
    };
    Ok(Ok(ReviewView {
        given_name: doc.given_name.clone(),
        middle_name: doc.middle_name.clone(),
        family_name: doc.family_name.clone(),
        birthdate: doc.birthdate,
        address: on.pii.address.clone().unwrap_or_default(),
        ssn_masked: on.pii.ssn.as_deref().map(mask_ssn).unwrap_or_default(),
        document_type: doc.document_type,
    }))
}

/// The two-letter codes of US states, DC and territories a residence can be in.
pub const US_REGIONS: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI", "AA", "AE", "AP",
];

/// The residence form as typed.
#[derive(Debug, Clone, Default)]
pub struct AddressForm {
    pub street1: String,
    pub street2: String,
    pub city: String,
    pub state: String,
    pub zip: String,
}

/// Each field with a problem, in form order.
pub type AddressProblems = Vec<&'static str>;

pub fn parse_address(form: &AddressForm) -> Result<Address, AddressProblems> {
    let clean = |s: &str, max: usize| -> Option<String> {
        let t = s.trim();
        (!t.is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control))
            .then(|| t.to_string())
    };
    let mut problems = Vec::new();
    let street1 = clean(&form.street1, 120);
    if street1.is_none() {
        problems.push("street1");
    }
    let street2 = form.street2.trim();
    if street2.chars().count() > 120 || street2.chars().any(char::is_control) {
        problems.push("street2");
    }
    let city = clean(&form.city, 80);
    if city.is_none() {
        problems.push("city");
    }
    let state = form.state.trim().to_ascii_uppercase();
    if !US_REGIONS.contains(&state.as_str()) {
        problems.push("state");
    }
    let zip_digits: String = form.zip.chars().filter(|c| c.is_ascii_digit()).collect();
    let zip_ok = form
        .zip
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
        && (zip_digits.len() == 5 || zip_digits.len() == 9);
    if !zip_ok {
        problems.push("zip");
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut street = street1.unwrap_or_default();
    if !street2.is_empty() {
        street.push('\n');
        street.push_str(street2);
    }
    Ok(Address {
        street_address: street,
        locality: city.unwrap_or_default(),
        region: state,
        postal_code: if zip_digits.len() == 9 {
            format!("{}-{}", &zip_digits[..5], &zip_digits[5..])
        } else {
            zip_digits
        },
        country: "US".into(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressOutcome {
    Saved,
    Refused(AddressProblems),
    Blocked(Blocked),
}

/// "My address is different": the residence replaces the document's address.
pub async fn update_address(
    ctx: &Ctx,
    who: &Person<'_>,
    form: &AddressForm,
) -> anyhow::Result<AddressOutcome> {
    let on = match on_step(ctx, who.user_id, Step::Review).await? {
        Ok(on) => on,
        Err(b) => return Ok(AddressOutcome::Blocked(b)),
    };
    let address = match parse_address(form) {
        Ok(a) => a,
        Err(p) => return Ok(AddressOutcome::Refused(p)),
    };
    let mut pii = on.pii.clone();
    pii.address = Some(address);
    if !advance(ctx, on.v.clone(), &on.key, &pii, Step::Review).await? {
        return Ok(AddressOutcome::Blocked(Blocked::Busy));
    }
    Ok(AddressOutcome::Saved)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyInfoOutcome {
    Passed,
    /// The records check could not confirm this identity.
    RecordsFailed,
    /// The issuing state's record disagrees with the document.
    StateIdFailed,
    /// No address to check (a passport): the person must enter their residence first.
    AddressNeeded,
    Blocked(Blocked),
}

fn identity_of(pii: &Pii) -> Option<IdentityClaim> {
    let doc = pii.document.as_ref()?;
    Some(IdentityClaim {
        given_name: doc.given_name.clone(),
        middle_name: doc.middle_name.clone(),
        family_name: doc.family_name.clone(),
        birthdate: doc.birthdate,
        address: pii.address.clone()?,
        ssn: pii.ssn.clone()?,
    })
}

/// "Verify": the records check, then (licences and state IDs) the state ID check.
pub async fn verify_info(ctx: &Ctx, who: &Person<'_>) -> anyhow::Result<VerifyInfoOutcome> {
    let on = match on_step(ctx, who.user_id, Step::Review).await? {
        Ok(on) => on,
        Err(b) => return Ok(VerifyInfoOutcome::Blocked(b)),
    };
    let Some(identity) = identity_of(&on.pii) else {
        return Ok(VerifyInfoOutcome::AddressNeeded);
    };
    let records_vendor = ctx.vendors.records.clone();
    let records_name = records_vendor.vendor();
    let request = RecordsRequest {
        reference: on.v.id.clone(),
        identity: identity.clone(),
    };
    let call = async move { records_vendor.check_records(&request).await };
    let ssn_hash = on.v.ssn_hash.clone();
    let (records_result, records_answered) = match attempt(
        ctx,
        who,
        &on,
        CheckKind::Records,
        records_name,
        ssn_hash,
        call,
    )
    .await?
    {
        Ok(r) => r,
        Err(b) => return Ok(VerifyInfoOutcome::Blocked(b)),
    };
    if !records_result.matched {
        conclude(
            ctx,
            who,
            &on,
            Some(records_answered),
            "records",
            Verdict::Refused(&records_result.reasons.join(",")),
        )
        .await?;
        return Ok(VerifyInfoOutcome::RecordsFailed);
    }
    let passed = Verdict::Passed(records_name);
    conclude(ctx, who, &on, Some(records_answered), "records", passed).await?;
    let mut v = on.v.clone();
    add_check(&mut v, "records", records_name);
    let document = on.pii.document.clone();
    if let Some(document) = document.filter(|d| d.document_type.has_back()) {
        let state_vendor = ctx.vendors.state_id.clone();
        let state_name = state_vendor.vendor();
        let request = StateIdRequest {
            reference: on.v.id.clone(),
            document,
            identity,
        };
        let call = async move { state_vendor.check_state_id(&request).await };
        let (result, state_answered) =
            match attempt(ctx, who, &on, CheckKind::StateId, state_name, None, call).await? {
                Ok(r) => r,
                Err(b) => return Ok(VerifyInfoOutcome::Blocked(b)),
            };
        if result.jurisdiction_unsupported {
            // The state doesn't take part: the check can't say yes or no, and the document,
            // barcode and records checks stand (recorded as such for operators).
            conclude(
                ctx,
                who,
                &on,
                Some(state_answered),
                "state_id",
                Verdict::Inconclusive,
            )
            .await?;
            add_check(&mut v, "state_id", "jurisdiction_unsupported");
        } else if !result.verified {
            conclude(
                ctx,
                who,
                &on,
                Some(state_answered),
                "state_id",
                Verdict::Refused(&result.mismatched.join(",")),
            )
            .await?;
            return Ok(VerifyInfoOutcome::StateIdFailed);
        } else {
            let passed = Verdict::Passed(state_name);
            conclude(ctx, who, &on, Some(state_answered), "state_id", passed).await?;
            add_check(&mut v, "state_id", state_name);
        }
    }
    if !advance(ctx, v.clone(), &on.key, &on.pii, Step::Phone).await? {
        return Ok(VerifyInfoOutcome::Blocked(Blocked::Busy));
    }
    Ok(VerifyInfoOutcome::Passed)
}

// ---- phone -------------------------------------------------------------------------------------

/// The phones the person may pick on the phone page (confirmed numbers on the account).
#[derive(Debug, Clone)]
pub struct PhoneChoice {
    pub id: String,
    pub masked: String,
}

pub async fn phone_choices(ctx: &Ctx, user_id: &str) -> anyhow::Result<Vec<PhoneChoice>> {
    let uid = user_id.to_string();
    let enrolled = ctx
        .db
        .run(move |c| crate::mfa::methods::enrolled(c, &uid))
        .await?;
    Ok(enrolled
        .phones
        .into_iter()
        .map(|p| PhoneChoice {
            id: p.id,
            masked: p.masked,
        })
        .collect())
}

/// The number to check: one already on the account, or another typed in.
pub enum PhonePick<'a> {
    OnAccount(&'a str),
    Typed(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneProblem {
    Unusable(phone::PhoneError),
    /// Not one of the account's phones.
    UnknownPhone,
    /// The phone check could not tie this number to the person.
    NotAssociated,
    /// Added or replaced on this account within the SIM-swap cooldown: not until `until`.
    Cooldown {
        until: NaiveDateTime,
    },
    Send(SendOutcome),
}

impl PhoneProblem {
    /// The number could not vouch for the person (the check could not tie it to them, or it is
    /// in its SIM-swap cooldown): a letter by mail is the way on, so the page offers it first.
    pub fn suggests_letter(&self) -> bool {
        matches!(
            self,
            PhoneProblem::NotAssociated | PhoneProblem::Cooldown { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneOutcome {
    CodeSent { masked: String },
    Refused(PhoneProblem),
    Blocked(Blocked),
}

pub async fn submit_phone(
    ctx: &Ctx,
    who: &Person<'_>,
    pick: PhonePick<'_>,
    channel: PhoneChannel,
) -> anyhow::Result<PhoneOutcome> {
    let on = match on_step(ctx, who.user_id, Step::Phone).await? {
        Ok(on) => on,
        Err(b) => return Ok(PhoneOutcome::Blocked(b)),
    };
    let uid = who.user_id.to_string();
    let cooldown = chrono::Duration::hours(ctx.settings.security.sim_swap_cooldown_hours as i64);
    let now = ctx.clock.now();
    let since = now - cooldown;
    let (enrolled, changes) = ctx
        .db
        .run(move |c| {
            use crate::storage::schema::audit_events;
            use diesel::prelude::*;
            // When each phone change happened: a phone whose `changed_at` is one of these came
            // from a change (add or replace), not from enrolment at sign-up.
            let changes: Vec<NaiveDateTime> = audit_events::table
                .filter(audit_events::user_id.eq(&uid))
                .filter(
                    audit_events::kind
                        .eq_any([Kind::PhoneAdded.as_str(), Kind::PhoneChanged.as_str()]),
                )
                .filter(audit_events::created_at.ge(since))
                .select(audit_events::created_at)
                .load(c)?;
            Ok((crate::mfa::methods::enrolled(c, &uid)?, changes))
        })
        .await?;
    let e164 = match pick {
        PhonePick::OnAccount(id) => match enrolled.phones.iter().find(|p| p.id == id) {
            Some(p) => crate::mfa::methods::decrypt_phone(&ctx.master, p)?,
            None => return Ok(PhoneOutcome::Refused(PhoneProblem::UnknownPhone)),
        },
        PhonePick::Typed(raw) => match phone::normalize(raw, &ctx.settings.default_phone_region) {
            Ok(n) => n,
            Err(e) => return Ok(PhoneOutcome::Refused(PhoneProblem::Unusable(e))),
        },
    };
    // A number on this account that was just swapped in can't vouch for the person yet.
    let fingerprint = crate::mfa::methods::phone_fingerprint(&ctx.master, &e164);
    if let Some(changed) = enrolled
        .phones
        .iter()
        .filter(|p| p.fingerprint == fingerprint)
        .filter_map(|p| p.changed_at)
        .find(|changed| now - *changed < cooldown && changes.contains(changed))
    {
        let (vid, uid) = (on.v.id.clone(), who.user_id.to_string());
        ctx.db
            .run(move |c| {
                raise(
                    c,
                    &vid,
                    &uid,
                    FlagKind::SimSwapPhone,
                    json!({ "phone_changed_at": changed.and_utc().to_rfc3339() }),
                    now,
                )
            })
            .await?;
        conclude(
            ctx,
            who,
            &on,
            None,
            "phone",
            Verdict::Refused("sim_swap_cooldown"),
        )
        .await?;
        return Ok(PhoneOutcome::Refused(PhoneProblem::Cooldown {
            until: changed + cooldown,
        }));
    }
    let Some(identity) = identity_of(&on.pii) else {
        return Ok(PhoneOutcome::Blocked(Blocked::OnStep(Step::Review)));
    };
    let vendor = ctx.vendors.phone.clone();
    let vendor_name = vendor.vendor();
    let request = PhoneRequest {
        reference: on.v.id.clone(),
        phone: e164.clone(),
        identity,
    };
    let call = async move { vendor.check_phone(&request).await };
    let (result, answered) =
        match attempt(ctx, who, &on, CheckKind::Phone, vendor_name, None, call).await? {
            Ok(r) => r,
            Err(b) => return Ok(PhoneOutcome::Blocked(b)),
        };
    if !result.matched {
        conclude(
            ctx,
            who,
            &on,
            Some(answered),
            "phone",
            Verdict::Refused(&result.reasons.join(",")),
        )
        .await?;
        return Ok(PhoneOutcome::Refused(PhoneProblem::NotAssociated));
    }
    let passed = Verdict::Passed(vendor_name);
    conclude(ctx, who, &on, Some(answered), "phone", passed).await?;
    let masked = phone::mask(&e164);
    let target = PhoneTarget {
        e164: e164.clone(),
        masked: masked.clone(),
        phone_id: None,
    };
    let sent = challenge::send_phone_code(ctx, who.user_id, OTP_PURPOSE, target, channel).await?;
    if sent != SendOutcome::Sent {
        return Ok(PhoneOutcome::Refused(PhoneProblem::Send(sent)));
    }
    let mut v = on.v.clone();
    add_check(&mut v, "phone", vendor_name);
    let mut pii = on.pii.clone();
    pii.pending_phone = Some(e164);
    if !advance(ctx, v.clone(), &on.key, &pii, Step::PhoneCode).await? {
        return Ok(PhoneOutcome::Blocked(Blocked::Busy));
    }
    Ok(PhoneOutcome::CodeSent { masked })
}

/// The number waiting for its code, masked (for the code page).
pub async fn pending_phone(ctx: &Ctx, user_id: &str) -> anyhow::Result<Result<String, Blocked>> {
    Ok(on_step(ctx, user_id, Step::PhoneCode).await?.map(|on| {
        on.pii
            .pending_phone
            .as_deref()
            .map(phone::mask)
            .unwrap_or_default()
    }))
}

/// "Send a new code" / "call me instead".
pub async fn resend_code(
    ctx: &Ctx,
    who: &Person<'_>,
    channel: PhoneChannel,
) -> anyhow::Result<Result<SendOutcome, Blocked>> {
    let on = match on_step(ctx, who.user_id, Step::PhoneCode).await? {
        Ok(on) => on,
        Err(b) => return Ok(Err(b)),
    };
    let Some(e164) = on.pii.pending_phone.clone() else {
        return Ok(Err(Blocked::OnStep(Step::Phone)));
    };
    let target = PhoneTarget {
        masked: phone::mask(&e164),
        e164,
        phone_id: None,
    };
    Ok(Ok(challenge::send_phone_code(
        ctx,
        who.user_id,
        OTP_PURPOSE,
        target,
        channel,
    )
    .await?))
}

/// "Use another number": back to the phone page (the code sent can't finish anything).
pub async fn other_number(ctx: &Ctx, who: &Person<'_>) -> anyhow::Result<()> {
    if let Ok(on) = on_step(ctx, who.user_id, Step::PhoneCode).await? {
        let mut pii = on.pii.clone();
        pii.pending_phone = None;
        advance(ctx, on.v.clone(), &on.key, &pii, Step::Phone).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishOutcome {
    /// The account holds IAL2 now.
    Verified,
    /// Finished, but a duplicate holds it for an operator.
    Held,
    /// The code was right: the password step (`/verify/protect`) is next.
    Protect,
    Code(CodeOutcome),
    Blocked(Blocked),
}

/// The code from the phone: the last step. Duplicates of the SSN or document on another
/// account are flagged and hold the verification for review instead of silently passing.
pub async fn submit_phone_code(
    ctx: &Ctx,
    who: &Person<'_>,
    code: &str,
) -> anyhow::Result<FinishOutcome> {
    let on = match on_step(ctx, who.user_id, Step::PhoneCode).await? {
        Ok(on) => on,
        Err(b) => return Ok(FinishOutcome::Blocked(b)),
    };
    let Some(e164) = on.pii.pending_phone.clone() else {
        return Ok(FinishOutcome::Blocked(Blocked::OnStep(Step::Phone)));
    };
    let (outcome, used) =
        challenge::verify_phone_code(ctx, who.user_id, who.email, OTP_PURPOSE, code).await?;
    match used {
        Some(c) if outcome == CodeOutcome::Accepted && c.target.e164 == e164 => {}
        _ => return Ok(FinishOutcome::Code(outcome)),
    }
    let mut v = on.v.clone();
    let mut pii = on.pii.clone();
    pii.phone = Some(e164);
    pii.pending_phone = None;
    add_check(&mut v, "phone_code", "verity");
    if advance(ctx, v, &on.key, &pii, Step::Protect).await? {
        Ok(FinishOutcome::Protect)
    } else {
        Ok(FinishOutcome::Blocked(Blocked::Busy))
    }
}

/// What the password step came to. (No `Debug`: it holds the personal key.)
pub enum ProtectOutcome {
    /// Sealed in the person's vault and finished; the personal key is shown once.
    Protected {
        status: FinishOutcome,
        personal_key: zeroize::Zeroizing<String>,
    },
    Password(crate::proofing::vault::PasswordCheck),
    Blocked(Blocked),
}

/// The password step, after the last check passed: the data is sealed under a new vault key
/// that only the password and a new personal key unwrap, and the verification finishes in the
/// same transaction that stores the vault. What the server could read for review goes once it
/// counts. The session that did it keeps the key unlocked, so the relying party that asked
/// gets its claims now.
pub async fn submit_password(
    ctx: &Ctx,
    who: &Person<'_>,
    session: &crate::accounts::sessions::Session,
    password: zeroize::Zeroizing<String>,
) -> anyhow::Result<ProtectOutcome> {
    use crate::proofing::vault::{self, PasswordCheck};
    let on = match on_step(ctx, who.user_id, Step::Protect).await? {
        Ok(on) => on,
        Err(b) => return Ok(ProtectOutcome::Blocked(b)),
    };
    let hash_checked = vault::password_hash_now(ctx, who.user_id).await?;
    match vault::check_password(ctx, who.user_id, who.email, password.clone(), who.actor).await? {
        PasswordCheck::Right => {}
        other => return Ok(ProtectOutcome::Password(other)),
    }
    let now = ctx.clock.now();
    let fresh = vault::new_vault(ctx, who.user_id, &on.v.id, password, true, now).await?;
    let Some(personal_key) = fresh.personal_key.clone() else {
        return Ok(ProtectOutcome::Blocked(Blocked::Busy));
    };
    let mut v = on.v.clone();
    v.pii = Some(records::seal_vault_pii(&fresh.key, &v.id, &on.pii)?);
    let (uid, actor) = (who.user_id.to_string(), who.actor.clone());
    let ssf = ctx.settings.ssf.clone();
    let mut row = fresh.row.clone();
    row.shown_key = Some(vault::seal_shown(
        session,
        &on.v.id,
        &personal_key,
        "/verify/done",
    )?);
    let result = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                records::lock_person(c, &uid)?;
                // A double submit: the first one stored the vault and finished. A password
                // changed or reset since it was checked: the vault would be under a dead one.
                if vault::vault_of(c, &row.verification_id)?.is_some()
                    || !vault::password_is(c, &uid, hash_checked.as_deref())?
                {
                    return Err(anyhow::Error::new(Moved));
                }
                vault::insert(c, &row)?;
                match finish(c, &ssf, &mut v, &uid, &actor, now)? {
                    Some(status) => {
                        if status == Status::Verified {
                            records::drop_evidence(c, &uid, &v.id)?;
                        }
                        Ok(Some(status))
                    }
                    // Rolls the vault back with it.
                    None => Err(anyhow::Error::new(Moved)),
                }
            })
        })
        .await;
    let status = match result {
        Ok(status) => status,
        Err(e) if e.is::<Moved>() => None,
        Err(e) => return Err(e),
    };
    if status.is_some() {
        let mut unlocked = vault::Unlocked::default();
        unlocked.insert(&on.v.id, &fresh.key);
        vault::keep_for_session(ctx, &session.id, &session.vault_secret, &unlocked).await?;
    }
    match announce(ctx, who, status, now).await? {
        FinishOutcome::Blocked(b) => Ok(ProtectOutcome::Blocked(b)),
        status => Ok(ProtectOutcome::Protected {
            status,
            personal_key,
        }),
    }
}

/// The end of every path (phone code or letter code), inside the caller's write transaction
/// under the person's lock: duplicates of the SSN or document on another account are flagged
/// and hold the verification for review; otherwise the account holds IAL2. Audited, and the
/// relying parties' Shared Signals streams hear of the change. `v` is on `Done` with its
/// checks; None: another request moved it first (nothing written).
fn finish(
    c: &mut crate::storage::db::DbConn,
    ssf: &crate::config::SsfSettings,
    v: &mut Verification,
    uid: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> anyhow::Result<Option<Status>> {
    let was_verified = signals::identity_verified(c, uid)?;
    let (by_ssn, by_doc) = records::verified_elsewhere(
        c,
        uid,
        v.ssn_hash.as_deref(),
        v.document_number_hash.as_deref(),
    )?;
    if !by_ssn.is_empty() {
        raise(
            c,
            &v.id,
            uid,
            FlagKind::DuplicateSsn,
            json!({ "other_accounts": by_ssn }),
            now,
        )?;
    }
    if !by_doc.is_empty() {
        raise(
            c,
            &v.id,
            uid,
            FlagKind::DuplicateDocument,
            json!({ "other_accounts": by_doc }),
            now,
        )?;
    }
    let status = if by_ssn.is_empty() && by_doc.is_empty() {
        Status::Verified
    } else {
        Status::Held
    };
    v.status = status.as_str().into();
    v.step = Step::Done.as_str().into();
    v.verified_at = Some(now);
    if !records::save_if_unchanged(c, v, now)? {
        return Ok(None);
    }
    audit::record(
        c,
        now,
        audit::Event {
            kind: if status == Status::Verified {
                Kind::IdentityVerified
            } else {
                Kind::IdentityVerificationHeld
            },
            user_id: Some(uid),
            client_id: v.origin_client_id.as_deref(),
            detail: json!({ "verification": v.id, "checks": v.passed_checks() }),
            actor: Some(actor),
        },
    )?;
    signals::identity_assurance_since(c, ssf, now, uid, signals::By::Person, was_verified)?;
    Ok(Some(status))
}

/// Tells the person (a notice on their channels) once [`finish`] has committed.
async fn announce(
    ctx: &Ctx,
    who: &Person<'_>,
    status: Option<Status>,
    now: NaiveDateTime,
) -> anyhow::Result<FinishOutcome> {
    match status {
        None => Ok(FinishOutcome::Blocked(Blocked::Busy)),
        Some(Status::Verified) => {
            let notice = Notice::IdentityVerified {
                at: now,
                not_me_link: crate::accounts::login::not_me_link(ctx, who.user_id, who.email)
                    .await?,
            };
            notices::tell_account(ctx, who.user_id, None, Texts::DefaultPhone, &notice).await?;
            Ok(FinishOutcome::Verified)
        }
        Some(_) => Ok(FinishOutcome::Held),
    }
}

// ---- verify by mail --------------------------------------------------------------------------

/// The keyed hash of letter codes (its own key, apart from backup codes').
fn letter_code_key(ctx: &Ctx) -> aws_lc_rs::hmac::Key {
    ctx.master.derive("verity/proofing/letter/v1")
}

/// The person's letters and whether another may be requested (the verify page and the
/// console show these).
#[derive(Debug, Clone, Default)]
pub struct LetterView {
    /// (requested at, sent at) of the unfinished verification's letters, newest first.
    pub letters: Vec<(NaiveDateTime, Option<NaiveDateTime>)>,
    /// None: another letter may be requested now; Some: not before then.
    pub next_allowed_at: Option<NaiveDateTime>,
    /// A letter whose code can still be entered is on its way.
    pub waiting: bool,
}

/// The letters of the person's unfinished verification (empty when none is under way).
pub async fn letters(ctx: &Ctx, user_id: &str) -> anyhow::Result<LetterView> {
    let (uid, now) = (user_id.to_string(), ctx.clock.now());
    let p = ctx.settings.proofing.clone();
    ctx.db
        .run(move |c| {
            let window = chrono::Duration::days(p.letter_window_days as i64);
            let counted = records::letters_in_window(c, &uid, window, now)?;
            let next_allowed_at = (counted.len() as u64 >= u64::from(p.letters_per_window))
                .then(|| counted.first().copied().unwrap_or(now) + window);
            let Some(v) = records::unfinished_for(c, &uid, now)? else {
                return Ok(LetterView {
                    next_allowed_at,
                    ..LetterView::default()
                });
            };
            let all = records::letters_of(c, &v.id)?;
            let waiting =
                !records::live_letters(c, &v.id, p.letter_code_max_tries, now)?.is_empty();
            Ok(LetterView {
                letters: all.iter().map(|l| (l.requested_at, l.sent_at)).collect(),
                next_allowed_at,
                waiting,
            })
        })
        .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LetterOutcome {
    Queued,
    /// `proofing.letters_per_window` letters requested already: not before `retry_at`.
    TooMany {
        retry_at: NaiveDateTime,
    },
    Blocked(Blocked),
}

/// "Send me a letter instead" (the phone step) or "Send another letter" (the letter step):
/// a letter with a one-time code to the verified address is queued for the printer.
pub async fn request_letter(ctx: &Ctx, who: &Person<'_>) -> anyhow::Result<LetterOutcome> {
    const FROM: &[Step] = &[Step::Phone, Step::PhoneCode, Step::Letter];
    let on = match on_any_step(ctx, who.user_id, FROM).await? {
        Ok(on) => on,
        Err(b) => return Ok(LetterOutcome::Blocked(b)),
    };
    let (Some(doc), Some(address)) = (on.pii.document.as_ref(), on.pii.address.clone()) else {
        return Ok(LetterOutcome::Blocked(Blocked::OnStep(Step::Review)));
    };
    let p = &ctx.settings.proofing;
    let name = [
        Some(doc.given_name.as_str()),
        doc.middle_name.as_deref(),
        Some(doc.family_name.as_str()),
    ]
    .into_iter()
    .flatten()
    .filter(|n| !n.trim().is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    let code = crate::mfa::backup_codes::generate(1, p.letter_code_length)
        .pop()
        .unwrap_or_default();
    let code_hash = crate::mfa::backup_codes::hash(&letter_code_key(ctx), &code);
    let mailing = records::Mailing {
        name,
        address,
        code,
    };
    let mut v = on.v.clone();
    let mut pii = on.pii.clone();
    pii.pending_phone = None;
    v.pii = Some(records::seal_pii(&on.key, &v.id, &pii)?);
    v.step = Step::Letter.as_str().into();
    v.last_failure = None;
    let (per_window, window, valid) = (
        p.letters_per_window,
        chrono::Duration::days(p.letter_window_days as i64),
        chrono::Duration::days(p.letter_valid_days as i64),
    );
    let (key, uid, actor, now) = (
        on.key.clone(),
        who.user_id.to_string(),
        who.actor.clone(),
        ctx.clock.now(),
    );
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                let queued = records::queue_letter(
                    c, &key, &v, &mailing, &code_hash, per_window, window, valid, now,
                )?;
                Ok(match queued {
                    Ok(letter) => {
                        audit::record(
                            c,
                            now,
                            audit::Event {
                                kind: Kind::IdentityLetterRequested,
                                user_id: Some(&uid),
                                client_id: v.origin_client_id.as_deref(),
                                detail: json!({
                                    "verification": v.id,
                                    "letter": letter.id,
                                    "expires_at": letter.expires_at.and_utc().to_rfc3339(),
                                }),
                                actor: Some(&actor),
                            },
                        )?;
                        LetterOutcome::Queued
                    }
                    Err(records::LetterRefusal::TooMany { retry_at }) => {
                        LetterOutcome::TooMany { retry_at }
                    }
                    Err(records::LetterRefusal::Moved) => LetterOutcome::Blocked(Blocked::Busy),
                })
            })
        })
        .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LetterCodeOutcome {
    /// The code was right: the password step (`/verify/protect`) is next.
    Accepted,
    /// Not a code of this shape (not counted as a try).
    Malformed,
    /// Not the code of a waiting letter; this many tries are left.
    Wrong {
        tries_left: u32,
    },
    /// No letter's code can be entered any more (expired, or too many wrong codes): a new
    /// letter is needed.
    NeedNewLetter,
    Blocked(Blocked),
}

/// A finish that lost a race: rolls its transaction back.
#[derive(Debug)]
struct Moved;

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the verification moved meanwhile")
    }
}

impl std::error::Error for Moved {}

/// The code from the letter: the last step of the mail path. Checked against the waiting
/// letters under the person's lock; a match is used and the verification finished in the same
/// transaction (so two submissions of one code finish once); a miss counts against every
/// waiting letter's `proofing.letter_code_max_tries`.
pub async fn submit_letter_code(
    ctx: &Ctx,
    who: &Person<'_>,
    code: &str,
) -> anyhow::Result<LetterCodeOutcome> {
    let on = match on_step(ctx, who.user_id, Step::Letter).await? {
        Ok(on) => on,
        Err(b) => return Ok(LetterCodeOutcome::Blocked(b)),
    };
    let p = &ctx.settings.proofing;
    let Some(canonical) = crate::mfa::backup_codes::normalize(code, p.letter_code_length) else {
        return Ok(LetterCodeOutcome::Malformed);
    };
    let hash = crate::mfa::backup_codes::hash(&letter_code_key(ctx), &canonical);
    let mut v = on.v.clone();
    add_check(&mut v, "letter", "mail");
    let max_tries = p.letter_code_max_tries;
    let (uid, actor, now) = (who.user_id.to_string(), who.actor.clone(), ctx.clock.now());
    let result = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                records::lock_person(c, &uid)?;
                match records::by_id(c, &v.id)? {
                    Some(current) if current.version == v.version => {}
                    _ => return Ok(Err(LetterCodeOutcome::Blocked(Blocked::Busy))),
                }
                let live = records::live_letters(c, &v.id, max_tries, now)?;
                if live.is_empty() {
                    return Ok(Err(LetterCodeOutcome::NeedNewLetter));
                }
                // Every waiting letter is compared, in constant time, whichever matches.
                let mut matched: Option<String> = None;
                for l in &live {
                    if crate::crypto::ct_eq(l.code_hash.as_bytes(), hash.as_bytes()) {
                        matched = Some(l.id.clone());
                    }
                }
                let Some(letter_id) = matched else {
                    let left = records::count_wrong_letter_code(c, &v.id, max_tries, now)?;
                    return Ok(Err(if left == 0 {
                        LetterCodeOutcome::NeedNewLetter
                    } else {
                        LetterCodeOutcome::Wrong { tries_left: left }
                    }));
                };
                if !records::use_letter(c, &letter_id, &v.id, now)? {
                    return Err(anyhow::Error::new(Moved));
                }
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::IdentityLetterCodeAccepted,
                        user_id: Some(&uid),
                        client_id: v.origin_client_id.as_deref(),
                        detail: json!({ "verification": v.id, "letter": letter_id }),
                        actor: Some(&actor),
                    },
                )?;
                v.step = Step::Protect.as_str().into();
                if records::save_if_unchanged(c, &v, now)? {
                    Ok(Ok(()))
                } else {
                    Err(anyhow::Error::new(Moved))
                }
            })
        })
        .await;
    match result {
        Ok(Ok(())) => Ok(LetterCodeOutcome::Accepted),
        Ok(Err(outcome)) => Ok(outcome),
        Err(e) if e.is::<Moved>() => Ok(LetterCodeOutcome::Blocked(Blocked::Busy)),
        Err(e) => Err(e),
    }
}

/// "Verify by phone instead": back to the phone page; the letters already requested keep
/// counting against the limit but their codes no longer finish anything.
pub async fn phone_instead(ctx: &Ctx, who: &Person<'_>) -> anyhow::Result<()> {
    if let Ok(on) = on_step(ctx, who.user_id, Step::Letter).await? {
        let id = on.v.id.clone();
        if advance(ctx, on.v.clone(), &on.key, &on.pii, Step::Phone).await? {
            ctx.db
                .run(move |c| records::cancel_letters(c, &[id]).map(|_| ()))
                .await?;
        }
    }
    Ok(())
}

/// The code page, as the letter e-mails link to it.
fn letter_link(ctx: &Ctx) -> String {
    format!("{}/verify/letter", ctx.settings.issuer)
}

/// Sends the letter's e-mail `which` ("your letter was mailed", or the reminder) to every
/// confirmed address of the person, in their language, if it is still due and this call claims
/// it ([`records::claim_letter_mail`]: one node, once). A send that no address took is given
/// back for housekeeping to try again. True: it went out.
pub async fn send_letter_mail(
    ctx: &Ctx,
    letter_id: &str,
    which: records::LetterMail,
) -> anyhow::Result<bool> {
    let p = &ctx.settings.proofing;
    let now = ctx.clock.now();
    let sent_by = now - chrono::Duration::days(p.letter_reminder_days as i64);
    let (lid, max_tries) = (letter_id.to_string(), p.letter_code_max_tries);
    let claimed = ctx
        .db
        .run(move |c| records::claim_letter_mail(c, &lid, which, sent_by, max_tries, now))
        .await?;
    let Some(letter) = claimed else {
        return Ok(false);
    };
    let (sent_at, expires_at, link) = (
        letter.sent_at.unwrap_or(now),
        letter.expires_at,
        letter_link(ctx),
    );
    let notice = match which {
        records::LetterMail::Sent => Notice::LetterSent {
            sent_at,
            expires_at,
            link,
        },
        records::LetterMail::Reminder => Notice::LetterReminder {
            sent_at,
            expires_at,
            link,
        },
    };
    match notices::email_account(ctx, &letter.user_id, &notice).await {
        Ok(emailed) if !emailed.all_failed() => Ok(true),
        failed => {
            let lid = letter.id.clone();
            ctx.db
                .run(move |c| records::release_letter_mail(c, &lid, which))
                .await?;
            failed.map(|_| false)
        }
    }
}

/// The letter e-mails housekeeping sends: "letter sent" e-mails that no node claimed (the one
/// that marked the letter sent stopped first, or every send failed), and the reminders that
/// came due (`proofing.letter_reminder_days` after sending, code still unused). A batch at a
/// time; returns how many went out.
pub async fn letter_mail(ctx: &Ctx) -> anyhow::Result<usize> {
    const BATCH: i64 = 100;
    let p = &ctx.settings.proofing;
    let now = ctx.clock.now();
    let sent_by = now - chrono::Duration::days(p.letter_reminder_days as i64);
    let (max_tries, remind) = (p.letter_code_max_tries, p.letter_reminder_days > 0);
    let (owing_sent, owing_reminder) = ctx
        .db
        .run(move |c| {
            let sent = records::letters_owing_sent_mail(c, now, BATCH)?;
            let reminders = if remind {
                records::letters_owing_reminder(c, sent_by, max_tries, now, BATCH)?
            } else {
                Vec::new()
            };
            Ok((sent, reminders))
        })
        .await?;
    let mut sent = 0;
    for (letters, which) in [
        (owing_sent, records::LetterMail::Sent),
        (owing_reminder, records::LetterMail::Reminder),
    ] {
        for letter in letters {
            if send_letter_mail(ctx, &letter.id, which).await? {
                sent += 1;
            }
        }
    }
    Ok(sent)
}

// ---- removal -----------------------------------------------------------------------------------

/// "Remove my verified data" (the person) or an operator's removal: every verification and the
/// personal data are gone, audited and announced. False: there was nothing to remove.
pub async fn remove(
    ctx: &Ctx,
    user_id: &str,
    by_operator: Option<&str>,
    reason: Option<&str>,
    actor: Option<&Actor>,
) -> anyhow::Result<bool> {
    let (uid, now) = (user_id.to_string(), ctx.clock.now());
    let by = by_operator.unwrap_or("person").to_string();
    let reason = reason.map(str::to_string);
    let actor = actor.cloned();
    let operator = by_operator.map(str::to_string);
    let ssf = ctx.settings.ssf.clone();
    let removed = ctx
        .db
        .run(move |c| {
            // The audit is part of the removal: both happen, or neither.
            crate::storage::db::write_tx(c, |c| {
                records::lock_person(c, &uid)?;
                let was_verified = signals::identity_verified(c, &uid)?;
                let n = records::remove_all(c, &uid, &by, reason.as_deref(), now)?;
                let signal_by = match operator {
                    Some(_) => signals::By::Operator("verified identity removed by an operator"),
                    None => signals::By::Person,
                };
                signals::identity_assurance_since(c, &ssf, now, &uid, signal_by, was_verified)?;
                if n > 0 {
                    audit::record(
                        c,
                        now,
                        audit::Event {
                            kind: Kind::IdentityVerificationRemoved,
                            user_id: Some(&uid),
                            client_id: operator.as_deref(),
                            detail: json!({ "by": by, "reason": reason, "verifications": n }),
                            actor: actor.as_ref(),
                        },
                    )?;
                }
                Ok(n > 0)
            })
        })
        .await?;
    if removed {
        let uid = user_id.to_string();
        let email = ctx
            .db
            .run(move |c| crate::accounts::users::by_id(c, &uid))
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        let notice = Notice::IdentityRemoved {
            at: now,
            by_support: by_operator.is_some(),
            not_me_link: crate::accounts::login::not_me_link(ctx, user_id, &email).await?,
        };
        notices::tell_account(ctx, user_id, None, Texts::DefaultPhone, &notice).await?;
    }
    Ok(removed)
}

// ---- housekeeping ------------------------------------------------------------------------------

/// Deletes retired images whose retention ran out, abandons verifications left unfinished
/// past `proofing.unfinished_ttl_days` (their personal data and images go), then sends the
/// letter e-mails that are due ([`letter_mail`]) and the trusted-referee cases' expiries and
/// reminders ([`crate::proofing::referee::housekeeping`]). Returns (images deleted, verifications
/// abandoned).
pub async fn housekeeping(ctx: &Ctx) -> anyhow::Result<(usize, usize)> {
    use crate::storage::schema::{identity_verifications as iv, proofing_images};
    use diesel::prelude::*;
    let now = ctx.clock.now();
    let done = ctx
        .db
        .run(move |c| {
            let images = records::purge_retired_images(c, now)?;
            // A verification waiting on an agent's case lives as long as the case (its own
            // expiry sends it back, and it is abandoned at a later sweep).
            let waiting: Vec<String> = {
                use crate::storage::schema::referee_cases as rc;
                rc::table
                    .filter(rc::status.eq_any(crate::proofing::referee::OPEN))
                    .select(rc::verification_id)
                    .load(c)?
            };
            let stale: Vec<(String, String)> = iv::table
                .filter(iv::status.eq(Status::InProgress.as_str()))
                .filter(iv::expires_at.le(now))
                .filter(iv::id.ne_all(&waiting))
                .select((iv::id, iv::user_id))
                .limit(500)
                .load(c)?;
            // One at a time under the person's lock, and only if it is still unfinished and
            // past its time: an agent's decision or the person's own step landing meanwhile wins.
            let mut n = 0;
            for (id, user_id) in stale {
                n += crate::storage::db::write_tx(c, |c| -> anyhow::Result<usize> {
                    records::lock_person(c, &user_id)?;
                    let one = std::slice::from_ref(&id);
                    let abandoned = diesel::update(
                        iv::table
                            .filter(iv::id.eq(&id))
                            .filter(iv::status.eq(Status::InProgress.as_str()))
                            .filter(iv::expires_at.le(now)),
                    )
                    .set((
                        iv::status.eq(Status::Abandoned.as_str()),
                        iv::pii.eq(None::<String>),
                        iv::updated_at.eq(now),
                        iv::version.eq(iv::version + 1),
                    ))
                    .execute(c)?;
                    if abandoned == 1 {
                        diesel::delete(
                            proofing_images::table
                                .filter(proofing_images::verification_id.eq_any(one)),
                        )
                        .execute(c)?;
                        records::cancel_letters(c, one)?;
                        crate::proofing::referee::cancel_cases(c, one)?;
                    }
                    Ok(abandoned)
                })?;
            }
            Ok((images, n))
        })
        .await?;
    letter_mail(ctx).await?;
    crate::proofing::referee::housekeeping(ctx).await?;
    Ok(done)
}

/// Runs [`housekeeping`] once a minute on this node.
pub fn spawn_housekeeping(ctx: Ctx) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            if let Err(e) = housekeeping(&ctx).await {
                tracing::warn!(error = %format!("{e:#}"), "proofing housekeeping");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_ssns_are_refused() {
        assert_eq!(parse_ssn("123-45-6789", false), Ok("123456789".into()));
        assert_eq!(parse_ssn("123 45 6789", false), Ok("123456789".into()));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-34-5678",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert_eq!(parse_ssn(bad, false), Err(SsnProblem::Impossible), "{bad}");
        }
        for bad in ["12345678", "1234567890", "abc-de-fghi", "", "123456789\n"] {
            assert_eq!(parse_ssn(bad, false), Err(SsnProblem::Format), "{bad:?}");
        }
        // The sandbox range only with the mock records check, and only 900.
        assert_eq!(parse_ssn("900-12-3456", true), Ok("900123456".into()));
        assert_eq!(parse_ssn("901-12-3456", true), Err(SsnProblem::Impossible));
        assert_eq!(mask_ssn("123456789"), "•••-••-6789");
    }

    #[test]
    fn only_a_number_that_cannot_vouch_for_the_person_suggests_a_letter() {
        assert!(PhoneProblem::NotAssociated.suggests_letter());
        assert!(PhoneProblem::Cooldown {
            until: NaiveDateTime::default()
        }
        .suggests_letter());
        assert!(!PhoneProblem::UnknownPhone.suggests_letter());
        assert!(!PhoneProblem::Send(SendOutcome::CouldNotSend).suggests_letter());
    }

    #[test]
    fn residence_form_is_checked_field_by_field() {
        let ok = AddressForm {
            street1: "1 Main St".into(),
            street2: "Apt 2".into(),
            city: "Richmond".into(),
            state: "va".into(),
            zip: "23219-1234".into(),
        };
        let a = parse_address(&ok).unwrap();
        assert_eq!(a.street_address, "1 Main St\nApt 2");
        assert_eq!(a.region, "VA");
        assert_eq!(a.postal_code, "23219-1234");
        let bad = AddressForm {
            street1: " ".into(),
            street2: String::new(),
            city: "x".repeat(81),
            state: "ZZ".into(),
            zip: "2321".into(),
        };
        assert_eq!(
            parse_address(&bad),
            Err(vec!["street1", "city", "state", "zip"])
        );
    }
}
