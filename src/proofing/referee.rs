//! Verification with an agent by video (a trusted referee, NIST 800-63A), the person's side and
//! the case record both sides share. The video call itself happens in the operator's own tool;
//! Verity runs the case.
//!
//! - A person whose online check failed (a check refused, or out of tries) on the document,
//!   selfie, SSN or review step may ask for an agent ([`eligible`]). They read the notice about
//!   video and consent (time and text version recorded), then book a slot from the operator's
//!   availability (`[referee]`) or join the next-available queue. The case carries a
//!   continuation code (shown once, kept as a keyed hash, single use) that the agent asks for at
//!   the start of the call. The verification waits on [`Step::Referee`] meanwhile.
//! - One open case per person (under the person's lock); a slot holds at most
//!   `referee.agents_per_slot` cases (counted under a lock on the slot, so concurrent bookings
//!   on every node can't overbook it).
//! - Housekeeping expires no-shows (a booked slot nobody claimed `no_show_grace_minutes` after
//!   it started) and cases past `case_ttl_days`; the verification goes back to the step it was
//!   on. It also sends the reminder (e-mail and SMS with the meeting link), claimed on the
//!   case's row so one node sends it once.
//!
//! The agents' side (claim, evidence, checks, decision) is `admin::referee`.

use chrono::{Datelike, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Kind};
use crate::notify::notices::{self, Notice, Texts};
use crate::proofing::flow::Person;
use crate::proofing::records::{self, Status, Step, Verification};
use crate::storage::db::{serialize_on, write_tx, DbConn};
use crate::storage::schema::referee_cases as rc;
use crate::Ctx;

pub const SCHEDULED: &str = "scheduled";
pub const QUEUED: &str = "queued";
pub const CLAIMED: &str = "claimed";
pub const VERIFIED: &str = "verified";
pub const NOT_VERIFIED: &str = "not_verified";
pub const FRAUD_SUSPECTED: &str = "fraud_suspected";
pub const EXPIRED: &str = "expired";
pub const CANCELLED: &str = "cancelled";
/// A case still waiting for, or in, its call.
pub const OPEN: [&str; 3] = [SCHEDULED, QUEUED, CLAIMED];

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = rc)]
pub struct Case {
    pub id: String,
    pub user_id: String,
    pub verification_id: String,
    pub status: String,
    pub from_step: String,
    pub continuation_code_hash: String,
    pub code_used_at: Option<NaiveDateTime>,
    pub consent_at: NaiveDateTime,
    pub consent_version: String,
    pub slot_start: Option<NaiveDateTime>,
    pub meeting_link: String,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<NaiveDateTime>,
    pub checks: String,
    pub decision: Option<String>,
    pub rationale: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub reminded_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl Case {
    pub fn is_open(&self) -> bool {
        OPEN.contains(&self.status.as_str())
    }
}

/// The keyed hash of continuation codes (its own key).
pub fn code_key(ctx: &Ctx) -> aws_lc_rs::hmac::Key {
    ctx.master.derive("verity/proofing/referee/continuation/v1")
}

/// The steps an agent can take over from: the online checks before the phone.
const FROM_STEPS: [Step; 4] = [Step::Document, Step::Selfie, Step::Ssn, Step::Review];

/// Whether the online path failed for this unfinished verification: a check refused it (the
/// document unreadable or not genuine, the selfie not matching, the records not found), which
/// is also how a person runs out of tries.
pub fn eligible(v: &Verification) -> bool {
    v.status() == Some(Status::InProgress)
        && v.step().is_some_and(|s| FROM_STEPS.contains(&s))
        && v.last_failure.is_some()
}

pub fn open_case_of(conn: &mut DbConn, user_id: &str) -> anyhow::Result<Option<Case>> {
    Ok(rc::table
        .filter(rc::user_id.eq(user_id))
        .filter(rc::status.eq_any(OPEN))
        .order(rc::created_at.desc())
        .select(Case::as_select())
        .first(conn)
        .optional()?)
}

pub fn case_by_id(conn: &mut DbConn, id: &str) -> anyhow::Result<Option<Case>> {
    Ok(rc::table
        .find(id)
        .select(Case::as_select())
        .first(conn)
        .optional()?)
}

/// Place in the next-available queue (1 is next), for a queued case.
pub fn queue_position(conn: &mut DbConn, case: &Case) -> anyhow::Result<u64> {
    let ahead: i64 = rc::table
        .filter(rc::status.eq(QUEUED))
        .filter(
            rc::created_at
                .lt(case.created_at)
                .or(rc::created_at.eq(case.created_at).and(rc::id.lt(&case.id))),
        )
        .count()
        .get_result(conn)?;
    Ok(ahead.max(0) as u64 + 1)
}

pub fn queue_length(conn: &mut DbConn) -> anyhow::Result<u64> {
    let n: i64 = rc::table
        .filter(rc::status.eq(QUEUED))
        .count()
        .get_result(conn)?;
    Ok(n.max(0) as u64)
}

// ---- availability ----------------------------------------------------------------------------

/// The slot starts (UTC) the operator's weekly hours offer from `now` on, for
/// `booking_days_ahead` days, in the site's time zone; a slot must start after `now` and end
/// within the day's hours.
pub fn slot_starts(ctx: &Ctx, now: NaiveDateTime) -> Vec<NaiveDateTime> {
    let r = &ctx.settings.referee;
    let tz = crate::local_time::site_default(&ctx.settings);
    let local_today = tz.from_utc_datetime(&now).date_naive();
    let step = i64::from(r.slot_minutes);
    let mut out = Vec::new();
    for day in 0..=i64::from(r.booking_days_ahead) {
        let date = local_today + chrono::Duration::days(day);
        let weekday = date.weekday().num_days_from_monday() as usize;
        let Some(Ok(Some((from, to)))) = r
            .weekly_hours
            .get(weekday)
            .map(|h| crate::config::parse_hours(h))
        else {
            continue;
        };
        let mut m = i64::from(from);
        while m + step <= i64::from(to) {
            let local = date.and_time(chrono::NaiveTime::MIN) + chrono::Duration::minutes(m);
            if let Some(start) = tz.from_local_datetime(&local).earliest() {
                let start = start.naive_utc();
                if start > now {
                    out.push(start);
                }
            }
            m += step;
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Open cases booked at each of `starts`.
fn booked(conn: &mut DbConn, starts: &[NaiveDateTime]) -> anyhow::Result<Vec<NaiveDateTime>> {
    Ok(rc::table
        .filter(rc::slot_start.eq_any(starts.iter().map(|s| Some(*s))))
        .filter(rc::status.eq_any(OPEN))
        .select(rc::slot_start)
        .load::<Option<NaiveDateTime>>(conn)?
        .into_iter()
        .flatten()
        .collect())
}

/// The slots a person may book now: offered and not full, the first `slots_shown`.
pub async fn free_slots(ctx: &Ctx) -> anyhow::Result<Vec<NaiveDateTime>> {
    let now = ctx.clock.now();
    let starts = slot_starts(ctx, now);
    let (per_slot, shown) = (
        ctx.settings.referee.agents_per_slot as usize,
        ctx.settings.referee.slots_shown,
    );
    ctx.db
        .run(move |c| {
            let taken = booked(c, &starts)?;
            Ok(starts
                .into_iter()
                .filter(|s| taken.iter().filter(|t| *t == s).count() < per_slot)
                .take(shown)
                .collect())
        })
        .await
}

// ---- the person's side --------------------------------------------------------------------------

/// What `/verify/agent` shows.
#[derive(Debug, Clone)]
pub enum Offer {
    /// Nothing failed (or the referee path is off): the online steps.
    NotOffered,
    /// The person may ask: these slots are free (the queue is always there).
    Available { slots: Vec<NaiveDateTime> },
    /// A case is open.
    Open(CaseView),
}

#[derive(Debug, Clone)]
pub struct CaseView {
    pub id: String,
    pub status: String,
    pub slot_start: Option<NaiveDateTime>,
    /// For a queued case: the place (1 is next) and the expected wait.
    pub queue_position: Option<u64>,
    pub expected_wait_minutes: Option<u64>,
    pub meeting_link: String,
}

fn view_of(conn: &mut DbConn, ctx_avg: u64, case: &Case) -> anyhow::Result<CaseView> {
    let position = if case.status == QUEUED {
        Some(queue_position(conn, case)?)
    } else {
        None
    };
    Ok(CaseView {
        id: case.id.clone(),
        status: case.status.clone(),
        slot_start: case.slot_start,
        queue_position: position,
        expected_wait_minutes: position.map(|p| p * ctx_avg),
        meeting_link: case.meeting_link.clone(),
    })
}

pub async fn offer(ctx: &Ctx, user_id: &str) -> anyhow::Result<Offer> {
    let enabled = ctx.settings.referee.enabled && ctx.settings.proofing.enabled;
    let (uid, now, avg) = (
        user_id.to_string(),
        ctx.clock.now(),
        ctx.settings.referee.average_handling_minutes,
    );
    let found = ctx
        .db
        .run(move |c| {
            // A case opened before an operator turned the path off goes on: agents can still
            // work it, and the person's page must still show it.
            if let Some(case) = open_case_of(c, &uid)? {
                return Ok(Some(Offer::Open(view_of(c, avg, &case)?)));
            }
            if !enabled {
                return Ok(Some(Offer::NotOffered));
            }
            let ok = records::unfinished_for(c, &uid, now)?.is_some_and(|v| eligible(&v));
            Ok((!ok).then_some(Offer::NotOffered))
        })
        .await?;
    match found {
        Some(o) => Ok(o),
        None => Ok(Offer::Available {
            slots: free_slots(ctx).await?,
        }),
    }
}

/// Whether `/verify` may show the link to an agent on a failure page.
pub async fn offered(ctx: &Ctx, user_id: &str) -> anyhow::Result<bool> {
    Ok(matches!(
        offer(ctx, user_id).await?,
        Offer::Available { .. } | Offer::Open(_)
    ))
}

/// Where the person wants their call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Slot(NaiveDateTime),
    Queue,
}

#[derive(Debug)]
pub enum RequestOutcome {
    /// The case is open: the continuation code, shown this once.
    Opened {
        code: zeroize::Zeroizing<String>,
        view: CaseView,
    },
    /// The notice about video was not agreed to.
    NeedConsent,
    /// The online path hasn't failed, or the referee path is off.
    NotOffered,
    /// A case is open already (one at a time).
    AlreadyOpen,
    /// Not a slot on offer.
    UnknownSlot,
    /// The slot filled up meanwhile.
    SlotFull,
}

#[derive(Debug)]
pub enum NewCode {
    /// The old code stops working; this one is shown this once.
    Issued {
        code: zeroize::Zeroizing<String>,
        view: CaseView,
    },
    /// No open case.
    NoCase,
    /// The agent already confirmed the code: the call began.
    CallBegan,
}

/// "I lost my code": a new continuation code for the person's open case, until the agent
/// confirmed one on the call. Under the person's lock; the replacement is conditional on the
/// code still being unused, and the agent's confirmation on the hash it checked, so an old
/// code can't be confirmed after it was replaced.
pub async fn replace_code(ctx: &Ctx, who: &Person<'_>) -> anyhow::Result<NewCode> {
    let code = zeroize::Zeroizing::new(
        crate::mfa::backup_codes::generate(1, ctx.settings.referee.continuation_code_length)
            .pop()
            .unwrap_or_default(),
    );
    let code_hash = crate::mfa::backup_codes::hash(&code_key(ctx), &code);
    let (uid, actor, now) = (who.user_id.to_string(), who.actor.clone(), ctx.clock.now());
    let avg = ctx.settings.referee.average_handling_minutes;
    let outcome = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Result<CaseView, NewCode>> {
                records::lock_person(c, &uid)?;
                let Some(case) = open_case_of(c, &uid)? else {
                    return Ok(Err(NewCode::NoCase));
                };
                let n = diesel::update(
                    rc::table
                        .filter(rc::id.eq(&case.id))
                        .filter(rc::code_used_at.is_null())
                        .filter(rc::status.eq_any(OPEN)),
                )
                .set(rc::continuation_code_hash.eq(&code_hash))
                .execute(c)?;
                if n == 0 {
                    return Ok(Err(NewCode::CallBegan));
                }
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::RefereeCodeReplaced,
                        user_id: Some(&uid),
                        client_id: None,
                        detail: json!({ "case": case.id }),
                        actor: Some(&actor),
                    },
                )?;
                Ok(Ok(view_of(c, avg, &case)?))
            })
        })
        .await?;
    Ok(match outcome {
        Ok(view) => NewCode::Issued { code, view },
        Err(other) => other,
    })
}

/// "Verify with an agent by video": consent, then a slot or the queue. Under the person's lock
/// (one open case) and, for a slot, a lock on that slot (its count holds).
pub async fn request(
    ctx: &Ctx,
    who: &Person<'_>,
    consent: bool,
    choice: Choice,
) -> anyhow::Result<RequestOutcome> {
    let r = ctx.settings.referee.clone();
    if !r.enabled || !ctx.settings.proofing.enabled {
        return Ok(RequestOutcome::NotOffered);
    }
    if !consent {
        return Ok(RequestOutcome::NeedConsent);
    }
    let now = ctx.clock.now();
    if let Choice::Slot(start) = choice {
        if !slot_starts(ctx, now).contains(&start) {
            return Ok(RequestOutcome::UnknownSlot);
        }
    }
    let code = zeroize::Zeroizing::new(
        crate::mfa::backup_codes::generate(1, r.continuation_code_length)
            .pop()
            .unwrap_or_default(),
    );
    let code_hash = crate::mfa::backup_codes::hash(&code_key(ctx), &code);
    let id = uuid::Uuid::new_v4().to_string();
    let link = r.meeting_link_template.replace("{case}", &id);
    let (uid, actor) = (who.user_id.to_string(), who.actor.clone());
    let avg = r.average_handling_minutes;
    let outcome = ctx
        .db
        .run(move |c| {
            write_tx(c, |c| -> anyhow::Result<Result<CaseView, RequestOutcome>> {
                records::lock_person(c, &uid)?;
                if open_case_of(c, &uid)?.is_some() {
                    return Ok(Err(RequestOutcome::AlreadyOpen));
                }
                let Some(mut v) = records::unfinished_for(c, &uid, now)? else {
                    return Ok(Err(RequestOutcome::NotOffered));
                };
                if !eligible(&v) {
                    return Ok(Err(RequestOutcome::NotOffered));
                }
                let slot = match choice {
                    Choice::Slot(start) => {
                        serialize_on(c, &format!("referee:slot:{start}"))?;
                        let taken: i64 = rc::table
                            .filter(rc::slot_start.eq(start))
                            .filter(rc::status.eq_any(OPEN))
                            .count()
                            .get_result(c)?;
                        if taken >= i64::from(r.agents_per_slot) {
                            return Ok(Err(RequestOutcome::SlotFull));
                        }
                        Some(start)
                    }
                    Choice::Queue => None,
                };
                let case = Case {
                    id: id.clone(),
                    user_id: uid.clone(),
                    verification_id: v.id.clone(),
                    status: if slot.is_some() { SCHEDULED } else { QUEUED }.into(),
                    from_step: v.step.clone(),
                    continuation_code_hash: code_hash.clone(),
                    code_used_at: None,
                    consent_at: now,
                    consent_version: r.consent_version.clone(),
                    slot_start: slot,
                    meeting_link: link.clone(),
                    claimed_by: None,
                    claimed_at: None,
                    checks: "{}".into(),
                    decision: None,
                    rationale: None,
                    decided_by: None,
                    decided_at: None,
                    reminded_at: None,
                    created_at: now,
                    // A slot booked near the end of the booking window still has its call (and
                    // its no-show grace) before the case runs out.
                    expires_at: (now + chrono::Duration::days(r.case_ttl_days as i64)).max(
                        slot.unwrap_or(now)
                            + chrono::Duration::minutes(
                                (r.slot_minutes as u64 + r.no_show_grace_minutes) as i64,
                            ),
                    ),
                };
                diesel::insert_into(rc::table).values(&case).execute(c)?;
                v.step = Step::Referee.as_str().into();
                if !records::save_if_unchanged(c, &v, now)? {
                    return Err(anyhow::anyhow!(
                        "the verification moved under the person's lock"
                    ));
                }
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::RefereeCaseOpened,
                        user_id: Some(&uid),
                        client_id: v.origin_client_id.as_deref(),
                        detail: json!({
                            "case": case.id,
                            "verification": v.id,
                            "slot_start": slot.map(|s| s.and_utc().to_rfc3339()),
                            "queue": slot.is_none(),
                            "consent_version": case.consent_version,
                            "from_step": case.from_step,
                        }),
                        actor: Some(&actor),
                    },
                )?;
                Ok(Ok(view_of(c, avg, &case)?))
            })
        })
        .await?;
    Ok(match outcome {
        Ok(view) => RequestOutcome::Opened { code, view },
        Err(o) => o,
    })
}

/// Ends the open cases of these verifications (the person started over, or the verification
/// went away). Inside the caller's transaction.
pub fn cancel_cases(conn: &mut DbConn, verification_ids: &[String]) -> anyhow::Result<usize> {
    Ok(diesel::update(
        rc::table
            .filter(rc::verification_id.eq_any(verification_ids))
            .filter(rc::status.eq_any(OPEN)),
    )
    .set(rc::status.eq(CANCELLED))
    .execute(conn)?)
}

/// The person's identity data is removed: what agents typed about them on their cases goes too
/// (the notes and the reason may quote the ID). Whether each check was done, the decision and
/// the audit trail (which never held the text) stay. Inside the caller's transaction.
pub fn forget_agents_notes(conn: &mut DbConn, user_id: &str) -> anyhow::Result<()> {
    let cases: Vec<(String, String)> = rc::table
        .filter(rc::user_id.eq(user_id))
        .select((rc::id, rc::checks))
        .load(conn)?;
    for (id, checks) in cases {
        let kept: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&checks)
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, v)| v.is_boolean() || k == "continuation_code")
                .collect();
        diesel::update(rc::table.filter(rc::id.eq(&id)))
            .set((
                rc::checks.eq(serde_json::Value::Object(kept).to_string()),
                rc::rationale.eq(None::<String>),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The page the video reminder and the decision e-mails link to.
pub fn verify_link(ctx: &Ctx, path: &str) -> String {
    format!("{}{path}", ctx.settings.issuer)
}

/// Sends the case's reminder (e-mail and SMS with the meeting link) if this call claims it
/// (`reminded_at` set by a conditional update: one node, once). True: it went out.
pub async fn remind(ctx: &Ctx, case_id: &str) -> anyhow::Result<bool> {
    let (cid, now) = (case_id.to_string(), ctx.clock.now());
    let claimed = ctx
        .db
        .run(move |c| {
            let n = diesel::update(
                rc::table
                    .filter(rc::id.eq(&cid))
                    .filter(rc::reminded_at.is_null())
                    .filter(rc::status.eq_any(OPEN)),
            )
            .set(rc::reminded_at.eq(now))
            .execute(c)?;
            if n == 0 {
                return Ok(None);
            }
            case_by_id(c, &cid)
        })
        .await?;
    let Some(case) = claimed else {
        return Ok(false);
    };
    let notice = Notice::RefereeReminder {
        slot_start: case.slot_start,
        meeting_link: case.meeting_link.clone(),
        link: verify_link(ctx, "/verify/agent"),
    };
    notices::tell_account(ctx, &case.user_id, None, Texts::DefaultPhone, &notice).await?;
    Ok(true)
}

/// No-shows and cases past their time expire (the verification goes back to the step it was
/// on, so the person may try again or ask again); reminders that came due are sent. Returns
/// (expired, reminded).
pub async fn housekeeping(ctx: &Ctx) -> anyhow::Result<(usize, usize)> {
    const BATCH: i64 = 100;
    let r = &ctx.settings.referee;
    let now = ctx.clock.now();
    let no_show_by = now - chrono::Duration::minutes(r.no_show_grace_minutes as i64);
    let remind_by = now + chrono::Duration::minutes(r.reminder_minutes_before as i64);
    let (stale, due) = ctx
        .db
        .run(move |c| {
            let stale: Vec<String> = rc::table
                .filter(rc::status.eq_any(OPEN))
                .filter(
                    rc::expires_at
                        .le(now)
                        .or(rc::status.eq(SCHEDULED).and(rc::slot_start.le(no_show_by))),
                )
                .select(rc::id)
                .limit(BATCH)
                .load(c)?;
            let due: Vec<String> = rc::table
                .filter(rc::status.eq(SCHEDULED))
                .filter(rc::reminded_at.is_null())
                .filter(rc::slot_start.le(remind_by))
                .select(rc::id)
                .limit(BATCH)
                .load(c)?;
            Ok((stale, due))
        })
        .await?;
    let mut expired = 0;
    for id in stale {
        if expire(ctx, &id).await? {
            expired += 1;
        }
    }
    let mut reminded = 0;
    for id in due {
        if remind(ctx, &id).await? {
            reminded += 1;
        }
    }
    Ok((expired, reminded))
}

/// Expires one open case (a conditional update: once), putting its verification back on the
/// step it came from.
async fn expire(ctx: &Ctx, case_id: &str) -> anyhow::Result<bool> {
    let (cid, now) = (case_id.to_string(), ctx.clock.now());
    let grace_by =
        now - chrono::Duration::minutes(ctx.settings.referee.no_show_grace_minutes as i64);
    ctx.db
        .run(move |c| {
            write_tx(c, |c| {
                let Some(case) = case_by_id(c, &cid)? else {
                    return Ok(false);
                };
                records::lock_person(c, &case.user_id)?;
                let due = case.expires_at <= now
                    || (case.status == SCHEDULED && case.slot_start.is_some_and(|s| s <= grace_by));
                if !due {
                    return Ok(false);
                }
                let n = diesel::update(
                    rc::table
                        .filter(rc::id.eq(&cid))
                        .filter(rc::status.eq(&case.status)),
                )
                .set(rc::status.eq(EXPIRED))
                .execute(c)?;
                if n == 0 {
                    return Ok(false);
                }
                if let Some(mut v) = records::by_id(c, &case.verification_id)? {
                    if v.status() == Some(Status::InProgress) && v.step() == Some(Step::Referee) {
                        v.step = case.from_step.clone();
                        if !records::save_if_unchanged(c, &v, now)? {
                            anyhow::bail!("the verification moved under the person's lock");
                        }
                    }
                }
                audit::record(
                    c,
                    now,
                    audit::Event {
                        kind: Kind::RefereeCaseExpired,
                        user_id: Some(&case.user_id),
                        client_id: None,
                        detail: json!({
                            "case": case.id,
                            "verification": case.verification_id,
                            "was": case.status,
                            "no_show": case.status == SCHEDULED && case.expires_at > now,
                        }),
                        actor: None,
                    },
                )?;
                Ok(true)
            })
        })
        .await
}
