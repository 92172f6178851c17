//! What is sent: queueing events (inside the caller's transaction), signing them into SETs,
//! and poll delivery (RFC 8936).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::config::SsfSettings;
use crate::ssf::streams::{self, StreamError, StreamRow, STATUS_DISABLED, STATUS_ENABLED};
use crate::ssf::{Receiver, DELIVERY_POLL, EVENT_VERIFICATION};
use crate::storage::db::DbConn;
use crate::storage::schema::{clients, consents, ssf_events, ssf_stream_subjects, ssf_streams};
use crate::Ctx;

/// Who made the change (CAEP §2 `initiating_entity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    Admin,
    User,
    Policy,
    System,
}

impl Initiator {
    fn as_str(self) -> &'static str {
        match self {
            Initiator::Admin => "admin",
            Initiator::User => "user",
            Initiator::Policy => "policy",
            Initiator::System => "system",
        }
    }
}

/// One event about a person: its type URI and its members.
#[derive(Clone, Debug)]
pub struct Signal {
    pub event_type: &'static str,
    pub members: Map<String, Value>,
    /// Names the person by a claim instead of the relying party's own subject (`iss_sub`):
    /// only streams of relying parties the person granted `scope` get the event.
    pub by_claim: Option<ClaimSubject>,
}

/// A `sub_id` naming the person by a claim (RFC 9493 `email` or `phone_number`), which only a
/// relying party holding that claim may see.
#[derive(Clone, Debug)]
pub struct ClaimSubject {
    pub scope: &'static str,
    pub sub_id: Value,
}

impl Signal {
    pub(crate) fn new(event_type: &'static str, members: Map<String, Value>) -> Signal {
        Signal {
            event_type,
            members,
            by_claim: None,
        }
    }
}

pub(crate) fn common(
    at: NaiveDateTime,
    initiator: Initiator,
    reason_admin: Option<&str>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("event_timestamp".into(), json!(at.and_utc().timestamp()));
    m.insert("initiating_entity".into(), json!(initiator.as_str()));
    if let Some(reason) = reason_admin {
        // CAEP §2: an object of language tag → message.
        m.insert("reason_admin".into(), json!({ "en": reason }));
    }
    m
}

/// CAEP `session-revoked`: every session of the person ended.
pub fn session_revoked(
    at: NaiveDateTime,
    initiator: Initiator,
    reason_admin: Option<&str>,
) -> Signal {
    Signal::new(
        crate::ssf::EVENT_SESSION_REVOKED,
        common(at, initiator, reason_admin),
    )
}

/// Queues `session-revoked` (initiated by the person) when `ended` sessions were ended;
/// for the flows where a person signs out everywhere ("this wasn't me", a password reset,
/// an account reset). Call it in the transaction that ended them.
pub fn sessions_ended(
    conn: &mut DbConn,
    settings: &SsfSettings,
    now: NaiveDateTime,
    user_id: &str,
    ended: usize,
) -> anyhow::Result<usize> {
    if ended == 0 {
        return Ok(0);
    }
    enqueue(
        conn,
        settings,
        now,
        user_id,
        &session_revoked(now, Initiator::User, None),
    )
}

/// CAEP `credential-change` for the password: `credential_type` `password`, `change_type`
/// `update`.
pub fn password_changed(at: NaiveDateTime, initiator: Initiator) -> Signal {
    let mut members = common(at, initiator, None);
    members.insert("credential_type".into(), json!("password"));
    members.insert("change_type".into(), json!("update"));
    Signal::new(crate::ssf::EVENT_CREDENTIAL_CHANGE, members)
}

/// What a queued event holds: the event's members. The SET is signed at delivery.
#[derive(Serialize, Deserialize)]
struct Payload {
    event: Map<String, Value>,
    /// The `sub_id`, when it isn't the relying party's own subject for the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub_id: Option<Value>,
}

/// Queues `signal` about `user_id` on every stream that should hear it: a stream that isn't
/// disabled, that delivers this event type, of a relying party the person consented to, whose
/// subjects include the person. Call it inside the transaction that made the change, so the
/// event exists exactly when the change does. Returns how many were queued.
pub fn enqueue(
    conn: &mut DbConn,
    settings: &SsfSettings,
    now: NaiveDateTime,
    user_id: &str,
    signal: &Signal,
) -> anyhow::Result<usize> {
    let candidates: Vec<(String, bool, String, String, String)> = ssf_streams::table
        .inner_join(consents::table.on(consents::client_id.eq(ssf_streams::client_id)))
        .inner_join(clients::table.on(clients::id.eq(ssf_streams::client_id)))
        .filter(consents::user_id.eq(user_id))
        .filter(ssf_streams::status.ne(STATUS_DISABLED))
        .select((
            ssf_streams::id,
            ssf_streams::all_subjects,
            ssf_streams::events_delivered,
            consents::scopes,
            clients::allowed_scopes,
        ))
        .load(conn)?;
    let mut queued = 0;
    for (stream_id, all_subjects, delivered, granted, allowed) in candidates {
        if !delivered.split(' ').any(|e| e == signal.event_type) {
            continue;
        }
        // A claim as subject goes only where the claim itself may: the person granted its
        // scope and the client may still have it.
        if let Some(claim) = &signal.by_claim {
            let has = |list: &str| list.split(' ').any(|s| s == claim.scope);
            if !has(&granted) || !has(&allowed) {
                continue;
            }
        }
        let listed: Option<bool> = ssf_stream_subjects::table
            .filter(ssf_stream_subjects::stream_id.eq(&stream_id))
            .filter(ssf_stream_subjects::user_id.eq(user_id))
            .select(ssf_stream_subjects::included)
            .first(conn)
            .optional()?;
        let about = if all_subjects {
            listed != Some(false)
        } else {
            listed == Some(true)
        };
        if !about {
            continue;
        }
        let payload = Payload {
            event: signal.members.clone(),
            sub_id: signal.by_claim.as_ref().map(|c| c.sub_id.clone()),
        };
        insert(
            conn,
            settings,
            now,
            &stream_id,
            Some(user_id),
            signal.event_type,
            &payload,
        )?;
        queued += 1;
    }
    Ok(queued)
}

/// Queues the verification event (SSF §8.1.4) on one stream, with the receiver's `state`.
pub fn enqueue_verification(
    conn: &mut DbConn,
    settings: &SsfSettings,
    now: NaiveDateTime,
    stream_id: &str,
    state: Option<&str>,
) -> anyhow::Result<()> {
    let mut members = Map::new();
    if let Some(state) = state {
        members.insert("state".into(), json!(state));
    }
    enqueue_stream_event(conn, settings, now, stream_id, EVENT_VERIFICATION, members)
}

/// Queues an event about the stream itself (verification, stream-updated): its `sub_id` names
/// the stream, and it goes whatever events the stream asked for.
pub(crate) fn enqueue_stream_event(
    conn: &mut DbConn,
    settings: &SsfSettings,
    now: NaiveDateTime,
    stream_id: &str,
    event_type: &str,
    members: Map<String, Value>,
) -> anyhow::Result<()> {
    let payload = Payload {
        event: members,
        sub_id: None,
    };
    insert(conn, settings, now, stream_id, None, event_type, &payload)
}

fn insert(
    conn: &mut DbConn,
    settings: &SsfSettings,
    now: NaiveDateTime,
    stream_id: &str,
    user_id: Option<&str>,
    event_type: &str,
    payload: &Payload,
) -> anyhow::Result<()> {
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(ssf_events::table)
        .values((
            ssf_events::id.eq(&id),
            ssf_events::stream_id.eq(stream_id),
            ssf_events::jti.eq(crate::crypto::random_token(18)),
            ssf_events::user_id.eq(user_id),
            ssf_events::event_type.eq(event_type),
            ssf_events::payload.eq(serde_json::to_string(payload)?),
            ssf_events::created_at.eq(now),
            ssf_events::expires_at
                .eq(now + chrono::Duration::days(i64::from(settings.retention_days))),
            ssf_events::attempts.eq(0),
            ssf_events::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = ssf_events)]
pub(crate) struct EventRow {
    pub(crate) id: String,
    pub(crate) jti: String,
    user_id: Option<String>,
    event_type: String,
    payload: String,
    created_at: NaiveDateTime,
}

/// Signs one queued event into a SET (RFC 8417 as SSF profiles it): `iss`, `jti`, `iat` (when
/// the event happened), `aud` (the stream's audience), a top-level `sub_id` (RFC 9493), one
/// event; never `sub` or `exp`. The person is named by the client's own subject for them
/// (`iss_sub`, pairwise where the client is); a stream event names the stream (`opaque`).
pub(crate) async fn sign_set(
    ctx: &Ctx,
    stream: &StreamRow,
    row: &EventRow,
) -> anyhow::Result<String> {
    let key = ctx
        .keys
        .ring()
        .signer(ctx.clock.now())
        .ok_or_else(|| anyhow::anyhow!("no active signing key"))?;
    let Some(client) = ctx.clients.get(&stream.client_id).await? else {
        anyhow::bail!("the client is no longer registered");
    };
    let payload: Payload = serde_json::from_str(&row.payload)?;
    let sub_id = match (&payload.sub_id, &row.user_id) {
        (Some(sub_id), _) => sub_id.clone(),
        (None, Some(user_id)) => json!({
            "format": "iss_sub",
            "iss": ctx.settings.issuer,
            "sub": crate::oauth::subject::for_client(ctx, &client, user_id),
        }),
        (None, None) => json!({ "format": "opaque", "id": stream.id }),
    };
    let mut events = Map::new();
    events.insert(row.event_type.clone(), Value::Object(payload.event));
    let claims = json!({
        "iss": ctx.settings.issuer,
        "jti": row.jti,
        "iat": row.created_at.and_utc().timestamp(),
        "aud": stream.audience,
        "sub_id": sub_id,
        "events": events,
    });
    key.sign_jwt("secevent+jwt", &claims)
}

/// A poll request (RFC 8936 §2.4), every member optional.
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct PollRequest {
    #[serde(rename = "maxEvents")]
    pub max_events: Option<u32>,
    #[serde(rename = "returnImmediately")]
    pub return_immediately: Option<bool>,
    pub ack: Vec<String>,
    #[serde(rename = "setErrs")]
    pub set_errs: HashMap<String, SetErr>,
}

/// A SET the receiver refused (RFC 8936 §2.4.3).
#[derive(Deserialize, Debug, Default)]
#[serde(default)]
pub struct SetErr {
    pub err: String,
    pub description: String,
}

/// A poll response (RFC 8936 §2.5).
#[derive(Serialize, Debug)]
pub struct PollResponse {
    pub sets: BTreeMap<String, String>,
    #[serde(rename = "moreAvailable")]
    pub more_available: bool,
}

/// RFC 8936: records the receiver's acknowledgements and errors, then answers the oldest
/// events not yet acknowledged, at most `maxEvents` (capped at `ssf.poll_max_events`). An event
/// answered but not acknowledged is answered again by the next poll. With `returnImmediately:
/// false` and nothing to answer, the poll waits up to `ssf.long_poll_secs` for events (one
/// waiting poll per stream; another answers at once); otherwise it answers at once. A paused or
/// disabled stream answers only its stream-updated events (the others wait, or were dropped);
/// only poll streams may be polled.
pub async fn poll(
    ctx: &Ctx,
    receiver: &Receiver,
    stream_id: &str,
    req: PollRequest,
) -> anyhow::Result<Result<PollResponse, StreamError>> {
    use crate::ssf::delivery::{self, Outcome};
    let stream = match streams::owned(ctx, receiver, stream_id).await? {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    if stream.delivery_method != DELIVERY_POLL {
        return Ok(Err(StreamError::BadRequest(
            "this stream delivers by push; it can't be polled".into(),
        )));
    }
    let now = ctx.clock.now();
    let cap = ctx.settings.ssf.poll_max_events;
    let max = req.max_events.map_or(cap, |m| m.min(cap));
    let may_wait = req.return_immediately == Some(false);
    let sid = stream.id.clone();
    let (mut rows, mut more_available): (Vec<EventRow>, bool) = ctx
        .db
        .run(move |c| {
            // Expired events go, whoever they were for.
            crate::storage::db::write_tx(c, |c| delivery::drop_expired(c, now))?;
            crate::storage::db::write_tx(c, |c| {
                let mut acked = 0;
                if !req.ack.is_empty() {
                    acked = diesel::update(
                        ssf_events::table
                            .filter(ssf_events::stream_id.eq(&sid))
                            .filter(ssf_events::jti.eq_any(&req.ack))
                            .filter(ssf_events::acked_at.is_null()),
                    )
                    .set(ssf_events::acked_at.eq(now))
                    .execute(c)?;
                }
                let mut refused = 0;
                for (jti, e) in &req.set_errs {
                    let why: String = format!("{}: {}", e.err, e.description)
                        .chars()
                        .take(500)
                        .collect();
                    refused += diesel::update(
                        ssf_events::table
                            .filter(ssf_events::stream_id.eq(&sid))
                            .filter(ssf_events::jti.eq(jti))
                            .filter(ssf_events::acked_at.is_null()),
                    )
                    .set((ssf_events::acked_at.eq(now), ssf_events::last_error.eq(why)))
                    .execute(c)?;
                }
                // Counted after the event rows are updated: every transaction takes event rows
                // before count rows.
                delivery::count(c, &sid, Outcome::Delivered, acked as i64)?;
                delivery::count(c, &sid, Outcome::Refused, refused as i64)?;
                Ok::<_, anyhow::Error>(())
            })?;
            delivery::hand_out(c, &sid, max, now)
        })
        .await?;
    if rows.is_empty() && may_wait && stream.status == STATUS_ENABLED {
        // Nothing now: wait for events, holding no connection while asleep. A stream that
        // already has a waiting poll answers this one at once.
        if let Some(slot) = delivery::WaitSlot::take(ctx, &stream.id).await? {
            let waited = delivery::wait_for_events(ctx, &stream.id).await;
            let sid = stream.id.clone();
            let answered = match waited {
                Ok(()) => {
                    let now = ctx.clock.now();
                    ctx.db
                        .run(move |c| delivery::hand_out(c, &sid, max, now))
                        .await
                }
                Err(e) => Err(e),
            };
            slot.release().await?;
            (rows, more_available) = answered?;
        }
    }
    let mut sets = BTreeMap::new();
    for row in &rows {
        sets.insert(row.jti.clone(), sign_set(ctx, &stream, row).await?);
    }
    Ok(Ok(PollResponse {
        sets,
        more_available,
    }))
}
