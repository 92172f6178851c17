//! Identity proofing as operators see and decide it: verifications and their attempts, fraud
//! flags (clear or confirm), removing a person's identity data, and counts for a period.
//!
//! **Personal data.** Operators never see a verification's decrypted identity data here, under
//! any scope: only an agent on an open referee case does (admin/referee.rs). A verification
//! shows the person masked, and once it is finished, not even that (its data is in the
//! person's vault). `verity:admin:proofing:pii` ([`reveals_pii`]) adds only the attempts' IP
//! addresses here, and gives the letters' print list (the name and address a letter is mailed
//! to, until it is marked sent):
//!
//! | field | shown |
//! |---|---|
//! | given, middle, family name | first letter and a period (`"A."`) |
//! | birth date | `birth_year` only; `birthdate` null |
//! | SSN, document number | null |
//! | address | `region` and `country` only |
//! | phone | country code and last 4 (`"+1 ••• ••• 1234"`) |
//! | attempt `transcript` | null (it holds what the vendors were asked) |
//! | attempt `ip` | with `…:proofing:pii` only |
//!
//! Document type, issuer and expiry, statuses, checks, vendors and times are not personal data
//! here and are always shown. Images are never exposed: no endpoint serves them.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::admin::auth::{Agent, Area};
use crate::admin::keys::utc;
use crate::admin::pagination::{self, page_request};
use crate::admin::sort_keys::{time_and_id, time_key};
use crate::admin::{plausible_id, Outcome, Problem};
use crate::audit::{self, Kind};
use crate::notify::notices::{self, Notice, Texts};
use crate::proofing::records::{
    self, Attempt, CheckKind, Flag, FlagDecision, FlagResolution, Pii, Status, Verification,
};
use crate::storage::db::{write_tx, DbConn};
use crate::storage::schema::{identity_verifications as iv, proofing_attempts, proofing_flags};
use crate::Ctx;

// ---- views ----------------------------------------------------------------------------------

/// One verification in a list (no personal data at all).
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationSummary {
    pub id: String,
    pub user_id: String,
    /// `in_progress`, `verified`, `held`, `failed`, `removed` or `abandoned`.
    pub status: String,
    /// `document`, `selfie`, `ssn`, `review`, `phone`, `phone_code`, `letter` (waiting for a
    /// verify-by-mail letter's code) or `done`.
    pub step: String,
    /// The relying party whose IAL2 request started it; null from the account console.
    pub origin_client_id: Option<String>,
    /// `driving_permit`, `idcard` or `passport`, once the document step passed.
    pub document_type: Option<String>,
    pub document_issuer: Option<String>,
    /// Flags still waiting for an operator.
    pub open_flags: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationPage {
    pub items: Vec<VerificationSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A check that passed, and the vendor that ran it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassedCheck {
    /// `document`, `selfie`, `records`, `state_id` or `phone`.
    pub check: String,
    pub vendor: String,
}

/// A postal address; masked, only `region` and `country` are given.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressView {
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub region: String,
    pub postal_code: Option<String>,
    pub country: String,
}

/// The verified person, masked or in full (see the masking rule in the API description).
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    /// Masked: the first letter and a period.
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub family_name: Option<String>,
    pub birth_year: Option<i32>,
    /// Only to the agent on an open referee case, once the call began.
    pub birthdate: Option<NaiveDate>,
    /// The last 4 digits, only to the agent on an open referee case, once the call began. The
    /// whole number is never shown.
    pub ssn_last4: Option<String>,
    /// Only to the agent on an open referee case, once the call began.
    pub document_number: Option<String>,
    pub address: Option<AddressView>,
    /// Masked: the country code and the last 4 digits.
    pub phone: Option<String>,
}

/// One vendor call.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub id: String,
    /// `document`, `selfie`, `records`, `state_id` or `phone`.
    pub check: String,
    pub vendor: String,
    /// `running`, `passed`, `failed` or `unavailable`.
    pub outcome: String,
    /// Counted against the person's attempt limit (a vendor that didn't answer isn't).
    pub charged: bool,
    /// The caller's address; only with `verity:admin:proofing:pii`.
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What was asked and answered: never shown to operators (it holds what the vendors were
    /// asked, the SSN among it); always null.
    pub transcript: Option<serde_json::Value>,
}

/// A fraud signal on a verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagView {
    pub id: String,
    pub verification_id: String,
    pub user_id: String,
    /// `duplicate_ssn`, `duplicate_document`, `many_identities`, `sim_swap_phone` or
    /// `referee_fraud`.
    pub kind: String,
    /// What raised it (no personal data; e.g. the other account's id).
    pub detail: serde_json::Value,
    /// While open, it keeps the verification from counting (status `held`).
    pub holds: bool,
    /// `open`, `cleared` or `confirmed`.
    pub status: String,
    pub resolution_reason: Option<String>,
    /// The agent client that decided it.
    pub resolved_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagPage {
    pub items: Vec<FlagView>,
    pub next_cursor: Option<String>,
}

/// A verification with its flags and attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationDetail {
    pub id: String,
    pub user_id: String,
    /// `in_progress`, `verified`, `held`, `failed`, `removed` or `abandoned`.
    pub status: String,
    /// `document`, `selfie`, `ssn`, `review`, `phone`, `phone_code` or `done`.
    pub step: String,
    pub origin_client_id: Option<String>,
    pub consent_at: DateTime<Utc>,
    /// The version of the consent text the person agreed to.
    pub consent_version: String,
    /// `driving_permit`, `idcard` or `passport`.
    pub document_type: Option<String>,
    pub document_issuer: Option<String>,
    pub document_expiry: Option<NaiveDate>,
    pub checks_passed: Vec<PassedCheck>,
    /// Why a step last refused.
    pub last_failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    /// An unfinished verification is abandoned after this.
    pub expires_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    /// `person`, or the agent client that removed it.
    pub removed_by: Option<String>,
    pub removed_reason: Option<String>,
    /// Always true: operators see the person masked (only an agent on an open referee case
    /// sees more).
    pub personal_data_masked: bool,
    /// Null when no personal data is kept (not yet collected, or removed).
    pub person: Option<PersonView>,
    pub flags: Vec<FlagView>,
    pub attempts: Vec<AttemptView>,
}

// ---- requests -------------------------------------------------------------------------------

/// `GET /proofing/verifications` filters, as strings (the flow names a bad one).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerificationQuery {
    /// Only verifications in this status.
    #[param(value_type = Option<String>,
        pattern = "^(in_progress|verified|held|failed|removed|abandoned)$")]
    pub status: Option<String>,
    /// Only this person's.
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub user_id: Option<String>,
    /// `true`: only those with an open flag; `false`: only those without.
    #[param(value_type = Option<String>, pattern = "^(true|false)$")]
    pub flagged: Option<String>,
    /// `next_cursor` of the previous page; leave out for the first page.
    pub cursor: Option<String>,
    /// Items per page (the default and the maximum are configured).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
}

/// `GET /proofing/flags` filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagQuery {
    /// Only flags in this state.
    #[param(value_type = Option<String>, pattern = "^(open|cleared|confirmed)$")]
    pub status: Option<String>,
    /// Only flags of this kind.
    #[param(value_type = Option<String>,
        pattern = "^(duplicate_ssn|duplicate_document|many_identities|sim_swap_phone|referee_fraud)$")]
    pub kind: Option<String>,
    pub cursor: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
}

/// Body of `POST /proofing/flags/{flag_id}/clear` and `/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveFlagRequest {
    /// Why, for the audit trail and the flag (e.g. what was checked).
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
}

/// Body of `POST /proofing/verifications/{id}/remove`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveRequest {
    /// Why, for the audit trail and the verification (e.g. the ticket number).
    #[schema(min_length = 1, max_length = 5000)]
    pub reason: String,
}

/// The answer to clearing or confirming a flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagResolved {
    pub flag: FlagView,
    /// The verification's status afterwards (`verified` once the last holding flag is
    /// cleared, `failed` when fraud is confirmed).
    pub verification_status: String,
}

/// The answer to a removal.
#[derive(Debug, Serialize, ToSchema)]
pub struct Removal {
    /// Every verification of the person that wasn't removed yet (the data key is per person,
    /// so one can't go alone).
    pub verifications_removed: u32,
    /// The verification named in the request, as it is now.
    pub verification: VerificationDetail,
}

/// `GET /proofing/stats?from=&to=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Start of the period (included): an RFC 3339 time or a date (`YYYY-MM-DD`, UTC midnight).
    #[param(value_type = String, required = true)]
    pub from: Option<String>,
    /// End of the period (excluded): an RFC 3339 time, or a date (`YYYY-MM-DD`, the whole day
    /// included).
    #[param(value_type = String, required = true)]
    pub to: Option<String>,
}

/// Verifications started in the period, by their status now.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct StatusCounts {
    pub in_progress: u64,
    pub verified: u64,
    pub held: u64,
    pub failed: u64,
    pub removed: u64,
    pub abandoned: u64,
}

/// Attempts of one check by outcome.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct OutcomeCounts {
    pub passed: u64,
    pub failed: u64,
    /// The vendor gave no usable answer (not charged).
    pub unavailable: u64,
    /// Still waiting for the vendor.
    pub running: u64,
}

/// Vendor attempts made in the period, by check and outcome.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct AttemptCounts {
    pub document: OutcomeCounts,
    pub selfie: OutcomeCounts,
    pub records: OutcomeCounts,
    pub state_id: OutcomeCounts,
    pub phone: OutcomeCounts,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProofingStats {
    /// The period counted: `from` included, `to` excluded.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub verifications: StatusCounts,
    pub attempts: AttemptCounts,
}

// ---- rules: masking -------------------------------------------------------------------------

/// Whether this agent sees the attempts' IP addresses and the letters' print list (never a
/// verification's identity data: see the module's description).
pub fn reveals_pii(agent: &Agent) -> bool {
    agent.may(Area::ProofingPii)
}

/// A name as its initial: the first letter, upper-cased, and a period.
pub fn initial(name: &str) -> Option<String> {
    let first = name.trim().chars().next()?;
    Some(format!("{}.", first.to_uppercase()))
}

/// The last 4 digits of an SSN (whatever its punctuation).
pub fn ssn_last4(ssn: &str) -> Option<String> {
    let digits: Vec<char> = ssn.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 4).then(|| digits[digits.len() - 4..].iter().collect())
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The person's data as this agent may see it; None when nothing is kept.
pub fn person_view(pii: &Pii, full: bool) -> Option<PersonView> {
    let doc = pii.document.as_ref();
    let address = pii
        .address
        .as_ref()
        .or_else(|| doc.and_then(|d| d.address.as_ref()));
    if doc.is_none() && address.is_none() && pii.ssn.is_none() && pii.phone.is_none() {
        return None;
    }
    let name = |n: &str| if full { non_empty(n) } else { initial(n) };
    Some(PersonView {
        given_name: doc.and_then(|d| name(&d.given_name)),
        middle_name: doc.and_then(|d| d.middle_name.as_deref().and_then(name)),
        family_name: doc.and_then(|d| name(&d.family_name)),
        birth_year: doc.map(|d| chrono::Datelike::year(&d.birthdate)),
        birthdate: doc.filter(|_| full).map(|d| d.birthdate),
        ssn_last4: pii.ssn.as_deref().filter(|_| full).and_then(ssn_last4),
        document_number: doc
            .filter(|_| full)
            .and_then(|d| non_empty(&d.document_number)),
        address: address.map(|a| AddressView {
            street_address: full.then(|| non_empty(&a.street_address)).flatten(),
            locality: full.then(|| non_empty(&a.locality)).flatten(),
            region: a.region.clone(),
            postal_code: full.then(|| non_empty(&a.postal_code)).flatten(),
            country: a.country.clone(),
        }),
        phone: pii.phone.as_deref().map(|p| {
            if full {
                p.to_string()
            } else {
                crate::mfa::phone::mask(p)
            }
        }),
    })
}

fn summary(v: &Verification, open_flags: i64) -> VerificationSummary {
    VerificationSummary {
        id: v.id.clone(),
        user_id: v.user_id.clone(),
        status: v.status.clone(),
        step: v.step.clone(),
        origin_client_id: v.origin_client_id.clone(),
        document_type: v.document_type.clone(),
        document_issuer: v.document_issuer.clone(),
        open_flags: u32::try_from(open_flags).unwrap_or(u32::MAX),
        created_at: utc(v.created_at),
        updated_at: utc(v.updated_at),
        verified_at: v.verified_at.map(utc),
        removed_at: v.removed_at.map(utc),
    }
}

pub(crate) fn flag_view(f: &Flag) -> FlagView {
    FlagView {
        id: f.id.clone(),
        verification_id: f.verification_id.clone(),
        user_id: f.user_id.clone(),
        kind: f.kind.clone(),
        detail: serde_json::from_str(&f.detail)
            .unwrap_or_else(|_| serde_json::Value::String(f.detail.clone())),
        holds: f.holds,
        status: f.status.clone(),
        resolution_reason: f.resolution_reason.clone(),
        resolved_by: f.resolved_by.clone(),
        created_at: utc(f.created_at),
        resolved_at: f.resolved_at.map(utc),
    }
}

pub(crate) fn attempt_view(a: &Attempt, key: Option<&crate::crypto::MasterKey>) -> AttemptView {
    AttemptView {
        id: a.id.clone(),
        check: a.check_kind.clone(),
        vendor: a.vendor.clone(),
        outcome: a.outcome.clone(),
        charged: a.charged,
        ip: key.and(a.ip.clone()),
        created_at: utc(a.created_at),
        finished_at: a.finished_at.map(utc),
        transcript: key.and_then(|k| records::open_transcript(k, a)),
    }
}

// ---- rules: checked input -------------------------------------------------------------------

/// A reason as typed: trimmed, not empty, at most `support.message_max_chars`, and no control
/// characters but line breaks and tabs (PostgreSQL refuses NUL in text).
pub(crate) fn checked_reason(ctx: &Ctx, reason: &str) -> Outcome<String> {
    let reason = reason.trim();
    let max = ctx.settings.support.message_max_chars;
    if reason.is_empty() {
        return Err(Problem::invalid("reason", "reason must not be empty"));
    }
    if reason.chars().count() > max {
        return Err(Problem::invalid(
            "reason",
            format!("reason must be at most {max} characters"),
        ));
    }
    if reason
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Problem::invalid(
            "reason",
            "reason must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(reason.to_string())
}

/// One of `allowed`, or a 400 naming `field`; None when the parameter was left out.
fn one_of(field: &str, value: Option<&str>, allowed: &[&'static str]) -> Outcome<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) => match allowed.iter().find(|a| **a == v) {
            Some(a) => Ok(Some(a.to_string())),
            None => Err(Problem::invalid(
                field,
                format!("{field} must be one of: {}", allowed.join(", ")),
            )),
        },
    }
}

const STATUSES: [&str; 6] = [
    "in_progress",
    "verified",
    "held",
    "failed",
    "removed",
    "abandoned",
];
const FLAG_STATUSES: [&str; 3] = ["open", "cleared", "confirmed"];
const FLAG_KINDS: [&str; 5] = [
    "duplicate_ssn",
    "duplicate_document",
    "many_identities",
    "sim_swap_phone",
    "referee_fraud",
];

/// A period bound: an RFC 3339 time, or a date meaning UTC midnight (with `end_of_day`, the
/// midnight after it, so `to=2026-12-31` counts that whole day).
pub fn period_bound(field: &str, value: Option<&str>, end_of_day: bool) -> Outcome<NaiveDateTime> {
    let bad = || {
        Problem::invalid(
            field,
            format!(
                "{field} must be a date (2026-12-01) or an RFC 3339 time (2026-12-01T08:00:00Z)"
            ),
        )
    };
    let value = value
        .map(str::trim)
        .ok_or_else(|| Problem::invalid(field, format!("{field} is required")))?;
    // Years 1 to 9999 only: outside them times don't sort as text on SQLite.
    let in_range = |t: NaiveDateTime| {
        (1..=9999)
            .contains(&chrono::Datelike::year(&t))
            .then_some(t)
            .ok_or_else(bad)
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return in_range(t.with_timezone(&Utc).naive_utc());
    }
    // Dates only in their one spelling (chrono would also take "2026-1-5").
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(bad());
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad())?;
    let day = if end_of_day {
        day.succ_opt().ok_or_else(bad)?
    } else {
        day
    };
    in_range(day.and_time(NaiveTime::MIN))
}

/// The period of a stats request: both bounds given and `from` before `to`.
pub fn period(q: &StatsQuery) -> Outcome<(NaiveDateTime, NaiveDateTime)> {
    let from = period_bound("from", q.from.as_deref(), false)?;
    let to = period_bound("to", q.to.as_deref(), true)?;
    if from >= to {
        return Err(Problem::invalid("to", "to must be after from"));
    }
    Ok((from, to))
}

// ---- flows ----------------------------------------------------------------------------------

/// Verifications, newest first, filtered by status, person and whether a flag is open.
pub async fn list_verifications(ctx: &Ctx, q: &VerificationQuery) -> Outcome<VerificationPage> {
    let page = page_request(&ctx.settings, q.cursor.as_deref(), q.limit.as_deref())?;
    let after = time_and_id(&page)?;
    let status = one_of("status", q.status.as_deref(), &STATUSES)?;
    let flagged = one_of("flagged", q.flagged.as_deref(), &["true", "false"])?.map(|v| v == "true");
    let user_id = match q.user_id.as_deref() {
        None => None,
        Some(u) if plausible_id(u) => Some(u.to_string()),
        Some(_) => {
            return Err(Problem::invalid(
                "user_id",
                "user_id must be an account id (letters, digits, - and _, at most 64)",
            ))
        }
    };
    let limit = page.limit;
    let rows = ctx
        .db
        .run(move |c| {
            let mut query = iv::table
                .select(Verification::as_select())
                .order((iv::created_at.desc(), iv::id.desc()))
                .limit(limit + 1)
                .into_boxed();
            if let Some(s) = status {
                query = query.filter(iv::status.eq(s));
            }
            if let Some(u) = user_id {
                query = query.filter(iv::user_id.eq(u));
            }
            let open = proofing_flags::table
                .filter(proofing_flags::status.eq("open"))
                .select(proofing_flags::verification_id);
            match flagged {
                Some(true) => query = query.filter(iv::id.eq_any(open)),
                Some(false) => query = query.filter(iv::id.ne_all(open)),
                None => {}
            }
            if let Some((at, id)) = after {
                query = query.filter(
                    iv::created_at
                        .lt(at)
                        .or(iv::created_at.eq(at).and(iv::id.lt(id))),
                );
            }
            let rows: Vec<Verification> = query.load(c)?;
            let ids: Vec<String> = rows.iter().map(|v| v.id.clone()).collect();
            let open_ids: Vec<String> = proofing_flags::table
                .filter(proofing_flags::status.eq("open"))
                .filter(proofing_flags::verification_id.eq_any(&ids))
                .select(proofing_flags::verification_id)
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|v| {
                    let n = open_ids.iter().filter(|i| **i == v.id).count();
                    (v, n as i64)
                })
                .collect::<Vec<_>>())
        })
        .await?;
    let page = pagination::page(rows, limit, |(v, _)| {
        vec![time_key(v.created_at), v.id.clone()]
    });
    Ok(VerificationPage {
        items: page.items.iter().map(|(v, n)| summary(v, *n)).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Reads one verification with everything an operator sees: the person masked, no vendor
/// transcripts, the attempts' addresses only with `show_ips`.
fn detail_in(
    conn: &mut DbConn,
    master: &crate::crypto::MasterKey,
    id: &str,
    show_ips: bool,
) -> anyhow::Result<Option<VerificationDetail>> {
    let Some(v) = records::by_id(conn, id)? else {
        return Ok(None);
    };
    let flags = records::flags_of(conn, &v.id)?;
    let attempts = records::attempts_of(conn, &v.id)?;
    // The data key is needed for the masked view (initials, birth year).
    let key = records::data_key(conn, master, &v.user_id)?;
    // A finished verification's data is in the person's vault: operators never see it.
    let in_vault = crate::proofing::vault::vault_of(conn, &v.id)?.is_some();
    let pii = match &key {
        Some(k) if !in_vault => records::open_pii(k, &v)?,
        _ => Pii::default(),
    };
    Ok(Some(VerificationDetail {
        id: v.id.clone(),
        user_id: v.user_id.clone(),
        status: v.status.clone(),
        step: v.step.clone(),
        origin_client_id: v.origin_client_id.clone(),
        consent_at: utc(v.consent_at),
        consent_version: v.consent_version.clone(),
        document_type: v.document_type.clone(),
        document_issuer: v.document_issuer.clone(),
        document_expiry: v.document_expiry(),
        checks_passed: v
            .passed_checks()
            .into_iter()
            .map(|(check, vendor)| PassedCheck {
                check,
                vendor: match vendor {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
            })
            .collect(),
        last_failure: v.last_failure.clone(),
        created_at: utc(v.created_at),
        updated_at: utc(v.updated_at),
        verified_at: v.verified_at.map(utc),
        expires_at: utc(v.expires_at),
        removed_at: v.removed_at.map(utc),
        removed_by: v.removed_by.clone(),
        removed_reason: v.removed_reason.clone(),
        personal_data_masked: true,
        person: person_view(&pii, false),
        flags: flags.iter().map(flag_view).collect(),
        attempts: attempts
            .iter()
            .map(|a| AttemptView {
                ip: a.ip.clone().filter(|_| show_ips),
                ..attempt_view(a, None)
            })
            .collect(),
    }))
}

/// One verification: flags, attempts, and the person's data as the agent may see it.
pub async fn verification(ctx: &Ctx, agent: &Agent, id: &str) -> Outcome<VerificationDetail> {
    if !plausible_id(id) {
        return Err(Problem::NotFound("verification"));
    }
    let full = reveals_pii(agent);
    let (key, vid) = (ctx.master.clone(), id.to_string());
    let detail = ctx
        .db
        .run(move |c| detail_in(c, &key, &vid, full))
        .await?
        .ok_or(Problem::NotFound("verification"))?;
    if full && detail.person.is_some() {
        // Who read whose identity data: audited, and in the operator's log.
        tracing::info!(
            agent = %agent.client_id,
            verification = %detail.id,
            user = %detail.user_id,
            "proofing personal data read"
        );
        let (uid, vid, who, now) = (
            detail.user_id.clone(),
            detail.id.clone(),
            agent.client_id.clone(),
            ctx.clock.now(),
        );
        ctx.db
            .run(move |c| {
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::ProofingPersonalDataRead,
                        user_id: Some(&uid),
                        client_id: Some(&who),
                        detail: serde_json::json!({ "verification_id": vid }),
                        actor: None,
                    },
                )
            })
            .await?;
    }
    Ok(detail)
}

/// Flags, oldest first (the order to decide them in), filtered by state and kind.
pub async fn list_flags(ctx: &Ctx, q: &FlagQuery) -> Outcome<FlagPage> {
    let page = page_request(&ctx.settings, q.cursor.as_deref(), q.limit.as_deref())?;
    let after = time_and_id(&page)?;
    let status = one_of("status", q.status.as_deref(), &FLAG_STATUSES)?;
    let kind = one_of("kind", q.kind.as_deref(), &FLAG_KINDS)?;
    let limit = page.limit;
    let rows = ctx
        .db
        .run(move |c| {
            let mut query = proofing_flags::table
                .select(Flag::as_select())
                .order((proofing_flags::created_at.asc(), proofing_flags::id.asc()))
                .limit(limit + 1)
                .into_boxed();
            if let Some(s) = status {
                query = query.filter(proofing_flags::status.eq(s));
            }
            if let Some(k) = kind {
                query = query.filter(proofing_flags::kind.eq(k));
            }
            if let Some((at, id)) = after {
                query = query.filter(
                    proofing_flags::created_at
                        .gt(at)
                        .or(proofing_flags::created_at
                            .eq(at)
                            .and(proofing_flags::id.gt(id))),
                );
            }
            Ok(query.load(c)?)
        })
        .await?;
    let page = pagination::page(rows, limit, |f: &Flag| {
        vec![time_key(f.created_at), f.id.clone()]
    });
    Ok(FlagPage {
        items: page.items.iter().map(flag_view).collect(),
        next_cursor: page.next_cursor,
    })
}

/// What a resolution did, read inside its transaction.
struct Resolved {
    flag: Flag,
    before: Status,
    after: Status,
}

/// Clears or confirms an open flag, once: the flag is looked up by its id (the person is
/// whoever it belongs to), and of two agents deciding it at once one wins and the other gets
/// 409. Audited with the agent; clearing the last holding flag lets the verification count,
/// which the person is told.
pub async fn resolve_flag(
    ctx: &Ctx,
    agent: &Agent,
    flag_id: &str,
    decision: FlagDecision,
    req: ResolveFlagRequest,
) -> Outcome<FlagResolved> {
    if !plausible_id(flag_id) {
        return Err(Problem::NotFound("flag"));
    }
    let reason = checked_reason(ctx, &req.reason)?;
    let (fid, who, now) = (
        flag_id.to_string(),
        agent.client_id.clone(),
        ctx.clock.now(),
    );
    let ssf = ctx.settings.ssf.clone();
    let resolved = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Outcome<Resolved>> {
                let owner: Option<(String, String)> = proofing_flags::table
                    .find(&fid)
                    .select((proofing_flags::user_id, proofing_flags::verification_id))
                    .first(c)
                    .optional()?;
                let Some((user_id, verification_id)) = owner else {
                    return Ok(Err(Problem::NotFound("flag")));
                };
                // Taken before reading the status, so "before" is what the decision changed.
                records::lock_person(c, &user_id)?;
                let was_verified = crate::ssf::signals::identity_verified(c, &user_id)?;
                let before = records::by_id(c, &verification_id)?
                    .and_then(|v| v.status())
                    .unwrap_or(Status::Failed);
                let (flag, after) =
                    match records::resolve_flag(c, &fid, decision, &reason, &who, now)? {
                        FlagResolution::Resolved {
                            flag,
                            verification_status,
                        } => (flag, verification_status),
                        FlagResolution::NotFound => return Ok(Err(Problem::NotFound("flag"))),
                        FlagResolution::AlreadyResolved => {
                            return Ok(Err(Problem::conflict(
                                None,
                                "This flag was already decided.",
                            )))
                        }
                    };
                let event = |kind: Kind, detail: serde_json::Value| audit::Event {
                    kind,
                    user_id: Some(&user_id),
                    client_id: Some(&who),
                    detail,
                    actor: None,
                };
                audit::record(
                    c,
                    now,
                    event(
                        Kind::ProofingFlagResolved,
                        serde_json::json!({
                            "flag_id": flag.id,
                            "verification_id": flag.verification_id,
                            "kind": flag.kind,
                            "decision": flag.status,
                            "reason": reason,
                            "verification_status": after.as_str(),
                        }),
                    ),
                )?;
                if before != Status::Verified && after == Status::Verified {
                    audit::record(
                        c,
                        now,
                        event(
                            Kind::IdentityVerified,
                            serde_json::json!({
                                "verification": flag.verification_id,
                                "after_review": true,
                            }),
                        ),
                    )?;
                }
                crate::ssf::signals::identity_assurance_since(
                    c,
                    &ssf,
                    now,
                    &user_id,
                    crate::ssf::signals::By::Operator(
                        "identity verification reviewed by an operator",
                    ),
                    was_verified,
                )?;
                Ok(Ok(Resolved {
                    flag,
                    before,
                    after,
                }))
            })
        })
        .await??;
    if resolved.before != Status::Verified && resolved.after == Status::Verified {
        let notice = Notice::IdentityVerified {
            at: now,
            not_me_link: not_me_link_for(ctx, &resolved.flag.user_id).await?,
        };
        notices::tell_account(
            ctx,
            &resolved.flag.user_id,
            None,
            Texts::DefaultPhone,
            &notice,
        )
        .await?;
    }
    Ok(FlagResolved {
        flag: flag_view(&resolved.flag),
        verification_status: resolved.after.as_str().to_string(),
    })
}

/// A "this wasn't me" link to the person's primary address (alerts carry one).
async fn not_me_link_for(ctx: &Ctx, user_id: &str) -> anyhow::Result<String> {
    let uid = user_id.to_string();
    let email = ctx
        .db
        .run(move |c| Ok(crate::accounts::users::by_id(c, &uid)?.map(|u| u.email)))
        .await?
        .unwrap_or_default();
    crate::accounts::login::not_me_link(ctx, user_id, &email).await
}

/// Removes the identity data of the person a verification belongs to, as
/// `proofing::flow::remove` does for the person themselves: every verification of theirs is
/// marked removed, sealed fields, hashes and images dropped, and their data key deleted (so
/// transcripts can't be read any more); their verified identity stops counting at once. Audited
/// with the agent as `by` and as the acting client, and the person is told (email and default
/// phone). The verification is looked up by its id (the person is whoever it belongs to); one
/// already removed gets 409, and of two agents removing at once one wins and the other gets 409.
pub async fn remove(ctx: &Ctx, agent: &Agent, id: &str, req: RemoveRequest) -> Outcome<Removal> {
    if !plausible_id(id) {
        return Err(Problem::NotFound("verification"));
    }
    let reason = checked_reason(ctx, &req.reason)?;
    let vid = id.to_string();
    let found = ctx
        .db
        .run(move |c| Ok(records::by_id(c, &vid)?.map(|v| (v.user_id, v.removed_at))))
        .await?;
    let user_id = match found {
        None => return Err(Problem::NotFound("verification")),
        Some((_, Some(_))) => {
            return Err(Problem::conflict(
                None,
                "This verification was already removed.",
            ))
        }
        Some((user_id, None)) => user_id,
    };
    // `remove_all` takes the person's lock and removes only what isn't removed yet: an agent
    // who lost the race removes nothing and is told so.
    let removed =
        crate::proofing::flow::remove(ctx, &user_id, Some(&agent.client_id), Some(&reason), None)
            .await?;
    if !removed {
        return Err(Problem::conflict(
            None,
            "This verification was already removed.",
        ));
    }
    let verification = verification(ctx, agent, id).await?;
    // Everything that removal marked: same person, same instant, same agent.
    let (uid, at, by) = (
        user_id,
        verification.removed_at.map(|t| t.naive_utc()),
        agent.client_id.clone(),
    );
    let removed: i64 = ctx
        .db
        .run(move |c| {
            Ok(iv::table
                .filter(iv::user_id.eq(uid))
                .filter(iv::removed_at.eq(at))
                .filter(iv::removed_by.eq(by))
                .count()
                .get_result(c)?)
        })
        .await?;
    Ok(Removal {
        verifications_removed: u32::try_from(removed).unwrap_or(u32::MAX),
        verification,
    })
}

/// Verifications started in the period by their status now, and vendor attempts made in it
/// by check and outcome.
pub async fn stats(ctx: &Ctx, q: &StatsQuery) -> Outcome<ProofingStats> {
    let (from, to) = period(q)?;
    let (by_status, by_check) = ctx
        .db
        .run(move |c| {
            let by_status: Vec<(String, i64)> = iv::table
                .filter(iv::created_at.ge(from))
                .filter(iv::created_at.lt(to))
                .group_by(iv::status)
                .select((iv::status, diesel::dsl::count_star()))
                .load(c)?;
            let by_check: Vec<(String, String, i64)> = proofing_attempts::table
                .filter(proofing_attempts::created_at.ge(from))
                .filter(proofing_attempts::created_at.lt(to))
                .group_by((proofing_attempts::check_kind, proofing_attempts::outcome))
                .select((
                    proofing_attempts::check_kind,
                    proofing_attempts::outcome,
                    diesel::dsl::count_star(),
                ))
                .load(c)?;
            Ok((by_status, by_check))
        })
        .await?;
    let mut verifications = StatusCounts::default();
    for (status, n) in by_status {
        let n = u64::try_from(n).unwrap_or(0);
        match Status::parse(&status) {
            Some(Status::InProgress) => verifications.in_progress += n,
            Some(Status::Verified) => verifications.verified += n,
            Some(Status::Held) => verifications.held += n,
            Some(Status::Failed) => verifications.failed += n,
            Some(Status::Removed) => verifications.removed += n,
            Some(Status::Abandoned) => verifications.abandoned += n,
            None => {}
        }
    }
    let mut attempts = AttemptCounts::default();
    for (check, outcome, n) in by_check {
        let counts = match check.as_str() {
            c if c == CheckKind::Document.as_str() => &mut attempts.document,
            c if c == CheckKind::Selfie.as_str() => &mut attempts.selfie,
            c if c == CheckKind::Records.as_str() => &mut attempts.records,
            c if c == CheckKind::StateId.as_str() => &mut attempts.state_id,
            c if c == CheckKind::Phone.as_str() => &mut attempts.phone,
            _ => continue,
        };
        let n = u64::try_from(n).unwrap_or(0);
        match outcome.as_str() {
            "passed" => counts.passed += n,
            "failed" => counts.failed += n,
            "unavailable" => counts.unavailable += n,
            "running" => counts.running += n,
            _ => {}
        }
    }
    Ok(ProofingStats {
        from: utc(from),
        to: utc(to),
        verifications,
        attempts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proofing::document::{Address, DocumentFields, DocumentType};

    fn agent(scopes: &[&str]) -> Agent {
        Agent {
            client_id: "desk".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn only_a_token_naming_the_pii_scope_reveals_personal_data() {
        assert!(!reveals_pii(&agent(&["verity:admin"])));
        assert!(!reveals_pii(&agent(&["verity:admin:proofing"])));
        assert!(reveals_pii(&agent(&["verity:admin:proofing:pii"])));
        // The pii scope includes the area; verity:admin grants the area.
        assert!(agent(&["verity:admin:proofing:pii"]).may(Area::Proofing));
        assert!(agent(&["verity:admin"]).may(Area::Proofing));
        assert!(!agent(&["verity:admin:users:write"]).may(Area::Proofing));
    }

    fn pii() -> Pii {
        let address = Address {
            street_address: "1 Main St\nApt 2".into(),
            locality: "Richmond".into(),
            region: "VA".into(),
            postal_code: "23219".into(),
            country: "US".into(),
        };
        Pii {
            document: Some(DocumentFields {
                document_type: DocumentType::DriversLicense,
                given_name: "ángela".into(),
                middle_name: Some("Marie".into()),
                family_name: "Ruiz".into(),
                birthdate: NaiveDate::from_ymd_opt(1990, 4, 1).unwrap(),
                document_number: "T1234567".into(),
                expiry: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
                issued: None,
                issuer: "VA".into(),
                address: Some(address),
            }),
            address: None,
            ssn: Some("123-45-6789".into()),
            phone: Some("+12015550123".into()),
            pending_phone: None,
        }
    }

    #[test]
    fn masked_person_shows_initials_birth_year_state_and_no_numbers() {
        let p = person_view(&pii(), false).unwrap();
        assert_eq!(p.given_name.as_deref(), Some("Á."));
        assert_eq!(p.middle_name.as_deref(), Some("M."));
        assert_eq!(p.family_name.as_deref(), Some("R."));
        assert_eq!(p.birth_year, Some(1990));
        assert_eq!(p.birthdate, None);
        assert_eq!(p.ssn_last4, None);
        assert_eq!(p.document_number, None);
        let a = p.address.unwrap();
        assert_eq!((a.region.as_str(), a.country.as_str()), ("VA", "US"));
        assert_eq!(
            (a.street_address, a.locality, a.postal_code),
            (None, None, None)
        );
        let phone = p.phone.unwrap();
        assert!(phone.ends_with("0123") && !phone.contains("555"), "{phone}");
    }

    #[test]
    fn full_person_shows_everything_but_the_whole_ssn() {
        let p = person_view(&pii(), true).unwrap();
        assert_eq!(p.given_name.as_deref(), Some("ángela"));
        assert_eq!(p.birthdate, NaiveDate::from_ymd_opt(1990, 4, 1));
        assert_eq!(p.ssn_last4.as_deref(), Some("6789"));
        assert_eq!(p.document_number.as_deref(), Some("T1234567"));
        assert_eq!(p.address.unwrap().postal_code.as_deref(), Some("23219"));
        assert_eq!(p.phone.as_deref(), Some("+12015550123"));
        assert!(person_view(&Pii::default(), true).is_none());
    }

    #[test]
    fn periods_take_dates_and_times_and_name_the_bad_bound() {
        let q = |from: Option<&str>, to: Option<&str>| StatsQuery {
            from: from.map(str::to_string),
            to: to.map(str::to_string),
        };
        let (from, to) = period(&q(Some("2026-12-01"), Some("2026-12-01"))).unwrap();
        assert_eq!(
            to - from,
            chrono::Duration::days(1),
            "a date as `to` is its whole day"
        );
        let (from, _) = period(&q(Some("2026-12-01T08:00:00+01:00"), Some("2026-12-02"))).unwrap();
        assert_eq!(time_key(from), "2026-12-01T07:00:00");
        for (f, t, field) in [
            (None, Some("2026-12-01"), "from"),
            (Some("2026-12-01"), None, "to"),
            (Some("2026-13-01"), Some("2026-12-01"), "from"),
            (Some("2026-1-5"), Some("2026-12-01"), "from"),
            (Some("yesterday"), Some("2026-12-01"), "from"),
            (Some("2026-12-01"), Some("2026-02-30"), "to"),
            (Some("2026-12-02"), Some("2026-12-01"), "to"),
            (
                Some("2026-12-01T00:00:00Z"),
                Some("2026-12-01T00:00:00Z"),
                "to",
            ),
            (Some(""), Some("2026-12-01"), "from"),
            (Some("9999-12-31"), Some("9999-12-31"), "to"),
        ] {
            match period(&q(f, t)) {
                Err(Problem::Invalid {
                    field: Some(got), ..
                }) => assert_eq!(got, field, "{f:?} {t:?}"),
                other => panic!("{f:?} {t:?}: {other:?}"),
            }
        }
    }
}

// ---- letters (verify by mail) ----------------------------------------------------------------

/// A letter waiting for the printer, with the name and address it goes to (personal data:
/// `verity:admin:proofing:pii` only). The code is not in this list; it is only in the CSV for
/// the printer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LetterView {
    pub id: String,
    pub verification_id: String,
    pub user_id: String,
    pub name: String,
    pub address: AddressView,
    pub requested_at: DateTime<Utc>,
    /// The code works until then.
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LetterPage {
    pub items: Vec<LetterView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /proofing/letters` and `/proofing/letters.csv`: a page of queued letters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LetterQuery {
    /// `next_cursor` of the previous page; leave out for the first page.
    pub cursor: Option<String>,
    /// Items per page (the default and the maximum are configured).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
}

/// `POST /proofing/letters/{id}/sent`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LetterSent {
    pub id: String,
    /// Always `sent`.
    pub status: String,
    pub sent_at: DateTime<Utc>,
}

/// One queued letter opened for the printer.
pub struct Printable {
    pub letter: records::Letter,
    pub mailing: records::Mailing,
}

/// Queued letters, oldest first, opened; every person whose letter is read is audited
/// (`proofing_personal_data_read`, with what was read), in the same transaction.
async fn queued(
    ctx: &Ctx,
    agent: &Agent,
    q: &LetterQuery,
    what: &'static str,
) -> Outcome<(Vec<Printable>, Option<String>)> {
    let page = page_request(&ctx.settings, q.cursor.as_deref(), q.limit.as_deref())?;
    let after = time_and_id(&page)?;
    let limit = page.limit;
    let (master, who, now) = (ctx.master.clone(), agent.client_id.clone(), ctx.clock.now());
    let rows = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| {
                use crate::storage::schema::proofing_letters as pl;
                let mut query = pl::table
                    .filter(pl::status.eq(records::letter_status::QUEUED))
                    .select(records::Letter::as_select())
                    .order((pl::requested_at.asc(), pl::id.asc()))
                    .limit(limit + 1)
                    .into_boxed();
                if let Some((at, id)) = after {
                    query = query.filter(
                        pl::requested_at
                            .gt(at)
                            .or(pl::requested_at.eq(at).and(pl::id.gt(id))),
                    );
                }
                let letters: Vec<records::Letter> = query.load(c)?;
                let mut out = Vec::with_capacity(letters.len());
                for letter in letters {
                    let Some(key) = records::data_key(c, &master, &letter.user_id)? else {
                        continue;
                    };
                    let Some(mailing) = records::open_mailing(&key, &letter)? else {
                        continue;
                    };
                    // The extra row only tells whether there is a next page: not read.
                    if (out.len() as i64) < limit {
                        audit::record(
                            c,
                            now,
                            audit::Event {
                                kind: Kind::ProofingPersonalDataRead,
                                user_id: Some(&letter.user_id),
                                client_id: Some(&who),
                                detail: serde_json::json!({
                                    "verification_id": letter.verification_id,
                                    "letter_id": letter.id,
                                    "read": what,
                                }),
                                actor: None,
                            },
                        )?;
                    }
                    out.push(Printable { letter, mailing });
                }
                Ok::<_, anyhow::Error>(out)
            })
        })
        .await?;
    let page = pagination::page(rows, limit, |p: &Printable| {
        vec![time_key(p.letter.requested_at), p.letter.id.clone()]
    });
    Ok((page.items, page.next_cursor))
}

fn full_address(a: &crate::proofing::document::Address) -> AddressView {
    AddressView {
        street_address: Some(a.street_address.clone()),
        locality: Some(a.locality.clone()),
        region: a.region.clone(),
        postal_code: Some(a.postal_code.clone()),
        country: a.country.clone(),
    }
}

/// Letters waiting for the printer, oldest first, with names and addresses.
pub async fn list_letters(ctx: &Ctx, agent: &Agent, q: &LetterQuery) -> Outcome<LetterPage> {
    let (items, next_cursor) = queued(ctx, agent, q, "letter_list").await?;
    Ok(LetterPage {
        items: items
            .into_iter()
            .map(|p| LetterView {
                id: p.letter.id,
                verification_id: p.letter.verification_id,
                user_id: p.letter.user_id,
                name: p.mailing.name,
                address: full_address(&p.mailing.address),
                requested_at: utc(p.letter.requested_at),
                expires_at: utc(p.letter.expires_at),
            })
            .collect(),
        next_cursor,
    })
}

/// A CSV cell a spreadsheet won't run: a leading `=`, `+`, `-`, `@` (or tab, carriage return)
/// gets a `'`; quoted when it holds a comma, quote or line break.
pub fn csv_cell(raw: &str) -> String {
    let mut s = raw.replace(['\r', '\n'], " ");
    if s.starts_with(['=', '+', '-', '@', '\t']) {
        s.insert(0, '\'');
    }
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The queued letters as CSV for the print vendor (a header row, then one row per letter,
/// oldest first; a page of them, with the next page's cursor).
pub async fn letters_csv(
    ctx: &Ctx,
    agent: &Agent,
    q: &LetterQuery,
) -> Outcome<(String, Option<String>)> {
    let (items, next_cursor) = queued(ctx, agent, q, "letter_csv").await?;
    let mut out = String::from(
        "letter_id,name,street_line_1,street_line_2,city,state,postal_code,country,code,\
         code_expires_on\r\n",
    );
    for p in items {
        let m = &p.mailing;
        let mut street = m.address.street_address.lines();
        let line1 = street.next().unwrap_or("").to_string();
        let line2 = street.collect::<Vec<_>>().join(" ");
        let expires = p.letter.expires_at.date().format("%Y-%m-%d").to_string();
        let cells = [
            p.letter.id.as_str(),
            m.name.as_str(),
            line1.as_str(),
            line2.as_str(),
            m.address.locality.as_str(),
            m.address.region.as_str(),
            m.address.postal_code.as_str(),
            m.address.country.as_str(),
            m.code.as_str(),
            expires.as_str(),
        ];
        out.push_str(&cells.map(csv_cell).join(","));
        out.push_str("\r\n");
    }
    Ok((out, next_cursor))
}

/// A letter's code as printed: groups of five (four when the length isn't a multiple of five)
/// separated by spaces, which the code page accepts as typed.
pub fn grouped(code: &str) -> String {
    let size = if code.len().is_multiple_of(5) { 5 } else { 4 };
    let chars: Vec<char> = code.chars().collect();
    chars
        .chunks(size)
        .map(|g| g.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One queued letter's page, in the person's language.
fn printed(
    ctx: &Ctx,
    p: &Printable,
    lang: crate::i18n::Lang,
    now: NaiveDateTime,
) -> crate::proofing::letter_pdf::PrintedLetter {
    use fluent_bundle::FluentValue;
    let dates =
        crate::local_time::LocalTime::new(crate::local_time::site_default(&ctx.settings), lang);
    let settings = &ctx.settings;
    let site = || FluentValue::from(settings.site_name.clone());
    let m = &p.mailing;
    let mut address = vec![m.name.clone()];
    address.extend(
        m.address
            .street_address
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string),
    );
    let city = format!(
        "{}, {} {}",
        m.address.locality.trim(),
        m.address.region.trim(),
        m.address.postal_code.trim()
    );
    address.push(city.trim_matches([',', ' ']).to_string());
    let country = m.address.country.trim();
    if !country.is_empty() && !country.eq_ignore_ascii_case("US") {
        address.push(country.to_string());
    }
    let until = FluentValue::from(dates.date(p.letter.expires_at));
    crate::proofing::letter_pdf::PrintedLetter {
        sender: settings.site_name.clone(),
        date: dates.date(now),
        address,
        heading: lang.t_args("letter-pdf-heading", &[("site", site())]),
        intro: vec![lang.t_args("letter-pdf-intro", &[("site", site())])],
        code: grouped(&m.code),
        after: vec![
            lang.t_args("letter-pdf-until", &[("until", until)]),
            lang.t_args("letter-pdf-where", &[("site", site())]),
        ],
        link: format!("{}/verify/letter", settings.issuer),
        footer: lang.t_args(
            "letter-pdf-not-you",
            &[
                ("site", site()),
                (
                    "help",
                    FluentValue::from(format!("{}/help", settings.issuer)),
                ),
            ],
        ),
    }
}

/// The queued letters as PDF for the print vendor: one page per letter (the same page of
/// letters as the CSV, oldest first, with the next page's cursor), each in the person's
/// language: the name and address, the date, a few lines on what the code is for, the code in
/// large grouped characters, until when it works and where to enter it. Audited like the list
/// (`read: letter_pdf`).
pub async fn letters_pdf(
    ctx: &Ctx,
    agent: &Agent,
    q: &LetterQuery,
) -> Outcome<(Vec<u8>, Option<String>)> {
    let (items, next_cursor) = queued(ctx, agent, q, "letter_pdf").await?;
    let ids: Vec<String> = items.iter().map(|p| p.letter.user_id.clone()).collect();
    let langs: std::collections::HashMap<String, crate::i18n::Lang> = ctx
        .db
        .run(move |c| {
            use crate::storage::schema::users;
            let rows: Vec<(String, Option<String>)> = users::table
                .filter(users::id.eq_any(&ids))
                .select((users::id, users::locale))
                .load(c)?;
            Ok(rows
                .into_iter()
                .map(|(id, locale)| {
                    let lang = locale
                        .as_deref()
                        .and_then(crate::i18n::Lang::parse)
                        .unwrap_or_default();
                    (id, lang)
                })
                .collect())
        })
        .await?;
    let now = ctx.clock.now();
    let pages: Vec<_> = items
        .iter()
        .map(|p| {
            let lang = langs.get(&p.letter.user_id).copied().unwrap_or_default();
            printed(ctx, p, lang, now)
        })
        .collect();
    let title = format!("{} letters", ctx.settings.site_name);
    Ok((
        crate::proofing::letter_pdf::render(&pages, &title),
        next_cursor,
    ))
}

/// The printer has the letter: it is `sent` and the sealed name, address and code are
/// dropped; the person is e-mailed that it was mailed (see [`crate::proofing::flow::send_letter_mail`]).
/// Audited; not queued (already sent, used, void or cancelled): 409.
pub async fn mark_letter_sent(ctx: &Ctx, agent: &Agent, id: &str) -> Outcome<LetterSent> {
    if !plausible_id(id) {
        return Err(Problem::NotFound("letter"));
    }
    let (lid, who, now) = (id.to_string(), agent.client_id.clone(), ctx.clock.now());
    let done = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| {
                let Some(letter) = records::letter_by_id(c, &lid)? else {
                    return Ok::<_, anyhow::Error>(None);
                };
                if !records::mark_letter_sent(c, &lid, &who, now)? {
                    return Ok(Some(false));
                }
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::IdentityLetterSent,
                        user_id: Some(&letter.user_id),
                        client_id: Some(&who),
                        detail: serde_json::json!({
                            "verification": letter.verification_id,
                            "letter": letter.id,
                        }),
                        actor: None,
                    },
                )?;
                Ok(Some(true))
            })
        })
        .await?;
    match done {
        None => Err(Problem::NotFound("letter")),
        Some(false) => Err(Problem::Conflict {
            field: None,
            message: "the letter is not waiting for the printer (already sent, used or cancelled)"
                .into(),
        }),
        Some(true) => {
            // The "letter sent" e-mail is owed from the commit above (the row is its queue):
            // sent now, or by housekeeping if this fails or the node stops first.
            let mail = crate::proofing::flow::send_letter_mail(ctx, id, records::LetterMail::Sent);
            if let Err(e) = mail.await {
                tracing::warn!(error = %format!("{e:#}"), "letter sent e-mail");
            }
            Ok(LetterSent {
                id: id.to_string(),
                status: records::letter_status::SENT.into(),
                sent_at: utc(now),
            })
        }
    }
}

#[cfg(test)]
mod letter_tests {
    use super::{csv_cell, grouped};

    #[test]
    fn printed_codes_are_grouped() {
        assert_eq!(grouped("ABCDE12345"), "ABCDE 12345");
        assert_eq!(grouped("ABCDEFGHJKMN"), "ABCD EFGH JKMN");
        assert_eq!(grouped("ABCDEFGHJKMNP"), "ABCD EFGH JKMN P");
    }

    #[test]
    fn csv_cells_never_run_as_formulas_and_stay_one_cell() {
        assert_eq!(csv_cell("1 Main St"), "1 Main St");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM"), "'@SUM");
        assert_eq!(csv_cell("Apt 2, Unit B"), "\"Apt 2, Unit B\"");
        assert_eq!(csv_cell("a\r\nb"), "a  b");
    }
}
