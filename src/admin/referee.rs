//! Verification with an agent (trusted referee): the rules agents work cases by, the same
//! through the management API (`verity:admin:referee`, named on the token) and at the agent
//! desk Verity serves (`/referee`, web/referee.rs).
//!
//! **Who acts** ([`Worker`]). Through the API the token is the operator's tooling (an admin
//! client), and the person at the keyboard is named by `agent_id` in each case request. At the
//! desk the agent is the signed-in account (second factor, stepped up) that an operator linked
//! to the agent (`user_id`). Either way the agent must be registered, not disabled, and
//! certified now, and no agent works a case of their own account. Every step is audited with
//! the agent, and the admin client or the desk's browser.
//!
//! **Personal data.** A case's evidence (document fields, address, SSN's last 4, check
//! results, flags, and the document images and selfie if they are still kept) is shown only to
//! the agent who claimed the case, and only while it is open; every read is audited. Decided
//! or expired cases show none.
//!
//! **Decisions.** `verified` records the trusted-referee check (`referee`) and moves the
//! verification to the password step: the person finishes it at `/verify/protect` as on the
//! online path (it is sealed in their vault then), and is e-mailed so. `not_verified` ends the
//! verification; `fraud_suspected` ends it and raises a `referee_fraud` flag that holds.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::admin::auth::Agent as AdminClient;
use crate::admin::keys::utc;
use crate::admin::proofing::{
    attempt_view, checked_reason, flag_view, period_bound, person_view, AttemptView, FlagView,
    PersonView,
};
use crate::admin::{no_control_chars, plausible_id, Outcome, Problem};
use crate::audit::{self, Kind};
use crate::notify::notices::{self, Notice};
use crate::proofing::records::{self, FlagKind, ImageKind, Status, Step};
use crate::proofing::referee::{self as rules, Case};
use crate::storage::db::{write_tx, DbConn};
use crate::storage::schema::{referee_agents as ra, referee_cases as rc, users};
use crate::Ctx;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = ra)]
pub struct RefereeAgent {
    pub id: String,
    pub name: String,
    pub email: String,
    pub certified_until: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub disabled: bool,
    /// The Verity account that works cases at the desk; none: API only.
    pub user_id: Option<String>,
}

/// Who works a case.
#[derive(Clone, Debug)]
pub enum Worker {
    /// The operator's tooling (an admin client) naming the agent at the keyboard.
    Tooling { client_id: String, agent_id: String },
    /// An agent signed in at the desk, found by their account.
    Desk {
        user_id: String,
        actor: audit::Actor,
    },
}

impl Worker {
    pub fn tooling(admin: &AdminClient, agent_id: &str) -> Worker {
        Worker::Tooling {
            client_id: admin.client_id.clone(),
            agent_id: agent_id.to_string(),
        }
    }

    fn client_id(&self) -> Option<&str> {
        match self {
            Worker::Tooling { client_id, .. } => Some(client_id),
            Worker::Desk { .. } => None,
        }
    }

    fn actor(&self) -> Option<&audit::Actor> {
        match self {
            Worker::Tooling { .. } => None,
            Worker::Desk { actor, .. } => Some(actor),
        }
    }

    fn via(&self) -> &'static str {
        match self {
            Worker::Tooling { .. } => "api",
            Worker::Desk { .. } => "desk",
        }
    }
}

// ---- views and requests ------------------------------------------------------------------------

/// A registered agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Training/certification valid until then; after it the agent can't claim or decide.
    pub certified_until: DateTime<Utc>,
    pub certified: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// The account that works cases at the agent desk (`/referee`); null: through the API only.
    pub user_id: Option<String>,
}

fn agent_view(a: &RefereeAgent, now: NaiveDateTime) -> AgentView {
    AgentView {
        id: a.id.clone(),
        name: a.name.clone(),
        email: a.email.clone(),
        certified_until: utc(a.certified_until),
        certified: a.certified_until > now && !a.disabled,
        disabled: a.disabled,
        created_at: utc(a.created_at),
        user_id: a.user_id.clone(),
    }
}

/// Body of `POST /referee/agents`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(min_length = 3, max_length = 320)]
    pub email: String,
    /// A date (valid through that day, UTC) or an RFC 3339 time.
    pub certified_until: String,
    /// The agent's own Verity account, which then works cases at the agent desk (`/referee`)
    /// after signing in with its second factor. One agent per account.
    pub user_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    pub agents: Vec<AgentView>,
}

/// A case in the operators' list (no personal data).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    pub id: String,
    pub user_id: String,
    pub verification_id: String,
    /// `scheduled`, `queued`, `claimed`, `verified`, `not_verified`, `fraud_suspected`,
    /// `expired` or `cancelled`.
    pub status: String,
    /// The booked slot; null for the next-available queue.
    pub slot_start: Option<DateTime<Utc>>,
    /// For a queued case: its place (1 is next).
    pub queue_position: Option<u64>,
    /// The step the online verification failed on (`document`, `selfie`, `ssn`, `review`).
    pub from_step: String,
    pub meeting_link: String,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<DateTime<Utc>>,
    /// The person read out the continuation code and it matched.
    pub code_confirmed: bool,
    pub decision: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub consent_at: DateTime<Utc>,
    pub consent_version: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// How long it has waited (created until now, or until claimed).
    pub waited_minutes: i64,
}

/// The queue and the scheduled calls, with the numbers operators plan with.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    /// Cases in the next-available queue.
    pub queue_length: u64,
    /// Booked slots still to come or under way, and calls claimed now.
    pub scheduled: u64,
    pub claimed: u64,
    /// The last in the queue's expected wait: queue length × `referee.average_handling_minutes`.
    pub expected_wait_minutes: u64,
    /// How long the oldest queued case has waited.
    pub longest_wait_minutes: i64,
    pub cases: Vec<CaseSummary>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// One status; by default the open ones (scheduled, queued, claimed).
    pub status: Option<String>,
}

/// The agent acting (checked against the registry).
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActingAgent {
    pub agent_id: String,
}

/// Body of `POST /referee/cases/{id}/checks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordChecks {
    pub agent_id: String,
    /// The code the person read out at the start of the call: checked against the case's,
    /// once (a used code is refused).
    pub continuation_code: Option<String>,
    /// What the agent checked in the call, e.g. `{"document_shown": true, "face_matches":
    /// true, "security_questions": "passed"}`. Merged into the case's checks.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub checks: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChecksRecorded {
    pub case: CaseSummary,
    #[schema(value_type = Object)]
    pub checks: serde_json::Value,
}

/// Body of `POST /referee/cases/{id}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decide {
    pub agent_id: String,
    /// `verified`, `not_verified` or `fraud_suspected`.
    #[schema(pattern = "^(verified|not_verified|fraud_suspected)$")]
    pub decision: String,
    #[schema(min_length = 1, max_length = 5000)]
    pub rationale: String,
    /// For `verified` only, what the agent read from the ID on the call that the online steps
    /// never read: the document (when its step failed) and the SSN (when the person never got
    /// to that step). Only the missing parts are taken; a verified identity needs both.
    pub identity: Option<IdentityFromCall>,
}

/// The identity as the agent read it on the call.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityFromCall {
    /// `driving_permit`, `idcard` or `passport`.
    pub document_type: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub family_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birthdate: Option<String>,
    pub document_number: Option<String>,
    /// `YYYY-MM-DD`; not past.
    pub document_expiry: Option<String>,
    /// A US state code for a licence or state ID, the ICAO state (`USA`) for a passport.
    pub issuer: Option<String>,
    /// `{street_address, locality, region, postal_code, country}` (OIDC's structured address).
    #[schema(value_type = Option<Object>)]
    pub address: Option<crate::proofing::document::Address>,
    /// Nine digits (dashes allowed).
    pub ssn: Option<String>,
}

/// Never prints what was read (a log line or a panic message must not carry an SSN).
impl std::fmt::Debug for IdentityFromCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityFromCall(..)")
    }
}

fn short_text(field: &str, value: Option<&str>, max: usize) -> Outcome<String> {
    let v = value.map(str::trim).unwrap_or_default();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(Problem::invalid(
            field,
            format!("identity.{field} is required (1 to {max} characters) when the online steps did not read it"),
        ));
    }
    Ok(v.to_string())
}

fn day(field: &str, value: Option<&str>) -> Outcome<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(value.map(str::trim).unwrap_or_default(), "%Y-%m-%d").map_err(
        |_| {
            Problem::invalid(
                field,
                format!("identity.{field} must be a date, YYYY-MM-DD"),
            )
        },
    )
}

/// The document fields the agent read, checked.
fn document_from_call(
    id: &IdentityFromCall,
    today: chrono::NaiveDate,
) -> Outcome<crate::proofing::document::DocumentFields> {
    use crate::proofing::document::{DocumentFields, DocumentType};
    let document_type = id
        .document_type
        .as_deref()
        .and_then(DocumentType::from_ida_name)
        .ok_or_else(|| {
            Problem::invalid(
                "document_type",
                "identity.document_type must be driving_permit, idcard or passport",
            )
        })?;
    let expiry = day("document_expiry", id.document_expiry.as_deref())?;
    if expiry < today {
        return Err(Problem::invalid(
            "document_expiry",
            "the document has expired",
        ));
    }
    // The issuer is part of the document's duplicate-detection hash: it must be the one the
    // online path would have read, or the same document would slip past that check.
    let issuer = short_text("issuer", id.issuer.as_deref(), 3)?.to_ascii_uppercase();
    let issuer_ok = match document_type {
        DocumentType::Passport => {
            issuer.len() == 3 && issuer.bytes().all(|b| b.is_ascii_uppercase())
        }
        _ => crate::proofing::flow::US_REGIONS.contains(&issuer.as_str()),
    };
    if !issuer_ok {
        return Err(Problem::invalid(
            "issuer",
            "identity.issuer must be the issuing state's code (VA) for a licence or ID card, the ICAO country code (USA) for a passport",
        ));
    }
    let address = match &id.address {
        None => None,
        Some(a) => Some(address_from_call(a)?),
    };
    let middle = match id.middle_name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => Some(short_text("middle_name", Some(m), 100)?),
    };
    Ok(DocumentFields {
        document_type,
        given_name: short_text("given_name", id.given_name.as_deref(), 100)?,
        middle_name: middle,
        family_name: short_text("family_name", id.family_name.as_deref(), 100)?,
        birthdate: day("birthdate", id.birthdate.as_deref())?,
        document_number: short_text("document_number", id.document_number.as_deref(), 40)?,
        expiry,
        issued: None,
        issuer,
        address,
    })
}

/// An address the agent read, checked as the person's own address form is (a US address).
fn address_from_call(
    a: &crate::proofing::document::Address,
) -> Outcome<crate::proofing::document::Address> {
    let country = a.country.trim();
    if !(country.is_empty() || country.eq_ignore_ascii_case("US")) {
        return Err(Problem::invalid(
            "address",
            "identity.address must be a US address",
        ));
    }
    let (street1, street2) = a
        .street_address
        .split_once('\n')
        .unwrap_or((a.street_address.as_str(), ""));
    let form = crate::proofing::flow::AddressForm {
        street1: street1.to_string(),
        street2: street2.to_string(),
        city: a.locality.clone(),
        state: a.region.clone(),
        zip: a.postal_code.clone(),
    };
    crate::proofing::flow::parse_address(&form).map_err(|fields| {
        Problem::invalid(
            "address",
            format!(
                "identity.address is not a usable US address (check {})",
                fields.join(", ")
            ),
        )
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Decided {
    pub case: CaseSummary,
    /// The verification's status now (`in_progress` on the password step after `verified`).
    pub verification_status: String,
    pub verification_step: String,
}

/// A document image or the selfie, while still kept and the case open.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    /// `front`, `back` or `selfie`.
    pub kind: String,
    pub content_type: String,
    /// Base64 (standard alphabet).
    pub data: String,
}

/// What the claiming agent sees of an open case.
#[derive(Debug, Serialize, ToSchema)]
pub struct Evidence {
    pub case: CaseSummary,
    pub verification_status: String,
    pub verification_step: String,
    pub document_type: Option<String>,
    pub document_issuer: Option<String>,
    pub document_expiry: Option<String>,
    /// The person as the online steps read them (in full).
    pub person: Option<PersonView>,
    /// `{check: vendor}` of the checks that passed online.
    #[schema(value_type = Object)]
    pub passed_checks: serde_json::Value,
    /// The last refusal (`check:reason`).
    pub last_failure: Option<String>,
    pub attempts: Vec<AttemptView>,
    pub flags: Vec<FlagView>,
    pub images: Vec<ImageView>,
    /// What was recorded from the call so far (`POST …/checks`).
    #[schema(value_type = Object)]
    pub checks: serde_json::Value,
    /// The online steps read the person's SSN (an agent's `verified` needs it only otherwise).
    pub ssn_read: bool,
}

// ---- helpers -------------------------------------------------------------------------------------

fn summary(conn: &mut DbConn, case: &Case, now: NaiveDateTime) -> anyhow::Result<CaseSummary> {
    let position = if case.status == rules::QUEUED {
        Some(rules::queue_position(conn, case)?)
    } else {
        None
    };
    Ok(summary_at(case, now, position))
}

/// A case's summary with its place in the queue already known.
fn summary_at(case: &Case, now: NaiveDateTime, position: Option<u64>) -> CaseSummary {
    CaseSummary {
        id: case.id.clone(),
        user_id: case.user_id.clone(),
        verification_id: case.verification_id.clone(),
        status: case.status.clone(),
        slot_start: case.slot_start.map(utc),
        queue_position: position,
        from_step: case.from_step.clone(),
        meeting_link: case.meeting_link.clone(),
        claimed_by: case.claimed_by.clone(),
        claimed_at: case.claimed_at.map(utc),
        code_confirmed: case.code_used_at.is_some(),
        decision: case.decision.clone(),
        decided_at: case.decided_at.map(utc),
        consent_at: utc(case.consent_at),
        consent_version: case.consent_version.clone(),
        created_at: utc(case.created_at),
        expires_at: utc(case.expires_at),
        waited_minutes: (case.claimed_at.unwrap_or(now) - case.created_at).num_minutes(),
    }
}

fn agent_by_id(conn: &mut DbConn, id: &str) -> anyhow::Result<Option<RefereeAgent>> {
    Ok(ra::table
        .find(id)
        .select(RefereeAgent::as_select())
        .first(conn)
        .optional()?)
}

/// One agent's steps (claim, release, checks, decision) and an operator disabling them run one
/// at a time, on every node: a disable can't miss a claim landing meanwhile, and an agent's
/// own steps can't cross (a code confirmed on a case their other tab just gave back).
fn lock_agent(conn: &mut DbConn, agent_id: &str) -> diesel::QueryResult<()> {
    crate::storage::db::serialize_on(conn, &format!("referee:agent:{agent_id}"))
}

/// A case's steps lost a race they can only see at the end (the case moved under them): the
/// whole transaction rolls back and the caller answers 409.
#[derive(Debug, thiserror::Error)]
#[error("the case moved meanwhile")]
struct CaseMoved;

/// [`CaseMoved`] as the 409 it is; any other error as it is.
fn moved_is_conflict<T>(result: anyhow::Result<Outcome<T>>) -> Outcome<T> {
    match result {
        Ok(outcome) => outcome,
        Err(e) if e.is::<CaseMoved>() => Err(Problem::conflict(
            Some("case"),
            "This case changed meanwhile (given back, expired, decided, or its code replaced): look at it again.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The acting agent, locked ([`lock_agent`]) and read again under the lock: registered,
/// enabled, certified now. 400 unknown (the API's `agent_id`); 403 not an agent (the desk's
/// account), disabled or not certified.
fn acting(
    conn: &mut DbConn,
    worker: &Worker,
    now: NaiveDateTime,
) -> anyhow::Result<Outcome<RefereeAgent>> {
    // Which agent, then their lock, then the row read once under it.
    let id = match worker {
        Worker::Tooling { agent_id, .. } if plausible_id(agent_id) => agent_id.clone(),
        Worker::Tooling { .. } => return Ok(Err(unknown_agent())),
        Worker::Desk { user_id, .. } => {
            let linked: Option<String> = ra::table
                .filter(ra::user_id.eq(user_id))
                .select(ra::id)
                .first(conn)
                .optional()?;
            let Some(id) = linked else {
                return Ok(Err(not_an_agent()));
            };
            id
        }
    };
    lock_agent(conn, &id)?;
    let found = match (agent_by_id(conn, &id)?, worker) {
        (Some(a), Worker::Desk { user_id, .. }) if a.user_id.as_deref() != Some(user_id) => {
            return Ok(Err(not_an_agent()))
        }
        (Some(a), _) => a,
        (None, Worker::Tooling { .. }) => return Ok(Err(unknown_agent())),
        (None, Worker::Desk { .. }) => return Ok(Err(not_an_agent())),
    };
    if found.disabled {
        return Ok(Err(Problem::Forbidden("This agent is disabled.".into())));
    }
    if found.certified_until <= now {
        return Ok(Err(Problem::Forbidden(format!(
            "This agent's certification expired on {}: renew it before they claim or decide cases.",
            utc(found.certified_until).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ))));
    }
    Ok(Ok(found))
}

fn unknown_agent() -> Problem {
    Problem::invalid("agent_id", "agent_id names no registered agent")
}

fn not_an_agent() -> Problem {
    Problem::Forbidden("This account is not a registered agent.".into())
}

/// No agent works a case of their own account (claim, evidence, checks, decision).
fn own_case(agent: &RefereeAgent, case: &Case) -> Outcome<()> {
    if agent.user_id.as_deref() == Some(case.user_id.as_str()) {
        return Err(Problem::Forbidden(
            "An agent can't work a case of their own account.".into(),
        ));
    }
    Ok(())
}

/// The case, claimed by this agent and still open (409 otherwise).
fn claimed_case(
    conn: &mut DbConn,
    case_id: &str,
    agent: &RefereeAgent,
) -> anyhow::Result<Outcome<Case>> {
    let Some(case) = rules::case_by_id(conn, case_id)? else {
        return Ok(Err(Problem::NotFound("case")));
    };
    if let Err(p) = own_case(agent, &case) {
        return Ok(Err(p));
    }
    if case.status != rules::CLAIMED {
        return Ok(Err(Problem::conflict(
            None,
            format!("This case is {}, not claimed and open.", case.status),
        )));
    }
    if case.claimed_by.as_deref() != Some(agent.id.as_str()) {
        return Ok(Err(Problem::conflict(
            Some("agent_id"),
            "Another agent claimed this case.",
        )));
    }
    // The verification must still be waiting for this case (not abandoned, removed or failed
    // meanwhile): nothing of a verification that ended is shown or decided.
    let waiting = records::by_id(conn, &case.verification_id)?.is_some_and(|v| {
        v.status() == Some(records::Status::InProgress) && v.step() == Some(records::Step::Referee)
    });
    if !waiting {
        return Ok(Err(Problem::conflict(
            None,
            "This case's verification is no longer waiting for an agent.",
        )));
    }
    Ok(Ok(case))
}

/// The acting agent ([`acting`], locked) and the case they claimed, still open
/// ([`claimed_case`]): where every step on a claimed case starts.
fn acting_on_claimed(
    conn: &mut DbConn,
    worker: &Worker,
    case_id: &str,
    now: NaiveDateTime,
) -> anyhow::Result<Outcome<(RefereeAgent, Case)>> {
    let agent = match acting(conn, worker, now)? {
        Ok(a) => a,
        Err(p) => return Ok(Err(p)),
    };
    Ok(claimed_case(conn, case_id, &agent)?.map(|case| (agent, case)))
}

fn event<'a>(
    kind: Kind,
    case: &'a Case,
    worker: &'a Worker,
    mut detail: serde_json::Value,
) -> audit::Event<'a> {
    if let Some(d) = detail.as_object_mut() {
        d.insert("via".into(), json!(worker.via()));
    }
    audit::Event {
        kind,
        user_id: Some(&case.user_id),
        client_id: worker.client_id(),
        detail,
        actor: worker.actor(),
    }
}

// ---- agents ------------------------------------------------------------------------------------

pub async fn register_agent(ctx: &Ctx, admin: &AdminClient, req: NewAgent) -> Outcome<AgentView> {
    let name = req.name.trim().to_string();
    let email = req.email.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Problem::invalid("name", "name must be 1 to 200 characters"));
    }
    no_control_chars("name", &name)?;
    if !(3..=320).contains(&email.len()) || !email.contains('@') {
        return Err(Problem::invalid("email", "email must be an e-mail address"));
    }
    no_control_chars("email", &email)?;
    let until = period_bound("certified_until", Some(&req.certified_until), true)?;
    let user_id = match req.user_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) if plausible_id(u) => Some(u.to_string()),
        Some(_) => return Err(Problem::invalid("user_id", "user_id names no account")),
    };
    let now = ctx.clock.now();
    let agent = RefereeAgent {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        email,
        certified_until: until,
        created_at: now,
        created_by: admin.client_id.clone(),
        disabled: false,
        user_id,
    };
    let row = agent.clone();
    ctx.db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Outcome<()>> {
                if let Some(uid) = &row.user_id {
                    // Two registrations of one account at once: one at a time, so the second
                    // sees the first and gets 409 (not the unique index's error).
                    crate::storage::db::serialize_on(c, &format!("referee:account:{uid}"))?;
                    let exists: i64 = users::table
                        .filter(users::id.eq(uid))
                        .count()
                        .get_result(c)?;
                    if exists == 0 {
                        return Ok(Err(Problem::invalid("user_id", "user_id names no account")));
                    }
                    let taken: i64 = ra::table
                        .filter(ra::user_id.eq(uid))
                        .count()
                        .get_result(c)?;
                    if taken > 0 {
                        return Ok(Err(Problem::conflict(
                            Some("user_id"),
                            "This account is already linked to an agent.",
                        )));
                    }
                }
                diesel::insert_into(ra::table).values(&row).execute(c)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::RefereeAgentRegistered,
                        user_id: None,
                        client_id: Some(&row.created_by),
                        detail: json!({
                            "agent": row.id,
                            "certified_until": utc(row.certified_until).to_rfc3339(),
                            "account": row.user_id,
                        }),
                        actor: None,
                    },
                )?;
                Ok(Ok(()))
            })
        })
        .await??;
    Ok(agent_view(&agent, now))
}

/// Disables an agent at once: they can't claim, read or decide any case any more, through the
/// API or at the desk. The cases they hold go back to the queue or their slot (unless the
/// person's code was already confirmed on a call: those stay for an operator to see, and expire).
pub async fn disable_agent(ctx: &Ctx, admin: &AdminClient, agent_id: &str) -> Outcome<AgentView> {
    if !plausible_id(agent_id) {
        return Err(Problem::NotFound("agent"));
    }
    let (aid, who, now) = (
        agent_id.to_string(),
        admin.client_id.clone(),
        ctx.clock.now(),
    );
    let agent = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Outcome<RefereeAgent>> {
                lock_agent(c, &aid)?;
                let n = diesel::update(ra::table.find(&aid))
                    .set(ra::disabled.eq(true))
                    .execute(c)?;
                if n == 0 {
                    return Ok(Err(Problem::NotFound("agent")));
                }
                let released = release_held(c, &aid, None)?;
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::RefereeAgentDisabled,
                        user_id: None,
                        client_id: Some(&who),
                        detail: json!({ "agent": aid, "released_cases": released }),
                        actor: None,
                    },
                )?;
                Ok(agent_by_id(c, &aid)?.ok_or(Problem::NotFound("agent")))
            })
        })
        .await??;
    Ok(agent_view(&agent, now))
}

/// Puts this agent's claimed cases whose code was not confirmed yet back where they were
/// waiting: their slot, or the queue in their old place (the queue is ordered by creation).
/// `only` limits it to one case.
fn release_held(c: &mut DbConn, agent_id: &str, only: Option<&str>) -> anyhow::Result<usize> {
    let mut n = 0;
    for (booked, back_to) in [(true, rules::SCHEDULED), (false, rules::QUEUED)] {
        let mut q = diesel::update(rc::table)
            .filter(rc::status.eq(rules::CLAIMED))
            .filter(rc::claimed_by.eq(agent_id))
            .filter(rc::code_used_at.is_null())
            .into_boxed();
        q = if booked {
            q.filter(rc::slot_start.is_not_null())
        } else {
            q.filter(rc::slot_start.is_null())
        };
        if let Some(id) = only {
            q = q.filter(rc::id.eq(id));
        }
        let back = (
            rc::status.eq(back_to),
            rc::claimed_by.eq(None::<String>),
            rc::claimed_at.eq(None::<NaiveDateTime>),
        );
        n += if booked {
            q.set(back).execute(c)?
        } else {
            // A queued person is told again when the next agent takes it.
            q.set((back, rc::reminded_at.eq(None::<NaiveDateTime>)))
                .execute(c)?
        };
    }
    Ok(n)
}

/// An operator puts back a case held by an agent who can no longer work it (disabled, or
/// certification expired), even when the call had begun: it waits again in its slot or its
/// place in the queue, and the person's code matches once more (the next agent checks it
/// again, and sees the person masked until then). 409 while its agent may still work it.
pub async fn reopen(ctx: &Ctx, admin: &AdminClient, case_id: &str) -> Outcome<CaseSummary> {
    if !plausible_id(case_id) {
        return Err(Problem::NotFound("case"));
    }
    let (cid, who, now) = (
        case_id.to_string(),
        admin.client_id.clone(),
        ctx.clock.now(),
    );
    let result = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Outcome<CaseSummary>> {
                let Some(case) = rules::case_by_id(c, &cid)? else {
                    return Ok(Err(Problem::NotFound("case")));
                };
                let Some(holder) = case
                    .claimed_by
                    .clone()
                    .filter(|_| case.status == rules::CLAIMED)
                else {
                    return Ok(Err(Problem::conflict(
                        None,
                        format!("This case is {}, not claimed.", case.status),
                    )));
                };
                lock_agent(c, &holder)?;
                let stuck =
                    agent_by_id(c, &holder)?.is_none_or(|a| a.disabled || a.certified_until <= now);
                if !stuck {
                    return Ok(Err(Problem::conflict(
                        Some("agent_id"),
                        "Its agent can still work this case: they decide it or give it back.",
                    )));
                }
                let back_to = if case.slot_start.is_some() {
                    rules::SCHEDULED
                } else {
                    rules::QUEUED
                };
                let n = diesel::update(
                    rc::table
                        .filter(rc::id.eq(&cid))
                        .filter(rc::status.eq(rules::CLAIMED))
                        .filter(rc::claimed_by.eq(&holder)),
                )
                .set((
                    rc::status.eq(back_to),
                    rc::claimed_by.eq(None::<String>),
                    rc::claimed_at.eq(None::<NaiveDateTime>),
                    rc::code_used_at.eq(None::<NaiveDateTime>),
                    rc::reminded_at.eq(case.reminded_at.filter(|_| case.slot_start.is_some())),
                ))
                .execute(c)?;
                if n == 0 {
                    return Err(CaseMoved.into());
                }
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::RefereeCaseReleased,
                        user_id: Some(&case.user_id),
                        client_id: Some(&who),
                        detail: json!({
                            "case": case.id,
                            "agent": holder,
                            "by": "operator",
                            "call_had_begun": case.code_used_at.is_some(),
                        }),
                        actor: None,
                    },
                )?;
                let Some(case) = rules::case_by_id(c, &cid)? else {
                    return Ok(Err(Problem::NotFound("case")));
                };
                Ok(Ok(summary(c, &case, now)?))
            })
        })
        .await;
    moved_is_conflict(result)
}

pub async fn list_agents(ctx: &Ctx) -> Outcome<AgentList> {
    let now = ctx.clock.now();
    let agents = ctx
        .db
        .run(|c| {
            Ok(ra::table
                .order(ra::created_at.asc())
                .select(RefereeAgent::as_select())
                .load(c)?)
        })
        .await?;
    Ok(AgentList {
        agents: agents.iter().map(|a| agent_view(a, now)).collect(),
    })
}

// ---- cases -------------------------------------------------------------------------------------

const STATUSES: [&str; 8] = [
    rules::SCHEDULED,
    rules::QUEUED,
    rules::CLAIMED,
    rules::VERIFIED,
    rules::NOT_VERIFIED,
    rules::FRAUD_SUSPECTED,
    rules::EXPIRED,
    rules::CANCELLED,
];

/// The open cases (or those of one status): queued first in queue order, then by slot.
pub async fn list_cases(ctx: &Ctx, q: &CaseQuery) -> Outcome<CaseList> {
    let statuses: Vec<String> = match q.status.as_deref() {
        None => rules::OPEN.iter().map(|s| s.to_string()).collect(),
        Some(s) if STATUSES.contains(&s) => vec![s.to_string()],
        Some(_) => {
            return Err(Problem::invalid(
                "status",
                format!("status must be one of {}", STATUSES.join(", ")),
            ))
        }
    };
    let now = ctx.clock.now();
    let avg = ctx.settings.referee.average_handling_minutes;
    let list = ctx
        .db
        .run(move |c| {
            let cases: Vec<Case> = rc::table
                .filter(rc::status.eq_any(&statuses))
                // The queue (no slot) first on both backends (PostgreSQL sorts NULL last), so
                // the limit never cuts it off behind booked calls.
                .order((
                    rc::slot_start.is_not_null().asc(),
                    rc::slot_start.asc(),
                    rc::created_at.asc(),
                    rc::id.asc(),
                ))
                .limit(500)
                .select(Case::as_select())
                .load(c)?;
            let queue_length = rules::queue_length(c)?;
            let count = |c: &mut DbConn, s: &str| -> anyhow::Result<u64> {
                let n: i64 = rc::table.filter(rc::status.eq(s)).count().get_result(c)?;
                Ok(n.max(0) as u64)
            };
            let scheduled = count(c, rules::SCHEDULED)?;
            let claimed = count(c, rules::CLAIMED)?;
            let oldest: Option<NaiveDateTime> = rc::table
                .filter(rc::status.eq(rules::QUEUED))
                .select(diesel::dsl::min(rc::created_at))
                .first(c)?;
            // The rows come queue first, in the queue's own order (created, then id), so each
            // queued case's place is its count so far: no query per case.
            let mut place = 0;
            let mut out = Vec::with_capacity(cases.len());
            for case in &cases {
                let position = (case.status == rules::QUEUED).then(|| {
                    place += 1;
                    place
                });
                out.push(summary_at(case, now, position));
            }
            // The queue in its order, then the booked slots.
            out.sort_by_key(|s| (s.queue_position.is_none(), s.queue_position, s.slot_start));
            Ok(CaseList {
                queue_length,
                scheduled,
                claimed,
                expected_wait_minutes: queue_length * avg,
                longest_wait_minutes: oldest.map(|o| (now - o).num_minutes()).unwrap_or(0),
                cases: out,
            })
        })
        .await?;
    Ok(list)
}

/// What the agent desk shows: who is signed in as which agent, and the open cases (no personal
/// data), without any case of the agent's own account.
#[derive(Debug)]
pub struct Desk {
    pub agent: AgentView,
    pub list: CaseList,
}

/// The desk of the acting agent (refused as every case request is: not an agent, disabled,
/// not certified).
pub async fn desk(ctx: &Ctx, worker: &Worker) -> Outcome<Desk> {
    let (who, now) = (worker.clone(), ctx.clock.now());
    let agent = ctx
        .db
        .run(move |c| write_tx(c, |c| acting(c, &who, now)))
        .await??;
    let mut list = list_cases(ctx, &CaseQuery { status: None }).await?;
    list.cases
        .retain(|case| agent.user_id.as_deref() != Some(case.user_id.as_str()));
    Ok(Desk {
        agent: agent_view(&agent, now),
        list,
    })
}

/// Claims an open case for an agent, once: of two claims at once one wins, the other gets 409.
/// A queued person is told at once (e-mail and SMS with the meeting link).
pub async fn claim(
    ctx: &Ctx,
    admin: &AdminClient,
    case_id: &str,
    req: ActingAgent,
) -> Outcome<CaseSummary> {
    claim_as(ctx, &Worker::tooling(admin, &req.agent_id), case_id).await
}

/// [`claim`] for any worker.
pub async fn claim_as(ctx: &Ctx, worker: &Worker, case_id: &str) -> Outcome<CaseSummary> {
    if !plausible_id(case_id) {
        return Err(Problem::NotFound("case"));
    }
    let (cid, who, now) = (case_id.to_string(), worker.clone(), ctx.clock.now());
    let most = i64::from(ctx.settings.referee.max_open_claims_per_agent);
    let claimed = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Outcome<CaseSummary>> {
                let agent = match acting(c, &who, now)? {
                    Ok(a) => a,
                    Err(p) => return Ok(Err(p)),
                };
                let Some(before) = rules::case_by_id(c, &cid)? else {
                    return Ok(Err(Problem::NotFound("case")));
                };
                if let Err(p) = own_case(&agent, &before) {
                    return Ok(Err(p));
                }
                // Counted under the agent's lock: a burst of claims can't pass it.
                let held: i64 = rc::table
                    .filter(rc::status.eq(rules::CLAIMED))
                    .filter(rc::claimed_by.eq(&agent.id))
                    .count()
                    .get_result(c)?;
                if held >= most {
                    return Ok(Err(Problem::conflict(
                        Some("claims"),
                        format!("This agent already holds {held} claimed cases (referee.max_open_claims_per_agent): decide or give one back first."),
                    )));
                }
                let n = diesel::update(
                    rc::table
                        .filter(rc::id.eq(&cid))
                        .filter(rc::status.eq_any([rules::SCHEDULED, rules::QUEUED])),
                )
                .set((
                    rc::status.eq(rules::CLAIMED),
                    rc::claimed_by.eq(&agent.id),
                    rc::claimed_at.eq(now),
                ))
                .execute(c)?;
                let Some(case) = rules::case_by_id(c, &cid)? else {
                    return Ok(Err(Problem::NotFound("case")));
                };
                if n == 0 {
                    return Ok(Err(Problem::conflict(
                        None,
                        format!("This case is {} and can't be claimed.", case.status),
                    )));
                }
                audit::record(
                    c,
                    now,
                    event(
                        Kind::RefereeCaseClaimed,
                        &case,
                        &who,
                        json!({ "case": case.id, "agent": agent.id }),
                    ),
                )?;
                Ok(Ok(summary(c, &case, now)?))
            })
        })
        .await??;
    if claimed.slot_start.is_none() {
        // The claim stands whatever the mail or SMS gateway says; the reminder is claimed
        // once, so a failure here only loses this notice.
        if let Err(e) = rules::remind(ctx, &claimed.id).await {
            tracing::warn!(case = %claimed.id, error = %e, "could not tell the person an agent is ready");
        }
    }
    Ok(claimed)
}

/// Gives a claimed case back before the call began (the person's code not confirmed yet): it
/// waits again in its slot, or in its old place in the queue. Audited.
pub async fn release(
    ctx: &Ctx,
    admin: &AdminClient,
    case_id: &str,
    req: ActingAgent,
) -> Outcome<CaseSummary> {
    release_as(ctx, &Worker::tooling(admin, &req.agent_id), case_id).await
}

/// [`release`] for any worker.
pub async fn release_as(ctx: &Ctx, worker: &Worker, case_id: &str) -> Outcome<CaseSummary> {
    if !plausible_id(case_id) {
        return Err(Problem::NotFound("case"));
    }
    let (cid, who, now) = (case_id.to_string(), worker.clone(), ctx.clock.now());
    let result = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Outcome<CaseSummary>> {
                let (agent, case) = match acting_on_claimed(c, &who, &cid, now)? {
                    Ok(found) => found,
                    Err(p) => return Ok(Err(p)),
                };
                if case.code_used_at.is_some() {
                    return Ok(Err(Problem::conflict(
                        Some("continuation_code"),
                        "The call began (the continuation code was confirmed): decide the case.",
                    )));
                }
                if release_held(c, &agent.id, Some(&case.id))? == 0 {
                    return Err(CaseMoved.into());
                }
                audit::record(
                    c,
                    now,
                    event(
                        Kind::RefereeCaseReleased,
                        &case,
                        &who,
                        json!({ "case": case.id, "agent": agent.id }),
                    ),
                )?;
                let Some(case) = rules::case_by_id(c, &cid)? else {
                    return Ok(Err(Problem::NotFound("case")));
                };
                Ok(Ok(summary(c, &case, now)?))
            })
        })
        .await;
    moved_is_conflict(result)
}

/// The evidence of a case the agent claimed and that is still open. Audited.
pub async fn evidence(
    ctx: &Ctx,
    admin: &AdminClient,
    case_id: &str,
    agent_id: &str,
) -> Outcome<Evidence> {
    evidence_as(ctx, &Worker::tooling(admin, agent_id), case_id).await
}

/// [`evidence`] for any worker.
pub async fn evidence_as(ctx: &Ctx, worker: &Worker, case_id: &str) -> Outcome<Evidence> {
    if !plausible_id(case_id) {
        return Err(Problem::NotFound("case"));
    }
    let (cid, who, now) = (case_id.to_string(), worker.clone(), ctx.clock.now());
    let master = ctx.master.clone();
    let found = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Outcome<Evidence>> {
                let (agent, case) = match acting_on_claimed(c, &who, &cid, now)? {
                    Ok(found) => found,
                    Err(p) => return Ok(Err(p)),
                };
                let Some(v) = records::by_id(c, &case.verification_id)? else {
                    return Ok(Err(Problem::NotFound("verification")));
                };
                let key = records::data_key(c, &master, &v.user_id)?;
                let pii = match &key {
                    Some(k) => records::open_pii(k, &v)?,
                    None => records::Pii::default(),
                };
                // The person in full, and the photos, only once the person on the call read out
                // the continuation code: before, the agent sees what identifies the case.
                let on_call = case.code_used_at.is_some();
                let mut images = Vec::new();
                if let Some(k) = key.as_ref().filter(|_| on_call) {
                    for kind in [ImageKind::Front, ImageKind::Back, ImageKind::Selfie] {
                        if let Some((content_type, bytes)) = records::load_image(c, k, &v.id, kind)? {
                            images.push(ImageView {
                                kind: kind.as_str().into(),
                                content_type,
                                data: base64_std(&bytes),
                            });
                        }
                    }
                }
                let attempts = records::attempts_of(c, &v.id)?
                    .iter()
                    .map(|a| attempt_view(a, None))
                    .collect();
                let flags = records::flags_of(c, &v.id)?.iter().map(flag_view).collect();
                audit::record(
                    c,
                    now,
                    event(
                        Kind::RefereeEvidenceViewed,
                        &case,
                        &who,
                        json!({
                            "case": case.id,
                            "agent": agent.id,
                            "verification": v.id,
                            "images": images.iter().map(|i: &ImageView| i.kind.clone()).collect::<Vec<_>>(),
                        }),
                    ),
                )?;
                Ok(Ok(Evidence {
                    case: summary(c, &case, now)?,
                    verification_status: v.status.clone(),
                    verification_step: v.step.clone(),
                    document_type: v.document_type.clone(),
                    document_issuer: v.document_issuer.clone(),
                    document_expiry: v.document_expiry.clone(),
                    person: person_view(&pii, on_call),
                    passed_checks: serde_json::Value::Object(v.passed_checks()),
                    last_failure: v.last_failure.clone(),
                    attempts,
                    flags,
                    images,
                    checks: serde_json::from_str(&case.checks)
                        .unwrap_or_else(|_| serde_json::Value::Object(Default::default())),
                    ssn_read: pii.ssn.is_some(),
                }))
            })
        })
        .await??;
    Ok(found)
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Records what the agent checked in the call; with the continuation code the person read out,
/// checked against the case's hash once (wrong: 400, already used: 409). Audited either way.
pub async fn record_checks(
    ctx: &Ctx,
    admin: &AdminClient,
    case_id: &str,
    req: RecordChecks,
) -> Outcome<ChecksRecorded> {
    let worker = Worker::tooling(admin, &req.agent_id);
    record_checks_as(ctx, &worker, case_id, req.continuation_code, req.checks).await
}

/// [`record_checks`] for any worker.
pub async fn record_checks_as(
    ctx: &Ctx,
    worker: &Worker,
    case_id: &str,
    continuation_code: Option<String>,
    checks_done: serde_json::Map<String, serde_json::Value>,
) -> Outcome<ChecksRecorded> {
    if !plausible_id(case_id) {
        return Err(Problem::NotFound("case"));
    }
    if checks_done.len() > 50
        || serde_json::Value::Object(checks_done.clone())
            .to_string()
            .len()
            > 8192
    {
        return Err(Problem::invalid(
            "checks",
            "checks must be at most 50 entries and 8 KiB",
        ));
    }
    // Check names are names (they are kept in the audit trail), and the code's own entry is
    // Verity's to set.
    let named = |k: &str| {
        (1..=40).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if checks_done
        .keys()
        .any(|k| !named(k) || k == "continuation_code")
    {
        return Err(Problem::invalid(
            "checks",
            "check names must be 1 to 40 of a-z, 0-9 and _ (and not continuation_code)",
        ));
    }
    let length = ctx.settings.referee.continuation_code_length;
    let code_hash = match continuation_code.as_deref() {
        None => None,
        Some(raw) => match crate::mfa::backup_codes::normalize(raw, length) {
            Some(canonical) => Some(crate::mfa::backup_codes::hash(
                &rules::code_key(ctx),
                &canonical,
            )),
            None => {
                return Err(Problem::invalid(
                    "continuation_code",
                    "The continuation code doesn't match this case.",
                ))
            }
        },
    };
    let (cid, who, now) = (case_id.to_string(), worker.clone(), ctx.clock.now());
    let result = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Outcome<ChecksRecorded>> {
                let (agent, case) = match acting_on_claimed(c, &who, &cid, now)? {
                    Ok(found) => found,
                    Err(p) => return Ok(Err(p)),
                };
                let mut checks: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&case.checks).unwrap_or_default();
                let mut code_result = "not_given";
                let mut refusal = None;
                if let Some(hash) = &code_hash {
                    if !crate::crypto::ct_eq(
                        case.continuation_code_hash.as_bytes(),
                        hash.as_bytes(),
                    ) {
                        code_result = "wrong";
                        refusal = Some(Problem::invalid(
                            "continuation_code",
                            "The continuation code doesn't match this case.",
                        ));
                    } else {
                        let n = diesel::update(
                            rc::table
                                .filter(rc::id.eq(&cid))
                                .filter(rc::code_used_at.is_null())
                                // Not replaced by the person meanwhile.
                                .filter(rc::continuation_code_hash.eq(hash))
                                .filter(rc::status.eq(rules::CLAIMED))
                                .filter(rc::claimed_by.eq(&agent.id)),
                        )
                        .set(rc::code_used_at.eq(now))
                        .execute(c)?;
                        if n == 0 {
                            // Used already, or the case left this agent meanwhile: a code must
                            // never land on a case that waits for another agent.
                            let used = rules::case_by_id(c, &cid)?
                                .is_some_and(|k| k.code_used_at.is_some());
                            if !used {
                                return Err(CaseMoved.into());
                            }
                            code_result = "reused";
                            refusal = Some(Problem::conflict(
                                Some("continuation_code"),
                                "This continuation code was already used.",
                            ));
                        } else {
                            code_result = "confirmed";
                            checks.insert("continuation_code".into(), json!("confirmed"));
                        }
                    }
                }
                if refusal.is_none() {
                    for (k, v) in &checks_done {
                        if k != "continuation_code" {
                            checks.insert(k.clone(), v.clone());
                        }
                    }
                    let n = diesel::update(
                        rc::table
                            .filter(rc::id.eq(&cid))
                            .filter(rc::status.eq(rules::CLAIMED))
                            .filter(rc::claimed_by.eq(&agent.id)),
                    )
                    .set(rc::checks.eq(serde_json::Value::Object(checks.clone()).to_string()))
                    .execute(c)?;
                    if n == 0 {
                        return Err(CaseMoved.into());
                    }
                }
                audit::record(
                    c,
                    now,
                    event(
                        Kind::RefereeChecksRecorded,
                        &case,
                        &who,
                        json!({
                            "case": case.id,
                            "agent": agent.id,
                            "checks": checks_for_audit(&checks_done),
                            "continuation_code": code_result,
                        }),
                    ),
                )?;
                if let Some(p) = refusal {
                    // The refusal is audited: the transaction still commits.
                    return Ok(Err(p));
                }
                let Some(case) = rules::case_by_id(c, &cid)? else {
                    return Ok(Err(Problem::NotFound("case")));
                };
                Ok(Ok(ChecksRecorded {
                    case: summary(c, &case, now)?,
                    checks: serde_json::Value::Object(checks),
                }))
            })
        })
        .await;
    moved_is_conflict(result)
}

/// What the audit trail keeps of an agent's checks: each check, and yes or no where it is one.
/// Free text (notes, anything the tooling sends) may hold what the person showed on camera,
/// and the audit area is not one of the areas that show personal data: it stays on the case.
fn checks_for_audit(checks: &serde_json::Map<String, serde_json::Value>) -> serde_json::Value {
    checks
        .iter()
        .map(|(k, v)| {
            let kept = match v {
                // Verity's own mark that the code matched.
                _ if k == "continuation_code" => v.clone(),
                serde_json::Value::Bool(_) => v.clone(),
                _ => json!("(noted on the case)"),
            };
            (k.clone(), kept)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The agent's decision on a case they claimed (the continuation code confirmed first for
/// `verified`). See the module's description for what each does.
pub async fn decide(
    ctx: &Ctx,
    admin: &AdminClient,
    case_id: &str,
    req: Decide,
) -> Outcome<Decided> {
    let worker = Worker::tooling(admin, &req.agent_id);
    let decision = Decision {
        decision: req.decision,
        rationale: req.rationale,
        identity: req.identity,
    };
    decide_as(ctx, &worker, case_id, decision).await
}

/// What an agent decides (see [`Decide`]).
#[derive(Debug)]
pub struct Decision {
    pub decision: String,
    pub rationale: String,
    pub identity: Option<IdentityFromCall>,
}

/// [`decide`] for any worker.
pub async fn decide_as(
    ctx: &Ctx,
    worker: &Worker,
    case_id: &str,
    req: Decision,
) -> Outcome<Decided> {
    if !plausible_id(case_id) {
        return Err(Problem::NotFound("case"));
    }
    let decision = match req.decision.as_str() {
        d @ (rules::VERIFIED | rules::NOT_VERIFIED | rules::FRAUD_SUSPECTED) => d.to_string(),
        _ => {
            return Err(Problem::invalid(
                "decision",
                "decision must be verified, not_verified or fraud_suspected",
            ))
        }
    };
    let rationale = checked_reason(ctx, &req.rationale).map_err(|_| {
        Problem::invalid(
            "rationale",
            "rationale must be 1 to support.message_max_chars characters, without control characters",
        )
    })?;
    let (cid, who, now) = (case_id.to_string(), worker.clone(), ctx.clock.now());
    let master = ctx.master.clone();
    let allow_test_ssn = ctx.vendors.records.vendor() == "mock";
    let decided = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Outcome<(Decided, String)>> {
                let agent = match acting(c, &who, now)? {
                    Ok(a) => a,
                    Err(p) => return Ok(Err(p)),
                };
                let Some(first) = rules::case_by_id(c, &cid)? else {
                    return Ok(Err(Problem::NotFound("case")));
                };
                records::lock_person(c, &first.user_id)?;
                let case = match claimed_case(c, &cid, &agent)? {
                    Ok(case) => case,
                    Err(p) => return Ok(Err(p)),
                };
                if decision == rules::VERIFIED && case.code_used_at.is_none() {
                    return Ok(Err(Problem::conflict(
                        Some("continuation_code"),
                        "Confirm the continuation code the person reads out (POST …/checks) before deciding verified.",
                    )));
                }
                let Some(mut v) = records::by_id(c, &case.verification_id)? else {
                    return Ok(Err(Problem::NotFound("verification")));
                };
                if v.status() != Some(Status::InProgress) || v.step() != Some(Step::Referee) {
                    return Ok(Err(Problem::conflict(
                        None,
                        "The verification is no longer waiting for an agent.",
                    )));
                }
                match decision.as_str() {
                    rules::VERIFIED => {
                        // A verified identity needs the document and the SSN: what the online
                        // steps never read, the agent gives from the call.
                        let key = records::data_key_or_create(c, &master, &v.user_id, now)?;
                        let mut pii = records::open_pii(&key, &v)?;
                        let mut filled = Vec::new();
                        if pii.document.is_none() {
                            let Some(id) = &req.identity else {
                                return Ok(Err(Problem::invalid(
                                    "identity",
                                    "The online steps did not read this person's document: give identity.document_type, given_name, family_name, birthdate, document_number, document_expiry and issuer as read on the call.",
                                )));
                            };
                            let doc = match document_from_call(id, now.date()) {
                                Ok(d) => d,
                                Err(p) => return Ok(Err(p)),
                            };
                            v.document_type = Some(doc.document_type.ida_name().into());
                            v.document_issuer = Some(doc.issuer.clone());
                            v.document_expiry = Some(doc.expiry.format("%Y-%m-%d").to_string());
                            v.document_number_hash =
                                Some(records::document_number_hash(&master, &doc));
                            pii.document = Some(doc);
                            filled.push("document");
                        }
                        if pii.ssn.is_none() {
                            let raw = req.identity.as_ref().and_then(|i| i.ssn.clone());
                            let Some(ssn) = raw
                                .as_deref()
                                .and_then(|r| crate::proofing::flow::parse_ssn(r, allow_test_ssn).ok())
                            else {
                                return Ok(Err(Problem::invalid(
                                    "ssn",
                                    "The online steps did not read this person's SSN: give identity.ssn (nine digits) as the person gave it on the call.",
                                )));
                            };
                            v.ssn_hash = Some(records::ssn_hash(&master, &ssn));
                            pii.ssn = Some(ssn);
                            filled.push("ssn");
                        }
                        if !filled.is_empty() {
                            v.pii = Some(records::seal_pii(&key, &v.id, &pii)?);
                        }
                        let mut checks = v.passed_checks();
                        checks.insert("referee".into(), json!("trusted_referee"));
                        v.checks = serde_json::Value::Object(checks).to_string();
                        v.step = Step::Protect.as_str().into();
                        v.last_failure = None;
                    }
                    _ => {
                        if decision == rules::FRAUD_SUSPECTED {
                            let detail = json!({ "case": case.id, "agent": agent.id });
                            if records::raise_flag(c, &v.id, &v.user_id, FlagKind::RefereeFraud, detail.clone(), now)? {
                                audit::record(
                                    c,
                                    now,
                                    audit::Event {
                                        kind: Kind::ProofingFlagRaised,
                                        user_id: Some(&v.user_id),
                                        client_id: who.client_id(),
                                        // The agent's address is on the decision's event; this
                                        // one shows on the person's activity page.
                                        detail: json!({ "verification": v.id, "flag": FlagKind::RefereeFraud.as_str(), "detail": detail }),
                                        actor: None,
                                    },
                                )?;
                            }
                        }
                        v.status = Status::Failed.as_str().into();
                        v.pii = None;
                        records::retire_images(c, &v.id, 0, now)?;
                        records::cancel_letters(c, std::slice::from_ref(&v.id))?;
                    }
                }
                let n = diesel::update(
                    rc::table
                        .filter(rc::id.eq(&cid))
                        .filter(rc::status.eq(rules::CLAIMED))
                        .filter(rc::claimed_by.eq(&agent.id)),
                )
                .set((
                    rc::status.eq(&decision),
                    rc::decision.eq(&decision),
                    rc::rationale.eq(&rationale),
                    rc::decided_by.eq(&agent.id),
                    rc::decided_at.eq(now),
                ))
                .execute(c)?;
                if n == 0 {
                    // Expired or given back meanwhile: everything rolls back, 409.
                    return Err(CaseMoved.into());
                }
                if !records::save_if_unchanged(c, &v, now)? {
                    return Err(anyhow::anyhow!("the verification moved under the person's lock"));
                }
                audit::record(
                    c,
                    now,
                    event(
                        Kind::RefereeDecided,
                        &case,
                        &who,
                        json!({
                            "case": case.id,
                            "agent": agent.id,
                            "verification": v.id,
                            "decision": decision,
                            // The reason itself stays on the case (it may quote the person's
                            // data); its hash here shows the case's copy was never changed.
                            "rationale_sha256": hex::encode(crate::crypto::sha256(rationale.as_bytes())),
                            "checks": checks_for_audit(&serde_json::from_str(&case.checks).unwrap_or_default()),
                        }),
                    ),
                )?;
                let Some(case) = rules::case_by_id(c, &cid)? else {
                    return Ok(Err(Problem::NotFound("case")));
                };
                Ok(Ok((
                    Decided {
                        case: summary(c, &case, now)?,
                        verification_status: v.status.clone(),
                        verification_step: v.step.clone(),
                    },
                    case.user_id.clone(),
                )))
            })
        })
        .await;
    let (decided, user_id) = moved_is_conflict(decided)?;
    let verified = decided.case.decision.as_deref() == Some(rules::VERIFIED);
    let notice = Notice::RefereeDecided {
        verified,
        link: rules::verify_link(
            ctx,
            if verified {
                "/verify/protect"
            } else {
                "/verify"
            },
        ),
    };
    // The decision stands whatever happens to the mail.
    if let Err(e) = notices::email_account(ctx, &user_id, &notice).await {
        tracing::warn!(case = %decided.case.id, error = %e, "could not e-mail the person the decision");
    }
    Ok(decided)
}
