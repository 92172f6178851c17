//! The stream rules (SSF §8.1): a relying party creates, reads, changes and deletes its own
//! streams, reads and sets their status, names subjects, and asks for verification. A stream
//! of another client is "not found", never "forbidden": its existence isn't revealed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::DefaultSubjects;
use crate::ssf::{Receiver, DELIVERY_POLL, DELIVERY_PUSH, EVENTS_SUPPORTED, PATH_POLL};
use crate::storage::schema::{ssf_events, ssf_stream_subjects, ssf_streams};
use crate::Ctx;

pub const STATUS_ENABLED: &str = "enabled";
pub const STATUS_PAUSED: &str = "paused";
pub const STATUS_DISABLED: &str = "disabled";

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = ssf_streams)]
pub struct StreamRow {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub delivery_method: String,
    pub endpoint_url: Option<String>,
    pub authorization_header: Option<String>,
    pub events_requested: String,
    pub events_delivered: String,
    pub description: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub all_subjects: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Why a stream call is refused; the web layer maps each to its status.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamError {
    /// 400, with what is wrong.
    BadRequest(String),
    /// 404: no such stream of this client.
    NotFound,
    /// 409: the client holds `ssf.max_streams_per_client` streams already.
    TooManyStreams,
    /// 429: verification asked again within `min_verification_interval`.
    TooSoon,
    /// 403: an operator paused or disabled the stream (`status`, with the operator's
    /// `reason`); only an operator can change its status now.
    HeldByOperator {
        status: String,
        reason: Option<String>,
    },
}

type Outcome<T> = anyhow::Result<Result<T, StreamError>>;

fn bad<T>(why: impl Into<String>) -> Outcome<T> {
    Ok(Err(StreamError::BadRequest(why.into())))
}

/// Delivery as the receiver sends it.
#[derive(Deserialize, Debug, Clone, Default)]
pub struct DeliveryInput {
    pub method: Option<String>,
    pub endpoint_url: Option<String>,
    pub authorization_header: Option<String>,
}

/// A stream configuration as the receiver sends it. Transmitter-supplied members (`iss`,
/// `aud`, `events_supported`, `events_delivered`, `min_verification_interval`) are ignored.
#[derive(Deserialize, Debug, Clone, Default)]
pub struct StreamInput {
    pub stream_id: Option<String>,
    pub events_requested: Option<Vec<String>>,
    pub delivery: Option<DeliveryInput>,
    pub description: Option<String>,
}

/// A stream configuration as Verity answers it (SSF §8.1.1).
#[derive(Serialize, Debug, Clone)]
pub struct StreamConfig {
    pub stream_id: String,
    pub iss: String,
    pub aud: String,
    pub events_supported: Vec<String>,
    pub events_requested: Vec<String>,
    pub events_delivered: Vec<String>,
    pub delivery: DeliveryOut,
    pub min_verification_interval: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The delivery member of an answer; the authorization header is never read back.
#[derive(Serialize, Debug, Clone)]
pub struct DeliveryOut {
    pub method: String,
    pub endpoint_url: String,
}

/// A stream's status (SSF §8.1.2).
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct StreamStatus {
    pub stream_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn split(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

fn config_of(ctx: &Ctx, row: &StreamRow) -> StreamConfig {
    let endpoint_url = match row.delivery_method.as_str() {
        DELIVERY_POLL => format!("{}{PATH_POLL}/{}", ctx.settings.issuer, row.id),
        _ => row.endpoint_url.clone().unwrap_or_default(),
    };
    StreamConfig {
        stream_id: row.id.clone(),
        iss: ctx.settings.issuer.clone(),
        aud: row.audience.clone(),
        events_supported: EVENTS_SUPPORTED.iter().map(|e| e.to_string()).collect(),
        events_requested: split(&row.events_requested),
        events_delivered: split(&row.events_delivered),
        delivery: DeliveryOut {
            method: row.delivery_method.clone(),
            endpoint_url,
        },
        min_verification_interval: ctx.settings.ssf.min_verification_interval_secs,
        description: row.description.clone(),
    }
}

/// The receiver-supplied values after the rules: method, push URL and header, requested and
/// delivered events (requested ∩ supported), description.
struct Settled {
    method: String,
    endpoint_url: Option<String>,
    authorization_header: Option<String>,
    requested: Vec<String>,
    delivered: Vec<String>,
    description: Option<String>,
}

fn settle(ctx: &Ctx, input: &StreamInput) -> Result<Settled, StreamError> {
    let delivery = input.delivery.clone().unwrap_or_default();
    let method = delivery.method.unwrap_or_else(|| DELIVERY_POLL.to_string());
    let (endpoint_url, authorization_header) = match method.as_str() {
        DELIVERY_POLL => (None, None),
        DELIVERY_PUSH => {
            let Some(url) = delivery.endpoint_url.filter(|u| !u.is_empty()) else {
                return Err(StreamError::BadRequest(
                    "push delivery needs delivery.endpoint_url".into(),
                ));
            };
            if let Err(problem) = crate::net::outbound::check_server_url(&ctx.settings, &url) {
                return Err(StreamError::BadRequest(format!(
                    "delivery.endpoint_url {problem}"
                )));
            }
            let header = delivery.authorization_header.filter(|h| !h.is_empty());
            if header
                .as_ref()
                .is_some_and(|h| h.len() > 4096 || !h.bytes().all(|b| (0x20..0x7f).contains(&b)))
            {
                return Err(StreamError::BadRequest(
                    "delivery.authorization_header must be printable ASCII, at most 4096 bytes"
                        .into(),
                ));
            }
            (Some(url), header)
        }
        _ => {
            return Err(StreamError::BadRequest(format!(
                "delivery.method must be {DELIVERY_PUSH} or {DELIVERY_POLL}"
            )))
        }
    };
    let mut requested: Vec<String> = Vec::new();
    for e in input.events_requested.clone().unwrap_or_default() {
        if e.is_empty() || e.contains(' ') || e.len() > 300 {
            return Err(StreamError::BadRequest(
                "events_requested holds event-type URIs".into(),
            ));
        }
        if !requested.contains(&e) {
            requested.push(e);
        }
    }
    let delivered = requested
        .iter()
        .filter(|e| EVENTS_SUPPORTED.contains(&e.as_str()))
        .cloned()
        .collect();
    let description = input.description.clone().filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 500)
    {
        return Err(StreamError::BadRequest(
            "description is longer than 500 characters".into(),
        ));
    }
    Ok(Settled {
        method,
        endpoint_url,
        authorization_header,
        requested,
        delivered,
        description,
    })
}

/// The receiver's `Authorization` header for push is a credential: kept encrypted under the
/// master key, bound to its stream.
fn seal_header(
    ctx: &Ctx,
    stream_id: &str,
    header: Option<String>,
) -> anyhow::Result<Option<String>> {
    header
        .map(|h| ctx.master.encrypt(h.as_bytes(), &header_context(stream_id)))
        .transpose()
}

fn header_context(stream_id: &str) -> String {
    format!("verity/ssf/authorization-header/{stream_id}")
}

/// The push `Authorization` header of a stream, decrypted.
pub fn authorization_header(ctx: &Ctx, stream: &StreamRow) -> anyhow::Result<Option<String>> {
    let Some(sealed) = stream.authorization_header.as_deref() else {
        return Ok(None);
    };
    let plain = ctx.master.decrypt(sealed, &header_context(&stream.id))?;
    Ok(Some(String::from_utf8(plain.to_vec())?))
}

/// The stream `stream_id` if this receiver owns it.
pub async fn owned(ctx: &Ctx, receiver: &Receiver, stream_id: &str) -> Outcome<StreamRow> {
    let (id, client) = (stream_id.to_string(), receiver.client.client_id.clone());
    let row = ctx
        .db
        .run(move |c| {
            Ok(ssf_streams::table
                .find(&id)
                .filter(ssf_streams::client_id.eq(&client))
                .select(StreamRow::as_select())
                .first(c)
                .optional()?)
        })
        .await?;
    Ok(row.ok_or(StreamError::NotFound))
}

/// Creates a stream (201). Poll unless push is asked for; events requested ∩ supported are
/// delivered; enabled; its audience is the client's id.
pub async fn create(ctx: &Ctx, receiver: &Receiver, input: &StreamInput) -> Outcome<StreamConfig> {
    let settled = match settle(ctx, input) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let now = ctx.clock.now();
    let id = uuid::Uuid::new_v4().to_string();
    let row = StreamRow {
        authorization_header: seal_header(ctx, &id, settled.authorization_header)?,
        id,
        client_id: receiver.client.client_id.clone(),
        audience: receiver.client.client_id.clone(),
        delivery_method: settled.method,
        endpoint_url: settled.endpoint_url,
        events_requested: settled.requested.join(" "),
        events_delivered: settled.delivered.join(" "),
        description: settled.description,
        status: STATUS_ENABLED.into(),
        status_reason: None,
        all_subjects: ctx.settings.ssf.default_subjects == DefaultSubjects::All,
        created_at: now,
        updated_at: now,
    };
    let max = i64::from(ctx.settings.ssf.max_streams_per_client);
    let inserted = row.clone();
    let created = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                // Counted under the client's lock: creations at once (any node) can't both
                // see a free slot.
                crate::storage::db::serialize_on(
                    c,
                    &format!("ssf-streams-of:{}", inserted.client_id),
                )?;
                let held: i64 = ssf_streams::table
                    .filter(ssf_streams::client_id.eq(&inserted.client_id))
                    .count()
                    .get_result(c)?;
                if held >= max {
                    return Ok(false);
                }
                diesel::insert_into(ssf_streams::table)
                    .values(&inserted)
                    .execute(c)?;
                Ok::<_, anyhow::Error>(true)
            })
        })
        .await?;
    if !created {
        return Ok(Err(StreamError::TooManyStreams));
    }
    Ok(Ok(config_of(ctx, &row)))
}

/// One stream, or (without an id) every stream of the client, oldest first.
pub async fn read(
    ctx: &Ctx,
    receiver: &Receiver,
    stream_id: Option<&str>,
) -> anyhow::Result<Result<Value, StreamError>> {
    if let Some(id) = stream_id {
        return Ok(owned(ctx, receiver, id)
            .await?
            .map(|row| serde_json::to_value(config_of(ctx, &row)).unwrap_or(Value::Null)));
    }
    let client = receiver.client.client_id.clone();
    let rows: Vec<StreamRow> = ctx
        .db
        .run(move |c| {
            Ok(ssf_streams::table
                .filter(ssf_streams::client_id.eq(&client))
                .order((ssf_streams::created_at.asc(), ssf_streams::id.asc()))
                .select(StreamRow::as_select())
                .load(c)?)
        })
        .await?;
    let all: Vec<StreamConfig> = rows.iter().map(|r| config_of(ctx, r)).collect();
    Ok(Ok(serde_json::to_value(all)?))
}

/// PATCH (`replace` false: only the members sent change) or PUT (`replace` true: every
/// receiver-supplied member takes the value sent, or its default).
pub async fn update(
    ctx: &Ctx,
    receiver: &Receiver,
    input: &StreamInput,
    replace: bool,
) -> Outcome<StreamConfig> {
    let Some(id) = input.stream_id.as_deref() else {
        return bad("stream_id is required");
    };
    let current = match owned(ctx, receiver, id).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let merged = if replace {
        input.clone()
    } else {
        StreamInput {
            stream_id: input.stream_id.clone(),
            events_requested: input
                .events_requested
                .clone()
                .or_else(|| Some(split(&current.events_requested))),
            // The stored header is sealed: kept as it is below when delivery isn't sent.
            delivery: input.delivery.clone().or_else(|| {
                Some(DeliveryInput {
                    method: Some(current.delivery_method.clone()),
                    endpoint_url: current.endpoint_url.clone(),
                    authorization_header: None,
                })
            }),
            description: input.description.clone().or(current.description.clone()),
        }
    };
    let settled = match settle(ctx, &merged) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let now = ctx.clock.now();
    let authorization_header = if !replace && input.delivery.is_none() {
        current.authorization_header.clone()
    } else {
        seal_header(ctx, &current.id, settled.authorization_header)?
    };
    let row = StreamRow {
        delivery_method: settled.method,
        endpoint_url: settled.endpoint_url,
        authorization_header,
        events_requested: settled.requested.join(" "),
        events_delivered: settled.delivered.join(" "),
        description: settled.description,
        updated_at: now,
        ..current
    };
    let saved = row.clone();
    ctx.db
        .run(move |c| {
            diesel::update(ssf_streams::table.find(&saved.id))
                .set((
                    ssf_streams::delivery_method.eq(&saved.delivery_method),
                    ssf_streams::endpoint_url.eq(&saved.endpoint_url),
                    ssf_streams::authorization_header.eq(&saved.authorization_header),
                    ssf_streams::events_requested.eq(&saved.events_requested),
                    ssf_streams::events_delivered.eq(&saved.events_delivered),
                    ssf_streams::description.eq(&saved.description),
                    ssf_streams::updated_at.eq(saved.updated_at),
                ))
                .execute(c)?;
            Ok(())
        })
        .await?;
    Ok(Ok(config_of(ctx, &row)))
}

/// Deletes a stream with its subjects and queued events (204).
pub async fn delete(ctx: &Ctx, receiver: &Receiver, stream_id: &str) -> Outcome<()> {
    let row = match owned(ctx, receiver, stream_id).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                diesel::delete(ssf_events::table.filter(ssf_events::stream_id.eq(&row.id)))
                    .execute(c)?;
                diesel::delete(
                    ssf_stream_subjects::table.filter(ssf_stream_subjects::stream_id.eq(&row.id)),
                )
                .execute(c)?;
                diesel::delete(ssf_streams::table.find(&row.id)).execute(c)?;
                Ok::<_, anyhow::Error>(())
            })
        })
        .await?;
    Ok(Ok(()))
}

pub async fn status(ctx: &Ctx, receiver: &Receiver, stream_id: &str) -> Outcome<StreamStatus> {
    Ok(owned(ctx, receiver, stream_id)
        .await?
        .map(|r| StreamStatus {
            stream_id: r.id,
            status: r.status,
            reason: r.status_reason,
        }))
}

/// A status change asked by the receiver.
#[derive(Deserialize, Debug, Default)]
pub struct StatusInput {
    pub stream_id: Option<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
}

/// Sets the status: `enabled` delivers, `paused` holds events for later, `disabled` neither
/// holds nor delivers (its queued events are dropped). A stream an operator paused or disabled
/// keeps that status until an operator changes it: the receiver's change is refused (403), so
/// an operator's stop can't be undone by the party it stopped.
pub async fn set_status(
    ctx: &Ctx,
    receiver: &Receiver,
    input: &StatusInput,
) -> Outcome<StreamStatus> {
    use crate::ssf::operations::{status_lock, SET_BY_OPERATOR, SET_BY_RECEIVER};
    let Some(id) = input.stream_id.as_deref() else {
        return bad("stream_id is required");
    };
    let status = match input.status.as_deref() {
        Some(s @ (STATUS_ENABLED | STATUS_PAUSED | STATUS_DISABLED)) => s.to_string(),
        _ => return bad("status must be enabled, paused or disabled"),
    };
    let reason = input.reason.clone().filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return bad("reason is longer than 500 characters");
    }
    let row = match owned(ctx, receiver, id).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let now = ctx.clock.now();
    let (sid, st, why) = (row.id.clone(), status.clone(), reason.clone());
    let held = ctx
        .db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                // The operator's change takes the same lock: one of them decides.
                crate::storage::db::serialize_on(c, &status_lock(&sid))?;
                let found: Option<(String, Option<String>, String)> = ssf_streams::table
                    .find(&sid)
                    .select((
                        ssf_streams::status,
                        ssf_streams::status_reason,
                        ssf_streams::status_set_by,
                    ))
                    .first(c)
                    .optional()?;
                let Some((current, current_reason, set_by)) = found else {
                    return Ok(Err(StreamError::NotFound));
                };
                if set_by == SET_BY_OPERATOR && current != STATUS_ENABLED {
                    return Ok(Err(StreamError::HeldByOperator {
                        status: current,
                        reason: current_reason,
                    }));
                }
                diesel::update(ssf_streams::table.find(&sid))
                    .set((
                        ssf_streams::status.eq(&st),
                        ssf_streams::status_reason.eq(&why),
                        ssf_streams::status_set_by.eq(SET_BY_RECEIVER),
                        ssf_streams::status_agent.eq(None::<String>),
                        ssf_streams::status_changed_at.eq(now),
                        ssf_streams::updated_at.eq(now),
                    ))
                    .execute(c)?;
                if st == STATUS_DISABLED {
                    diesel::delete(ssf_events::table.filter(ssf_events::stream_id.eq(&sid)))
                        .execute(c)?;
                }
                Ok::<_, anyhow::Error>(Ok(()))
            })
        })
        .await?;
    if let Err(refused) = held {
        return Ok(Err(refused));
    }
    Ok(Ok(StreamStatus {
        stream_id: row.id,
        status,
        reason,
    }))
}

/// Add or remove subject (SSF §8.1.3).
#[derive(Deserialize, Debug, Default)]
pub struct SubjectInput {
    pub stream_id: Option<String>,
    pub subject: Option<Value>,
    /// Add only: whether the receiver verified the subject; recorded nowhere for now.
    #[allow(dead_code)]
    pub verified: Option<bool>,
}

/// The person a subject names, if any. Formats: `iss_sub` with Verity's issuer and the
/// client's own subject for the person (public or pairwise), and `email` (the account's
/// primary address). Another format is a 400; a subject naming no one is not an error (the
/// answer must not tell whether an account exists).
async fn person_of(
    ctx: &Ctx,
    receiver: &Receiver,
    subject: &Value,
) -> anyhow::Result<Result<Option<String>, StreamError>> {
    let field = |name: &str| {
        subject
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match field("format").as_deref() {
        Some("iss_sub") => {
            let (Some(iss), Some(sub)) = (field("iss"), field("sub")) else {
                return Ok(Err(StreamError::BadRequest(
                    "an iss_sub subject needs iss and sub".into(),
                )));
            };
            if iss != ctx.settings.issuer {
                return Ok(Ok(None));
            }
            let client = receiver.client.clone();
            if !client.pairwise() {
                let found = ctx
                    .db
                    .run(move |c| crate::accounts::users::by_id(c, &sub))
                    .await?;
                return Ok(Ok(found.map(|u| u.id)));
            }
            // Pairwise: the subject is a keyed hash; find it among the people who consented.
            let cid = client.client_id.clone();
            let consented: Vec<String> = ctx
                .db
                .run(move |c| {
                    use crate::storage::schema::consents;
                    Ok(consents::table
                        .filter(consents::client_id.eq(&cid))
                        .select(consents::user_id)
                        .load(c)?)
                })
                .await?;
            Ok(Ok(consented.into_iter().find(|uid| {
                crate::oauth::subject::for_client(ctx, &client, uid).as_str() == sub
            })))
        }
        Some("email") => {
            let Some(email) = field("email") else {
                return Ok(Err(StreamError::BadRequest(
                    "an email subject needs email".into(),
                )));
            };
            let found = ctx
                .db
                .run(move |c| crate::accounts::users::by_email(c, &email))
                .await?;
            Ok(Ok(found.map(|u| u.id)))
        }
        _ => Ok(Err(StreamError::BadRequest(
            "subject.format must be iss_sub or email".into(),
        ))),
    }
}

/// Adds (`include` true, 200) or removes (`include` false, 204) a subject. Events still go
/// only to relying parties the person consented to: naming someone who didn't consent changes
/// nothing they would receive.
pub async fn subject(
    ctx: &Ctx,
    receiver: &Receiver,
    input: &SubjectInput,
    include: bool,
) -> Outcome<()> {
    let Some(id) = input.stream_id.as_deref() else {
        return bad("stream_id is required");
    };
    let Some(subject) = input.subject.as_ref().filter(|s| s.is_object()) else {
        return bad("subject is required");
    };
    let row = match owned(ctx, receiver, id).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let person = match person_of(ctx, receiver, subject).await? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let Some(user_id) = person else {
        return Ok(Ok(()));
    };
    let now = ctx.clock.now();
    ctx.db
        .run(move |c| {
            crate::storage::db::write_tx(c, |c| {
                // One row per (stream, person): the replace runs under the stream's lock, so
                // two requests at once don't both insert.
                crate::storage::db::serialize_on(c, &format!("ssf-subjects-of:{}", row.id))?;
                diesel::delete(
                    ssf_stream_subjects::table
                        .filter(ssf_stream_subjects::stream_id.eq(&row.id))
                        .filter(ssf_stream_subjects::user_id.eq(&user_id)),
                )
                .execute(c)?;
                diesel::insert_into(ssf_stream_subjects::table)
                    .values((
                        ssf_stream_subjects::id.eq(uuid::Uuid::new_v4().to_string()),
                        ssf_stream_subjects::stream_id.eq(&row.id),
                        ssf_stream_subjects::user_id.eq(&user_id),
                        ssf_stream_subjects::included.eq(include),
                        ssf_stream_subjects::created_at.eq(now),
                    ))
                    .execute(c)?;
                Ok::<_, anyhow::Error>(())
            })
        })
        .await?;
    Ok(Ok(()))
}

/// A verification request (SSF §8.1.4).
#[derive(Deserialize, Debug, Default)]
pub struct VerifyInput {
    pub stream_id: Option<String>,
    pub state: Option<String>,
}

/// Queues a verification event carrying the receiver's `state` (204). Once per
/// `ssf.min_verification_interval_secs` per stream (429 sooner); not on a disabled stream.
pub async fn verify(ctx: &Ctx, receiver: &Receiver, input: &VerifyInput) -> Outcome<()> {
    let Some(id) = input.stream_id.as_deref() else {
        return bad("stream_id is required");
    };
    if input.state.as_ref().is_some_and(|s| s.len() > 500) {
        return bad("state is longer than 500 characters");
    }
    let row = match owned(ctx, receiver, id).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if row.status == STATUS_DISABLED {
        return bad("the stream is disabled");
    }
    let interval = ctx.settings.ssf.min_verification_interval_secs;
    if interval > 0
        && !ctx
            .store
            .put_if_absent(
                &format!("ssf_verify:{}", row.id),
                "1",
                std::time::Duration::from_secs(interval),
            )
            .await?
    {
        return Ok(Err(StreamError::TooSoon));
    }
    let (now, settings, state) = (ctx.clock.now(), ctx.settings.clone(), input.state.clone());
    ctx.db
        .run(move |c| {
            crate::ssf::events::enqueue_verification(
                c,
                &settings.ssf,
                now,
                &row.id,
                state.as_deref(),
            )
        })
        .await?;
    Ok(Ok(()))
}
